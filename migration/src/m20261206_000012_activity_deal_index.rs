//! Activities are found by deal: the scoreboard's "quotes sent" asks which of a team's deals
//! have a counting quote activity, and without an index every such question read the whole
//! activities table (about 0.1 s per scoreboard at 1,000,000 activities). Partial: most
//! activities name no deal.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The same statement on PostgreSQL and SQLite (both have partial indexes).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_activities_org_deal ON activities (organization_id, deal_id) WHERE deal_id IS NOT NULL",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX idx_activities_org_deal").await.map(|_| ())
    }
}
