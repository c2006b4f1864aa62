//! The territory use-cases: each checks the policy, runs in one [`Unit`] (serialized per
//! organization, because tree and owner checks read other rows than they write), applies the
//! model's rules and records the change in the audit trail. A refused request returns its field
//! errors ([`Checked`]) and writes nothing.

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use entity::{territory, territory_assignment};

use super::model::{self, AssignmentRole, AssignmentSpan, RoutingRule, TerritoryKind};
use super::policy;
use super::store::{self, NewTerritory, TerritoryPatch};
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::ids::OrgId;
use crate::core::principal::Principal;
use crate::db::Section;
use crate::db::unit::{Unit, snapshot};
use crate::events::EventBus;
use crate::org::model as org_model;
use crate::org::store as org_store;

/// A territory to create.
#[derive(Debug, Clone)]
pub struct CreateTerritory {
    /// Its parent, if not a root.
    pub parent_id: Option<Uuid>,
    /// Its name, as given.
    pub name: String,
    /// Region, segment or named accounts.
    pub kind: TerritoryKind,
    /// Its routing rules, as given.
    pub rules: Vec<RoutingRule>,
}

/// Changes to a territory; `None` leaves a field as it is.
#[derive(Debug, Clone)]
pub struct UpdateTerritory {
    /// The territory.
    pub id: Uuid,
    /// The version the change was made against (CONFLICT when it moved on).
    pub version: Option<i32>,
    /// A new name.
    pub name: Option<String>,
    /// A new kind.
    pub kind: Option<TerritoryKind>,
    /// New rules (replace all).
    pub rules: Option<Vec<RoutingRule>>,
    /// A new parent (`Some(None)`: make it a root).
    pub parent_id: Option<Option<Uuid>>,
}

/// A member to assign to a territory.
#[derive(Debug, Clone)]
pub struct AssignTerritory {
    /// The territory.
    pub territory_id: Uuid,
    /// The member.
    pub member_id: Uuid,
    /// Owner or overlay.
    pub role: AssignmentRole,
    /// First day (default: today in the organization's time zone).
    pub starts_on: Option<NaiveDate>,
    /// Last day, if known.
    pub ends_on: Option<NaiveDate>,
}

/// Today in the organization's time zone.
pub async fn org_today(org: OrgId, db: &impl ConnectionTrait) -> AppResult<NaiveDate> {
    let tz = org_store::organization(org, db)
        .await?
        .and_then(|o| org_model::parse_time_zone(&o.time_zone).ok())
        .unwrap_or(chrono_tz::Europe::Amsterdam);
    Ok(crate::core::period::local_date(chrono::Utc::now(), tz))
}

/// The territory `id` of the organization, or NOT_FOUND (also for another organization's).
pub async fn load(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<territory::Model> {
    store::find(org, db, id).await?.ok_or(AppError::NotFound("territory"))
}

async fn begin(db: &DatabaseConnection, bus: &EventBus, p: &Principal) -> AppResult<Unit> {
    policy::may_change(p)?;
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    unit.serialize(Section::Territories).await?;
    Ok(unit)
}

/// Creates a territory.
pub async fn create(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: CreateTerritory,
) -> AppResult<Checked<territory::Model>> {
    policy::may_change(p)?;
    let mut e = Vec::new();
    let name = org_model::parse_name("name", &cmd.name).map_err(|x| e.push(x)).ok();
    let rules = model::check_rules(cmd.rules).map_err(|x| e.push(x)).ok();
    let unit = begin(db, bus, p).await?;
    let parent = match cmd.parent_id {
        Some(id) => Some(load(p.org, unit.db(), id).await?.id),
        None => None,
    };
    let (Some(name), Some(rules), true) = (name, rules, e.is_empty()) else {
        return Ok(Err(e));
    };
    let t = store::create(p.org, unit.db(), NewTerritory { parent_id: parent, name, kind: cmd.kind, rules }).await?;
    unit.audit("territory.create", "Territory", Some(t.id), None, snapshot(&t)).await?;
    unit.commit().await?;
    Ok(Ok(t))
}

/// Changes a territory: name, kind, parent (no cycles) or rules.
pub async fn update(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: UpdateTerritory,
) -> AppResult<Checked<territory::Model>> {
    let unit = begin(db, bus, p).await?;
    let current = load(p.org, unit.db(), cmd.id).await?;
    if let Some(v) = cmd.version
        && v != current.version
    {
        return Err(AppError::Conflict(format!(
            "the territory is at version {}, not {v}; reload and try again",
            current.version
        )));
    }
    let mut e = Vec::new();
    let mut patch = TerritoryPatch {
        name: cmd.name.as_deref().and_then(|n| org_model::parse_name("name", n).map_err(|x| e.push(x)).ok()),
        kind: cmd.kind,
        ..Default::default()
    };
    if let Some(rules) = cmd.rules {
        patch.rules = model::check_rules(rules).map_err(|x| e.push(x)).ok();
    }
    match cmd.parent_id {
        None => {}
        Some(None) => patch.parent_id = Some(None),
        Some(Some(id)) => {
            let parent = load(p.org, unit.db(), id).await?;
            if store::tree(p.org, unit.db()).await?.would_create_cycle(current.id, parent.id) {
                e.push(FieldError::new("parentId", "CYCLE", "a territory cannot sit below itself"));
            }
            patch.parent_id = Some(Some(parent.id));
        }
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let t = store::update(p.org, unit.db(), &current, patch).await?;
    unit.audit("territory.update", "Territory", Some(t.id), snapshot(&current), snapshot(&t)).await?;
    unit.commit().await?;
    Ok(Ok(t))
}

/// Archives a territory: it routes nothing from then on; history keeps it. Refused while it
/// has active sub-territories.
pub async fn archive(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    id: Uuid,
) -> AppResult<Checked<territory::Model>> {
    let unit = begin(db, bus, p).await?;
    let current = load(p.org, unit.db(), id).await?;
    let active = store::territories(p.org, unit.db(), false).await?;
    if active.iter().any(|t| t.parent_id == Some(current.id)) {
        return Ok(Err(vec![FieldError::new("id", "HAS_CHILDREN", "archive or move its sub-territories first")]));
    }
    let t = store::update(p.org, unit.db(), &current, TerritoryPatch { archived: Some(true), ..Default::default() })
        .await?;
    unit.audit("territory.archive", "Territory", Some(t.id), snapshot(&current), snapshot(&t)).await?;
    unit.commit().await?;
    Ok(Ok(t))
}

/// Assigns a member to a territory. A territory has one OWNER at a time: an OWNER span
/// overlapping another is refused.
pub async fn assign(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: AssignTerritory,
) -> AppResult<Checked<territory_assignment::Model>> {
    let unit = begin(db, bus, p).await?;
    let t = load(p.org, unit.db(), cmd.territory_id).await?;
    let m = org_store::find_member(p.org, unit.db(), cmd.member_id).await?.ok_or(AppError::NotFound("member"))?;
    if !m.active {
        return Ok(Err(vec![FieldError::new("memberId", "INACTIVE", "that member is deactivated")]));
    }
    if t.archived {
        return Ok(Err(vec![FieldError::new("territoryId", "ARCHIVED", "the territory is archived")]));
    }
    let from = match cmd.starts_on {
        Some(d) => d,
        None => org_today(p.org, unit.db()).await?,
    };
    let span = AssignmentSpan { territory_id: t.id, member_id: m.id, role: cmd.role, from, to: cmd.ends_on };
    let existing: Vec<AssignmentSpan> =
        store::assignments(p.org, unit.db(), Some(&[t.id])).await?.iter().map(store::span).collect();
    if let Err(e) = model::check_assignment(&span, &existing) {
        return Ok(Err(vec![input_names(e)]));
    }
    let a = store::create_assignment(p.org, unit.db(), &span).await?;
    unit.audit("territoryAssignment.create", "TerritoryAssignment", Some(a.id), None, snapshot(&a)).await?;
    unit.commit().await?;
    Ok(Ok(a))
}

/// Ends an assignment on a day (inclusive; default today).
pub async fn end_assignment(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    id: Uuid,
    ends_on: Option<NaiveDate>,
) -> AppResult<Checked<territory_assignment::Model>> {
    let unit = begin(db, bus, p).await?;
    let a = store::find_assignment(p.org, unit.db(), id).await?.ok_or(AppError::NotFound("assignment"))?;
    let ends_on = match ends_on {
        Some(d) => d,
        None => org_today(p.org, unit.db()).await?,
    };
    if ends_on < a.starts_on {
        return Ok(Err(vec![FieldError::new("endsOn", "INVALID", "must not be before the assignment starts")]));
    }
    // Moving the end later must not create a second owner or a double assignment.
    let others: Vec<AssignmentSpan> = store::assignments(p.org, unit.db(), Some(&[a.territory_id]))
        .await?
        .iter()
        .filter(|x| x.id != a.id)
        .map(store::span)
        .collect();
    let moved = AssignmentSpan { to: Some(ends_on), ..store::span(&a) };
    if let Err(mut e) = model::check_assignment(&moved, &others) {
        // Only the end moved, so that is the field at fault.
        e.field = vec!["input".into(), "endsOn".into()];
        return Ok(Err(vec![e]));
    }
    let ended = store::end_assignment(p.org, unit.db(), &a, ends_on).await?;
    unit.audit("territoryAssignment.end", "TerritoryAssignment", Some(a.id), snapshot(&a), snapshot(&ended)).await?;
    unit.commit().await?;
    Ok(Ok(ended))
}

/// The model names span edges `from`/`to`; the inputs call them `startsOn`/`endsOn`.
fn input_names(mut e: FieldError) -> FieldError {
    for f in &mut e.field {
        match f.as_str() {
            "from" => *f = "startsOn".into(),
            "to" => *f = "endsOn".into(),
            _ => {}
        }
    }
    e
}
