//! A consulting firm's use-cases: setting a firm up (the CLI), its staff and their grants, and
//! its clients: created from a template in one transaction, suspended and resumed. Every change
//! to a client is audited in that client's log as the staff member who made it; staff changes
//! belong to no organization's log.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use entity::{firm, firm_staff, member, organization};

use super::model::{self, ClientStatus};
use super::store::Usage;
use super::{policy, store};
use crate::auth::password;
use crate::core::error::{AppError, AppResult};
use crate::core::field::{Checked, FieldError};
use crate::core::ids::OrgId;
use crate::core::principal::{FirmRole, FirmStaff};
use crate::core::roles::{Role, SalesRole};
use crate::db::unit::{Actor, Unit, snapshot};
use crate::events::{Event, EventBus};
use crate::org::model as org_model;
use crate::org::store as org_store;
use crate::template::service::Applied;

/// A person to create, as given: a firm's staff member or a client's first admin.
#[derive(Debug, Clone)]
pub struct NewPerson {
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Password; `None` generates one, returned once.
    pub password: Option<String>,
}

/// A person's fields checked, under `at` (`firstAdmin`, or the input itself when empty).
fn check_person(at: &str, person: &NewPerson, e: &mut Vec<FieldError>) -> Option<(String, String, String, bool)> {
    let under = |mut err: FieldError| {
        if !at.is_empty() {
            err.field.insert(1, at.to_owned());
        }
        err
    };
    let name = org_model::parse_name("name", &person.name).map_err(|x| e.push(under(x))).ok();
    let email = org_model::parse_email(&person.email).map_err(|x| e.push(under(x))).ok();
    let (password, generated) = match &person.password {
        Some(pw) => (pw.clone(), false),
        None => (crate::auth::store::new_secret()[..20].to_owned(), true),
    };
    if let (Some(name), Some(email)) = (&name, &email)
        && let Err(msg) = password::check_strength(&password, &[name, email])
    {
        e.push(under(FieldError::new("password", "INVALID", msg)));
    }
    match (name, email) {
        (Some(name), Some(email)) if e.is_empty() => Some((name, email, password, generated)),
        _ => None,
    }
}

/// A firm and its first firm admin, as created by `scorebord firm create`.
#[derive(Debug, Clone)]
pub struct CreatedFirm {
    /// The firm.
    pub firm: firm::Model,
    /// Its first firm admin.
    pub admin: firm_staff::Model,
    /// The admin's password, when it was generated (shown once).
    pub password: Option<String>,
}

/// Sets a firm up with its first firm admin (the CLI: whoever holds the database URL).
pub async fn create_firm(
    db: &DatabaseConnection,
    name: &str,
    slug: &str,
    admin: NewPerson,
) -> AppResult<Checked<CreatedFirm>> {
    let mut e = Vec::new();
    let name = org_model::parse_name("name", name).map_err(|x| e.push(x)).ok();
    let slug = org_model::parse_slug(slug).map_err(|x| e.push(x)).ok();
    let person = check_person("admin", &admin, &mut e);
    let (Some(name), Some(slug), Some((admin_name, email, pw, generated))) = (name, slug, person) else {
        return Ok(Err(e));
    };
    let tx = crate::db::begin_write(db).await.map_err(AppError::from)?;
    if store::find_firm_by_slug(&tx, &slug).await?.is_some() {
        return Ok(Err(vec![FieldError::new("slug", "TAKEN", format!("a firm with slug '{slug}' exists already"))]));
    }
    let firm = store::create_firm(&tx, name, slug).await?;
    let hash = password::hash(pw.clone()).await?;
    let new = store::NewStaff { name: admin_name, email, password_hash: hash, role: FirmRole::FirmAdmin };
    let admin = store::create_staff(firm.id, &tx, new).await?;
    tx.commit().await.map_err(AppError::from)?;
    Ok(Ok(CreatedFirm { firm, admin, password: generated.then_some(pw) }))
}

/// A client organization to create, as given.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// Name.
    pub name: String,
    /// Slug (unique across the server).
    pub slug: String,
    /// IANA time zone.
    pub time_zone: String,
    /// ISO 4217 currency.
    pub currency: String,
    /// Name shown in front ends.
    pub display_name: Option<String>,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// Brand colour (default `#1F2937`).
    pub primary_color: Option<String>,
    /// Second brand colour (default `#10B981`).
    pub secondary_color: Option<String>,
    /// The client's first admin.
    pub first_admin: NewPerson,
    /// The language names and labels are answered in.
    pub locale: crate::core::locale::Locale,
    /// Set up from the built-in starter.
    pub starter: bool,
    /// Set up as a copy of this client's set-up (never its people or data).
    pub copy_from: Option<Uuid>,
}

/// A created client.
#[derive(Debug, Clone)]
pub struct CreatedClient {
    /// The organization.
    pub organization: organization::Model,
    /// Its first admin.
    pub admin: member::Model,
    /// The admin's password, when it was generated (shown once).
    pub password: Option<String>,
    /// What the template set up, if one was applied.
    pub applied: Option<Applied>,
    /// Whether another client's set-up was copied.
    pub copied: bool,
}

/// Creates a client organization of the caller's firm, its first admin and, if asked, its
/// set-up from the starter: one transaction, audited in the new client's log (firm admins).
pub async fn create_client(
    db: &DatabaseConnection,
    bus: &EventBus,
    staff: FirmStaff,
    cmd: NewClient,
) -> AppResult<Checked<CreatedClient>> {
    policy::may_administer(&staff)?;
    let mut e = Vec::new();
    let name = org_model::parse_name("name", &cmd.name).map_err(|x| e.push(x)).ok();
    let slug = org_model::parse_slug(&cmd.slug).map_err(|x| e.push(x)).ok();
    let tz = org_model::parse_time_zone(&cmd.time_zone).map_err(|x| e.push(x)).ok();
    let currency = org_model::parse_currency(&cmd.currency).map_err(|x| e.push(x)).ok();
    let display_name = match &cmd.display_name {
        Some(d) => org_model::parse_name("displayName", d).map_err(|x| e.push(x)).ok(),
        None => None,
    };
    let logo_url = match &cmd.logo_url {
        Some(u) => org_model::parse_logo_url(u).map_err(|x| e.push(x)).ok(),
        None => None,
    };
    let primary = org_model::parse_color("primaryColor", cmd.primary_color.as_deref().unwrap_or("#1F2937"))
        .map_err(|x| e.push(x))
        .ok();
    let secondary = org_model::parse_color("secondaryColor", cmd.secondary_color.as_deref().unwrap_or("#10B981"))
        .map_err(|x| e.push(x))
        .ok();
    let person = check_person("firstAdmin", &cmd.first_admin, &mut e);
    if cmd.starter && cmd.copy_from.is_some() {
        e.push(FieldError::new("copySetupFrom", "ONE_OF", "start from a template or copy a client's set-up, not both"));
    }
    // Only a client the caller may see is copied (another firm's is NOT_FOUND).
    let setup = match cmd.copy_from {
        Some(source) => {
            client(db, staff, source).await?;
            Some(crate::archive::service::read_setup(db, OrgId(source)).await?)
        }
        None => None,
    };
    let (Some(name), Some(slug), Some(tz), Some(currency), Some(primary), Some(secondary), Some(person), true) =
        (name, slug, tz, currency, primary, secondary, person, e.is_empty())
    else {
        return Ok(Err(e));
    };
    let (admin_name, email, pw, generated) = person;
    let hash = password::hash(pw.clone()).await?;
    let id = Uuid::now_v7();
    let mut unit = Unit::begin(db, bus, OrgId(id), Actor::FirmStaff(staff.staff_id)).await?;
    if org_store::find_org_by_slug(unit.db(), &slug).await?.is_some() {
        return Ok(Err(vec![FieldError::new(
            "slug",
            "TAKEN",
            format!("an organization with slug '{slug}' exists already"),
        )]));
    }
    let new = org_store::NewOrganization {
        name,
        slug,
        time_zone: tz.name().to_owned(),
        currency,
        fiscal_year_start_month: 1,
        primary_color: primary,
        secondary_color: secondary,
        display_name,
        logo_url,
        locale: cmd.locale,
    };
    let organization = org_store::create_organization_of(unit.db(), id, new, Some(staff.firm_id)).await?;
    unit.audit("organization.create", "Organization", Some(id), None, snapshot(&client_snapshot(&organization)))
        .await?;
    let today = crate::core::period::local_date(Utc::now(), tz);
    let admin = org_store::create_member(
        OrgId(id),
        unit.db(),
        org_store::NewMember {
            name: admin_name,
            email,
            role: Role::Admin,
            sales_role: SalesRole::Manager,
            team_id: None,
            start_date: today,
            password_hash: Some(hash),
            avatar_url: None,
        },
    )
    .await?;
    crate::org::service::audit_member(&unit, "member.create", None, &admin).await?;
    let copied = setup.is_some();
    if let (Some(setup), Some(source)) = (setup, cmd.copy_from) {
        crate::archive::service::write_setup(&mut unit, setup, OrgId(source), admin.id).await?;
        unit.audit("organization.copySetup", "Organization", Some(id), None, Some(serde_json::json!({"from": source})))
            .await?;
    }
    let applied = if cmd.starter {
        match crate::template::service::starter_into(&mut unit, admin.id).await? {
            Ok(applied) => Some(applied),
            Err(errors) => return Ok(Err(errors)),
        }
    } else {
        None
    };
    unit.publish(Event::MembersChanged { org: id });
    unit.commit().await?;
    Ok(Ok(CreatedClient { organization, admin, password: generated.then_some(pw), applied, copied }))
}

/// What a client's audit entry shows of it.
fn client_snapshot(o: &organization::Model) -> serde_json::Value {
    serde_json::json!({
        "name": o.name, "slug": o.slug, "status": o.status, "timeZone": o.time_zone, "currency": o.currency,
        "firmId": o.firm_id,
    })
}

/// Suspends or resumes a client of the caller's firm (firm admins). A suspended client's
/// sign-ins, tokens and keys are refused from the next request on (`MembersChanged` drops its
/// cached members and rechecks its open sockets); nothing is deleted. Another firm's client is
/// NOT_FOUND.
pub async fn set_client_status(
    db: &DatabaseConnection,
    bus: &EventBus,
    staff: FirmStaff,
    client: Uuid,
    status: ClientStatus,
) -> AppResult<Checked<organization::Model>> {
    policy::may_administer(&staff)?;
    let mut unit = Unit::begin(db, bus, OrgId(client), Actor::FirmStaff(staff.staff_id)).await?;
    let before =
        store::find_client(staff.firm_id, unit.db(), client).await?.ok_or(AppError::NotFound("client organization"))?;
    if before.status == status.as_str() {
        let what = if status == ClientStatus::Suspended { "suspended" } else { "active" };
        return Ok(Err(vec![FieldError::new("id", "UNCHANGED", format!("the organization is {what} already"))]));
    }
    store::set_client_status(staff.firm_id, unit.db(), OrgId(client), status.as_str()).await?;
    let after =
        store::find_client(staff.firm_id, unit.db(), client).await?.ok_or(AppError::NotFound("client organization"))?;
    let action = if status == ClientStatus::Suspended { "organization.suspend" } else { "organization.resume" };
    unit.audit(action, "Organization", Some(client), Some(client_snapshot(&before)), Some(client_snapshot(&after)))
        .await?;
    unit.publish(Event::MembersChanged { org: client });
    unit.publish(Event::AccessChanged { org: client });
    unit.commit().await?;
    Ok(Ok(after))
}

/// A staff member to add, as given.
#[derive(Debug, Clone)]
pub struct NewStaffMember {
    /// Name, e-mail and password.
    pub person: NewPerson,
    /// Role in the firm.
    pub role: FirmRole,
}

/// Adds a staff member to the caller's firm (firm admins).
pub async fn create_staff(
    db: &DatabaseConnection,
    staff: FirmStaff,
    cmd: NewStaffMember,
) -> AppResult<Checked<(firm_staff::Model, Option<String>)>> {
    policy::may_administer(&staff)?;
    let mut e = Vec::new();
    let Some((name, email, pw, generated)) = check_person("", &cmd.person, &mut e) else {
        return Ok(Err(e));
    };
    let hash = password::hash(pw.clone()).await?;
    let tx = crate::db::begin_write(db).await.map_err(AppError::from)?;
    if store::find_staff_by_email(staff.firm_id, &tx, &email).await?.is_some() {
        return Ok(Err(vec![FieldError::new("email", "TAKEN", "a staff member with this e-mail exists already")]));
    }
    let new = store::NewStaff { name, email, password_hash: hash, role: cmd.role };
    let created = store::create_staff(staff.firm_id, &tx, new).await?;
    tx.commit().await.map_err(AppError::from)?;
    Ok(Ok((created, generated.then_some(pw))))
}

/// Grants a consultant `role` in a client of the firm, or with `None` takes the grant back
/// (firm admins). Audited in the client's log; the client's open sockets are checked again.
pub async fn set_grant(
    db: &DatabaseConnection,
    bus: &EventBus,
    staff: FirmStaff,
    consultant: Uuid,
    client: Uuid,
    role: Option<Role>,
) -> AppResult<Checked<Option<Role>>> {
    policy::may_administer(&staff)?;
    if let Some(r) = role
        && !model::grantable(r)
    {
        return Ok(Err(vec![FieldError::new(
            "role",
            "NOT_GRANTABLE",
            format!("a firm grants {} only", model::GRANTABLE.map(|r| r.as_str()).join(" or ")),
        )]));
    }
    let mut unit = Unit::begin(db, bus, OrgId(client), Actor::FirmStaff(staff.staff_id)).await?;
    store::find_client(staff.firm_id, unit.db(), client).await?.ok_or(AppError::NotFound("client organization"))?;
    let person =
        store::find_staff(staff.firm_id, unit.db(), consultant).await?.ok_or(AppError::NotFound("staff member"))?;
    if FirmRole::parse(&person.role) != Some(FirmRole::FirmConsultant) {
        return Ok(Err(vec![FieldError::new(
            "staffId",
            "NOT_A_CONSULTANT",
            "a firm admin acts as an admin in every client; grants are for consultants",
        )]));
    }
    let before = store::granted_role(staff.firm_id, unit.db(), consultant, OrgId(client)).await?;
    match role {
        Some(r) => {
            store::set_grant(staff.firm_id, unit.db(), consultant, OrgId(client), r).await?;
        }
        None => {
            store::revoke_grant(staff.firm_id, unit.db(), consultant, OrgId(client)).await?;
        }
    }
    let show = |r: Option<Role>| serde_json::json!({"staffId": consultant, "role": r.map(Role::as_str)});
    unit.audit("firmGrant.set", "FirmGrant", None, Some(show(before)), Some(show(role))).await?;
    unit.publish(Event::MembersChanged { org: client });
    unit.commit().await?;
    Ok(Ok(role))
}

/// The caller's firm.
pub async fn firm(db: &DatabaseConnection, staff: FirmStaff) -> AppResult<firm::Model> {
    store::find_firm(db, staff.firm_id).await?.ok_or(AppError::NotFound("firm"))
}

/// The caller's firm's staff (firm admins see everyone; a consultant sees themself).
pub async fn staff_list(db: &DatabaseConnection, staff: FirmStaff) -> AppResult<Vec<firm_staff::Model>> {
    let all = store::all_staff(staff.firm_id, db).await?;
    Ok(match staff.role {
        FirmRole::FirmAdmin => all,
        FirmRole::FirmConsultant => all.into_iter().filter(|s| s.id == staff.staff_id).collect(),
    })
}

/// The clients a staff member may see: all of the firm's for a firm admin, those they hold a
/// grant in for a consultant.
pub async fn visible_clients(db: &DatabaseConnection, staff: FirmStaff) -> AppResult<Option<Vec<Uuid>>> {
    if policy::sees_every_client(&staff) {
        return Ok(None);
    }
    Ok(Some(store::grants_of(staff.firm_id, db, staff.staff_id).await?.into_iter().map(|g| g.client_id).collect()))
}

/// One client of the firm the caller may see; NOT_FOUND otherwise (another firm's too).
pub async fn client(db: &DatabaseConnection, staff: FirmStaff, id: Uuid) -> AppResult<organization::Model> {
    let visible = visible_clients(db, staff).await?.is_none_or(|ids| ids.contains(&id));
    match store::find_client(staff.firm_id, db, id).await? {
        Some(o) if visible => Ok(o),
        _ => Err(AppError::NotFound("client organization")),
    }
}

/// The usage of clients (already checked to be the caller's), keyed by organization ID: each
/// counted in its own time zone's current month.
pub async fn usage(db: &DatabaseConnection, clients: &[organization::Model]) -> AppResult<HashMap<Uuid, Usage>> {
    let now = Utc::now();
    let months: Vec<(OrgId, chrono::NaiveDate)> = clients
        .iter()
        .map(|o| {
            let tz = o.time_zone.parse::<chrono_tz::Tz>().unwrap_or(chrono_tz::UTC);
            (OrgId(o.id), model::month_start(crate::core::period::local_date(now, tz)))
        })
        .collect();
    store::usage(db, &months).await
}

/// A staff member's grants (firm admins: anyone's in the firm; consultants: their own).
pub async fn grants(db: &DatabaseConnection, staff: FirmStaff, of: Uuid) -> AppResult<Vec<entity::firm_grant::Model>> {
    if !policy::sees_every_client(&staff) && of != staff.staff_id {
        return Err(AppError::forbidden("a consultant sees their own grants only"));
    }
    store::grants_of(staff.firm_id, db, of).await
}

/// What a deletion request did.
#[derive(Debug, Clone)]
pub enum Deletion {
    /// The client is refused from now on and erased at this moment, unless cancelled.
    Pending(Box<organization::Model>),
    /// The grace period is zero: every row is gone already.
    Erased,
}

/// Requests a client's deletion (firm admins): it is refused like a suspended client at once,
/// and every row of it is erased once `grace` has passed (at once for a zero grace), unless
/// the deletion is cancelled before. Audited in the client's log while it exists.
pub async fn request_deletion(
    db: &DatabaseConnection,
    bus: &EventBus,
    staff: FirmStaff,
    client: Uuid,
    grace: chrono::Duration,
) -> AppResult<Checked<Deletion>> {
    policy::may_administer(&staff)?;
    let mut unit = Unit::begin(db, bus, OrgId(client), Actor::FirmStaff(staff.staff_id)).await?;
    let before =
        store::find_client(staff.firm_id, unit.db(), client).await?.ok_or(AppError::NotFound("client organization"))?;
    if before.status == ClientStatus::DeletionPending.as_str() {
        return Ok(Err(vec![FieldError::new("id", "UNCHANGED", "its deletion is requested already")]));
    }
    let due = Utc::now() + grace;
    store::set_deletion(staff.firm_id, unit.db(), OrgId(client), Some(due)).await?;
    let after =
        store::find_client(staff.firm_id, unit.db(), client).await?.ok_or(AppError::NotFound("client organization"))?;
    unit.audit(
        "organization.requestDeletion",
        "Organization",
        Some(client),
        Some(client_snapshot(&before)),
        Some(client_snapshot(&after)),
    )
    .await?;
    unit.publish(Event::MembersChanged { org: client });
    unit.publish(Event::AccessChanged { org: client });
    unit.commit().await?;
    if grace <= chrono::Duration::zero() {
        crate::archive::service::erase(db, bus, OrgId(client)).await?;
        return Ok(Ok(Deletion::Erased));
    }
    Ok(Ok(Deletion::Pending(Box::new(after))))
}

/// Cancels a requested deletion before it is carried out (firm admins): the client works again.
pub async fn cancel_deletion(
    db: &DatabaseConnection,
    bus: &EventBus,
    staff: FirmStaff,
    client: Uuid,
) -> AppResult<Checked<organization::Model>> {
    policy::may_administer(&staff)?;
    let mut unit = Unit::begin(db, bus, OrgId(client), Actor::FirmStaff(staff.staff_id)).await?;
    let before =
        store::find_client(staff.firm_id, unit.db(), client).await?.ok_or(AppError::NotFound("client organization"))?;
    if before.status != ClientStatus::DeletionPending.as_str() {
        return Ok(Err(vec![FieldError::new("id", "UNCHANGED", "no deletion of it is requested")]));
    }
    store::set_deletion(staff.firm_id, unit.db(), OrgId(client), None).await?;
    let after =
        store::find_client(staff.firm_id, unit.db(), client).await?.ok_or(AppError::NotFound("client organization"))?;
    unit.audit(
        "organization.cancelDeletion",
        "Organization",
        Some(client),
        Some(client_snapshot(&before)),
        Some(client_snapshot(&after)),
    )
    .await?;
    unit.publish(Event::MembersChanged { org: client });
    unit.commit().await?;
    Ok(Ok(after))
}

/// Reads an archive into a new client of the caller's firm (firm admins): see
/// [`crate::archive::service::import`].
pub async fn import_client(
    db: &DatabaseConnection,
    bus: &EventBus,
    staff: FirmStaff,
    slug: String,
    name: Option<String>,
    archive: &str,
) -> AppResult<Checked<(organization::Model, crate::archive::model::Manifest)>> {
    policy::may_administer(&staff)?;
    let into = crate::archive::service::ImportInto { slug, name, firm: Some(staff.firm_id) };
    crate::archive::service::import(db, bus, Actor::FirmStaff(staff.staff_id), archive, into).await
}

/// Lets a staff member sign in again, or stops them (firm admins): a deactivated member of staff
/// is refused from their next request on, in the firm and in every client. The last active firm
/// admin cannot be deactivated (the firm would have nobody to run it).
pub async fn set_staff_active(
    db: &DatabaseConnection,
    bus: &EventBus,
    staff: FirmStaff,
    id: Uuid,
    active: bool,
) -> AppResult<Checked<firm_staff::Model>> {
    policy::may_administer(&staff)?;
    let tx = crate::db::begin_write(db).await.map_err(AppError::from)?;
    let person = store::find_staff(staff.firm_id, &tx, id).await?.ok_or(AppError::NotFound("staff member"))?;
    if !active && FirmRole::parse(&person.role) == Some(FirmRole::FirmAdmin) {
        let admins = store::all_staff(staff.firm_id, &tx)
            .await?
            .into_iter()
            .filter(|s| s.active && FirmRole::parse(&s.role) == Some(FirmRole::FirmAdmin))
            .count();
        if admins <= 1 && person.active {
            return Ok(Err(vec![FieldError::new(
                "staffId",
                "LAST_ADMIN",
                "the firm's last active firm admin stays active",
            )]));
        }
    }
    store::set_staff_active(staff.firm_id, &tx, id, active).await?;
    let after = store::find_staff(staff.firm_id, &tx, id).await?.ok_or(AppError::NotFound("staff member"))?;
    let clients = store::client_ids(staff.firm_id, &tx).await?;
    tx.commit().await.map_err(AppError::from)?;
    // Their open sockets in any client are checked again, and closed.
    for client in clients {
        bus.publish(Event::MembersChanged { org: client });
    }
    Ok(Ok(after))
}
