//! Points engine mutations: activity types, logging and voiding activities, campaigns and points
//! targets.

use std::collections::HashSet;

use async_graphql::{Context, MaybeUndefined, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    Activity, ActivityType, ActivityTypePayload, ArchiveActivityTypeInput, Campaign, CampaignPayload,
    CreateActivityTypeInput, CreateCampaignInput, EndCampaignInput, LogActivitiesInput, LogActivitiesPayload,
    LogActivityInput, LogActivityPayload, PointsTarget, PointsTargetPayload, SetPointsTargetInput,
    UpdateActivityTypeInput, UpdateCampaignInput, VoidActivityInput, VoidActivityPayload, announce, current_week_score,
    field_errors, is_duplicate, maybe_ceiling, parse_ceiling, parse_text, publish, require_admin,
};
use crate::core::error::{AppError, AppResult};
use crate::core::field::FieldError;
use crate::core::ids::OrgId;
use crate::core::principal::{Permission, Principal};
use crate::core::roles::Role;
use crate::events::Event;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::graphql::{ContextExt, UserError};
use crate::org::{model as org_model, store as org_store};
use crate::scoring::model::{self, ActivityUnit, CampaignStatus};
use crate::scoring::queue::{LogJob, Queued, activity_event};
use crate::scoring::scores::{self, LogRequest, ScoreParts};
use crate::scoring::{decimal_to_cents, store};
use crate::state::AppState;

// ---------------------------------------------------------------- mutations

/// Points engine mutations.
#[derive(Default)]
pub struct ScoringMutation;

#[Object]
impl ScoringMutation {
    /// Creates an activity type (admins).
    async fn create_activity_type(
        &self,
        ctx: &Context<'_>,
        input: CreateActivityTypeInput,
    ) -> Result<ActivityTypePayload> {
        let p = ctx.principal()?;
        require_admin(p)?;
        let state = ctx.state()?;
        let mut errors = Vec::new();
        let name = org_model::parse_name("name", &input.name).map_err(|e| errors.push(e)).ok();
        let description = parse_text("description", input.description, 2000).map_err(|e| errors.push(e)).ok().flatten();
        let kpi_key = crate::kpi::model::parse_activity_kpi_key(input.kpi_key.as_deref())
            .map_err(|e| errors.push(e))
            .ok()
            .flatten()
            .map(str::to_owned);
        let points = model::parse_points("points", input.points).map_err(|e| errors.push(e)).ok();
        let step = match (input.unit, input.step_percent) {
            (ActivityUnit::Progress, Some(s)) => model::parse_step_percent(s).map_err(|e| errors.push(e)).ok(),
            (ActivityUnit::Progress, None) => {
                errors.push(FieldError::new("stepPercent", "REQUIRED", "PROGRESS types need a step size"));
                None
            }
            (ActivityUnit::Count, Some(_)) => {
                errors.push(FieldError::new("stepPercent", "INVALID", "only PROGRESS types have a step size"));
                None
            }
            (ActivityUnit::Count, None) => None,
        };
        let per_activity =
            input.self_max_quantity_per_activity.and_then(|v| parse_ceiling(v, false).map_err(|e| errors.push(e)).ok());
        let per_day =
            input.self_max_quantity_per_day.and_then(|v| parse_ceiling(v, true).map_err(|e| errors.push(e)).ok());
        let (Some(name), Some(points)) = (name, points) else {
            return Ok(ActivityTypePayload { activity_type: None, user_errors: field_errors(errors) });
        };
        if !errors.is_empty() {
            return Ok(ActivityTypePayload { activity_type: None, user_errors: field_errors(errors) });
        }
        let new = store::NewActivityType {
            name,
            description,
            category: input.category,
            unit: input.unit,
            points_cents: decimal_to_cents(points),
            step_percent: step,
            kpi_key,
            self_max_quantity_per_activity: per_activity,
            self_max_quantity_per_day: per_day,
        };
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let t = store::create_activity_type(p.org, &tx, new).await?;
        crate::audit::store::record(
            p.org,
            &tx,
            p.into(),
            "activityType.create",
            "ActivityType",
            Some(t.id),
            None,
            crate::audit::store::snapshot(&t),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        state.events.publish(Event::RulesChanged { org: p.org.0 });
        Ok(ActivityTypePayload { activity_type: Some(ActivityType(t)), user_errors: vec![] })
    }

    /// Changes an activity type (admins). Activities logged before keep their points.
    async fn update_activity_type(
        &self,
        ctx: &Context<'_>,
        input: UpdateActivityTypeInput,
    ) -> Result<ActivityTypePayload> {
        let p = ctx.principal()?;
        require_admin(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::ActivityType)?;
        let current =
            store::find_activity_type(p.org, &state.db, id).await?.ok_or(AppError::NotFound("activity type"))?;
        let mut errors = Vec::new();
        let is_progress = ActivityUnit::parse(&current.unit) == Some(ActivityUnit::Progress);
        let patch = store::ActivityTypePatch {
            name: input.name.and_then(|n| org_model::parse_name("name", &n).map_err(|e| errors.push(e)).ok()),
            description: match input.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(d) => parse_text("description", Some(d), 2000).map_err(|e| errors.push(e)).ok(),
            },
            category: input.category,
            points_cents: input
                .points
                .and_then(|v| model::parse_points("points", v).map_err(|e| errors.push(e)).ok())
                .map(decimal_to_cents),
            step_percent: match input.step_percent {
                Some(_) if !is_progress => {
                    errors.push(FieldError::new("stepPercent", "INVALID", "only PROGRESS types have a step size"));
                    None
                }
                Some(s) => model::parse_step_percent(s).map_err(|e| errors.push(e)).ok(),
                None => None,
            },
            kpi_key: match input.kpi_key {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(k) => crate::kpi::model::parse_activity_kpi_key(Some(&k))
                    .map_err(|e| errors.push(e))
                    .ok()
                    .map(|k| k.map(str::to_owned)),
            },
            active: input.active,
            self_max_quantity_per_activity: maybe_ceiling(input.self_max_quantity_per_activity, false, &mut errors),
            self_max_quantity_per_day: maybe_ceiling(input.self_max_quantity_per_day, true, &mut errors),
        };
        if !errors.is_empty() {
            return Ok(ActivityTypePayload { activity_type: None, user_errors: field_errors(errors) });
        }
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        // The audit's "before" is the row this transaction replaces, not the one parsed against.
        let before = store::find_activity_type(p.org, &tx, id).await?.unwrap_or(current);
        let t = store::update_activity_type(p.org, &tx, id, patch, input.version).await?;
        crate::audit::store::record(
            p.org,
            &tx,
            p.into(),
            "activityType.update",
            "ActivityType",
            Some(t.id),
            crate::audit::store::snapshot(&before),
            crate::audit::store::snapshot(&t),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        state.events.publish(Event::RulesChanged { org: p.org.0 });
        Ok(ActivityTypePayload { activity_type: Some(ActivityType(t)), user_errors: vec![] })
    }

    /// Archives an activity type (admins): it can no longer be logged; history stays.
    async fn archive_activity_type(
        &self,
        ctx: &Context<'_>,
        input: ArchiveActivityTypeInput,
    ) -> Result<ActivityTypePayload> {
        let p = ctx.principal()?;
        require_admin(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::ActivityType)?;
        let patch = store::ActivityTypePatch { active: Some(false), ..Default::default() };
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let before = store::find_activity_type(p.org, &tx, id).await?;
        let t = store::update_activity_type(p.org, &tx, id, patch, None).await?;
        crate::audit::store::record(
            p.org,
            &tx,
            p.into(),
            "activityType.archive",
            "ActivityType",
            Some(t.id),
            before.as_ref().and_then(crate::audit::store::snapshot),
            crate::audit::store::snapshot(&t),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        state.events.publish(Event::RulesChanged { org: p.org.0 });
        Ok(ActivityTypePayload { activity_type: Some(ActivityType(t)), user_errors: vec![] })
    }

    /// Logs an activity. A rep logs for themself, a manager for members of their teams.
    /// With an `idempotencyKey` a retry returns the original with `replayed: true`.
    async fn log_activity(&self, ctx: &Context<'_>, input: LogActivityInput) -> Result<LogActivityPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let req = log_request(p, input)?;
        let now = Utc::now();
        // Whose teams the caller reaches matters only when logging for someone else.
        let reach = if req.member_id == p.member_id {
            crate::auth::Reach::Teams(HashSet::new())
        } else {
            p.reach(&state.db).await?
        };
        let job = LogJob { principal: p.clone(), reach: reach.clone(), request: req.clone(), now };
        match state.logs.log(job).await {
            Queued::Logged(outcome, s) => Ok(LogActivityPayload {
                replayed: outcome.replayed,
                score_of: Some((s, outcome.activity.member_id, now)),
                activity: Some(Activity(outcome.activity)),
                user_errors: vec![],
            }),
            Queued::Invalid(errors) => Ok(LogActivityPayload {
                activity: None,
                score_of: None,
                replayed: false,
                user_errors: field_errors(errors),
            }),
            Queued::Failed(e) => Err(e.into()),
            Queued::Alone => log_alone(state, p, &reach, req, now).await,
        }
    }

    /// Logs up to 500 activities in one transaction: all or nothing. User errors name the item
    /// index in `field`.
    async fn log_activities(&self, ctx: &Context<'_>, input: LogActivitiesInput) -> Result<LogActivitiesPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        if input.items.is_empty() || input.items.len() > 500 {
            return Err(AppError::bad_input("'items' must hold 1 to 500 activities").into());
        }
        let now = Utc::now();
        let s = state.settings.get(p.org, &state.db).await?;
        let reach = p.reach(&state.db).await?;
        let requests: Vec<LogRequest> = input.items.into_iter().map(|i| log_request(p, i)).collect::<AppResult<_>>()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let mut outcomes = Vec::with_capacity(requests.len());
        let mut errors = Vec::new();
        let mut memo = scores::LogMemo::batch(&s, &tx, &requests, Some(&state.logging)).await?;
        memo.read_campaigns(p.org, &tx, requests.iter().map(|r| r.occurred_at.unwrap_or(now))).await?;
        let own = requests.iter().filter(|r| r.member_id == p.member_id);
        memo.read_self_quantities(
            &s,
            &tx,
            own.map(|r| (r.member_id, r.activity_type_id, r.occurred_at.unwrap_or(now))),
        )
        .await?;
        for (index, req) in requests.into_iter().enumerate() {
            match scores::log_activity(&s, &tx, p, &reach, req, now, &mut memo).await {
                Ok(o) => outcomes.push(o),
                Err(Ok(item_errors)) => errors.extend(item_errors.into_iter().map(|mut e| {
                    let field = e.field.pop().unwrap_or_default();
                    e.field = vec!["input".into(), "items".into(), index.to_string(), field];
                    UserError::from(e)
                })),
                Err(Err(e)) if is_duplicate(&e) => {
                    return Err(AppError::Conflict(format!(
                        "item {index}: a concurrent request with the same idempotency key; retry"
                    ))
                    .into());
                }
                Err(Err(e)) => return Err(e.into()),
            }
        }
        if !errors.is_empty() {
            return Ok(LogActivitiesPayload { activities: vec![], replayed_count: 0, user_errors: errors });
        }
        if let Err(e) = memo.flush(p.org, &tx).await {
            if is_duplicate(&e) {
                return Err(AppError::Conflict(
                    "a concurrent request stored one of these idempotency keys first; retry".into(),
                )
                .into());
            }
            return Err(e.into());
        }
        let events = outcomes.iter().filter(|o| !o.replayed).map(|o| activity_event(&o.activity)).collect();
        memo.queue_webhooks(p.org, &tx, events).await?;
        tx.commit().await.map_err(AppError::from)?;
        memo.count_self_logged(p.org);
        // One re-read of the changed members' totals, however many activities each.
        let mut changed: Vec<Uuid> = outcomes.iter().filter(|o| !o.replayed).map(|o| o.activity.member_id).collect();
        changed.sort_unstable();
        changed.dedup();
        state.hot.refresh_members(p.org, &changed).await;
        let mut replayed = 0;
        for o in &outcomes {
            if o.replayed {
                replayed += 1;
            } else {
                announce(state, p.org, o, o.activity.points_cents);
            }
        }
        Ok(LogActivitiesPayload {
            activities: outcomes.into_iter().map(|o| Activity(o.activity)).collect(),
            replayed_count: replayed,
            user_errors: vec![],
        })
    }

    /// Voids an activity: its points stop counting, the row stays with who, when and why.
    /// A rep may void their own within 24 hours; a manager any in their teams.
    async fn void_activity(&self, ctx: &Context<'_>, input: VoidActivityInput) -> Result<VoidActivityPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::Activity)?;
        let reason = match parse_text("reason", Some(input.reason), 2000) {
            Ok(Some(r)) => r,
            Ok(None) => {
                let e = FieldError::new("reason", "REQUIRED", "say why the activity is voided");
                return Ok(VoidActivityPayload { activity: None, score: None, user_errors: field_errors(vec![e]) });
            }
            Err(e) => {
                return Ok(VoidActivityPayload { activity: None, score: None, user_errors: field_errors(vec![e]) });
            }
        };
        let now = Utc::now();
        let s = scores::settings(p.org, &state.db).await?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let a = store::find_activity(p.org, &tx, id).await?.ok_or(AppError::NotFound("activity"))?;
        let owner = org_store::find_member(p.org, &tx, a.member_id).await?.ok_or(AppError::NotFound("member"))?;
        let own_recent = a.member_id == p.member_id && now - a.created_at <= chrono::Duration::hours(24);
        if !own_recent {
            if p.role == Role::Rep || p.role == Role::Viewer {
                return Err(AppError::forbidden("reps may void their own activities within 24 hours").into());
            }
            p.reach(&tx).await?.require(owner.team_id, "this member")?;
        }
        if a.voided_at.is_some() {
            let e = FieldError::new("id", "ALREADY_VOIDED", "this activity is already voided");
            return Ok(VoidActivityPayload {
                activity: Some(Activity(a)),
                score: None,
                user_errors: field_errors(vec![e]),
            });
        }
        let (row, changed) = store::void_activity(p.org, &tx, id, p.member_id, reason).await?;
        tx.commit().await.map_err(AppError::from)?;
        if changed {
            // The voided quantity no longer counts against the member's self-logging ceiling.
            if let (Some(kept), "SELF") = (state.logging.self_logged(), row.source.as_str()) {
                let key = (row.member_id, row.activity_type_id, row.local_date);
                kept.add(p.org, key, -i64::from(row.quantity.unwrap_or(0)));
            }
            let outcome = scores::LogOutcome { activity: row.clone(), replayed: false, team_id: owner.team_id };
            publish(state, p.org, &outcome, -row.points_cents).await;
        }
        let score = current_week_score(&s, &state.db, row.member_id, now, ScoreParts::ALL).await?;
        Ok(VoidActivityPayload { activity: Some(Activity(row)), score, user_errors: vec![] })
    }

    /// Creates a campaign (admins).
    async fn create_campaign(&self, ctx: &Context<'_>, input: CreateCampaignInput) -> Result<CampaignPayload> {
        let p = ctx.principal()?;
        require_admin(p)?;
        let state = ctx.state()?;
        match parse_campaign(p.org, &state.db, input).await? {
            Err(errors) => Ok(CampaignPayload { campaign: None, user_errors: field_errors(errors) }),
            Ok(new) => {
                let c = store::create_campaign(p.org, &state.db, new).await?;
                state.events.publish(Event::RulesChanged { org: p.org.0 });
                Ok(CampaignPayload { campaign: Some(Campaign(c)), user_errors: vec![] })
            }
        }
    }

    /// Replaces a campaign's definition (admins), only before it starts: points already awarded never move.
    async fn update_campaign(&self, ctx: &Context<'_>, input: UpdateCampaignInput) -> Result<CampaignPayload> {
        let p = ctx.principal()?;
        require_admin(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::Campaign)?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let current = store::find_campaign(p.org, &tx, id).await?.ok_or(AppError::NotFound("campaign"))?;
        if current.starts_at <= Utc::now() || current.ended_at.is_some() {
            let e = FieldError::new("id", "STARTED", "a campaign can only be changed before it starts");
            return Ok(CampaignPayload { campaign: None, user_errors: field_errors(vec![e]) });
        }
        match parse_campaign(p.org, &tx, input.campaign).await? {
            Err(errors) => Ok(CampaignPayload { campaign: None, user_errors: field_errors(errors) }),
            Ok(new) => {
                let c = store::replace_campaign(p.org, &tx, id, new, input.version).await?;
                tx.commit().await.map_err(AppError::from)?;
                state.events.publish(Event::RulesChanged { org: p.org.0 });
                Ok(CampaignPayload { campaign: Some(Campaign(c)), user_errors: vec![] })
            }
        }
    }

    /// Ends a campaign now (admins); activities after this get no multiplier from it.
    async fn end_campaign(&self, ctx: &Context<'_>, input: EndCampaignInput) -> Result<CampaignPayload> {
        let p = ctx.principal()?;
        require_admin(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::Campaign)?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let current = store::find_campaign(p.org, &tx, id).await?.ok_or(AppError::NotFound("campaign"))?;
        if store::campaign_rule(&current).status(Utc::now()) == CampaignStatus::Ended {
            let e = FieldError::new("id", "ENDED", "this campaign has already ended");
            return Ok(CampaignPayload { campaign: Some(Campaign(current)), user_errors: field_errors(vec![e]) });
        }
        let c = store::end_campaign(p.org, &tx, id).await?;
        tx.commit().await.map_err(AppError::from)?;
        state.events.publish(Event::RulesChanged { org: p.org.0 });
        Ok(CampaignPayload { campaign: Some(Campaign(c)), user_errors: vec![] })
    }

    /// Records a weekly points target: a sales role's default (admins) or a member's override
    /// (admins; managers for their teams). History is kept.
    async fn set_points_target(&self, ctx: &Context<'_>, input: SetPointsTargetInput) -> Result<PointsTargetPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let mut errors = Vec::new();
        let member = match (&input.member_id, input.sales_role) {
            (Some(_), Some(_)) | (None, None) => {
                errors.push(FieldError::new("memberId", "INVALID", "give exactly one of memberId and salesRole"));
                None
            }
            (Some(id), None) => {
                let m = org_store::find_member(p.org, &state.db, decode_id(id, NodeKind::Member)?)
                    .await?
                    .ok_or(AppError::NotFound("member"))?;
                p.require(Permission::MembersWrite)?;
                p.reach(&state.db).await?.require(m.team_id, "this member")?;
                Some(m.id)
            }
            (None, Some(_)) => {
                require_admin(p)?;
                None
            }
        };
        let weekly = model::parse_points("weeklyPoints", input.weekly_points).map_err(|e| errors.push(e)).ok();
        let reason = match parse_text("reason", Some(input.reason), 2000) {
            Ok(Some(r)) => Some(r),
            Ok(None) => {
                errors.push(FieldError::new("reason", "REQUIRED", "say why the target is set"));
                None
            }
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let (Some(weekly), Some(reason)) = (weekly, reason) else {
            return Ok(PointsTargetPayload { target: None, user_errors: field_errors(errors) });
        };
        if let Some(from) = input.effective_from
            && let Err(e) = org_model::check_business_date("effectiveFrom", from)
        {
            errors.push(e);
        }
        if !errors.is_empty() {
            return Ok(PointsTargetPayload { target: None, user_errors: field_errors(errors) });
        }
        let s = scores::settings(p.org, &state.db).await?;
        let new = store::NewTarget {
            sales_role: if member.is_none() { input.sales_role } else { None },
            member_id: member,
            weekly_points_cents: decimal_to_cents(weekly),
            effective_from: input.effective_from.unwrap_or_else(|| model::local_date(Utc::now(), s.tz)),
            reason,
            set_by: p.member_id,
        };
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let t = store::insert_target(p.org, &tx, new).await?;
        crate::audit::store::record(
            p.org,
            &tx,
            p.into(),
            "pointsTarget.set",
            "PointsTarget",
            Some(t.id),
            None,
            crate::audit::store::snapshot(&t),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        state.events.publish(Event::MembersChanged { org: p.org.0 });
        Ok(PointsTargetPayload { target: Some(PointsTarget(t)), user_errors: vec![] })
    }
}

pub(super) fn log_request(principal: &Principal, input: LogActivityInput) -> AppResult<LogRequest> {
    Ok(LogRequest {
        activity_type_id: decode_id(&input.activity_type_id, NodeKind::ActivityType)?,
        member_id: match &input.member_id {
            Some(id) => decode_id(id, NodeKind::Member)?,
            None => principal.member_id,
        },
        quantity: input.quantity,
        progress_percent: input.progress_percent,
        work_item_key: input.work_item_key,
        occurred_at: input.occurred_at,
        note: input.note,
        idempotency_key: input.idempotency_key,
        deal_id: input.deal_id.as_ref().map(|id| decode_id(id, NodeKind::Deal)).transpose()?,
    })
}

/// One `logActivity` in a transaction of its own: what a queued call does when the shared
/// transaction it was in rolled back.
pub(super) async fn log_alone(
    state: &AppState,
    p: &Principal,
    reach: &crate::auth::Reach,
    req: LogRequest,
    now: DateTime<Utc>,
) -> Result<LogActivityPayload> {
    let s = scores::settings(p.org, &state.db).await?;
    let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
    let outcome = match scores::log_activity(&s, &tx, p, reach, req.clone(), now, &mut Default::default()).await {
        Ok(o) => o,
        Err(Ok(errors)) => {
            return Ok(LogActivityPayload {
                activity: None,
                score_of: None,
                replayed: false,
                user_errors: field_errors(errors),
            });
        }
        Err(Err(e)) if is_duplicate(&e) => {
            // A concurrent request with the same key committed first: answer with its activity.
            drop(tx);
            let key = req.idempotency_key.as_deref().map(str::trim).unwrap_or_default();
            let original = store::find_by_idempotency_key(p.org, &state.db, req.member_id, key)
                .await?
                .ok_or(AppError::Conflict("a concurrent request clashed; retry".into()))?;
            if !scores::replays(&original, &req) {
                return Ok(LogActivityPayload {
                    activity: None,
                    score_of: None,
                    replayed: false,
                    user_errors: field_errors(vec![model::idempotency_key_reused()]),
                });
            }
            return Ok(LogActivityPayload {
                score_of: Some((s, original.member_id, now)),
                activity: Some(Activity(original)),
                replayed: true,
                user_errors: vec![],
            });
        }
        Err(Err(e)) => return Err(e.into()),
    };
    if !outcome.replayed {
        crate::webhooks::store::enqueue(p.org, &tx, scores::ACTIVITY_LOGGED, activity_event(&outcome.activity)).await?;
    }
    tx.commit().await.map_err(AppError::from)?;
    if !outcome.replayed {
        publish(state, p.org, &outcome, outcome.activity.points_cents).await;
    }
    Ok(LogActivityPayload {
        replayed: outcome.replayed,
        score_of: Some((s, outcome.activity.member_id, now)),
        activity: Some(Activity(outcome.activity)),
        user_errors: vec![],
    })
}

pub(super) async fn parse_campaign(
    org: OrgId,
    db: &impl sea_orm::ConnectionTrait,
    input: CreateCampaignInput,
) -> AppResult<Result<store::NewCampaign, Vec<FieldError>>> {
    let mut errors = Vec::new();
    let name = org_model::parse_name("name", &input.name).map_err(|e| errors.push(e)).ok();
    let theme = parse_text("theme", input.theme, 2000).map_err(|e| errors.push(e)).ok().flatten();
    let reward = parse_text("reward", input.reward, 2000).map_err(|e| errors.push(e)).ok().flatten();
    let multiplier = model::parse_multiplier(input.multiplier).map_err(|e| errors.push(e)).ok();
    if input.ends_at <= input.starts_at {
        errors.push(FieldError::new("endsAt", "OUT_OF_RANGE", "must be after startsAt"));
    }
    for (field, at) in [("startsAt", input.starts_at), ("endsAt", input.ends_at)] {
        if let Err(e) = org_model::check_business_date(field, at.date_naive()) {
            errors.push(e);
        }
    }
    if input.activity_type_ids.len() > 200 || input.team_ids.len() > 200 {
        errors.push(FieldError::new("activityTypeIds", "TOO_LONG", "at most 200 activity types and 200 teams"));
    }
    let mut types = Vec::new();
    for id in &input.activity_type_ids {
        let id = decode_id(id, NodeKind::ActivityType)?;
        store::find_activity_type(org, db, id).await?.ok_or(AppError::NotFound("activity type"))?;
        types.push(id);
    }
    let mut teams = Vec::new();
    for id in &input.team_ids {
        let id = decode_id(id, NodeKind::Team)?;
        org_store::find_team(org, db, id).await?.ok_or(AppError::NotFound("team"))?;
        teams.push(id);
    }
    match (name, multiplier) {
        (Some(name), Some(m)) if errors.is_empty() => Ok(Ok(store::NewCampaign {
            name,
            theme,
            reward,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            multiplier_cents: decimal_to_cents(m),
            activity_type_ids: types,
            team_ids: teams,
        })),
        _ => Ok(Err(errors)),
    }
}
