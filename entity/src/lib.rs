//! sea-orm entities for Scorebord: one module per table, no logic.
//!
//! Every tenant table carries `organization_id`; queries over them live in the
//! `store.rs` of the owning domain in the `scorebord` crate, never here.

pub mod activity;
pub mod activity_day_total;
pub mod activity_type;
pub mod alert;
pub mod alert_rule;
pub mod api_key;
pub mod audit_entry;
pub mod campaign;
pub mod checklist_item;
pub mod clawback;
pub mod custom_field;
pub mod deal;
pub mod deal_checklist;
pub mod deal_split;
pub mod deal_stage_history;
pub mod dispute;
pub mod firm;
pub mod firm_grant;
pub mod firm_staff;
pub mod forecast_adjustment;
pub mod forecast_submission;
pub mod identity_provider;
pub mod incentive_plan;
pub mod kpi;
pub mod kpi_report;
pub mod kpi_target;
pub mod kpi_week_lock;
pub mod label_override;
pub mod member;
pub mod mystery_check;
pub mod mystery_criterion;
pub mod mystery_round;
pub mod organization;
pub mod organization_domain;
pub mod persisted_query;
pub mod pipeline_stage;
pub mod plan_assignment;
pub mod plan_version;
pub mod points_target;
pub mod quota;
pub mod refresh_token;
pub mod statement;
pub mod statement_line;
pub mod team;
pub mod territory;
pub mod territory_assignment;
pub mod webhook;
pub mod webhook_delivery;
pub mod work_item_progress;
