//! What the forecast webhooks carry: IDs in the form the API shows them.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::model::ForecastGrain;
use crate::graphql::relay::{NodeKind, global_id};

/// The `forecast.submitted` payload: whose numbers (`MEMBER` or `TEAM`), the period, the
/// numbers and who submitted them.
pub fn submitted(
    kind: &str,
    subject: Uuid,
    grain: ForecastGrain,
    period_start: NaiveDate,
    commit: Decimal,
    best: Decimal,
    by: Uuid,
) -> serde_json::Value {
    let node = if kind == "TEAM" { NodeKind::Team } else { NodeKind::Member };
    serde_json::json!({
        "subjectKind": kind,
        "subjectId": global_id(node, subject),
        "grain": grain.as_str(),
        "periodStart": period_start,
        "commit": format!("{commit:.2}"),
        "bestCase": format!("{best:.2}"),
        "submittedBy": global_id(NodeKind::Member, by),
    })
}
