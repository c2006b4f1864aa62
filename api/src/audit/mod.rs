//! The audit log: every change to territories, quotas, plans and their assignments, points
//! targets, activity-type points, statement status and disputes, and to who may do what
//! (members, their roles, e-mail addresses and passwords, teams and their managers, API keys),
//! with actor, time, action and the record before and after. Entries are written in the transaction of the
//! change they describe, so a change and its entry land together or not at all.

pub mod graphql;
pub mod store;
