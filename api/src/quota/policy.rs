//! Who may read and set quotas: admins and viewers read every quota; managers their teams,
//! their members and territories; reps their own and their own team's. Admins set every quota;
//! managers those of members and teams in their reach; reps and viewers none.

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::model::QuotaSubjectKind;
use crate::auth::Reach;
use crate::core::error::{AppError, AppResult};
use crate::core::principal::Principal;
use crate::core::roles::Role;
use crate::org::store as org_store;

/// Setting quotas and ramps at all: admins and managers (managers only within their reach, see
/// [`may_write`]).
pub fn may_set(p: &Principal) -> AppResult<()> {
    match p.role {
        Role::Admin | Role::Manager => Ok(()),
        _ => Err(AppError::forbidden("only admins and managers set quotas")),
    }
}

/// Whether the principal may read a subject's quotas: admins and viewers all; managers their
/// teams, their members, and territories; reps their own and their own team's.
pub async fn may_read(
    p: &Principal,
    db: &impl ConnectionTrait,
    kind: QuotaSubjectKind,
    subject: Uuid,
) -> AppResult<bool> {
    if matches!(p.role, Role::Admin | Role::Viewer) {
        return Ok(true);
    }
    Ok(match kind {
        QuotaSubjectKind::Member if subject == p.member_id => true,
        QuotaSubjectKind::Team if p.team_id == Some(subject) => true,
        QuotaSubjectKind::Territory => p.role == Role::Manager,
        _ if p.role == Role::Manager => may_write(p, db, kind, subject).await.is_ok(),
        _ => false,
    })
}

/// Admins change every quota; managers those of members and teams in their reach.
pub async fn may_write(
    p: &Principal,
    db: &impl ConnectionTrait,
    kind: QuotaSubjectKind,
    subject: Uuid,
) -> AppResult<()> {
    may_set(p)?;
    if p.role == Role::Admin {
        return Ok(());
    }
    let reach = p.reach(db).await?;
    let team = match kind {
        QuotaSubjectKind::Member => {
            org_store::find_member(p.org, db, subject).await?.ok_or(AppError::NotFound("member"))?.team_id
        }
        QuotaSubjectKind::Team => Some(subject),
        QuotaSubjectKind::Territory => return Err(AppError::forbidden("only admins set territory quotas")),
    };
    match reach {
        Reach::All => Ok(()),
        r => r.require(team, "this member or team"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::principal::testing::principal;

    #[test]
    fn admins_and_managers_set_quotas_reps_and_viewers_do_not() {
        for (role, sets) in [(Role::Admin, true), (Role::Manager, true), (Role::Rep, false), (Role::Viewer, false)] {
            match may_set(&principal(role)) {
                Ok(()) => assert!(sets, "{role:?} may set quotas"),
                Err(AppError::Forbidden(_)) => assert!(!sets, "{role:?} is refused"),
                Err(other) => panic!("{role:?}: {other:?}"),
            }
        }
    }
}
