//! GraphQL surface of templates: `applyTemplate`.

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};

use super::service::{self, Applied};
use crate::graphql::{ContextExt, UserError};

/// A set-up an organization can start from.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OrganizationTemplate {
    /// The built-in starter, after the source articles: seven pipeline stages with content and
    /// process checklists, six activity types with the points article's points, weekly points
    /// and KPI targets for the inbound, outbound and closer roles, the "three weeks too few
    /// leads" alert for outbound reps and three mystery-check criteria.
    Starter,
}

/// Which template to apply.
#[derive(InputObject)]
pub struct ApplyTemplateInput {
    /// The template.
    template: OrganizationTemplate,
}

/// What `applyTemplate` created; all zero when refused.
#[derive(SimpleObject, Default)]
pub struct ApplyTemplatePayload {
    /// Pipeline stages created.
    stages: i32,
    /// Checklist items created over those stages.
    checklist_items: i32,
    /// Activity types created.
    activity_types: i32,
    /// Weekly points targets created (one per sales role).
    points_targets: i32,
    /// Weekly KPI targets created (per sales role).
    kpi_targets: i32,
    /// Alert rules created.
    alert_rules: i32,
    /// Mystery-check criteria created.
    mystery_criteria: i32,
    /// What to fix (`ALREADY_SET_UP` when the organization has a set-up); empty on success.
    user_errors: Vec<UserError>,
}

impl From<Applied> for ApplyTemplatePayload {
    fn from(a: Applied) -> Self {
        let n = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
        ApplyTemplatePayload {
            stages: n(a.stages),
            checklist_items: n(a.checklist_items),
            activity_types: n(a.activity_types),
            points_targets: n(a.points_targets),
            kpi_targets: n(a.kpi_targets),
            alert_rules: n(a.alert_rules),
            mystery_criteria: n(a.mystery_criteria),
            user_errors: Vec::new(),
        }
    }
}

/// Template mutations.
#[derive(Default)]
pub struct TemplateMutation;

#[Object]
impl TemplateMutation {
    /// Sets the organization up from a template (admins), in one transaction: set-up only,
    /// never people or data. Refused with `ALREADY_SET_UP`, changing nothing, when the
    /// organization has any pipeline stage, activity type, points or KPI target, alert rule or
    /// mystery-check criterion.
    async fn apply_template(&self, ctx: &Context<'_>, input: ApplyTemplateInput) -> Result<ApplyTemplatePayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let OrganizationTemplate::Starter = input.template;
        Ok(match service::apply_starter(&state.db, &state.events, p).await? {
            Ok(applied) => applied.into(),
            Err(e) => {
                ApplyTemplatePayload { user_errors: e.into_iter().map(UserError::from).collect(), ..Default::default() }
            }
        })
    }
}
