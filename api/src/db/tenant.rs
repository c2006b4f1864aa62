//! Tenancy by construction: every query of a tenant table starts from a function here, so the
//! organization filter is written once, not at each query.
//!
//! - [`scoped`], [`scoped_by_id`], [`scoped_update`] and [`scoped_delete`] start a select,
//!   update or delete that already holds `organization_id = <org>`;
//! - [`versioned_update`] is the one optimistic-concurrency update: the organization, the
//!   version read, and the version moved on;
//! - [`across_tenants`] is the named way out for the few jobs that must read every tenant's
//!   rows (an API key or refresh token found by its secret, the webhook outbox, schedulers).
//!
//! Every entity with an `organization_id` column implements [`Tenant`] (the `tenants!` list
//! below), and every one with a `version` column [`Versioned`]. The architecture test
//! `tenant_tables_are_queried_through_the_tenant_helpers` fails when an entity is missing from
//! the lists, or when code outside this file starts a query of a tenant table itself
//! (`Entity::find`, `find_by_id`, `update_many`, `delete_many`), filters on its organization
//! column by hand, or calls [`across_tenants`] from a file not allowed to.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DeleteMany, EntityTrait, PrimaryKeyTrait, QueryFilter, Select, SelectModel, SelectorRaw, Statement,
    UpdateMany,
};
use uuid::Uuid;

use crate::core::ids::OrgId;

/// A table whose rows belong to one organization.
pub trait Tenant: EntityTrait {
    /// The column that names the organization a row belongs to.
    const ORGANIZATION: Self::Column;
}

/// A tenant table whose rows carry a `version`, moved on by every change (optimistic
/// concurrency: a change made against an old version is refused).
pub trait Versioned: Tenant {
    /// The row's ID.
    const ID: Self::Column;
    /// The row's version.
    const VERSION: Self::Column;
}

/// A select of `org`'s rows of `E`.
pub fn scoped<E: Tenant>(org: OrgId) -> Select<E> {
    E::find().filter(E::ORGANIZATION.eq(org.0))
}

/// A select of the row `id` of `E`, if it is `org`'s.
pub fn scoped_by_id<E: Tenant>(org: OrgId, id: Uuid) -> Select<E>
where
    Uuid: Into<<E::PrimaryKey as PrimaryKeyTrait>::ValueType>,
{
    E::find_by_id(id).filter(E::ORGANIZATION.eq(org.0))
}

/// An update of `org`'s rows of `E` (narrow it further with `filter`).
pub fn scoped_update<E: Tenant>(org: OrgId) -> UpdateMany<E> {
    E::update_many().filter(E::ORGANIZATION.eq(org.0))
}

/// A delete of `org`'s rows of `E` (narrow it further with `filter`).
pub fn scoped_delete<E: Tenant>(org: OrgId) -> DeleteMany<E> {
    E::delete_many().filter(E::ORGANIZATION.eq(org.0))
}

/// An update of `org`'s rows of `E` that moves each row's version on by one and, with
/// `expected_version`, only touches rows still at that version (narrow it to the row with
/// `filter`; no row affected then means changed by someone else first, or gone).
pub fn versioned_update<E: Versioned>(org: OrgId, expected_version: Option<i32>) -> UpdateMany<E> {
    let update = scoped_update::<E>(org).col_expr(E::VERSION, Expr::col(E::VERSION).add(1));
    match expected_version {
        Some(v) => update.filter(E::VERSION.eq(v)),
        None => update,
    }
}

/// A select of the rows of `E` of these organizations (a firm's overview of its clients, the
/// organizations already checked to be the firm's).
pub fn scoped_to<E: Tenant>(orgs: &[OrgId]) -> Select<E> {
    E::find().filter(E::ORGANIZATION.is_in(orgs.iter().map(|o| o.0)))
}

/// A table whose rows belong to one consulting firm (its staff, their grants).
pub trait FirmOwned: EntityTrait {
    /// The column that names the firm a row belongs to.
    const FIRM: Self::Column;
}

/// A select of `firm`'s rows of `E`: the firm filter, written once.
pub fn firm_scoped<E: FirmOwned>(firm: Uuid) -> Select<E> {
    E::find().filter(E::FIRM.eq(firm))
}

/// A delete of `firm`'s rows of `E` (narrow it further with `filter`).
pub fn firm_scoped_delete<E: FirmOwned>(firm: Uuid) -> DeleteMany<E> {
    E::delete_many().filter(E::FIRM.eq(firm))
}

/// An update of `firm`'s rows of `E` (narrow it further with `filter`).
pub fn firm_scoped_update<E: FirmOwned>(firm: Uuid) -> UpdateMany<E> {
    E::update_many().filter(E::FIRM.eq(firm))
}

impl FirmOwned for entity::firm_staff::Entity {
    const FIRM: Self::Column = entity::firm_staff::Column::FirmId;
}

impl FirmOwned for entity::firm_grant::Entity {
    const FIRM: Self::Column = entity::firm_grant::Column::FirmId;
}

/// A select of every tenant's rows of `E`. Only for jobs that must look across tenants before
/// they know the organization (a secret's owner) or that serve all of them (outbox, schedulers);
/// the architecture test lists the files that may call it.
pub fn across_tenants<E: Tenant>() -> Select<E> {
    E::find()
}

/// `query` without `skip`'s rows (for a job across tenants that passes some over).
pub fn excluding_tenants<E: Tenant>(query: Select<E>, skip: &[Uuid]) -> Select<E> {
    query.filter(E::ORGANIZATION.is_not_in(skip.iter().copied()))
}

/// Rows of `E` read by a hand-written statement, which must filter on `organization_id`
/// itself (the architecture test checks that every such statement names it).
pub fn from_raw_sql<E: Tenant>(statement: Statement) -> SelectorRaw<SelectModel<E::Model>> {
    E::find().from_raw_sql(statement)
}

/// An update across tenants (see [`across_tenants`]).
pub fn update_across_tenants<E: Tenant>() -> UpdateMany<E> {
    E::update_many()
}

/// A delete across tenants (see [`across_tenants`]).
pub fn delete_across_tenants<E: Tenant>() -> DeleteMany<E> {
    E::delete_many()
}

/// Implements [`Tenant`] for the listed entity modules (each has an `OrganizationId` column).
macro_rules! tenants {
    ($($table:ident),+ $(,)?) => {
        $(impl Tenant for entity::$table::Entity {
            const ORGANIZATION: Self::Column = entity::$table::Column::OrganizationId;
        })+
    };
}

/// Implements [`Versioned`] for the listed entity modules (each has `Id` and `Version` columns).
macro_rules! versioned {
    ($($table:ident),+ $(,)?) => {
        $(impl Versioned for entity::$table::Entity {
            const ID: Self::Column = entity::$table::Column::Id;
            const VERSION: Self::Column = entity::$table::Column::Version;
        })+
    };
}

tenants!(
    activity,
    activity_day_total,
    activity_type,
    alert,
    alert_rule,
    api_key,
    audit_entry,
    campaign,
    checklist_item,
    clawback,
    custom_field,
    deal,
    deal_checklist,
    deal_split,
    deal_stage_history,
    dispute,
    forecast_adjustment,
    forecast_submission,
    identity_provider,
    incentive_plan,
    kpi,
    kpi_report,
    kpi_target,
    kpi_week_lock,
    label_override,
    member,
    mystery_check,
    mystery_criterion,
    mystery_round,
    organization_domain,
    persisted_query,
    pipeline_stage,
    plan_assignment,
    plan_version,
    points_target,
    quota,
    refresh_token,
    statement,
    statement_line,
    team,
    territory,
    territory_assignment,
    webhook,
    webhook_delivery,
    work_item_progress,
);

versioned!(
    activity_type,
    campaign,
    checklist_item,
    deal,
    identity_provider,
    kpi,
    member,
    pipeline_stage,
    quota,
    team,
    territory,
);
