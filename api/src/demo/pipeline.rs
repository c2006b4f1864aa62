//! Demo pipeline: stages with checklists and about 200 deals with stage histories.

use chrono::{Duration, Utc};
use uuid::Uuid;

use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::core::roles::Role;
use crate::org::store;
use crate::pipeline::model::{ChecklistKind, DealOutcome, ForecastCategory};
use crate::pipeline::store as pipeline_store;
use crate::state::AppState;
use crate::template::model::STAGES;

pub(super) const COMPANIES: [&str; 12] = [
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

pub(super) async fn seed_pipeline(state: &AppState, org: OrgId) -> AppResult<()> {
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
