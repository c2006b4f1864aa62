//! Tenant-scoped reads and writes for mystery checks: criteria, rounds and checks. The only
//! place with queries for these tables; every function takes the tenant first.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use entity::{deal, member, mystery_check, mystery_criterion, mystery_round};

use super::model;
use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
use crate::core::roles::Role;
use crate::db::tenant;
use crate::org::store as org_store;

// ---------------------------------------------------------------- criteria

/// The organization's criteria by name; archived ones only when asked.
pub async fn criteria(
    org: OrgId,
    db: &impl ConnectionTrait,
    include_archived: bool,
) -> AppResult<Vec<mystery_criterion::Model>> {
    let mut q = tenant::scoped::<mystery_criterion::Entity>(org);
    if !include_archived {
        q = q.filter(mystery_criterion::Column::Active.eq(true));
    }
    Ok(q.order_by_asc(mystery_criterion::Column::CreatedAt).order_by_asc(mystery_criterion::Column::Id).all(db).await?)
}

/// One criterion.
pub async fn find_criterion(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
) -> AppResult<Option<mystery_criterion::Model>> {
    Ok(tenant::scoped_by_id::<mystery_criterion::Entity>(org, id).one(db).await?)
}

/// Several criteria, archived ones included (a scored check keeps naming them).
pub async fn criteria_by_ids(
    org: OrgId,
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<Vec<mystery_criterion::Model>> {
    Ok(tenant::scoped::<mystery_criterion::Entity>(org)
        .filter(mystery_criterion::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// Creates an active criterion (name and points already validated).
pub async fn create_criterion(
    org: OrgId,
    db: &impl ConnectionTrait,
    name: String,
    points: i32,
) -> AppResult<mystery_criterion::Model> {
    Ok(mystery_criterion::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        name: Set(name),
        points: Set(points),
        active: Set(true),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Archives a criterion: later checks no longer score it; scored checks keep it.
pub async fn archive_criterion(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<mystery_criterion::Model> {
    let result = tenant::scoped_update::<mystery_criterion::Entity>(org)
        .set(mystery_criterion::ActiveModel { active: Set(false), ..Default::default() })
        .filter(mystery_criterion::Column::Id.eq(id))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::NotFound("criterion"));
    }
    find_criterion(org, db, id).await?.ok_or(AppError::NotFound("criterion"))
}

// ---------------------------------------------------------------- rounds

/// One round.
pub async fn find_round(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<mystery_round::Model>> {
    Ok(tenant::scoped_by_id::<mystery_round::Entity>(org, id).one(db).await?)
}

/// The team's round of a month (`month` is the first day).
pub async fn round_of_month(
    org: OrgId,
    db: &impl ConnectionTrait,
    team: Uuid,
    month: NaiveDate,
) -> AppResult<Option<mystery_round::Model>> {
    Ok(tenant::scoped::<mystery_round::Entity>(org)
        .filter(mystery_round::Column::TeamId.eq(team))
        .filter(mystery_round::Column::Month.eq(month))
        .one(db)
        .await?)
}

/// The team's latest round before `month`: whose auditor the rotation moves on from.
pub async fn previous_round(
    org: OrgId,
    db: &impl ConnectionTrait,
    team: Uuid,
    month: NaiveDate,
) -> AppResult<Option<mystery_round::Model>> {
    Ok(tenant::scoped::<mystery_round::Entity>(org)
        .filter(mystery_round::Column::TeamId.eq(team))
        .filter(mystery_round::Column::Month.lt(month))
        .order_by_desc(mystery_round::Column::Month)
        .one(db)
        .await?)
}

/// The team's rounds with a month in `[from, to]` (either bound optional), oldest first.
pub async fn rounds(
    org: OrgId,
    db: &impl ConnectionTrait,
    team: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> AppResult<Vec<mystery_round::Model>> {
    let mut cond = Condition::all().add(mystery_round::Column::TeamId.eq(team));
    if let Some(from) = from {
        cond = cond.add(mystery_round::Column::Month.gte(from));
    }
    if let Some(to) = to {
        cond = cond.add(mystery_round::Column::Month.lte(to));
    }
    Ok(tenant::scoped::<mystery_round::Entity>(org)
        .filter(cond)
        .order_by_asc(mystery_round::Column::Month)
        .all(db)
        .await?)
}

/// A round to store, planned by [`model::plan_round`].
#[derive(Debug, Clone)]
pub struct NewRound {
    /// The round's ID (the sample seeds derive from it, so it is chosen before planning).
    pub id: Uuid,
    /// The team.
    pub team_id: Uuid,
    /// First day of the month.
    pub month: NaiveDate,
    /// Deals sampled per rep.
    pub samples_per_rep: i32,
    /// The rotation seed ([`model::auditor_seed`]).
    pub seed: u64,
    /// Who started it.
    pub created_by: Uuid,
}

/// Stores a round and one pending check per sampled deal. The unique index on
/// (organization, team, month) refuses a second round of the same month.
pub async fn create_round(
    org: OrgId,
    db: &impl ConnectionTrait,
    new: NewRound,
    plan: &model::RoundPlan,
) -> AppResult<mystery_round::Model> {
    let round = mystery_round::ActiveModel {
        id: Set(new.id),
        organization_id: Set(org.0),
        team_id: Set(new.team_id),
        month: Set(new.month),
        auditor_id: Set(plan.auditor),
        samples_per_rep: Set(new.samples_per_rep),
        // Stored bit for bit: the column is a signed 64-bit integer.
        seed: Set(i64::from_be_bytes(new.seed.to_be_bytes())),
        created_by: Set(new.created_by),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    let checks: Vec<mystery_check::ActiveModel> = plan
        .samples
        .iter()
        .flat_map(|(rep, deals)| {
            deals.iter().map(move |deal| mystery_check::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(org.0),
                round_id: Set(new.id),
                rep_id: Set(*rep),
                deal_id: Set(*deal),
                results: Set(None),
                total_points: Set(None),
                note: Set(None),
                scored_at: Set(None),
            })
        })
        .collect();
    if !checks.is_empty() {
        mystery_check::Entity::insert_many(checks).exec(db).await?;
    }
    Ok(round)
}

/// The members a team's rounds rotate over and audit: the active members of the team and its
/// sub-teams, viewers excepted (read-only, they can neither sell nor score).
pub async fn round_members(org: OrgId, db: &impl ConnectionTrait, team: Uuid) -> AppResult<Vec<member::Model>> {
    let subtree: Vec<Uuid> = org_store::team_tree(org, db).await?.subtree([team]).into_iter().collect();
    let filter = org_store::MemberFilter { team_ids: Some(subtree), active: Some(true), ..Default::default() };
    Ok(org_store::all_members(org, db, &filter)
        .await?
        .into_iter()
        .filter(|m| m.role != Role::Viewer.as_str())
        .collect())
}

/// Per owner, the IDs of their deals active during `[start, end)` ([`model::deal_active_during`];
/// a deal without a lead date counts from its creation).
pub async fn active_deals_by_owner(
    org: OrgId,
    db: &impl ConnectionTrait,
    owners: &[Uuid],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<BTreeMap<Uuid, Vec<Uuid>>> {
    let rows = tenant::scoped::<deal::Entity>(org)
        .filter(deal::Column::OwnerId.is_in(owners.iter().copied()))
        .filter(Condition::any().add(deal::Column::ClosedAt.is_null()).add(deal::Column::ClosedAt.gte(start)))
        .filter(
            Condition::any()
                .add(deal::Column::LeadCreatedAt.lt(end))
                .add(Condition::all().add(deal::Column::LeadCreatedAt.is_null()).add(deal::Column::CreatedAt.lt(end))),
        )
        .all(db)
        .await?;
    let mut out: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for d in rows {
        if model::deal_active_during(d.lead_created_at.unwrap_or(d.created_at), d.closed_at, start, end) {
            out.entry(d.owner_id).or_default().push(d.id);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- checks

/// One check.
pub async fn find_check(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<mystery_check::Model>> {
    Ok(tenant::scoped_by_id::<mystery_check::Entity>(org, id).one(db).await?)
}

/// The checks of several rounds, by rep then deal.
pub async fn checks_of_rounds(
    org: OrgId,
    db: &impl ConnectionTrait,
    rounds: &[Uuid],
) -> AppResult<Vec<mystery_check::Model>> {
    Ok(tenant::scoped::<mystery_check::Entity>(org)
        .filter(mystery_check::Column::RoundId.is_in(rounds.iter().copied()))
        .order_by_asc(mystery_check::Column::RepId)
        .order_by_asc(mystery_check::Column::Id)
        .all(db)
        .await?)
}

/// One scored criterion as stored in `mystery_checks.results`: the criterion's points at
/// scoring time are kept, so a check's maximum never moves afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredAward {
    /// The criterion.
    pub criterion_id: Uuid,
    /// Points awarded.
    pub awarded: i32,
    /// The criterion's points when scored.
    pub max_points: i32,
}

/// The stored results of a check (empty when pending or unreadable).
pub fn stored_results(check: &mystery_check::Model) -> Vec<StoredAward> {
    check.results.as_deref().and_then(|json| serde_json::from_str(json).ok()).unwrap_or_default()
}

/// The score of a scored check from its stored results: points awarded and available.
pub fn stored_score(check: &mystery_check::Model) -> model::CheckScore {
    let results = stored_results(check);
    model::CheckScore {
        total: check.total_points.map_or_else(|| results.iter().map(|a| i64::from(a.awarded)).sum(), i64::from),
        max_total: results.iter().map(|a| i64::from(a.max_points)).sum(),
    }
}

/// The points a check scored against these criteria can reach.
pub fn points_available(criteria: &[mystery_criterion::Model]) -> i64 {
    criteria.iter().map(|c| i64::from(c.points)).sum()
}

/// Saves an auditor's scores (the last save wins).
pub async fn save_score(
    org: OrgId,
    db: &impl ConnectionTrait,
    check: Uuid,
    results: &[StoredAward],
    total: i64,
    note: Option<String>,
) -> AppResult<mystery_check::Model> {
    let json = serde_json::to_string(results).map_err(|e| AppError::Internal(e.into()))?;
    let total = i32::try_from(total).map_err(|e| AppError::Internal(e.into()))?;
    let result = tenant::scoped_update::<mystery_check::Entity>(org)
        .set(mystery_check::ActiveModel {
            results: Set(Some(json)),
            total_points: Set(Some(total)),
            note: Set(note),
            scored_at: Set(Some(Utc::now())),
            ..Default::default()
        })
        .filter(mystery_check::Column::Id.eq(check))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::NotFound("mystery check"));
    }
    find_check(org, db, check).await?.ok_or(AppError::NotFound("mystery check"))
}
