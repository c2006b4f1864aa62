//! Organizations, teams, members, refresh tokens and persisted queries.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Name,
    Slug,
    DisplayName,
    LogoUrl,
    PrimaryColor,
    SecondaryColor,
    TimeZone,
    Currency,
    FiscalYearStartMonth,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Teams {
    Table,
    Id,
    OrganizationId,
    Name,
    Description,
    ParentTeamId,
    ManagerId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Members {
    Table,
    Id,
    OrganizationId,
    Name,
    Email,
    Role,
    SalesRole,
    TeamId,
    StartDate,
    Active,
    PasswordHash,
    DeactivatedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    OrganizationId,
    MemberId,
    FamilyId,
    TokenHash,
    ExpiresAt,
    UsedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PersistedQueries {
    Table,
    Sha256,
    Query,
    CreatedAt,
}

fn org_fk<T: IntoIden + 'static>(table: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, Alias::new("organization_id"))
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(pk_uuid(Organizations::Id))
                    .col(string(Organizations::Name))
                    .col(string_uniq(Organizations::Slug))
                    .col(string_null(Organizations::DisplayName))
                    .col(text_null(Organizations::LogoUrl))
                    .col(string(Organizations::PrimaryColor))
                    .col(string(Organizations::SecondaryColor))
                    .col(string(Organizations::TimeZone))
                    .col(string(Organizations::Currency))
                    .col(integer(Organizations::FiscalYearStartMonth))
                    .col(integer(Organizations::Version).default(1))
                    .col(timestamp_with_time_zone(Organizations::CreatedAt))
                    .col(timestamp_with_time_zone(Organizations::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Teams::Table)
                    .col(pk_uuid(Teams::Id))
                    .col(uuid(Teams::OrganizationId))
                    .col(string(Teams::Name))
                    .col(text_null(Teams::Description))
                    .col(uuid_null(Teams::ParentTeamId))
                    .col(uuid_null(Teams::ManagerId))
                    .col(timestamp_with_time_zone(Teams::CreatedAt))
                    .col(timestamp_with_time_zone(Teams::UpdatedAt))
                    .foreign_key(&mut org_fk(Teams::Table))
                    .foreign_key(
                        ForeignKey::create().from(Teams::Table, Teams::ParentTeamId).to(Teams::Table, Teams::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_teams_org_parent")
                    .table(Teams::Table)
                    .col(Teams::OrganizationId)
                    .col(Teams::ParentTeamId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Members::Table)
                    .col(pk_uuid(Members::Id))
                    .col(uuid(Members::OrganizationId))
                    .col(string(Members::Name))
                    .col(string(Members::Email))
                    .col(string(Members::Role))
                    .col(string(Members::SalesRole))
                    .col(uuid_null(Members::TeamId))
                    .col(date(Members::StartDate))
                    .col(boolean(Members::Active))
                    .col(text_null(Members::PasswordHash))
                    .col(timestamp_with_time_zone_null(Members::DeactivatedAt))
                    .col(timestamp_with_time_zone(Members::CreatedAt))
                    .col(timestamp_with_time_zone(Members::UpdatedAt))
                    .foreign_key(&mut org_fk(Members::Table))
                    .foreign_key(ForeignKey::create().from(Members::Table, Members::TeamId).to(Teams::Table, Teams::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_members_org_email")
                    .table(Members::Table)
                    .col(Members::OrganizationId)
                    .col(Members::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_members_org_team")
                    .table(Members::Table)
                    .col(Members::OrganizationId)
                    .col(Members::TeamId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(pk_uuid(RefreshTokens::Id))
                    .col(uuid(RefreshTokens::OrganizationId))
                    .col(uuid(RefreshTokens::MemberId))
                    .col(uuid(RefreshTokens::FamilyId))
                    .col(string_uniq(RefreshTokens::TokenHash))
                    .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
                    .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                    .foreign_key(&mut org_fk(RefreshTokens::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RefreshTokens::Table, RefreshTokens::MemberId)
                            .to(Members::Table, Members::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_org_family")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::OrganizationId)
                    .col(RefreshTokens::FamilyId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PersistedQueries::Table)
                    .col(string(PersistedQueries::Sha256).primary_key())
                    .col(text(PersistedQueries::Query))
                    .col(timestamp_with_time_zone(PersistedQueries::CreatedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PersistedQueries::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Members::Table.into_iden(),
            Teams::Table.into_iden(),
            Organizations::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
