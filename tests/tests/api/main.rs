//! Black-box tests: every test starts its own server on its own database and talks to it
//! over HTTP and WebSocket, on SQLite and (with TEST_POSTGRES_URL) on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod anonymous_limits;
mod auth;
mod compensation;
mod concurrency;
mod conventions;
mod cost;
mod crash;
mod credentials;
mod demo;
mod health;
mod hostile;
mod import;
mod input_attacks;
mod instances;
mod integrations;
mod isolation;
mod kpi;
mod logs;
mod member_attacks;
mod mystery;
mod observability;
mod org;
mod pipeline;
mod real_clients;
mod recovery;
mod response_cache;
mod roles;
mod schema;
mod scoring;
mod subscriptions;
mod tenancy;
mod webhook_attacks;
mod ws_conformance;
