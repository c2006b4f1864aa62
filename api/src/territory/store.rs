//! Tenant-scoped reads and writes of territories and their assignments, and deal routing.

use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use entity::{territory, territory_assignment};

use super::model::{self, AssignmentRole, AssignmentSpan, DealLocation, RoutingRule, TerritoryKind, TerritoryRules};
use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
use crate::db::tenant;
use crate::graphql::keyset::{KeyKind, KeyValue, Keyset, SortColumn};
use crate::org::model::TeamTree;

/// All territories of the organization by name; archived ones only when asked.
pub async fn territories(
    org: OrgId,
    db: &impl ConnectionTrait,
    include_archived: bool,
) -> AppResult<Vec<territory::Model>> {
    let mut q = tenant::scoped::<territory::Entity>(org);
    if !include_archived {
        q = q.filter(territory::Column::Archived.eq(false));
    }
    Ok(q.order_by_asc(territory::Column::Name).order_by_asc(territory::Column::Id).all(db).await?)
}

fn territory_key(t: &territory::Model) -> Vec<KeyValue> {
    vec![KeyValue::Text(t.name.clone()), KeyValue::Id(t.id)]
}

/// `territories`, by name (sorted here, after the tree filters).
pub const TERRITORIES: Keyset<territory::Model> = Keyset {
    connection: "territories",
    order: "NAME",
    columns: &[SortColumn::asc(KeyKind::Text), SortColumn::asc(KeyKind::Id)],
    key: territory_key,
};

/// One territory.
pub async fn find(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<territory::Model>> {
    Ok(tenant::scoped_by_id::<territory::Entity>(org, id).one(db).await?)
}

/// Several territories by ID.
pub async fn by_ids(org: OrgId, db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<territory::Model>> {
    Ok(tenant::scoped::<territory::Entity>(org)
        .filter(territory::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// The territory tree (archived territories included, so history keeps its shape).
pub async fn tree(org: OrgId, db: &impl ConnectionTrait) -> AppResult<TeamTree> {
    let all = territories(org, db, true).await?;
    Ok(TeamTree::new(all.into_iter().map(|t| (t.id, t.parent_id))))
}

/// The stored routing rules of a territory (an unreadable value counts as none).
pub fn rules_of(t: &territory::Model) -> Vec<RoutingRule> {
    serde_json::from_str(&t.rules).unwrap_or_default()
}

/// A validated new territory.
#[derive(Debug, Clone)]
pub struct NewTerritory {
    /// Parent territory.
    pub parent_id: Option<Uuid>,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: TerritoryKind,
    /// Routing rules.
    pub rules: Vec<RoutingRule>,
}

/// Inserts a territory.
pub async fn create(org: OrgId, db: &impl ConnectionTrait, new: NewTerritory) -> AppResult<territory::Model> {
    let now = Utc::now();
    Ok(territory::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        parent_id: Set(new.parent_id),
        name: Set(new.name),
        kind: Set(new.kind.as_str().to_owned()),
        rules: Set(serde_json::to_string(&new.rules).map_err(|e| AppError::Internal(e.into()))?),
        archived: Set(false),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Validated changes; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct TerritoryPatch {
    /// New parent (`Some(None)`: a root).
    pub parent_id: Option<Option<Uuid>>,
    /// New name.
    pub name: Option<String>,
    /// New kind.
    pub kind: Option<TerritoryKind>,
    /// New rules (replace all).
    pub rules: Option<Vec<RoutingRule>>,
    /// Archive (true) or restore (false).
    pub archived: Option<bool>,
}

/// Saves changes if the territory is still at `current.version` (else CONFLICT).
pub async fn update(
    org: OrgId,
    db: &impl ConnectionTrait,
    current: &territory::Model,
    patch: TerritoryPatch,
) -> AppResult<territory::Model> {
    let rules = match patch.rules {
        Some(r) => Some(serde_json::to_string(&r).map_err(|e| AppError::Internal(e.into()))?),
        None => None,
    };
    let changes = territory::ActiveModel {
        parent_id: crate::db::set_if(patch.parent_id),
        name: crate::db::set_if(patch.name),
        kind: crate::db::set_if(patch.kind.map(|k| k.as_str().to_owned())),
        rules: crate::db::set_if(rules),
        archived: crate::db::set_if(patch.archived),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    let r = tenant::versioned_update::<territory::Entity>(org, Some(current.version))
        .set(changes)
        .filter(territory::Column::Id.eq(current.id))
        .exec(db)
        .await?;
    if r.rows_affected == 0 {
        return Err(AppError::Conflict("the territory was changed by someone else; reload and try again".into()));
    }
    find(org, db, current.id).await?.ok_or(AppError::NotFound("territory"))
}

// ---------------------------------------------------------------- assignments

/// Assignments, of the given territories or all, oldest first.
pub async fn assignments(
    org: OrgId,
    db: &impl ConnectionTrait,
    territories: Option<&[Uuid]>,
) -> AppResult<Vec<territory_assignment::Model>> {
    let mut q = tenant::scoped::<territory_assignment::Entity>(org);
    if let Some(ids) = territories {
        q = q.filter(territory_assignment::Column::TerritoryId.is_in(ids.iter().copied()));
    }
    Ok(q.order_by_asc(territory_assignment::Column::StartsOn)
        .order_by_asc(territory_assignment::Column::Id)
        .all(db)
        .await?)
}

/// One assignment.
pub async fn find_assignment(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
) -> AppResult<Option<territory_assignment::Model>> {
    Ok(tenant::scoped_by_id::<territory_assignment::Entity>(org, id).one(db).await?)
}

/// The pure view of an assignment row.
pub fn span(a: &territory_assignment::Model) -> AssignmentSpan {
    AssignmentSpan {
        territory_id: a.territory_id,
        member_id: a.member_id,
        role: AssignmentRole::parse(&a.role).unwrap_or(AssignmentRole::Overlay),
        from: a.starts_on,
        to: a.ends_on,
    }
}

/// Inserts a checked assignment.
pub async fn create_assignment(
    org: OrgId,
    db: &impl ConnectionTrait,
    s: &AssignmentSpan,
) -> AppResult<territory_assignment::Model> {
    Ok(territory_assignment::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        territory_id: Set(s.territory_id),
        member_id: Set(s.member_id),
        role: Set(s.role.as_str().to_owned()),
        starts_on: Set(s.from),
        ends_on: Set(s.to),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Sets the last day of an assignment.
pub async fn end_assignment(
    org: OrgId,
    db: &impl ConnectionTrait,
    a: &territory_assignment::Model,
    ends_on: NaiveDate,
) -> AppResult<territory_assignment::Model> {
    tenant::scoped_update::<territory_assignment::Entity>(org)
        .set(territory_assignment::ActiveModel { ends_on: Set(Some(ends_on)), ..Default::default() })
        .filter(territory_assignment::Column::Id.eq(a.id))
        .exec(db)
        .await?;
    find_assignment(org, db, a.id).await?.ok_or(AppError::NotFound("assignment"))
}

// ---------------------------------------------------------------- routing

/// The most specific active territory whose rules match the deal's location, if any.
pub async fn route(org: OrgId, db: &impl ConnectionTrait, deal: &DealLocation) -> AppResult<Option<Uuid>> {
    let all = territories(org, db, true).await?;
    let tree = TeamTree::new(all.iter().map(|t| (t.id, t.parent_id)));
    let candidates: Vec<TerritoryRules> = all
        .iter()
        .filter(|t| !t.archived)
        .map(|t| TerritoryRules { territory_id: t.id, rules: rules_of(t) })
        .filter(|t| !t.rules.is_empty())
        .collect();
    Ok(model::route(deal, &candidates, &tree))
}
