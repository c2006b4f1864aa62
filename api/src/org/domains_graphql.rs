//! Host names: `organizationDomains`, `addOrganizationDomain`, `verifyOrganizationDomain`,
//! `removeOrganizationDomain` (admins), and `hostOrganization`, which a front end served on a
//! verified host asks before anyone signs in.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use entity::organization_domain;

use super::graphql::{Branding, branding_of};
use super::{policy, service, store};
use crate::graphql::{ContextExt, RequestHost, UserError};

/// A host name the organization's front end is served on.
pub struct OrganizationDomain(organization_domain::Model);

/// A host name the organization's front end is served on.
#[Object]
impl OrganizationDomain {
    /// The host, lower case (`scores.acme.nl`, optionally with `:port`).
    async fn host(&self) -> &str {
        &self.0.host
    }
    /// Whether requests on it name the organization (after `verifyOrganizationDomain`).
    async fn verified(&self) -> bool {
        self.0.verified_at.is_some()
    }
    /// When it was verified.
    async fn verified_at(&self) -> Option<DateTime<Utc>> {
        self.0.verified_at
    }
    /// What the host must serve, as the whole body, at `verificationPath` to be verified.
    async fn verification_token(&self) -> &str {
        &self.0.verification_token
    }
    /// Where on the host (over https) the token must be served.
    async fn verification_path(&self) -> &str {
        service::VERIFICATION_PATH
    }
}

/// The organization a front end's host names: what it shows before anyone signs in.
#[derive(SimpleObject)]
pub struct HostOrganization {
    /// Name.
    name: String,
    /// The slug (members sign in on this host without it).
    slug: String,
    /// Branding.
    branding: Branding,
}

/// Host name queries.
#[derive(Default)]
pub struct DomainQuery;

#[Object]
impl DomainQuery {
    /// The organization's host names, by host (admins).
    async fn organization_domains(&self, ctx: &Context<'_>) -> Result<Vec<OrganizationDomain>> {
        let p = ctx.principal()?;
        policy::may_manage_domains(p)?;
        Ok(store::domains(p.org, &ctx.state()?.db).await?.into_iter().map(OrganizationDomain).collect())
    }

    /// The organization whose verified host name this request was sent to; `null` on any other
    /// host. Open to everyone, signed in or not: a branded front end shows it on its sign-in page.
    async fn host_organization(&self, ctx: &Context<'_>) -> Result<Option<HostOrganization>> {
        let Some(RequestHost(Some(org))) = ctx.data_opt::<RequestHost>().copied() else { return Ok(None) };
        let found = store::organization(org, &ctx.state()?.db).await?;
        Ok(found.map(|o| HostOrganization { branding: branding_of(&o), name: o.name, slug: o.slug }))
    }
}

/// Which host name.
#[derive(InputObject)]
pub struct OrganizationDomainInput {
    /// The host, e.g. `scores.acme.nl`.
    host: String,
}

/// The result of adding or verifying a host name.
#[derive(SimpleObject, Default)]
pub struct OrganizationDomainPayload {
    /// The host name as it is now; `null` when refused.
    domain: Option<OrganizationDomain>,
    /// What to fix: `INVALID`, `TAKEN`, `NOT_SERVED`; empty on success.
    user_errors: Vec<UserError>,
}

/// The result of removing a host name.
#[derive(SimpleObject)]
pub struct RemoveOrganizationDomainPayload {
    /// Whether it was there.
    removed: bool,
}

/// Host name mutations.
#[derive(Default)]
pub struct DomainMutation;

#[Object]
impl DomainMutation {
    /// Adds a host name the organization's front end is served on (admins, not API keys). It
    /// names the organization only once verified.
    async fn add_organization_domain(
        &self,
        ctx: &Context<'_>,
        input: OrganizationDomainInput,
    ) -> Result<OrganizationDomainPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        Ok(payload(service::add_domain(&state.db, &state.events, p, &input.host).await?))
    }

    /// Verifies a host name: the host must serve its `verificationToken` at its
    /// `verificationPath` over https. From then on, requests on that host act in the
    /// organization: sign-in needs no slug, and other organizations' credentials are refused there.
    async fn verify_organization_domain(
        &self,
        ctx: &Context<'_>,
        input: OrganizationDomainInput,
    ) -> Result<OrganizationDomainPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let allow_http = state.config.webhooks_allow_private;
        Ok(payload(
            service::verify_domain(&state.db, &state.events, &state.outbound, allow_http, p, &input.host).await?,
        ))
    }

    /// Removes a host name (admins, not API keys): requests on it stop naming the organization.
    async fn remove_organization_domain(
        &self,
        ctx: &Context<'_>,
        input: OrganizationDomainInput,
    ) -> Result<RemoveOrganizationDomainPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        Ok(RemoveOrganizationDomainPayload {
            removed: service::remove_domain(&state.db, &state.events, p, &input.host).await?,
        })
    }
}

fn payload(result: crate::core::field::Checked<organization_domain::Model>) -> OrganizationDomainPayload {
    match result {
        Ok(d) => OrganizationDomainPayload { domain: Some(OrganizationDomain(d)), user_errors: Vec::new() },
        Err(e) => OrganizationDomainPayload { domain: None, user_errors: e.into_iter().map(UserError::from).collect() },
    }
}
