//! The organization, team and member use-cases. Each checks the permission first, runs in one
//! [`Unit`] that checks the member rule ([`super::policy`]) against the records as read inside
//! it, writes the change and its audit entry, and publishes what subscribers must hear after the
//! commit. A refused request returns its field errors ([`Checked`]) and writes nothing.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use uuid::Uuid;

use entity::{member, organization, team};

use super::model::{self, OrgId, Role, SalesRole};
use super::policy;
use super::store::{self, MemberPatch, NewMember, OrganizationPatch, TeamPatch};
use crate::auth::{Reach, password};
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::principal::Principal;
use crate::db::Section;
use crate::db::unit::{Unit, snapshot};
use crate::events::{Event, EventBus};

/// Collects field errors while parsing a command.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn check<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }
}

// ---------------------------------------------------------------- organization

/// Changes to the organization's settings and branding; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UpdateOrganization {
    /// The version the change was made against (CONFLICT when it moved on).
    pub version: Option<i32>,
    /// A new name.
    pub name: Option<String>,
    /// A new name to show (`Some(None)`: clear it).
    pub display_name: Option<Option<String>>,
    /// A new logo URL (`Some(None)`: clear it).
    pub logo_url: Option<Option<String>>,
    /// A new main colour, `#RRGGBB`.
    pub primary_color: Option<String>,
    /// A new accent colour, `#RRGGBB`.
    pub secondary_color: Option<String>,
    /// A new IANA time zone.
    pub time_zone: Option<String>,
    /// A new ISO 4217 currency.
    pub currency: Option<String>,
    /// A new first month of the fiscal year.
    pub fiscal_year_start_month: Option<i32>,
    /// A new number of days back activities may be logged.
    pub activity_open_window_days: Option<i32>,
    /// A new language for names and labels.
    pub locale: Option<crate::core::locale::Locale>,
}

/// Changes the organization's settings and branding (admins); `OrganizationChanged` is
/// published after the commit.
pub async fn update_organization(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: UpdateOrganization,
) -> AppResult<Checked<organization::Model>> {
    policy::may_update_organization(p)?;
    let mut e = Errors::default();
    let patch = OrganizationPatch {
        name: cmd.name.and_then(|n| e.check(model::parse_name("name", &n))),
        display_name: match cmd.display_name {
            None => None,
            Some(None) => Some(None),
            Some(Some(v)) => e.check(model::parse_name("displayName", &v)).map(Some),
        },
        logo_url: match cmd.logo_url {
            None => None,
            Some(None) => Some(None),
            Some(Some(v)) => e.check(model::parse_logo_url(&v)).map(Some),
        },
        primary_color: cmd.primary_color.and_then(|c| e.check(model::parse_color("primaryColor", &c))),
        secondary_color: cmd.secondary_color.and_then(|c| e.check(model::parse_color("secondaryColor", &c))),
        time_zone: cmd.time_zone.and_then(|tz| e.check(model::parse_time_zone(&tz)).map(|tz| tz.name().to_owned())),
        currency: cmd.currency.and_then(|c| e.check(model::parse_currency(&c))),
        fiscal_year_start_month: cmd.fiscal_year_start_month.and_then(|m| e.check(model::parse_fiscal_month(m))),
        activity_open_window_days: cmd
            .activity_open_window_days
            .and_then(|d| e.check(model::parse_open_window_days(d))),
        locale: cmd.locale,
    };
    if !e.0.is_empty() {
        return Ok(Err(e.0));
    }
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let current = store::organization(p.org, unit.db()).await?.ok_or(AppError::NotFound("organization"))?;
    if let Some(v) = cmd.version
        && v != current.version
    {
        return Err(AppError::Conflict(format!(
            "the organization is at version {}, not {v}; reload and try again",
            current.version
        )));
    }
    let updated = store::update_organization(p.org, unit.db(), patch, current.version).await?;
    unit.publish(Event::OrganizationChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(updated))
}

// ---------------------------------------------------------------- teams

/// A team to create.
#[derive(Debug, Clone)]
pub struct CreateTeam {
    /// Its name, as given.
    pub name: String,
    /// Free text, as given.
    pub description: Option<String>,
    /// The team above it (none: a top-level team, admins only).
    pub parent_team_id: Option<Uuid>,
    /// Its manager (an active member).
    pub manager_id: Option<Uuid>,
}

/// Changes to a team; `None` leaves a field as it is.
#[derive(Debug, Clone)]
pub struct UpdateTeam {
    /// The team.
    pub id: Uuid,
    /// The version the change was made against (CONFLICT when it moved on).
    pub version: Option<i32>,
    /// A new name.
    pub name: Option<String>,
    /// A new description (`Some(None)`: clear it).
    pub description: Option<Option<String>>,
    /// A new manager (`Some(None)`: remove the manager).
    pub manager_id: Option<Option<Uuid>>,
}

/// A team to move in the tree.
#[derive(Debug, Clone)]
pub struct MoveTeam {
    /// The team.
    pub id: Uuid,
    /// The version the move was made against (CONFLICT when it moved on).
    pub version: Option<i32>,
    /// Its new parent (none: a top-level team, admins only).
    pub parent_team_id: Option<Uuid>,
}

/// The team `id` of the organization, or NOT_FOUND (also for another organization's).
pub async fn load_team(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<team::Model> {
    store::find_team(org, db, id).await?.ok_or(AppError::NotFound("team"))
}

fn parse_description(e: &mut Errors, raw: Option<String>) -> Option<String> {
    model::parse_free_text("description", raw.as_deref(), 2000).map_err(|x| e.0.push(x)).ok()?
}

/// The member to appoint as a team's manager: active, inside the appointer's reach, and not
/// above the appointer's role (appointing acts on the appointee, under the member rule).
async fn appointable_manager(
    p: &Principal,
    reach: &Reach,
    db: &impl ConnectionTrait,
    id: Uuid,
) -> AppResult<member::Model> {
    let m = store::find_member(p.org, db, id).await?.ok_or(AppError::NotFound("member"))?;
    policy::require_may_change(p, reach, &m, "the new manager")?;
    if !m.active {
        return Err(AppError::bad_input("that member is deactivated"));
    }
    Ok(m)
}

/// What the audit log keeps of a team.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TeamRecord<'a> {
    id: Uuid,
    name: &'a str,
    description: Option<&'a str>,
    parent_team_id: Option<Uuid>,
    manager_id: Option<Uuid>,
    version: i32,
}

fn team_snapshot(t: &team::Model) -> Option<serde_json::Value> {
    snapshot(&TeamRecord {
        id: t.id,
        name: &t.name,
        description: t.description.as_deref(),
        parent_team_id: t.parent_team_id,
        manager_id: t.manager_id,
        version: t.version,
    })
}

/// Records a team change (its manager decides who reaches its members) in the unit that makes it.
async fn audit_team(unit: &Unit, action: &str, before: Option<&team::Model>, after: &team::Model) -> AppResult<()> {
    unit.audit(action, "Team", Some(after.id), before.and_then(team_snapshot), team_snapshot(after)).await
}

/// Creates a team. Admins anywhere; managers below a team they manage. `MembersChanged` is
/// published after the commit.
pub async fn create_team(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: CreateTeam,
) -> AppResult<Checked<team::Model>> {
    policy::may_write_teams(p)?;
    let mut e = Errors::default();
    let name = e.check(model::parse_name("name", &cmd.name));
    let description = parse_description(&mut e, cmd.description);
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let parent = match cmd.parent_team_id {
        Some(id) => Some(load_team(p.org, unit.db(), id).await?.id),
        None => None,
    };
    let reach = p.reach(unit.db()).await?;
    reach.require(parent, "the parent team")?;
    let manager = match cmd.manager_id {
        Some(id) => Some(appointable_manager(p, &reach, unit.db(), id).await?.id),
        None => None,
    };
    let Some(name) = name.filter(|_| e.0.is_empty()) else {
        return Ok(Err(e.0));
    };
    let team = store::create_team(p.org, unit.db(), name, description, parent, manager).await?;
    audit_team(&unit, "team.create", None, &team).await?;
    // Directories in memory (names, the tree, whom a manager reaches) load again.
    unit.publish(Event::MembersChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(team))
}

/// Renames a team, changes its description or manager. Admins; managers inside their subtree.
/// `MembersChanged` is published after the commit.
pub async fn update_team(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: UpdateTeam,
) -> AppResult<Checked<team::Model>> {
    policy::may_write_teams(p)?;
    let mut e = Errors::default();
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let team = load_team(p.org, unit.db(), cmd.id).await?;
    let reach = p.reach(unit.db()).await?;
    reach.require(Some(team.id), "this team")?;
    let manager_id = match cmd.manager_id {
        None => None,
        Some(None) => Some(None),
        Some(Some(id)) => Some(Some(appointable_manager(p, &reach, unit.db(), id).await?.id)),
    };
    // Replacing or removing a manager acts on that manager too.
    if let (Some(new), Some(current)) = (manager_id, team.manager_id)
        && new != Some(current)
        && let Some(current) = store::find_member(p.org, unit.db(), current).await?
    {
        policy::require_may_change(p, &reach, &current, "the team's current manager")?;
    }
    let patch = TeamPatch {
        name: cmd.name.and_then(|n| e.check(model::parse_name("name", &n))),
        description: match cmd.description {
            None => None,
            Some(None) => Some(None),
            Some(Some(d)) => Some(parse_description(&mut e, Some(d))),
        },
        parent_team_id: None,
        manager_id,
    };
    if !e.0.is_empty() {
        return Ok(Err(e.0));
    }
    let before = team;
    let team = store::update_team(p.org, unit.db(), before.id, patch, cmd.version).await?;
    audit_team(&unit, "team.update", Some(&before), &team).await?;
    // A new name shows on every board; a new manager changes whom they reach.
    unit.publish(Event::MembersChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(team))
}

/// Moves a team under another one (or to the top). A move that would put a team below itself
/// is refused with a `CYCLE` field error. Admins; managers inside their subtree.
/// `MembersChanged` is published after the commit.
pub async fn move_team(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: MoveTeam,
) -> AppResult<Checked<team::Model>> {
    policy::may_write_teams(p)?;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    // The cycle check reads the whole tree: an opposite move must not pass it at the same time.
    unit.serialize(Section::TeamTree).await?;
    let team = load_team(p.org, unit.db(), cmd.id).await?;
    let parent = match cmd.parent_team_id {
        Some(id) => Some(load_team(p.org, unit.db(), id).await?.id),
        None => None,
    };
    let reach = p.reach(unit.db()).await?;
    reach.require(Some(team.id), "this team")?;
    reach.require(parent, "the new parent team")?;
    if let Some(parent) = parent
        && store::team_tree(p.org, unit.db()).await?.would_create_cycle(team.id, parent)
    {
        return Ok(Err(vec![FieldError::new("parentTeamId", "CYCLE", "a team cannot be moved below itself")]));
    }
    let patch = TeamPatch { parent_team_id: Some(parent), ..Default::default() };
    let before = team;
    let team = store::update_team(p.org, unit.db(), before.id, patch, cmd.version).await?;
    audit_team(&unit, "team.move", Some(&before), &team).await?;
    unit.publish(Event::MembersChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(team))
}

// ---------------------------------------------------------------- members

/// A member to create.
#[derive(Debug, Clone)]
pub struct CreateMember {
    /// Full name, as given.
    pub name: String,
    /// E-mail, as given.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Sales role.
    pub sales_role: SalesRole,
    /// Team.
    pub team_id: Option<Uuid>,
    /// First working day (default today).
    pub start_date: Option<NaiveDate>,
    /// Initial password; without one the member signs in through an identity provider.
    pub password: Option<String>,
    /// Picture URL.
    pub avatar_url: Option<String>,
}

/// Changes to a member; `None` leaves a field as it is.
#[derive(Debug, Clone)]
pub struct UpdateMember {
    /// The member.
    pub id: Uuid,
    /// The version the change was made against (CONFLICT when it moved on).
    pub version: Option<i32>,
    /// A new name.
    pub name: Option<String>,
    /// A new e-mail.
    pub email: Option<String>,
    /// A new role.
    pub role: Option<Role>,
    /// A new sales role.
    pub sales_role: Option<SalesRole>,
    /// A new team (`Some(None)`: no team).
    pub team_id: Option<Option<Uuid>>,
    /// A new start date.
    pub start_date: Option<NaiveDate>,
    /// A new picture URL (`Some(None)`: remove it).
    pub avatar_url: Option<Option<String>>,
}

/// What the audit log keeps of a member: the profile, never the password hash.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberRecord<'a> {
    id: Uuid,
    name: &'a str,
    email: &'a str,
    role: &'a str,
    sales_role: &'a str,
    team_id: Option<Uuid>,
    start_date: NaiveDate,
    avatar_url: Option<&'a str>,
    active: bool,
    deactivated_at: Option<DateTime<Utc>>,
    has_password: bool,
    version: i32,
}

/// The member as the audit log records it.
pub fn member_snapshot(m: &member::Model) -> Option<serde_json::Value> {
    snapshot(&MemberRecord {
        id: m.id,
        name: &m.name,
        email: &m.email,
        role: &m.role,
        sales_role: &m.sales_role,
        team_id: m.team_id,
        start_date: m.start_date,
        avatar_url: m.avatar_url.as_deref(),
        active: m.active,
        deactivated_at: m.deactivated_at,
        has_password: m.password_hash.is_some(),
        version: m.version,
    })
}

/// Records a member change in the unit that makes it.
pub async fn audit_member(
    unit: &Unit,
    action: &str,
    before: Option<&member::Model>,
    after: &member::Model,
) -> AppResult<()> {
    unit.audit(action, "Member", Some(after.id), before.and_then(member_snapshot), member_snapshot(after)).await
}

fn email_taken() -> FieldError {
    FieldError::new("email", "TAKEN", "another member already uses this e-mail address")
}

/// Creates a member (admins). `MembersChanged` is published after the commit.
pub async fn create_member(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: CreateMember,
) -> AppResult<Checked<member::Model>> {
    policy::may_create_members(p)?;
    policy::require_may_grant(p, cmd.role)?;
    let mut e = Errors::default();
    let name = e.check(model::parse_name("name", &cmd.name));
    let email = e.check(model::parse_email(&cmd.email));
    if let Some(pw) = &cmd.password
        && let Err(msg) = password::check_strength(pw, &[&cmd.name, &cmd.email])
    {
        e.0.push(FieldError::new("password", "INVALID", msg));
    }
    let start_date = cmd.start_date.unwrap_or_else(|| Utc::now().date_naive());
    if let Err(err) = model::check_start_date(start_date) {
        e.0.push(err);
    }
    let avatar_url = cmd.avatar_url.and_then(|u| e.check(model::parse_image_url("avatarUrl", &u)));
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let team_id = match cmd.team_id {
        Some(id) => Some(load_team(p.org, unit.db(), id).await?.id),
        None => None,
    };
    p.reach(unit.db()).await?.require(team_id, "the team")?;
    if let Some(email) = &email
        && store::find_member_by_email(p.org, unit.db(), email).await?.is_some()
    {
        e.0.push(email_taken());
    }
    let (Some(name), Some(email), true) = (name, email, e.0.is_empty()) else {
        return Ok(Err(e.0));
    };
    let password_hash = match cmd.password {
        Some(pw) => Some(password::hash(pw).await?),
        None => None,
    };
    let new = NewMember {
        name,
        email,
        role: cmd.role,
        sales_role: cmd.sales_role,
        team_id,
        start_date,
        password_hash,
        avatar_url,
    };
    match store::create_member(p.org, unit.db(), new).await {
        Ok(member) => {
            audit_member(&unit, "member.create", None, &member).await?;
            unit.publish(Event::MembersChanged { org: p.org.0 });
            unit.commit().await?;
            Ok(Ok(member))
        }
        Err(err) if store::is_unique_violation(&err) => Ok(Err(vec![email_taken()])),
        Err(err) => Err(err),
    }
}

/// Changes a member. Admins: anything. Managers: members inside their subtree whose role is
/// not above theirs, not roles. A member may change their own name. `MembersChanged` is
/// published after the commit.
pub async fn update_member(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: UpdateMember,
) -> AppResult<Checked<member::Model>> {
    let mut e = Errors::default();
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let target = store::find_member(p.org, unit.db(), cmd.id).await?.ok_or(AppError::NotFound("member"))?;
    let only_own_name = target.id == p.member_id
        && p.role != Role::Admin
        && cmd.email.is_none()
        && cmd.role.is_none()
        && cmd.sales_role.is_none()
        && cmd.team_id.is_none()
        && cmd.start_date.is_none();
    // A member may also change their own picture.
    let new_team = match cmd.team_id {
        None => None,
        Some(None) => Some(None),
        Some(Some(id)) => Some(Some(load_team(p.org, unit.db(), id).await?.id)),
    };
    if !only_own_name {
        policy::may_write_members(p)?;
        let reach = p.reach(unit.db()).await?;
        policy::require_may_change(p, &reach, &target, "this member")?;
        if let Some(team) = new_team {
            reach.require(team, "the new team")?;
        }
        if let Some(role) = cmd.role.filter(|r| Some(*r) != Role::parse(&target.role)) {
            policy::may_assign_roles(p)?;
            policy::require_may_grant(p, role)?;
        }
    }
    let email = cmd.email.and_then(|m| e.check(model::parse_email(&m)));
    if let Some(email) = &email
        && let Some(other) = store::find_member_by_email(p.org, unit.db(), email).await?
        && other.id != target.id
    {
        e.0.push(email_taken());
    }
    if let Some(d) = cmd.start_date
        && let Err(err) = model::check_start_date(d)
    {
        e.0.push(err);
    }
    let avatar_url = match cmd.avatar_url {
        None => None,
        Some(None) => Some(None),
        Some(Some(u)) => e.check(model::parse_image_url("avatarUrl", &u)).map(Some),
    };
    let patch = MemberPatch {
        avatar_url,
        name: cmd.name.and_then(|n| e.check(model::parse_name("name", &n))),
        email,
        role: cmd.role,
        sales_role: cmd.sales_role,
        team_id: new_team,
        start_date: cmd.start_date,
        ..Default::default()
    };
    if !e.0.is_empty() {
        return Ok(Err(e.0));
    }
    // The rule was checked against the member as read above: the write applies only to that
    // version, so a concurrent promotion cannot slip an edit past it.
    let version = cmd.version.unwrap_or(target.version);
    match store::update_member(p.org, unit.db(), target.id, patch, Some(version)).await {
        Ok(member) => {
            for (action, changed) in [
                ("member.changeRole", member.role != target.role),
                ("member.changeEmail", member.email != target.email),
                (
                    "member.update",
                    member.name != target.name
                        || member.sales_role != target.sales_role
                        || member.team_id != target.team_id
                        || member.start_date != target.start_date
                        || member.avatar_url != target.avatar_url,
                ),
            ] {
                if changed {
                    audit_member(&unit, action, Some(&target), &member).await?;
                }
            }
            unit.publish(Event::MembersChanged { org: p.org.0 });
            unit.commit().await?;
            Ok(Ok(member))
        }
        Err(err) if store::is_unique_violation(&err) => Ok(Err(vec![email_taken()])),
        Err(err) => Err(err),
    }
}

/// Deactivates (`active` false: they can no longer log in, their logins end, their history
/// stays) or reactivates a member, under the member rule. `MembersChanged` is published after
/// the commit.
pub async fn set_member_active(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    id: Uuid,
    active: bool,
) -> AppResult<Checked<member::Model>> {
    policy::may_write_members(p)?;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let target = store::find_member(p.org, unit.db(), id).await?.ok_or(AppError::NotFound("member"))?;
    policy::require_may_change(p, &p.reach(unit.db()).await?, &target, "this member")?;
    if target.id == p.member_id && !active {
        return Ok(Err(vec![FieldError::new("id", "SELF", "you cannot deactivate yourself")]));
    }
    let patch = MemberPatch { active: Some(active), ..Default::default() };
    let member = store::update_member(p.org, unit.db(), target.id, patch, Some(target.version)).await?;
    if !active {
        crate::auth::store::revoke_member(p.org, unit.db(), target.id).await?;
    }
    let action = if active { "member.reactivate" } else { "member.deactivate" };
    audit_member(&unit, action, Some(&target), &member).await?;
    unit.publish(Event::MembersChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(member))
}

/// Where a host must serve its verification token.
pub const VERIFICATION_PATH: &str = "/.well-known/scorebord-verification.txt";

/// Adds a host name the organization's front end is served on (admins, not keys), unverified:
/// requests on it are served as the organization's only after `verify_domain`. Refused with
/// `TAKEN` when any organization holds it.
pub async fn add_domain(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    host: &str,
) -> AppResult<Checked<entity::organization_domain::Model>> {
    policy::may_manage_domains(p)?;
    let host = match model::parse_host(host) {
        Ok(h) => h,
        Err(e) => return Ok(Err(vec![e])),
    };
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    if super::hosts::host_taken(unit.db(), &host).await? {
        return Ok(Err(vec![FieldError::new("host", "TAKEN", "this host name is in use already")]));
    }
    let token = format!("scorebord-verification={}", crate::auth::store::new_secret());
    let added = store::add_domain(p.org, unit.db(), host, token).await?;
    unit.audit(
        "organizationDomain.add",
        "OrganizationDomain",
        Some(added.id),
        None,
        snapshot(&domain_snapshot(&added)),
    )
    .await?;
    unit.publish(Event::MembersChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(added))
}

fn domain_snapshot(d: &entity::organization_domain::Model) -> serde_json::Value {
    serde_json::json!({"host": d.host, "verifiedAt": d.verified_at})
}

/// Verifies a host name (admins, not keys): the host must serve the token at
/// [`VERIFICATION_PATH`] (https; http only where private networks are allowed, for local
/// development). Refused with `NOT_SERVED` and the reason otherwise.
pub async fn verify_domain(
    db: &DatabaseConnection,
    bus: &EventBus,
    client: &reqwest::Client,
    allow_http: bool,
    p: &Principal,
    host: &str,
) -> AppResult<Checked<entity::organization_domain::Model>> {
    policy::may_manage_domains(p)?;
    let host = model::parse_host(host).map_err(|e| AppError::bad_input(e.message))?;
    let domain = store::find_domain(p.org, db, &host).await?.ok_or(AppError::NotFound("host name"))?;
    if domain.verified_at.is_some() {
        return Ok(Ok(domain));
    }
    let scheme = if allow_http { "http" } else { "https" };
    let url = format!("{scheme}://{host}{VERIFICATION_PATH}");
    let served = match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => r.text().await.map_err(|e| e.to_string()),
        Ok(r) => Err(format!("HTTP {}", r.status())),
        Err(e) => Err(e.to_string()),
    };
    match served {
        Ok(body) if body.trim() == domain.verification_token => {}
        Ok(_) => {
            return Ok(Err(vec![FieldError::new(
                "host",
                "NOT_SERVED",
                format!("{url} does not serve the verification token"),
            )]));
        }
        Err(why) => {
            return Ok(Err(vec![FieldError::new("host", "NOT_SERVED", format!("{url} could not be read: {why}"))]));
        }
    }
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    store::verify_domain(p.org, unit.db(), &host).await?;
    let after = store::find_domain(p.org, unit.db(), &host).await?.ok_or(AppError::NotFound("host name"))?;
    unit.audit(
        "organizationDomain.verify",
        "OrganizationDomain",
        Some(after.id),
        snapshot(&domain_snapshot(&domain)),
        snapshot(&domain_snapshot(&after)),
    )
    .await?;
    unit.publish(Event::MembersChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(after))
}

/// Removes a host name (admins, not keys): requests on it stop naming the organization at once.
pub async fn remove_domain(db: &DatabaseConnection, bus: &EventBus, p: &Principal, host: &str) -> AppResult<bool> {
    policy::may_manage_domains(p)?;
    let host = model::parse_host(host).map_err(|e| AppError::bad_input(e.message))?;
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    let Some(before) = store::find_domain(p.org, unit.db(), &host).await? else { return Ok(false) };
    store::remove_domain(p.org, unit.db(), &host).await?;
    unit.audit(
        "organizationDomain.remove",
        "OrganizationDomain",
        Some(before.id),
        snapshot(&domain_snapshot(&before)),
        None,
    )
    .await?;
    unit.publish(Event::MembersChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(true)
}

/// Sets the signed-in member's own language, or with `None` follows the organization's again.
/// `MembersChanged` follows the commit (the directory that answers names holds it).
pub async fn set_my_locale(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    locale: Option<crate::core::locale::Locale>,
) -> AppResult<member::Model> {
    if p.api_key.is_some() || p.firm_staff.is_some() {
        return Err(AppError::forbidden("only a member signed in chooses their own language"));
    }
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    store::find_member(p.org, unit.db(), p.member_id).await?.ok_or(AppError::NotFound("member"))?;
    store::set_member_locale(p.org, unit.db(), p.member_id, locale).await?;
    let after = store::find_member(p.org, unit.db(), p.member_id).await?.ok_or(AppError::NotFound("member"))?;
    unit.publish(Event::MembersChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(after)
}

// ---------------------------------------------------------------- label overrides

/// An organization's own label for an enum value in one language; no label puts the built-in
/// one back.
#[derive(Debug, Clone)]
pub struct SetEnumLabel {
    /// The enum's GraphQL name (`Role`, `SalesRole`, …).
    pub enum_name: &'static str,
    /// The value (`REP`).
    pub value: String,
    /// The language.
    pub locale: crate::core::locale::Locale,
    /// The label, as given; `None` or blank removes the override.
    pub label: Option<String>,
}

/// Sets or removes the organization's own label for an enum value (who may change the
/// organization's settings). Directories reload (`OrganizationChanged`), so the next answer
/// shows it.
pub async fn set_enum_label(
    db: &DatabaseConnection,
    bus: &EventBus,
    p: &Principal,
    cmd: SetEnumLabel,
) -> AppResult<Checked<Option<String>>> {
    use crate::core::locale::{Locale, label};
    policy::may_update_organization(p)?;
    let value = cmd.value.trim().to_owned();
    if label(cmd.enum_name, &value, Locale::En).is_none() {
        return Ok(Err(vec![FieldError::new(
            "value",
            "INVALID",
            format!("'{value}' is not a value of {} with a label", cmd.enum_name),
        )]));
    }
    let given = match cmd.label.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        None => None,
        Some(l) => match model::parse_name("label", l) {
            Ok(l) => Some(l),
            Err(e) => return Ok(Err(vec![e])),
        },
    };
    let mut unit = Unit::begin(db, bus, p.org, p.into()).await?;
    match &given {
        Some(l) => {
            let o = store::LabelOverride {
                subject: cmd.enum_name.to_owned(),
                key: value,
                locale: cmd.locale,
                label: l.clone(),
                description: None,
            };
            store::put_label_override(p.org, unit.db(), o).await?;
        }
        None => {
            store::remove_label_override(p.org, unit.db(), cmd.enum_name, &value, cmd.locale).await?;
        }
    }
    unit.publish(Event::OrganizationChanged { org: p.org.0 });
    unit.commit().await?;
    Ok(Ok(given))
}

/// Sets or removes the organization's own name and description of a built-in KPI in one
/// language (the KPI area checks the key and who may define KPIs).
pub async fn set_kpi_label(
    unit: &mut Unit,
    p: &Principal,
    key: &str,
    locale: crate::core::locale::Locale,
    label: Option<(String, Option<String>)>,
) -> AppResult<()> {
    match label {
        Some((label, description)) => {
            let o =
                store::LabelOverride { subject: KPI_LABEL.to_owned(), key: key.to_owned(), locale, label, description };
            store::put_label_override(p.org, unit.db(), o).await?;
        }
        None => {
            store::remove_label_override(p.org, unit.db(), KPI_LABEL, key, locale).await?;
        }
    }
    unit.publish(Event::OrganizationChanged { org: p.org.0 });
    Ok(())
}

/// The subject of a built-in KPI's override.
pub const KPI_LABEL: &str = "Kpi";
