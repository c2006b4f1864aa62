//! The deal use-cases: create, change, sync by external ID, move through the stages past the
//! checklist gate, close, reopen and tick checklist items. Each runs in one [`Unit`] and, once
//! committed, tells `dealChanged` subscribers. A refused request returns its field errors
//! ([`Checked`]) and writes nothing.

use chrono::Utc;
use entity::{deal, pipeline_stage};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use super::fields::{
    DealChanges, deal_for_write, gate, parse_deal, require_deal_write, route_territory, stage_of, text,
};
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::principal::Principal;
use crate::db::Section;
use crate::db::unit::Unit;
use crate::events::{Event, EventBus};
use crate::org::store as org_store;
use crate::pipeline::model::{self, ChecklistKind, DealOutcome, ForecastCategory, StageKind};
use crate::pipeline::store::{self, DealFields, DealState};

/// Changes to a deal.
#[derive(Debug, Clone)]
pub struct UpdateDeal {
    /// The deal.
    pub id: Uuid,
    /// The version the change was made against (CONFLICT when it moved on).
    pub version: Option<i32>,
    /// The changes.
    pub changes: DealChanges,
}

/// The deal with an external ID, created or changed (CRM sync).
#[derive(Debug, Clone)]
pub struct UpsertDeal {
    /// The CRM's ID.
    pub external_id: String,
    /// The fields (`external_id` inside is replaced by the one above).
    pub changes: DealChanges,
}

/// A deal to move to another open stage.
#[derive(Debug, Clone)]
pub struct MoveDealStage {
    /// The deal.
    pub id: Uuid,
    /// The target stage (OPEN).
    pub stage_id: Uuid,
}

/// A deal to close.
#[derive(Debug, Clone)]
pub struct CloseDeal {
    /// The deal.
    pub id: Uuid,
    /// WON or LOST.
    pub outcome: DealOutcome,
    /// Why, as given.
    pub reason: Option<String>,
}

/// A closed deal to reopen.
#[derive(Debug, Clone)]
pub struct ReopenDeal {
    /// The deal.
    pub id: Uuid,
    /// The open stage (default: the last open stage).
    pub stage_id: Option<Uuid>,
}

/// A PROCESS checklist item to tick off or un-tick on a deal.
#[derive(Debug, Clone)]
pub struct TickChecklistItem {
    /// The deal.
    pub deal_id: Uuid,
    /// The PROCESS item.
    pub item_id: Uuid,
    /// Ticked off (true) or un-ticked.
    pub done: bool,
}

/// The `data` of a `deal.won` / `deal.lost` webhook event, from the closed deal and the
/// organization's currency (the caller names records the way its clients know them).
pub type DealEventData = fn(&deal::Model, &str) -> serde_json::Value;

/// Queues `dealChanged` for the deal (with its owner's team), to leave after the commit.
async fn changed(unit: &mut Unit, p: &Principal, d: &deal::Model) {
    let team = org_store::find_member(p.org, unit.db(), d.owner_id).await.ok().flatten().and_then(|m| m.team_id);
    unit.publish(Event::DealChanged { org: p.org.0, deal: d.id, team });
}

/// Commits a deal change and tells subscribers, or drops the unit when it was refused.
async fn finish(mut unit: Unit, p: &Principal, result: Checked<deal::Model>) -> AppResult<Checked<deal::Model>> {
    if let Ok(d) = &result {
        changed(&mut unit, p, d).await;
        unit.commit().await?;
    }
    Ok(result)
}

/// Creates a deal in the first (or given) stage. Reps create their own; managers for their teams.
pub async fn create_deal(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: DealChanges,
) -> AppResult<Checked<deal::Model>> {
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let result = create_deal_in(p, unit.db(), cmd).await?;
    finish(unit, p, result).await
}

/// Changes a deal's fields. A probability or category given here counts as set by hand.
pub async fn update_deal(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: UpdateDeal,
) -> AppResult<Checked<deal::Model>> {
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let d = store::find_deal(p.org, unit.db(), cmd.id).await?.ok_or(AppError::NotFound("deal"))?;
    if let Some(v) = cmd.version
        && v != d.version
    {
        return Err(AppError::Conflict(format!("the deal is at version {}, not {v}; reload and try again", d.version)));
    }
    let result = update_deal_in(p, unit.db(), d, cmd.changes).await?;
    finish(unit, p, result).await
}

/// Creates or updates the deal with this external ID (CRM sync): sending the same deal twice
/// gives one deal.
pub async fn upsert_deal(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: UpsertDeal,
) -> AppResult<Checked<deal::Model>> {
    let external_id = match model::parse_external_id(&cmd.external_id) {
        Ok(x) => x,
        Err(e) => return Ok(Err(vec![e])),
    };
    let mut changes = cmd.changes;
    changes.external_id = Some(Some(external_id.clone()));
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let result = match store::find_deal_by_external_id(p.org, unit.db(), &external_id).await? {
        Some(d) => {
            // A sync moves no stages (moveDealStage does), but a stage that does not exist
            // here is NOT_FOUND as on create, never silently dropped.
            if let Some(id) = changes.stage_id.take() {
                store::find_stage(p.org, unit.db(), id).await?.ok_or(AppError::NotFound("stage"))?;
            }
            update_deal_in(p, unit.db(), d, changes).await?
        }
        None => create_deal_in(p, unit.db(), changes).await?,
    };
    finish(unit, p, result).await
}

/// Moves a deal to another open stage. Moving forward past a stage whose required checklist
/// items are open is refused with one field error per open item.
pub async fn move_deal_stage(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: MoveDealStage,
) -> AppResult<Checked<deal::Model>> {
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let d = deal_for_write(p, unit.db(), cmd.id).await?;
    let stages = store::stages(p.org, unit.db()).await?;
    let target = stage_of(&stages, cmd.stage_id)?.clone();
    if StageKind::parse(&target.kind) != Some(StageKind::Open) {
        return Ok(Err(vec![FieldError::new("stageId", "INVALID", "use closeDeal to win or lose a deal")]));
    }
    if d.outcome.is_some() {
        return Ok(Err(vec![FieldError::new("id", "CLOSED", "reopen the deal first")]));
    }
    let open = gate(p.org, unit.db(), &stages, &d, target.position, "stageId").await?;
    if !open.is_empty() {
        return Ok(Err(open));
    }
    let deal = enter_stage(p, unit.db(), &d, &target, None).await?;
    finish(unit, p, Ok(deal)).await
}

/// Closes a deal as WON (past the checklist gate of the remaining open stages) or LOST, and
/// queues the `deal.won` / `deal.lost` webhook with `event_data`.
pub async fn close_deal(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: CloseDeal,
    event_data: DealEventData,
) -> AppResult<Checked<deal::Model>> {
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let d = deal_for_write(p, unit.db(), cmd.id).await?;
    if d.outcome.is_some() {
        return Ok(Err(vec![FieldError::new("id", "CLOSED", "the deal is already closed")]));
    }
    let mut e = Vec::new();
    let reason = text("reason", cmd.reason, 2000, &mut e);
    let stages = store::stages(p.org, unit.db()).await?;
    let wanted = match cmd.outcome {
        DealOutcome::Won => StageKind::Won,
        DealOutcome::Lost => StageKind::Lost,
    };
    let Some(target) = stages.iter().find(|s| StageKind::parse(&s.kind) == Some(wanted)).cloned() else {
        e.push(FieldError::new("outcome", "NO_STAGE", "the pipeline has no stage of that kind"));
        return Ok(Err(e));
    };
    if !e.is_empty() {
        return Ok(Err(e));
    }
    if cmd.outcome == DealOutcome::Won {
        let last_open = stages.iter().filter(|s| s.kind == "OPEN").map(|s| s.position).max().unwrap_or(0);
        let open = gate(p.org, unit.db(), &stages, &d, last_open + 1, "outcome").await?;
        if !open.is_empty() {
            return Ok(Err(open));
        }
    }
    let deal = enter_stage(p, unit.db(), &d, &target, Some((cmd.outcome, reason))).await?;
    let event = if cmd.outcome == DealOutcome::Won { "deal.won" } else { "deal.lost" };
    let currency = org_store::currency(p.org, unit.db()).await?;
    crate::webhooks::store::enqueue(p.org, unit.db(), event, event_data(&deal, &currency)).await?;
    finish(unit, p, Ok(deal)).await
}

/// Reopens a closed deal into an open stage (default: the last open stage). Closing forced its
/// probability and category, so it takes the stage's defaults again. Commission approved on a
/// won deal is clawed back.
pub async fn reopen_deal(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: ReopenDeal,
) -> AppResult<Checked<deal::Model>> {
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let d = deal_for_write(p, unit.db(), cmd.id).await?;
    if d.outcome.is_none() {
        return Ok(Err(vec![FieldError::new("id", "OPEN", "the deal is not closed")]));
    }
    let stages = store::stages(p.org, unit.db()).await?;
    let target = match cmd.stage_id {
        Some(id) => stage_of(&stages, id)?.clone(),
        None => match stages.iter().filter(|s| s.kind == "OPEN").max_by_key(|s| s.position) {
            Some(s) => s.clone(),
            None => return Err(AppError::bad_input("the pipeline has no open stage")),
        },
    };
    if StageKind::parse(&target.kind) != Some(StageKind::Open) {
        return Ok(Err(vec![FieldError::new("stageId", "INVALID", "reopen into an OPEN stage")]));
    }
    if d.outcome.as_deref() == Some("WON") {
        // Commission already approved on this deal is taken back in the next open period. A
        // statement being approved at this moment must be seen approved or not at all.
        unit.serialize(Section::Payouts).await?;
        crate::incentive::store::claw_back_deal(p.org, unit.db(), d.id, "the won deal was reopened").await?;
    }
    let reset = deal::Model { probability_manual: false, forecast_category_manual: false, ..d.clone() };
    let deal = enter_stage(p, unit.db(), &reset, &target, None).await?;
    finish(unit, p, Ok(deal)).await
}

/// Ticks a PROCESS checklist item off on a deal, or un-ticks it. The checklist is part of the
/// deal: its version and `updatedAt` move.
pub async fn tick_checklist_item(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: TickChecklistItem,
) -> AppResult<Checked<deal::Model>> {
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let d = store::find_deal(p.org, unit.db(), cmd.deal_id).await?.ok_or(AppError::NotFound("deal"))?;
    require_deal_write(p, unit.db(), d.owner_id).await?;
    let item = store::find_item(p.org, unit.db(), cmd.item_id).await?.ok_or(AppError::NotFound("checklist item"))?;
    if ChecklistKind::parse(&item.kind) != Some(ChecklistKind::Process) {
        return Ok(Err(vec![FieldError::new("itemId", "INVALID", "CONTENT items are done by filling their field")]));
    }
    if cmd.done {
        store::complete_item(p.org, unit.db(), d.id, item.id, p.member_id).await?;
    } else {
        store::uncomplete_item(p.org, unit.db(), d.id, item.id).await?;
    }
    let d = store::update_deal(p.org, unit.db(), &d, DealFields::default(), DealState::default()).await?;
    finish(unit, p, Ok(d)).await
}

async fn enter_stage(
    p: &Principal,
    db: &impl ConnectionTrait,
    d: &deal::Model,
    target: &pipeline_stage::Model,
    close: Option<(DealOutcome, Option<String>)>,
) -> AppResult<deal::Model> {
    let kind = StageKind::parse(&target.kind).unwrap_or(StageKind::Open);
    let probability =
        model::probability_after_move(d.probability, d.probability_manual, kind, target.default_probability);
    let current_cat = ForecastCategory::parse(&d.forecast_category).unwrap_or(ForecastCategory::Pipeline);
    let default_cat = ForecastCategory::parse(&target.default_forecast_category).unwrap_or(ForecastCategory::Pipeline);
    let category = model::category_after_move(current_cat, d.forecast_category_manual, kind, default_cat);
    let state = DealState {
        stage_id: Some(target.id),
        probability: Some((probability, d.probability_manual)),
        forecast_category: Some((category, d.forecast_category_manual)),
        closed_at: Some(close.as_ref().map(|_| Utc::now())),
        outcome: Some(close.as_ref().map(|c| c.0)),
        outcome_reason: Some(close.and_then(|c| c.1)),
    };
    let updated = store::update_deal(p.org, db, d, DealFields::default(), state).await?;
    if d.stage_id != target.id {
        store::add_history(p.org, db, d.id, Some(d.stage_id), target.id, p.member_id).await?;
    }
    Ok(updated)
}

/// Creates a deal inside a transaction the caller holds (the import runs each row in its own
/// savepoint); publishes nothing.
pub async fn create_deal_in(
    p: &Principal,
    db: &impl ConnectionTrait,
    cmd: DealChanges,
) -> AppResult<Checked<deal::Model>> {
    let manual_probability = cmd.probability;
    let manual_category = cmd.forecast_category;
    let mut e = Vec::new();
    let (fields, splits, stage_id) = parse_deal(p, db, cmd, None, &mut e).await?;
    let owner = fields.owner_id.unwrap_or(p.member_id);
    require_deal_write(p, db, owner).await?;
    let stages = store::stages(p.org, db).await?;
    let stage = match stage_id {
        Some(id) => Some(stage_of(&stages, id)?.clone()),
        None => stages.iter().find(|s| s.kind == "OPEN").cloned(),
    };
    let Some(stage) = stage else {
        e.push(FieldError::new("stageId", "NO_STAGE", "the pipeline has no open stage yet"));
        return Ok(Err(e));
    };
    if StageKind::parse(&stage.kind) != Some(StageKind::Open) {
        e.push(FieldError::new("stageId", "INVALID", "new deals start in an OPEN stage"));
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    if let Some(x) = &fields.external_id.clone().flatten()
        && store::find_deal_by_external_id(p.org, db, x).await?.is_some()
    {
        return Ok(Err(vec![FieldError::new("externalId", "TAKEN", "another deal has this external ID")]));
    }
    let probability = match manual_probability {
        Some(v) => (v, true),
        None => (stage.default_probability, false),
    };
    let category = match manual_category {
        Some(c) => (c, true),
        None => {
            (ForecastCategory::parse(&stage.default_forecast_category).unwrap_or(ForecastCategory::Pipeline), false)
        }
    };
    let mut fields = fields;
    route_territory(p, db, &mut fields, None).await?;
    let d = store::create_deal(p.org, db, fields, &stage, probability, category).await?;
    if let Some(s) = &splits {
        store::replace_splits(p.org, db, d.id, s).await?;
    }
    store::add_history(p.org, db, d.id, None, stage.id, p.member_id).await?;
    Ok(Ok(d))
}

/// Changes the deal `d` inside a transaction the caller holds (see [`create_deal_in`]);
/// publishes nothing.
pub async fn update_deal_in(
    p: &Principal,
    db: &impl ConnectionTrait,
    d: deal::Model,
    cmd: DealChanges,
) -> AppResult<Checked<deal::Model>> {
    require_deal_write(p, db, d.owner_id).await?;
    let manual_probability = cmd.probability;
    let manual_category = cmd.forecast_category;
    let mut e = Vec::new();
    let (fields, splits, _) = parse_deal(p, db, cmd, Some(&d.custom_fields), &mut e).await?;
    if let Some(owner) = fields.owner_id {
        require_deal_write(p, db, owner).await?;
    }
    if let Some(Some(x)) = &fields.external_id
        && store::find_deal_by_external_id(p.org, db, x).await?.is_some_and(|other| other.id != d.id)
    {
        e.push(FieldError::new("externalId", "TAKEN", "another deal has this external ID"));
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let closed = d.outcome.is_some();
    let state = DealState {
        probability: manual_probability.filter(|_| !closed).map(|v| (v, true)),
        forecast_category: manual_category.filter(|_| !closed).map(|c| (c, true)),
        ..Default::default()
    };
    let mut fields = fields;
    route_territory(p, db, &mut fields, Some(&d)).await?;
    let updated = store::update_deal(p.org, db, &d, fields, state).await?;
    if let Some(s) = &splits {
        store::replace_splits(p.org, db, d.id, s).await?;
    }
    Ok(Ok(updated))
}
