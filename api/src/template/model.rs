//! The built-in starter: what a new organization gets (see the module documentation). Pure
//! data; the demo organization is set up from it too.

use crate::core::roles::SalesRole;
use crate::pipeline::model::{ForecastCategory, StageKind};
use crate::scoring::model::{ActivityCategory, ActivityUnit};

/// A stage: name, kind, default win probability, default forecast category, and its checklist
/// as (label, the deal field a CONTENT item requires; `None` for a PROCESS step).
pub type StarterStage =
    (&'static str, StageKind, i32, ForecastCategory, &'static [(&'static str, Option<&'static str>)]);

/// The pipeline: five open stages from lead to negotiation, then won and lost.
pub const STAGES: [StarterStage; 7] = [
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

/// An activity type: name, category, unit, points in hundredths per unit (or per step), the
/// step in percent for a PROGRESS type, and the built-in KPI it feeds.
pub type StarterActivityType = (&'static str, ActivityCategory, ActivityUnit, i64, Option<i32>, Option<&'static str>);

/// The points of the points article: an inspiration session offered is 1 point, a quote sent 3,
/// a newsletter is scored per 10 % of progress.
pub const ACTIVITY_TYPES: [StarterActivityType; 6] = [
    ("Inspiration session offered", ActivityCategory::Action, ActivityUnit::Count, 100, None, None),
    ("Quote sent", ActivityCategory::Action, ActivityUnit::Count, 300, None, Some("quotes_sent")),
    ("Call", ActivityCategory::Action, ActivityUnit::Count, 100, None, Some("calls")),
    ("Appointment set", ActivityCategory::Result, ActivityUnit::Count, 200, None, Some("appointments")),
    ("Webinar registration", ActivityCategory::Result, ActivityUnit::Count, 100, None, None),
    ("Newsletter written", ActivityCategory::Action, ActivityUnit::Progress, 100, Some(10), None),
];

/// Weekly points per sales role (whole points).
pub const POINTS_TARGETS: [(SalesRole, i64); 3] =
    [(SalesRole::Inbound, 25), (SalesRole::Outbound, 30), (SalesRole::Closer, 20)];

/// Weekly KPI targets per sales role: the ratios and counts each role is steered on.
pub const KPI_TARGETS: [(&str, SalesRole, i64); 6] = [
    ("new_leads", SalesRole::Inbound, 5),
    ("lead_qualification_rate", SalesRole::Inbound, 40),
    ("call_to_appointment_rate", SalesRole::Outbound, 30),
    ("new_leads", SalesRole::Outbound, 4),
    ("deals_won", SalesRole::Closer, 2),
    ("revenue", SalesRole::Closer, 20_000),
];

/// "Three weeks in a row too few leads": outbound reps under their new-leads target.
pub const ALERT: (&str, SalesRole, i32) = ("new_leads", SalesRole::Outbound, 3);

/// The monthly mystery check's criteria and their points.
pub const MYSTERY_CRITERIA: [(&str, i32); 3] =
    [("Complete CRM profile", 50), ("Complete call report", 100), ("Follow-up within 24 h", 50)];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::kpi::model::applies_to;
    use crate::kpi::model::{BuiltInKpi, catalogue};

    #[test]
    fn the_pipeline_runs_from_open_stages_to_one_won_and_one_lost() {
        let kinds: Vec<StageKind> = STAGES.iter().map(|s| s.1).collect();
        assert_eq!(kinds.iter().filter(|k| **k == StageKind::Won).count(), 1);
        assert_eq!(kinds.iter().filter(|k| **k == StageKind::Lost).count(), 1);
        assert_eq!(kinds[0], StageKind::Open, "a new deal enters an open stage");
        let probabilities: Vec<i32> = STAGES.iter().filter(|s| s.1 == StageKind::Open).map(|s| s.2).collect();
        assert!(probabilities.windows(2).all(|w| w[0] < w[1]), "probability rises along the open stages");
        let names: HashSet<&str> = STAGES.iter().map(|s| s.0).collect();
        assert_eq!(names.len(), STAGES.len(), "stage names are unique");
    }

    #[test]
    fn content_items_name_fields_a_deal_has() {
        let fields = ["company", "leadSource", "amount", "expectedCloseDate"];
        for (stage, .., checklist) in STAGES {
            for (label, field) in checklist {
                assert!(!label.is_empty(), "{stage}");
                if let Some(f) = field {
                    assert!(fields.contains(f), "{stage}: {label} requires an unknown field {f}");
                }
            }
        }
        let process = STAGES.iter().flat_map(|s| s.4.iter()).filter(|(_, f)| f.is_none()).count();
        assert!(process >= 3, "process steps as well as content items");
    }

    #[test]
    fn the_points_follow_the_article() {
        let points = |name: &str| ACTIVITY_TYPES.iter().find(|t| t.0 == name).map(|t| t.3);
        assert_eq!(points("Inspiration session offered"), Some(100), "1 point");
        assert_eq!(points("Quote sent"), Some(300), "3 points");
        let newsletter = ACTIVITY_TYPES.iter().find(|t| t.0 == "Newsletter written").unwrap();
        assert_eq!((newsletter.2, newsletter.4), (ActivityUnit::Progress, Some(10)), "a point per 10 %");
        for t in ACTIVITY_TYPES {
            assert_eq!(t.4.is_some(), t.2 == ActivityUnit::Progress, "{}: a step for progress types only", t.0);
            assert!(t.3 > 0, "{}", t.0);
        }
    }

    #[test]
    fn kpi_keys_are_built_ins_that_apply_to_the_role_they_target() {
        let builtins: Vec<BuiltInKpi> = catalogue().iter().map(|c| c.kpi).collect();
        for (key, role, per_week) in KPI_TARGETS {
            let kpi = BuiltInKpi::from_key(key).unwrap_or_else(|| panic!("{key} is not a built-in"));
            assert!(builtins.contains(&kpi));
            assert!(applies_to(kpi.default_sales_roles(), role), "{key} is not on a {role:?}'s scoreboard");
            assert!(per_week > 0);
        }
        let (key, role, weeks) = ALERT;
        assert!(KPI_TARGETS.contains(&(key, role, 4)), "the alert watches a KPI that has a target");
        assert_eq!(weeks, 3, "three weeks in a row");
        for (.., kpi) in ACTIVITY_TYPES {
            if let Some(k) = kpi {
                assert!(["calls", "appointments", "quotes_sent"].contains(&k), "{k}");
            }
        }
    }

    #[test]
    fn every_selling_role_has_a_points_target_and_the_criteria_score_points() {
        for role in [SalesRole::Inbound, SalesRole::Outbound, SalesRole::Closer] {
            assert!(POINTS_TARGETS.iter().any(|(r, p)| *r == role && *p > 0), "{role:?}");
        }
        assert!(MYSTERY_CRITERIA.iter().all(|(name, points)| !name.is_empty() && *points > 0));
        assert_eq!(MYSTERY_CRITERIA.iter().find(|c| c.0 == "Complete call report").map(|c| c.1), Some(100));
        assert_eq!(MYSTERY_CRITERIA.iter().find(|c| c.0 == "Complete CRM profile").map(|c| c.1), Some(50));
    }
}
