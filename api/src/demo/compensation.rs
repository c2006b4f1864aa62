//! Demo compensation: NL territories, quarterly quotas, and a closer plan with an approved and a
//! draft statement.

use chrono::{Duration, Utc};

use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::org::store;
use crate::pipeline::model::ForecastCategory;
use crate::pipeline::store as pipeline_store;
use crate::state::AppState;

/// (territory, postal-code prefixes, owner)
const TERRITORIES: [(&str, &[&str], Option<&str>); 4] = [
    ("Noord-Holland & Noord", &["1", "8", "9"], Some("closer@demo.test")),
    ("Randstad Zuid", &["2", "3"], Some("carla@demo.test")),
    ("Oost", &["6", "7"], Some("daan@demo.test")),
    ("Zuid", &["4", "5"], None),
];

/// Territories for NL regions by postal-code prefix (one without an owner, so coverage shows a
/// gap) with the demo deals routed into them; quarterly revenue quotas for the closers (last and
/// this quarter, a ramp for the newest) and the Closers team; the closer plan (marginal tiers
/// 2 % / 5 % / 8 % at 0 / 50 / 100 %, a SPIFF and a team bonus); last quarter's statements
/// approved for closer@demo.test and this quarter's drafts — unless territories exist.
pub(super) async fn seed_compensation(state: &AppState, org: OrgId) -> AppResult<()> {
    use crate::incentive::model::{Component, SpiffTarget, TeamBonusCondition, Tier, TierMode};
    use crate::quota::model::{QuotaGrain, QuotaMetric, QuotaSubjectKind};
    use crate::territory::model::{AssignmentRole, AssignmentSpan, RoutingRule, TerritoryKind};
    use rust_decimal::Decimal;

    if !crate::territory::store::territories(org, &state.db, true).await?.is_empty() {
        return Ok(());
    }
    let tx = crate::db::begin_write(&state.db).await?;
    let members = store::all_members(org, &tx, &Default::default()).await?;
    let member = |email: &str| members.iter().find(|m| m.email == email);
    let s = crate::core::settings::settings(org, &tx).await?;
    let today = crate::core::period::local_date(Utc::now(), s.tz);
    let this_quarter = crate::quota::store::period_of(&s, QuotaGrain::Quarter, today);
    let last_quarter =
        crate::core::period::previous_period(&this_quarter, s.tz, s.fiscal_year_start_month).unwrap_or(this_quarter);

    let rule = |country: Option<&str>, prefix: Option<&str>| RoutingRule {
        country: country.map(str::to_owned),
        postal_prefix: prefix.map(str::to_owned),
        industry: None,
        size_min: None,
        size_max: None,
        priority: 0,
    };
    let nl = crate::territory::store::create(
        org,
        &tx,
        crate::territory::store::NewTerritory {
            parent_id: None,
            name: "Nederland".into(),
            kind: TerritoryKind::Region,
            rules: vec![rule(Some("NL"), None)],
        },
    )
    .await?;
    for (name, prefixes, owner) in TERRITORIES {
        let t = crate::territory::store::create(
            org,
            &tx,
            crate::territory::store::NewTerritory {
                parent_id: Some(nl.id),
                name: name.into(),
                kind: TerritoryKind::Region,
                rules: prefixes.iter().map(|p| rule(Some("NL"), Some(p))).collect(),
            },
        )
        .await?;
        if let Some(m) = owner.and_then(member) {
            let span = AssignmentSpan {
                territory_id: t.id,
                member_id: m.id,
                role: AssignmentRole::Owner,
                from: last_quarter.start_date,
                to: None,
            };
            crate::territory::store::create_assignment(org, &tx, &span).await?;
        }
    }
    // Route the demo deals as createDeal would have.
    let deals = pipeline_store::all_deals(org, &tx, &Default::default()).await?;
    for d in deals {
        let location = crate::territory::model::DealLocation {
            country: d.country.clone(),
            postal_code: d.postal_code.clone(),
            industry: d.industry.clone(),
            company_size: d.company_size,
        };
        let routed = crate::territory::store::route(org, &tx, &location).await?;
        let fields = pipeline_store::DealFields { territory: Some((routed, false)), ..Default::default() };
        pipeline_store::update_deal(org, &tx, &d, fields, Default::default()).await?;
    }

    // Quotas: 150,000 a quarter per closer; the newest closer ramps 25 / 50 / 75 %.
    let closers: Vec<&entity::member::Model> = members.iter().filter(|m| m.sales_role == "CLOSER").collect();
    let newest = closers.iter().max_by_key(|m| m.start_date).map(|m| m.id);
    if let Some(id) = newest {
        crate::quota::store::set_ramp(org, &tx, id, &[25, 50, 75]).await?;
    }
    let closers_team = store::all_teams(org, &tx).await?.into_iter().find(|t| t.name == "Closers");
    for period in [&last_quarter, &this_quarter] {
        for m in &closers {
            let key = crate::quota::store::QuotaKey {
                subject_kind: QuotaSubjectKind::Member,
                subject_id: m.id,
                metric: QuotaMetric::Revenue,
                activity_type_id: None,
                kpi_key: None,
                grain: QuotaGrain::Quarter,
                period_start: period.start_date,
                label: String::new(),
            };
            crate::quota::store::upsert(org, &tx, &key, Decimal::from(150_000), true, None, None).await?;
        }
        if let Some(team) = &closers_team {
            let key = crate::quota::store::QuotaKey {
                subject_kind: QuotaSubjectKind::Team,
                subject_id: team.id,
                metric: QuotaMetric::Revenue,
                activity_type_id: None,
                kpi_key: None,
                grain: QuotaGrain::Quarter,
                period_start: period.start_date,
                label: String::new(),
            };
            crate::quota::store::upsert(
                org,
                &tx,
                &key,
                Decimal::from(150_000 * closers.len() as i64),
                true,
                None,
                None,
            )
            .await?;
        }
    }

    // A big open deal for closer@demo.test in the last open stage, worth a full quarter's quota:
    // `simulatePayout` on it always shows a higher tier than the closer has reached.
    let stages = pipeline_store::stages(org, &tx).await?;
    if let (Some(stage), Some(closer)) =
        (stages.iter().filter(|s| s.kind == "OPEN").max_by_key(|s| s.position), member("closer@demo.test"))
    {
        let fields = pipeline_store::DealFields {
            name: Some("Vandermolen Bouw — expansion".into()),
            company: Some(Some("Vandermolen Bouw".into())),
            owner_id: Some(closer.id),
            amount_cents: Some(15_000_000),
            expected_close_date: Some(Some(this_quarter.end_date.pred_opt().unwrap_or(this_quarter.end_date))),
            lead_created_at: Some(Some(Utc::now() - Duration::days(40))),
            first_contact_at: Some(Some(Utc::now() - Duration::days(39))),
            country: Some(Some("NL".into())),
            postal_code: Some(Some("1017 CE".into())),
            ..Default::default()
        };
        let category = ForecastCategory::parse(&stage.default_forecast_category).unwrap_or(ForecastCategory::Commit);
        let d =
            pipeline_store::create_deal(org, &tx, fields, stage, (stage.default_probability, false), (category, false))
                .await?;
        pipeline_store::add_history_at(org, &tx, d.id, None, stage.id, closer.id, Utc::now() - Duration::days(5))
            .await?;
        let location = crate::territory::model::DealLocation {
            country: d.country.clone(),
            postal_code: d.postal_code.clone(),
            industry: None,
            company_size: None,
        };
        let routed = crate::territory::store::route(org, &tx, &location).await?;
        let fields = pipeline_store::DealFields { territory: Some((routed, false)), ..Default::default() };
        pipeline_store::update_deal(org, &tx, &d, fields, Default::default()).await?;
    }

    // The closer plan.
    let pct = |n: i64| Decimal::from(n);
    let mut components = vec![
        Component::Commission {
            name: "Commission".into(),
            base_rate: pct(2),
            tiers: vec![
                Tier { from_attainment: pct(0), rate: pct(2), mode: TierMode::Marginal },
                Tier { from_attainment: pct(50), rate: pct(5), mode: TierMode::Marginal },
                Tier { from_attainment: pct(100), rate: pct(8), mode: TierMode::Marginal },
            ],
            cap: None,
        },
        Component::Spiff {
            name: "Big deal SPIFF".into(),
            target: SpiffTarget::Deal,
            activity_type_id: None,
            min_deal_amount: Some(pct(25_000)),
            amount: pct(250),
            starts_on: last_quarter.start_date,
            ends_on: this_quarter.end_date.pred_opt().unwrap_or(this_quarter.end_date),
        },
    ];
    if let Some(team) = &closers_team {
        components.push(Component::TeamBonus {
            name: "Closers team bonus".into(),
            team_id: team.id,
            condition: TeamBonusCondition::Quota,
            threshold: pct(100),
            pool: pct(3_000),
        });
    }
    let plan = crate::incentive::store::create_plan(
        org,
        &tx,
        "Closer plan".into(),
        Some(
            "Marginal tiers: 2 % up to half of quota, 5 % to quota, 8 % above; a SPIFF on big deals; a team bonus."
                .into(),
        ),
        &components,
        None,
    )
    .await?;
    for m in &closers {
        crate::incentive::store::create_assignment(org, &tx, plan.id, m.id, last_quarter.start_date, None).await?;
    }
    let assignments = crate::incentive::store::assignments(org, &tx, None, None).await?;
    let closer_models: Vec<entity::member::Model> = closers.iter().map(|m| (*m).clone()).collect();
    let (last, _) =
        crate::incentive::payouts::run(org, &tx, &s, QuotaGrain::Quarter, &last_quarter, &assignments, &closer_models)
            .await?;
    if let Some(st) = last.into_iter().find(|st| member("closer@demo.test").is_some_and(|m| m.id == st.member_id)) {
        let admin = member("admin@demo.test").map_or(st.member_id, |m| m.id);
        crate::incentive::store::set_status(
            org,
            &tx,
            &st,
            crate::incentive::model::StatementStatus::Draft,
            crate::incentive::model::StatementStatus::Approved,
            admin,
        )
        .await?;
        crate::incentive::store::lock_version(org, &tx, st.plan_version_id).await?;
    }
    crate::incentive::payouts::run(org, &tx, &s, QuotaGrain::Quarter, &this_quarter, &assignments, &closer_models)
        .await?;
    tx.commit().await?;
    Ok(())
}
