//! Commission lines: the attainment bands of a commission component, credits filling them
//! (marginal or retroactive), and the lines' explanations.

use rust_decimal::Decimal;

use super::{
    CreditShare, DealCredit, Line, LineKind, LineSource, Tier, TierMode, attainment_percent, edge, money, percent,
    round_cents, tier_label, tier_label_in,
};
use crate::core::locale::Locale;

/// One attainment band of a commission, in money.
struct Band {
    start: Decimal,
    /// `None`: open-ended.
    end: Option<Decimal>,
    rate: Decimal,
    /// The stored label (`base`, `tier 2 (from 50 %)`).
    label: String,
    /// The label as the explanation names it, in its language.
    shown: String,
    /// The tier this band is, `None` for the base band.
    tier: Option<usize>,
}

fn bands(base_rate: Decimal, tiers: &[Tier], quota: Decimal, locale: Locale) -> Vec<Band> {
    let edges: Vec<Decimal> = tiers.iter().map(|t| edge(quota, t.from_attainment)).collect();
    let mut bands = Vec::with_capacity(tiers.len() + 1);
    if tiers.first().is_none_or(|t| t.from_attainment > Decimal::ZERO) {
        bands.push(Band {
            start: Decimal::ZERO,
            end: edges.first().copied(),
            rate: base_rate,
            label: "base".to_owned(),
            shown: String::new(),
            tier: None,
        });
    }
    for (i, tier) in tiers.iter().enumerate() {
        bands.push(Band {
            start: edges[i],
            end: edges.get(i + 1).copied(),
            rate: tier.rate,
            label: tier_label(i, tier),
            shown: tier_label_in(i, tier, locale),
            tier: Some(i),
        });
    }
    bands
}

/// The band where money position `at` falls: the last one starting at or below it.
fn band_at(bands: &[Band], at: Decimal) -> usize {
    bands.iter().rposition(|b| b.start <= at).unwrap_or(0)
}

/// "(part of 12000.00 EUR; 60 % revenue split of 20000.00 EUR)", or nothing; in Dutch
/// "(deel van 12000.00 EUR; 60 % omzetverdeling van 20000.00 EUR)".
fn credit_notes(credit: &DealCredit, portion: Decimal, currency: &str, locale: Locale) -> String {
    let mut notes = Vec::new();
    if portion != credit.credited {
        let whole = money(credit.credited, currency);
        notes.push(match locale {
            Locale::En => format!("part of {whole}"),
            Locale::Nl => format!("deel van {whole}"),
        });
    }
    let deal = money(credit.deal_amount, currency);
    match (credit.share, locale) {
        (CreditShare::Owner, _) => {}
        (CreditShare::Revenue(p), Locale::En) => notes.push(format!("{p} % revenue split of {deal}")),
        (CreditShare::Revenue(p), Locale::Nl) => notes.push(format!("{p} % omzetverdeling van {deal}")),
        (CreditShare::Overlay(p), Locale::En) => notes.push(format!("{p} % overlay credit on {deal}")),
        (CreditShare::Overlay(p), Locale::Nl) => notes.push(format!("{p} % overlay-creditering op {deal}")),
    }
    if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) }
}

/// "at 8 % (an accelerator; base rate 2 %)"; in Dutch "tegen 8 % (een versneller; basistarief 2 %)".
fn rate_phrase(rate: Decimal, base_rate: Decimal, is_base: bool, locale: Locale) -> String {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let order = if is_base { None } else { Some(rate.cmp(&base_rate)) };
    let (rate, base) = (percent(rate), percent(base_rate));
    match (locale, order) {
        (Locale::En, None) => format!("at the base rate of {base} %"),
        (Locale::En, Some(Greater)) => format!("at {rate} % (an accelerator; base rate {base} %)"),
        (Locale::En, Some(Less)) => format!("at {rate} % (a decelerator; base rate {base} %)"),
        (Locale::En, Some(Equal)) => format!("at {rate} %"),
        (Locale::Nl, None) => format!("tegen het basistarief van {base} %"),
        (Locale::Nl, Some(Greater)) => format!("tegen {rate} % (een versneller; basistarief {base} %)"),
        (Locale::Nl, Some(Less)) => format!("tegen {rate} % (een vertrager; basistarief {base} %)"),
        (Locale::Nl, Some(Equal)) => format!("tegen {rate} %"),
    }
}

pub(super) fn commission_lines(
    name: &str,
    base_rate: Decimal,
    tiers: &[Tier],
    credits: &[&DealCredit],
    quota: Option<Decimal>,
    currency: &str,
    locale: Locale,
) -> Vec<Line> {
    let line = |credit: &DealCredit,
                portion: Decimal,
                attainment: Option<Decimal>,
                tier: String,
                rate: Decimal,
                how: String| {
        let amount = round_cents(portion * rate / Decimal::ONE_HUNDRED);
        let (deal, closed_on) = (&credit.deal_name, credit.closed_on);
        let (portion_m, amount_m) = (money(portion, currency), money(amount, currency));
        let notes = credit_notes(credit, portion, currency, locale);
        Line {
            kind: LineKind::Commission,
            component: Some(name.to_owned()),
            source: LineSource::Deal(credit.deal_id),
            credited_base: Some(portion),
            attainment,
            tier: Some(tier),
            rate: Some(rate),
            amount,
            explanation: match locale {
                Locale::En => {
                    format!(
                        "Deal '{deal}' closed {closed_on}: {portion_m} of credited revenue{notes} {how} = {amount_m}."
                    )
                }
                Locale::Nl => {
                    format!(
                        "Deal '{deal}' gesloten op {closed_on}: {portion_m} gecrediteerde omzet{notes} {how} = \
                         {amount_m}."
                    )
                }
            },
        }
    };

    let Some(quota) = quota else {
        return credits
            .iter()
            .map(|c| {
                let rate = rate_phrase(base_rate, base_rate, true, locale);
                let how = match locale {
                    Locale::En => format!("{rate} (there is no quota for the period, so no tiers apply)"),
                    Locale::Nl => format!("{rate} (er is geen quotum voor de periode, dus er gelden geen staffels)"),
                };
                line(c, c.credited, None, "base".to_owned(), base_rate, how)
            })
            .collect();
    };

    let bands = bands(base_rate, tiers, quota, locale);
    let placement = |band: &Band| match (band.tier, tiers.first()) {
        (Some(_), _) => format!("in {}", band.shown),
        (None, Some(first)) => {
            let first = tier_label_in(0, first, locale);
            match locale {
                Locale::En => format!("below {first}"),
                Locale::Nl => format!("onder {first}"),
            }
        }
        (None, None) => String::new(),
    };
    let how = |band: &Band| {
        let placed = placement(band);
        let rate = rate_phrase(band.rate, base_rate, band.tier.is_none(), locale);
        if placed.is_empty() { rate } else { format!("{placed} {rate}") }
    };

    let total: Decimal = credits.iter().map(|c| c.credited).sum();
    let reached = &bands[band_at(&bands, total)];
    let mut lines = Vec::new();
    let mut running = Decimal::ZERO;

    if let Some(t) = reached.tier
        && tiers[t].mode == TierMode::Retroactive
    {
        let final_attainment = percent(attainment_percent(total, Some(quota)).unwrap_or_default());
        for credit in credits {
            running += credit.credited;
            let (shown, rate) = (&reached.shown, rate_phrase(reached.rate, base_rate, false, locale));
            let how = match locale {
                Locale::En => format!(
                    "in {shown}, reached at {final_attainment} % attainment and paid retroactively on everything, \
                     {rate}"
                ),
                Locale::Nl => format!(
                    "in {shown}, bereikt bij {final_attainment} % realisatie en met terugwerkende kracht over alles \
                     betaald, {rate}"
                ),
            };
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
