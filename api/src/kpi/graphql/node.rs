//! The alert objects `node(id:)` answers with, loaded within the caller's read rules.

use uuid::Uuid;

use super::types::{Alert, AlertRule};
use crate::core::error::AppResult;
use crate::core::principal::Principal;
use crate::kpi::store;

/// An alert rule through `node`: any member reads the rules (as `alertRules` shows them).
pub async fn node_alert_rule(
    p: &Principal,
    db: &impl sea_orm::ConnectionTrait,
    id: Uuid,
) -> AppResult<Option<AlertRule>> {
    Ok(store::rules(p.org, db).await?.into_iter().find(|r| r.id == id).map(AlertRule))
}

/// An alert through `node`: only one `alerts` would show the viewer.
pub async fn node_alert(p: &Principal, db: &impl sea_orm::ConnectionTrait, id: Uuid) -> AppResult<Option<Alert>> {
    let Some(alert) = store::find_alert(p.org, db, id).await? else { return Ok(None) };
    let visible = p.visible_members(db).await?.is_none_or(|m| m.contains(&alert.member_id));
    Ok(visible.then_some(Alert(alert)))
}
