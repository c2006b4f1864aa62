//! Demo points engine: activity types, weekly targets, six weeks of activity history and a running
//! campaign.

use chrono::{Duration, Utc};

use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::core::roles::Role;
use crate::org::store;
use crate::scoring::store as scoring_store;
use crate::state::AppState;
use crate::template::model::{ACTIVITY_TYPES, POINTS_TARGETS};

/// Activity types, weekly targets per sales role, six weeks of history and a running
/// campaign with multiplier 2 — unless the organization already has activity types.
pub(super) async fn seed_scoring(state: &AppState, org: OrgId) -> AppResult<()> {
    use rand::{Rng, SeedableRng};

    if !scoring_store::all_activity_types(org, &state.db).await?.is_empty() {
        return Ok(());
    }
    let settings = crate::core::settings::settings(org, &state.db).await?;
    let tx = crate::db::begin_write(&state.db).await?;
    let mut types = Vec::new();
    for (name, category, unit, points_cents, step_percent, kpi_key) in ACTIVITY_TYPES {
        let new = scoring_store::NewActivityType {
            name: name.into(),
            description: None,
            category,
            unit,
            points_cents,
            step_percent,
            kpi_key: kpi_key.map(str::to_owned),
            self_max_quantity_per_activity: None,
            self_max_quantity_per_day: None,
        };
        types.push(scoring_store::create_activity_type(org, &tx, new).await?);
    }
    let admin = store::find_member_by_email(org, &tx, "admin@demo.test").await?.map(|m| m.id).unwrap_or_default();
    let now = Utc::now();
    let today = crate::core::period::local_date(now, settings.tz);
    let history_start = today - Duration::days(42);
    for (role, weekly) in POINTS_TARGETS {
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
                    let at =
                        crate::core::period::start_of_day(day, settings.tz) + Duration::hours(rng.random_range(8..18));
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
