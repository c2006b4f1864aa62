//! Commission lines: the attainment bands of a commission component, credits filling them
//! (marginal or retroactive), and the lines' explanations.

use rust_decimal::Decimal;

use super::{
    CreditShare, DealCredit, Line, LineKind, LineSource, Tier, TierMode, attainment_percent, edge, money, percent,
    round_cents, tier_label,
};

/// One attainment band of a commission, in money.
struct Band {
    start: Decimal,
    /// `None`: open-ended.
    end: Option<Decimal>,
    rate: Decimal,
    label: String,
    /// The tier this band is, `None` for the base band.
    tier: Option<usize>,
}

fn bands(base_rate: Decimal, tiers: &[Tier], quota: Decimal) -> Vec<Band> {
    let edges: Vec<Decimal> = tiers.iter().map(|t| edge(quota, t.from_attainment)).collect();
    let mut bands = Vec::with_capacity(tiers.len() + 1);
    if tiers.first().is_none_or(|t| t.from_attainment > Decimal::ZERO) {
        bands.push(Band {
            start: Decimal::ZERO,
            end: edges.first().copied(),
            rate: base_rate,
            label: "base".to_owned(),
            tier: None,
        });
    }
    for (i, tier) in tiers.iter().enumerate() {
        bands.push(Band {
            start: edges[i],
            end: edges.get(i + 1).copied(),
            rate: tier.rate,
            label: tier_label(i, tier),
            tier: Some(i),
        });
    }
    bands
}

/// The band where money position `at` falls: the last one starting at or below it.
fn band_at(bands: &[Band], at: Decimal) -> usize {
    bands.iter().rposition(|b| b.start <= at).unwrap_or(0)
}

/// "(part of 12000.00 EUR; 60 % revenue split of 20000.00 EUR)", or nothing.
fn credit_notes(credit: &DealCredit, portion: Decimal, currency: &str) -> String {
    let mut notes = Vec::new();
    if portion != credit.credited {
        notes.push(format!("part of {}", money(credit.credited, currency)));
    }
    match credit.share {
        CreditShare::Owner => {}
        CreditShare::Revenue(p) => {
            notes.push(format!("{p} % revenue split of {}", money(credit.deal_amount, currency)))
        }
        CreditShare::Overlay(p) => {
            notes.push(format!("{p} % overlay credit on {}", money(credit.deal_amount, currency)))
        }
    }
    if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) }
}

/// "at 8 % (an accelerator; base rate 2 %)".
fn rate_phrase(rate: Decimal, base_rate: Decimal, is_base: bool) -> String {
    if is_base {
        format!("at the base rate of {} %", percent(base_rate))
    } else if rate > base_rate {
        format!("at {} % (an accelerator; base rate {} %)", percent(rate), percent(base_rate))
    } else if rate < base_rate {
        format!("at {} % (a decelerator; base rate {} %)", percent(rate), percent(base_rate))
    } else {
        format!("at {} %", percent(rate))
    }
}

pub(super) fn commission_lines(
    name: &str,
    base_rate: Decimal,
    tiers: &[Tier],
    credits: &[&DealCredit],
    quota: Option<Decimal>,
    currency: &str,
) -> Vec<Line> {
    let line = |credit: &DealCredit,
                portion: Decimal,
                attainment: Option<Decimal>,
                tier: String,
                rate: Decimal,
                how: String| {
        let amount = round_cents(portion * rate / Decimal::ONE_HUNDRED);
        Line {
            kind: LineKind::Commission,
            component: Some(name.to_owned()),
            source: LineSource::Deal(credit.deal_id),
            credited_base: Some(portion),
            attainment,
            tier: Some(tier),
            rate: Some(rate),
            amount,
            explanation: format!(
                "Deal '{}' closed {}: {} of credited revenue{} {how} = {}.",
                credit.deal_name,
                credit.closed_on,
                money(portion, currency),
                credit_notes(credit, portion, currency),
                money(amount, currency),
            ),
        }
    };

    let Some(quota) = quota else {
        return credits
            .iter()
            .map(|c| {
                let how = format!(
                    "{} (there is no quota for the period, so no tiers apply)",
                    rate_phrase(base_rate, base_rate, true)
                );
                line(c, c.credited, None, "base".to_owned(), base_rate, how)
            })
            .collect();
    };

    let bands = bands(base_rate, tiers, quota);
    let placement = |band: &Band| match band.tier {
        Some(_) => format!("in {}", band.label),
        None => match tiers.first() {
            Some(first) => format!("below {}", tier_label(0, first)),
            None => String::new(),
        },
    };
    let how = |band: &Band| {
        let placed = placement(band);
        let rate = rate_phrase(band.rate, base_rate, band.tier.is_none());
        if placed.is_empty() { rate } else { format!("{placed} {rate}") }
    };

    let total: Decimal = credits.iter().map(|c| c.credited).sum();
    let reached = &bands[band_at(&bands, total)];
    let mut lines = Vec::new();
    let mut running = Decimal::ZERO;

    if let Some(t) = reached.tier
        && tiers[t].mode == TierMode::Retroactive
    {
        let final_attainment = attainment_percent(total, Some(quota)).unwrap_or_default();
        for credit in credits {
            running += credit.credited;
            let how = format!(
                "in {}, reached at {} % attainment and paid retroactively on everything, {}",
                reached.label,
                percent(final_attainment),
                rate_phrase(reached.rate, base_rate, false)
            );
            let attainment = attainment_percent(running, Some(quota));
            lines.push(line(credit, credit.credited, attainment, reached.label.clone(), reached.rate, how));
        }
        return lines;
    }

    for credit in credits {
        let start = running;
        let end = running + credit.credited;
        if credit.credited <= Decimal::ZERO {
            let band = &bands[band_at(&bands, start)];
            let attainment = attainment_percent(end, Some(quota));
            lines.push(line(credit, credit.credited, attainment, band.label.clone(), band.rate, how(band)));
        } else {
            for band in &bands {
                let low = start.max(band.start);
                let high = band.end.map_or(end, |band_end| end.min(band_end));
                if high > low {
                    let attainment = attainment_percent(high, Some(quota));
                    lines.push(line(credit, high - low, attainment, band.label.clone(), band.rate, how(band)));
                }
            }
        }
        running = end;
    }
    lines
}
