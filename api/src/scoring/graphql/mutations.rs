//! Points engine mutations: activity types, logging and voiding activities, campaigns and points
//! targets. Each parses its input into a command of [`crate::scoring::service`] and maps the
//! answer into its payload.

use async_graphql::{Context, MaybeUndefined, Object, Result};

use super::{
    Activity, ActivityType, ActivityTypePayload, ArchiveActivityTypeInput, Campaign, CampaignPayload,
    CreateActivityTypeInput, CreateCampaignInput, EndCampaignInput, LogActivitiesInput, LogActivitiesPayload,
    LogActivityInput, LogActivityPayload, PointsTarget, PointsTargetPayload, SetPointsTargetInput,
    UpdateActivityTypeInput, UpdateCampaignInput, VoidActivityInput, VoidActivityPayload, current_week_score,
    field_errors,
};
use crate::core::error::AppResult;
use crate::core::field::Checked;
use crate::core::principal::Principal;
use crate::graphql::ContextExt;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::scoring::policy;
use crate::scoring::scores::{LogRequest, ScoreParts};
use crate::scoring::service::{self, Refused, TargetOf};

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
        let state = ctx.state()?;
        let cmd = service::CreateActivityType {
            name: input.name,
            description: input.description,
            category: input.category,
            unit: input.unit,
            points: input.points,
            step_percent: input.step_percent,
            kpi_key: input.kpi_key,
            self_max_quantity_per_activity: input.self_max_quantity_per_activity,
            self_max_quantity_per_day: input.self_max_quantity_per_day,
        };
        Ok(activity_type_payload(service::create_activity_type(&state.db, &state.events, p, cmd).await?))
    }

    /// Changes an activity type (admins). Activities logged before keep their points.
    async fn update_activity_type(
        &self,
        ctx: &Context<'_>,
        input: UpdateActivityTypeInput,
    ) -> Result<ActivityTypePayload> {
        let p = ctx.principal()?;
        // The role is checked before the ID is read, as the use-case would.
        policy::may_configure(p)?;
        let state = ctx.state()?;
        let cmd = service::UpdateActivityType {
            id: decode_id(&input.id, NodeKind::ActivityType)?,
            version: input.version,
            name: input.name,
            description: maybe(input.description),
            category: input.category,
            points: input.points,
            step_percent: input.step_percent,
            kpi_key: maybe(input.kpi_key),
            active: input.active,
            self_max_quantity_per_activity: maybe(input.self_max_quantity_per_activity),
            self_max_quantity_per_day: maybe(input.self_max_quantity_per_day),
        };
        Ok(activity_type_payload(service::update_activity_type(&state.db, &state.events, p, cmd).await?))
    }

    /// Archives an activity type (admins): it can no longer be logged; history stays.
    async fn archive_activity_type(
        &self,
        ctx: &Context<'_>,
        input: ArchiveActivityTypeInput,
    ) -> Result<ActivityTypePayload> {
        let p = ctx.principal()?;
        // The role is checked before the ID is read, as the use-case would.
        policy::may_configure(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::ActivityType)?;
        let t = service::archive_activity_type(&state.db, &state.events, p, id).await?;
        Ok(ActivityTypePayload { activity_type: Some(ActivityType(t)), user_errors: vec![] })
    }

    /// Logs an activity. A rep logs for themself, a manager for members of their teams.
    /// With an `idempotencyKey` a retry returns the original with `replayed: true`.
    async fn log_activity(&self, ctx: &Context<'_>, input: LogActivityInput) -> Result<LogActivityPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let req = log_request(p, input)?;
        Ok(match service::log_activity(&state.db, &state.events, &state.hot, &state.logs, p, req).await? {
            Ok(logged) => LogActivityPayload {
                replayed: logged.replayed,
                score_of: Some((logged.settings, logged.activity.member_id, logged.now)),
                activity: Some(Activity(logged.activity)),
                user_errors: vec![],
            },
            Err(errors) => LogActivityPayload {
                activity: None,
                score_of: None,
                replayed: false,
                user_errors: field_errors(errors),
            },
        })
    }

    /// Logs up to 500 activities in one transaction: all or nothing. User errors name the item
    /// index in `field`.
    async fn log_activities(&self, ctx: &Context<'_>, input: LogActivitiesInput) -> Result<LogActivitiesPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        // The size is checked before any item is read, as the use-case would.
        service::check_batch_size(input.items.len())?;
        let requests: Vec<LogRequest> = input.items.into_iter().map(|i| log_request(p, i)).collect::<AppResult<_>>()?;
        let answer =
            service::log_activities(&state.db, &state.events, &state.settings, &state.logging, &state.hot, p, requests)
                .await?;
        Ok(match answer {
            Ok(batch) => LogActivitiesPayload {
                activities: batch.activities.into_iter().map(Activity).collect(),
                replayed_count: batch.replayed,
                user_errors: vec![],
            },
            Err(errors) => {
                LogActivitiesPayload { activities: vec![], replayed_count: 0, user_errors: field_errors(errors) }
            }
        })
    }

    /// Voids an activity: its points stop counting, the row stays with who, when and why.
    /// A rep may void their own within 24 hours; a manager any in their teams.
    async fn void_activity(&self, ctx: &Context<'_>, input: VoidActivityInput) -> Result<VoidActivityPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::VoidActivity { id: decode_id(&input.id, NodeKind::Activity)?, reason: input.reason };
        match service::void_activity(&state.db, &state.events, &state.logging, &state.hot, p, cmd).await? {
            Ok(v) => {
                let score =
                    current_week_score(&v.settings, &state.db, v.activity.member_id, v.now, ScoreParts::ALL).await?;
                Ok(VoidActivityPayload { activity: Some(Activity(v.activity)), score, user_errors: vec![] })
            }
            Err(Refused { current, errors }) => Ok(VoidActivityPayload {
                activity: current.map(Activity),
                score: None,
                user_errors: field_errors(errors),
            }),
        }
    }

    /// Creates a campaign (admins).
    async fn create_campaign(&self, ctx: &Context<'_>, input: CreateCampaignInput) -> Result<CampaignPayload> {
        let p = ctx.principal()?;
        // The role is checked before the IDs are read, as the use-case would.
        policy::may_configure(p)?;
        let state = ctx.state()?;
        let cmd = campaign_definition(input)?;
        Ok(campaign_payload(service::create_campaign(&state.db, &state.events, p, cmd).await?))
    }

    /// Replaces a campaign's definition (admins), only before it starts: points already awarded never move.
    async fn update_campaign(&self, ctx: &Context<'_>, input: UpdateCampaignInput) -> Result<CampaignPayload> {
        let p = ctx.principal()?;
        // The role is checked before the IDs are read, as the use-case would.
        policy::may_configure(p)?;
        let state = ctx.state()?;
        let cmd = service::UpdateCampaign {
            id: decode_id(&input.id, NodeKind::Campaign)?,
            version: input.version,
            campaign: campaign_definition(input.campaign)?,
        };
        Ok(campaign_payload(service::update_campaign(&state.db, &state.events, p, cmd).await?))
    }

    /// Ends a campaign now (admins); activities after this get no multiplier from it.
    async fn end_campaign(&self, ctx: &Context<'_>, input: EndCampaignInput) -> Result<CampaignPayload> {
        let p = ctx.principal()?;
        // The role is checked before the ID is read, as the use-case would.
        policy::may_configure(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::Campaign)?;
        Ok(match service::end_campaign(&state.db, &state.events, p, id).await? {
            Ok(c) => CampaignPayload { campaign: Some(Campaign(c)), user_errors: vec![] },
            Err(Refused { current, errors }) => {
                CampaignPayload { campaign: current.map(Campaign), user_errors: field_errors(errors) }
            }
        })
    }

    /// Records a weekly points target: a sales role's default (admins) or a member's override
    /// (admins; managers for their teams). History is kept.
    async fn set_points_target(&self, ctx: &Context<'_>, input: SetPointsTargetInput) -> Result<PointsTargetPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let of = match (&input.member_id, input.sales_role) {
            (Some(id), None) => TargetOf::Member(decode_id(id, NodeKind::Member)?),
            (None, Some(role)) => TargetOf::SalesRole(role),
            (Some(_), Some(_)) | (None, None) => TargetOf::Unclear,
        };
        let cmd = service::SetPointsTarget {
            of,
            weekly_points: input.weekly_points,
            effective_from: input.effective_from,
            reason: input.reason,
        };
        Ok(match service::set_points_target(&state.db, &state.events, p, cmd).await? {
            Ok(t) => PointsTargetPayload { target: Some(PointsTarget(t)), user_errors: vec![] },
            Err(errors) => PointsTargetPayload { target: None, user_errors: field_errors(errors) },
        })
    }
}

fn log_request(principal: &Principal, input: LogActivityInput) -> AppResult<LogRequest> {
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

fn campaign_definition(input: CreateCampaignInput) -> AppResult<service::CampaignDefinition> {
    Ok(service::CampaignDefinition {
        activity_type_ids: input
            .activity_type_ids
            .iter()
            .map(|id| decode_id(id, NodeKind::ActivityType))
            .collect::<AppResult<_>>()?,
        team_ids: input.team_ids.iter().map(|id| decode_id(id, NodeKind::Team)).collect::<AppResult<_>>()?,
        name: input.name,
        theme: input.theme,
        starts_at: input.starts_at,
        ends_at: input.ends_at,
        multiplier: input.multiplier,
        reward: input.reward,
    })
}

/// `null` → `Some(None)` (clear), absent → `None` (leave).
fn maybe<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

fn activity_type_payload(result: Checked<entity::activity_type::Model>) -> ActivityTypePayload {
    match result {
        Ok(t) => ActivityTypePayload { activity_type: Some(ActivityType(t)), user_errors: vec![] },
        Err(errors) => ActivityTypePayload { activity_type: None, user_errors: field_errors(errors) },
    }
}

fn campaign_payload(result: Checked<entity::campaign::Model>) -> CampaignPayload {
    match result {
        Ok(c) => CampaignPayload { campaign: Some(Campaign(c)), user_errors: vec![] },
        Err(errors) => CampaignPayload { campaign: None, user_errors: field_errors(errors) },
    }
}
