//! Input objects and payloads of the pipeline mutations and queries.

use async_graphql::{ID, InputObject, MaybeUndefined, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::{ChecklistItem, CustomField, Deal, PipelineStage};
use crate::graphql::UserError;
use crate::pipeline::model::{self, ChecklistKind, DealOutcome, ForecastCategory, SplitKind, StageKind};

// ---------------------------------------------------------------- inputs and payloads

/// A new stage (admins), appended at the end.
#[derive(InputObject)]
pub struct CreateStageInput {
    /// Name.
    pub(super) name: String,
    /// OPEN (default), WON or LOST.
    #[graphql(default_with = "StageKind::Open")]
    pub(super) kind: StageKind,
    /// Default win probability, 0 to 100 (default: 100 for WON, 0 otherwise).
    pub(super) default_probability: Option<i32>,
    /// Default forecast category (default PIPELINE; CLOSED for WON, OMITTED for LOST).
    pub(super) default_forecast_category: Option<ForecastCategory>,
}

/// Changes to a stage (admins).
#[derive(InputObject)]
pub struct UpdateStageInput {
    /// The stage.
    pub(super) id: ID,
    /// The `version` you last read; when given and stale, the update is refused with CONFLICT
    /// instead of silently overwriting someone else's change.
    pub(super) version: Option<i32>,
    /// New name.
    pub(super) name: Option<String>,
    /// New default probability.
    pub(super) default_probability: Option<i32>,
    /// New default forecast category.
    pub(super) default_forecast_category: Option<ForecastCategory>,
}

/// Removes a stage (admins): archived when deals were ever in it, so history stays.
#[derive(InputObject)]
pub struct DeleteStageInput {
    /// The stage.
    pub(super) id: ID,
}

/// The new order of all active stages (admins).
#[derive(InputObject)]
pub struct ReorderStagesInput {
    /// Every active stage's ID, in the new order.
    pub(super) stage_ids: Vec<ID>,
}

/// Result of a stage mutation.
#[derive(SimpleObject)]
pub struct StagePayload {
    /// The stage after the change; `null` when refused.
    pub(super) stage: Option<PipelineStage>,
    /// What to fix; empty on success.
    pub(super) user_errors: Vec<UserError>,
}

/// Result of `reorderStages`.
#[derive(SimpleObject)]
pub struct StagesPayload {
    /// The stages in their new order.
    pub(super) stages: Vec<PipelineStage>,
    /// What to fix; empty on success.
    pub(super) user_errors: Vec<UserError>,
}

/// A new checklist item (admins).
#[derive(InputObject)]
pub struct AddChecklistItemInput {
    /// The stage.
    pub(super) stage_id: ID,
    /// What to do or fill.
    pub(super) label: String,
    /// CONTENT or PROCESS.
    pub(super) kind: ChecklistKind,
    /// CONTENT: the deal field (company, amount, expectedCloseDate, leadSource, firstContactAt,
    /// address, country, postalCode, industry, companySize, or `custom.<key>` of a custom field).
    pub(super) field_name: Option<String>,
    /// Whether it blocks moving on (default true).
    #[graphql(default = true)]
    pub(super) required: bool,
}

/// Changes a checklist item (admins).
#[derive(InputObject)]
pub struct UpdateChecklistItemInput {
    /// The item.
    pub(super) id: ID,
    /// The `version` you last read; when given and stale, the update is refused with CONFLICT
    /// instead of silently overwriting someone else's change.
    pub(super) version: Option<i32>,
    /// New label.
    pub(super) label: Option<String>,
    /// Whether it blocks moving on.
    pub(super) required: Option<bool>,
}

/// Removes a checklist item (admins).
#[derive(InputObject)]
pub struct RemoveChecklistItemInput {
    /// The item.
    pub(super) id: ID,
}

/// Result of a checklist item mutation.
#[derive(SimpleObject)]
pub struct ChecklistItemPayload {
    /// The item; `null` when refused or removed.
    pub(super) item: Option<ChecklistItem>,
    /// What to fix; empty on success.
    pub(super) user_errors: Vec<UserError>,
}

/// A split partner.
#[derive(InputObject, Clone)]
pub struct DealSplitInput {
    /// The partner.
    pub(super) member_id: ID,
    /// REVENUE or OVERLAY.
    pub(super) kind: SplitKind,
    /// 1 to 100; REVENUE splits sum to 100.
    pub(super) percent: i32,
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
    pub(super) id: ID,
    /// The `version` you last read; when given and stale, the update is refused with CONFLICT.
    pub(super) version: Option<i32>,
    /// The changes.
    pub(super) deal: DealInput,
}

/// Creates or updates the deal with an external ID (CRM sync).
#[derive(InputObject)]
pub struct UpsertDealInput {
    /// The CRM's ID.
    pub(super) external_id: String,
    /// The fields (`externalId` inside is ignored).
    pub(super) deal: DealInput,
}

/// Moves a deal to another open stage.
#[derive(InputObject)]
pub struct MoveDealStageInput {
    /// The deal.
    pub(super) id: ID,
    /// The target stage (OPEN; use `closeDeal` for WON/LOST).
    pub(super) stage_id: ID,
}

/// Closes a deal.
#[derive(InputObject)]
pub struct CloseDealInput {
    /// The deal.
    pub(super) id: ID,
    /// WON or LOST.
    pub(super) outcome: DealOutcome,
    /// Why.
    pub(super) reason: Option<String>,
}

/// Reopens a closed deal into an open stage.
#[derive(InputObject)]
pub struct ReopenDealInput {
    /// The deal.
    pub(super) id: ID,
    /// The open stage (default: the last open stage).
    pub(super) stage_id: Option<ID>,
}

/// Ticks a checklist item off, or un-ticks it.
#[derive(InputObject)]
pub struct ChecklistItemOnDealInput {
    /// The deal.
    pub(super) deal_id: ID,
    /// The PROCESS item.
    pub(super) item_id: ID,
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
    pub(super) owner_id: Option<ID>,
    /// Only deals owned by members of this team and its sub-teams.
    pub(super) team_id: Option<ID>,
    /// Only this stage.
    pub(super) stage_id: Option<ID>,
    /// Only closed with this outcome.
    pub(super) outcome: Option<DealOutcome>,
    /// Only open (true) or only closed (false) deals.
    pub(super) open: Option<bool>,
    /// Only this forecast category.
    pub(super) forecast_category: Option<ForecastCategory>,
    /// Expected close on or after.
    pub(super) expected_close_from: Option<NaiveDate>,
    /// Expected close on or before.
    pub(super) expected_close_to: Option<NaiveDate>,
    /// Text in name or company (at most 200 characters).
    pub(super) search: Option<String>,
    /// Only deals in this territory and its sub-territories.
    pub(super) territory_id: Option<ID>,
}

impl DealFilterInput {
    /// Only this owner's deals.
    pub fn of_owner(owner_id: ID) -> Self {
        DealFilterInput { owner_id: Some(owner_id), ..Default::default() }
    }
}

/// A new custom deal field (admins).
#[derive(InputObject)]
pub struct CreateCustomFieldInput {
    /// camelCase key, e.g. `budgetOwner`.
    pub(super) key: String,
    /// Label for forms.
    pub(super) label: String,
    /// TEXT, NUMBER, DATE, BOOLEAN or CHOICE.
    pub(super) field_type: model::CustomFieldType,
    /// CHOICE: the allowed values (1 to 50).
    #[graphql(default)]
    pub(super) choices: Vec<String>,
}

/// Result of `createCustomField`.
#[derive(SimpleObject)]
pub struct CustomFieldPayload {
    /// The field; `null` when refused.
    pub(super) field: Option<CustomField>,
    /// What to fix; empty on success.
    pub(super) user_errors: Vec<UserError>,
}
