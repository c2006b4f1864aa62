//! Optimistic `version` on the configuration managers and admins edit in place:
//! teams, members, activity types, campaigns, pipeline stages, checklist items and custom KPIs.
//! An edit that names the version it read is refused with CONFLICT when someone else changed
//! the row since, instead of silently overwriting their change. Existing rows start at version 1.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Teams {
    Table,
}

#[derive(DeriveIden)]
enum Members {
    Table,
}

#[derive(DeriveIden)]
enum ActivityTypes {
    Table,
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
}

#[derive(DeriveIden)]
enum PipelineStages {
    Table,
}

#[derive(DeriveIden)]
enum ChecklistItems {
    Table,
}

#[derive(DeriveIden)]
enum Kpis {
    Table,
}

#[derive(DeriveIden)]
enum Versioned {
    Version,
}

fn tables() -> [DynIden; 7] {
    [
        Teams::Table.into_iden(),
        Members::Table.into_iden(),
        ActivityTypes::Table.into_iden(),
        Campaigns::Table.into_iden(),
        PipelineStages::Table.into_iden(),
        ChecklistItems::Table.into_iden(),
        Kpis::Table.into_iden(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One ALTER per table: SQLite adds one column per statement.
        for table in tables() {
            manager
                .alter_table(Table::alter().table(table).add_column(integer(Versioned::Version).default(1)).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager.alter_table(Table::alter().table(table).drop_column(Versioned::Version).to_owned()).await?;
        }
        Ok(())
    }
}
