//! GraphQL surface of consulting firms: the firm, its staff and grants, its client
//! organizations with their usage, and the calls that provision them. Only a firm's staff
//! reach these (signed in with `firmLogin`); a member or an API key of any organization is
//! FORBIDDEN, and a firm never sees another firm's clients (NOT_FOUND, as if they did not exist).

use std::collections::HashMap;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use entity::{firm, firm_grant, firm_staff, organization};

use super::model::ClientStatus;
use super::service::{self, NewClient, NewPerson, NewStaffMember};
use super::store::{self, Usage};
use crate::core::principal::{FirmRole, FirmStaff};
use crate::core::roles::Role;
use crate::graphql::page::PageArgs;
use crate::graphql::relay::{NodeKind, connection, decode_id, global_id};
use crate::graphql::{ContextExt, UserError};
use crate::template::graphql::OrganizationTemplate;

fn staff(ctx: &Context<'_>) -> Result<FirmStaff> {
    Ok(ctx.auth().firm_staff()?)
}

fn errors(e: Vec<crate::core::field::FieldError>) -> Vec<UserError> {
    e.into_iter().map(UserError::from).collect()
}

/// A consulting firm: it owns client organizations and signs its staff in once for all of them.
pub struct Firm(firm::Model);

/// A consulting firm: it owns client organizations and signs its staff in once for all of them.
#[Object]
impl Firm {
    /// Opaque global ID.
    async fn id(&self) -> ID {
        global_id(NodeKind::Firm, self.0.id)
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Unique URL-safe key, used by `firmLogin`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The firm's staff, by name (a consultant sees only themself).
    async fn staff(&self, ctx: &Context<'_>) -> Result<Vec<FirmStaffMember>> {
        let me = staff(ctx)?;
        Ok(service::staff_list(&ctx.state()?.db, me).await?.into_iter().map(FirmStaffMember).collect())
    }
}

/// One of a firm's own people.
pub struct FirmStaffMember(firm_staff::Model);

/// One of a firm's own people.
#[Object]
impl FirmStaffMember {
    /// Opaque global ID.
    async fn id(&self) -> ID {
        global_id(NodeKind::FirmStaff, self.0.id)
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// E-mail (signs in with it).
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// Role in the firm; `null` if the stored role is unknown to this server (such a staff
    /// member cannot sign in).
    async fn role(&self) -> Option<FirmRole> {
        FirmRole::parse(&self.0.role)
    }
    /// Whether they may sign in.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// The clients they act in and with which role (a firm admin acts as an admin in every
    /// client without grants).
    async fn grants(&self, ctx: &Context<'_>) -> Result<Vec<FirmGrant>> {
        let me = staff(ctx)?;
        Ok(service::grants(&ctx.state()?.db, me, self.0.id).await?.into_iter().map(FirmGrant).collect())
    }
}

/// The role a consultant holds in one client.
pub struct FirmGrant(firm_grant::Model);

/// The role a consultant holds in one client.
#[Object]
impl FirmGrant {
    /// The client.
    async fn organization(&self, ctx: &Context<'_>) -> Result<ClientOrganization> {
        let me = staff(ctx)?;
        Ok(ClientOrganization::new(service::client(&ctx.state()?.db, me, self.0.client_id).await?))
    }
    /// The role there (`ADMIN` or `VIEWER`); `null` if the stored role is unknown (it grants nothing).
    async fn role(&self) -> Option<Role> {
        Role::parse(&self.0.role).filter(|r| super::model::grantable(*r))
    }
    /// When it was granted.
    async fn granted_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// What a client uses.
#[derive(SimpleObject, Clone, Copy)]
pub struct ClientUsage {
    /// Active members.
    members: u64,
    /// Activities logged on days of the client's current month, in its own time zone.
    activities_this_month: u64,
    /// The last day anything was logged (the client's time zone); `null` if nothing ever was.
    last_activity_on: Option<NaiveDate>,
}

impl From<Usage> for ClientUsage {
    fn from(u: Usage) -> Self {
        ClientUsage {
            members: u.members,
            activities_this_month: u.activities_this_month,
            last_activity_on: u.last_activity_on,
        }
    }
}

/// A client company of the firm, as the firm sees it: identity, status, branding and usage.
/// (Its data is read by acting in it: the `X-Scorebord-Organization` header.)
pub struct ClientOrganization {
    model: organization::Model,
    usage: Option<Usage>,
}

impl ClientOrganization {
    fn new(model: organization::Model) -> Self {
        ClientOrganization { model, usage: None }
    }
}

/// A client company of the firm, as the firm sees it: identity, status, branding and usage.
#[Object]
impl ClientOrganization {
    /// Opaque global ID (the same as the organization's own `id`).
    async fn id(&self) -> ID {
        global_id(NodeKind::Organization, self.model.id)
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.model.name
    }
    /// Unique URL-safe key: members sign in with it; staff name it in `X-Scorebord-Organization`.
    async fn slug(&self) -> &str {
        &self.model.slug
    }
    /// Whether it works (`ACTIVE`) or is suspended; `null` if the stored status is unknown
    /// (such a client is refused like a suspended one).
    async fn status(&self) -> Option<ClientStatus> {
        ClientStatus::parse(&self.model.status)
    }
    /// IANA time zone.
    async fn time_zone(&self) -> &str {
        &self.model.time_zone
    }
    /// ISO 4217 currency.
    async fn currency(&self) -> &str {
        &self.model.currency
    }
    /// Name its front end shows.
    async fn display_name(&self) -> &str {
        self.model.display_name.as_deref().unwrap_or(&self.model.name)
    }
    /// Logo image URL.
    async fn logo_url(&self) -> Option<&str> {
        self.model.logo_url.as_deref()
    }
    /// Main brand colour, `#RRGGBB`.
    async fn primary_color(&self) -> &str {
        &self.model.primary_color
    }
    /// Accent colour, `#RRGGBB`.
    async fn secondary_color(&self) -> &str {
        &self.model.secondary_color
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// When every row of it will be erased (`DELETION_PENDING`), unless the deletion is cancelled.
    async fn deletion_due_at(&self) -> Option<DateTime<Utc>> {
        self.model.deletion_due_at
    }
    /// Members and activity: counted for a whole page of clients in three statements.
    async fn usage(&self, ctx: &Context<'_>) -> Result<ClientUsage> {
        if let Some(u) = self.usage {
            return Ok(u.into());
        }
        let all = service::usage(&ctx.state()?.db, std::slice::from_ref(&self.model)).await?;
        Ok(all.get(&self.model.id).copied().unwrap_or_default().into())
    }
}

crate::connection_type!(
    ClientOrganizationConnection,
    ClientOrganizationEdge,
    ClientOrganization,
    "client organizations"
);

/// Firm queries.
#[derive(Default)]
pub struct FirmQuery;

#[Object]
impl FirmQuery {
    /// The caller's firm (a firm's staff only).
    async fn firm(&self, ctx: &Context<'_>) -> Result<Firm> {
        let me = staff(ctx)?;
        Ok(Firm(service::firm(&ctx.state()?.db, me).await?))
    }

    /// The firm's client organizations, by name: all of them for a firm admin, those granted
    /// for a consultant (a firm's staff only).
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn client_organizations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only clients with this status.")] status: Option<ClientStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ClientOrganizationConnection> {
        let me = staff(ctx)?;
        let db = &ctx.state()?.db;
        let page = PageArgs::asked(ctx, first, after, last, before);
        page.validate()?;
        let only = service::visible_clients(db, me).await?;
        let rows =
            store::page_clients(me.firm_id, db, status.map(ClientStatus::as_str), only.as_deref(), &page).await?;
        let look = ctx.look_ahead();
        let usage: HashMap<Uuid, Usage> = if look.field("nodes").field("usage").exists()
            || look.field("edges").field("node").field("usage").exists()
        {
            let models: Vec<organization::Model> = rows.rows.iter().map(|(_, m)| m.clone()).collect();
            service::usage(db, &models).await?
        } else {
            HashMap::new()
        };
        Ok(connection(ctx, rows, |model| {
            let usage = usage.get(&model.id).copied();
            ClientOrganization { model, usage }
        })
        .into())
    }

    /// One client organization of the firm (a firm's staff only; another firm's is NOT_FOUND).
    async fn client_organization(&self, ctx: &Context<'_>, id: ID) -> Result<ClientOrganization> {
        let me = staff(ctx)?;
        let id = decode_id(&id, NodeKind::Organization)?;
        Ok(ClientOrganization::new(service::client(&ctx.state()?.db, me, id).await?))
    }
}

/// A person to create: a client's first admin.
#[derive(InputObject)]
pub struct FirstAdminInput {
    /// Full name.
    name: String,
    /// E-mail: they sign in with it.
    email: String,
    /// Initial password; leave it out to have one generated (answered once, in the payload).
    password: Option<String>,
}

/// Branding of a new client.
#[derive(InputObject, Default)]
pub struct ClientBrandingInput {
    /// Name its front end shows (default: the name).
    display_name: Option<String>,
    /// Logo image URL (https).
    logo_url: Option<String>,
    /// Main brand colour, `#RRGGBB` (default `#1F2937`).
    primary_color: Option<String>,
    /// Accent colour, `#RRGGBB` (default `#10B981`).
    secondary_color: Option<String>,
}

/// A client organization to create.
#[derive(InputObject)]
pub struct CreateClientOrganizationInput {
    /// Name.
    name: String,
    /// Unique URL-safe key (2–63 of a-z, 0-9, '-').
    slug: String,
    /// IANA time zone.
    #[graphql(default = "Europe/Amsterdam")]
    time_zone: String,
    /// ISO 4217 currency.
    #[graphql(default = "EUR")]
    currency: String,
    /// The language names and labels are answered in.
    #[graphql(default_with = "crate::core::locale::Locale::En")]
    locale: crate::core::locale::Locale,
    /// Branding for its front end.
    branding: Option<ClientBrandingInput>,
    /// Its first admin, a member of the new organization.
    first_admin: FirstAdminInput,
    /// A set-up to start from; none leaves it empty.
    template: Option<OrganizationTemplate>,
    /// Start from a copy of this client's set-up instead (stages and checklists, custom fields,
    /// activity types, KPIs, targets per sales role, alert rules, mystery-check criteria and
    /// incentive plans; never its people or data). A client the caller may see.
    copy_setup_from: Option<ID>,
}

/// A client's first admin, as created.
#[derive(SimpleObject)]
pub struct ClientAdmin {
    /// The member's global ID in the new organization.
    id: ID,
    /// Name.
    name: String,
    /// E-mail.
    email: String,
}

/// The result of `createClientOrganization`.
#[derive(SimpleObject, Default)]
pub struct CreateClientOrganizationPayload {
    /// The new client; `null` when refused.
    organization: Option<ClientOrganization>,
    /// Its first admin.
    first_admin: Option<ClientAdmin>,
    /// The first admin's generated password, shown this once (`null` when one was given).
    first_admin_password: Option<String>,
    /// Whether a template was applied or a set-up copied.
    template_applied: bool,
    /// What to fix (`TAKEN` for a slug in use, `INVALID` fields); empty on success.
    user_errors: Vec<UserError>,
}

/// Which client.
#[derive(InputObject)]
pub struct ClientOrganizationInput {
    /// The client's global ID.
    id: ID,
}

/// The result of suspending or resuming a client.
#[derive(SimpleObject, Default)]
pub struct ClientOrganizationPayload {
    /// The client as it is now; `null` when refused.
    organization: Option<ClientOrganization>,
    /// What to fix (`UNCHANGED` when it already had that status); empty on success.
    user_errors: Vec<UserError>,
}

/// The result of `deleteClientOrganization`.
#[derive(SimpleObject, Default)]
pub struct DeleteClientOrganizationPayload {
    /// The client, pending deletion; `null` when erased at once or refused.
    organization: Option<ClientOrganization>,
    /// Whether every row of it is gone already (a zero grace period).
    erased: bool,
    /// What to fix (`UNCHANGED` when its deletion is requested already); empty on success.
    user_errors: Vec<UserError>,
}

/// A staff member to add.
#[derive(InputObject)]
pub struct CreateFirmStaffInput {
    /// Full name.
    name: String,
    /// E-mail, unique in the firm: they sign in with it.
    email: String,
    /// Initial password; leave it out to have one generated (answered once).
    password: Option<String>,
    /// Role in the firm.
    role: FirmRole,
}

/// The result of `createFirmStaff`.
#[derive(SimpleObject, Default)]
pub struct CreateFirmStaffPayload {
    /// The new staff member; `null` when refused.
    staff: Option<FirmStaffMember>,
    /// The generated password, shown this once (`null` when one was given).
    initial_password: Option<String>,
    /// What to fix (`TAKEN` for an e-mail in use); empty on success.
    user_errors: Vec<UserError>,
}

/// Whether a staff member may sign in.
#[derive(InputObject)]
pub struct SetFirmStaffActiveInput {
    /// The staff member (a `FirmStaffMember` ID).
    staff_id: ID,
    /// `false` stops them from their next request on, in the firm and every client.
    active: bool,
}

/// The result of `setFirmStaffActive`.
#[derive(SimpleObject, Default)]
pub struct SetFirmStaffActivePayload {
    /// The staff member as they are now; `null` when refused.
    staff: Option<FirmStaffMember>,
    /// What to fix (`LAST_ADMIN`); empty on success.
    user_errors: Vec<UserError>,
}

/// A consultant's role in one client.
#[derive(InputObject)]
pub struct SetFirmGrantInput {
    /// The consultant (a `FirmStaffMember` ID).
    staff_id: ID,
    /// The client.
    organization_id: ID,
    /// `ADMIN` or `VIEWER`; `null` takes the grant back.
    role: Option<Role>,
}

/// The result of `setFirmGrant`.
#[derive(SimpleObject, Default)]
pub struct SetFirmGrantPayload {
    /// The role the consultant holds in the client now (`null`: none).
    role: Option<Role>,
    /// What to fix (`NOT_GRANTABLE`, `NOT_A_CONSULTANT`); empty on success.
    user_errors: Vec<UserError>,
}

/// Firm mutations.
#[derive(Default)]
pub struct FirmMutation;

#[Object]
impl FirmMutation {
    /// Creates a client organization of the caller's firm with its first admin and, if asked,
    /// its set-up from a template, in one transaction (firm admins). Audited in the new
    /// client's log as the staff member.
    async fn create_client_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateClientOrganizationInput,
    ) -> Result<CreateClientOrganizationPayload> {
        let me = staff(ctx)?;
        let state = ctx.state()?;
        let branding = input.branding.unwrap_or_default();
        let cmd = NewClient {
            name: input.name,
            slug: input.slug,
            time_zone: input.time_zone,
            currency: input.currency,
            locale: input.locale,
            display_name: branding.display_name,
            logo_url: branding.logo_url,
            primary_color: branding.primary_color,
            secondary_color: branding.secondary_color,
            first_admin: NewPerson {
                name: input.first_admin.name,
                email: input.first_admin.email,
                password: input.first_admin.password,
            },
            starter: matches!(input.template, Some(OrganizationTemplate::Starter)),
            copy_from: match &input.copy_setup_from {
                Some(id) => Some(decode_id(id, NodeKind::Organization)?),
                None => None,
            },
        };
        Ok(match service::create_client(&state.db, &state.events, me, cmd).await? {
            Ok(created) => CreateClientOrganizationPayload {
                first_admin: Some(ClientAdmin {
                    id: global_id(NodeKind::Member, created.admin.id),
                    name: created.admin.name,
                    email: created.admin.email,
                }),
                organization: Some(ClientOrganization::new(created.organization)),
                first_admin_password: created.password,
                template_applied: created.applied.is_some() || created.copied,
                user_errors: Vec::new(),
            },
            Err(e) => CreateClientOrganizationPayload { user_errors: errors(e), ..Default::default() },
        })
    }

    /// Suspends a client (firm admins): its sign-ins, tokens and API keys are refused from the
    /// next request on (FORBIDDEN, `extensions.reason` `ORGANIZATION_SUSPENDED`) and its open
    /// sockets close; nothing is deleted.
    async fn suspend_client_organization(
        &self,
        ctx: &Context<'_>,
        input: ClientOrganizationInput,
    ) -> Result<ClientOrganizationPayload> {
        set_status(ctx, input, ClientStatus::Suspended).await
    }

    /// Resumes a suspended client (firm admins).
    async fn resume_client_organization(
        &self,
        ctx: &Context<'_>,
        input: ClientOrganizationInput,
    ) -> Result<ClientOrganizationPayload> {
        set_status(ctx, input, ClientStatus::Active).await
    }

    /// Requests a client's deletion (firm admins): it is refused like a suspended client at once,
    /// and every row, cached state and the organization itself are erased after
    /// `ORGANIZATION_DELETION_GRACE_HOURS` (30 days by default; at once for 0), unless
    /// `cancelClientOrganizationDeletion` comes first. Export it before (`GET
    /// /exports/organization.ndjson`) to hand the client its data.
    async fn delete_client_organization(
        &self,
        ctx: &Context<'_>,
        input: ClientOrganizationInput,
    ) -> Result<DeleteClientOrganizationPayload> {
        let me = staff(ctx)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::Organization)?;
        let grace = chrono::Duration::hours(i64::try_from(state.config.organization_deletion_grace_hours).unwrap_or(0));
        Ok(match service::request_deletion(&state.db, &state.events, me, id, grace).await? {
            Ok(service::Deletion::Pending(o)) => DeleteClientOrganizationPayload {
                organization: Some(ClientOrganization::new(*o)),
                erased: false,
                user_errors: Vec::new(),
            },
            Ok(service::Deletion::Erased) => {
                DeleteClientOrganizationPayload { organization: None, erased: true, user_errors: Vec::new() }
            }
            Err(e) => DeleteClientOrganizationPayload { user_errors: errors(e), ..Default::default() },
        })
    }

    /// Cancels a requested deletion before it is carried out (firm admins): the client works again.
    async fn cancel_client_organization_deletion(
        &self,
        ctx: &Context<'_>,
        input: ClientOrganizationInput,
    ) -> Result<ClientOrganizationPayload> {
        let me = staff(ctx)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::Organization)?;
        Ok(match service::cancel_deletion(&state.db, &state.events, me, id).await? {
            Ok(o) => {
                ClientOrganizationPayload { organization: Some(ClientOrganization::new(o)), user_errors: Vec::new() }
            }
            Err(e) => ClientOrganizationPayload { user_errors: errors(e), ..Default::default() },
        })
    }

    /// Adds a staff member to the caller's firm (firm admins).
    async fn create_firm_staff(
        &self,
        ctx: &Context<'_>,
        input: CreateFirmStaffInput,
    ) -> Result<CreateFirmStaffPayload> {
        let me = staff(ctx)?;
        let cmd = NewStaffMember {
            person: NewPerson { name: input.name, email: input.email, password: input.password },
            role: input.role,
        };
        Ok(match service::create_staff(&ctx.state()?.db, me, cmd).await? {
            Ok((staff, password)) => CreateFirmStaffPayload {
                staff: Some(FirmStaffMember(staff)),
                initial_password: password,
                user_errors: Vec::new(),
            },
            Err(e) => CreateFirmStaffPayload { user_errors: errors(e), ..Default::default() },
        })
    }

    /// Deactivates a staff member who leaves the firm, or lets them back in (firm admins): a
    /// deactivated member of staff is refused from their next request on, in the firm and every
    /// client. The last active firm admin stays active (`LAST_ADMIN`).
    async fn set_firm_staff_active(
        &self,
        ctx: &Context<'_>,
        input: SetFirmStaffActiveInput,
    ) -> Result<SetFirmStaffActivePayload> {
        let me = staff(ctx)?;
        let state = ctx.state()?;
        let id = decode_id(&input.staff_id, NodeKind::FirmStaff)?;
        Ok(match service::set_staff_active(&state.db, &state.events, me, id, input.active).await? {
            Ok(s) => SetFirmStaffActivePayload { staff: Some(FirmStaffMember(s)), user_errors: Vec::new() },
            Err(e) => SetFirmStaffActivePayload { user_errors: errors(e), ..Default::default() },
        })
    }

    /// Grants a consultant a role in one client, or takes it back with `role: null` (firm
    /// admins). Takes effect on the consultant's next request; audited in the client's log.
    async fn set_firm_grant(&self, ctx: &Context<'_>, input: SetFirmGrantInput) -> Result<SetFirmGrantPayload> {
        let me = staff(ctx)?;
        let state = ctx.state()?;
        let consultant = decode_id(&input.staff_id, NodeKind::FirmStaff)?;
        let client = decode_id(&input.organization_id, NodeKind::Organization)?;
        Ok(match service::set_grant(&state.db, &state.events, me, consultant, client, input.role).await? {
            Ok(role) => SetFirmGrantPayload { role, user_errors: Vec::new() },
            Err(e) => SetFirmGrantPayload { user_errors: errors(e), ..Default::default() },
        })
    }
}

async fn set_status(
    ctx: &Context<'_>,
    input: ClientOrganizationInput,
    status: ClientStatus,
) -> Result<ClientOrganizationPayload> {
    let me = staff(ctx)?;
    let state = ctx.state()?;
    let id = decode_id(&input.id, NodeKind::Organization)?;
    Ok(match service::set_client_status(&state.db, &state.events, me, id, status).await? {
        Ok(o) => ClientOrganizationPayload { organization: Some(ClientOrganization::new(o)), user_errors: Vec::new() },
        Err(e) => ClientOrganizationPayload { user_errors: errors(e), ..Default::default() },
    })
}
