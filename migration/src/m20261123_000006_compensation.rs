//! Territories, quotas, incentive plans, payout statements, disputes, clawbacks and the audit
//! log. Money is stored in cents (`*_cents`, i64); quota amounts in hundredths so one
//! column serves money, points and counts; rates and attainments as decimal strings.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Members {
    Table,
    RampPercents,
}

#[derive(DeriveIden)]
enum Deals {
    Table,
    TerritoryId,
    TerritoryManual,
}

#[derive(DeriveIden)]
enum Territories {
    Table,
    Id,
    OrganizationId,
    ParentId,
    Name,
    Kind,
    Rules,
    Archived,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TerritoryAssignments {
    Table,
    Id,
    OrganizationId,
    TerritoryId,
    MemberId,
    Role,
    StartsOn,
    EndsOn,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Quotas {
    Table,
    Id,
    OrganizationId,
    SubjectKind,
    SubjectId,
    Metric,
    ActivityTypeId,
    KpiKey,
    Grain,
    PeriodStart,
    Label,
    AmountHundredths,
    Manual,
    AllocatedFrom,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum IncentivePlans {
    Table,
    Id,
    OrganizationId,
    Name,
    Description,
    CurrentVersion,
    Archived,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PlanVersions {
    Table,
    Id,
    OrganizationId,
    PlanId,
    Version,
    Components,
    Locked,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PlanAssignments {
    Table,
    Id,
    OrganizationId,
    PlanId,
    MemberId,
    StartsOn,
    EndsOn,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Statements {
    Table,
    Id,
    OrganizationId,
    MemberId,
    Grain,
    PeriodStart,
    PeriodEnd,
    Version,
    Status,
    Current,
    PlanId,
    PlanVersionId,
    QuotaCents,
    CreditedCents,
    Attainment,
    TotalCents,
    DrawBalanceBeforeCents,
    DrawBalanceAfterCents,
    CreatedAt,
    ApprovedAt,
    ApprovedBy,
    PaidAt,
    PaidBy,
}

#[derive(DeriveIden)]
enum StatementLines {
    Table,
    Id,
    OrganizationId,
    StatementId,
    Position,
    Kind,
    Component,
    SourceKind,
    SourceId,
    CreditedBaseCents,
    Attainment,
    Tier,
    Rate,
    AmountCents,
    Explanation,
}

#[derive(DeriveIden)]
enum Disputes {
    Table,
    Id,
    OrganizationId,
    StatementId,
    LineId,
    MemberId,
    Reason,
    Status,
    Resolution,
    AdjustmentCents,
    ResolvedBy,
    ResolvedAt,
    AppliedStatementId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Clawbacks {
    Table,
    Id,
    OrganizationId,
    MemberId,
    DealId,
    OriginalLineId,
    AmountCents,
    Rate,
    Tier,
    CreditedBaseCents,
    Reason,
    AppliedStatementId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    OrganizationId,
    ActorId,
    Actor,
    Action,
    EntityType,
    EntityId,
    Before,
    After,
    At,
}

fn org_fk<T: IntoIden + 'static, C: IntoIden + 'static>(table: T, column: C) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    cols: Vec<DynIden>,
    unique: bool,
) -> Result<(), DbErr> {
    let mut stmt = Index::create().name(name).table(table).to_owned();
    for c in cols {
        stmt.col(c);
    }
    if unique {
        stmt.unique();
    }
    manager.create_index(stmt).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Territories::Table)
                    .col(pk_uuid(Territories::Id))
                    .col(uuid(Territories::OrganizationId))
                    .col(uuid_null(Territories::ParentId))
                    .col(string(Territories::Name))
                    .col(string(Territories::Kind))
                    .col(text(Territories::Rules))
                    .col(boolean(Territories::Archived))
                    .col(integer(Territories::Version))
                    .col(timestamp_with_time_zone(Territories::CreatedAt))
                    .col(timestamp_with_time_zone(Territories::UpdatedAt))
                    .foreign_key(&mut org_fk(Territories::Table, Territories::OrganizationId))
                    .to_owned(),
            )
            .await?;
        index(manager, "ix_territories_org", Territories::Table, vec![Territories::OrganizationId.into_iden()], false)
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TerritoryAssignments::Table)
                    .col(pk_uuid(TerritoryAssignments::Id))
                    .col(uuid(TerritoryAssignments::OrganizationId))
                    .col(uuid(TerritoryAssignments::TerritoryId))
                    .col(uuid(TerritoryAssignments::MemberId))
                    .col(string(TerritoryAssignments::Role))
                    .col(date(TerritoryAssignments::StartsOn))
                    .col(date_null(TerritoryAssignments::EndsOn))
                    .col(timestamp_with_time_zone(TerritoryAssignments::CreatedAt))
                    .foreign_key(&mut org_fk(TerritoryAssignments::Table, TerritoryAssignments::OrganizationId))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_territory_assignments",
            TerritoryAssignments::Table,
            vec![TerritoryAssignments::OrganizationId.into_iden(), TerritoryAssignments::TerritoryId.into_iden()],
            false,
        )
        .await?;
        manager
            .alter_table(Table::alter().table(Deals::Table).add_column(uuid_null(Deals::TerritoryId)).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Deals::Table)
                    .add_column(boolean(Deals::TerritoryManual).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(Members::Table).add_column(text_null(Members::RampPercents)).to_owned())
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Quotas::Table)
                    .col(pk_uuid(Quotas::Id))
                    .col(uuid(Quotas::OrganizationId))
                    .col(string(Quotas::SubjectKind))
                    .col(uuid(Quotas::SubjectId))
                    .col(string(Quotas::Metric))
                    .col(uuid_null(Quotas::ActivityTypeId))
                    .col(string_null(Quotas::KpiKey))
                    .col(string(Quotas::Grain))
                    .col(date(Quotas::PeriodStart))
                    .col(string(Quotas::Label))
                    .col(big_integer(Quotas::AmountHundredths))
                    .col(boolean(Quotas::Manual))
                    .col(uuid_null(Quotas::AllocatedFrom))
                    .col(integer(Quotas::Version))
                    .col(timestamp_with_time_zone(Quotas::CreatedAt))
                    .col(timestamp_with_time_zone(Quotas::UpdatedAt))
                    .foreign_key(&mut org_fk(Quotas::Table, Quotas::OrganizationId))
                    .to_owned(),
            )
            .await?;
        // One quota per subject, metric (with its activity type or KPI), period and label.
        // The optional columns are NULL-able, so uniqueness is also enforced in the store.
        index(
            manager,
            "ix_quotas_subject",
            Quotas::Table,
            vec![
                Quotas::OrganizationId.into_iden(),
                Quotas::SubjectId.into_iden(),
                Quotas::Grain.into_iden(),
                Quotas::PeriodStart.into_iden(),
            ],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(IncentivePlans::Table)
                    .col(pk_uuid(IncentivePlans::Id))
                    .col(uuid(IncentivePlans::OrganizationId))
                    .col(string(IncentivePlans::Name))
                    .col(text_null(IncentivePlans::Description))
                    .col(integer(IncentivePlans::CurrentVersion))
                    .col(boolean(IncentivePlans::Archived))
                    .col(timestamp_with_time_zone(IncentivePlans::CreatedAt))
                    .col(timestamp_with_time_zone(IncentivePlans::UpdatedAt))
                    .foreign_key(&mut org_fk(IncentivePlans::Table, IncentivePlans::OrganizationId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PlanVersions::Table)
                    .col(pk_uuid(PlanVersions::Id))
                    .col(uuid(PlanVersions::OrganizationId))
                    .col(uuid(PlanVersions::PlanId))
                    .col(integer(PlanVersions::Version))
                    .col(text(PlanVersions::Components))
                    .col(boolean(PlanVersions::Locked))
                    .col(uuid_null(PlanVersions::CreatedBy))
                    .col(timestamp_with_time_zone(PlanVersions::CreatedAt))
                    .foreign_key(&mut org_fk(PlanVersions::Table, PlanVersions::OrganizationId))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "uq_plan_versions",
            PlanVersions::Table,
            vec![PlanVersions::PlanId.into_iden(), PlanVersions::Version.into_iden()],
            true,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(PlanAssignments::Table)
                    .col(pk_uuid(PlanAssignments::Id))
                    .col(uuid(PlanAssignments::OrganizationId))
                    .col(uuid(PlanAssignments::PlanId))
                    .col(uuid(PlanAssignments::MemberId))
                    .col(date(PlanAssignments::StartsOn))
                    .col(date_null(PlanAssignments::EndsOn))
                    .col(timestamp_with_time_zone(PlanAssignments::CreatedAt))
                    .foreign_key(&mut org_fk(PlanAssignments::Table, PlanAssignments::OrganizationId))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_plan_assignments_member",
            PlanAssignments::Table,
            vec![PlanAssignments::OrganizationId.into_iden(), PlanAssignments::MemberId.into_iden()],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Statements::Table)
                    .col(pk_uuid(Statements::Id))
                    .col(uuid(Statements::OrganizationId))
                    .col(uuid(Statements::MemberId))
                    .col(string(Statements::Grain))
                    .col(date(Statements::PeriodStart))
                    .col(date(Statements::PeriodEnd))
                    .col(integer(Statements::Version))
                    .col(string(Statements::Status))
                    .col(boolean(Statements::Current))
                    .col(uuid(Statements::PlanId))
                    .col(uuid(Statements::PlanVersionId))
                    .col(big_integer_null(Statements::QuotaCents))
                    .col(big_integer(Statements::CreditedCents))
                    .col(string_null(Statements::Attainment))
                    .col(big_integer(Statements::TotalCents))
                    .col(big_integer(Statements::DrawBalanceBeforeCents))
                    .col(big_integer(Statements::DrawBalanceAfterCents))
                    .col(timestamp_with_time_zone(Statements::CreatedAt))
                    .col(timestamp_with_time_zone_null(Statements::ApprovedAt))
                    .col(uuid_null(Statements::ApprovedBy))
                    .col(timestamp_with_time_zone_null(Statements::PaidAt))
                    .col(uuid_null(Statements::PaidBy))
                    .foreign_key(&mut org_fk(Statements::Table, Statements::OrganizationId))
                    .to_owned(),
            )
            .await?;
        // At most one version per member, period and version number: two concurrent runs
        // cannot both write version N.
        index(
            manager,
            "uq_statements_version",
            Statements::Table,
            vec![
                Statements::OrganizationId.into_iden(),
                Statements::MemberId.into_iden(),
                Statements::Grain.into_iden(),
                Statements::PeriodStart.into_iden(),
                Statements::Version.into_iden(),
            ],
            true,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(StatementLines::Table)
                    .col(pk_uuid(StatementLines::Id))
                    .col(uuid(StatementLines::OrganizationId))
                    .col(uuid(StatementLines::StatementId))
                    .col(integer(StatementLines::Position))
                    .col(string(StatementLines::Kind))
                    .col(string_null(StatementLines::Component))
                    .col(string(StatementLines::SourceKind))
                    .col(uuid_null(StatementLines::SourceId))
                    .col(big_integer_null(StatementLines::CreditedBaseCents))
                    .col(string_null(StatementLines::Attainment))
                    .col(string_null(StatementLines::Tier))
                    .col(string_null(StatementLines::Rate))
                    .col(big_integer(StatementLines::AmountCents))
                    .col(text(StatementLines::Explanation))
                    .foreign_key(&mut org_fk(StatementLines::Table, StatementLines::OrganizationId))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_statement_lines_statement",
            StatementLines::Table,
            vec![StatementLines::StatementId.into_iden(), StatementLines::Position.into_iden()],
            false,
        )
        .await?;
        index(
            manager,
            "ix_statement_lines_source",
            StatementLines::Table,
            vec![StatementLines::OrganizationId.into_iden(), StatementLines::SourceId.into_iden()],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Disputes::Table)
                    .col(pk_uuid(Disputes::Id))
                    .col(uuid(Disputes::OrganizationId))
                    .col(uuid(Disputes::StatementId))
                    .col(uuid(Disputes::LineId))
                    .col(uuid(Disputes::MemberId))
                    .col(text(Disputes::Reason))
                    .col(string(Disputes::Status))
                    .col(text_null(Disputes::Resolution))
                    .col(big_integer_null(Disputes::AdjustmentCents))
                    .col(uuid_null(Disputes::ResolvedBy))
                    .col(timestamp_with_time_zone_null(Disputes::ResolvedAt))
                    .col(uuid_null(Disputes::AppliedStatementId))
                    .col(timestamp_with_time_zone(Disputes::CreatedAt))
                    .foreign_key(&mut org_fk(Disputes::Table, Disputes::OrganizationId))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_disputes_member",
            Disputes::Table,
            vec![Disputes::OrganizationId.into_iden(), Disputes::MemberId.into_iden()],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Clawbacks::Table)
                    .col(pk_uuid(Clawbacks::Id))
                    .col(uuid(Clawbacks::OrganizationId))
                    .col(uuid(Clawbacks::MemberId))
                    .col(uuid(Clawbacks::DealId))
                    .col(uuid(Clawbacks::OriginalLineId))
                    .col(big_integer(Clawbacks::AmountCents))
                    .col(string_null(Clawbacks::Rate))
                    .col(string_null(Clawbacks::Tier))
                    .col(big_integer_null(Clawbacks::CreditedBaseCents))
                    .col(text(Clawbacks::Reason))
                    .col(uuid_null(Clawbacks::AppliedStatementId))
                    .col(timestamp_with_time_zone(Clawbacks::CreatedAt))
                    .foreign_key(&mut org_fk(Clawbacks::Table, Clawbacks::OrganizationId))
                    .to_owned(),
            )
            .await?;
        // A line is clawed back once.
        index(manager, "uq_clawbacks_line", Clawbacks::Table, vec![Clawbacks::OriginalLineId.into_iden()], true)
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(pk_uuid(AuditLog::Id))
                    .col(uuid(AuditLog::OrganizationId))
                    .col(uuid_null(AuditLog::ActorId))
                    .col(string(AuditLog::Actor))
                    .col(string(AuditLog::Action))
                    .col(string(AuditLog::EntityType))
                    .col(uuid_null(AuditLog::EntityId))
                    .col(text_null(AuditLog::Before))
                    .col(text_null(AuditLog::After))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .foreign_key(&mut org_fk(AuditLog::Table, AuditLog::OrganizationId))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_audit_log_org_at",
            AuditLog::Table,
            vec![AuditLog::OrganizationId.into_iden(), AuditLog::At.into_iden()],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            Clawbacks::Table.into_iden(),
            Disputes::Table.into_iden(),
            StatementLines::Table.into_iden(),
            Statements::Table.into_iden(),
            PlanAssignments::Table.into_iden(),
            PlanVersions::Table.into_iden(),
            IncentivePlans::Table.into_iden(),
            Quotas::Table.into_iden(),
            TerritoryAssignments::Table.into_iden(),
            Territories::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager.alter_table(Table::alter().table(Members::Table).drop_column(Members::RampPercents).to_owned()).await?;
        manager.alter_table(Table::alter().table(Deals::Table).drop_column(Deals::TerritoryManual).to_owned()).await?;
        manager.alter_table(Table::alter().table(Deals::Table).drop_column(Deals::TerritoryId).to_owned()).await?;
        Ok(())
    }
}
