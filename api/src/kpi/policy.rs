//! Who may change KPIs, targets, week locks and alerts: admins define custom KPIs and set the
//! default target of a sales role; managers and admins set a member's target, lock a team's
//! week and work with alert rules and alerts (a manager only inside their subtree, which the
//! use-cases check against the database); everyone but viewers reports their own values.

use uuid::Uuid;

use crate::core::error::{AppError, AppResult};
use crate::core::principal::{Permission, Principal};
use crate::core::roles::Role;

/// Defining, renaming, re-describing and archiving custom KPIs: admins.
pub fn may_define(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}

/// Setting one member's KPI target: managers (for members they reach) and admins.
pub fn may_set_member_target(p: &Principal) -> AppResult<()> {
    p.require(Permission::MembersWrite)
}

/// Setting the default KPI target of a sales role: admins.
pub fn may_set_role_target(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}

/// Locking a team's week: managers (of teams they reach) and admins.
pub fn may_lock_week(p: &Principal) -> AppResult<()> {
    p.require(Permission::MembersWrite)
}

/// Creating alert rules, evaluating them and acknowledging alerts: managers (inside their
/// subtree) and admins.
pub fn may_manage_alerts(p: &Principal) -> AppResult<()> {
    p.require(Permission::MembersWrite)
}

/// The team an alert rule is created for whose reach must still be checked: none for an admin
/// (any rule, organization-wide too); for anyone else the rule's team, and FORBIDDEN when the
/// rule has none.
pub fn rule_team_to_reach(p: &Principal, team: Option<Uuid>) -> AppResult<Option<Uuid>> {
    if p.role == Role::Admin {
        return Ok(None);
    }
    match team {
        Some(t) => Ok(Some(t)),
        None => Err(AppError::forbidden("managers create rules for a team of theirs")),
    }
}

/// Reporting one's own values: every role but viewers.
pub fn may_report(p: &Principal) -> AppResult<()> {
    if p.role == Role::Viewer {
        return Err(AppError::forbidden("viewers cannot report values"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::principal::testing::principal;

    const ROLES: [Role; 4] = [Role::Admin, Role::Manager, Role::Rep, Role::Viewer];

    fn allowed(rule: fn(&Principal) -> AppResult<()>, role: Role) -> bool {
        match rule(&principal(role)) {
            Ok(()) => true,
            Err(AppError::Forbidden(_)) => false,
            Err(other) => panic!("{role:?}: {other:?}"),
        }
    }

    #[test]
    fn only_admins_define_kpis_and_set_role_targets() {
        for role in ROLES {
            assert_eq!(allowed(may_define, role), role == Role::Admin, "{role:?} defines KPIs");
            assert_eq!(allowed(may_set_role_target, role), role == Role::Admin, "{role:?} sets role targets");
        }
    }

    #[test]
    fn managers_and_admins_set_member_targets_lock_weeks_and_manage_alerts() {
        for role in ROLES {
            let expected = matches!(role, Role::Admin | Role::Manager);
            assert_eq!(allowed(may_set_member_target, role), expected, "{role:?} sets member targets");
            assert_eq!(allowed(may_lock_week, role), expected, "{role:?} locks weeks");
            assert_eq!(allowed(may_manage_alerts, role), expected, "{role:?} manages alerts");
        }
    }

    #[test]
    fn everyone_but_viewers_reports_values() {
        for role in ROLES {
            assert_eq!(allowed(may_report, role), role != Role::Viewer, "{role:?} reports values");
        }
    }

    #[test]
    fn admins_create_any_rule_and_others_only_for_a_team_they_reach() {
        let team = Uuid::from_u128(3);
        for role in ROLES {
            let p = principal(role);
            if role == Role::Admin {
                assert!(matches!(rule_team_to_reach(&p, None), Ok(None)));
                assert!(matches!(rule_team_to_reach(&p, Some(team)), Ok(None)));
            } else {
                assert!(matches!(rule_team_to_reach(&p, None), Err(AppError::Forbidden(_))), "{role:?}");
                assert!(matches!(rule_team_to_reach(&p, Some(team)), Ok(Some(t)) if t == team), "{role:?}");
            }
        }
    }
}
