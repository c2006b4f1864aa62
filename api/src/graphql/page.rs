//! The page arguments every connection takes (`first`/`after`, `last`/`before`) and their bounds.

use crate::core::error::{AppError, AppResult};

/// Default page size.
pub const DEFAULT_PAGE: usize = 50;
/// Largest page size.
pub const MAX_PAGE: usize = 200;

/// The Relay arguments of a connection field.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub struct PageArgs {
    /// `after` cursor.
    pub after: Option<String>,
    /// `before` cursor.
    pub before: Option<String>,
    /// `first` count.
    pub first: Option<i32>,
    /// `last` count.
    pub last: Option<i32>,
    /// Whether the operation asks the connection's `totalCount`: the matching rows are only
    /// counted then (a count over a large table costs more than the page itself).
    pub total: bool,
}

fn check_count(name: &str, value: Option<i32>) -> AppResult<Option<u64>> {
    match value {
        None => Ok(None),
        Some(n) if (1..=MAX_PAGE as i32).contains(&n) => Ok(Some(n as u64)),
        Some(n) => Err(AppError::bad_input(format!("'{name}' must be between 1 and {MAX_PAGE}, got {n}"))),
    }
}

impl PageArgs {
    /// The arguments of the connection field `ctx` resolves, counting the matching rows only
    /// when its selection (fragments included) asks `totalCount`.
    pub fn asked(
        ctx: &async_graphql::Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Self {
        let total = ctx.look_ahead().field("totalCount").exists();
        PageArgs { after, before, first, last, total }
    }

    /// Checks the counts: each 1 to 200, and not both (a page is counted from one end).
    pub fn validate(&self) -> AppResult<()> {
        check_count("first", self.first)?;
        check_count("last", self.last)?;
        if self.first.is_some() && self.last.is_some() {
            return Err(AppError::bad_input("give 'first' (with 'after') or 'last' (with 'before'), not both"));
        }
        Ok(())
    }
}
