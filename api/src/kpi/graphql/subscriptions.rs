//! Alert subscriptions.

use std::collections::HashSet;

use async_graphql::{Context, ID, Result};
use uuid::Uuid;

use super::Alert;
use crate::core::error::AppError;
use crate::graphql::ContextExt;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::kpi::store;
use crate::org::store as org_store;

/// Alert subscriptions.
#[derive(Default)]
pub struct AlertSubscription;

#[async_graphql::Subscription]
impl AlertSubscription {
    /// Alerts raised for members the viewer manages (optionally only in one team's subtree).
    async fn alert_raised(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only members of this team and its sub-teams.")] team_id: Option<ID>,
    ) -> Result<impl futures_util::Stream<Item = Result<Alert>> + use<>> {
        let p = ctx.principal()?.clone();
        let state = ctx.state()?.clone();
        let db = state.db.clone();
        let reach = p.reach(&db).await?;
        let scope: Option<HashSet<Uuid>> = match &team_id {
            Some(id) => {
                let t = decode_id(id, NodeKind::Team)?;
                org_store::find_team(p.org, &db, t).await?.ok_or(AppError::NotFound("team"))?;
                reach.require(Some(t), "this team")?;
                Some(org_store::team_tree(p.org, &db).await?.subtree([t]))
            }
            None => None,
        };
        let mut rx = state.events.subscribe();
        let org = p.org;
        Ok(async_stream::stream! {
            loop {
                let (alert, team) = match rx.recv().await {
                    Ok(crate::events::Event::AlertRaised { org: o, alert, team }) if o == org.0 => (alert, team),
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                };
                if !reach.covers(team) || scope.as_ref().is_some_and(|s| !team.is_some_and(|t| s.contains(&t))) {
                    continue;
                }
                match store::find_alert(org, &db, alert).await {
                    Ok(Some(a)) => yield Ok(Alert(a)),
                    Ok(None) => {}
                    Err(e) => yield Err(e.into()),
                }
            }
        })
    }
}
