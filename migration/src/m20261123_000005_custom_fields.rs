//! Deal custom fields: the organization defines names and types; deals carry a JSON object
//! validated against them.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CustomFields {
    Table,
    Id,
    OrganizationId,
    Key,
    Label,
    FieldType,
    Choices,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Deals {
    Table,
    CustomFields,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CustomFields::Table)
                    .col(pk_uuid(CustomFields::Id))
                    .col(uuid(CustomFields::OrganizationId))
                    .col(string(CustomFields::Key))
                    .col(string(CustomFields::Label))
                    .col(string(CustomFields::FieldType))
                    .col(text(CustomFields::Choices))
                    .col(boolean(CustomFields::Active))
                    .col(timestamp_with_time_zone(CustomFields::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CustomFields::Table, CustomFields::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_custom_fields_key")
                    .table(CustomFields::Table)
                    .col(CustomFields::OrganizationId)
                    .col(CustomFields::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Deals::Table).add_column(text(Deals::CustomFields).default("{}")).to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Deals::Table).drop_column(Deals::CustomFields).to_owned()).await?;
        manager.drop_table(Table::drop().table(CustomFields::Table).to_owned()).await?;
        Ok(())
    }
}
