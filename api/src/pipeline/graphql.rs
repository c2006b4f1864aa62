//! GraphQL surface of the pipeline: stages and checklists (admins), deals with the
//! checklist gate, probabilities, splits, stage history and `dealChanged`.

use std::collections::HashSet;

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject, Subscription};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use entity::{checklist_item, deal, deal_stage_history, pipeline_stage};

use super::model::{self, ChecklistKind, DealOutcome, ForecastCategory, GateItem, Split, SplitKind, StageKind};
use super::store::{self, DealFields, DealFilter, DealOrder, DealState};
use crate::auth::{Permission, Principal, Reach};
use crate::error::{AppError, AppResult};
use crate::events::Event;
use crate::graphql::loaders::{CurrencyKey, DealSplitsKey, MemberKey, StageKey};
use crate::graphql::relay::{NodeKind, PageArgs, connection, decode_id, global_id};
use crate::graphql::{ContextExt, UserError};
use crate::org::graphql::Member;
use crate::org::model::{self as org_model, FieldError, OrgId, Role};
use crate::org::store as org_store;
use crate::state::AppState;
pub use crate::objects::{Deal, DealConnection, DealEdge};

// ---------------------------------------------------------------- output types

/// A stage of the pipeline, with its checklist.
pub struct PipelineStage(pub pipeline_stage::Model);

/// A stage of the pipeline, with its checklist.
#[Object]
impl PipelineStage {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::PipelineStage, self.0.id)
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Order in the pipeline, from 0.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// OPEN, WON or LOST.
    async fn kind(&self) -> StageKind {
        StageKind::parse(&self.0.kind).unwrap_or(StageKind::Open)
    }
    /// Win probability a deal gets on entering (unless set by hand).
    async fn default_probability(&self) -> i32 {
        self.0.default_probability
    }
    /// Forecast category a deal gets on entering (unless set by hand).
    async fn default_forecast_category(&self) -> ForecastCategory {
        ForecastCategory::parse(&self.0.default_forecast_category).unwrap_or(ForecastCategory::Pipeline)
    }
    /// False once archived.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Increases with every change (also archiving and reordering); pass it to `updateStage`
    /// to refuse an edit when someone else changed the stage since.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// What must be done or filled before a deal leaves this stage.
    async fn checklist(&self, ctx: &Context<'_>) -> Result<Vec<ChecklistItem>> {
        let p = ctx.principal()?;
        let items = store::all_items(p.org, &ctx.state()?.db).await?;
        Ok(items.into_iter().filter(|i| i.stage_id == self.0.id).map(ChecklistItem).collect())
    }
}

/// Something to fill (CONTENT) or do (PROCESS) in a stage.
pub struct ChecklistItem(pub checklist_item::Model);

/// Something to fill (CONTENT) or do (PROCESS) in a stage.
#[Object]
impl ChecklistItem {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::ChecklistItem, self.0.id)
    }
    /// What to do, e.g. "Summary e-mail sent after the call".
    async fn label(&self) -> &str {
        &self.0.label
    }
    /// CONTENT (a deal field must be filled) or PROCESS (a step the rep ticks off).
    async fn kind(&self) -> ChecklistKind {
        ChecklistKind::parse(&self.0.kind).unwrap_or(ChecklistKind::Process)
    }
    /// CONTENT: the deal field that must be filled.
    async fn field_name(&self) -> Option<&str> {
        self.0.field_name.as_deref()
    }
    /// Whether an open item blocks moving the deal on.
    async fn required(&self) -> bool {
        self.0.required
    }
    /// Order within the stage.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// Increases with every change; pass it to `updateChecklistItem` to refuse an edit when
    /// someone else changed the item since.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// An amount in the organization's currency.
#[derive(SimpleObject)]
pub struct Money {
    /// Decimal string, e.g. "1250.50".
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
}

/// A credit partner of a deal.
#[derive(SimpleObject)]
pub struct DealSplit {
    /// The partner.
    member: Option<Member>,
    /// REVENUE (a share) or OVERLAY (credit on top).
    kind: SplitKind,
    /// Percent.
    percent: i32,
}

/// One checklist item of the deal's current stage and whether it is done.
#[derive(SimpleObject)]
pub struct DealChecklistEntry {
    /// The item.
    item: ChecklistItem,
    /// Ticked off (PROCESS) or filled (CONTENT).
    done: bool,
    /// When ticked off (PROCESS).
    completed_at: Option<DateTime<Utc>>,
}

/// A stage change of a deal.
pub struct StageChange(deal_stage_history::Model);

/// A stage change of a deal.
#[Object]
impl StageChange {
    /// The stage it left; null when the deal was created.
    #[graphql(name = "fromStage")]
    async fn left_stage(&self, ctx: &Context<'_>) -> Result<Option<PipelineStage>> {
        let Some(id) = self.0.from_stage_id else { return Ok(None) };
        let p = ctx.principal()?;
        Ok(store::find_stage(p.org, &ctx.state()?.db, id).await?.map(PipelineStage))
    }
    /// The stage it entered.
    async fn to_stage(&self, ctx: &Context<'_>) -> Result<Option<PipelineStage>> {
        let p = ctx.principal()?;
        Ok(store::find_stage(p.org, &ctx.state()?.db, self.0.to_stage_id).await?.map(PipelineStage))
    }
    /// When.
    async fn changed_at(&self) -> DateTime<Utc> {
        self.0.changed_at
    }
    /// By whom.
    async fn changed_by(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(ctx.loader()?.load_one(MemberKey(self.0.changed_by)).await?.map(Member))
    }
}

/// An opportunity in the pipeline.
#[Object]
impl Deal {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Deal, self.0.id)
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The customer's company.
    async fn company(&self) -> Option<&str> {
        self.0.company.as_deref()
    }
    /// The owner.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(ctx.loader()?.load_one(MemberKey(self.0.owner_id)).await?.map(Member))
    }
    /// Credit partners; without REVENUE splits the owner is credited 100 %.
    async fn splits(&self, ctx: &Context<'_>) -> Result<Vec<DealSplit>> {
        let rows = ctx.loader()?.load_one(DealSplitsKey(self.0.id)).await?.unwrap_or_default();
        let mut out = Vec::new();
        for s in rows {
            out.push(DealSplit {
                member: ctx.loader()?.load_one(MemberKey(s.member_id)).await?.map(Member),
                kind: SplitKind::parse(&s.kind).unwrap_or(SplitKind::Revenue),
                percent: s.percent,
            });
        }
        Ok(out)
    }
    /// The amount.
    async fn amount(&self, ctx: &Context<'_>) -> Result<Money> {
        let currency = ctx.loader()?.load_one(CurrencyKey).await?.unwrap_or_default();
        Ok(Money { amount: model::format_amount(self.0.amount_cents), currency })
    }
    /// The current stage.
    async fn stage(&self, ctx: &Context<'_>) -> Result<Option<PipelineStage>> {
        Ok(ctx.loader()?.load_one(StageKey(self.0.stage_id)).await?.map(PipelineStage))
    }
    /// Win probability, 0 to 100.
    async fn probability(&self) -> i32 {
        self.0.probability
    }
    /// Whether the probability was set by hand (it then survives stage moves).
    async fn probability_manual(&self) -> bool {
        self.0.probability_manual
    }
    /// Forecast category.
    async fn forecast_category(&self) -> ForecastCategory {
        ForecastCategory::parse(&self.0.forecast_category).unwrap_or(ForecastCategory::Pipeline)
    }
    /// Expected close date.
    async fn expected_close_date(&self) -> Option<NaiveDate> {
        self.0.expected_close_date
    }
    /// Where the lead came from.
    async fn lead_source(&self) -> Option<&str> {
        self.0.lead_source.as_deref()
    }
    /// When the lead came in.
    async fn lead_created_at(&self) -> Option<DateTime<Utc>> {
        self.0.lead_created_at
    }
    /// First contact with the lead.
    async fn first_contact_at(&self) -> Option<DateTime<Utc>> {
        self.0.first_contact_at
    }
    /// When closed.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// WON or LOST once closed.
    async fn outcome(&self) -> Option<DealOutcome> {
        self.0.outcome.as_deref().and_then(DealOutcome::parse)
    }
    /// Why it was won or lost.
    async fn outcome_reason(&self) -> Option<&str> {
        self.0.outcome_reason.as_deref()
    }
    /// Street address (territory routing).
    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }
    /// Country, ISO 3166-1 alpha-2.
    async fn country(&self) -> Option<&str> {
        self.0.country.as_deref()
    }
    /// Postal code.
    async fn postal_code(&self) -> Option<&str> {
        self.0.postal_code.as_deref()
    }
    /// Industry.
    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }
    /// Employees.
    async fn company_size(&self) -> Option<i32> {
        self.0.company_size
    }
    /// The territory: routed from country, postal code, industry and company size to the most
    /// specific matching territory, unless set by hand (`territoryManual`).
    async fn territory(&self, ctx: &Context<'_>) -> Result<Option<crate::territory::graphql::Territory>> {
        let Some(id) = self.0.territory_id else { return Ok(None) };
        let p = ctx.principal()?;
        Ok(crate::territory::store::find(p.org, &ctx.state()?.db, id).await?.map(crate::territory::graphql::Territory))
    }
    /// Whether the territory was set by hand (routing leaves it alone).
    async fn territory_manual(&self) -> bool {
        self.0.territory_manual
    }
    /// ID in the CRM, unique in the organization.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// Values of the organization's custom fields (see `customFields`), by key.
    async fn custom_fields(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(serde_json::from_str(&self.0.custom_fields).unwrap_or_else(|_| serde_json::json!({})))
    }
    /// The current stage's checklist and what is done.
    async fn checklist(&self, ctx: &Context<'_>) -> Result<Vec<DealChecklistEntry>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let items = store::all_items(p.org, db).await?;
        let done = store::completions(p.org, db, self.0.id).await?;
        let filled = store::filled_fields(&self.0);
        Ok(items
            .into_iter()
            .filter(|i| i.stage_id == self.0.stage_id)
            .map(|i| {
                let completion = done.iter().find(|c| c.item_id == i.id);
                let is_done = match ChecklistKind::parse(&i.kind) {
                    Some(ChecklistKind::Content) => i.field_name.as_deref().is_some_and(|f| filled.contains(f)),
                    _ => completion.is_some(),
                };
                DealChecklistEntry {
                    done: is_done,
                    completed_at: completion.map(|c| c.completed_at),
                    item: ChecklistItem(i),
                }
            })
            .collect())
    }
    /// Every stage change, oldest first.
    async fn stage_history(&self, ctx: &Context<'_>) -> Result<Vec<StageChange>> {
        let p = ctx.principal()?;
        Ok(store::history(p.org, &ctx.state()?.db, self.0.id).await?.into_iter().map(StageChange).collect())
    }
    /// Increases with every change; pass it to `updateDeal` to refuse stale edits.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

// ---------------------------------------------------------------- inputs and payloads

/// A new stage (admins), appended at the end.
#[derive(InputObject)]
pub struct CreateStageInput {
    /// Name.
    name: String,
    /// OPEN (default), WON or LOST.
    #[graphql(default_with = "StageKind::Open")]
    kind: StageKind,
    /// Default win probability, 0 to 100 (default: 100 for WON, 0 otherwise).
    default_probability: Option<i32>,
    /// Default forecast category (default PIPELINE; CLOSED for WON, OMITTED for LOST).
    default_forecast_category: Option<ForecastCategory>,
}

/// Changes to a stage (admins).
#[derive(InputObject)]
pub struct UpdateStageInput {
    /// The stage.
    id: ID,
    /// The `version` you last read; when given and stale, the update is refused with CONFLICT
    /// instead of silently overwriting someone else's change.
    version: Option<i32>,
    /// New name.
    name: Option<String>,
    /// New default probability.
    default_probability: Option<i32>,
    /// New default forecast category.
    default_forecast_category: Option<ForecastCategory>,
}

/// Removes a stage (admins): archived when deals were ever in it, so history stays.
#[derive(InputObject)]
pub struct DeleteStageInput {
    /// The stage.
    id: ID,
}

/// The new order of all active stages (admins).
#[derive(InputObject)]
pub struct ReorderStagesInput {
    /// Every active stage's ID, in the new order.
    stage_ids: Vec<ID>,
}

/// Result of a stage mutation.
#[derive(SimpleObject)]
pub struct StagePayload {
    /// The stage after the change; `null` when refused.
    stage: Option<PipelineStage>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

/// Result of `reorderStages`.
#[derive(SimpleObject)]
pub struct StagesPayload {
    /// The stages in their new order.
    stages: Vec<PipelineStage>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

/// A new checklist item (admins).
#[derive(InputObject)]
pub struct AddChecklistItemInput {
    /// The stage.
    stage_id: ID,
    /// What to do or fill.
    label: String,
    /// CONTENT or PROCESS.
    kind: ChecklistKind,
    /// CONTENT: the deal field (company, amount, expectedCloseDate, leadSource, firstContactAt,
    /// address, country, postalCode, industry, companySize, or `custom.<key>` of a custom field).
    field_name: Option<String>,
    /// Whether it blocks moving on (default true).
    #[graphql(default = true)]
    required: bool,
}

/// Changes a checklist item (admins).
#[derive(InputObject)]
pub struct UpdateChecklistItemInput {
    /// The item.
    id: ID,
    /// The `version` you last read; when given and stale, the update is refused with CONFLICT
    /// instead of silently overwriting someone else's change.
    version: Option<i32>,
    /// New label.
    label: Option<String>,
    /// Whether it blocks moving on.
    required: Option<bool>,
}

/// Removes a checklist item (admins).
#[derive(InputObject)]
pub struct RemoveChecklistItemInput {
    /// The item.
    id: ID,
}

/// Result of a checklist item mutation.
#[derive(SimpleObject)]
pub struct ChecklistItemPayload {
    /// The item; `null` when refused or removed.
    item: Option<ChecklistItem>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

/// A split partner.
#[derive(InputObject, Clone)]
pub struct DealSplitInput {
    /// The partner.
    member_id: ID,
    /// REVENUE or OVERLAY.
    kind: SplitKind,
    /// 1 to 100; REVENUE splits sum to 100.
    percent: i32,
}

/// Deal fields. On create, absent means empty; on update, absent means unchanged and `null` clears.
#[derive(InputObject)]
pub struct DealInput {
    /// Name (required on create).
    pub(crate) name: Option<String>,
    /// The customer's company.
    pub(crate) company: MaybeUndefined<String>,
    /// The owner (default: the viewer). Reps own their deals; managers assign within their teams.
    pub(crate) owner_id: Option<ID>,
    /// Amount as a decimal string, e.g. "1250.50".
    pub(crate) amount: Option<String>,
    /// The stage (create only; default: the first stage). Use `moveDealStage` afterwards.
    pub(crate) stage_id: Option<ID>,
    /// A probability set by hand, 0 to 100: it survives stage moves.
    pub(crate) probability: Option<i32>,
    /// A forecast category set by hand.
    pub(crate) forecast_category: Option<ForecastCategory>,
    /// Expected close date.
    pub(crate) expected_close_date: MaybeUndefined<NaiveDate>,
    /// Where the lead came from.
    pub(crate) lead_source: MaybeUndefined<String>,
    /// When the lead came in.
    pub(crate) lead_created_at: MaybeUndefined<DateTime<Utc>>,
    /// First contact with the lead.
    pub(crate) first_contact_at: MaybeUndefined<DateTime<Utc>>,
    /// Street address.
    pub(crate) address: MaybeUndefined<String>,
    /// Country, ISO 3166-1 alpha-2 (e.g. NL).
    pub(crate) country: MaybeUndefined<String>,
    /// Postal code.
    pub(crate) postal_code: MaybeUndefined<String>,
    /// Industry.
    pub(crate) industry: MaybeUndefined<String>,
    /// Employees, 0 or more.
    pub(crate) company_size: MaybeUndefined<i32>,
    /// Split partners (replaces all).
    pub(crate) splits: Option<Vec<DealSplitInput>>,
    /// ID in the CRM, unique in the organization.
    pub(crate) external_id: MaybeUndefined<String>,
    /// A territory set by hand (routing then leaves the deal alone); `null` hands the deal back
    /// to routing.
    pub(crate) territory_id: MaybeUndefined<ID>,
    /// Custom field values by key (merged into the current ones; `null` removes a value).
    /// Keys must be defined fields and values of their type.
    pub(crate) custom_fields: Option<async_graphql::Json<serde_json::Value>>,
}

/// Changes to a deal.
#[derive(InputObject)]
pub struct UpdateDealInput {
    /// The deal.
    id: ID,
    /// The `version` you last read; when given and stale, the update is refused with CONFLICT.
    version: Option<i32>,
    /// The changes.
    deal: DealInput,
}

/// Creates or updates the deal with an external ID (CRM sync).
#[derive(InputObject)]
pub struct UpsertDealInput {
    /// The CRM's ID.
    external_id: String,
    /// The fields (`externalId` inside is ignored).
    deal: DealInput,
}

/// Moves a deal to another open stage.
#[derive(InputObject)]
pub struct MoveDealStageInput {
    /// The deal.
    id: ID,
    /// The target stage (OPEN; use `closeDeal` for WON/LOST).
    stage_id: ID,
}

/// Closes a deal.
#[derive(InputObject)]
pub struct CloseDealInput {
    /// The deal.
    id: ID,
    /// WON or LOST.
    outcome: DealOutcome,
    /// Why.
    reason: Option<String>,
}

/// Reopens a closed deal into an open stage.
#[derive(InputObject)]
pub struct ReopenDealInput {
    /// The deal.
    id: ID,
    /// The open stage (default: the last open stage).
    stage_id: Option<ID>,
}

/// Ticks a checklist item off, or un-ticks it.
#[derive(InputObject)]
pub struct ChecklistItemOnDealInput {
    /// The deal.
    deal_id: ID,
    /// The PROCESS item.
    item_id: ID,
}

/// Result of a deal mutation.
#[derive(SimpleObject)]
pub struct DealPayload {
    /// The deal after the change; `null` when refused.
    pub(crate) deal: Option<Deal>,
    /// What to fix; for a refused move, one entry per open required checklist item.
    pub(crate) user_errors: Vec<UserError>,
}

/// Filter for `deals`.
#[derive(InputObject, Default)]
pub struct DealFilterInput {
    /// Only this owner's.
    owner_id: Option<ID>,
    /// Only deals owned by members of this team and its sub-teams.
    team_id: Option<ID>,
    /// Only this stage.
    stage_id: Option<ID>,
    /// Only closed with this outcome.
    outcome: Option<DealOutcome>,
    /// Only open (true) or only closed (false) deals.
    open: Option<bool>,
    /// Only this forecast category.
    forecast_category: Option<ForecastCategory>,
    /// Expected close on or after.
    expected_close_from: Option<NaiveDate>,
    /// Expected close on or before.
    expected_close_to: Option<NaiveDate>,
    /// Text in name or company (at most 200 characters).
    search: Option<String>,
    /// Only deals in this territory and its sub-territories.
    territory_id: Option<ID>,
}

impl DealFilterInput {
    /// Only this owner's deals.
    pub fn of_owner(owner_id: ID) -> Self {
        DealFilterInput { owner_id: Some(owner_id), ..Default::default() }
    }
}

// ---------------------------------------------------------------- helpers

fn errors(list: Vec<FieldError>) -> Vec<UserError> {
    list.into_iter().map(UserError::from).collect()
}

fn text(field: &str, raw: Option<String>, max: usize, e: &mut Vec<FieldError>) -> Option<String> {
    let t = raw.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())?;
    if t.chars().count() > max {
        e.push(FieldError::new(field, "INVALID", format!("at most {max} characters, no control characters")));
        return None;
    }
    // Single-line text (a company, a label) follows the rule of names.
    if let Err(err) = org_model::check_name_characters(field, &t) {
        e.push(err);
        return None;
    }
    Some(t)
}

fn maybe_text(field: &str, v: MaybeUndefined<String>, max: usize, e: &mut Vec<FieldError>) -> Option<Option<String>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(s) => Some(text(field, Some(s), max, e)),
    }
}

fn maybe<T>(v: MaybeUndefined<T>) -> Option<Option<T>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(x) => Some(Some(x)),
    }
}

/// Whether the principal may write this deal: its owner, or a manager of the owner's team, or an admin.
async fn require_deal_write(p: &Principal, db: &impl sea_orm::ConnectionTrait, owner: Uuid) -> AppResult<()> {
    if p.role == Role::Viewer {
        return Err(AppError::forbidden("viewers cannot change deals"));
    }
    if owner == p.member_id {
        return Ok(());
    }
    let m = org_store::find_member(p.org, db, owner).await?.ok_or(AppError::NotFound("member"))?;
    p.reach(db).await?.require(m.team_id, "this deal's owner")
}

/// Loads a deal of the tenant that the principal may change.
async fn deal_for_write(p: &Principal, db: &impl sea_orm::ConnectionTrait, id: &ID) -> AppResult<deal::Model> {
    let d = store::find_deal(p.org, db, decode_id(id, NodeKind::Deal)?).await?.ok_or(AppError::NotFound("deal"))?;
    require_deal_write(p, db, d.owner_id).await?;
    Ok(d)
}

/// Whether the principal may read this deal (reps: their own and where they are a partner; managers: their teams).
async fn require_deal_read(p: &Principal, db: &impl sea_orm::ConnectionTrait, d: &deal::Model) -> AppResult<()> {
    match p.role {
        Role::Admin | Role::Viewer => Ok(()),
        _ if d.owner_id == p.member_id => Ok(()),
        _ => {
            if store::splits_of(p.org, db, &[d.id]).await?.iter().any(|s| s.member_id == p.member_id) {
                return Ok(());
            }
            let m = org_store::find_member(p.org, db, d.owner_id).await?.ok_or(AppError::NotFound("member"))?;
            match p.reach(db).await? {
                Reach::All => Ok(()),
                r if p.role == Role::Manager => r.require(m.team_id, "this deal"),
                _ => Err(AppError::forbidden("reps see their own deals")),
            }
        }
    }
}

/// Whether the principal may read this deal (for `node`).
pub async fn may_read(p: &Principal, db: &impl sea_orm::ConnectionTrait, d: &deal::Model) -> bool {
    require_deal_read(p, db, d).await.is_ok()
}

/// Parses deal fields; `create` requires a name.
async fn parse_deal(
    p: &Principal,
    db: &impl sea_orm::ConnectionTrait,
    input: DealInput,
    current_custom: Option<&str>,
    e: &mut Vec<FieldError>,
) -> AppResult<(DealFields, Option<Vec<Split>>, Option<Uuid>)> {
    let create = current_custom.is_none();
    let mut f = DealFields::default();
    if let Some(changes) = &input.custom_fields {
        let defs = store::custom_field_defs(&store::custom_fields(p.org, db).await?);
        let current: serde_json::Map<String, serde_json::Value> =
            current_custom.and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default();
        match model::merge_custom_fields(&defs, &current, &changes.0) {
            Ok(merged) => f.custom_fields = Some(serde_json::Value::Object(merged).to_string()),
            Err(errs) => e.extend(errs),
        }
    }
    match input.name {
        Some(n) => f.name = org_model::parse_name("name", &n).map_err(|x| e.push(x)).ok(),
        None if create => e.push(FieldError::new("name", "REQUIRED", "a deal needs a name")),
        None => {}
    }
    f.company = maybe_text("company", input.company, 200, e);
    if let Some(owner) = &input.owner_id {
        let m = org_store::find_member(p.org, db, decode_id(owner, NodeKind::Member)?)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if !m.active {
            e.push(FieldError::new("ownerId", "INACTIVE", "that member is deactivated"));
        }
        f.owner_id = Some(m.id);
    } else if create {
        f.owner_id = Some(p.member_id);
    }
    if let Some(a) = &input.amount {
        f.amount_cents = model::parse_amount("amount", a).map_err(|x| e.push(x)).ok();
    }
    if let Some(prob) = input.probability {
        // Recorded as a manual value by the caller.
        let _ = model::parse_probability("probability", prob).map_err(|x| e.push(x));
    }
    f.forecast_category = input.forecast_category;
    f.expected_close_date = maybe(input.expected_close_date);
    f.lead_source = maybe_text("leadSource", input.lead_source, 200, e);
    f.lead_created_at = maybe(input.lead_created_at);
    f.first_contact_at = maybe(input.first_contact_at);
    for (field, date) in [
        ("expectedCloseDate", f.expected_close_date.flatten()),
        ("leadCreatedAt", f.lead_created_at.flatten().map(|t| t.date_naive())),
        ("firstContactAt", f.first_contact_at.flatten().map(|t| t.date_naive())),
    ] {
        if let Some(Err(x)) = date.map(|d| crate::org::model::check_business_date(field, d)) {
            e.push(x);
        }
    }
    f.address = maybe_text("address", input.address, 500, e);
    f.country = match maybe_text("country", input.country, 2, e) {
        Some(Some(c)) if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => {
            Some(Some(c.to_ascii_uppercase()))
        }
        Some(Some(_)) => {
            e.push(FieldError::new("country", "INVALID", "must be an ISO 3166-1 alpha-2 code like NL"));
            None
        }
        other => other,
    };
    f.postal_code = maybe_text("postalCode", input.postal_code, 20, e);
    f.industry = maybe_text("industry", input.industry, 200, e);
    f.company_size = match maybe(input.company_size) {
        Some(Some(n)) if n < 0 => {
            e.push(FieldError::new("companySize", "OUT_OF_RANGE", "must not be negative"));
            None
        }
        other => other,
    };
    f.external_id = match maybe(input.external_id) {
        Some(Some(x)) => model::parse_external_id(&x).map_err(|x| e.push(x)).ok().map(Some),
        other => other,
    };
    f.territory = match &input.territory_id {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some((None, false)),
        MaybeUndefined::Value(id) => Some((Some(crate::territory::graphql::load(p, db, id).await?.id), true)),
    };
    let splits = match input.splits {
        Some(list) => {
            let mut parsed = Vec::new();
            for s in &list {
                let m = org_store::find_member(p.org, db, decode_id(&s.member_id, NodeKind::Member)?)
                    .await?
                    .ok_or(AppError::NotFound("member"))?;
                parsed.push(Split { member_id: m.id, kind: s.kind, percent: s.percent });
            }
            if let Err(x) = model::check_splits(&parsed) {
                e.push(x);
            }
            Some(parsed)
        }
        None => None,
    };
    let stage = match &input.stage_id {
        Some(id) if create => Some(decode_id(id, NodeKind::PipelineStage)?),
        Some(_) => {
            e.push(FieldError::new("stageId", "INVALID", "use moveDealStage to change the stage"));
            None
        }
        None => None,
    };
    Ok((f, splits, stage))
}

/// Routes a deal without a manual territory to the most specific matching territory, from its
/// location fields as they will be after this change.
async fn route_territory(
    p: &Principal,
    db: &impl sea_orm::ConnectionTrait,
    f: &mut DealFields,
    current: Option<&deal::Model>,
) -> AppResult<()> {
    let manual = match (&f.territory, current) {
        (Some((_, m)), _) => *m,
        (None, Some(d)) => d.territory_manual,
        (None, None) => false,
    };
    if manual {
        return Ok(());
    }
    let pick = |new: &Option<Option<String>>, old: Option<&Option<String>>| {
        new.clone().unwrap_or_else(|| old.cloned().flatten())
    };
    let location = crate::territory::model::DealLocation {
        country: pick(&f.country, current.map(|d| &d.country)),
        postal_code: pick(&f.postal_code, current.map(|d| &d.postal_code)),
        industry: pick(&f.industry, current.map(|d| &d.industry)),
        company_size: f.company_size.unwrap_or_else(|| current.and_then(|d| d.company_size)),
    };
    let routed = crate::territory::store::route(p.org, db, &location).await?;
    if current.is_none_or(|d| d.territory_id != routed || d.territory_manual) {
        f.territory = Some((routed, false));
    }
    Ok(())
}

fn stage_of(stages: &[pipeline_stage::Model], id: Uuid) -> AppResult<&pipeline_stage::Model> {
    stages.iter().find(|s| s.id == id).ok_or(AppError::NotFound("stage"))
}

fn gate_items(stages: &[pipeline_stage::Model], items: Vec<checklist_item::Model>) -> Vec<GateItem> {
    let positions = store::positions(stages);
    items
        .into_iter()
        .filter_map(|i| {
            positions.get(&i.stage_id).map(|pos| GateItem {
                id: i.id,
                stage_position: *pos,
                label: i.label,
                kind: ChecklistKind::parse(&i.kind).unwrap_or(ChecklistKind::Process),
                field_name: i.field_name,
                required: i.required,
            })
        })
        .collect()
}

/// The user errors naming every open required item between the deal's stage and the target.
async fn gate(
    org: OrgId,
    db: &impl sea_orm::ConnectionTrait,
    stages: &[pipeline_stage::Model],
    d: &deal::Model,
    to_position: i32,
    field: &str,
) -> AppResult<Vec<UserError>> {
    let from = stage_of(stages, d.stage_id).map(|s| s.position).unwrap_or(0);
    let items = gate_items(stages, store::all_items(org, db).await?);
    let done: HashSet<Uuid> = store::completions(org, db, d.id).await?.into_iter().map(|c| c.item_id).collect();
    let filled = store::filled_fields(d);
    let filled: HashSet<&str> = filled.iter().map(String::as_str).collect();
    Ok(model::open_required_items(&items, from, to_position, &done, &filled)
        .into_iter()
        .map(|i| UserError {
            field: vec!["input".into(), field.to_owned()],
            message: format!("open required checklist item: {}", i.label),
            code: "CHECKLIST_OPEN".into(),
        })
        .collect())
}

pub(crate) async fn after_change(state: &AppState, p: &Principal, d: &deal::Model) {
    let team = org_store::find_member(p.org, &state.db, d.owner_id).await.ok().flatten().and_then(|m| m.team_id);
    state.events.publish(Event::DealChanged { org: p.org.0, deal: d.id, team });
}

fn admin(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}

/// An organization-defined deal field.
pub struct CustomField(entity::custom_field::Model);

/// An organization-defined deal field.
#[Object]
impl CustomField {
    /// camelCase key used in `Deal.customFields` (and `custom.<key>` in checklists).
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// Label for forms.
    async fn label(&self) -> &str {
        &self.0.label
    }
    /// TEXT, NUMBER, DATE, BOOLEAN or CHOICE.
    async fn field_type(&self) -> model::CustomFieldType {
        model::CustomFieldType::parse(&self.0.field_type).unwrap_or(model::CustomFieldType::Text)
    }
    /// CHOICE: the allowed values.
    async fn choices(&self) -> Vec<String> {
        serde_json::from_str(&self.0.choices).unwrap_or_default()
    }
}

/// A new custom deal field (admins).
#[derive(InputObject)]
pub struct CreateCustomFieldInput {
    /// camelCase key, e.g. `budgetOwner`.
    key: String,
    /// Label for forms.
    label: String,
    /// TEXT, NUMBER, DATE, BOOLEAN or CHOICE.
    field_type: model::CustomFieldType,
    /// CHOICE: the allowed values (1 to 50).
    #[graphql(default)]
    choices: Vec<String>,
}

/// Result of `createCustomField`.
#[derive(SimpleObject)]
pub struct CustomFieldPayload {
    /// The field; `null` when refused.
    field: Option<CustomField>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

// ---------------------------------------------------------------- queries

/// One page of the deals `f` selects that the viewer may read: reps their own, managers their
/// teams', admins and viewers all. The rule of `deals` and `Member.deals`.
pub async fn deal_page(
    ctx: &Context<'_>,
    f: DealFilterInput,
    keyset: &crate::graphql::keyset::Keyset<deal::Model>,
    page: &PageArgs,
) -> Result<DealConnection> {
    let p = ctx.principal()?;
    let db = &ctx.state()?.db;
    page.validate()?;
    if f.search.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(AppError::bad_input("'search' must be at most 200 characters").into());
    }
    let mut owners: Option<Vec<Uuid>> = None;
    if let Some(id) = &f.owner_id {
        let owner = org_store::find_member(p.org, db, decode_id(id, NodeKind::Member)?)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        owners = Some(vec![owner.id]);
    }
    if let Some(id) = &f.team_id {
        let team = decode_id(id, NodeKind::Team)?;
        org_store::find_team(p.org, db, team).await?.ok_or(AppError::NotFound("team"))?;
        let subtree: Vec<Uuid> = org_store::team_tree(p.org, db).await?.subtree([team]).into_iter().collect();
        let members: Vec<Uuid> = org_store::all_members(
            p.org,
            db,
            &org_store::MemberFilter { team_ids: Some(subtree), ..Default::default() },
        )
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
        owners = Some(match owners {
            Some(o) => o.into_iter().filter(|x| members.contains(x)).collect(),
            None => members,
        });
    }
    // Narrow to what the viewer may read.
    let visible: Option<Vec<Uuid>> = match (p.role, p.reach(db).await?) {
        (Role::Admin | Role::Viewer, _) | (_, Reach::All) => None,
        (Role::Manager, Reach::Teams(teams)) => Some(
            org_store::all_members(
                p.org,
                db,
                &org_store::MemberFilter { team_ids: Some(teams.into_iter().collect()), ..Default::default() },
            )
            .await?
            .into_iter()
            .map(|m| m.id)
            .chain(std::iter::once(p.member_id))
            .collect(),
        ),
        _ => Some(vec![p.member_id]),
    };
    if let Some(v) = visible {
        owners = Some(match owners {
            Some(o) => o.into_iter().filter(|x| v.contains(x)).collect(),
            None => v,
        });
    }
    let stage_id = match &f.stage_id {
        Some(id) => Some(
            store::find_stage(p.org, db, decode_id(id, NodeKind::PipelineStage)?)
                .await?
                .ok_or(AppError::NotFound("stage"))?
                .id,
        ),
        None => None,
    };
    let store_filter = DealFilter {
        owner_ids: owners,
        stage_id,
        outcome: match (f.outcome, f.open) {
            (Some(o), _) => Some(Some(o)),
            (None, Some(true)) => Some(None),
            _ => None,
        },
        closed_only: f.open == Some(false) && f.outcome.is_none(),
        forecast_category: f.forecast_category,
        close_from: f.expected_close_from,
        close_to: f.expected_close_to,
        search: f.search,
        territory_ids: match &f.territory_id {
            Some(id) => {
                let t = crate::territory::graphql::load(p, db, id).await?;
                Some(crate::territory::store::tree(p.org, db).await?.subtree([t.id]).into_iter().collect())
            }
            None => None,
        },
    };
    let rows = store::page_deals(p.org, db, &store_filter, keyset, page).await?;
    Ok(connection(ctx, rows, Deal).into())
}

/// Pipeline queries.
#[derive(Default)]
pub struct PipelineQuery;

#[Object]
impl PipelineQuery {
    /// The organization's custom deal fields.
    async fn custom_fields(&self, ctx: &Context<'_>) -> Result<Vec<CustomField>> {
        let p = ctx.principal()?;
        Ok(store::custom_fields(p.org, &ctx.state()?.db).await?.into_iter().map(CustomField).collect())
    }

    /// The active stages in order, each with its checklist.
    async fn pipeline_stages(&self, ctx: &Context<'_>) -> Result<Vec<PipelineStage>> {
        let p = ctx.principal()?;
        Ok(store::stages(p.org, &ctx.state()?.db).await?.into_iter().map(PipelineStage).collect())
    }

    /// Deals, most recently changed first. Reps see their own; managers their teams'; admins and viewers all.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)] // filter, order and the four Relay arguments
    async fn deals(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to include.")] filter: Option<DealFilterInput>,
        #[graphql(desc = "The order (default: most recently changed first).")] order_by: Option<DealOrder>,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<DealConnection> {
        let page = PageArgs { first, after, last, before };
        let keyset = store::deal_keyset("deals", order_by.unwrap_or_default());
        deal_page(ctx, filter.unwrap_or_default(), &keyset, &page).await
    }

    /// One deal.
    async fn deal(&self, ctx: &Context<'_>, #[graphql(desc = "The deal.")] id: ID) -> Result<Deal> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let d =
            store::find_deal(p.org, db, decode_id(&id, NodeKind::Deal)?).await?.ok_or(AppError::NotFound("deal"))?;
        require_deal_read(p, db, &d).await?;
        Ok(Deal(d))
    }
}

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

// ---------------------------------------------------------------- subscriptions

/// Pipeline subscriptions.
#[derive(Default)]
pub struct PipelineSubscription;

#[Subscription]
impl PipelineSubscription {
    /// A deal was created or changed: one deal, the deals of a team's subtree, or every deal
    /// the viewer may read.
    async fn deal_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only deals owned in this team and its sub-teams.")] team_id: Option<ID>,
        #[graphql(desc = "Only this deal.")] deal_id: Option<ID>,
    ) -> Result<impl Stream<Item = Result<Deal>> + use<>> {
        let p = ctx.principal()?.clone();
        let state = ctx.state()?.clone();
        let db = state.db.clone();
        let deal_filter = match &deal_id {
            Some(id) => {
                let d = store::find_deal(p.org, &db, decode_id(id, NodeKind::Deal)?)
                    .await?
                    .ok_or(AppError::NotFound("deal"))?;
                require_deal_read(&p, &db, &d).await?;
                Some(d.id)
            }
            None => None,
        };
        let teams: Option<HashSet<Uuid>> = match &team_id {
            Some(id) => {
                let t = decode_id(id, NodeKind::Team)?;
                org_store::find_team(p.org, &db, t).await?.ok_or(AppError::NotFound("team"))?;
                if !matches!(p.role, Role::Admin | Role::Viewer) {
                    p.reach(&db).await?.require(Some(t), "this team")?;
                }
                Some(org_store::team_tree(p.org, &db).await?.subtree([t]))
            }
            None => None,
        };
        let mut rx = state.events.subscribe();
        let org = p.org;
        Ok(async_stream::stream! {
            loop {
                let (deal, team) = match rx.recv().await {
                    Ok(Event::DealChanged { org: o, deal, team }) if OrgId(o) == org => (deal, team),
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                };
                if deal_filter.is_some_and(|d| d != deal) {
                    continue;
                }
                if teams.as_ref().is_some_and(|set| !team.is_some_and(|t| set.contains(&t))) {
                    continue;
                }
                match store::find_deal(org, &db, deal).await {
                    Ok(Some(d)) => {
                        if require_deal_read(&p, &db, &d).await.is_ok() {
                            yield Ok(Deal(d));
                        }
                    }
                    Ok(None) => {}
                    Err(e) => yield Err(e.into()),
                }
            }
        })
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
