//! Who may submit, adjust and read forecasts: a rep (or manager, or admin) submits their own
//! numbers, managers and admins submit for a team and adjust the numbers of those below them;
//! admins and viewers read every team, managers the teams in their reach.

use std::collections::HashSet;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::auth::Reach;
use crate::core::error::{AppError, AppResult};
use crate::core::principal::Principal;
use crate::core::roles::Role;
use crate::org::directory::Directory;
use crate::org::store as org_store;

/// Submitting for a team: managers and admins (within the teams they may read, see
/// [`require_team`]).
pub fn may_submit_for_team(p: &Principal) -> AppResult<()> {
    if !matches!(p.role, Role::Admin | Role::Manager) {
        return Err(AppError::forbidden("only managers submit for a team"));
    }
    Ok(())
}

/// Submitting one's own numbers: every member but viewers, and not through an API key.
pub fn may_submit_own(p: &Principal) -> AppResult<()> {
    if p.role == Role::Viewer || p.api_key.is_some() {
        return Err(AppError::forbidden("viewers have no forecast of their own"));
    }
    Ok(())
}

/// Adjusting others' numbers: managers and admins.
pub fn may_adjust(p: &Principal) -> AppResult<()> {
    if !matches!(p.role, Role::Admin | Role::Manager) {
        return Err(AppError::forbidden("only managers adjust forecasts"));
    }
    Ok(())
}

/// Teams whose forecasts the principal may read: `None` = all.
pub async fn readable(p: &Principal, db: &impl ConnectionTrait) -> AppResult<Option<HashSet<Uuid>>> {
    let reach = if p.role == Role::Manager { p.reach(db).await? } else { Reach::All };
    Ok(readable_with(p.role, reach))
}

/// [`readable`] from the organization's directory in memory.
pub fn readable_in(p: &Principal, dir: &Directory) -> Option<HashSet<Uuid>> {
    let reach = if p.role == Role::Manager { p.reach_in(dir) } else { Reach::All };
    readable_with(p.role, reach)
}

/// Admins and viewers read every team, managers what they reach, reps none.
fn readable_with(role: Role, reach: Reach) -> Option<HashSet<Uuid>> {
    match (role, reach) {
        (Role::Admin | Role::Viewer, _) | (Role::Manager, Reach::All) => None,
        (Role::Manager, Reach::Teams(t)) => Some(t),
        (Role::Rep, _) => Some(HashSet::new()),
    }
}

/// The team exists (else NOT_FOUND) and is one whose forecasts the principal may read (else
/// FORBIDDEN).
pub async fn require_team(p: &Principal, db: &impl ConnectionTrait, team: Uuid) -> AppResult<()> {
    org_store::find_team(p.org, db, team).await?.ok_or(AppError::NotFound("team"))?;
    may_read(readable(p, db).await?, team)
}

/// [`require_team`] from the organization's directory in memory.
pub fn require_team_in(p: &Principal, dir: &Directory, team: Uuid) -> AppResult<()> {
    dir.team(team).ok_or(AppError::NotFound("team"))?;
    may_read(readable_in(p, dir), team)
}

fn may_read(readable: Option<HashSet<Uuid>>, team: Uuid) -> AppResult<()> {
    match readable {
        None => Ok(()),
        Some(set) if set.contains(&team) => Ok(()),
        Some(_) => Err(AppError::forbidden("this team is not below you")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::principal::testing::{allowed, principal};

    #[test]
    fn managers_and_admins_submit_for_teams_and_adjust() {
        for (role, may) in [(Role::Admin, true), (Role::Manager, true), (Role::Rep, false), (Role::Viewer, false)] {
            assert_eq!(allowed(may_submit_for_team(&principal(role)), role), may, "{role:?} submits for a team");
            assert_eq!(allowed(may_adjust(&principal(role)), role), may, "{role:?} adjusts");
        }
    }

    #[test]
    fn everyone_but_viewers_submits_their_own() {
        for (role, may) in [(Role::Admin, true), (Role::Manager, true), (Role::Rep, true), (Role::Viewer, false)] {
            assert_eq!(allowed(may_submit_own(&principal(role)), role), may, "{role:?} submits their own");
        }
    }
}
