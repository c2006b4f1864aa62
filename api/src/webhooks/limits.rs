//! How many webhook requests may be in flight (overall, per organization, per host) and when a
//! failing webhook is paused. Pure bookkeeping for the dispatcher; no I/O.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// The longest pause of a failing webhook, however often it failed.
pub const MAX_COOLOFF_MS: u64 = 3_600_000;

/// Requests in flight allowed at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Over everything.
    pub total: usize,
    /// Per organization.
    pub per_organization: usize,
    /// Per host and port.
    pub per_host: usize,
}

/// What one request in flight occupies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The delivery's organization.
    pub organization: Uuid,
    /// The receiver's `host:port`.
    pub host: String,
    /// The webhook.
    pub webhook: Uuid,
}

/// Why a request cannot start now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Busy {
    /// Every slot is taken.
    Full,
    /// The organization has its share in flight.
    Organization,
    /// The host has its share in flight.
    Host,
}

/// Requests in flight, counted by organization, host and webhook.
#[derive(Debug, Default)]
pub struct Slots {
    total: usize,
    organizations: HashMap<Uuid, usize>,
    hosts: HashMap<String, usize>,
    /// Per webhook: its host and how many of its requests are in flight.
    webhooks: HashMap<Uuid, (String, usize)>,
}

fn count<K: std::hash::Hash + Eq>(map: &HashMap<K, usize>, key: &K) -> usize {
    map.get(key).copied().unwrap_or(0)
}

fn decrement<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl Slots {
    /// Whether nothing more may start.
    pub fn full(&self, limits: &Limits) -> bool {
        self.total >= limits.total
    }

    /// Takes a slot when every limit allows it.
    pub fn try_take(&mut self, limits: &Limits, slot: &Slot) -> Result<(), Busy> {
        if self.full(limits) {
            return Err(Busy::Full);
        }
        if count(&self.organizations, &slot.organization) >= limits.per_organization {
            return Err(Busy::Organization);
        }
        if count(&self.hosts, &slot.host) >= limits.per_host {
            return Err(Busy::Host);
        }
        self.total += 1;
        *self.organizations.entry(slot.organization).or_default() += 1;
        *self.hosts.entry(slot.host.clone()).or_default() += 1;
        self.webhooks.entry(slot.webhook).or_insert_with(|| (slot.host.clone(), 0)).1 += 1;
        Ok(())
    }

    /// Gives a slot back.
    pub fn release(&mut self, slot: &Slot) {
        self.total = self.total.saturating_sub(1);
        decrement(&mut self.organizations, &slot.organization);
        decrement(&mut self.hosts, &slot.host);
        if let Some((_, n)) = self.webhooks.get_mut(&slot.webhook) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.webhooks.remove(&slot.webhook);
            }
        }
    }

    /// Requests of a webhook in flight.
    pub fn in_flight(&self, webhook: Uuid) -> usize {
        self.webhooks.get(&webhook).map_or(0, |(_, n)| *n)
    }

    /// Organizations that have their share in flight (not worth fetching deliveries for).
    pub fn saturated_organizations(&self, limits: &Limits) -> Vec<Uuid> {
        self.organizations.iter().filter(|(_, n)| **n >= limits.per_organization).map(|(o, _)| *o).collect()
    }

    /// Webhooks in flight whose host has its share in flight.
    pub fn webhooks_at_saturated_hosts(&self, limits: &Limits) -> Vec<Uuid> {
        self.webhooks
            .iter()
            .filter(|(_, (host, _))| count(&self.hosts, host) >= limits.per_host)
            .map(|(w, _)| *w)
            .collect()
    }
}

/// Whether a webhook may be sent to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CircuitState {
    /// Normally.
    Closed,
    /// Not before this time; its deliveries wait.
    Paused(DateTime<Utc>),
    /// The pause is over: one request at a time until one succeeds.
    Probing,
}

/// A webhook's run of failures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Circuit {
    consecutive_failures: u32,
    pauses_in_a_row: u32,
    paused_until: Option<DateTime<Utc>>,
}

/// The pause after the `pauses_in_a_row`-th trip (1-based): base, 2×base, 4×base, … up to an hour.
pub fn cooloff_ms(pauses_in_a_row: u32, base_ms: u64) -> u64 {
    let doublings = pauses_in_a_row.clamp(1, 40) - 1;
    base_ms.saturating_mul(1u64 << doublings.min(32)).min(MAX_COOLOFF_MS)
}

impl Circuit {
    /// The state at `now` for a threshold of `failures_to_pause`.
    pub fn state(&self, now: DateTime<Utc>, failures_to_pause: u32) -> CircuitState {
        match self.paused_until {
            Some(until) if until > now => CircuitState::Paused(until),
            _ if self.consecutive_failures >= failures_to_pause => CircuitState::Probing,
            _ => CircuitState::Closed,
        }
    }

    /// A request succeeded: the run is over.
    pub fn succeeded(&mut self) {
        *self = Circuit::default();
    }

    /// Whether the webhook has no failures on record (nothing worth keeping).
    pub fn is_clear(&self) -> bool {
        *self == Circuit::default()
    }

    /// A request failed at `now`; returns the end of the pause when this failure starts one.
    /// Failures of requests that were in flight when the pause began do not lengthen it.
    pub fn failed(&mut self, now: DateTime<Utc>, failures_to_pause: u32, base_ms: u64) -> Option<DateTime<Utc>> {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        if matches!(self.state(now, failures_to_pause), CircuitState::Paused(_))
            || self.consecutive_failures < failures_to_pause
        {
            return None;
        }
        self.pauses_in_a_row = self.pauses_in_a_row.saturating_add(1);
        let ms = cooloff_ms(self.pauses_in_a_row, base_ms);
        let until = now + Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX / 2));
        self.paused_until = Some(until);
        Some(until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { total: 5, per_organization: 3, per_host: 2 };

    fn slot(org: u128, host: &str, webhook: u128) -> Slot {
        Slot { organization: Uuid::from_u128(org), host: host.to_owned(), webhook: Uuid::from_u128(webhook) }
    }

    #[test]
    fn each_limit_holds_and_released_slots_are_reusable() {
        let mut s = Slots::default();
        assert_eq!(s.try_take(&LIMITS, &slot(1, "a:443", 10)), Ok(()));
        assert_eq!(s.try_take(&LIMITS, &slot(1, "a:443", 10)), Ok(()));
        assert_eq!(s.try_take(&LIMITS, &slot(2, "a:443", 20)), Err(Busy::Host), "two to a:443 already");
        assert_eq!(s.webhooks_at_saturated_hosts(&LIMITS), vec![Uuid::from_u128(10)]);
        assert_eq!(s.try_take(&LIMITS, &slot(1, "b:443", 11)), Ok(()));
        assert_eq!(s.try_take(&LIMITS, &slot(1, "c:443", 12)), Err(Busy::Organization), "three of org 1");
        assert_eq!(s.saturated_organizations(&LIMITS), vec![Uuid::from_u128(1)]);
        assert_eq!(s.try_take(&LIMITS, &slot(2, "c:443", 20)), Ok(()));
        assert_eq!(s.try_take(&LIMITS, &slot(3, "d:443", 30)), Ok(()));
        assert!(s.full(&LIMITS));
        assert_eq!(s.try_take(&LIMITS, &slot(4, "e:443", 40)), Err(Busy::Full));
        assert_eq!(s.in_flight(Uuid::from_u128(10)), 2);
        s.release(&slot(1, "a:443", 10));
        assert_eq!(s.in_flight(Uuid::from_u128(10)), 1);
        assert!(s.saturated_organizations(&LIMITS).is_empty());
        assert!(s.webhooks_at_saturated_hosts(&LIMITS).is_empty());
        assert_eq!(s.try_take(&LIMITS, &slot(2, "a:443", 20)), Ok(()));
        for sl in [
            slot(1, "a:443", 10),
            slot(1, "b:443", 11),
            slot(2, "c:443", 20),
            slot(3, "d:443", 30),
            slot(2, "a:443", 20),
        ] {
            s.release(&sl);
        }
        assert_eq!((s.total, s.organizations.len(), s.hosts.len(), s.webhooks.len()), (0, 0, 0, 0), "{s:?}");
    }

    #[test]
    fn a_run_of_failures_pauses_with_growing_cooloffs_and_a_success_ends_it() {
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap_or_default();
        let at = |ms: i64| t0 + Duration::milliseconds(ms);
        let mut c = Circuit::default();
        for _ in 0..2 {
            assert_eq!(c.failed(t0, 3, 1_000), None);
            assert_eq!(c.state(t0, 3), CircuitState::Closed);
        }
        assert_eq!(c.failed(t0, 3, 1_000), Some(at(1_000)), "the third failure in a row pauses");
        assert_eq!(c.state(at(999), 3), CircuitState::Paused(at(1_000)));
        assert_eq!(c.failed(at(10), 3, 1_000), None, "a request in flight failing does not lengthen it");
        assert_eq!(c.state(at(1_000), 3), CircuitState::Probing);
        assert_eq!(c.failed(at(1_000), 3, 1_000), Some(at(3_000)), "a failed probe pauses twice as long");
        assert_eq!(c.failed(at(3_000), 3, 1_000), Some(at(7_000)));
        c.succeeded();
        assert!(c.is_clear());
        assert_eq!(c.state(at(3_000), 3), CircuitState::Closed);
        assert_eq!(c.failed(at(8_000), 1, 1_000), Some(at(9_000)), "after a success the pause starts small again");
    }

    #[test]
    fn cooloffs_double_up_to_an_hour() {
        assert_eq!(cooloff_ms(1, 30_000), 30_000);
        assert_eq!(cooloff_ms(2, 30_000), 60_000);
        assert_eq!(cooloff_ms(7, 30_000), 1_920_000);
        assert_eq!(cooloff_ms(8, 30_000), MAX_COOLOFF_MS);
        assert_eq!(cooloff_ms(u32::MAX, u64::MAX), MAX_COOLOFF_MS);
        assert_eq!(cooloff_ms(0, 5), 5);
    }
}
