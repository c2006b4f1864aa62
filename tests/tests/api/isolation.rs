//! Tenant isolation under random traffic: a property test.
//!
//! Three organizations, each with members of every role and an API key holding every scope,
//! and data in every domain (teams, activity types, activities, campaigns, targets, pipeline
//! stages and checklists, deals, territories, KPIs and alert rules, mystery checks, quotas, an
//! incentive plan with statements and a dispute, forecasts). Every name starts with the
//! organization's slug, so another organization's name is found by a substring search.
//!
//! A seeded random walk then sends queries, mutations, CSV imports and subscriptions as any of
//! the 18 principals, with arguments drawn from all three organizations (and unique values,
//! idempotency keys and external IDs from small sets every organization uses), while every
//! principal keeps a WebSocket with live subscriptions open. The invariants, checked after
//! every step:
//!
//! - no HTTP response and no subscription message contains another organization's slug or one
//!   of its IDs (global IDs and raw UUIDs anywhere in the text, resolved against every table's
//!   `organization_id`);
//! - an argument that names another organization's object is refused (an error or
//!   `userErrors`; `nodes` answers null in its place), and answers exactly like an ID that
//!   exists nowhere: the same request with fresh IDs in place of the foreign ones gets the
//!   same errors. Two arguments may match nothing instead of refusing: an item of
//!   `logActivity(ies)` whose idempotency key is known is answered with the original activity
//!   before the rest of it is read, and `auditLog(filter: {entityId})` also finds entries of
//!   objects that are gone, so it does not look the ID up;
//! - no step changes another organization's rows (per table and organization: the row count
//!   and markers of updates, voids, revocations and approvals);
//! - a value unique within an organization (an e-mail, a KPI or custom-field key) is never
//!   reported as taken because another organization uses it;
//! - nothing answers INTERNAL or QUERY_TOO_COMPLEX (the catalogue stays within the limits).
//!
//! The seed is printed; `ISOLATION_SEED=<n>` replays a run (`ISOLATION_TRACE=1` prints each step,
//! `SCOREBORD_TEST_LOG=1` the server's logs) and `ISOLATION_STEPS=<n>` sets its
//! length (default 600).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Datelike, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use scorebord_tests::{Org, TestApp, Ws, WsEvent, backend_tests, error_code};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

backend_tests!(
    random_traffic_never_crosses_tenants,
    a_walk_that_once_starved_the_pool_after_an_organization_change,
    foreign_ids_in_filters_and_syncs_answer_not_found
);

/// The organizations: no slug is a substring of another, or of anything the API says itself.
const SLUGS: [&str; 3] = ["isoamber", "isobirch", "isocedar"];
/// A KPI key only that organization has (no slug in it: an unknown key may be echoed back).
const OWN_KPI: [&str; 3] = ["kpi_oak", "kpi_elm", "kpi_ash"];
/// An activity type only that organization has, by a name without its slug (CSV imports name
/// types by name, and an unknown name may be echoed back).
const OWN_TYPE: [&str; 3] = ["Visit oak", "Visit elm", "Visit ash"];
/// A KPI key every organization has, each with its own name.
const SHARED_KPI: &str = "team_selling";
/// Every API-key scope.
const ALL_SCOPES: [&str; 7] =
    ["org:read", "forecasts:read", "kpis:read", "scores:read", "payouts:read", "activities:write", "deals:write"];

/// Tables whose rows belong to one organization (`organization_id`), with what besides the row
/// count shows a change. `alerts` is left out: the alert scheduler raises alerts in every
/// organization on its own clock, so a change there need not come from the step at hand.
const TENANT_TABLES: &[(&str, &[&str])] = &[
    ("teams", &["MAX(updated_at)"]),
    ("members", &["MAX(updated_at)", "COUNT(deactivated_at)"]),
    ("refresh_tokens", &[]),
    ("api_keys", &["COUNT(revoked_at)"]),
    ("webhooks", &[]),
    ("webhook_deliveries", &[]),
    ("activity_types", &["MAX(updated_at)"]),
    ("activities", &["COUNT(voided_at)"]),
    ("activity_day_totals", &[]),
    ("work_item_progress", &["MAX(updated_at)"]),
    ("campaigns", &["MAX(updated_at)", "COUNT(ended_at)"]),
    ("points_targets", &[]),
    ("custom_fields", &[]),
    ("pipeline_stages", &["MAX(updated_at)"]),
    ("checklist_items", &[]),
    ("deals", &["MAX(updated_at)", "SUM(version)"]),
    ("deal_splits", &[]),
    ("deal_checklist", &["COUNT(completed_at)"]),
    ("deal_stage_history", &[]),
    ("kpis", &["MAX(updated_at)"]),
    ("kpi_targets", &[]),
    ("kpi_reports", &[]),
    ("kpi_week_locks", &[]),
    ("alert_rules", &[]),
    ("mystery_criteria", &["SUM(CASE WHEN active THEN 1 ELSE 0 END)"]),
    ("mystery_rounds", &[]),
    ("mystery_checks", &["COUNT(scored_at)"]),
    ("territories", &["MAX(updated_at)", "SUM(version)"]),
    ("territory_assignments", &["COUNT(ends_on)"]),
    ("quotas", &["MAX(updated_at)", "SUM(version)"]),
    ("incentive_plans", &["MAX(updated_at)"]),
    ("plan_versions", &[]),
    ("plan_assignments", &["COUNT(ends_on)"]),
    ("statements", &["COUNT(approved_at)", "COUNT(paid_at)"]),
    ("statement_lines", &[]),
    ("disputes", &["COUNT(resolved_at)"]),
    ("clawbacks", &[]),
    ("forecast_submissions", &[]),
    ("forecast_adjustments", &[]),
    ("audit_log", &[]),
];

/// Selections spliced into the documents: deep enough that an object of another organization
/// reached through any relation would show its ID and name.
const SELECTIONS: &[(&str, &str)] = &[
    ("%M%", "id name email role team { id name }"),
    (
        "%T%",
        "id name description parentTeam { id name } manager { id name } subTeams { id name } members(first: 10) { nodes { id name } }",
    ),
    ("%AT%", "id name description kpiKey"),
    (
        "%ACT%",
        "id note idempotencyKey points member { id name } loggedBy { id name } voidedBy { id name } activityType { id name } campaign { id name } deal { id name }",
    ),
    ("%CAMP%", "id name theme reward activityTypes { id name } teams { id name }"),
    ("%STAGE%", "id name checklist { id label }"),
    (
        "%DEAL%",
        "id name company externalId customFields owner { id name } splits { member { id name } } stage { id name } territory { id name } checklist { item { id label } } stageHistory { fromStage { id name } toStage { id name } changedBy { id name } }",
    ),
    (
        "%TERR%",
        "id name parent { id name } children { id name } owner { id name } assignments { id member { id name } territory { id name } }",
    ),
    (
        "%QUOTA%",
        "id label kpiKey member { id name } team { id name } territory { id name } activityType { id name } allocatedFrom { id label }",
    ),
    (
        "%PLAN%",
        "id name description components { name activityTypeId teamId } assignments { id member { id name } plan { id name } }",
    ),
    (
        "%STMT%",
        "id member { id name } plan { id name } approvedBy { id name } lines { id sourceId explanation deal { id name } team { id name } } disputes { id reason member { id name } }",
    ),
    (
        "%DISPUTE%",
        "id reason resolution member { id name } resolvedBy { id name } line { id explanation } statement { id }",
    ),
    (
        "%ROUND%",
        "id team { id name } auditor { id name } createdBy { id name } checks { id rep { id name } deal { id name } results { criterion { id name } } } repTotals { rep { id name } }",
    ),
    ("%KPI%", "key name description formula"),
    ("%ALERT%", "id kpiKey member { id name } rule { id kpiKey team { id name } }"),
    ("%SCORE%", "points target byActivityType { activityType { id name } }"),
    ("%BOARD%", "totalEntries entries { rank points member { id name } team { id name } }"),
    ("%NUMBERS%", "note by { id name }"),
    ("%AUDIT%", "id action entityType entityId before after actor { id name }"),
];

/// A document with its selections spliced in.
fn doc(template: &str) -> String {
    let mut s = template.to_owned();
    for (k, v) in SELECTIONS {
        s = s.replace(k, v);
    }
    s
}

const FORECAST_ROW: &str = "fragment R on ForecastRow { subjectKind member { id name } team { id name } submitted { %NUMBERS% } adjusted { %NUMBERS% } history { %NUMBERS% } }";

/// What an organization's admin reads to list everything it has (also the final sweep).
const INVENTORY: &[&str] = &[
    "{ organization { id name slug branding { displayName } } teams(first: 50) { edges { node { %T% } } } members(first: 50) { edges { node { %M% } } } }",
    "{ activityTypes(first: 50, includeArchived: true) { edges { node { %AT% } } } campaigns(first: 50) { edges { node { %CAMP% } } } pipelineStages { %STAGE% } customFields { key label } }",
    "{ activities(first: 50) { edges { node { %ACT% } } } }",
    "{ deals(first: 40) { edges { node { %DEAL% } } } }",
    "{ territories(first: 50, filter: {includeArchived: true}) { edges { node { %TERR% } } } quotas(first: 50) { edges { node { %QUOTA% } } } }",
    "{ incentivePlans(includeArchived: true) { %PLAN% } statements(first: 30, filter: {includeSuperseded: true}) { edges { node { %STMT% } } } disputes { %DISPUTE% } }",
    "{ mysteryCriteria(includeArchived: true) { id name } alerts { %ALERT% } alertRules { id kpiKey team { id name } } kpis(includeArchived: true) { %KPI% } }",
];

/// What only members may read (closed to API keys).
const MEMBER_INVENTORY: &[&str] =
    &["{ apiKeys { id name createdBy { id name } } auditLog(first: 60) { edges { node { %AUDIT% } } } }"];

fn gid(kind: &str, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

/// The kind and UUID of a global ID.
fn decode_gid(s: &str) -> Option<(String, Uuid)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok()?;
    let (kind, id) = text.split_once(':')?;
    Some((kind.to_owned(), Uuid::parse_str(id).ok()?))
}

fn today() -> NaiveDate {
    Utc::now().with_timezone(&chrono_tz::Europe::Amsterdam).date_naive()
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap()
}

// ---------------------------------------------------------------- IDs and names in a text

/// Every UUID in a string: raw ones anywhere, and those inside global IDs (base64url tokens).
fn scan_str(s: &str, out: &mut Vec<Uuid>) {
    scan_raw(s, out);
    for token in s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
        if token.len() >= 20
            && let Ok(bytes) = URL_SAFE_NO_PAD.decode(token)
            && let Ok(text) = String::from_utf8(bytes)
        {
            scan_raw(&text, out);
        }
    }
}

fn scan_raw(s: &str, out: &mut Vec<Uuid>) {
    let b = s.as_bytes();
    if b.len() < 36 {
        return;
    }
    for i in 0..=b.len() - 36 {
        if b[i + 8] == b'-'
            && b[i + 13] == b'-'
            && b[i + 18] == b'-'
            && b[i + 23] == b'-'
            && b[i].is_ascii_hexdigit()
            && s.is_char_boundary(i)
            && s.is_char_boundary(i + 36)
            && let Ok(u) = Uuid::parse_str(&s[i..i + 36])
        {
            out.push(u);
        }
    }
}

fn uuids_in(v: &Value, out: &mut Vec<Uuid>) {
    match v {
        Value::String(s) => scan_str(s, out),
        Value::Array(a) => a.iter().for_each(|v| uuids_in(v, out)),
        Value::Object(m) => {
            for (k, v) in m {
                scan_str(k, out);
                uuids_in(v, out);
            }
        }
        _ => {}
    }
}

fn user_errors(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(errors)) = m.get("userErrors") {
                out.extend(errors.iter().cloned());
            }
            m.values().for_each(|v| user_errors(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| user_errors(v, out)),
        _ => {}
    }
}

fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|a| a.iter().map(|e| e["extensions"]["code"].as_str().unwrap_or("?").to_owned()).collect())
        .unwrap_or_default()
}

/// Whether a response refused the request: an error, or `userErrors` somewhere.
fn refused(body: &Value) -> bool {
    let mut ue = Vec::new();
    user_errors(&body["data"], &mut ue);
    !error_codes(body).is_empty() || !ue.is_empty()
}

/// What a refusal says: the errors (code, message, path), the `userErrors`, and which `nodes`
/// answered null. The IDs of new rows and the cost figures are left out.
fn outcome(body: &Value) -> Value {
    let errors: Vec<Value> = body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| json!({"code": e["extensions"]["code"], "message": e["message"], "path": e["path"]}))
                .collect()
        })
        .unwrap_or_default();
    let mut ue = Vec::new();
    user_errors(&body["data"], &mut ue);
    let nodes: Vec<bool> =
        body["data"]["nodes"].as_array().map(|a| a.iter().map(Value::is_null).collect()).unwrap_or_default();
    json!({"errors": errors, "userErrors": ue, "nullNodes": nodes})
}

fn excerpt(text: &str, needle: &str) -> String {
    let at = text.find(needle).unwrap_or(0);
    let mut start = at.saturating_sub(200);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + needle.len() + 200).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    format!("…{}…", &text[start..end])
}

// ---------------------------------------------------------------- the world

struct Principal {
    org: usize,
    role: &'static str,
    token: String,
}

struct World {
    orgs: Vec<Org>,
    principals: Vec<Principal>,
    /// Per organization: global (or, for alerts, raw) IDs by kind.
    pools: Vec<BTreeMap<String, Vec<String>>>,
    seen: HashSet<String>,
    /// Per organization: its KPI keys.
    kpis: Vec<Vec<String>>,
    /// Per organization: the unique values (e-mails, keys) it has claimed.
    claimed: Vec<HashSet<String>>,
}

impl World {
    fn add(&mut self, org: usize, kind: &str, id: String) {
        if self.seen.insert(id.clone()) {
            self.pools[org].entry(kind.to_owned()).or_default().push(id);
        }
    }

    /// Files every global ID of a (checked) response under its organization's pools, and the
    /// raw IDs of alerts.
    fn harvest(&mut self, org: usize, v: &Value) {
        match v {
            Value::String(s) => {
                if let Some((kind, _)) = decode_gid(s) {
                    self.add(org, &kind, s.clone());
                }
            }
            Value::Array(a) => a.iter().for_each(|v| self.harvest(org, v)),
            Value::Object(m) => {
                for (k, v) in m {
                    if (k == "alerts" || k == "alertRaised")
                        && let Some(list) = v.as_array().cloned().or_else(|| v.is_object().then(|| vec![v.clone()]))
                    {
                        for a in list {
                            if let Some(id) = a["id"].as_str().filter(|s| Uuid::parse_str(s).is_ok()) {
                                self.add(org, "Alert", id.to_owned());
                            }
                        }
                    }
                    self.harvest(org, v);
                }
            }
            _ => {}
        }
    }
}

/// Draws the arguments of one call, from the caller's organization or, with probability
/// `p_foreign`, from another; remembers which foreign values it used.
struct Gen<'a> {
    rng: &'a mut StdRng,
    world: &'a World,
    me: usize,
    p_foreign: f64,
    foreign: Vec<String>,
    /// Foreign values that may be accepted as matching nothing (still compared with missing ones).
    lenient: Vec<String>,
    serial: u64,
}

impl Gen<'_> {
    fn slug(&self) -> &'static str {
        SLUGS[self.me]
    }

    fn name(&mut self, what: &str) -> String {
        format!("{} {what} {}", self.slug(), self.serial)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn other_org(&mut self) -> usize {
        (self.me + self.rng.random_range(1..3)) % 3
    }

    fn id(&mut self, kind: &str) -> String {
        let org = if self.chance(self.p_foreign) { self.other_org() } else { self.me };
        self.id_in(org, kind)
    }

    /// Always another organization's (for destructive calls: archive, revoke, deactivate).
    fn foreign_id(&mut self, kind: &str) -> String {
        let org = self.other_org();
        self.id_in(org, kind)
    }

    fn maybe_id(&mut self, p: f64, kind: &str) -> Value {
        if self.chance(p) { json!(self.id(kind)) } else { Value::Null }
    }

    fn id_in(&mut self, org: usize, kind: &str) -> String {
        for o in [org, (org + 1) % 3, (org + 2) % 3] {
            if let Some(pool) = self.world.pools[o].get(kind).filter(|p| !p.is_empty()) {
                let id = pool[self.rng.random_range(0..pool.len())].clone();
                if o != self.me {
                    self.foreign.push(id.clone());
                }
                return id;
            }
        }
        gid(kind, Uuid::new_v4())
    }

    fn kpi(&mut self) -> String {
        if self.chance(0.2) {
            return SHARED_KPI.to_owned();
        }
        let org = if self.chance(self.p_foreign) { self.other_org() } else { self.me };
        let keys = &self.world.kpis[org];
        let key = keys[self.rng.random_range(0..keys.len())].clone();
        if org != self.me && key != SHARED_KPI {
            self.foreign.push(key.clone());
        }
        key
    }

    fn pick<'s>(&mut self, options: &[&'s str]) -> &'s str {
        options[self.rng.random_range(0..options.len())]
    }

    fn period(&mut self) -> Value {
        let grain = self.pick(&["DAY", "WEEK", "MONTH", "QUARTER", "YEAR"]);
        if self.chance(0.2) {
            json!({"grain": grain, "campaignId": self.id("Campaign")})
        } else {
            json!({"grain": grain})
        }
    }

    fn board(&mut self) -> Value {
        let period = self.period();
        let subject = self.pick(&["MEMBERS", "TEAMS"]);
        let metric = self.pick(&["POINTS", "TARGET_PERCENT"]);
        json!({"period": period, "teamId": self.maybe_id(0.4, "Team"), "subject": subject, "metric": metric, "first": 10})
    }

    fn log_item(&mut self) -> Value {
        // Idempotency keys from a small set every organization uses.
        let key = format!("idem-{}", self.rng.random_range(0..6));
        json!({
            "activityTypeId": self.id("ActivityType"),
            "memberId": self.maybe_id(0.5, "Member"),
            "dealId": self.maybe_id(0.3, "Deal"),
            "quantity": self.rng.random_range(1..4),
            // Unique, so a replayed item (the original's note) is told from a new one.
            "note": format!("{} {}", self.name("note"), self.rng.random_range(0..1_000_000)),
            "idempotencyKey": if self.chance(0.6) { json!(key) } else { Value::Null },
        })
    }

    fn deal_input(&mut self, with_stage: bool) -> Value {
        let mut d = json!({"name": self.name("Deal"), "company": self.name("Corp"), "amount": "1500"});
        let stage_p = if with_stage { 0.4 } else { 0.0 };
        for (field, kind, p) in
            [("ownerId", "Member", 0.5), ("stageId", "PipelineStage", stage_p), ("territoryId", "Territory", 0.3)]
        {
            if self.chance(p) {
                d[field] = json!(self.id(kind));
            }
        }
        if self.chance(0.25) {
            d["splits"] = json!([{"memberId": self.id("Member"), "kind": "OVERLAY", "percent": 20}]);
        }
        d
    }

    fn campaign_input(&mut self) -> Value {
        let now = Utc::now();
        json!({
            "name": self.name("Campaign"), "theme": self.name("theme"), "reward": self.name("reward"),
            "startsAt": (now - chrono::Duration::days(1)).to_rfc3339(),
            "endsAt": (now + chrono::Duration::days(10)).to_rfc3339(),
            "multiplier": 1.5,
            "activityTypeIds": if self.chance(0.6) { json!([self.id("ActivityType")]) } else { json!([]) },
            "teamIds": if self.chance(0.5) { json!([self.id("Team")]) } else { json!([]) },
        })
    }
}

/// One request of the walk.
struct Call {
    op: &'static str,
    query: String,
    vars: Value,
    /// A value unique within an organization that the call claims.
    unique: Option<String>,
    /// A CSV file sent as `$file` (GraphQL multipart request).
    file: Option<String>,
}

const OPS: &[&str] = &[
    // queries
    "viewer",
    "teams",
    "members",
    "team",
    "member",
    "node",
    "nodes",
    "activityTypes",
    "activities",
    "campaigns",
    "score",
    "leaderboard",
    "pointsTargetHistory",
    "suggestedPointsTarget",
    "pipeline",
    "deals",
    "deal",
    "kpis",
    "kpiValues",
    "kpiReportHistory",
    "scoreboard",
    "alerts",
    "mysteryCheckRounds",
    "auditLog",
    "territories",
    "territory",
    "territoryCoverage",
    "quotas",
    "quota",
    "incentivePlans",
    "incentivePlan",
    "statements",
    "statement",
    "disputes",
    "simulatePayout",
    "forecast",
    "forecastAccuracy",
    "apiKeys",
    // mutations
    "logActivity",
    "logActivities",
    "voidActivity",
    "createTeam",
    "updateTeam",
    "moveTeam",
    "createMember",
    "updateMember",
    "deactivateMember",
    "createActivityType",
    "updateActivityType",
    "archiveActivityType",
    "createCampaign",
    "updateCampaign",
    "endCampaign",
    "setPointsTarget",
    "createCustomField",
    "updateStage",
    "deleteStage",
    "reorderStages",
    "addChecklistItem",
    "removeChecklistItem",
    "createDeal",
    "updateDeal",
    "upsertDeal",
    "moveDealStage",
    "closeDeal",
    "reopenDeal",
    "completeChecklistItem",
    "createKpi",
    "updateKpi",
    "archiveKpi",
    "setKpiTarget",
    "submitKpiValues",
    "lockKpiWeek",
    "createAlertRule",
    "evaluateAlerts",
    "acknowledgeAlert",
    "createMysteryCriterion",
    "archiveMysteryCriterion",
    "startMysteryCheckRound",
    "scoreMysteryCheck",
    "createTerritory",
    "updateTerritory",
    "archiveTerritory",
    "assignTerritory",
    "endTerritoryAssignment",
    "setQuota",
    "setQuotaRamp",
    "allocateQuota",
    "createIncentivePlan",
    "updateIncentivePlan",
    "archiveIncentivePlan",
    "assignIncentivePlan",
    "endIncentivePlanAssignment",
    "runPayouts",
    "approveStatement",
    "disputeStatementLine",
    "resolveDispute",
    "submitForecast",
    "adjustForecast",
    "updateOrganization",
    "revokeApiKey",
    "importDeals",
    "importActivities",
    // subscriptions (sent on the principal's WebSocket)
    "sub:organizationChanged",
    "sub:scoreChanged",
    "sub:leaderboardChanged",
    "sub:dealChanged",
    "sub:alertRaised",
    "sub:forecastChanged",
];

/// How often an operation is drawn, relative to the others: the hot write paths (logging,
/// CRM sync) and live views more often.
fn weight(op: &str) -> usize {
    match op {
        "logActivity" => 6,
        "logActivities" | "upsertDeal" => 3,
        "voidActivity" | "createDeal" | "updateDeal" | "leaderboard" | "score" => 2,
        op if op.starts_with("sub:") => 2,
        _ => 1,
    }
}

const NODE_KINDS: &[&str] = &[
    "Organization",
    "Team",
    "Member",
    "ActivityType",
    "Activity",
    "Campaign",
    "PipelineStage",
    "ChecklistItem",
    "Deal",
    "MysteryCriterion",
    "MysteryRound",
    "MysteryCheck",
    "Territory",
    "TerritoryAssignment",
    "Quota",
    "IncentivePlan",
    "PlanAssignment",
    "Statement",
    "StatementLine",
    "Dispute",
    "AuditEntry",
    "ApiKey",
];

const NODE_SELECTION: &str = "id __typename ... on Member { name team { id name } } ... on Team { name } ... on Organization { name } ... on Deal { name owner { id name } } ... on Activity { member { id name } } ... on Campaign { name } ... on Territory { name } ... on Quota { label member { id name } } ... on IncentivePlan { name } ... on Statement { member { id name } } ... on MysteryRound { team { id name } } ... on PipelineStage { name } ... on ActivityType { name } ... on MysteryCriterion { name } ... on Dispute { reason }";

fn payload(name: &str, input_type: &str, selection: &str) -> String {
    doc(&format!(
        "mutation($i: {input_type}!) {{ {name}(input: $i) {{ {selection} userErrors {{ field code message }} }} }}"
    ))
}

fn make_call(g: &mut Gen<'_>, op: &'static str) -> Call {
    let today = today();
    let mut unique = None;
    let mut file = None;
    let (query, vars): (String, Value) = match op {
        "viewer" => (
            "{ viewer { role member { id name } organization { id name slug } } organization { id name slug branding { displayName } } }".into(),
            json!({}),
        ),
        "teams" => (
            doc("query($p: ID) { teams(first: 20, filter: {parentTeamId: $p}) { totalCount edges { cursor node { %T% } } } }"),
            json!({"p": g.maybe_id(0.5, "Team")}),
        ),
        "members" => (
            doc("query($t: ID) { members(first: 20, filter: {teamId: $t}) { totalCount edges { node { %M% } } } }"),
            json!({"t": g.maybe_id(0.6, "Team")}),
        ),
        "team" => (doc("query($id: ID!) { team(id: $id) { %T% } }"), json!({"id": g.id("Team")})),
        "member" => (doc("query($id: ID!) { member(id: $id) { %M% } }"), json!({"id": g.id("Member")})),
        "node" => {
            let kind = g.pick(NODE_KINDS);
            (format!("query($id: ID!) {{ node(id: $id) {{ {NODE_SELECTION} }} }}"), json!({"id": g.id(kind)}))
        }
        "nodes" => {
            let ids: Vec<String> = (0..3)
                .map(|_| {
                    let kind = g.pick(NODE_KINDS);
                    g.id(kind)
                })
                .collect();
            (format!("query($ids: [ID!]!) {{ nodes(ids: $ids) {{ {NODE_SELECTION} }} }}"), json!({"ids": ids}))
        }
        "activityTypes" => {
            (doc("{ activityTypes(first: 20, includeArchived: true) { totalCount edges { node { %AT% } } } }"), json!({}))
        }
        "activities" => {
            let mut f = json!({});
            for (field, kind) in [("memberId", "Member"), ("teamId", "Team"), ("activityTypeId", "ActivityType")] {
                if g.chance(0.35) {
                    f[field] = json!(g.id(kind));
                }
            }
            (
                doc("query($f: ActivityFilterInput) { activities(first: 20, filter: $f) { totalCount edges { node { %ACT% } } } }"),
                json!({"f": f}),
            )
        }
        "campaigns" => (doc("{ campaigns(first: 20) { totalCount edges { node { %CAMP% } } } }"), json!({})),
        "score" => {
            let (m, t) = if g.chance(0.5) { (g.maybe_id(0.7, "Member"), Value::Null) } else { (Value::Null, json!(g.id("Team"))) };
            (
                doc("query($m: ID, $t: ID, $p: PeriodInput!) { score(memberId: $m, teamId: $t, period: $p) { %SCORE% } }"),
                json!({"m": m, "t": t, "p": g.period()}),
            )
        }
        "leaderboard" => (
            doc("query($i: LeaderboardInput!) { leaderboard(input: $i) { %BOARD% } }"),
            json!({"i": g.board()}),
        ),
        "pointsTargetHistory" => (
            "query($m: ID) { pointsTargetHistory(memberId: $m) { weeklyPoints reason member { id name } setBy { id name } } }".into(),
            json!({"m": g.maybe_id(0.8, "Member")}),
        ),
        "suggestedPointsTarget" => {
            ("query($m: ID) { suggestedPointsTarget(memberId: $m) }".into(), json!({"m": g.maybe_id(0.8, "Member")}))
        }
        "pipeline" => (doc("{ pipelineStages { %STAGE% } customFields { key label } }"), json!({})),
        "deals" => {
            let mut f = json!({});
            for (field, kind) in
                [("ownerId", "Member"), ("teamId", "Team"), ("stageId", "PipelineStage"), ("territoryId", "Territory")]
            {
                if g.chance(0.3) {
                    f[field] = json!(g.id(kind));
                }
            }
            (
                doc("query($f: DealFilterInput) { deals(first: 15, filter: $f) { totalCount edges { node { %DEAL% } } } }"),
                json!({"f": f}),
            )
        }
        "deal" => (doc("query($id: ID!) { deal(id: $id) { %DEAL% } }"), json!({"id": g.id("Deal")})),
        "kpis" => (doc("{ kpis(includeArchived: true) { %KPI% } alertRules { id kpiKey team { id name } } }"), json!({})),
        "kpiValues" => {
            let keys = vec![g.kpi(), g.kpi()];
            let subject = if g.chance(0.5) {
                json!({"memberId": g.id("Member")})
            } else {
                json!({"teamId": g.id("Team")})
            };
            let mut i = json!({"kpiKeys": keys, "from": today - chrono::Duration::days(14), "to": today});
            for (k, v) in subject.as_object().unwrap() {
                i[k] = v.clone();
            }
            (doc("query($i: KpiValuesInput!) { kpiValues(input: $i) { kpi { %KPI% } points { value target } } }"), json!({"i": i}))
        }
        "kpiReportHistory" => (
            "query($m: ID, $w: NaiveDate!) { kpiReportHistory(memberId: $m, week: $w) { kpiKey value reportedBy { id name } } }".into(),
            json!({"m": g.maybe_id(0.8, "Member"), "w": today}),
        ),
        "scoreboard" => (
            "query($t: ID!) { scoreboard(teamId: $t) { team { id name } kpis { key name } rows { member { id name } cells { kpiKey value } } } }".into(),
            json!({"t": g.id("Team")}),
        ),
        "alerts" => (doc("{ alerts { %ALERT% } }"), json!({})),
        "mysteryCheckRounds" => (
            doc("query($t: ID!) { mysteryCheckRounds(teamId: $t) { %ROUND% } mysteryCriteria(includeArchived: true) { id name } }"),
            json!({"t": g.id("Team")}),
        ),
        "auditLog" => {
            let mut f = json!({});
            if g.chance(0.3) {
                f["actorId"] = json!(g.id("Member"));
            }
            if g.chance(0.3) {
                // Entries outlive what they describe, so `entityId` is not looked up: an ID
                // that names nothing here (another organization's) matches nothing.
                let kind = g.pick(&["Deal", "Team", "Quota", "IncentivePlan", "Member"]);
                let id = g.id(kind);
                if g.foreign.last() == Some(&id) {
                    g.foreign.pop();
                    g.lenient.push(id.clone());
                }
                f["entityId"] = json!(id);
            }
            (
                doc("query($f: AuditLogFilter) { auditLog(first: 20, filter: $f) { totalCount edges { node { %AUDIT% } } } }"),
                json!({"f": f}),
            )
        }
        "territories" => (
            doc("query($p: ID) { territories(first: 20, filter: {parentId: $p, includeArchived: true}) { totalCount edges { node { %TERR% } } } }"),
            json!({"p": g.maybe_id(0.4, "Territory")}),
        ),
        "territory" => (doc("query($id: ID!) { territory(id: $id) { %TERR% } }"), json!({"id": g.id("Territory")})),
        "territoryCoverage" => (
            "{ territoryCoverage { territoriesWithoutOwner { id name } membersWithoutTerritory { id name } } }".into(),
            json!({}),
        ),
        "quotas" => {
            let kind = g.pick(&["Member", "Team", "Territory"]);
            (
                doc("query($s: ID) { quotas(first: 20, filter: {subjectId: $s}) { totalCount edges { node { %QUOTA% } } } }"),
                json!({"s": g.maybe_id(0.6, kind)}),
            )
        }
        "quota" => (doc("query($id: ID!) { quota(id: $id) { %QUOTA% } }"), json!({"id": g.id("Quota")})),
        "incentivePlans" => (doc("{ incentivePlans(includeArchived: true) { %PLAN% } }"), json!({})),
        "incentivePlan" => {
            (doc("query($id: ID!) { incentivePlan(id: $id) { %PLAN% } }"), json!({"id": g.id("IncentivePlan")}))
        }
        "statements" => (
            doc("query($m: ID) { statements(first: 10, filter: {memberId: $m}) { totalCount edges { node { %STMT% } } } }"),
            json!({"m": g.maybe_id(0.6, "Member")}),
        ),
        "statement" => (doc("query($id: ID!) { statement(id: $id) { %STMT% } }"), json!({"id": g.id("Statement")})),
        "disputes" => (doc("{ disputes { %DISPUTE% } }"), json!({})),
        "simulatePayout" => (
            "query($i: SimulatePayoutInput!) { simulatePayout(input: $i) { member { id name } total lines { sourceId explanation } } }".into(),
            json!({"i": {"memberId": g.maybe_id(0.5, "Member"), "dealIds": [g.id("Deal")]}}),
        ),
        "forecast" => (
            doc(&format!(
                "query($t: ID) {{ forecast(teamId: $t) {{ root {{ ...R subTeams {{ ...R members {{ ...R }} }} members {{ ...R }} }} }} }} {FORECAST_ROW}"
            )),
            json!({"t": g.maybe_id(0.7, "Team")}),
        ),
        "forecastAccuracy" => {
            let (m, t) = if g.chance(0.5) { (json!(g.id("Member")), Value::Null) } else { (Value::Null, g.maybe_id(0.8, "Team")) };
            (
                "query($m: ID, $t: ID) { forecastAccuracy(memberId: $m, teamId: $t) { subjectKind member { id name } team { id name } } }".into(),
                json!({"m": m, "t": t}),
            )
        }
        "apiKeys" => ("{ apiKeys { id name createdBy { id name } } }".into(), json!({})),

        // ---- mutations
        "logActivity" => (
            payload("logActivity", "LogActivityInput", "activity { %ACT% } replayed score { %SCORE% }"),
            json!({"i": g.log_item()}),
        ),
        "logActivities" => (
            payload("logActivities", "LogActivitiesInput", "activities { %ACT% } replayedCount"),
            json!({"i": {"items": [g.log_item(), g.log_item()]}}),
        ),
        "voidActivity" => (
            payload("voidActivity", "VoidActivityInput", "activity { %ACT% }"),
            json!({"i": {"id": g.id("Activity"), "reason": g.name("void")}}),
        ),
        "createTeam" => (
            payload("createTeam", "CreateTeamInput", "team { %T% }"),
            json!({"i": {"name": g.name("Team"), "parentTeamId": g.maybe_id(0.5, "Team"), "managerId": g.maybe_id(0.3, "Member")}}),
        ),
        "updateTeam" => (
            payload("updateTeam", "UpdateTeamInput", "team { %T% }"),
            json!({"i": {"id": g.id("Team"), "name": g.name("Team"), "managerId": g.maybe_id(0.3, "Member")}}),
        ),
        "moveTeam" => (
            payload("moveTeam", "MoveTeamInput", "team { %T% }"),
            json!({"i": {"id": g.id("Team"), "parentTeamId": g.maybe_id(0.7, "Team")}}),
        ),
        "createMember" => {
            let email = format!("person{}@shared.test", g.rng.random_range(0..4));
            unique = Some(email.clone());
            (
                payload("createMember", "CreateMemberInput", "member { %M% }"),
                json!({"i": {"name": g.name("Person"), "email": email, "salesRole": "INBOUND", "teamId": g.maybe_id(0.5, "Team")}}),
            )
        }
        "updateMember" => (
            payload("updateMember", "UpdateMemberInput", "member { %M% }"),
            json!({"i": {"id": g.id("Member"), "name": g.name("Person"), "teamId": g.maybe_id(0.4, "Team")}}),
        ),
        "deactivateMember" => (
            payload("deactivateMember", "MemberIdInput", "member { %M% }"),
            json!({"i": {"id": g.foreign_id("Member")}}),
        ),
        "createActivityType" => (
            payload("createActivityType", "CreateActivityTypeInput", "activityType { %AT% }"),
            json!({"i": {"name": g.name("Type"), "category": "ACTION", "unit": "COUNT", "points": 1}}),
        ),
        "updateActivityType" => (
            payload("updateActivityType", "UpdateActivityTypeInput", "activityType { %AT% }"),
            json!({"i": {"id": g.id("ActivityType"), "name": g.name("Type"), "description": g.name("about")}}),
        ),
        "archiveActivityType" => (
            payload("archiveActivityType", "ArchiveActivityTypeInput", "activityType { %AT% }"),
            json!({"i": {"id": g.foreign_id("ActivityType")}}),
        ),
        "createCampaign" => (
            payload("createCampaign", "CreateCampaignInput", "campaign { %CAMP% }"),
            json!({"i": g.campaign_input()}),
        ),
        "updateCampaign" => (
            payload("updateCampaign", "UpdateCampaignInput", "campaign { %CAMP% }"),
            json!({"i": {"id": g.id("Campaign"), "campaign": g.campaign_input()}}),
        ),
        "endCampaign" => (
            payload("endCampaign", "EndCampaignInput", "campaign { %CAMP% }"),
            json!({"i": {"id": g.foreign_id("Campaign")}}),
        ),
        "setPointsTarget" => (
            payload("setPointsTarget", "SetPointsTargetInput", "target { weeklyPoints reason member { id name } setBy { id name } }"),
            json!({"i": {"memberId": g.id("Member"), "weeklyPoints": 12.0, "reason": g.name("because")}}),
        ),
        "createCustomField" => {
            let key = format!("cf{}", g.rng.random_range(0..4));
            unique = Some(format!("field:{key}"));
            (
                payload("createCustomField", "CreateCustomFieldInput", "field { key label }"),
                json!({"i": {"key": key, "label": g.name("Field"), "fieldType": "TEXT"}}),
            )
        }
        "updateStage" => (
            payload("updateStage", "UpdateStageInput", "stage { %STAGE% }"),
            json!({"i": {"id": g.id("PipelineStage"), "name": g.name("Stage")}}),
        ),
        "deleteStage" => (
            payload("deleteStage", "DeleteStageInput", "stage { %STAGE% }"),
            json!({"i": {"id": g.foreign_id("PipelineStage")}}),
        ),
        "reorderStages" => {
            let mut ids: Vec<String> = g.world.pools[g.me].get("PipelineStage").cloned().unwrap_or_default();
            let foreign = g.foreign_id("PipelineStage");
            let at = g.rng.random_range(0..ids.len().max(1));
            if !ids.is_empty() {
                ids[at] = foreign;
            }
            (payload("reorderStages", "ReorderStagesInput", "stages { %STAGE% }"), json!({"i": {"stageIds": ids}}))
        }
        "addChecklistItem" => (
            payload("addChecklistItem", "AddChecklistItemInput", "item { id label }"),
            json!({"i": {"stageId": g.id("PipelineStage"), "label": g.name("Item"), "kind": "PROCESS", "required": false}}),
        ),
        "removeChecklistItem" => (
            payload("removeChecklistItem", "RemoveChecklistItemInput", "item { id label }"),
            json!({"i": {"id": g.foreign_id("ChecklistItem")}}),
        ),
        "createDeal" => {
            let mut d = g.deal_input(true);
            if g.chance(0.3) {
                let ext = format!("crm-{}", g.rng.random_range(1..5));
                unique = Some(format!("deal:{ext}"));
                d["externalId"] = json!(ext);
            }
            (payload("createDeal", "DealInput", "deal { %DEAL% }"), json!({"i": d}))
        }
        "updateDeal" => {
            let d = g.deal_input(false);
            (payload("updateDeal", "UpdateDealInput", "deal { %DEAL% }"), json!({"i": {"id": g.id("Deal"), "deal": d}}))
        }
        "upsertDeal" => {
            // External IDs are the same in every organization: each must reach only its own deal.
            let ext = format!("crm-{}", g.rng.random_range(1..5));
            unique = Some(format!("deal:{ext}"));
            (
                payload("upsertDealByExternalId", "UpsertDealInput", "deal { %DEAL% }"),
                json!({"i": {"externalId": ext, "deal": g.deal_input(true)}}),
            )
        }
        "moveDealStage" => (
            payload("moveDealStage", "MoveDealStageInput", "deal { %DEAL% }"),
            json!({"i": {"id": g.id("Deal"), "stageId": g.id("PipelineStage")}}),
        ),
        "closeDeal" => {
            let outcome = g.pick(&["WON", "LOST"]);
            (
                payload("closeDeal", "CloseDealInput", "deal { %DEAL% }"),
                json!({"i": {"id": g.id("Deal"), "outcome": outcome, "reason": g.name("reason")}}),
            )
        }
        "reopenDeal" => (
            payload("reopenDeal", "ReopenDealInput", "deal { %DEAL% }"),
            json!({"i": {"id": g.id("Deal"), "stageId": g.maybe_id(0.5, "PipelineStage")}}),
        ),
        "completeChecklistItem" => (
            payload("completeChecklistItem", "ChecklistItemOnDealInput", "deal { %DEAL% }"),
            json!({"i": {"dealId": g.id("Deal"), "itemId": g.id("ChecklistItem")}}),
        ),
        "createKpi" => {
            // Keys from a small set every organization draws from.
            let key = format!("shared_k{}", g.rng.random_range(0..4));
            unique = Some(format!("kpi:{key}"));
            (
                payload("createKpi", "CreateKpiInput", "kpi { %KPI% }"),
                json!({"i": {"key": key, "name": g.name("KPI"), "kind": "ACTIVITY_COUNT", "unit": "COUNT", "activityTypeIds": [g.id("ActivityType")]}}),
            )
        }
        "updateKpi" => (
            payload("updateKpi", "UpdateKpiInput", "kpi { %KPI% }"),
            json!({"i": {"key": g.kpi(), "name": g.name("KPI"), "description": g.name("about")}}),
        ),
        "archiveKpi" => {
            let org = g.other_org();
            let key = OWN_KPI[org].to_owned();
            g.foreign.push(key.clone());
            (payload("archiveKpi", "ArchiveKpiInput", "kpi { %KPI% }"), json!({"i": {"key": key}}))
        }
        "setKpiTarget" => (
            payload("setKpiTarget", "SetKpiTargetInput", "kpi { %KPI% } perWeek"),
            json!({"i": {"kpiKey": g.kpi(), "memberId": g.maybe_id(0.7, "Member"), "perWeek": 4.0, "reason": g.name("stretch")}}),
        ),
        "submitKpiValues" => (
            "mutation($i: SubmitKpiValuesInput!) { submitKpiValues(input: $i) { recorded userErrors { field code message } } }".into(),
            json!({"i": {"week": today, "values": [{"kpiKey": g.kpi(), "value": 42.0}]}}),
        ),
        "lockKpiWeek" => (
            "mutation($i: LockKpiWeekInput!) { lockKpiWeek(input: $i) { weekStart userErrors { field code message } } }".into(),
            json!({"i": {"teamId": g.id("Team"), "week": today - chrono::Duration::days(21)}}),
        ),
        "createAlertRule" => (
            payload("createAlertRule", "CreateAlertRuleInput", "rule { id kpiKey team { id name } }"),
            json!({"i": {"kpiKey": g.kpi(), "kind": "BELOW_TARGET_STREAK", "periods": 2, "teamId": g.maybe_id(0.6, "Team")}}),
        ),
        "evaluateAlerts" => (
            doc("mutation { evaluateAlerts { alerts { %ALERT% } userErrors { field code message } } }"),
            json!({}),
        ),
        "acknowledgeAlert" => (
            payload("acknowledgeAlert", "AcknowledgeAlertInput", "alerts { %ALERT% }"),
            json!({"i": {"id": g.id("Alert"), "note": g.name("seen")}}),
        ),
        "createMysteryCriterion" => (
            payload("createMysteryCriterion", "CreateMysteryCriterionInput", "criterion { id name }"),
            json!({"i": {"name": g.name("Criterion"), "points": 10}}),
        ),
        "archiveMysteryCriterion" => (
            payload("archiveMysteryCriterion", "ArchiveMysteryCriterionInput", "criterion { id name }"),
            json!({"i": {"id": g.foreign_id("MysteryCriterion")}}),
        ),
        "startMysteryCheckRound" => {
            let months_back = g.rng.random_range(1..4);
            let month = month_start(today).checked_sub_months(chrono::Months::new(months_back)).unwrap();
            (
                payload("startMysteryCheckRound", "StartMysteryCheckRoundInput", "round { %ROUND% }"),
                json!({"i": {"teamId": g.id("Team"), "month": month, "samplesPerRep": 1}}),
            )
        }
        "scoreMysteryCheck" => (
            payload("scoreMysteryCheck", "ScoreMysteryCheckInput", "check { id rep { id name } deal { id name } results { criterion { id name } } }"),
            json!({"i": {"checkId": g.id("MysteryCheck"), "results": [{"criterionId": g.id("MysteryCriterion"), "awarded": 5}], "note": g.name("scored")}}),
        ),
        "createTerritory" => (
            payload("createTerritory", "CreateTerritoryInput", "territory { %TERR% }"),
            json!({"i": {"name": g.name("Territory"), "kind": "REGION", "parentId": g.maybe_id(0.5, "Territory")}}),
        ),
        "updateTerritory" => (
            payload("updateTerritory", "UpdateTerritoryInput", "territory { %TERR% }"),
            json!({"i": {"id": g.id("Territory"), "name": g.name("Territory"), "parentId": g.maybe_id(0.3, "Territory")}}),
        ),
        "archiveTerritory" => (
            payload("archiveTerritory", "ArchiveTerritoryInput", "territory { %TERR% }"),
            json!({"i": {"id": g.foreign_id("Territory")}}),
        ),
        "assignTerritory" => (
            payload("assignTerritory", "AssignTerritoryInput", "assignment { id member { id name } territory { id name } }"),
            json!({"i": {"territoryId": g.id("Territory"), "memberId": g.id("Member"), "role": "OVERLAY", "startsOn": today}}),
        ),
        "endTerritoryAssignment" => (
            payload("endTerritoryAssignment", "EndTerritoryAssignmentInput", "assignment { id member { id name } territory { id name } }"),
            json!({"i": {"id": g.id("TerritoryAssignment"), "endsOn": today + chrono::Duration::days(60)}}),
        ),
        "setQuota" => {
            let kind = g.pick(&["Member", "Team", "Territory"]);
            let mut i = json!({"subjectId": g.id(kind), "metric": "POINTS", "grain": "MONTH", "period": today, "amount": "120", "label": g.name("quota")});
            if g.chance(0.3) {
                i["metric"] = json!("ACTIVITY_COUNT");
                i["activityTypeId"] = json!(g.id("ActivityType"));
            }
            (payload("setQuota", "SetQuotaInput", "quota { %QUOTA% }"), json!({"i": i}))
        }
        "setQuotaRamp" => (
            payload("setQuotaRamp", "SetQuotaRampInput", "member { id name } percents"),
            json!({"i": {"memberId": g.id("Member"), "percents": [50, 75, 100]}}),
        ),
        "allocateQuota" => (
            payload("allocateQuota", "AllocateQuotaInput", "teamQuota { %QUOTA% } memberQuotas { %QUOTA% }"),
            json!({"i": {"teamQuotaId": g.id("Quota"), "method": "EVEN"}}),
        ),
        "createIncentivePlan" => (
            payload("createIncentivePlan", "CreateIncentivePlanInput", "plan { %PLAN% }"),
            json!({"i": {"name": g.name("Plan"), "description": g.name("about"), "components": [
                {"kind": "SPIFF", "name": g.name("spiff"), "target": "ACTIVITY", "activityTypeId": g.id("ActivityType"), "amount": "10", "startsOn": today - chrono::Duration::days(30), "endsOn": today + chrono::Duration::days(30)}
            ]}}),
        ),
        "updateIncentivePlan" => (
            payload("updateIncentivePlan", "UpdateIncentivePlanInput", "plan { %PLAN% }"),
            json!({"i": {"id": g.id("IncentivePlan"), "name": g.name("Plan"), "description": g.name("about")}}),
        ),
        "archiveIncentivePlan" => (
            payload("archiveIncentivePlan", "ArchiveIncentivePlanInput", "plan { %PLAN% }"),
            json!({"i": {"id": g.foreign_id("IncentivePlan")}}),
        ),
        "assignIncentivePlan" => (
            payload("assignIncentivePlan", "AssignIncentivePlanInput", "assignment { id member { id name } plan { id name } }"),
            json!({"i": {"planId": g.id("IncentivePlan"), "memberId": g.id("Member"), "startsOn": today + chrono::Duration::days(400)}}),
        ),
        "endIncentivePlanAssignment" => (
            payload("endIncentivePlanAssignment", "EndIncentivePlanAssignmentInput", "assignment { id member { id name } plan { id name } }"),
            json!({"i": {"id": g.id("PlanAssignment"), "endsOn": today + chrono::Duration::days(800)}}),
        ),
        "runPayouts" => (
            payload("runPayouts", "RunPayoutsInput", "statements { %STMT% } unchanged { id member { id name } }"),
            json!({"i": {"period": {"grain": "QUARTER", "date": today}, "memberIds": if g.chance(0.6) { json!([g.id("Member")]) } else { Value::Null }}}),
        ),
        "approveStatement" => (
            payload("approveStatement", "StatementActionInput", "statement { %STMT% }"),
            json!({"i": {"id": g.id("Statement")}}),
        ),
        "disputeStatementLine" => (
            payload("disputeStatementLine", "DisputeStatementLineInput", "dispute { %DISPUTE% }"),
            json!({"i": {"lineId": g.id("StatementLine"), "reason": g.name("wrong")}}),
        ),
        "resolveDispute" => (
            payload("resolveDispute", "ResolveDisputeInput", "dispute { %DISPUTE% }"),
            json!({"i": {"id": g.id("Dispute"), "resolution": "REJECTED", "note": g.name("no")}}),
        ),
        "submitForecast" => (
            payload("submitForecast", "SubmitForecastInput", "numbers { %NUMBERS% }"),
            json!({"i": {"commit": "1000", "bestCase": "2000", "note": g.name("forecast"), "teamId": g.maybe_id(0.4, "Team")}}),
        ),
        "adjustForecast" => {
            let (m, t) = if g.chance(0.5) { (json!(g.id("Member")), Value::Null) } else { (Value::Null, json!(g.id("Team"))) };
            (
                payload("adjustForecast", "AdjustForecastInput", "numbers { %NUMBERS% }"),
                json!({"i": {"memberId": m, "teamId": t, "commit": "900", "bestCase": "1900", "reason": g.name("adjusted")}}),
            )
        }
        "updateOrganization" => (
            payload("updateOrganization", "UpdateOrganizationInput", "organization { id name slug branding { displayName } }"),
            json!({"i": {"name": format!("{} B.V.", g.slug()), "displayName": g.name("Display")}}),
        ),
        "revokeApiKey" => (
            payload("revokeApiKey", "RevokeApiKeyInput", "apiKey { id name }"),
            json!({"i": {"id": g.foreign_id("ApiKey")}}),
        ),

        // ---- CSV imports: members and types by e-mail and name, some of which only another
        // organization has (shared e-mails are created by `createMember` as the walk goes).
        "importDeals" => {
            let mut csv = String::from("externalId,name,ownerEmail,amount\n");
            for k in 0..3 {
                let ext = g.rng.random_range(1..5);
                let email = g.rng.random_range(0..4);
                csv.push_str(&format!("crm-{ext},{} {k},person{email}@shared.test,{}\n", g.name("Import"), 100 * (k + 1)));
            }
            file = Some(csv);
            (
                "mutation($file: Upload!, $mode: ImportMode!) { importDeals(file: $file, mode: $mode) { rows created updated skipped committed errors { row column message } } }".into(),
                json!({"file": null, "mode": "SKIP_INVALID"}),
            )
        }
        "importActivities" => {
            let mut csv = String::from("externalId,memberEmail,activityType,quantity,occurredAt,note\n");
            for k in 0..3 {
                let email = g.rng.random_range(0..4);
                let kind = OWN_TYPE[g.rng.random_range(0..3)];
                let n = g.rng.random_range(0..1000);
                csv.push_str(&format!("imp-{n},person{email}@shared.test,{kind},1,,{} {k}\n", g.name("imported")));
            }
            file = Some(csv);
            (
                "mutation($file: Upload!, $mode: ImportMode!) { importActivities(file: $file, mode: $mode) { rows created updated skipped committed errors { row column message } } }".into(),
                json!({"file": null, "mode": "SKIP_INVALID"}),
            )
        }

        // ---- subscriptions
        "sub:organizationChanged" => ("subscription { organizationChanged { id name slug } }".into(), json!({})),
        "sub:scoreChanged" => (
            doc("subscription($m: ID, $t: ID) { scoreChanged(memberId: $m, teamId: $t) { member { id name } activity { %ACT% } pointsDelta score { %SCORE% } } }"),
            json!({"m": g.maybe_id(0.6, "Member"), "t": g.maybe_id(0.5, "Team")}),
        ),
        "sub:leaderboardChanged" => (
            doc("subscription($i: LeaderboardInput!) { leaderboardChanged(input: $i) { %BOARD% } }"),
            json!({"i": g.board()}),
        ),
        "sub:dealChanged" => (
            doc("subscription($t: ID, $d: ID) { dealChanged(teamId: $t, dealId: $d) { %DEAL% } }"),
            json!({"t": g.maybe_id(0.5, "Team"), "d": g.maybe_id(0.6, "Deal")}),
        ),
        "sub:alertRaised" => (
            doc("subscription($t: ID) { alertRaised(teamId: $t) { %ALERT% } }"),
            json!({"t": g.maybe_id(0.8, "Team")}),
        ),
        "sub:forecastChanged" => (
            "subscription($t: ID!) { forecastChanged(teamId: $t) { team { id name } subjectId } }".into(),
            json!({"t": g.id("Team")}),
        ),
        other => panic!("no call for {other}"),
    };
    Call { op, query, vars, unique, file }
}

/// The same variables with every foreign value replaced by one that exists nowhere; returns
/// them with the (fresh, foreign) pairs.
fn twin(vars: &Value, foreign: &[String]) -> (Value, Vec<(String, String)>) {
    let mut text = vars.to_string();
    let mut pairs = Vec::new();
    for (n, f) in foreign.iter().enumerate() {
        let fresh = if let Some((kind, _)) = decode_gid(f) {
            gid(&kind, Uuid::new_v4())
        } else if Uuid::parse_str(f).is_ok() {
            Uuid::new_v4().to_string()
        } else {
            format!("kpi_missing_{n}")
        };
        text = text.replace(&format!("\"{f}\""), &format!("\"{fresh}\""));
        pairs.push((fresh, f.clone()));
    }
    (serde_json::from_str(&text).unwrap(), pairs)
}

/// The outcome of a twin's answer, with the fresh values put back so echoes compare equal.
fn twin_outcome(body: &Value, pairs: &[(String, String)]) -> Value {
    let mut text = outcome(body).to_string();
    for (fresh, foreign) in pairs {
        text = text.replace(fresh, foreign);
    }
    serde_json::from_str(&text).unwrap()
}

// ---------------------------------------------------------------- the checks

#[derive(Default)]
struct Figures {
    steps: usize,
    responses: usize,
    messages: usize,
    probes: usize,
    subscription_probes: usize,
    subscriptions: usize,
    refused_own: usize,
    /// Why the caller's own requests were refused, per operation (role, validation).
    refusals: BTreeMap<String, usize>,
    succeeded: BTreeMap<&'static str, usize>,
    events_per_org: [usize; 3],
}

struct Checker {
    /// Which organization each UUID belongs to (every tenant table, refreshed each step).
    owner: HashMap<Uuid, usize>,
    org_uuids: Vec<Uuid>,
    /// Everything checked, re-checked at the end against the final owners.
    seen: Vec<(usize, String, Value)>,
    failures: Vec<String>,
}

impl Checker {
    fn fail(&mut self, what: String) {
        if self.failures.len() < 40 {
            eprintln!("ISOLATION FAILURE: {what}");
        }
        self.failures.push(what);
    }

    /// Checks a response or message seen by a principal of `org`.
    fn check(&mut self, org: usize, context: &str, v: &Value) {
        self.check_now(org, context, v);
        self.seen.push((org, context.to_owned(), v.clone()));
    }

    fn check_now(&mut self, org: usize, context: &str, v: &Value) {
        let text = v.to_string();
        for (o, slug) in SLUGS.iter().enumerate() {
            if o != org && text.contains(slug) {
                self.fail(format!("{context}: carries the name of {slug}: {}", excerpt(&text, slug)));
            }
        }
        let mut ids = Vec::new();
        uuids_in(v, &mut ids);
        for id in ids {
            if let Some(&o) = self.owner.get(&id)
                && o != org
            {
                self.fail(format!("{context}: carries {id} of {}: {}", SLUGS[o], excerpt(&text, &id.to_string())));
            }
        }
        for code in ["\"code\":\"INTERNAL\"", "\"code\":\"QUERY_TOO_COMPLEX\""] {
            if text.contains(code) {
                self.fail(format!("{context}: answered {code}: {}", excerpt(&text, code)));
            }
        }
    }

    async fn refresh_owners(&mut self, app: &TestApp) {
        let backend = app.state.db.get_database_backend();
        let mut sql = vec!["SELECT id AS i, id AS o FROM organizations".to_owned()];
        for (t, _) in TENANT_TABLES {
            sql.push(format!("SELECT id AS i, organization_id AS o FROM {t}"));
        }
        sql.push("SELECT id AS i, organization_id AS o FROM alerts".to_owned());
        let rows =
            app.state.db.query_all_raw(Statement::from_string(backend, sql.join(" UNION ALL "))).await.expect("owners");
        for row in rows {
            let id: Uuid = row.try_get("", "i").expect("id");
            let org: Uuid = row.try_get("", "o").expect("org");
            if let Some(o) = self.org_uuids.iter().position(|u| *u == org) {
                self.owner.insert(id, o);
            }
        }
    }
}

/// Per (organization, table): row count and change markers.
async fn fingerprint(app: &TestApp) -> BTreeMap<(Uuid, String), String> {
    let backend = app.state.db.get_database_backend();
    let mut sql = vec![
        "SELECT 'organizations' AS t, id AS o, CAST(version AS TEXT) || '|' || CAST(updated_at AS TEXT) AS f FROM organizations"
            .to_owned(),
    ];
    for (t, markers) in TENANT_TABLES {
        let mut f = "CAST(COUNT(*) AS TEXT)".to_owned();
        for m in *markers {
            f.push_str(&format!(" || '|' || COALESCE(CAST({m} AS TEXT), '-')"));
        }
        sql.push(format!("SELECT '{t}' AS t, organization_id AS o, {f} AS f FROM {t} GROUP BY organization_id"));
    }
    let rows = app
        .state
        .db
        .query_all_raw(Statement::from_string(backend, sql.join(" UNION ALL ")))
        .await
        .expect("fingerprint");
    rows.into_iter()
        .map(|r| {
            let t: String = r.try_get("", "t").expect("t");
            let o: Uuid = r.try_get("", "o").expect("o");
            let f: String = r.try_get("", "f").expect("f");
            ((o, t), f)
        })
        .collect()
}

// ---------------------------------------------------------------- seeding

/// Runs a mutation that must succeed without userErrors; returns `data`.
async fn must(app: &TestApp, token: &str, query: &str, vars: Value) -> Value {
    let query = doc(query);
    let body = app.gql(Some(token), &query, vars).await;
    let mut ue = Vec::new();
    user_errors(&body["data"], &mut ue);
    assert!(body.get("errors").is_none() && ue.is_empty(), "seeding failed: {query}: {body}");
    body["data"].clone()
}

fn id_at(v: &Value, path: &[&str]) -> String {
    let mut v = v;
    for p in path {
        v = &v[*p];
    }
    v.as_str().unwrap_or_else(|| panic!("no ID at {path:?}")).to_owned()
}

/// One organization's data in every domain; returns its API key.
async fn seed_domains(app: &TestApp, i: usize, o: &Org) -> String {
    let s = SLUGS[i];
    let admin = o.admin_token.as_str();
    let today = today();
    let at = "mutation($i: CreateActivityTypeInput!) { createActivityType(input: $i) { activityType { id } userErrors { field code message } } }";
    let call = id_at(
        &must(
            app,
            admin,
            at,
            json!({"i": {"name": format!("{s} Call"), "category": "ACTION", "unit": "COUNT", "points": 2}}),
        )
        .await,
        &["createActivityType", "activityType", "id"],
    );
    let quote = id_at(
        &must(
            app,
            admin,
            at,
            json!({"i": {"name": format!("{s} Quote"), "category": "RESULT", "unit": "COUNT", "points": 3}}),
        )
        .await,
        &["createActivityType", "activityType", "id"],
    );
    must(app, admin, at, json!({"i": {"name": OWN_TYPE[i], "category": "ACTION", "unit": "COUNT", "points": 1}})).await;
    let stage =
        "mutation($i: CreateStageInput!) { createStage(input: $i) { stage { id } userErrors { field code message } } }";
    let mut stages = Vec::new();
    for (name, kind) in [("Lead", "OPEN"), ("Proposal", "OPEN"), ("Won", "WON"), ("Lost", "LOST")] {
        let d = must(app, admin, stage, json!({"i": {"name": format!("{s} {name}"), "kind": kind}})).await;
        stages.push(id_at(&d, &["createStage", "stage", "id"]));
    }
    must(app, admin, "mutation($i: AddChecklistItemInput!) { addChecklistItem(input: $i) { item { id } userErrors { field code message } } }",
        json!({"i": {"stageId": stages[0], "label": format!("{s} Call report"), "kind": "PROCESS", "required": false}})).await;
    must(app, admin, "mutation($i: CreateCustomFieldInput!) { createCustomField(input: $i) { field { key } userErrors { field code message } } }",
        json!({"i": {"key": "cf0", "label": format!("{s} Region"), "fieldType": "TEXT"}})).await;
    let terr = "mutation($i: CreateTerritoryInput!) { createTerritory(input: $i) { territory { id } userErrors { field code message } } }";
    let north = id_at(
        &must(
            app,
            admin,
            terr,
            json!({"i": {"name": format!("{s} North"), "kind": "REGION", "rules": [{"country": "NL"}]}}),
        )
        .await,
        &["createTerritory", "territory", "id"],
    );
    must(app, admin, terr, json!({"i": {"name": format!("{s} South"), "kind": "SEGMENT", "parentId": north}})).await;
    must(app, admin, "mutation($i: AssignTerritoryInput!) { assignTerritory(input: $i) { assignment { id } userErrors { field code message } } }",
        json!({"i": {"territoryId": north, "memberId": o.rep, "role": "OWNER", "startsOn": today}})).await;

    let deal = "mutation($i: DealInput!) { createDeal(input: $i) { deal { id } userErrors { field code message } } }";
    let d1 = id_at(
        &must(app, &o.rep_token, deal, json!({"i": {"name": format!("{s} Deal one"), "company": format!("{s} Corp"), "amount": "5000", "stageId": stages[0], "externalId": "crm-1", "territoryId": north, "customFields": {"cf0": format!("{s} west")}}})).await,
        &["createDeal", "deal", "id"],
    );
    must(app, &o.inbound_rep_token, deal, json!({"i": {"name": format!("{s} Deal two"), "amount": "3000", "expectedCloseDate": today, "externalId": "crm-2"}})).await;
    let d3 = id_at(
        &must(app, admin, deal, json!({"i": {"name": format!("{s} Deal three"), "ownerId": o.rep, "amount": "8000", "expectedCloseDate": today, "splits": [{"memberId": o.inbound_rep, "kind": "OVERLAY", "percent": 50}]}})).await,
        &["createDeal", "deal", "id"],
    );
    must(
        app,
        admin,
        "mutation($i: CloseDealInput!) { closeDeal(input: $i) { deal { id } userErrors { field code message } } }",
        json!({"i": {"id": d3, "outcome": "WON"}}),
    )
    .await;
    must(app, &o.rep_token, "mutation($i: MoveDealStageInput!) { moveDealStage(input: $i) { deal { id } userErrors { field code message } } }",
        json!({"i": {"id": d1, "stageId": stages[1]}})).await;

    let log = "mutation($i: LogActivityInput!) { logActivity(input: $i) { activity { id } userErrors { field code message } } }";
    must(app, &o.rep_token, log, json!({"i": {"activityTypeId": call, "quantity": 2, "idempotencyKey": "idem-1", "note": format!("{s} first calls")}})).await;
    must(
        app,
        &o.manager_token,
        log,
        json!({"i": {"activityTypeId": quote, "memberId": o.rep, "dealId": d1, "note": format!("{s} quote")}}),
    )
    .await;
    must(
        app,
        &o.inbound_rep_token,
        log,
        json!({"i": {"activityTypeId": call, "quantity": 1, "idempotencyKey": "idem-2"}}),
    )
    .await;
    let now = Utc::now();
    must(app, admin, "mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { campaign { id } userErrors { field code message } } }",
        json!({"i": {"name": format!("{s} Blitz"), "theme": format!("{s} theme"), "reward": format!("{s} reward"), "startsAt": (now - chrono::Duration::days(1)).to_rfc3339(), "endsAt": (now + chrono::Duration::days(30)).to_rfc3339(), "multiplier": 2, "activityTypeIds": [call], "teamIds": [o.outbound]}})).await;
    must(app, admin, "mutation($i: SetPointsTargetInput!) { setPointsTarget(input: $i) { userErrors { field code message } } }",
        json!({"i": {"memberId": o.rep, "weeklyPoints": 10.0, "effectiveFrom": "2025-01-01", "reason": format!("{s} ramp")}})).await;

    let kpi =
        "mutation($i: CreateKpiInput!) { createKpi(input: $i) { kpi { key } userErrors { field code message } } }";
    must(
        app,
        admin,
        kpi,
        json!({"i": {"key": SHARED_KPI, "name": format!("{s} Selling"), "kind": "SELF_REPORTED", "unit": "PERCENT"}}),
    )
    .await;
    must(app, admin, kpi, json!({"i": {"key": OWN_KPI[i], "name": format!("{s} Calls KPI"), "kind": "ACTIVITY_COUNT", "unit": "COUNT", "activityTypeIds": [call]}})).await;
    must(app, admin, "mutation($i: SetKpiTargetInput!) { setKpiTarget(input: $i) { userErrors { field code message } } }",
        json!({"i": {"kpiKey": OWN_KPI[i], "memberId": o.rep, "perWeek": 50, "effectiveFrom": "2025-01-01", "reason": format!("{s} stretch")}})).await;
    must(app, &o.rep_token, "mutation($i: SubmitKpiValuesInput!) { submitKpiValues(input: $i) { recorded userErrors { field code message } } }",
        json!({"i": {"week": today, "values": [{"kpiKey": SHARED_KPI, "value": 40}]}})).await;
    must(app, admin, "mutation($i: CreateAlertRuleInput!) { createAlertRule(input: $i) { rule { id } userErrors { field code message } } }",
        json!({"i": {"kpiKey": OWN_KPI[i], "kind": "BELOW_TARGET_STREAK", "periods": 2, "teamId": o.outbound}})).await;
    must(app, admin, "mutation { evaluateAlerts { alerts { id } userErrors { field code message } } }", json!({}))
        .await;

    must(app, admin, "mutation($i: CreateMysteryCriterionInput!) { createMysteryCriterion(input: $i) { criterion { id } userErrors { field code message } } }",
        json!({"i": {"name": format!("{s} CRM profile"), "points": 50}})).await;
    must(app, admin, "mutation($i: StartMysteryCheckRoundInput!) { startMysteryCheckRound(input: $i) { round { id } userErrors { field code message } } }",
        json!({"i": {"teamId": o.outbound, "month": month_start(today), "samplesPerRep": 1}})).await;

    let quota =
        "mutation($i: SetQuotaInput!) { setQuota(input: $i) { quota { id } userErrors { field code message } } }";
    must(app, admin, quota, json!({"i": {"subjectId": o.rep, "metric": "REVENUE", "grain": "QUARTER", "period": today, "amount": "10000", "label": format!("{s} new business")}})).await;
    must(app, admin, quota, json!({"i": {"subjectId": o.outbound, "metric": "POINTS", "grain": "MONTH", "period": today, "amount": "100", "label": format!("{s} team points")}})).await;
    must(app, admin, quota, json!({"i": {"subjectId": north, "metric": "DEALS_WON", "grain": "QUARTER", "period": today, "amount": "3", "label": format!("{s} north")}})).await;

    let plan = id_at(
        &must(app, admin, "mutation($i: CreateIncentivePlanInput!) { createIncentivePlan(input: $i) { plan { id } userErrors { field code message } } }",
            json!({"i": {"name": format!("{s} Plan"), "description": format!("{s} plan"), "components": [
                {"kind": "COMMISSION", "name": format!("{s} Commission"), "baseRate": "2", "tiers": [
                    {"fromAttainment": "0", "rate": "2", "mode": "MARGINAL"}, {"fromAttainment": "100", "rate": "5", "mode": "MARGINAL"}]}
            ]}})).await,
        &["createIncentivePlan", "plan", "id"],
    );
    must(app, admin, "mutation($i: AssignIncentivePlanInput!) { assignIncentivePlan(input: $i) { assignment { id } userErrors { field code message } } }",
        json!({"i": {"planId": plan, "memberId": o.rep, "startsOn": NaiveDate::from_ymd_opt(today.year() - 1, 1, 1).unwrap()}})).await;
    let run = must(app, admin, "mutation($i: RunPayoutsInput!) { runPayouts(input: $i) { statements { id lines { id } } userErrors { field code message } } }",
        json!({"i": {"period": {"grain": "QUARTER", "date": today}}})).await;
    let line = run["runPayouts"]["statements"][0]["lines"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no statement line: {run}"))
        .to_owned();
    must(app, &o.rep_token, "mutation($i: DisputeStatementLineInput!) { disputeStatementLine(input: $i) { dispute { id } userErrors { field code message } } }",
        json!({"i": {"lineId": line, "reason": format!("{s} dispute")}})).await;

    must(app, &o.rep_token, "mutation($i: SubmitForecastInput!) { submitForecast(input: $i) { numbers { note } userErrors { field code message } } }",
        json!({"i": {"commit": "1000", "bestCase": "2000", "note": format!("{s} forecast")}})).await;
    must(app, &o.manager_token, "mutation($i: AdjustForecastInput!) { adjustForecast(input: $i) { numbers { note } userErrors { field code message } } }",
        json!({"i": {"memberId": o.rep, "commit": "900", "bestCase": "1900", "reason": format!("{s} adjust")}})).await;
    must(app, admin, "mutation($i: CreateMemberInput!) { createMember(input: $i) { member { id } userErrors { field code message } } }",
        json!({"i": {"name": format!("{s} Person zero"), "email": "person0@shared.test", "salesRole": "INBOUND", "teamId": o.inbound}})).await;
    must(app, admin, "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { id } userErrors { field code message } } }",
        json!({"i": {"displayName": format!("{s} Display")}})).await;
    let key = must(
        app,
        admin,
        "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret userErrors { field code message } } }",
        json!({"i": {"name": format!("{s} integration"), "scopes": ALL_SCOPES}}),
    )
    .await;
    id_at(&key, &["createApiKey", "secret"])
}

/// A GraphQL multipart request with the CSV as `$file`.
async fn upload(app: &TestApp, token: &str, call: &Call, csv: String) -> Value {
    let operations = json!({"query": call.query, "variables": call.vars});
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part("0", reqwest::multipart::Part::text(csv).file_name("import.csv").mime_str("text/csv").unwrap());
    let resp =
        app.client.post(format!("{}/graphql", app.base_url)).bearer_auth(token).multipart(form).send().await.unwrap();
    resp.json().await.unwrap()
}

// ---------------------------------------------------------------- WebSockets

struct Socket {
    ws: Ws,
    principal: usize,
    next_id: u32,
    open: bool,
    /// An admin changed a member of this socket's organization: the server may close it (4403,
    /// "… changed; reconnect") once it has looked at the change, which can be after the step.
    reconnect_due: bool,
}

impl Socket {
    async fn open(app: &TestApp, principal: usize, token: &str) -> Socket {
        let mut ws = app.ws("graphql-transport-ws").await;
        ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})).await;
        let ack = ws.next_json().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        Socket { ws, principal, next_id: 0, open: true, reconnect_due: false }
    }

    async fn subscribe(&mut self, query: &str, vars: &Value) -> String {
        self.next_id += 1;
        let id = format!("s{}", self.next_id);
        self.ws.send(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": vars}})).await;
        id
    }

    /// What has arrived, without waiting.
    async fn drain(&mut self, wait: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        while self.open {
            match self.ws.next_within(wait).await {
                Some(WsEvent::Json(v)) => out.push(v),
                Some(WsEvent::Closed(code, reason)) => {
                    self.open = false;
                    out.push(json!({"type": "closed", "code": code, "reason": reason}));
                }
                None => break,
            }
        }
        out
    }
}

/// The errors a subscription's first message carries, if it was refused.
fn subscription_refusal(msg: &Value) -> Option<Value> {
    match msg["type"].as_str() {
        Some("error") => Some(json!({"errors": msg["payload"]})),
        Some("next") if msg["payload"]["errors"].is_array() => Some(json!({"errors": msg["payload"]["errors"]})),
        _ => None,
    }
}

fn normalized_errors(v: &Value) -> Value {
    let list: Vec<Value> = v["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| json!({"code": e["extensions"]["code"], "message": e["message"], "path": e["path"]}))
                .collect()
        })
        .unwrap_or_default();
    json!(list)
}

// ---------------------------------------------------------------- the test

struct Run<'a> {
    app: &'a TestApp,
    world: World,
    checker: Checker,
    figures: Figures,
    sockets: Vec<Socket>,
}

impl Run<'_> {
    async fn absorb(&mut self, socket: usize, msgs: Vec<Value>, context: &str) {
        let org = self.world.principals[self.sockets[socket].principal].org;
        for m in msgs {
            match m["type"].as_str() {
                // A member whose team or role an admin changes gets their socket closed so the
                // client reconnects as who they are now; any other close is a failure.
                Some("closed")
                    if (context.contains("updateMember") || self.sockets[socket].reconnect_due)
                        && m["code"] == 4403
                        && m["reason"].as_str().is_some_and(|r| r.ends_with("changed; reconnect")) =>
                {
                    self.sockets[socket].open = false;
                }
                Some("closed") => self.checker.fail(format!("{context}: a WebSocket closed: {m}")),
                Some("next") | Some("error") => {
                    self.figures.messages += 1;
                    if m["type"] == "next" && m["payload"]["data"].is_object() {
                        self.figures.events_per_org[org] += 1;
                    }
                    let label = format!("{context}: message to {}", self.label(self.sockets[socket].principal));
                    self.checker.check(org, &label, &m);
                    self.world.harvest(org, &m["payload"]["data"]);
                }
                _ => {}
            }
        }
    }

    fn label(&self, p: usize) -> String {
        let pr = &self.world.principals[p];
        format!("{} {}", SLUGS[pr.org], pr.role)
    }

    async fn drain_all(&mut self, context: &str) {
        for s in 0..self.sockets.len() {
            let msgs = self.sockets[s].drain(Duration::ZERO).await;
            self.absorb(s, msgs, context).await;
        }
    }

    /// Waits for the first message of subscription `id` on socket `s`, absorbing the others.
    async fn first_message(&mut self, s: usize, id: &str, context: &str) -> Option<Value> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && self.sockets[s].open {
            let msgs = self.sockets[s].drain(Duration::from_millis(50)).await;
            let found = msgs.iter().find(|m| m["id"] == id).cloned();
            self.absorb(s, msgs, context).await;
            if found.is_some() {
                return found;
            }
        }
        None
    }

    async fn http(&mut self, p: usize, call: &Call, foreign: &[String], lenient: &[String], context: &str) {
        let org = self.world.principals[p].org;
        let token = self.world.principals[p].token.clone();
        let body = match &call.file {
            Some(csv) => upload(self.app, &token, call, csv.clone()).await,
            None => self.app.gql(Some(&token), &call.query, call.vars.clone()).await,
        };
        self.figures.responses += 1;
        self.checker.check(org, context, &body);
        if call.op == "importDeals" && body["data"]["importDeals"]["committed"] == true {
            // The rows without errors claimed their external IDs (row 1 is the header).
            let bad: Vec<u64> = body["data"]["importDeals"]["errors"]
                .as_array()
                .map(|a| a.iter().filter_map(|e| e["row"].as_u64()).collect())
                .unwrap_or_default();
            for (n, line) in call.file.as_deref().unwrap_or_default().lines().enumerate().skip(1) {
                if !bad.contains(&(n as u64 + 1))
                    && let Some(ext) = line.split(',').next()
                {
                    self.world.claimed[org].insert(format!("deal:{ext}"));
                }
            }
        }
        if let Some(value) = &call.unique {
            let mut codes: Vec<String> = error_codes(&body);
            let mut ue = Vec::new();
            user_errors(&body["data"], &mut ue);
            codes.extend(ue.iter().map(|e| e["code"].as_str().unwrap_or("?").to_owned()));
            if !refused(&body) {
                self.world.claimed[org].insert(value.clone());
            } else if foreign.is_empty()
                && codes.iter().any(|c| ["TAKEN", "DUPLICATE", "EXISTS", "CONFLICT"].contains(&c.as_str()))
                && !self.world.claimed[org].contains(value)
            {
                self.checker.fail(format!(
                    "{context}: {value} is reported taken, but only another organization has it: {body}"
                ));
            }
        }
        if foreign.is_empty() && lenient.is_empty() {
            if refused(&body) {
                self.figures.refused_own += 1;
                let mut ue = Vec::new();
                user_errors(&body["data"], &mut ue);
                let why: Vec<String> = error_codes(&body)
                    .into_iter()
                    .chain(ue.iter().map(|e| {
                        format!("{}:{}", e["code"].as_str().unwrap_or("?"), e["message"].as_str().unwrap_or("?"))
                    }))
                    .collect();
                *self
                    .figures
                    .refusals
                    .entry(format!("{} {}: {}", call.op, self.world.principals[p].role, why.join(",")))
                    .or_default() += 1;
            } else {
                *self.figures.succeeded.entry(call.op).or_default() += 1;
            }
            self.world.harvest(org, &body["data"]);
            return;
        }
        self.figures.probes += 1;
        // A retry with a known idempotency key is answered with the original activity before
        // anything else in its item is read: foreign values only in replayed items are unused.
        let used: Vec<&String> = match call.op {
            "logActivity" if body["data"]["logActivity"]["replayed"] == true => vec![],
            "logActivities" => {
                let items = call.vars["i"]["items"].as_array().cloned().unwrap_or_default();
                let done = body["data"]["logActivities"]["activities"].as_array().cloned().unwrap_or_default();
                let fresh: Vec<String> = items
                    .iter()
                    .enumerate()
                    .filter(|(n, item)| done.get(*n).is_none_or(|a| a["note"] == item["note"]))
                    .map(|(_, item)| item.to_string())
                    .collect();
                foreign.iter().filter(|f| fresh.iter().any(|i| i.contains(f.as_str()))).collect()
            }
            _ => foreign.iter().collect(),
        };
        // `node` answers null for another organization's ID, as for one that names nothing.
        let answered_null = call.op == "node" && body.get("errors").is_none() && body["data"]["node"].is_null();
        if call.op != "nodes" && !used.is_empty() && !refused(&body) && !answered_null {
            self.checker.fail(format!("{context}: another organization's {used:?} was accepted: {body}"));
        }
        let all: Vec<String> = foreign.iter().chain(lenient).cloned().collect();
        let (vars, pairs) = twin(&call.vars, &all);
        let twin_body = self.app.gql(Some(&token), &call.query, vars).await;
        self.figures.responses += 1;
        self.checker.check(org, &format!("{context} (with missing IDs)"), &twin_body);
        let (a, b) = (outcome(&body), twin_outcome(&twin_body, &pairs));
        if a != b {
            self.checker.fail(format!(
                "{context}: another organization's ID answers differently from a missing one:\n  foreign: {a}\n  missing: {b}"
            ));
        }
    }

    async fn subscription(&mut self, p: usize, call: &Call, foreign: &[String], context: &str) {
        let s = p; // one socket per principal
        if !self.sockets[s].open {
            return;
        }
        let id = self.sockets[s].subscribe(&call.query, &call.vars).await;
        self.figures.subscriptions += 1;
        if foreign.is_empty() {
            return;
        }
        self.figures.subscription_probes += 1;
        let Some(first) = self.first_message(s, &id, context).await else {
            self.checker.fail(format!("{context}: no answer within 5 s to a subscription naming {foreign:?}"));
            return;
        };
        let Some(refusal) = subscription_refusal(&first) else {
            self.checker.fail(format!("{context}: a subscription naming {foreign:?} was accepted: {first}"));
            self.sockets[s].ws.send(json!({"id": id, "type": "complete"})).await;
            return;
        };
        let (vars, pairs) = twin(&call.vars, foreign);
        let twin_id = self.sockets[s].subscribe(&call.query, &vars).await;
        let Some(twin_first) = self.first_message(s, &twin_id, context).await else {
            self.checker.fail(format!("{context}: no answer within 5 s to the same subscription with missing IDs"));
            return;
        };
        let mut b = normalized_errors(&subscription_refusal(&twin_first).unwrap_or(json!({}))).to_string();
        for (fresh, foreign) in &pairs {
            b = b.replace(fresh, foreign);
        }
        let a = normalized_errors(&refusal);
        let b: Value = serde_json::from_str(&b).unwrap();
        if a != b {
            self.checker.fail(format!(
                "{context}: a subscription naming another organization's ID answers differently from a missing one:\n  foreign: {a}\n  missing: {b}"
            ));
        }
    }
}

async fn random_traffic_never_crosses_tenants(app: &TestApp) {
    let seed: u64 = std::env::var("ISOLATION_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(8)
    });
    walk(app, seed).await;
}

/// This seed's walk changes an organization while every socket of it has operations running:
/// the sockets, checking their credentials again inside their loop, stopped polling operations
/// that held database connections, and the pool ran dry until its timeout (SQLite, every run).
async fn a_walk_that_once_starved_the_pool_after_an_organization_change(app: &TestApp) {
    walk(app, 1_796_553_976_023_244_331).await;
}

async fn walk(app: &TestApp, seed: u64) {
    let started = Instant::now();
    let steps: usize = std::env::var("ISOLATION_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(600);
    eprintln!("isolation ({:?}): ISOLATION_SEED={seed} ISOLATION_STEPS={steps}", app.backend);
    let mut rng = StdRng::seed_from_u64(seed);

    // ---- three organizations with data in every domain
    let mut orgs = Vec::new();
    let mut principals = Vec::new();
    for (i, slug) in SLUGS.iter().enumerate() {
        let o = app.seed_org(slug).await;
        let key = seed_domains(app, i, &o).await;
        for (role, token) in [
            ("admin", &o.admin_token),
            ("manager", &o.manager_token),
            ("rep", &o.rep_token),
            ("inbound rep", &o.inbound_rep_token),
            ("viewer", &o.viewer_token),
            ("API key", &key),
        ] {
            principals.push(Principal { org: i, role, token: token.clone() });
        }
        orgs.push(o);
    }
    let org_uuids: Vec<Uuid> = orgs.iter().map(|o| o.id.0).collect();
    let world = World {
        pools: vec![BTreeMap::new(), BTreeMap::new(), BTreeMap::new()],
        seen: HashSet::new(),
        kpis: (0..3).map(|i| vec![SHARED_KPI.to_owned(), OWN_KPI[i].to_owned()]).collect(),
        claimed: (0..3)
            .map(|_| {
                ["person0@shared.test", "field:cf0", "deal:crm-1", "deal:crm-2"]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect()
            })
            .collect(),
        orgs,
        principals,
    };
    let checker = Checker { owner: HashMap::new(), org_uuids, seen: Vec::new(), failures: Vec::new() };
    let mut run = Run { app, world, checker, figures: Figures::default(), sockets: Vec::new() };
    run.checker.refresh_owners(app).await;

    // Every organization's admin lists everything: the pools of IDs to draw from.
    for i in 0..3 {
        let token = run.world.orgs[i].admin_token.clone();
        for q in INVENTORY.iter().chain(MEMBER_INVENTORY) {
            let body = app.gql(Some(&token), &doc(q), json!({})).await;
            assert!(body.get("errors").is_none(), "inventory: {body}");
            run.checker.check(i, "inventory", &body);
            run.world.harvest(i, &body["data"]);
        }
        let outbound = run.world.orgs[i].outbound.clone();
        let rounds = app
            .ok(&token, &doc("query($t: ID!) { mysteryCheckRounds(teamId: $t) { %ROUND% } }"), json!({"t": outbound}))
            .await;
        run.checker.check(i, "inventory", &rounds);
        run.world.harvest(i, &rounds);
    }
    for (kind, pool) in &run.world.pools[0] {
        eprintln!("  {kind}: {}", pool.len());
    }

    // ---- every principal keeps a WebSocket with live subscriptions
    for p in 0..run.world.principals.len() {
        let token = run.world.principals[p].token.clone();
        let mut socket = Socket::open(app, p, &token).await;
        let org = &run.world.orgs[run.world.principals[p].org];
        let standing = [
            ("subscription { organizationChanged { id name slug } }".to_owned(), json!({})),
            (
                doc(
                    "subscription { scoreChanged { member { id name } activity { %ACT% } pointsDelta score { %SCORE% } } }",
                ),
                json!({}),
            ),
            (
                doc("subscription($i: LeaderboardInput!) { leaderboardChanged(input: $i) { %BOARD% } }"),
                json!({"i": {"period": {"grain": "WEEK"}}}),
            ),
            (
                doc("subscription($i: LeaderboardInput!) { leaderboardChanged(input: $i) { %BOARD% } }"),
                json!({"i": {"period": {"grain": "MONTH"}, "subject": "TEAMS"}}),
            ),
            (doc("subscription { dealChanged { %DEAL% } }"), json!({})),
            (doc("subscription { alertRaised { %ALERT% } }"), json!({})),
            (
                "subscription($t: ID!) { forecastChanged(teamId: $t) { team { id name } subjectId } }".to_owned(),
                json!({"t": org.sales}),
            ),
        ];
        for (q, v) in &standing {
            socket.subscribe(q, v).await;
            run.figures.subscriptions += 1;
        }
        run.sockets.push(socket);
    }
    run.drain_all("opening subscriptions").await;

    // ---- the random walk
    let deck: Vec<&'static str> = OPS.iter().flat_map(|op| std::iter::repeat_n(*op, weight(op))).collect();
    let mut before = fingerprint(app).await;
    for step in 0..steps {
        let p = rng.random_range(0..run.world.principals.len());
        let op = deck[rng.random_range(0..deck.len())];
        let p_foreign = [0.0, 0.25, 0.67][rng.random_range(0..3)];
        let (call, foreign, lenient) = {
            let mut g = Gen {
                rng: &mut rng,
                world: &run.world,
                me: run.world.principals[p].org,
                p_foreign,
                foreign: Vec::new(),
                lenient: Vec::new(),
                serial: step as u64,
            };
            let call = make_call(&mut g, op);
            (call, g.foreign, g.lenient)
        };
        let context = format!("step {step} ({} as {}, seed {seed})", call.op, run.label(p));
        if std::env::var("ISOLATION_TRACE").is_ok() {
            eprintln!("{context}");
        }
        if call.op.starts_with("sub:") {
            run.subscription(p, &call, &foreign, &context).await;
        } else {
            run.http(p, &call, &foreign, &lenient, &context).await;
        }
        run.figures.steps += 1;
        if call.op == "updateMember" {
            let org = run.world.principals[p].org;
            for i in 0..run.sockets.len() {
                if run.world.principals[run.sockets[i].principal].org == org {
                    run.sockets[i].reconnect_due = true;
                }
            }
        }
        let after = fingerprint(app).await;
        let actor_org = run.world.orgs[run.world.principals[p].org].id.0;
        let mut changed = Vec::new();
        for (k, f) in &after {
            if k.0 != actor_org && before.get(k) != Some(f) {
                changed.push(format!("{} of {}: {:?} -> {f}", k.1, k.0, before.get(k)));
            }
        }
        for k in before.keys() {
            if k.0 != actor_org && !after.contains_key(k) {
                changed.push(format!("{} of {}: emptied", k.1, k.0));
            }
        }
        if !changed.is_empty() {
            run.checker.fail(format!("{context}: changed another organization's rows: {changed:?} ({:?})", call.vars));
        }
        before = after;
        run.checker.refresh_owners(app).await;
        run.drain_all(&context).await;
        if run.checker.failures.len() >= 40 {
            break;
        }
    }

    // ---- the last messages, then a final sweep of what each organization holds
    let quiet_for = Duration::from_millis(1500);
    let mut last = Instant::now();
    while last.elapsed() < quiet_for {
        let mut got = false;
        for s in 0..run.sockets.len() {
            let msgs = run.sockets[s].drain(Duration::ZERO).await;
            got |= !msgs.is_empty();
            run.absorb(s, msgs, "after the walk").await;
        }
        if got {
            last = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for p in 0..run.world.principals.len() {
        let pr = &run.world.principals[p];
        if pr.role != "admin" && pr.role != "API key" {
            continue;
        }
        let (org, token, is_key) = (pr.org, pr.token.clone(), pr.role == "API key");
        let queries: Vec<&&str> =
            if is_key { INVENTORY.iter().collect() } else { INVENTORY.iter().chain(MEMBER_INVENTORY).collect() };
        for q in queries {
            let body = app.gql(Some(&token), &doc(q), json!({})).await;
            run.figures.responses += 1;
            assert!(body.get("errors").is_none(), "final sweep as {}: {body}", run.label(p));
            assert!(body.to_string().contains(SLUGS[org]) || q.contains("activities"), "the sweep sees its own data");
            run.checker.check(org, &format!("final sweep as {}", run.label(p)), &body);
        }
    }
    // Everything again, against the owners of every row that exists now.
    run.checker.refresh_owners(app).await;
    let seen = std::mem::take(&mut run.checker.seen);
    for (org, context, v) in &seen {
        run.checker.check_now(*org, context, v);
    }

    let f = &run.figures;
    eprintln!(
        "isolation ({:?}, seed {seed}): {} steps, {} responses and {} subscription messages checked, {} foreign-ID probes over HTTP and {} over WebSocket, {} subscriptions, {} own requests refused (role, validation), events per organization {:?}, {:.1} s",
        app.backend,
        f.steps,
        f.responses,
        f.messages,
        f.probes,
        f.subscription_probes,
        f.subscriptions,
        f.refused_own,
        f.events_per_org,
        started.elapsed().as_secs_f64()
    );
    eprintln!("  succeeded per operation: {:?}", f.succeeded);
    if std::env::var("ISOLATION_VERBOSE").is_ok() {
        for (why, n) in &f.refusals {
            eprintln!("  refused {n}x: {why}");
        }
    }
    let failures = &run.checker.failures;
    assert!(
        failures.is_empty(),
        "{} isolation failures (replay with ISOLATION_SEED={seed}):\n{}",
        failures.len(),
        failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
    assert_eq!(f.steps, steps);
    assert!(f.probes >= steps / 5, "too few foreign-ID probes: {}", f.probes);
    assert!(
        f.events_per_org.iter().all(|n| *n > 0),
        "every organization's subscribers got events: {:?}",
        f.events_per_org
    );
    assert!(f.succeeded.values().sum::<usize>() >= steps / 4, "too few own requests succeeded: {:?}", f.succeeded);
}

/// Regressions found by the walk: these arguments took another organization's ID (or one that
/// exists nowhere) as naming nothing here and answered an empty list, an empty payout run or a
/// silently dropped stage, where every other argument answers NOT_FOUND.
async fn foreign_ids_in_filters_and_syncs_answer_not_found(app: &TestApp) {
    let a = app.seed_org(SLUGS[0]).await;
    let b = app.seed_org(SLUGS[1]).await;
    let theirs = b.admin_token.as_str();
    let created = |d: Value, path: &[&str]| id_at(&d, path);
    let activity_type = created(
        must(app, theirs, "mutation { createActivityType(input: {name: \"isobirch Call\", category: ACTION, unit: COUNT, points: 1}) { activityType { id } userErrors { field code message } } }", json!({})).await,
        &["createActivityType", "activityType", "id"],
    );
    let stage = created(
        must(app, theirs, "mutation { createStage(input: {name: \"isobirch Lead\", kind: OPEN}) { stage { id } userErrors { field code message } } }", json!({})).await,
        &["createStage", "stage", "id"],
    );
    let territory = created(
        must(app, theirs, "mutation { createTerritory(input: {name: \"isobirch North\", kind: REGION}) { territory { id } userErrors { field code message } } }", json!({})).await,
        &["createTerritory", "territory", "id"],
    );
    let webhook = created(
        must(app, theirs, "mutation { createWebhook(input: {url: \"https://93.184.216.34/hook\", events: [\"deal.won\"]}) { webhook { id } userErrors { field code message } } }", json!({})).await,
        &["createWebhook", "webhook", "id"],
    );
    let mine = a.admin_token.as_str();
    must(app, mine, "mutation { createStage(input: {name: \"isoamber Lead\", kind: OPEN}) { stage { id } userErrors { field code message } } }", json!({})).await;
    let upsert = "mutation($x: ID!) { upsertDealByExternalId(input: {externalId: \"crm-1\", deal: {name: \"isoamber Synced\", stageId: $x}}) { deal { id stage { name } } userErrors { field code message } } }";
    let first = app.gql(Some(mine), "mutation { upsertDealByExternalId(input: {externalId: \"crm-1\", deal: {name: \"isoamber Synced\"}}) { deal { id } } }", json!({})).await;
    assert!(first["data"]["upsertDealByExternalId"]["deal"]["id"].is_string(), "{first}");
    let today = today();
    let cases = [
        ("query($x: ID!) { teams(filter: {parentTeamId: $x}) { totalCount } }", b.sales.clone(), "Team"),
        ("query($x: ID!) { activities(filter: {activityTypeId: $x}) { totalCount } }", activity_type, "ActivityType"),
        ("query($x: ID!) { deals(filter: {ownerId: $x}) { totalCount } }", b.rep.clone(), "Member"),
        ("query($x: ID!) { deals(filter: {stageId: $x}) { totalCount } }", stage.clone(), "PipelineStage"),
        ("query($x: ID!) { territories(filter: {parentId: $x}) { totalCount } }", territory, "Territory"),
        ("query($x: ID!) { statements(filter: {memberId: $x}) { totalCount } }", b.rep.clone(), "Member"),
        ("query($x: ID!) { auditLog(filter: {actorId: $x}) { totalCount } }", b.admin.clone(), "Member"),
        ("query($x: ID!) { webhookDeliveries(webhookId: $x) { totalCount } }", webhook, "Webhook"),
        (
            "mutation($x: ID!, $d: NaiveDate!) { runPayouts(input: {period: {grain: QUARTER, date: $d}, memberIds: [$x]}) { statements { id } userErrors { code } } }",
            b.rep.clone(),
            "Member",
        ),
        (upsert, stage, "PipelineStage"),
    ];
    let deals_before = app.count_rows("deals").await;
    for (query, foreign, kind) in cases {
        let body = app.gql(Some(mine), query, json!({"x": foreign, "d": today})).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body}");
        assert!(!body.to_string().contains(SLUGS[1]), "{query}: {body}");
        let missing = app.gql(Some(mine), query, json!({"x": gid(kind, Uuid::new_v4()), "d": today})).await;
        assert_eq!(outcome(&body), outcome(&missing), "{query}: another organization's ID answers like a missing one");
    }
    assert_eq!(app.count_rows("deals").await, deals_before);
    let synced = app.ok(mine, "{ deals { edges { node { name stage { name } } } } }", json!({})).await;
    assert_eq!(
        synced["deals"]["edges"][0]["node"]["stage"]["name"], "isoamber Lead",
        "the sync moved nothing: {synced}"
    );
}
