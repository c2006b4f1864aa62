//! Tenant-scoped reads and writes of incentive plans (versioned), plan assignments, payout
//! statements and their lines, disputes and clawbacks.

use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use entity::{clawback, dispute, incentive_plan, plan_assignment, plan_version, statement, statement_line};

use super::model::{Component, DisputeStatus, StatementStatus};
use crate::core::error::{AppError, AppResult};
use crate::core::ids::OrgId;
use crate::db::tenant;
use crate::graphql::keyset::{self, KeyKind, KeyValue, Keyset, Page, SortColumn};
use crate::graphql::relay::PageArgs;

// ---------------------------------------------------------------- plans

/// All plans by name; archived ones only when asked.
pub async fn plans(
    org: OrgId,
    db: &impl ConnectionTrait,
    include_archived: bool,
) -> AppResult<Vec<incentive_plan::Model>> {
    let mut q = tenant::scoped::<incentive_plan::Entity>(org);
    if !include_archived {
        q = q.filter(incentive_plan::Column::Archived.eq(false));
    }
    Ok(q.order_by_asc(incentive_plan::Column::Name).order_by_asc(incentive_plan::Column::Id).all(db).await?)
}

/// One plan.
pub async fn find_plan(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<incentive_plan::Model>> {
    Ok(tenant::scoped_by_id::<incentive_plan::Entity>(org, id).one(db).await?)
}

/// All versions of a plan, oldest first.
pub async fn versions(org: OrgId, db: &impl ConnectionTrait, plan: Uuid) -> AppResult<Vec<plan_version::Model>> {
    Ok(tenant::scoped::<plan_version::Entity>(org)
        .filter(plan_version::Column::PlanId.eq(plan))
        .order_by_asc(plan_version::Column::Version)
        .all(db)
        .await?)
}

/// One plan version by ID.
pub async fn find_version(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<plan_version::Model>> {
    Ok(tenant::scoped_by_id::<plan_version::Entity>(org, id).one(db).await?)
}

/// The version of a plan now in force.
pub async fn current_version(
    org: OrgId,
    db: &impl ConnectionTrait,
    plan: &incentive_plan::Model,
) -> AppResult<plan_version::Model> {
    tenant::scoped::<plan_version::Entity>(org)
        .filter(plan_version::Column::PlanId.eq(plan.id))
        .filter(plan_version::Column::Version.eq(plan.current_version))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("plan version"))
}

/// The components of a version (an unreadable value counts as none).
pub fn components_of(v: &plan_version::Model) -> Vec<Component> {
    serde_json::from_str(&v.components).unwrap_or_default()
}

fn json(components: &[Component]) -> AppResult<String> {
    serde_json::to_string(components).map_err(|e| AppError::Internal(e.into()))
}

/// Creates a plan with its version 1.
pub async fn create_plan(
    org: OrgId,
    db: &impl ConnectionTrait,
    name: String,
    description: Option<String>,
    components: &[Component],
    by: Option<Uuid>,
) -> AppResult<incentive_plan::Model> {
    let now = Utc::now();
    let plan = incentive_plan::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        name: Set(name),
        description: Set(description),
        current_version: Set(1),
        archived: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    insert_version(org, db, plan.id, 1, components, by).await?;
    Ok(plan)
}

async fn insert_version(
    org: OrgId,
    db: &impl ConnectionTrait,
    plan: Uuid,
    version: i32,
    components: &[Component],
    by: Option<Uuid>,
) -> AppResult<plan_version::Model> {
    Ok(plan_version::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        plan_id: Set(plan),
        version: Set(version),
        components: Set(json(components)?),
        locked: Set(false),
        created_by: Set(by),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Changes a plan. New components go into the current version while no approved statement
/// used it; once it is locked they become a new version.
pub async fn update_plan(
    org: OrgId,
    db: &impl ConnectionTrait,
    plan: &incentive_plan::Model,
    name: Option<String>,
    description: Option<Option<String>>,
    components: Option<&[Component]>,
    by: Option<Uuid>,
) -> AppResult<incentive_plan::Model> {
    let mut version = plan.current_version;
    if let Some(components) = components {
        let current = current_version(org, db, plan).await?;
        if current.locked {
            version += 1;
            insert_version(org, db, plan.id, version, components, by).await?;
        } else {
            tenant::scoped_update::<plan_version::Entity>(org)
                .set(plan_version::ActiveModel { components: Set(json(components)?), ..Default::default() })
                .filter(plan_version::Column::Id.eq(current.id))
                .filter(plan_version::Column::Locked.eq(false))
                .exec(db)
                .await?;
        }
    }
    let r = tenant::scoped_update::<incentive_plan::Entity>(org)
        .set(incentive_plan::ActiveModel {
            name: crate::db::set_if(name),
            description: crate::db::set_if(description),
            current_version: Set(version),
            updated_at: Set(Utc::now()),
            ..Default::default()
        })
        .filter(incentive_plan::Column::Id.eq(plan.id))
        .filter(incentive_plan::Column::CurrentVersion.eq(plan.current_version))
        .exec(db)
        .await?;
    if r.rows_affected == 0 {
        return Err(AppError::Conflict("the plan was changed by someone else; reload and try again".into()));
    }
    find_plan(org, db, plan.id).await?.ok_or(AppError::NotFound("plan"))
}

/// Archives a plan.
pub async fn archive_plan(org: OrgId, db: &impl ConnectionTrait, plan: Uuid) -> AppResult<()> {
    tenant::scoped_update::<incentive_plan::Entity>(org)
        .set(incentive_plan::ActiveModel { archived: Set(true), updated_at: Set(Utc::now()), ..Default::default() })
        .filter(incentive_plan::Column::Id.eq(plan))
        .exec(db)
        .await?;
    Ok(())
}

/// Locks a version: an approved statement used it.
pub async fn lock_version(org: OrgId, db: &impl ConnectionTrait, version: Uuid) -> AppResult<()> {
    tenant::scoped_update::<plan_version::Entity>(org)
        .set(plan_version::ActiveModel { locked: Set(true), ..Default::default() })
        .filter(plan_version::Column::Id.eq(version))
        .exec(db)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- assignments

/// Plan assignments, of one member or plan or all, oldest first.
pub async fn assignments(
    org: OrgId,
    db: &impl ConnectionTrait,
    member: Option<Uuid>,
    plan: Option<Uuid>,
) -> AppResult<Vec<plan_assignment::Model>> {
    let mut q = tenant::scoped::<plan_assignment::Entity>(org);
    if let Some(m) = member {
        q = q.filter(plan_assignment::Column::MemberId.eq(m));
    }
    if let Some(p) = plan {
        q = q.filter(plan_assignment::Column::PlanId.eq(p));
    }
    Ok(q.order_by_asc(plan_assignment::Column::StartsOn).order_by_asc(plan_assignment::Column::Id).all(db).await?)
}

/// One assignment.
pub async fn find_assignment(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
) -> AppResult<Option<plan_assignment::Model>> {
    Ok(tenant::scoped_by_id::<plan_assignment::Entity>(org, id).one(db).await?)
}

/// Whether two inclusive day spans (open end = forever) overlap.
pub fn spans_overlap(a: (NaiveDate, Option<NaiveDate>), b: (NaiveDate, Option<NaiveDate>)) -> bool {
    a.1.is_none_or(|end| b.0 <= end) && b.1.is_none_or(|end| a.0 <= end)
}

/// Inserts an assignment (overlap already checked).
pub async fn create_assignment(
    org: OrgId,
    db: &impl ConnectionTrait,
    plan: Uuid,
    member: Uuid,
    starts_on: NaiveDate,
    ends_on: Option<NaiveDate>,
) -> AppResult<plan_assignment::Model> {
    Ok(plan_assignment::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        plan_id: Set(plan),
        member_id: Set(member),
        starts_on: Set(starts_on),
        ends_on: Set(ends_on),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Sets an assignment's last day.
pub async fn end_assignment(
    org: OrgId,
    db: &impl ConnectionTrait,
    id: Uuid,
    ends_on: NaiveDate,
) -> AppResult<plan_assignment::Model> {
    tenant::scoped_update::<plan_assignment::Entity>(org)
        .set(plan_assignment::ActiveModel { ends_on: Set(Some(ends_on)), ..Default::default() })
        .filter(plan_assignment::Column::Id.eq(id))
        .exec(db)
        .await?;
    find_assignment(org, db, id).await?.ok_or(AppError::NotFound("plan assignment"))
}

// ---------------------------------------------------------------- statements

/// One statement version.
pub async fn find_statement(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<statement::Model>> {
    Ok(tenant::scoped_by_id::<statement::Entity>(org, id).one(db).await?)
}

/// Which statements to list.
#[derive(Debug, Default, Clone)]
pub struct StatementFilter {
    /// Only these members.
    pub member_ids: Option<Vec<Uuid>>,
    /// Only this status.
    pub status: Option<StatementStatus>,
    /// Only this grain.
    pub grain: Option<String>,
    /// Only the period starting on this day.
    pub period_start: Option<NaiveDate>,
    /// Also versions replaced by a later run.
    pub include_superseded: bool,
}

fn statement_query(org: OrgId, f: &StatementFilter) -> sea_orm::Select<statement::Entity> {
    let mut c = Condition::all();
    if let Some(ids) = &f.member_ids {
        c = c.add(statement::Column::MemberId.is_in(ids.iter().copied()));
    }
    if let Some(s) = f.status {
        c = c.add(statement::Column::Status.eq(s.as_str()));
    }
    if let Some(g) = &f.grain {
        c = c.add(statement::Column::Grain.eq(g.clone()));
    }
    if let Some(d) = f.period_start {
        c = c.add(statement::Column::PeriodStart.eq(d));
    }
    if !f.include_superseded {
        c = c.add(statement::Column::Current.eq(true));
    }
    tenant::scoped::<statement::Entity>(org).filter(c)
}

fn statement_key(s: &statement::Model) -> Vec<KeyValue> {
    vec![KeyValue::Date(s.period_start), KeyValue::Id(s.member_id), KeyValue::Int(s.version.into()), KeyValue::Id(s.id)]
}

/// `statements`: newest period first, then member, newest version first.
pub const STATEMENTS: Keyset<statement::Model> = Keyset {
    connection: "statements",
    order: "PERIOD_DESC",
    columns: &[
        SortColumn::desc(KeyKind::Date),
        SortColumn::asc(KeyKind::Id),
        SortColumn::desc(KeyKind::Int),
        SortColumn::asc(KeyKind::Id),
    ],
    key: statement_key,
};

/// A page of statements: newest period first, then member, newest version first.
pub async fn page_statements(
    org: OrgId,
    db: &impl ConnectionTrait,
    f: &StatementFilter,
    args: &PageArgs,
) -> AppResult<Page<statement::Model>> {
    let exprs = [
        statement::Column::PeriodStart.into_expr(),
        statement::Column::MemberId.into_expr(),
        statement::Column::Version.into_expr(),
        statement::Column::Id.into_expr(),
    ];
    keyset::fetch(db, statement_query(org, f), &exprs, &STATEMENTS, args).await
}

/// Every version of one member's statement for one period, newest first.
pub async fn statement_versions(
    org: OrgId,
    db: &impl ConnectionTrait,
    member: Uuid,
    grain: &str,
    period_start: NaiveDate,
) -> AppResult<Vec<statement::Model>> {
    Ok(tenant::scoped::<statement::Entity>(org)
        .filter(statement::Column::MemberId.eq(member))
        .filter(statement::Column::Grain.eq(grain))
        .filter(statement::Column::PeriodStart.eq(period_start))
        .order_by_desc(statement::Column::Version)
        .all(db)
        .await?)
}

/// The recoverable draw still owed by a member before `period_start`: the balance after their
/// latest approved or paid statement of an earlier period.
pub async fn draw_balance_before(
    org: OrgId,
    db: &impl ConnectionTrait,
    member: Uuid,
    period_start: NaiveDate,
) -> AppResult<i64> {
    Ok(tenant::scoped::<statement::Entity>(org)
        .filter(statement::Column::MemberId.eq(member))
        .filter(statement::Column::PeriodStart.lt(period_start))
        .filter(statement::Column::Status.is_in([StatementStatus::Approved.as_str(), StatementStatus::Paid.as_str()]))
        .order_by_desc(statement::Column::PeriodStart)
        .order_by_desc(statement::Column::Version)
        .one(db)
        .await?
        .map_or(0, |s| s.draw_balance_after_cents))
}

/// The lines of statements, in order.
pub async fn lines_of(
    org: OrgId,
    db: &impl ConnectionTrait,
    statements: &[Uuid],
) -> AppResult<Vec<statement_line::Model>> {
    Ok(tenant::scoped::<statement_line::Entity>(org)
        .filter(statement_line::Column::StatementId.is_in(statements.iter().copied()))
        .order_by_asc(statement_line::Column::StatementId)
        .order_by_asc(statement_line::Column::Position)
        .all(db)
        .await?)
}

/// One line.
pub async fn find_line(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<statement_line::Model>> {
    Ok(tenant::scoped_by_id::<statement_line::Entity>(org, id).one(db).await?)
}

/// A computed statement to store.
#[derive(Debug, Clone)]
pub struct NewStatement {
    /// The member.
    pub member_id: Uuid,
    /// Grain of the period.
    pub grain: String,
    /// First day.
    pub period_start: NaiveDate,
    /// Day after the last.
    pub period_end: NaiveDate,
    /// The plan.
    pub plan_id: Uuid,
    /// The plan version used.
    pub plan_version_id: Uuid,
    /// The quota used, in cents.
    pub quota_cents: Option<i64>,
    /// Credited revenue, in cents.
    pub credited_cents: i64,
    /// Attainment percent.
    pub attainment: Option<String>,
    /// Total, in cents.
    pub total_cents: i64,
    /// Recoverable draw owed before.
    pub draw_balance_before_cents: i64,
    /// Recoverable draw owed after.
    pub draw_balance_after_cents: i64,
    /// The lines.
    pub lines: Vec<NewLine>,
}

/// A line to store.
#[derive(Debug, Clone)]
pub struct NewLine {
    /// Kind.
    pub kind: String,
    /// Component name.
    pub component: Option<String>,
    /// Source kind.
    pub source_kind: String,
    /// Source record.
    pub source_id: Option<Uuid>,
    /// Credited base, in cents.
    pub credited_base_cents: Option<i64>,
    /// Attainment.
    pub attainment: Option<String>,
    /// Tier label.
    pub tier: Option<String>,
    /// Rate, percent.
    pub rate: Option<String>,
    /// Amount, in cents.
    pub amount_cents: i64,
    /// One-sentence explanation, in English.
    pub explanation: String,
    /// The same in Dutch.
    pub explanation_nl: Option<String>,
}

/// Stores a statement as the newest DRAFT version of its member and period; earlier versions
/// stay, no longer current.
pub async fn insert_statement(org: OrgId, db: &impl ConnectionTrait, s: NewStatement) -> AppResult<statement::Model> {
    let previous = statement_versions(org, db, s.member_id, &s.grain, s.period_start).await?;
    let version = previous.first().map_or(1, |p| p.version + 1);
    tenant::scoped_update::<statement::Entity>(org)
        .set(statement::ActiveModel { current: Set(false), ..Default::default() })
        .filter(statement::Column::MemberId.eq(s.member_id))
        .filter(statement::Column::Grain.eq(s.grain.clone()))
        .filter(statement::Column::PeriodStart.eq(s.period_start))
        .exec(db)
        .await?;
    let id = Uuid::now_v7();
    let row = statement::ActiveModel {
        id: Set(id),
        organization_id: Set(org.0),
        member_id: Set(s.member_id),
        grain: Set(s.grain),
        period_start: Set(s.period_start),
        period_end: Set(s.period_end),
        version: Set(version),
        status: Set(StatementStatus::Draft.as_str().to_owned()),
        current: Set(true),
        plan_id: Set(s.plan_id),
        plan_version_id: Set(s.plan_version_id),
        quota_cents: Set(s.quota_cents),
        credited_cents: Set(s.credited_cents),
        attainment: Set(s.attainment),
        total_cents: Set(s.total_cents),
        draw_balance_before_cents: Set(s.draw_balance_before_cents),
        draw_balance_after_cents: Set(s.draw_balance_after_cents),
        created_at: Set(Utc::now()),
        approved_at: Set(None),
        approved_by: Set(None),
        paid_at: Set(None),
        paid_by: Set(None),
    }
    .insert(db)
    .await?;
    let lines: Vec<statement_line::ActiveModel> = s
        .lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| statement_line::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(org.0),
            statement_id: Set(id),
            position: Set(i as i32 + 1),
            kind: Set(l.kind),
            component: Set(l.component),
            source_kind: Set(l.source_kind),
            source_id: Set(l.source_id),
            credited_base_cents: Set(l.credited_base_cents),
            attainment: Set(l.attainment),
            tier: Set(l.tier),
            rate: Set(l.rate),
            amount_cents: Set(l.amount_cents),
            explanation: Set(l.explanation),
            explanation_nl: Set(l.explanation_nl),
        })
        .collect();
    for chunk in lines.chunks(200) {
        statement_line::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    Ok(row)
}

/// Moves a statement from one status to the next if it is still in `from` (CONFLICT otherwise).
pub async fn set_status(
    org: OrgId,
    db: &impl ConnectionTrait,
    s: &statement::Model,
    from: StatementStatus,
    to: StatementStatus,
    by: Uuid,
) -> AppResult<statement::Model> {
    let now = Utc::now();
    let mut changes = statement::ActiveModel { status: Set(to.as_str().to_owned()), ..Default::default() };
    match to {
        StatementStatus::Approved => {
            changes.approved_at = Set(Some(now));
            changes.approved_by = Set(Some(by));
        }
        StatementStatus::Paid => {
            changes.paid_at = Set(Some(now));
            changes.paid_by = Set(Some(by));
        }
        StatementStatus::Draft => {}
    }
    let r = tenant::scoped_update::<statement::Entity>(org)
        .set(changes)
        .filter(statement::Column::Id.eq(s.id))
        .filter(statement::Column::Status.eq(from.as_str()))
        .filter(statement::Column::Current.eq(true))
        .exec(db)
        .await?;
    if r.rows_affected == 0 {
        return Err(AppError::Conflict(format!(
            "the statement is no longer a current {}; reload it",
            from.as_str().to_lowercase()
        )));
    }
    find_statement(org, db, s.id).await?.ok_or(AppError::NotFound("statement"))
}

// ---------------------------------------------------------------- disputes

/// One dispute.
pub async fn find_dispute(org: OrgId, db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<dispute::Model>> {
    Ok(tenant::scoped_by_id::<dispute::Entity>(org, id).one(db).await?)
}

/// Disputes of some members (all when `None`), optionally of one status or statement; newest first.
pub async fn disputes(
    org: OrgId,
    db: &impl ConnectionTrait,
    members: Option<&[Uuid]>,
    status: Option<DisputeStatus>,
    statement: Option<Uuid>,
) -> AppResult<Vec<dispute::Model>> {
    let mut q = tenant::scoped::<dispute::Entity>(org);
    if let Some(ids) = members {
        q = q.filter(dispute::Column::MemberId.is_in(ids.iter().copied()));
    }
    if let Some(s) = status {
        q = q.filter(dispute::Column::Status.eq(s.as_str()));
    }
    if let Some(s) = statement {
        q = q.filter(dispute::Column::StatementId.eq(s));
    }
    Ok(q.order_by_desc(dispute::Column::CreatedAt).order_by_desc(dispute::Column::Id).all(db).await?)
}

/// Opens a dispute.
pub async fn create_dispute(
    org: OrgId,
    db: &impl ConnectionTrait,
    line: &statement_line::Model,
    member: Uuid,
    reason: String,
) -> AppResult<dispute::Model> {
    Ok(dispute::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.0),
        statement_id: Set(line.statement_id),
        line_id: Set(line.id),
        member_id: Set(member),
        reason: Set(reason),
        status: Set(DisputeStatus::Open.as_str().to_owned()),
        resolution: Set(None),
        adjustment_cents: Set(None),
        resolved_by: Set(None),
        resolved_at: Set(None),
        applied_statement_id: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Resolves an open dispute (CONFLICT when someone resolved it first).
pub async fn resolve_dispute(
    org: OrgId,
    db: &impl ConnectionTrait,
    d: &dispute::Model,
    status: DisputeStatus,
    resolution: String,
    adjustment_cents: Option<i64>,
    by: Uuid,
) -> AppResult<dispute::Model> {
    let r = tenant::scoped_update::<dispute::Entity>(org)
        .set(dispute::ActiveModel {
            status: Set(status.as_str().to_owned()),
            resolution: Set(Some(resolution)),
            adjustment_cents: Set(adjustment_cents),
            resolved_by: Set(Some(by)),
            resolved_at: Set(Some(Utc::now())),
            ..Default::default()
        })
        .filter(dispute::Column::Id.eq(d.id))
        .filter(dispute::Column::Status.eq(DisputeStatus::Open.as_str()))
        .exec(db)
        .await?;
    if r.rows_affected == 0 {
        return Err(AppError::Conflict("the dispute was already resolved".into()));
    }
    find_dispute(org, db, d.id).await?.ok_or(AppError::NotFound("dispute"))
}

/// Accepted adjustments of a member not yet carried by an approved statement.
pub async fn pending_adjustments(
    org: OrgId,
    db: &impl ConnectionTrait,
    member: Uuid,
) -> AppResult<Vec<dispute::Model>> {
    Ok(tenant::scoped::<dispute::Entity>(org)
        .filter(dispute::Column::MemberId.eq(member))
        .filter(dispute::Column::Status.eq(DisputeStatus::Accepted.as_str()))
        .filter(dispute::Column::AdjustmentCents.is_not_null())
        .filter(dispute::Column::AppliedStatementId.is_null())
        .order_by_asc(dispute::Column::ResolvedAt)
        .all(db)
        .await?)
}

// ---------------------------------------------------------------- clawbacks

/// Clawbacks of a member not yet carried by an approved statement, oldest first.
pub async fn pending_clawbacks(org: OrgId, db: &impl ConnectionTrait, member: Uuid) -> AppResult<Vec<clawback::Model>> {
    Ok(tenant::scoped::<clawback::Entity>(org)
        .filter(clawback::Column::MemberId.eq(member))
        .filter(clawback::Column::AppliedStatementId.is_null())
        .order_by_asc(clawback::Column::CreatedAt)
        .order_by_asc(clawback::Column::Id)
        .all(db)
        .await?)
}

/// Records clawbacks for a deal that was won and is now reversed: every COMMISSION or SPIFF
/// line about it on an approved or paid statement that was not clawed back yet.
pub async fn claw_back_deal(
    org: OrgId,
    db: &impl ConnectionTrait,
    deal: Uuid,
    reason: &str,
) -> AppResult<Vec<clawback::Model>> {
    let lines = tenant::scoped::<statement_line::Entity>(org)
        .filter(statement_line::Column::SourceId.eq(deal))
        .filter(statement_line::Column::Kind.is_in(["COMMISSION", "SPIFF"]))
        .all(db)
        .await?;
    if lines.is_empty() {
        return Ok(vec![]);
    }
    let statement_ids: Vec<Uuid> = lines.iter().map(|l| l.statement_id).collect();
    let approved: Vec<statement::Model> = tenant::scoped::<statement::Entity>(org)
        .filter(statement::Column::Id.is_in(statement_ids))
        .filter(statement::Column::Status.is_in([StatementStatus::Approved.as_str(), StatementStatus::Paid.as_str()]))
        .all(db)
        .await?;
    let already: Vec<Uuid> = tenant::scoped::<clawback::Entity>(org)
        .filter(clawback::Column::DealId.eq(deal))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.original_line_id)
        .collect();
    let mut out = Vec::new();
    for l in lines {
        let Some(s) = approved.iter().find(|s| s.id == l.statement_id) else { continue };
        if already.contains(&l.id) || l.amount_cents == 0 {
            continue;
        }
        out.push(
            clawback::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(org.0),
                member_id: Set(s.member_id),
                deal_id: Set(deal),
                original_line_id: Set(l.id),
                amount_cents: Set(l.amount_cents),
                rate: Set(l.rate.clone()),
                tier: Set(l.tier.clone()),
                credited_base_cents: Set(l.credited_base_cents),
                reason: Set(reason.to_owned()),
                applied_statement_id: Set(None),
                created_at: Set(Utc::now()),
            }
            .insert(db)
            .await?,
        );
    }
    Ok(out)
}

/// Marks the adjustments and clawbacks a statement carried as applied by it.
pub async fn mark_applied(
    org: OrgId,
    db: &impl ConnectionTrait,
    statement: Uuid,
    disputes: &[Uuid],
    clawbacks: &[Uuid],
) -> AppResult<()> {
    if !disputes.is_empty() {
        tenant::scoped_update::<dispute::Entity>(org)
            .set(dispute::ActiveModel { applied_statement_id: Set(Some(statement)), ..Default::default() })
            .filter(dispute::Column::Id.is_in(disputes.iter().copied()))
            .exec(db)
            .await?;
    }
    if !clawbacks.is_empty() {
        tenant::scoped_update::<clawback::Entity>(org)
            .set(clawback::ActiveModel { applied_statement_id: Set(Some(statement)), ..Default::default() })
            .filter(clawback::Column::Id.is_in(clawbacks.iter().copied()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Approved statements of a period for the payroll export, by member.
pub async fn approved_in_period(
    org: OrgId,
    db: &impl ConnectionTrait,
    grain: &str,
    period_start: NaiveDate,
) -> AppResult<Vec<statement::Model>> {
    Ok(tenant::scoped::<statement::Entity>(org)
        .filter(statement::Column::Grain.eq(grain))
        .filter(statement::Column::PeriodStart.eq(period_start))
        .filter(statement::Column::Current.eq(true))
        .filter(statement::Column::Status.is_in([StatementStatus::Approved.as_str(), StatementStatus::Paid.as_str()]))
        .order_by_asc(statement::Column::MemberId)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archived_line_without_the_dutch_explanation_reads_as_none() {
        // Archives written before the Dutch explanation was kept have no `explanation_nl`.
        let mut row = serde_json::json!({
            "id": Uuid::from_u128(1),
            "organization_id": Uuid::from_u128(2),
            "statement_id": Uuid::from_u128(3),
            "position": 1,
            "kind": "COMMISSION",
            "component": "Commission",
            "source_kind": "DEAL",
            "source_id": Uuid::from_u128(4),
            "credited_base_cents": 1_000_000,
            "attainment": "10.00",
            "tier": "base",
            "rate": "2",
            "amount_cents": 20_000,
            "explanation": "Deal 'Acme' closed 2026-10-02: 10000.00 EUR of credited revenue at 2 % = 200.00 EUR.",
        });
        let old: statement_line::Model = serde_json::from_value(row.clone()).expect("an old archive's line");
        assert_eq!(old.explanation_nl, None);
        row["explanation_nl"] = serde_json::json!("Deal 'Acme' gesloten op 2026-10-02: …");
        let new: statement_line::Model = serde_json::from_value(row).expect("a new archive's line");
        assert_eq!(new.explanation_nl.as_deref(), Some("Deal 'Acme' gesloten op 2026-10-02: …"));
        let back = serde_json::to_value(&new).expect("json");
        assert_eq!(serde_json::from_value::<statement_line::Model>(back).expect("round trip"), new);
    }
}
