//! Lines that settle a period against earlier ones: clawbacks of reversed deals, and the draw
//! (a top-up, or the recovery of an earlier one).

use rust_decimal::Decimal;

use super::{ClawbackFact, DrawKind, Line, LineKind, LineSource, money, percent, round_cents, stored_tier_in};
use crate::core::locale::Locale;

pub(super) fn clawback_lines(clawback: &ClawbackFact, currency: &str, locale: Locale) -> Vec<Line> {
    let reason = clawback.reason.trim();
    clawback
        .original
        .iter()
        .map(|original| {
            let amount = round_cents(-original.amount);
            let (deal, paid) = (&clawback.deal_name, money(original.amount, currency));
            let why = if reason.is_empty() { String::new() } else { format!(" ({reason})") };
            let tier = original.tier.as_deref().map(|t| format!(" in {}", stored_tier_in(t, locale)));
            let tier = tier.unwrap_or_default();
            let base = original.credited_base.map(|b| money(b, currency));
            let rate = original.rate.map(percent);
            let explanation = match locale {
                Locale::En => {
                    let base = base.map(|b| format!(" on {b}")).unwrap_or_default();
                    let rate = rate.map(|r| format!(" at the original rate of {r} %")).unwrap_or_default();
                    format!("Deal '{deal}' was reversed{why}: {paid} paid earlier{base}{tier}{rate} is clawed back.")
                }
                Locale::Nl => {
                    let base = base.map(|b| format!(" over {b}")).unwrap_or_default();
                    let rate = rate.map(|r| format!(" tegen het oorspronkelijke tarief van {r} %")).unwrap_or_default();
                    format!(
                        "Deal '{deal}' is teruggedraaid{why}: terugvordering van {paid}, eerder \
                         betaald{base}{tier}{rate}."
                    )
                }
            };
            Line {
                kind: LineKind::Clawback,
                component: None,
                source: LineSource::Deal(clawback.deal_id),
                credited_base: original.credited_base,
                attainment: None,
                tier: original.tier.clone(),
                rate: original.rate,
                amount,
                explanation,
            }
        })
        .collect()
}

/// The draw line (if any) and the recoverable balance after it.
pub(super) fn draw_line(
    name: &str,
    kind: DrawKind,
    amount: Decimal,
    earned: Decimal,
    balance: Decimal,
    currency: &str,
    locale: Locale,
) -> (Option<Line>, Decimal) {
    let draw = |kind: LineKind, value: Decimal, explanation: String| Line {
        kind,
        component: Some(name.to_owned()),
        source: LineSource::Draw,
        credited_base: None,
        attainment: None,
        tier: None,
        rate: None,
        amount: round_cents(value),
        explanation,
    };
    let (earned_m, amount_m) = (money(earned, currency), money(amount, currency));
    if earned < amount {
        let top_up = round_cents(amount - earned);
        let top_up_m = money(top_up, currency);
        return match kind {
            DrawKind::NonRecoverable => {
                let text = match locale {
                    Locale::En => format!(
                        "Earnings of {earned_m} are below the non-recoverable draw '{name}' of {amount_m}: \
                         {top_up_m} tops them up and is never recovered."
                    ),
                    Locale::Nl => format!(
                        "Verdiensten van {earned_m} liggen onder het niet-terugvorderbare voorschot '{name}' van \
                         {amount_m}: {top_up_m} vult ze aan en wordt nooit teruggevorderd."
                    ),
                };
                (Some(draw(LineKind::Draw, top_up, text)), balance)
            }
            DrawKind::Recoverable => {
                let after = balance + top_up;
                let after_m = money(after, currency);
                let text = match locale {
                    Locale::En => format!(
                        "Earnings of {earned_m} are below the recoverable draw '{name}' of {amount_m}: \
                         {top_up_m} is advanced and will be recovered from later earnings (outstanding {after_m})."
                    ),
                    Locale::Nl => format!(
                        "Verdiensten van {earned_m} liggen onder het terugvorderbare voorschot '{name}' van \
                         {amount_m}: {top_up_m} wordt voorgeschoten en van latere verdiensten teruggevorderd \
                         (openstaand {after_m})."
                    ),
                };
                (Some(draw(LineKind::Draw, top_up, text)), after)
            }
        };
    }
    if kind == DrawKind::Recoverable && balance > Decimal::ZERO && earned > amount {
        let recovered = round_cents(balance.min(earned - amount));
        let after = balance - recovered;
        let (recovered_m, balance_m, after_m) =
            (money(recovered, currency), money(balance, currency), money(after, currency));
        let text = match locale {
            Locale::En => format!(
                "Earnings of {earned_m} exceed the recoverable draw '{name}' of {amount_m}: \
                 {recovered_m} of the {balance_m} advanced earlier is recovered (outstanding {after_m})."
            ),
            Locale::Nl => format!(
                "Verdiensten van {earned_m} liggen boven het terugvorderbare voorschot '{name}' van {amount_m}: \
                 {recovered_m} van de eerder voorgeschoten {balance_m} wordt teruggevorderd (openstaand {after_m})."
            ),
        };
        return (Some(draw(LineKind::DrawRecovery, -recovered, text)), after);
    }
    (None, balance)
}
