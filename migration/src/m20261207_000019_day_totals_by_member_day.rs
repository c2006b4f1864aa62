//! A member's day totals are read by day range far more often than by activity type: the
//! current week's ranking re-reads the members of every logging batch over the week, a score
//! reads its member over its period, a streak over 52 weeks. The unique key ordered
//! `(organization, member, activity type, day)` made each of those walk every day the member
//! ever logged (about 500 entries a member at 1,000,000 activities) and filter the days; with
//! the day before the type, the walk covers the asked days only. The uniqueness is the same, so
//! the logging upsert's `ON CONFLICT` still finds it.
//!
//! `(organization, day)` was indexed twice under two names; the second copy only cost writes.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // The new key exists before the old one goes, so the upsert always has one. The same
        // statements on PostgreSQL and SQLite.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX uq_activity_day_totals_member_day \
             ON activity_day_totals (organization_id, member_id, day, activity_type_id)",
        )
        .await?;
        db.execute_unprepared("DROP INDEX uq_activity_day_totals").await?;
        db.execute_unprepared("DROP INDEX ix_activity_day_totals_org_day").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_activity_day_totals_org_day ON activity_day_totals (organization_id, day)",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX uq_activity_day_totals \
             ON activity_day_totals (organization_id, member_id, activity_type_id, day)",
        )
        .await?;
        db.execute_unprepared("DROP INDEX uq_activity_day_totals_member_day").await?;
        Ok(())
    }
}
