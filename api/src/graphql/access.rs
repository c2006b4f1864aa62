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
//! not fit is refused with RATE_LIMITED and the seconds to wait. Buckets live in each
//! instance's memory: with N instances behind a balancer a principal can spend up to N times
//! the budget (set the budget divided by N to keep the total).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Value, Variables};

use crate::auth::Auth;

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

/// The scopes that let an API key load an object of this kind through `node`/`nodes`.
pub fn node_scopes(kind: crate::graphql::relay::NodeKind) -> &'static [&'static str] {
    use crate::graphql::relay::NodeKind as K;
    match kind {
        K::Organization | K::Team | K::Member | K::Territory | K::TerritoryAssignment | K::Campaign => &["org:read"],
        K::ActivityType => &["org:read", "activities:write"],
        K::PipelineStage | K::ChecklistItem | K::Deal => &["org:read", "deals:write"],
        K::Activity => &["scores:read"],
        K::MysteryCriterion | K::MysteryRound | K::MysteryCheck => &["kpis:read"],
        K::Quota => &["forecasts:read", "payouts:read", "scores:read"],
        K::IncentivePlan | K::PlanAssignment | K::Statement | K::StatementLine | K::Dispute => &["payouts:read"],
        K::AuditEntry | K::ApiKey | K::Webhook | K::WebhookDelivery => &[],
    }
}

fn root_fields<'a>(doc: &'a ExecutableDocument, set: &'a SelectionSet, out: &mut Vec<&'a str>, depth: usize) {
    if depth > 16 {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => out.push(f.node.name.node.as_str()),
            Selection::InlineFragment(i) => root_fields(doc, &i.node.selection_set.node, out, depth + 1),
            Selection::FragmentSpread(s) => {
                if let Some(frag) = doc.fragments.get(&s.node.fragment_name.node) {
                    root_fields(doc, &frag.node.selection_set.node, out, depth + 1);
                }
            }
        }
    }
}

/// The first root field of the document an API key with `scopes` may not use, if any.
pub fn refused_field(doc: &ExecutableDocument, scopes: &[String]) -> Option<(OperationType, String)> {
    for (_, op) in doc.operations.iter() {
        let ty = op.node.ty;
        let mut fields = Vec::new();
        root_fields(doc, &op.node.selection_set.node, &mut fields, 0);
        for f in fields {
            let open = match scopes_for(ty, f) {
                Some(needed) => needed.is_empty() || needed.iter().any(|n| scopes.iter().any(|s| s == n)),
                None => false,
            };
            if !open {
                return Some((ty, f.to_owned()));
            }
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

/// The extension factory.
pub struct Access {
    limiter: Arc<RateLimiter>,
}

impl Access {
    /// Gates with the given limiter.
    pub fn new(limiter: Arc<RateLimiter>) -> Self {
        Access { limiter }
    }
}

impl ExtensionFactory for Access {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AccessExtension { limiter: self.limiter.clone(), cost: Mutex::new(None) })
    }
}

struct AccessExtension {
    limiter: Arc<RateLimiter>,
    cost: Mutex<Option<(usize, Throttle)>>,
}

fn error(code: &str, message: String, retry_after: Option<f64>) -> ServerError {
    let mut err = ServerError::new(message, None);
    let ext = err.extensions.get_or_insert_with(Default::default);
    ext.set("code", code);
    if let Some(wait) = retry_after {
        ext.set("retryAfterSeconds", (wait * 100.0).ceil() / 100.0);
    }
    err
}

fn bucket_of(p: &crate::auth::Principal) -> String {
    match &p.api_key {
        Some(k) => format!("key:{}", k.id),
        None => format!("member:{}", p.member_id),
    }
}

fn principal_key(ctx: &ExtensionContext<'_>) -> Option<String> {
    match ctx.data_opt::<Auth>() {
        Some(Auth::Member(p)) => Some(bucket_of(p)),
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
    error("RATE_LIMITED", message, wait)
}

/// The `extensions.cost` of a response: what the operation cost and the budget left.
fn cost_value(requested: usize, t: Throttle) -> Value {
    let mut throttle = async_graphql::indexmap::IndexMap::new();
    throttle.insert(async_graphql::Name::new("maximumAvailable"), Value::from(t.maximum));
    throttle.insert(async_graphql::Name::new("currentlyAvailable"), Value::from(t.available.floor() as i64));
    throttle.insert(async_graphql::Name::new("restoreRate"), Value::from(t.restore_rate));
    let mut value = async_graphql::indexmap::IndexMap::new();
    value.insert(async_graphql::Name::new("requestedQueryCost"), Value::from(requested as u64));
    value.insert(async_graphql::Name::new("throttleStatus"), Value::Object(throttle));
    Value::Object(value)
}

/// Spends `complexity` from the caller's budget as executing the query would (for answers
/// served from the response cache): the `extensions.cost` to answer with, and the
/// RATE_LIMITED error when the budget does not allow it.
pub fn charge(
    limiter: &RateLimiter,
    principal: &crate::auth::Principal,
    complexity: usize,
    now: Instant,
) -> (Value, Option<ServerError>) {
    let cost = u32::try_from(complexity).unwrap_or(u32::MAX);
    match limiter.take(&bucket_of(principal), cost, now) {
        Ok(throttle) => (cost_value(complexity, throttle), None),
        Err((wait, throttle)) => (cost_value(complexity, throttle), Some(rate_limited(cost, wait, throttle))),
    }
}

#[async_trait::async_trait]
impl Extension for AccessExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        if let Some(Auth::Member(p)) = ctx.data_opt::<Auth>()
            && let Some(key) = &p.api_key
            && let Some((ty, field)) = refused_field(&doc, &key.scopes)
        {
            let what = match ty {
                OperationType::Query => "query",
                OperationType::Mutation => "mutation",
                OperationType::Subscription => "subscription",
            };
            return Err(error(
                "FORBIDDEN",
                format!("this API key's scopes ({}) do not open the {what} field '{field}'", key.scopes.join(", ")),
                None,
            ));
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if let Some(probe) = ctx.data_opt::<Arc<super::response_cache::Probe>>() {
            probe.set_complexity(result.complexity);
        }
        let Some(who) = principal_key(ctx) else { return Ok(result) };
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

    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        let cost = *self.cost.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((requested, t)) = cost {
            response.extensions.insert("cost".to_owned(), cost_value(requested, t));
        }
        response
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

    const SCOPES_ALL: [&str; 7] = crate::auth::api_keys::SCOPES;
}
