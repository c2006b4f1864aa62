//! GraphQL surface of organizations, teams and members: queries that read the stores, and
//! thin mutations that parse input into a command, call the service and map the result.

use async_graphql::parser::types::SelectionSet;
use async_graphql::resolver_utils::enum_value;
use async_graphql::{
    Context, ContextSelectionSet, ID, InputObject, MaybeUndefined, Object, Positioned, Result, SimpleObject,
    Subscription, Value,
};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::Stream;

use entity::{member, organization, team};

use super::model::{FieldError, OrgId, Role, SalesRole};
use super::store::{self, MemberFilter, TeamFilter};
use super::{policy, service};
use crate::core::error::{AppError, AppResult};
use crate::core::field::Checked;
use crate::events::Event;
use crate::graphql::loaders::{MemberKey, TeamKey};
use crate::graphql::projection::{Project, leaf, object};
use crate::graphql::relay::{NodeKind, PageArgs, connection, decode_id, global_id};
use crate::graphql::{ContextExt, UserError};

// ---------------------------------------------------------------- output types

/// The branding of an organization.
pub fn branding_of(o: &organization::Model) -> Branding {
    Branding {
        display_name: o.display_name.clone().unwrap_or_else(|| o.name.clone()),
        logo_url: o.logo_url.clone(),
        primary_color: o.primary_color.clone(),
        secondary_color: o.secondary_color.clone(),
    }
}

/// A client company using Scorebord (a tenant). All data belongs to exactly one.
pub struct Organization(pub organization::Model);

/// How front ends should present an organization.
#[derive(SimpleObject)]
pub struct Branding {
    /// Name to show; the organization's name when not set.
    display_name: String,
    /// Logo image URL.
    logo_url: Option<String>,
    /// Main brand colour, `#RRGGBB`.
    primary_color: String,
    /// Accent colour, `#RRGGBB`.
    secondary_color: String,
}

/// A client company using Scorebord (a tenant). All data belongs to exactly one.
#[Object]
impl Organization {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Organization, self.0.id)
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Unique URL-safe key, used to log in.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Branding for white-label front ends.
    async fn branding(&self) -> Branding {
        branding_of(&self.0)
    }
    /// IANA time zone in which weeks, months and quarters are computed.
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }
    /// ISO 4217 currency of all money amounts.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// First month of the fiscal year (1 = January).
    async fn fiscal_year_start_month(&self) -> i32 {
        self.0.fiscal_year_start_month
    }
    /// How many days back activities may be logged (the open window).
    async fn activity_open_window_days(&self) -> i32 {
        self.0.activity_open_window_days
    }
    /// The language names and labels are answered in for members who chose none.
    async fn locale(&self) -> crate::core::locale::Locale {
        crate::core::locale::Locale::parse(&self.0.locale).unwrap_or_default()
    }
    /// Increases with every change; pass it to `updateOrganization` to refuse stale edits.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A team: a node in the organization's team tree, with an optional manager.
pub struct Team(pub team::Model);

/// A team: a node in the organization's team tree, with an optional manager.
#[Object]
impl Team {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Team, self.0.id)
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Free text.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The team above this one; `null` for a top-level team.
    async fn parent_team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        let Some(parent) = self.0.parent_team_id else { return Ok(None) };
        Ok(crate::org::graphql::team_by_id(ctx, parent).await?)
    }
    /// Direct sub-teams, by name.
    async fn sub_teams(&self, ctx: &Context<'_>) -> Result<Vec<Team>> {
        Ok(directory(ctx).await?.sub_teams(self.0.id).cloned().map(Team).collect())
    }
    /// The team's manager.
    async fn manager(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        let Some(manager) = self.0.manager_id else { return Ok(None) };
        Ok(crate::org::graphql::member_by_id(ctx, manager).await?)
    }
    /// Active members directly in this team (not in sub-teams), by name, a page at a time. For
    /// sub-teams and other filters use the root `members(filter: {teamId})`.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<MemberConnection> {
        let p = ctx.principal()?;
        let page = PageArgs::asked(ctx, first, after, last, before);
        page.validate()?;
        let filter = MemberFilter { team_ids: Some(vec![self.0.id]), active: Some(true), ..Default::default() };
        let rows = store::page_members(p.org, &ctx.state()?.db, &filter, &store::TEAM_MEMBERS, &page).await?;
        Ok(connection(ctx, rows, Member).into())
    }
    /// Increases with every change (rename, description, manager, move); pass it to
    /// `updateTeam` or `moveTeam` to refuse an edit when someone else changed the team since.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A person in the organization. Members are deactivated, never deleted.
pub struct Member(pub member::Model);

/// A member read with their organization's directory at hand (for their team), answered by
/// projection (see [`crate::graphql::projection`]).
pub struct MemberIn<'a> {
    /// The member.
    pub member: &'a member::Model,
    /// Their organization's directory.
    pub dir: &'a super::directory::Directory,
}

impl Project for MemberIn<'_> {
    const TYPE: &'static str = "Member";

    fn project(&self, name: &str, s: &Positioned<SelectionSet>, ctx: &ContextSelectionSet<'_>) -> Option<Value> {
        let m = self.member;
        match name {
            "id" => leaf(s, global_id(NodeKind::Member, m.id).0),
            "name" => leaf(s, m.name.clone()),
            "avatarUrl" => leaf(s, m.avatar_url.clone().map_or(Value::Null, Value::String)),
            "role" => leaf(s, enum_value(Role::parse(&m.role).unwrap_or(Role::Viewer))),
            "salesRole" => leaf(s, enum_value(SalesRole::parse(&m.sales_role).unwrap_or(SalesRole::Inbound))),
            "active" => leaf(s, m.active),
            "team" => match m.team_id {
                None => Some(Value::Null),
                Some(t) => object(&TeamIn(self.dir.team(t)?), s, ctx),
            },
            _ => None,
        }
    }
}

/// A team answered by projection (see [`crate::graphql::projection`]).
pub struct TeamIn<'a>(pub &'a team::Model);

impl Project for TeamIn<'_> {
    const TYPE: &'static str = "Team";

    fn project(&self, name: &str, s: &Positioned<SelectionSet>, _: &ContextSelectionSet<'_>) -> Option<Value> {
        match name {
            "id" => leaf(s, global_id(NodeKind::Team, self.0.id).0),
            "name" => leaf(s, self.0.name.clone()),
            "description" => leaf(s, self.0.description.clone().map_or(Value::Null, Value::String)),
            _ => None,
        }
    }
}

crate::connection_type!(TeamConnection, TeamEdge, Team, "teams");
crate::connection_type!(MemberConnection, MemberEdge, Member, "members");

/// A person in the organization. Members are deactivated, never deleted.
#[Object]
impl Member {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Member, self.0.id)
    }
    /// Full name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// URL of the member's picture, when one is set.
    async fn avatar_url(&self) -> Option<&str> {
        self.0.avatar_url.as_deref()
    }
    /// The language the member chose (`setMyLocale`); `null` follows the organization's.
    async fn locale(&self) -> Option<crate::core::locale::Locale> {
        self.0.locale.as_deref().and_then(crate::core::locale::Locale::parse)
    }
    /// E-mail address (lower case), unique within the organization; used to log in.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// What the member may do.
    async fn role(&self) -> Role {
        Role::parse(&self.0.role).unwrap_or(Role::Viewer)
    }
    /// The member's part in the sales process.
    async fn sales_role(&self) -> SalesRole {
        SalesRole::parse(&self.0.sales_role).unwrap_or(SalesRole::Inbound)
    }
    /// The member's team.
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        let Some(team) = self.0.team_id else { return Ok(None) };
        Ok(crate::org::graphql::team_by_id(ctx, team).await?)
    }
    /// The member's deals that the viewer may read (the rule of the root `deals`: reps their
    /// own, managers their teams', admins and viewers all), a page at a time. An API key needs
    /// a scope that opens `deals`.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn deals(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order (default: most recently changed first).")] order_by: Option<
            crate::pipeline::store::DealOrder,
        >,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<crate::objects::DealConnection> {
        key_may_open(ctx, "deals")?;
        let page = PageArgs::asked(ctx, first, after, last, before);
        let keyset = crate::pipeline::store::deal_keyset("Member.deals", order_by.unwrap_or_default());
        crate::objects::member_links(ctx)?.deals(ctx, global_id(NodeKind::Member, self.0.id), &keyset, &page).await
    }
    /// The member's activities, newest first, with the rule of the root `activities` (reps
    /// their own, managers their teams', admins and viewers all; another member's is FORBIDDEN),
    /// a page at a time. An API key needs a scope that opens `activities`.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<crate::objects::ActivityConnection> {
        key_may_open(ctx, "activities")?;
        let page = PageArgs::asked(ctx, first, after, last, before);
        crate::objects::member_links(ctx)?.activities(ctx, global_id(NodeKind::Member, self.0.id), &page).await
    }
    /// First working day; quota ramps count from here.
    async fn start_date(&self) -> NaiveDate {
        self.0.start_date
    }
    /// False once deactivated: cannot log in, history stays.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// When deactivated, if so.
    async fn deactivated_at(&self) -> Option<DateTime<Utc>> {
        self.0.deactivated_at
    }
    /// Increases with every change to the profile (name, e-mail, role, sales role, team, start
    /// date, active; not the password); pass it to `updateMember` to refuse an edit when someone
    /// else changed the member since.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

// ---------------------------------------------------------------- the directory

/// The language a request is answered in: the signed-in member's own, else their
/// organization's; for the anonymous, their `Accept-Language`; else English.
pub async fn request_locale(ctx: &Context<'_>) -> AppResult<crate::core::locale::Locale> {
    let state = ctx.state()?;
    let accept = ctx.data_opt::<crate::graphql::RequestLocale>().and_then(|l| l.0);
    super::directory::locale_of(&state.directories, ctx.auth(), accept, &state.db).await
}

/// The caller's organization's directory (kept in memory; see [`super::directory`]).
pub async fn directory(ctx: &Context<'_>) -> AppResult<std::sync::Arc<super::directory::Directory>> {
    let p = ctx.principal()?;
    let state = ctx.state()?;
    super::directory::directory(&state.directories, p.org, &state.db).await
}

/// A member of the caller's organization: from the directory, or from the database when the
/// directory does not have them (created on another instance a moment ago, say).
pub async fn member_by_id(ctx: &Context<'_>, id: uuid::Uuid) -> AppResult<Option<Member>> {
    if let Some(m) = directory(ctx).await?.member(id) {
        return Ok(Some(Member(m.clone())));
    }
    Ok(ctx.loader()?.load_one(MemberKey(id)).await?.map(Member))
}

/// A team of the caller's organization: from the directory, or from the database when the
/// directory does not have it.
pub async fn team_by_id(ctx: &Context<'_>, id: uuid::Uuid) -> AppResult<Option<Team>> {
    if let Some(t) = directory(ctx).await?.team(id) {
        return Ok(Some(Team(t.clone())));
    }
    Ok(ctx.loader()?.load_one(TeamKey(id)).await?.map(Team))
}

/// The caller's organization's currency (ISO 4217), from the directory.
pub async fn currency(ctx: &Context<'_>) -> AppResult<String> {
    Ok(directory(ctx).await?.organization.currency.clone())
}

// ---------------------------------------------------------------- queries

/// Filter for `teams`.
#[derive(InputObject, Default)]
pub struct TeamFilterInput {
    /// Only direct sub-teams of this team.
    parent_team_id: Option<ID>,
    /// Only top-level teams.
    #[graphql(default = false)]
    roots_only: bool,
    /// Case-insensitive text in the name (at most 200 characters).
    search: Option<String>,
}

/// Filter for `members`.
#[derive(InputObject, Default)]
pub struct MemberFilterInput {
    /// Only members of this team…
    team_id: Option<ID>,
    /// …and of its sub-teams (default true).
    #[graphql(default = true)]
    include_sub_teams: bool,
    /// Only this role.
    role: Option<Role>,
    /// Only this sales role.
    sales_role: Option<SalesRole>,
    /// Only active (true) or deactivated (false) members; both when absent.
    active: Option<bool>,
    /// Case-insensitive text in name or e-mail (at most 200 characters).
    search: Option<String>,
}

fn check_search(search: &Option<String>) -> AppResult<()> {
    match search {
        Some(s) if s.chars().count() > 200 => Err(AppError::bad_input("'search' must be at most 200 characters")),
        _ => Ok(()),
    }
}

/// FORBIDDEN for an API key whose scopes do not open the root query field `root` (a nested
/// list reaches the same records as that field, so it asks for the same scopes).
fn key_may_open(ctx: &Context<'_>, root: &str) -> AppResult<()> {
    let p = ctx.principal()?;
    match &p.api_key {
        Some(key)
            if !crate::graphql::access::field_open_to_key(
                async_graphql::parser::types::OperationType::Query,
                root,
                &key.scopes,
            ) =>
        {
            Err(AppError::forbidden(format!("this API key's scopes do not open '{root}'")))
        }
        _ => Ok(()),
    }
}

/// Organization, team and member queries.
#[derive(Default)]
pub struct OrgQuery;

#[Object]
impl OrgQuery {
    /// The viewer's organization.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        Ok(Organization(directory(ctx).await?.organization.clone()))
    }

    /// Teams of the organization, by name.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn teams(
        &self,
        ctx: &Context<'_>,
        filter: Option<TeamFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<TeamConnection> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let page = PageArgs::asked(ctx, first, after, last, before);
        page.validate()?;
        let filter = filter.unwrap_or_default();
        check_search(&filter.search)?;
        // A parent of another organization answers NOT_FOUND, as `team(id:)` does.
        let parent_team_id = match &filter.parent_team_id {
            Some(id) => Some(existing_team(p.org, db, id).await?.id),
            None => None,
        };
        let store_filter = TeamFilter { parent_team_id, roots_only: filter.roots_only, search: filter.search };
        let rows = store::page_teams(p.org, db, &store_filter, &page).await?;
        Ok(connection(ctx, rows, Team).into())
    }

    /// One team.
    async fn team(&self, ctx: &Context<'_>, id: ID) -> Result<Team> {
        let p = ctx.principal()?;
        let id = decode_id(&id, NodeKind::Team)?;
        let team = store::find_team(p.org, &ctx.state()?.db, id).await?.ok_or(AppError::NotFound("team"))?;
        Ok(Team(team))
    }

    /// Members of the organization, by name.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        filter: Option<MemberFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<MemberConnection> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let page = PageArgs::asked(ctx, first, after, last, before);
        page.validate()?;
        let filter = filter.unwrap_or_default();
        check_search(&filter.search)?;
        let team_ids = match &filter.team_id {
            None => None,
            Some(id) => {
                let team = decode_id(id, NodeKind::Team)?;
                store::find_team(p.org, db, team).await?.ok_or(AppError::NotFound("team"))?;
                Some(if filter.include_sub_teams {
                    store::team_tree(p.org, db).await?.subtree([team]).into_iter().collect()
                } else {
                    vec![team]
                })
            }
        };
        let store_filter = MemberFilter {
            team_ids,
            role: filter.role,
            sales_role: filter.sales_role,
            active: filter.active,
            search: filter.search,
        };
        let rows = store::page_members(p.org, db, &store_filter, &store::MEMBERS, &page).await?;
        Ok(connection(ctx, rows, Member).into())
    }

    /// One member.
    async fn member(&self, ctx: &Context<'_>, id: ID) -> Result<Member> {
        let p = ctx.principal()?;
        let id = decode_id(&id, NodeKind::Member)?;
        let member = store::find_member(p.org, &ctx.state()?.db, id).await?.ok_or(AppError::NotFound("member"))?;
        Ok(Member(member))
    }
}

// ---------------------------------------------------------------- mutations

/// Changes to the organization. Absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    /// The `version` you last read; when given and stale, the update is refused with CONFLICT.
    version: Option<i32>,
    /// New name.
    name: Option<String>,
    /// Name shown in front ends; `null` clears it.
    display_name: MaybeUndefined<String>,
    /// Logo URL (http or https); `null` clears it.
    logo_url: MaybeUndefined<String>,
    /// `#RRGGBB`.
    primary_color: Option<String>,
    /// `#RRGGBB`.
    secondary_color: Option<String>,
    /// IANA time zone, e.g. `Europe/Amsterdam`.
    time_zone: Option<String>,
    /// ISO 4217 code, e.g. `EUR`.
    currency: Option<String>,
    /// 1 (January) to 12.
    fiscal_year_start_month: Option<i32>,
    /// How many days back activities may be logged, 1 to 3660 (default 35).
    activity_open_window_days: Option<i32>,
    /// The language names and labels are answered in for members who chose none.
    locale: Option<crate::core::locale::Locale>,
}

/// Result of `updateOrganization`.
#[derive(SimpleObject)]
pub struct OrganizationPayload {
    /// The organization after the change; `null` when refused.
    organization: Option<Organization>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

/// A new team.
#[derive(InputObject)]
pub struct CreateTeamInput {
    /// Name.
    name: String,
    /// Free text (at most 2,000 characters).
    description: Option<String>,
    /// The team above it; absent for a top-level team (admins only).
    parent_team_id: Option<ID>,
    /// The manager (an active member).
    manager_id: Option<ID>,
}

/// Changes to a team. Absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateTeamInput {
    /// The team.
    id: ID,
    /// The `version` you last read; when given and stale, the update is refused with CONFLICT
    /// instead of silently overwriting someone else's change.
    version: Option<i32>,
    /// New name.
    name: Option<String>,
    /// Free text; `null` clears it.
    description: MaybeUndefined<String>,
    /// New manager; `null` removes the manager.
    manager_id: MaybeUndefined<ID>,
}

/// Moves a team in the tree.
#[derive(InputObject)]
pub struct MoveTeamInput {
    /// The team to move.
    id: ID,
    /// The `version` of the team you last read; when given and stale, the move is refused with
    /// CONFLICT.
    version: Option<i32>,
    /// Its new parent; `null` makes it a top-level team (admins only). A team cannot move below itself.
    parent_team_id: Option<ID>,
}

/// Result of a team mutation.
#[derive(SimpleObject)]
pub struct TeamPayload {
    /// The team after the change; `null` when refused.
    team: Option<Team>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

fn errors(list: Vec<FieldError>) -> Vec<UserError> {
    list.into_iter().map(UserError::from).collect()
}

fn team_payload(result: Checked<team::Model>) -> TeamPayload {
    match result {
        Ok(t) => TeamPayload { team: Some(Team(t)), user_errors: vec![] },
        Err(e) => TeamPayload { team: None, user_errors: errors(e) },
    }
}

/// `Undefined` leaves a field, `null` clears it.
fn maybe<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

async fn existing_team(org: OrgId, db: &impl sea_orm::ConnectionTrait, id: &ID) -> AppResult<team::Model> {
    service::load_team(org, db, decode_id(id, NodeKind::Team)?).await
}

/// Organization, team and member mutations.
#[derive(Default)]
pub struct OrgMutation;

#[Object]
impl OrgMutation {
    /// Changes the organization's settings and branding (admins). Subscribers of
    /// `organizationChanged` are told after the change commits.
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationInput,
    ) -> Result<OrganizationPayload> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let cmd = service::UpdateOrganization {
            version: input.version,
            name: input.name,
            display_name: maybe(input.display_name),
            logo_url: maybe(input.logo_url),
            primary_color: input.primary_color,
            secondary_color: input.secondary_color,
            time_zone: input.time_zone,
            currency: input.currency,
            fiscal_year_start_month: input.fiscal_year_start_month,
            activity_open_window_days: input.activity_open_window_days,
            locale: input.locale,
        };
        Ok(match service::update_organization(&state.db, &state.events, p, cmd).await? {
            Ok(o) => OrganizationPayload { organization: Some(Organization(o)), user_errors: vec![] },
            Err(e) => OrganizationPayload { organization: None, user_errors: errors(e) },
        })
    }

    /// Creates a team. Admins anywhere; managers below a team they manage.
    async fn create_team(&self, ctx: &Context<'_>, input: CreateTeamInput) -> Result<TeamPayload> {
        let p = ctx.principal()?;
        // A role that writes no teams is refused before its IDs are read.
        policy::may_write_teams(p)?;
        let state = ctx.state()?;
        let cmd = service::CreateTeam {
            name: input.name,
            description: input.description,
            parent_team_id: input.parent_team_id.as_ref().map(|id| decode_id(id, NodeKind::Team)).transpose()?,
            manager_id: input.manager_id.as_ref().map(|id| decode_id(id, NodeKind::Member)).transpose()?,
        };
        Ok(team_payload(service::create_team(&state.db, &state.events, p, cmd).await?))
    }

    /// Renames a team, changes its description or manager. Admins; managers inside their subtree.
    async fn update_team(&self, ctx: &Context<'_>, input: UpdateTeamInput) -> Result<TeamPayload> {
        let p = ctx.principal()?;
        // A role that writes no teams is refused before its IDs are read.
        policy::may_write_teams(p)?;
        let state = ctx.state()?;
        let cmd = service::UpdateTeam {
            id: decode_id(&input.id, NodeKind::Team)?,
            version: input.version,
            name: input.name,
            description: maybe(input.description),
            manager_id: match &input.manager_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(id) => Some(Some(decode_id(id, NodeKind::Member)?)),
            },
        };
        Ok(team_payload(service::update_team(&state.db, &state.events, p, cmd).await?))
    }

    /// Moves a team under another one. A move that would put a team below itself is refused
    /// with a `CYCLE` user error. Admins; managers inside their subtree.
    async fn move_team(&self, ctx: &Context<'_>, input: MoveTeamInput) -> Result<TeamPayload> {
        let p = ctx.principal()?;
        // A role that writes no teams is refused before its IDs are read.
        policy::may_write_teams(p)?;
        let state = ctx.state()?;
        let cmd = service::MoveTeam {
            id: decode_id(&input.id, NodeKind::Team)?,
            version: input.version,
            parent_team_id: input.parent_team_id.as_ref().map(|id| decode_id(id, NodeKind::Team)).transpose()?,
        };
        Ok(team_payload(service::move_team(&state.db, &state.events, p, cmd).await?))
    }
}

// ---------------------------------------------------------------- subscriptions

/// Organization subscriptions.
#[derive(Default)]
pub struct OrgSubscription;

#[Subscription]
impl OrgSubscription {
    /// The viewer's organization, each time its settings or branding change.
    async fn organization_changed(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<Organization>> + use<>> {
        let p = ctx.principal()?;
        let state = ctx.state()?;
        let org = p.org;
        let db = state.db.clone();
        let rx = state.events.subscribe();
        Ok(futures_util::stream::unfold((rx, db), move |(mut rx, db)| async move {
            loop {
                let changed = match rx.recv().await {
                    // Each message is reloaded from the database, so after missed events (this
                    // subscriber lagged, or this instance lost touch with the others) one reload
                    // of the current state loses nothing.
                    Ok(Event::Resync) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                    Ok(Event::OrganizationChanged { org: changed }) => OrgId(changed) == org,
                    Ok(_) => false,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                };
                if changed {
                    let item = match store::organization(org, &db).await {
                        Ok(Some(o)) => Ok(Organization(o)),
                        Ok(None) => return None,
                        Err(e) => Err(e.into()),
                    };
                    return Some((item, (rx, db)));
                }
            }
        }))
    }
}
