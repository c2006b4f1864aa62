//! Error policy.
//!
//! - Inside the request path every fallible function returns [`AppResult`]; `?` does the rest.
//! - A client sees a message and `extensions.code` (one of the codes in DESIGN.md §3). Database
//!   and internal failures are logged with their cause and shown only as `INTERNAL`: no SQL
//!   text ever reaches a client.
//! - Input problems the user can fix inside a mutation are not errors but `userErrors` in the
//!   payload (see `graphql::UserError`).
//! - `AppError` deliberately does not implement `Display`: async-graphql converts any `Display`
//!   type into an error without a code, and that conversion must not be chosen by accident.

use async_graphql::ErrorExtensions;
use sea_orm::DbErr;

/// The one error type of the request path.
#[derive(Debug)]
pub enum AppError {
    /// No valid credentials.
    Unauthenticated(String),
    /// Authenticated, but not allowed.
    Forbidden(String),
    /// The object does not exist for this tenant (another tenant's ID answers the same).
    NotFound(&'static str),
    /// Input that cannot be processed.
    BadUserInput(String),
    /// A concurrent change or a uniqueness clash.
    Conflict(String),
    /// Too many requests.
    RateLimited,
    /// The organization (named) is suspended by its firm: FORBIDDEN with
    /// `extensions.reason` `ORGANIZATION_SUSPENDED`.
    Suspended(String),
    /// Query depth or complexity above the limits.
    QueryTooComplex(String),
    /// A database failure: logged, shown as INTERNAL.
    Database(DbErr),
    /// Anything else unexpected: logged, shown as INTERNAL.
    Internal(anyhow::Error),
}

/// `extensions.reason` of a refusal because the organization is suspended.
pub const SUSPENDED_REASON: &str = "ORGANIZATION_SUSPENDED";

/// Result of the request path.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// The machine-readable code in `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) | AppError::Suspended(_) => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::BadUserInput(_) => "BAD_USER_INPUT",
            AppError::Conflict(_) => "CONFLICT",
            AppError::RateLimited => "RATE_LIMITED",
            AppError::QueryTooComplex(_) => "QUERY_TOO_COMPLEX",
            AppError::Database(_) | AppError::Internal(_) => "INTERNAL",
        }
    }

    /// The message shown to clients.
    pub fn message(&self) -> String {
        match self {
            AppError::Unauthenticated(m) => format!("not authenticated: {m}"),
            AppError::Forbidden(m)
            | AppError::BadUserInput(m)
            | AppError::Conflict(m)
            | AppError::QueryTooComplex(m) => m.clone(),
            AppError::NotFound(what) => format!("{what} not found"),
            AppError::RateLimited => "too many requests; retry later".to_owned(),
            AppError::Suspended(org) => {
                format!(
                    "the organization '{org}' is suspended or being deleted; its sign-ins, tokens and keys are refused"
                )
            }
            AppError::Database(_) | AppError::Internal(_) => "internal error".to_owned(),
        }
    }

    /// Shorthand for a FORBIDDEN error.
    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden(message.into())
    }

    /// Shorthand for a BAD_USER_INPUT error.
    pub fn bad_input(message: impl Into<String>) -> Self {
        AppError::BadUserInput(message.into())
    }

    /// The CONFLICT of an edit that named a `version` someone else's change has passed.
    pub fn stale_version(what: &str, current: i32, sent: i32) -> Self {
        AppError::Conflict(format!("the {what} is at version {current}, not {sent}; reload and try again"))
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        AppError::Database(err)
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        AppError::Internal(err)
    }
}

impl AppError {
    /// Logs the cause of a database or internal failure (the client sees only `INTERNAL`).
    pub fn log(&self) {
        match self {
            AppError::Database(cause) => tracing::error!(error = %cause, "database error"),
            AppError::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            _ => {}
        }
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.log();
        (&err).into()
    }
}

/// The client's view of an error already logged (one error shown to many subscribers).
impl From<&AppError> for async_graphql::Error {
    fn from(err: &AppError) -> Self {
        let code = err.code();
        let suspended = matches!(err, AppError::Suspended(_));
        async_graphql::Error::new(err.message()).extend_with(|_, e| {
            e.set("code", code);
            if suspended {
                e.set("reason", SUSPENDED_REASON);
            }
        })
    }
}

/// For tools outside the request path (CLI, seeding) that report with anyhow.
pub fn into_anyhow(err: AppError) -> anyhow::Error {
    match err {
        AppError::Database(e) => anyhow::Error::new(e),
        AppError::Internal(e) => e,
        other => anyhow::anyhow!("{}: {}", other.code(), other.message()),
    }
}
