//! Writing and reading audit entries. Always scoped to one organization.

use chrono::{DateTime, Utc};
use entity::audit_entry;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use uuid::Uuid;

use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::core::principal::Principal;
use crate::graphql::keyset::{self, KeyKind, KeyValue, Keyset, Page, SortColumn};
use crate::graphql::relay::PageArgs;

/// Who made a change.
#[derive(Debug, Clone, Copy)]
pub enum Actor {
    /// A signed-in member.
    Member(Uuid),
    /// The server itself (demo seeding, schedulers).
    System,
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Self {
        Actor::Member(p.member_id)
    }
}

/// JSON of a record, for `before`/`after`.
pub fn snapshot<T: Serialize>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

/// Records one change. `action` is `<entity>.<verb>`, e.g. `quota.set`.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    org: OrgId,
    db: &impl ConnectionTrait,
    actor: Actor,
    action: &str,
    entity_type: &str,
    entity_id: Option<Uuid>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> AppResult<()> {
    let (actor_id, label) = match actor {
        Actor::Member(id) => (Some(id), "member".to_owned()),
        Actor::System => (None, "system".to_owned()),
    };
    audit_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        actor_id: Set(actor_id),
        actor: Set(label),
        action: Set(action.to_owned()),
        entity_type: Set(entity_type.to_owned()),
        entity_id: Set(entity_id),
        before: Set(before.map(|v| v.to_string())),
        after: Set(after.map(|v| v.to_string())),
        at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One entry.
pub async fn find(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<audit_entry::Model>> {
    Ok(audit_entry::Entity::find_by_id(id).filter(audit_entry::Column::OrganizationId.eq(org.0)).one(db).await?)
}

/// Which entries to list.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Only this kind of record (`quota`, `territory`, …).
    pub entity_type: Option<String>,
    /// Only this record.
    pub entity_id: Option<Uuid>,
    /// Only changes by this member.
    pub actor_id: Option<Uuid>,
    /// Only this action (`quota.set`, …).
    pub action: Option<String>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
}

fn query(org: OrgId, f: &AuditFilter) -> sea_orm::Select<audit_entry::Entity> {
    let mut q = audit_entry::Entity::find().filter(audit_entry::Column::OrganizationId.eq(org.0));
    if let Some(t) = &f.entity_type {
        q = q.filter(audit_entry::Column::EntityType.eq(t.clone()));
    }
    if let Some(id) = f.entity_id {
        q = q.filter(audit_entry::Column::EntityId.eq(id));
    }
    if let Some(id) = f.actor_id {
        q = q.filter(audit_entry::Column::ActorId.eq(id));
    }
    if let Some(a) = &f.action {
        q = q.filter(audit_entry::Column::Action.eq(a.clone()));
    }
    if let Some(t) = f.from {
        q = q.filter(audit_entry::Column::At.gte(t));
    }
    if let Some(t) = f.to {
        q = q.filter(audit_entry::Column::At.lt(t));
    }
    q
}

fn entry_key(e: &audit_entry::Model) -> Vec<KeyValue> {
    vec![KeyValue::Time(e.at), KeyValue::Id(e.id)]
}

/// `auditLog`, newest first.
pub const AUDIT_LOG: Keyset<audit_entry::Model> = Keyset {
    connection: "auditLog",
    order: "AT_DESC",
    columns: &[SortColumn::desc(KeyKind::Time), SortColumn::desc(KeyKind::Id)],
    key: entry_key,
};

/// One page of entries, newest first.
pub async fn page(
    org: OrgId,
    db: &impl ConnectionTrait,
    f: &AuditFilter,
    args: &PageArgs,
) -> AppResult<Page<audit_entry::Model>> {
    let exprs = [audit_entry::Column::At.into_expr(), audit_entry::Column::Id.into_expr()];
    keyset::fetch(db, query(org, f), &exprs, &AUDIT_LOG, args).await
}
