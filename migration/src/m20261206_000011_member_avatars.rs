//! Members get an avatar: the URL of a picture that boards and phone screens show beside the
//! name. Empty for every existing member.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Members {
    Table,
    AvatarUrl,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Members::Table).add_column(text_null(Members::AvatarUrl)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Members::Table).drop_column(Members::AvatarUrl).to_owned()).await
    }
}
