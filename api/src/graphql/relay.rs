//! Relay conventions: opaque global IDs, cursor pagination with enforced bounds, and
//! connections with `totalCount`.

use std::sync::Arc;

use async_graphql::ID;
use async_graphql::connection::PageInfo;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use super::keyset::Page;
pub use super::page::{DEFAULT_PAGE, MAX_PAGE, PageArgs};
use crate::core::error::{AppError, AppResult};

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
    /// A pattern alert rule.
    AlertRule,
    /// A raised alert.
    Alert,
    /// A consulting firm's staff member (not a node of any organization: `node` answers null).
    FirmStaff,
    /// A consulting firm (not a node of any organization: `node` answers null).
    Firm,
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
            NodeKind::AlertRule => "AlertRule",
            NodeKind::Alert => "Alert",
            NodeKind::FirmStaff => "FirmStaffMember",
            NodeKind::Firm => "Firm",
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
            "AlertRule" => NodeKind::AlertRule,
            "Alert" => NodeKind::Alert,
            "FirmStaffMember" => NodeKind::FirmStaff,
            "Firm" => NodeKind::Firm,
            _ => return None,
        })
    }
}

/// The global ID of an object: base64url of `Type:uuid`.
pub fn global_id(kind: NodeKind, id: Uuid) -> ID {
    // "Kind:uuid" assembled on the stack: every ID of every answer passes here.
    let name = kind.name().as_bytes();
    let mut raw = [0u8; 128];
    let end = name.len() + 1 + uuid::fmt::Hyphenated::LENGTH;
    raw[..name.len()].copy_from_slice(name);
    raw[name.len()] = b':';
    id.hyphenated().encode_lower(&mut raw[name.len() + 1..end]);
    ID(URL_SAFE_NO_PAD.encode(&raw[..end]))
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

/// The page size a connection is priced with: `first` or `last`, default 50, at most 200.
pub fn priced_page(first: Option<i32>, last: Option<i32>) -> usize {
    first.or(last).unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize
}

/// Complexity of a connection field at `field`: its page size times what is selected per item,
/// so a page costs what it loads. The selection's cost is noted for the actual cost (see
/// [`super::cost`]).
pub fn page_cost(
    field: &async_graphql::parser::types::Field,
    first: Option<i32>,
    last: Option<i32>,
    child_complexity: usize,
) -> usize {
    super::cost::note_selection(field, child_complexity);
    1 + priced_page(first, last) * child_complexity
}

/// One page of a connection, ready for the connection type its domain declared with
/// [`connection_type!`](crate::connection_type).
pub struct ConnectionData<T> {
    /// The items and their cursors.
    pub edges: Vec<(String, Arc<T>)>,
    /// Where this page lies in the whole list.
    pub page_info: PageInfo,
    /// How many items match, across all pages (`None`: not counted, as not asked).
    pub total_count: Option<u64>,
}

/// Builds a connection from a page, converting each row, and gives back to the caller's budget
/// what the page did not use (a short page costs what it returned).
pub fn connection<M, T>(ctx: &async_graphql::Context<'_>, page: Page<M>, f: impl Fn(M) -> T) -> ConnectionData<T> {
    super::cost::unused_items(ctx, page.page_size.saturating_sub(page.rows.len()));
    let edges: Vec<(String, Arc<T>)> = page.rows.into_iter().map(|(c, m)| (c, Arc::new(f(m)))).collect();
    ConnectionData {
        page_info: PageInfo {
            has_previous_page: page.has_previous_page,
            has_next_page: page.has_next_page,
            start_cursor: edges.first().map(|e| e.0.clone()),
            end_cursor: edges.last().map(|e| e.0.clone()),
        },
        edges,
        total_count: page.total_count,
    }
}

/// Declares a connection type and its edge type for one node type, Relay style, with `edges`,
/// a `nodes` shortcut, `pageInfo` and `totalCount`:
/// `connection_type!(TeamConnection, TeamEdge, Team, "teams");`
///
/// With `projected` last, the node type implements
/// [`ProjectPage`](crate::graphql::projection::ProjectPage) and a page's `nodes` and `edges`
/// are answered by projection where the selection allows.
#[macro_export]
macro_rules! connection_type {
    ($conn:ident, $edge:ident, $node:ty, $what:literal) => {
        $crate::connection_type!(@declare $conn, $edge, $node, $what, {
            /// The items of this page, each with the cursor to continue from it.
            async fn edges(&self) -> Vec<$edge> {
                self.0.edges.iter().map(|(c, n)| $edge { cursor: c.clone(), node: n.clone() }).collect()
            }
            /// The items of this page without cursors (the same as `edges { node }`).
            async fn nodes(&self) -> Vec<std::sync::Arc<$node>> {
                self.0.edges.iter().map(|(_, n)| n.clone()).collect()
            }
        });
    };
    ($conn:ident, $edge:ident, $node:ty, $what:literal, projected) => {
        $crate::connection_type!(@declare $conn, $edge, $node, $what, {
            /// The items of this page, each with the cursor to continue from it.
            async fn edges(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<$crate::graphql::projection::Projected<$crate::graphql::projection::EdgeInPage<'_, $edge>>> {
                $crate::graphql::projection::page_edges(ctx, &self.0.edges).await
            }
            /// The items of this page without cursors (the same as `edges { node }`).
            async fn nodes(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<$crate::graphql::projection::Projected<$crate::graphql::projection::InPage<'_, $node>>> {
                $crate::graphql::projection::page_nodes(ctx, &self.0.edges).await
            }
        });

        impl $crate::graphql::projection::PageEdge for $edge {
            const TYPE: &'static str = stringify!($edge);
            type Node = $node;
            fn new(cursor: String, node: std::sync::Arc<$node>) -> Self {
                $edge { cursor, node }
            }
        }
    };
    (@declare $conn:ident, $edge:ident, $node:ty, $what:literal, { $($items:tt)* }) => {
        #[doc = concat!("A page of ", $what, ", Relay style.")]
        pub struct $conn(pub $crate::graphql::relay::ConnectionData<$node>);

        #[doc = concat!("A page of ", $what, ", Relay style.")]
        #[async_graphql::Object]
        impl $conn {
            $($items)*
            /// Where this page lies in the whole list.
            async fn page_info(&self) -> &async_graphql::connection::PageInfo {
                &self.0.page_info
            }
            /// How many items match, across all pages.
            async fn total_count(&self) -> async_graphql::Result<u64> {
                // Counted only when the operation asks it (`PageArgs::asked`); never a guess.
                self.0.total_count.ok_or_else(|| {
                    $crate::core::error::AppError::Internal(anyhow::anyhow!("a connection's total was not counted"))
                        .into()
                })
            }
        }

        impl From<$crate::graphql::relay::ConnectionData<$node>> for $conn {
            fn from(data: $crate::graphql::relay::ConnectionData<$node>) -> Self {
                $conn(data)
            }
        }

        #[doc = concat!("One of ", $what, " in a page, with its cursor.")]
        #[derive(async_graphql::SimpleObject)]
        pub struct $edge {
            /// Pass it as `after` or `before` to continue from this item.
            pub cursor: String,
            /// The item.
            pub node: std::sync::Arc<$node>,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_refuse_garbage() {
        let u = Uuid::now_v7();
        for kind in [NodeKind::Organization, NodeKind::Team, NodeKind::Member, NodeKind::TerritoryAssignment] {
            assert_eq!(global_id(kind, u).0, URL_SAFE_NO_PAD.encode(format!("{}:{u}", kind.name())));
        }
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
}
