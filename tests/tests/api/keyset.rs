//! Keyset cursors: a client pages through deals and activities, forward and backward, while
//! another client inserts, updates and removes rows; every row that existed from start to end is
//! read exactly once. Cursors are refused where they do not belong; `node` answers null for what
//! is gone; a failing non-null root field nulls `data`.

use std::collections::{HashMap, HashSet};

use scorebord_tests::{Org, TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(
    deals_page_once_each_while_another_client_writes,
    activities_page_once_each_while_another_client_writes,
    cursors_belong_to_one_list_and_order,
    nested_connections_follow_the_root_rules,
    node_answers_null_for_what_is_gone_or_out_of_reach,
    a_failing_non_null_root_field_nulls_data,
    totals_are_counted_whenever_and_however_they_are_asked,
);

const CREATE_STAGE: &str = "mutation($i: CreateStageInput!) { createStage(input: $i) { stage { id } } }";
const CREATE_DEAL: &str =
    "mutation($i: DealInput!) { createDeal(input: $i) { deal { id } userErrors { field code message } } }";
const UPDATE_DEAL: &str =
    "mutation($i: UpdateDealInput!) { updateDeal(input: $i) { deal { id } userErrors { field code message } } }";
const DEALS: &str = "query($first: Int, $after: String, $last: Int, $before: String, $order: DealOrder) {
  deals(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id name } } nodes { id } } }";

async fn new_deal(app: &TestApp, org: &Org, stage: &str, name: &str) -> String {
    let d = app
        .ok(
            &org.admin_token,
            CREATE_DEAL,
            json!({"i": {"name": name, "ownerId": org.rep, "stageId": stage, "amount": "100.00"}}),
        )
        .await;
    d["createDeal"]["deal"]["id"].as_str().unwrap_or_else(|| panic!("{d}")).to_owned()
}

/// One page of a connection `field` of the answer: the IDs of its `edges` and the page info.
fn page(data: &Value, field: &str) -> (Vec<String>, Value) {
    let conn = &data[field];
    let ids: Vec<String> =
        conn["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()).collect();
    let nodes: Vec<String> =
        conn["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, nodes, "`nodes` is `edges {{ node }}`");
    (ids, conn["pageInfo"].clone())
}

/// Pages through `query` (a connection at `field`) in pages of 3, forward or backward, calling
/// `between` after each page (the other client's writes); returns the IDs in list order.
async fn read_all(
    app: &TestApp,
    token: &str,
    query: &str,
    field: &str,
    extra: Value,
    backward: bool,
    mut between: impl AsyncFnMut(usize),
) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    for step in 0..100 {
        let mut vars = extra.clone();
        if backward {
            vars["last"] = json!(3);
            vars["before"] = json!(cursor);
        } else {
            vars["first"] = json!(3);
            vars["after"] = json!(cursor);
        }
        let data = app.ok(token, query, vars).await;
        let (ids, info) = page(&data, field);
        if backward {
            assert_eq!(info["hasNextPage"], json!(cursor.is_some()), "{info}");
            let mut all = ids;
            all.extend(seen);
            seen = all;
            if info["hasPreviousPage"] != json!(true) {
                return seen;
            }
            cursor = info["startCursor"].as_str().map(str::to_owned);
        } else {
            assert_eq!(info["hasPreviousPage"], json!(cursor.is_some()), "{info}");
            seen.extend(ids);
            if info["hasNextPage"] != json!(true) {
                return seen;
            }
            cursor = info["endCursor"].as_str().map(str::to_owned);
        }
        between(step).await;
    }
    panic!("more than 100 pages");
}

fn assert_once_each(seen: &[String], must: &HashSet<String>, must_not: &HashSet<String>, what: &str) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in seen {
        *counts.entry(id).or_default() += 1;
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "{what}: rows read twice: {repeated:?}");
    let missing: Vec<_> = must.iter().filter(|id| !counts.contains_key(id.as_str())).collect();
    assert!(missing.is_empty(), "{what}: rows that existed throughout were skipped: {missing:?}");
    let gone: Vec<_> = must_not.iter().filter(|id| counts.contains_key(id.as_str())).collect();
    assert!(gone.is_empty(), "{what}: rows removed before the read reached them: {gone:?}");
}

async fn deals_page_once_each_while_another_client_writes(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let d = app.ok(&org.admin_token, CREATE_STAGE, json!({"i": {"name": "Lead"}})).await;
    let stage = d["createStage"]["stage"]["id"].as_str().unwrap().to_owned();
    let mut existing = Vec::new();
    for i in 0..14 {
        existing.push(new_deal(app, &org, &stage, &format!("Deal {i:02}")).await);
    }
    let throughout: HashSet<String> = existing.iter().cloned().collect();
    for backward in [false, true] {
        // In creation order, each page followed by a new deal and an edit of an unread one:
        // neither repeats nor skips a deal that existed from start to end.
        let writer = &org;
        let mut added = 0;
        let seen = read_all(
            app,
            &org.manager_token,
            DEALS,
            "deals",
            json!({"order": "CREATED_AT_ASC"}),
            backward,
            async |step| {
                added += 1;
                new_deal(app, writer, &stage, &format!("Late {backward} {step}")).await;
                let target = &existing[(step * 5 + 3) % existing.len()];
                let r = app
                    .ok(
                        &writer.admin_token,
                        UPDATE_DEAL,
                        json!({"i": {"id": target, "deal": {"name": format!("Edited {backward} {step}")}}}),
                    )
                    .await;
                assert!(r["updateDeal"]["userErrors"].as_array().unwrap().is_empty(), "{r}");
            },
        )
        .await;
        assert!(added >= 4, "several pages were read");
        assert_once_each(&seen, &throughout, &HashSet::new(), &format!("deals (backward: {backward})"));
    }
    // Most recently changed first: a deal edited while paging moves to the front, so a reader
    // never gets it twice.
    let writer = &org;
    let seen = read_all(app, &org.admin_token, DEALS, "deals", json!({}), false, async |step| {
        let target = &existing[(step * 3) % existing.len()];
        app.ok(
            &writer.admin_token,
            UPDATE_DEAL,
            json!({"i": {"id": target, "deal": {"name": format!("Bumped {step}")}}}),
        )
        .await;
    })
    .await;
    assert_once_each(&seen, &HashSet::new(), &HashSet::new(), "deals by updatedAt");
}

const LOG: &str =
    "mutation($i: LogActivityInput!) { logActivity(input: $i) { activity { id } userErrors { code message } } }";
const VOID: &str =
    "mutation($i: VoidActivityInput!) { voidActivity(input: $i) { activity { id } userErrors { code message } } }";
const ACTIVITIES: &str = "query($first: Int, $after: String, $last: Int, $before: String, $voided: Boolean) {
  activities(first: $first, after: $after, last: $last, before: $before, filter: {voided: $voided}) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } nodes { id } } }";

async fn activities_page_once_each_while_another_client_writes(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let t = app
        .ok(
            &org.admin_token,
            "mutation($i: CreateActivityTypeInput!) { createActivityType(input: $i) { activityType { id } } }",
            json!({"i": {"name": "Call", "category": "ACTION", "unit": "COUNT", "points": 1.0}}),
        )
        .await;
    let kind = t["createActivityType"]["activityType"]["id"].as_str().unwrap().to_owned();
    let log = async |at: String| -> String {
        let d = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": kind, "occurredAt": at}})).await;
        d["logActivity"]["activity"]["id"].as_str().unwrap_or_else(|| panic!("{d}")).to_owned()
    };
    let now = chrono::Utc::now();
    let mut existing = Vec::new();
    for i in 0..13 {
        // Two share each instant: the ID breaks the tie.
        existing.push(log((now - chrono::Duration::minutes(10 + i / 2)).to_rfc3339()).await);
    }
    for backward in [false, true] {
        // Counting activities only (not voided): a void removes one from the list. Each page is
        // followed by a new activity (newest: before the reader's position) and a void of an
        // activity the reader has not reached yet: of the two it reaches last, the farthest first
        // (popped from the end).
        let mut voided = HashSet::new();
        let n = existing.len();
        let mut to_void: Vec<String> = if backward {
            vec![existing[1].clone(), existing[0].clone()]
        } else {
            vec![existing[n - 2].clone(), existing[n - 1].clone()]
        };
        let seen = read_all(
            app,
            &org.manager_token,
            ACTIVITIES,
            "activities",
            json!({"voided": false}),
            backward,
            async |step| {
                log((now - chrono::Duration::seconds(step as i64)).to_rfc3339()).await;
                if let Some(id) = to_void.pop() {
                    let r = app.ok(&org.admin_token, VOID, json!({"i": {"id": id, "reason": "wrong member"}})).await;
                    assert!(r["voidActivity"]["userErrors"].as_array().unwrap().is_empty(), "{r}");
                    voided.insert(id);
                }
            },
        )
        .await;
        let throughout: HashSet<String> = existing.iter().filter(|id| !voided.contains(*id)).cloned().collect();
        assert_once_each(&seen, &throughout, &voided, &format!("activities (backward: {backward})"));
        existing.retain(|id| !voided.contains(id));
    }
}

async fn cursors_belong_to_one_list_and_order(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let members = app
        .ok(
            &org.admin_token,
            "{ members(first: 2) { pageInfo { endCursor } } teams(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let member_cursor = members["members"]["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    let team_cursor = members["teams"]["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    let refused = [
        ("{ teams(after: $c) { totalCount } }", member_cursor.clone(), "another connection"),
        ("{ members(after: $c) { totalCount } }", team_cursor.clone(), "another connection"),
        (
            "{ team(id: $t) { members(after: $c) { totalCount } } }",
            member_cursor.clone(),
            "the root list's cursor on a team",
        ),
        ("{ deals(after: $c, orderBy: AMOUNT_DESC) { totalCount } }", member_cursor.clone(), "another connection"),
        ("{ members(before: $c) { totalCount } }", "bm90LWEtY3Vyc29y".to_owned(), "garbage"),
        ("{ members(after: $c) { totalCount } }", "Y3Vyc29yOjQy".to_owned(), "an offset cursor of the old format"),
    ];
    for (field, cursor, why) in refused {
        let (declared, vars) = if field.contains("$t") {
            ("$c: String, $t: ID!", json!({"c": cursor, "t": org.sales}))
        } else {
            ("$c: String", json!({"c": cursor}))
        };
        let body = app.gql(Some(&org.admin_token), &format!("query({declared}) {field}"), vars).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{why}: {field}: {body}");
    }
    // A deals cursor of one order is refused by another.
    let d = app.ok(&org.admin_token, CREATE_STAGE, json!({"i": {"name": "Lead"}})).await;
    let stage = d["createStage"]["stage"]["id"].as_str().unwrap().to_owned();
    new_deal(app, &org, &stage, "A").await;
    new_deal(app, &org, &stage, "B").await;
    let by_created = app.ok(&org.admin_token, DEALS, json!({"first": 1, "order": "CREATED_AT_ASC"})).await;
    let cursor = by_created["deals"]["pageInfo"]["endCursor"].clone();
    let body =
        app.gql(Some(&org.admin_token), DEALS, json!({"first": 1, "after": cursor, "order": "AMOUNT_DESC"})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    let ok = app.ok(&org.admin_token, DEALS, json!({"first": 1, "after": cursor, "order": "CREATED_AT_ASC"})).await;
    assert_eq!(page(&ok, "deals").0.len(), 1);
    let both = app.gql(Some(&org.admin_token), DEALS, json!({"first": 1, "last": 1})).await;
    assert_eq!(error_code(&both), "BAD_USER_INPUT", "first and last together: {both}");
    // Empty lists: no cursors, no neighbours.
    let empty = app.ok(&org.admin_token, "{ campaigns(first: 5) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { id } } }", json!({})).await;
    assert_eq!(
        empty["campaigns"],
        json!({"totalCount": 0, "pageInfo": {"hasNextPage": false, "hasPreviousPage": false, "startCursor": null, "endCursor": null}, "nodes": []})
    );
}

const MEMBER_WORK: &str = "query($id: ID!) { member(id: $id) { deals(first: 10) { totalCount nodes { id } } } }";
const MEMBER_ACTIVITIES: &str =
    "query($id: ID!) { member(id: $id) { activities(first: 10) { totalCount nodes { id } } } }";

async fn nested_connections_follow_the_root_rules(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let d = app.ok(&org.admin_token, CREATE_STAGE, json!({"i": {"name": "Lead"}})).await;
    let stage = d["createStage"]["stage"]["id"].as_str().unwrap().to_owned();
    let deal = new_deal(app, &org, &stage, "Rep's deal").await;
    // The rep's deals: their own and their manager see it, the other team's rep sees none.
    for (token, expected) in
        [(&org.rep_token, 1), (&org.manager_token, 1), (&org.admin_token, 1), (&org.inbound_rep_token, 0)]
    {
        let data = app.ok(token, MEMBER_WORK, json!({"id": org.rep})).await;
        assert_eq!(data["member"]["deals"]["totalCount"], expected, "{data}");
        if expected == 1 {
            assert_eq!(data["member"]["deals"]["nodes"][0]["id"], json!(deal));
        }
    }
    // Another member's activities are FORBIDDEN to a rep, as `activities(filter: {memberId})`.
    let body = app.gql(Some(&org.inbound_rep_token), MEMBER_ACTIVITIES, json!({"id": org.rep})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let own = app.ok(&org.rep_token, MEMBER_ACTIVITIES, json!({"id": org.rep})).await;
    assert_eq!(own["member"]["activities"]["totalCount"], 0);
    // A team's members, paged.
    let q = "query($t: ID!, $a: String) { team(id: $t) { members(first: 1, after: $a) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } } }";
    let mut after: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let data = app.ok(&org.admin_token, q, json!({"t": org.outbound, "a": after})).await;
        let conn = &data["team"]["members"];
        seen.extend(conn["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()));
        if conn["pageInfo"]["hasNextPage"] != json!(true) {
            assert_eq!(seen.len() as u64, conn["totalCount"].as_u64().unwrap());
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert!(seen.contains(&org.rep) && seen.contains(&org.manager), "{seen:?}");
}

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id } }";

async fn node_answers_null_for_what_is_gone_or_out_of_reach(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let other = app.seed_org("other").await;
    // Another organization's member: null, not an error.
    let body = app.gql(Some(&org.admin_token), NODE, json!({"id": other.rep})).await;
    assert_eq!(body["data"], json!({"node": null}), "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    // A removed checklist item: null.
    let d = app.ok(&org.admin_token, CREATE_STAGE, json!({"i": {"name": "Lead"}})).await;
    let stage = d["createStage"]["stage"]["id"].as_str().unwrap().to_owned();
    let item = app
        .ok(
            &org.admin_token,
            "mutation($i: AddChecklistItemInput!) { addChecklistItem(input: $i) { item { id } } }",
            json!({"i": {"stageId": stage, "label": "Call", "kind": "PROCESS"}}),
        )
        .await["addChecklistItem"]["item"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.ok(&org.admin_token, NODE, json!({"id": item})).await["node"]["id"], json!(item));
    app.ok(
        &org.admin_token,
        "mutation($i: RemoveChecklistItemInput!) { removeChecklistItem(input: $i) { userErrors { code } } }",
        json!({"i": {"id": item}}),
    )
    .await;
    assert_eq!(app.ok(&org.admin_token, NODE, json!({"id": item})).await, json!({"node": null}));
    // A malformed ID: an error, and null.
    let body = app.gql(Some(&org.admin_token), NODE, json!({"id": "bm9wZQ"})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["data"], json!({"node": null}), "{body}");
    // `nodes`: one null per unknown ID, an error (with its index) per malformed one.
    let q = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }";
    let body = app.gql(Some(&org.admin_token), q, json!({"ids": [org.rep, other.rep, "bad", org.manager]})).await;
    assert_eq!(body["data"]["nodes"], json!([{"id": org.rep}, null, null, {"id": org.manager}]), "{body}");
    assert_eq!(body["errors"][0]["path"], json!(["nodes", 2]), "{body}");
    // Alerts, alert rules, API keys, webhooks and deliveries are nodes too, within reach.
    let key = app
        .ok(
            &org.admin_token,
            "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { id } } }",
            json!({"i": {"name": "bi", "scopes": ["org:read"]}}),
        )
        .await["createApiKey"]["apiKey"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let as_admin = app.ok(&org.admin_token, NODE, json!({"id": key})).await;
    assert_eq!(as_admin["node"]["__typename"], "ApiKey", "{as_admin}");
    assert_eq!(app.ok(&org.manager_token, NODE, json!({"id": key})).await, json!({"node": null}), "admins only");
    let rule = app
        .ok(&org.admin_token, "mutation($i: CreateAlertRuleInput!) { createAlertRule(input: $i) { rule { id } userErrors { code message } } }", json!({"i": {"kpiKey": "deals_won", "kind": "BELOW_TARGET_STREAK", "periods": 3}}))
        .await;
    if let Some(rule) = rule["createAlertRule"]["rule"]["id"].as_str() {
        let found = app.ok(&org.rep_token, NODE, json!({"id": rule})).await;
        assert_eq!(found["node"]["__typename"], "AlertRule", "{found}");
    }
}

async fn a_failing_non_null_root_field_nulls_data(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let other = app.seed_org("other").await;
    // `member(id:)` is `Member!`: another organization's member fails it, and with it `data`.
    let body = app
        .gql(
            Some(&org.admin_token),
            "query($id: ID!) { viewer { role } member(id: $id) { name } }",
            json!({"id": other.rep}),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    assert!(body["data"].is_null(), "a non-null root field failed: data is null: {body}");
    assert!(body["errors"][0]["extensions"].get("scorebordRootNulled").is_none(), "the marker stays inside: {body}");
    // `node` is nullable: it fails alone, as null beside `viewer`.
    let body = app.gql(Some(&org.admin_token), "{ viewer { role } node(id: \"bm9wZQ\") { id } }", json!({})).await;
    assert_eq!(body["data"], json!({"viewer": {"role": "ADMIN"}, "node": null}), "{body}");
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

/// `totalCount` is counted only when asked, and it is found however a client asks it: plainly,
/// under an alias, in a named or inline fragment, twice, or on a nested connection.
async fn totals_are_counted_whenever_and_however_they_are_asked(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let d = app.ok(&org.admin_token, CREATE_STAGE, json!({"i": {"name": "Lead"}})).await;
    let stage = d["createStage"]["stage"]["id"].as_str().unwrap().to_owned();
    for i in 0..3 {
        new_deal(app, &org, &stage, &format!("Deal {i}")).await;
    }
    let asks = [
        "{ deals(first: 1) { totalCount } }",
        "{ deals(first: 1) { n: totalCount nodes { id } } }",
        "{ deals(first: 1) { ...Total } } fragment Total on DealConnection { totalCount }",
        "{ deals(first: 1) { ... on DealConnection { totalCount } } }",
        "{ deals(first: 1) { ...Outer } } fragment Outer on DealConnection { ...Inner } fragment Inner on DealConnection { totalCount }",
        "query($yes: Boolean!) { deals(first: 1) { totalCount @include(if: $yes) } }",
    ];
    for q in asks {
        let d = app.ok(&org.admin_token, q, json!({"yes": true})).await;
        let total = d["deals"].as_object().unwrap().values().find(|v| v.is_number()).cloned();
        assert_eq!(total, Some(json!(3)), "{q}: {d}");
    }
    let both = app
        .ok(&org.admin_token, "{ a: deals(first: 1) { nodes { id } } b: deals(first: 2) { totalCount } }", json!({}))
        .await;
    assert_eq!(both["b"]["totalCount"], 3, "{both}");
    let skipped = app
        .ok(
            &org.admin_token,
            "query($yes: Boolean!) { deals(first: 1) { totalCount @include(if: $yes) nodes { id } } }",
            json!({"yes": false}),
        )
        .await;
    assert_eq!(skipped["deals"].as_object().unwrap().len(), 1, "{skipped}");
    let nested = app.ok(&org.admin_token, MEMBER_WORK, json!({"id": org.admin})).await;
    assert!(nested["member"]["deals"]["totalCount"].is_number(), "{nested}");
    let none =
        app.ok(&org.admin_token, "{ deals(first: 2) { nodes { id } pageInfo { hasNextPage } } }", json!({})).await;
    assert_eq!(none["deals"]["pageInfo"]["hasNextPage"], true, "{none}");
}
