//! An organization's own wording for built-in names: a built-in KPI's name and description,
//! or an enum value's display label, per language.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LabelOverrides {
    Table,
    Id,
    OrganizationId,
    Subject,
    Key,
    Locale,
    Label,
    Description,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LabelOverrides::Table)
                    .col(pk_uuid(LabelOverrides::Id))
                    .col(uuid(LabelOverrides::OrganizationId))
                    .col(string(LabelOverrides::Subject))
                    .col(string(LabelOverrides::Key))
                    .col(string(LabelOverrides::Locale))
                    .col(string(LabelOverrides::Label))
                    .col(text_null(LabelOverrides::Description))
                    .col(timestamp_with_time_zone(LabelOverrides::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LabelOverrides::Table, LabelOverrides::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("label_overrides_one_per_language")
                    .table(LabelOverrides::Table)
                    .col(LabelOverrides::OrganizationId)
                    .col(LabelOverrides::Subject)
                    .col(LabelOverrides::Key)
                    .col(LabelOverrides::Locale)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(LabelOverrides::Table).to_owned()).await
    }
}
