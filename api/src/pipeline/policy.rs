//! Who may read and change the pipeline: admins set up stages, checklists and custom fields;
//! every role but viewers changes deals (which deals, the owner's team decides: see the deal
//! services). Admins and viewers read every deal, anyone reads the deals they own or share,
//! managers the deals owned inside the teams they manage, reps nothing else.

use entity::deal;
use uuid::Uuid;

use super::store;
use crate::auth::Reach;
use crate::core::error::{AppError, AppResult};
use crate::core::principal::{Permission, Principal};
use crate::core::roles::Role;
use crate::org::store as org_store;

/// Defining custom fields, stages and checklist items: admins.
pub fn may_set_up(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}

/// Changing deals at all: every role but viewers.
pub fn may_change_deals(p: &Principal) -> AppResult<()> {
    if p.role == Role::Viewer {
        return Err(AppError::forbidden("viewers cannot change deals"));
    }
    Ok(())
}

/// What decides whether a caller reads a deal that is not obviously theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealRelation {
    /// The caller owns the deal.
    Owner,
    /// The caller has a split of the deal.
    Partner,
    /// Someone else's deal, owned by a member of this team (or of none).
    Other {
        /// The owner's team.
        owner_team: Option<Uuid>,
    },
}

/// Whether a caller of `role` may read a deal it stands in `relation` to; `reach` is the
/// caller's reach over teams, needed only for [`DealRelation::Other`].
pub fn may_read_deal(role: Role, relation: DealRelation, reach: Option<&Reach>) -> AppResult<()> {
    match (role, relation) {
        (Role::Admin | Role::Viewer, _) | (_, DealRelation::Owner | DealRelation::Partner) => Ok(()),
        (_, DealRelation::Other { owner_team }) => match reach {
            Some(Reach::All) => Ok(()),
            Some(r) if role == Role::Manager => r.require(owner_team, "this deal"),
            _ => Err(AppError::forbidden("reps see their own deals")),
        },
    }
}

/// [`may_read_deal`] for a stored deal: reads the facts it needs (splits, the owner's team,
/// the caller's reach) only as far as the decision needs them.
pub async fn require_deal_read(p: &Principal, db: &impl sea_orm::ConnectionTrait, d: &deal::Model) -> AppResult<()> {
    if matches!(p.role, Role::Admin | Role::Viewer) || d.owner_id == p.member_id {
        return may_read_deal(p.role, DealRelation::Owner, None);
    }
    if store::splits_of(p.org, db, &[d.id]).await?.iter().any(|s| s.member_id == p.member_id) {
        return may_read_deal(p.role, DealRelation::Partner, None);
    }
    let owner = org_store::find_member(p.org, db, d.owner_id).await?.ok_or(AppError::NotFound("member"))?;
    let reach = p.reach(db).await?;
    may_read_deal(p.role, DealRelation::Other { owner_team: owner.team_id }, Some(&reach))
}

/// Whether the principal may read this deal (for `node` and links from other domains).
pub async fn may_read(p: &Principal, db: &impl sea_orm::ConnectionTrait, d: &deal::Model) -> bool {
    require_deal_read(p, db, d).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::principal::testing::{allowed, principal};
    use uuid::Uuid;

    #[test]
    fn only_admins_set_up_the_pipeline() {
        for (role, expected) in [(Role::Admin, true), (Role::Manager, false), (Role::Rep, false), (Role::Viewer, false)]
        {
            assert_eq!(allowed(may_set_up(&principal(role)), role), expected, "{role:?} sets up the pipeline");
        }
    }

    #[test]
    fn every_role_but_viewers_changes_deals() {
        for (role, expected) in [(Role::Admin, true), (Role::Manager, true), (Role::Rep, true), (Role::Viewer, false)] {
            assert_eq!(allowed(may_change_deals(&principal(role)), role), expected, "{role:?} changes deals");
        }
    }

    #[test]
    fn who_reads_which_deal() {
        let mine = Uuid::from_u128(10);
        let other = Uuid::from_u128(11);
        let managed = Reach::Teams([mine].into_iter().collect());
        let other_deal = |team| DealRelation::Other { owner_team: team };
        for role in [Role::Admin, Role::Manager, Role::Rep, Role::Viewer] {
            assert!(allowed(may_read_deal(role, DealRelation::Owner, None), role), "{role:?} reads own deals");
            assert!(allowed(may_read_deal(role, DealRelation::Partner, None), role), "{role:?} reads shared deals");
        }
        for role in [Role::Admin, Role::Viewer] {
            assert!(allowed(may_read_deal(role, other_deal(Some(other)), None), role), "{role:?} reads every deal");
        }
        assert!(allowed(may_read_deal(Role::Manager, other_deal(Some(mine)), Some(&managed)), Role::Manager));
        assert!(!allowed(may_read_deal(Role::Manager, other_deal(Some(other)), Some(&managed)), Role::Manager));
        assert!(!allowed(may_read_deal(Role::Manager, other_deal(None), Some(&managed)), Role::Manager));
        assert!(allowed(may_read_deal(Role::Manager, other_deal(Some(other)), Some(&Reach::All)), Role::Manager));
        assert!(!allowed(may_read_deal(Role::Rep, other_deal(Some(mine)), Some(&managed)), Role::Rep));
        // Without the reach the rule cannot decide: refused.
        assert!(!allowed(may_read_deal(Role::Manager, other_deal(Some(mine)), None), Role::Manager));
    }
}
