//! Output objects of the pipeline: stages, checklist items, deals with their splits, checklist and
//! stage history, and custom fields.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::SelectionSet;
use async_graphql::resolver_utils::enum_value;
use async_graphql::{
    Context, ContextSelectionSet, ID, Lookahead, Object, Positioned, Result, ScalarType, SimpleObject, Value,
};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{checklist_item, deal, deal_checklist, deal_stage_history, pipeline_stage};
use uuid::Uuid;

use crate::graphql::ContextExt;
use crate::graphql::loaders::{DealChecklistKey, DealSplitsKey, StageKey};
use crate::graphql::projection::{Project, ProjectPage, Projected, leaf, list_of, object};
use crate::graphql::relay::{NodeKind, global_id};
pub use crate::objects::{Deal, DealConnection, DealEdge};
use crate::org::directory::Directory;
use crate::org::graphql::{Member, MemberIn};
use crate::pipeline::catalog::Catalog;
use crate::pipeline::model::{self, ChecklistKind, DealOutcome, ForecastCategory, SplitKind, StageKind};
use crate::pipeline::store;

// ---------------------------------------------------------------- output types

/// The caller's organization's stages and checklists in memory (see [`crate::pipeline::catalog`]).
async fn catalog(
    ctx: &Context<'_>,
) -> crate::core::error::AppResult<std::sync::Arc<crate::pipeline::catalog::Catalog>> {
    let p = ctx.principal()?;
    let state = ctx.state()?;
    crate::pipeline::catalog::catalog(&state.catalogs, p.org, &state.db).await
}

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
        Ok(catalog(ctx).await?.checklist(self.0.id).cloned().map(ChecklistItem).collect())
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

impl Project for ChecklistItem {
    const TYPE: &'static str = "ChecklistItem";

    fn project(&self, name: &str, s: &Positioned<SelectionSet>, _: &ContextSelectionSet<'_>) -> Option<Value> {
        match name {
            "id" => leaf(s, global_id(NodeKind::ChecklistItem, self.0.id).0),
            "label" => leaf(s, self.0.label.clone()),
            "kind" => leaf(s, enum_value(ChecklistKind::parse(&self.0.kind).unwrap_or(ChecklistKind::Process))),
            "fieldName" => leaf(s, self.0.field_name.clone().map_or(Value::Null, Value::String)),
            "required" => leaf(s, self.0.required),
            "position" => leaf(s, self.0.position),
            "version" => leaf(s, self.0.version),
            _ => None,
        }
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

impl Project for DealChecklistEntry {
    const TYPE: &'static str = "DealChecklistEntry";

    fn project(&self, name: &str, s: &Positioned<SelectionSet>, ctx: &ContextSelectionSet<'_>) -> Option<Value> {
        match name {
            "item" => object(&self.item, s, ctx),
            "done" => leaf(s, self.done),
            "completedAt" => leaf(s, self.completed_at.as_ref().map_or(Value::Null, ScalarType::to_value)),
            _ => None,
        }
    }
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
        Ok(crate::org::graphql::member_by_id(ctx, self.0.changed_by).await?)
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
        Ok(crate::org::graphql::member_by_id(ctx, self.0.owner_id).await?)
    }
    /// Credit partners; without REVENUE splits the owner is credited 100 %.
    async fn splits(&self, ctx: &Context<'_>) -> Result<Vec<DealSplit>> {
        let rows = ctx.loader()?.load_one(DealSplitsKey(self.0.id)).await?.unwrap_or_default();
        let mut out = Vec::new();
        for s in rows {
            out.push(DealSplit {
                member: crate::org::graphql::member_by_id(ctx, s.member_id).await?,
                kind: SplitKind::parse(&s.kind).unwrap_or(SplitKind::Revenue),
                percent: s.percent,
            });
        }
        Ok(out)
    }
    /// The amount.
    async fn amount(&self, ctx: &Context<'_>) -> Result<Money> {
        let currency = crate::org::graphql::currency(ctx).await?;
        Ok(Money { amount: model::format_amount(self.0.amount_cents), currency })
    }
    /// The current stage.
    async fn stage(&self, ctx: &Context<'_>) -> Result<Option<PipelineStage>> {
        if let Some(stage) = catalog(ctx).await?.stage(self.0.stage_id) {
            return Ok(Some(PipelineStage(stage.clone())));
        }
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
        async_graphql::Json(custom_fields(&self.0))
    }
    /// The current stage's checklist and what is done.
    async fn checklist(&self, ctx: &Context<'_>) -> Result<Projected<DealChecklistEntry>> {
        let catalog = catalog(ctx).await?;
        let done = ctx.loader()?.load_one(DealChecklistKey(self.0.id)).await?.unwrap_or_default();
        Ok(checklist_of(&catalog, &self.0, &done).into())
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

/// The checklist of a deal's current stage with what is done (`done`: the deal's ticked items).
fn checklist_of(catalog: &Catalog, deal: &deal::Model, done: &[deal_checklist::Model]) -> Vec<DealChecklistEntry> {
    let mut filled = None;
    catalog
        .checklist(deal.stage_id)
        .map(|i| {
            let completion = done.iter().find(|c| c.item_id == i.id);
            let is_done = match ChecklistKind::parse(&i.kind) {
                Some(ChecklistKind::Content) => i
                    .field_name
                    .as_deref()
                    .is_some_and(|f| filled.get_or_insert_with(|| store::filled_fields(deal)).contains(f)),
                _ => completion.is_some(),
            };
            DealChecklistEntry {
                done: is_done,
                completed_at: completion.map(|c| c.completed_at),
                item: ChecklistItem(i.clone()),
            }
        })
        .collect()
}

/// A deal's custom field values as stored (an empty object if unreadable).
fn custom_fields(deal: &deal::Model) -> serde_json::Value {
    serde_json::from_str(&deal.custom_fields).unwrap_or_else(|_| serde_json::json!({}))
}

/// What a page of deals gathers once for all of its deals.
pub struct DealPage {
    catalog: Arc<Catalog>,
    dir: Arc<Directory>,
    /// The ticked checklist items of each deal, when the page asks for checklists.
    done: Option<Arc<HashMap<Uuid, Vec<deal_checklist::Model>>>>,
}

impl ProjectPage for Deal {
    const TYPE: &'static str = "Deal";
    type Shared = DealPage;

    async fn gather(ctx: &Context<'_>, selection: Lookahead<'_>, items: &[&Self]) -> Result<DealPage> {
        let asks_checklist = selection.field("checklist").exists();
        let catalog = catalog(ctx).await?;
        let dir = crate::org::graphql::directory(ctx).await?;
        let done = match asks_checklist {
            true => {
                let (p, state) = (ctx.principal()?, ctx.state()?);
                let deals = items.iter().map(|d| d.0.id).collect();
                Some(crate::pipeline::kept::completions(&state.deal_completions, p.org, &state.db, deals).await?)
            }
            false => None,
        };
        Ok(DealPage { catalog, dir, done })
    }

    fn project_in(
        &self,
        page: &DealPage,
        name: &str,
        s: &Positioned<SelectionSet>,
        ctx: &ContextSelectionSet<'_>,
    ) -> Option<Value> {
        let d = &self.0;
        let text = |v: &Option<String>| leaf(s, v.clone().map_or(Value::Null, Value::String));
        let time = |v: &Option<DateTime<Utc>>| leaf(s, v.as_ref().map_or(Value::Null, ScalarType::to_value));
        match name {
            "id" => leaf(s, global_id(NodeKind::Deal, d.id).0),
            "name" => leaf(s, d.name.clone()),
            "company" => text(&d.company),
            "owner" => object(&MemberIn { member: page.dir.member(d.owner_id)?, dir: &page.dir }, s, ctx),
            "amount" => object(
                &Money {
                    amount: model::format_amount(d.amount_cents),
                    currency: page.dir.organization.currency.clone(),
                },
                s,
                ctx,
            ),
            "stage" => object(&StageIn { stage: page.catalog.stage(d.stage_id)?, catalog: &page.catalog }, s, ctx),
            "probability" => leaf(s, d.probability),
            "probabilityManual" => leaf(s, d.probability_manual),
            "forecastCategory" => {
                leaf(s, enum_value(ForecastCategory::parse(&d.forecast_category).unwrap_or(ForecastCategory::Pipeline)))
            }
            "expectedCloseDate" => leaf(s, d.expected_close_date.as_ref().map_or(Value::Null, ScalarType::to_value)),
            "leadSource" => text(&d.lead_source),
            "leadCreatedAt" => time(&d.lead_created_at),
            "firstContactAt" => time(&d.first_contact_at),
            "closedAt" => time(&d.closed_at),
            "outcome" => leaf(s, d.outcome.as_deref().and_then(DealOutcome::parse).map_or(Value::Null, enum_value)),
            "outcomeReason" => text(&d.outcome_reason),
            "address" => text(&d.address),
            "country" => text(&d.country),
            "postalCode" => text(&d.postal_code),
            "industry" => text(&d.industry),
            "companySize" => leaf(s, d.company_size.map_or(Value::Null, Value::from)),
            "territoryManual" => leaf(s, d.territory_manual),
            "externalId" => text(&d.external_id),
            "customFields" => leaf(s, Value::from_json(custom_fields(d)).ok()?),
            "checklist" => {
                let done = page.done.as_ref()?.get(&d.id).map_or(&[][..], Vec::as_slice);
                list_of(&checklist_of(&page.catalog, d, done), s, ctx)
            }
            "version" => leaf(s, d.version),
            "createdAt" => leaf(s, ScalarType::to_value(&d.created_at)),
            "updatedAt" => leaf(s, ScalarType::to_value(&d.updated_at)),
            // splits, territory and stageHistory are executed
            _ => None,
        }
    }
}

/// A stage answered by projection with its organization's catalog at hand.
struct StageIn<'a> {
    stage: &'a pipeline_stage::Model,
    catalog: &'a Catalog,
}

impl Project for StageIn<'_> {
    const TYPE: &'static str = "PipelineStage";

    fn project(&self, name: &str, s: &Positioned<SelectionSet>, ctx: &ContextSelectionSet<'_>) -> Option<Value> {
        let st = self.stage;
        match name {
            "id" => leaf(s, global_id(NodeKind::PipelineStage, st.id).0),
            "name" => leaf(s, st.name.clone()),
            "position" => leaf(s, st.position),
            "kind" => leaf(s, enum_value(StageKind::parse(&st.kind).unwrap_or(StageKind::Open))),
            "defaultProbability" => leaf(s, st.default_probability),
            "defaultForecastCategory" => leaf(
                s,
                enum_value(
                    ForecastCategory::parse(&st.default_forecast_category).unwrap_or(ForecastCategory::Pipeline),
                ),
            ),
            "active" => leaf(s, st.active),
            "version" => leaf(s, st.version),
            "checklist" => {
                let items: Vec<ChecklistItem> = self.catalog.checklist(st.id).cloned().map(ChecklistItem).collect();
                list_of(&items, s, ctx)
            }
            _ => None,
        }
    }
}

impl Project for Money {
    const TYPE: &'static str = "Money";

    fn project(&self, name: &str, s: &Positioned<SelectionSet>, _: &ContextSelectionSet<'_>) -> Option<Value> {
        match name {
            "amount" => leaf(s, self.amount.clone()),
            "currency" => leaf(s, self.currency.clone()),
            _ => None,
        }
    }
}

/// An organization-defined deal field.
pub struct CustomField(pub(super) entity::custom_field::Model);

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
