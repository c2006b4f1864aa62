//! Ceilings on what a member may log for themself per activity type: the most units in one
//! activity and the most units per local day. Empty means the server's defaults, so existing
//! types get them without a data change.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ActivityTypes {
    Table,
    SelfMaxQuantityPerActivity,
    SelfMaxQuantityPerDay,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One ALTER per column: SQLite adds one column per statement.
        for column in [ActivityTypes::SelfMaxQuantityPerActivity, ActivityTypes::SelfMaxQuantityPerDay] {
            manager
                .alter_table(Table::alter().table(ActivityTypes::Table).add_column(integer_null(column)).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [ActivityTypes::SelfMaxQuantityPerActivity, ActivityTypes::SelfMaxQuantityPerDay] {
            manager.alter_table(Table::alter().table(ActivityTypes::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
