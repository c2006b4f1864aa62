//! Plans (versioned: a change to components an approved statement used becomes a new version)
//! and the assignments that put members on them.

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use entity::{incentive_plan, plan_assignment};

use super::components::{ComponentDraft, parse_components};
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::principal::Principal;
use crate::core::roles::Role;
use crate::db::Section;
use crate::db::unit::{Unit, snapshot};
use crate::events::EventBus;
use crate::incentive::{policy, store};
use crate::org::{model as org_model, store as org_store};

/// A plan to create.
#[derive(Debug)]
pub struct CreatePlan {
    /// Its name, as given.
    pub name: String,
    /// A description, as given.
    pub description: Option<String>,
    /// Its components, as given.
    pub components: Vec<ComponentDraft>,
}

/// Changes to a plan; `None` leaves a field as it is.
#[derive(Debug)]
pub struct UpdatePlan {
    /// The plan.
    pub id: Uuid,
    /// The version the change was made against (CONFLICT when it moved on).
    pub version: Option<i32>,
    /// A new name.
    pub name: Option<String>,
    /// A new description (`Some(None)`: clear it).
    pub description: Option<Option<String>>,
    /// New components (replace all).
    pub components: Option<Vec<ComponentDraft>>,
}

/// A member to put on a plan.
#[derive(Debug)]
pub struct AssignPlan {
    /// The plan.
    pub plan_id: Uuid,
    /// The member: the decoded UUID, or the error to raise once the plan was found.
    pub member_id: AppResult<Uuid>,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day, if known.
    pub ends_on: Option<NaiveDate>,
}

/// A plan the principal may see (reps only the plans they are on), or NOT_FOUND.
pub async fn load_plan(p: &Principal, db: &impl ConnectionTrait, id: Uuid) -> AppResult<incentive_plan::Model> {
    let plan = store::find_plan(p.org, db, id).await?.ok_or(AppError::NotFound("plan"))?;
    if p.role == Role::Rep {
        let mine = store::assignments(p.org, db, Some(p.member_id), Some(plan.id)).await?;
        if mine.is_empty() {
            return Err(AppError::NotFound("plan"));
        }
    }
    Ok(plan)
}

/// Begins a unit that serializes the organization's payouts: statement numbering, approval
/// and the plan versions they lock read other rows than they write, so one such writer per
/// tenant at a time.
pub(super) async fn begin_payouts(db: &DatabaseConnection, bus: &EventBus, p: &Principal) -> AppResult<Unit> {
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    unit.serialize(Section::Payouts).await?;
    Ok(unit)
}

/// Creates a plan (admins).
pub async fn create_plan(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: CreatePlan,
) -> AppResult<Checked<incentive_plan::Model>> {
    policy::may_manage(p)?;
    let mut e = Vec::new();
    let name = org_model::parse_name("name", &cmd.name).map_err(|x| e.push(x)).ok();
    let description = org_model::parse_free_text("description", cmd.description.as_deref(), 2000)
        .map_err(|x| e.push(x))
        .ok()
        .flatten();
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let components = match parse_components(p, unit.db(), cmd.components).await? {
        Ok(c) => Some(c),
        Err(list) => {
            e.extend(list);
            None
        }
    };
    let (Some(name), Some(components), true) = (name, components, e.is_empty()) else {
        return Ok(Err(e));
    };
    let plan = store::create_plan(p.org, unit.db(), name, description, &components, Some(p.member_id)).await?;
    let after = serde_json::json!({ "plan": snapshot(&plan), "components": components });
    unit.audit("incentivePlan.create", "IncentivePlan", Some(plan.id), None, Some(after)).await?;
    unit.commit().await?;
    Ok(Ok(plan))
}

/// Changes a plan (admins). Components used by an approved statement are never changed: the
/// change becomes a new version.
pub async fn update_plan(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: UpdatePlan,
) -> AppResult<Checked<incentive_plan::Model>> {
    policy::may_manage(p)?;
    let unit = begin_payouts(db, bus, p).await?;
    let plan = load_plan(p, unit.db(), cmd.id).await?;
    if let Some(v) = cmd.version
        && v != plan.current_version
    {
        return Err(AppError::Conflict(format!(
            "the plan is at version {}, not {v}; reload and try again",
            plan.current_version
        )));
    }
    let mut e = Vec::new();
    let name = cmd.name.as_deref().and_then(|n| org_model::parse_name("name", n).map_err(|x| e.push(x)).ok());
    let description = match cmd.description {
        None => None,
        Some(None) => Some(None),
        Some(Some(d)) => org_model::parse_free_text("description", Some(&d), 2000).map_err(|x| e.push(x)).ok(),
    };
    let components = match cmd.components {
        Some(list) => match parse_components(p, unit.db(), list).await? {
            Ok(c) => Some(c),
            Err(list) => {
                e.extend(list);
                None
            }
        },
        None => None,
    };
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let before_components = store::components_of(&store::current_version(p.org, unit.db(), &plan).await?);
    let updated =
        store::update_plan(p.org, unit.db(), &plan, name, description, components.as_deref(), Some(p.member_id))
            .await?;
    let after_components = store::components_of(&store::current_version(p.org, unit.db(), &updated).await?);
    unit.audit(
        "incentivePlan.update",
        "IncentivePlan",
        Some(plan.id),
        Some(serde_json::json!({ "plan": snapshot(&plan), "components": before_components })),
        Some(serde_json::json!({ "plan": snapshot(&updated), "components": after_components })),
    )
    .await?;
    unit.commit().await?;
    Ok(Ok(updated))
}

/// Archives a plan (admins): it takes no new assignments; statements keep it.
pub async fn archive_plan(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    id: Uuid,
) -> AppResult<incentive_plan::Model> {
    policy::may_manage(p)?;
    let unit = begin_payouts(db, bus, p).await?;
    let plan = load_plan(p, unit.db(), id).await?;
    store::archive_plan(p.org, unit.db(), plan.id).await?;
    let after = store::find_plan(p.org, unit.db(), plan.id).await?.ok_or(AppError::NotFound("plan"))?;
    unit.audit("incentivePlan.archive", "IncentivePlan", Some(plan.id), snapshot(&plan), snapshot(&after)).await?;
    unit.commit().await?;
    Ok(after)
}

/// Puts a member on a plan (admins). One plan per member at a time: an overlapping assignment
/// is refused.
pub async fn assign_plan(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: AssignPlan,
) -> AppResult<Checked<plan_assignment::Model>> {
    policy::may_manage(p)?;
    let unit = begin_payouts(db, bus, p).await?;
    let plan = load_plan(p, unit.db(), cmd.plan_id).await?;
    let member = org_store::find_member(p.org, unit.db(), cmd.member_id?).await?.ok_or(AppError::NotFound("member"))?;
    let refused = |e: FieldError| Ok(Err(vec![e]));
    if plan.archived {
        return refused(FieldError::new("planId", "ARCHIVED", "the plan is archived"));
    }
    if !member.active {
        return refused(FieldError::new("memberId", "INACTIVE", "that member is deactivated"));
    }
    if cmd.ends_on.is_some_and(|end| end < cmd.starts_on) {
        return refused(FieldError::new("endsOn", "INVALID", "must not be before startsOn"));
    }
    let existing = store::assignments(p.org, unit.db(), Some(member.id), None).await?;
    if let Some(clash) =
        existing.iter().find(|a| store::spans_overlap((a.starts_on, a.ends_on), (cmd.starts_on, cmd.ends_on)))
    {
        return refused(FieldError::new(
            "startsOn",
            "OVERLAP",
            format!(
                "the member is already on a plan from {}{}; end that assignment first",
                clash.starts_on,
                clash.ends_on.map_or_else(String::new, |d| format!(" to {d}"))
            ),
        ));
    }
    let a = store::create_assignment(p.org, unit.db(), plan.id, member.id, cmd.starts_on, cmd.ends_on).await?;
    unit.audit("planAssignment.create", "PlanAssignment", Some(a.id), None, snapshot(&a)).await?;
    unit.commit().await?;
    Ok(Ok(a))
}

/// Ends a plan assignment on a day (admins).
pub async fn end_plan_assignment(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    id: Uuid,
    ends_on: NaiveDate,
) -> AppResult<Checked<plan_assignment::Model>> {
    policy::may_manage(p)?;
    let unit = begin_payouts(db, bus, p).await?;
    let a = store::find_assignment(p.org, unit.db(), id).await?.ok_or(AppError::NotFound("plan assignment"))?;
    if ends_on < a.starts_on {
        return Ok(Err(vec![FieldError::new("endsOn", "INVALID", "must not be before the assignment starts")]));
    }
    let others = store::assignments(p.org, unit.db(), Some(a.member_id), None).await?;
    if others
        .iter()
        .any(|x| x.id != a.id && store::spans_overlap((x.starts_on, x.ends_on), (a.starts_on, Some(ends_on))))
    {
        return Ok(Err(vec![FieldError::new("endsOn", "OVERLAP", "the member would be on two plans at once")]));
    }
    let ended = store::end_assignment(p.org, unit.db(), a.id, ends_on).await?;
    unit.audit("planAssignment.end", "PlanAssignment", Some(a.id), snapshot(&a), snapshot(&ended)).await?;
    unit.commit().await?;
    Ok(Ok(ended))
}
