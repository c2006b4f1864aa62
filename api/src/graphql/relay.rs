//! Relay conventions: opaque global IDs, cursor pagination with enforced bounds, and
//! connections with `totalCount`.

use async_graphql::connection::{Edge, EmptyFields, PageInfo};
use async_graphql::{ID, SimpleObject};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The types that have global IDs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// An organization.
    Organization,
    /// A team.
    Team,
    /// A member.
    Member,
    /// An activity type.
    ActivityType,
    /// A logged activity.
    Activity,
    /// A campaign.
    Campaign,
    /// A pipeline stage.
    PipelineStage,
    /// A checklist item of a stage.
    ChecklistItem,
    /// A deal.
    Deal,
    /// A mystery-check criterion.
    MysteryCriterion,
    /// A mystery-check round.
    MysteryRound,
    /// A mystery check (one sampled deal).
    MysteryCheck,
    /// A sales territory.
    Territory,
    /// A member's assignment to a territory.
    TerritoryAssignment,
    /// A quota.
    Quota,
    /// An incentive plan.
    IncentivePlan,
    /// A member's assignment to an incentive plan.
    PlanAssignment,
    /// A payout statement (one version).
    Statement,
    /// A line of a payout statement.
    StatementLine,
    /// A dispute of a statement line.
    Dispute,
    /// An audit-log entry.
    AuditEntry,
    /// An API key.
    ApiKey,
    /// A webhook.
    Webhook,
    /// A webhook delivery.
    WebhookDelivery,
}

impl NodeKind {
    /// The GraphQL type name.
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Organization => "Organization",
            NodeKind::Team => "Team",
            NodeKind::Member => "Member",
            NodeKind::ActivityType => "ActivityType",
            NodeKind::Activity => "Activity",
            NodeKind::Campaign => "Campaign",
            NodeKind::PipelineStage => "PipelineStage",
            NodeKind::ChecklistItem => "ChecklistItem",
            NodeKind::Deal => "Deal",
            NodeKind::MysteryCriterion => "MysteryCriterion",
            NodeKind::MysteryRound => "MysteryRound",
            NodeKind::MysteryCheck => "MysteryCheck",
            NodeKind::Territory => "Territory",
            NodeKind::TerritoryAssignment => "TerritoryAssignment",
            NodeKind::Quota => "Quota",
            NodeKind::IncentivePlan => "IncentivePlan",
            NodeKind::PlanAssignment => "PlanAssignment",
            NodeKind::Statement => "Statement",
            NodeKind::StatementLine => "StatementLine",
            NodeKind::Dispute => "Dispute",
            NodeKind::AuditEntry => "AuditEntry",
            NodeKind::ApiKey => "ApiKey",
            NodeKind::Webhook => "Webhook",
            NodeKind::WebhookDelivery => "WebhookDelivery",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Organization" => NodeKind::Organization,
            "Team" => NodeKind::Team,
            "Member" => NodeKind::Member,
            "ActivityType" => NodeKind::ActivityType,
            "Activity" => NodeKind::Activity,
            "Campaign" => NodeKind::Campaign,
            "PipelineStage" => NodeKind::PipelineStage,
            "ChecklistItem" => NodeKind::ChecklistItem,
            "Deal" => NodeKind::Deal,
            "MysteryCriterion" => NodeKind::MysteryCriterion,
            "MysteryRound" => NodeKind::MysteryRound,
            "MysteryCheck" => NodeKind::MysteryCheck,
            "Territory" => NodeKind::Territory,
            "TerritoryAssignment" => NodeKind::TerritoryAssignment,
            "Quota" => NodeKind::Quota,
            "IncentivePlan" => NodeKind::IncentivePlan,
            "PlanAssignment" => NodeKind::PlanAssignment,
            "Statement" => NodeKind::Statement,
            "StatementLine" => NodeKind::StatementLine,
            "Dispute" => NodeKind::Dispute,
            "AuditEntry" => NodeKind::AuditEntry,
            "ApiKey" => NodeKind::ApiKey,
            "Webhook" => NodeKind::Webhook,
            "WebhookDelivery" => NodeKind::WebhookDelivery,
            _ => return None,
        })
    }
}

/// The global ID of an object: base64url of `Type:uuid`.
pub fn global_id(kind: NodeKind, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{}", kind.name(), id)))
}

/// Decodes any global ID. Malformed input is BAD_USER_INPUT.
pub fn decode_global_id(id: &ID) -> AppResult<(NodeKind, Uuid)> {
    let bad = || AppError::bad_input(format!("'{}' is not a valid ID", truncate(id.as_str(), 64)));
    if id.len() > 128 {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(id.as_str()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (kind, uuid) = text.split_once(':').ok_or_else(bad)?;
    let kind = NodeKind::parse(kind).ok_or_else(bad)?;
    let uuid = Uuid::parse_str(uuid).map_err(|_| bad())?;
    Ok((kind, uuid))
}

/// Decodes a global ID that must be of one type (an argument such as `teamId`).
pub fn decode_id(id: &ID, expected: NodeKind) -> AppResult<Uuid> {
    let (kind, uuid) = decode_global_id(id)?;
    if kind != expected {
        return Err(AppError::bad_input(format!("expected a {} ID, got a {} ID", expected.name(), kind.name())));
    }
    Ok(uuid)
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Default page size.
pub const DEFAULT_PAGE: usize = 50;
/// Largest page size.
pub const MAX_PAGE: usize = 200;

/// Complexity of a connection field: its page size (`first` or `last`, default 50, at most
/// 200) times what is selected per item, so a page costs what it loads.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let page = first.or(last).unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize;
    1 + page * child_complexity
}

/// The Relay arguments of a connection field.
#[derive(Debug, Default, Clone)]
pub struct PageArgs {
    /// `after` cursor.
    pub after: Option<String>,
    /// `before` cursor.
    pub before: Option<String>,
    /// `first` count.
    pub first: Option<i32>,
    /// `last` count.
    pub last: Option<i32>,
}

/// The slice of a list a page covers: rows `start..end` of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First row (0-based).
    pub start: u64,
    /// One past the last row.
    pub end: u64,
    /// Rows in the whole list.
    pub total: u64,
}

impl Window {
    /// Rows in the page.
    pub fn limit(&self) -> u64 {
        self.end - self.start
    }
}

pub(crate) fn encode_cursor(position: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("cursor:{position}"))
}

pub(crate) fn decode_cursor(cursor: &str) -> AppResult<u64> {
    let bad = || AppError::bad_input("invalid cursor");
    if cursor.len() > 64 {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("cursor:").and_then(|n| n.parse::<u64>().ok()).ok_or_else(bad)
}

fn check_count(name: &str, value: Option<i32>) -> AppResult<Option<u64>> {
    match value {
        None => Ok(None),
        Some(n) if (1..=MAX_PAGE as i32).contains(&n) => Ok(Some(n as u64)),
        Some(n) => Err(AppError::bad_input(format!("'{name}' must be between 1 and {MAX_PAGE}, got {n}"))),
    }
}

impl PageArgs {
    /// Validates the arguments (bounds, cursors) without knowing the total.
    pub fn validate(&self) -> AppResult<()> {
        check_count("first", self.first)?;
        check_count("last", self.last)?;
        if let Some(c) = &self.after {
            decode_cursor(c)?;
        }
        if let Some(c) = &self.before {
            decode_cursor(c)?;
        }
        Ok(())
    }

    /// The rows to fetch, given how many match.
    pub fn window(&self, total: u64) -> AppResult<Window> {
        let first = check_count("first", self.first)?;
        let last = check_count("last", self.last)?;
        let mut start = match &self.after {
            Some(c) => decode_cursor(c)?.saturating_add(1).min(total),
            None => 0,
        };
        let mut end = match &self.before {
            Some(c) => decode_cursor(c)?.min(total),
            None => total,
        };
        if end < start {
            end = start;
        }
        match (first, last) {
            (Some(f), _) => end = end.min(start + f),
            (None, Some(l)) => start = start.max(end.saturating_sub(l)),
            (None, None) => end = end.min(start + DEFAULT_PAGE as u64),
        }
        if let (Some(_), Some(l)) = (first, last) {
            start = start.max(end.saturating_sub(l));
        }
        Ok(Window { start, end, total })
    }
}

/// A page of a list, Relay style. Every list type instantiates it once, by name, below.
#[derive(SimpleObject)]
#[graphql(
    concrete(name = "TeamConnection", params(crate::org::graphql::Team)),
    concrete(name = "MemberConnection", params(crate::org::graphql::Member)),
    concrete(name = "ActivityTypeConnection", params(crate::scoring::graphql::ActivityType)),
    concrete(name = "ActivityConnection", params(crate::scoring::graphql::Activity)),
    concrete(name = "CampaignConnection", params(crate::scoring::graphql::Campaign)),
    concrete(name = "DealConnection", params(crate::pipeline::graphql::Deal)),
    concrete(name = "AuditEntryConnection", params(crate::audit::graphql::AuditEntry)),
    concrete(name = "TerritoryConnection", params(crate::territory::graphql::Territory)),
    concrete(name = "QuotaConnection", params(crate::quota::graphql::Quota)),
    concrete(name = "StatementConnection", params(crate::incentive::graphql::Statement))
)]
pub struct Conn<T: async_graphql::OutputType> {
    /// The items of this page, each with the cursor to continue from it.
    pub edges: Vec<Edge<String, T, EmptyFields>>,
    /// Where this page lies in the whole list.
    pub page_info: PageInfo,
    /// How many items match, across all pages.
    pub total_count: u64,
}

/// Builds a connection from one page of rows.
pub fn connection<T: async_graphql::OutputType>(window: Window, rows: Vec<T>) -> Conn<T> {
    let edges: Vec<Edge<String, T, EmptyFields>> =
        rows.into_iter().enumerate().map(|(i, node)| Edge::new(encode_cursor(window.start + i as u64), node)).collect();
    Conn {
        page_info: PageInfo {
            has_previous_page: window.start > 0,
            has_next_page: window.end < window.total,
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        },
        edges,
        total_count: window.total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(first: Option<i32>, after: Option<u64>, last: Option<i32>, before: Option<u64>) -> PageArgs {
        PageArgs { first, last, after: after.map(encode_cursor), before: before.map(encode_cursor) }
    }

    #[test]
    fn ids_round_trip_and_refuse_garbage() {
        let u = Uuid::now_v7();
        let id = global_id(NodeKind::Team, u);
        assert_eq!(decode_global_id(&id).ok(), Some((NodeKind::Team, u)));
        assert_eq!(decode_id(&id, NodeKind::Team).ok(), Some(u));
        assert_eq!(decode_id(&id, NodeKind::Member).map_err(|e| e.code()), Err("BAD_USER_INPUT"));
        for bad in [
            "",
            "!!!",
            "VGVhbTo",
            &URL_SAFE_NO_PAD.encode("Team:not-a-uuid"),
            &URL_SAFE_NO_PAD.encode(format!("Widget:{u}")),
            &"A".repeat(500),
            &URL_SAFE_NO_PAD.encode([0xff, 0xfe]),
        ] {
            assert_eq!(decode_global_id(&ID(bad.to_string())).map_err(|e| e.code()), Err("BAD_USER_INPUT"), "{bad}");
        }
    }

    #[test]
    fn default_first_last_and_bounds() {
        assert_eq!(args(None, None, None, None).window(120).ok(), Some(Window { start: 0, end: 50, total: 120 }));
        assert_eq!(args(Some(10), None, None, None).window(120).ok(), Some(Window { start: 0, end: 10, total: 120 }));
        assert_eq!(
            args(Some(10), Some(9), None, None).window(120).ok(),
            Some(Window { start: 10, end: 20, total: 120 })
        );
        assert_eq!(args(None, None, Some(5), None).window(120).ok(), Some(Window { start: 115, end: 120, total: 120 }));
        assert_eq!(
            args(None, None, Some(5), Some(10)).window(120).ok(),
            Some(Window { start: 5, end: 10, total: 120 })
        );
        assert_eq!(args(Some(200), None, None, None).window(3).ok(), Some(Window { start: 0, end: 3, total: 3 }));
        assert_eq!(args(Some(10), Some(500), None, None).window(3).ok(), Some(Window { start: 3, end: 3, total: 3 }));
        assert_eq!(args(None, None, None, None).window(0).ok(), Some(Window { start: 0, end: 0, total: 0 }));
        for bad in [Some(0), Some(-1), Some(201), Some(1_000_000)] {
            assert!(args(bad, None, None, None).window(10).is_err());
            assert!(args(None, None, bad, None).window(10).is_err());
            assert!(args(bad, None, None, None).validate().is_err());
        }
    }

    #[test]
    fn cursors_refuse_garbage() {
        let p = PageArgs { after: Some("nope".into()), ..Default::default() };
        assert!(p.window(10).is_err());
        assert!(p.validate().is_err());
        let p = PageArgs { before: Some(URL_SAFE_NO_PAD.encode("cursor:-1")), ..Default::default() };
        assert!(p.window(10).is_err());
        assert_eq!(decode_cursor(&encode_cursor(42)).ok(), Some(42));
    }

    #[test]
    fn pages_cover_the_list_exactly_once() {
        let total = 137u64;
        let mut seen = Vec::new();
        let mut after: Option<u64> = None;
        loop {
            let w = args(Some(20), after, None, None).window(total).expect("window");
            if w.limit() == 0 {
                break;
            }
            seen.extend(w.start..w.end);
            after = Some(w.end - 1);
            if w.end == total {
                break;
            }
        }
        assert_eq!(seen, (0..total).collect::<Vec<_>>());
    }
}
