//! Lines that settle a period against earlier ones: clawbacks of reversed deals, and the draw
//! (a top-up, or the recovery of an earlier one).

use rust_decimal::Decimal;

use super::{ClawbackFact, DrawKind, Line, LineKind, LineSource, money, percent, round_cents};

pub(super) fn clawback_lines(clawback: &ClawbackFact, currency: &str) -> Vec<Line> {
    let reason = clawback.reason.trim();
    clawback
        .original
        .iter()
        .map(|original| {
            let amount = round_cents(-original.amount);
            let rate = original.rate.map(|r| format!(" at the original rate of {} %", percent(r))).unwrap_or_default();
            let base = original.credited_base.map(|b| format!(" on {}", money(b, currency))).unwrap_or_default();
            let tier = original.tier.as_deref().map(|t| format!(" in {t}")).unwrap_or_default();
            let why = if reason.is_empty() { String::new() } else { format!(" ({reason})") };
            Line {
                kind: LineKind::Clawback,
                component: None,
                source: LineSource::Deal(clawback.deal_id),
                credited_base: original.credited_base,
                attainment: None,
                tier: original.tier.clone(),
                rate: original.rate,
                amount,
                explanation: format!(
                    "Deal '{}' was reversed{why}: {} paid earlier{base}{tier}{rate} is clawed back.",
                    clawback.deal_name,
                    money(original.amount, currency),
                ),
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
        return match kind {
            DrawKind::NonRecoverable => {
                let text = format!(
                    "Earnings of {earned_m} are below the non-recoverable draw '{name}' of {amount_m}: \
                     {} tops them up and is never recovered.",
                    money(top_up, currency)
                );
                (Some(draw(LineKind::Draw, top_up, text)), balance)
            }
            DrawKind::Recoverable => {
                let after = balance + top_up;
                let text = format!(
                    "Earnings of {earned_m} are below the recoverable draw '{name}' of {amount_m}: \
                     {} is advanced and will be recovered from later earnings (outstanding {}).",
                    money(top_up, currency),
                    money(after, currency)
                );
                (Some(draw(LineKind::Draw, top_up, text)), after)
            }
        };
    }
    if kind == DrawKind::Recoverable && balance > Decimal::ZERO && earned > amount {
        let recovered = round_cents(balance.min(earned - amount));
        let after = balance - recovered;
        let text = format!(
            "Earnings of {earned_m} exceed the recoverable draw '{name}' of {amount_m}: \
             {} of the {} advanced earlier is recovered (outstanding {}).",
            money(recovered, currency),
            money(balance, currency),
            money(after, currency)
        );
        return (Some(draw(LineKind::DrawRecovery, -recovered, text)), after);
    }
    (None, balance)
}
