//! Payout explanations in Dutch: a statement line keeps its explanation in Dutch beside the
//! English one. Lines computed before have none (NULL) and show the English text.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StatementLines {
    Table,
    ExplanationNl,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(StatementLines::Table)
                    .add_column(text_null(StatementLines::ExplanationNl))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(StatementLines::Table).drop_column(StatementLines::ExplanationNl).to_owned(),
            )
            .await
    }
}
