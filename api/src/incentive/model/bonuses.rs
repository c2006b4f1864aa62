//! Bonus, SPIFF and team bonus lines.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{
    ActivityFact, BonusThreshold, CreditShare, DealCredit, Line, LineKind, LineSource, TeamBonusCondition, TeamFact,
    edge, money, percent, round_cents,
};
use crate::core::locale::Locale;

pub(super) fn bonus_lines(
    name: &str,
    thresholds: &[BonusThreshold],
    credited_revenue: Decimal,
    quota: Option<Decimal>,
    attainment: Option<Decimal>,
    currency: &str,
    locale: Locale,
) -> Vec<Line> {
    let (Some(quota), Some(attainment)) = (quota, attainment) else {
        return Vec::new();
    };
    thresholds
        .iter()
        .filter(|t| credited_revenue >= edge(quota, t.attainment))
        .map(|t| {
            let amount = round_cents(t.amount);
            let (reached, threshold) = (percent(attainment), percent(t.attainment));
            let (revenue, quota_m, paid) =
                (money(credited_revenue, currency), money(quota, currency), money(amount, currency));
            Line {
                kind: LineKind::Bonus,
                component: Some(name.to_owned()),
                source: LineSource::Plan,
                credited_base: Some(credited_revenue),
                attainment: Some(attainment),
                tier: Some(format!("threshold {} %", percent(t.attainment))),
                rate: None,
                amount,
                explanation: match locale {
                    Locale::En => format!(
                        "Bonus '{name}': attainment of {reached} % ({revenue} of a {quota_m} quota) reached the \
                         {threshold} % threshold = {paid}."
                    ),
                    Locale::Nl => format!(
                        "Bonus '{name}': realisatie van {reached} % ({revenue} van een quotum van {quota_m}) bereikte \
                         de drempel van {threshold} % = {paid}."
                    ),
                },
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
    /// The language of the explanations.
    pub(super) locale: Locale,
}

impl Window<'_> {
    fn contains(&self, day: NaiveDate) -> bool {
        self.starts_on <= day && day <= self.ends_on
    }

    /// "SPIFF 'Autumn push' (2026-10-10 to 2026-10-20)"; in Dutch "… (2026-10-10 t/m 2026-10-20)".
    fn describe(&self) -> String {
        let (name, from, to) = (self.name, self.starts_on, self.ends_on);
        match self.locale {
            Locale::En => format!("SPIFF '{name}' ({from} to {to})"),
            Locale::Nl => format!("SPIFF '{name}' ({from} t/m {to})"),
        }
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
        .map(|c| {
            let (deal, closed_on, spiff) = (&c.deal_name, c.closed_on, window.describe());
            let (deal_m, paid) = (money(c.deal_amount, currency), money(amount, currency));
            let minimum = min_deal_amount.map(|m| money(m, currency));
            Line {
                kind: LineKind::Spiff,
                component: Some(window.name.to_owned()),
                source: LineSource::Deal(c.deal_id),
                credited_base: None,
                attainment: None,
                tier: None,
                rate: None,
                amount,
                explanation: match window.locale {
                    Locale::En => {
                        let minimum = minimum.map(|m| format!(", minimum deal {m}")).unwrap_or_default();
                        format!("Deal '{deal}' of {deal_m} closed {closed_on} qualifies for {spiff}{minimum} = {paid}.")
                    }
                    Locale::Nl => {
                        let minimum = minimum.map(|m| format!(", minimaal dealbedrag {m}")).unwrap_or_default();
                        format!(
                            "Deal '{deal}' van {deal_m} gesloten op {closed_on} komt in aanmerking voor \
                             {spiff}{minimum} = {paid}."
                        )
                    }
                },
            }
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
            let (quantity, type_name, on, spiff) = (a.quantity, &a.type_name, a.occurred_on, window.describe());
            let (each, paid) = (money(window.amount, currency), money(amount, currency));
            Line {
                kind: LineKind::Spiff,
                component: Some(window.name.to_owned()),
                source: LineSource::Activity(a.activity_id),
                credited_base: None,
                attainment: None,
                tier: None,
                rate: None,
                amount,
                explanation: match window.locale {
                    Locale::En => {
                        format!("{quantity} × '{type_name}' on {on} qualify for {spiff} at {each} each = {paid}.")
                    }
                    Locale::Nl => {
                        let verb = if quantity == 1 { "komt" } else { "komen" };
                        format!(
                            "{quantity} × '{type_name}' op {on} {verb} in aanmerking voor {spiff} tegen {each} per \
                             stuk = {paid}."
                        )
                    }
                },
            }
        })
        .collect()
}

/// The member's share of a team bonus pool when `team` reached the threshold.
pub(super) fn team_bonus_line(
    name: &str,
    team: &TeamFact,
    condition: TeamBonusCondition,
    threshold: Decimal,
    pool: Decimal,
    currency: &str,
    locale: Locale,
) -> Option<Line> {
    let team_id = team.team_id;
    let (reached, what) = match (condition, locale) {
        (TeamBonusCondition::Quota, Locale::En) => (team.quota_attainment?, "quota attainment"),
        (TeamBonusCondition::Quota, Locale::Nl) => (team.quota_attainment?, "quotumrealisatie"),
        (TeamBonusCondition::MysteryAverage, Locale::En) => (team.mystery_average?, "mystery-check average"),
        (TeamBonusCondition::MysteryAverage, Locale::Nl) => (team.mystery_average?, "gemiddelde mystery-checkscore"),
    };
    if reached < threshold || team.active_members == 0 {
        return None;
    }
    let amount = round_cents(pool / Decimal::from(team.active_members));
    let unit = if condition == TeamBonusCondition::Quota { " %" } else { "" };
    let (team_name, members) = (&team.team_name, team.active_members);
    let (reached_p, threshold_p) = (percent(reached), percent(threshold));
    let (pool_m, paid) = (money(pool, currency), money(amount, currency));
    Some(Line {
        kind: LineKind::TeamBonus,
        component: Some(name.to_owned()),
        source: LineSource::Team(team_id),
        credited_base: None,
        attainment: (condition == TeamBonusCondition::Quota).then_some(reached),
        tier: None,
        rate: None,
        amount,
        explanation: match locale {
            Locale::En => format!(
                "Team '{team_name}' reached a {what} of {reached_p}{unit} (threshold {threshold_p}{unit}): \
                 team bonus '{name}' of {pool_m} split over {members} active member{} = {paid}.",
                if members == 1 { "" } else { "s" },
            ),
            Locale::Nl => format!(
                "Team '{team_name}' bereikte een {what} van {reached_p}{unit} (drempel {threshold_p}{unit}): \
                 teambonus '{name}' van {pool_m} verdeeld over {members} {} = {paid}.",
                if members == 1 { "actief lid" } else { "actieve leden" },
            ),
        },
    })
}
