//! Who may manage webhooks: admins signed in as members. API keys may not, whatever their
//! scopes: a key that could add a webhook could send the organization's events anywhere.

use crate::core::error::{AppError, AppResult};
use crate::core::principal::{Permission, Principal};

/// Listing, creating, testing and disabling webhooks and reading their deliveries: admins, not
/// API keys.
pub fn may_manage(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)?;
    if p.api_key.is_some() {
        return Err(AppError::forbidden("API keys cannot manage webhooks"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::OrgId;
    use crate::core::principal::ApiKeyAccess;
    use crate::core::roles::Role;
    use uuid::Uuid;

    fn principal(role: Role, key: bool) -> Principal {
        Principal {
            org: OrgId(Uuid::from_u128(1)),
            member_id: Uuid::from_u128(2),
            role,
            team_id: None,
            api_key: key.then(|| ApiKeyAccess { id: Uuid::from_u128(3), scopes: vec!["scores:read".into()] }),
            firm_staff: None,
        }
    }

    #[test]
    fn only_admins_signed_in_as_members_manage_webhooks() {
        for (role, manages) in [(Role::Admin, true), (Role::Manager, false), (Role::Rep, false), (Role::Viewer, false)]
        {
            match may_manage(&principal(role, false)) {
                Ok(()) => assert!(manages, "{role:?} may manage webhooks"),
                Err(AppError::Forbidden(_)) => assert!(!manages, "{role:?} is refused"),
                Err(other) => panic!("{role:?}: {other:?}"),
            }
            assert!(
                matches!(may_manage(&principal(role, true)), Err(AppError::Forbidden(_))),
                "an API key of a {role:?} is refused"
            );
        }
    }
}
