//! What the incentive webhooks carry: IDs in the form the API shows them.

use entity::statement;
use rust_decimal::Decimal;

use crate::graphql::relay::{NodeKind, global_id};

/// The `statement.approved` payload: the statement, whose it is, its period, version and total.
pub fn statement_approved(s: &statement::Model) -> serde_json::Value {
    serde_json::json!({
        "statementId": global_id(NodeKind::Statement, s.id),
        "memberId": global_id(NodeKind::Member, s.member_id),
        "grain": s.grain,
        "periodStart": s.period_start,
        "periodEnd": s.period_end,
        "version": s.version,
        "total": format!("{:.2}", Decimal::new(s.total_cents, 2).round_dp(2)),
    })
}
