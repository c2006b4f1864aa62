//! The roles a member holds: what they may do (`Role`) and what they sell (`SalesRole`).

use async_graphql::Enum;

/// What a member may do in their organization (DESIGN.md §4).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The whole organization, including configuration.
    Admin,
    /// Their team and its sub-teams.
    Manager,
    /// Their own records; reads their team's scoreboard.
    Rep,
    /// Read-only.
    Viewer,
}

impl Role {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::Manager => "MANAGER",
            Role::Rep => "REP",
            Role::Viewer => "VIEWER",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ADMIN" => Role::Admin,
            "MANAGER" => Role::Manager,
            "REP" => Role::Rep,
            "VIEWER" => Role::Viewer,
            _ => return None,
        })
    }
}

/// The part a member plays in the sales process.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SalesRole {
    /// Follows up incoming leads.
    Inbound,
    /// Approaches cold leads.
    Outbound,
    /// Runs sales conversations and negotiations.
    Closer,
    /// Leads a team.
    Manager,
}

impl SalesRole {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            SalesRole::Inbound => "INBOUND",
            SalesRole::Outbound => "OUTBOUND",
            SalesRole::Closer => "CLOSER",
            SalesRole::Manager => "MANAGER",
        }
    }

    /// Parses the stored form; unknown values are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "INBOUND" => SalesRole::Inbound,
            "OUTBOUND" => SalesRole::Outbound,
            "CLOSER" => SalesRole::Closer,
            "MANAGER" => SalesRole::Manager,
            _ => return None,
        })
    }
}
