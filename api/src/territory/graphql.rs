//! GraphQL surface of territories: the tree with routing rules, member assignments and coverage.
//! Everyone in the organization reads territories; admins change them.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use entity::{territory, territory_assignment};

use super::model::{self, AssignmentRole, AssignmentSpan, RoutingRule, TerritoryKind};
use super::store;
use super::{policy, service};
use crate::core::error::AppResult;
use crate::core::field::{Checked, FieldError};
use crate::core::principal::Principal;

use crate::graphql::relay::{NodeKind, PageArgs, connection, decode_id, global_id};
use crate::graphql::{ContextExt, UserError};
use crate::org::graphql::Member;
use crate::org::store as org_store;

// ---------------------------------------------------------------- output types

/// A sales territory: a region, segment or set of named accounts, in a tree.
pub struct Territory(pub territory::Model);

crate::connection_type!(TerritoryConnection, TerritoryEdge, Territory, "territories");

/// A condition set that routes a deal to a territory: every condition given must hold.
#[derive(SimpleObject)]
pub struct TerritoryRule {
    /// Country, ISO 3166-1 alpha-2.
    country: Option<String>,
    /// Postal-code prefix (compared without spaces, case-insensitive).
    postal_prefix: Option<String>,
    /// Industry (case-insensitive).
    industry: Option<String>,
    /// Smallest company size (employees), inclusive.
    size_min: Option<i32>,
    /// Largest company size (employees), inclusive.
    size_max: Option<i32>,
    /// Breaks ties between equally deep territories: higher wins.
    priority: i32,
}

impl From<RoutingRule> for TerritoryRule {
    fn from(r: RoutingRule) -> Self {
        TerritoryRule {
            country: r.country,
            postal_prefix: r.postal_prefix,
            industry: r.industry,
            size_min: r.size_min,
            size_max: r.size_max,
            priority: r.priority,
        }
    }
}

/// A sales territory: a region, segment or set of named accounts, in a tree.
#[Object]
impl Territory {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Territory, self.0.id)
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// REGION, SEGMENT or NAMED_ACCOUNTS.
    async fn kind(&self) -> TerritoryKind {
        TerritoryKind::parse(&self.0.kind).unwrap_or(TerritoryKind::Region)
    }
    /// The territory above; `null` for a root.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Territory>> {
        let Some(parent) = self.0.parent_id else { return Ok(None) };
        let p = ctx.principal()?;
        Ok(store::find(p.org, &ctx.state()?.db, parent).await?.map(Territory))
    }
    /// The territories directly below (archived ones left out).
    async fn children(&self, ctx: &Context<'_>) -> Result<Vec<Territory>> {
        let p = ctx.principal()?;
        let all = store::territories(p.org, &ctx.state()?.db, false).await?;
        Ok(all.into_iter().filter(|t| t.parent_id == Some(self.0.id)).map(Territory).collect())
    }
    /// Routing rules: a new or changed deal without a manual territory goes to the deepest
    /// territory with a matching rule (then the highest priority).
    async fn rules(&self) -> Vec<TerritoryRule> {
        store::rules_of(&self.0).into_iter().map(TerritoryRule::from).collect()
    }
    /// Assignments, oldest first; only those active on `activeOn` when given.
    async fn assignments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only assignments active on this day.")] active_on: Option<NaiveDate>,
    ) -> Result<Vec<TerritoryAssignment>> {
        let p = ctx.principal()?;
        let rows = store::assignments(p.org, &ctx.state()?.db, Some(&[self.0.id])).await?;
        Ok(rows
            .into_iter()
            .filter(|a| active_on.is_none_or(|d| model::is_active_on(&store::span(a), d)))
            .map(TerritoryAssignment)
            .collect())
    }
    /// The owner today (the organization's time zone), if any.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        let p = ctx.principal()?;
        let db = &ctx.state()?.db;
        let today = service::org_today(p.org, db).await?;
        let rows = store::assignments(p.org, db, Some(&[self.0.id])).await?;
        let owner =
            rows.iter().map(store::span).find(|s| s.role == AssignmentRole::Owner && model::is_active_on(s, today));
        match owner {
            Some(s) => Ok(crate::org::graphql::member_by_id(ctx, s.member_id).await?),
            None => Ok(None),
        }
    }
    /// Archived territories route nothing and are left out of lists by default.
    async fn archived(&self) -> bool {
        self.0.archived
    }
    /// Increases with every change; pass it back to `updateTerritory` to detect conflicts.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Created at.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last changed at.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A member's assignment to a territory over a span of days.
pub struct TerritoryAssignment(pub territory_assignment::Model);

/// A member's assignment to a territory over a span of days.
#[Object]
impl TerritoryAssignment {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::TerritoryAssignment, self.0.id)
    }
    /// The territory.
    async fn territory(&self, ctx: &Context<'_>) -> Result<Option<Territory>> {
        let p = ctx.principal()?;
        Ok(store::find(p.org, &ctx.state()?.db, self.0.territory_id).await?.map(Territory))
    }
    /// The member.
    async fn member(&self, ctx: &Context<'_>) -> Result<Option<Member>> {
        Ok(crate::org::graphql::member_by_id(ctx, self.0.member_id).await?)
    }
    /// OWNER (one at a time per territory) or OVERLAY.
    async fn role(&self) -> AssignmentRole {
        AssignmentRole::parse(&self.0.role).unwrap_or(AssignmentRole::Overlay)
    }
    /// First day.
    async fn starts_on(&self) -> NaiveDate {
        self.0.starts_on
    }
    /// Last day (inclusive); `null` while open-ended.
    async fn ends_on(&self) -> Option<NaiveDate> {
        self.0.ends_on
    }
}

/// Gaps in territory coverage on one day.
#[derive(SimpleObject)]
pub struct TerritoryCoverage {
    /// The day looked at.
    on: NaiveDate,
    /// Active territories without an active OWNER.
    territories_without_owner: Vec<Territory>,
    /// Active reps without any active territory assignment.
    members_without_territory: Vec<Member>,
}

// ---------------------------------------------------------------- inputs and payloads

/// A routing rule: give at least one condition.
#[derive(InputObject)]
pub struct TerritoryRuleInput {
    /// Country, ISO 3166-1 alpha-2.
    country: Option<String>,
    /// Postal-code prefix, e.g. "10" for Amsterdam.
    postal_prefix: Option<String>,
    /// Industry.
    industry: Option<String>,
    /// Smallest company size, inclusive.
    size_min: Option<i32>,
    /// Largest company size, inclusive.
    size_max: Option<i32>,
    /// Higher wins between equally deep territories (default 0).
    #[graphql(default)]
    priority: i32,
}

impl From<TerritoryRuleInput> for RoutingRule {
    fn from(r: TerritoryRuleInput) -> Self {
        RoutingRule {
            country: r.country,
            postal_prefix: r.postal_prefix,
            industry: r.industry,
            size_min: r.size_min,
            size_max: r.size_max,
            priority: r.priority,
        }
    }
}

/// A new territory.
#[derive(InputObject)]
pub struct CreateTerritoryInput {
    /// Name.
    name: String,
    /// REGION, SEGMENT or NAMED_ACCOUNTS.
    kind: TerritoryKind,
    /// The territory above (none: a root).
    parent_id: Option<ID>,
    /// Routing rules (at most 50).
    #[graphql(default)]
    rules: Vec<TerritoryRuleInput>,
}

/// Changes to a territory; absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateTerritoryInput {
    /// The territory.
    id: ID,
    /// The `version` you last read; when stale the update is refused with CONFLICT.
    version: Option<i32>,
    /// New name.
    name: Option<String>,
    /// New kind.
    kind: Option<TerritoryKind>,
    /// New parent; `null` makes it a root.
    parent_id: MaybeUndefined<ID>,
    /// New rules (replace all).
    rules: Option<Vec<TerritoryRuleInput>>,
}

/// Archives a territory.
#[derive(InputObject)]
pub struct ArchiveTerritoryInput {
    /// The territory (without active sub-territories).
    id: ID,
}

/// Assigns a member to a territory.
#[derive(InputObject)]
pub struct AssignTerritoryInput {
    /// The territory.
    territory_id: ID,
    /// The member.
    member_id: ID,
    /// OWNER (one at a time per territory) or OVERLAY.
    role: AssignmentRole,
    /// First day (default: today in the organization's time zone).
    starts_on: Option<NaiveDate>,
    /// Last day, inclusive (default: open-ended).
    ends_on: Option<NaiveDate>,
}

/// Ends an assignment.
#[derive(InputObject)]
pub struct EndTerritoryAssignmentInput {
    /// The assignment.
    id: ID,
    /// Last day, inclusive (default: today in the organization's time zone).
    ends_on: Option<NaiveDate>,
}

/// Result of a territory mutation.
#[derive(SimpleObject)]
pub struct TerritoryPayload {
    /// The territory after the change; `null` when refused.
    territory: Option<Territory>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

/// Result of an assignment mutation.
#[derive(SimpleObject)]
pub struct TerritoryAssignmentPayload {
    /// The assignment after the change; `null` when refused.
    assignment: Option<TerritoryAssignment>,
    /// What to fix.
    user_errors: Vec<UserError>,
}

/// Filter for `territories`.
#[derive(InputObject, Default)]
pub struct TerritoryFilter {
    /// Only the direct children of this territory.
    parent_id: Option<ID>,
    /// Only root territories.
    roots_only: Option<bool>,
    /// Include archived territories.
    include_archived: Option<bool>,
}

fn errors(list: Vec<FieldError>) -> Vec<UserError> {
    list.into_iter().map(UserError::from).collect()
}

/// A stored territory, or NOT_FOUND (also for another organization's).
pub async fn load(p: &Principal, db: &impl sea_orm::ConnectionTrait, id: &ID) -> AppResult<territory::Model> {
    service::load(p.org, db, decode_id(id, NodeKind::Territory)?).await
}

// ---------------------------------------------------------------- queries

/// Territory queries.
#[derive(Default)]
pub struct TerritoryQuery;

#[Object]
impl TerritoryQuery {
    /// Territories by name.
    #[graphql(complexity = "crate::graphql::relay::page_cost(__field, first, last, child_complexity)")]
    async fn territories(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to include.")] filter: Option<TerritoryFilter>,
        #[graphql(desc = "Page size from the start, 1 to 200 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1 to 200.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<TerritoryConnection> {
        let p = ctx.principal()?;
        policy::may_read(p)?;
        let page = PageArgs::asked(ctx, first, after, last, before);
        page.validate()?;
        let f = filter.unwrap_or_default();
        let db = &ctx.state()?.db;
        let parent = match &f.parent_id {
            Some(id) => Some(load(p, db, id).await?.id),
            None => None,
        };
        let all = store::territories(p.org, db, f.include_archived.unwrap_or(false)).await?;
        let rows: Vec<territory::Model> = all
            .into_iter()
            .filter(|t| parent.is_none_or(|x| t.parent_id == Some(x)))
            .filter(|t| !f.roots_only.unwrap_or(false) || t.parent_id.is_none())
            .collect();
        let rows = crate::graphql::keyset::slice(rows, &store::TERRITORIES, &page)?;
        Ok(connection(ctx, rows, Territory).into())
    }

    /// One territory.
    async fn territory(&self, ctx: &Context<'_>, #[graphql(desc = "Its ID.")] id: ID) -> Result<Territory> {
        let p = ctx.principal()?;
        Ok(Territory(load(p, &ctx.state()?.db, &id).await?))
    }

    /// Coverage gaps on a day (default today): active territories without an active owner, and
    /// active reps (role REP) without any active territory.
    #[graphql(complexity = "crate::graphql::access::EXPENSIVE_FIELD_COST + child_complexity")]
    async fn territory_coverage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The day (default: today in the organization's time zone).")] on: Option<NaiveDate>,
    ) -> Result<TerritoryCoverage> {
        let p = ctx.principal()?;
        policy::may_read(p)?;
        let db = &ctx.state()?.db;
        let on = match on {
            Some(d) => d,
            None => service::org_today(p.org, db).await?,
        };
        let territories = store::territories(p.org, db, false).await?;
        let spans: Vec<AssignmentSpan> = store::assignments(p.org, db, None).await?.iter().map(store::span).collect();
        let reps: Vec<entity::member::Model> = org_store::all_members(p.org, db, &Default::default())
            .await?
            .into_iter()
            .filter(|m| m.active && m.role == "REP")
            .collect();
        let rep_ids: Vec<Uuid> = reps.iter().map(|m| m.id).collect();
        let ids: Vec<Uuid> = territories.iter().map(|t| t.id).collect();
        let c = model::coverage(&ids, &spans, &rep_ids, on);
        Ok(TerritoryCoverage {
            on,
            territories_without_owner: territories
                .into_iter()
                .filter(|t| c.territories_without_owner.contains(&t.id))
                .map(Territory)
                .collect(),
            members_without_territory: reps
                .into_iter()
                .filter(|m| c.members_without_territory.contains(&m.id))
                .map(Member)
                .collect(),
        })
    }
}

// ---------------------------------------------------------------- mutations

/// Territory mutations (admins).
#[derive(Default)]
pub struct TerritoryMutation;

#[Object]
impl TerritoryMutation {
    /// Creates a territory.
    async fn create_territory(&self, ctx: &Context<'_>, input: CreateTerritoryInput) -> Result<TerritoryPayload> {
        let p = ctx.principal()?;
        // The role first, so a caller without it learns nothing from the IDs it sent.
        policy::may_change(p)?;
        let state = ctx.state()?;
        let cmd = service::CreateTerritory {
            parent_id: input.parent_id.as_ref().map(|id| decode_id(id, NodeKind::Territory)).transpose()?,
            name: input.name,
            kind: input.kind,
            rules: input.rules.into_iter().map(RoutingRule::from).collect(),
        };
        Ok(territory_payload(service::create(&state.db, &state.events, p, cmd).await?))
    }

    /// Changes a territory: name, kind, parent (no cycles) or rules.
    async fn update_territory(&self, ctx: &Context<'_>, input: UpdateTerritoryInput) -> Result<TerritoryPayload> {
        let p = ctx.principal()?;
        // The role first, so a caller without it learns nothing from the IDs it sent.
        policy::may_change(p)?;
        let state = ctx.state()?;
        let cmd = service::UpdateTerritory {
            id: decode_id(&input.id, NodeKind::Territory)?,
            version: input.version,
            name: input.name,
            kind: input.kind,
            rules: input.rules.map(|r| r.into_iter().map(RoutingRule::from).collect()),
            parent_id: match &input.parent_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(id) => Some(Some(decode_id(id, NodeKind::Territory)?)),
            },
        };
        Ok(territory_payload(service::update(&state.db, &state.events, p, cmd).await?))
    }

    /// Archives a territory: it routes nothing from now on; history keeps it. Refused while it
    /// has active sub-territories.
    async fn archive_territory(&self, ctx: &Context<'_>, input: ArchiveTerritoryInput) -> Result<TerritoryPayload> {
        let p = ctx.principal()?;
        // The role first, so a caller without it learns nothing from the IDs it sent.
        policy::may_change(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::Territory)?;
        Ok(territory_payload(service::archive(&state.db, &state.events, p, id).await?))
    }

    /// Assigns a member to a territory. A territory has one OWNER at a time: an OWNER span
    /// overlapping another is refused (end the current one first).
    async fn assign_territory(
        &self,
        ctx: &Context<'_>,
        input: AssignTerritoryInput,
    ) -> Result<TerritoryAssignmentPayload> {
        let p = ctx.principal()?;
        // The role first, so a caller without it learns nothing from the IDs it sent.
        policy::may_change(p)?;
        let state = ctx.state()?;
        let cmd = service::AssignTerritory {
            territory_id: decode_id(&input.territory_id, NodeKind::Territory)?,
            member_id: decode_id(&input.member_id, NodeKind::Member)?,
            role: input.role,
            starts_on: input.starts_on,
            ends_on: input.ends_on,
        };
        Ok(assignment_payload(service::assign(&state.db, &state.events, p, cmd).await?))
    }

    /// Ends an assignment on a day (inclusive).
    async fn end_territory_assignment(
        &self,
        ctx: &Context<'_>,
        input: EndTerritoryAssignmentInput,
    ) -> Result<TerritoryAssignmentPayload> {
        let p = ctx.principal()?;
        // The role first, so a caller without it learns nothing from the IDs it sent.
        policy::may_change(p)?;
        let state = ctx.state()?;
        let id = decode_id(&input.id, NodeKind::TerritoryAssignment)?;
        Ok(assignment_payload(service::end_assignment(&state.db, &state.events, p, id, input.ends_on).await?))
    }
}

fn territory_payload(result: Checked<territory::Model>) -> TerritoryPayload {
    match result {
        Ok(t) => TerritoryPayload { territory: Some(Territory(t)), user_errors: vec![] },
        Err(e) => TerritoryPayload { territory: None, user_errors: errors(e) },
    }
}

fn assignment_payload(result: Checked<territory_assignment::Model>) -> TerritoryAssignmentPayload {
    match result {
        Ok(a) => TerritoryAssignmentPayload { assignment: Some(TerritoryAssignment(a)), user_errors: vec![] },
        Err(e) => TerritoryAssignmentPayload { assignment: None, user_errors: errors(e) },
    }
}
