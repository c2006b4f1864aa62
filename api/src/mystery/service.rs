//! The mystery-check use-cases that write: adding and archiving criteria, starting a team's
//! monthly round and scoring a check. Each write runs in one [`Unit`]; a refused request
//! returns its field errors ([`Checked`]) and writes nothing.

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use entity::{mystery_check, mystery_criterion, mystery_round};

use super::model::{self, Award, Criterion};
use super::policy;
use super::store::{self, NewRound, StoredAward};
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::principal::Principal;
use crate::db::unit::Unit;
use crate::events::EventBus;
use crate::org::model as org_model;
use crate::org::store as org_store;

/// Longest accepted auditor's note.
pub const MAX_NOTE_LEN: usize = 2000;

/// A criterion to add.
#[derive(Debug, Clone)]
pub struct CreateCriterion {
    /// Its name, as given.
    pub name: String,
    /// The most points an auditor can award for it, as given.
    pub points: i32,
}

/// A round to start.
#[derive(Debug, Clone)]
pub struct StartRound {
    /// The team; its sub-teams' members take part too.
    pub team_id: Uuid,
    /// Any date in the month.
    pub month: chrono::NaiveDate,
    /// Deals to sample per rep, as given.
    pub samples_per_rep: i32,
}

/// The auditor's score of a check.
#[derive(Debug, Clone)]
pub struct ScoreCheck {
    /// The check.
    pub check_id: Uuid,
    /// Points per criterion.
    pub awards: Vec<Award>,
    /// A note for the rep, as given.
    pub note: Option<String>,
}

/// The criteria as the model's rules take them.
fn as_criteria(list: &[mystery_criterion::Model]) -> Vec<Criterion> {
    list.iter().map(|c| Criterion { id: c.id, max_points: c.points }).collect()
}

/// Adds a criterion.
pub async fn create_criterion(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: CreateCriterion,
) -> AppResult<Checked<mystery_criterion::Model>> {
    policy::may_change_criteria(p)?;
    let mut e = Vec::new();
    let name = org_model::parse_name("name", &cmd.name).map_err(|x| e.push(x)).ok();
    let points = model::parse_criterion_points(cmd.points).map_err(|x| e.push(x)).ok();
    let (Some(name), Some(points), true) = (name, points, e.is_empty()) else {
        return Ok(Err(e));
    };
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let c = store::create_criterion(p.org, unit.db(), name, points).await?;
    unit.commit().await?;
    Ok(Ok(c))
}

/// Archives a criterion: checks scored from now on leave it out; scored checks keep it.
pub async fn archive_criterion(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    id: Uuid,
) -> AppResult<mystery_criterion::Model> {
    policy::may_change_criteria(p)?;
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let c = store::archive_criterion(p.org, unit.db(), id).await?;
    unit.commit().await?;
    Ok(c)
}

/// Starts a team's round for a month: picks the auditor round robin over the team's active
/// members (never last round's auditor) and draws a reproducible sample of every other
/// member's deals active that month, one check per deal. One round per team and month.
pub async fn start_round(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: StartRound,
) -> AppResult<Checked<mystery_round::Model>> {
    policy::may_start_round(p)?;
    let team = cmd.team_id;
    org_store::find_team(p.org, db, team).await?.ok_or(AppError::NotFound("team"))?;
    p.reach(db).await?.require(Some(team), "this team")?;
    let samples_per_rep = match model::parse_samples_per_rep(cmd.samples_per_rep) {
        Ok(n) => n,
        Err(e) => return Ok(Err(vec![e])),
    };
    let month = model::month_start(cmd.month);
    let tz = org_store::organization(p.org, db)
        .await?
        .and_then(|o| org_model::parse_time_zone(&o.time_zone).ok())
        .unwrap_or(chrono_tz::Europe::Amsterdam);
    let (first, next) = model::month_range(month);
    let (start, end) = (crate::core::period::start_of_day(first, tz), crate::core::period::start_of_day(next, tz));

    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let exists = || FieldError::new("month", "EXISTS", "the team already has a round that month");
    if store::round_of_month(p.org, unit.db(), team, month).await?.is_some() {
        return Ok(Err(vec![exists()]));
    }
    let members: Vec<Uuid> = store::round_members(p.org, unit.db(), team).await?.into_iter().map(|m| m.id).collect();
    let last_auditor = store::previous_round(p.org, unit.db(), team, month).await?.map(|r| r.auditor_id);
    let deals = store::active_deals_by_owner(p.org, unit.db(), &members, start, end).await?;
    let round_id = Uuid::now_v7();
    let seed = model::auditor_seed(team, month);
    let Some(plan) = model::plan_round(round_id, &members, last_auditor, seed, &deals, samples_per_rep) else {
        return Ok(Err(vec![FieldError::new(
            "teamId",
            "TEAM_TOO_SMALL",
            "a round needs at least two active members: nobody audits themself",
        )]));
    };
    let new = NewRound {
        id: round_id,
        team_id: team,
        month,
        samples_per_rep: cmd.samples_per_rep,
        seed,
        created_by: p.member_id,
    };
    let round = match store::create_round(p.org, unit.db(), new, &plan).await {
        Ok(r) => r,
        Err(err) if org_store::is_unique_violation(&err) => return Ok(Err(vec![exists()])),
        Err(err) => return Err(err),
    };
    unit.commit().await?;
    Ok(Ok(round))
}

/// Scores a check: only the round's auditor may, admins included (the audit is a peer's
/// judgement). Every active criterion once, 0 to its points. Re-scoring replaces the score.
pub async fn score_check(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: ScoreCheck,
) -> AppResult<Checked<mystery_check::Model>> {
    let check = store::find_check(p.org, db, cmd.check_id).await?.ok_or(AppError::NotFound("mystery check"))?;
    let round = store::find_round(p.org, db, check.round_id).await?.ok_or(AppError::NotFound("mystery check"))?;
    if round.auditor_id != p.member_id {
        return Err(AppError::forbidden("only the round's auditor may score its checks"));
    }
    let awards = cmd.awards;
    let active = store::criteria(p.org, db, false).await?;
    let mut e = Vec::new();
    let score = model::score_check(&as_criteria(&active), &awards).map_err(|list| e.extend(list)).ok();
    let note = cmd.note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_LEN) {
        e.push(FieldError::new("note", "TOO_LONG", format!("must be at most {MAX_NOTE_LEN} characters")));
    }
    let (Some(score), true) = (score, e.is_empty()) else {
        return Ok(Err(e));
    };
    let stored: Vec<StoredAward> = awards
        .iter()
        .filter_map(|a| {
            active.iter().find(|c| c.id == a.criterion_id).map(|c| StoredAward {
                criterion_id: a.criterion_id,
                awarded: a.awarded,
                max_points: c.points,
            })
        })
        .collect();
    let unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let saved = store::save_score(p.org, unit.db(), check.id, &stored, score.total, note).await?;
    unit.commit().await?;
    Ok(Ok(saved))
}
