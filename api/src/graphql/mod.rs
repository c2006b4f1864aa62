//! Schema assembly: each domain contributes a `Query`/`Mutation`/`Subscription` segment,
//! merged here; limits, extensions and per-request data are set up in one place.

pub mod access;
pub mod apq;
pub mod cost;
pub mod documents;
pub mod keyset;
pub mod loaders;
pub mod observability;
pub mod relay;
pub mod response_cache;
pub mod scoped;

use async_graphql::{Context, MergedObject, MergedSubscription, Schema, SchemaBuilder, SimpleObject};

use crate::auth::{Auth, Principal};
use crate::error::{AppError, AppResult};
use crate::org::model::FieldError;
use crate::state::AppState;

/// The root query: every domain's query segment.
#[derive(MergedObject, Default)]
pub struct Query(
    crate::org::graphql::OrgQuery,
    crate::auth::graphql::AuthQuery,
    crate::auth::keys_graphql::ApiKeyQuery,
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
    relay_query::NodeQuery,
);

/// The root mutation: every domain's mutation segment.
#[derive(MergedObject, Default)]
pub struct Mutation(
    crate::org::graphql::OrgMutation,
    crate::auth::graphql::AuthMutation,
    crate::auth::keys_graphql::ApiKeyMutation,
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

/// The serving schema: services, observability and persisted queries.
pub fn build_schema(state: AppState) -> AppSchema {
    let builder = schema_builder()
        .extension(observability::Observability::new(state.metrics.clone()))
        .extension(apq::PersistedQueries::new(
            state.db.clone(),
            apq::Quota {
                queries: state.config.apq_max_queries_per_organization,
                bytes: state.config.apq_max_bytes_per_organization,
            },
        ))
        .extension(access::Access::new(
            state.limiter.clone(),
            usize::try_from(state.config.max_response_bytes).unwrap_or(usize::MAX),
        ));
    // Watching every resolved field costs a little per field: only when answers are kept.
    let builder = if state.responses.enabled() { builder.extension(response_cache::Probing) } else { builder };
    // After every check that may refuse a request (so execution counts as started only when
    // they all let it through), before the document cache (which would hide the document).
    let builder = builder.extension(crate::http::transport::HttpTransport);
    // Last, so innermost: the checks of the extensions above still see every document.
    builder.extension(documents::DocumentCache::default()).data(state).finish()
}

/// The SDL, as published in `schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

/// Something the user can fix, reported in a mutation payload instead of as an error.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    /// Path to the input field at fault, e.g. `["input", "email"]`; empty when not about one field.
    pub field: Vec<String>,
    /// What is wrong, in plain language.
    pub message: String,
    /// Machine-readable reason: `REQUIRED`, `INVALID`, `TOO_LONG`, `TAKEN`, `CYCLE`, …
    pub code: String,
}

impl From<FieldError> for UserError {
    fn from(e: FieldError) -> Self {
        UserError { field: e.field, message: e.message, code: e.code.to_owned() }
    }
}

/// Shortcuts every resolver uses.
pub trait ContextExt {
    /// The application services.
    fn state(&self) -> AppResult<&AppState>;
    /// The authentication state.
    fn auth(&self) -> &Auth;
    /// The authenticated member, or UNAUTHENTICATED.
    fn principal(&self) -> AppResult<&Principal>;
    /// The per-request DataLoader of the principal's tenant.
    fn loader(&self) -> AppResult<&async_graphql::dataloader::DataLoader<loaders::OrgLoader>>;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> AppResult<&AppState> {
        self.data::<AppState>().map_err(|_| AppError::Internal(anyhow::anyhow!("AppState missing from schema data")))
    }

    fn auth(&self) -> &Auth {
        self.data_opt::<Auth>().unwrap_or(&Auth::Anonymous)
    }

    fn principal(&self) -> AppResult<&Principal> {
        self.auth().principal()
    }

    fn loader(&self) -> AppResult<&async_graphql::dataloader::DataLoader<loaders::OrgLoader>> {
        self.principal()?;
        self.data::<async_graphql::dataloader::DataLoader<loaders::OrgLoader>>()
            .map_err(|_| AppError::Internal(anyhow::anyhow!("loader missing from request data")))
    }
}

/// Per-connection data of a WebSocket: the authentication state and the tenant's loader.
pub fn request_data(state: &AppState, auth: Auth) -> async_graphql::Data {
    let mut data = async_graphql::Data::default();
    if let Auth::Member(p) = &auth {
        data.insert(loaders::OrgLoader::data_loader(state.db.clone(), p.org));
    }
    data.insert(auth);
    data
}

/// Per-request data of an HTTP request: the same as [`request_data`].
pub fn with_request_data(request: async_graphql::Request, state: &AppState, auth: Auth) -> async_graphql::Request {
    let request = match &auth {
        Auth::Member(p) => request.data(loaders::OrgLoader::data_loader(state.db.clone(), p.org)),
        _ => request,
    };
    request.data(auth)
}

mod relay_query {
    use async_graphql::{Context, ID, Object, Result};

    use super::ContextExt;
    use super::relay::{NodeKind, decode_global_id};
    use crate::error::AppError;
    use crate::org::graphql::{Member, Node, Organization, Team};

    /// `node` and `nodes`: fetch any object by its global ID.
    #[derive(Default)]
    pub struct NodeQuery;

    #[Object]
    impl NodeQuery {
        /// Any object by its global ID, or null when it does not exist, was deleted, belongs to
        /// another organization or is out of the viewer's reach (the read rules of its own
        /// query field). A malformed ID is BAD_USER_INPUT (and null).
        #[graphql(complexity = "super::cost::node_cost(__field, child_complexity)")]
        async fn node(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "A global ID, as any object's `id` gives it.")] id: ID,
        ) -> Result<Option<Node>> {
            let found = load(ctx, &id).await;
            if !matches!(found, Ok(Some(_))) {
                super::cost::unresolved_nodes(ctx, 1, 0);
            }
            Ok(found?)
        }

        /// Several objects by global ID, in the given order; `null` where `node(id:)` would answer
        /// null, and `null` with an error (its path names the index) for a malformed ID. At most
        /// 200 IDs; each costs its selection.
        #[graphql(complexity = "super::cost::nodes_cost(__field, ids.len(), child_complexity)")]
        async fn nodes(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Global IDs, at most 200.")] ids: Vec<ID>,
        ) -> Result<Vec<Option<Node>>> {
            if ids.len() > super::relay::MAX_PAGE {
                return Err(AppError::bad_input("at most 200 IDs").into());
            }
            let mut out = Vec::with_capacity(ids.len());
            for (i, id) in ids.iter().enumerate() {
                match load(ctx, id).await {
                    Ok(node) => out.push(node),
                    Err(e @ AppError::BadUserInput(_)) => {
                        let mut error =
                            ctx.set_error_path(async_graphql::Error::from(e).into_server_error(ctx.item.pos));
                        error.path.push(async_graphql::PathSegment::Index(i));
                        ctx.add_error(error);
                        out.push(None);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            super::cost::unresolved_nodes(ctx, out.iter().filter(|n| n.is_none()).count(), 1);
            Ok(out)
        }
    }

    async fn load(ctx: &Context<'_>, id: &ID) -> crate::error::AppResult<Option<Node>> {
        let principal = ctx.principal()?;
        let (kind, uuid) = decode_global_id(id)?;
        // An API key reaches through `node` only the kinds its scopes open.
        if let Some(key) = &principal.api_key
            && !super::access::node_scopes(kind).iter().any(|n| key.scopes.iter().any(|s| s == n))
        {
            return Ok(None);
        }
        let loader = ctx.loader()?;
        Ok(match kind {
            NodeKind::Organization if uuid == principal.org.0 => {
                let state = ctx.state()?;
                crate::org::store::organization(principal.org, &state.db)
                    .await?
                    .map(|o| Node::Organization(Organization(o)))
            }
            NodeKind::Organization => None,
            NodeKind::Team => loader.load_one(super::loaders::TeamKey(uuid)).await?.map(|t| Node::Team(Team(t))),
            NodeKind::Member => {
                loader.load_one(super::loaders::MemberKey(uuid)).await?.map(|m| Node::Member(Member(m)))
            }
            NodeKind::ActivityType => loader
                .load_one(super::loaders::ActivityTypeKey(uuid))
                .await?
                .map(|t| Node::ActivityType(crate::scoring::graphql::ActivityType(t))),
            NodeKind::Campaign => loader
                .load_one(super::loaders::CampaignKey(uuid))
                .await?
                .map(|c| Node::Campaign(crate::scoring::graphql::Campaign(c))),
            NodeKind::PipelineStage => crate::pipeline::store::find_stage(principal.org, &ctx.state()?.db, uuid)
                .await?
                .map(|s| Node::PipelineStage(crate::pipeline::graphql::PipelineStage(s))),
            NodeKind::ChecklistItem => crate::pipeline::store::find_item(principal.org, &ctx.state()?.db, uuid)
                .await?
                .map(|i| Node::ChecklistItem(crate::pipeline::graphql::ChecklistItem(i))),
            NodeKind::Deal => {
                let db = &ctx.state()?.db;
                match crate::pipeline::store::find_deal(principal.org, db, uuid).await? {
                    Some(d) if crate::pipeline::graphql::may_read(principal, db, &d).await => {
                        Some(Node::Deal(crate::pipeline::graphql::Deal(d)))
                    }
                    _ => None,
                }
            }
            NodeKind::MysteryCriterion => crate::mystery::graphql::load_criterion(principal, &ctx.state()?.db, uuid)
                .await?
                .map(Node::MysteryCriterion),
            NodeKind::MysteryRound => {
                crate::mystery::graphql::load_round(principal, &ctx.state()?.db, uuid).await?.map(Node::MysteryRound)
            }
            NodeKind::MysteryCheck => {
                crate::mystery::graphql::load_check(principal, &ctx.state()?.db, uuid).await?.map(Node::MysteryCheck)
            }
            NodeKind::Activity => {
                let db = &ctx.state()?.db;
                match crate::scoring::store::find_activity(principal.org, db, uuid).await? {
                    Some(a) => {
                        let author = loader.load_one(super::loaders::MemberKey(a.member_id)).await?;
                        let access = crate::scoring::policy::ActivityAccess::of(principal, db).await?;
                        access
                            .may_read(a.member_id, author.and_then(|m| m.team_id))
                            .then(|| Node::Activity(crate::scoring::graphql::Activity(a)))
                    }
                    None => None,
                }
            }
            NodeKind::Territory => crate::territory::store::find(principal.org, &ctx.state()?.db, uuid)
                .await?
                .map(|t| Node::Territory(crate::territory::graphql::Territory(t))),
            NodeKind::TerritoryAssignment => {
                crate::territory::store::find_assignment(principal.org, &ctx.state()?.db, uuid)
                    .await?
                    .map(|a| Node::TerritoryAssignment(crate::territory::graphql::TerritoryAssignment(a)))
            }
            NodeKind::Quota => {
                crate::quota::graphql::load_for_node(principal, &ctx.state()?.db, uuid).await?.map(Node::Quota)
            }
            NodeKind::IncentivePlan
            | NodeKind::PlanAssignment
            | NodeKind::Statement
            | NodeKind::StatementLine
            | NodeKind::Dispute => crate::incentive::graphql::node(principal, &ctx.state()?.db, kind, uuid).await?,
            NodeKind::AuditEntry => crate::audit::graphql::node(principal, &ctx.state()?.db, uuid).await?,
            NodeKind::ApiKey => {
                crate::auth::keys_graphql::node(principal, &ctx.state()?.db, uuid).await?.map(Node::ApiKey)
            }
            NodeKind::Webhook | NodeKind::WebhookDelivery => {
                crate::webhooks::graphql::node(principal, &ctx.state()?.db, kind, uuid).await?
            }
            NodeKind::AlertRule => {
                crate::kpi::graphql::node_alert_rule(principal, &ctx.state()?.db, uuid).await?.map(Node::AlertRule)
            }
            NodeKind::Alert => {
                crate::kpi::graphql::node_alert(principal, &ctx.state()?.db, uuid).await?.map(Node::Alert)
            }
        })
    }
}
