//! The schema, assembled on top of the domains: each contributes a `Query`/`Mutation`/
//! `Subscription` segment, merged here with `node`/`nodes`; limits and extensions are set up in
//! one place. The server (`crate::server`) sits above this and adds the HTTP transport.

pub mod links;
pub mod node;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

use crate::graphql::{access, apq, hooks, observability, scoped};
use crate::state::AppState;

/// The root query: every domain's query segment.
#[derive(MergedObject, Default)]
pub struct Query(
    crate::org::graphql::OrgQuery,
    crate::org::domains_graphql::DomainQuery,
    crate::org::labels_graphql::LabelQuery,
    crate::auth::graphql::AuthQuery,
    crate::auth::keys_graphql::ApiKeyQuery,
    crate::auth::providers_graphql::IdentityProviderQuery,
    crate::webhooks::graphql::WebhookQuery,
    crate::scoring::graphql::ScoringQuery,
    crate::pipeline::graphql::PipelineQuery,
    crate::kpi::graphql::KpiQuery,
    crate::kpi::graphql::AlertQuery,
    crate::mystery::graphql::MysteryQuery,
    crate::audit::graphql::AuditQuery,
    crate::territory::graphql::TerritoryQuery,
    crate::quota::graphql::QuotaQuery,
    crate::incentive::graphql::IncentiveQuery,
    crate::forecast::graphql::ForecastQuery,
    crate::firm::graphql::FirmQuery,
    node::NodeQuery,
);

/// The root mutation: every domain's mutation segment.
#[derive(MergedObject, Default)]
pub struct Mutation(
    crate::org::graphql::OrgMutation,
    crate::org::members::MemberMutation,
    crate::org::domains_graphql::DomainMutation,
    crate::org::labels_graphql::LabelMutation,
    crate::auth::graphql::AuthMutation,
    crate::auth::keys_graphql::ApiKeyMutation,
    crate::auth::providers_graphql::IdentityProviderMutation,
    crate::webhooks::graphql::WebhookMutation,
    crate::scoring::graphql::ScoringMutation,
    crate::pipeline::graphql::PipelineMutation,
    crate::kpi::graphql::KpiMutation,
    crate::kpi::graphql::AlertMutation,
    crate::mystery::graphql::MysteryMutation,
    crate::territory::graphql::TerritoryMutation,
    crate::quota::graphql::QuotaMutation,
    crate::incentive::graphql::IncentiveMutation,
    crate::forecast::graphql::ForecastMutation,
    crate::import::graphql::ImportMutation,
    crate::template::graphql::TemplateMutation,
    crate::firm::graphql::FirmMutation,
);

/// The root subscription: every domain's subscription segment.
#[derive(MergedSubscription, Default)]
pub struct Subscription(
    crate::org::graphql::OrgSubscription,
    crate::scoring::graphql::ScoringSubscription,
    crate::pipeline::graphql::PipelineSubscription,
    crate::kpi::graphql::AlertSubscription,
    crate::forecast::graphql::ForecastSubscription,
);

/// The executable schema: the merged roots, each behind the API-key scope check of [`scoped`].
pub type AppSchema = Schema<scoped::Scoped<Query>, scoped::Scoped<Mutation>, scoped::ScopedSubscription<Subscription>>;

/// Deepest accepted query.
pub const MAX_DEPTH: usize = 15;
/// Largest accepted complexity: each field costs 1, and a connection costs its page size
/// (`first`/`last`, default 50) times its selection.
pub const MAX_COMPLEXITY: usize = 5_000;

/// The schema with its limits, without services: enough to export the SDL, no database needed.
pub fn schema_builder()
-> SchemaBuilder<scoped::Scoped<Query>, scoped::Scoped<Mutation>, scoped::ScopedSubscription<Subscription>> {
    Schema::build(
        scoped::Scoped::query(Query::default()),
        scoped::Scoped::mutation(Mutation::default()),
        scoped::ScopedSubscription(Subscription::default()),
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .limit_recursive_depth(64)
    .limit_directives(32)
}

/// The serving schema: services and the request hooks (observability, persisted queries, the
/// access gates, the HTTP transport's view and the document cache, in one extension: see
/// [`crate::graphql::hooks`] for why one).
pub fn build_schema(state: AppState) -> AppSchema {
    let hooks = hooks::RequestHooks::new(
        observability::Observability::new(state.metrics.clone()),
        apq::PersistedQueries::new(
            state.db.clone(),
            apq::Quota {
                queries: state.config.apq_max_queries_per_organization,
                bytes: state.config.apq_max_bytes_per_organization,
            },
        ),
        access::Access::new(
            state.limiter.clone(),
            usize::try_from(state.config.max_response_bytes).unwrap_or(usize::MAX),
        ),
    );
    schema_builder()
        .extension(hooks)
        .data(std::sync::Arc::new(links::Links) as std::sync::Arc<dyn crate::objects::MemberLinks>)
        .data(crate::graphql::LocaleOf(|ctx| {
            Box::pin(async move { crate::org::graphql::request_locale(ctx).await.unwrap_or_default() })
        }))
        .data(state)
        .finish()
}

/// The SDL, as published in `schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}
