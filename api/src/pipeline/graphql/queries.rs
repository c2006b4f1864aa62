//! Pipeline queries, and the page of deals a viewer may read.

use async_graphql::{Context, ID, Object, Result};
use entity::deal;
use uuid::Uuid;

use super::{CustomField, Deal, DealConnection, DealFilterInput, PipelineStage};
use crate::core::error::AppError;
use crate::graphql::ContextExt;
use crate::graphql::keyset::Page;
use crate::graphql::relay::{NodeKind, PageArgs, connection, decode_id};
use crate::org::store as org_store;
use crate::pipeline::kept;
use crate::pipeline::policy::require_deal_read;
use crate::pipeline::store::{self, DealFilter, DealOrder};

// ---------------------------------------------------------------- queries

/// One page of the deals `f` selects that the viewer may read: reps their own, managers their
/// teams', admins and viewers all. The rule of `deals` and `Member.deals`.
pub async fn deal_page(
    ctx: &Context<'_>,
    f: DealFilterInput,
    keyset: &crate::graphql::keyset::Keyset<deal::Model>,
    page: &PageArgs,
) -> Result<DealConnection> {
    let p = ctx.principal()?;
    let db = &ctx.state()?.db;
    page.validate()?;
    if f.search.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(AppError::bad_input("'search' must be at most 200 characters").into());
    }
    let mut owners: Option<Vec<Uuid>> = None;
    if let Some(id) = &f.owner_id {
        let owner = org_store::find_member(p.org, db, decode_id(id, NodeKind::Member)?)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        owners = Some(vec![owner.id]);
    }
    if let Some(id) = &f.team_id {
        let team = decode_id(id, NodeKind::Team)?;
        org_store::find_team(p.org, db, team).await?.ok_or(AppError::NotFound("team"))?;
        let subtree: Vec<Uuid> = org_store::team_tree(p.org, db).await?.subtree([team]).into_iter().collect();
        let members: Vec<Uuid> = org_store::all_members(
            p.org,
            db,
            &org_store::MemberFilter { team_ids: Some(subtree), ..Default::default() },
        )
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
        owners = Some(match owners {
            Some(o) => o.into_iter().filter(|x| members.contains(x)).collect(),
            None => members,
        });
    }
    // Narrow to what the viewer may read.
    let visible = p.visible_members_in(&*crate::org::graphql::directory(ctx).await?);
    if let Some(v) = visible {
        owners = Some(match owners {
            Some(o) => o.into_iter().filter(|x| v.contains(x)).collect(),
            None => v,
        });
    }
    let stage_id = match &f.stage_id {
        Some(id) => Some(
            store::find_stage(p.org, db, decode_id(id, NodeKind::PipelineStage)?)
                .await?
                .ok_or(AppError::NotFound("stage"))?
                .id,
        ),
        None => None,
    };
    let store_filter = DealFilter {
        owner_ids: owners,
        stage_id,
        outcome: match (f.outcome, f.open) {
            (Some(o), _) => Some(Some(o)),
            (None, Some(true)) => Some(None),
            _ => None,
        },
        closed_only: f.open == Some(false) && f.outcome.is_none(),
        forecast_category: f.forecast_category,
        close_from: f.expected_close_from,
        close_to: f.expected_close_to,
        search: f.search,
        territory_ids: match &f.territory_id {
            Some(id) => {
                let t = crate::territory::graphql::load(p, db, id).await?;
                Some(crate::territory::store::tree(p.org, db).await?.subtree([t.id]).into_iter().collect())
            }
            None => None,
        },
    };
    let rows = kept::page(&ctx.state()?.deal_pages, p.org, db, store_filter, keyset, page).await?;
    Ok(connection(ctx, Page::clone(&rows), Deal).into())
}

/// Pipeline queries.
#[derive(Default)]
pub struct PipelineQuery;

#[Object]
impl PipelineQuery {
    /// The organization's custom deal fields.
    async fn custom_fields(&self, ctx: &Context<'_>) -> Result<Vec<CustomField>> {
        let p = ctx.principal()?;
        Ok(store::custom_fields(p.org, &ctx.state()?.db).await?.into_iter().map(CustomField).collect())
    }

    /// The active stages in order, each with its checklist.
    async fn pipeline_stages(&self, ctx: &Context<'_>) -> Result<Vec<PipelineStage>> {
        let p = ctx.principal()?;
        Ok(store::stages(p.org, &ctx.state()?.db).await?.into_iter().map(PipelineStage).collect())
    }

    /// Deals, most recently changed first. Reps see their own; managers their teams'; admins and viewers all.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)] // filter, order and the four Relay arguments
    async fn deals(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to include.")] filter: Option<DealFilterInput>,
        #[graphql(desc = "The order (default: most recently changed first).")] order_by: Option<DealOrder>,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<DealConnection> {
        let page = PageArgs::asked(ctx, first, after, last, before);
        let keyset = store::deal_keyset("deals", order_by.unwrap_or_default());
        deal_page(ctx, filter.unwrap_or_default(), &keyset, &page).await
    }

    /// One deal.
    async fn deal(&self, ctx: &Context<'_>, #[graphql(desc = "The deal.")] id: ID) -> Result<Deal> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let d =
            store::find_deal(p.org, db, decode_id(&id, NodeKind::Deal)?).await?.ok_or(AppError::NotFound("deal"))?;
        require_deal_read(p, db, &d).await?;
        Ok(Deal(d))
    }
}
