//! One member's payout statement for one period: its input facts, its lines and totals, rounding
//! and formatting, and [`compute_statement`], which puts the lines in order.

use rust_decimal::Decimal;

use super::facts::*;
use super::{
    Component, LineKind, SpiffTarget, Window, activity_spiff_lines, bonus_lines, clawback_lines, commission_lines,
    deal_spiff_lines, draw_line, team_bonus_line,
};
use crate::core::locale::Locale;

// ---------------------------------------------------------------------------------------------
// The statement
// ---------------------------------------------------------------------------------------------

/// Computes one member's statement for one period, explained in English; see the module
/// documentation for the rules.
pub fn compute_statement(input: &StatementInput) -> StatementResult {
    compute_statement_in(input, Locale::En)
}

/// Computes one member's statement for one period with its explanations in `locale`. Only the
/// explanations depend on the language: the lines, their amounts, tiers and labels, and the
/// totals are the same in every one. Deal, plan component, team and activity type names, a
/// clawback's reason and a dispute's resolution are shown as they are.
pub fn compute_statement_in(input: &StatementInput, locale: Locale) -> StatementResult {
    let currency = input.currency;
    let mut credits: Vec<&DealCredit> = input.credits.iter().collect();
    credits.sort_by_key(|c| (c.closed_on, c.deal_id));
    let credited_revenue: Decimal = credits.iter().map(|c| c.credited).sum();
    let quota = input.quota.filter(|q| *q > Decimal::ZERO);
    let attainment = attainment_percent(credited_revenue, quota);

    let mut lines = Vec::new();
    for component in input.components {
        if let Component::Commission { name, base_rate, tiers, cap } = component {
            let commission = commission_lines(name, *base_rate, tiers, &credits, quota, currency, locale);
            let earned: Decimal = commission.iter().map(|l| l.amount).sum();
            lines.extend(commission);
            if let Some(cap) = *cap
                && earned > cap
            {
                lines.push(Line {
                    kind: LineKind::Cap,
                    component: Some(name.clone()),
                    source: LineSource::Plan,
                    credited_base: None,
                    attainment,
                    tier: None,
                    rate: None,
                    amount: round_cents(cap - earned),
                    explanation: cap_explanation(name, earned, cap, currency, locale),
                });
            }
        }
    }
    for component in input.components {
        if let Component::Bonus { name, thresholds } = component {
            lines.extend(bonus_lines(name, thresholds, credited_revenue, quota, attainment, currency, locale));
        }
    }
    for component in input.components {
        if let Component::Spiff { name, target, activity_type_id, min_deal_amount, amount, starts_on, ends_on } =
            component
        {
            let window = Window { name, amount: *amount, starts_on: *starts_on, ends_on: *ends_on, currency, locale };
            match target {
                SpiffTarget::Deal => lines.extend(deal_spiff_lines(&window, *min_deal_amount, &credits)),
                SpiffTarget::Activity => {
                    if let Some(type_id) = activity_type_id {
                        lines.extend(activity_spiff_lines(&window, *type_id, &input.activities));
                    }
                }
            }
        }
    }
    for component in input.components {
        if let Component::TeamBonus { name, team_id, condition, threshold, pool } = component
            && let Some(team) = input.teams.iter().find(|t| t.team_id == *team_id)
            && let Some(line) = team_bonus_line(name, team, *condition, *threshold, *pool, currency, locale)
        {
            lines.push(line);
        }
    }
    for clawback in &input.clawbacks {
        lines.extend(clawback_lines(clawback, currency, locale));
    }
    for adjustment in &input.adjustments {
        let amount = round_cents(adjustment.amount);
        let resolution = adjustment.resolution.trim();
        lines.push(Line {
            kind: LineKind::Adjustment,
            component: None,
            source: LineSource::Dispute(adjustment.dispute_id),
            credited_base: None,
            attainment: None,
            tier: None,
            rate: None,
            amount,
            explanation: match (resolution.is_empty(), locale) {
                (false, _) => resolution.to_owned(),
                (true, Locale::En) => format!("Adjustment of {} from a resolved dispute.", money(amount, currency)),
                (true, Locale::Nl) => format!("Correctie van {} uit een afgehandeld bezwaar.", money(amount, currency)),
            },
        });
    }

    let mut draw_balance_after = input.draw_balance;
    if let Some(Component::Draw { name, kind, amount }) =
        input.components.iter().find(|c| matches!(c, Component::Draw { .. }))
    {
        let earned: Decimal = lines.iter().map(|l| l.amount).sum();
        let (line, balance) = draw_line(name, *kind, *amount, earned, input.draw_balance, currency, locale);
        lines.extend(line);
        draw_balance_after = balance;
    }

    let total = lines.iter().map(|l| l.amount).sum();
    StatementResult { lines, total, credited_revenue, attainment, draw_balance_after }
}

/// "Commission 'X' came to 3500.00 EUR, above its cap of 3000.00 EUR: 500.00 EUR is held back."
fn cap_explanation(name: &str, earned: Decimal, cap: Decimal, currency: &str, locale: Locale) -> String {
    let (earned_m, cap_m, held_m) = (money(earned, currency), money(cap, currency), money(earned - cap, currency));
    match locale {
        Locale::En => {
            format!("Commission '{name}' came to {earned_m}, above its cap of {cap_m}: {held_m} is held back.")
        }
        Locale::Nl => {
            format!(
                "Commissie '{name}' kwam uit op {earned_m}, boven het plafond van {cap_m}: {held_m} wordt ingehouden."
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use uuid::Uuid;

    use std::collections::HashSet;

    use crate::incentive::model::{
        BonusThreshold, Component, DrawKind, TeamBonusCondition, Tier, TierMode, validate_components,
    };

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn day(month: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, dd).expect("date")
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// A credit to the owner of the whole deal.
    fn owned(n: u128, name: &str, closed_on: NaiveDate, amount: &str) -> DealCredit {
        DealCredit {
            deal_id: id(n),
            deal_name: name.to_owned(),
            closed_on,
            deal_amount: d(amount),
            credited: d(amount),
            share: CreditShare::Owner,
        }
    }

    fn input(components: &[Component]) -> StatementInput<'_> {
        StatementInput {
            components,
            period_start: day(10, 1),
            period_end: day(11, 1),
            currency: "EUR",
            quota: None,
            credits: vec![],
            activities: vec![],
            teams: vec![],
            draw_balance: Decimal::ZERO,
            clawbacks: vec![],
            adjustments: vec![],
        }
    }

    /// Tiers 0 % at 2, 50 % at 5, 100 % at 8 (base rate 2), all in one mode.
    fn commission(mode: TierMode) -> Component {
        commission_with("2", &[("0", "2"), ("50", "5"), ("100", "8")].map(|(from, rate)| (from, rate, mode)), None)
    }

    fn commission_with(base_rate: &str, tiers: &[(&str, &str, TierMode)], cap: Option<&str>) -> Component {
        Component::Commission {
            name: "Commission".into(),
            base_rate: d(base_rate),
            tiers: tiers
                .iter()
                .map(|(from, rate, mode)| Tier { from_attainment: d(from), rate: d(rate), mode: *mode })
                .collect(),
            cap: cap.map(d),
        }
    }

    fn amounts(result: &StatementResult) -> Vec<Decimal> {
        result.lines.iter().map(|l| l.amount).collect()
    }

    fn kinds(result: &StatementResult) -> Vec<LineKind> {
        result.lines.iter().map(|l| l.kind).collect()
    }

    fn statement(components: &[Component], quota: Option<&str>, credits: Vec<DealCredit>) -> StatementResult {
        let mut i = input(components);
        i.quota = quota.map(d);
        i.credits = credits;
        compute_statement(&i)
    }

    /// Every statement of these tests, the properties' too, is computed here in both languages
    /// (this shadows the module's [`super::compute_statement`]): the Dutch statement must be the
    /// English one but for the explanations ([`same_but_the_text`]). The tests assert on the
    /// English statement it returns.
    fn compute_statement(input: &StatementInput) -> StatementResult {
        let en = super::compute_statement(input);
        assert_eq!(compute_statement_in(input, Locale::En), en, "English is the default");
        same_but_the_text(&en, &compute_statement_in(input, Locale::Nl));
        en
    }

    /// Panics unless `nl` has the same lines as `en` (count, order, kinds, sources, components,
    /// bases, attainments, tiers, rates, amounts) and the same totals, with explanations of its
    /// own: every one differs from the English but a dispute's resolution, shown as written.
    fn same_but_the_text(en: &StatementResult, nl: &StatementResult) {
        let no_text = |r: &StatementResult| StatementResult {
            lines: r.lines.iter().map(|l| Line { explanation: String::new(), ..l.clone() }).collect(),
            ..r.clone()
        };
        assert_eq!(en.lines.len(), nl.lines.len());
        assert_eq!(no_text(en), no_text(nl), "only the explanations differ");
        for (e, n) in en.lines.iter().zip(&nl.lines) {
            let resolution = e.kind == LineKind::Adjustment && !e.explanation.starts_with("Adjustment of ");
            if resolution {
                assert_eq!(e.explanation, n.explanation, "a resolution is shown as written");
            } else {
                assert_ne!(e.explanation, n.explanation, "no Dutch text for: {}", e.explanation);
                assert!(n.explanation.ends_with('.'), "{}", n.explanation);
            }
        }
    }

    /// [`statement`] in Dutch.
    fn dutch(components: &[Component], quota: Option<&str>, credits: Vec<DealCredit>) -> StatementResult {
        let mut i = input(components);
        i.quota = quota.map(d);
        i.credits = credits;
        compute_statement_in(&i, Locale::Nl)
    }

    fn texts(result: &StatementResult) -> Vec<&str> {
        result.lines.iter().map(|l| l.explanation.as_str()).collect()
    }

    #[test]
    fn marginal_and_retroactive_at_the_exact_edges() {
        let marginal = [commission(TierMode::Marginal)];
        let retro = [commission(TierMode::Retroactive)];
        let q = Some("100000.00");
        let a = || owned(1, "Acme", day(10, 2), "30000.00");
        let b = |amount: &str| owned(2, "Bolt", day(10, 9), amount);
        let c = || owned(3, "Crane", day(10, 20), "50000.00");

        // 49.99 %: 49990 all in tier 1 (below the 50000 edge).
        // Marginal: 30000 × 2 % = 600.00, 19990 × 2 % = 399.80 → 999.80.
        // Retroactive: tier 1 reached (from 0 %, 2 %) → the same 999.80.
        let m = statement(&marginal, q, vec![b("19990.00"), a()]);
        assert_eq!(m.attainment, Some(d("49.99")));
        assert_eq!(m.credited_revenue, d("49990.00"));
        assert_eq!(amounts(&m), vec![d("600.00"), d("399.80")], "sorted by closing day");
        assert_eq!(m.total, d("999.80"));
        let r = statement(&retro, q, vec![a(), b("19990.00")]);
        assert_eq!(r.total, d("999.80"));
        assert!(r.lines.iter().all(|l| l.tier.as_deref() == Some("tier 1 (from 0 %)")));

        // Exactly 50 %: the 50000 edge is reached.
        // Marginal: everything below the edge is tier 1: 600.00 + 400.00 = 1000.00 (no empty tier-2 line).
        // Retroactive: tier 2 reached → 5 % on everything: 1500.00 + 1000.00 = 2500.00.
        let m = statement(&marginal, q, vec![a(), b("20000.00")]);
        assert_eq!(m.attainment, Some(d("50.00")));
        assert_eq!(amounts(&m), vec![d("600.00"), d("400.00")]);
        assert_eq!(m.total, d("1000.00"));
        let r = statement(&retro, q, vec![a(), b("20000.00")]);
        assert_eq!(amounts(&r), vec![d("1500.00"), d("1000.00")]);
        assert_eq!(r.total, d("2500.00"));
        assert!(r.lines.iter().all(|l| l.tier.as_deref() == Some("tier 2 (from 50 %)") && l.rate == Some(d("5"))));
        assert_eq!(r.lines[0].attainment, Some(d("30.00")), "attainment at the end of the deal's credit");
        assert!(r.lines[0].explanation.contains("retroactively on everything"), "{}", r.lines[0].explanation);

        // Exactly 100 %: Crane fills tier 2 up to the 100000 edge.
        // Marginal: 600.00 + 400.00 + 50000 × 5 % = 2500.00 → 3500.00.
        // Retroactive: tier 3 reached → 8 % on 100000 = 2400.00 + 1600.00 + 4000.00 = 8000.00.
        let m = statement(&marginal, q, vec![c(), b("20000.00"), a()]);
        assert_eq!(m.attainment, Some(d("100.00")));
        assert_eq!(amounts(&m), vec![d("600.00"), d("400.00"), d("2500.00")]);
        assert_eq!(m.lines[2].tier.as_deref(), Some("tier 2 (from 50 %)"));
        assert_eq!(m.lines[2].attainment, Some(d("100.00")));
        assert_eq!(m.total, d("3500.00"));
        let r = statement(&retro, q, vec![a(), b("20000.00"), c()]);
        assert_eq!(amounts(&r), vec![d("2400.00"), d("1600.00"), d("4000.00")]);
        assert_eq!(r.total, d("8000.00"));
        assert!(r.lines.iter().all(|l| l.tier.as_deref() == Some("tier 3 (from 100 %)")));
    }

    #[test]
    fn a_deal_straddling_two_edges_is_three_lines() {
        // Quota 100000: Acme 10000 (tier 1, 200.00), then Bolt 120000 runs from 10000 to 130000:
        // 40000 in tier 1 at 2 % = 800.00, 50000 in tier 2 at 5 % = 2500.00,
        // 30000 in tier 3 at 8 % = 2400.00. Total 200 + 800 + 2500 + 2400 = 5900.00.
        let plan = [commission(TierMode::Marginal)];
        let r = statement(
            &plan,
            Some("100000.00"),
            vec![owned(2, "Bolt", day(10, 15), "120000.00"), owned(1, "Acme", day(10, 1), "10000.00")],
        );
        assert_eq!(amounts(&r), vec![d("200.00"), d("800.00"), d("2500.00"), d("2400.00")]);
        let bolt: Vec<&Line> = r.lines.iter().filter(|l| l.source == LineSource::Deal(id(2))).collect();
        assert_eq!(bolt.len(), 3);
        let bases: Vec<Option<Decimal>> = bolt.iter().map(|l| l.credited_base).collect();
        assert_eq!(bases, vec![Some(d("40000")), Some(d("50000")), Some(d("30000"))]);
        let attainments: Vec<Option<Decimal>> = bolt.iter().map(|l| l.attainment).collect();
        assert_eq!(attainments, vec![Some(d("50.00")), Some(d("100.00")), Some(d("130.00"))]);
        let tiers: Vec<&str> = bolt.iter().filter_map(|l| l.tier.as_deref()).collect();
        assert_eq!(tiers, vec!["tier 1 (from 0 %)", "tier 2 (from 50 %)", "tier 3 (from 100 %)"]);
        assert_eq!(r.total, d("5900.00"));
        assert_eq!(r.attainment, Some(d("130.00")));
        assert_eq!(
            bolt[2].explanation,
            "Deal 'Bolt' closed 2026-10-15: 30000.00 EUR of credited revenue (part of 120000.00 EUR) \
             in tier 3 (from 100 %) at 8 % (an accelerator; base rate 2 %) = 2400.00 EUR."
        );
    }

    #[test]
    fn the_base_band_below_the_first_tier_and_explanations() {
        // Base 3 % below 50 %; tier 1 from 50 % at 3 % (neither accelerator nor decelerator).
        let plan = [commission_with("3", &[("50", "3", TierMode::Marginal)], None)];
        let r = statement(&plan, Some("20000.00"), vec![owned(1, "Acme renewal", day(10, 14), "12000.00")]);
        // 10000 × 3 % = 300.00 in the base band, 2000 × 3 % = 60.00 in tier 1.
        assert_eq!(amounts(&r), vec![d("300.00"), d("60.00")]);
        assert_eq!(r.lines[0].tier.as_deref(), Some("base"));
        assert_eq!(
            r.lines[0].explanation,
            "Deal 'Acme renewal' closed 2026-10-14: 10000.00 EUR of credited revenue (part of 12000.00 EUR) \
             below tier 1 (from 50 %) at the base rate of 3 % = 300.00 EUR."
        );
        assert_eq!(
            r.lines[1].explanation,
            "Deal 'Acme renewal' closed 2026-10-14: 2000.00 EUR of credited revenue (part of 12000.00 EUR) \
             in tier 1 (from 50 %) at 3 % = 60.00 EUR."
        );

        // No quota: base rate on everything, no attainment.
        let r = statement(&[commission(TierMode::Marginal)], None, vec![owned(1, "Acme", day(10, 2), "12000.00")]);
        assert_eq!(amounts(&r), vec![d("240.00")]);
        assert_eq!(r.attainment, None);
        assert_eq!(r.lines[0].attainment, None);
        assert_eq!(r.lines[0].tier.as_deref(), Some("base"));
        assert!(r.lines[0].explanation.contains("no quota"), "{}", r.lines[0].explanation);
        // A zero quota is no quota.
        let zero =
            statement(&[commission(TierMode::Marginal)], Some("0"), vec![owned(1, "Acme", day(10, 2), "12000.00")]);
        assert_eq!(zero.lines, r.lines);
    }

    #[test]
    fn a_decelerator_tier() {
        // Base 10 %; above 100 % only 5 %. Quota 10000, deal 15000:
        // 10000 × 10 % = 1000.00, 5000 × 5 % = 250.00 → 1250.00.
        let plan = [commission_with("10", &[("0", "10", TierMode::Marginal), ("100", "5", TierMode::Marginal)], None)];
        let r = statement(&plan, Some("10000.00"), vec![owned(1, "Acme", day(10, 2), "15000.00")]);
        assert_eq!(amounts(&r), vec![d("1000.00"), d("250.00")]);
        assert_eq!(r.total, d("1250.00"));
        assert!(r.lines[1].explanation.contains("decelerator"), "{}", r.lines[1].explanation);
        assert!(!r.lines[0].explanation.contains("celerator"), "{}", r.lines[0].explanation);
    }

    #[test]
    fn the_cap() {
        // Marginal commission on 100000 of 100000 is 3500.00; capped at 3000.00 → CAP −500.00.
        let tiers = [("0", "2", TierMode::Marginal), ("50", "5", TierMode::Marginal), ("100", "8", TierMode::Marginal)];
        let credits = || vec![owned(1, "Acme", day(10, 2), "50000.00"), owned(2, "Bolt", day(10, 3), "50000.00")];
        let r = statement(&[commission_with("2", &tiers, Some("3000.00"))], Some("100000.00"), credits());
        assert_eq!(kinds(&r), vec![LineKind::Commission, LineKind::Commission, LineKind::Cap]);
        assert_eq!(amounts(&r), vec![d("1000.00"), d("2500.00"), d("-500.00")]);
        assert_eq!(r.total, d("3000.00"));
        assert_eq!(r.lines[2].source, LineSource::Plan);
        assert!(r.lines[2].explanation.contains("cap of 3000.00 EUR"), "{}", r.lines[2].explanation);
        // Under the cap (or exactly at it): no CAP line.
        let r = statement(&[commission_with("2", &tiers, Some("3500.00"))], Some("100000.00"), credits());
        assert!(!kinds(&r).contains(&LineKind::Cap));
        assert_eq!(r.total, d("3500.00"));
    }

    #[test]
    fn bonus_thresholds() {
        let plan = [Component::Bonus {
            name: "Quarter bonus".into(),
            thresholds: vec![
                BonusThreshold { attainment: d("50"), amount: d("500.00") },
                BonusThreshold { attainment: d("100"), amount: d("1000.00") },
                BonusThreshold { attainment: d("120"), amount: d("2000.00") },
            ],
        }];
        // 100 % reached: 500.00 + 1000.00, not the 120 % step.
        let r = statement(&plan, Some("100000.00"), vec![owned(1, "Acme", day(10, 2), "100000.00")]);
        assert_eq!(kinds(&r), vec![LineKind::Bonus, LineKind::Bonus]);
        assert_eq!(amounts(&r), vec![d("500.00"), d("1000.00")]);
        assert_eq!(r.lines[1].tier.as_deref(), Some("threshold 100 %"));
        assert_eq!(r.lines[1].source, LineSource::Plan);
        assert_eq!(r.total, d("1500.00"));
        // One cent short: the attainment shows 100.00 % (rounded), but 100 % is not reached.
        let r = statement(&plan, Some("100000.00"), vec![owned(1, "Acme", day(10, 2), "99999.99")]);
        assert_eq!(r.attainment, Some(d("100.00")));
        assert_eq!(amounts(&r), vec![d("500.00")]);
        // Without a quota no threshold is reached.
        let r = statement(&plan, None, vec![owned(1, "Acme", day(10, 2), "100000.00")]);
        assert!(r.lines.is_empty());
        assert_eq!(r.total, Decimal::ZERO);
    }

    #[test]
    fn deal_spiff_window_minimum_and_shares() {
        let plan = [Component::Spiff {
            name: "Autumn push".into(),
            target: SpiffTarget::Deal,
            activity_type_id: None,
            min_deal_amount: Some(d("5000.00")),
            amount: d("250.00"),
            starts_on: day(10, 10),
            ends_on: day(10, 20),
        }];
        let split = |n: u128, share: CreditShare, deal: &str, credited: &str, on: NaiveDate| DealCredit {
            deal_id: id(n),
            deal_name: format!("deal {n}"),
            closed_on: on,
            deal_amount: d(deal),
            credited: d(credited),
            share,
        };
        let credits = vec![
            owned(1, "day before", day(10, 9), "9000.00"),
            owned(2, "first day", day(10, 10), "6000.00"),
            owned(3, "last day, exactly the minimum", day(10, 20), "5000.00"),
            owned(4, "day after", day(10, 21), "9000.00"),
            owned(5, "too small", day(10, 15), "4999.99"),
            split(6, CreditShare::Overlay(50), "10000.00", "5000.00", day(10, 15)),
            split(7, CreditShare::Revenue(60), "10000.00", "6000.00", day(10, 12)),
        ];
        let r = statement(&plan, None, credits);
        let paid: Vec<LineSource> = r.lines.iter().map(|l| l.source).collect();
        assert_eq!(paid, vec![LineSource::Deal(id(2)), LineSource::Deal(id(7)), LineSource::Deal(id(3))]);
        assert!(r.lines.iter().all(|l| l.kind == LineKind::Spiff && l.amount == d("250.00")));
        assert_eq!(r.total, d("750.00"));
        assert_eq!(
            r.lines[0].explanation,
            "Deal 'first day' of 6000.00 EUR closed 2026-10-10 qualifies for SPIFF 'Autumn push' \
             (2026-10-10 to 2026-10-20), minimum deal 5000.00 EUR = 250.00 EUR."
        );
    }

    #[test]
    fn activity_spiff_window() {
        let demo = id(900);
        let plan = [Component::Spiff {
            name: "Demo drive".into(),
            target: SpiffTarget::Activity,
            activity_type_id: Some(demo),
            min_deal_amount: None,
            amount: d("25.00"),
            starts_on: day(10, 10),
            ends_on: day(10, 20),
        }];
        let act = |n: u128, type_id: Uuid, on: NaiveDate, quantity: i32| ActivityFact {
            activity_id: id(n),
            activity_type_id: type_id,
            type_name: "Demo booked".into(),
            occurred_on: on,
            quantity,
        };
        let mut i = input(&plan);
        i.activities = vec![
            act(5, demo, day(10, 20), 1),
            act(1, demo, day(10, 10), 2),
            act(2, demo, day(10, 9), 4),
            act(3, demo, day(10, 21), 4),
            act(4, id(901), day(10, 15), 4),
            act(6, demo, day(10, 15), 0),
        ];
        let r = compute_statement(&i);
        // 2 × 25.00 on the first day, 1 × 25.00 on the last day.
        assert_eq!(amounts(&r), vec![d("50.00"), d("25.00")]);
        assert_eq!(r.lines[0].source, LineSource::Activity(id(1)));
        assert_eq!(r.total, d("75.00"));
        assert_eq!(
            r.lines[0].explanation,
            "2 × 'Demo booked' on 2026-10-10 qualify for SPIFF 'Demo drive' (2026-10-10 to 2026-10-20) \
             at 25.00 EUR each = 50.00 EUR."
        );
    }

    #[test]
    fn team_bonus_met_not_met_and_empty() {
        let team = id(77);
        let quota_plan = [Component::TeamBonus {
            name: "Team quota".into(),
            team_id: team,
            condition: TeamBonusCondition::Quota,
            threshold: d("100"),
            pool: d("1000.00"),
        }];
        let fact = |attainment: Option<&str>, average: Option<&str>, members: u32| TeamFact {
            team_id: team,
            team_name: "North".into(),
            quota_attainment: attainment.map(d),
            mystery_average: average.map(d),
            active_members: members,
        };
        let run = |plan: &[Component], teams: Vec<TeamFact>| {
            let mut i = input(plan);
            i.teams = teams;
            compute_statement(&i)
        };
        // Met: 1000.00 over 3 members = 333.333… → 333.33.
        let r = run(&quota_plan, vec![fact(Some("100.00"), None, 3)]);
        assert_eq!(kinds(&r), vec![LineKind::TeamBonus]);
        assert_eq!(amounts(&r), vec![d("333.33")]);
        assert_eq!(r.lines[0].source, LineSource::Team(team));
        assert!(r.lines[0].explanation.contains("split over 3 active members"), "{}", r.lines[0].explanation);
        // Not met, no quota, no members, team unknown: no line.
        assert!(run(&quota_plan, vec![fact(Some("99.99"), None, 3)]).lines.is_empty());
        assert!(run(&quota_plan, vec![fact(None, Some("99"), 3)]).lines.is_empty());
        assert!(run(&quota_plan, vec![fact(Some("120"), None, 0)]).lines.is_empty());
        assert!(run(&quota_plan, vec![]).lines.is_empty());
        // Mystery-check average.
        let mystery_plan = [Component::TeamBonus {
            name: "Quality".into(),
            team_id: team,
            condition: TeamBonusCondition::MysteryAverage,
            threshold: d("80"),
            pool: d("500.00"),
        }];
        assert_eq!(amounts(&run(&mystery_plan, vec![fact(None, Some("85"), 4)])), vec![d("125.00")]);
        assert!(run(&mystery_plan, vec![fact(Some("200"), Some("79.5"), 4)]).lines.is_empty());
    }

    #[test]
    fn revenue_splits_and_overlay_credit_raise_attainment() {
        // Quota 100000, retroactive tiers. A 60 % revenue split of a 100000 deal credits 60000;
        // a 50 % overlay on an 80000 deal credits 40000 on top: 100000 = 100 % → tier 3 at 8 %:
        // 60000 × 8 % = 4800.00 and 40000 × 8 % = 3200.00 → 8000.00.
        let plan = [commission(TierMode::Retroactive)];
        let revenue = DealCredit {
            deal_id: id(1),
            deal_name: "Shared".into(),
            closed_on: day(10, 3),
            deal_amount: d("100000.00"),
            credited: d("60000.00"),
            share: CreditShare::Revenue(60),
        };
        let overlay = DealCredit {
            deal_id: id(2),
            deal_name: "Overlay".into(),
            closed_on: day(10, 4),
            deal_amount: d("80000.00"),
            credited: d("40000.00"),
            share: CreditShare::Overlay(50),
        };
        let r = statement(&plan, Some("100000.00"), vec![revenue.clone(), overlay]);
        assert_eq!(r.credited_revenue, d("100000.00"));
        assert_eq!(r.attainment, Some(d("100.00")));
        assert_eq!(amounts(&r), vec![d("4800.00"), d("3200.00")]);
        assert!(r.lines[0].explanation.contains("60 % revenue split of 100000.00 EUR"), "{}", r.lines[0].explanation);
        assert!(r.lines[1].explanation.contains("50 % overlay credit on 80000.00 EUR"), "{}", r.lines[1].explanation);
        // Without the overlay: 60 % → tier 2 at 5 % → 3000.00.
        let r = statement(&plan, Some("100000.00"), vec![revenue]);
        assert_eq!(r.attainment, Some(d("60.00")));
        assert_eq!(r.total, d("3000.00"));
    }

    #[test]
    fn a_ramped_quota_reaches_a_higher_tier() {
        // A new rep closes 50000. Full quota 100000: 50 % → tier 2 at 5 % → 2500.00.
        // The caller applies a 50 % ramp and passes 50000: 100 % → tier 3 at 8 % → 4000.00.
        let plan = [commission(TierMode::Retroactive)];
        let credits = || vec![owned(1, "First win", day(10, 5), "50000.00")];
        let full = statement(&plan, Some("100000.00"), credits());
        assert_eq!(full.attainment, Some(d("50.00")));
        assert_eq!(full.lines[0].tier.as_deref(), Some("tier 2 (from 50 %)"));
        assert_eq!(full.total, d("2500.00"));
        let ramped = statement(&plan, Some("50000.00"), credits());
        assert_eq!(ramped.attainment, Some(d("100.00")));
        assert_eq!(ramped.lines[0].tier.as_deref(), Some("tier 3 (from 100 %)"));
        assert_eq!(ramped.total, d("4000.00"));
    }

    #[test]
    fn clawbacks_and_adjustments() {
        let plan = [commission(TierMode::Marginal)];
        let mut i = input(&plan);
        i.clawbacks = vec![ClawbackFact {
            deal_id: id(9),
            deal_name: "Acme renewal".into(),
            original: vec![
                OriginalLine {
                    amount: d("600.00"),
                    rate: Some(d("5")),
                    credited_base: Some(d("12000.00")),
                    tier: Some("tier 2 (from 50 %)".into()),
                },
                OriginalLine {
                    amount: d("200.00"),
                    rate: Some(d("2")),
                    credited_base: Some(d("10000.00")),
                    tier: None,
                },
            ],
            reason: "customer cancelled within 30 days".into(),
        }];
        i.adjustments = vec![
            AdjustmentFact {
                dispute_id: id(50),
                amount: d("150.00"),
                resolution: "Missed split credit on deal Bolt restored.".into(),
            },
            AdjustmentFact { dispute_id: id(51), amount: d("-20.50"), resolution: "  ".into() },
        ];
        let r = compute_statement(&i);
        assert_eq!(kinds(&r), vec![LineKind::Clawback, LineKind::Clawback, LineKind::Adjustment, LineKind::Adjustment]);
        assert_eq!(amounts(&r), vec![d("-600.00"), d("-200.00"), d("150.00"), d("-20.50")]);
        assert_eq!(r.lines[0].rate, Some(d("5")));
        assert_eq!(r.lines[0].credited_base, Some(d("12000.00")));
        assert_eq!(r.lines[0].tier.as_deref(), Some("tier 2 (from 50 %)"));
        assert_eq!(r.lines[0].source, LineSource::Deal(id(9)));
        assert_eq!(
            r.lines[0].explanation,
            "Deal 'Acme renewal' was reversed (customer cancelled within 30 days): 600.00 EUR paid earlier \
             on 12000.00 EUR in tier 2 (from 50 %) at the original rate of 5 % is clawed back."
        );
        assert_eq!(r.lines[2].explanation, "Missed split credit on deal Bolt restored.");
        assert_eq!(r.lines[2].source, LineSource::Dispute(id(50)));
        assert_eq!(r.lines[3].explanation, "Adjustment of -20.50 EUR from a resolved dispute.");
        // −600 − 200 + 150 − 20.50
        assert_eq!(r.total, d("-670.50"));
    }

    #[test]
    fn a_recoverable_draw_over_three_periods() {
        // Flat 10 % without a quota, so earnings are a tenth of the revenue; draw 3000.00.
        let plan = [
            commission_with("10", &[], None),
            Component::Draw { name: "Ramp draw".into(), kind: DrawKind::Recoverable, amount: d("3000.00") },
        ];
        let period = |revenue: &str, balance: Decimal| {
            let mut i = input(&plan);
            i.credits = vec![owned(1, "Deal", day(10, 5), revenue)];
            i.draw_balance = balance;
            compute_statement(&i)
        };
        // Period 1: earnings 1000 < 3000 → DRAW 2000.00, balance 0 → 2000.
        let p1 = period("10000.00", Decimal::ZERO);
        assert_eq!(kinds(&p1), vec![LineKind::Commission, LineKind::Draw]);
        assert_eq!(amounts(&p1), vec![d("1000.00"), d("2000.00")]);
        assert_eq!(p1.total, d("3000.00"));
        assert_eq!(p1.draw_balance_after, d("2000.00"));
        assert_eq!(p1.lines[1].source, LineSource::Draw);
        // Period 2: earnings 4500 → 1500 above the draw is recovered: −1500.00, balance 500.
        let p2 = period("45000.00", p1.draw_balance_after);
        assert_eq!(kinds(&p2), vec![LineKind::Commission, LineKind::DrawRecovery]);
        assert_eq!(amounts(&p2), vec![d("4500.00"), d("-1500.00")]);
        assert_eq!(p2.total, d("3000.00"));
        assert_eq!(p2.draw_balance_after, d("500.00"));
        // Period 3: earnings 3800 → 800 above the draw, only 500 outstanding: −500.00, balance 0.
        let p3 = period("38000.00", p2.draw_balance_after);
        assert_eq!(amounts(&p3), vec![d("3800.00"), d("-500.00")]);
        assert_eq!(p3.total, d("3300.00"));
        assert_eq!(p3.draw_balance_after, Decimal::ZERO);
        assert!(
            p3.lines[1].explanation.contains("500.00 EUR of the 500.00 EUR advanced earlier is recovered"),
            "{}",
            p3.lines[1].explanation
        );
        // Period 4: nothing outstanding, nothing recovered.
        let p4 = period("50000.00", p3.draw_balance_after);
        assert_eq!(kinds(&p4), vec![LineKind::Commission]);
    }

    #[test]
    fn a_non_recoverable_draw_is_never_recovered() {
        let plan = [
            commission_with("10", &[], None),
            Component::Draw { name: "Guarantee".into(), kind: DrawKind::NonRecoverable, amount: d("3000.00") },
        ];
        let period = |revenue: &str, balance: &str| {
            let mut i = input(&plan);
            i.credits = vec![owned(1, "Deal", day(10, 5), revenue)];
            i.draw_balance = d(balance);
            compute_statement(&i)
        };
        let p1 = period("10000.00", "0");
        assert_eq!(amounts(&p1), vec![d("1000.00"), d("2000.00")]);
        assert_eq!(p1.draw_balance_after, Decimal::ZERO);
        assert!(p1.lines[1].explanation.contains("never recovered"), "{}", p1.lines[1].explanation);
        let p2 = period("45000.00", "0");
        assert_eq!(amounts(&p2), vec![d("4500.00")]);
        assert_eq!(p2.total, d("4500.00"));
        // A balance left from an earlier recoverable plan is carried, not recovered here.
        let p3 = period("45000.00", "700.00");
        assert_eq!(p3.total, d("4500.00"));
        assert_eq!(p3.draw_balance_after, d("700.00"));
        // Without a DRAW component the balance is carried unchanged too.
        let commission_only = [commission_with("10", &[], None)];
        let mut i = input(&commission_only);
        i.draw_balance = d("700.00");
        assert_eq!(compute_statement(&i).draw_balance_after, d("700.00"));
    }

    #[test]
    fn half_even_rounding_per_line() {
        assert_eq!(round_cents(d("0.125")), d("0.12"));
        assert_eq!(round_cents(d("0.135")), d("0.14"));
        assert_eq!(round_cents(d("-0.125")), d("-0.12"));
        assert_eq!(round_cents(d("0.1251")), d("0.13"));
        assert_eq!(round_cents(d("2.5")).to_string(), "2.50");
        assert_eq!(attainment_percent(d("49990"), Some(d("100000"))), Some(d("49.99")));
        assert_eq!(attainment_percent(d("1"), Some(d("3"))), Some(d("33.33")));
        assert_eq!(attainment_percent(d("0.125"), Some(d("100"))), Some(d("0.12")));
        assert_eq!(attainment_percent(d("5"), Some(d("0"))), None);
        assert_eq!(attainment_percent(d("5"), None), None);
        // 2.5 % of 5.00 is 0.125 → 0.12 (three times) and of 5.40 is 0.135 → 0.14. The total is the
        // sum of the rounded lines, 0.50, not the rounded sum of the exact amounts (0.51).
        let plan = [commission_with("2.5", &[], None)];
        let r = statement(
            &plan,
            None,
            vec![
                owned(1, "a", day(10, 1), "5.00"),
                owned(2, "b", day(10, 2), "5.00"),
                owned(3, "c", day(10, 3), "5.00"),
                owned(4, "d", day(10, 4), "5.40"),
            ],
        );
        assert_eq!(amounts(&r), vec![d("0.12"), d("0.12"), d("0.12"), d("0.14")]);
        assert_eq!(r.total, d("0.50"));
        assert_eq!(r.total.to_string(), "0.50");
    }

    #[test]
    fn statement_order() {
        let team = id(77);
        let plan = [
            Component::Draw { name: "Draw".into(), kind: DrawKind::NonRecoverable, amount: d("10000.00") },
            Component::TeamBonus {
                name: "Team".into(),
                team_id: team,
                condition: TeamBonusCondition::Quota,
                threshold: d("0"),
                pool: d("100.00"),
            },
            Component::Spiff {
                name: "Spiff".into(),
                target: SpiffTarget::Deal,
                activity_type_id: None,
                min_deal_amount: None,
                amount: d("10.00"),
                starts_on: day(10, 1),
                ends_on: day(10, 31),
            },
            Component::Bonus {
                name: "Bonus".into(),
                thresholds: vec![BonusThreshold { attainment: d("0"), amount: d("1.00") }],
            },
            commission_with("2", &[], Some("1.00")),
        ];
        let mut i = input(&plan);
        i.quota = Some(d("1000.00"));
        i.credits = vec![owned(1, "Deal", day(10, 5), "100.00")];
        i.teams = vec![TeamFact {
            team_id: team,
            team_name: "North".into(),
            quota_attainment: Some(d("50")),
            mystery_average: None,
            active_members: 2,
        }];
        i.clawbacks = vec![ClawbackFact {
            deal_id: id(2),
            deal_name: "Old".into(),
            original: vec![OriginalLine { amount: d("3.00"), rate: None, credited_base: None, tier: None }],
            reason: String::new(),
        }];
        i.adjustments = vec![AdjustmentFact { dispute_id: id(3), amount: d("4.00"), resolution: "Fixed.".into() }];
        let r = compute_statement(&i);
        use LineKind::*;
        assert_eq!(kinds(&r), vec![Commission, Cap, Bonus, Spiff, TeamBonus, Clawback, Adjustment, Draw]);
        // 2.00 − 1.00 + 1.00 + 10.00 + 50.00 − 3.00 + 4.00 = 63.00; the draw tops up to 10000.00.
        assert_eq!(r.lines[7].amount, d("9937.00"));
        assert_eq!(r.total, d("10000.00"));
        assert_eq!(r.total, r.lines.iter().map(|l| l.amount).sum::<Decimal>());
    }

    #[test]
    fn every_kind_of_line_in_both_languages() {
        // The scenario of `statement_order` (one line of every kind but DRAW_RECOVERY, which
        // `a_recoverable_draw_over_three_periods` has) checked explicitly: every other test
        // checks its own scenarios in both languages through `compute_statement` above.
        let team = id(77);
        let plan = [
            Component::Draw { name: "Draw".into(), kind: DrawKind::NonRecoverable, amount: d("10000.00") },
            Component::TeamBonus {
                name: "Team".into(),
                team_id: team,
                condition: TeamBonusCondition::Quota,
                threshold: d("0"),
                pool: d("100.00"),
            },
            Component::Spiff {
                name: "Spiff".into(),
                target: SpiffTarget::Deal,
                activity_type_id: None,
                min_deal_amount: None,
                amount: d("10.00"),
                starts_on: day(10, 1),
                ends_on: day(10, 31),
            },
            Component::Bonus {
                name: "Bonus".into(),
                thresholds: vec![BonusThreshold { attainment: d("0"), amount: d("1.00") }],
            },
            commission_with("2", &[], Some("1.00")),
        ];
        let mut i = input(&plan);
        i.quota = Some(d("1000.00"));
        i.credits = vec![owned(1, "Deal", day(10, 5), "100.00")];
        i.teams = vec![TeamFact {
            team_id: team,
            team_name: "North".into(),
            quota_attainment: Some(d("50")),
            mystery_average: None,
            active_members: 1,
        }];
        i.clawbacks = vec![ClawbackFact {
            deal_id: id(2),
            deal_name: "Old".into(),
            original: vec![OriginalLine { amount: d("3.00"), rate: None, credited_base: None, tier: None }],
            reason: String::new(),
        }];
        i.adjustments = vec![AdjustmentFact { dispute_id: id(3), amount: d("4.00"), resolution: " ".into() }];
        let (en, nl) = (compute_statement_in(&i, Locale::En), compute_statement_in(&i, Locale::Nl));
        same_but_the_text(&en, &nl);
        assert_eq!(nl.lines.len(), 8);
        assert_eq!(nl.total, d("10000.00"));
        assert_eq!(
            texts(&en),
            vec![
                "Deal 'Deal' closed 2026-10-05: 100.00 EUR of credited revenue at the base rate of 2 % = 2.00 EUR.",
                "Commission 'Commission' came to 2.00 EUR, above its cap of 1.00 EUR: 1.00 EUR is held back.",
                "Bonus 'Bonus': attainment of 10 % (100.00 EUR of a 1000.00 EUR quota) reached the 0 % threshold \
                 = 1.00 EUR.",
                "Deal 'Deal' of 100.00 EUR closed 2026-10-05 qualifies for SPIFF 'Spiff' (2026-10-01 to 2026-10-31) \
                 = 10.00 EUR.",
                "Team 'North' reached a quota attainment of 50 % (threshold 0 %): team bonus 'Team' of 100.00 EUR \
                 split over 1 active member = 100.00 EUR.",
                "Deal 'Old' was reversed: 3.00 EUR paid earlier is clawed back.",
                "Adjustment of 4.00 EUR from a resolved dispute.",
                "Earnings of 113.00 EUR are below the non-recoverable draw 'Draw' of 10000.00 EUR: 9887.00 EUR \
                 tops them up and is never recovered.",
            ]
        );
        assert_eq!(
            texts(&nl),
            vec![
                "Deal 'Deal' gesloten op 2026-10-05: 100.00 EUR gecrediteerde omzet tegen het basistarief van 2 % \
                 = 2.00 EUR.",
                "Commissie 'Commission' kwam uit op 2.00 EUR, boven het plafond van 1.00 EUR: 1.00 EUR wordt \
                 ingehouden.",
                "Bonus 'Bonus': realisatie van 10 % (100.00 EUR van een quotum van 1000.00 EUR) bereikte de drempel \
                 van 0 % = 1.00 EUR.",
                "Deal 'Deal' van 100.00 EUR gesloten op 2026-10-05 komt in aanmerking voor SPIFF 'Spiff' \
                 (2026-10-01 t/m 2026-10-31) = 10.00 EUR.",
                "Team 'North' bereikte een quotumrealisatie van 50 % (drempel 0 %): teambonus 'Team' van 100.00 EUR \
                 verdeeld over 1 actief lid = 100.00 EUR.",
                "Deal 'Old' is teruggedraaid: terugvordering van 3.00 EUR, eerder betaald.",
                "Correctie van 4.00 EUR uit een afgehandeld bezwaar.",
                "Verdiensten van 113.00 EUR liggen onder het niet-terugvorderbare voorschot 'Draw' van \
                 10000.00 EUR: 9887.00 EUR vult ze aan en wordt nooit teruggevorderd.",
            ]
        );
    }

    #[test]
    fn dutch_commission_lines() {
        // Marginal, a deal straddling two edges: the tier label stays as stored, the text is Dutch.
        let plan = [commission(TierMode::Marginal)];
        let r = dutch(
            &plan,
            Some("100000.00"),
            vec![owned(2, "Bolt", day(10, 15), "120000.00"), owned(1, "Acme", day(10, 1), "10000.00")],
        );
        assert_eq!(r.lines[3].tier.as_deref(), Some("tier 3 (from 100 %)"));
        assert_eq!(
            r.lines[3].explanation,
            "Deal 'Bolt' gesloten op 2026-10-15: 30000.00 EUR gecrediteerde omzet (deel van 120000.00 EUR) \
             in staffel 3 (vanaf 100 %) tegen 8 % (een versneller; basistarief 2 %) = 2400.00 EUR."
        );
        assert_eq!(
            r.lines[0].explanation,
            "Deal 'Acme' gesloten op 2026-10-01: 10000.00 EUR gecrediteerde omzet in staffel 1 (vanaf 0 %) \
             tegen 2 % = 200.00 EUR."
        );

        // The base band below the first tier, and a tier at the base rate.
        let plan = [commission_with("3", &[("50", "3", TierMode::Marginal)], None)];
        let r = dutch(&plan, Some("20000.00"), vec![owned(1, "Acme renewal", day(10, 14), "12000.00")]);
        assert_eq!(
            texts(&r),
            vec![
                "Deal 'Acme renewal' gesloten op 2026-10-14: 10000.00 EUR gecrediteerde omzet (deel van \
                 12000.00 EUR) onder staffel 1 (vanaf 50 %) tegen het basistarief van 3 % = 300.00 EUR.",
                "Deal 'Acme renewal' gesloten op 2026-10-14: 2000.00 EUR gecrediteerde omzet (deel van \
                 12000.00 EUR) in staffel 1 (vanaf 50 %) tegen 3 % = 60.00 EUR.",
            ]
        );

        // No quota.
        let r = dutch(&[commission(TierMode::Marginal)], None, vec![owned(1, "Acme", day(10, 2), "12000.00")]);
        assert_eq!(
            r.lines[0].explanation,
            "Deal 'Acme' gesloten op 2026-10-02: 12000.00 EUR gecrediteerde omzet tegen het basistarief van 2 % \
             (er is geen quotum voor de periode, dus er gelden geen staffels) = 240.00 EUR."
        );

        // A decelerator.
        let plan = [commission_with("10", &[("0", "10", TierMode::Marginal), ("100", "5", TierMode::Marginal)], None)];
        let r = dutch(&plan, Some("10000.00"), vec![owned(1, "Acme", day(10, 2), "15000.00")]);
        assert_eq!(
            r.lines[1].explanation,
            "Deal 'Acme' gesloten op 2026-10-02: 5000.00 EUR gecrediteerde omzet (deel van 15000.00 EUR) \
             in staffel 2 (vanaf 100 %) tegen 5 % (een vertrager; basistarief 10 %) = 250.00 EUR."
        );

        // Retroactive.
        let plan = [commission(TierMode::Retroactive)];
        let r = dutch(
            &plan,
            Some("100000.00"),
            vec![owned(1, "Acme", day(10, 2), "30000.00"), owned(2, "Bolt", day(10, 9), "20000.00")],
        );
        assert_eq!(
            r.lines[0].explanation,
            "Deal 'Acme' gesloten op 2026-10-02: 30000.00 EUR gecrediteerde omzet in staffel 2 (vanaf 50 %), \
             bereikt bij 50 % realisatie en met terugwerkende kracht over alles betaald, tegen 5 % (een versneller; \
             basistarief 2 %) = 1500.00 EUR."
        );

        // Revenue split and overlay credit.
        let shared = DealCredit {
            deal_id: id(1),
            deal_name: "Shared".into(),
            closed_on: day(10, 3),
            deal_amount: d("100000.00"),
            credited: d("60000.00"),
            share: CreditShare::Revenue(60),
        };
        let overlay = DealCredit {
            deal_id: id(2),
            deal_name: "Overlay".into(),
            closed_on: day(10, 4),
            deal_amount: d("80000.00"),
            credited: d("40000.00"),
            share: CreditShare::Overlay(50),
        };
        let r = dutch(&[commission_with("10", &[], None)], Some("100000.00"), vec![shared, overlay]);
        assert_eq!(
            texts(&r),
            vec![
                "Deal 'Shared' gesloten op 2026-10-03: 60000.00 EUR gecrediteerde omzet (60 % omzetverdeling van \
                 100000.00 EUR) tegen het basistarief van 10 % = 6000.00 EUR.",
                "Deal 'Overlay' gesloten op 2026-10-04: 40000.00 EUR gecrediteerde omzet (50 % overlay-creditering \
                 op 80000.00 EUR) tegen het basistarief van 10 % = 4000.00 EUR.",
            ]
        );
    }

    #[test]
    fn dutch_cap_and_bonus_lines() {
        let tiers = [("0", "2", TierMode::Marginal), ("50", "5", TierMode::Marginal), ("100", "8", TierMode::Marginal)];
        let credits = vec![owned(1, "Acme", day(10, 2), "50000.00"), owned(2, "Bolt", day(10, 3), "50000.00")];
        let r = dutch(&[commission_with("2", &tiers, Some("3000.00"))], Some("100000.00"), credits);
        assert_eq!(
            r.lines[2].explanation,
            "Commissie 'Commission' kwam uit op 3500.00 EUR, boven het plafond van 3000.00 EUR: 500.00 EUR \
             wordt ingehouden."
        );

        let plan = [Component::Bonus {
            name: "Quarter bonus".into(),
            thresholds: vec![
                BonusThreshold { attainment: d("50"), amount: d("500.00") },
                BonusThreshold { attainment: d("100"), amount: d("1000.00") },
            ],
        }];
        let r = dutch(&plan, Some("100000.00"), vec![owned(1, "Acme", day(10, 2), "99999.99")]);
        assert_eq!(r.lines[0].tier.as_deref(), Some("threshold 50 %"));
        assert_eq!(
            texts(&r),
            vec![
                "Bonus 'Quarter bonus': realisatie van 100 % (99999.99 EUR van een quotum van 100000.00 EUR) \
                 bereikte de drempel van 50 % = 500.00 EUR."
            ]
        );
    }

    #[test]
    fn dutch_spiff_lines() {
        let spiff = |min: Option<&str>| Component::Spiff {
            name: "Autumn push".into(),
            target: SpiffTarget::Deal,
            activity_type_id: None,
            min_deal_amount: min.map(d),
            amount: d("250.00"),
            starts_on: day(10, 10),
            ends_on: day(10, 20),
        };
        let r = dutch(&[spiff(Some("5000.00"))], None, vec![owned(2, "first day", day(10, 10), "6000.00")]);
        assert_eq!(
            r.lines[0].explanation,
            "Deal 'first day' van 6000.00 EUR gesloten op 2026-10-10 komt in aanmerking voor SPIFF 'Autumn push' \
             (2026-10-10 t/m 2026-10-20), minimaal dealbedrag 5000.00 EUR = 250.00 EUR."
        );
        let r = dutch(&[spiff(None)], None, vec![owned(2, "first day", day(10, 10), "6000.00")]);
        assert_eq!(
            r.lines[0].explanation,
            "Deal 'first day' van 6000.00 EUR gesloten op 2026-10-10 komt in aanmerking voor SPIFF 'Autumn push' \
             (2026-10-10 t/m 2026-10-20) = 250.00 EUR."
        );

        let demo = id(900);
        let plan = [Component::Spiff {
            name: "Demo drive".into(),
            target: SpiffTarget::Activity,
            activity_type_id: Some(demo),
            min_deal_amount: None,
            amount: d("25.00"),
            starts_on: day(10, 10),
            ends_on: day(10, 20),
        }];
        let act = |n: u128, on: NaiveDate, quantity: i32| ActivityFact {
            activity_id: id(n),
            activity_type_id: demo,
            type_name: "Demo booked".into(),
            occurred_on: on,
            quantity,
        };
        let mut i = input(&plan);
        i.activities = vec![act(1, day(10, 10), 2), act(2, day(10, 20), 1)];
        let r = compute_statement_in(&i, Locale::Nl);
        assert_eq!(
            texts(&r),
            vec![
                "2 × 'Demo booked' op 2026-10-10 komen in aanmerking voor SPIFF 'Demo drive' \
                 (2026-10-10 t/m 2026-10-20) tegen 25.00 EUR per stuk = 50.00 EUR.",
                "1 × 'Demo booked' op 2026-10-20 komt in aanmerking voor SPIFF 'Demo drive' \
                 (2026-10-10 t/m 2026-10-20) tegen 25.00 EUR per stuk = 25.00 EUR.",
            ]
        );
    }

    #[test]
    fn dutch_team_bonus_lines() {
        let team = id(77);
        let run = |condition: TeamBonusCondition, threshold: &str, pool: &str, fact: TeamFact| {
            let plan = [Component::TeamBonus {
                name: "Team pool".into(),
                team_id: team,
                condition,
                threshold: d(threshold),
                pool: d(pool),
            }];
            let mut i = input(&plan);
            i.teams = vec![fact];
            compute_statement_in(&i, Locale::Nl).lines[0].explanation.clone()
        };
        let fact = |attainment: Option<&str>, average: Option<&str>, members: u32| TeamFact {
            team_id: team,
            team_name: "North".into(),
            quota_attainment: attainment.map(d),
            mystery_average: average.map(d),
            active_members: members,
        };
        assert_eq!(
            run(TeamBonusCondition::Quota, "100", "1000.00", fact(Some("100.00"), None, 3)),
            "Team 'North' bereikte een quotumrealisatie van 100 % (drempel 100 %): teambonus 'Team pool' van \
             1000.00 EUR verdeeld over 3 actieve leden = 333.33 EUR."
        );
        assert_eq!(
            run(TeamBonusCondition::MysteryAverage, "80", "500.00", fact(None, Some("85.5"), 4)),
            "Team 'North' bereikte een gemiddelde mystery-checkscore van 85.5 (drempel 80): teambonus 'Team pool' \
             van 500.00 EUR verdeeld over 4 actieve leden = 125.00 EUR."
        );
    }

    #[test]
    fn dutch_clawback_and_adjustment_lines() {
        let plan = [commission(TierMode::Marginal)];
        let mut i = input(&plan);
        let original = |amount: &str, rate: &str, base: &str, tier: Option<&str>| OriginalLine {
            amount: d(amount),
            rate: Some(d(rate)),
            credited_base: Some(d(base)),
            tier: tier.map(str::to_owned),
        };
        i.clawbacks = vec![ClawbackFact {
            deal_id: id(9),
            deal_name: "Acme renewal".into(),
            original: vec![
                original("600.00", "5", "12000.00", Some("tier 2 (from 50 %)")),
                original("200.00", "2", "10000.00", Some("base")),
                original("20.00", "2", "1000.00", None),
            ],
            reason: "customer cancelled within 30 days".into(),
        }];
        i.adjustments = vec![
            AdjustmentFact { dispute_id: id(50), amount: d("150.00"), resolution: "Split hersteld.".into() },
            AdjustmentFact { dispute_id: id(51), amount: d("-20.50"), resolution: "  ".into() },
        ];
        let r = compute_statement_in(&i, Locale::Nl);
        assert_eq!(r.lines[0].tier.as_deref(), Some("tier 2 (from 50 %)"), "the stored label is unchanged");
        assert_eq!(
            texts(&r),
            vec![
                "Deal 'Acme renewal' is teruggedraaid (customer cancelled within 30 days): terugvordering van \
                 600.00 EUR, eerder betaald over 12000.00 EUR in staffel 2 (vanaf 50 %) tegen het oorspronkelijke \
                 tarief van 5 %.",
                "Deal 'Acme renewal' is teruggedraaid (customer cancelled within 30 days): terugvordering van \
                 200.00 EUR, eerder betaald over 10000.00 EUR in de basisschijf tegen het oorspronkelijke tarief \
                 van 2 %.",
                "Deal 'Acme renewal' is teruggedraaid (customer cancelled within 30 days): terugvordering van \
                 20.00 EUR, eerder betaald over 1000.00 EUR tegen het oorspronkelijke tarief van 2 %.",
                "Split hersteld.",
                "Correctie van -20.50 EUR uit een afgehandeld bezwaar.",
            ]
        );
    }

    #[test]
    fn dutch_draw_lines() {
        let run = |kind: DrawKind, revenue: &str, balance: &str| {
            let plan = [
                commission_with("10", &[], None),
                Component::Draw { name: "Ramp draw".into(), kind, amount: d("3000.00") },
            ];
            let mut i = input(&plan);
            i.credits = vec![owned(1, "Deal", day(10, 5), revenue)];
            i.draw_balance = d(balance);
            compute_statement_in(&i, Locale::Nl).lines[1].explanation.clone()
        };
        assert_eq!(
            run(DrawKind::NonRecoverable, "10000.00", "0"),
            "Verdiensten van 1000.00 EUR liggen onder het niet-terugvorderbare voorschot 'Ramp draw' van \
             3000.00 EUR: 2000.00 EUR vult ze aan en wordt nooit teruggevorderd."
        );
        assert_eq!(
            run(DrawKind::Recoverable, "10000.00", "0"),
            "Verdiensten van 1000.00 EUR liggen onder het terugvorderbare voorschot 'Ramp draw' van 3000.00 EUR: \
             2000.00 EUR wordt voorgeschoten en van latere verdiensten teruggevorderd (openstaand 2000.00 EUR)."
        );
        assert_eq!(
            run(DrawKind::Recoverable, "38000.00", "500.00"),
            "Verdiensten van 3800.00 EUR liggen boven het terugvorderbare voorschot 'Ramp draw' van 3000.00 EUR: \
             500.00 EUR van de eerder voorgeschoten 500.00 EUR wordt teruggevorderd (openstaand 0.00 EUR)."
        );
    }

    #[test]
    fn stored_tier_labels_in_dutch() {
        use crate::incentive::model::facts::stored_tier_in;
        assert_eq!(stored_tier_in("tier 12 (from 104.5 %)", Locale::Nl), "staffel 12 (vanaf 104.5 %)");
        assert_eq!(stored_tier_in("base", Locale::Nl), "de basisschijf");
        assert_eq!(stored_tier_in("threshold 100 %", Locale::Nl), "drempel 100 %");
        assert_eq!(stored_tier_in("something else", Locale::Nl), "something else");
        assert_eq!(stored_tier_in("tier 2 (from 50 %)", Locale::En), "tier 2 (from 50 %)");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn cents(max: i64) -> impl Strategy<Value = Decimal> {
            (0..=max).prop_map(|c| Decimal::new(c, 2))
        }

        fn tiers(mode: Option<TierMode>) -> impl Strategy<Value = Vec<Tier>> {
            proptest::collection::vec((1u32..=80, 0u32..=3000, any::<bool>()), 0..=4).prop_flat_map(move |raw| {
                (Just(raw), any::<bool>()).prop_map(move |(raw, start_at_zero)| {
                    let mut from = 0u32;
                    raw.iter()
                        .enumerate()
                        .map(|(i, (step, rate, retro))| {
                            from = if i == 0 && start_at_zero { 0 } else { from + step };
                            let mode = mode.unwrap_or(if *retro { TierMode::Retroactive } else { TierMode::Marginal });
                            Tier { from_attainment: Decimal::from(from), rate: Decimal::new(i64::from(*rate), 2), mode }
                        })
                        .collect()
                })
            })
        }

        fn credit() -> impl Strategy<Value = DealCredit> {
            (any::<u128>(), 0u32..31, cents(50_000_000), 0u8..3, 1i32..=100).prop_map(
                |(n, offset, amount, share, p)| {
                    let share = match share {
                        0 => CreditShare::Owner,
                        1 => CreditShare::Revenue(p),
                        _ => CreditShare::Overlay(p),
                    };
                    let credited = match share {
                        CreditShare::Owner => amount,
                        CreditShare::Revenue(p) | CreditShare::Overlay(p) => {
                            round_cents(amount * Decimal::from(p) / Decimal::ONE_HUNDRED)
                        }
                    };
                    DealCredit {
                        deal_id: Uuid::from_u128(n),
                        deal_name: format!("deal {n}"),
                        closed_on: day(10, 1) + chrono::Days::new(u64::from(offset)),
                        deal_amount: amount,
                        credited,
                        share,
                    }
                },
            )
        }

        fn plan() -> impl Strategy<Value = Vec<Component>> {
            (
                0u32..=2000,
                tiers(None),
                proptest::option::of(cents(1_000_000).prop_filter("cap above 0", |c| !c.is_zero())),
                proptest::option::of((any::<bool>(), cents(1_000_000))),
                proptest::collection::vec((0u32..=200, cents(100_000)), 0..=3),
            )
                .prop_map(|(base, tiers, cap, draw, thresholds)| {
                    let mut plan = vec![Component::Commission {
                        name: "Commission".into(),
                        base_rate: Decimal::new(i64::from(base), 2),
                        tiers,
                        cap,
                    }];
                    let mut level = 0u32;
                    let thresholds: Vec<BonusThreshold> = thresholds
                        .into_iter()
                        .map(|(step, amount)| {
                            level += step + 1;
                            BonusThreshold { attainment: Decimal::from(level), amount }
                        })
                        .collect();
                    if !thresholds.is_empty() {
                        plan.push(Component::Bonus { name: "Bonus".into(), thresholds });
                    }
                    if let Some((recoverable, amount)) = draw {
                        let kind = if recoverable { DrawKind::Recoverable } else { DrawKind::NonRecoverable };
                        plan.push(Component::Draw { name: "Draw".into(), kind, amount });
                    }
                    plan
                })
        }

        fn clawbacks() -> impl Strategy<Value = Vec<ClawbackFact>> {
            proptest::collection::vec(proptest::collection::vec(cents(1_000_000), 1..=3), 0..=2).prop_map(|all| {
                all.into_iter()
                    .enumerate()
                    .map(|(i, amounts)| ClawbackFact {
                        deal_id: Uuid::from_u128(i as u128),
                        deal_name: format!("reversed {i}"),
                        original: amounts
                            .into_iter()
                            .map(|amount| OriginalLine { amount, rate: None, credited_base: None, tier: None })
                            .collect(),
                        reason: "reversed".into(),
                    })
                    .collect()
            })
        }

        fn adjustments() -> impl Strategy<Value = Vec<AdjustmentFact>> {
            proptest::collection::vec(-100_000i64..=100_000, 0..=2).prop_map(|all| {
                all.into_iter()
                    .enumerate()
                    .map(|(i, c)| AdjustmentFact {
                        dispute_id: Uuid::from_u128(i as u128),
                        amount: Decimal::new(c, 2),
                        resolution: "resolved".into(),
                    })
                    .collect()
            })
        }

        proptest! {
            #[test]
            fn totals_add_up_deterministically_in_cents(
                plan in plan(),
                credits in proptest::collection::vec(credit(), 0..=8),
                quota in proptest::option::of(cents(100_000_000)),
                balance in cents(1_000_000),
                clawbacks in clawbacks(),
                adjustments in adjustments(),
            ) {
                prop_assert_eq!(validate_components(&plan), Ok(()));
                let mut i = input(&plan);
                i.quota = quota;
                i.credits = credits;
                i.draw_balance = balance;
                i.clawbacks = clawbacks;
                i.adjustments = adjustments;
                let r = compute_statement(&i);
                prop_assert_eq!(r.total, r.lines.iter().map(|l| l.amount).sum::<Decimal>());
                for line in &r.lines {
                    prop_assert!(line.amount.scale() == 2, "{:?}", line);
                    prop_assert_eq!(round_cents(line.amount), line.amount);
                }
                prop_assert_eq!(&compute_statement(&i), &r);
                // The order credits arrive in does not matter (deal IDs are distinct here).
                let mut unique = HashSet::new();
                if i.credits.iter().all(|c| unique.insert(c.deal_id)) {
                    i.credits.reverse();
                    prop_assert_eq!(&compute_statement(&i), &r);
                }
                prop_assert!(r.draw_balance_after >= Decimal::ZERO);
            }

            #[test]
            fn a_non_recoverable_draw_is_a_floor(
                plan in plan(),
                credits in proptest::collection::vec(credit(), 0..=8),
                quota in proptest::option::of(cents(100_000_000)),
                amount in cents(1_000_000),
                clawbacks in clawbacks(),
                adjustments in adjustments(),
                with_corrections in any::<bool>(),
            ) {
                let mut plan: Vec<Component> =
                    plan.into_iter().filter(|c| !matches!(c, Component::Draw { .. })).collect();
                plan.push(Component::Draw { name: "Guarantee".into(), kind: DrawKind::NonRecoverable, amount });
                let mut i = input(&plan);
                i.quota = quota;
                i.credits = credits;
                i.draw_balance = Decimal::new(12_345, 2);
                if with_corrections {
                    i.clawbacks = clawbacks;
                    i.adjustments = adjustments;
                }
                let r = compute_statement(&i);
                for line in r.lines.iter().filter(|l| l.kind == LineKind::Draw) {
                    prop_assert!(line.amount >= Decimal::ZERO, "{:?}", line);
                }
                prop_assert!(!r.lines.iter().any(|l| l.kind == LineKind::DrawRecovery));
                if !with_corrections {
                    prop_assert!(r.total >= amount, "total {} below the draw {}", r.total, amount);
                }
                prop_assert_eq!(r.draw_balance_after, i.draw_balance);
            }

            /// With whole-unit credits, a quota in hundreds and whole-percent rates, no line needs
            /// rounding, so the comparison is exact.
            #[test]
            fn retroactive_pays_at_least_marginal_when_rates_rise(
                base in 0u32..=5,
                steps in proptest::collection::vec((1u32..=60, 1u32..=5), 1..=4),
                start_at_zero in any::<bool>(),
                amounts in proptest::collection::vec(0i64..=200_000, 0..=8),
                quota_hundreds in 1i64..=2_000,
            ) {
                let plan_in = |mode: TierMode| {
                    let (mut from, mut rate) = (0u32, base);
                    let tiers = steps
                        .iter()
                        .enumerate()
                        .map(|(i, (step, raise))| {
                            from = if i == 0 && start_at_zero { 0 } else { from + step };
                            rate += raise;
                            Tier { from_attainment: Decimal::from(from), rate: Decimal::from(rate), mode }
                        })
                        .collect();
                    [Component::Commission { name: "C".into(), base_rate: Decimal::from(base), tiers, cap: None }]
                };
                let (marginal, retro) = (plan_in(TierMode::Marginal), plan_in(TierMode::Retroactive));
                let credits: Vec<DealCredit> = amounts
                    .iter()
                    .enumerate()
                    .map(|(n, a)| DealCredit {
                        deal_id: Uuid::from_u128(n as u128),
                        deal_name: format!("deal {n}"),
                        closed_on: day(10, 1),
                        deal_amount: Decimal::from(*a),
                        credited: Decimal::from(*a),
                        share: CreditShare::Owner,
                    })
                    .collect();
                let quota = Some(Decimal::from(quota_hundreds * 100));
                let run = |plan: &[Component]| {
                    let mut i = input(plan);
                    i.quota = quota;
                    i.credits = credits.clone();
                    compute_statement(&i)
                };
                let (m, r) = (run(&marginal), run(&retro));
                prop_assert!(r.total >= m.total, "retroactive {} < marginal {}", r.total, m.total);
            }
        }
    }
}
