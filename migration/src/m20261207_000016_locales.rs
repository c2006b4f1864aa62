//! Languages: each organization answers in its locale (`en` or `nl`), and a member may choose
//! their own.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Locale,
}

#[derive(DeriveIden)]
enum Members {
    Table,
    Locale,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(string(Organizations::Locale).default("en"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(Members::Table).add_column(string_null(Members::Locale)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Members::Table).drop_column(Members::Locale).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Organizations::Table).drop_column(Organizations::Locale).to_owned())
            .await
    }
}
