//! The pipeline: ordered stages with checklists, deals with splits, checklist completions
//! and the stage history that feeds the KPIs. Amounts are stored as integer cents.
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
    Id,
}

#[derive(DeriveIden)]
enum PipelineStages {
    Table,
    Id,
    OrganizationId,
    Name,
    Position,
    Kind,
    DefaultProbability,
    DefaultForecastCategory,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ChecklistItems {
    Table,
    Id,
    OrganizationId,
    StageId,
    Label,
    Kind,
    FieldName,
    Required,
    Position,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Deals {
    Table,
    Id,
    OrganizationId,
    Name,
    Company,
    OwnerId,
    AmountCents,
    StageId,
    Probability,
    ProbabilityManual,
    ForecastCategory,
    ForecastCategoryManual,
    ExpectedCloseDate,
    LeadSource,
    LeadCreatedAt,
    FirstContactAt,
    ClosedAt,
    Outcome,
    OutcomeReason,
    Address,
    Country,
    PostalCode,
    Industry,
    CompanySize,
    ExternalId,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DealSplits {
    Table,
    Id,
    OrganizationId,
    DealId,
    MemberId,
    Kind,
    Percent,
}

#[derive(DeriveIden)]
enum DealChecklist {
    Table,
    Id,
    OrganizationId,
    DealId,
    ItemId,
    CompletedAt,
    CompletedBy,
}

#[derive(DeriveIden)]
enum DealStageHistory {
    Table,
    Id,
    OrganizationId,
    DealId,
    FromStageId,
    ToStageId,
    ChangedAt,
    ChangedBy,
}

fn org_fk(table: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, Alias::new("organization_id"))
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(name: &str, table: impl IntoIden + 'static, cols: Vec<Alias>, unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(c);
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

fn cols(names: &[&str]) -> Vec<Alias> {
    names.iter().map(|n| Alias::new(*n)).collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PipelineStages::Table)
                    .col(pk_uuid(PipelineStages::Id))
                    .col(uuid(PipelineStages::OrganizationId))
                    .col(string(PipelineStages::Name))
                    .col(integer(PipelineStages::Position))
                    .col(string(PipelineStages::Kind))
                    .col(integer(PipelineStages::DefaultProbability))
                    .col(string(PipelineStages::DefaultForecastCategory))
                    .col(boolean(PipelineStages::Active))
                    .col(timestamp_with_time_zone(PipelineStages::CreatedAt))
                    .col(timestamp_with_time_zone(PipelineStages::UpdatedAt))
                    .foreign_key(&mut org_fk(PipelineStages::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_pipeline_stages_org",
                PipelineStages::Table,
                cols(&["organization_id", "position"]),
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ChecklistItems::Table)
                    .col(pk_uuid(ChecklistItems::Id))
                    .col(uuid(ChecklistItems::OrganizationId))
                    .col(uuid(ChecklistItems::StageId))
                    .col(string(ChecklistItems::Label))
                    .col(string(ChecklistItems::Kind))
                    .col(string_null(ChecklistItems::FieldName))
                    .col(boolean(ChecklistItems::Required))
                    .col(integer(ChecklistItems::Position))
                    .col(timestamp_with_time_zone(ChecklistItems::CreatedAt))
                    .foreign_key(&mut org_fk(ChecklistItems::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChecklistItems::Table, ChecklistItems::StageId)
                            .to(PipelineStages::Table, PipelineStages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_checklist_items_stage",
                ChecklistItems::Table,
                cols(&["organization_id", "stage_id"]),
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Deals::Table)
                    .col(pk_uuid(Deals::Id))
                    .col(uuid(Deals::OrganizationId))
                    .col(string(Deals::Name))
                    .col(string_null(Deals::Company))
                    .col(uuid(Deals::OwnerId))
                    .col(big_integer(Deals::AmountCents))
                    .col(uuid(Deals::StageId))
                    .col(integer(Deals::Probability))
                    .col(boolean(Deals::ProbabilityManual))
                    .col(string(Deals::ForecastCategory))
                    .col(boolean(Deals::ForecastCategoryManual))
                    .col(date_null(Deals::ExpectedCloseDate))
                    .col(string_null(Deals::LeadSource))
                    .col(timestamp_with_time_zone_null(Deals::LeadCreatedAt))
                    .col(timestamp_with_time_zone_null(Deals::FirstContactAt))
                    .col(timestamp_with_time_zone_null(Deals::ClosedAt))
                    .col(string_null(Deals::Outcome))
                    .col(text_null(Deals::OutcomeReason))
                    .col(text_null(Deals::Address))
                    .col(string_null(Deals::Country))
                    .col(string_null(Deals::PostalCode))
                    .col(string_null(Deals::Industry))
                    .col(integer_null(Deals::CompanySize))
                    .col(string_null(Deals::ExternalId))
                    .col(integer(Deals::Version))
                    .col(timestamp_with_time_zone(Deals::CreatedAt))
                    .col(timestamp_with_time_zone(Deals::UpdatedAt))
                    .foreign_key(&mut org_fk(Deals::Table))
                    .foreign_key(
                        ForeignKey::create().from(Deals::Table, Deals::OwnerId).to(Members::Table, Members::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Deals::Table, Deals::StageId)
                            .to(PipelineStages::Table, PipelineStages::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("uq_deals_external_id", Deals::Table, cols(&["organization_id", "external_id"]), true))
            .await?;
        manager
            .create_index(index("idx_deals_org_owner", Deals::Table, cols(&["organization_id", "owner_id"]), false))
            .await?;
        manager
            .create_index(index("idx_deals_org_stage", Deals::Table, cols(&["organization_id", "stage_id"]), false))
            .await?;
        manager
            .create_index(index(
                "idx_deals_org_close",
                Deals::Table,
                cols(&["organization_id", "expected_close_date"]),
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DealSplits::Table)
                    .col(pk_uuid(DealSplits::Id))
                    .col(uuid(DealSplits::OrganizationId))
                    .col(uuid(DealSplits::DealId))
                    .col(uuid(DealSplits::MemberId))
                    .col(string(DealSplits::Kind))
                    .col(integer(DealSplits::Percent))
                    .foreign_key(&mut org_fk(DealSplits::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DealSplits::Table, DealSplits::DealId)
                            .to(Deals::Table, Deals::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_deal_splits_deal",
                DealSplits::Table,
                cols(&["organization_id", "deal_id"]),
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DealChecklist::Table)
                    .col(pk_uuid(DealChecklist::Id))
                    .col(uuid(DealChecklist::OrganizationId))
                    .col(uuid(DealChecklist::DealId))
                    .col(uuid(DealChecklist::ItemId))
                    .col(timestamp_with_time_zone(DealChecklist::CompletedAt))
                    .col(uuid(DealChecklist::CompletedBy))
                    .foreign_key(&mut org_fk(DealChecklist::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DealChecklist::Table, DealChecklist::DealId)
                            .to(Deals::Table, Deals::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_deal_checklist",
                DealChecklist::Table,
                cols(&["organization_id", "deal_id", "item_id"]),
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DealStageHistory::Table)
                    .col(pk_uuid(DealStageHistory::Id))
                    .col(uuid(DealStageHistory::OrganizationId))
                    .col(uuid(DealStageHistory::DealId))
                    .col(uuid_null(DealStageHistory::FromStageId))
                    .col(uuid(DealStageHistory::ToStageId))
                    .col(timestamp_with_time_zone(DealStageHistory::ChangedAt))
                    .col(uuid(DealStageHistory::ChangedBy))
                    .foreign_key(&mut org_fk(DealStageHistory::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DealStageHistory::Table, DealStageHistory::DealId)
                            .to(Deals::Table, Deals::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_deal_stage_history",
                DealStageHistory::Table,
                cols(&["organization_id", "deal_id", "changed_at"]),
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DealStageHistory::Table.into_iden(),
            DealChecklist::Table.into_iden(),
            DealSplits::Table.into_iden(),
            Deals::Table.into_iden(),
            ChecklistItems::Table.into_iden(),
            PipelineStages::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
