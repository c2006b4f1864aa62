//! KPIs: custom definitions, weekly targets (history kept), self-reported values (every
//! change kept), week locks, alert rules and raised alerts; mystery-check criteria, rounds,
//! checks and their scores.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Kpis {
    Table,
    Id,
    OrganizationId,
    Key,
    Name,
    Description,
    Kind,
    Unit,
    Direction,
    ActivityTypeIds,
    NumeratorKey,
    DenominatorKey,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum KpiTargets {
    Table,
    Id,
    OrganizationId,
    KpiKey,
    SalesRole,
    MemberId,
    PerWeek,
    EffectiveFrom,
    Reason,
    SetBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum KpiReports {
    Table,
    Id,
    OrganizationId,
    KpiKey,
    MemberId,
    Week,
    Value,
    ReportedBy,
    ReportedAt,
}

#[derive(DeriveIden)]
enum KpiWeekLocks {
    Table,
    Id,
    OrganizationId,
    TeamId,
    Week,
    LockedBy,
    LockedAt,
}

#[derive(DeriveIden)]
enum AlertRules {
    Table,
    Id,
    OrganizationId,
    KpiKey,
    Kind,
    Periods,
    TeamId,
    SalesRole,
    Active,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Alerts {
    Table,
    Id,
    OrganizationId,
    RuleId,
    MemberId,
    KpiKey,
    Week,
    DedupeKey,
    Details,
    Status,
    AcknowledgedBy,
    AcknowledgedAt,
    AcknowledgeNote,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MysteryCriteria {
    Table,
    Id,
    OrganizationId,
    Name,
    Points,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MysteryRounds {
    Table,
    Id,
    OrganizationId,
    TeamId,
    Month,
    AuditorId,
    SamplesPerRep,
    Seed,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MysteryChecks {
    Table,
    Id,
    OrganizationId,
    RoundId,
    RepId,
    DealId,
    Results,
    TotalPoints,
    Note,
    ScoredAt,
}

fn org_fk(table: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, Alias::new("organization_id"))
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(name: &str, table: impl IntoIden + 'static, cols: &[&str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Kpis::Table)
                    .col(pk_uuid(Kpis::Id))
                    .col(uuid(Kpis::OrganizationId))
                    .col(string(Kpis::Key))
                    .col(string(Kpis::Name))
                    .col(text_null(Kpis::Description))
                    .col(string(Kpis::Kind))
                    .col(string(Kpis::Unit))
                    .col(string(Kpis::Direction))
                    .col(text(Kpis::ActivityTypeIds))
                    .col(string_null(Kpis::NumeratorKey))
                    .col(string_null(Kpis::DenominatorKey))
                    .col(boolean(Kpis::Active))
                    .col(timestamp_with_time_zone(Kpis::CreatedAt))
                    .col(timestamp_with_time_zone(Kpis::UpdatedAt))
                    .foreign_key(&mut org_fk(Kpis::Table))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("uq_kpis_key", Kpis::Table, &["organization_id", "key"], true)).await?;

        manager
            .create_table(
                Table::create()
                    .table(KpiTargets::Table)
                    .col(pk_uuid(KpiTargets::Id))
                    .col(uuid(KpiTargets::OrganizationId))
                    .col(string(KpiTargets::KpiKey))
                    .col(string_null(KpiTargets::SalesRole))
                    .col(uuid_null(KpiTargets::MemberId))
                    .col(string(KpiTargets::PerWeek))
                    .col(date(KpiTargets::EffectiveFrom))
                    .col(text(KpiTargets::Reason))
                    .col(uuid(KpiTargets::SetBy))
                    .col(timestamp_with_time_zone(KpiTargets::CreatedAt))
                    .foreign_key(&mut org_fk(KpiTargets::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_kpi_targets", KpiTargets::Table, &["organization_id", "kpi_key"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(KpiReports::Table)
                    .col(pk_uuid(KpiReports::Id))
                    .col(uuid(KpiReports::OrganizationId))
                    .col(string(KpiReports::KpiKey))
                    .col(uuid(KpiReports::MemberId))
                    .col(date(KpiReports::Week))
                    .col(string(KpiReports::Value))
                    .col(uuid(KpiReports::ReportedBy))
                    .col(timestamp_with_time_zone(KpiReports::ReportedAt))
                    .foreign_key(&mut org_fk(KpiReports::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_kpi_reports", KpiReports::Table, &["organization_id", "member_id", "week"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(KpiWeekLocks::Table)
                    .col(pk_uuid(KpiWeekLocks::Id))
                    .col(uuid(KpiWeekLocks::OrganizationId))
                    .col(uuid(KpiWeekLocks::TeamId))
                    .col(date(KpiWeekLocks::Week))
                    .col(uuid(KpiWeekLocks::LockedBy))
                    .col(timestamp_with_time_zone(KpiWeekLocks::LockedAt))
                    .foreign_key(&mut org_fk(KpiWeekLocks::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_kpi_week_locks",
                KpiWeekLocks::Table,
                &["organization_id", "team_id", "week"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AlertRules::Table)
                    .col(pk_uuid(AlertRules::Id))
                    .col(uuid(AlertRules::OrganizationId))
                    .col(string(AlertRules::KpiKey))
                    .col(string(AlertRules::Kind))
                    .col(integer(AlertRules::Periods))
                    .col(uuid_null(AlertRules::TeamId))
                    .col(string_null(AlertRules::SalesRole))
                    .col(boolean(AlertRules::Active))
                    .col(uuid(AlertRules::CreatedBy))
                    .col(timestamp_with_time_zone(AlertRules::CreatedAt))
                    .foreign_key(&mut org_fk(AlertRules::Table))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Alerts::Table)
                    .col(pk_uuid(Alerts::Id))
                    .col(uuid(Alerts::OrganizationId))
                    .col(uuid(Alerts::RuleId))
                    .col(uuid(Alerts::MemberId))
                    .col(string(Alerts::KpiKey))
                    .col(date(Alerts::Week))
                    .col(string(Alerts::DedupeKey))
                    .col(text(Alerts::Details))
                    .col(string(Alerts::Status))
                    .col(uuid_null(Alerts::AcknowledgedBy))
                    .col(timestamp_with_time_zone_null(Alerts::AcknowledgedAt))
                    .col(text_null(Alerts::AcknowledgeNote))
                    .col(timestamp_with_time_zone(Alerts::CreatedAt))
                    .foreign_key(&mut org_fk(Alerts::Table))
                    .to_owned(),
            )
            .await?;
        // An alert is raised once, however many instances evaluate the week.
        manager
            .create_index(index("uq_alerts_dedupe", Alerts::Table, &["organization_id", "dedupe_key"], true))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MysteryCriteria::Table)
                    .col(pk_uuid(MysteryCriteria::Id))
                    .col(uuid(MysteryCriteria::OrganizationId))
                    .col(string(MysteryCriteria::Name))
                    .col(integer(MysteryCriteria::Points))
                    .col(boolean(MysteryCriteria::Active))
                    .col(timestamp_with_time_zone(MysteryCriteria::CreatedAt))
                    .foreign_key(&mut org_fk(MysteryCriteria::Table))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MysteryRounds::Table)
                    .col(pk_uuid(MysteryRounds::Id))
                    .col(uuid(MysteryRounds::OrganizationId))
                    .col(uuid(MysteryRounds::TeamId))
                    .col(date(MysteryRounds::Month))
                    .col(uuid(MysteryRounds::AuditorId))
                    .col(integer(MysteryRounds::SamplesPerRep))
                    .col(big_integer(MysteryRounds::Seed))
                    .col(uuid(MysteryRounds::CreatedBy))
                    .col(timestamp_with_time_zone(MysteryRounds::CreatedAt))
                    .foreign_key(&mut org_fk(MysteryRounds::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_mystery_rounds",
                MysteryRounds::Table,
                &["organization_id", "team_id", "month"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MysteryChecks::Table)
                    .col(pk_uuid(MysteryChecks::Id))
                    .col(uuid(MysteryChecks::OrganizationId))
                    .col(uuid(MysteryChecks::RoundId))
                    .col(uuid(MysteryChecks::RepId))
                    .col(uuid(MysteryChecks::DealId))
                    .col(text_null(MysteryChecks::Results))
                    .col(integer_null(MysteryChecks::TotalPoints))
                    .col(text_null(MysteryChecks::Note))
                    .col(timestamp_with_time_zone_null(MysteryChecks::ScoredAt))
                    .foreign_key(&mut org_fk(MysteryChecks::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_mystery_checks_round",
                MysteryChecks::Table,
                &["organization_id", "round_id"],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MysteryChecks::Table.into_iden(),
            MysteryRounds::Table.into_iden(),
            MysteryCriteria::Table.into_iden(),
            Alerts::Table.into_iden(),
            AlertRules::Table.into_iden(),
            KpiWeekLocks::Table.into_iden(),
            KpiReports::Table.into_iden(),
            KpiTargets::Table.into_iden(),
            Kpis::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
