//! A consulting firm's rules: the status of a client, the roles a firm grants in its clients,
//! the role its staff act with there, and the month a client's usage counts. Pure functions.

use chrono::{Datelike, NaiveDate};

use crate::core::principal::FirmRole;
use crate::core::roles::Role;

stored_enum!(
    /// Whether a client organization works.
    ClientStatus {
        /// Signed-in members, tokens and keys work.
        Active => "ACTIVE",
        /// Suspended by its firm: sign-ins, tokens and API keys are refused (FORBIDDEN with
        /// `extensions.reason` `ORGANIZATION_SUSPENDED`) until it is resumed. Nothing is deleted.
        Suspended => "SUSPENDED",
        /// Its deletion was requested: refused like a suspended client until its grace period
        /// ends and every row of it is erased, or the deletion is cancelled.
        DeletionPending => "DELETION_PENDING",
    }
);

/// The roles a firm may grant its consultants in a client: an admin's or a viewer's. A manager's
/// or rep's role needs a team and a member record in the client, which staff do not have.
pub const GRANTABLE: [Role; 2] = [Role::Admin, Role::Viewer];

/// Whether `role` may be granted to a consultant in a client.
pub fn grantable(role: Role) -> bool {
    GRANTABLE.contains(&role)
}

/// The role a staff member acts with in one of the firm's clients: a firm admin is an admin in
/// every client; a consultant holds the role granted there, and nothing without a grant (or
/// with a stored role that is not grantable: fail closed).
pub fn role_in_client(firm_role: FirmRole, granted: Option<Role>) -> Option<Role> {
    match firm_role {
        FirmRole::FirmAdmin => Some(Role::Admin),
        FirmRole::FirmConsultant => granted.filter(|r| grantable(*r)),
    }
}

/// The first day of the month `today` (a client's local date) lies in.
pub fn month_start(today: NaiveDate) -> NaiveDate {
    today.with_day(1).unwrap_or(today)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_firm_admin_is_an_admin_in_every_client_whatever_the_grant() {
        for granted in [None, Some(Role::Viewer), Some(Role::Rep), Some(Role::Admin)] {
            assert_eq!(role_in_client(FirmRole::FirmAdmin, granted), Some(Role::Admin));
        }
    }

    #[test]
    fn a_consultant_holds_only_a_grantable_grant() {
        assert_eq!(role_in_client(FirmRole::FirmConsultant, None), None);
        assert_eq!(role_in_client(FirmRole::FirmConsultant, Some(Role::Admin)), Some(Role::Admin));
        assert_eq!(role_in_client(FirmRole::FirmConsultant, Some(Role::Viewer)), Some(Role::Viewer));
        assert_eq!(role_in_client(FirmRole::FirmConsultant, Some(Role::Manager)), None);
        assert_eq!(role_in_client(FirmRole::FirmConsultant, Some(Role::Rep)), None);
    }

    #[test]
    fn only_admin_and_viewer_are_grantable() {
        assert!(grantable(Role::Admin));
        assert!(grantable(Role::Viewer));
        assert!(!grantable(Role::Manager));
        assert!(!grantable(Role::Rep));
    }

    #[test]
    fn the_month_starts_on_its_first_day() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(month_start(d(2026, 12, 7)), d(2026, 12, 1));
        assert_eq!(month_start(d(2026, 12, 1)), d(2026, 12, 1));
        assert_eq!(month_start(d(2024, 2, 29)), d(2024, 2, 1));
        assert_eq!(month_start(d(2026, 12, 31)), d(2026, 12, 1));
    }

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_refused() {
        for s in [ClientStatus::Active, ClientStatus::Suspended, ClientStatus::DeletionPending] {
            assert_eq!(ClientStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ClientStatus::parse("DELETED"), None);
        assert_eq!(ClientStatus::parse("active"), None);
    }

    #[test]
    fn firm_roles_round_trip_and_unknown_ones_are_refused() {
        for r in [FirmRole::FirmAdmin, FirmRole::FirmConsultant] {
            assert_eq!(FirmRole::parse(r.as_str()), Some(r));
        }
        assert_eq!(FirmRole::parse("ADMIN"), None);
    }
}
