//! Member changes: creating, editing, changing e-mail or role, deactivating and reactivating.
//! Each runs in one transaction that checks the member rule ([`super::policy`]), writes the
//! change and its audit entry, and commits them together.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use entity::member;

use super::graphql::{Errors, Member, existing_team};
use super::model::{self, FieldError, Role, SalesRole};
use super::policy;
use super::store::{self, MemberPatch, NewMember};
use crate::audit::store::{self as audit, Actor};
use crate::auth::password;
use crate::core::error::{AppError, AppResult};
use crate::core::principal::{Permission, Principal};
use crate::events::Event;
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
    active: bool,
    deactivated_at: Option<DateTime<Utc>>,
    has_password: bool,
    version: i32,
}

/// The member as the audit log records it.
pub fn snapshot(m: &member::Model) -> Option<serde_json::Value> {
    audit::snapshot(&MemberRecord {
        id: m.id,
        name: &m.name,
        email: &m.email,
        role: &m.role,
        sales_role: &m.sales_role,
        team_id: m.team_id,
        start_date: m.start_date,
        active: m.active,
        deactivated_at: m.deactivated_at,
        has_password: m.password_hash.is_some(),
        version: m.version,
    })
}

/// Records a member change in the transaction that makes it.
pub async fn record(
    p: &Principal,
    db: &impl sea_orm::ConnectionTrait,
    action: &str,
    before: Option<&member::Model>,
    after: &member::Model,
) -> AppResult<()> {
    audit::record(
        p.org,
        db,
        Actor::from(p),
        action,
        "Member",
        Some(after.id),
        before.and_then(snapshot),
        snapshot(after),
    )
    .await
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

/// FORBIDDEN unless the principal may hand out `role`.
fn require_may_grant(p: &Principal, role: Role) -> AppResult<()> {
    policy::may_grant_role(p.role, role).map_err(|refusal| AppError::forbidden(refusal.message("")))
}

fn email_taken() -> UserError {
    FieldError::new("email", "TAKEN", "another member already uses this e-mail address").into()
}

/// Creates a member (admins).
pub async fn create(ctx: &Context<'_>, input: CreateMemberInput) -> Result<MemberPayload> {
    let p = ctx.principal()?;
    p.require(Permission::MembersCreate)?;
    require_may_grant(p, input.role)?;
    let state = ctx.state()?;
    let mut e = Errors::default();
    let name = e.check(model::parse_name("name", &input.name));
    let email = e.check(model::parse_email(&input.email));
    if let Some(pw) = &input.password
        && let Err(msg) = password::check_strength(pw, &[&input.name, &input.email])
    {
        e.push("password", "INVALID", &msg);
    }
    let start_date = input.start_date.unwrap_or_else(|| Utc::now().date_naive());
    if let Err(err) = model::check_start_date(start_date) {
        e.0.push(err.into());
    }
    let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
    let team_id = match &input.team_id {
        Some(id) => Some(existing_team(p.org, &tx, id).await?.id),
        None => None,
    };
    p.reach(&tx).await?.require(team_id, "the team")?;
    if let Some(email) = &email
        && store::find_member_by_email(p.org, &tx, email).await?.is_some()
    {
        e.0.push(email_taken());
    }
    let (Some(name), Some(email)) = (name, email) else {
        return Ok(MemberPayload { member: None, user_errors: e.0 });
    };
    if !e.0.is_empty() {
        return Ok(MemberPayload { member: None, user_errors: e.0 });
    }
    let password_hash = match input.password {
        Some(pw) => Some(password::hash(pw).await?),
        None => None,
    };
    let new =
        NewMember { name, email, role: input.role, sales_role: input.sales_role, team_id, start_date, password_hash };
    match store::create_member(p.org, &tx, new).await {
        Ok(member) => {
            record(p, &tx, "member.create", None, &member).await?;
            tx.commit().await.map_err(AppError::from)?;
            state.events.publish(Event::MembersChanged { org: p.org.0 });
            Ok(MemberPayload { member: Some(Member(member)), user_errors: vec![] })
        }
        Err(err) if store::is_unique_violation(&err) => {
            Ok(MemberPayload { member: None, user_errors: vec![email_taken()] })
        }
        Err(err) => Err(err.into()),
    }
}

/// Changes a member. Admins: anything. Managers: members inside their subtree whose role is
/// not above theirs, not roles. A member may change their own name.
pub async fn update(ctx: &Context<'_>, input: UpdateMemberInput) -> Result<MemberPayload> {
    let p = ctx.principal()?;
    let state = ctx.state()?;
    let mut e = Errors::default();
    let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
    let id = decode_id(&input.id, NodeKind::Member)?;
    let target = store::find_member(p.org, &tx, id).await?.ok_or(AppError::NotFound("member"))?;
    let only_own_name = target.id == p.member_id
        && p.role != Role::Admin
        && input.email.is_none()
        && input.role.is_none()
        && input.sales_role.is_none()
        && input.team_id.is_undefined()
        && input.start_date.is_none();
    let new_team = match &input.team_id {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(id) => Some(Some(existing_team(p.org, &tx, id).await?.id)),
    };
    if !only_own_name {
        p.require(Permission::MembersWrite)?;
        let reach = p.reach(&tx).await?;
        policy::require_may_change(p, &reach, &target, "this member")?;
        if let Some(team) = new_team {
            reach.require(team, "the new team")?;
        }
        if let Some(role) = input.role.filter(|r| Some(*r) != Role::parse(&target.role)) {
            p.require(Permission::RolesAssign)?;
            require_may_grant(p, role)?;
        }
    }
    let email = input.email.and_then(|m| e.check(model::parse_email(&m)));
    if let Some(email) = &email
        && let Some(other) = store::find_member_by_email(p.org, &tx, email).await?
        && other.id != target.id
    {
        e.0.push(email_taken());
    }
    if let Some(d) = input.start_date
        && let Err(err) = model::check_start_date(d)
    {
        e.0.push(err.into());
    }
    let patch = MemberPatch {
        name: input.name.and_then(|n| e.check(model::parse_name("name", &n))),
        email,
        role: input.role,
        sales_role: input.sales_role,
        team_id: new_team,
        start_date: input.start_date,
        ..Default::default()
    };
    if !e.0.is_empty() {
        return Ok(MemberPayload { member: None, user_errors: e.0 });
    }
    // The rule was checked against the member as read above: the write applies only to that
    // version, so a concurrent promotion cannot slip an edit past it.
    let version = input.version.unwrap_or(target.version);
    match store::update_member(p.org, &tx, target.id, patch, Some(version)).await {
        Ok(member) => {
            for (action, changed) in [
                ("member.changeRole", member.role != target.role),
                ("member.changeEmail", member.email != target.email),
                (
                    "member.update",
                    member.name != target.name
                        || member.sales_role != target.sales_role
                        || member.team_id != target.team_id
                        || member.start_date != target.start_date,
                ),
            ] {
                if changed {
                    record(p, &tx, action, Some(&target), &member).await?;
                }
            }
            tx.commit().await.map_err(AppError::from)?;
            state.events.publish(Event::MembersChanged { org: p.org.0 });
            Ok(MemberPayload { member: Some(Member(member)), user_errors: vec![] })
        }
        Err(err) if store::is_unique_violation(&err) => {
            Ok(MemberPayload { member: None, user_errors: vec![email_taken()] })
        }
        Err(err) => Err(err.into()),
    }
}

/// Deactivates (`active` false) or reactivates a member, under the member rule.
pub async fn set_active(ctx: &Context<'_>, input: MemberIdInput, active: bool) -> Result<MemberPayload> {
    let p = ctx.principal()?;
    p.require(Permission::MembersWrite)?;
    let state = ctx.state()?;
    let id = decode_id(&input.id, NodeKind::Member)?;
    let tx = crate::db::begin_write(&state.db).await.map_err(AppError::from)?;
    let target = store::find_member(p.org, &tx, id).await?.ok_or(AppError::NotFound("member"))?;
    policy::require_may_change(p, &p.reach(&tx).await?, &target, "this member")?;
    if target.id == p.member_id && !active {
        return Ok(MemberPayload {
            member: None,
            user_errors: vec![FieldError::new("id", "SELF", "you cannot deactivate yourself").into()],
        });
    }
    let patch = MemberPatch { active: Some(active), ..Default::default() };
    let member = store::update_member(p.org, &tx, target.id, patch, Some(target.version)).await?;
    if !active {
        crate::auth::store::revoke_member(p.org, &tx, target.id).await?;
    }
    let action = if active { "member.reactivate" } else { "member.deactivate" };
    record(p, &tx, action, Some(&target), &member).await?;
    tx.commit().await.map_err(AppError::from)?;
    state.events.publish(Event::MembersChanged { org: p.org.0 });
    Ok(MemberPayload { member: Some(Member(member)), user_errors: vec![] })
}
