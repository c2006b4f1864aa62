//! Host names per organization: a front end served on a client's own host finds its
//! organization from the request's host, once the organization proved it controls that host.
//! Organizations also get the moment a requested deletion erases them (after its grace period).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OrganizationDomains {
    Table,
    Id,
    OrganizationId,
    Host,
    VerificationToken,
    VerifiedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    DeletionDueAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrganizationDomains::Table)
                    .col(pk_uuid(OrganizationDomains::Id))
                    .col(uuid(OrganizationDomains::OrganizationId))
                    .col(string_uniq(OrganizationDomains::Host))
                    .col(string(OrganizationDomains::VerificationToken))
                    .col(timestamp_with_time_zone_null(OrganizationDomains::VerifiedAt))
                    .col(timestamp_with_time_zone(OrganizationDomains::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OrganizationDomains::Table, OrganizationDomains::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(timestamp_with_time_zone_null(Organizations::DeletionDueAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Organizations::Table).drop_column(Organizations::DeletionDueAt).to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(OrganizationDomains::Table).to_owned()).await
    }
}
