//! A unit of work: one write transaction, the audit entries written inside it, and the events
//! it publishes, which leave only after the commit. A use-case that writes begins one, does its
//! reads, checks and writes on [`Unit::db`], records what changed with [`Unit::audit`], queues
//! what subscribers must hear with [`Unit::publish`], and ends with [`Unit::commit`]. Dropped
//! without a commit (an early return, an error), it rolls back and publishes nothing.

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};
use serde::Serialize;
use uuid::Uuid;

use super::Section;
use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
use crate::core::principal::Principal;
use crate::events::{Event, EventBus};

/// Who made a change.
#[derive(Debug, Clone, Copy)]
pub enum Actor {
    /// A signed-in member.
    Member(Uuid),
    /// A consulting firm's staff member acting in one of the firm's clients.
    FirmStaff(Uuid),
    /// The server itself (demo seeding, schedulers).
    System,
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Self {
        match p.firm_staff {
            Some(staff) => Actor::FirmStaff(staff.staff_id),
            None => Actor::Member(p.member_id),
        }
    }
}

/// JSON of a record, for an audit entry's `before`/`after`.
pub fn snapshot<T: Serialize>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

/// Records one change in the audit trail. `action` is `<entity>.<verb>`, e.g. `quota.set`.
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
    use sea_orm::{ActiveModelTrait, Set};
    let (actor_id, label) = match actor {
        Actor::Member(id) => (Some(id), "member".to_owned()),
        Actor::FirmStaff(id) => (Some(id), "firm_staff".to_owned()),
        Actor::System => (None, "system".to_owned()),
    };
    entity::audit_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        actor_id: Set(actor_id),
        actor: Set(label),
        action: Set(action.to_owned()),
        entity_type: Set(entity_type.to_owned()),
        entity_id: Set(entity_id),
        before: Set(before.map(|v| v.to_string())),
        after: Set(after.map(|v| v.to_string())),
        at: Set(chrono::Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One organization's write transaction with its audit entries and its events.
pub struct Unit {
    tx: DatabaseTransaction,
    org: OrgId,
    actor: Actor,
    bus: EventBus,
    events: Vec<Event>,
}

impl Unit {
    /// Begins a write transaction for `org`, on behalf of `actor`. On SQLite it takes the write
    /// lock up front (see [`super::begin_write`]).
    pub async fn begin(db: &DatabaseConnection, bus: &EventBus, org: OrgId, actor: Actor) -> AppResult<Unit> {
        let tx = super::begin_write(db).await.map_err(AppError::from)?;
        Ok(Unit { tx, org, actor, bus: bus.clone(), events: Vec::new() })
    }

    /// The organization this unit writes for.
    pub fn org(&self) -> OrgId {
        self.org
    }

    /// The transaction, for the stores' reads and writes.
    pub fn db(&self) -> &DatabaseTransaction {
        &self.tx
    }

    /// Serializes this organization's `section` until the unit ends (see [`super::serialize`]).
    pub async fn serialize(&self, section: Section) -> AppResult<()> {
        super::serialize(&self.tx, self.org, section).await.map_err(AppError::from)
    }

    /// Records a change in the audit trail, inside the transaction (it commits or rolls back
    /// with the change).
    pub async fn audit(
        &self,
        action: &str,
        entity_type: &str,
        entity_id: Option<Uuid>,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> AppResult<()> {
        record(self.org, &self.tx, self.actor, action, entity_type, entity_id, before, after).await
    }

    /// Queues an event; it is published after the commit, and never if the unit rolls back.
    pub fn publish(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Commits, then publishes the queued events in order.
    pub async fn commit(self) -> AppResult<()> {
        self.tx.commit().await.map_err(AppError::from)?;
        for event in self.events {
            self.bus.publish(event);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use migration::MigratorTrait;
    use sea_orm::{Database, EntityTrait, PaginatorTrait};

    async fn database() -> DatabaseConnection {
        let db = Database::connect("sqlite::memory:").await.expect("in-memory SQLite");
        migration::Migrator::up(&db, None).await.expect("migrations");
        db
    }

    async fn organization(db: &DatabaseConnection) -> OrgId {
        use sea_orm::{ActiveModelTrait, Set};
        let now = chrono::Utc::now();
        let row = entity::organization::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set("Unit test".into()),
            slug: Set("unit-test".into()),
            display_name: Set(None),
            logo_url: Set(None),
            primary_color: Set("#000000".into()),
            secondary_color: Set("#ffffff".into()),
            time_zone: Set("Europe/Amsterdam".into()),
            currency: Set("EUR".into()),
            fiscal_year_start_month: Set(1),
            activity_open_window_days: Set(7),
            firm_id: Set(None),
            status: Set("ACTIVE".into()),
            deletion_due_at: Set(None),
            locale: Set("en".into()),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        };
        OrgId(row.insert(db).await.expect("organization").id)
    }

    #[tokio::test]
    async fn events_leave_after_the_commit_and_audit_entries_commit_with_the_change() {
        let db = database().await;
        let org = organization(&db).await;
        let bus = EventBus::new();
        let mut rx = bus.subscribe();
        let mut unit = Unit::begin(&db, &bus, org, Actor::System).await.expect("begin");
        unit.audit("thing.create", "Thing", None, None, None).await.expect("audit");
        unit.publish(Event::RulesChanged { org: org.0 });
        assert!(rx.try_recv().is_err(), "an event left before the commit");
        unit.commit().await.expect("commit");
        assert!(matches!(rx.try_recv(), Ok(Event::RulesChanged { org: o }) if o == org.0));
        assert_eq!(entity::audit_entry::Entity::find().count(&db).await.expect("count"), 1);
    }

    #[tokio::test]
    async fn a_unit_dropped_without_commit_publishes_nothing_and_keeps_no_audit_entry() {
        let db = database().await;
        let org = organization(&db).await;
        let bus = EventBus::new();
        let mut rx = bus.subscribe();
        {
            let mut unit = Unit::begin(&db, &bus, org, Actor::System).await.expect("begin");
            unit.audit("thing.create", "Thing", None, None, None).await.expect("audit");
            unit.publish(Event::RulesChanged { org: org.0 });
        }
        assert!(rx.try_recv().is_err(), "a rolled-back unit published");
        assert_eq!(entity::audit_entry::Entity::find().count(&db).await.expect("count"), 0);
    }
}
