//! Errors a user can fix, reported in mutation payloads.

use async_graphql::SimpleObject;

use crate::core::field::FieldError;

/// Something the user can fix, reported in a mutation payload instead of as an error.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    /// Path to the input field at fault, e.g. `["input", "email"]`; empty when not about one field.
    pub field: Vec<String>,
    /// What is wrong, in plain language.
    pub message: String,
    /// Machine-readable reason: `REQUIRED`, `INVALID`, `TOO_LONG`, `TAKEN`, `CYCLE`, …
    pub code: String,
}

impl From<FieldError> for UserError {
    fn from(e: FieldError) -> Self {
        UserError { field: e.field, message: e.message, code: e.code.to_owned() }
    }
}
