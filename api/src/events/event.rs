//! The events: what changed, with IDs only.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::core::ids::OrgId;

/// Something that changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    /// An organization's settings or branding changed.
    OrganizationChanged {
        /// The tenant.
        org: Uuid,
    },
    /// A member's score moved: an activity was logged or voided.
    ScoreChanged {
        /// The tenant.
        org: Uuid,
        /// Whose score.
        member: Uuid,
        /// The member's team (for team-scoped subscribers).
        team: Option<Uuid>,
        /// The activity logged or voided.
        activity: Uuid,
        /// Points added (negative for a void), in hundredths.
        points_delta_cents: i64,
        /// The local day the points count on (cached past boards containing it are dropped);
        /// `None` drops every cached past board of the organization.
        #[serde(default)]
        day: Option<chrono::NaiveDate>,
        /// Set by the instance that made the change, which has already re-read the member's
        /// totals into its rankings before publishing: its own rankings need no second read.
        /// Never sent to other instances (they re-read).
        #[serde(skip)]
        ranked: bool,
    },
    /// A deal was created or changed (fields, stage, checklist, outcome).
    DealChanged {
        /// The tenant.
        org: Uuid,
        /// The deal.
        deal: Uuid,
        /// Its owner's team (for team-scoped subscribers).
        team: Option<Uuid>,
    },
    /// A pattern alert was raised.
    AlertRaised {
        /// The tenant.
        org: Uuid,
        /// The alert.
        alert: Uuid,
        /// The member's team (alerts go to the member's managers).
        team: Option<Uuid>,
    },
    /// A forecast was submitted or adjusted.
    ForecastChanged {
        /// The tenant.
        org: Uuid,
        /// The team the numbers belong to (a member's team, or the team itself).
        team: Option<Uuid>,
        /// Whose numbers: a member or a team.
        subject: Uuid,
    },
    /// Who is ranked, or against which targets, changed: members added, edited, moved,
    /// (de)activated; teams moved; targets set.
    MembersChanged {
        /// The tenant.
        org: Uuid,
    },
    /// An organization's scoring rules changed: an activity type, a campaign or a webhook was
    /// created or changed. Instances drop what they remember of them (`scoring::cache`).
    RulesChanged {
        /// The tenant.
        org: Uuid,
    },
    /// Who may act changed without a member changing: an API key was revoked. Open WebSocket
    /// connections check their principal again (`ws`).
    AccessChanged {
        /// The tenant.
        org: Uuid,
    },
    /// Data that only computed views read changed, with no other event to name it: a KPI's
    /// definition, a KPI target, self-reported KPI values, a quota, or deals imported in bulk.
    /// Views computed from the organization's data (the KPI scoreboard, the forecast tree) are
    /// computed again; nothing is pushed to subscribers.
    DataChanged {
        /// The tenant.
        org: Uuid,
    },
    /// This instance may have missed events (its connection to the other instances was
    /// interrupted): subscribers should reload their state. Belongs to no tenant.
    Resync,
}

impl Event {
    /// The tenant the event belongs to; the nil ID (no organization's) for [`Event::Resync`].
    pub fn org(&self) -> OrgId {
        match self {
            Event::OrganizationChanged { org }
            | Event::ScoreChanged { org, .. }
            | Event::MembersChanged { org }
            | Event::RulesChanged { org }
            | Event::AccessChanged { org }
            | Event::DataChanged { org }
            | Event::DealChanged { org, .. }
            | Event::AlertRaised { org, .. }
            | Event::ForecastChanged { org, .. } => OrgId(*org),
            Event::Resync => OrgId(Uuid::nil()),
        }
    }

    /// Whether a subscriber of `org` should react: the event is that tenant's, or a [`Event::Resync`].
    pub fn concerns(&self, org: OrgId) -> bool {
        matches!(self, Event::Resync) || self.org() == org
    }

    /// Whether what authentication or logging loads (a member's role, team, active flag, the
    /// organization a token names, its activity types, campaigns and webhooks) may have
    /// changed: cached copies are then stale.
    pub fn changes_membership(&self) -> bool {
        matches!(
            self,
            Event::MembersChanged { .. }
                | Event::OrganizationChanged { .. }
                | Event::RulesChanged { .. }
                | Event::AccessChanged { .. }
                | Event::Resync
        )
    }
}
