//! Persisted queries get an owner: the organization whose member or API key registered the
//! text, and its size, so each organization's share of the store is bounded (count and bytes)
//! and its oldest entries make room for new ones. Registrations used to be open to anonymous
//! callers and never expired; the rows they left have no owner to charge, so the table starts
//! empty. Nothing is lost: the persisted-query protocol re-registers a hash on its first miss.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PersistedQueries {
    Table,
    Sha256,
    Query,
    OrganizationId,
    Bytes,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PersistedQueries::Table).to_owned()).await?;
        manager
            .create_table(
                Table::create()
                    .table(PersistedQueries::Table)
                    .col(string(PersistedQueries::Sha256).primary_key())
                    .col(text(PersistedQueries::Query))
                    .col(uuid(PersistedQueries::OrganizationId))
                    .col(integer(PersistedQueries::Bytes))
                    .col(timestamp_with_time_zone(PersistedQueries::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_persisted_queries_owner_age")
                    .table(PersistedQueries::Table)
                    .col(PersistedQueries::OrganizationId)
                    .col(PersistedQueries::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PersistedQueries::Table).to_owned()).await?;
        manager
            .create_table(
                Table::create()
                    .table(PersistedQueries::Table)
                    .col(string(PersistedQueries::Sha256).primary_key())
                    .col(text(PersistedQueries::Query))
                    .col(timestamp_with_time_zone(PersistedQueries::CreatedAt))
                    .to_owned(),
            )
            .await
    }
}
