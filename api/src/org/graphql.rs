//! GraphQL surface of organizations, teams and members: thin resolvers that parse input,
//! check permission, call the store and map the result.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject, Subscription};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::Stream;

use entity::{member, organization, team};

use super::model::{self, FieldError, OrgId, Role, SalesRole};
use super::store::{self, MemberFilter, OrganizationPatch, TeamFilter, TeamPatch};
use crate::auth::Reach;
use crate::core::error::{AppError, AppResult};
use crate::core::principal::{Permission, Principal};
use crate::events::Event;
use crate::graphql::loaders::{MemberKey, SubTeamsKey, TeamKey};
use crate::graphql::relay::{NodeKind, PageArgs, connection, decode_id, global_id};
use crate::graphql::{ContextExt, UserError};

// ---------------------------------------------------------------- output types

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
        Branding {
            display_name: self.0.display_name.clone().unwrap_or_else(|| self.0.name.clone()),
            logo_url: self.0.logo_url.clone(),
            primary_color: self.0.primary_color.clone(),
            secondary_color: self.0.secondary_color.clone(),
        }
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
        Ok(ctx.loader()?.load_one(TeamKey(parent)).await?.map(Team))
    }
    /// Direct sub-teams, by name.
    async fn sub_teams(&self, ctx: &Context<'_>) -> Result<Vec<Team>> {
        let teams = ctx.loader()?.load_one(SubTeamsKey(self.0.id)).await?.unwrap_or_default();
        Ok(teams.into_iter().map(Team).collect())
    }
    /// The team's manager.
    async fn manager(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        let Some(manager) = self.0.manager_id else { return Ok(None) };
        Ok(ctx.loader()?.load_one(MemberKey(manager)).await?.map(Member))
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
        let page = PageArgs { first, after, last, before };
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
        Ok(ctx.loader()?.load_one(TeamKey(team)).await?.map(Team))
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
        let page = PageArgs { first, after, last, before };
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
        let page = PageArgs { first, after, last, before };
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
        let p = ctx.principal()?;
        let org = store::organization(p.org, &ctx.state()?.db).await?.ok_or(AppError::NotFound("organization"))?;
        Ok(Organization(org))
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
        let page = PageArgs { first, after, last, before };
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
        let page = PageArgs { first, after, last, before };
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

/// Collects field errors while parsing an input.
#[derive(Default)]
pub(super) struct Errors(pub(super) Vec<UserError>);

impl Errors {
    pub(super) fn check<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        r.map_err(|e| self.0.push(e.into())).ok()
    }
    pub(super) fn push(&mut self, field: &str, code: &'static str, message: &str) {
        self.0.push(FieldError::new(field, code, message).into());
    }
}

fn parse_description(errors: &mut Errors, raw: Option<String>) -> Option<String> {
    crate::org::model::parse_free_text("description", raw.as_deref(), 2000).map_err(|e| errors.0.push(e.into())).ok()?
}

/// The member to appoint as a team's manager: active, inside the appointer's reach, and not
/// above the appointer's role (appointing acts on the appointee, under the member rule).
async fn appointable_manager(
    p: &Principal,
    reach: &Reach,
    db: &impl sea_orm::ConnectionTrait,
    id: &ID,
) -> AppResult<member::Model> {
    let id = decode_id(id, NodeKind::Member)?;
    let m = store::find_member(p.org, db, id).await?.ok_or(AppError::NotFound("member"))?;
    super::policy::require_may_change(p, reach, &m, "the new manager")?;
    if !m.active {
        return Err(AppError::bad_input("that member is deactivated"));
    }
    Ok(m)
}

/// What the audit log keeps of a team.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct TeamRecord<'a> {
    id: uuid::Uuid,
    name: &'a str,
    description: Option<&'a str>,
    parent_team_id: Option<uuid::Uuid>,
    manager_id: Option<uuid::Uuid>,
    version: i32,
}

/// Records a team change (its manager decides who reaches its members) in the transaction
/// that makes it.
async fn record_team(
    p: &Principal,
    db: &impl sea_orm::ConnectionTrait,
    action: &str,
    before: Option<&team::Model>,
    after: &team::Model,
) -> AppResult<()> {
    let snapshot = |t: &team::Model| {
        crate::audit::store::snapshot(&TeamRecord {
            id: t.id,
            name: &t.name,
            description: t.description.as_deref(),
            parent_team_id: t.parent_team_id,
            manager_id: t.manager_id,
            version: t.version,
        })
    };
    let actor = crate::audit::store::Actor::from(p);
    crate::audit::store::record(
        p.org,
        db,
        actor,
        action,
        "Team",
        Some(after.id),
        before.and_then(snapshot),
        snapshot(after),
    )
    .await
}

pub(super) async fn existing_team(org: OrgId, db: &impl sea_orm::ConnectionTrait, id: &ID) -> AppResult<team::Model> {
    let id = decode_id(id, NodeKind::Team)?;
    store::find_team(org, db, id).await?.ok_or(AppError::NotFound("team"))
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
        p.require(Permission::OrganizationUpdate)?;
        let state = ctx.state()?;
        let mut e = Errors::default();
        let patch = OrganizationPatch {
            name: input.name.map(|n| e.check(model::parse_name("name", &n))).unwrap_or(None),
            display_name: match input.display_name {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => e.check(model::parse_name("displayName", &v)).map(Some),
            },
            logo_url: match input.logo_url {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => e.check(model::parse_logo_url(&v)).map(Some),
            },
            primary_color: input.primary_color.and_then(|c| e.check(model::parse_color("primaryColor", &c))),
            secondary_color: input.secondary_color.and_then(|c| e.check(model::parse_color("secondaryColor", &c))),
            time_zone: input
                .time_zone
                .and_then(|tz| e.check(model::parse_time_zone(&tz)).map(|tz| tz.name().to_owned())),
            currency: input.currency.and_then(|c| e.check(model::parse_currency(&c))),
            fiscal_year_start_month: input.fiscal_year_start_month.and_then(|m| e.check(model::parse_fiscal_month(m))),
            activity_open_window_days: input
                .activity_open_window_days
                .and_then(|d| e.check(model::parse_open_window_days(d))),
        };
        if !e.0.is_empty() {
            return Ok(OrganizationPayload { organization: None, user_errors: e.0 });
        }
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let current = store::organization(p.org, &tx).await?.ok_or(AppError::NotFound("organization"))?;
        if let Some(v) = input.version
            && v != current.version
        {
            return Err(AppError::Conflict(format!(
                "the organization is at version {}, not {v}; reload and try again",
                current.version
            ))
            .into());
        }
        let updated = store::update_organization(p.org, &tx, patch, current.version).await?;
        tx.commit().await.map_err(AppError::from)?;
        state.events.publish(Event::OrganizationChanged { org: p.org.0 });
        Ok(OrganizationPayload { organization: Some(Organization(updated)), user_errors: vec![] })
    }

    /// Creates a team. Admins anywhere; managers below a team they manage.
    async fn create_team(&self, ctx: &Context<'_>, input: CreateTeamInput) -> Result<TeamPayload> {
        let p = ctx.principal()?;
        p.require(Permission::TeamsWrite)?;
        let state = ctx.state()?;
        let mut e = Errors::default();
        let name = e.check(model::parse_name("name", &input.name));
        let description = parse_description(&mut e, input.description);
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let parent = match &input.parent_team_id {
            Some(id) => Some(existing_team(p.org, &tx, id).await?.id),
            None => None,
        };
        let reach = p.reach(&tx).await?;
        reach.require(parent, "the parent team")?;
        let manager = match &input.manager_id {
            Some(id) => Some(appointable_manager(p, &reach, &tx, id).await?.id),
            None => None,
        };
        let Some(name) = name.filter(|_| e.0.is_empty()) else {
            return Ok(TeamPayload { team: None, user_errors: e.0 });
        };
        let team = store::create_team(p.org, &tx, name, description, parent, manager).await?;
        record_team(p, &tx, "team.create", None, &team).await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(TeamPayload { team: Some(Team(team)), user_errors: vec![] })
    }

    /// Renames a team, changes its description or manager. Admins; managers inside their subtree.
    async fn update_team(&self, ctx: &Context<'_>, input: UpdateTeamInput) -> Result<TeamPayload> {
        let p = ctx.principal()?;
        p.require(Permission::TeamsWrite)?;
        let state = ctx.state()?;
        let mut e = Errors::default();
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        let team = existing_team(p.org, &tx, &input.id).await?;
        let reach = p.reach(&tx).await?;
        reach.require(Some(team.id), "this team")?;
        let manager_id = match &input.manager_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(id) => Some(Some(appointable_manager(p, &reach, &tx, id).await?.id)),
        };
        // Replacing or removing a manager acts on that manager too.
        if let (Some(new), Some(current)) = (manager_id, team.manager_id)
            && new != Some(current)
            && let Some(current) = store::find_member(p.org, &tx, current).await?
        {
            super::policy::require_may_change(p, &reach, &current, "the team's current manager")?;
        }
        let patch = TeamPatch {
            name: input.name.and_then(|n| e.check(model::parse_name("name", &n))),
            description: match input.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(d) => Some(parse_description(&mut e, Some(d))),
            },
            parent_team_id: None,
            manager_id,
        };
        if !e.0.is_empty() {
            return Ok(TeamPayload { team: None, user_errors: e.0 });
        }
        let before = team;
        let team = store::update_team(p.org, &tx, before.id, patch, input.version).await?;
        record_team(p, &tx, "team.update", Some(&before), &team).await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(TeamPayload { team: Some(Team(team)), user_errors: vec![] })
    }

    /// Moves a team under another one. A move that would put a team below itself is refused
    /// with a `CYCLE` user error. Admins; managers inside their subtree.
    async fn move_team(&self, ctx: &Context<'_>, input: MoveTeamInput) -> Result<TeamPayload> {
        let p = ctx.principal()?;
        p.require(Permission::TeamsWrite)?;
        let state = ctx.state()?;
        let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
        // The cycle check reads the whole tree: an opposite move must not pass it at the same time.
        crate::db::serialize(&tx, p.org, crate::db::Section::TeamTree).await.map_err(AppError::from)?;
        let team = existing_team(p.org, &tx, &input.id).await?;
        let parent = match &input.parent_team_id {
            Some(id) => Some(existing_team(p.org, &tx, id).await?.id),
            None => None,
        };
        let reach = p.reach(&tx).await?;
        reach.require(Some(team.id), "this team")?;
        reach.require(parent, "the new parent team")?;
        if let Some(parent) = parent
            && store::team_tree(p.org, &tx).await?.would_create_cycle(team.id, parent)
        {
            return Ok(TeamPayload {
                team: None,
                user_errors: vec![
                    FieldError::new("parentTeamId", "CYCLE", "a team cannot be moved below itself").into(),
                ],
            });
        }
        let patch = TeamPatch { parent_team_id: Some(parent), ..Default::default() };
        let before = team;
        let team = store::update_team(p.org, &tx, before.id, patch, input.version).await?;
        record_team(p, &tx, "team.move", Some(&before), &team).await?;
        tx.commit().await.map_err(AppError::from)?;
        state.events.publish(Event::MembersChanged { org: p.org.0 });
        Ok(TeamPayload { team: Some(Team(team)), user_errors: vec![] })
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
