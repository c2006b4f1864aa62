//! Points engine queries, and computing the leaderboard they and the subscriptions share.

use std::collections::HashSet;

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::activity;
use uuid::Uuid;

use super::{
    Activity, ActivityConnection, ActivityFilterInput, ActivityType, ActivityTypeConnection, Campaign,
    CampaignConnection, Leaderboard, LeaderboardInput, LeaderboardMetric, LeaderboardSubject, PeriodInput,
    PointsTarget, Score, period_spec, score_parts,
};
use crate::core::error::{AppError, AppResult};
use crate::core::principal::Principal;
use crate::core::roles::SalesRole;
use crate::graphql::ContextExt;
use crate::graphql::keyset::Keyset;
use crate::graphql::relay::{NodeKind, PageArgs, connection, decode_id};
use crate::org::store as org_store;
use crate::scoring::model::{self, CampaignStatus};
use crate::scoring::policy::ActivityAccess;
use crate::scoring::scores::{
    self, BoardData, BoardMetric, BoardRequest, BoardSpec, BoardSubject, OrgSettings, PeriodSpec,
};
use crate::scoring::{cents_to_f64, decimal_to_cents, store};
use crate::state::AppState;

// ---------------------------------------------------------------- queries

/// One page of the activities `filter` selects that the viewer may read: reps their own,
/// managers their teams', admins and viewers all; a `memberId` outside it is FORBIDDEN. The rule
/// of `activities` and `Member.activities`.
pub async fn activity_page(
    ctx: &Context<'_>,
    filter: ActivityFilterInput,
    keyset: &Keyset<activity::Model>,
    page: &PageArgs,
) -> Result<ActivityConnection> {
    let p = ctx.principal()?;
    let db = &ctx.state()?.db;
    page.validate()?;
    let access = ActivityAccess::of(p, db).await?;
    let mut members: Option<Vec<Uuid>> = None;
    if let Some(id) = &filter.member_id {
        let m = org_store::find_member(p.org, db, decode_id(id, NodeKind::Member)?)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if !access.may_read(m.id, m.team_id) {
            return Err(AppError::forbidden("you may not read this member's activities").into());
        }
        members = Some(vec![m.id]);
    }
    if let Some(id) = &filter.team_id {
        let team = decode_id(id, NodeKind::Team)?;
        org_store::find_team(p.org, db, team).await?.ok_or(AppError::NotFound("team"))?;
        let in_team: Vec<Uuid> =
            scores::active_members(p.org, db, Some(team)).await?.into_iter().map(|m| m.id).collect();
        members = Some(match members {
            Some(m) => m.into_iter().filter(|id| in_team.contains(id)).collect(),
            None => in_team,
        });
    }
    // Narrow to what the viewer may read.
    let visible: Option<Vec<Uuid>> = match &access {
        ActivityAccess::All => None,
        ActivityAccess::Own(own) => Some(vec![*own]),
        ActivityAccess::Teams { own, teams } => {
            let filter =
                org_store::MemberFilter { team_ids: Some(teams.iter().copied().collect()), ..Default::default() };
            let in_reach = org_store::all_members(p.org, db, &filter).await?.into_iter();
            Some(in_reach.filter(|m| access.may_read(m.id, m.team_id)).map(|m| m.id).chain([*own]).collect())
        }
    };
    if let Some(visible) = visible {
        members = Some(match members {
            Some(m) => m.into_iter().filter(|id| visible.contains(id)).collect(),
            None => visible,
        });
    }
    let activity_type_id = match &filter.activity_type_id {
        Some(id) => Some(
            store::find_activity_type(p.org, db, decode_id(id, NodeKind::ActivityType)?)
                .await?
                .ok_or(AppError::NotFound("activity type"))?
                .id,
        ),
        None => None,
    };
    let store_filter = store::ActivityFilter {
        member_ids: members,
        activity_type_id,
        from: filter.from,
        to: filter.to,
        voided: filter.voided,
    };
    let rows = store::page_activities(p.org, db, &store_filter, keyset, page).await?;
    Ok(connection(ctx, rows, Activity).into())
}

/// Points engine queries.
#[derive(Default)]
pub struct ScoringQuery;

#[Object]
impl ScoringQuery {
    /// Activity types, by name.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn activity_types(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Include archived types.", default = false)] include_archived: bool,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<ActivityTypeConnection> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let page = PageArgs::asked(ctx, first, after, last, before);
        page.validate()?;
        let rows = store::page_activity_types(p.org, db, include_archived, &page).await?;
        Ok(connection(ctx, rows, ActivityType).into())
    }

    /// Logged activities, newest first. Reps see their own, managers their teams', admins and viewers all
    /// (the rule `node` and `scoreChanged` follow too); a `memberId` outside it is FORBIDDEN.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to include.")] filter: Option<ActivityFilterInput>,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<ActivityConnection> {
        let page = PageArgs::asked(ctx, first, after, last, before);
        activity_page(ctx, filter.unwrap_or_default(), &store::ACTIVITIES, &page).await
    }

    /// Campaigns, newest start first.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only campaigns with this status now.")] status: Option<CampaignStatus>,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<CampaignConnection> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let page = PageArgs::asked(ctx, first, after, last, before);
        page.validate()?;
        let now = Utc::now();
        // Running and upcoming campaigns (a phone's home screen) are kept in memory.
        let kept = match status {
            Some(status) => state.hot.campaigns(p.org, status, now).await?,
            None => None,
        };
        let rows = match kept {
            Some(list) => crate::graphql::keyset::slice(list, &store::CAMPAIGNS, &page)?,
            None => store::page_campaigns(p.org, &state.db, status, now, &page).await?,
        };
        Ok(connection(ctx, rows, Campaign).into())
    }

    /// A member's score (default: the viewer) or a team's (the sum over its subtree's active members).
    async fn score(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member (default: the viewer).")] member_id: Option<ID>,
        #[graphql(desc = "A team instead of a member.")] team_id: Option<ID>,
        #[graphql(desc = "The period.")] period: PeriodInput,
    ) -> Result<Score> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let db = &state.db;
        let spec = period_spec(&period)?;
        let s = state.settings.get(p.org, db).await?;
        let now = Utc::now();
        if member_id.is_some() && team_id.is_some() {
            return Err(AppError::bad_input("give memberId or teamId, not both").into());
        }
        let period = scores::resolve_period(&s, db, spec, now).await?;
        if let Some(team) = &team_id {
            let team = decode_id(team, NodeKind::Team)?;
            org_store::find_team(p.org, db, team).await?.ok_or(AppError::NotFound("team"))?;
            p.read_scope_in(&*crate::org::graphql::directory(ctx).await?).board(Some(team))?;
            let score = scores::team_score(&s, db, team, period, now).await?;
            return Ok(score.into());
        }
        let member = match &member_id {
            Some(id) => decode_id(id, NodeKind::Member)?,
            None => p.member_id,
        };
        let m = crate::org::graphql::member_by_id(ctx, member).await?.ok_or(AppError::NotFound("member"))?.0;
        // Everyone may read their own score: the scope (a team-tree read) only for others'.
        if m.id != p.member_id {
            p.read_scope_in(&*crate::org::graphql::directory(ctx).await?).member(p, &m)?;
        }
        let score = state.hot.member_score(&s, &m, period, now, score_parts(ctx)).await?;
        Ok(score.into())
    }

    /// Members or teams ranked by points or by percent of their own target.
    async fn leaderboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to rank.")] input: LeaderboardInput,
    ) -> Result<Leaderboard> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let (s, request) = board_request(p, state, &input).await?;
        let board = compute_board(state, &s, request, None, Utc::now()).await?;
        Ok(board.into())
    }

    /// The recorded weekly targets, oldest first: a member's overrides (with `memberId`), a
    /// sales role's defaults (with `salesRole`), or all of them.
    async fn points_target_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this member's overrides.")] member_id: Option<ID>,
        #[graphql(desc = "Only this sales role's defaults.")] sales_role: Option<SalesRole>,
    ) -> Result<Vec<PointsTarget>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let member = match &member_id {
            Some(id) => {
                let m = org_store::find_member(p.org, db, decode_id(id, NodeKind::Member)?)
                    .await?
                    .ok_or(AppError::NotFound("member"))?;
                p.read_scope_in(&*crate::org::graphql::directory(ctx).await?).member(p, &m)?;
                Some(m.id)
            }
            None => None,
        };
        let rows = store::all_targets(p.org, db).await?;
        // Role defaults are public within the organization; member overrides only where the
        // viewer may read that member's score.
        let scope = p.read_scope_in(&*crate::org::graphql::directory(ctx).await?);
        let mut readable_overrides = HashSet::new();
        for id in rows.iter().filter_map(|t| t.member_id).collect::<HashSet<Uuid>>() {
            if let Some(m) = org_store::find_member(p.org, db, id).await?
                && scope.member(p, &m).is_ok()
            {
                readable_overrides.insert(id);
            }
        }
        Ok(rows
            .into_iter()
            .filter(|t| t.member_id.is_none_or(|m| readable_overrides.contains(&m)))
            .filter(|t| member.is_none_or(|m| t.member_id == Some(m)))
            .filter(|t| sales_role.is_none_or(|r| t.sales_role.as_deref() == Some(r.as_str())))
            .map(PointsTarget)
            .collect())
    }

    /// A realistic weekly target for a member: the 80th percentile of their last 12 complete
    /// weeks; null with fewer than 4 weeks of history.
    async fn suggested_points_target(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member (default: the viewer).")] member_id: Option<ID>,
    ) -> Result<Option<f64>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let id = match &member_id {
            Some(id) => decode_id(id, NodeKind::Member)?,
            None => p.member_id,
        };
        let m = org_store::find_member(p.org, db, id).await?.ok_or(AppError::NotFound("member"))?;
        p.read_scope_in(&*crate::org::graphql::directory(ctx).await?).member(p, &m)?;
        let s = scores::settings(p.org, db).await?;
        Ok(scores::suggested_target(&s, db, &m, Utc::now()).await?.map(|d| cents_to_f64(decimal_to_cents(d))))
    }
}

pub(super) async fn board_request(
    p: &Principal,
    state: &AppState,
    input: &LeaderboardInput,
) -> AppResult<(OrgSettings, BoardRequest)> {
    let db = &state.db;
    if !(1..=200).contains(&input.first) {
        return Err(AppError::bad_input(format!("'first' must be between 1 and 200, got {}", input.first)));
    }
    let spec = period_spec(&input.period)?;
    // The organization's directory (kept current by membership events) answers whether the
    // team exists and whom the viewer may see: no database read per board.
    let dir = crate::org::directory::directory(&state.directories, p.org, db).await?;
    let team = match &input.team_id {
        Some(id) => {
            let t = decode_id(id, NodeKind::Team)?;
            dir.team(t).ok_or(AppError::NotFound("team"))?;
            Some(t)
        }
        None => None,
    };
    p.read_scope_in(&dir).board(team)?;
    if let PeriodSpec::Campaign(c) = spec {
        store::find_campaign(p.org, db, c).await?.ok_or(AppError::NotFound("campaign"))?;
    }
    let s = state.settings.get(p.org, db).await?;
    Ok((
        s,
        BoardRequest {
            spec,
            team,
            subject: match input.subject {
                LeaderboardSubject::Members => BoardSubject::Members,
                LeaderboardSubject::Teams => BoardSubject::Teams,
            },
            metric: match input.metric {
                LeaderboardMetric::Points => BoardMetric::Points,
                LeaderboardMetric::TargetPercent => BoardMetric::TargetPercent,
            },
            first: input.first as usize,
        },
    ))
}

/// Computes a board. `scope` is the team's subtree when the caller already knows it.
pub(super) async fn compute_board(
    state: &AppState,
    s: &OrgSettings,
    r: BoardRequest,
    scope: Option<&HashSet<Uuid>>,
    now: DateTime<Utc>,
) -> AppResult<BoardData> {
    let db = &state.db;
    // The current period's points board of members is served from the hot ranking.
    if let (PeriodSpec::Grain(grain, date), BoardSubject::Members, BoardMetric::Points) = (r.spec, r.subject, r.metric)
    {
        let today = model::local_date(now, s.tz);
        let current = model::period_containing(grain, today, s.tz, s.fiscal_year_start_month);
        if date.is_none_or(|d| d >= current.start_date && d < current.end_date) {
            let hot = state.hot.current(s, grain, now).await?;
            let computed;
            let scope = match (r.team, scope) {
                (Some(t), None) => {
                    let dir = crate::org::directory::directory(&state.directories, s.org, db).await?;
                    computed = dir.tree().subtree([t]);
                    Some(&computed)
                }
                (_, given) => given,
            };
            return Ok(hot.board(scope, r.first, now));
        }
    }
    let period = scores::resolve_period(s, db, r.spec, now).await?;
    // An ended period's board changes only when one of its days does: served from memory.
    let ended = period.end_date <= model::local_date(now, s.tz);
    if ended && let Some(board) = state.hot.past_board(s.org, r, &period) {
        return Ok(BoardData::clone(&board));
    }
    let sequence = state.hot.past_sequence(s.org);
    let board = scores::leaderboard(
        s,
        db,
        BoardSpec { period, team: r.team, subject: r.subject, metric: r.metric, first: r.first },
        now,
    )
    .await?;
    if ended {
        state.hot.keep_past_board(s.org, r, sequence, &board);
    }
    Ok(board)
}
