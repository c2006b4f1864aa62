//! Pipeline subscriptions: `dealChanged`.

use std::collections::HashSet;

use async_graphql::{Context, ID, Result, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::Deal;
use crate::core::error::AppError;
use crate::core::ids::OrgId;
use crate::core::roles::Role;
use crate::events::Event;
use crate::graphql::ContextExt;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::org::store as org_store;
use crate::pipeline::policy::require_deal_read;
use crate::pipeline::store;

// ---------------------------------------------------------------- subscriptions

/// Pipeline subscriptions.
#[derive(Default)]
pub struct PipelineSubscription;

#[Subscription]
impl PipelineSubscription {
    /// A deal was created or changed: one deal, the deals of a team's subtree, or every deal
    /// the viewer may read.
    async fn deal_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only deals owned in this team and its sub-teams.")] team_id: Option<ID>,
        #[graphql(desc = "Only this deal.")] deal_id: Option<ID>,
    ) -> Result<impl Stream<Item = Result<Deal>> + use<>> {
        let p = ctx.principal()?.clone();
        let state = ctx.state()?.clone();
        let db = state.db.clone();
        let deal_filter = match &deal_id {
            Some(id) => {
                let d = store::find_deal(p.org, &db, decode_id(id, NodeKind::Deal)?)
                    .await?
                    .ok_or(AppError::NotFound("deal"))?;
                require_deal_read(&p, &db, &d).await?;
                Some(d.id)
            }
            None => None,
        };
        let teams: Option<HashSet<Uuid>> = match &team_id {
            Some(id) => {
                let t = decode_id(id, NodeKind::Team)?;
                org_store::find_team(p.org, &db, t).await?.ok_or(AppError::NotFound("team"))?;
                if !matches!(p.role, Role::Admin | Role::Viewer) {
                    p.reach(&db).await?.require(Some(t), "this team")?;
                }
                Some(org_store::team_tree(p.org, &db).await?.subtree([t]))
            }
            None => None,
        };
        let mut rx = state.events.subscribe();
        let org = p.org;
        Ok(async_stream::stream! {
            loop {
                let (deal, team) = match rx.recv().await {
                    Ok(Event::DealChanged { org: o, deal, team }) if OrgId(o) == org => (deal, team),
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                };
                if deal_filter.is_some_and(|d| d != deal) {
                    continue;
                }
                if teams.as_ref().is_some_and(|set| !team.is_some_and(|t| set.contains(&t))) {
                    continue;
                }
                match store::find_deal(org, &db, deal).await {
                    Ok(Some(d)) => {
                        if require_deal_read(&p, &db, &d).await.is_ok() {
                            yield Ok(Deal(d));
                        }
                    }
                    Ok(None) => {}
                    Err(e) => yield Err(e.into()),
                }
            }
        })
    }
}
