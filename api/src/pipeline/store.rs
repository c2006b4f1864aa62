//! Tenant-scoped reads and writes of the pipeline: stages, checklist items, deals, splits,
//! checklist completions and stage history.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Set,
};
use uuid::Uuid;

use entity::{checklist_item, deal, deal_checklist, deal_split, deal_stage_history, pipeline_stage};

use super::model::{ChecklistKind, DealOutcome, ForecastCategory, Split, StageKind};
use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
use crate::db::set_if;
use crate::db::tenant;
use crate::graphql::keyset::{self, KeyKind, KeyValue, Keyset, Page, SortColumn};
use crate::graphql::relay::PageArgs;

// ---------------------------------------------------------------- stages

/// A new stage (appended at the end).
#[derive(Debug, Clone)]
pub struct NewStage {
    /// Name.
    pub name: String,
    /// OPEN, WON or LOST.
    pub kind: StageKind,
    /// 0..=100.
    pub default_probability: i32,
    /// Default forecast category.
    pub default_forecast_category: ForecastCategory,
}

/// Every active stage of the tenant, in order.
pub async fn stages(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<pipeline_stage::Model>> {
    Ok(tenant::scoped::<pipeline_stage::Entity>(org)
        .filter(pipeline_stage::Column::Active.eq(true))
        .order_by_asc(pipeline_stage::Column::Position)
        .order_by_asc(pipeline_stage::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Several stages (DataLoader batch).
/// Every stage of the tenant, archived ones too (the in-memory catalog).
pub async fn all_stages(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<pipeline_stage::Model>> {
    Ok(tenant::scoped::<pipeline_stage::Entity>(org).all(db).await?)
}

pub async fn stages_by_ids(
    org: OrgId,
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<Vec<pipeline_stage::Model>> {
    Ok(tenant::scoped::<pipeline_stage::Entity>(org)
        .filter(pipeline_stage::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// One stage of the tenant (active or not).
pub async fn find_stage(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<pipeline_stage::Model>> {
    Ok(tenant::scoped_by_id::<pipeline_stage::Entity>(org, id).one(db).await?)
}

/// Inserts a stage after the last one.
pub async fn create_stage(org: OrgId, db: &impl ConnectionTrait, new: NewStage) -> AppResult<pipeline_stage::Model> {
    let position = stages(org, db).await?.last().map_or(0, |s| s.position + 1);
    let now = Utc::now();
    Ok(pipeline_stage::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        name: Set(new.name),
        position: Set(position),
        kind: Set(new.kind.as_str().to_owned()),
        default_probability: Set(new.default_probability),
        default_forecast_category: Set(new.default_forecast_category.as_str().to_owned()),
        active: Set(true),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Changes to a stage.
#[derive(Debug, Clone, Default)]
pub struct StagePatch {
    /// Name.
    pub name: Option<String>,
    /// Default probability.
    pub default_probability: Option<i32>,
    /// Default forecast category.
    pub default_forecast_category: Option<ForecastCategory>,
    /// Active flag (false archives it).
    pub active: Option<bool>,
    /// Position.
    pub position: Option<i32>,
}

/// Saves changes to a stage of the tenant and bumps its version. With `expected_version` the
/// row must still be at that version (CONFLICT otherwise).
pub async fn update_stage(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
    patch: StagePatch,
    expected_version: Option<i32>,
) -> AppResult<pipeline_stage::Model> {
    let changes = pipeline_stage::ActiveModel {
        name: set_if(patch.name),
        default_probability: set_if(patch.default_probability),
        default_forecast_category: set_if(patch.default_forecast_category.map(|c| c.as_str().to_owned())),
        active: set_if(patch.active),
        position: set_if(patch.position),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    let update = tenant::versioned_update::<pipeline_stage::Entity>(org, expected_version)
        .set(changes)
        .filter(pipeline_stage::Column::Id.eq(id));
    if update.exec(db).await?.rows_affected == 0 {
        return Err(match (expected_version, find_stage(org, db, id).await?) {
            (Some(v), Some(current)) => AppError::stale_version("stage", current.version, v),
            _ => AppError::NotFound("stage"),
        });
    }
    find_stage(org, db, id).await?.ok_or(AppError::NotFound("stage"))
}

/// How many deals sit in a stage.
pub async fn deals_in_stage(org: OrgId, db: &impl ConnectionTrait, stage: Uuid) -> AppResult<u64> {
    Ok(tenant::scoped::<deal::Entity>(org).filter(deal::Column::StageId.eq(stage)).count(db).await?)
}

// ---------------------------------------------------------------- checklist items

/// A new checklist item (appended to its stage).
#[derive(Debug, Clone)]
pub struct NewItem {
    /// The stage.
    pub stage_id: Uuid,
    /// What to do or fill.
    pub label: String,
    /// CONTENT or PROCESS.
    pub kind: ChecklistKind,
    /// CONTENT: the field.
    pub field_name: Option<String>,
    /// Whether it blocks moving on.
    pub required: bool,
}

/// Every checklist item of the tenant's stages, by stage and position.
pub async fn all_items(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<checklist_item::Model>> {
    Ok(tenant::scoped::<checklist_item::Entity>(org)
        .order_by_asc(checklist_item::Column::Position)
        .order_by_asc(checklist_item::Column::CreatedAt)
        .all(db)
        .await?)
}

/// One checklist item of the tenant.
pub async fn find_item(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<checklist_item::Model>> {
    Ok(tenant::scoped_by_id::<checklist_item::Entity>(org, id).one(db).await?)
}

/// Inserts a checklist item.
pub async fn create_item(org: OrgId, db: &impl ConnectionTrait, new: NewItem) -> AppResult<checklist_item::Model> {
    let position = tenant::scoped::<checklist_item::Entity>(org)
        .filter(checklist_item::Column::StageId.eq(new.stage_id))
        .count(db)
        .await? as i32;
    Ok(checklist_item::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        stage_id: Set(new.stage_id),
        label: Set(new.label),
        kind: Set(new.kind.as_str().to_owned()),
        field_name: Set(new.field_name),
        required: Set(new.required),
        position: Set(position),
        version: Set(1),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Changes a checklist item's label or whether it is required and bumps its version. With
/// `expected_version` the row must still be at that version (CONFLICT otherwise).
pub async fn update_item(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
    label: Option<String>,
    required: Option<bool>,
    expected_version: Option<i32>,
) -> AppResult<checklist_item::Model> {
    let changes =
        checklist_item::ActiveModel { label: set_if(label), required: set_if(required), ..Default::default() };
    let stale = |current: Option<checklist_item::Model>| match (expected_version, current) {
        (Some(v), Some(current)) if current.version != v => {
            Err(AppError::stale_version("checklist item", current.version, v))
        }
        (_, Some(current)) => Ok(current),
        (_, None) => Err(AppError::NotFound("checklist item")),
    };
    if !changes.is_changed() {
        return stale(find_item(org, db, id).await?);
    }
    let update = tenant::versioned_update::<checklist_item::Entity>(org, expected_version)
        .set(changes)
        .filter(checklist_item::Column::Id.eq(id));
    if update.exec(db).await?.rows_affected == 0 {
        return stale(find_item(org, db, id).await?).and(Err(AppError::NotFound("checklist item")));
    }
    find_item(org, db, id).await?.ok_or(AppError::NotFound("checklist item"))
}

/// Removes a checklist item and its completions.
pub async fn delete_item(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<()> {
    tenant::scoped_delete::<deal_checklist::Entity>(org).filter(deal_checklist::Column::ItemId.eq(id)).exec(db).await?;
    let r =
        tenant::scoped_delete::<checklist_item::Entity>(org).filter(checklist_item::Column::Id.eq(id)).exec(db).await?;
    if r.rows_affected == 0 {
        return Err(AppError::NotFound("checklist item"));
    }
    Ok(())
}

// ---------------------------------------------------------------- deals

/// Deal fields as validated by the API.
#[derive(Debug, Clone, Default)]
pub struct DealFields {
    /// Name.
    pub name: Option<String>,
    /// Company (`Some(None)` clears).
    pub company: Option<Option<String>>,
    /// Owner.
    pub owner_id: Option<Uuid>,
    /// Amount in cents.
    pub amount_cents: Option<i64>,
    /// Probability set by hand.
    pub probability: Option<i32>,
    /// Forecast category set by hand.
    pub forecast_category: Option<ForecastCategory>,
    /// Expected close date (`Some(None)` clears).
    pub expected_close_date: Option<Option<NaiveDate>>,
    /// Lead source.
    pub lead_source: Option<Option<String>>,
    /// Lead created at.
    pub lead_created_at: Option<Option<DateTime<Utc>>>,
    /// First contact at.
    pub first_contact_at: Option<Option<DateTime<Utc>>>,
    /// Address.
    pub address: Option<Option<String>>,
    /// Country (ISO 3166 alpha-2).
    pub country: Option<Option<String>>,
    /// Postal code.
    pub postal_code: Option<Option<String>>,
    /// Industry.
    pub industry: Option<Option<String>>,
    /// Company size (employees).
    pub company_size: Option<Option<i32>>,
    /// External ID.
    pub external_id: Option<Option<String>>,
    /// Custom field values, already merged and validated (a JSON object).
    pub custom_fields: Option<String>,
    /// Territory and whether it was set by hand (routed otherwise).
    pub territory: Option<(Option<Uuid>, bool)>,
}

/// Inserts a deal in a stage with its probability and category already decided.
pub async fn create_deal(
    org: OrgId,
    db: &impl ConnectionTrait,
    f: DealFields,
    stage: &pipeline_stage::Model,
    probability: (i32, bool),
    category: (ForecastCategory, bool),
) -> AppResult<deal::Model> {
    let now = Utc::now();
    Ok(deal::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        name: Set(f.name.unwrap_or_default()),
        company: Set(f.company.flatten()),
        owner_id: Set(f.owner_id.ok_or(AppError::bad_input("a deal needs an owner"))?),
        amount_cents: Set(f.amount_cents.unwrap_or(0)),
        stage_id: Set(stage.id),
        probability: Set(probability.0),
        probability_manual: Set(probability.1),
        forecast_category: Set(category.0.as_str().to_owned()),
        forecast_category_manual: Set(category.1),
        expected_close_date: Set(f.expected_close_date.flatten()),
        lead_source: Set(f.lead_source.flatten()),
        lead_created_at: Set(f.lead_created_at.flatten()),
        first_contact_at: Set(f.first_contact_at.flatten()),
        closed_at: Set(None),
        outcome: Set(None),
        outcome_reason: Set(None),
        address: Set(f.address.flatten()),
        country: Set(f.country.flatten()),
        postal_code: Set(f.postal_code.flatten()),
        industry: Set(f.industry.flatten()),
        company_size: Set(f.company_size.flatten()),
        external_id: Set(f.external_id.flatten()),
        custom_fields: Set(f.custom_fields.unwrap_or_else(|| "{}".into())),
        territory_id: Set(f.territory.and_then(|t| t.0)),
        territory_manual: Set(f.territory.is_some_and(|t| t.1)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// State changes of a deal beyond its plain fields.
#[derive(Debug, Clone, Default)]
pub struct DealState {
    /// New stage.
    pub stage_id: Option<Uuid>,
    /// New probability and whether it was set by hand.
    pub probability: Option<(i32, bool)>,
    /// New category and whether it was set by hand.
    pub forecast_category: Option<(ForecastCategory, bool)>,
    /// Closed at (`Some(None)` reopens).
    pub closed_at: Option<Option<DateTime<Utc>>>,
    /// Outcome (`Some(None)` reopens).
    pub outcome: Option<Option<DealOutcome>>,
    /// Outcome reason.
    pub outcome_reason: Option<Option<String>>,
}

/// Saves a deal's changes and bumps its version.
pub async fn update_deal(
    org: OrgId,
    db: &impl ConnectionTrait,
    current: &deal::Model,
    f: DealFields,
    s: DealState,
) -> AppResult<deal::Model> {
    let changes = deal::ActiveModel {
        name: set_if(f.name),
        company: set_if(f.company),
        owner_id: set_if(f.owner_id),
        amount_cents: set_if(f.amount_cents),
        expected_close_date: set_if(f.expected_close_date),
        lead_source: set_if(f.lead_source),
        lead_created_at: set_if(f.lead_created_at),
        first_contact_at: set_if(f.first_contact_at),
        address: set_if(f.address),
        country: set_if(f.country),
        postal_code: set_if(f.postal_code),
        industry: set_if(f.industry),
        company_size: set_if(f.company_size),
        external_id: set_if(f.external_id),
        custom_fields: set_if(f.custom_fields),
        territory_id: set_if(f.territory.map(|t| t.0)),
        territory_manual: set_if(f.territory.map(|t| t.1)),
        stage_id: set_if(s.stage_id),
        probability: set_if(s.probability.map(|p| p.0)),
        probability_manual: set_if(s.probability.map(|p| p.1)),
        forecast_category: set_if(s.forecast_category.map(|c| c.0.as_str().to_owned())),
        forecast_category_manual: set_if(s.forecast_category.map(|c| c.1)),
        closed_at: set_if(s.closed_at),
        outcome: set_if(s.outcome.map(|o| o.map(|o| o.as_str().to_owned()))),
        outcome_reason: set_if(s.outcome_reason),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    let r = tenant::versioned_update::<deal::Entity>(org, Some(current.version))
        .set(changes)
        .filter(deal::Column::Id.eq(current.id))
        .exec(db)
        .await?;
    if r.rows_affected == 0 {
        return Err(AppError::Conflict("the deal was changed by someone else; reload and try again".into()));
    }
    find_deal(org, db, current.id).await?.ok_or(AppError::NotFound("deal"))
}

/// One deal of the tenant.
pub async fn find_deal(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<deal::Model>> {
    Ok(tenant::scoped_by_id::<deal::Entity>(org, id).one(db).await?)
}

/// A deal of the tenant by its external ID.
pub async fn find_deal_by_external_id(
    org: OrgId,
    db: &impl ConnectionTrait,
    external_id: &str,
) -> AppResult<Option<deal::Model>> {
    Ok(tenant::scoped::<deal::Entity>(org).filter(deal::Column::ExternalId.eq(external_id)).one(db).await?)
}

/// Filter for [`list_deals`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DealFilter {
    /// Only these owners.
    pub owner_ids: Option<Vec<Uuid>>,
    /// Only this stage.
    pub stage_id: Option<Uuid>,
    /// Only open (None inside) or closed with this outcome.
    pub outcome: Option<Option<DealOutcome>>,
    /// Only closed deals (either outcome).
    pub closed_only: bool,
    /// Only this forecast category.
    pub forecast_category: Option<ForecastCategory>,
    /// Expected close on or after.
    pub close_from: Option<NaiveDate>,
    /// Expected close on or before.
    pub close_to: Option<NaiveDate>,
    /// Text in name or company.
    pub search: Option<String>,
    /// Only deals in these territories.
    pub territory_ids: Option<Vec<Uuid>>,
}

fn deal_condition(f: &DealFilter) -> Condition {
    let mut c = Condition::all();
    if let Some(ids) = &f.owner_ids {
        c = c.add(deal::Column::OwnerId.is_in(ids.iter().copied()));
    }
    if let Some(s) = f.stage_id {
        c = c.add(deal::Column::StageId.eq(s));
    }
    match f.outcome {
        Some(None) => c = c.add(deal::Column::Outcome.is_null()),
        Some(Some(o)) => c = c.add(deal::Column::Outcome.eq(o.as_str())),
        None => {}
    }
    if f.closed_only {
        c = c.add(deal::Column::Outcome.is_not_null());
    }
    if let Some(cat) = f.forecast_category {
        c = c.add(deal::Column::ForecastCategory.eq(cat.as_str()));
    }
    if let Some(d) = f.close_from {
        c = c.add(deal::Column::ExpectedCloseDate.gte(d));
    }
    if let Some(d) = f.close_to {
        c = c.add(deal::Column::ExpectedCloseDate.lte(d));
    }
    if let Some(ids) = &f.territory_ids {
        c = c.add(deal::Column::TerritoryId.is_in(ids.iter().copied()));
    }
    if let Some(text) = f.search.as_deref().filter(|t| !t.is_empty()) {
        let escaped = text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let pattern = LikeExpr::new(format!("%{escaped}%")).escape('\\');
        c = c.add(
            Condition::any()
                .add(Expr::expr(Func::lower(Expr::col(deal::Column::Name))).like(pattern.clone()))
                .add(Expr::expr(Func::lower(Expr::col(deal::Column::Company))).like(pattern)),
        );
    }
    c
}

/// Every deal matching a filter (the demo's routing), in no particular order.
pub async fn all_deals(org: OrgId, db: &impl ConnectionTrait, f: &DealFilter) -> AppResult<Vec<deal::Model>> {
    Ok(tenant::scoped::<deal::Entity>(org).filter(deal_condition(f)).all(db).await?)
}

/// The orders `deals` and `Member.deals` offer.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum DealOrder {
    /// Most recently changed first (a deal changed while paging moves to the front: page by
    /// `CREATED_AT` to see every deal exactly once).
    #[default]
    UpdatedAtDesc,
    /// Oldest first; a deal's place never moves.
    CreatedAtAsc,
    /// Largest amount first.
    AmountDesc,
}

const DESC_TIME: &[SortColumn] = &[SortColumn::desc(KeyKind::Time), SortColumn::asc(KeyKind::Id)];
const ASC_TIME: &[SortColumn] = &[SortColumn::asc(KeyKind::Time), SortColumn::asc(KeyKind::Id)];
const DESC_INT: &[SortColumn] = &[SortColumn::desc(KeyKind::Int), SortColumn::asc(KeyKind::Id)];

fn by_updated(d: &deal::Model) -> Vec<KeyValue> {
    vec![KeyValue::Time(d.updated_at), KeyValue::Id(d.id)]
}

fn by_created(d: &deal::Model) -> Vec<KeyValue> {
    vec![KeyValue::Time(d.created_at), KeyValue::Id(d.id)]
}

fn by_amount(d: &deal::Model) -> Vec<KeyValue> {
    vec![KeyValue::Int(d.amount_cents), KeyValue::Id(d.id)]
}

/// The keyset of the deals connection `connection` (`deals`, `Member.deals`) in `order`.
pub fn deal_keyset(connection: &'static str, order: DealOrder) -> Keyset<deal::Model> {
    match order {
        DealOrder::UpdatedAtDesc => {
            Keyset { connection, order: "UPDATED_AT_DESC", columns: DESC_TIME, key: by_updated }
        }
        DealOrder::CreatedAtAsc => Keyset { connection, order: "CREATED_AT_ASC", columns: ASC_TIME, key: by_created },
        DealOrder::AmountDesc => Keyset { connection, order: "AMOUNT_DESC", columns: DESC_INT, key: by_amount },
    }
}

/// A page of deals matching a filter, in the keyset's order.
pub async fn page_deals(
    org: OrgId,
    db: &impl ConnectionTrait,
    f: &DealFilter,
    keyset: &Keyset<deal::Model>,
    args: &PageArgs,
) -> AppResult<Page<deal::Model>> {
    let sort = match keyset.order {
        "CREATED_AT_ASC" => deal::Column::CreatedAt,
        "AMOUNT_DESC" => deal::Column::AmountCents,
        _ => deal::Column::UpdatedAt,
    };
    let select = tenant::scoped::<deal::Entity>(org).filter(deal_condition(f));
    keyset::fetch(db, select, &[sort.into_expr(), deal::Column::Id.into_expr()], keyset, args).await
}

/// Several deals (DataLoader batch).
pub async fn deals_by_ids(org: OrgId, db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<deal::Model>> {
    Ok(tenant::scoped::<deal::Entity>(org).filter(deal::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

// ---------------------------------------------------------------- splits, checklist, history

/// Replaces a deal's splits.
pub async fn replace_splits(org: OrgId, db: &impl ConnectionTrait, deal_id: Uuid, splits: &[Split]) -> AppResult<()> {
    tenant::scoped_delete::<deal_split::Entity>(org).filter(deal_split::Column::DealId.eq(deal_id)).exec(db).await?;
    for s in splits {
        deal_split::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(org.0),
            deal_id: Set(deal_id),
            member_id: Set(s.member_id),
            kind: Set(s.kind.as_str().to_owned()),
            percent: Set(s.percent),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Splits of several deals (DataLoader batch).
pub async fn splits_of(org: OrgId, db: &impl ConnectionTrait, deals: &[Uuid]) -> AppResult<Vec<deal_split::Model>> {
    Ok(tenant::scoped::<deal_split::Entity>(org)
        .filter(deal_split::Column::DealId.is_in(deals.iter().copied()))
        .all(db)
        .await?)
}

/// Ticks a checklist item off on a deal (again is a no-op).
pub async fn complete_item(
    org: OrgId,
    db: &impl ConnectionTrait,
    deal_id: Uuid,
    item: Uuid,
    by: Uuid,
) -> AppResult<()> {
    deal_checklist::Entity::insert(deal_checklist::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        deal_id: Set(deal_id),
        item_id: Set(item),
        completed_at: Set(Utc::now()),
        completed_by: Set(by),
    })
    .on_conflict_do_nothing_on([
        deal_checklist::Column::OrganizationId,
        deal_checklist::Column::DealId,
        deal_checklist::Column::ItemId,
    ])
    .exec(db)
    .await?;
    Ok(())
}

/// Un-ticks a checklist item on a deal.
pub async fn uncomplete_item(org: OrgId, db: &impl ConnectionTrait, deal_id: Uuid, item: Uuid) -> AppResult<()> {
    tenant::scoped_delete::<deal_checklist::Entity>(org)
        .filter(deal_checklist::Column::DealId.eq(deal_id))
        .filter(deal_checklist::Column::ItemId.eq(item))
        .exec(db)
        .await?;
    Ok(())
}

/// The completed checklist items of a deal.
/// What is ticked off on several deals (DataLoader batch).
pub async fn completions_of(
    org: OrgId,
    db: &impl ConnectionTrait,
    deals: &[Uuid],
) -> AppResult<Vec<deal_checklist::Model>> {
    Ok(tenant::scoped::<deal_checklist::Entity>(org)
        .filter(deal_checklist::Column::DealId.is_in(deals.iter().copied()))
        .all(db)
        .await?)
}

pub async fn completions(
    org: OrgId,
    db: &impl ConnectionTrait,
    deal_id: Uuid,
) -> AppResult<Vec<deal_checklist::Model>> {
    Ok(tenant::scoped::<deal_checklist::Entity>(org).filter(deal_checklist::Column::DealId.eq(deal_id)).all(db).await?)
}

/// Records a stage change now.
pub async fn add_history(
    org: OrgId,
    db: &impl ConnectionTrait,
    deal_id: Uuid,
    from: Option<Uuid>,
    to: Uuid,
    by: Uuid,
) -> AppResult<()> {
    add_history_at(org, db, deal_id, from, to, by, Utc::now()).await
}

/// Records a stage change at a given time (imports and demo history).
pub async fn add_history_at(
    org: OrgId,
    db: &impl ConnectionTrait,
    deal_id: Uuid,
    from: Option<Uuid>,
    to: Uuid,
    by: Uuid,
    at: DateTime<Utc>,
) -> AppResult<()> {
    deal_stage_history::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        deal_id: Set(deal_id),
        from_stage_id: Set(from),
        to_stage_id: Set(to),
        changed_at: Set(at),
        changed_by: Set(by),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A deal's stage history, oldest first.
pub async fn history(
    org: OrgId,
    db: &impl ConnectionTrait,
    deal_id: Uuid,
) -> AppResult<Vec<deal_stage_history::Model>> {
    Ok(tenant::scoped::<deal_stage_history::Entity>(org)
        .filter(deal_stage_history::Column::DealId.eq(deal_id))
        .order_by_asc(deal_stage_history::Column::ChangedAt)
        .order_by_asc(deal_stage_history::Column::Id)
        .all(db)
        .await?)
}

/// Stage positions by stage ID.
pub fn positions(stages: &[pipeline_stage::Model]) -> HashMap<Uuid, i32> {
    stages.iter().map(|s| (s.id, s.position)).collect()
}

/// The deal fields that are filled, by the names CONTENT items use (custom fields as
/// `custom.<key>`).
pub fn filled_fields(d: &deal::Model) -> HashSet<String> {
    let mut f = HashSet::new();
    if let Ok(serde_json::Value::Object(custom)) = serde_json::from_str::<serde_json::Value>(&d.custom_fields) {
        for (k, v) in custom {
            if !serde_json::Value::is_null(&v) && v.as_str() != Some("") {
                f.insert(format!("custom.{k}"));
            }
        }
    }
    let mut add = |name: &'static str, filled: bool| {
        if filled {
            f.insert(name.to_owned());
        }
    };
    add("company", d.company.as_deref().is_some_and(|s| !s.is_empty()));
    add("amount", d.amount_cents > 0);
    add("expectedCloseDate", d.expected_close_date.is_some());
    add("leadSource", d.lead_source.as_deref().is_some_and(|s| !s.is_empty()));
    add("firstContactAt", d.first_contact_at.is_some());
    add("address", d.address.as_deref().is_some_and(|s| !s.is_empty()));
    add("country", d.country.is_some());
    add("postalCode", d.postal_code.is_some());
    add("industry", d.industry.is_some());
    add("companySize", d.company_size.is_some());
    f
}

/// Count of rows (for `count(*)` checks in tools).
pub async fn count_stages(org: OrgId, db: &impl ConnectionTrait) -> AppResult<u64> {
    Ok(tenant::scoped::<pipeline_stage::Entity>(org).count(db).await?)
}

// ---------------------------------------------------------------- custom fields

/// Inserts a custom field definition.
pub async fn create_custom_field(
    org: OrgId,
    db: &impl ConnectionTrait,
    key: String,
    label: String,
    field_type: super::model::CustomFieldType,
    choices: &[String],
) -> AppResult<entity::custom_field::Model> {
    Ok(entity::custom_field::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        key: Set(key),
        label: Set(label),
        field_type: Set(field_type.as_str().to_owned()),
        choices: Set(serde_json::to_string(choices).unwrap_or_else(|_| "[]".into())),
        active: Set(true),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// The tenant's custom field definitions, by key.
pub async fn custom_fields(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<entity::custom_field::Model>> {
    Ok(tenant::scoped::<entity::custom_field::Entity>(org)
        .order_by_asc(entity::custom_field::Column::Key)
        .all(db)
        .await?)
}

/// The definitions as the validator sees them.
pub fn custom_field_defs(rows: &[entity::custom_field::Model]) -> Vec<super::model::CustomFieldDef> {
    rows.iter()
        .filter(|r| r.active)
        .filter_map(|r| {
            Some(super::model::CustomFieldDef {
                key: r.key.clone(),
                field_type: super::model::CustomFieldType::parse(&r.field_type)?,
                choices: serde_json::from_str(&r.choices).unwrap_or_default(),
            })
        })
        .collect()
}
