//! Pipeline mutations: stages, checklists, custom fields and deals (also used by the import).

use std::collections::HashSet;

use async_graphql::{Context, MaybeUndefined, Object, Result};
use chrono::Utc;
use entity::{deal, pipeline_stage};
use uuid::Uuid;

use super::{
    AddChecklistItemInput, ChecklistItem, ChecklistItemOnDealInput, ChecklistItemPayload, CloseDealInput,
    CreateCustomFieldInput, CreateStageInput, CustomField, CustomFieldPayload, Deal, DealInput, DealPayload,
    DeleteStageInput, MoveDealStageInput, PipelineStage, RemoveChecklistItemInput, ReopenDealInput, ReorderStagesInput,
    StagePayload, StagesPayload, UpdateChecklistItemInput, UpdateDealInput, UpdateStageInput, UpsertDealInput, admin,
    after_change, deal_for_write, errors, gate, parse_deal, require_deal_write, route_territory, stage_of, text,
};
use crate::core::error::{AppError, AppResult};
use crate::core::field::FieldError;
use crate::core::principal::Principal;
use crate::graphql::ContextExt;
use crate::graphql::relay::{NodeKind, decode_id, global_id};
use crate::org::{model as org_model, store as org_store};
use crate::pipeline::model::{self, ChecklistKind, DealOutcome, ForecastCategory, StageKind};
use crate::pipeline::store::{self, DealFields, DealState};
use crate::state::AppState;

// ---------------------------------------------------------------- mutations

/// Pipeline mutations.
#[derive(Default)]
pub struct PipelineMutation;

#[Object]
impl PipelineMutation {
    /// Defines a custom deal field (admins).
    async fn create_custom_field(
        &self,
        ctx: &Context<'_>,
        input: CreateCustomFieldInput,
    ) -> Result<CustomFieldPayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let db = &ctx.state()?.db;
        let mut e = Vec::new();
        let key = model::parse_custom_field_key(&input.key).map_err(|x| e.push(x)).ok();
        let label = org_model::parse_name("label", &input.label).map_err(|x| e.push(x)).ok();
        let choices: Vec<String> =
            input.choices.iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
        match input.field_type {
            model::CustomFieldType::Choice
                if choices.is_empty() || choices.len() > 50 || choices.iter().any(|c| c.chars().count() > 100) =>
            {
                e.push(FieldError::new(
                    "choices",
                    "INVALID",
                    "a CHOICE field needs 1 to 50 choices of at most 100 characters",
                ));
            }
            model::CustomFieldType::Choice => {}
            _ if !choices.is_empty() => {
                e.push(FieldError::new("choices", "INVALID", "only CHOICE fields have choices"))
            }
            _ => {}
        }
        if let Some(k) = &key
            && store::custom_fields(p.org, db).await?.iter().any(|c| &c.key == k)
        {
            e.push(FieldError::new("key", "TAKEN", "a custom field with this key exists"));
        }
        let (Some(key), Some(label), true) = (key, label, e.is_empty()) else {
            return Ok(CustomFieldPayload { field: None, user_errors: errors(e) });
        };
        let f = store::create_custom_field(p.org, db, key, label, input.field_type, &choices).await?;
        Ok(CustomFieldPayload { field: Some(CustomField(f)), user_errors: vec![] })
    }

    /// Adds a stage at the end of the pipeline (admins).
    async fn create_stage(&self, ctx: &Context<'_>, input: CreateStageInput) -> Result<StagePayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let state = ctx.state()?;
        let mut e = Vec::new();
        let name = org_model::parse_name("name", &input.name).map_err(|x| e.push(x)).ok();
        let default_probability = match (input.default_probability, input.kind) {
            (Some(v), _) => model::parse_probability("defaultProbability", v).map_err(|x| e.push(x)).ok(),
            (None, StageKind::Won) => Some(100),
            (None, _) => Some(0),
        };
        let category = input.default_forecast_category.unwrap_or(match input.kind {
            StageKind::Won => ForecastCategory::Closed,
            StageKind::Lost => ForecastCategory::Omitted,
            StageKind::Open => ForecastCategory::Pipeline,
        });
        let (Some(name), Some(default_probability), true) = (name, default_probability, e.is_empty()) else {
            return Ok(StagePayload { stage: None, user_errors: errors(e) });
        };
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let new = store::NewStage { name, kind: input.kind, default_probability, default_forecast_category: category };
        let s = store::create_stage(p.org, &tx, new).await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(StagePayload { stage: Some(PipelineStage(s)), user_errors: vec![] })
    }

    /// Changes a stage (admins). Deals already in it keep their probabilities.
    async fn update_stage(&self, ctx: &Context<'_>, input: UpdateStageInput) -> Result<StagePayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::PipelineStage)?;
        store::find_stage(p.org, &state.db, id).await?.ok_or(AppError::NotFound("stage"))?;
        let mut e = Vec::new();
        let patch = store::StagePatch {
            name: input.name.and_then(|n| org_model::parse_name("name", &n).map_err(|x| e.push(x)).ok()),
            default_probability: input
                .default_probability
                .and_then(|v| model::parse_probability("defaultProbability", v).map_err(|x| e.push(x)).ok()),
            default_forecast_category: input.default_forecast_category,
            ..Default::default()
        };
        if !e.is_empty() {
            return Ok(StagePayload { stage: None, user_errors: errors(e) });
        }
        let s = store::update_stage(p.org, &state.db, id, patch, input.version).await?;
        Ok(StagePayload { stage: Some(PipelineStage(s)), user_errors: vec![] })
    }

    /// Removes a stage (admins). A stage with deals in it is refused.
    async fn delete_stage(&self, ctx: &Context<'_>, input: DeleteStageInput) -> Result<StagePayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::PipelineStage)?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        store::find_stage(p.org, &tx, id).await?.ok_or(AppError::NotFound("stage"))?;
        if store::deals_in_stage(p.org, &tx, id).await? > 0 {
            let e = FieldError::new("id", "IN_USE", "deals are in this stage; move them first");
            return Ok(StagePayload { stage: None, user_errors: errors(vec![e]) });
        }
        let s =
            store::update_stage(p.org, &tx, id, store::StagePatch { active: Some(false), ..Default::default() }, None)
                .await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(StagePayload { stage: Some(PipelineStage(s)), user_errors: vec![] })
    }

    /// Puts the active stages in a new order (admins). Every active stage must be listed once.
    async fn reorder_stages(&self, ctx: &Context<'_>, input: ReorderStagesInput) -> Result<StagesPayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let current = store::stages(p.org, &tx).await?;
        let ids: Vec<Uuid> =
            input.stage_ids.iter().map(|id| decode_id(id, NodeKind::PipelineStage)).collect::<AppResult<_>>()?;
        let wanted: HashSet<Uuid> = ids.iter().copied().collect();
        let have: HashSet<Uuid> = current.iter().map(|s| s.id).collect();
        if wanted != have || ids.len() != current.len() {
            let e = FieldError::new("stageIds", "INVALID", "list every active stage exactly once");
            return Ok(StagesPayload { stages: vec![], user_errors: errors(vec![e]) });
        }
        for (position, id) in ids.iter().enumerate() {
            let patch = store::StagePatch { position: Some(position as i32), ..Default::default() };
            store::update_stage(p.org, &tx, *id, patch, None).await?;
        }
        let stages = store::stages(p.org, &tx).await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(StagesPayload { stages: stages.into_iter().map(PipelineStage).collect(), user_errors: vec![] })
    }

    /// Adds a checklist item to a stage (admins).
    async fn add_checklist_item(
        &self,
        ctx: &Context<'_>,
        input: AddChecklistItemInput,
    ) -> Result<ChecklistItemPayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let state = ctx.state()?;
        let stage = decode_id(&input.stage_id, NodeKind::PipelineStage)?;
        store::find_stage(p.org, &state.db, stage).await?.ok_or(AppError::NotFound("stage"))?;
        let mut e = Vec::new();
        let label = text("label", Some(input.label), 500, &mut e);
        if label.is_none() && e.is_empty() {
            e.push(FieldError::new("label", "REQUIRED", "say what must be done"));
        }
        let custom: Vec<String> = store::custom_fields(p.org, &state.db)
            .await?
            .into_iter()
            .filter(|c| c.active)
            .map(|c| format!("custom.{}", c.key))
            .collect();
        let field_name = match (input.kind, input.field_name) {
            (ChecklistKind::Content, Some(f)) if model::CONTENT_FIELDS.contains(&f.as_str()) || custom.contains(&f) => {
                Some(f)
            }
            (ChecklistKind::Content, _) => {
                e.push(FieldError::new(
                    "fieldName",
                    "INVALID",
                    format!("CONTENT items name one of: {}", model::CONTENT_FIELDS.join(", ")),
                ));
                None
            }
            (ChecklistKind::Process, Some(_)) => {
                e.push(FieldError::new("fieldName", "INVALID", "PROCESS items have no field"));
                None
            }
            (ChecklistKind::Process, None) => None,
        };
        let (Some(label), true) = (label, e.is_empty()) else {
            return Ok(ChecklistItemPayload { item: None, user_errors: errors(e) });
        };
        let new = store::NewItem { stage_id: stage, label, kind: input.kind, field_name, required: input.required };
        let item = store::create_item(p.org, &state.db, new).await?;
        Ok(ChecklistItemPayload { item: Some(ChecklistItem(item)), user_errors: vec![] })
    }

    /// Renames a checklist item or changes whether it is required (admins).
    async fn update_checklist_item(
        &self,
        ctx: &Context<'_>,
        input: UpdateChecklistItemInput,
    ) -> Result<ChecklistItemPayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::ChecklistItem)?;
        store::find_item(p.org, &state.db, id).await?.ok_or(AppError::NotFound("checklist item"))?;
        let mut e = Vec::new();
        let label = match input.label {
            Some(l) => match text("label", Some(l), 500, &mut e) {
                Some(l) => Some(l),
                None if e.is_empty() => {
                    e.push(FieldError::new("label", "REQUIRED", "say what must be done"));
                    None
                }
                None => None,
            },
            None => None,
        };
        if !e.is_empty() {
            return Ok(ChecklistItemPayload { item: None, user_errors: errors(e) });
        }
        let item = store::update_item(p.org, &state.db, id, label, input.required, input.version).await?;
        Ok(ChecklistItemPayload { item: Some(ChecklistItem(item)), user_errors: vec![] })
    }

    /// Removes a checklist item (admins).
    async fn remove_checklist_item(
        &self,
        ctx: &Context<'_>,
        input: RemoveChecklistItemInput,
    ) -> Result<ChecklistItemPayload> {
        let p = ctx.principal()?;
        admin(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::ChecklistItem)?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        store::delete_item(p.org, &tx, id).await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(ChecklistItemPayload { item: None, user_errors: vec![] })
    }

    /// Creates a deal in the first (or given) stage. Reps create their own; managers for their teams.
    async fn create_deal(&self, ctx: &Context<'_>, input: DealInput) -> Result<DealPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let (payload, deal) = create(state, p, &tx, input).await?;
        if let Some(d) = &deal {
            tx.commit().await.map_err(AppError::from)?;
            after_change(state, p, d).await;
        }
        Ok(payload)
    }

    /// Changes a deal's fields. A probability or category given here counts as set by hand.
    async fn update_deal(&self, ctx: &Context<'_>, input: UpdateDealInput) -> Result<DealPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let d = store::find_deal(p.org, &tx, decode_id(&input.id, NodeKind::Deal)?)
            .await?
            .ok_or(AppError::NotFound("deal"))?;
        if let Some(v) = input.version
            && v != d.version
        {
            return Err(AppError::Conflict(format!(
                "the deal is at version {}, not {v}; reload and try again",
                d.version
            ))
            .into());
        }
        let payload = update(state, p, &tx, d, input.deal).await?;
        if let Some(deal) = &payload.deal {
            tx.commit().await.map_err(AppError::from)?;
            after_change(state, p, &deal.0).await;
        }
        Ok(payload)
    }

    /// Creates or updates the deal with this external ID (CRM sync): sending the same deal
    /// twice gives one deal.
    async fn upsert_deal_by_external_id(&self, ctx: &Context<'_>, input: UpsertDealInput) -> Result<DealPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let external_id = match model::parse_external_id(&input.external_id) {
            Ok(x) => x,
            Err(e) => return Ok(DealPayload { deal: None, user_errors: errors(vec![e]) }),
        };
        let mut fields = input.deal;
        fields.external_id = MaybeUndefined::Value(external_id.clone());
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let payload = match store::find_deal_by_external_id(p.org, &tx, &external_id).await? {
            Some(d) => {
                // A sync moves no stages (moveDealStage does), but a stage that does not exist
                // here is NOT_FOUND as on create, never silently dropped.
                if let Some(id) = fields.stage_id.take() {
                    store::find_stage(p.org, &tx, decode_id(&id, NodeKind::PipelineStage)?)
                        .await?
                        .ok_or(AppError::NotFound("stage"))?;
                }
                update(state, p, &tx, d, fields).await?
            }
            None => create(state, p, &tx, fields).await?.0,
        };
        if let Some(deal) = &payload.deal {
            tx.commit().await.map_err(AppError::from)?;
            after_change(state, p, &deal.0).await;
        }
        Ok(payload)
    }

    /// Moves a deal to another open stage. Moving forward past a stage whose required
    /// checklist items are open is refused; the user errors name every open item.
    async fn move_deal_stage(&self, ctx: &Context<'_>, input: MoveDealStageInput) -> Result<DealPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let d = deal_for_write(p, &tx, &input.id).await?;
        let stages = store::stages(p.org, &tx).await?;
        let target = stage_of(&stages, decode_id(&input.stage_id, NodeKind::PipelineStage)?)?.clone();
        if StageKind::parse(&target.kind) != Some(StageKind::Open) {
            let e = FieldError::new("stageId", "INVALID", "use closeDeal to win or lose a deal");
            return Ok(DealPayload { deal: None, user_errors: errors(vec![e]) });
        }
        if d.outcome.is_some() {
            let e = FieldError::new("id", "CLOSED", "reopen the deal first");
            return Ok(DealPayload { deal: None, user_errors: errors(vec![e]) });
        }
        let open = gate(p.org, &tx, &stages, &d, target.position, "stageId").await?;
        if !open.is_empty() {
            return Ok(DealPayload { deal: None, user_errors: open });
        }
        let deal = enter_stage(p, &tx, &d, &target, None).await?;
        tx.commit().await.map_err(AppError::from)?;
        after_change(state, p, &deal).await;
        Ok(DealPayload { deal: Some(Deal(deal)), user_errors: vec![] })
    }

    /// Closes a deal as WON (past the checklist gate of the remaining open stages) or LOST.
    async fn close_deal(&self, ctx: &Context<'_>, input: CloseDealInput) -> Result<DealPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let d = deal_for_write(p, &tx, &input.id).await?;
        if d.outcome.is_some() {
            let e = FieldError::new("id", "CLOSED", "the deal is already closed");
            return Ok(DealPayload { deal: None, user_errors: errors(vec![e]) });
        }
        let mut e = Vec::new();
        let reason = text("reason", input.reason, 2000, &mut e);
        let stages = store::stages(p.org, &tx).await?;
        let wanted = match input.outcome {
            DealOutcome::Won => StageKind::Won,
            DealOutcome::Lost => StageKind::Lost,
        };
        let Some(target) = stages.iter().find(|s| StageKind::parse(&s.kind) == Some(wanted)).cloned() else {
            e.push(FieldError::new("outcome", "NO_STAGE", "the pipeline has no stage of that kind"));
            return Ok(DealPayload { deal: None, user_errors: errors(e) });
        };
        if !e.is_empty() {
            return Ok(DealPayload { deal: None, user_errors: errors(e) });
        }
        if input.outcome == DealOutcome::Won {
            let last_open = stages.iter().filter(|s| s.kind == "OPEN").map(|s| s.position).max().unwrap_or(0);
            let open = gate(p.org, &tx, &stages, &d, last_open + 1, "outcome").await?;
            if !open.is_empty() {
                return Ok(DealPayload { deal: None, user_errors: open });
            }
        }
        let deal = enter_stage(p, &tx, &d, &target, Some((input.outcome, reason))).await?;
        let event = if input.outcome == DealOutcome::Won { "deal.won" } else { "deal.lost" };
        let currency = org_store::currency(p.org, &tx).await?;
        crate::webhooks::store::enqueue(p.org, &tx, event, deal_event(&deal, &currency)).await?;
        tx.commit().await.map_err(AppError::from)?;
        after_change(state, p, &deal).await;
        Ok(DealPayload { deal: Some(Deal(deal)), user_errors: vec![] })
    }

    /// Reopens a closed deal into an open stage (default: the last open stage). Closing forced
    /// its probability and category, so it takes the stage's defaults again (set them by hand
    /// afterwards if needed).
    async fn reopen_deal(&self, ctx: &Context<'_>, input: ReopenDealInput) -> Result<DealPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let d = deal_for_write(p, &tx, &input.id).await?;
        if d.outcome.is_none() {
            let e = FieldError::new("id", "OPEN", "the deal is not closed");
            return Ok(DealPayload { deal: None, user_errors: errors(vec![e]) });
        }
        let stages = store::stages(p.org, &tx).await?;
        let target = match &input.stage_id {
            Some(id) => stage_of(&stages, decode_id(id, NodeKind::PipelineStage)?)?.clone(),
            None => match stages.iter().filter(|s| s.kind == "OPEN").max_by_key(|s| s.position) {
                Some(s) => s.clone(),
                None => return Err(AppError::bad_input("the pipeline has no open stage").into()),
            },
        };
        if StageKind::parse(&target.kind) != Some(StageKind::Open) {
            let e = FieldError::new("stageId", "INVALID", "reopen into an OPEN stage");
            return Ok(DealPayload { deal: None, user_errors: errors(vec![e]) });
        }
        if d.outcome.as_deref() == Some("WON") {
            // Commission already approved on this deal is taken back in the next open period. A
            // statement being approved at this moment must be seen approved or not at all.
            crate::db::serialize(&tx, p.org, crate::db::Section::Payouts).await.map_err(AppError::from)?;
            crate::incentive::store::claw_back_deal(p.org, &tx, d.id, "the won deal was reopened").await?;
        }
        let reset = deal::Model { probability_manual: false, forecast_category_manual: false, ..d.clone() };
        let deal = enter_stage(p, &tx, &reset, &target, None).await?;
        tx.commit().await.map_err(AppError::from)?;
        after_change(state, p, &deal).await;
        Ok(DealPayload { deal: Some(Deal(deal)), user_errors: vec![] })
    }

    /// Ticks a PROCESS checklist item off on a deal.
    async fn complete_checklist_item(&self, ctx: &Context<'_>, input: ChecklistItemOnDealInput) -> Result<DealPayload> {
        tick(ctx, input, true).await
    }

    /// Un-ticks a PROCESS checklist item on a deal.
    async fn uncomplete_checklist_item(
        &self,
        ctx: &Context<'_>,
        input: ChecklistItemOnDealInput,
    ) -> Result<DealPayload> {
        tick(ctx, input, false).await
    }
}

async fn tick(ctx: &Context<'_>, input: ChecklistItemOnDealInput, done: bool) -> Result<DealPayload> {
    let p = ctx.principal()?;
    let state = ctx.state()?;
    let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
    let d = store::find_deal(p.org, &tx, decode_id(&input.deal_id, NodeKind::Deal)?)
        .await?
        .ok_or(AppError::NotFound("deal"))?;
    require_deal_write(p, &tx, d.owner_id).await?;
    let item = store::find_item(p.org, &tx, decode_id(&input.item_id, NodeKind::ChecklistItem)?)
        .await?
        .ok_or(AppError::NotFound("checklist item"))?;
    if ChecklistKind::parse(&item.kind) != Some(ChecklistKind::Process) {
        let e = FieldError::new("itemId", "INVALID", "CONTENT items are done by filling their field");
        return Ok(DealPayload { deal: None, user_errors: errors(vec![e]) });
    }
    if done {
        store::complete_item(p.org, &tx, d.id, item.id, p.member_id).await?;
    } else {
        store::uncomplete_item(p.org, &tx, d.id, item.id).await?;
    }
    // The checklist is part of the deal: its version and updatedAt move.
    let d = store::update_deal(p.org, &tx, &d, DealFields::default(), DealState::default()).await?;
    tx.commit().await.map_err(AppError::from)?;
    after_change(state, p, &d).await;
    Ok(DealPayload { deal: Some(Deal(d)), user_errors: vec![] })
}

async fn enter_stage(
    p: &Principal,
    db: &impl sea_orm::ConnectionTrait,
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

pub(crate) async fn create(
    _state: &AppState,
    p: &Principal,
    tx: &sea_orm::DatabaseTransaction,
    input: DealInput,
) -> AppResult<(DealPayload, Option<deal::Model>)> {
    let manual_probability = input.probability;
    let manual_category = input.forecast_category;
    let mut e = Vec::new();
    let (fields, splits, stage_id) = parse_deal(p, tx, input, None, &mut e).await?;
    let owner = fields.owner_id.unwrap_or(p.member_id);
    require_deal_write(p, tx, owner).await?;
    let stages = store::stages(p.org, tx).await?;
    let stage = match stage_id {
        Some(id) => Some(stage_of(&stages, id)?.clone()),
        None => stages.iter().find(|s| s.kind == "OPEN").cloned(),
    };
    let Some(stage) = stage else {
        e.push(FieldError::new("stageId", "NO_STAGE", "the pipeline has no open stage yet"));
        return Ok((DealPayload { deal: None, user_errors: errors(e) }, None));
    };
    if StageKind::parse(&stage.kind) != Some(StageKind::Open) {
        e.push(FieldError::new("stageId", "INVALID", "new deals start in an OPEN stage"));
    }
    if !e.is_empty() {
        return Ok((DealPayload { deal: None, user_errors: errors(e) }, None));
    }
    if let Some(x) = &fields.external_id.clone().flatten()
        && store::find_deal_by_external_id(p.org, tx, x).await?.is_some()
    {
        let e = FieldError::new("externalId", "TAKEN", "another deal has this external ID");
        return Ok((DealPayload { deal: None, user_errors: errors(vec![e]) }, None));
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
    route_territory(p, tx, &mut fields, None).await?;
    let d = store::create_deal(p.org, tx, fields, &stage, probability, category).await?;
    if let Some(s) = &splits {
        store::replace_splits(p.org, tx, d.id, s).await?;
    }
    store::add_history(p.org, tx, d.id, None, stage.id, p.member_id).await?;
    Ok((DealPayload { deal: Some(Deal(d.clone())), user_errors: vec![] }, Some(d)))
}

pub(crate) async fn update(
    _state: &AppState,
    p: &Principal,
    tx: &sea_orm::DatabaseTransaction,
    d: deal::Model,
    input: DealInput,
) -> AppResult<DealPayload> {
    require_deal_write(p, tx, d.owner_id).await?;
    let manual_probability = input.probability;
    let manual_category = input.forecast_category;
    let mut e = Vec::new();
    let (fields, splits, _) = parse_deal(p, tx, input, Some(&d.custom_fields), &mut e).await?;
    if let Some(owner) = fields.owner_id {
        require_deal_write(p, tx, owner).await?;
    }
    if let Some(Some(x)) = &fields.external_id
        && store::find_deal_by_external_id(p.org, tx, x).await?.is_some_and(|other| other.id != d.id)
    {
        e.push(FieldError::new("externalId", "TAKEN", "another deal has this external ID"));
    }
    if !e.is_empty() {
        return Ok(DealPayload { deal: None, user_errors: errors(e) });
    }
    let closed = d.outcome.is_some();
    let state = DealState {
        probability: manual_probability.filter(|_| !closed).map(|v| (v, true)),
        forecast_category: manual_category.filter(|_| !closed).map(|c| (c, true)),
        ..Default::default()
    };
    let mut fields = fields;
    route_territory(p, tx, &mut fields, Some(&d)).await?;
    let updated = store::update_deal(p.org, tx, &d, fields, state).await?;
    if let Some(s) = &splits {
        store::replace_splits(p.org, tx, d.id, s).await?;
    }
    Ok(DealPayload { deal: Some(Deal(updated)), user_errors: vec![] })
}

/// The `data` of a `deal.won` / `deal.lost` webhook event.
fn deal_event(d: &deal::Model, currency: &str) -> serde_json::Value {
    serde_json::json!({
        "dealId": global_id(NodeKind::Deal, d.id),
        "externalId": d.external_id,
        "name": d.name,
        "company": d.company,
        "ownerId": global_id(NodeKind::Member, d.owner_id),
        "amount": { "amount": model::format_amount(d.amount_cents), "currency": currency },
        "outcome": d.outcome,
        "reason": d.outcome_reason,
        "closedAt": d.closed_at,
    })
}
