//! A consulting firm's rows: the firm, its staff, their grants, and its clients (the
//! organizations it owns). Every query of staff and grants starts from the firm filter
//! (`tenant::firm_scoped`); a client is always looked up together with its firm.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoSimpleExpr, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use uuid::Uuid;

use entity::{activity_day_total, firm, firm_grant, firm_staff, member, organization};

use super::model::ClientStatus;
use crate::core::error::AppResult;
use crate::core::ids::OrgId;
use crate::core::principal::FirmRole;
use crate::core::roles::Role;
use crate::db::tenant;
use crate::graphql::keyset::{self, KeyKind, KeyValue, Keyset, Page, SortColumn};
use crate::graphql::page::PageArgs;

/// A firm by its slug (sign-in, the CLI).
pub async fn find_firm_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<firm::Model>> {
    Ok(firm::Entity::find().filter(firm::Column::Slug.eq(slug)).one(db).await?)
}

/// A firm by its ID.
pub async fn find_firm(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<firm::Model>> {
    Ok(firm::Entity::find_by_id(id).one(db).await?)
}

/// Creates a firm.
pub async fn create_firm(db: &impl ConnectionTrait, name: String, slug: String) -> AppResult<firm::Model> {
    Ok(firm::ActiveModel { id: Set(Uuid::now_v7()), name: Set(name), slug: Set(slug), created_at: Set(Utc::now()) }
        .insert(db)
        .await?)
}

/// A new staff member, validated.
#[derive(Debug, Clone)]
pub struct NewStaff {
    /// Name.
    pub name: String,
    /// E-mail, lower case.
    pub email: String,
    /// Argon2id hash of the password.
    pub password_hash: String,
    /// Role in the firm.
    pub role: FirmRole,
}

/// Creates a staff member of `firm`.
pub async fn create_staff(firm: Uuid, db: &impl ConnectionTrait, new: NewStaff) -> AppResult<firm_staff::Model> {
    Ok(firm_staff::ActiveModel {
        id: Set(Uuid::now_v7()),
        firm_id: Set(firm),
        name: Set(new.name),
        email: Set(new.email),
        password_hash: Set(new.password_hash),
        role: Set(new.role.as_str().to_owned()),
        active: Set(true),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// A staff member of `firm`.
pub async fn find_staff(firm: Uuid, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<firm_staff::Model>> {
    Ok(tenant::firm_scoped::<firm_staff::Entity>(firm).filter(firm_staff::Column::Id.eq(id)).one(db).await?)
}

/// A staff member of `firm` by e-mail (lower case).
pub async fn find_staff_by_email(
    firm: Uuid,
    db: &impl ConnectionTrait,
    email: &str,
) -> AppResult<Option<firm_staff::Model>> {
    Ok(tenant::firm_scoped::<firm_staff::Entity>(firm).filter(firm_staff::Column::Email.eq(email)).one(db).await?)
}

/// Every staff member of `firm`, by name.
pub async fn all_staff(firm: Uuid, db: &impl ConnectionTrait) -> AppResult<Vec<firm_staff::Model>> {
    Ok(tenant::firm_scoped::<firm_staff::Entity>(firm)
        .order_by_asc(firm_staff::Column::Name)
        .order_by_asc(firm_staff::Column::Id)
        .all(db)
        .await?)
}

/// The IDs of every client of `firm`.
pub async fn client_ids(firm: Uuid, db: &impl ConnectionTrait) -> AppResult<Vec<Uuid>> {
    Ok(organization::Entity::find()
        .filter(organization::Column::FirmId.eq(firm))
        .select_only()
        .column(organization::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// Sets whether a staff member of `firm` may sign in.
pub async fn set_staff_active(firm: Uuid, db: &impl ConnectionTrait, id: Uuid, active: bool) -> AppResult<()> {
    tenant::firm_scoped_update::<firm_staff::Entity>(firm)
        .col_expr(firm_staff::Column::Active, Expr::value(active))
        .filter(firm_staff::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The role `staff` was granted in `client`, if any (an unknown stored role reads as none).
pub async fn granted_role(
    firm: Uuid,
    db: &impl ConnectionTrait,
    staff: Uuid,
    client: OrgId,
) -> AppResult<Option<Role>> {
    let grant = tenant::firm_scoped::<firm_grant::Entity>(firm)
        .filter(firm_grant::Column::StaffId.eq(staff))
        .filter(firm_grant::Column::ClientId.eq(client.0))
        .one(db)
        .await?;
    Ok(grant.and_then(|g| Role::parse(&g.role)))
}

/// Every grant of `staff`, oldest first.
pub async fn grants_of(firm: Uuid, db: &impl ConnectionTrait, staff: Uuid) -> AppResult<Vec<firm_grant::Model>> {
    Ok(tenant::firm_scoped::<firm_grant::Entity>(firm)
        .filter(firm_grant::Column::StaffId.eq(staff))
        .order_by_asc(firm_grant::Column::CreatedAt)
        .order_by_asc(firm_grant::Column::Id)
        .all(db)
        .await?)
}

/// Grants `staff` `role` in `client`, replacing an earlier grant there.
pub async fn set_grant(
    firm: Uuid,
    db: &impl ConnectionTrait,
    staff: Uuid,
    client: OrgId,
    role: Role,
) -> AppResult<firm_grant::Model> {
    revoke_grant(firm, db, staff, client).await?;
    Ok(firm_grant::ActiveModel {
        id: Set(Uuid::now_v7()),
        firm_id: Set(firm),
        staff_id: Set(staff),
        client_id: Set(client.0),
        role: Set(role.as_str().to_owned()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Removes `staff`'s grant in `client`; whether there was one.
pub async fn revoke_grant(firm: Uuid, db: &impl ConnectionTrait, staff: Uuid, client: OrgId) -> AppResult<bool> {
    let done = tenant::firm_scoped_delete::<firm_grant::Entity>(firm)
        .filter(firm_grant::Column::StaffId.eq(staff))
        .filter(firm_grant::Column::ClientId.eq(client.0))
        .exec(db)
        .await?;
    Ok(done.rows_affected > 0)
}

/// The organization `id` if it is a client of `firm` (else `None`, as if it did not exist).
pub async fn find_client(firm: Uuid, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<organization::Model>> {
    Ok(organization::Entity::find_by_id(id).filter(organization::Column::FirmId.eq(firm)).one(db).await?)
}

/// Sets a client's status (`ACTIVE`, `SUSPENDED`); whether the client was found.
pub async fn set_client_status(firm: Uuid, db: &impl ConnectionTrait, client: OrgId, status: &str) -> AppResult<bool> {
    let done = organization::Entity::update_many()
        .col_expr(organization::Column::Status, Expr::value(status))
        .col_expr(organization::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(organization::Column::Id.eq(client.0))
        .filter(organization::Column::FirmId.eq(firm))
        .exec(db)
        .await?;
    Ok(done.rows_affected > 0)
}

/// Makes an organization of no firm a client of `firm`; false when it belongs to a firm already.
pub async fn adopt(db: &impl ConnectionTrait, firm: Uuid, org: OrgId) -> AppResult<bool> {
    let done = organization::Entity::update_many()
        .col_expr(organization::Column::FirmId, Expr::value(firm))
        .filter(organization::Column::Id.eq(org.0))
        .filter(organization::Column::FirmId.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected > 0)
}

/// Requests a client's deletion at `due` (status `DELETION_PENDING`), or with `None` cancels it
/// (status `ACTIVE`).
pub async fn set_deletion(
    firm: Uuid,
    db: &impl ConnectionTrait,
    client: OrgId,
    due: Option<chrono::DateTime<Utc>>,
) -> AppResult<()> {
    let status = if due.is_some() { ClientStatus::DeletionPending } else { ClientStatus::Active }.as_str();
    organization::Entity::update_many()
        .col_expr(organization::Column::Status, Expr::value(status))
        .col_expr(organization::Column::DeletionDueAt, Expr::value(due))
        .col_expr(organization::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(organization::Column::Id.eq(client.0))
        .filter(organization::Column::FirmId.eq(firm))
        .exec(db)
        .await?;
    Ok(())
}

fn client_key(o: &organization::Model) -> Vec<KeyValue> {
    vec![KeyValue::Text(o.name.clone()), KeyValue::Id(o.id)]
}

const BY_NAME: &[SortColumn] = &[SortColumn::asc(KeyKind::Text), SortColumn::asc(KeyKind::Id)];

/// The sort order of `clientOrganizations`: by name, then ID.
pub const CLIENTS: Keyset<organization::Model> =
    Keyset { connection: "clientOrganizations", order: "NAME", columns: BY_NAME, key: client_key };

/// A page of `firm`'s clients, by name; only those with `status`, and only those of `only`,
/// when given.
pub async fn page_clients(
    firm: Uuid,
    db: &impl ConnectionTrait,
    status: Option<&str>,
    only: Option<&[Uuid]>,
    args: &PageArgs,
) -> AppResult<Page<organization::Model>> {
    let mut select = organization::Entity::find().filter(organization::Column::FirmId.eq(firm));
    if let Some(status) = status {
        select = select.filter(organization::Column::Status.eq(status));
    }
    if let Some(only) = only {
        select = select.filter(organization::Column::Id.is_in(only.iter().copied()));
    }
    let exprs = [organization::Column::Name.into_simple_expr(), organization::Column::Id.into_simple_expr()];
    keyset::fetch(db, select, &exprs, &CLIENTS, args).await
}

/// What a client uses, as a firm's overview shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Active members.
    pub members: u64,
    /// Activities logged on days of the client's current month (its own time zone).
    pub activities_this_month: u64,
    /// The last day anything was logged, in the client's time zone.
    pub last_activity_on: Option<NaiveDate>,
}

/// The usage of each client, in three statements for the whole page: `clients` pairs each
/// organization with the first day of its current month (in its own time zone).
pub async fn usage(db: &impl ConnectionTrait, clients: &[(OrgId, NaiveDate)]) -> AppResult<HashMap<Uuid, Usage>> {
    let mut out: HashMap<Uuid, Usage> = clients.iter().map(|(o, _)| (o.0, Usage::default())).collect();
    let Some(earliest) = clients.iter().map(|(_, d)| *d).min() else { return Ok(out) };
    let orgs: Vec<OrgId> = clients.iter().map(|(o, _)| *o).collect();
    let members: Vec<(Uuid, i64)> = tenant::scoped_to::<member::Entity>(&orgs)
        .filter(member::Column::Active.eq(true))
        .select_only()
        .column(member::Column::OrganizationId)
        .column_as(member::Column::Id.count(), "n")
        .group_by(member::Column::OrganizationId)
        .into_tuple()
        .all(db)
        .await?;
    for (org, n) in members {
        out.entry(org).or_default().members = u64::try_from(n).unwrap_or(0);
    }
    let month_start: HashMap<Uuid, NaiveDate> = clients.iter().map(|(o, d)| (o.0, *d)).collect();
    let days: Vec<(Uuid, NaiveDate, Option<i64>)> = tenant::scoped_to::<activity_day_total::Entity>(&orgs)
        .filter(activity_day_total::Column::Day.gte(earliest))
        .select_only()
        .column(activity_day_total::Column::OrganizationId)
        .column(activity_day_total::Column::Day)
        .column_as(activity_day_total::Column::ActivityCount.sum().cast_as("BIGINT"), "n")
        .group_by(activity_day_total::Column::OrganizationId)
        .group_by(activity_day_total::Column::Day)
        .into_tuple()
        .all(db)
        .await?;
    for (org, day, n) in days {
        if month_start.get(&org).is_some_and(|start| day >= *start) {
            out.entry(org).or_default().activities_this_month += u64::try_from(n.unwrap_or(0)).unwrap_or(0);
        }
    }
    let last: Vec<(Uuid, Option<NaiveDate>)> = tenant::scoped_to::<activity_day_total::Entity>(&orgs)
        .select_only()
        .column(activity_day_total::Column::OrganizationId)
        .column_as(activity_day_total::Column::Day.max(), "last")
        .group_by(activity_day_total::Column::OrganizationId)
        .into_tuple()
        .all(db)
        .await?;
    for (org, day) in last {
        out.entry(org).or_default().last_activity_on = day;
    }
    Ok(out)
}
