//! Tenant-scoped reads and writes for organizations, teams and members. The only place
//! with queries for these tables; every function takes the tenant first.

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use entity::{member, organization, team};

use super::model::{OrgId, Role, SalesRole, TeamTree};
use crate::core::error::{AppError, AppResult};
use crate::db::set_if;
use crate::db::tenant;
use crate::graphql::keyset::{self, KeyKind, KeyValue, Keyset, Page, SortColumn};
use crate::graphql::relay::PageArgs;

/// Everything needed to create an organization.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    /// Legal or common name.
    pub name: String,
    /// URL-safe unique key.
    pub slug: String,
    /// IANA time zone.
    pub time_zone: String,
    /// ISO 4217.
    pub currency: String,
    /// 1..=12.
    pub fiscal_year_start_month: i32,
    /// Brand colour.
    pub primary_color: String,
    /// Second brand colour.
    pub secondary_color: String,
    /// Name shown in front ends.
    pub display_name: Option<String>,
    /// Logo.
    pub logo_url: Option<String>,
    /// The language names and labels are answered in.
    pub locale: crate::core::locale::Locale,
}

/// Creates an organization of no firm. (The tenant itself, so it takes no tenant.)
pub async fn create_organization(db: &impl ConnectionTrait, new: NewOrganization) -> AppResult<organization::Model> {
    create_organization_of(db, Uuid::now_v7(), new, None).await
}

/// Creates the organization `id`, owned by `firm` (a client of a consulting firm) or by none.
pub async fn create_organization_of(
    db: &impl ConnectionTrait,
    id: Uuid,
    new: NewOrganization,
    firm: Option<Uuid>,
) -> AppResult<organization::Model> {
    let now = Utc::now();
    Ok(organization::ActiveModel {
        id: Set(id),
        name: Set(new.name),
        slug: Set(new.slug),
        display_name: Set(new.display_name),
        logo_url: Set(new.logo_url),
        primary_color: Set(new.primary_color),
        secondary_color: Set(new.secondary_color),
        time_zone: Set(new.time_zone),
        currency: Set(new.currency),
        fiscal_year_start_month: Set(new.fiscal_year_start_month),
        activity_open_window_days: Set(35),
        firm_id: Set(firm),
        status: Set(ORG_ACTIVE.to_owned()),
        deletion_due_at: Set(None),
        locale: Set(new.locale.as_str().to_owned()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// The status of an organization that works.
pub const ORG_ACTIVE: &str = "ACTIVE";

/// The status of an organization whose deletion was requested: refused like a suspended one
/// until its grace period ends and it is erased, or the deletion is cancelled.
pub const ORG_DELETION_PENDING: &str = "DELETION_PENDING";

/// Writes an organization's row as it is (an archive read back).
pub async fn insert_organization(
    db: &impl ConnectionTrait,
    row: organization::Model,
) -> AppResult<organization::Model> {
    Ok(sea_orm::IntoActiveModel::into_active_model(row).insert(db).await?)
}

/// Organizations whose requested deletion is due at `now`.
pub async fn due_for_erasure(db: &impl ConnectionTrait, now: chrono::DateTime<Utc>) -> AppResult<Vec<OrgId>> {
    let ids: Vec<Uuid> = organization::Entity::find()
        .filter(organization::Column::Status.eq(ORG_DELETION_PENDING))
        .filter(organization::Column::DeletionDueAt.lte(now))
        .select_only()
        .column(organization::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().map(OrgId).collect())
}

/// Deletes an organization's own row (its rows erased first).
pub async fn delete_organization(org: OrgId, db: &impl ConnectionTrait) -> AppResult<()> {
    organization::Entity::delete_many().filter(organization::Column::Id.eq(org.0)).exec(db).await?;
    Ok(())
}

/// Finds an organization by slug (for login and the CLI, before a tenant is known).
pub async fn find_org_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<organization::Model>> {
    Ok(organization::Entity::find().filter(organization::Column::Slug.eq(slug)).one(db).await?)
}

/// Every organization's ID (for schedulers that visit each tenant).
pub async fn all_org_ids(db: &impl ConnectionTrait) -> AppResult<Vec<OrgId>> {
    let ids: Vec<Uuid> =
        organization::Entity::find().select_only().column(organization::Column::Id).into_tuple().all(db).await?;
    Ok(ids.into_iter().map(OrgId).collect())
}

/// Resolves a token's `org` claim (an ID or a slug) to the tenant.
pub async fn resolve_org(db: &impl ConnectionTrait, claim: &str) -> AppResult<Option<OrgId>> {
    Ok(find_org_by_claim(db, claim).await?.map(|o| OrgId(o.id)))
}

/// The organization a token's `org` claim names: by ID when it parses as one, else by slug.
pub async fn find_org_by_claim(db: &impl ConnectionTrait, claim: &str) -> AppResult<Option<organization::Model>> {
    match Uuid::parse_str(claim) {
        Ok(id) => Ok(organization::Entity::find_by_id(id).one(db).await?),
        Err(_) => find_org_by_slug(db, claim).await,
    }
}

/// The tenant's own organization row.
pub async fn organization(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Option<organization::Model>> {
    Ok(organization::Entity::find_by_id(org.0).one(db).await?)
}

/// The organization's currency (ISO 4217; EUR if the organization is gone).
pub async fn currency(org: OrgId, db: &impl ConnectionTrait) -> AppResult<String> {
    Ok(organization(org, db).await?.map_or_else(|| "EUR".to_owned(), |o| o.currency))
}

/// Validated changes to an organization; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct OrganizationPatch {
    /// New name.
    pub name: Option<String>,
    /// New display name (`Some(None)` clears it).
    pub display_name: Option<Option<String>>,
    /// New logo (`Some(None)` clears it).
    pub logo_url: Option<Option<String>>,
    /// New primary colour.
    pub primary_color: Option<String>,
    /// New secondary colour.
    pub secondary_color: Option<String>,
    /// New time zone.
    pub time_zone: Option<String>,
    /// New currency.
    pub currency: Option<String>,
    /// New fiscal year start month.
    pub fiscal_year_start_month: Option<i32>,
    /// New open window for logging activities, in days.
    pub activity_open_window_days: Option<i32>,
    /// New language.
    pub locale: Option<crate::core::locale::Locale>,
}

/// Saves changed organization fields if nobody else changed it since `current_version`;
/// bumps `version`. A stale version is CONFLICT (nothing is overwritten silently).
pub async fn update_organization(
    org: OrgId,
    db: &impl ConnectionTrait,
    patch: OrganizationPatch,
    current_version: i32,
) -> AppResult<organization::Model> {
    let mut changes = organization::ActiveModel {
        name: set_if(patch.name),
        display_name: set_if(patch.display_name),
        logo_url: set_if(patch.logo_url),
        primary_color: set_if(patch.primary_color),
        secondary_color: set_if(patch.secondary_color),
        time_zone: set_if(patch.time_zone),
        currency: set_if(patch.currency),
        fiscal_year_start_month: set_if(patch.fiscal_year_start_month),
        activity_open_window_days: set_if(patch.activity_open_window_days),
        locale: set_if(patch.locale.map(|l| l.as_str().to_owned())),
        ..Default::default()
    };
    changes.version = Set(current_version + 1);
    changes.updated_at = Set(Utc::now());
    let result = organization::Entity::update_many()
        .set(changes)
        .filter(organization::Column::Id.eq(org.0))
        .filter(organization::Column::Version.eq(current_version))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::Conflict("the organization was changed by someone else; reload and try again".into()));
    }
    organization(org, db).await?.ok_or(AppError::NotFound("organization"))
}

// ---------------------------------------------------------------- teams

/// One team of the tenant.
pub async fn find_team(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<team::Model>> {
    Ok(tenant::scoped_by_id::<team::Entity>(org, id).one(db).await?)
}

/// Several teams of the tenant by ID (DataLoader batch).
pub async fn teams_by_ids(org: OrgId, db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<team::Model>> {
    Ok(tenant::scoped::<team::Entity>(org).filter(team::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// The tenant's team tree.
pub async fn team_tree(org: OrgId, db: &impl ConnectionTrait) -> AppResult<TeamTree> {
    let rows: Vec<(Uuid, Option<Uuid>)> = tenant::scoped::<team::Entity>(org)
        .select_only()
        .column(team::Column::Id)
        .column(team::Column::ParentTeamId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(TeamTree::new(rows))
}

/// Teams whose manager is the given member.
pub async fn teams_managed_by(org: OrgId, db: &impl ConnectionTrait, member: Uuid) -> AppResult<Vec<Uuid>> {
    Ok(tenant::scoped::<team::Entity>(org)
        .select_only()
        .column(team::Column::Id)
        .filter(team::Column::ManagerId.eq(member))
        .into_tuple()
        .all(db)
        .await?)
}

/// Filter for [`list_teams`].
#[derive(Debug, Default, Clone)]
pub struct TeamFilter {
    /// Only direct children of this team.
    pub parent_team_id: Option<Uuid>,
    /// Only top-level teams.
    pub roots_only: bool,
    /// Case-insensitive substring of the name.
    pub search: Option<String>,
}

fn team_condition(filter: &TeamFilter) -> Condition {
    let mut cond = Condition::all();
    if let Some(parent) = filter.parent_team_id {
        cond = cond.add(team::Column::ParentTeamId.eq(parent));
    }
    if filter.roots_only {
        cond = cond.add(team::Column::ParentTeamId.is_null());
    }
    if let Some(text) = filter.search.as_deref().filter(|t| !t.is_empty()) {
        cond = cond.add(Expr::expr(Func::lower(Expr::col(team::Column::Name))).like(contains_pattern(text)));
    }
    cond
}

const BY_NAME: &[SortColumn] = &[SortColumn::asc(KeyKind::Text), SortColumn::asc(KeyKind::Id)];

fn team_key(t: &team::Model) -> Vec<KeyValue> {
    vec![KeyValue::Text(t.name.clone()), KeyValue::Id(t.id)]
}

fn member_key(m: &member::Model) -> Vec<KeyValue> {
    vec![KeyValue::Text(m.name.clone()), KeyValue::Id(m.id)]
}

/// `teams`, by name.
pub const TEAMS: Keyset<team::Model> = Keyset { connection: "teams", order: "NAME", columns: BY_NAME, key: team_key };
/// `members`, by name.
pub const MEMBERS: Keyset<member::Model> =
    Keyset { connection: "members", order: "NAME", columns: BY_NAME, key: member_key };
/// `Team.members`, by name.
pub const TEAM_MEMBERS: Keyset<member::Model> =
    Keyset { connection: "Team.members", order: "NAME", columns: BY_NAME, key: member_key };

/// One page of teams matching a filter, ordered by name.
pub async fn page_teams(
    org: OrgId,
    db: &impl ConnectionTrait,
    filter: &TeamFilter,
    args: &PageArgs,
) -> AppResult<Page<team::Model>> {
    let select = tenant::scoped::<team::Entity>(org).filter(team_condition(filter));
    keyset::fetch(db, select, &[team::Column::Name.into_expr(), team::Column::Id.into_expr()], &TEAMS, args).await
}

/// Inserts a team.
pub async fn create_team(
    org: OrgId,
    db: &impl ConnectionTrait,
    name: String,
    description: Option<String>,
    parent_team_id: Option<Uuid>,
    manager_id: Option<Uuid>,
) -> AppResult<team::Model> {
    let now = Utc::now();
    Ok(team::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        name: Set(name),
        description: Set(description),
        parent_team_id: Set(parent_team_id),
        manager_id: Set(manager_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Validated changes to a team; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct TeamPatch {
    /// New name.
    pub name: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New parent (`Some(None)` makes it a top-level team).
    pub parent_team_id: Option<Option<Uuid>>,
    /// New manager (`Some(None)` removes the manager).
    pub manager_id: Option<Option<Uuid>>,
}

/// Saves changed team fields and bumps its version. With `expected_version` the row must still
/// be at that version (CONFLICT otherwise: nothing is overwritten silently). The caller has
/// checked the team belongs to the tenant.
pub async fn update_team(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
    patch: TeamPatch,
    expected_version: Option<i32>,
) -> AppResult<team::Model> {
    let changes = team::ActiveModel {
        name: set_if(patch.name),
        description: set_if(patch.description),
        parent_team_id: set_if(patch.parent_team_id),
        manager_id: set_if(patch.manager_id),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    let update =
        tenant::versioned_update::<team::Entity>(org, expected_version).set(changes).filter(team::Column::Id.eq(id));
    if update.exec(db).await?.rows_affected == 0 {
        return Err(match (expected_version, find_team(org, db, id).await?) {
            (Some(v), Some(current)) => AppError::stale_version("team", current.version, v),
            _ => AppError::NotFound("team"),
        });
    }
    find_team(org, db, id).await?.ok_or(AppError::NotFound("team"))
}

// ---------------------------------------------------------------- members

/// One member of the tenant.
pub async fn find_member(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<member::Model>> {
    Ok(tenant::scoped_by_id::<member::Entity>(org, id).one(db).await?)
}

/// A member of the tenant by (lower-case) e-mail.
pub async fn find_member_by_email(
    org: OrgId,
    db: &impl ConnectionTrait,
    email: &str,
) -> AppResult<Option<member::Model>> {
    Ok(tenant::scoped::<member::Entity>(org).filter(member::Column::Email.eq(email)).one(db).await?)
}

/// The member an identity provider's subject was recorded for.
pub async fn find_member_by_subject(
    org: OrgId,
    db: &impl ConnectionTrait,
    subject: &str,
) -> AppResult<Option<member::Model>> {
    Ok(tenant::scoped::<member::Entity>(org).filter(member::Column::ExternalSubject.eq(subject)).one(db).await?)
}

/// Records the identity provider's subject of a member.
pub async fn set_member_subject(org: OrgId, db: &impl ConnectionTrait, id: Uuid, subject: &str) -> AppResult<()> {
    tenant::scoped_update::<member::Entity>(org)
        .col_expr(member::Column::ExternalSubject, sea_orm::sea_query::Expr::value(subject))
        .filter(member::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Several members by ID (DataLoader batch).
pub async fn members_by_ids(org: OrgId, db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<member::Model>> {
    Ok(tenant::scoped::<member::Entity>(org).filter(member::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// Active members directly in several teams (DataLoader batch), by name.
pub async fn members_by_teams(org: OrgId, db: &impl ConnectionTrait, teams: &[Uuid]) -> AppResult<Vec<member::Model>> {
    Ok(tenant::scoped::<member::Entity>(org)
        .filter(member::Column::TeamId.is_in(teams.iter().copied()))
        .filter(member::Column::Active.eq(true))
        .order_by_asc(member::Column::Name)
        .all(db)
        .await?)
}

/// Filter for [`list_members`].
#[derive(Debug, Default, Clone)]
pub struct MemberFilter {
    /// Members of any of these teams (the caller expands sub-teams).
    pub team_ids: Option<Vec<Uuid>>,
    /// Only this role.
    pub role: Option<Role>,
    /// Only this sales role.
    pub sales_role: Option<SalesRole>,
    /// Only active (`true`) or deactivated (`false`) members.
    pub active: Option<bool>,
    /// Case-insensitive substring of name or e-mail.
    pub search: Option<String>,
}

fn member_condition(filter: &MemberFilter) -> Condition {
    let mut cond = Condition::all();
    if let Some(teams) = &filter.team_ids {
        cond = cond.add(member::Column::TeamId.is_in(teams.iter().copied()));
    }
    if let Some(role) = filter.role {
        cond = cond.add(member::Column::Role.eq(role.as_str()));
    }
    if let Some(sales_role) = filter.sales_role {
        cond = cond.add(member::Column::SalesRole.eq(sales_role.as_str()));
    }
    if let Some(active) = filter.active {
        cond = cond.add(member::Column::Active.eq(active));
    }
    if let Some(text) = filter.search.as_deref().filter(|t| !t.is_empty()) {
        let pattern = contains_pattern(text);
        cond = cond.add(
            Condition::any()
                .add(Expr::expr(Func::lower(Expr::col(member::Column::Name))).like(pattern.clone()))
                .add(Expr::col(member::Column::Email).like(pattern)),
        );
    }
    cond
}

/// One page of members matching a filter, ordered by name, for the connection `keyset` names.
pub async fn page_members(
    org: OrgId,
    db: &impl ConnectionTrait,
    filter: &MemberFilter,
    keyset: &Keyset<member::Model>,
    args: &PageArgs,
) -> AppResult<Page<member::Model>> {
    let select = tenant::scoped::<member::Entity>(org).filter(member_condition(filter));
    keyset::fetch(db, select, &[member::Column::Name.into_expr(), member::Column::Id.into_expr()], keyset, args).await
}

/// Every member matching a filter (no paging: for scores and leaderboards, which rank all of them).
pub async fn all_members(
    org: OrgId,
    db: &impl ConnectionTrait,
    filter: &MemberFilter,
) -> AppResult<Vec<member::Model>> {
    Ok(tenant::scoped::<member::Entity>(org)
        .filter(member_condition(filter))
        .order_by_asc(member::Column::Name)
        .all(db)
        .await?)
}

/// Every team of the tenant.
pub async fn all_teams(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<team::Model>> {
    Ok(tenant::scoped::<team::Entity>(org).order_by_asc(team::Column::Name).all(db).await?)
}

/// Everything needed to create a member.
#[derive(Debug, Clone)]
pub struct NewMember {
    /// Full name.
    pub name: String,
    /// Lower-case e-mail.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Sales role.
    pub sales_role: SalesRole,
    /// Team.
    pub team_id: Option<Uuid>,
    /// First working day (quota ramp).
    pub start_date: NaiveDate,
    /// Argon2id hash of the initial password.
    pub password_hash: Option<String>,
    /// Picture URL (validated).
    pub avatar_url: Option<String>,
}

/// Inserts a member.
pub async fn create_member(org: OrgId, db: &impl ConnectionTrait, new: NewMember) -> AppResult<member::Model> {
    let now = Utc::now();
    Ok(member::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        name: Set(new.name),
        email: Set(new.email),
        role: Set(new.role.as_str().to_owned()),
        sales_role: Set(new.sales_role.as_str().to_owned()),
        team_id: Set(new.team_id),
        start_date: Set(new.start_date),
        active: Set(true),
        password_hash: Set(new.password_hash),
        deactivated_at: Set(None),
        ramp_percents: Set(None),
        avatar_url: Set(new.avatar_url),
        external_subject: Set(None),
        locale: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Validated changes to a member; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct MemberPatch {
    /// New name.
    pub name: Option<String>,
    /// New (lower-case) e-mail.
    pub email: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New sales role.
    pub sales_role: Option<SalesRole>,
    /// New team (`Some(None)`: no team).
    pub team_id: Option<Option<Uuid>>,
    /// New start date.
    pub start_date: Option<NaiveDate>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// New picture URL (`Some(None)`: none).
    pub avatar_url: Option<Option<String>>,
}

/// Saves changed member fields. A change to the profile (anything but the password) bumps the
/// version; with `expected_version` the row must still be at that version (CONFLICT otherwise).
/// The caller has checked the member belongs to the tenant.
pub async fn update_member(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
    patch: MemberPatch,
    expected_version: Option<i32>,
) -> AppResult<member::Model> {
    let now = Utc::now();
    let profile_changes = patch.name.is_some()
        || patch.email.is_some()
        || patch.role.is_some()
        || patch.sales_role.is_some()
        || patch.team_id.is_some()
        || patch.start_date.is_some()
        || patch.active.is_some()
        || patch.avatar_url.is_some();
    let changes = member::ActiveModel {
        name: set_if(patch.name),
        email: set_if(patch.email),
        role: set_if(patch.role.map(|r| r.as_str().to_owned())),
        sales_role: set_if(patch.sales_role.map(|r| r.as_str().to_owned())),
        team_id: set_if(patch.team_id),
        start_date: set_if(patch.start_date),
        active: set_if(patch.active),
        deactivated_at: set_if(patch.active.map(|active| (!active).then_some(now))),
        password_hash: set_if(patch.password_hash.map(Some)),
        avatar_url: set_if(patch.avatar_url),
        updated_at: Set(now),
        ..Default::default()
    };
    let mut update = tenant::scoped_update::<member::Entity>(org).set(changes).filter(member::Column::Id.eq(id));
    if profile_changes {
        update = update.col_expr(member::Column::Version, Expr::col(member::Column::Version).add(1));
    }
    if let Some(v) = expected_version {
        update = update.filter(member::Column::Version.eq(v));
    }
    if update.exec(db).await?.rows_affected == 0 {
        return Err(match (expected_version, find_member(org, db, id).await?) {
            (Some(v), Some(current)) => AppError::stale_version("member", current.version, v),
            _ => AppError::NotFound("member"),
        });
    }
    find_member(org, db, id).await?.ok_or(AppError::NotFound("member"))
}

/// Whether an error is the unique index on (organization, e-mail).
pub fn is_unique_violation(err: &crate::core::error::AppError) -> bool {
    matches!(err, crate::core::error::AppError::Database(e)
        if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))))
}

/// A `LIKE` pattern matching `text` anywhere, lower-cased, with `%`, `_` and `\` taken literally.
fn contains_pattern(text: &str) -> LikeExpr {
    let escaped = text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

// ---------------------------------------------------------------- host names

/// The organization's host names, verified or not, by host.
pub async fn domains(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<entity::organization_domain::Model>> {
    use entity::organization_domain as d;
    Ok(tenant::scoped::<d::Entity>(org).order_by_asc(d::Column::Host).all(db).await?)
}

/// The organization's host name `host`.
pub async fn find_domain(
    org: OrgId,
    db: &impl ConnectionTrait,
    host: &str,
) -> AppResult<Option<entity::organization_domain::Model>> {
    use entity::organization_domain as d;
    Ok(tenant::scoped::<d::Entity>(org).filter(d::Column::Host.eq(host)).one(db).await?)
}

/// Adds a host name, unverified, with the token it must serve.
pub async fn add_domain(
    org: OrgId,
    db: &impl ConnectionTrait,
    host: String,
    token: String,
) -> AppResult<entity::organization_domain::Model> {
    Ok(entity::organization_domain::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        host: Set(host),
        verification_token: Set(token),
        verified_at: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Marks a host name verified now.
pub async fn verify_domain(org: OrgId, db: &impl ConnectionTrait, host: &str) -> AppResult<()> {
    use entity::organization_domain as d;
    tenant::scoped_update::<d::Entity>(org)
        .col_expr(d::Column::VerifiedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(d::Column::Host.eq(host))
        .exec(db)
        .await?;
    Ok(())
}

/// Removes a host name; whether it was there.
pub async fn remove_domain(org: OrgId, db: &impl ConnectionTrait, host: &str) -> AppResult<bool> {
    use entity::organization_domain as d;
    Ok(tenant::scoped_delete::<d::Entity>(org).filter(d::Column::Host.eq(host)).exec(db).await?.rows_affected > 0)
}

/// Sets (or with `None` clears) a member's own language.
pub async fn set_member_locale(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
    locale: Option<crate::core::locale::Locale>,
) -> AppResult<()> {
    tenant::scoped_update::<member::Entity>(org)
        .col_expr(member::Column::Locale, Expr::value(locale.map(|l| l.as_str().to_owned())))
        .filter(member::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- label overrides

/// The organization's own wording for built-in names, every language.
pub async fn label_overrides(org: OrgId, db: &impl ConnectionTrait) -> AppResult<Vec<entity::label_override::Model>> {
    use entity::label_override as l;
    Ok(tenant::scoped::<l::Entity>(org)
        .order_by_asc(l::Column::Subject)
        .order_by_asc(l::Column::Key)
        .order_by_asc(l::Column::Locale)
        .all(db)
        .await?)
}

/// A built-in name in the organization's words: what is relabelled, in which language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelOverride {
    /// `Kpi` or an enum's GraphQL name.
    pub subject: String,
    /// The KPI key or the enum value.
    pub key: String,
    /// The language.
    pub locale: crate::core::locale::Locale,
    /// The name or label.
    pub label: String,
    /// A KPI's description.
    pub description: Option<String>,
}

/// The organization's override of one built-in name in one language.
pub async fn find_label_override(
    org: OrgId,
    db: &impl ConnectionTrait,
    subject: &str,
    key: &str,
    locale: crate::core::locale::Locale,
) -> AppResult<Option<entity::label_override::Model>> {
    use entity::label_override as l;
    Ok(tenant::scoped::<l::Entity>(org)
        .filter(l::Column::Subject.eq(subject))
        .filter(l::Column::Key.eq(key))
        .filter(l::Column::Locale.eq(locale.as_str()))
        .one(db)
        .await?)
}

/// Sets an override, replacing the one of the same subject, key and language (one statement,
/// so two at once leave one of them, never an error).
pub async fn put_label_override(org: OrgId, db: &impl ConnectionTrait, o: LabelOverride) -> AppResult<()> {
    use entity::label_override as l;
    use sea_orm::sea_query::OnConflict;
    l::Entity::insert(l::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        subject: Set(o.subject),
        key: Set(o.key),
        locale: Set(o.locale.as_str().to_owned()),
        label: Set(o.label),
        description: Set(o.description),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([l::Column::OrganizationId, l::Column::Subject, l::Column::Key, l::Column::Locale])
            .update_columns([l::Column::Label, l::Column::Description, l::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Removes an override (the built-in wording shows again); whether there was one.
pub async fn remove_label_override(
    org: OrgId,
    db: &impl ConnectionTrait,
    subject: &str,
    key: &str,
    locale: crate::core::locale::Locale,
) -> AppResult<bool> {
    use entity::label_override as l;
    Ok(tenant::scoped_delete::<l::Entity>(org)
        .filter(l::Column::Subject.eq(subject))
        .filter(l::Column::Key.eq(key))
        .filter(l::Column::Locale.eq(locale.as_str()))
        .exec(db)
        .await?
        .rows_affected
        > 0)
}
