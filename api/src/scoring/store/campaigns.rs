//! Campaigns: creating, replacing, ending and paging them, and the campaign rules in force.

use chrono::{DateTime, Utc};
use entity::campaign;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
use crate::db::tenant;
use crate::graphql::keyset::{self, KeyKind, KeyValue, Keyset, Page, SortColumn};
use crate::graphql::relay::PageArgs;
use crate::scoring::model::{CampaignRule, CampaignStatus};

// ---------------------------------------------------------------- campaigns

/// A new campaign.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    /// Name.
    pub name: String,
    /// Theme text.
    pub theme: Option<String>,
    /// Reward text.
    pub reward: Option<String>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End (exclusive).
    pub ends_at: DateTime<Utc>,
    /// Multiplier in hundredths.
    pub multiplier_cents: i64,
    /// Types it applies to; empty = all.
    pub activity_type_ids: Vec<Uuid>,
    /// Teams it applies to (with their sub-teams); empty = all.
    pub team_ids: Vec<Uuid>,
}

fn ids_json(ids: &[Uuid]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

/// The IDs stored in a JSON array column.
pub fn parse_ids(json: &str) -> Vec<Uuid> {
    serde_json::from_str(json).unwrap_or_default()
}

/// Inserts a campaign.
pub async fn create_campaign(org: OrgId, db: &impl ConnectionTrait, new: NewCampaign) -> AppResult<campaign::Model> {
    let now = Utc::now();
    Ok(campaign::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        name: Set(new.name),
        theme: Set(new.theme),
        reward: Set(new.reward),
        starts_at: Set(new.starts_at),
        ends_at: Set(new.ends_at),
        ended_at: Set(None),
        multiplier_cents: Set(new.multiplier_cents),
        activity_type_ids: Set(ids_json(&new.activity_type_ids)),
        team_ids: Set(ids_json(&new.team_ids)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Replaces a campaign's definition (the caller checked it has not started) and bumps its
/// version. With `expected_version` the row must still be at that version (CONFLICT otherwise).
pub async fn replace_campaign(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
    new: NewCampaign,
    expected_version: Option<i32>,
) -> AppResult<campaign::Model> {
    let changes = campaign::ActiveModel {
        name: Set(new.name),
        theme: Set(new.theme),
        reward: Set(new.reward),
        starts_at: Set(new.starts_at),
        ends_at: Set(new.ends_at),
        multiplier_cents: Set(new.multiplier_cents),
        activity_type_ids: Set(ids_json(&new.activity_type_ids)),
        team_ids: Set(ids_json(&new.team_ids)),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    let update = tenant::versioned_update::<campaign::Entity>(org, expected_version)
        .set(changes)
        .filter(campaign::Column::Id.eq(id));
    if update.exec(db).await?.rows_affected == 0 {
        return Err(match (expected_version, find_campaign(org, db, id).await?) {
            (Some(v), Some(current)) => AppError::stale_version("campaign", current.version, v),
            _ => AppError::NotFound("campaign"),
        });
    }
    find_campaign(org, db, id).await?.ok_or(AppError::NotFound("campaign"))
}

/// Ends a campaign now.
pub async fn end_campaign(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<campaign::Model> {
    tenant::versioned_update::<campaign::Entity>(org, None)
        .col_expr(campaign::Column::EndedAt, Expr::value(Utc::now()))
        .col_expr(campaign::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(campaign::Column::Id.eq(id))
        .exec(db)
        .await?;
    find_campaign(org, db, id).await?.ok_or(AppError::NotFound("campaign"))
}

/// One campaign of the tenant.
pub async fn find_campaign(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<campaign::Model>> {
    Ok(tenant::scoped_by_id::<campaign::Entity>(org, id).one(db).await?)
}

/// Several campaigns (DataLoader batch).
pub async fn campaigns_by_ids(org: OrgId, db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<campaign::Model>> {
    Ok(tenant::scoped::<campaign::Entity>(org).filter(campaign::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

fn campaign_condition(status: Option<CampaignStatus>, now: DateTime<Utc>) -> Condition {
    let mut c = Condition::all();
    let not_ended = Condition::all()
        .add(campaign::Column::EndsAt.gt(now))
        .add(Condition::any().add(campaign::Column::EndedAt.is_null()).add(campaign::Column::EndedAt.gt(now)));
    match status {
        None => {}
        Some(CampaignStatus::Upcoming) => c = c.add(campaign::Column::StartsAt.gt(now)).add(not_ended),
        Some(CampaignStatus::Running) => c = c.add(campaign::Column::StartsAt.lte(now)).add(not_ended),
        Some(CampaignStatus::Ended) => c = c.add(not_ended.not()),
    }
    c
}

fn campaign_key(c: &campaign::Model) -> Vec<KeyValue> {
    vec![KeyValue::Time(c.starts_at), KeyValue::Id(c.id)]
}

/// `campaigns`, newest start first.
pub const CAMPAIGNS: Keyset<campaign::Model> = Keyset {
    connection: "campaigns",
    order: "STARTS_AT_DESC",
    columns: &[SortColumn::desc(KeyKind::Time), SortColumn::asc(KeyKind::Id)],
    key: campaign_key,
};

/// A page of campaigns with a status at `now`, newest start first.
pub async fn page_campaigns(
    org: OrgId,
    db: &impl ConnectionTrait,
    status: Option<CampaignStatus>,
    now: DateTime<Utc>,
    args: &PageArgs,
) -> AppResult<Page<campaign::Model>> {
    let select = tenant::scoped::<campaign::Entity>(org).filter(campaign_condition(status, now));
    let exprs = [campaign::Column::StartsAt.into_expr(), campaign::Column::Id.into_expr()];
    keyset::fetch(db, select, &exprs, &CAMPAIGNS, args).await
}

/// Every campaign that has not ended at `at` (running or upcoming), in no order.
pub async fn campaigns_not_ended(
    org: OrgId,
    db: &impl ConnectionTrait,
    at: DateTime<Utc>,
) -> AppResult<Vec<campaign::Model>> {
    Ok(tenant::scoped::<campaign::Entity>(org)
        .filter(campaign_condition(Some(CampaignStatus::Ended), at).not())
        .all(db)
        .await?)
}

/// A campaign as the rule engine sees it.
pub fn campaign_rule(c: &campaign::Model) -> CampaignRule {
    CampaignRule {
        id: c.id,
        starts_at: c.starts_at,
        ends_at: c.ends_at,
        ended_at: c.ended_at,
        multiplier: crate::scoring::cents_to_decimal(c.multiplier_cents),
        activity_type_ids: parse_ids(&c.activity_type_ids),
        team_ids: parse_ids(&c.team_ids),
    }
}

/// Campaigns whose window contains `at`.
pub async fn campaigns_at(org: OrgId, db: &impl ConnectionTrait, at: DateTime<Utc>) -> AppResult<Vec<CampaignRule>> {
    campaigns_between(org, db, at, at).await
}

/// The campaigns running at some instant of `[from, to]`: a superset for every instant in
/// it, which [`CampaignRule::applies`] narrows per activity.
pub async fn campaigns_between(
    org: OrgId,
    db: &impl ConnectionTrait,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<CampaignRule>> {
    let rows = tenant::scoped::<campaign::Entity>(org)
        .filter(campaign::Column::StartsAt.lte(to))
        .filter(campaign::Column::EndsAt.gt(from))
        .filter(Condition::any().add(campaign::Column::EndedAt.is_null()).add(campaign::Column::EndedAt.gt(from)))
        .all(db)
        .await?;
    Ok(rows.iter().map(campaign_rule).collect())
}
