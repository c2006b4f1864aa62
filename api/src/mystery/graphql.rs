//! GraphQL surface of mystery checks: criteria (admins), starting a team's monthly round
//! (admins, or managers for a team in their reach), scoring a check (the round's auditor
//! only) and reading rounds with per-rep totals and the team average.
//!
//! Scoring is reserved for the round's auditor, admins included: a mystery check is a peer's
//! judgement, and letting an admin overwrite it would make the audit someone else's.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use entity::{deal, mystery_check, mystery_criterion, mystery_round};

use super::model::{self, Award, MysteryCheckStatus, RepTotal, ScoredCheck};
use super::policy;
use super::service;
use super::store::{self, StoredAward};
use crate::core::error::{AppError, AppResult};
use crate::core::field::FieldError;
use crate::core::ids::OrgId;
use crate::core::principal::Principal;
use crate::core::roles::Role;

use crate::graphql::relay::{NodeKind, decode_id, global_id};
use crate::graphql::{ContextExt, UserError};
use crate::org::graphql::{Member, Team};
use crate::org::store as org_store;
use crate::pipeline::graphql::Deal;
use crate::pipeline::store as pipeline_store;

// ---------------------------------------------------------------- output types

/// What a mystery check scores, with the most points an auditor can award for it.
pub struct MysteryCriterion(pub mystery_criterion::Model);

/// What a mystery check scores, with the most points an auditor can award for it.
#[Object]
impl MysteryCriterion {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::MysteryCriterion, self.0.id)
    }
    /// Name, e.g. "Complete CRM profile".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The most points an auditor can award for it, 1 to 1000.
    async fn points(&self) -> i32 {
        self.0.points
    }
    /// False once archived: new scores no longer include it; scored checks keep it.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// When created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The points awarded for one criterion of a scored check.
pub struct MysteryCheckResult {
    award: StoredAward,
    criterion: Option<mystery_criterion::Model>,
}

/// The points awarded for one criterion of a scored check.
#[Object]
impl MysteryCheckResult {
    /// The criterion (possibly archived since).
    async fn criterion(&self) -> Option<MysteryCriterion> {
        self.criterion.clone().map(MysteryCriterion)
    }
    /// Points awarded.
    async fn awarded(&self) -> i32 {
        self.award.awarded
    }
    /// The criterion's points when the check was scored.
    async fn max_points(&self) -> i32 {
        self.award.max_points
    }
}

/// One sampled deal of a rep in a round, and the auditor's score.
pub struct MysteryCheck {
    check: mystery_check::Model,
    deal: Option<deal::Model>,
    criteria: Arc<HashMap<Uuid, mystery_criterion::Model>>,
    /// The points available while pending: the active criteria's points.
    pending_max: i64,
}

/// One sampled deal of a rep in a round, and the auditor's score.
#[Object]
impl MysteryCheck {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::MysteryCheck, self.check.id)
    }
    /// The sampled deal. Whoever may read the round sees it: the auditor has to.
    async fn deal(&self) -> Option<Deal> {
        self.deal.clone().map(Deal)
    }
    /// The audited rep (the deal's owner when sampled).
    async fn rep(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(crate::org::graphql::member_by_id(ctx, self.check.rep_id).await?)
    }
    /// PENDING until the auditor scores it, then SCORED.
    async fn status(&self) -> MysteryCheckStatus {
        if self.check.scored_at.is_some() { MysteryCheckStatus::Scored } else { MysteryCheckStatus::Pending }
    }
    /// Points awarded; null while pending.
    async fn total_points(&self) -> Option<i32> {
        self.check.total_points
    }
    /// Points available: the scored criteria's points, or while pending the active criteria's.
    async fn max_points(&self) -> i64 {
        if self.check.scored_at.is_some() { store::stored_score(&self.check).max_total } else { self.pending_max }
    }
    /// Points per criterion; empty while pending.
    async fn results(&self) -> Vec<MysteryCheckResult> {
        store::stored_results(&self.check)
            .into_iter()
            .map(|award| MysteryCheckResult { criterion: self.criteria.get(&award.criterion_id).cloned(), award })
            .collect()
    }
    /// The auditor's note.
    async fn note(&self) -> Option<&str> {
        self.check.note.as_deref()
    }
    /// When last scored (re-scoring replaces the score).
    async fn scored_at(&self) -> Option<DateTime<Utc>> {
        self.check.scored_at
    }
}

/// A rep's result in a round: the sum over their scored checks.
pub struct MysteryRepTotal(RepTotal);

/// A rep's result in a round: the sum over their scored checks.
#[Object]
impl MysteryRepTotal {
    /// The rep.
    async fn rep(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(crate::org::graphql::member_by_id(ctx, self.0.rep).await?)
    }
    /// Scored checks.
    async fn checks(&self) -> u32 {
        self.0.checks
    }
    /// Points awarded over those checks.
    async fn total(&self) -> i64 {
        self.0.total
    }
    /// Points available over those checks.
    async fn max(&self) -> i64 {
        self.0.max_total
    }
    /// Points awarded as a percentage of points available (2 decimals); null when none were available.
    async fn percent(&self) -> Option<f64> {
        decimal(self.0.percent())
    }
}

/// One team's monthly mystery-check round.
pub struct MysteryRound {
    round: mystery_round::Model,
    checks: Vec<MysteryCheck>,
}

/// One team's monthly mystery-check round.
#[Object]
impl MysteryRound {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::MysteryRound, self.round.id)
    }
    /// The audited team (with its sub-teams).
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        Ok(crate::org::graphql::team_by_id(ctx, self.round.team_id).await?)
    }
    /// The month, as its first day.
    async fn month(&self) -> NaiveDate {
        self.round.month
    }
    /// The month's auditor: the only one who may score its checks.
    async fn auditor(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(crate::org::graphql::member_by_id(ctx, self.round.auditor_id).await?)
    }
    /// Deals sampled per rep (fewer when a rep had fewer active deals).
    async fn samples_per_rep(&self) -> i32 {
        self.round.samples_per_rep
    }
    /// Who started the round.
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(crate::org::graphql::member_by_id(ctx, self.round.created_by).await?)
    }
    /// When started.
    async fn created_at(&self) -> DateTime<Utc> {
        self.round.created_at
    }
    /// The sampled deals, by rep.
    async fn checks(&self) -> Vec<&MysteryCheck> {
        self.checks.iter().collect()
    }
    /// Per rep with a scored check: checks, points, maximum and percentage.
    async fn rep_totals(&self) -> Vec<MysteryRepTotal> {
        model::rep_totals(&self.scored()).into_iter().map(MysteryRepTotal).collect()
    }
    /// The mean of the per-rep totals (2 decimals); null when nothing is scored yet.
    async fn team_average(&self) -> Option<f64> {
        decimal(model::team_average(&model::rep_totals(&self.scored())))
    }
    /// The mean of the per-rep percentages (2 decimals), fairer when reps had different numbers
    /// of checks; null when nothing is scored yet.
    async fn team_average_percent(&self) -> Option<f64> {
        decimal(model::team_average_percent(&model::rep_totals(&self.scored())))
    }
}

impl MysteryRound {
    fn scored(&self) -> Vec<ScoredCheck> {
        self.checks
            .iter()
            .filter(|c| c.check.scored_at.is_some())
            .map(|c| ScoredCheck { rep: c.check.rep_id, score: store::stored_score(&c.check) })
            .collect()
    }
}

fn decimal(value: Option<Decimal>) -> Option<f64> {
    value.and_then(|d| d.round_dp(2).to_f64())
}

// ---------------------------------------------------------------- inputs and payloads

/// A new criterion (admins).
#[derive(InputObject)]
pub struct CreateMysteryCriterionInput {
    /// Name, e.g. "Complete call report".
    name: String,
    /// The most points an auditor can award for it, 1 to 1000.
    points: i32,
}

/// Archives a criterion (admins).
#[derive(InputObject)]
pub struct ArchiveMysteryCriterionInput {
    /// The criterion.
    id: ID,
}

/// Result of a criterion mutation.
#[derive(SimpleObject)]
pub struct MysteryCriterionPayload {
    /// The criterion after the change; `null` when refused.
    criterion: Option<MysteryCriterion>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

/// Starts a team's round for a month.
#[derive(InputObject)]
pub struct StartMysteryCheckRoundInput {
    /// The team; its sub-teams' members take part too.
    team_id: ID,
    /// Any date in the month.
    month: NaiveDate,
    /// Deals to sample per rep, 1 to 20.
    samples_per_rep: i32,
}

/// Result of `startMysteryCheckRound`.
#[derive(SimpleObject)]
pub struct MysteryRoundPayload {
    /// The new round; `null` when refused.
    round: Option<MysteryRound>,
    /// What to fix: `EXISTS` (the team has a round that month), `TEAM_TOO_SMALL`, `OUT_OF_RANGE`.
    user_errors: Vec<UserError>,
}

/// Points for one criterion.
#[derive(InputObject)]
pub struct MysteryAwardInput {
    /// The criterion.
    criterion_id: ID,
    /// Points awarded, 0 to the criterion's points.
    awarded: i32,
}

/// The auditor's score of a check: every active criterion exactly once.
#[derive(InputObject)]
pub struct ScoreMysteryCheckInput {
    /// The check.
    check_id: ID,
    /// Points per criterion.
    results: Vec<MysteryAwardInput>,
    /// A note for the rep (at most 2000 characters).
    note: Option<String>,
}

/// Result of `scoreMysteryCheck`.
#[derive(SimpleObject)]
pub struct MysteryCheckPayload {
    /// The check after scoring; `null` when refused.
    check: Option<MysteryCheck>,
    /// What to fix, each naming `input.results.<i>.<field>`: `UNKNOWN`, `DUPLICATE`,
    /// `OUT_OF_RANGE`, `REQUIRED`; `TOO_LONG` for the note.
    user_errors: Vec<UserError>,
}

// ---------------------------------------------------------------- helpers

fn errors(list: Vec<FieldError>) -> Vec<UserError> {
    list.into_iter().map(UserError::from).collect()
}

/// Admins and viewers read every round; members read their own team's rounds (also of a team
/// above theirs); managers also those of the teams they manage.
async fn require_round_read(p: &Principal, db: &impl ConnectionTrait, team: Uuid) -> AppResult<()> {
    if matches!(p.role, Role::Admin | Role::Viewer) {
        return Ok(());
    }
    let tree = org_store::team_tree(p.org, db).await?;
    if let Some(own) = p.team_id
        && tree.subtree([team]).contains(&own)
    {
        return Ok(());
    }
    if p.role == Role::Manager {
        return p.reach(db).await?.require(Some(team), "this team");
    }
    Err(AppError::forbidden("reps see their own team's mystery checks"))
}

/// Builds the output of checks with their deals and criteria, in three queries.
async fn check_views(
    org: OrgId,
    db: &impl ConnectionTrait,
    checks: Vec<mystery_check::Model>,
) -> AppResult<Vec<MysteryCheck>> {
    let deal_ids: Vec<Uuid> = checks.iter().map(|c| c.deal_id).collect::<HashSet<_>>().into_iter().collect();
    let deals: HashMap<Uuid, deal::Model> =
        pipeline_store::deals_by_ids(org, db, &deal_ids).await?.into_iter().map(|d| (d.id, d)).collect();
    let criterion_ids: Vec<Uuid> = checks
        .iter()
        .flat_map(store::stored_results)
        .map(|a| a.criterion_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let criteria: HashMap<Uuid, mystery_criterion::Model> =
        store::criteria_by_ids(org, db, &criterion_ids).await?.into_iter().map(|c| (c.id, c)).collect();
    let active = store::criteria(org, db, false).await?;
    let pending_max = store::points_available(&active);
    let criteria = Arc::new(criteria);
    Ok(checks
        .into_iter()
        .map(|check| MysteryCheck {
            deal: deals.get(&check.deal_id).cloned(),
            criteria: Arc::clone(&criteria),
            pending_max,
            check,
        })
        .collect())
}

/// Builds the output of rounds with their checks.
async fn round_views(
    org: OrgId,
    db: &impl ConnectionTrait,
    rounds: Vec<mystery_round::Model>,
) -> AppResult<Vec<MysteryRound>> {
    let ids: Vec<Uuid> = rounds.iter().map(|r| r.id).collect();
    let checks = check_views(org, db, store::checks_of_rounds(org, db, &ids).await?).await?;
    let mut by_round: HashMap<Uuid, Vec<MysteryCheck>> = HashMap::new();
    for c in checks {
        by_round.entry(c.check.round_id).or_default().push(c);
    }
    Ok(rounds
        .into_iter()
        .map(|round| MysteryRound { checks: by_round.remove(&round.id).unwrap_or_default(), round })
        .collect())
}

/// A round for `node(id:)`: `None` when it does not exist or the principal may not read it.
pub async fn load_round(p: &Principal, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<MysteryRound>> {
    let Some(round) = store::find_round(p.org, db, id).await? else { return Ok(None) };
    if require_round_read(p, db, round.team_id).await.is_err() {
        return Ok(None);
    }
    Ok(round_views(p.org, db, vec![round]).await?.pop())
}

/// A check for `node(id:)`: `None` when it does not exist or the principal may not read its round.
pub async fn load_check(p: &Principal, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<MysteryCheck>> {
    let Some(check) = store::find_check(p.org, db, id).await? else { return Ok(None) };
    let Some(round) = store::find_round(p.org, db, check.round_id).await? else { return Ok(None) };
    if require_round_read(p, db, round.team_id).await.is_err() {
        return Ok(None);
    }
    Ok(check_views(p.org, db, vec![check]).await?.pop())
}

/// A criterion for `node(id:)`.
pub async fn load_criterion(p: &Principal, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<MysteryCriterion>> {
    Ok(store::find_criterion(p.org, db, id).await?.map(MysteryCriterion))
}

// ---------------------------------------------------------------- queries

/// Mystery-check queries.
#[derive(Default)]
pub struct MysteryQuery;

#[Object]
impl MysteryQuery {
    /// The organization's mystery-check criteria, oldest first.
    async fn mystery_criteria(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Include archived criteria (default false).", default = false)] include_archived: bool,
    ) -> Result<Vec<MysteryCriterion>> {
        let p = ctx.principal()?;
        Ok(store::criteria(p.org, &ctx.state()?.db, include_archived)
            .await?
            .into_iter()
            .map(MysteryCriterion)
            .collect())
    }

    /// A team's mystery-check rounds, oldest month first. Readable by the team's members (and
    /// members of its sub-teams), their managers, admins and viewers.
    async fn mystery_check_rounds(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team.")] team_id: ID,
        #[graphql(desc = "Only rounds of this month (any date in it) or later.")] from: Option<NaiveDate>,
        #[graphql(desc = "Only rounds of this month (any date in it) or earlier.")] to: Option<NaiveDate>,
    ) -> Result<Vec<MysteryRound>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let team = decode_id(&team_id, NodeKind::Team)?;
        org_store::find_team(p.org, db, team).await?.ok_or(AppError::NotFound("team"))?;
        require_round_read(p, db, team).await?;
        let rounds = store::rounds(p.org, db, team, from.map(model::month_start), to.map(model::month_start)).await?;
        Ok(round_views(p.org, db, rounds).await?)
    }
}

// ---------------------------------------------------------------- mutations

/// Mystery-check mutations.
#[derive(Default)]
pub struct MysteryMutation;

#[Object]
impl MysteryMutation {
    /// Adds a criterion (admins).
    async fn create_mystery_criterion(
        &self,
        ctx: &Context<'_>,
        input: CreateMysteryCriterionInput,
    ) -> Result<MysteryCriterionPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::CreateCriterion { name: input.name, points: input.points };
        Ok(match service::create_criterion(&state.db, &state.events, p, cmd).await? {
            Ok(c) => MysteryCriterionPayload { criterion: Some(MysteryCriterion(c)), user_errors: vec![] },
            Err(e) => MysteryCriterionPayload { criterion: None, user_errors: errors(e) },
        })
    }

    /// Archives a criterion (admins): checks scored from now on leave it out; scored checks keep it.
    async fn archive_mystery_criterion(
        &self,
        ctx: &Context<'_>,
        input: ArchiveMysteryCriterionInput,
    ) -> Result<MysteryCriterionPayload> {
        let p = ctx.principal()?;
        // The role is checked before the ID is read, as the use-case would.
        policy::may_change_criteria(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::MysteryCriterion)?;
        let c = service::archive_criterion(&state.db, &state.events, p, id).await?;
        Ok(MysteryCriterionPayload { criterion: Some(MysteryCriterion(c)), user_errors: vec![] })
    }

    /// Starts a team's round for a month (admins, or managers for a team they manage): picks the
    /// auditor round robin over the team's active members (never last round's auditor; viewers
    /// take no part) and draws a reproducible sample of every other member's deals active that
    /// month, one check per deal. One round per team and month.
    async fn start_mystery_check_round(
        &self,
        ctx: &Context<'_>,
        input: StartMysteryCheckRoundInput,
    ) -> Result<MysteryRoundPayload> {
        let p = ctx.principal()?;
        // The role is checked before the ID is read, as the use-case would.
        policy::may_start_round(p)?;
        let state = ctx.state()?;
        let cmd = service::StartRound {
            team_id: decode_id(&input.team_id, NodeKind::Team)?,
            month: input.month,
            samples_per_rep: input.samples_per_rep,
        };
        Ok(match service::start_round(&state.db, &state.events, p, cmd).await? {
            Ok(round) => MysteryRoundPayload {
                round: round_views(p.org, &state.db, vec![round]).await?.pop(),
                user_errors: vec![],
            },
            Err(e) => MysteryRoundPayload { round: None, user_errors: errors(e) },
        })
    }

    /// Scores a check: only the round's auditor may, admins included (the audit is a peer's
    /// judgement). Every active criterion once, 0 to its points. Re-scoring replaces the score.
    async fn score_mystery_check(
        &self,
        ctx: &Context<'_>,
        input: ScoreMysteryCheckInput,
    ) -> Result<MysteryCheckPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let check_id = decode_id(&input.check_id, NodeKind::MysteryCheck)?;
        let mut awards = Vec::with_capacity(input.results.len());
        for r in &input.results {
            awards.push(Award {
                criterion_id: decode_id(&r.criterion_id, NodeKind::MysteryCriterion)?,
                awarded: r.awarded,
            });
        }
        let cmd = service::ScoreCheck { check_id, awards, note: input.note };
        Ok(match service::score_check(&state.db, &state.events, p, cmd).await? {
            Ok(saved) => MysteryCheckPayload {
                check: check_views(p.org, &state.db, vec![saved]).await?.pop(),
                user_errors: vec![],
            },
            Err(e) => MysteryCheckPayload { check: None, user_errors: errors(e) },
        })
    }
}
