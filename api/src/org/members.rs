//! GraphQL surface of member changes: creating, editing, changing e-mail or role, deactivating
//! and reactivating. Each parses its input into a command for [`super::service`], which runs it.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::NaiveDate;

use entity::member;

use super::graphql::Member;
use super::model::{Role, SalesRole};
use super::{policy, service};
use crate::core::field::Checked;
use crate::graphql::relay::{NodeKind, decode_id};
use crate::graphql::{ContextExt, UserError};

/// A new member (admins only).
#[derive(InputObject)]
pub struct CreateMemberInput {
    /// Full name.
    name: String,
    /// E-mail, unique in the organization.
    email: String,
    /// Role (default REP).
    #[graphql(default_with = "Role::Rep")]
    role: Role,
    /// Sales role.
    sales_role: SalesRole,
    /// Team.
    team_id: Option<ID>,
    /// First working day (default today).
    start_date: Option<NaiveDate>,
    /// Initial password (at least 8 characters); without one the member signs in through an identity provider.
    password: Option<String>,
    /// URL of the member's picture: an absolute http(s) URL of at most 2,000 characters.
    avatar_url: Option<String>,
}

/// Changes to a member. Absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateMemberInput {
    /// The member.
    id: ID,
    /// The `version` you last read; when given and stale, the update is refused with CONFLICT
    /// instead of silently overwriting someone else's change.
    version: Option<i32>,
    /// New name.
    name: Option<String>,
    /// New e-mail.
    email: Option<String>,
    /// New role (admins only).
    role: Option<Role>,
    /// New sales role.
    sales_role: Option<SalesRole>,
    /// New team; `null` for none (admins only).
    team_id: MaybeUndefined<ID>,
    /// New start date.
    start_date: Option<NaiveDate>,
    /// New picture URL (an absolute http(s) URL); `null` removes it. Members may change their own.
    avatar_url: MaybeUndefined<String>,
}

/// Identifies a member to deactivate or reactivate.
#[derive(InputObject)]
pub struct MemberIdInput {
    /// The member.
    id: ID,
}

/// Result of a member mutation.
#[derive(SimpleObject)]
pub struct MemberPayload {
    /// The member after the change; `null` when refused.
    member: Option<Member>,
    /// What to fix; empty on success.
    user_errors: Vec<UserError>,
}

/// The member mutations (a segment of the root mutation).
#[derive(Default)]
pub struct MemberMutation;

#[Object]
impl MemberMutation {
    /// Creates a member (admins). Recorded in the audit log as `member.create`.
    async fn create_member(&self, ctx: &Context<'_>, input: CreateMemberInput) -> Result<MemberPayload> {
        create(ctx, input).await
    }

    /// Changes a member. Admins: anything. Managers: members inside their subtree whose role is
    /// not above theirs, not roles. A member may change their own name. Recorded in the audit
    /// log as `member.changeRole`, `member.changeEmail` and `member.update`.
    async fn update_member(&self, ctx: &Context<'_>, input: UpdateMemberInput) -> Result<MemberPayload> {
        update(ctx, input).await
    }

    /// Deactivates a member: they can no longer log in, their sessions end, their history stays.
    /// Admins; managers inside their subtree, for members whose role is not above theirs.
    async fn deactivate_member(&self, ctx: &Context<'_>, input: MemberIdInput) -> Result<MemberPayload> {
        set_active(ctx, input, false).await
    }

    /// Reactivates a deactivated member, under the same rule as `deactivateMember`.
    async fn reactivate_member(&self, ctx: &Context<'_>, input: MemberIdInput) -> Result<MemberPayload> {
        set_active(ctx, input, true).await
    }
}

fn member_payload(result: Checked<member::Model>) -> MemberPayload {
    match result {
        Ok(m) => MemberPayload { member: Some(Member(m)), user_errors: vec![] },
        Err(e) => MemberPayload { member: None, user_errors: e.into_iter().map(UserError::from).collect() },
    }
}

/// Creates a member (admins).
async fn create(ctx: &Context<'_>, input: CreateMemberInput) -> Result<MemberPayload> {
    let p = ctx.principal()?;
    // A role that creates no members is refused before its IDs are read.
    policy::may_create_members(p)?;
    let state = ctx.state()?;
    let cmd = service::CreateMember {
        name: input.name,
        email: input.email,
        role: input.role,
        sales_role: input.sales_role,
        team_id: input.team_id.as_ref().map(|id| decode_id(id, NodeKind::Team)).transpose()?,
        start_date: input.start_date,
        password: input.password,
        avatar_url: input.avatar_url,
    };
    Ok(member_payload(service::create_member(&state.db, &state.events, p, cmd).await?))
}

/// Changes a member. Admins: anything. Managers: members inside their subtree whose role is
/// not above theirs, not roles. A member may change their own name.
async fn update(ctx: &Context<'_>, input: UpdateMemberInput) -> Result<MemberPayload> {
    let p = ctx.principal()?;
    let state = ctx.state()?;
    let cmd = service::UpdateMember {
        id: decode_id(&input.id, NodeKind::Member)?,
        version: input.version,
        name: input.name,
        email: input.email,
        role: input.role,
        sales_role: input.sales_role,
        team_id: match &input.team_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(id) => Some(Some(decode_id(id, NodeKind::Team)?)),
        },
        start_date: input.start_date,
        avatar_url: match input.avatar_url {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(url) => Some(Some(url)),
        },
    };
    Ok(member_payload(service::update_member(&state.db, &state.events, p, cmd).await?))
}

/// Deactivates (`active` false) or reactivates a member, under the member rule.
async fn set_active(ctx: &Context<'_>, input: MemberIdInput, active: bool) -> Result<MemberPayload> {
    let p = ctx.principal()?;
    // A role that changes no members is refused before the ID is read.
    policy::may_write_members(p)?;
    let state = ctx.state()?;
    let id = decode_id(&input.id, NodeKind::Member)?;
    Ok(member_payload(service::set_member_active(&state.db, &state.events, p, id, active).await?))
}
