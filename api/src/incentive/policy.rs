//! Who may do what with incentive compensation: admins manage plans, assignments, payout runs
//! and the statement lifecycle; managers and admins resolve disputes; whose pay a principal may
//! read depends on their role and, for managers, on the teams they reach.

use std::collections::HashSet;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::auth::Reach;
use crate::core::error::{AppError, AppResult};
use crate::core::principal::{Permission, Principal};
use crate::core::roles::Role;
use crate::org::store as org_store;

/// Managing plans, assignments, payout runs and statements: admins.
pub fn may_manage(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}

/// Resolving disputes: managers and admins (never their own, see the use-case).
pub fn may_resolve_disputes(p: &Principal) -> AppResult<()> {
    if !matches!(p.role, Role::Admin | Role::Manager) {
        return Err(AppError::forbidden("only managers and admins resolve disputes"));
    }
    Ok(())
}

/// The members whose pay the principal may read: `None` = everyone (admins, viewers).
pub async fn readable_members(p: &Principal, db: &impl ConnectionTrait) -> AppResult<Option<HashSet<Uuid>>> {
    match p.role {
        Role::Admin | Role::Viewer => Ok(None),
        Role::Manager => match p.reach(db).await? {
            Reach::All => Ok(None),
            Reach::Teams(teams) => {
                let teams: Vec<Uuid> = teams.into_iter().collect();
                let mut ids: HashSet<Uuid> =
                    org_store::members_by_teams(p.org, db, &teams).await?.into_iter().map(|m| m.id).collect();
                ids.insert(p.member_id);
                Ok(Some(ids))
            }
        },
        Role::Rep => Ok(Some(HashSet::from([p.member_id]))),
    }
}

/// Whether the principal may read `member`'s pay.
pub async fn may_read_member(p: &Principal, db: &impl ConnectionTrait, member: Uuid) -> AppResult<bool> {
    Ok(readable_members(p, db).await?.is_none_or(|ids| ids.contains(&member)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::principal::testing::{allowed, principal};

    #[test]
    fn admins_manage_and_managers_and_admins_resolve_disputes() {
        for (role, manages, resolves) in [
            (Role::Admin, true, true),
            (Role::Manager, false, true),
            (Role::Rep, false, false),
            (Role::Viewer, false, false),
        ] {
            assert_eq!(allowed(may_manage(&principal(role)), role), manages, "{role:?} manages pay");
            assert_eq!(allowed(may_resolve_disputes(&principal(role)), role), resolves, "{role:?} resolves");
        }
    }
}
