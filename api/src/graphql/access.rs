//! Two request gates that need the caller: API-key scopes and the cost budget.
//!
//! **Scopes.** An API key acts with an admin's reach, so what it may touch is decided here, per
//! root field of every operation in the document (queries, mutations and subscriptions):
//! each root field names the scopes that open it; a field no scope opens (configuration,
//! people's passwords, the audit log, creating keys) is closed to keys. Fields below an opened
//! root belong to it (a forecast's member names, a statement line's deal).
//!
//! **Cost.** Every operation costs its computed complexity (each field 1, a connection its page
//! size times its selection). Each principal (member or key) has a leaky bucket of
//! `RATE_LIMIT_POINTS` that refills at `RATE_LIMIT_RESTORE_PER_SECOND`; an operation that does
//! not fit is refused with RATE_LIMITED and the seconds to wait. All API keys of one admin
//! share one bucket. Buckets live in each
//! instance's memory: with N instances behind a balancer a principal can spend up to N times
//! the budget (set the budget divided by N to keep the total).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::ExtensionContext;
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Value};

use crate::core::principal::Auth;

/// The scopes that open a root field to an API key; `None`: closed to keys.
pub fn scopes_for(operation: OperationType, field: &str) -> Option<&'static [&'static str]> {
    const ORG: &[&str] = &["org:read"];
    const SCORES: &[&str] = &["scores:read"];
    const KPIS: &[&str] = &["kpis:read"];
    const PAYOUTS: &[&str] = &["payouts:read"];
    const FORECASTS: &[&str] = &["forecasts:read"];
    const ACTIVITIES_W: &[&str] = &["activities:write"];
    const DEALS_W: &[&str] = &["deals:write"];
    const DEALS_R: &[&str] = &["org:read", "deals:write"];
    const TYPES_R: &[&str] = &["org:read", "activities:write"];
    const QUOTAS_R: &[&str] = &["forecasts:read", "payouts:read", "scores:read"];
    if field.starts_with("__") {
        return Some(&[]);
    }
    Some(match (operation, field) {
        (
            OperationType::Query,
            "organization" | "teams" | "team" | "members" | "member" | "campaigns" | "customFields" | "territories"
            | "territory" | "territoryCoverage" | "node" | "nodes",
        ) => ORG,
        (OperationType::Query, "deals" | "deal" | "pipelineStages") => DEALS_R,
        (OperationType::Query, "activityTypes") => TYPES_R,
        (
            OperationType::Query,
            "activities" | "score" | "leaderboard" | "pointsTargetHistory" | "suggestedPointsTarget",
        ) => SCORES,
        (
            OperationType::Query,
            "kpis" | "kpiValues" | "kpiReportHistory" | "scoreboard" | "alertRules" | "alerts" | "mysteryCriteria"
            | "mysteryCheckRounds",
        ) => KPIS,
        (
            OperationType::Query,
            "incentivePlans" | "incentivePlan" | "statements" | "statement" | "disputes" | "simulatePayout",
        ) => PAYOUTS,
        (OperationType::Query, "forecast" | "forecastAccuracy") => FORECASTS,
        (OperationType::Query, "quotas" | "quota") => QUOTAS_R,
        (OperationType::Mutation, "logActivity" | "logActivities" | "voidActivity" | "importActivities") => {
            ACTIVITIES_W
        }
        (
            OperationType::Mutation,
            "createDeal"
            | "updateDeal"
            | "upsertDealByExternalId"
            | "moveDealStage"
            | "closeDeal"
            | "reopenDeal"
            | "completeChecklistItem"
            | "uncompleteChecklistItem"
            | "importDeals",
        ) => DEALS_W,
        (OperationType::Subscription, "organizationChanged") => ORG,
        (OperationType::Subscription, "scoreChanged" | "leaderboardChanged") => SCORES,
        (OperationType::Subscription, "dealChanged") => DEALS_R,
        (OperationType::Subscription, "alertRaised") => KPIS,
        (OperationType::Subscription, "forecastChanged") => FORECASTS,
        _ => return None,
    })
}

/// What a root field whose work grows with the organization's data (every deal, every member's
/// KPIs, a plan's statements), not with its selection, costs on top of its selection.
pub const EXPENSIVE_FIELD_COST: usize = 100;

/// How many such fields one operation may run (aliases count): past it the field answers
/// QUERY_TOO_COMPLEX, so one document cannot queue hundreds of roll-ups.
pub const MAX_EXPENSIVE_FIELDS: usize = 5;

/// How many root fields of one operation resolve at the same time: one document cannot hold
/// more database connections than this, however many aliases it has.
pub const ROOT_FIELDS_IN_FLIGHT: usize = 4;

/// The query root fields priced at [`EXPENSIVE_FIELD_COST`] (each resolver says so in its
/// complexity) and capped at [`MAX_EXPENSIVE_FIELDS`].
pub const EXPENSIVE_FIELDS: [&str; 5] =
    ["forecast", "forecastAccuracy", "simulatePayout", "scoreboard", "territoryCoverage"];

/// Whether a root field is one of [`EXPENSIVE_FIELDS`].
pub fn is_expensive(operation: OperationType, field: &str) -> bool {
    operation == OperationType::Query && EXPENSIVE_FIELDS.contains(&field)
}

/// The QUERY_TOO_COMPLEX error for an expensive field past [`MAX_EXPENSIVE_FIELDS`].
pub fn too_many_expensive(pos: async_graphql::Pos) -> ServerError {
    let message = format!(
        "at most {MAX_EXPENSIVE_FIELDS} of {} per operation; send the rest in another request",
        EXPENSIVE_FIELDS.join(", ")
    );
    error("QUERY_TOO_COMPLEX", message, None, Some(pos))
}

/// Per-operation bounds on work, put in the execution's data by [`Access`] and honoured by the
/// root types (`scoped`) as each root field starts.
#[derive(Debug)]
pub struct ExecutionBudget {
    in_flight: tokio::sync::Semaphore,
    expensive: std::sync::atomic::AtomicUsize,
}

impl Default for ExecutionBudget {
    fn default() -> Self {
        ExecutionBudget {
            in_flight: tokio::sync::Semaphore::new(ROOT_FIELDS_IN_FLIGHT),
            expensive: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

impl ExecutionBudget {
    /// Counts an expensive root field: `false` once more than [`MAX_EXPENSIVE_FIELDS`] started.
    pub fn admit_expensive(&self) -> bool {
        self.expensive.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < MAX_EXPENSIVE_FIELDS
    }

    /// Waits for one of the operation's [`ROOT_FIELDS_IN_FLIGHT`] places.
    pub async fn place(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.in_flight.acquire().await.ok()
    }
}

/// The size of `value` as compact JSON, stopping early once past `limit`.
pub fn json_size(value: &Value, limit: usize) -> usize {
    fn walk(v: &Value, total: &mut usize, limit: usize) {
        if *total > limit {
            return;
        }
        match v {
            Value::Null => *total += 4,
            Value::Boolean(b) => *total += if *b { 4 } else { 5 },
            Value::Number(n) => *total += number_len(n),
            Value::String(s) => *total += s.len() + 2,
            Value::Enum(e) => *total += e.len() + 2,
            Value::Binary(b) => *total += b.len() * 4 / 3 + 4,
            Value::List(items) => {
                *total += 2 + items.len().saturating_sub(1);
                for item in items {
                    walk(item, total, limit);
                }
            }
            Value::Object(fields) => {
                *total += 2 + fields.len().saturating_sub(1);
                for (name, item) in fields {
                    *total += name.len() + 3;
                    walk(item, total, limit);
                }
            }
        }
    }
    let mut total = 0;
    walk(value, &mut total, limit);
    total
}

/// How many characters `n` takes as JSON, without writing it anywhere: a board of 50 entries
/// has 200 numbers, and a `String` for each was most of this check's cost.
fn number_len(n: &async_graphql::Number) -> usize {
    fn digits(mut v: u64) -> usize {
        let mut d = 1;
        while v >= 10 {
            v /= 10;
            d += 1;
        }
        d
    }
    if let Some(u) = n.as_u64() {
        return digits(u);
    }
    if let Some(i) = n.as_i64() {
        return 1 + digits(i.unsigned_abs());
    }
    struct Count(usize);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = std::fmt::Write::write_fmt(&mut count, format_args!("{n}"));
    count.0
}

/// The scopes that let an API key load an object of this kind through `node`/`nodes`.
pub fn node_scopes(kind: crate::graphql::relay::NodeKind) -> &'static [&'static str] {
    use crate::graphql::relay::NodeKind as K;
    match kind {
        K::Organization | K::Team | K::Member | K::Territory | K::TerritoryAssignment | K::Campaign => &["org:read"],
        K::ActivityType => &["org:read", "activities:write"],
        K::PipelineStage | K::ChecklistItem | K::Deal => &["org:read", "deals:write"],
        K::Activity => &["scores:read"],
        K::MysteryCriterion | K::MysteryRound | K::MysteryCheck | K::AlertRule | K::Alert => &["kpis:read"],
        K::Quota => &["forecasts:read", "payouts:read", "scores:read"],
        K::IncentivePlan | K::PlanAssignment | K::Statement | K::StatementLine | K::Dispute => &["payouts:read"],
        K::AuditEntry | K::ApiKey | K::Webhook | K::WebhookDelivery | K::FirmStaff | K::Firm => &[],
    }
}

/// How deep [`refused_field`] follows fragments inside fragments; anything deeper is refused
/// (execution checks every root field again, see `scoped`, but a walk must never let through
/// what it did not see).
const MAX_FRAGMENT_NESTING: usize = 16;

/// The root fields a selection set reaches through fragments, or `Err` when it nests fragments
/// deeper than [`MAX_FRAGMENT_NESTING`] or spreads a fragment the document does not define.
fn root_fields<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    out: &mut Vec<&'a str>,
    depth: usize,
) -> Result<(), &'static str> {
    if depth > MAX_FRAGMENT_NESTING {
        return Err("fragments nested too deep to check");
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => out.push(f.node.name.node.as_str()),
            Selection::InlineFragment(i) => root_fields(doc, &i.node.selection_set.node, out, depth + 1)?,
            Selection::FragmentSpread(s) => match doc.fragments.get(&s.node.fragment_name.node) {
                Some(frag) => root_fields(doc, &frag.node.selection_set.node, out, depth + 1)?,
                None => return Err("a fragment the document does not define"),
            },
        }
    }
    Ok(())
}

/// Whether an API key with `scopes` may run the root field `field` of an `operation`.
pub fn field_open_to_key(operation: OperationType, field: &str, scopes: &[String]) -> bool {
    match scopes_for(operation, field) {
        Some(needed) => needed.is_empty() || needed.iter().any(|n| scopes.iter().any(|s| s == n)),
        None => false,
    }
}

/// The FORBIDDEN error for a root field an API key's scopes do not open.
pub fn scope_refusal(
    operation: OperationType,
    field: &str,
    scopes: &[String],
    pos: Option<async_graphql::Pos>,
) -> ServerError {
    let what = match operation {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    let message = format!("this API key's scopes ({}) do not open the {what} field '{field}'", scopes.join(", "));
    error("FORBIDDEN", message, None, pos)
}

/// The first root field of the document an API key with `scopes` may not use, if any. A
/// document the walk cannot see through entirely is refused as a whole (fail closed).
pub fn refused_field(doc: &ExecutableDocument, scopes: &[String]) -> Option<(OperationType, String)> {
    for (_, op) in doc.operations.iter() {
        let ty = op.node.ty;
        let mut fields = Vec::new();
        if let Err(reason) = root_fields(doc, &op.node.selection_set.node, &mut fields, 0) {
            return Some((ty, format!("(any: {reason})")));
        }
        if let Some(f) = fields.into_iter().find(|f| !field_open_to_key(ty, f, scopes)) {
            return Some((ty, f.to_owned()));
        }
    }
    None
}

/// A principal's budget right now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    /// The bucket size.
    pub maximum: u32,
    /// Points left after this operation.
    pub available: f64,
    /// Points restored per second.
    pub restore_rate: u32,
}

/// Leaky buckets per principal, in this instance's memory.
#[derive(Debug)]
pub struct RateLimiter {
    maximum: u32,
    restore_rate: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter with the configured budget.
    pub fn new(maximum: u32, restore_rate: u32) -> Self {
        RateLimiter { maximum: maximum.max(1), restore_rate: restore_rate.max(1), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes `cost` points from `who`'s bucket at `now`: the budget after it, or the seconds to
    /// wait (`None` when the cost exceeds the whole budget, so waiting would not help).
    pub fn take(&self, who: &str, cost: u32, now: Instant) -> Result<Throttle, (Option<f64>, Throttle)> {
        let max = f64::from(self.maximum);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            // Drop buckets that have refilled: they hold nothing a fresh bucket would not.
            let rate = f64::from(self.restore_rate);
            buckets.retain(|_, (avail, at)| *avail + now.saturating_duration_since(*at).as_secs_f64() * rate < max);
        }
        let entry = buckets.entry(who.to_owned()).or_insert((max, now));
        let refilled =
            (entry.0 + now.saturating_duration_since(entry.1).as_secs_f64() * f64::from(self.restore_rate)).min(max);
        let cost_f = f64::from(cost);
        let throttle = |available: f64| Throttle { maximum: self.maximum, available, restore_rate: self.restore_rate };
        if cost > self.maximum {
            *entry = (refilled, now);
            return Err((None, throttle(refilled)));
        }
        if cost_f > refilled {
            *entry = (refilled, now);
            let wait = (cost_f - refilled) / f64::from(self.restore_rate);
            return Err((Some(wait), throttle(refilled)));
        }
        *entry = (refilled - cost_f, now);
        Ok(throttle(refilled - cost_f))
    }
}

/// Marks (in an error's extensions, removed before the answer) the failure of a non-null root
/// field, after which the whole `data` is null (GraphQL spec, "Handling Execution Errors").
pub const ROOT_NULLED: &str = "scorebordRootNulled";

impl RateLimiter {
    /// Gives `points` back to `who`'s bucket (what an operation was charged but did not use),
    /// never past the bucket's size: the budget after it.
    pub fn give_back(&self, who: &str, points: usize, before: Throttle) -> Throttle {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = buckets.get_mut(who) else { return before };
        entry.0 = (entry.0 + points as f64).min(f64::from(self.maximum));
        Throttle { available: (before.available + points as f64).min(f64::from(self.maximum)), ..before }
    }
}

/// The gates' shared settings; [`Access::begin`] makes one request's [`AccessCheck`].
pub struct Access {
    limiter: Arc<RateLimiter>,
    max_response_bytes: usize,
}

impl Access {
    /// Gates with the given limiter; answers are bounded to `max_response_bytes` of JSON
    /// `data` (a larger one is replaced by QUERY_TOO_COMPLEX: aliases of small fields over large
    /// lists could otherwise turn a small request into tens of megabytes).
    pub fn new(limiter: Arc<RateLimiter>, max_response_bytes: usize) -> Self {
        Access { limiter, max_response_bytes }
    }
}

impl Access {
    /// One request's gates.
    pub fn begin(&self) -> AccessCheck {
        AccessCheck {
            limiter: self.limiter.clone(),
            max_response_bytes: self.max_response_bytes,
            cost: Mutex::new(None),
            selections: Mutex::new(None),
            unused: Mutex::new(0),
            payer: Mutex::new(None),
        }
    }
}

/// One request's gates, called by the request hooks ([`super::hooks`]) at each step.
pub struct AccessCheck {
    limiter: Arc<RateLimiter>,
    max_response_bytes: usize,
    cost: Mutex<Option<(usize, Throttle)>>,
    /// Selection costs noted while validating, for the execution's [`CostLedger`].
    selections: Mutex<Option<std::collections::HashMap<async_graphql::Pos, usize>>>,
    /// What the execution did not use of the requested cost.
    unused: Mutex<usize>,
    /// Whose bucket paid (read while validating: the request hook's context has no request data).
    payer: Mutex<Option<String>>,
}

fn error(code: &str, message: String, retry_after: Option<f64>, pos: Option<async_graphql::Pos>) -> ServerError {
    let mut err = ServerError::new(message, pos);
    let ext = err.extensions.get_or_insert_with(Default::default);
    ext.set("code", code);
    if let Some(wait) = retry_after {
        ext.set("retryAfterSeconds", (wait * 100.0).ceil() / 100.0);
    }
    err
}

/// Whose budget a request spends: a member's own, or one shared by every API key an admin
/// created (more keys must not mean more budget). The admin's own requests keep theirs.
fn bucket_of(p: &crate::core::principal::Principal) -> String {
    match &p.api_key {
        Some(_) => format!("keys-of:{}", p.member_id),
        None => format!("member:{}", p.member_id),
    }
}

fn principal_key(ctx: &ExtensionContext<'_>) -> Option<String> {
    match ctx.data_opt::<Auth>() {
        Some(Auth::Member(p)) => Some(bucket_of(p)),
        // A firm's staff member before choosing a client: their own budget, as in a client.
        Some(Auth::Firm(staff)) => Some(format!("member:{}", staff.staff_id)),
        _ => None,
    }
}

fn rate_limited(cost: u32, wait: Option<f64>, throttle: Throttle) -> ServerError {
    let message = match wait {
        Some(w) => format!(
            "rate limited: this operation costs {cost} points and {:.0} are available; retry in {:.2} s",
            throttle.available.floor(),
            w
        ),
        None => format!(
            "rate limited: this operation costs {cost} points, more than the whole budget of {}; ask for less (smaller pages, fewer fields)",
            throttle.maximum
        ),
    };
    error("RATE_LIMITED", message, wait, None)
}

/// The `extensions.cost` of a response: what the operation was priced at, what it actually
/// cost (the same formula over what came back) and the budget left.
fn cost_value(requested: usize, actual: usize, t: Throttle) -> Value {
    let mut throttle = async_graphql::indexmap::IndexMap::new();
    throttle.insert(async_graphql::Name::new("maximumAvailable"), Value::from(t.maximum));
    throttle.insert(async_graphql::Name::new("currentlyAvailable"), Value::from(t.available.floor() as i64));
    throttle.insert(async_graphql::Name::new("restoreRate"), Value::from(t.restore_rate));
    let mut value = async_graphql::indexmap::IndexMap::new();
    value.insert(async_graphql::Name::new("requestedQueryCost"), Value::from(requested as u64));
    value.insert(async_graphql::Name::new("actualQueryCost"), Value::from(actual as u64));
    value.insert(async_graphql::Name::new("throttleStatus"), Value::Object(throttle));
    Value::Object(value)
}

impl AccessCheck {
    /// After parsing: an API key may only select root fields its scopes open.
    pub fn check_document(&self, ctx: &ExtensionContext<'_>, doc: &ExecutableDocument) -> ServerResult<()> {
        if let Some(Auth::Member(p)) = ctx.data_opt::<Auth>()
            && let Some(key) = &p.api_key
            && let Some((ty, field)) = refused_field(doc, &key.scopes)
        {
            return Err(scope_refusal(ty, &field, &key.scopes, None));
        }
        Ok(())
    }

    /// After validation (its result and the selection costs noted while pricing it): the
    /// operation's cost taken from the caller's bucket.
    pub fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        validated: Result<super::documents::Validated, Vec<ServerError>>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let (result, noted) = validated?;
        *self.selections.lock().unwrap_or_else(|e| e.into_inner()) = Some(noted);
        let Some(who) = principal_key(ctx) else { return Ok(result) };
        *self.payer.lock().unwrap_or_else(|e| e.into_inner()) = Some(who.clone());
        let cost = u32::try_from(result.complexity).unwrap_or(u32::MAX);
        match self.limiter.take(&who, cost, Instant::now()) {
            Ok(throttle) => {
                *self.cost.lock().unwrap_or_else(|e| e.into_inner()) = Some((result.complexity, throttle));
                Ok(result)
            }
            Err((wait, throttle)) => {
                *self.cost.lock().unwrap_or_else(|e| e.into_inner()) = Some((result.complexity, throttle));
                Err(vec![rate_limited(cost, wait, throttle)])
            }
        }
    }

    /// The execution's data: its work bounds and the ledger of what it used.
    pub fn execution_data(&self) -> (async_graphql::Data, Arc<super::cost::CostLedger>) {
        let mut data = async_graphql::Data::default();
        data.insert(ExecutionBudget::default());
        let selections = self.selections.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_default();
        let ledger = Arc::new(super::cost::CostLedger::new(selections));
        data.insert(ledger.clone());
        (data, ledger)
    }

    /// After execution: a failed non-null root field nulls `data`; an answer over the size
    /// bound is replaced by QUERY_TOO_COMPLEX.
    pub fn executed(&self, ledger: &super::cost::CostLedger, mut response: Response) -> Response {
        *self.unused.lock().unwrap_or_else(|e| e.into_inner()) = ledger.unused();
        if response.errors.iter().any(|e| e.extensions.as_ref().is_some_and(|x| x.get(ROOT_NULLED).is_some())) {
            // A non-null root field failed: the spec makes the whole `data` null.
            response.data = Value::Null;
            for e in &mut response.errors {
                if let Some(x) = e.extensions.as_mut() {
                    x.unset(ROOT_NULLED);
                }
            }
        }
        if json_size(&response.data, self.max_response_bytes) > self.max_response_bytes {
            let message = format!(
                "the answer would be more than {} bytes of JSON; ask for less (smaller pages, fewer fields or aliases)",
                self.max_response_bytes
            );
            return Response::from_errors(vec![error("QUERY_TOO_COMPLEX", message, None, None)]);
        }
        response
    }

    /// The answer's `extensions.cost`; what the execution did not use goes back to the bucket.
    pub fn finish(&self, response: &mut Response) {
        let cost = *self.cost.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((requested, t)) = cost {
            let unused = (*self.unused.lock().unwrap_or_else(|e| e.into_inner())).min(requested);
            let payer = self.payer.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let t = match payer {
                Some(who) if unused > 0 => self.limiter.give_back(&who, unused, t),
                _ => t,
            };
            response.extensions.insert("cost".to_owned(), cost_value(requested, requested - unused, t));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_spends_refills_and_refuses() {
        let l = RateLimiter::new(1000, 50);
        let t0 = Instant::now();
        assert_eq!(l.take("a", 600, t0).map(|t| t.available), Ok(400.0));
        let refused = l.take("a", 600, t0).unwrap_err();
        assert_eq!(refused.0, Some(4.0), "200 missing at 50/s");
        assert_eq!(l.take("b", 600, t0).map(|t| t.available), Ok(400.0), "buckets are per principal");
        assert_eq!(l.take("a", 600, t0 + Duration::from_secs(4)).map(|t| t.available), Ok(0.0));
        assert_eq!(l.take("a", 1, t0 + Duration::from_secs(100)).map(|t| t.available), Ok(999.0), "capped at the max");
        assert_eq!(l.take("a", 1001, t0 + Duration::from_secs(200)).unwrap_err().0, None);
        assert_eq!(l.take("a", 0, t0).map(|t| t.maximum), Ok(1000));
    }

    fn doc(q: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(q).expect("parse")
    }

    #[test]
    fn scopes_open_root_fields() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        let forecasts = s(&["forecasts:read"]);
        assert_eq!(
            refused_field(&doc("{ forecast(period: {grain: QUARTER}) { __typename } __typename }"), &forecasts),
            None
        );
        assert_eq!(
            refused_field(&doc("{ members { totalCount } }"), &forecasts).map(|f| f.1),
            Some("members".to_owned())
        );
        assert_eq!(
            refused_field(&doc("query { ...F } fragment F on Query { statements { totalCount } }"), &forecasts)
                .map(|f| f.1),
            Some("statements".to_owned()),
            "fragments are followed"
        );
        assert!(refused_field(&doc("mutation { logActivity(input: {}) { __typename } }"), &forecasts).is_some());
        assert!(refused_field(&doc("mutation { createApiKey(input: {}) { __typename } }"), &s(&SCOPES_ALL)).is_some());
        assert!(refused_field(&doc("{ auditLog { totalCount } }"), &s(&SCOPES_ALL)).is_some());
        assert_eq!(refused_field(&doc("mutation { closeDeal(input: {}) { __typename } }"), &s(&["deals:write"])), None);
        assert!(refused_field(&doc("subscription { scoreChanged { __typename } }"), &forecasts).is_some());
        assert_eq!(refused_field(&doc("{ __schema { types { name } } }"), &forecasts), None);
    }

    /// `mutation { ... on Mutation { ... on Mutation { … createMember … } } }`, `depth` deep.
    fn nested(depth: usize, inner: &str) -> String {
        format!("mutation {{ {}{inner}{} }}", "... on Mutation { ".repeat(depth), " }".repeat(depth))
    }

    #[test]
    fn fragments_nested_deeper_than_the_walk_are_refused_not_let_through() {
        let read_only = vec!["forecasts:read".to_owned()];
        let create = "createMember(input: {}) { __typename }";
        for depth in [1, 15, 16] {
            let refused = refused_field(&doc(&nested(depth, create)), &read_only);
            assert_eq!(refused.map(|r| r.1), Some("createMember".to_owned()), "seen at depth {depth}");
        }
        for depth in [17, 18, 40] {
            let refused = refused_field(&doc(&nested(depth, create)), &read_only);
            assert!(refused.is_some_and(|r| r.1.contains("too deep")), "unseen at depth {depth} is refused");
        }
        // Even a field the key may use is refused when the walk cannot see it.
        let all = SCOPES_ALL.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let log = "logActivity(input: {}) { __typename }";
        assert_eq!(refused_field(&doc(&nested(16, log)), &all), None);
        assert!(refused_field(&doc(&nested(17, log)), &all).is_some());
        // Named fragments count as nesting too.
        let chain = (0..20).map(|i| format!("fragment F{i} on Mutation {{ ...F{} }}", i + 1)).collect::<String>();
        let q = format!("mutation {{ ...F0 }} {chain} fragment F20 on Mutation {{ {create} }}");
        assert!(refused_field(&doc(&q), &all).is_some());
        assert!(refused_field(&doc("mutation { ...Missing }"), &all).is_some(), "an undefined fragment");
    }

    #[test]
    fn unknown_root_fields_are_closed_to_keys() {
        let all = SCOPES_ALL.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(!field_open_to_key(OperationType::Query, "someFieldAddedLater", &all));
        assert!(!field_open_to_key(OperationType::Mutation, "createMember", &all));
        assert!(!field_open_to_key(OperationType::Subscription, "logActivity", &all));
        assert!(field_open_to_key(OperationType::Query, "__typename", &[]));
        assert!(field_open_to_key(OperationType::Mutation, "logActivity", &["activities:write".to_owned()]));
        assert!(!field_open_to_key(OperationType::Mutation, "logActivity", &["scores:read".to_owned()]));
    }

    #[test]
    fn json_size_matches_serde_for_plain_values() {
        let v = Value::from_json(serde_json::json!({
            "a": [1, 2.5, "x\u{e9}", null, true, false, {"b": []}],
            "c": {"d": "e"}
        }))
        .expect("value");
        let exact = serde_json::to_string(&v.clone().into_json().expect("json")).expect("json").len();
        assert_eq!(json_size(&v, usize::MAX), exact);
        assert!(json_size(&v, 5) > 5, "stops early but still reports past the limit");
    }

    #[test]
    fn json_size_counts_every_kind_of_number_as_serde_writes_it() {
        let numbers = serde_json::json!([
            0,
            7,
            9,
            10,
            99,
            100,
            12345,
            -1,
            -9,
            -10,
            -12345,
            u64::MAX,
            i64::MIN,
            i64::MAX,
            0.5,
            -0.5,
            1.25,
            100.0,
            -0.0,
            1e300,
            -1e-300,
            123456789.123,
            f64::MAX,
            f64::MIN_POSITIVE
        ]);
        let serde_json::Value::Array(items) = numbers else { unreachable!() };
        for n in items {
            let v = Value::from_json(n.clone()).expect("value");
            let exact = serde_json::to_string(&n).expect("json").len();
            assert_eq!(json_size(&v, usize::MAX), exact, "{n}");
        }
    }

    #[test]
    fn an_operation_admits_a_few_expensive_fields() {
        let budget = ExecutionBudget::default();
        for _ in 0..MAX_EXPENSIVE_FIELDS {
            assert!(budget.admit_expensive());
        }
        assert!(!budget.admit_expensive());
        assert!(!budget.admit_expensive());
        assert!(is_expensive(OperationType::Query, "forecast"));
        assert!(!is_expensive(OperationType::Query, "viewer"));
        assert!(!is_expensive(OperationType::Mutation, "forecast"));
    }

    const SCOPES_ALL: [&str; 7] = crate::auth::api_keys::SCOPES;
}
