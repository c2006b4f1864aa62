//! What the screens read beyond the store-level seed, created through the API as an
//! organization would create it: the pipeline's stages and checklists (a new organization has
//! none; these are the demo's), 5,000 deals spread over the reps (each created by its owner,
//! some checklist items ticked, some won or lost this quarter), campaigns (two running), and
//! this quarter's revenue quotas and forecast submissions of every rep, region and sub-team
//! (set by the region's manager, as the permissions allow) with a manager's adjustment here
//! and there. GraphQL mutations over HTTP, a bounded number at once.

use std::time::Instant;

use anyhow::{Context as _, bail};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use futures_util::{StreamExt, TryStreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Actors;

/// Deals in the data set: five a rep.
pub const DEALS: usize = 5_000;
/// Mutations in flight at once.
const AT_ONCE: usize = 16;

const USER_ERRORS: &str = "userErrors { field code message }";

/// (name, kind, default probability, default category, checklist: (label, CONTENT field or PROCESS))
type StageSeed = (&'static str, &'static str, i32, &'static str, &'static [(&'static str, Option<&'static str>)]);

/// The demo organization's pipeline.
const STAGES: [StageSeed; 7] = [
    (
        "Lead",
        "OPEN",
        10,
        "PIPELINE",
        &[("Company filled in", Some("company")), ("Lead source known", Some("leadSource"))],
    ),
    ("Qualified", "OPEN", 20, "PIPELINE", &[("Summary e-mail sent after the call", None)]),
    ("Inspiration session", "OPEN", 35, "PIPELINE", &[("Inspiration session held", None)]),
    (
        "Proposal",
        "OPEN",
        60,
        "BEST_CASE",
        &[("Amount known", Some("amount")), ("Expected close date set", Some("expectedCloseDate"))],
    ),
    ("Negotiation", "OPEN", 80, "COMMIT", &[("Decision maker met", None), ("Budget confirmed", None)]),
    ("Won", "WON", 100, "CLOSED", &[]),
    ("Lost", "LOST", 0, "OMITTED", &[]),
];

/// Where open deals sit, in percent per open stage (a funnel).
const OPEN_SHARES: [u32; 5] = [30, 25, 20, 15, 10];

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

/// What was created, and how long it took.
#[derive(Debug, Default, Serialize)]
pub struct Created {
    pub stages: usize,
    pub checklist_items: usize,
    pub campaigns: usize,
    pub kpi_targets: usize,
    pub deals: usize,
    pub open_deals: usize,
    pub won_deals: usize,
    pub lost_deals: usize,
    pub checklist_ticks: usize,
    pub quotas: usize,
    pub forecast_submissions: usize,
    pub forecast_adjustments: usize,
    pub mutations: usize,
    pub seconds: f64,
}

struct Api {
    http: reqwest::Client,
    addr: String,
}

impl Api {
    /// Runs a mutation with `$i` = `input`; its payload, or an error with its user errors.
    async fn mutate(&self, token: &str, query: &str, input: Value) -> anyhow::Result<Value> {
        let data =
            crate::load::graphql(&self.http, &self.addr, token, &json!({"query": query, "variables": {"i": input}}))
                .await?;
        let payload = data.as_object().and_then(|o| o.values().next()).cloned().unwrap_or(Value::Null);
        match payload["userErrors"].as_array() {
            Some(e) if !e.is_empty() => bail!("user errors: {}", Value::Array(e.clone())),
            _ => Ok(payload),
        }
    }
}

struct Stage {
    id: String,
    /// PROCESS items (ticked by hand; CONTENT items are done by filling their field).
    process_items: Vec<String>,
}

/// The first and last day of this quarter (calendar quarters: the bench organization's
/// fiscal year starts in January) in the organization's time zone.
pub fn this_quarter() -> (NaiveDate, NaiveDate) {
    let today = Utc::now().with_timezone(&crate::seed::TZ).date_naive();
    let month = today.month0() / 3 * 3 + 1;
    let start = NaiveDate::from_ymd_opt(today.year(), month, 1).expect("valid date");
    let next = if month == 10 {
        NaiveDate::from_ymd_opt(today.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(today.year(), month + 3, 1)
    }
    .expect("valid date");
    (start, next - Duration::days(1))
}

/// One deal to create and what happens to it after.
struct DealPlan {
    owner: String,
    input: Value,
    ticks: Vec<String>,
    close: Option<(&'static str, &'static str)>,
}

/// Creates the screens' data on the server at `addr`.
pub async fn screens(addr: &str, a: &Actors, activity_types: &[String]) -> anyhow::Result<Created> {
    let started = Instant::now();
    let api = Api { http: reqwest::Client::builder().pool_max_idle_per_host(AT_ONCE).build()?, addr: addr.to_owned() };
    let mut created = Created::default();

    // The pipeline (admin).
    let mut stages = Vec::new();
    for (name, kind, probability, category, checklist) in STAGES {
        let payload = api
            .mutate(
                &a.admin,
                &format!("mutation($i: CreateStageInput!) {{ createStage(input: $i) {{ stage {{ id }} {USER_ERRORS} }} }}"),
                json!({"name": name, "kind": kind, "defaultProbability": probability, "defaultForecastCategory": category}),
            )
            .await
            .with_context(|| format!("creating stage {name}"))?;
        let id = payload["stage"]["id"].as_str().context("no stage id")?.to_owned();
        let mut process_items = Vec::new();
        for (label, field) in checklist {
            let payload = api
                .mutate(
                    &a.admin,
                    &format!(
                        "mutation($i: AddChecklistItemInput!) {{ addChecklistItem(input: $i) {{ item {{ id }} {USER_ERRORS} }} }}"
                    ),
                    json!({"stageId": id, "label": label, "kind": if field.is_some() { "CONTENT" } else { "PROCESS" }, "fieldName": field, "required": true}),
                )
                .await
                .with_context(|| format!("adding checklist item {label}"))?;
            if field.is_none() {
                process_items.push(payload["item"]["id"].as_str().context("no item id")?.to_owned());
            }
            created.checklist_items += 1;
        }
        stages.push(Stage { id, process_items });
    }
    created.stages = stages.len();

    // Campaigns (admin): two running, one over, one to come.
    let now = Utc::now();
    let (meeting, quote) = (&activity_types[1], &activity_types[2]);
    for (name, from, to, multiplier, kind, reward) in [
        ("Meeting week", -2, 5, 2.0, meeting, None),
        ("Quote sprint", -10, 20, 1.5, quote, Some("Team dinner for the best region")),
        ("Spring kick-off", -60, -30, 2.0, meeting, None),
        ("Next month's push", 10, 40, 1.5, quote, None),
    ] {
        api.mutate(
            &a.admin,
            &format!("mutation($i: CreateCampaignInput!) {{ createCampaign(input: $i) {{ campaign {{ id }} {USER_ERRORS} }} }}"),
            json!({
                "name": name,
                "theme": "Bench",
                "startsAt": (now + Duration::days(from)).to_rfc3339(),
                "endsAt": (now + Duration::days(to)).to_rfc3339(),
                "multiplier": multiplier,
                "activityTypeIds": [kind],
                "reward": reward,
            }),
        )
        .await
        .with_context(|| format!("creating campaign {name}"))?;
        created.campaigns += 1;
    }

    // Weekly targets for the reps' KPIs (admin: a sales role's defaults), so the scoreboard's
    // cells have a status; in effect for the whole history (a target counts for a week only
    // when it was in effect at the week's start).
    let year_ago = Utc::now().with_timezone(&crate::seed::TZ).date_naive() - Duration::days(365);
    for (kpi, per_week) in [("new_leads", 2.0), ("lead_qualification_rate", 30.0), ("call_to_appointment_rate", 25.0)] {
        api.mutate(
            &a.admin,
            &format!("mutation($i: SetKpiTargetInput!) {{ setKpiTarget(input: $i) {{ {USER_ERRORS} }} }}"),
            json!({"kpiKey": kpi, "salesRole": "OUTBOUND", "perWeek": per_week, "effectiveFrom": year_ago, "reason": "Bench: the reps' weekly rhythm"}),
        )
        .await
        .with_context(|| format!("setting the target of {kpi}"))?;
        created.kpi_targets += 1;
    }
    println!("  stages, checklists, campaigns and KPI targets in {:.1} s", started.elapsed().as_secs_f64());

    // Deals, each created, ticked and closed by its owner.
    let t = Instant::now();
    let (quarter_start, quarter_end) = this_quarter();
    let today = Utc::now().with_timezone(&crate::seed::TZ).date_naive();
    let days_left = (quarter_end - today).num_days().max(0);
    let mut rng = StdRng::seed_from_u64(13);
    let reps: Vec<&(String, String)> = a.regions.iter().flat_map(|r| r.reps.iter()).collect();
    let mut plans = Vec::with_capacity(DEALS);
    for n in 0..DEALS {
        let (_, token) = reps[n % reps.len()];
        let roll = rng.random_range(0..100);
        let close = match roll {
            0..10 => Some(("WON", "Good fit")),
            10..15 => Some(("LOST", "Budget")),
            _ => None,
        };
        let won = close.is_some_and(|c| c.0 == "WON");
        // Won deals close from the last open stage; the others sit along the funnel.
        let mut stage = OPEN_SHARES.len() - 1;
        if !won {
            let mut x = rng.random_range(0..100);
            for (i, share) in OPEN_SHARES.iter().enumerate() {
                if x < *share {
                    stage = i;
                    break;
                }
                x -= share;
            }
        }
        let company = COMPANIES[n % COMPANIES.len()];
        let expected = match rng.random_range(0..100) {
            _ if won => Some(today - Duration::days(rng.random_range(0..=(today - quarter_start).num_days()))),
            0..75 => Some(today + Duration::days(rng.random_range(0..=days_left))),
            75..90 => Some(quarter_end + Duration::days(rng.random_range(1..90))),
            _ => None,
        };
        let input = json!({
            "name": format!("{company} — {}", ["licences", "renewal", "pilot", "expansion", "support"][n % 5]),
            "company": (won || rng.random_bool(0.9)).then_some(company),
            "amount": format!("{}.00", rng.random_range(1_000..60_000)),
            "stageId": stages[stage].id,
            "expectedCloseDate": expected,
            "leadSource": (won || rng.random_bool(0.7)).then_some(["Website", "Referral", "Webinar", "Cold call"][n % 4]),
            "leadCreatedAt": (now - Duration::days(rng.random_range(1..120))).to_rfc3339(),
            "country": "NL",
        });
        let ticks = match close {
            Some(("LOST", _)) => Vec::new(),
            _ => stages[stage].process_items.iter().filter(|_| won || rng.random_bool(0.5)).cloned().collect(),
        };
        plans.push(DealPlan { owner: token.clone(), input, ticks, close });
    }
    let tallies: Vec<(usize, Option<&'static str>)> = futures_util::stream::iter(plans)
        .map(|plan| {
            let api = &api;
            async move {
                let payload = api
                    .mutate(
                        &plan.owner,
                        &format!("mutation($i: DealInput!) {{ createDeal(input: $i) {{ deal {{ id }} {USER_ERRORS} }} }}"),
                        plan.input,
                    )
                    .await
                    .context("createDeal")?;
                let id = payload["deal"]["id"].as_str().context("no deal id")?.to_owned();
                for item in &plan.ticks {
                    api.mutate(
                        &plan.owner,
                        &format!("mutation($i: ChecklistItemOnDealInput!) {{ completeChecklistItem(input: $i) {{ deal {{ id }} {USER_ERRORS} }} }}"),
                        json!({"dealId": id, "itemId": item}),
                    )
                    .await
                    .context("completeChecklistItem")?;
                }
                if let Some((outcome, reason)) = plan.close {
                    api.mutate(
                        &plan.owner,
                        &format!("mutation($i: CloseDealInput!) {{ closeDeal(input: $i) {{ deal {{ id }} {USER_ERRORS} }} }}"),
                        json!({"id": id, "outcome": outcome, "reason": reason}),
                    )
                    .await
                    .with_context(|| format!("closeDeal {outcome}"))?;
                }
                anyhow::Ok((plan.ticks.len(), plan.close.map(|c| c.0)))
            }
        })
        .buffer_unordered(AT_ONCE)
        .try_collect()
        .await?;
    created.deals = tallies.len();
    created.checklist_ticks = tallies.iter().map(|t| t.0).sum();
    created.won_deals = tallies.iter().filter(|t| t.1 == Some("WON")).count();
    created.lost_deals = tallies.iter().filter(|t| t.1 == Some("LOST")).count();
    created.open_deals = created.deals - created.won_deals - created.lost_deals;
    println!(
        "  {} deals ({} open, {} won, {} lost), {} checklist items ticked in {:.1} s",
        created.deals,
        created.open_deals,
        created.won_deals,
        created.lost_deals,
        created.checklist_ticks,
        t.elapsed().as_secs_f64()
    );

    // This quarter's quotas and forecasts: every rep forecasts for themself; each manager sets
    // the quotas of the region, its sub-teams and reps, forecasts for the region and its
    // sub-teams, and adjusts one rep per sub-team.
    let t = Instant::now();
    let quota = format!("mutation($i: SetQuotaInput!) {{ setQuota(input: $i) {{ quota {{ id }} {USER_ERRORS} }} }}");
    let submit = format!(
        "mutation($i: SubmitForecastInput!) {{ submitForecast(input: $i) {{ numbers {{ at }} {USER_ERRORS} }} }}"
    );
    let adjust = format!(
        "mutation($i: AdjustForecastInput!) {{ adjustForecast(input: $i) {{ numbers {{ at }} {USER_ERRORS} }} }}"
    );
    let mut calls: Vec<(String, &str, Value)> = Vec::new();
    let mut numbers = |low: i64, high: i64| {
        let commit = rng.random_range(low..high);
        (format!("{commit}.00"), format!("{}.00", commit * 13 / 10))
    };
    for region in &a.regions {
        for (_, token) in &region.reps {
            let (commit, best) = numbers(10_000, 60_000);
            calls.push((token.clone(), &submit, json!({"commit": commit, "bestCase": best, "note": "Weekly call"})));
            created.forecast_submissions += 1;
        }
        for team in [&region.team, &region.sub_teams[0], &region.sub_teams[1]] {
            let scale = if *team == region.team { 20 } else { 10 };
            let (commit, best) = numbers(20_000 * scale, 40_000 * scale);
            calls.push((region.manager.clone(), &submit, json!({"teamId": team, "commit": commit, "bestCase": best})));
            created.forecast_submissions += 1;
        }
        for (subject, amount) in
            [(&region.team, 1_200_000), (&region.sub_teams[0], 600_000), (&region.sub_teams[1], 600_000)]
                .into_iter()
                .chain(region.reps.iter().map(|(member, _)| (member, 60_000)))
        {
            calls.push((
                region.manager.clone(),
                &quota,
                json!({"subjectId": subject, "metric": "REVENUE", "grain": "QUARTER", "period": quarter_start, "amount": format!("{amount}.00")}),
            ));
            created.quotas += 1;
        }
        for first_of_sub_team in [&region.reps[0], &region.reps[10]] {
            let (commit, best) = numbers(10_000, 40_000);
            calls.push((
                region.manager.clone(),
                &adjust,
                json!({"memberId": first_of_sub_team.0, "commit": commit, "bestCase": best, "reason": "Pipeline review"}),
            ));
            created.forecast_adjustments += 1;
        }
    }
    futures_util::stream::iter(calls)
        .map(|(token, query, input)| {
            let api = &api;
            async move { api.mutate(&token, query, input).await.context("quotas and forecasts") }
        })
        .buffer_unordered(AT_ONCE)
        .try_collect::<Vec<_>>()
        .await?;
    println!(
        "  {} quotas, {} forecast submissions and {} adjustments in {:.1} s",
        created.quotas,
        created.forecast_submissions,
        created.forecast_adjustments,
        t.elapsed().as_secs_f64()
    );
    created.mutations = created.stages
        + created.checklist_items
        + created.campaigns
        + created.kpi_targets
        + created.deals
        + created.checklist_ticks
        + created.won_deals
        + created.lost_deals
        + created.quotas
        + created.forecast_submissions
        + created.forecast_adjustments;
    created.seconds = started.elapsed().as_secs_f64();
    Ok(created)
}
