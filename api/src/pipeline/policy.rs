//! Who may change the pipeline: admins set up stages, checklists and custom fields; every role
//! but viewers changes deals (which deals, the owner's team decides: see the deal services).

use crate::core::error::{AppError, AppResult};
use crate::core::principal::{Permission, Principal};
use crate::core::roles::Role;

/// Defining custom fields, stages and checklist items: admins.
pub fn may_set_up(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}

/// Changing deals at all: every role but viewers.
pub fn may_change_deals(p: &Principal) -> AppResult<()> {
    if p.role == Role::Viewer {
        return Err(AppError::forbidden("viewers cannot change deals"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::OrgId;
    use uuid::Uuid;

    fn principal(role: Role) -> Principal {
        Principal { org: OrgId(Uuid::from_u128(1)), member_id: Uuid::from_u128(2), role, team_id: None, api_key: None }
    }

    fn allowed(r: AppResult<()>, role: Role) -> bool {
        match r {
            Ok(()) => true,
            Err(AppError::Forbidden(_)) => false,
            Err(other) => panic!("{role:?}: {other:?}"),
        }
    }

    #[test]
    fn only_admins_set_up_the_pipeline() {
        for (role, expected) in [(Role::Admin, true), (Role::Manager, false), (Role::Rep, false), (Role::Viewer, false)]
        {
            assert_eq!(allowed(may_set_up(&principal(role)), role), expected, "{role:?} sets up the pipeline");
        }
    }

    #[test]
    fn every_role_but_viewers_changes_deals() {
        for (role, expected) in [(Role::Admin, true), (Role::Manager, true), (Role::Rep, true), (Role::Viewer, false)] {
            assert_eq!(allowed(may_change_deals(&principal(role)), role), expected, "{role:?} changes deals");
        }
    }
}
