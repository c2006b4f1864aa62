//! Territories (routing, coverage), quotas (attainment, roll-ups, allocation, ramps, conflicts),
//! incentive plans, payout runs, the statement lifecycle, disputes, clawbacks, simulation, the
//! payroll CSV and the audit log — over HTTP, on SQLite and PostgreSQL.

use base64::Engine as _;
use chrono::{Datelike, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use scorebord::core::roles::{Role, SalesRole};
use scorebord::org::store::{self, NewMember};
use scorebord_tests::{Org, TestApp, backend_tests, error_code};
use serde_json::{Value, json};
use uuid::Uuid;

backend_tests!(
    territories_route_deals_and_report_coverage,
    territory_writes_are_checked_audited_and_isolated,
    quotas_credit_splits_and_roll_up,
    quota_allocation_overrides_ramps_and_conflicts,
    quota_permissions,
    payout_run_explains_every_cent_and_follows_the_lifecycle,
    payout_explanations_follow_the_request_language,
    disputes_adjustments_and_clawbacks_land_in_the_next_statement,
    simulation_plan_versions_and_payroll_export,
    statements_are_private_and_tenant_isolated,
    demo_closer_statement_matches_a_hand_calculation,
);

const CREATE_TERRITORY: &str = "mutation($i: CreateTerritoryInput!) { createTerritory(input: $i) { territory { id name kind version rules { country postalPrefix priority } parent { id } } userErrors { field code message } } }";
const UPDATE_TERRITORY: &str = "mutation($i: UpdateTerritoryInput!) { updateTerritory(input: $i) { territory { id name version parent { id } } userErrors { field code message } } }";
const ASSIGN: &str = "mutation($i: AssignTerritoryInput!) { assignTerritory(input: $i) { assignment { id role startsOn endsOn member { id } } userErrors { field code message } } }";
const END_ASSIGNMENT: &str = "mutation($i: EndTerritoryAssignmentInput!) { endTerritoryAssignment(input: $i) { assignment { id endsOn } userErrors { field code message } } }";
const COVERAGE: &str = "query($on: NaiveDate) { territoryCoverage(on: $on) { territoriesWithoutOwner { id name } membersWithoutTerritory { id } } }";
const CREATE_STAGE: &str =
    "mutation($i: CreateStageInput!) { createStage(input: $i) { stage { id } userErrors { code } } }";
const CREATE_DEAL: &str = "mutation($i: DealInput!) { createDeal(input: $i) { deal { id territory { id name } territoryManual } userErrors { field code message } } }";
const UPDATE_DEAL: &str = "mutation($i: UpdateDealInput!) { updateDeal(input: $i) { deal { id territory { id name } territoryManual } userErrors { field code message } } }";
const CLOSE: &str = "mutation($i: CloseDealInput!) { closeDeal(input: $i) { deal { id outcome closedAt } userErrors { code message } } }";
const REOPEN: &str =
    "mutation($i: ReopenDealInput!) { reopenDeal(input: $i) { deal { id outcome } userErrors { code } } }";
const SET_QUOTA: &str = "mutation($i: SetQuotaInput!) { setQuota(input: $i) { quota { id amount effectiveAmount rampPercent achieved attainmentPercent pacingPercent gap projected version manual periodStart periodEnd label } userErrors { field code message } } }";
const QUOTA: &str =
    "query($id: ID!) { quota(id: $id) { id amount effectiveAmount achieved attainmentPercent gap manual version } }";
const ALLOCATE: &str = "mutation($i: AllocateQuotaInput!) { allocateQuota(input: $i) { memberQuotas { id amount manual member { id } } userErrors { field code message } } }";
const CREATE_PLAN: &str = "mutation($i: CreateIncentivePlanInput!) { createIncentivePlan(input: $i) { plan { id version components { kind name baseRate tiers { fromAttainment rate mode } } } userErrors { field code message } } }";
const ASSIGN_PLAN: &str = "mutation($i: AssignIncentivePlanInput!) { assignIncentivePlan(input: $i) { assignment { id } userErrors { field code message } } }";
const RUN: &str = "mutation($i: RunPayoutsInput!) { runPayouts(input: $i) { statements { id version status member { id } total { amount currency } } unchanged { id status } userErrors { code } } }";
const STATEMENT: &str = "query($id: ID!) { statement(id: $id) { id version status current total { amount } creditedRevenue { amount } attainmentPercent quota { amount } planVersion lines { id position kind component sourceKind deal { id name } creditedBase { amount } attainmentPercent tier ratePercent amount { amount } explanation } versions { id version status current } disputes { id status } } }";
pub(crate) const APPROVE: &str = "mutation($id: ID!) { approveStatement(input: {id: $id}) { statement { id status approvedAt } userErrors { code message } } }";
const PAY: &str = "mutation($id: ID!) { markStatementPaid(input: {id: $id}) { statement { id status paidAt } userErrors { code message } } }";
const DISPUTE: &str = "mutation($i: DisputeStatementLineInput!) { disputeStatementLine(input: $i) { dispute { id status reason member { id } line { id } } userErrors { field code message } } }";
const RESOLVE: &str = "mutation($i: ResolveDisputeInput!) { resolveDispute(input: $i) { dispute { id status resolution adjustment { amount } } userErrors { field code message } } }";
const AUDIT: &str = "query($f: AuditLogFilter) { auditLog(filter: $f, first: 200) { totalCount edges { node { action entityType entityId actor { id } before after } } } }";

fn uuid_of(global_id: &str) -> Uuid {
    let text = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(global_id).unwrap()).unwrap();
    Uuid::parse_str(text.split_once(':').unwrap().1).unwrap()
}

fn gid(kind: &str, id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

fn codes(payload: &Value) -> Vec<String> {
    payload["userErrors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap().to_owned()).collect()
}

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap_or_else(|| panic!("not a decimal string: {v}")).parse().unwrap()
}

pub(crate) fn today() -> NaiveDate {
    Utc::now().with_timezone(&chrono_tz::Europe::Amsterdam).date_naive()
}

fn quarter_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), (d.month0() / 3) * 3 + 1, 1).unwrap()
}

/// A pipeline with one open stage and WON/LOST stages (no checklists).
pub(crate) async fn stages(app: &TestApp, org: &Org) {
    for (name, kind) in [("Lead", "OPEN"), ("Won", "WON"), ("Lost", "LOST")] {
        let d = app.ok(&org.admin_token, CREATE_STAGE, json!({"i": {"name": name, "kind": kind}})).await;
        assert!(d["createStage"]["stage"]["id"].is_string(), "{d}");
    }
}

async fn deal(app: &TestApp, _org: &Org, token: &str, input: Value) -> Value {
    let d = app.ok(token, CREATE_DEAL, json!({ "i": input })).await;
    assert_eq!(d["createDeal"]["userErrors"], json!([]), "{d}");
    d["createDeal"]["deal"].clone()
}

/// A deal owned by `owner`, won now.
pub(crate) async fn won(app: &TestApp, org: &Org, owner: &str, name: &str, amount: &str, splits: Value) -> String {
    let d =
        deal(app, org, &org.admin_token, json!({"name": name, "ownerId": owner, "amount": amount, "splits": splits}))
            .await;
    let id = d["id"].as_str().unwrap().to_owned();
    let c = app.ok(&org.admin_token, CLOSE, json!({"i": {"id": id, "outcome": "WON"}})).await;
    assert_eq!(c["closeDeal"]["userErrors"], json!([]), "{c}");
    id
}

async fn territory(app: &TestApp, org: &Org, input: Value) -> String {
    let d = app.ok(&org.admin_token, CREATE_TERRITORY, json!({ "i": input })).await;
    d["createTerritory"]["territory"]["id"].as_str().unwrap_or_else(|| panic!("{d}")).to_owned()
}

async fn quota(app: &TestApp, token: &str, input: Value) -> Value {
    let d = app.ok(token, SET_QUOTA, json!({ "i": input })).await;
    assert_eq!(d["setQuota"]["userErrors"], json!([]), "{d}");
    d["setQuota"]["quota"].clone()
}

async fn extra_member(app: &TestApp, org: &Org, name: &str, team: &str, start: NaiveDate) -> (String, String) {
    let m = store::create_member(
        org.id,
        &app.state.db,
        NewMember {
            name: name.into(),
            email: format!("{}@{}.test", name.to_lowercase(), org.slug),
            role: Role::Rep,
            sales_role: SalesRole::Outbound,
            team_id: Some(uuid_of(team)),
            start_date: start,
            password_hash: None,
            avatar_url: None,
        },
    )
    .await
    .unwrap();
    (gid("Member", m.id), app.token_for(org.id, m.id))
}

// ---------------------------------------------------------------- territories

async fn territories_route_deals_and_report_coverage(app: &TestApp) {
    let org = app.seed_org("terr").await;
    stages(app, &org).await;
    let nl = territory(app, &org, json!({"name": "Nederland", "kind": "REGION", "rules": [{"country": "nl"}]})).await;
    let amsterdam = territory(
        app,
        &org,
        json!({"name": "Amsterdam", "kind": "REGION", "parentId": nl, "rules": [{"country": "NL", "postalPrefix": "10"}]}),
    )
    .await;
    let big = territory(
        app,
        &org,
        json!({"name": "Enterprise NL", "kind": "SEGMENT", "parentId": nl, "rules": [{"country": "NL", "sizeMin": 500, "priority": 5}]}),
    )
    .await;

    // Deepest match wins; equal depth: the higher priority; no match: none.
    let a = deal(app, &org, &org.rep_token, json!({"name": "A", "country": "NL", "postalCode": "1011 ab"})).await;
    assert_eq!(a["territory"]["name"], "Amsterdam");
    assert_eq!(a["territoryManual"], false);
    let r = deal(app, &org, &org.rep_token, json!({"name": "R", "country": "NL", "postalCode": "3011 AA"})).await;
    assert_eq!(r["territory"]["name"], "Nederland");
    let e = deal(
        app,
        &org,
        &org.rep_token,
        json!({"name": "E", "country": "NL", "postalCode": "1011", "companySize": 800}),
    )
    .await;
    assert_eq!(e["territory"]["name"], "Enterprise NL", "same depth as Amsterdam, higher priority");
    let de = deal(app, &org, &org.rep_token, json!({"name": "D", "country": "DE", "postalCode": "1011"})).await;
    assert_eq!(de["territory"], Value::Null);

    // An update re-routes; a manual territory survives; null hands it back to routing.
    let id = r["id"].as_str().unwrap();
    let u = app.ok(&org.rep_token, UPDATE_DEAL, json!({"i": {"id": id, "deal": {"postalCode": "1012 XY"}}})).await;
    assert_eq!(u["updateDeal"]["deal"]["territory"]["name"], "Amsterdam");
    let u = app.ok(&org.admin_token, UPDATE_DEAL, json!({"i": {"id": id, "deal": {"territoryId": big}}})).await;
    assert_eq!(u["updateDeal"]["deal"]["territory"]["name"], "Enterprise NL");
    assert_eq!(u["updateDeal"]["deal"]["territoryManual"], true);
    let u = app.ok(&org.rep_token, UPDATE_DEAL, json!({"i": {"id": id, "deal": {"postalCode": "3011 AA"}}})).await;
    assert_eq!(u["updateDeal"]["deal"]["territory"]["name"], "Enterprise NL", "manual survives");
    let u = app.ok(&org.admin_token, UPDATE_DEAL, json!({"i": {"id": id, "deal": {"territoryId": null}}})).await;
    assert_eq!(u["updateDeal"]["deal"]["territory"]["name"], "Nederland");
    assert_eq!(u["updateDeal"]["deal"]["territoryManual"], false);

    // The deals filter covers the territory's subtree.
    let q = "query($t: ID!) { deals(filter: {territoryId: $t}) { totalCount edges { node { name } } } }";
    let all = app.ok(&org.admin_token, q, json!({"t": nl})).await;
    assert_eq!(all["deals"]["totalCount"], 3, "{all}");
    let ams = app.ok(&org.admin_token, q, json!({"t": amsterdam})).await;
    assert_eq!(ams["deals"]["edges"], json!([{"node": {"name": "A"}}]));

    // Coverage: no owners yet; both reps lack a territory.
    let c = app.ok(&org.viewer_token, COVERAGE, json!({})).await;
    let names: Vec<&str> = c["territoryCoverage"]["territoriesWithoutOwner"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Amsterdam", "Enterprise NL", "Nederland"]);
    assert_eq!(c["territoryCoverage"]["membersWithoutTerritory"].as_array().unwrap().len(), 2);

    let start = today().checked_sub_months(Months::new(1)).unwrap();
    let owner = app
        .ok(
            &org.admin_token,
            ASSIGN,
            json!({"i": {"territoryId": amsterdam, "memberId": org.rep, "role": "OWNER", "startsOn": start}}),
        )
        .await;
    let assignment =
        owner["assignTerritory"]["assignment"]["id"].as_str().unwrap_or_else(|| panic!("{owner}")).to_owned();
    // A second owner overlapping is refused; an overlay is fine.
    let clash = app
        .ok(
            &org.admin_token,
            ASSIGN,
            json!({"i": {"territoryId": amsterdam, "memberId": org.inbound_rep, "role": "OWNER", "startsOn": today()}}),
        )
        .await;
    assert_eq!(codes(&clash["assignTerritory"]), vec!["OWNER_OVERLAP"]);
    let overlay = app
        .ok(&org.admin_token, ASSIGN, json!({"i": {"territoryId": amsterdam, "memberId": org.inbound_rep, "role": "OVERLAY", "startsOn": today()}}))
        .await;
    assert_eq!(overlay["assignTerritory"]["userErrors"], json!([]));
    let c = app.ok(&org.admin_token, COVERAGE, json!({})).await;
    assert_eq!(c["territoryCoverage"]["territoriesWithoutOwner"].as_array().unwrap().len(), 2);
    assert_eq!(c["territoryCoverage"]["membersWithoutTerritory"], json!([]));
    let t = app
        .ok(
            &org.rep_token,
            "query($id: ID!) { territory(id: $id) { owner { id } assignments { role } } }",
            json!({"id": amsterdam}),
        )
        .await;
    assert_eq!(t["territory"]["owner"]["id"], org.rep.as_str());

    // Ending the owner's assignment yesterday opens the gap again, and a new owner may start today.
    let yesterday = today().pred_opt().unwrap();
    let end = app.ok(&org.admin_token, END_ASSIGNMENT, json!({"i": {"id": assignment, "endsOn": yesterday}})).await;
    assert_eq!(end["endTerritoryAssignment"]["assignment"]["endsOn"], yesterday.to_string());
    let c = app.ok(&org.admin_token, COVERAGE, json!({})).await;
    assert_eq!(c["territoryCoverage"]["territoriesWithoutOwner"].as_array().unwrap().len(), 3);
    let next = app
        .ok(
            &org.admin_token,
            ASSIGN,
            json!({"i": {"territoryId": amsterdam, "memberId": org.manager, "role": "OWNER", "startsOn": today()}}),
        )
        .await;
    assert_eq!(next["assignTerritory"]["userErrors"], json!([]), "{next}");
    let c = app.ok(&org.admin_token, COVERAGE, json!({"on": yesterday})).await;
    assert_eq!(
        c["territoryCoverage"]["territoriesWithoutOwner"].as_array().unwrap().len(),
        2,
        "yesterday the ended owner still covered it"
    );
}

async fn territory_writes_are_checked_audited_and_isolated(app: &TestApp) {
    let org = app.seed_org("tw").await;
    let other = app.seed_org("tw2").await;
    let before = app.count_rows("territories").await;
    // Bad input changes nothing.
    for (rules, code) in [
        (json!([{}]), "INVALID"),
        (json!([{"country": "Netherlands"}]), "INVALID"),
        (json!([{"postalPrefix": "10 !"}]), "INVALID"),
        (json!([{"sizeMin": 10, "sizeMax": 5}]), "INVALID"),
    ] {
        let d = app
            .ok(&org.admin_token, CREATE_TERRITORY, json!({"i": {"name": "X", "kind": "REGION", "rules": rules}}))
            .await;
        assert_eq!(d["createTerritory"]["territory"], Value::Null, "{d}");
        assert!(codes(&d["createTerritory"]).contains(&code.to_owned()), "{d}");
    }
    let d = app.ok(&org.admin_token, CREATE_TERRITORY, json!({"i": {"name": "  ", "kind": "REGION"}})).await;
    assert_eq!(codes(&d["createTerritory"]), vec!["REQUIRED"]);
    assert_eq!(app.count_rows("territories").await, before);
    // Reps and managers cannot write territories.
    for token in [&org.rep_token, &org.manager_token, &org.viewer_token] {
        let r = app.gql(Some(token), CREATE_TERRITORY, json!({"i": {"name": "X", "kind": "REGION"}})).await;
        assert_eq!(error_code(&r), "FORBIDDEN");
    }
    let root = territory(app, &org, json!({"name": "Root", "kind": "REGION"})).await;
    let child = territory(app, &org, json!({"name": "Child", "kind": "SEGMENT", "parentId": root})).await;
    // No cycles; stale versions conflict.
    let cyc = app.ok(&org.admin_token, UPDATE_TERRITORY, json!({"i": {"id": root, "parentId": child}})).await;
    assert_eq!(codes(&cyc["updateTerritory"]), vec!["CYCLE"]);
    let ok = app.ok(&org.admin_token, UPDATE_TERRITORY, json!({"i": {"id": child, "name": "Kid", "version": 1}})).await;
    assert_eq!(ok["updateTerritory"]["territory"]["version"], 2);
    let stale = app
        .gql(Some(&org.admin_token), UPDATE_TERRITORY, json!({"i": {"id": child, "name": "Late", "version": 1}}))
        .await;
    assert_eq!(error_code(&stale), "CONFLICT");
    let arch = app
        .ok(
            &org.admin_token,
            "mutation($id: ID!) { archiveTerritory(input: {id: $id}) { territory { archived } userErrors { code } } }",
            json!({"id": root}),
        )
        .await;
    assert_eq!(codes(&arch["archiveTerritory"]), vec!["HAS_CHILDREN"]);

    // Every change is in the audit log, with before and after; only admins read it.
    let log = app.ok(&org.admin_token, AUDIT, json!({"f": {"entityType": "Territory"}})).await;
    let actions: Vec<&str> =
        log["auditLog"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["territory.update", "territory.create", "territory.create"]);
    let update = &log["auditLog"]["edges"][0]["node"];
    assert_eq!(update["before"]["name"], "Child");
    assert_eq!(update["after"]["name"], "Kid");
    assert_eq!(update["actor"]["id"], org.admin.as_str());
    assert_eq!(update["entityId"], child.as_str());
    for token in [&org.rep_token, &org.manager_token, &org.viewer_token] {
        assert_eq!(error_code(&app.gql(Some(token), AUDIT, json!({})).await), "FORBIDDEN");
    }
    // Another organization sees nothing of it.
    let r =
        app.gql(Some(&other.admin_token), "query($id: ID!) { territory(id: $id) { name } }", json!({"id": root})).await;
    assert_eq!(error_code(&r), "NOT_FOUND");
    let n = app.ok(&other.admin_token, "query($id: ID!) { node(id: $id) { id } }", json!({"id": root})).await;
    assert_eq!(n["node"], Value::Null, "another organization's: null");
    let l = app.ok(&other.admin_token, AUDIT, json!({})).await;
    assert_eq!(l["auditLog"]["totalCount"], 0);
    let t = app.ok(&other.admin_token, "{ territories { totalCount } }", json!({})).await;
    assert_eq!(t["territories"]["totalCount"], 0);
}

// ---------------------------------------------------------------- quotas

async fn quotas_credit_splits_and_roll_up(app: &TestApp) {
    let org = app.seed_org("quo").await;
    stages(app, &org).await;
    let region =
        territory(app, &org, json!({"name": "Utrecht", "kind": "REGION", "rules": [{"postalPrefix": "35"}]})).await;
    let today = today();
    // Rep 60 % / manager 40 % revenue split, inbound rep 50 % overlay on top.
    won(
        app,
        &org,
        &org.rep,
        "Split deal",
        "10000.00",
        json!([
            {"memberId": org.rep, "kind": "REVENUE", "percent": 60},
            {"memberId": org.manager, "kind": "REVENUE", "percent": 40},
            {"memberId": org.inbound_rep, "kind": "OVERLAY", "percent": 50}
        ]),
    )
    .await;
    won(app, &org, &org.rep, "Solo deal", "2500.50", json!([])).await;
    // A lost deal and an open one count for nothing.
    let lost = deal(app, &org, &org.admin_token, json!({"name": "Lost", "ownerId": org.rep, "amount": "999.00"})).await;
    app.ok(&org.admin_token, CLOSE, json!({"i": {"id": lost["id"], "outcome": "LOST"}})).await;
    deal(app, &org, &org.admin_token, json!({"name": "Open", "ownerId": org.rep, "amount": "5000.00"})).await;
    let routed = deal(
        app,
        &org,
        &org.admin_token,
        json!({"name": "Utrecht deal", "ownerId": org.inbound_rep, "amount": "700.00", "postalCode": "3511 AB"}),
    )
    .await;
    assert_eq!(routed["territory"]["id"], region.as_str());
    app.ok(&org.admin_token, CLOSE, json!({"i": {"id": routed["id"], "outcome": "WON"}})).await;

    let q = |subject: &str, amount: &str| json!({"subjectId": subject, "metric": "REVENUE", "grain": "QUARTER", "period": today, "amount": amount});
    let rep = quota(app, &org.admin_token, q(&org.rep, "20000")).await;
    assert_eq!(dec(&rep["achieved"]), Decimal::new(850050, 2), "6000 + 2500.50");
    assert_eq!(rep["attainmentPercent"], 42.5);
    assert_eq!(dec(&rep["gap"]), Decimal::new(1149950, 2));
    assert_eq!(rep["periodStart"], quarter_start(today).to_string());
    assert!(rep["pacingPercent"].as_f64().unwrap() >= 42.5);
    let manager = quota(app, &org.admin_token, q(&org.manager, "4000")).await;
    assert_eq!(dec(&manager["achieved"]), Decimal::from(4000));
    assert_eq!(manager["attainmentPercent"], 100.0);
    assert_eq!(dec(&manager["gap"]), Decimal::ZERO);
    let overlay = quota(app, &org.admin_token, q(&org.inbound_rep, "10000")).await;
    assert_eq!(dec(&overlay["achieved"]), Decimal::from(5700), "overlay 5000 on top of the 700 deal");
    // Teams roll up their subtree's revenue credit (not overlay: that would count a deal twice).
    let outbound = quota(app, &org.admin_token, q(&org.outbound, "50000")).await;
    assert_eq!(dec(&outbound["achieved"]), Decimal::new(1250050, 2));
    let sales = quota(app, &org.admin_token, q(&org.sales, "50000")).await;
    assert_eq!(dec(&sales["achieved"]), Decimal::new(1320050, 2), "Outbound + Inbound's 700");
    // A territory counts the deals routed into it and below.
    let terr = quota(app, &org.admin_token, q(&region, "1400")).await;
    assert_eq!(dec(&terr["achieved"]), Decimal::from(700));
    assert_eq!(terr["attainmentPercent"], 50.0);
    // DEALS_WON: the split deal counts 0.6 for the rep.
    let won_q = quota(
        app,
        &org.admin_token,
        json!({"subjectId": org.rep, "metric": "DEALS_WON", "grain": "YEAR", "period": today, "amount": "10"}),
    )
    .await;
    assert_eq!(dec(&won_q["achieved"]), Decimal::new(16, 1));
    // Last quarter's quota sees none of it.
    let last = today.checked_sub_months(Months::new(3)).unwrap();
    let old = quota(
        app,
        &org.admin_token,
        json!({"subjectId": org.rep, "metric": "REVENUE", "grain": "QUARTER", "period": last, "amount": "1000"}),
    )
    .await;
    assert_eq!(dec(&old["achieved"]), Decimal::ZERO);
    assert_eq!(dec(&old["projected"]), Decimal::ZERO);
    // Several quotas per subject and period, told apart by label; the same label updates.
    let nb = quota(app, &org.admin_token, json!({"subjectId": org.rep, "metric": "REVENUE", "grain": "QUARTER", "period": today, "amount": "5000", "label": "new business"})).await;
    assert_ne!(nb["id"], rep["id"]);
    let again = quota(app, &org.admin_token, q(&org.rep, "25000")).await;
    assert_eq!(again["id"], rep["id"]);
    assert_eq!(again["version"], 2);
    let list = app
        .ok(&org.rep_token, "query($s: ID!) { quotas(filter: {subjectId: $s}) { totalCount } }", json!({"s": org.rep}))
        .await;
    assert_eq!(list["quotas"]["totalCount"], 4);
    // Bad input.
    for (input, code) in [
        (
            json!({"subjectId": org.rep, "metric": "REVENUE", "grain": "QUARTER", "period": today, "amount": "-5"}),
            "OUT_OF_RANGE",
        ),
        (
            json!({"subjectId": org.rep, "metric": "REVENUE", "grain": "QUARTER", "period": today, "amount": "abc"}),
            "INVALID",
        ),
        (
            json!({"subjectId": org.rep, "metric": "DEALS_WON", "grain": "QUARTER", "period": today, "amount": "1.5"}),
            "INVALID",
        ),
        (
            json!({"subjectId": org.rep, "metric": "ACTIVITY_COUNT", "grain": "QUARTER", "period": today, "amount": "5"}),
            "REQUIRED",
        ),
        (
            json!({"subjectId": org.rep, "metric": "KPI", "grain": "QUARTER", "period": today, "amount": "5", "kpiKey": "nope"}),
            "UNKNOWN",
        ),
    ] {
        let before = app.count_rows("quotas").await;
        let d = app.ok(&org.admin_token, SET_QUOTA, json!({"i": input})).await;
        assert_eq!(d["setQuota"]["quota"], Value::Null, "{d}");
        assert_eq!(codes(&d["setQuota"]), vec![code], "{d}");
        assert_eq!(app.count_rows("quotas").await, before);
    }
    let bad = app.gql(Some(&org.admin_token), SET_QUOTA, json!({"i": {"subjectId": org.gid, "metric": "REVENUE", "grain": "QUARTER", "period": today, "amount": "5"}})).await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
}

async fn quota_allocation_overrides_ramps_and_conflicts(app: &TestApp) {
    let org = app.seed_org("alloc").await;
    let today = today();
    let long_ago = today.checked_sub_months(Months::new(24)).unwrap();
    let (b, _) = extra_member(app, &org, "Bea", &org.outbound, long_ago).await;
    let (c, _) = extra_member(app, &org, "Cas", &org.outbound, long_ago).await;
    let team = quota(app, &org.admin_token, json!({"subjectId": org.outbound, "metric": "REVENUE", "grain": "QUARTER", "period": today, "amount": "100.00"})).await;
    let members_of = |d: &Value| -> Vec<(String, Decimal, bool)> {
        let mut v: Vec<(String, Decimal, bool)> = d["allocateQuota"]["memberQuotas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                (q["member"]["id"].as_str().unwrap().to_owned(), dec(&q["amount"]), q["manual"].as_bool().unwrap())
            })
            .collect();
        v.sort();
        v
    };
    // EVEN over the three reps (the manager is left out): 33.34 + 33.33 + 33.33 = 100.00 exactly.
    let d = app.ok(&org.manager_token, ALLOCATE, json!({"i": {"teamQuotaId": team["id"], "method": "EVEN"}})).await;
    assert_eq!(d["allocateQuota"]["userErrors"], json!([]), "{d}");
    let shares = members_of(&d);
    assert_eq!(shares.len(), 3);
    assert_eq!(shares.iter().map(|s| s.1).sum::<Decimal>(), Decimal::from(100));
    let mut amounts: Vec<Decimal> = shares.iter().map(|s| s.1).collect();
    amounts.sort();
    assert_eq!(amounts, vec![Decimal::new(3333, 2), Decimal::new(3333, 2), Decimal::new(3334, 2)]);
    // A manual quota is kept; the rest share what is left, by weights.
    quota(
        app,
        &org.admin_token,
        json!({"subjectId": org.rep, "metric": "REVENUE", "grain": "QUARTER", "period": today, "amount": "40.00"}),
    )
    .await;
    let d = app
        .ok(&org.admin_token, ALLOCATE, json!({"i": {"teamQuotaId": team["id"], "method": "WEIGHTS", "weights": [{"memberId": b, "weight": "3"}, {"memberId": c, "weight": "1"}]}}))
        .await;
    let shares = members_of(&d);
    let get = |m: &str| shares.iter().find(|s| s.0 == m).unwrap().clone();
    assert_eq!(get(&org.rep), (org.rep.clone(), Decimal::from(40), true));
    assert_eq!(get(&b).1, Decimal::from(45));
    assert_eq!(get(&c).1, Decimal::from(15));
    // Overrides above the team amount are refused; nothing changes.
    quota(
        app,
        &org.admin_token,
        json!({"subjectId": org.rep, "metric": "REVENUE", "grain": "QUARTER", "period": today, "amount": "140.00"}),
    )
    .await;
    let before =
        app.ok(&org.admin_token, "{ quotas(first: 200) { edges { node { id amount version } } } }", json!({})).await;
    let d = app.ok(&org.admin_token, ALLOCATE, json!({"i": {"teamQuotaId": team["id"], "method": "EVEN"}})).await;
    assert_eq!(codes(&d["allocateQuota"]), vec!["OVERRIDES_EXCEED"]);
    let after =
        app.ok(&org.admin_token, "{ quotas(first: 200) { edges { node { id amount version } } } }", json!({})).await;
    assert_eq!(before, after);
    // Only a TEAM quota is allocated.
    let member_quota = app
        .ok(
            &org.admin_token,
            "query($s: ID!) { quotas(filter: {subjectId: $s}) { edges { node { id } } } }",
            json!({"s": org.rep}),
        )
        .await;
    let d = app
        .ok(
            &org.admin_token,
            ALLOCATE,
            json!({"i": {"teamQuotaId": member_quota["quotas"]["edges"][0]["node"]["id"], "method": "EVEN"}}),
        )
        .await;
    assert_eq!(codes(&d["allocateQuota"]), vec!["INVALID"]);

    // Ramps: a rep who started this month at 50 % has half the monthly quota.
    let (new, new_token) = extra_member(app, &org, "Nieuw", &org.outbound, today).await;
    let r = app
        .ok(
            &org.admin_token,
            "mutation($i: SetQuotaRampInput!) { setQuotaRamp(input: $i) { percents userErrors { code } } }",
            json!({"i": {"memberId": new, "percents": [50, 75]}}),
        )
        .await;
    assert_eq!(r["setQuotaRamp"]["percents"], json!([50, 75]));
    let bad = app
        .ok(
            &org.admin_token,
            "mutation($i: SetQuotaRampInput!) { setQuotaRamp(input: $i) { percents userErrors { code } } }",
            json!({"i": {"memberId": new, "percents": [150]}}),
        )
        .await;
    assert_eq!(codes(&bad["setQuotaRamp"]), vec!["OUT_OF_RANGE"]);
    let monthly = quota(
        app,
        &org.admin_token,
        json!({"subjectId": new, "metric": "REVENUE", "grain": "MONTH", "period": today, "amount": "1000"}),
    )
    .await;
    assert_eq!(dec(&monthly["effectiveAmount"]), Decimal::from(500));
    assert_eq!(monthly["rampPercent"], 50.0);
    assert_eq!(dec(&monthly["amount"]), Decimal::from(1000));
    let next = today.checked_add_months(Months::new(1)).unwrap();
    let second = quota(
        app,
        &org.admin_token,
        json!({"subjectId": new, "metric": "REVENUE", "grain": "MONTH", "period": next, "amount": "1000"}),
    )
    .await;
    assert_eq!(dec(&second["effectiveAmount"]), Decimal::from(750));
    let third = next.checked_add_months(Months::new(1)).unwrap();
    let full = quota(
        app,
        &org.admin_token,
        json!({"subjectId": new, "metric": "REVENUE", "grain": "MONTH", "period": third, "amount": "1000"}),
    )
    .await;
    assert_eq!(dec(&full["effectiveAmount"]), Decimal::from(1000), "past the ramp");
    // The new rep reads their own ramped quota but cannot change it.
    let own = app.ok(&new_token, QUOTA, json!({"id": monthly["id"]})).await;
    assert_eq!(dec(&own["quota"]["effectiveAmount"]), Decimal::from(500));
    let r = app
        .gql(
            Some(&new_token),
            SET_QUOTA,
            json!({"i": {"subjectId": new, "metric": "REVENUE", "grain": "MONTH", "period": today, "amount": "1"}}),
        )
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN");
}

async fn quota_permissions(app: &TestApp) {
    let org = app.seed_org("qperm").await;
    let other = app.seed_org("qperm2").await;
    let today = today();
    let q = |subject: &str| json!({"subjectId": subject, "metric": "POINTS", "grain": "MONTH", "period": today, "amount": "100"});
    // Reps and viewers set no quotas; the Outbound manager sets Outbound's, not Inbound's.
    for token in [&org.rep_token, &org.viewer_token] {
        assert_eq!(error_code(&app.gql(Some(token), SET_QUOTA, json!({"i": q(&org.rep)})).await), "FORBIDDEN");
    }
    let mine = quota(app, &org.manager_token, q(&org.rep)).await;
    assert_eq!(
        error_code(&app.gql(Some(&org.manager_token), SET_QUOTA, json!({"i": q(&org.inbound_rep)})).await),
        "FORBIDDEN"
    );
    let inbound = quota(app, &org.admin_token, q(&org.inbound_rep)).await;
    // Reads: a rep their own; not a colleague's; another tenant nothing.
    assert_eq!(app.ok(&org.rep_token, QUOTA, json!({"id": mine["id"]})).await["quota"]["id"], mine["id"]);
    assert_eq!(error_code(&app.gql(Some(&org.rep_token), QUOTA, json!({"id": inbound["id"]})).await), "NOT_FOUND");
    assert_eq!(error_code(&app.gql(Some(&org.manager_token), QUOTA, json!({"id": inbound["id"]})).await), "NOT_FOUND");
    assert_eq!(app.ok(&org.viewer_token, QUOTA, json!({"id": inbound["id"]})).await["quota"]["id"], inbound["id"]);
    assert_eq!(error_code(&app.gql(Some(&other.admin_token), QUOTA, json!({"id": mine["id"]})).await), "NOT_FOUND");
    let list = app.ok(&org.rep_token, "{ quotas { totalCount } }", json!({})).await;
    assert_eq!(list["quotas"]["totalCount"], 1);
    assert_eq!(error_code(&app.gql(Some(&other.admin_token), SET_QUOTA, json!({"i": q(&org.rep)})).await), "NOT_FOUND");
    // Two managers editing one quota: the stale version is refused, nothing overwritten.
    let v1 = mine["version"].as_i64().unwrap();
    let first = app.ok(&org.admin_token, SET_QUOTA, json!({"i": {"version": v1, "subjectId": org.rep, "metric": "POINTS", "grain": "MONTH", "period": today, "amount": "150"}})).await;
    assert_eq!(first["setQuota"]["quota"]["version"], v1 + 1);
    let second = app.gql(Some(&org.manager_token), SET_QUOTA, json!({"i": {"version": v1, "subjectId": org.rep, "metric": "POINTS", "grain": "MONTH", "period": today, "amount": "90"}})).await;
    assert_eq!(error_code(&second), "CONFLICT");
    assert_eq!(
        dec(&app.ok(&org.rep_token, QUOTA, json!({"id": mine["id"]})).await["quota"]["amount"]),
        Decimal::from(150)
    );
    // Each set is audited with before and after.
    let log = app.ok(&org.admin_token, AUDIT, json!({"f": {"entityId": mine["id"]}})).await;
    assert_eq!(log["auditLog"]["totalCount"], 2);
    let last = &log["auditLog"]["edges"][0]["node"];
    assert_eq!(last["action"], "quota.set");
    assert_eq!(last["before"]["amount_hundredths"], 10000);
    assert_eq!(last["after"]["amount_hundredths"], 15000);
}

// ---------------------------------------------------------------- plans and payouts

fn tiered_plan(name: &str) -> Value {
    json!({"name": name, "components": [
        {"kind": "COMMISSION", "name": "Commission", "baseRate": "2", "tiers": [
            {"fromAttainment": "0", "rate": "2", "mode": "MARGINAL"},
            {"fromAttainment": "50", "rate": "5", "mode": "MARGINAL"},
            {"fromAttainment": "100", "rate": "8", "mode": "MARGINAL"}
        ]}
    ]})
}

/// A plan, the rep on it since last year, a 100,000 quarterly quota. Returns the plan ID.
pub(crate) async fn plan_for_rep(app: &TestApp, org: &Org) -> String {
    let p = app.ok(&org.admin_token, CREATE_PLAN, json!({"i": tiered_plan("Rep plan")})).await;
    assert_eq!(p["createIncentivePlan"]["userErrors"], json!([]), "{p}");
    let plan = p["createIncentivePlan"]["plan"]["id"].as_str().unwrap().to_owned();
    let since = NaiveDate::from_ymd_opt(today().year() - 1, 1, 1).unwrap();
    let a = app
        .ok(&org.admin_token, ASSIGN_PLAN, json!({"i": {"planId": plan, "memberId": org.rep, "startsOn": since}}))
        .await;
    assert_eq!(a["assignIncentivePlan"]["userErrors"], json!([]), "{a}");
    quota(
        app,
        &org.admin_token,
        json!({"subjectId": org.rep, "metric": "REVENUE", "grain": "QUARTER", "period": today(), "amount": "100000"}),
    )
    .await;
    plan
}

pub(crate) async fn run(app: &TestApp, org: &Org, date: NaiveDate) -> Value {
    let d = app.ok(&org.admin_token, RUN, json!({"i": {"period": {"grain": "QUARTER", "date": date}}})).await;
    d["runPayouts"].clone()
}

async fn payout_run_explains_every_cent_and_follows_the_lifecycle(app: &TestApp) {
    let org = app.seed_org("pay").await;
    stages(app, &org).await;
    plan_for_rep(app, &org).await;
    // 30,000 (all below 50 %: 600.00), then 40,000 straddling 50 %: 20,000 × 2 % = 400.00 and
    // 20,000 × 5 % = 1,000.00. Total 2,000.00.
    let d1 = won(app, &org, &org.rep, "First", "30000.00", json!([])).await;
    let d2 = won(app, &org, &org.rep, "Second", "40000.00", json!([])).await;
    let r = run(app, &org, today()).await;
    assert_eq!(r["statements"].as_array().unwrap().len(), 1, "only the rep is on a plan: {r}");
    let st = &r["statements"][0];
    assert_eq!(st["status"], "DRAFT");
    assert_eq!(st["total"], json!({"amount": "2000.00", "currency": "EUR"}));
    let id = st["id"].as_str().unwrap().to_owned();
    let s = app.ok(&org.rep_token, STATEMENT, json!({"id": id})).await["statement"].clone();
    assert_eq!(dec(&s["quota"]["amount"]), Decimal::from(100_000));
    assert_eq!(dec(&s["creditedRevenue"]["amount"]), Decimal::from(70_000));
    assert_eq!(s["attainmentPercent"], 70.0);
    let lines = s["lines"].as_array().unwrap();
    let summary: Vec<(String, String, String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["deal"]["id"].as_str().unwrap().to_owned(),
                l["creditedBase"]["amount"].as_str().unwrap().to_owned(),
                l["ratePercent"].as_str().unwrap().to_owned(),
                l["amount"]["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (d1.clone(), "30000.00".into(), "2".into(), "600.00".into()),
            (d2.clone(), "20000.00".into(), "2".into(), "400.00".into()),
            (d2.clone(), "20000.00".into(), "5".into(), "1000.00".into()),
        ]
    );
    assert!(lines.iter().all(|l| l["kind"] == "COMMISSION" && l["sourceKind"] == "DEAL"));
    assert!(lines[2]["tier"].as_str().unwrap().contains("50"), "{}", lines[2]);
    assert!(lines[2]["explanation"].as_str().unwrap().contains("1000.00"), "{}", lines[2]);
    let sum: Decimal = lines.iter().map(|l| dec(&l["amount"]["amount"])).sum();
    assert_eq!(sum, dec(&s["total"]["amount"]));

    // Re-running replaces the draft with version 2; version 1 is kept.
    let d3 = won(app, &org, &org.rep, "Third", "40000.00", json!([])).await;
    let r2 = run(app, &org, today()).await;
    let v2 = r2["statements"][0]["id"].as_str().unwrap().to_owned();
    let s2 = app.ok(&org.admin_token, STATEMENT, json!({"id": v2})).await["statement"].clone();
    assert_eq!(s2["version"], 2);
    // 30,000 more to reach 100 % at 5 % = 1,500.00; 10,000 above at 8 % = 800.00.
    assert_eq!(dec(&s2["total"]["amount"]), Decimal::new(430000, 2));
    assert_eq!(s2["versions"].as_array().unwrap().len(), 2);
    assert_eq!(s2["lines"].as_array().unwrap().last().unwrap()["deal"]["id"], d3.as_str());
    let old = app.ok(&org.admin_token, STATEMENT, json!({"id": id})).await["statement"].clone();
    assert_eq!((old["current"].as_bool(), old["total"]["amount"].as_str()), (Some(false), Some("2000.00")));

    // Lifecycle: only admins approve; a superseded version cannot be approved; PAID after APPROVED.
    for token in [&org.rep_token, &org.manager_token, &org.viewer_token] {
        assert_eq!(error_code(&app.gql(Some(token), APPROVE, json!({"id": v2})).await), "FORBIDDEN");
    }
    let stale = app.ok(&org.admin_token, APPROVE, json!({"id": id})).await;
    assert_eq!(codes(&stale["approveStatement"]), vec!["SUPERSEDED"]);
    let early = app.ok(&org.admin_token, PAY, json!({"id": v2})).await;
    assert_eq!(codes(&early["markStatementPaid"]), vec!["NOT_APPROVED"]);
    let ok = app.ok(&org.admin_token, APPROVE, json!({"id": v2})).await;
    assert_eq!(ok["approveStatement"]["statement"]["status"], "APPROVED");
    let twice = app.ok(&org.admin_token, APPROVE, json!({"id": v2})).await;
    assert_eq!(codes(&twice["approveStatement"]), vec!["NOT_DRAFT"]);
    // An approved statement never changes: a new run leaves it alone.
    won(app, &org, &org.rep, "Late", "1000.00", json!([])).await;
    let r3 = run(app, &org, today()).await;
    assert_eq!(r3["statements"], json!([]));
    assert_eq!(r3["unchanged"][0]["id"], v2.as_str());
    let paid = app.ok(&org.admin_token, PAY, json!({"id": v2})).await;
    assert_eq!(paid["markStatementPaid"]["statement"]["status"], "PAID");
    let log = app.ok(&org.admin_token, AUDIT, json!({"f": {"entityType": "Statement"}})).await;
    let actions: Vec<&str> =
        log["auditLog"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["statement.pay", "statement.approve"]);
}

/// A statement line explains itself in the request's language (the member's own, else the
/// organization's) from the texts stored by the run; a simulation too. A line stored before
/// Dutch texts were kept shows the English one.
async fn payout_explanations_follow_the_request_language(app: &TestApp) {
    use entity::statement_line;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let org = app.seed_org("taal").await;
    stages(app, &org).await;
    plan_for_rep(app, &org).await;
    won(app, &org, &org.rep, "Eerste", "30000.00", json!([])).await;
    let r = run(app, &org, today()).await;
    let id = r["statements"][0]["id"].as_str().unwrap().to_owned();
    let line = |token: String| {
        let id = id.clone();
        async move { app.ok(&token, STATEMENT, json!({"id": id})).await["statement"]["lines"][0].clone() }
    };
    let english = format!(
        "Deal 'Eerste' closed {}: 30000.00 EUR of credited revenue in tier 1 (from 0 %) at 2 % = 600.00 EUR.",
        today()
    );
    let dutch = format!(
        "Deal 'Eerste' gesloten op {}: 30000.00 EUR gecrediteerde omzet in staffel 1 (vanaf 0 %) tegen 2 % \
         = 600.00 EUR.",
        today()
    );
    let en = line(org.rep_token.clone()).await;
    assert_eq!(en["explanation"], english.as_str(), "{en}");

    let set = app
        .ok(
            &org.admin_token,
            "mutation { updateOrganization(input: {locale: NL}) { organization { locale } userErrors { message } } }",
            json!({}),
        )
        .await;
    assert_eq!(set["updateOrganization"]["organization"]["locale"], "NL", "{set}");
    let nl = line(org.rep_token.clone()).await;
    assert_eq!(nl["explanation"], dutch.as_str(), "{nl}");
    let without_text = |l: &Value| {
        let mut l = l.clone();
        l["explanation"] = Value::Null;
        l
    };
    assert_eq!(without_text(&nl), without_text(&en), "only the explanation changes; the tier label stays");
    assert_eq!(line(org.admin_token.clone()).await["explanation"], dutch.as_str());

    // A member who chose English reads English.
    app.ok(&org.rep_token, "mutation { setMyLocale(input: {locale: EN}) { locale } }", json!({})).await;
    assert_eq!(line(org.rep_token.clone()).await["explanation"], english.as_str());
    app.ok(&org.rep_token, "mutation { setMyLocale(input: {locale: null}) { locale } }", json!({})).await;

    // A simulation answers in Dutch as well.
    let open = deal(app, &org, &org.rep_token, json!({"name": "Open", "amount": "10000.00"})).await;
    let sim = "query($i: SimulatePayoutInput!) { simulatePayout(input: $i) { lines { simulated explanation } } }";
    let s = app.ok(&org.rep_token, sim, json!({"i": {"dealIds": [open["id"]]}})).await;
    let lines = s["simulatePayout"]["lines"].as_array().unwrap().clone();
    assert_eq!(lines[0]["explanation"], dutch.as_str(), "{s}");
    let simulated = lines.iter().find(|l| l["simulated"] == true).unwrap_or_else(|| panic!("{s}"));
    assert!(simulated["explanation"].as_str().unwrap().starts_with("Deal 'Open' gesloten op "), "{s}");

    // Lines stored before the Dutch text was kept have none: they show the English one.
    statement_line::Entity::update_many()
        .col_expr(statement_line::Column::ExplanationNl, Expr::value(Option::<String>::None))
        .filter(statement_line::Column::OrganizationId.eq(org.id.0))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(line(org.rep_token.clone()).await["explanation"], english.as_str());
}

async fn disputes_adjustments_and_clawbacks_land_in_the_next_statement(app: &TestApp) {
    let org = app.seed_org("disp").await;
    stages(app, &org).await;
    plan_for_rep(app, &org).await;
    let big = won(app, &org, &org.rep, "Big", "10000.00", json!([])).await;
    let r = run(app, &org, today()).await;
    let id = r["statements"][0]["id"].as_str().unwrap().to_owned();
    let s = app.ok(&org.rep_token, STATEMENT, json!({"id": id})).await["statement"].clone();
    let line = s["lines"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(s["lines"][0]["amount"]["amount"], "200.00");

    // Only the rep disputes their own lines; a reason is required; one open dispute per line.
    assert_eq!(
        error_code(&app.gql(Some(&org.manager_token), DISPUTE, json!({"i": {"lineId": line, "reason": "x"}})).await),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(
            &app.gql(Some(&org.inbound_rep_token), DISPUTE, json!({"i": {"lineId": line, "reason": "x"}})).await
        ),
        "NOT_FOUND"
    );
    let empty = app.ok(&org.rep_token, DISPUTE, json!({"i": {"lineId": line, "reason": "   "}})).await;
    assert_eq!(codes(&empty["disputeStatementLine"]), vec!["INVALID"]);
    let d = app.ok(&org.rep_token, DISPUTE, json!({"i": {"lineId": line, "reason": "The deal was 10,500"}})).await;
    let dispute = d["disputeStatementLine"]["dispute"]["id"].as_str().unwrap_or_else(|| panic!("{d}")).to_owned();
    let again = app.ok(&org.rep_token, DISPUTE, json!({"i": {"lineId": line, "reason": "again"}})).await;
    assert_eq!(codes(&again["disputeStatementLine"]), vec!["ALREADY_DISPUTED"]);
    // It shows up for the manager, not for another team's rep.
    let seen = app
        .ok(
            &org.manager_token,
            "{ disputes(status: OPEN) { id reason member { id } line { amount { amount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(seen["disputes"][0]["id"], dispute.as_str());
    assert_eq!(seen["disputes"][0]["line"]["amount"]["amount"], "200.00");
    let other = app.ok(&org.inbound_rep_token, "{ disputes { id } }", json!({})).await;
    assert_eq!(other["disputes"], json!([]));
    // Reps cannot resolve; a rejection takes no adjustment; the manager accepts with +10.00.
    let resolve = |resolution: &str, adjustment: Value| json!({"i": {"id": dispute, "resolution": resolution, "note": "Checked the CRM", "adjustment": adjustment}});
    assert_eq!(
        error_code(&app.gql(Some(&org.rep_token), RESOLVE, resolve("ACCEPTED", json!("10.00"))).await),
        "FORBIDDEN"
    );
    let bad = app.ok(&org.manager_token, RESOLVE, resolve("REJECTED", json!("10.00"))).await;
    assert_eq!(codes(&bad["resolveDispute"]), vec!["INVALID"]);
    let ok = app.ok(&org.manager_token, RESOLVE, resolve("ACCEPTED", json!("10.00"))).await;
    assert_eq!(ok["resolveDispute"]["dispute"]["status"], "ACCEPTED");
    assert_eq!(ok["resolveDispute"]["dispute"]["adjustment"]["amount"], "10.00");
    let twice = app.ok(&org.admin_token, RESOLVE, resolve("REJECTED", Value::Null)).await;
    assert_eq!(codes(&twice["resolveDispute"]), vec!["RESOLVED"]);

    // Approve this quarter, then reopen the won deal: a clawback at the original rate goes to
    // the next open statement, with the dispute's adjustment.
    app.ok(&org.admin_token, APPROVE, json!({"id": id})).await;
    let reopened = app.ok(&org.admin_token, REOPEN, json!({"i": {"id": big}})).await;
    assert_eq!(reopened["reopenDeal"]["deal"]["outcome"], Value::Null);
    assert_eq!(app.count_rows("clawbacks").await, 1);
    let next_quarter = today().checked_add_months(Months::new(3)).unwrap();
    quota(app, &org.admin_token, json!({"subjectId": org.rep, "metric": "REVENUE", "grain": "QUARTER", "period": next_quarter, "amount": "100000"})).await;
    let r = run(app, &org, next_quarter).await;
    let next = r["statements"][0]["id"].as_str().unwrap_or_else(|| panic!("{r}")).to_owned();
    let s = app.ok(&org.rep_token, STATEMENT, json!({"id": next})).await["statement"].clone();
    let kinds: Vec<(&str, &str, Option<&str>)> = s["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["kind"].as_str().unwrap(), l["amount"]["amount"].as_str().unwrap(), l["ratePercent"].as_str()))
        .collect();
    assert_eq!(kinds, vec![("CLAWBACK", "-200.00", Some("2")), ("ADJUSTMENT", "10.00", None)]);
    assert_eq!(s["total"]["amount"], "-190.00");
    // Once approved, they are settled: a later run does not carry them again.
    app.ok(&org.admin_token, APPROVE, json!({"id": next})).await;
    let later = today().checked_add_months(Months::new(6)).unwrap();
    let r = run(app, &org, later).await;
    let s = app.ok(&org.rep_token, STATEMENT, json!({"id": r["statements"][0]["id"]})).await["statement"].clone();
    assert_eq!(s["lines"], json!([]));
    assert_eq!(s["total"]["amount"], "0.00");
    let log = app.ok(&org.admin_token, AUDIT, json!({"f": {"entityType": "Dispute"}})).await;
    let actions: Vec<&str> =
        log["auditLog"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["dispute.resolve", "dispute.open"]);
}

async fn simulation_plan_versions_and_payroll_export(app: &TestApp) {
    let org = app.seed_org("sim").await;
    stages(app, &org).await;
    let plan = plan_for_rep(app, &org).await;
    won(app, &org, &org.rep, "Won", "40000.00", json!([])).await;
    let open = deal(app, &org, &org.rep_token, json!({"name": "Open big", "amount": "70000.00"})).await;
    let sim = "query($i: SimulatePayoutInput!) { simulatePayout(input: $i) { baselineTotal baselineAttainmentPercent total attainmentPercent difference lines { kind tier ratePercent amount simulated } } }";
    let before = app.count_rows("statements").await;
    let s = app.ok(&org.rep_token, sim, json!({"i": {"dealIds": [open["id"]]}})).await["simulatePayout"].clone();
    assert_eq!(s["baselineTotal"], "800.00");
    assert_eq!(s["baselineAttainmentPercent"], 40.0);
    assert_eq!(s["attainmentPercent"], 110.0);
    // 10,000 × 2 % + 50,000 × 5 % + 10,000 × 8 % = 200 + 2,500 + 800 on top of 800.
    assert_eq!(s["total"], "4300.00");
    assert_eq!(s["difference"], "3500.00");
    let top = s["lines"].as_array().unwrap().last().unwrap();
    assert_eq!((top["ratePercent"].as_str(), top["simulated"].as_bool()), (Some("8"), Some(true)));
    assert!(top["tier"].as_str().unwrap().contains("100"), "{top}");
    assert_eq!(app.count_rows("statements").await, before, "a simulation stores nothing");
    // Someone else's deal or a closed one is refused; another rep cannot simulate this rep.
    let r =
        app.gql(Some(&org.inbound_rep_token), sim, json!({"i": {"memberId": org.rep, "dealIds": [open["id"]]}})).await;
    assert_eq!(error_code(&r), "NOT_FOUND");
    let foreign = deal(app, &org, &org.inbound_rep_token, json!({"name": "Theirs", "amount": "1.00"})).await;
    let r = app.gql(Some(&org.rep_token), sim, json!({"i": {"dealIds": [foreign["id"]]}})).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT");

    // Approving locks the plan version: a change makes version 2; v1 stays as it was.
    let r = run(app, &org, today()).await;
    let id = r["statements"][0]["id"].as_str().unwrap().to_owned();
    let upd = "mutation($i: UpdateIncentivePlanInput!) { updateIncentivePlan(input: $i) { plan { version versions { version locked components { tiers { rate } } } } userErrors { field code message } } }";
    let mut changed = tiered_plan("Rep plan");
    changed["components"][0]["tiers"][2]["rate"] = json!("9");
    let d = app.ok(&org.admin_token, upd, json!({"i": {"id": plan, "components": changed["components"]}})).await;
    assert_eq!(d["updateIncentivePlan"]["plan"]["version"], 1, "not locked yet: edited in place");
    app.ok(&org.admin_token, APPROVE, json!({"id": id})).await;
    changed["components"][0]["tiers"][2]["rate"] = json!("10");
    let d = app.ok(&org.admin_token, upd, json!({"i": {"id": plan, "components": changed["components"]}})).await;
    let p = &d["updateIncentivePlan"]["plan"];
    assert_eq!(p["version"], 2);
    assert_eq!(p["versions"][0]["locked"], true);
    assert_eq!(p["versions"][0]["components"][0]["tiers"][2]["rate"], "9");
    assert_eq!(p["versions"][1]["components"][0]["tiers"][2]["rate"], "10");
    let st = app.ok(&org.admin_token, STATEMENT, json!({"id": id})).await;
    assert_eq!(st["statement"]["planVersion"], 1);
    // Invalid components are refused with the field named.
    let bad = app
        .ok(&org.admin_token, CREATE_PLAN, json!({"i": {"name": "Bad", "components": [{"kind": "COMMISSION", "name": "C", "tiers": [{"fromAttainment": "50", "rate": "5", "mode": "MARGINAL"}, {"fromAttainment": "10", "rate": "2", "mode": "MARGINAL"}]}]}}))
        .await;
    assert_eq!(bad["createIncentivePlan"]["plan"], Value::Null);
    assert!(
        bad["createIncentivePlan"]["userErrors"][0]["field"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().contains("tiers")),
        "{bad}"
    );
    // A second, overlapping plan assignment is refused.
    let overlap = app
        .ok(&org.admin_token, ASSIGN_PLAN, json!({"i": {"planId": plan, "memberId": org.rep, "startsOn": today()}}))
        .await;
    assert_eq!(codes(&overlap["assignIncentivePlan"]), vec!["OVERLAP"]);

    // Payroll CSV: approved statements of the period, admins only, same bearer auth.
    let url = format!("{}/exports/payouts.csv?period={}", app.base_url, today());
    let resp = app.client.get(&url).bearer_auth(&org.admin_token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let body = resp.text().await.unwrap();
    let rows: Vec<&str> = body.lines().collect();
    assert_eq!(rows.len(), 2, "{body}");
    assert!(rows[0].starts_with("member_id,member_name,email,period_start"));
    assert!(rows[1].contains("800.00") && rows[1].contains("APPROVED") && rows[1].contains("rep@sim.test"), "{body}");
    let resp = app.client.get(&url).bearer_auth(&org.rep_token).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    let resp = app.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = app
        .client
        .get(format!("{}/exports/payouts.csv?period=yesterday", app.base_url))
        .bearer_auth(&org.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

async fn statements_are_private_and_tenant_isolated(app: &TestApp) {
    let org = app.seed_org("priv").await;
    let other = app.seed_org("priv2").await;
    stages(app, &org).await;
    plan_for_rep(app, &org).await;
    won(app, &org, &org.rep, "Won", "1000.00", json!([])).await;
    let r = run(app, &org, today()).await;
    let id = r["statements"][0]["id"].as_str().unwrap().to_owned();
    let list = "{ statements { totalCount edges { node { id } } } }";
    assert_eq!(app.ok(&org.rep_token, list, json!({})).await["statements"]["totalCount"], 1);
    assert_eq!(app.ok(&org.manager_token, list, json!({})).await["statements"]["totalCount"], 1);
    assert_eq!(app.ok(&org.viewer_token, list, json!({})).await["statements"]["totalCount"], 1);
    assert_eq!(app.ok(&org.inbound_rep_token, list, json!({})).await["statements"]["totalCount"], 0);
    assert_eq!(app.ok(&other.admin_token, list, json!({})).await["statements"]["totalCount"], 0);
    assert_eq!(error_code(&app.gql(Some(&org.inbound_rep_token), STATEMENT, json!({"id": id})).await), "NOT_FOUND");
    assert_eq!(error_code(&app.gql(Some(&other.admin_token), STATEMENT, json!({"id": id})).await), "NOT_FOUND");
    let n = app.ok(&other.admin_token, "query($id: ID!) { node(id: $id) { id } }", json!({"id": id})).await;
    assert_eq!(n["node"], Value::Null, "another organization's: null");
    let plans = app.ok(&other.admin_token, "{ incentivePlans { id } }", json!({})).await;
    assert_eq!(plans["incentivePlans"], json!([]));
    let mine = app.ok(&org.inbound_rep_token, "{ incentivePlans { id } }", json!({})).await;
    assert_eq!(mine["incentivePlans"], json!([]), "a rep sees only plans they are on");
    // Another tenant's admin cannot run, approve or export this tenant's statements.
    assert_eq!(error_code(&app.gql(Some(&other.admin_token), APPROVE, json!({"id": id})).await), "NOT_FOUND");
    let r = run(app, &other, today()).await;
    assert_eq!(r["statements"], json!([]));
    let url = format!("{}/exports/payouts.csv?period={}", app.base_url, today());
    app.ok(&org.admin_token, APPROVE, json!({"id": id})).await;
    let body = app.client.get(&url).bearer_auth(&other.admin_token).send().await.unwrap().text().await.unwrap();
    assert_eq!(body.lines().count(), 1, "header only: {body}");
}

// ---------------------------------------------------------------- demo

async fn demo_closer_statement_matches_a_hand_calculation(app: &TestApp) {
    let org = scorebord::demo::seed(&app.state).await.unwrap();
    let tokens = scorebord::demo::tokens(&app.state, org, chrono::Duration::hours(1)).await.unwrap();
    let token = |email: &str| tokens.iter().find(|(e, _)| e == email).unwrap().1.clone();
    let closer = token("closer@demo.test");
    let manager = token("manager@demo.test");
    let today = today();
    let q = "query($d: NaiveDate!) { viewer { member { id } } statements(filter: {period: {grain: QUARTER, date: $d}}) { edges { node { id status quota { amount } total { amount } lines { id kind tier ratePercent creditedBase { amount } amount { amount } deal { id name amount { amount } closedAt } } } } } }";
    let d = app.ok(&closer, q, json!({"d": today})).await;
    let me = d["viewer"]["member"]["id"].as_str().unwrap().to_owned();
    let st = &d["statements"]["edges"][0]["node"];
    assert_eq!(st["status"], "DRAFT", "{d}");
    let quota = dec(&st["quota"]["amount"]);
    assert_eq!(quota, Decimal::from(150_000));
    let lines = st["lines"].as_array().unwrap();

    // Every deal the closer won this quarter is on the statement.
    let deals = app
        .ok(&closer, "query($o: ID!) { deals(filter: {ownerId: $o, outcome: WON}, first: 200) { edges { node { id amount { amount } closedAt } } } }", json!({"o": me}))
        .await;
    let start = quarter_start(today);
    let mut mine: Vec<(NaiveDate, Uuid, Decimal, String)> = deals["deals"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .filter_map(|n| {
            let closed = chrono::DateTime::parse_from_rfc3339(n["closedAt"].as_str()?).ok()?;
            let day = closed.with_timezone(&chrono_tz::Europe::Amsterdam).date_naive();
            (day >= start).then(|| {
                (
                    day,
                    uuid_of(n["id"].as_str().unwrap()),
                    dec(&n["amount"]["amount"]),
                    n["id"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect();
    mine.sort();
    let commission: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "COMMISSION").collect();
    let on_statement: std::collections::BTreeSet<&str> =
        commission.iter().map(|l| l["deal"]["id"].as_str().unwrap()).collect();
    assert_eq!(on_statement, mine.iter().map(|m| m.3.as_str()).collect(), "each credited deal is listed");

    // By hand: marginal bands 0–50 % at 2 %, 50–100 % at 5 %, above at 8 %, cent rounding per portion.
    let edges =
        [(Decimal::ZERO, Decimal::from(2)), (quota / Decimal::from(2), Decimal::from(5)), (quota, Decimal::from(8))];
    let mut hand = Decimal::ZERO;
    let mut cumulative = Decimal::ZERO;
    for (_, _, amount, _) in &mine {
        let (from, to) = (cumulative, cumulative + amount);
        for (i, (edge, rate)) in edges.iter().enumerate() {
            let upper = edges.get(i + 1).map_or(to, |e| e.0.min(to));
            let lower = from.max(*edge);
            if upper > lower {
                hand += ((upper - lower) * rate / Decimal::from(100))
                    .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven);
            }
        }
        cumulative = to;
    }
    let on_lines: Decimal = commission.iter().map(|l| dec(&l["amount"]["amount"])).sum();
    assert_eq!(on_lines, hand, "commission to the cent");
    let others: Decimal = lines.iter().filter(|l| l["kind"] != "COMMISSION").map(|l| dec(&l["amount"]["amount"])).sum();
    assert_eq!(dec(&st["total"]["amount"]), hand + others, "total = the lines");
    for l in &commission {
        assert!(l["tier"].is_string() && l["ratePercent"].is_string(), "{l}");
    }

    // The big open deal would lift the closer into a higher tier.
    let big = app
        .ok(&closer, "query($o: ID!) { deals(filter: {ownerId: $o, open: true, search: \"Vandermolen\"}) { edges { node { id } } } }", json!({"o": me}))
        .await;
    let big = big["deals"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned();
    let s = app
        .ok(&closer, "query($i: SimulatePayoutInput!) { simulatePayout(input: $i) { baselineAttainmentPercent attainmentPercent total baselineTotal lines { kind tier ratePercent simulated } } }", json!({"i": {"dealIds": [big]}}))
        .await["simulatePayout"]
        .clone();
    let baseline = s["baselineAttainmentPercent"].as_f64().unwrap();
    assert!(s["attainmentPercent"].as_f64().unwrap() >= baseline + 100.0, "the deal is a full quota: {s}");
    assert!(dec(&s["total"]) > dec(&s["baselineTotal"]));
    let rate_now = if baseline < 50.0 {
        2
    } else if baseline < 100.0 {
        5
    } else {
        8
    };
    let top = s["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["simulated"] == true && l["kind"] == "COMMISSION")
        .map(|l| l["ratePercent"].as_str().unwrap().parse::<i32>().unwrap())
        .max()
        .unwrap();
    assert!(top > rate_now || rate_now == 8, "a higher tier than today's {rate_now} %: {s}");
    assert_eq!(top, 8, "past 100 % it pays the top tier: {s}");

    // Last quarter's statement is approved; a dispute on this quarter's line reaches the manager.
    let last = today.checked_sub_months(Months::new(3)).unwrap();
    let prev = app.ok(&closer, q, json!({"d": last})).await;
    assert_eq!(prev["statements"]["edges"][0]["node"]["status"], "APPROVED");
    if let Some(line) = commission.first() {
        let d = app.ok(&closer, DISPUTE, json!({"i": {"lineId": line["id"], "reason": "Split with Carla?"}})).await;
        assert_eq!(d["disputeStatementLine"]["userErrors"], json!([]), "{d}");
        let seen = app.ok(&manager, "{ disputes(status: OPEN) { reason member { id } } }", json!({})).await;
        assert_eq!(seen["disputes"][0]["reason"], "Split with Carla?");
    }
    // Territories: NL regions, one without an owner.
    let cov = app
        .ok(
            &manager,
            "{ territoryCoverage { territoriesWithoutOwner { name } } territories(first: 10) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(cov["territories"]["totalCount"], 5);
    let uncovered: Vec<&str> = cov["territoryCoverage"]["territoriesWithoutOwner"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(uncovered, vec!["Nederland", "Zuid"]);
}
