//! `auditLog`: who changed what, for admins.

use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use entity::audit_entry;

use crate::core::error::AppError;
use crate::core::principal::Permission;
use crate::graphql::ContextExt;

use crate::graphql::relay::{NodeKind, PageArgs, connection, decode_global_id, global_id};
use crate::org::graphql::Member;

use super::store::{self, AuditFilter};

/// One recorded change.
pub struct AuditEntry(pub audit_entry::Model);

crate::connection_type!(AuditEntryConnection, AuditEntryEdge, AuditEntry, "audit-log entries");

/// One recorded change: who, when, what, and the record before and after.
#[Object]
impl AuditEntry {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::AuditEntry, self.0.id)
    }
    /// When the change was made.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// The member who made it; `null` for the server itself (`actorKind` `system`) and for a
    /// consulting firm's staff member (`actorKind` `firm_staff`, `actorId` their ID).
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        match self.0.actor_id {
            Some(id) if self.0.actor == "member" => Ok(crate::org::graphql::member_by_id(ctx, id).await?),
            _ => Ok(None),
        }
    }
    /// The global ID of a firm's staff member who made it (`actorKind` `firm_staff`); else `null`.
    async fn actor_staff_id(&self) -> Option<ID> {
        match self.0.actor_id {
            Some(id) if self.0.actor == "firm_staff" => Some(global_id(NodeKind::FirmStaff, id)),
            _ => None,
        }
    }
    /// `member`, `firm_staff` or `system`.
    async fn actor_kind(&self) -> &str {
        &self.0.actor
    }
    /// What was done, `<record>.<verb>`: e.g. `quota.set`, `statement.approve`, `member.changeRole`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The kind of record changed, as its GraphQL type name (`Quota`, `Territory`, `PointsTarget`, …).
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    /// The record changed: its global ID when the type is a `Node`, else its raw UUID.
    async fn entity_id(&self) -> Option<ID> {
        let id = self.0.entity_id?;
        Some(match NodeKind::parse(&self.0.entity_type) {
            Some(kind) => global_id(kind, id),
            None => ID(id.to_string()),
        })
    }
    /// The record before the change (JSON); `null` for a creation.
    async fn before(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        self.0.before.as_deref().and_then(|s| serde_json::from_str(s).ok()).map(async_graphql::Json)
    }
    /// The record after the change (JSON); `null` for a deletion.
    async fn after(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        self.0.after.as_deref().and_then(|s| serde_json::from_str(s).ok()).map(async_graphql::Json)
    }
}

/// An entry by ID for `node`: admins only; `None` otherwise.
pub async fn node(
    p: &crate::core::principal::Principal,
    db: &impl sea_orm::ConnectionTrait,
    id: uuid::Uuid,
) -> crate::core::error::AppResult<Option<AuditEntry>> {
    if !p.has(Permission::OrganizationUpdate) {
        return Ok(None);
    }
    Ok(store::find(p.org, db, id).await?.map(AuditEntry))
}

/// Filter for `auditLog`.
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Only records of this type (`Quota`, `Territory`, `IncentivePlan`, `Statement`, …).
    entity_type: Option<String>,
    /// Only changes to this record (its global ID).
    entity_id: Option<ID>,
    /// Only changes by this member.
    actor_id: Option<ID>,
    /// Only this action, e.g. `quota.set`.
    action: Option<String>,
    /// At or after this instant.
    from: Option<DateTime<Utc>>,
    /// Before this instant.
    to: Option<DateTime<Utc>>,
}

/// Audit-log queries.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Changes to configuration, money, members and credentials, newest first. Admins only.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to include.")] filter: Option<AuditLogFilter>,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<AuditEntryConnection> {
        let p = ctx.principal()?;
        p.require(Permission::OrganizationUpdate)?;
        let db = &ctx.state()?.db;
        let page = PageArgs::asked(ctx, first, after, last, before);
        page.validate()?;
        let f = filter.unwrap_or_default();
        let too_long = |s: &Option<String>| s.as_ref().is_some_and(|s| s.chars().count() > 100);
        if too_long(&f.entity_type) || too_long(&f.action) {
            return Err(AppError::bad_input("'entityType' and 'action' are at most 100 characters").into());
        }
        let actor_id = match &f.actor_id {
            Some(id) => Some(
                crate::org::store::find_member(p.org, db, crate::graphql::relay::decode_id(id, NodeKind::Member)?)
                    .await?
                    .ok_or(AppError::NotFound("member"))?
                    .id,
            ),
            None => None,
        };
        // `entityId` is not looked up: entries outlive what they describe (a deleted stage), so
        // an ID that names nothing simply matches nothing, whoever's it would be.
        let filter = AuditFilter {
            entity_type: f.entity_type,
            entity_id: f.entity_id.as_ref().map(|id| decode_global_id(id).map(|(_, u)| u)).transpose()?,
            actor_id,
            action: f.action,
            from: f.from,
            to: f.to,
        };
        let rows = store::page(p.org, db, &filter, &page).await?;
        Ok(connection(ctx, rows, AuditEntry).into())
    }
}
