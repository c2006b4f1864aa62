//! Who may read which activity (its note included): one rule for the `activities` connection,
//! `node`/`nodes` and the `scoreChanged` subscription.
//!
//! - a rep: their own activities;
//! - a manager: activities of members of the teams they manage (their reach) and their own;
//! - an admin or a viewer: every activity of the organization;
//! - an API key: every activity (it acts with an admin's reach; whether it reaches activities at
//!   all is its `scores:read` scope, checked where the field or node executes).
//!
//! A rep's read of their team's results stays as it is for scores and boards (sums, ranks);
//! what a teammate logged, and the note with it, is theirs and their managers'.
//!
//! Who may change the rules, as far as the role decides: admins configure activity types,
//! campaigns and sales roles' points targets; managers and admins set members' targets and void
//! others' activities (for members in their reach, checked against the database by the
//! use-case); anyone may void their own activity within 24 hours.

use std::collections::HashSet;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::auth::Reach;
use crate::core::error::{AppError, AppResult};
use crate::core::principal::{Permission, Principal};
use crate::core::roles::Role;

/// The activities a principal may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivityAccess {
    /// Every activity of the organization.
    All,
    /// Activities of members of these teams, and the reader's own.
    Teams {
        /// The reader.
        own: Uuid,
        /// Teams whose members' activities may be read.
        teams: HashSet<Uuid>,
    },
    /// The reader's own activities only.
    Own(Uuid),
}

impl ActivityAccess {
    /// The access of a member with `role` whose reach (teams they manage) is `reach`.
    pub fn new(role: Role, member_id: Uuid, reach: &Reach) -> Self {
        match role {
            Role::Admin | Role::Viewer => ActivityAccess::All,
            Role::Manager => match reach {
                Reach::All => ActivityAccess::All,
                Reach::Teams(teams) => ActivityAccess::Teams { own: member_id, teams: teams.clone() },
            },
            Role::Rep => ActivityAccess::Own(member_id),
        }
    }

    /// The access of a principal (its reach is loaded for managers only).
    pub async fn of(p: &Principal, db: &impl ConnectionTrait) -> AppResult<Self> {
        let reach = match p.role {
            Role::Manager => p.reach(db).await?,
            _ => Reach::Teams(HashSet::new()),
        };
        Ok(Self::new(p.role, p.member_id, &reach))
    }

    /// Whether an activity logged for `author`, who is in `author_team`, may be read.
    pub fn may_read(&self, author: Uuid, author_team: Option<Uuid>) -> bool {
        match self {
            ActivityAccess::All => true,
            ActivityAccess::Teams { own, teams } => author == *own || author_team.is_some_and(|t| teams.contains(&t)),
            ActivityAccess::Own(own) => author == *own,
        }
    }
}

/// Creating, changing and archiving activity types and campaigns, and setting a sales role's
/// default points target: admins.
pub fn may_configure(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}

/// Setting a member's points target: admins and managers (managers for their teams).
pub fn may_set_member_targets(p: &Principal) -> AppResult<()> {
    p.require(Permission::MembersWrite)
}

/// Voiding someone else's activity, or one's own after 24 hours: managers (in their reach)
/// and admins.
pub fn may_void_others(p: &Principal) -> AppResult<()> {
    if p.role == Role::Rep || p.role == Role::Viewer {
        return Err(AppError::forbidden("reps may void their own activities within 24 hours"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::principal::testing::principal;

    #[test]
    fn admins_configure_managers_set_member_targets_and_void_others() {
        for (role, configures, member_targets, voids) in [
            (Role::Admin, true, true, true),
            (Role::Manager, false, true, true),
            (Role::Rep, false, false, false),
            (Role::Viewer, false, false, false),
        ] {
            let p = principal(role);
            for (what, result, allowed) in [
                ("configure", may_configure(&p), configures),
                ("set member targets", may_set_member_targets(&p), member_targets),
                ("void others' activities", may_void_others(&p), voids),
            ] {
                match result {
                    Ok(()) => assert!(allowed, "{role:?} may {what}"),
                    Err(AppError::Forbidden(_)) => assert!(!allowed, "{role:?} is refused to {what}"),
                    Err(other) => panic!("{role:?} {what}: {other:?}"),
                }
            }
        }
    }

    const ROLES: [Role; 4] = [Role::Admin, Role::Manager, Role::Rep, Role::Viewer];

    #[test]
    fn every_role_against_own_teammate_managed_and_other_authors() {
        let me = Uuid::from_u128(1);
        let teammate = Uuid::from_u128(2);
        let stranger = Uuid::from_u128(3);
        let my_team = Uuid::from_u128(10);
        let sub_team = Uuid::from_u128(11);
        let other_team = Uuid::from_u128(12);
        let reach = Reach::Teams(HashSet::from([my_team, sub_team]));
        for role in ROLES {
            let access = ActivityAccess::new(role, me, &reach);
            let cases = [
                ("own", me, Some(my_team)),
                ("own without a team", me, None),
                ("teammate", teammate, Some(my_team)),
                ("sub-team member", teammate, Some(sub_team)),
                ("other team", stranger, Some(other_team)),
                ("no team", stranger, None),
            ];
            for (what, author, team) in cases {
                let expected = match (role, what) {
                    (Role::Admin | Role::Viewer, _) => true,
                    (Role::Manager, "other team" | "no team") => false,
                    (Role::Manager, _) => true,
                    (Role::Rep, "own" | "own without a team") => true,
                    (Role::Rep, _) => false,
                };
                assert_eq!(access.may_read(author, team), expected, "{role:?} reading {what}");
            }
        }
    }

    #[test]
    fn a_manager_with_the_whole_organization_in_reach_reads_all() {
        let access = ActivityAccess::new(Role::Manager, Uuid::from_u128(1), &Reach::All);
        assert_eq!(access, ActivityAccess::All);
        assert!(access.may_read(Uuid::from_u128(9), None));
    }

    #[test]
    fn a_reps_reach_does_not_widen_what_they_read() {
        let team = Uuid::from_u128(10);
        let access = ActivityAccess::new(Role::Rep, Uuid::from_u128(1), &Reach::Teams(HashSet::from([team])));
        assert_eq!(access, ActivityAccess::Own(Uuid::from_u128(1)));
        assert!(!access.may_read(Uuid::from_u128(2), Some(team)));
    }

    #[test]
    fn a_manager_without_reach_reads_only_their_own() {
        let me = Uuid::from_u128(1);
        let access = ActivityAccess::new(Role::Manager, me, &Reach::Teams(HashSet::new()));
        assert!(access.may_read(me, None));
        assert!(!access.may_read(Uuid::from_u128(2), None));
        assert!(!access.may_read(Uuid::from_u128(2), Some(Uuid::from_u128(10))));
    }
}
