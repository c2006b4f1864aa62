//! Writing and reading audit entries. Always scoped to one organization.

use chrono::{DateTime, Utc};
use entity::audit_entry;
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter};
use uuid::Uuid;

use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::db::tenant;
use crate::graphql::keyset::{self, KeyKind, KeyValue, Keyset, Page, SortColumn};
use crate::graphql::relay::PageArgs;

pub use crate::db::unit::{Actor, record, snapshot};

/// One entry.
pub async fn find(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<audit_entry::Model>> {
    Ok(tenant::scoped_by_id::<audit_entry::Entity>(org, id).one(db).await?)
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
    let mut q = tenant::scoped::<audit_entry::Entity>(org);
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
