//! The points engine: activity types, activities, progress of long-running work, campaigns,
//! points targets, and per-member-per-type-per-day totals kept in the activity's transaction.
//!
//! Points are stored as integer hundredths (`*_cents`): exact on both backends, and `SUM`
//! stays an integer sum (SQLite has no decimal type).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    ActivityOpenWindowDays,
}

#[derive(DeriveIden)]
enum Members {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ActivityTypes {
    Table,
    Id,
    OrganizationId,
    Name,
    Description,
    Category,
    Unit,
    PointsCents,
    StepPercent,
    KpiKey,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Activities {
    Table,
    Id,
    OrganizationId,
    MemberId,
    ActivityTypeId,
    Quantity,
    ProgressPercent,
    WorkItemKey,
    BasePointsCents,
    MultiplierCents,
    PointsCents,
    CampaignId,
    OccurredAt,
    LocalDate,
    DealId,
    Note,
    Source,
    LoggedBy,
    IdempotencyKey,
    VoidedAt,
    VoidedBy,
    VoidReason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WorkItemProgress {
    Table,
    Id,
    OrganizationId,
    MemberId,
    ActivityTypeId,
    WorkItemKey,
    Percent,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    OrganizationId,
    Name,
    Theme,
    Reward,
    StartsAt,
    EndsAt,
    EndedAt,
    MultiplierCents,
    ActivityTypeIds,
    TeamIds,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PointsTargets {
    Table,
    Id,
    OrganizationId,
    SalesRole,
    MemberId,
    WeeklyPointsCents,
    EffectiveFrom,
    Reason,
    SetBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ActivityDayTotals {
    Table,
    Id,
    OrganizationId,
    MemberId,
    ActivityTypeId,
    Day,
    PointsCents,
    ActivityCount,
}

fn org_fk(table: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, Alias::new("organization_id"))
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn member_fk(table: impl IntoIden + 'static, column: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, column).to(Members::Table, Members::Id).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(integer(Organizations::ActivityOpenWindowDays).default(35))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ActivityTypes::Table)
                    .col(pk_uuid(ActivityTypes::Id))
                    .col(uuid(ActivityTypes::OrganizationId))
                    .col(string(ActivityTypes::Name))
                    .col(text_null(ActivityTypes::Description))
                    .col(string(ActivityTypes::Category))
                    .col(string(ActivityTypes::Unit))
                    .col(big_integer(ActivityTypes::PointsCents))
                    .col(integer_null(ActivityTypes::StepPercent))
                    .col(string_null(ActivityTypes::KpiKey))
                    .col(boolean(ActivityTypes::Active))
                    .col(timestamp_with_time_zone(ActivityTypes::CreatedAt))
                    .col(timestamp_with_time_zone(ActivityTypes::UpdatedAt))
                    .foreign_key(&mut org_fk(ActivityTypes::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_activity_types_org")
                    .table(ActivityTypes::Table)
                    .col(ActivityTypes::OrganizationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Activities::Table)
                    .col(pk_uuid(Activities::Id))
                    .col(uuid(Activities::OrganizationId))
                    .col(uuid(Activities::MemberId))
                    .col(uuid(Activities::ActivityTypeId))
                    .col(integer_null(Activities::Quantity))
                    .col(integer_null(Activities::ProgressPercent))
                    .col(string_null(Activities::WorkItemKey))
                    .col(big_integer(Activities::BasePointsCents))
                    .col(big_integer(Activities::MultiplierCents))
                    .col(big_integer(Activities::PointsCents))
                    .col(uuid_null(Activities::CampaignId))
                    .col(timestamp_with_time_zone(Activities::OccurredAt))
                    .col(date(Activities::LocalDate))
                    .col(uuid_null(Activities::DealId))
                    .col(text_null(Activities::Note))
                    .col(string(Activities::Source))
                    .col(uuid(Activities::LoggedBy))
                    .col(string_null(Activities::IdempotencyKey))
                    .col(timestamp_with_time_zone_null(Activities::VoidedAt))
                    .col(uuid_null(Activities::VoidedBy))
                    .col(text_null(Activities::VoidReason))
                    .col(timestamp_with_time_zone(Activities::CreatedAt))
                    .foreign_key(&mut org_fk(Activities::Table))
                    .foreign_key(&mut member_fk(Activities::Table, Activities::MemberId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Activities::Table, Activities::ActivityTypeId)
                            .to(ActivityTypes::Table, ActivityTypes::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // A retried write finds its original through this index; NULL keys never collide.
        manager
            .create_index(
                Index::create()
                    .name("uq_activities_idempotency")
                    .table(Activities::Table)
                    .col(Activities::OrganizationId)
                    .col(Activities::MemberId)
                    .col(Activities::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_activities_org_member_time")
                    .table(Activities::Table)
                    .col(Activities::OrganizationId)
                    .col(Activities::MemberId)
                    .col(Activities::OccurredAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_activities_org_time")
                    .table(Activities::Table)
                    .col(Activities::OrganizationId)
                    .col(Activities::OccurredAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WorkItemProgress::Table)
                    .col(pk_uuid(WorkItemProgress::Id))
                    .col(uuid(WorkItemProgress::OrganizationId))
                    .col(uuid(WorkItemProgress::MemberId))
                    .col(uuid(WorkItemProgress::ActivityTypeId))
                    .col(string(WorkItemProgress::WorkItemKey))
                    .col(integer(WorkItemProgress::Percent))
                    .col(timestamp_with_time_zone(WorkItemProgress::UpdatedAt))
                    .foreign_key(&mut org_fk(WorkItemProgress::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_work_item_progress")
                    .table(WorkItemProgress::Table)
                    .col(WorkItemProgress::OrganizationId)
                    .col(WorkItemProgress::MemberId)
                    .col(WorkItemProgress::ActivityTypeId)
                    .col(WorkItemProgress::WorkItemKey)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Campaigns::Table)
                    .col(pk_uuid(Campaigns::Id))
                    .col(uuid(Campaigns::OrganizationId))
                    .col(string(Campaigns::Name))
                    .col(text_null(Campaigns::Theme))
                    .col(text_null(Campaigns::Reward))
                    .col(timestamp_with_time_zone(Campaigns::StartsAt))
                    .col(timestamp_with_time_zone(Campaigns::EndsAt))
                    .col(timestamp_with_time_zone_null(Campaigns::EndedAt))
                    .col(big_integer(Campaigns::MultiplierCents))
                    .col(text(Campaigns::ActivityTypeIds))
                    .col(text(Campaigns::TeamIds))
                    .col(timestamp_with_time_zone(Campaigns::CreatedAt))
                    .col(timestamp_with_time_zone(Campaigns::UpdatedAt))
                    .foreign_key(&mut org_fk(Campaigns::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_campaigns_org_window")
                    .table(Campaigns::Table)
                    .col(Campaigns::OrganizationId)
                    .col(Campaigns::StartsAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PointsTargets::Table)
                    .col(pk_uuid(PointsTargets::Id))
                    .col(uuid(PointsTargets::OrganizationId))
                    .col(string_null(PointsTargets::SalesRole))
                    .col(uuid_null(PointsTargets::MemberId))
                    .col(big_integer(PointsTargets::WeeklyPointsCents))
                    .col(date(PointsTargets::EffectiveFrom))
                    .col(text(PointsTargets::Reason))
                    .col(uuid(PointsTargets::SetBy))
                    .col(timestamp_with_time_zone(PointsTargets::CreatedAt))
                    .foreign_key(&mut org_fk(PointsTargets::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_points_targets_org")
                    .table(PointsTargets::Table)
                    .col(PointsTargets::OrganizationId)
                    .col(PointsTargets::EffectiveFrom)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ActivityDayTotals::Table)
                    .col(pk_uuid(ActivityDayTotals::Id))
                    .col(uuid(ActivityDayTotals::OrganizationId))
                    .col(uuid(ActivityDayTotals::MemberId))
                    .col(uuid(ActivityDayTotals::ActivityTypeId))
                    .col(date(ActivityDayTotals::Day))
                    .col(big_integer(ActivityDayTotals::PointsCents))
                    .col(big_integer(ActivityDayTotals::ActivityCount))
                    .foreign_key(&mut org_fk(ActivityDayTotals::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_activity_day_totals")
                    .table(ActivityDayTotals::Table)
                    .col(ActivityDayTotals::OrganizationId)
                    .col(ActivityDayTotals::MemberId)
                    .col(ActivityDayTotals::ActivityTypeId)
                    .col(ActivityDayTotals::Day)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_activity_day_totals_org_day")
                    .table(ActivityDayTotals::Table)
                    .col(ActivityDayTotals::OrganizationId)
                    .col(ActivityDayTotals::Day)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ActivityDayTotals::Table.into_iden(),
            PointsTargets::Table.into_iden(),
            Campaigns::Table.into_iden(),
            WorkItemProgress::Table.into_iden(),
            Activities::Table.into_iden(),
            ActivityTypes::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .drop_column(Organizations::ActivityOpenWindowDays)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
