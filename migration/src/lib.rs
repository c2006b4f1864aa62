//! Scorebord's schema migrations. They run unchanged on SQLite and PostgreSQL:
//! only sea-query column types, no backend-specific SQL.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_foundation;
mod m20261123_000002_scoring;
mod m20261123_000003_pipeline;
mod m20261123_000004_kpi;
mod m20261123_000005_custom_fields;
mod m20261123_000006_compensation;
mod m20261123_000007_integrations;
mod m20261124_000008_edit_versions;
mod m20261206_000009_self_log_ceilings;
mod m20261206_000010_persisted_query_owners;
mod m20261206_000011_member_avatars;
mod m20261206_000012_activity_deal_index;
mod m20261207_000013_firms;
mod m20261207_000014_identity_providers;
mod m20261207_000015_organization_domains;
mod m20261207_000016_locales;
mod m20261207_000017_payout_explanations_nl;
mod m20261207_000018_label_overrides;
mod m20261207_000019_day_totals_by_member_day;

/// All migrations in order. Run at `scorebord serve` start and by `scorebord migrate`.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_foundation::Migration),
            Box::new(m20261123_000002_scoring::Migration),
            Box::new(m20261123_000003_pipeline::Migration),
            Box::new(m20261123_000004_kpi::Migration),
            Box::new(m20261123_000005_custom_fields::Migration),
            Box::new(m20261123_000006_compensation::Migration),
            Box::new(m20261123_000007_integrations::Migration),
            Box::new(m20261124_000008_edit_versions::Migration),
            Box::new(m20261206_000009_self_log_ceilings::Migration),
            Box::new(m20261206_000010_persisted_query_owners::Migration),
            Box::new(m20261206_000011_member_avatars::Migration),
            Box::new(m20261206_000012_activity_deal_index::Migration),
            Box::new(m20261207_000013_firms::Migration),
            Box::new(m20261207_000014_identity_providers::Migration),
            Box::new(m20261207_000015_organization_domains::Migration),
            Box::new(m20261207_000016_locales::Migration),
            Box::new(m20261207_000017_payout_explanations_nl::Migration),
            Box::new(m20261207_000018_label_overrides::Migration),
            Box::new(m20261207_000019_day_totals_by_member_day::Migration),
        ]
    }
}
