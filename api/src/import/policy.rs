//! Who may import: admins (an API key also needs the field's scope, `deals:write` or
//! `activities:write`, checked before the resolver runs).

use crate::core::error::AppResult;
use crate::core::principal::{Permission, Principal};

/// Importing deals or activities from a file: admins.
pub fn may_import(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::AppError;
    use crate::core::principal::testing::principal;
    use crate::core::roles::Role;

    #[test]
    fn only_admins_import() {
        for (role, imports) in [(Role::Admin, true), (Role::Manager, false), (Role::Rep, false), (Role::Viewer, false)]
        {
            match may_import(&principal(role)) {
                Ok(()) => assert!(imports, "{role:?} may import"),
                Err(AppError::Forbidden(_)) => assert!(!imports, "{role:?} is refused"),
                Err(other) => panic!("{role:?}: {other:?}"),
            }
        }
    }
}
