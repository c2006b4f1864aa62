//! Pipeline mutations: stages, checklists, custom fields and deals. Each reads its input into
//! a command and calls the pipeline service.

use async_graphql::{Context, Object, Result};
use entity::deal;
use uuid::Uuid;

use super::{
    AddChecklistItemInput, ChecklistItem, ChecklistItemOnDealInput, ChecklistItemPayload, CloseDealInput,
    CreateCustomFieldInput, CreateStageInput, CustomField, CustomFieldPayload, Deal, DealInput, DealPayload,
    DeleteStageInput, MoveDealStageInput, PipelineStage, RemoveChecklistItemInput, ReopenDealInput, ReorderStagesInput,
    StagePayload, StagesPayload, UpdateChecklistItemInput, UpdateDealInput, UpdateStageInput, UpsertDealInput,
    deal_changes, errors,
};
use crate::core::error::AppResult;
use crate::core::field::Checked;
use crate::graphql::ContextExt;
use crate::graphql::relay::{NodeKind, decode_id, global_id};
use crate::pipeline::model;
use crate::pipeline::service;

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
        let state = ctx.state()?;
        let cmd = service::CreateCustomField {
            key: input.key,
            label: input.label,
            field_type: input.field_type,
            choices: input.choices,
        };
        Ok(match service::create_custom_field(&state.db, &state.events, p, cmd).await? {
            Ok(f) => CustomFieldPayload { field: Some(CustomField(f)), user_errors: vec![] },
            Err(e) => CustomFieldPayload { field: None, user_errors: errors(e) },
        })
    }

    /// Adds a stage at the end of the pipeline (admins).
    async fn create_stage(&self, ctx: &Context<'_>, input: CreateStageInput) -> Result<StagePayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::CreateStage {
            name: input.name,
            kind: input.kind,
            default_probability: input.default_probability,
            default_forecast_category: input.default_forecast_category,
        };
        Ok(stage_payload(service::create_stage(&state.db, &state.events, p, cmd).await?))
    }

    /// Changes a stage (admins). Deals already in it keep their probabilities.
    async fn update_stage(&self, ctx: &Context<'_>, input: UpdateStageInput) -> Result<StagePayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::UpdateStage {
            id: decode_id(&input.id, NodeKind::PipelineStage)?,
            version: input.version,
            name: input.name,
            default_probability: input.default_probability,
            default_forecast_category: input.default_forecast_category,
        };
        Ok(stage_payload(service::update_stage(&state.db, &state.events, p, cmd).await?))
    }

    /// Removes a stage (admins). A stage with deals in it is refused.
    async fn delete_stage(&self, ctx: &Context<'_>, input: DeleteStageInput) -> Result<StagePayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::PipelineStage)?;
        Ok(stage_payload(service::delete_stage(&state.db, &state.events, p, id).await?))
    }

    /// Puts the active stages in a new order (admins). Every active stage must be listed once.
    async fn reorder_stages(&self, ctx: &Context<'_>, input: ReorderStagesInput) -> Result<StagesPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let ids: Vec<Uuid> =
            input.stage_ids.iter().map(|id| decode_id(id, NodeKind::PipelineStage)).collect::<AppResult<_>>()?;
        Ok(match service::reorder_stages(&state.db, &state.events, p, ids).await? {
            Ok(stages) => {
                StagesPayload { stages: stages.into_iter().map(PipelineStage).collect(), user_errors: vec![] }
            }
            Err(e) => StagesPayload { stages: vec![], user_errors: errors(e) },
        })
    }

    /// Adds a checklist item to a stage (admins).
    async fn add_checklist_item(
        &self,
        ctx: &Context<'_>,
        input: AddChecklistItemInput,
    ) -> Result<ChecklistItemPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::AddChecklistItem {
            stage_id: decode_id(&input.stage_id, NodeKind::PipelineStage)?,
            label: input.label,
            kind: input.kind,
            field_name: input.field_name,
            required: input.required,
        };
        Ok(item_payload(service::add_checklist_item(&state.db, &state.events, p, cmd).await?))
    }

    /// Renames a checklist item or changes whether it is required (admins).
    async fn update_checklist_item(
        &self,
        ctx: &Context<'_>,
        input: UpdateChecklistItemInput,
    ) -> Result<ChecklistItemPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::UpdateChecklistItem {
            id: decode_id(&input.id, NodeKind::ChecklistItem)?,
            version: input.version,
            label: input.label,
            required: input.required,
        };
        Ok(item_payload(service::update_checklist_item(&state.db, &state.events, p, cmd).await?))
    }

    /// Removes a checklist item (admins).
    async fn remove_checklist_item(
        &self,
        ctx: &Context<'_>,
        input: RemoveChecklistItemInput,
    ) -> Result<ChecklistItemPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::ChecklistItem)?;
        service::remove_checklist_item(&state.db, &state.events, p, id).await?;
        Ok(ChecklistItemPayload { item: None, user_errors: vec![] })
    }

    /// Creates a deal in the first (or given) stage. Reps create their own; managers for their teams.
    async fn create_deal(&self, ctx: &Context<'_>, input: DealInput) -> Result<DealPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = deal_changes(input, false)?;
        Ok(deal_payload(service::create_deal(&state.db, &state.events, p, cmd).await?))
    }

    /// Changes a deal's fields. A probability or category given here counts as set by hand.
    async fn update_deal(&self, ctx: &Context<'_>, input: UpdateDealInput) -> Result<DealPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::UpdateDeal {
            id: decode_id(&input.id, NodeKind::Deal)?,
            version: input.version,
            changes: deal_changes(input.deal, true)?,
        };
        Ok(deal_payload(service::update_deal(&state.db, &state.events, p, cmd).await?))
    }

    /// Creates or updates the deal with this external ID (CRM sync): sending the same deal
    /// twice gives one deal.
    async fn upsert_deal_by_external_id(&self, ctx: &Context<'_>, input: UpsertDealInput) -> Result<DealPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::UpsertDeal { external_id: input.external_id, changes: deal_changes(input.deal, false)? };
        Ok(deal_payload(service::upsert_deal(&state.db, &state.events, p, cmd).await?))
    }

    /// Moves a deal to another open stage. Moving forward past a stage whose required
    /// checklist items are open is refused; the user errors name every open item.
    async fn move_deal_stage(&self, ctx: &Context<'_>, input: MoveDealStageInput) -> Result<DealPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::MoveDealStage {
            id: decode_id(&input.id, NodeKind::Deal)?,
            stage_id: decode_id(&input.stage_id, NodeKind::PipelineStage)?,
        };
        Ok(deal_payload(service::move_deal_stage(&state.db, &state.events, p, cmd).await?))
    }

    /// Closes a deal as WON (past the checklist gate of the remaining open stages) or LOST.
    async fn close_deal(&self, ctx: &Context<'_>, input: CloseDealInput) -> Result<DealPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::CloseDeal {
            id: decode_id(&input.id, NodeKind::Deal)?,
            outcome: input.outcome,
            reason: input.reason,
        };
        Ok(deal_payload(service::close_deal(&state.db, &state.events, p, cmd, deal_event).await?))
    }

    /// Reopens a closed deal into an open stage (default: the last open stage). Closing forced
    /// its probability and category, so it takes the stage's defaults again (set them by hand
    /// afterwards if needed).
    async fn reopen_deal(&self, ctx: &Context<'_>, input: ReopenDealInput) -> Result<DealPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::ReopenDeal {
            id: decode_id(&input.id, NodeKind::Deal)?,
            stage_id: input.stage_id.as_ref().map(|id| decode_id(id, NodeKind::PipelineStage)).transpose()?,
        };
        Ok(deal_payload(service::reopen_deal(&state.db, &state.events, p, cmd).await?))
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
    let cmd = service::TickChecklistItem {
        deal_id: decode_id(&input.deal_id, NodeKind::Deal)?,
        item_id: decode_id(&input.item_id, NodeKind::ChecklistItem)?,
        done,
    };
    Ok(deal_payload(service::tick_checklist_item(&state.db, &state.events, p, cmd).await?))
}

fn stage_payload(result: Checked<entity::pipeline_stage::Model>) -> StagePayload {
    match result {
        Ok(s) => StagePayload { stage: Some(PipelineStage(s)), user_errors: vec![] },
        Err(e) => StagePayload { stage: None, user_errors: errors(e) },
    }
}

fn item_payload(result: Checked<entity::checklist_item::Model>) -> ChecklistItemPayload {
    match result {
        Ok(i) => ChecklistItemPayload { item: Some(ChecklistItem(i)), user_errors: vec![] },
        Err(e) => ChecklistItemPayload { item: None, user_errors: errors(e) },
    }
}

fn deal_payload(result: Checked<deal::Model>) -> DealPayload {
    match result {
        Ok(d) => DealPayload { deal: Some(Deal(d)), user_errors: vec![] },
        Err(e) => DealPayload { deal: None, user_errors: errors(e) },
    }
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
