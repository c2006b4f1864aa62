//! Demo mystery checks: criteria and a round of checks.

use chrono::{Duration, Utc};
use uuid::Uuid;

use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::org::store;
use crate::state::AppState;

/// Mystery-check criteria and one round for the Sales team last month, 2 deals per rep, every
/// check scored by the auditor (full points on even-indexed checks, half on odd ones) — unless
/// the organization already has criteria.
pub(super) async fn seed_mystery(state: &AppState, org: OrgId) -> AppResult<()> {
    use crate::mystery::{model as mystery, store as mystery_store};

    if !mystery_store::criteria(org, &state.db, true).await?.is_empty() {
        return Ok(());
    }
    let tx = crate::db::begin_write(&state.db).await?;
    let mut criteria = Vec::new();
    for (name, points) in crate::template::model::MYSTERY_CRITERIA {
        criteria.push(mystery_store::create_criterion(org, &tx, name.into(), points).await?);
    }
    let sales = store::all_teams(org, &tx).await?.into_iter().find(|t| t.name == "Sales" && t.parent_team_id.is_none());
    if let Some(sales) = sales {
        let this_month = mystery::month_start(Utc::now().date_naive());
        let month = mystery::month_start(this_month - Duration::days(1));
        let (first, next) = mystery::month_range(month);
        let tz = chrono_tz::Europe::Amsterdam;
        let (start, end) = (crate::core::period::start_of_day(first, tz), crate::core::period::start_of_day(next, tz));
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
                    crate::core::error::AppError::Internal(anyhow::anyhow!("demo mystery scores are invalid"))
                })?;
                let note = if i % 2 == 0 { "All in order." } else { "Call report and follow-up incomplete." };
                mystery_store::save_score(org, &tx, check.id, &awards, score.total, Some(note.into())).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}
