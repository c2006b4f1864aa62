//! Who in a firm may do what: firm admins run the firm (clients, staff, grants); consultants
//! read the clients they are granted and themselves.

use crate::core::error::{AppError, AppResult};
use crate::core::principal::{FirmRole, FirmStaff};

/// Creating, suspending and resuming clients, adding staff and granting them: firm admins.
pub fn may_administer(staff: &FirmStaff) -> AppResult<()> {
    match staff.role {
        FirmRole::FirmAdmin => Ok(()),
        FirmRole::FirmConsultant => Err(AppError::forbidden("only a firm admin may do this")),
    }
}

/// Whether the staff member sees every client of the firm (firm admins), or only those they
/// hold a grant in (consultants).
pub fn sees_every_client(staff: &FirmStaff) -> bool {
    staff.role == FirmRole::FirmAdmin
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn staff(role: FirmRole) -> FirmStaff {
        FirmStaff { firm_id: Uuid::from_u128(1), staff_id: Uuid::from_u128(2), role }
    }

    #[test]
    fn only_firm_admins_administer_and_see_every_client() {
        assert!(may_administer(&staff(FirmRole::FirmAdmin)).is_ok());
        assert!(matches!(may_administer(&staff(FirmRole::FirmConsultant)), Err(AppError::Forbidden(_))));
        assert!(sees_every_client(&staff(FirmRole::FirmAdmin)));
        assert!(!sees_every_client(&staff(FirmRole::FirmConsultant)));
    }
}
