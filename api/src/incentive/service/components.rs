//! Plan components as given, and turning them into the model's components.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::principal::Principal;
use crate::incentive::model::{
    self, BonusThreshold, Component, DrawKind, SpiffTarget, TeamBonusCondition, Tier, TierMode,
};
use crate::org::store as org_store;

/// What a plan component does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentKind {
    /// A rate on credited revenue, with attainment tiers.
    Commission,
    /// Fixed amounts at attainment thresholds.
    Bonus,
    /// A fixed amount per qualifying deal or activity inside a window.
    Spiff,
    /// A pool paid when a team reaches its condition.
    TeamBonus,
    /// A guaranteed minimum per period.
    Draw,
}

/// A commission tier as given.
#[derive(Debug, Clone)]
pub struct TierDraft {
    /// Attainment percent where the tier starts, as given.
    pub from_attainment: String,
    /// Rate in percent, as given.
    pub rate: String,
    /// Marginal or retroactive.
    pub mode: TierMode,
}

/// A bonus threshold as given.
#[derive(Debug, Clone)]
pub struct ThresholdDraft {
    /// Attainment percent that triggers it, as given.
    pub attainment: String,
    /// Amount paid once, as given.
    pub amount: String,
}

/// One plan component as given: the fields its kind needs (the others are ignored). IDs are
/// the decoded UUID or the error to raise when the kind reads them.
#[derive(Debug)]
pub struct ComponentDraft {
    /// What it does.
    pub kind: ComponentKind,
    /// Its name.
    pub name: String,
    /// COMMISSION: rate below the first tier.
    pub base_rate: Option<String>,
    /// COMMISSION: tiers.
    pub tiers: Option<Vec<TierDraft>>,
    /// COMMISSION: most commission per period.
    pub cap: Option<String>,
    /// BONUS: thresholds.
    pub thresholds: Option<Vec<ThresholdDraft>>,
    /// SPIFF: deals or activities.
    pub target: Option<SpiffTarget>,
    /// SPIFF on activities: the activity type.
    pub activity_type_id: Option<AppResult<Uuid>>,
    /// SPIFF on deals: smallest qualifying amount.
    pub min_deal_amount: Option<String>,
    /// SPIFF: amount per item; DRAW: guaranteed amount.
    pub amount: Option<String>,
    /// SPIFF: first day.
    pub starts_on: Option<NaiveDate>,
    /// SPIFF: last day.
    pub ends_on: Option<NaiveDate>,
    /// TEAM_BONUS: the team.
    pub team_id: Option<AppResult<Uuid>>,
    /// TEAM_BONUS: the condition.
    pub condition: Option<TeamBonusCondition>,
    /// TEAM_BONUS: level to reach.
    pub threshold: Option<String>,
    /// TEAM_BONUS: the pool.
    pub pool: Option<String>,
    /// DRAW: recoverable or not.
    pub draw_kind: Option<DrawKind>,
}

fn parse_decimal(field: &str, raw: &str, e: &mut Vec<FieldError>) -> Decimal {
    let text = raw.trim();
    let plain = !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-');
    match text.parse::<Decimal>() {
        Ok(d) if plain => d,
        _ => {
            e.push(FieldError::new(field, "INVALID", "must be a decimal number like 12.5"));
            Decimal::ZERO
        }
    }
}

/// Turns components as given into the model's, checking referenced activity types and teams
/// (NOT_FOUND) and the plan-wide rules.
pub(super) async fn parse_components(
    p: &Principal,
    db: &impl ConnectionTrait,
    input: Vec<ComponentDraft>,
) -> AppResult<Checked<Vec<Component>>> {
    let mut e = Vec::new();
    let mut out = Vec::new();
    for (i, c) in input.into_iter().enumerate() {
        let f = |name: &str| format!("components[{i}].{name}");
        let req = |name: &str, v: Option<String>, e: &mut Vec<FieldError>| -> Decimal {
            match v {
                Some(s) => parse_decimal(&f(name), &s, e),
                None => {
                    e.push(FieldError::new(&f(name), "REQUIRED", format!("a {:?} component needs {name}", c.kind)));
                    Decimal::ZERO
                }
            }
        };
        let name = c.name.trim().to_owned();
        let component = match c.kind {
            ComponentKind::Commission => Component::Commission {
                name,
                base_rate: c.base_rate.as_deref().map_or(Decimal::ZERO, |s| parse_decimal(&f("baseRate"), s, &mut e)),
                tiers: c
                    .tiers
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                    .map(|(j, t)| Tier {
                        from_attainment: parse_decimal(
                            &f(&format!("tiers[{j}].fromAttainment")),
                            &t.from_attainment,
                            &mut e,
                        ),
                        rate: parse_decimal(&f(&format!("tiers[{j}].rate")), &t.rate, &mut e),
                        mode: t.mode,
                    })
                    .collect(),
                cap: c.cap.as_deref().map(|s| parse_decimal(&f("cap"), s, &mut e)),
            },
            ComponentKind::Bonus => Component::Bonus {
                name,
                thresholds: c
                    .thresholds
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                    .map(|(j, t)| BonusThreshold {
                        attainment: parse_decimal(&f(&format!("thresholds[{j}].attainment")), &t.attainment, &mut e),
                        amount: parse_decimal(&f(&format!("thresholds[{j}].amount")), &t.amount, &mut e),
                    })
                    .collect(),
            },
            ComponentKind::Spiff => {
                let activity_type_id = match c.activity_type_id {
                    Some(id) => Some(
                        crate::scoring::store::find_activity_type(p.org, db, id?)
                            .await?
                            .ok_or(AppError::NotFound("activity type"))?
                            .id,
                    ),
                    None => None,
                };
                let amount = req("amount", c.amount.clone(), &mut e);
                let (starts_on, ends_on) = match (c.starts_on, c.ends_on) {
                    (Some(a), Some(b)) => (a, b),
                    _ => {
                        e.push(FieldError::new(&f("startsOn"), "REQUIRED", "a SPIFF needs startsOn and endsOn"));
                        (NaiveDate::MIN, NaiveDate::MIN)
                    }
                };
                Component::Spiff {
                    name,
                    target: c.target.unwrap_or(SpiffTarget::Deal),
                    activity_type_id,
                    min_deal_amount: c
                        .min_deal_amount
                        .as_deref()
                        .map(|s| parse_decimal(&f("minDealAmount"), s, &mut e)),
                    amount,
                    starts_on,
                    ends_on,
                }
            }
            ComponentKind::TeamBonus => {
                let team_id = match c.team_id {
                    Some(id) => Some(org_store::find_team(p.org, db, id?).await?.ok_or(AppError::NotFound("team"))?.id),
                    None => {
                        e.push(FieldError::new(&f("teamId"), "REQUIRED", "a TEAM_BONUS names its team"));
                        None
                    }
                };
                Component::TeamBonus {
                    name,
                    team_id: team_id.unwrap_or(Uuid::nil()),
                    condition: c.condition.unwrap_or(TeamBonusCondition::Quota),
                    threshold: req("threshold", c.threshold.clone(), &mut e),
                    pool: req("pool", c.pool.clone(), &mut e),
                }
            }
            ComponentKind::Draw => Component::Draw {
                name,
                kind: c.draw_kind.unwrap_or(DrawKind::NonRecoverable),
                amount: req("amount", c.amount.clone(), &mut e),
            },
        };
        out.push(component);
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    match model::validate_components(&out) {
        Ok(()) => Ok(Ok(out)),
        Err(x) => Ok(Err(vec![x])),
    }
}
