//! A team's forecast tree, kept: the facts of its teams and members for a period (deals
//! summed per owner, quotas, submissions and adjustments) are read once and kept until an event
//! of the organization arrives (a deal, a forecast, a quota, a member or a team changed; not an
//! activity) or a time-to-live passes. Rows are built from the kept facts on every read, with the clock of
//! that read (the run rate follows the share of the period elapsed).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use entity::{deal, member};

use super::model::{self, Category, DealFact, ForecastGrain, Outcome, PipelineSums};
use super::store;
use crate::core::error::AppResult;
use crate::core::period::Period;
use crate::core::settings::OrgSettings;
use crate::events::cache::DerivedViews;
use crate::org::directory::Directory;
use crate::pipeline::model::{DealOutcome, ForecastCategory};
use crate::quota::model::{QuotaGrain, QuotaMetric};
use crate::quota::store as quota_store;

/// Forecast facts kept per organization, root team, grain and the period's first day.
pub type Forecasts = DerivedViews<(Uuid, ForecastGrain, NaiveDate), TreeFacts>;

/// How many team-periods are kept across organizations.
pub const KEPT_FORECASTS: usize = 2048;

/// The facts of a team's tree for one period.
#[derive(Debug)]
pub struct TreeFacts {
    /// The organization's currency.
    pub currency: String,
    /// The teams of the tree.
    pub teams: HashMap<Uuid, entity::team::Model>,
    /// Their members, by name.
    pub members: Vec<member::Model>,
    /// Each owner's deals, summed.
    pub sums: HashMap<Uuid, PipelineSums>,
    /// Revenue quotas per member or team.
    pub quotas: HashMap<Uuid, Decimal>,
    /// Every submission of the period, oldest first.
    pub submissions: Vec<entity::forecast_submission::Model>,
    /// Every adjustment of the period, oldest first.
    pub adjustments: Vec<entity::forecast_adjustment::Model>,
}

/// The facts of the tree under `root` for `period`: the kept ones while nothing of the
/// organization changed, else read now. The caller checked that the viewer may read the team.
pub async fn facts(
    views: &Forecasts,
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    dir: &Directory,
    grain: ForecastGrain,
    period: &Period,
    root: Uuid,
) -> AppResult<Arc<TreeFacts>> {
    // A forecast reads no activity: a logged call leaves it alone.
    views.get(s.org, (root, grain, period.start_date), &[], || gather(s, db, dir, grain, period, root)).await
}

fn quota_grain(g: ForecastGrain) -> QuotaGrain {
    match g {
        ForecastGrain::Month => QuotaGrain::Month,
        ForecastGrain::Quarter => QuotaGrain::Quarter,
    }
}

fn deal_fact(d: &deal::Model, period: &Period) -> DealFact {
    let category = ForecastCategory::parse(&d.forecast_category).unwrap_or(ForecastCategory::Pipeline);
    DealFact {
        amount: Decimal::new(d.amount_cents, 2),
        probability: d.probability,
        category: Category::from(category),
        outcome: d.outcome.as_deref().and_then(DealOutcome::parse).map(Outcome::from),
        closed_in_period: d.closed_at.is_some_and(|t| t >= period.start && t < period.end),
        expected_in_period: d.expected_close_date.is_some_and(|e| e >= period.start_date && e < period.end_date),
    }
}

/// The facts of a team's tree: its teams and active members from the organization's directory
/// in memory, their deals, quotas, submissions and adjustments from the database.
async fn gather(
    s: &OrgSettings,
    db: &impl ConnectionTrait,
    dir: &Directory,
    grain: ForecastGrain,
    period: &Period,
    root: Uuid,
) -> AppResult<TreeFacts> {
    let org = s.org;
    let subtree: Vec<Uuid> = dir.tree().subtree([root]).into_iter().collect();
    let teams: HashMap<Uuid, entity::team::Model> =
        subtree.iter().filter_map(|t| dir.team(*t)).map(|t| (t.id, t.clone())).collect();
    let mut members: Vec<member::Model> = subtree.iter().flat_map(|t| dir.team_members(*t)).cloned().collect();
    members.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let ids: Vec<Uuid> = members.iter().map(|m| m.id).collect();
    let deals = crate::kpi::store::deals_of(org, db, &ids).await?;
    let mut by_owner: HashMap<Uuid, Vec<DealFact>> = HashMap::new();
    for d in &deals {
        by_owner.entry(d.owner_id).or_default().push(deal_fact(d, period));
    }
    let sums = by_owner.into_iter().map(|(m, facts)| (m, model::pipeline_sums(&facts))).collect();
    let mut subjects = ids.clone();
    subjects.extend(subtree.iter().copied());
    let quota_rows = quota_store::list(
        org,
        db,
        &quota_store::QuotaFilter {
            subject_ids: Some(subjects),
            metric: Some(QuotaMetric::Revenue),
            grain: Some(quota_grain(grain)),
            period_start: Some(period.start_date),
            label: None,
        },
    )
    .await?;
    let mut quotas: HashMap<Uuid, Decimal> = HashMap::new();
    for q in &quota_rows {
        let m = members.iter().find(|m| m.id == q.subject_id);
        *quotas.entry(q.subject_id).or_default() += quota_store::effective_amount(q, m, period);
    }
    let currency = dir.organization.currency.clone();
    Ok(TreeFacts {
        currency,
        teams,
        members,
        sums,
        quotas,
        submissions: store::submissions(org, db, grain.as_str(), period.start_date).await?,
        adjustments: store::adjustments(org, db, grain.as_str(), period.start_date).await?,
    })
}
