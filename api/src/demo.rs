//! Demo data: organization `demo` ("Demo B.V.") with a Sales team, its Inbound, Outbound and
//! Closers sub-teams, twelve members, six activity types, weekly targets per sales role, six
//! weeks of activity history, a running campaign, and a pipeline with checklists and about
//! 200 deals with stage histories, KPI targets and an alert, a mystery-check round, NL
//! territories, quarterly quotas, a closer plan with an approved and a draft statement.
//! Seeding twice changes nothing.

use chrono::{Duration, NaiveDate, Utc};
use uuid::Uuid;

use crate::auth::password;
use crate::error::AppResult;
use crate::org::model::{OrgId, Role, SalesRole};
use crate::org::store::{self, NewMember, NewOrganization};
use crate::pipeline::model::{ChecklistKind, DealOutcome, ForecastCategory, StageKind};
use crate::pipeline::store as pipeline_store;
use crate::scoring::model::{ActivityCategory, ActivityUnit};
use crate::scoring::store as scoring_store;
use crate::state::AppState;

/// Slug of the demo organization.
pub const DEMO_SLUG: &str = "demo";
/// Password of every demo member.
pub const DEMO_PASSWORD: &str = "demo";

/// The accounts whose tokens are printed at start.
pub const DEMO_LOGINS: [&str; 4] = ["admin@demo.test", "manager@demo.test", "rep@demo.test", "closer@demo.test"];

/// (name, e-mail, role, sales role, team, months since start)
const MEMBERS: [(&str, &str, Role, SalesRole, &str, i64); 12] = [
    ("Anna de Boer", "admin@demo.test", Role::Admin, SalesRole::Manager, "Sales", 60),
    ("Mark Jansen", "manager@demo.test", Role::Manager, SalesRole::Manager, "Sales", 48),
    ("Rik Visser", "rep@demo.test", Role::Rep, SalesRole::Outbound, "Outbound", 14),
    ("Claire Bakker", "closer@demo.test", Role::Rep, SalesRole::Closer, "Closers", 30),
    ("Iris Meijer", "iris@demo.test", Role::Manager, SalesRole::Manager, "Inbound", 36),
    ("Ingrid de Vries", "ingrid@demo.test", Role::Rep, SalesRole::Inbound, "Inbound", 20),
    ("Ivo Smit", "ivo@demo.test", Role::Rep, SalesRole::Inbound, "Inbound", 2),
    ("Otto Mulder", "otto@demo.test", Role::Rep, SalesRole::Outbound, "Outbound", 9),
    ("Olga de Groot", "olga@demo.test", Role::Rep, SalesRole::Outbound, "Outbound", 25),
    ("Carla Bos", "carla@demo.test", Role::Rep, SalesRole::Closer, "Closers", 40),
    ("Daan Vos", "daan@demo.test", Role::Rep, SalesRole::Closer, "Closers", 5),
    ("Vera Peters", "viewer@demo.test", Role::Viewer, SalesRole::Manager, "Sales", 12),
];

/// Seeds the demo organization unless it exists. Returns its ID.
pub async fn seed(state: &AppState) -> AppResult<OrgId> {
    if let Some(org) = store::find_org_by_slug(&state.db, DEMO_SLUG).await? {
        let org = OrgId(org.id);
        seed_scoring(state, org).await?;
        seed_pipeline(state, org).await?;
        seed_mystery(state, org).await?;
        seed_kpis(state, org).await?;
        seed_compensation(state, org).await?;
        seed_forecasts(state, org).await?;
        return Ok(org);
    }
    let tx = crate::db::begin_write(&state.db).await?;
    let org = store::create_organization(
        &tx,
        NewOrganization {
            name: "Demo B.V.".into(),
            slug: DEMO_SLUG.into(),
            time_zone: "Europe/Amsterdam".into(),
            currency: "EUR".into(),
            fiscal_year_start_month: 1,
            primary_color: "#0B5FFF".into(),
            secondary_color: "#FFB400".into(),
            display_name: Some("Demo Sales".into()),
            logo_url: Some("https://example.com/demo-logo.svg".into()),
        },
    )
    .await?;
    let org = OrgId(org.id);
    let sales = store::create_team(org, &tx, "Sales".into(), Some("The whole sales force".into()), None, None).await?;
    let mut teams = vec![("Sales", sales.id)];
    for (name, description) in [
        ("Inbound", "Follows up incoming leads"),
        ("Outbound", "Approaches cold leads"),
        ("Closers", "Runs sales conversations and negotiations"),
    ] {
        let t = store::create_team(org, &tx, name.into(), Some(description.into()), Some(sales.id), None).await?;
        teams.push((name, t.id));
    }
    let team_id = |name: &str| teams.iter().find(|(n, _)| *n == name).map(|(_, id)| *id);
    // One hash for all: demo accounts share a password anyway, and hashing is slow.
    let hash = password::hash(DEMO_PASSWORD.to_owned()).await?;
    let today = Utc::now().date_naive();
    let mut ids: Vec<(&str, Uuid)> = Vec::new();
    for (name, email, role, sales_role, team, months) in MEMBERS {
        let m = store::create_member(
            org,
            &tx,
            NewMember {
                name: name.into(),
                email: email.into(),
                role,
                sales_role,
                team_id: team_id(team),
                start_date: months_before(today, months),
                password_hash: Some(hash.clone()),
            },
        )
        .await?;
        ids.push((email, m.id));
    }
    let member_id = |email: &str| ids.iter().find(|(e, _)| *e == email).map(|(_, id)| *id);
    for (team, manager) in [("Sales", "manager@demo.test"), ("Inbound", "iris@demo.test")] {
        if let (Some(t), Some(m)) = (team_id(team), member_id(manager)) {
            let patch = store::TeamPatch { manager_id: Some(Some(m)), ..Default::default() };
            store::update_team(org, &tx, t, patch, None).await?;
        }
    }
    tx.commit().await?;
    seed_scoring(state, org).await?;
    seed_pipeline(state, org).await?;
    seed_mystery(state, org).await?;
    seed_kpis(state, org).await?;
    seed_compensation(state, org).await?;
    seed_forecasts(state, org).await?;
    Ok(org)
}

/// (name, category, unit, points, step percent)
const ACTIVITY_TYPES: [(&str, ActivityCategory, ActivityUnit, i64, Option<i32>); 6] = [
    ("Inspiration session offered", ActivityCategory::Action, ActivityUnit::Count, 100, None),
    ("Quote sent", ActivityCategory::Action, ActivityUnit::Count, 300, None),
    ("Call", ActivityCategory::Action, ActivityUnit::Count, 100, None),
    ("Appointment set", ActivityCategory::Result, ActivityUnit::Count, 200, None),
    ("Webinar registration", ActivityCategory::Result, ActivityUnit::Count, 100, None),
    ("Newsletter written", ActivityCategory::Action, ActivityUnit::Progress, 100, Some(10)),
];

/// Activity types, weekly targets per sales role, six weeks of history and a running
/// campaign with multiplier 2 — unless the organization already has activity types.
async fn seed_scoring(state: &AppState, org: OrgId) -> AppResult<()> {
    use rand::{Rng, SeedableRng};

    if !scoring_store::all_activity_types(org, &state.db).await?.is_empty() {
        return Ok(());
    }
    let settings = crate::scoring::scores::settings(org, &state.db).await?;
    let tx = crate::db::begin_write(&state.db).await?;
    let mut types = Vec::new();
    for (name, category, unit, points_cents, step_percent) in ACTIVITY_TYPES {
        let new = scoring_store::NewActivityType {
            name: name.into(),
            description: None,
            category,
            unit,
            points_cents,
            step_percent,
            // These feed the built-in KPIs (call-to-appointment, quote-to-customer).
            kpi_key: match name {
                "Call" => Some("calls".into()),
                "Appointment set" => Some("appointments".into()),
                "Quote sent" => Some("quotes_sent".into()),
                _ => None,
            },
            self_max_quantity_per_activity: None,
            self_max_quantity_per_day: None,
        };
        types.push(scoring_store::create_activity_type(org, &tx, new).await?);
    }
    let admin = store::find_member_by_email(org, &tx, "admin@demo.test").await?.map(|m| m.id).unwrap_or_default();
    let now = Utc::now();
    let today = crate::scoring::model::local_date(now, settings.tz);
    let history_start = today - Duration::days(42);
    for (role, weekly) in [(SalesRole::Inbound, 25), (SalesRole::Outbound, 30), (SalesRole::Closer, 20)] {
        let target = scoring_store::NewTarget {
            sales_role: Some(role),
            member_id: None,
            weekly_points_cents: weekly * 100,
            effective_from: history_start - Duration::days(7),
            reason: "Demo default for the sales role".into(),
            set_by: admin,
        };
        scoring_store::insert_target(org, &tx, target).await?;
    }
    let quote = types.iter().find(|t| t.name == "Quote sent").map(|t| t.id);
    let campaign = scoring_store::NewCampaign {
        name: "Double quotes week".into(),
        theme: Some("Every quote counts twice".into()),
        reward: Some("Team lunch for the best three".into()),
        starts_at: now - Duration::days(2),
        ends_at: now + Duration::days(5),
        multiplier_cents: 200,
        activity_type_ids: quote.into_iter().collect(),
        team_ids: Vec::new(),
    };
    scoring_store::create_campaign(org, &tx, campaign).await?;

    // Six weeks of weekday history, the same every time (seeded), stored as the rules would.
    let members =
        store::all_members(org, &tx, &store::MemberFilter { role: Some(Role::Rep), ..Default::default() }).await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let count_types: Vec<&entity::activity_type::Model> = types.iter().filter(|t| t.unit == "COUNT").collect();
    let mut day = history_start;
    while day < today {
        if chrono::Datelike::weekday(&day).number_from_monday() <= 5 {
            for m in &members {
                let n = rng.random_range(2..=6);
                for _ in 0..n {
                    // Calls are the bulk of the work; appointments and webinars the rarer results.
                    let weights = |name: &str| match name {
                        "Call" => 6,
                        "Inspiration session offered" | "Quote sent" => 2,
                        _ => 1,
                    };
                    let total: u32 = count_types.iter().map(|t| weights(&t.name)).sum();
                    let mut pick = rng.random_range(0..total);
                    let t = count_types
                        .iter()
                        .find(|t| {
                            let w = weights(&t.name);
                            if pick < w {
                                true
                            } else {
                                pick -= w;
                                false
                            }
                        })
                        .copied()
                        .unwrap_or(count_types[0]);
                    let at = crate::scoring::model::start_of_day(day, settings.tz)
                        + Duration::hours(rng.random_range(8..18));
                    let points = t.points_cents;
                    let row = scoring_store::ActivityRow {
                        member_id: m.id,
                        activity_type_id: t.id,
                        quantity: Some(1),
                        progress_percent: None,
                        work_item_key: None,
                        base_points_cents: points,
                        multiplier_cents: 100,
                        points_cents: points,
                        campaign_id: None,
                        occurred_at: at,
                        local_date: day,
                        deal_id: None,
                        note: None,
                        source: "SELF",
                        logged_by: m.id,
                        idempotency_key: None,
                    };
                    scoring_store::insert_activity(org, &tx, row).await?;
                }
            }
        }
        day += Duration::days(1);
    }
    tx.commit().await?;
    Ok(())
}

/// (name, kind, default probability, default category, checklist: (label, CONTENT field or PROCESS))
type StageSeed = (&'static str, StageKind, i32, ForecastCategory, &'static [(&'static str, Option<&'static str>)]);

const STAGES: [StageSeed; 7] = [
    (
        "Lead",
        StageKind::Open,
        10,
        ForecastCategory::Pipeline,
        &[("Company filled in", Some("company")), ("Lead source known", Some("leadSource"))],
    ),
    ("Qualified", StageKind::Open, 20, ForecastCategory::Pipeline, &[("Summary e-mail sent after the call", None)]),
    ("Inspiration session", StageKind::Open, 35, ForecastCategory::Pipeline, &[("Inspiration session held", None)]),
    (
        "Proposal",
        StageKind::Open,
        60,
        ForecastCategory::BestCase,
        &[("Amount known", Some("amount")), ("Expected close date set", Some("expectedCloseDate"))],
    ),
    ("Negotiation", StageKind::Open, 80, ForecastCategory::Commit, &[("Decision maker met", None)]),
    ("Won", StageKind::Won, 100, ForecastCategory::Closed, &[]),
    ("Lost", StageKind::Lost, 0, ForecastCategory::Omitted, &[]),
];

const COMPANIES: [&str; 12] = [
    "Bakkerij de Vries",
    "Hoek Logistiek",
    "Noorderlicht Zorg",
    "Van Dijk Installatie",
    "Studio Tulp",
    "Meijer & Zonen",
    "Groenland Tuinen",
    "Kade Advocaten",
    "Polder IT",
    "Zeeland Energie",
    "Vos Makelaars",
    "Brugman Bouw",
];

/// The demo pipeline with checklists and about 200 deals with realistic dates, amounts and
/// stage histories over the last half year — unless the organization has stages already.
/// Postal codes spread over the Netherlands (the territories route on their first digits).
const POSTAL_CODES: [&str; 12] = [
    "1011 AB", "1071 XC", "2011 CD", "2511 EF", "3011 GH", "3511 JK", "5611 LM", "6211 NP", "7511 QR", "8011 ST",
    "9711 UV", "4811 WX",
];

async fn seed_pipeline(state: &AppState, org: OrgId) -> AppResult<()> {
    use rand::{Rng, SeedableRng};

    if pipeline_store::count_stages(org, &state.db).await? > 0 {
        return Ok(());
    }
    let tx = crate::db::begin_write(&state.db).await?;
    let mut stages = Vec::new();
    for (name, kind, probability, category, checklist) in STAGES {
        let s = pipeline_store::create_stage(
            org,
            &tx,
            pipeline_store::NewStage {
                name: name.into(),
                kind,
                default_probability: probability,
                default_forecast_category: category,
            },
        )
        .await?;
        for (label, field) in checklist {
            let item = pipeline_store::NewItem {
                stage_id: s.id,
                label: (*label).into(),
                kind: if field.is_some() { ChecklistKind::Content } else { ChecklistKind::Process },
                field_name: field.map(str::to_owned),
                required: true,
            };
            pipeline_store::create_item(org, &tx, item).await?;
        }
        stages.push(s);
    }
    let open: Vec<&entity::pipeline_stage::Model> = stages.iter().filter(|s| s.kind == "OPEN").collect();
    let (won, lost) = (&stages[5], &stages[6]);
    let reps =
        store::all_members(org, &tx, &store::MemberFilter { role: Some(Role::Rep), ..Default::default() }).await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let now = Utc::now();
    for n in 0..200 {
        let owner = &reps[n % reps.len()];
        let lead_at = now - Duration::hours(rng.random_range(24..(180 * 24)));
        let first_contact = lead_at + Duration::hours(rng.random_range(1..72));
        let amount = rng.random_range(10..500) * 10_000;
        // How far it got (index into the open stages), and how it ended.
        let reached = rng.random_range(0..open.len());
        let age_days = (now - lead_at).num_days();
        let ending = if age_days > 30 { rng.random_range(0..10) } else { 9 };
        let (final_stage, outcome) = match ending {
            0..=3 => (won, Some(DealOutcome::Won)),
            4..=6 => (lost, Some(DealOutcome::Lost)),
            _ => (open[reached], None),
        };
        let company = COMPANIES[n % COMPANIES.len()];
        let fields = pipeline_store::DealFields {
            name: Some(format!("{company} — deal {}", n + 1)),
            company: Some(Some(company.into())),
            owner_id: Some(owner.id),
            amount_cents: Some(amount),
            expected_close_date: Some(Some((lead_at + Duration::days(rng.random_range(30..120))).date_naive())),
            lead_source: Some(Some(["Website", "Referral", "Webinar", "Cold call"][n % 4].into())),
            lead_created_at: Some(Some(lead_at)),
            first_contact_at: Some(Some(first_contact)),
            country: Some(Some("NL".into())),
            postal_code: Some(Some(POSTAL_CODES[n % POSTAL_CODES.len()].into())),
            ..Default::default()
        };
        let probability = match outcome {
            Some(DealOutcome::Won) => 100,
            Some(DealOutcome::Lost) => 0,
            None => final_stage.default_probability,
        };
        let category =
            ForecastCategory::parse(&final_stage.default_forecast_category).unwrap_or(ForecastCategory::Pipeline);
        let d =
            pipeline_store::create_deal(org, &tx, fields, final_stage, (probability, false), (category, false)).await?;
        // The history walks the open stages up to where it got, then closes.
        let path_len = if outcome == Some(DealOutcome::Won) { open.len() } else { reached + 1 };
        let span = (now - lead_at).num_minutes().max(60);
        let mut previous: Option<Uuid> = None;
        for (i, s) in open.iter().take(path_len).enumerate() {
            let at = lead_at + Duration::minutes(span * i as i64 / (path_len as i64 + 1));
            pipeline_store::add_history_at(org, &tx, d.id, previous, s.id, owner.id, at).await?;
            previous = Some(s.id);
        }
        if let Some(o) = outcome {
            let closed_at = lead_at + Duration::minutes(span * path_len as i64 / (path_len as i64 + 1));
            pipeline_store::add_history_at(org, &tx, d.id, previous, final_stage.id, owner.id, closed_at).await?;
            let state = pipeline_store::DealState {
                closed_at: Some(Some(closed_at)),
                outcome: Some(Some(o)),
                outcome_reason: Some(Some(if o == DealOutcome::Won { "Good fit" } else { "Budget" }.into())),
                ..Default::default()
            };
            pipeline_store::update_deal(org, &tx, &d, pipeline_store::DealFields::default(), state).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Mystery-check criteria and one round for the Sales team last month, 2 deals per rep, every
/// check scored by the auditor (full points on even-indexed checks, half on odd ones) — unless
/// the organization already has criteria.
/// (KPI, sales role, per week)
const KPI_TARGETS: [(&str, SalesRole, i64); 6] = [
    ("new_leads", SalesRole::Inbound, 5),
    ("lead_qualification_rate", SalesRole::Inbound, 40),
    ("call_to_appointment_rate", SalesRole::Outbound, 30),
    ("new_leads", SalesRole::Outbound, 4),
    ("deals_won", SalesRole::Closer, 2),
    ("revenue", SalesRole::Closer, 20_000),
];

/// KPI targets per sales role, a self-reported "selling time %" with four weeks of reports,
/// and an alert rule (outbound reps under their new-leads target three weeks running) evaluated for
/// the last closed week, so `alerts` has something to show — unless KPI targets exist.
async fn seed_kpis(state: &AppState, org: OrgId) -> AppResult<()> {
    use rand::{Rng, SeedableRng};

    if !crate::kpi::store::all_targets(org, &state.db).await?.is_empty() {
        return Ok(());
    }
    let settings = crate::scoring::scores::settings(org, &state.db).await?;
    let admin = store::find_member_by_email(org, &state.db, "admin@demo.test").await?.map(|m| m.id).unwrap_or_default();
    let today = crate::scoring::model::local_date(Utc::now(), settings.tz);
    let since = today - Duration::days(365);
    let tx = crate::db::begin_write(&state.db).await?;
    for (key, role, per_week) in KPI_TARGETS {
        let target = crate::kpi::store::NewKpiTarget {
            kpi_key: key.into(),
            sales_role: Some(role),
            member_id: None,
            per_week: rust_decimal::Decimal::from(per_week),
            effective_from: since,
            reason: "Demo target for the sales role".into(),
            set_by: admin,
        };
        crate::kpi::store::insert_target(org, &tx, target).await?;
    }
    let selling_time = crate::kpi::store::NewKpi {
        key: "selling_time".into(),
        name: "Selling time %".into(),
        description: Some("Share of the week spent selling, entered by the rep".into()),
        kind: crate::kpi::model::KpiKind::SelfReported,
        unit: crate::kpi::model::KpiUnit::Percent,
        direction: crate::kpi::model::KpiDirection::HigherIsBetter,
        activity_type_ids: Vec::new(),
        numerator_key: None,
        denominator_key: None,
    };
    crate::kpi::store::create_kpi(org, &tx, selling_time).await?;
    let reps =
        store::all_members(org, &tx, &store::MemberFilter { role: Some(Role::Rep), ..Default::default() }).await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for weeks_back in 1..=4 {
        let week = crate::kpi::model::week_start(today) - Duration::weeks(weeks_back);
        for m in &reps {
            let value = rust_decimal::Decimal::from(rng.random_range(35..75));
            crate::kpi::store::insert_report(org, &tx, "selling_time", m.id, week, value, m.id).await?;
        }
    }
    // "Three weeks in a row too few leads" (the source articles' example).
    let rule = crate::kpi::store::NewAlertRule {
        kpi_key: "new_leads".into(),
        kind: crate::kpi::model::AlertKind::BelowTargetStreak,
        periods: 3,
        team_id: None,
        sales_role: Some(SalesRole::Outbound),
        created_by: admin,
    };
    crate::kpi::store::create_rule(org, &tx, rule).await?;
    tx.commit().await?;
    crate::kpi::alerts::evaluate(state, org, crate::kpi::model::last_closed_week(today)).await?;
    Ok(())
}

async fn seed_mystery(state: &AppState, org: OrgId) -> AppResult<()> {
    use crate::mystery::{model as mystery, store as mystery_store};

    if !mystery_store::criteria(org, &state.db, true).await?.is_empty() {
        return Ok(());
    }
    let tx = crate::db::begin_write(&state.db).await?;
    let mut criteria = Vec::new();
    for (name, points) in [("Complete CRM profile", 50), ("Complete call report", 100), ("Follow-up within 24 h", 50)] {
        criteria.push(mystery_store::create_criterion(org, &tx, name.into(), points).await?);
    }
    let sales = store::all_teams(org, &tx).await?.into_iter().find(|t| t.name == "Sales" && t.parent_team_id.is_none());
    if let Some(sales) = sales {
        let this_month = mystery::month_start(Utc::now().date_naive());
        let month = mystery::month_start(this_month - Duration::days(1));
        let (first, next) = mystery::month_range(month);
        let tz = chrono_tz::Europe::Amsterdam;
        let (start, end) =
            (crate::scoring::model::start_of_day(first, tz), crate::scoring::model::start_of_day(next, tz));
        let members: Vec<Uuid> =
            mystery_store::round_members(org, &tx, sales.id).await?.into_iter().map(|m| m.id).collect();
        let deals = mystery_store::active_deals_by_owner(org, &tx, &members, start, end).await?;
        let round_id = Uuid::now_v7();
        let seed = mystery::auditor_seed(sales.id, month);
        if let Some(plan) = mystery::plan_round(round_id, &members, None, seed, &deals, 2) {
            let new = mystery_store::NewRound {
                id: round_id,
                team_id: sales.id,
                month,
                samples_per_rep: 2,
                seed,
                created_by: plan.auditor,
            };
            let round = mystery_store::create_round(org, &tx, new, &plan).await?;
            let rules: Vec<mystery::Criterion> =
                criteria.iter().map(|c| mystery::Criterion { id: c.id, max_points: c.points }).collect();
            let checks = mystery_store::checks_of_rounds(org, &tx, &[round.id]).await?;
            for (i, check) in checks.iter().enumerate() {
                let awards: Vec<mystery_store::StoredAward> = criteria
                    .iter()
                    .map(|c| mystery_store::StoredAward {
                        criterion_id: c.id,
                        awarded: if i % 2 == 0 { c.points } else { c.points / 2 },
                        max_points: c.points,
                    })
                    .collect();
                let model_awards: Vec<mystery::Award> = awards
                    .iter()
                    .map(|a| mystery::Award { criterion_id: a.criterion_id, awarded: a.awarded })
                    .collect();
                let score = mystery::score_check(&rules, &model_awards).map_err(|_| {
                    crate::error::AppError::Internal(anyhow::anyhow!("demo mystery scores are invalid"))
                })?;
                let note = if i % 2 == 0 { "All in order." } else { "Call report and follow-up incomplete." };
                mystery_store::save_score(org, &tx, check.id, &awards, score.total, Some(note.into())).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

fn months_before(date: NaiveDate, months: i64) -> NaiveDate {
    date - Duration::days(months * 30)
}

/// Access tokens for the demo logins, valid for `ttl`: (e-mail, token).
pub async fn tokens(state: &AppState, org: OrgId, ttl: Duration) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for email in DEMO_LOGINS {
        if let Some(m) = store::find_member_by_email(org, &state.db, email).await.map_err(crate::error::into_anyhow)? {
            out.push((email.to_owned(), state.jwt.issue(m.id, org.0, ttl)?));
        }
    }
    Ok(out)
}

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
async fn seed_compensation(state: &AppState, org: OrgId) -> AppResult<()> {
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
    let s = crate::scoring::scores::settings(org, &tx).await?;
    let today = crate::scoring::model::local_date(Utc::now(), s.tz);
    let this_quarter = crate::quota::store::period_of(&s, QuotaGrain::Quarter, today);
    let last_quarter =
        crate::scoring::model::previous_period(&this_quarter, s.tz, s.fiscal_year_start_month).unwrap_or(this_quarter);

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

/// A fresh `forecasts:read` API key for the demo organization (the secret is only known when
/// created, so every `--demo` start makes one).
pub async fn forecast_key(state: &AppState, org: OrgId) -> AppResult<String> {
    let admin = store::find_member_by_email(org, &state.db, "admin@demo.test")
        .await?
        .ok_or(crate::error::AppError::NotFound("admin@demo.test"))?;
    let tx = crate::db::begin_write(&state.db).await?;
    let (_, key) =
        crate::auth::api_keys::create(org, &tx, "Demo BI (forecasts)".into(), &["forecasts:read".to_owned()], admin.id)
            .await?;
    tx.commit().await?;
    Ok(key)
}

/// Four closed quarters and the current one of forecasts: each closer submits a commit and best
/// case a week into the quarter, the Sales manager submits for the Sales team, and the closers
/// have won deals in every past quarter, so `forecastAccuracy` has history — unless submissions
/// exist.
async fn seed_forecasts(state: &AppState, org: OrgId) -> AppResult<()> {
    use rand::{Rng, SeedableRng};
    use sea_orm::{EntityTrait, PaginatorTrait};

    if entity::forecast_submission::Entity::find().count(&state.db).await? > 0 {
        return Ok(());
    }
    let tx = crate::db::begin_write(&state.db).await?;
    let s = crate::scoring::scores::settings(org, &tx).await?;
    let members = store::all_members(org, &tx, &Default::default()).await?;
    let closers: Vec<&entity::member::Model> = members.iter().filter(|m| m.sales_role == "CLOSER").collect();
    let manager = members.iter().find(|m| m.email == "manager@demo.test");
    let sales = store::all_teams(org, &tx).await?.into_iter().find(|t| t.name == "Sales");
    let stages = pipeline_store::stages(org, &tx).await?;
    let Some(won) = stages.iter().find(|x| x.kind == "WON") else { return Ok(()) };
    let today = crate::scoring::model::local_date(Utc::now(), s.tz);
    let current = crate::scoring::model::period_containing(
        crate::scoring::model::PeriodGrain::Quarter,
        today,
        s.tz,
        s.fiscal_year_start_month,
    );
    let mut periods = vec![current];
    for _ in 0..4 {
        if let Some(p) = crate::scoring::model::previous_period(&periods[0], s.tz, s.fiscal_year_start_month) {
            periods.insert(0, p);
        }
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    // Older quarters get won deals of their own (the generated pipeline covers six months).
    for (i, period) in periods.iter().enumerate().take(2) {
        for (c, closer) in closers.iter().enumerate() {
            for n in 0..3 {
                let closed_at = period.start + Duration::days(rng.random_range(10..80));
                let fields = pipeline_store::DealFields {
                    name: Some(format!(
                        "{} — earlier deal {}",
                        COMPANIES[(i * 7 + c * 3 + n) % COMPANIES.len()],
                        i * 10 + n + 1
                    )),
                    company: Some(Some(COMPANIES[(i * 7 + c * 3 + n) % COMPANIES.len()].into())),
                    owner_id: Some(closer.id),
                    amount_cents: Some(rng.random_range(100..500) * 10_000),
                    expected_close_date: Some(Some(closed_at.date_naive())),
                    lead_created_at: Some(Some(closed_at - Duration::days(45))),
                    first_contact_at: Some(Some(closed_at - Duration::days(44))),
                    country: Some(Some("NL".into())),
                    ..Default::default()
                };
                let d =
                    pipeline_store::create_deal(org, &tx, fields, won, (100, false), (ForecastCategory::Closed, false))
                        .await?;
                pipeline_store::add_history_at(org, &tx, d.id, None, won.id, closer.id, closed_at).await?;
                let state_change = pipeline_store::DealState {
                    closed_at: Some(Some(closed_at)),
                    outcome: Some(Some(DealOutcome::Won)),
                    outcome_reason: Some(Some("Good fit".into())),
                    ..Default::default()
                };
                pipeline_store::update_deal(org, &tx, &d, pipeline_store::DealFields::default(), state_change).await?;
            }
        }
    }
    // What each closer actually won per quarter, to forecast around.
    let ids: Vec<Uuid> = closers.iter().map(|m| m.id).collect();
    let deals = crate::kpi::store::deals_of(org, &tx, &ids).await?;
    let won_in = |member: Uuid, p: &crate::scoring::model::Period| -> i64 {
        deals
            .iter()
            .filter(|d| d.owner_id == member && d.outcome.as_deref() == Some("WON"))
            .filter(|d| d.closed_at.is_some_and(|t| t >= p.start && t < p.end))
            .map(|d| d.amount_cents)
            .sum()
    };
    for period in &periods {
        let at = (period.start + Duration::days(7)).min(Utc::now());
        let mut team_commit = 0;
        for closer in &closers {
            let actual = won_in(closer.id, period).max(500_000);
            // Some reps forecast well, some optimistically, some cautiously.
            let factor = rng.random_range(70..135);
            let commit = actual * factor / 100;
            team_commit += commit;
            insert_submission(org, &tx, "MEMBER", closer.id, period, commit, commit * 13 / 10, closer.id, at).await?;
        }
        if let (Some(m), Some(t)) = (manager, &sales) {
            let commit = team_commit * rng.random_range(85..105) / 100;
            insert_submission(org, &tx, "TEAM", t.id, period, commit, commit * 12 / 10, m.id, at + Duration::hours(2))
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_submission(
    org: OrgId,
    db: &impl sea_orm::ConnectionTrait,
    kind: &str,
    subject: Uuid,
    period: &crate::scoring::model::Period,
    commit_cents: i64,
    best_case_cents: i64,
    by: Uuid,
    at: chrono::DateTime<Utc>,
) -> AppResult<()> {
    use sea_orm::{ActiveModelTrait, Set};
    entity::forecast_submission::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        subject_kind: Set(kind.to_owned()),
        subject_id: Set(subject),
        grain: Set("QUARTER".into()),
        period_start: Set(period.start_date),
        commit_cents: Set(commit_cents),
        best_case_cents: Set(best_case_cents),
        note: Set(Some("Weekly call".into())),
        submitted_by: Set(by),
        submitted_at: Set(at),
    }
    .insert(db)
    .await?;
    Ok(())
}
