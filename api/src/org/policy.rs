//! Who may change which member: one rule, used by every mutation that changes a member or
//! appoints one (profile and e-mail edits, role changes, deactivation and reactivation, team
//! moves, team-manager appointments, member creation).
//!
//! The rule has two parts, and both must hold:
//! - **Reach**: the member sits in a team the actor manages (an admin's reach is the whole
//!   organization; a member without a team is reachable by admins only).
//! - **Role order**: admin > manager > rep = viewer. Nobody acts on a member whose role is
//!   above their own, and nobody hands out a role above their own. Equal roles may act on each
//!   other: an admin on another admin (the organization's admins are peers), and a manager on a
//!   manager inside their reach (a sales director on the team leads of their sub-teams); a
//!   manager outside that reach stays out of it by the first part. Reps and viewers change no one.

use entity::member;

use super::model::Role;
use crate::auth::Reach;
use crate::core::error::{AppError, AppResult};
use crate::core::principal::{Permission, Principal};

/// Why a member change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The actor's role changes no members at all.
    NotAManager,
    /// The member is outside the teams the actor manages.
    OutOfReach,
    /// The member's role is above the actor's.
    Outranked,
    /// The role to hand out is above the actor's own.
    RoleAboveOwn,
}

impl Refusal {
    /// A message for the FORBIDDEN error; `what` names the member concerned ("this member").
    pub fn message(self, what: &str) -> String {
        match self {
            Refusal::NotAManager => "your role does not allow changing members".to_owned(),
            Refusal::OutOfReach => format!("{what} is outside the teams you manage"),
            Refusal::Outranked => format!("{what} has a role above yours"),
            Refusal::RoleAboveOwn => "you cannot hand out a role above your own".to_owned(),
        }
    }
}

/// How far a role reaches over others; a higher rank may act on a lower or equal one.
pub fn rank(role: Role) -> u8 {
    match role {
        Role::Admin => 3,
        Role::Manager => 2,
        Role::Rep | Role::Viewer => 1,
    }
}

/// The role a stored member counts as for this rule: an unreadable stored role counts as the
/// highest, so a member nobody understands is changed by admins only.
pub fn stored_role(raw: &str) -> Role {
    Role::parse(raw).unwrap_or(Role::Admin)
}

/// Whether a member with role `actor` may change (or appoint) a member with role `target`
/// whose team the actor's reach covers (`target_in_reach`).
pub fn may_change_member(actor: Role, target: Role, target_in_reach: bool) -> Result<(), Refusal> {
    if !matches!(actor, Role::Admin | Role::Manager) {
        return Err(Refusal::NotAManager);
    }
    if !target_in_reach {
        return Err(Refusal::OutOfReach);
    }
    if rank(target) > rank(actor) {
        return Err(Refusal::Outranked);
    }
    Ok(())
}

/// Whether a member with role `actor` may give role `new` to a member (new or existing).
pub fn may_grant_role(actor: Role, new: Role) -> Result<(), Refusal> {
    if !matches!(actor, Role::Admin | Role::Manager) {
        return Err(Refusal::NotAManager);
    }
    if rank(new) > rank(actor) {
        return Err(Refusal::RoleAboveOwn);
    }
    Ok(())
}

/// FORBIDDEN unless the principal may change (or appoint) `target` under the member rule.
pub fn require_may_change(p: &Principal, reach: &Reach, target: &member::Model, what: &str) -> AppResult<()> {
    may_change_member(p.role, stored_role(&target.role), reach.covers(target.team_id))
        .map_err(|refusal| AppError::forbidden(refusal.message(what)))
}

/// Changing the organization's settings and branding: admins.
pub fn may_update_organization(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}

/// Adding, verifying and removing the organization's host names: admins, not API keys (a
/// leaked key must not move where members sign in).
pub fn may_manage_domains(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)?;
    if p.api_key.is_some() {
        return Err(AppError::forbidden("API keys cannot change the organization's host names"));
    }
    Ok(())
}

/// Creating, changing and moving teams: admins, and managers (inside their reach, checked on
/// the records).
pub fn may_write_teams(p: &Principal) -> AppResult<()> {
    p.require(Permission::TeamsWrite)
}

/// Creating members: admins.
pub fn may_create_members(p: &Principal) -> AppResult<()> {
    p.require(Permission::MembersCreate)
}

/// Changing other members, deactivating and reactivating them: admins, and managers (under
/// the member rule, checked on the records).
pub fn may_write_members(p: &Principal) -> AppResult<()> {
    p.require(Permission::MembersWrite)
}

/// Changing a member's role: admins.
pub fn may_assign_roles(p: &Principal) -> AppResult<()> {
    p.require(Permission::RolesAssign)
}

/// FORBIDDEN unless the principal may hand out `role`.
pub fn require_may_grant(p: &Principal, role: Role) -> AppResult<()> {
    may_grant_role(p.role, role).map_err(|refusal| AppError::forbidden(refusal.message("")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::principal::testing::principal;

    /// Whether `check` lets `role` through; anything but FORBIDDEN fails the test.
    fn allows(check: fn(&Principal) -> AppResult<()>, role: Role) -> bool {
        match check(&principal(role)) {
            Ok(()) => true,
            Err(AppError::Forbidden(_)) => false,
            Err(other) => panic!("{role:?}: {other:?}"),
        }
    }

    #[test]
    fn permission_checks_for_every_role() {
        type Check = fn(&Principal) -> AppResult<()>;
        // (check, name, admin, manager, rep, viewer)
        let table: [(Check, &str, [bool; 4]); 5] = [
            (may_update_organization, "update the organization", [true, false, false, false]),
            (may_write_teams, "write teams", [true, true, false, false]),
            (may_create_members, "create members", [true, false, false, false]),
            (may_write_members, "write members", [true, true, false, false]),
            (may_assign_roles, "assign roles", [true, false, false, false]),
        ];
        for (check, what, expected) in table {
            for (role, allowed) in ROLES.into_iter().zip(expected) {
                assert_eq!(allows(check, role), allowed, "{role:?} may {what}");
            }
        }
    }

    #[test]
    fn granting_a_role_follows_the_grant_rule_for_every_pair() {
        for actor in ROLES {
            for new in ROLES {
                let result = require_may_grant(&principal(actor), new);
                assert_eq!(result.is_ok(), may_grant_role(actor, new).is_ok(), "{actor:?} grants {new:?}");
                if let Err(e) = result {
                    assert!(matches!(e, AppError::Forbidden(_)), "{actor:?} grants {new:?}: {e:?}");
                }
            }
        }
    }

    const ROLES: [Role; 4] = [Role::Admin, Role::Manager, Role::Rep, Role::Viewer];

    /// The whole table, written out: a change to the rule must change this test.
    fn expected_change(actor: Role, target: Role) -> Result<(), Refusal> {
        use Role::*;
        match (actor, target) {
            (Admin, _) => Ok(()),
            (Manager, Admin) => Err(Refusal::Outranked),
            (Manager, Manager | Rep | Viewer) => Ok(()),
            (Rep | Viewer, _) => Err(Refusal::NotAManager),
        }
    }

    #[test]
    fn every_role_pair_in_reach() {
        for actor in ROLES {
            for target in ROLES {
                assert_eq!(
                    may_change_member(actor, target, true),
                    expected_change(actor, target),
                    "{actor:?} on {target:?}"
                );
            }
        }
    }

    #[test]
    fn out_of_reach_is_refused_for_every_pair() {
        for actor in ROLES {
            for target in ROLES {
                let expected = match actor {
                    Role::Admin | Role::Manager => Err(Refusal::OutOfReach),
                    Role::Rep | Role::Viewer => Err(Refusal::NotAManager),
                };
                assert_eq!(may_change_member(actor, target, false), expected, "{actor:?} on {target:?}");
            }
        }
    }

    #[test]
    fn nobody_acts_above_their_own_role() {
        for actor in ROLES {
            for target in ROLES {
                if rank(target) > rank(actor) {
                    assert!(may_change_member(actor, target, true).is_err(), "{actor:?} on {target:?}");
                    assert!(may_grant_role(actor, target).is_err(), "{actor:?} grants {target:?}");
                }
            }
        }
    }

    #[test]
    fn every_role_grant() {
        use Role::*;
        for actor in ROLES {
            for new in ROLES {
                let expected = match (actor, new) {
                    (Admin, _) => Ok(()),
                    (Manager, Admin) => Err(Refusal::RoleAboveOwn),
                    (Manager, _) => Ok(()),
                    (Rep | Viewer, _) => Err(Refusal::NotAManager),
                };
                assert_eq!(may_grant_role(actor, new), expected, "{actor:?} grants {new:?}");
            }
        }
    }

    #[test]
    fn ranks_are_ordered() {
        assert!(rank(Role::Admin) > rank(Role::Manager));
        assert!(rank(Role::Manager) > rank(Role::Rep));
        assert_eq!(rank(Role::Rep), rank(Role::Viewer));
    }

    #[test]
    fn unreadable_stored_roles_count_as_admin() {
        assert_eq!(stored_role("MANAGER"), Role::Manager);
        assert_eq!(stored_role("REP"), Role::Rep);
        assert_eq!(stored_role("VIEWER"), Role::Viewer);
        assert_eq!(stored_role("ADMIN"), Role::Admin);
        for raw in ["", "admin", "OWNER", "SUPERUSER", "REP "] {
            assert_eq!(stored_role(raw), Role::Admin, "{raw:?}");
            assert_eq!(may_change_member(Role::Manager, stored_role(raw), true), Err(Refusal::Outranked));
        }
    }
}
