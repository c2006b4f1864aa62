//! GraphQL surface of quotas: setting them (admins; managers within their teams), ramps,
//! top-down allocation, and progress (achieved, attainment, pacing, gap, run-rate projection).

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::ConnectionTrait;
use tokio::sync::OnceCell;
use uuid::Uuid;

use entity::quota;

use super::model::{self, AllocationMethod, QuotaGrain, QuotaMetric, QuotaProgress, QuotaSubjectKind};
use super::store::{self, QuotaFilter};
use super::{policy, service};
use crate::core::error::{AppError, AppResult};
use crate::core::field::FieldError;
use crate::core::period::{Period, elapsed_share};
use crate::core::principal::Principal;
use crate::core::settings::OrgSettings;

use crate::graphql::relay::{NodeKind, PageArgs, connection, decode_global_id, decode_id, global_id};
use crate::graphql::{ContextExt, UserError};
use crate::org::graphql::{Member, Team};
use crate::org::store as org_store;
use crate::scoring::scores;
use crate::territory::graphql::Territory;

// ---------------------------------------------------------------- output types

/// A target for a member, team or territory over one fiscal month, quarter or year.
pub struct Quota {
    row: quota::Model,
    progress: Arc<OnceCell<Progress>>,
}

crate::connection_type!(QuotaConnection, QuotaEdge, Quota, "quotas");

struct Progress {
    period: Period,
    effective: Decimal,
    numbers: QuotaProgress,
    ramp_percent: Decimal,
}

impl Quota {
    /// Wraps a stored quota.
    pub fn new(row: quota::Model) -> Self {
        Quota { row, progress: Arc::new(OnceCell::new()) }
    }

    async fn progress(&self, ctx: &Context<'_>) -> Result<&Progress> {
        Ok(self
            .progress
            .get_or_try_init(|| async {
                let p = ctx.principal()?;
                let db = &ctx.state()?.db;
                let s = scores::settings(p.org, db).await?;
                compute_progress(&s, db, &self.row).await
            })
            .await?)
    }
}

async fn compute_progress(s: &OrgSettings, db: &impl ConnectionTrait, q: &quota::Model) -> AppResult<Progress> {
    let grain = QuotaGrain::parse(&q.grain).unwrap_or(QuotaGrain::Quarter);
    let period = store::period_of(s, grain, q.period_start);
    let member = if q.subject_kind == QuotaSubjectKind::Member.as_str() {
        org_store::find_member(s.org, db, q.subject_id).await?
    } else {
        None
    };
    let full = store::from_hundredths(q.amount_hundredths);
    let effective = store::effective_amount(q, member.as_ref(), &period);
    let achieved = store::achieved(s, db, q, &period).await?;
    let share = Decimal::from_f64_retain(elapsed_share(&period, Utc::now())).unwrap_or(Decimal::ONE);
    let ramp_percent =
        if full.is_zero() { Decimal::ONE_HUNDRED } else { (effective / full * Decimal::ONE_HUNDRED).round_dp(2) };
    Ok(Progress { period, effective, numbers: model::progress(effective, achieved, share), ramp_percent })
}

fn num(d: Decimal) -> String {
    d.normalize().to_string()
}

/// A target for a member, team or territory over one fiscal month, quarter or year.
#[Object]
impl Quota {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Quota, self.row.id)
    }
    /// MEMBER, TEAM or TERRITORY.
    async fn subject_kind(&self) -> QuotaSubjectKind {
        QuotaSubjectKind::parse(&self.row.subject_kind).unwrap_or(QuotaSubjectKind::Member)
    }
    /// The member, when the subject is a member.
    async fn member(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        if self.row.subject_kind != QuotaSubjectKind::Member.as_str() {
            return Ok(None);
        }
        Ok(crate::org::graphql::member_by_id(ctx, self.row.subject_id).await?)
    }
    /// The team, when the subject is a team (its whole subtree counts).
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        if self.row.subject_kind != QuotaSubjectKind::Team.as_str() {
            return Ok(None);
        }
        Ok(crate::org::graphql::team_by_id(ctx, self.row.subject_id).await?)
    }
    /// The territory, when the subject is a territory (deals in it and below count).
    async fn territory(&self, ctx: &Context<'_>) -> Result<Option<Territory>> {
        if self.row.subject_kind != QuotaSubjectKind::Territory.as_str() {
            return Ok(None);
        }
        let p = ctx.principal()?;
        Ok(crate::territory::store::find(p.org, &ctx.state()?.db, self.row.subject_id).await?.map(Territory))
    }
    /// What is measured.
    async fn metric(&self) -> QuotaMetric {
        QuotaMetric::parse(&self.row.metric).unwrap_or(QuotaMetric::Revenue)
    }
    /// For ACTIVITY_COUNT: the activity type counted.
    async fn activity_type(&self, ctx: &Context<'_>) -> Result<Option<crate::scoring::graphql::ActivityType>> {
        let Some(id) = self.row.activity_type_id else { return Ok(None) };
        Ok(ctx
            .loader()?
            .load_one(crate::graphql::loaders::ActivityTypeKey(id))
            .await?
            .map(crate::scoring::graphql::ActivityType))
    }
    /// For KPI: the KPI's key.
    async fn kpi_key(&self) -> Option<&str> {
        self.row.kpi_key.as_deref()
    }
    /// MONTH, QUARTER or YEAR (quarters and years follow the fiscal year).
    async fn grain(&self) -> QuotaGrain {
        QuotaGrain::parse(&self.row.grain).unwrap_or(QuotaGrain::Quarter)
    }
    /// First day of the period.
    async fn period_start(&self) -> NaiveDate {
        self.row.period_start
    }
    /// Day after the period's last day.
    async fn period_end(&self, ctx: &Context<'_>) -> Result<NaiveDate> {
        Ok(self.progress(ctx).await?.period.end_date)
    }
    /// Tells several quotas of one subject and period apart ("new business"); "" when unused.
    async fn label(&self) -> &str {
        &self.row.label
    }
    /// The full amount as a decimal string (money in the organization's currency).
    async fn amount(&self) -> String {
        num(store::from_hundredths(self.row.amount_hundredths))
    }
    /// The amount asked of the subject this period: for a member on a ramp, the ramped share.
    async fn effective_amount(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(num(self.progress(ctx).await?.effective))
    }
    /// Percent of the full amount that applies (100 unless a member's ramp lowers it).
    async fn ramp_percent(&self, ctx: &Context<'_>) -> Result<f64> {
        Ok(self.progress(ctx).await?.ramp_percent.to_f64().unwrap_or(100.0))
    }
    /// Achieved so far: credited revenue or deals (a won deal credits its owner and split
    /// partners by percent in the period of its close date), points, activities or the KPI value.
    async fn achieved(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(num(self.progress(ctx).await?.numbers.achieved))
    }
    /// Achieved ÷ effective amount × 100; `null` for a zero amount.
    async fn attainment_percent(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        Ok(self.progress(ctx).await?.numbers.attainment_percent.and_then(|d| d.to_f64()))
    }
    /// Attainment ÷ elapsed share of the period × 100: 100 means on pace.
    async fn pacing_percent(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        Ok(self.progress(ctx).await?.numbers.pacing_percent.and_then(|d| d.to_f64()))
    }
    /// What is still missing (0 once reached).
    async fn gap(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(num(self.progress(ctx).await?.numbers.gap))
    }
    /// Run-rate projection for the whole period: achieved ÷ elapsed share.
    async fn projected(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.progress(ctx).await?.numbers.projected.map(num))
    }
    /// Set by hand (allocations with `keepOverrides` leave it alone).
    async fn manual(&self) -> bool {
        self.row.manual
    }
    /// The team quota this one was allocated from.
    async fn allocated_from(&self, ctx: &Context<'_>) -> Result<Option<Quota>> {
        let Some(id) = self.row.allocated_from else { return Ok(None) };
        let p = ctx.principal()?;
        Ok(store::find(p.org, &ctx.state()?.db, id).await?.map(Quota::new))
    }
    /// Increases with every change; pass it to `setQuota` to detect conflicting edits.
    async fn version(&self) -> i32 {
        self.row.version
    }
    /// Last changed at.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
}

// ---------------------------------------------------------------- inputs

/// Sets a quota: creates it, or changes the amount of the one with the same subject, metric,
/// period and label.
#[derive(InputObject)]
pub struct SetQuotaInput {
    /// A member, team or territory ID.
    subject_id: ID,
    /// What is measured.
    metric: QuotaMetric,
    /// For ACTIVITY_COUNT: the activity type.
    activity_type_id: Option<ID>,
    /// For KPI: the KPI's key.
    kpi_key: Option<String>,
    /// MONTH, QUARTER or YEAR.
    grain: QuotaGrain,
    /// Any day in the period (quarters and years follow the fiscal year).
    period: NaiveDate,
    /// Tells several quotas of one subject and period apart, e.g. "new business" (default "").
    label: Option<String>,
    /// The full amount as a decimal string ("150000.00"; whole numbers for counts).
    amount: String,
    /// The `version` you last read: a stale one is refused with CONFLICT instead of silently
    /// overwriting someone else's change.
    version: Option<i32>,
}

/// A member's ramp.
#[derive(InputObject)]
pub struct SetQuotaRampInput {
    /// The member.
    member_id: ID,
    /// Percent of full quota for tenure months 1..N (the start month is month 1); empty clears.
    percents: Vec<i32>,
}

/// A weight for `allocateQuota` with method WEIGHTS.
#[derive(InputObject)]
pub struct AllocationWeightInput {
    /// The member.
    member_id: ID,
    /// Relative weight, 0 or more (decimal string).
    weight: String,
}

/// Splits a team quota over the team's active members.
#[derive(InputObject)]
pub struct AllocateQuotaInput {
    /// The team quota.
    team_quota_id: ID,
    /// EVEN, PRIOR_PERIOD_ACTUALS (by each member's result in the previous period) or WEIGHTS.
    method: AllocationMethod,
    /// For WEIGHTS: one per member; members left out get weight 0.
    weights: Option<Vec<AllocationWeightInput>>,
    /// Keep member quotas set by hand and share only the rest (default true).
    #[graphql(default = true)]
    keep_overrides: bool,
}

/// Filter for `quotas`.
#[derive(InputObject, Default)]
pub struct QuotaFilterInput {
    /// Only for this member, team or territory.
    subject_id: Option<ID>,
    /// Only this metric.
    metric: Option<QuotaMetric>,
    /// Only this grain.
    grain: Option<QuotaGrain>,
    /// Only the period (of `grain`, default QUARTER) containing this day.
    period: Option<NaiveDate>,
}

/// Result of `setQuota`.
#[derive(SimpleObject)]
pub struct QuotaPayload {
    /// The quota after the change; `null` when refused.
    quota: Option<Quota>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

/// Result of `allocateQuota`.
#[derive(SimpleObject)]
pub struct AllocateQuotaPayload {
    /// The team quota.
    team_quota: Option<Quota>,
    /// The member quotas, kept overrides included.
    member_quotas: Vec<Quota>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

/// Result of `setQuotaRamp`.
#[derive(SimpleObject)]
pub struct QuotaRampPayload {
    /// The member.
    member: Option<Member>,
    /// The ramp now in force.
    percents: Vec<i32>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

fn errors(list: Vec<FieldError>) -> Vec<UserError> {
    list.into_iter().map(UserError::from).collect()
}

// ---------------------------------------------------------------- loading

/// Resolves a subject ID of any of the three kinds, or NOT_FOUND.
async fn subject(p: &Principal, db: &impl ConnectionTrait, id: &ID) -> AppResult<(QuotaSubjectKind, Uuid)> {
    let (kind, uuid) = subject_ref(id)?;
    service::find_subject(p, db, kind, uuid).await
}

/// The kind and UUID a subject ID names; BAD_USER_INPUT for other kinds of IDs.
fn subject_ref(id: &ID) -> AppResult<(QuotaSubjectKind, Uuid)> {
    let (kind, uuid) = decode_global_id(id)?;
    let kind = match kind {
        NodeKind::Member => QuotaSubjectKind::Member,
        NodeKind::Team => QuotaSubjectKind::Team,
        NodeKind::Territory => QuotaSubjectKind::Territory,
        _ => return Err(AppError::bad_input("subjectId must be a Member, Team or Territory ID")),
    };
    Ok((kind, uuid))
}

async fn load(p: &Principal, db: &impl ConnectionTrait, id: &ID) -> AppResult<quota::Model> {
    service::load(p, db, decode_id(id, NodeKind::Quota)?).await
}

/// A quota by ID if the principal may read it (for `node`).
pub async fn load_for_node(p: &Principal, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<Quota>> {
    match load(p, db, &global_id(NodeKind::Quota, id)).await {
        Ok(q) => Ok(Some(Quota::new(q))),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- queries

/// Quota queries.
#[derive(Default)]
pub struct QuotaQuery;

#[Object]
impl QuotaQuery {
    /// Quotas the viewer may read, newest period first.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn quotas(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to include.")] filter: Option<QuotaFilterInput>,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<QuotaConnection> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let page = PageArgs::asked(ctx, first, after, last, before);
        page.validate()?;
        let f = filter.unwrap_or_default();
        let mut filter = QuotaFilter { metric: f.metric, grain: f.grain, ..Default::default() };
        if let Some(id) = &f.subject_id {
            filter.subject_ids = Some(vec![subject(p, db, id).await?.1]);
        }
        if let Some(day) = f.period {
            let s = scores::settings(p.org, db).await?;
            let grain = f.grain.unwrap_or(QuotaGrain::Quarter);
            filter.grain = Some(grain);
            filter.period_start = Some(store::period_of(&s, grain, day).start_date);
        }
        let mut rows = Vec::new();
        for q in store::list(p.org, db, &filter).await? {
            let kind = QuotaSubjectKind::parse(&q.subject_kind).unwrap_or(QuotaSubjectKind::Member);
            if policy::may_read(p, db, kind, q.subject_id).await? {
                rows.push(q);
            }
        }
        let rows = crate::graphql::keyset::slice(rows, &store::QUOTAS, &page)?;
        Ok(connection(ctx, rows, Quota::new).into())
    }

    /// One quota.
    async fn quota(&self, ctx: &Context<'_>, #[graphql(desc = "Its ID.")] id: ID) -> Result<Quota> {
        let p = ctx.principal()?;
        Ok(Quota::new(load(p, &ctx.state()?.db, &id).await?))
    }
}

// ---------------------------------------------------------------- mutations

/// Quota mutations.
#[derive(Default)]
pub struct QuotaMutation;

#[Object]
impl QuotaMutation {
    /// Sets a quota (admins; managers for members and teams they manage). A quota set here is
    /// manual: allocations with `keepOverrides` leave it alone.
    async fn set_quota(&self, ctx: &Context<'_>, input: SetQuotaInput) -> Result<QuotaPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let (subject_kind, subject_id) = subject_ref(&input.subject_id)?;
        let cmd = service::SetQuota {
            subject_kind,
            subject_id,
            metric: input.metric,
            activity_type_id: input.activity_type_id.as_ref().map(|id| decode_id(id, NodeKind::ActivityType)),
            kpi_key: input.kpi_key,
            grain: input.grain,
            period: input.period,
            label: input.label,
            amount: input.amount,
            version: input.version,
        };
        Ok(match service::set(&state.db, &state.events, p, cmd).await? {
            Ok(q) => QuotaPayload { quota: Some(Quota::new(q)), user_errors: vec![] },
            Err(e) => QuotaPayload { quota: None, user_errors: errors(e) },
        })
    }

    /// Sets a member's ramp: their quotas ask a percentage of the full amount during their first
    /// months (the month of their start date is month 1), applied automatically.
    async fn set_quota_ramp(&self, ctx: &Context<'_>, input: SetQuotaRampInput) -> Result<QuotaRampPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd =
            service::SetRamp { member_id: decode_id(&input.member_id, NodeKind::Member)?, percents: input.percents };
        match service::set_ramp(&state.db, &state.events, p, cmd).await? {
            Ok(r) => {
                let m = org_store::find_member(p.org, &state.db, r.member_id).await?.map(Member);
                Ok(QuotaRampPayload { member: m, percents: r.percents, user_errors: vec![] })
            }
            Err(e) => Ok(QuotaRampPayload { member: None, percents: vec![], user_errors: errors(e) }),
        }
    }

    /// Splits a team quota over the team's active members (its whole subtree, viewers left out):
    /// evenly, by each member's result in the previous period, or by weights. Creates or updates
    /// one member quota each (same metric, period and label); the shares sum exactly to the team
    /// amount (less kept overrides).
    async fn allocate_quota(&self, ctx: &Context<'_>, input: AllocateQuotaInput) -> Result<AllocateQuotaPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::AllocateQuota {
            team_quota_id: decode_id(&input.team_quota_id, NodeKind::Quota)?,
            method: input.method,
            weights: input.weights.map(|list| {
                list.into_iter()
                    .map(|w| service::AllocationWeight {
                        member_id: decode_id(&w.member_id, NodeKind::Member),
                        weight: w.weight,
                    })
                    .collect()
            }),
            keep_overrides: input.keep_overrides,
        };
        Ok(match service::allocate(&state.db, &state.events, p, cmd).await? {
            Ok(a) => AllocateQuotaPayload {
                team_quota: Some(Quota::new(a.team_quota)),
                member_quotas: a.member_quotas.into_iter().map(Quota::new).collect(),
                user_errors: vec![],
            },
            Err(e) => AllocateQuotaPayload { team_quota: None, member_quotas: vec![], user_errors: errors(e) },
        })
    }
}
