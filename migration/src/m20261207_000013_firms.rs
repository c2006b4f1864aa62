//! Consulting firms: a firm owns client organizations, and its staff sign in once and act in
//! any of its clients with the role the firm grants them there. Organizations get the firm
//! that owns them (none for a single-company install) and a status (`ACTIVE`, `SUSPENDED`).
//! The day totals get an index by organization and day, which a firm's usage overview reads.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Firms {
    Table,
    Id,
    Name,
    Slug,
    CreatedAt,
}

#[derive(DeriveIden)]
enum FirmStaff {
    Table,
    Id,
    FirmId,
    Name,
    Email,
    PasswordHash,
    Role,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum FirmGrants {
    Table,
    Id,
    FirmId,
    StaffId,
    ClientId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    FirmId,
    Status,
}

#[derive(DeriveIden)]
enum ActivityDayTotals {
    Table,
    OrganizationId,
    Day,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Firms::Table)
                    .col(pk_uuid(Firms::Id))
                    .col(string(Firms::Name))
                    .col(string_uniq(Firms::Slug))
                    .col(timestamp_with_time_zone(Firms::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FirmStaff::Table)
                    .col(pk_uuid(FirmStaff::Id))
                    .col(uuid(FirmStaff::FirmId))
                    .col(string(FirmStaff::Name))
                    .col(string(FirmStaff::Email))
                    .col(string(FirmStaff::PasswordHash))
                    .col(string(FirmStaff::Role))
                    .col(boolean(FirmStaff::Active))
                    .col(timestamp_with_time_zone(FirmStaff::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(FirmStaff::Table, FirmStaff::FirmId)
                            .to(Firms::Table, Firms::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_firm_staff_email")
                    .table(FirmStaff::Table)
                    .col(FirmStaff::FirmId)
                    .col(FirmStaff::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Organizations::Table).add_column(uuid_null(Organizations::FirmId)).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(string(Organizations::Status).default("ACTIVE"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_organizations_firm")
                    .table(Organizations::Table)
                    .col(Organizations::FirmId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FirmGrants::Table)
                    .col(pk_uuid(FirmGrants::Id))
                    .col(uuid(FirmGrants::FirmId))
                    .col(uuid(FirmGrants::StaffId))
                    .col(uuid(FirmGrants::ClientId))
                    .col(string(FirmGrants::Role))
                    .col(timestamp_with_time_zone(FirmGrants::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(FirmGrants::Table, FirmGrants::StaffId)
                            .to(FirmStaff::Table, FirmStaff::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(FirmGrants::Table, FirmGrants::ClientId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_firm_grants")
                    .table(FirmGrants::Table)
                    .col(FirmGrants::StaffId)
                    .col(FirmGrants::ClientId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_activity_day_totals_org_day")
                    .table(ActivityDayTotals::Table)
                    .col(ActivityDayTotals::OrganizationId)
                    .col(ActivityDayTotals::Day)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ix_activity_day_totals_org_day").table(ActivityDayTotals::Table).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(FirmGrants::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("ix_organizations_firm").table(Organizations::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Organizations::Table).drop_column(Organizations::Status).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Organizations::Table).drop_column(Organizations::FirmId).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(FirmStaff::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Firms::Table).to_owned()).await
    }
}
