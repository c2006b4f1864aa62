//! Setting up the pipeline (admins): custom deal fields, stages and their checklist items. A
//! refused request returns its field errors ([`Checked`]) and writes nothing.

use std::collections::HashSet;

use entity::{checklist_item, custom_field, pipeline_stage};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::fields::text;
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::principal::Principal;
use crate::db::unit::Unit;
use crate::events::{Event, EventBus};
use crate::org::model as org_model;
use crate::pipeline::model::{self, ChecklistKind, CustomFieldType, ForecastCategory, StageKind};
use crate::pipeline::policy;
use crate::pipeline::store;

/// A custom deal field to define.
#[derive(Debug, Clone)]
pub struct CreateCustomField {
    /// camelCase key, e.g. `budgetOwner`.
    pub key: String,
    /// Label for forms.
    pub label: String,
    /// TEXT, NUMBER, DATE, BOOLEAN or CHOICE.
    pub field_type: CustomFieldType,
    /// CHOICE: the allowed values (1 to 50).
    pub choices: Vec<String>,
}

/// A stage to append at the end of the pipeline.
#[derive(Debug, Clone)]
pub struct CreateStage {
    /// Name.
    pub name: String,
    /// OPEN, WON or LOST.
    pub kind: StageKind,
    /// Default win probability, 0 to 100 (default: 100 for WON, 0 otherwise).
    pub default_probability: Option<i32>,
    /// Default forecast category (default by kind).
    pub default_forecast_category: Option<ForecastCategory>,
}

/// Changes to a stage; `None` leaves a field as it is.
#[derive(Debug, Clone)]
pub struct UpdateStage {
    /// The stage.
    pub id: Uuid,
    /// The version the change was made against (CONFLICT when it moved on).
    pub version: Option<i32>,
    /// New name.
    pub name: Option<String>,
    /// New default probability.
    pub default_probability: Option<i32>,
    /// New default forecast category.
    pub default_forecast_category: Option<ForecastCategory>,
}

/// A checklist item to add to a stage.
#[derive(Debug, Clone)]
pub struct AddChecklistItem {
    /// The stage.
    pub stage_id: Uuid,
    /// What to do or fill.
    pub label: String,
    /// CONTENT or PROCESS.
    pub kind: ChecklistKind,
    /// CONTENT: the deal field (or `custom.<key>`).
    pub field_name: Option<String>,
    /// Whether it blocks moving on.
    pub required: bool,
}

/// Changes to a checklist item; `None` leaves a field as it is.
#[derive(Debug, Clone)]
pub struct UpdateChecklistItem {
    /// The item.
    pub id: Uuid,
    /// The version the change was made against (CONFLICT when it moved on).
    pub version: Option<i32>,
    /// New label.
    pub label: Option<String>,
    /// Whether it blocks moving on.
    pub required: Option<bool>,
}

/// Defines a custom deal field (admins).
pub async fn create_custom_field(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: CreateCustomField,
) -> AppResult<Checked<custom_field::Model>> {
    policy::may_set_up(p)?;
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let mut e = Vec::new();
    let key = model::parse_custom_field_key(&cmd.key).map_err(|x| e.push(x)).ok();
    let label = org_model::parse_name("label", &cmd.label).map_err(|x| e.push(x)).ok();
    let choices: Vec<String> = cmd.choices.iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
    match cmd.field_type {
        CustomFieldType::Choice
            if choices.is_empty() || choices.len() > 50 || choices.iter().any(|c| c.chars().count() > 100) =>
        {
            e.push(FieldError::new(
                "choices",
                "INVALID",
                "a CHOICE field needs 1 to 50 choices of at most 100 characters",
            ));
        }
        CustomFieldType::Choice => {}
        _ if !choices.is_empty() => e.push(FieldError::new("choices", "INVALID", "only CHOICE fields have choices")),
        _ => {}
    }
    if let Some(k) = &key
        && store::custom_fields(p.org, unit.db()).await?.iter().any(|c| &c.key == k)
    {
        e.push(FieldError::new("key", "TAKEN", "a custom field with this key exists"));
    }
    let (Some(key), Some(label), true) = (key, label, e.is_empty()) else {
        return Ok(Err(e));
    };
    let done = store::create_custom_field(p.org, unit.db(), key, label, cmd.field_type, &choices).await?;
    unit.commit().await?;
    Ok(Ok(done))
}

/// Adds a stage at the end of the pipeline (admins).
pub async fn create_stage(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: CreateStage,
) -> AppResult<Checked<pipeline_stage::Model>> {
    policy::may_set_up(p)?;
    let mut e = Vec::new();
    let name = org_model::parse_name("name", &cmd.name).map_err(|x| e.push(x)).ok();
    let default_probability = match (cmd.default_probability, cmd.kind) {
        (Some(v), _) => model::parse_probability("defaultProbability", v).map_err(|x| e.push(x)).ok(),
        (None, StageKind::Won) => Some(100),
        (None, _) => Some(0),
    };
    let category = cmd.default_forecast_category.unwrap_or(match cmd.kind {
        StageKind::Won => ForecastCategory::Closed,
        StageKind::Lost => ForecastCategory::Omitted,
        StageKind::Open => ForecastCategory::Pipeline,
    });
    let (Some(name), Some(default_probability), true) = (name, default_probability, e.is_empty()) else {
        return Ok(Err(e));
    };
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let new = store::NewStage { name, kind: cmd.kind, default_probability, default_forecast_category: category };
    let s = store::create_stage(p.org, unit.db(), new).await?;
    unit.publish(Event::RulesChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(s))
}

/// Changes a stage (admins). Deals already in it keep their probabilities.
pub async fn update_stage(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: UpdateStage,
) -> AppResult<Checked<pipeline_stage::Model>> {
    policy::may_set_up(p)?;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    store::find_stage(p.org, unit.db(), cmd.id).await?.ok_or(AppError::NotFound("stage"))?;
    let mut e = Vec::new();
    let patch = store::StagePatch {
        name: cmd.name.and_then(|n| org_model::parse_name("name", &n).map_err(|x| e.push(x)).ok()),
        default_probability: cmd
            .default_probability
            .and_then(|v| model::parse_probability("defaultProbability", v).map_err(|x| e.push(x)).ok()),
        default_forecast_category: cmd.default_forecast_category,
        ..Default::default()
    };
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let done = store::update_stage(p.org, unit.db(), cmd.id, patch, cmd.version).await?;
    unit.publish(Event::RulesChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(done))
}

/// Removes a stage (admins). A stage with deals in it is refused.
pub async fn delete_stage(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    id: Uuid,
) -> AppResult<Checked<pipeline_stage::Model>> {
    policy::may_set_up(p)?;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    store::find_stage(p.org, unit.db(), id).await?.ok_or(AppError::NotFound("stage"))?;
    if store::deals_in_stage(p.org, unit.db(), id).await? > 0 {
        return Ok(Err(vec![FieldError::new("id", "IN_USE", "deals are in this stage; move them first")]));
    }
    let patch = store::StagePatch { active: Some(false), ..Default::default() };
    let s = store::update_stage(p.org, unit.db(), id, patch, None).await?;
    unit.publish(Event::RulesChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(s))
}

/// Puts the active stages in a new order (admins): every active stage listed once. Returns
/// the stages in their new order.
pub async fn reorder_stages(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    ids: Vec<Uuid>,
) -> AppResult<Checked<Vec<pipeline_stage::Model>>> {
    policy::may_set_up(p)?;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let current = store::stages(p.org, unit.db()).await?;
    let wanted: HashSet<Uuid> = ids.iter().copied().collect();
    let have: HashSet<Uuid> = current.iter().map(|s| s.id).collect();
    if wanted != have || ids.len() != current.len() {
        return Ok(Err(vec![FieldError::new("stageIds", "INVALID", "list every active stage exactly once")]));
    }
    for (position, id) in ids.iter().enumerate() {
        let patch = store::StagePatch { position: Some(position as i32), ..Default::default() };
        store::update_stage(p.org, unit.db(), *id, patch, None).await?;
    }
    let stages = store::stages(p.org, unit.db()).await?;
    unit.publish(Event::RulesChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(stages))
}

/// Adds a checklist item to a stage (admins).
pub async fn add_checklist_item(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: AddChecklistItem,
) -> AppResult<Checked<checklist_item::Model>> {
    policy::may_set_up(p)?;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    store::find_stage(p.org, unit.db(), cmd.stage_id).await?.ok_or(AppError::NotFound("stage"))?;
    let mut e = Vec::new();
    let label = text("label", Some(cmd.label), 500, &mut e);
    if label.is_none() && e.is_empty() {
        e.push(FieldError::new("label", "REQUIRED", "say what must be done"));
    }
    let custom: Vec<String> = store::custom_fields(p.org, unit.db())
        .await?
        .into_iter()
        .filter(|c| c.active)
        .map(|c| format!("custom.{}", c.key))
        .collect();
    let field_name = match (cmd.kind, cmd.field_name) {
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
        return Ok(Err(e));
    };
    let new = store::NewItem { stage_id: cmd.stage_id, label, kind: cmd.kind, field_name, required: cmd.required };
    let done = store::create_item(p.org, unit.db(), new).await?;
    unit.publish(Event::RulesChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(done))
}

/// Renames a checklist item or changes whether it is required (admins).
pub async fn update_checklist_item(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: UpdateChecklistItem,
) -> AppResult<Checked<checklist_item::Model>> {
    policy::may_set_up(p)?;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    store::find_item(p.org, unit.db(), cmd.id).await?.ok_or(AppError::NotFound("checklist item"))?;
    let mut e = Vec::new();
    let label = match cmd.label {
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
        return Ok(Err(e));
    }
    let done = store::update_item(p.org, unit.db(), cmd.id, label, cmd.required, cmd.version).await?;
    unit.publish(Event::RulesChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(done))
}

/// Removes a checklist item (admins).
pub async fn remove_checklist_item(db: &DatabaseConnection, bus: &EventBus, p: &Principal, id: Uuid) -> AppResult<()> {
    policy::may_set_up(p)?;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    store::delete_item(p.org, unit.db(), id).await?;
    unit.publish(Event::RulesChanged { org: p.org.0 });
    unit.commit().await
}
