//! Who may read and change territories: everyone in the organization reads the tree, its
//! rules, assignments and coverage; only admins change them.

use crate::core::error::AppResult;
use crate::core::principal::{Permission, Principal};

/// Reading territories, assignments and coverage: every member of the organization.
pub fn may_read(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationRead)
}

/// Creating, changing and archiving territories and assigning members: admins.
pub fn may_change(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::AppError;
    use crate::core::principal::testing::principal;
    use crate::core::roles::Role;

    #[test]
    fn every_role_reads_and_only_admins_change() {
        for (role, changes) in [(Role::Admin, true), (Role::Manager, false), (Role::Rep, false), (Role::Viewer, false)]
        {
            assert!(may_read(&principal(role)).is_ok(), "{role:?} reads territories");
            match may_change(&principal(role)) {
                Ok(()) => assert!(changes, "{role:?} may change territories"),
                Err(AppError::Forbidden(_)) => assert!(!changes, "{role:?} is refused"),
                Err(other) => panic!("{role:?}: {other:?}"),
            }
        }
    }
}
