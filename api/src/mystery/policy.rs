//! Who may configure and run mystery checks, as far as the role decides: admins keep the
//! criteria; admins and managers start rounds (managers only for teams in their reach, checked
//! against the database by the use-case); scoring is the round's auditor's, whatever the role.

use crate::core::error::{AppError, AppResult};
use crate::core::principal::{Permission, Principal};
use crate::core::roles::Role;

/// Adding and archiving criteria: admins.
pub fn may_change_criteria(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}

/// Starting a round: admins and managers (managers for a team in their reach).
pub fn may_start_round(p: &Principal) -> AppResult<()> {
    if !matches!(p.role, Role::Admin | Role::Manager) {
        return Err(AppError::forbidden("only admins and managers start mystery-check rounds"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::principal::testing::principal;

    #[test]
    fn admins_change_criteria_and_admins_and_managers_start_rounds() {
        for (role, criteria, rounds) in [
            (Role::Admin, true, true),
            (Role::Manager, false, true),
            (Role::Rep, false, false),
            (Role::Viewer, false, false),
        ] {
            match may_change_criteria(&principal(role)) {
                Ok(()) => assert!(criteria, "{role:?} may change criteria"),
                Err(AppError::Forbidden(_)) => assert!(!criteria, "{role:?} is refused criteria"),
                Err(other) => panic!("{role:?}: {other:?}"),
            }
            match may_start_round(&principal(role)) {
                Ok(()) => assert!(rounds, "{role:?} may start rounds"),
                Err(AppError::Forbidden(_)) => assert!(!rounds, "{role:?} is refused rounds"),
                Err(other) => panic!("{role:?}: {other:?}"),
            }
        }
    }
}
