//! Bonus, SPIFF and team bonus lines.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{
    ActivityFact, BonusThreshold, CreditShare, DealCredit, Line, LineKind, LineSource, TeamBonusCondition, TeamFact,
    edge, money, percent, round_cents,
};

pub(super) fn bonus_lines(
    name: &str,
    thresholds: &[BonusThreshold],
    credited_revenue: Decimal,
    quota: Option<Decimal>,
    attainment: Option<Decimal>,
    currency: &str,
) -> Vec<Line> {
    let (Some(quota), Some(attainment)) = (quota, attainment) else {
        return Vec::new();
    };
    thresholds
        .iter()
        .filter(|t| credited_revenue >= edge(quota, t.attainment))
        .map(|t| {
            let amount = round_cents(t.amount);
            Line {
                kind: LineKind::Bonus,
                component: Some(name.to_owned()),
                source: LineSource::Plan,
                credited_base: Some(credited_revenue),
                attainment: Some(attainment),
                tier: Some(format!("threshold {} %", percent(t.attainment))),
                rate: None,
                amount,
                explanation: format!(
                    "Bonus '{name}': attainment of {} % ({} of a {} quota) reached the {} % threshold = {}.",
                    percent(attainment),
                    money(credited_revenue, currency),
                    money(quota, currency),
                    percent(t.attainment),
                    money(amount, currency),
                ),
            }
        })
        .collect()
}

/// A SPIFF's name, amount and window.
pub(super) struct Window<'a> {
    pub(super) name: &'a str,
    pub(super) amount: Decimal,
    pub(super) starts_on: NaiveDate,
    pub(super) ends_on: NaiveDate,
    pub(super) currency: &'a str,
}

impl Window<'_> {
    fn contains(&self, day: NaiveDate) -> bool {
        self.starts_on <= day && day <= self.ends_on
    }

    fn describe(&self) -> String {
        format!("SPIFF '{}' ({} to {})", self.name, self.starts_on, self.ends_on)
    }
}

pub(super) fn deal_spiff_lines(
    window: &Window,
    min_deal_amount: Option<Decimal>,
    credits: &[&DealCredit],
) -> Vec<Line> {
    let currency = window.currency;
    let amount = round_cents(window.amount);
    credits
        .iter()
        .filter(|c| matches!(c.share, CreditShare::Owner | CreditShare::Revenue(_)))
        .filter(|c| window.contains(c.closed_on))
        .filter(|c| min_deal_amount.is_none_or(|min| c.deal_amount >= min))
        .map(|c| Line {
            kind: LineKind::Spiff,
            component: Some(window.name.to_owned()),
            source: LineSource::Deal(c.deal_id),
            credited_base: None,
            attainment: None,
            tier: None,
            rate: None,
            amount,
            explanation: format!(
                "Deal '{}' of {} closed {} qualifies for {}{} = {}.",
                c.deal_name,
                money(c.deal_amount, currency),
                c.closed_on,
                window.describe(),
                min_deal_amount.map(|m| format!(", minimum deal {}", money(m, currency))).unwrap_or_default(),
                money(amount, currency),
            ),
        })
        .collect()
}

pub(super) fn activity_spiff_lines(window: &Window, activity_type_id: Uuid, activities: &[ActivityFact]) -> Vec<Line> {
    let currency = window.currency;
    let mut qualifying: Vec<&ActivityFact> = activities
        .iter()
        .filter(|a| a.activity_type_id == activity_type_id && a.quantity > 0 && window.contains(a.occurred_on))
        .collect();
    qualifying.sort_by_key(|a| (a.occurred_on, a.activity_id));
    qualifying
        .into_iter()
        .map(|a| {
            let amount = round_cents(window.amount * Decimal::from(a.quantity));
            Line {
                kind: LineKind::Spiff,
                component: Some(window.name.to_owned()),
                source: LineSource::Activity(a.activity_id),
                credited_base: None,
                attainment: None,
                tier: None,
                rate: None,
                amount,
                explanation: format!(
                    "{} × '{}' on {} qualify for {} at {} each = {}.",
                    a.quantity,
                    a.type_name,
                    a.occurred_on,
                    window.describe(),
                    money(window.amount, currency),
                    money(amount, currency),
                ),
            }
        })
        .collect()
}

pub(super) fn team_bonus_line(
    name: &str,
    team_id: Uuid,
    condition: TeamBonusCondition,
    threshold: Decimal,
    pool: Decimal,
    teams: &[TeamFact],
    currency: &str,
) -> Option<Line> {
    let team = teams.iter().find(|t| t.team_id == team_id)?;
    let (reached, what) = match condition {
        TeamBonusCondition::Quota => (team.quota_attainment?, "quota attainment"),
        TeamBonusCondition::MysteryAverage => (team.mystery_average?, "mystery-check average"),
    };
    if reached < threshold || team.active_members == 0 {
        return None;
    }
    let amount = round_cents(pool / Decimal::from(team.active_members));
    let unit = if condition == TeamBonusCondition::Quota { " %" } else { "" };
    Some(Line {
        kind: LineKind::TeamBonus,
        component: Some(name.to_owned()),
        source: LineSource::Team(team_id),
        credited_base: None,
        attainment: (condition == TeamBonusCondition::Quota).then_some(reached),
        tier: None,
        rate: None,
        amount,
        explanation: format!(
            "Team '{}' reached a {what} of {}{unit} (threshold {}{unit}): \
             team bonus '{name}' of {} split over {} active member{} = {}.",
            team.team_name,
            percent(reached),
            percent(threshold),
            money(pool, currency),
            team.active_members,
            if team.active_members == 1 { "" } else { "s" },
            money(amount, currency),
        ),
    })
}
