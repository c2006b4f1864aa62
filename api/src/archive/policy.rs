//! Who may take an organization's data out: its admins signed in (a member, or a firm's staff
//! acting as an admin), never an API key (a leaked key must not carry the whole organization off).

use crate::core::error::{AppError, AppResult};
use crate::core::principal::{Permission, Principal};

/// Exporting the organization's archive.
pub fn may_export(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)?;
    if p.api_key.is_some() {
        return Err(AppError::forbidden("API keys cannot export the organization"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::principal::testing::{allowed, principal};
    use crate::core::roles::Role;

    #[test]
    fn only_admins_without_a_key_export() {
        for (role, may) in [(Role::Admin, true), (Role::Manager, false), (Role::Rep, false), (Role::Viewer, false)] {
            assert_eq!(allowed(may_export(&principal(role)), role), may, "{role:?}");
            let mut keyed = principal(role);
            keyed.api_key = Some(crate::core::principal::ApiKeyAccess { id: uuid::Uuid::nil(), scopes: vec![] });
            assert!(may_export(&keyed).is_err(), "{role:?} with a key");
        }
    }
}
