//! Errors a user can fix, reported in mutation payloads.

use async_graphql::{ComplexObject, Context, SimpleObject};

use crate::core::field::FieldError;

/// Something the user can fix, reported in a mutation payload instead of as an error.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(complex)]
pub struct UserError {
    /// Path to the input field at fault, e.g. `["input", "email"]`; empty when not about one field.
    pub field: Vec<String>,
    /// What is wrong, in English (shown by `message` in the request's language).
    #[graphql(skip)]
    pub message: String,
    /// Machine-readable reason: `REQUIRED`, `INVALID`, `TOO_LONG`, `TAKEN`, `CYCLE`, …
    pub code: String,
}

#[ComplexObject]
impl UserError {
    /// What is wrong, in plain language: in the request's language (the member's own, else the
    /// organization's, else `Accept-Language`; Dutch or English).
    async fn message(&self, ctx: &Context<'_>) -> String {
        let locale = super::context::request_locale(ctx).await;
        crate::core::messages::translate(&self.message, locale).into_owned()
    }
}

impl From<FieldError> for UserError {
    fn from(e: FieldError) -> Self {
        UserError { field: e.field, message: e.message, code: e.code.to_owned() }
    }
}

/// Puts the messages of `errors` in `locale` (see [`crate::core::messages`]); codes, paths and
/// extensions stay as they are.
pub fn localize_errors(errors: &mut [async_graphql::ServerError], locale: crate::core::locale::Locale) {
    for e in errors {
        if let std::borrow::Cow::Owned(m) = crate::core::messages::translate(&e.message, locale) {
            e.message = m;
        }
    }
}
