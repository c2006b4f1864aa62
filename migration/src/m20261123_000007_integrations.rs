//! Forecast submissions and manager adjustments, API keys, webhooks and their delivery queue.
//! Money in cents.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ForecastSubmissions {
    Table,
    Id,
    OrganizationId,
    SubjectKind,
    SubjectId,
    Grain,
    PeriodStart,
    CommitCents,
    BestCaseCents,
    Note,
    SubmittedBy,
    SubmittedAt,
}

#[derive(DeriveIden)]
enum ForecastAdjustments {
    Table,
    Id,
    OrganizationId,
    SubjectKind,
    SubjectId,
    Grain,
    PeriodStart,
    CommitCents,
    BestCaseCents,
    Reason,
    AdjustedBy,
    AdjustedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    OrganizationId,
    Name,
    Prefix,
    SecretHash,
    Scopes,
    CreatedBy,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    OrganizationId,
    Url,
    Description,
    Events,
    Secret,
    Active,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    OrganizationId,
    WebhookId,
    EventType,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastStatusCode,
    LastError,
    CreatedAt,
    DeliveredAt,
}

fn org_fk<T: IntoIden + 'static, C: IntoIden + 'static>(table: T, column: C) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
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
                    .table(ForecastSubmissions::Table)
                    .col(pk_uuid(ForecastSubmissions::Id))
                    .col(uuid(ForecastSubmissions::OrganizationId))
                    .col(string(ForecastSubmissions::SubjectKind))
                    .col(uuid(ForecastSubmissions::SubjectId))
                    .col(string(ForecastSubmissions::Grain))
                    .col(date(ForecastSubmissions::PeriodStart))
                    .col(big_integer(ForecastSubmissions::CommitCents))
                    .col(big_integer(ForecastSubmissions::BestCaseCents))
                    .col(text_null(ForecastSubmissions::Note))
                    .col(uuid(ForecastSubmissions::SubmittedBy))
                    .col(timestamp_with_time_zone(ForecastSubmissions::SubmittedAt))
                    .foreign_key(&mut org_fk(ForecastSubmissions::Table, ForecastSubmissions::OrganizationId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_forecast_submissions_period")
                    .table(ForecastSubmissions::Table)
                    .col(ForecastSubmissions::OrganizationId)
                    .col(ForecastSubmissions::Grain)
                    .col(ForecastSubmissions::PeriodStart)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ForecastAdjustments::Table)
                    .col(pk_uuid(ForecastAdjustments::Id))
                    .col(uuid(ForecastAdjustments::OrganizationId))
                    .col(string(ForecastAdjustments::SubjectKind))
                    .col(uuid(ForecastAdjustments::SubjectId))
                    .col(string(ForecastAdjustments::Grain))
                    .col(date(ForecastAdjustments::PeriodStart))
                    .col(big_integer(ForecastAdjustments::CommitCents))
                    .col(big_integer(ForecastAdjustments::BestCaseCents))
                    .col(text(ForecastAdjustments::Reason))
                    .col(uuid(ForecastAdjustments::AdjustedBy))
                    .col(timestamp_with_time_zone(ForecastAdjustments::AdjustedAt))
                    .foreign_key(&mut org_fk(ForecastAdjustments::Table, ForecastAdjustments::OrganizationId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_forecast_adjustments_period")
                    .table(ForecastAdjustments::Table)
                    .col(ForecastAdjustments::OrganizationId)
                    .col(ForecastAdjustments::Grain)
                    .col(ForecastAdjustments::PeriodStart)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(pk_uuid(ApiKeys::Id))
                    .col(uuid(ApiKeys::OrganizationId))
                    .col(string(ApiKeys::Name))
                    .col(string(ApiKeys::Prefix))
                    .col(string(ApiKeys::SecretHash))
                    .col(text(ApiKeys::Scopes))
                    .col(uuid(ApiKeys::CreatedBy))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .foreign_key(&mut org_fk(ApiKeys::Table, ApiKeys::OrganizationId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_api_keys_prefix")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::Prefix)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .col(pk_uuid(Webhooks::Id))
                    .col(uuid(Webhooks::OrganizationId))
                    .col(text(Webhooks::Url))
                    .col(text_null(Webhooks::Description))
                    .col(text(Webhooks::Events))
                    .col(string(Webhooks::Secret))
                    .col(boolean(Webhooks::Active))
                    .col(uuid(Webhooks::CreatedBy))
                    .col(timestamp_with_time_zone(Webhooks::CreatedAt))
                    .foreign_key(&mut org_fk(Webhooks::Table, Webhooks::OrganizationId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(pk_uuid(WebhookDeliveries::Id))
                    .col(uuid(WebhookDeliveries::OrganizationId))
                    .col(uuid(WebhookDeliveries::WebhookId))
                    .col(string(WebhookDeliveries::EventType))
                    .col(text(WebhookDeliveries::Payload))
                    .col(string(WebhookDeliveries::Status))
                    .col(integer(WebhookDeliveries::Attempts))
                    .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::LockedUntil))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::DeliveredAt))
                    .foreign_key(&mut org_fk(WebhookDeliveries::Table, WebhookDeliveries::OrganizationId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookDeliveries::Table.into_iden(),
            Webhooks::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            ForecastAdjustments::Table.into_iden(),
            ForecastSubmissions::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
