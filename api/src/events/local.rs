//! This process's end of the bus and the counters it keeps: the membership epoch and the
//! organizations' data versions.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::broadcast;

use uuid::Uuid;

use super::event::Event;
use crate::core::ids::OrgId;

/// This process's end of the bus: the broadcast channel, the membership epoch (a counter
/// raised before every event that [changes membership](Event::changes_membership) is delivered,
/// published here or received from another instance) and the organizations' data versions.
#[derive(Clone, Debug)]
pub(crate) struct Local {
    pub(super) sender: broadcast::Sender<Event>,
    pub(super) epoch: Arc<AtomicU64>,
    pub(super) changes: Arc<tokio::sync::watch::Sender<MembershipChange>>,
    pub(super) versions: DataVersions,
    pub(super) membership_versions: DataVersions,
    pub(super) view_versions: ViewVersions,
}

/// The latest event that [changed membership](Event::changes_membership), with the epoch it
/// raised: what open WebSocket connections watch to check their principal again, without
/// waking for every other event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MembershipChange {
    /// The membership epoch after the change.
    pub epoch: u64,
    /// Its organization; `None` for [`Event::Resync`] (any organization).
    pub org: Option<OrgId>,
}

impl MembershipChange {
    /// Whether a watcher of `org` that last saw epoch `seen` must check again: the change is
    /// its organization's (or any), or changes were skipped in between (a watch keeps only
    /// the latest, so a skipped one may have been its organization's).
    pub fn concerns(&self, org: OrgId, seen: u64) -> bool {
        self.epoch > seen.saturating_add(1) || self.org.is_none_or(|o| o == org)
    }
}

impl Local {
    /// Delivers to this process's subscribers (none is not an error).
    pub(crate) fn send(&self, event: Event) {
        if event.changes_membership() {
            let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
            let org = (!matches!(event, Event::Resync)).then(|| event.org());
            self.changes.send_replace(MembershipChange { epoch, org });
            match org {
                Some(org) => self.membership_versions.bump(org),
                None => self.membership_versions.bump_all(),
            }
        }
        match &event {
            Event::Resync => self.versions.bump_all(),
            other => self.versions.bump(other.org()),
        }
        self.view_versions.note(&event);
        let _ = self.sender.send(event);
    }
}

/// Slots of [`DataVersions`]: organizations sharing a slot invalidate each other's cached
/// answers, nothing worse.
const VERSION_SLOTS: usize = 1024;

/// Per-organization change counters: a counter moves whenever an event of its organization
/// reaches this process (before subscribers see it) and again when the in-memory state derived
/// from events (the hot rankings) has caught up. Something computed from an organization's
/// data after reading its version is current while the version has not moved.
///
/// Organizations are hashed onto a fixed number of counters, so memory does not grow with
/// tenants; a shared counter only makes an answer expire early.
#[derive(Clone, Debug)]
pub struct DataVersions {
    slots: Arc<[AtomicU64]>,
}

impl Default for DataVersions {
    fn default() -> Self {
        DataVersions { slots: (0..VERSION_SLOTS).map(|_| AtomicU64::new(0)).collect() }
    }
}

impl DataVersions {
    fn slot(&self, id: Uuid) -> &AtomicU64 {
        // The low bits of a UUID (v4 or v7) are random.
        &self.slots[(id.as_u128() as usize) % self.slots.len()]
    }

    /// The organization's current version: read it before computing from its data.
    pub fn get(&self, org: OrgId) -> u64 {
        self.slot(org.0).load(Ordering::SeqCst)
    }

    /// Marks the organization's data as changed.
    pub fn bump(&self, org: OrgId) {
        self.slot(org.0).fetch_add(1, Ordering::SeqCst);
    }

    /// Marks every organization's data as changed.
    pub fn bump_all(&self) {
        for slot in self.slots.iter() {
            slot.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// The counters that views computed from an organization's data follow (see
/// `cache::DerivedViews`): one per organization, moved by every event but an activity's score
/// change and a raised alert (neither changes anything but activity totals); and one per team,
/// moved by a score change of a member of that team. A score change of a member in no team
/// moves the organization's counter. A view of some teams is current while its organization's
/// counter and the counters of those teams have not moved, so a rep logging a call leaves the
/// other teams' scoreboards and every forecast alone.
#[derive(Clone, Debug, Default)]
pub(crate) struct ViewVersions {
    organizations: DataVersions,
    teams: DataVersions,
}

impl ViewVersions {
    /// Moves the counters `event` moves.
    fn note(&self, event: &Event) {
        match event {
            Event::Resync => {
                self.organizations.bump_all();
                self.teams.bump_all();
            }
            Event::ScoreChanged { team: Some(team), .. } => {
                self.teams.slot(*team).fetch_add(1, Ordering::SeqCst);
            }
            Event::AlertRaised { .. } => {}
            other => self.organizations.bump(other.org()),
        }
    }

    /// The version of a view of `org` whose activity totals are those of `teams`: read it
    /// before computing the view.
    pub(crate) fn get(&self, org: OrgId, teams: &[Uuid]) -> (u64, u64) {
        let activity = teams.iter().fold(0u64, |sum, t| sum.wrapping_add(self.teams.slot(*t).load(Ordering::SeqCst)));
        (self.organizations.get(org), activity)
    }
}
