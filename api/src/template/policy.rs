//! Who may start an organization from a template: those who may change its settings (admins).

use crate::core::error::AppResult;
use crate::core::principal::{Permission, Principal};

/// Applying a template: admins.
pub fn may_apply(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::principal::testing::{allowed, principal};
    use crate::core::roles::Role;

    #[test]
    fn only_admins_apply_a_template() {
        for (role, may) in [(Role::Admin, true), (Role::Manager, false), (Role::Rep, false), (Role::Viewer, false)] {
            assert_eq!(allowed(may_apply(&principal(role)), role), may, "{role:?}");
        }
    }
}
