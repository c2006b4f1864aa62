//! `node` and `nodes`: any object by its global ID, each loaded by its own domain within the
//! caller's permissions.

use async_graphql::{Context, ID, Interface, Object, Result};

use crate::core::error::AppError;
use crate::graphql::relay::{NodeKind, decode_global_id};
use crate::graphql::{ContextExt, access, cost, loaders, relay};
use crate::org::graphql::{Member, Organization, Team};

/// Anything with a global ID, fetchable through `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global ID; pass it to `node(id:)`."))]
pub enum Node {
    /// An organization.
    Organization(Organization),
    /// A team.
    Team(Team),
    /// A member.
    Member(Member),
    /// An activity type.
    ActivityType(crate::scoring::graphql::ActivityType),
    /// A logged activity.
    Activity(crate::scoring::graphql::Activity),
    /// A campaign.
    Campaign(crate::scoring::graphql::Campaign),
    /// A pipeline stage.
    PipelineStage(crate::pipeline::graphql::PipelineStage),
    /// A checklist item of a stage.
    ChecklistItem(crate::pipeline::graphql::ChecklistItem),
    /// A deal.
    Deal(crate::pipeline::graphql::Deal),
    /// A mystery-check criterion.
    MysteryCriterion(crate::mystery::graphql::MysteryCriterion),
    /// A mystery-check round.
    MysteryRound(crate::mystery::graphql::MysteryRound),
    /// A mystery check (one sampled deal).
    MysteryCheck(crate::mystery::graphql::MysteryCheck),
    /// A sales territory.
    Territory(crate::territory::graphql::Territory),
    /// A member's assignment to a territory.
    TerritoryAssignment(crate::territory::graphql::TerritoryAssignment),
    /// A quota.
    Quota(crate::quota::graphql::Quota),
    /// An incentive plan.
    IncentivePlan(crate::incentive::graphql::IncentivePlan),
    /// A member's assignment to an incentive plan.
    PlanAssignment(crate::incentive::graphql::PlanAssignment),
    /// A payout statement (one version).
    Statement(crate::incentive::graphql::Statement),
    /// A line of a payout statement.
    StatementLine(crate::incentive::graphql::StatementLine),
    /// A dispute of a statement line.
    Dispute(crate::incentive::graphql::Dispute),
    /// An audit-log entry.
    AuditEntry(crate::audit::graphql::AuditEntry),
    /// A pattern alert rule.
    AlertRule(crate::kpi::graphql::AlertRule),
    /// A raised alert.
    Alert(crate::kpi::graphql::Alert),
    /// An API key (admins).
    ApiKey(crate::auth::keys_graphql::ApiKey),
    /// A webhook (admins).
    Webhook(crate::webhooks::graphql::Webhook),
    /// A webhook delivery (admins).
    WebhookDelivery(crate::webhooks::graphql::WebhookDelivery),
}

/// `node` and `nodes`: fetch any object by its global ID.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global ID, or null when it does not exist, was deleted, belongs to
    /// another organization or is out of the viewer's reach (the read rules of its own
    /// query field). A malformed ID is BAD_USER_INPUT (and null).
    #[graphql(complexity = "cost::node_cost(__field, child_complexity)")]
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global ID, as any object's `id` gives it.")] id: ID,
    ) -> Result<Option<Node>> {
        let found = load(ctx, &id).await;
        if !matches!(found, Ok(Some(_))) {
            cost::unresolved_nodes(ctx, 1, 0);
        }
        Ok(found?)
    }

    /// Several objects by global ID, in the given order; `null` where `node(id:)` would answer
    /// null, and `null` with an error (its path names the index) for a malformed ID. At most
    /// 200 IDs; each costs its selection.
    #[graphql(complexity = "cost::nodes_cost(__field, ids.len(), child_complexity)")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global IDs, at most 200.")] ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        if ids.len() > relay::MAX_PAGE {
            return Err(AppError::bad_input("at most 200 IDs").into());
        }
        let mut out = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            match load(ctx, id).await {
                Ok(node) => out.push(node),
                Err(e @ AppError::BadUserInput(_)) => {
                    let mut error = ctx.set_error_path(async_graphql::Error::from(e).into_server_error(ctx.item.pos));
                    error.path.push(async_graphql::PathSegment::Index(i));
                    ctx.add_error(error);
                    out.push(None);
                }
                Err(e) => return Err(e.into()),
            }
        }
        cost::unresolved_nodes(ctx, out.iter().filter(|n| n.is_none()).count(), 1);
        Ok(out)
    }
}

async fn load(ctx: &Context<'_>, id: &ID) -> crate::core::error::AppResult<Option<Node>> {
    let principal = ctx.principal()?;
    let (kind, uuid) = decode_global_id(id)?;
    // An API key reaches through `node` only the kinds its scopes open.
    if let Some(key) = &principal.api_key
        && !access::node_scopes(kind).iter().any(|n| key.scopes.iter().any(|s| s == n))
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
        NodeKind::Team => crate::org::graphql::team_by_id(ctx, uuid).await?.map(Node::Team),
        NodeKind::Member => crate::org::graphql::member_by_id(ctx, uuid).await?.map(Node::Member),
        NodeKind::ActivityType => loader
            .load_one(loaders::ActivityTypeKey(uuid))
            .await?
            .map(|t| Node::ActivityType(crate::scoring::graphql::ActivityType(t))),
        NodeKind::Campaign => loader
            .load_one(loaders::CampaignKey(uuid))
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
                Some(d) if crate::pipeline::policy::may_read(principal, db, &d).await => {
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
                    let author = loader.load_one(loaders::MemberKey(a.member_id)).await?;
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
        | NodeKind::Dispute => {
            use crate::incentive::graphql::IncentiveNode as N;
            crate::incentive::graphql::node(principal, &ctx.state()?.db, kind, uuid).await?.map(|n| match n {
                N::IncentivePlan(x) => Node::IncentivePlan(x),
                N::PlanAssignment(x) => Node::PlanAssignment(x),
                N::Statement(x) => Node::Statement(x),
                N::StatementLine(x) => Node::StatementLine(x),
                N::Dispute(x) => Node::Dispute(x),
            })
        }
        NodeKind::AuditEntry => {
            crate::audit::graphql::node(principal, &ctx.state()?.db, uuid).await?.map(Node::AuditEntry)
        }
        NodeKind::ApiKey => crate::auth::keys_graphql::node(principal, &ctx.state()?.db, uuid).await?.map(Node::ApiKey),
        NodeKind::Webhook | NodeKind::WebhookDelivery => {
            use crate::webhooks::graphql::WebhookNode as N;
            crate::webhooks::graphql::node(principal, &ctx.state()?.db, kind, uuid).await?.map(|n| match n {
                N::Webhook(x) => Node::Webhook(x),
                N::WebhookDelivery(x) => Node::WebhookDelivery(x),
            })
        }
        NodeKind::AlertRule => {
            crate::kpi::graphql::node_alert_rule(principal, &ctx.state()?.db, uuid).await?.map(Node::AlertRule)
        }
        NodeKind::Alert => crate::kpi::graphql::node_alert(principal, &ctx.state()?.db, uuid).await?.map(Node::Alert),
        // A firm's staff belong to no organization; the firm reads them with `firm { staff }`.
        NodeKind::FirmStaff | NodeKind::Firm => None,
    })
}
