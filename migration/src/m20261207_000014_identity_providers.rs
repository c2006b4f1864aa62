//! Identity providers per organization: each organization may name its own OpenID Connect
//! provider (issuer, audience, keys by URL or inline, the claim that names the member, and
//! whether a first sign-in creates the member). Members get the provider's subject, for
//! providers that name members by subject.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdentityProviders {
    Table,
    Id,
    OrganizationId,
    Issuer,
    Audience,
    JwksUrl,
    Jwks,
    MemberClaim,
    CreateMembers,
    DefaultRole,
    DefaultSalesRole,
    DefaultTeamId,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Members {
    Table,
    OrganizationId,
    ExternalSubject,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdentityProviders::Table)
                    .col(pk_uuid(IdentityProviders::Id))
                    .col(uuid_uniq(IdentityProviders::OrganizationId))
                    .col(string(IdentityProviders::Issuer))
                    .col(string(IdentityProviders::Audience))
                    .col(string_null(IdentityProviders::JwksUrl))
                    .col(text_null(IdentityProviders::Jwks))
                    .col(string(IdentityProviders::MemberClaim))
                    .col(boolean(IdentityProviders::CreateMembers))
                    .col(string(IdentityProviders::DefaultRole))
                    .col(string(IdentityProviders::DefaultSalesRole))
                    .col(uuid_null(IdentityProviders::DefaultTeamId))
                    .col(integer(IdentityProviders::Version))
                    .col(timestamp_with_time_zone(IdentityProviders::CreatedAt))
                    .col(timestamp_with_time_zone(IdentityProviders::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(IdentityProviders::Table, IdentityProviders::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Members::Table).add_column(string_null(Members::ExternalSubject)).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_members_external_subject")
                    .table(Members::Table)
                    .col(Members::OrganizationId)
                    .col(Members::ExternalSubject)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("uq_members_external_subject").table(Members::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Members::Table).drop_column(Members::ExternalSubject).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(IdentityProviders::Table).to_owned()).await
    }
}
