//! Who may manage integration keys: admins signed in as members (a key acts with its creator's
//! admin reach, so a key that could make keys would outlive its creator's say).

use crate::core::error::{AppError, AppResult};
use crate::core::principal::{Permission, Principal};

/// Listing, creating and revoking API keys: admins, signed in as members (not with a key).
pub fn may_manage_api_keys(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)?;
    if p.api_key.is_some() {
        return Err(AppError::forbidden("API keys cannot manage API keys"));
    }
    Ok(())
}

/// Creating an API key: as [`may_manage_api_keys`], and not a firm's staff member (a key acts
/// with its creator's reach, and staff are no member of the client: a client admin creates it).
pub fn may_create_api_key(p: &Principal) -> AppResult<()> {
    may_manage_api_keys(p)?;
    if p.firm_staff.is_some() {
        return Err(AppError::forbidden(
            "a key acts with its creator's reach: a client admin creates keys, not a firm's staff",
        ));
    }
    Ok(())
}

/// Reading and changing the organization's identity provider: admins signed in as members or
/// a firm's staff acting as admins; never an API key (a leaked key must not change who signs in).
pub fn may_manage_identity_provider(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)?;
    if p.api_key.is_some() {
        return Err(AppError::forbidden("API keys cannot change how members sign in"));
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
            api_key: key.then(|| ApiKeyAccess { id: Uuid::from_u128(3), scopes: vec!["org:read".into()] }),
            firm_staff: None,
        }
    }

    #[test]
    fn only_admins_signed_in_as_members_manage_keys() {
        for (role, manages) in [(Role::Admin, true), (Role::Manager, false), (Role::Rep, false), (Role::Viewer, false)]
        {
            match may_manage_api_keys(&principal(role, false)) {
                Ok(()) => assert!(manages, "{role:?} may manage API keys"),
                Err(AppError::Forbidden(_)) => assert!(!manages, "{role:?} is refused"),
                Err(other) => panic!("{role:?}: {other:?}"),
            }
            assert!(
                matches!(may_manage_api_keys(&principal(role, true)), Err(AppError::Forbidden(_))),
                "{role:?} with an API key is refused"
            );
        }
    }

    #[test]
    fn a_key_is_refused_with_its_own_reason() {
        match may_manage_api_keys(&principal(Role::Admin, true)) {
            Err(AppError::Forbidden(m)) => assert_eq!(m, "API keys cannot manage API keys"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_firms_staff_member_manages_but_does_not_create_keys() {
        use crate::core::principal::{FirmRole, FirmStaff};
        let mut p = principal(Role::Admin, false);
        p.firm_staff =
            Some(FirmStaff { firm_id: Uuid::from_u128(9), staff_id: p.member_id, role: FirmRole::FirmAdmin });
        assert!(may_manage_api_keys(&p).is_ok());
        assert!(matches!(may_create_api_key(&p), Err(AppError::Forbidden(_))));
        assert!(may_create_api_key(&principal(Role::Admin, false)).is_ok());
    }

    #[test]
    fn only_admins_without_a_key_manage_the_identity_provider() {
        for (role, may) in [(Role::Admin, true), (Role::Manager, false), (Role::Rep, false), (Role::Viewer, false)] {
            assert_eq!(may_manage_identity_provider(&principal(role, false)).is_ok(), may, "{role:?}");
            assert!(may_manage_identity_provider(&principal(role, true)).is_err(), "{role:?} with a key");
        }
    }
}
