//! What the deal use-cases share: the deal fields as given and how they are checked, who may
//! write a deal, territory routing and the checklist gate.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{checklist_item, deal, pipeline_stage};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::core::error::{AppError, AppResult};
use crate::core::field::FieldError;
use crate::core::ids::OrgId;
use crate::core::principal::Principal;
use crate::org::{model as org_model, store as org_store};
use crate::pipeline::model::{self, ChecklistKind, ForecastCategory, GateItem, Split};
use crate::pipeline::policy;
use crate::pipeline::store::{self, DealFields};

/// Deal fields as given. On create, absent (`None`) means empty; on update, `None` leaves a
/// field as it is and `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct DealChanges {
    /// Name (required on create).
    pub name: Option<String>,
    /// The customer's company.
    pub company: Option<Option<String>>,
    /// The owner (default on create: the caller).
    pub owner_id: Option<Uuid>,
    /// Amount as a decimal string, e.g. "1250.50".
    pub amount: Option<String>,
    /// The stage (create only; on update any value is refused).
    pub stage_id: Option<Uuid>,
    /// A probability set by hand, 0 to 100.
    pub probability: Option<i32>,
    /// A forecast category set by hand.
    pub forecast_category: Option<ForecastCategory>,
    /// Expected close date.
    pub expected_close_date: Option<Option<NaiveDate>>,
    /// Where the lead came from.
    pub lead_source: Option<Option<String>>,
    /// When the lead came in.
    pub lead_created_at: Option<Option<DateTime<Utc>>>,
    /// First contact with the lead.
    pub first_contact_at: Option<Option<DateTime<Utc>>>,
    /// Street address.
    pub address: Option<Option<String>>,
    /// Country, ISO 3166-1 alpha-2.
    pub country: Option<Option<String>>,
    /// Postal code.
    pub postal_code: Option<Option<String>>,
    /// Industry.
    pub industry: Option<Option<String>>,
    /// Employees, 0 or more.
    pub company_size: Option<Option<i32>>,
    /// Split partners (replace all).
    pub splits: Option<Vec<Split>>,
    /// ID in the CRM, unique in the organization.
    pub external_id: Option<Option<String>>,
    /// A territory set by hand (`Some(None)` hands the deal back to routing).
    pub territory_id: Option<Option<Uuid>>,
    /// Custom field values by key, merged into the current ones (`null` removes a value).
    pub custom_fields: Option<serde_json::Value>,
}

/// Single-line text: trimmed, `None` when empty, at most `max` characters, following the rule
/// of names. A bad value is pushed to `e`.
pub(crate) fn text(field: &str, raw: Option<String>, max: usize, e: &mut Vec<FieldError>) -> Option<String> {
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

fn maybe_text(field: &str, v: Option<Option<String>>, max: usize, e: &mut Vec<FieldError>) -> Option<Option<String>> {
    match v {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) => Some(text(field, Some(s), max, e)),
    }
}

/// Whether the principal may write a deal of this owner: the owner, a manager of the owner's
/// team, or an admin; never a viewer.
pub(crate) async fn require_deal_write(p: &Principal, db: &impl ConnectionTrait, owner: Uuid) -> AppResult<()> {
    policy::may_change_deals(p)?;
    if owner == p.member_id {
        return Ok(());
    }
    let m = org_store::find_member(p.org, db, owner).await?.ok_or(AppError::NotFound("member"))?;
    p.reach(db).await?.require(m.team_id, "this deal's owner")
}

/// A deal of the tenant that the principal may change, or NOT_FOUND / FORBIDDEN.
pub(crate) async fn deal_for_write(p: &Principal, db: &impl ConnectionTrait, id: Uuid) -> AppResult<deal::Model> {
    let d = store::find_deal(p.org, db, id).await?.ok_or(AppError::NotFound("deal"))?;
    require_deal_write(p, db, d.owner_id).await?;
    Ok(d)
}

/// Checks deal fields; `create` (no current custom fields) requires a name. Bad values go to
/// `e`; missing records (owner, territory, split partner) are NOT_FOUND.
pub(crate) async fn parse_deal(
    p: &Principal,
    db: &impl ConnectionTrait,
    input: DealChanges,
    current_custom: Option<&str>,
    e: &mut Vec<FieldError>,
) -> AppResult<(DealFields, Option<Vec<Split>>, Option<Uuid>)> {
    let create = current_custom.is_none();
    let mut f = DealFields::default();
    if let Some(changes) = &input.custom_fields {
        let defs = store::custom_field_defs(&store::custom_fields(p.org, db).await?);
        let current: serde_json::Map<String, serde_json::Value> =
            current_custom.and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default();
        match model::merge_custom_fields(&defs, &current, changes) {
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
    if let Some(owner) = input.owner_id {
        let m = org_store::find_member(p.org, db, owner).await?.ok_or(AppError::NotFound("member"))?;
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
    f.expected_close_date = input.expected_close_date;
    f.lead_source = maybe_text("leadSource", input.lead_source, 200, e);
    f.lead_created_at = input.lead_created_at;
    f.first_contact_at = input.first_contact_at;
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
    f.company_size = match input.company_size {
        Some(Some(n)) if n < 0 => {
            e.push(FieldError::new("companySize", "OUT_OF_RANGE", "must not be negative"));
            None
        }
        other => other,
    };
    f.external_id = match input.external_id {
        Some(Some(x)) => model::parse_external_id(&x).map_err(|x| e.push(x)).ok().map(Some),
        other => other,
    };
    f.territory = match input.territory_id {
        None => None,
        Some(None) => Some((None, false)),
        Some(Some(id)) => Some((Some(crate::territory::service::load(p.org, db, id).await?.id), true)),
    };
    let splits = match input.splits {
        Some(list) => {
            let mut parsed = Vec::new();
            for s in &list {
                let m = org_store::find_member(p.org, db, s.member_id).await?.ok_or(AppError::NotFound("member"))?;
                parsed.push(Split { member_id: m.id, kind: s.kind, percent: s.percent });
            }
            if let Err(x) = model::check_splits(&parsed) {
                e.push(x);
            }
            Some(parsed)
        }
        None => None,
    };
    let stage = match input.stage_id {
        Some(id) if create => Some(id),
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
pub(crate) async fn route_territory(
    p: &Principal,
    db: &impl ConnectionTrait,
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

/// The stage `id` among `stages`, or NOT_FOUND.
pub(crate) fn stage_of(stages: &[pipeline_stage::Model], id: Uuid) -> AppResult<&pipeline_stage::Model> {
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

/// The field errors naming every open required item between the deal's stage and the target.
pub(crate) async fn gate(
    org: OrgId,
    db: &impl ConnectionTrait,
    stages: &[pipeline_stage::Model],
    d: &deal::Model,
    to_position: i32,
    field: &str,
) -> AppResult<Vec<FieldError>> {
    let from = stage_of(stages, d.stage_id).map(|s| s.position).unwrap_or(0);
    let items = gate_items(stages, store::all_items(org, db).await?);
    let done: HashSet<Uuid> = store::completions(org, db, d.id).await?.into_iter().map(|c| c.item_id).collect();
    let filled = store::filled_fields(d);
    let filled: HashSet<&str> = filled.iter().map(String::as_str).collect();
    Ok(model::open_required_items(&items, from, to_position, &done, &filled)
        .into_iter()
        .map(|i| FieldError {
            field: vec!["input".into(), field.to_owned()],
            message: format!("open required checklist item: {}", i.label),
            code: "CHECKLIST_OPEN",
        })
        .collect())
}
