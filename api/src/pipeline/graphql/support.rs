//! Helpers the resolvers of this area share: parsing, permission checks and publishing.

use std::collections::HashSet;

use async_graphql::{ID, MaybeUndefined};
use entity::{checklist_item, deal, pipeline_stage};
use uuid::Uuid;

use super::inputs::DealInput;
use crate::auth::Reach;
use crate::core::error::{AppError, AppResult};
use crate::core::field::FieldError;
use crate::core::ids::OrgId;
use crate::core::principal::{Permission, Principal};
use crate::core::roles::Role;
use crate::events::Event;
use crate::graphql::UserError;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::org::{model as org_model, store as org_store};
use crate::pipeline::model::{self, ChecklistKind, GateItem, Split};
use crate::pipeline::store::{self, DealFields};
use crate::state::AppState;

// ---------------------------------------------------------------- helpers

pub(super) fn errors(list: Vec<FieldError>) -> Vec<UserError> {
    list.into_iter().map(UserError::from).collect()
}

pub(super) fn text(field: &str, raw: Option<String>, max: usize, e: &mut Vec<FieldError>) -> Option<String> {
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

pub(super) fn maybe_text(
    field: &str,
    v: MaybeUndefined<String>,
    max: usize,
    e: &mut Vec<FieldError>,
) -> Option<Option<String>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(s) => Some(text(field, Some(s), max, e)),
    }
}

pub(super) fn maybe<T>(v: MaybeUndefined<T>) -> Option<Option<T>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(x) => Some(Some(x)),
    }
}

/// Whether the principal may write this deal: its owner, or a manager of the owner's team, or an admin.
pub(super) async fn require_deal_write(
    p: &Principal,
    db: &impl sea_orm::ConnectionTrait,
    owner: Uuid,
) -> AppResult<()> {
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
pub(super) async fn deal_for_write(
    p: &Principal,
    db: &impl sea_orm::ConnectionTrait,
    id: &ID,
) -> AppResult<deal::Model> {
    let d = store::find_deal(p.org, db, decode_id(id, NodeKind::Deal)?).await?.ok_or(AppError::NotFound("deal"))?;
    require_deal_write(p, db, d.owner_id).await?;
    Ok(d)
}

/// Whether the principal may read this deal (reps: their own and where they are a partner; managers: their teams).
pub(super) async fn require_deal_read(
    p: &Principal,
    db: &impl sea_orm::ConnectionTrait,
    d: &deal::Model,
) -> AppResult<()> {
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
pub(super) async fn parse_deal(
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
pub(super) async fn route_territory(
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

pub(super) fn stage_of(stages: &[pipeline_stage::Model], id: Uuid) -> AppResult<&pipeline_stage::Model> {
    stages.iter().find(|s| s.id == id).ok_or(AppError::NotFound("stage"))
}

pub(super) fn gate_items(stages: &[pipeline_stage::Model], items: Vec<checklist_item::Model>) -> Vec<GateItem> {
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
pub(super) async fn gate(
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

pub(super) fn admin(p: &Principal) -> AppResult<()> {
    p.require(Permission::OrganizationUpdate)
}
