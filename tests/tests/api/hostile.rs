//! The hostile input catalogue: malformed bodies, oversized and deeply nested
//! documents, absurd numbers, bad IDs, cursors, enums, dates, time zones and currencies,
//! control characters, invalid UTF-8, oversized uploads and webhooks aimed inside the network.
//! Each case must get its documented status or error code and a clear message, and the
//! catalogue as a whole must write nothing: every table's row count, the organization, a score
//! and a leaderboard are the same before and after. SQL and HTML metacharacters are a write
//! that is expected: they are stored and returned verbatim, and searches treat `%`, `_` and `\`
//! literally.

use std::collections::BTreeMap;
use std::time::Duration;

use scorebord_tests::{Org, TestApp, backend_tests};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

backend_tests!(hostile_input_catalogue_writes_nothing, metacharacters_round_trip_verbatim);

/// Every table user input can reach.
const TABLES: &[&str] = &[
    "organizations",
    "teams",
    "members",
    "refresh_tokens",
    "api_keys",
    "webhooks",
    "webhook_deliveries",
    "activity_types",
    "activities",
    "activity_day_totals",
    "work_item_progress",
    "campaigns",
    "points_targets",
    "custom_fields",
    "pipeline_stages",
    "checklist_items",
    "deals",
    "deal_splits",
    "deal_checklist",
    "deal_stage_history",
    "kpis",
    "kpi_targets",
    "kpi_reports",
    "kpi_week_locks",
    "alert_rules",
    "alerts",
    "mystery_criteria",
    "mystery_rounds",
    "mystery_checks",
    "territories",
    "territory_assignments",
    "quotas",
    "incentive_plans",
    "plan_versions",
    "plan_assignments",
    "statements",
    "statement_lines",
    "disputes",
    "clawbacks",
    "forecast_submissions",
    "forecast_adjustments",
    "audit_log",
    "persisted_queries",
];

/// Small upload limit, so an oversized CSV is cheap to send.
const UPLOAD_LIMIT: usize = 16 * 1024;

/// Who sends a request.
#[derive(Clone, Copy)]
enum Who {
    Admin,
    Rep,
    Nobody,
}

/// How a case is sent.
enum Req {
    /// A GraphQL operation as JSON.
    Gql(Who, String, Value),
    /// A POST to `/graphql` with this content type (none: no header) and these exact bytes.
    Raw(Option<&'static str>, Vec<u8>),
    /// Bytes written to a raw TCP connection after the request head (to declare a length the
    /// client never sends, or to stream a chunked body past the limit).
    Tcp(String, Vec<u8>),
    /// A CSV import (multipart) as the admin.
    Upload(&'static str, Vec<u8>),
    /// A GET of this path as the admin.
    Get(String),
}

/// What must come back.
enum Expect {
    /// This HTTP status, a JSON body with this `extensions.code`, and the message fragment.
    Http(u16, &'static str, &'static str),
    /// HTTP 200 with a GraphQL error of this code whose message contains the fragment.
    Error(&'static str, &'static str),
    /// A mutation payload with a user error of this code whose message contains the fragment.
    UserError(&'static str, &'static str),
    /// An import that committed nothing, with a row error whose message contains the fragment.
    ImportRefused(&'static str),
}

struct Case {
    name: String,
    req: Req,
    expect: Expect,
}

fn gql(name: impl Into<String>, who: Who, query: impl Into<String>, vars: Value, expect: Expect) -> Case {
    Case { name: name.into(), req: Req::Gql(who, query.into(), vars), expect }
}

fn raw(name: &str, content_type: Option<&'static str>, body: impl Into<Vec<u8>>, expect: Expect) -> Case {
    Case { name: name.to_owned(), req: Req::Raw(content_type, body.into()), expect }
}

/// The objects the catalogue aims at.
struct Fixture {
    org: Org,
    other: Org,
    call_type: String,
    deal: String,
    activity: String,
}

const CREATE_TEAM: &str =
    "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id } userErrors { field code message } } }";
const UPDATE_ORG: &str = "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { id } userErrors { field code message } } }";
const LOG: &str =
    "mutation($i: LogActivityInput!) { logActivity(input: $i) { activity { id } userErrors { field code message } } }";
const CREATE_TYPE: &str = "mutation($i: CreateActivityTypeInput!) { createActivityType(input: $i) { activityType { id } userErrors { field code message } } }";
const CREATE_DEAL: &str =
    "mutation($i: DealInput!) { createDeal(input: $i) { deal { id } userErrors { field code message } } }";
const CREATE_MEMBER: &str =
    "mutation($i: CreateMemberInput!) { createMember(input: $i) { member { id } userErrors { field code message } } }";
const CREATE_CAMPAIGN: &str = "mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { campaign { id } userErrors { field code message } } }";
const SET_TARGET: &str =
    "mutation($i: SetPointsTargetInput!) { setPointsTarget(input: $i) { userErrors { field code message } } }";
const SUBMIT_FORECAST: &str = "mutation($i: SubmitForecastInput!) { submitForecast(input: $i) { numbers { commit { amount } } userErrors { field code message } } }";
const SET_QUOTA: &str =
    "mutation($i: SetQuotaInput!) { setQuota(input: $i) { quota { id } userErrors { field code message } } }";
const CREATE_HOOK: &str = "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { id } userErrors { field code message } } }";
const VOID: &str = "mutation($i: VoidActivityInput!) { voidActivity(input: $i) { activity { id } userErrors { field code message } } }";
const MEMBERS: &str = "query($first: Int, $after: String, $last: Int, $before: String, $s: String) { members(first: $first, after: $after, last: $last, before: $before, filter: {search: $s}) { totalCount } }";
const SCORE: &str = "query($p: PeriodInput!) { score(period: $p) { points } }";
const BOARD: &str =
    "query($i: LeaderboardInput!) { leaderboard(input: $i) { entries { rank points member { name } } } }";
const DEALS_IMPORT: &str = "mutation($file: Upload!, $mode: ImportMode!) { importDeals(file: $file, mode: $mode) { committed created errors { row column message } } }";
const ACTIVITIES_IMPORT: &str = "mutation($file: Upload!, $mode: ImportMode!) { importActivities(file: $file, mode: $mode) { committed created errors { row column message } } }";

async fn fixture(app: &TestApp) -> Fixture {
    let org = app.seed_org("hostile").await;
    let other = app.seed_org("other").await;
    let t = app
        .ok(
            &org.admin_token,
            CREATE_TYPE,
            json!({"i": {"name": "Call", "category": "ACTION", "unit": "COUNT", "points": 2}}),
        )
        .await;
    let call_type = t["createActivityType"]["activityType"]["id"].as_str().unwrap().to_owned();
    let l = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call_type, "quantity": 3}})).await;
    let activity = l["logActivity"]["activity"]["id"].as_str().unwrap_or_else(|| panic!("{l}")).to_owned();
    app.ok(
        &org.admin_token,
        "mutation { createStage(input: {name: \"Lead\", kind: OPEN}) { stage { id } } }",
        json!({}),
    )
    .await;
    let d = app.ok(&org.rep_token, CREATE_DEAL, json!({"i": {"name": "Acme", "amount": "1000"}})).await;
    let deal = d["createDeal"]["deal"]["id"].as_str().unwrap_or_else(|| panic!("{d}")).to_owned();
    Fixture { org, other, call_type, deal, activity }
}

/// Row counts of every table, the organization's settings, the rep's score and the board.
async fn snapshot(app: &TestApp, org: &Org) -> BTreeMap<String, Value> {
    let mut s = BTreeMap::new();
    for t in TABLES {
        s.insert((*t).to_owned(), json!(app.count_rows(t).await));
    }
    let o = app
        .ok(
            &org.admin_token,
            "{ organization { name timeZone currency fiscalYearStartMonth activityOpenWindowDays version branding { displayName logoUrl primaryColor } } }",
            json!({}),
        )
        .await;
    s.insert("organization".into(), o["organization"].clone());
    let score = app.ok(&org.rep_token, SCORE, json!({"p": {"grain": "WEEK"}})).await;
    s.insert("score".into(), score["score"].clone());
    let board = app.ok(&org.admin_token, BOARD, json!({"i": {"period": {"grain": "WEEK"}}})).await;
    s.insert("leaderboard".into(), board["leaderboard"].clone());
    s
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

fn nested(open: &str, close: &str, inner: &str, depth: usize) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

fn cases(f: &Fixture, app: &TestApp) -> Vec<Case> {
    use Expect::{Error, Http, ImportRefused, UserError};
    use Who::{Admin, Nobody, Rep};
    let mut c: Vec<Case> = Vec::new();
    let team_mutation = |name: Value| json!({"query": CREATE_TEAM, "variables": {"i": {"name": name}}}).to_string();

    // ---- the HTTP body: malformed JSON, wrong types, wrong content type, invalid UTF-8
    c.push(raw("malformed JSON", Some("application/json"), "{not json", Http(400, "BAD_USER_INPUT", "JSON")));
    c.push(raw(
        "truncated JSON",
        Some("application/json"),
        r#"{"query": "mutation { createTeam(input: {name: \"T\"}) { team { id } } }""#,
        Http(400, "BAD_USER_INPUT", "JSON"),
    ));
    c.push(raw("empty body", Some("application/json"), "", Http(400, "BAD_USER_INPUT", "JSON")));
    c.push(raw(
        "JSON string body",
        Some("application/json"),
        r#""{ viewer { role } }""#,
        Http(400, "BAD_USER_INPUT", ""),
    ));
    c.push(raw("JSON null body", Some("application/json"), "null", Http(400, "BAD_USER_INPUT", "")));
    c.push(raw("query is a number", Some("application/json"), r#"{"query": 42}"#, Http(400, "BAD_USER_INPUT", "")));
    c.push(raw(
        "variables are a list",
        Some("application/json"),
        r#"{"query": "{ viewer { role } }", "variables": [1, 2]}"#,
        Http(400, "BAD_USER_INPUT", ""),
    ));
    c.push(raw(
        "batch of two",
        Some("application/json"),
        format!("[{}, {}]", team_mutation(json!("B1")), team_mutation(json!("B2"))),
        Http(400, "BAD_USER_INPUT", "batch"),
    ));
    c.push(raw(
        "NaN literal in variables",
        Some("application/json"),
        r#"{"query": "mutation($p: Float!) { createActivityType(input: {name: \"N\", category: ACTION, unit: COUNT, points: $p}) { activityType { id } } }", "variables": {"p": NaN}}"#,
        Http(400, "BAD_USER_INPUT", "JSON"),
    ));
    c.push(raw(
        "Infinity literal in variables",
        Some("application/json"),
        r#"{"query": "mutation($p: Float!) { createActivityType(input: {name: \"N\", category: ACTION, unit: COUNT, points: $p}) { activityType { id } } }", "variables": {"p": Infinity}}"#,
        Http(400, "BAD_USER_INPUT", "JSON"),
    ));
    c.push(raw(
        "1,000-deep JSON nesting in variables",
        Some("application/json"),
        format!(r#"{{"query": "{{ viewer {{ role }} }}", "variables": {{"x": {}}}}}"#, nested("[", "]", "1", 1000)),
        Http(400, "BAD_USER_INPUT", "JSON"),
    ));
    let mut invalid_utf8 = br#"{"query": "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id } } }", "variables": {"i": {"name": "bad "#.to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
    invalid_utf8.extend_from_slice(br#""}}}"#);
    c.push(raw(
        "invalid UTF-8 in a string",
        Some("application/json"),
        invalid_utf8,
        Http(400, "BAD_USER_INPUT", "UTF-8"),
    ));
    let mut overlong = br#"{"query": "{ viewer { role } }", "operationName": ""#.to_vec();
    overlong.extend_from_slice(&[0xc0, 0xaf, 0xed, 0xa0, 0x80]);
    overlong.extend_from_slice(br#""}"#);
    c.push(raw(
        "overlong and surrogate UTF-8 bytes",
        Some("application/json"),
        overlong,
        Http(400, "BAD_USER_INPUT", "UTF-8"),
    ));
    c.push(raw(
        "lone surrogate escape",
        Some("application/json"),
        r#"{"query": "mutation { createTeam(input: {name: \"x\"}) { team { id } } }", "variables": {"n": "\ud800"}}"#,
        Http(400, "BAD_USER_INPUT", "JSON"),
    ));
    c.push(raw(
        "duplicate key",
        Some("application/json"),
        r#"{"query": "{ viewer { role } }", "query": "mutation { createTeam(input: {name: \"D\"}) { team { id } } }"}"#,
        Http(400, "BAD_USER_INPUT", "duplicate field"),
    ));
    for ct in ["text/plain", "application/x-www-form-urlencoded", "application/xml", "text/html; charset=utf-8"] {
        c.push(raw(
            &format!("wrong content type {ct}"),
            Some(ct),
            team_mutation(json!("Wrong type")),
            Http(415, "BAD_USER_INPUT", "application/json"),
        ));
    }
    c.push(raw(
        "multipart without operations",
        Some("multipart/form-data; boundary=XyZ"),
        "--XyZ\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{}\r\n--XyZ--\r\n",
        Http(400, "BAD_USER_INPUT", "operations"),
    ));

    // ---- bodies over the limits
    let limit = app.state.config.body_limit_bytes;
    let head = |extra: &str| {
        format!(
            "POST /graphql HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n{extra}\r\n",
            app.addr, f.org.admin_token
        )
    };
    c.push(Case {
        name: "declared body over the limit".into(),
        req: Req::Tcp(
            head(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", limit + 1)),
            b"{\"query\": \"mutation { createTeam(input: {name: \\\"".to_vec(),
        ),
        expect: Http(413, "BAD_USER_INPUT", "limit"),
    });
    let mut chunked = Vec::new();
    chunked.extend_from_slice(b"1e\r\n{\"query\": \"{ viewer { role } }\r\n");
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..(limit / chunk.len() + 2) {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    c.push(Case {
        name: "chunked body that grows past the limit".into(),
        req: Req::Tcp(head("Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"), chunked),
        expect: Http(413, "BAD_USER_INPUT", "limit"),
    });
    c.push(Case {
        name: "declared CSV upload over the upload limit".into(),
        req: Req::Tcp(
            head(&format!(
                "Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n",
                UPLOAD_LIMIT + 1
            )),
            b"--XyZ\r\n".to_vec(),
        ),
        expect: Http(413, "BAD_USER_INPUT", "limit"),
    });
    let mut big_csv = b"externalId,name,ownerEmail,amount\n".to_vec();
    let mut i = 0;
    while big_csv.len() <= UPLOAD_LIMIT {
        big_csv.extend_from_slice(format!("big-{i},Big {i},rep@hostile.test,1.00\n").as_bytes());
        i += 1;
    }
    c.push(Case {
        name: "CSV upload that grows past the upload limit".into(),
        req: Req::Upload(DEALS_IMPORT, big_csv),
        expect: Http(413, "BAD_USER_INPUT", "limit"),
    });

    // ---- CSV contents
    c.push(Case {
        name: "CSV with an unknown column".into(),
        req: Req::Upload(DEALS_IMPORT, b"externalId,colour\nx,red\n".to_vec()),
        expect: Error("BAD_USER_INPUT", "unknown column 'colour'"),
    });
    c.push(Case {
        name: "CSV with invalid UTF-8 in the header".into(),
        req: Req::Upload(DEALS_IMPORT, b"externalId,na\xffme\nx,y\n".to_vec()),
        expect: Error("BAD_USER_INPUT", "header"),
    });
    c.push(Case {
        name: "CSV with invalid UTF-8 in a row".into(),
        req: Req::Upload(DEALS_IMPORT, b"externalId,name\ncsv-1,Fine\ncsv-2,Bro\xffken\n".to_vec()),
        expect: ImportRefused("UTF-8"),
    });
    c.push(Case {
        name: "CSV with a NUL byte in a note".into(),
        req: Req::Upload(
            ACTIVITIES_IMPORT,
            b"externalId,memberEmail,activityType,note\na-1,rep@hostile.test,Call,nul\0here\n".to_vec(),
        ),
        expect: ImportRefused("control"),
    });
    c.push(Case {
        name: "CSV with a ragged row".into(),
        req: Req::Upload(DEALS_IMPORT, b"externalId,name\ncsv-1,One,extra,cells\n".to_vec()),
        expect: ImportRefused("unreadable"),
    });
    c.push(Case {
        name: "CSV with a negative quantity".into(),
        req: Req::Upload(
            ACTIVITIES_IMPORT,
            b"externalId,memberEmail,activityType,quantity\nq-1,rep@hostile.test,Call,-5\n".to_vec(),
        ),
        expect: ImportRefused(""),
    });
    c.push(Case {
        name: "CSV with an absurd amount".into(),
        req: Req::Upload(DEALS_IMPORT, b"externalId,name,amount\nabs-1,Absurd,1e400\n".to_vec()),
        expect: ImportRefused(""),
    });

    // ---- GraphQL documents: syntax, nesting, aliases, fragments
    c.push(gql("syntax error", Rep, "{ viewer { ", json!({}), Error("BAD_USER_INPUT", "")));
    let mut deep = String::from("name");
    for _ in 0..1000 {
        deep = format!("parentTeam {{ {deep} }}");
    }
    c.push(gql(
        "1,000-deep selection",
        Rep,
        format!("{{ teams {{ edges {{ node {{ {deep} }} }} }} }}"),
        json!({}),
        Error("QUERY_TOO_COMPLEX", ""),
    ));
    c.push(gql(
        "1,000-deep list literal",
        Admin,
        format!("mutation {{ createTeam(input: {{name: {}}}) {{ team {{ id }} }} }}", nested("[", "]", "\"x\"", 1000)),
        json!({}),
        Error("QUERY_TOO_COMPLEX", "nested"),
    ));
    c.push(gql(
        "1,000-deep object literal",
        Admin,
        format!("mutation {{ createTeam(input: {}) {{ team {{ id }} }} }}", nested("{name: {a: ", "}}", "1", 1000)),
        json!({}),
        Error("QUERY_TOO_COMPLEX", "nested"),
    ));
    let aliases: String = (0..10_000).map(|i| format!("a{i}: __typename ")).collect();
    c.push(gql("10,000 aliases", Rep, format!("{{ {aliases} }}"), json!({}), Error("QUERY_TOO_COMPLEX", "")));
    let mutation_aliases: String =
        (0..10_000).map(|i| format!("m{i}: createTeam(input: {{name: \"Alias {i}\"}}) {{ team {{ id }} }} ")).collect();
    c.push(gql(
        "10,000 aliased mutations",
        Admin,
        format!("mutation {{ {mutation_aliases} }}"),
        json!({}),
        Error("QUERY_TOO_COMPLEX", ""),
    ));
    c.push(gql(
        "fragment cycle",
        Rep,
        "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        json!({}),
        Error("QUERY_TOO_COMPLEX", ""),
    ));
    c.push(gql(
        "fragment that spreads itself",
        Admin,
        "mutation { ...A } fragment A on Mutation { createTeam(input: {name: \"F\"}) { team { id } } ...A }",
        json!({}),
        Error("QUERY_TOO_COMPLEX", ""),
    ));
    c.push(raw(
        "unknown operation name",
        Some("application/json"),
        json!({"query": "mutation A { createTeam(input: {name: \"Op\"}) { team { id } } }", "operationName": "B"})
            .to_string(),
        Error("BAD_USER_INPUT", "B"),
    ));

    // ---- pagination bounds and cursors
    for (name, vars) in [
        ("first: 1000000", json!({"first": 1_000_000})),
        ("first: -1", json!({"first": -1})),
        ("last: -5", json!({"last": -5})),
        ("first: 0", json!({"first": 0})),
    ] {
        c.push(gql(name, Rep, MEMBERS, vars, Error("BAD_USER_INPUT", "")));
    }
    c.push(gql(
        "first over Int range",
        Rep,
        MEMBERS,
        json!({"first": 99_999_999_999_i64}),
        Error("BAD_USER_INPUT", ""),
    ));
    c.push(gql("first as a float", Rep, MEMBERS, json!({"first": 1.5}), Error("BAD_USER_INPUT", "")));
    c.push(gql(
        "deals first: 1000000",
        Rep,
        "{ deals(first: 1000000) { totalCount } }",
        json!({}),
        Error("BAD_USER_INPUT", ""),
    ));
    c.push(gql(
        "leaderboard first: 1000000",
        Rep,
        BOARD,
        json!({"i": {"period": {"grain": "WEEK"}, "first": 1_000_000}}),
        Error("BAD_USER_INPUT", ""),
    ));
    for cursor in [
        "garbage",
        "",
        &b64("cursor:-1"),
        &b64("cursor:99999999999999999999999"),
        &b64("cursor:abc"),
        &"A".repeat(10_000),
    ] {
        c.push(gql(
            format!("bad cursor {:.20}", cursor),
            Rep,
            MEMBERS,
            json!({"after": cursor}),
            Error("BAD_USER_INPUT", "cursor"),
        ));
    }

    // ---- global IDs: malformed, wrong type, foreign
    for (name, id) in [
        ("empty ID", String::new()),
        ("garbage ID", "nonsense!".to_owned()),
        ("10,000-character ID", "QQ".repeat(5_000)),
        ("ID of an unknown type", b64("Spaceship:019a0000-0000-7000-8000-000000000000")),
        ("ID with a bad UUID", b64("Team:not-a-uuid")),
        ("ID that is not UTF-8", {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xff, 0xfe, b':', b'x'])
        }),
        ("SQL as an ID", "'; DROP TABLE members; --".to_owned()),
        ("member ID as a team ID", f.org.rep.clone()),
    ] {
        c.push(gql(
            format!("parentTeamId: {name}"),
            Admin,
            CREATE_TEAM,
            json!({"i": {"name": "Child", "parentTeamId": id}}),
            Error("BAD_USER_INPUT", "ID"),
        ));
    }
    c.push(gql(
        "foreign team as parent",
        Admin,
        CREATE_TEAM,
        json!({"i": {"name": "Child", "parentTeamId": f.other.sales}}),
        Error("NOT_FOUND", "not found"),
    ));
    c.push(gql(
        "activity type ID of the wrong type",
        Rep,
        LOG,
        json!({"i": {"activityTypeId": f.deal}}),
        Error("BAD_USER_INPUT", "ID"),
    ));
    c.push(gql(
        "foreign member for an activity",
        Admin,
        LOG,
        json!({"i": {"activityTypeId": f.call_type, "memberId": f.other.rep}}),
        Error("NOT_FOUND", "not found"),
    ));
    c.push(gql(
        "foreign deal read",
        Admin,
        "query($id: ID!) { deal(id: $id) { name } }",
        json!({"id": b64(&format!("Deal:{}", uuid::Uuid::nil()))}),
        Error("NOT_FOUND", "not found"),
    ));
    c.push(gql(
        "void of a foreign activity ID",
        Admin,
        VOID,
        json!({"i": {"id": b64(&format!("Activity:{}", uuid::Uuid::nil())), "reason": "x"}}),
        Error("NOT_FOUND", "not found"),
    ));

    // ---- unknown enum values
    c.push(gql(
        "unknown enum literal",
        Rep,
        "{ members(filter: {role: SUPERUSER}) { totalCount } }",
        json!({}),
        Error("BAD_USER_INPUT", "SUPERUSER"),
    ));
    for (name, v) in [
        ("unknown enum variable", json!("SUPERUSER")),
        ("lower-case enum", json!("outbound")),
        ("enum as a number", json!(1)),
    ] {
        c.push(gql(
            name,
            Admin,
            CREATE_MEMBER,
            json!({"i": {"name": "Enum", "email": "enum@hostile.test", "salesRole": v}}),
            Error("BAD_USER_INPUT", "SalesRole"),
        ));
    }

    // ---- wrong variable types
    c.push(gql("number for a String!", Admin, CREATE_TEAM, json!({"i": {"name": 42}}), Error("BAD_USER_INPUT", "")));
    c.push(gql("string for an input object", Admin, CREATE_TEAM, json!({"i": "team"}), Error("BAD_USER_INPUT", "")));
    c.push(gql("missing required input", Admin, CREATE_TEAM, json!({}), Error("BAD_USER_INPUT", "")));
    c.push(gql(
        "unknown input field",
        Admin,
        CREATE_TEAM,
        json!({"i": {"name": "U", "colour": "red"}}),
        Error("BAD_USER_INPUT", "colour"),
    ));

    // ---- negative, absurd and non-finite numbers
    let log = |name: &str, input: Value, expect: Expect| {
        let mut i = json!({"activityTypeId": f.call_type});
        i.as_object_mut().unwrap().extend(input.as_object().unwrap().clone());
        gql(name, Rep, LOG, json!({"i": i}), expect)
    };
    c.push(log("negative quantity", json!({"quantity": -1}), UserError("OUT_OF_RANGE", "")));
    c.push(log("zero quantity", json!({"quantity": 0}), UserError("OUT_OF_RANGE", "")));
    c.push(log("absurd quantity", json!({"quantity": 2_147_483_647}), UserError("OUT_OF_RANGE", "")));
    c.push(log("quantity over Int range", json!({"quantity": 4_294_967_296_i64}), Error("BAD_USER_INPUT", "")));
    c.push(log("progress on a COUNT type", json!({"progressPercent": 150}), UserError("", "")));
    let activity_type = |name: &str, points: Value, expect: Expect| {
        gql(
            name,
            Admin,
            CREATE_TYPE,
            json!({"i": {"name": name, "category": "ACTION", "unit": "COUNT", "points": points}}),
            expect,
        )
    };
    c.push(activity_type("negative points", json!(-5), UserError("OUT_OF_RANGE", "")));
    c.push(activity_type("absurd points", json!(1e300), UserError("OUT_OF_RANGE", "")));
    c.push(activity_type("points as \"NaN\"", json!("NaN"), Error("BAD_USER_INPUT", "")));
    c.push(activity_type("points as \"Infinity\"", json!("Infinity"), Error("BAD_USER_INPUT", "")));
    c.push(gql(
        "points literal 1e999",
        Admin,
        "mutation { createActivityType(input: {name: \"Inf\", category: ACTION, unit: COUNT, points: 1e999}) { activityType { id } userErrors { code message } } }",
        json!({}),
        Error("BAD_USER_INPUT", ""),
    ));
    c.push(gql(
        "step percent of -10",
        Admin,
        CREATE_TYPE,
        json!({"i": {"name": "Step", "category": "ACTION", "unit": "PROGRESS", "points": 1, "stepPercent": -10}}),
        UserError("", ""),
    ));
    let deal = |name: &str, input: Value, expect: Expect| {
        let mut i = json!({"name": name});
        i.as_object_mut().unwrap().extend(input.as_object().unwrap().clone());
        gql(name, Rep, CREATE_DEAL, json!({"i": i}), expect)
    };
    for amount in ["-100", "1e400", "NaN", "Infinity", "99999999999999999999999999999999", "1,000", "0x10", "١٢٣"] {
        c.push(deal(&format!("deal amount {amount}"), json!({"amount": amount}), UserError("", "amount")));
    }
    c.push(deal("deal probability 101", json!({"probability": 101}), UserError("", "")));
    c.push(deal("deal probability -1", json!({"probability": -1}), UserError("", "")));
    c.push(deal("deal company size -1", json!({"companySize": -1}), UserError("", "")));
    c.push(gql(
        "negative weekly points target",
        Admin,
        SET_TARGET,
        json!({"i": {"salesRole": "OUTBOUND", "weeklyPoints": -1, "reason": "x"}}),
        UserError("", ""),
    ));
    c.push(gql(
        "absurd weekly points target",
        Admin,
        SET_TARGET,
        json!({"i": {"salesRole": "OUTBOUND", "weeklyPoints": 1e300, "reason": "x"}}),
        UserError("", ""),
    ));
    for (name, multiplier) in
        [("campaign multiplier 0", 0.0), ("campaign multiplier -2", -2.0), ("campaign multiplier 1e300", 1e300)]
    {
        c.push(gql(
            name,
            Admin,
            CREATE_CAMPAIGN,
            json!({"i": {"name": "Camp", "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-02-01T00:00:00Z", "multiplier": multiplier}}),
            UserError("", ""),
        ));
    }
    for (name, input) in [
        ("fiscal month 13", json!({"fiscalYearStartMonth": 13})),
        ("fiscal month 0", json!({"fiscalYearStartMonth": 0})),
        ("open window -1", json!({"activityOpenWindowDays": -1})),
        ("open window 1000000", json!({"activityOpenWindowDays": 1_000_000})),
    ] {
        c.push(gql(name, Admin, UPDATE_ORG, json!({"i": input}), UserError("", "")));
    }
    for (name, commit) in
        [("forecast commit -1", "-1"), ("forecast commit Infinity", "Infinity"), ("forecast commit 1e400", "1e400")]
    {
        c.push(gql(name, Rep, SUBMIT_FORECAST, json!({"i": {"commit": commit, "bestCase": "10"}}), UserError("", "")));
    }
    c.push(gql(
        "negative quota",
        Admin,
        SET_QUOTA,
        json!({"i": {"subjectId": f.org.rep, "metric": "REVENUE", "grain": "QUARTER", "period": "2026-01-01", "amount": "-1"}}),
        UserError("", ""),
    ));

    // ---- 1 MB strings
    let mb = "x".repeat(1_000_000);
    c.push(gql("1 MB team name", Admin, CREATE_TEAM, json!({"i": {"name": mb}}), UserError("TOO_LONG", "")));
    c.push(log("1 MB activity note", json!({"note": mb}), UserError("TOO_LONG", "")));
    c.push(log("1 MB idempotency key", json!({"idempotencyKey": mb}), UserError("", "")));
    c.push(deal("1 MB deal company", json!({"company": mb}), UserError("", "")));
    c.push(gql("1 MB search", Rep, MEMBERS, json!({"s": mb}), Error("BAD_USER_INPUT", "")));
    c.push(gql(
        "1 MB webhook description",
        Admin,
        CREATE_HOOK,
        json!({"i": {"url": "https://93.184.216.34/hook", "events": ["deal.won"], "description": mb}}),
        UserError("TOO_LONG", ""),
    ));
    c.push(gql("1 MB organization name", Admin, UPDATE_ORG, json!({"i": {"name": mb}}), UserError("TOO_LONG", "")));

    // ---- control characters (NUL cannot even be stored by PostgreSQL)
    c.push(gql(
        "NUL in a team name",
        Admin,
        CREATE_TEAM,
        json!({"i": {"name": "a\u{0}b"}}),
        Error("BAD_USER_INPUT", "NUL"),
    ));
    c.push(gql(
        "NUL escape in a literal",
        Admin,
        "mutation { createTeam(input: {name: \"a\\u0000b\"}) { team { id } } }",
        json!({}),
        Error("BAD_USER_INPUT", "NUL"),
    ));
    for (name, text) in [
        ("escape sequence", "\u{1b}[31mred"),
        ("bell", "ding\u{7}"),
        ("DEL", "x\u{7f}"),
        ("C1 control", "a\u{85}b"),
        ("carriage return", "a\rb"),
    ] {
        c.push(gql(
            format!("{name} in a team name"),
            Admin,
            CREATE_TEAM,
            json!({"i": {"name": text}}),
            UserError("INVALID", "control"),
        ));
        c.push(deal(&format!("{name} in a deal name"), json!({"name": text}), UserError("INVALID", "control")));
    }
    // Free text (descriptions, themes, reasons) keeps line breaks and tabs, nothing else.
    for (name, query, vars) in [
        ("bell in a team description", CREATE_TEAM, json!({"i": {"name": "Desc", "description": "ding\u{7}"}})),
        (
            "escape sequence in a webhook description",
            CREATE_HOOK,
            json!({"i": {"url": "https://93.184.216.34/hook", "events": ["deal.won"], "description": "\u{1b}[31mred"}}),
        ),
        (
            "C1 control in a campaign theme",
            CREATE_CAMPAIGN,
            json!({"i": {"name": "C", "theme": "a\u{85}b", "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-02-01T00:00:00Z", "multiplier": 2}}),
        ),
        (
            "DEL in a points target reason",
            SET_TARGET,
            json!({"i": {"salesRole": "OUTBOUND", "weeklyPoints": 10, "reason": "r\u{7f}"}}),
        ),
    ] {
        c.push(gql(name, Admin, query, vars, UserError("INVALID", "control")));
    }
    c.push(log("bell in an activity note", json!({"note": "ding\u{7}"}), UserError("INVALID", "control")));
    c.push(gql(
        "NUL in a team description",
        Admin,
        CREATE_TEAM,
        json!({"i": {"name": "Desc", "description": "a\u{0}b"}}),
        Error("BAD_USER_INPUT", "NUL"),
    ));
    c.push(log("NUL in an activity note", json!({"note": "a\u{0}b"}), Error("BAD_USER_INPUT", "NUL")));
    c.push(log("NUL in an idempotency key", json!({"idempotencyKey": "k\u{0}"}), Error("BAD_USER_INPUT", "NUL")));
    c.push(deal("NUL in a deal name", json!({"name": "a\u{0}b"}), Error("BAD_USER_INPUT", "NUL")));
    c.push(deal("NUL in a deal address", json!({"address": "street\u{0}1"}), Error("BAD_USER_INPUT", "NUL")));
    c.push(gql(
        "NUL in a member name",
        Admin,
        CREATE_MEMBER,
        json!({"i": {"name": "a\u{0}b", "email": "nul@hostile.test", "salesRole": "OUTBOUND"}}),
        Error("BAD_USER_INPUT", "NUL"),
    ));
    c.push(gql(
        "NUL in a void reason",
        Admin,
        VOID,
        json!({"i": {"id": f.activity, "reason": "oops\u{0}"}}),
        Error("BAD_USER_INPUT", "NUL"),
    ));
    c.push(gql(
        "NUL in a campaign theme",
        Admin,
        CREATE_CAMPAIGN,
        json!({"i": {"name": "C", "theme": "t\u{0}", "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-02-01T00:00:00Z", "multiplier": 2}}),
        Error("BAD_USER_INPUT", "NUL"),
    ));
    c.push(gql(
        "NUL in a webhook description",
        Admin,
        CREATE_HOOK,
        json!({"i": {"url": "https://93.184.216.34/hook", "events": ["deal.won"], "description": "d\u{0}"}}),
        Error("BAD_USER_INPUT", "NUL"),
    ));
    c.push(gql(
        "NUL in a points target reason",
        Admin,
        SET_TARGET,
        json!({"i": {"salesRole": "OUTBOUND", "weeklyPoints": 10, "reason": "r\u{0}"}}),
        Error("BAD_USER_INPUT", "NUL"),
    ));
    c.push(gql("NUL in a member search", Rep, MEMBERS, json!({"s": "a\u{0}"}), Error("BAD_USER_INPUT", "NUL")));
    c.push(gql(
        "NUL in a deal search",
        Rep,
        "query($s: String) { deals(filter: {search: $s}) { totalCount } }",
        json!({"s": "a\u{0}"}),
        Error("BAD_USER_INPUT", "NUL"),
    ));
    c.push(gql(
        "NUL in a login e-mail",
        Nobody,
        "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        json!({"i": {"organizationSlug": "hostile", "email": "admin@hostile.test\u{0}", "password": "x"}}),
        Error("BAD_USER_INPUT", "NUL"),
    ));
    c.push(gql(
        "wrong password",
        Nobody,
        "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        json!({"i": {"organizationSlug": "hostile", "email": "admin@hostile.test", "password": "' OR '1'='1"}}),
        Error("UNAUTHENTICATED", ""),
    ));

    // ---- time zones and currencies
    for tz in [
        "Mars/Olympus_Mons",
        "",
        "UTC; DROP TABLE organizations",
        "+25:00",
        "../../etc/passwd",
        &"Europe/".repeat(1000),
    ] {
        c.push(gql(
            format!("time zone {tz:.30}"),
            Admin,
            UPDATE_ORG,
            json!({"i": {"timeZone": tz}}),
            UserError("INVALID", ""),
        ));
    }
    c.push(gql(
        "currency with NUL",
        Admin,
        UPDATE_ORG,
        json!({"i": {"currency": "E\u{0}R"}}),
        Error("BAD_USER_INPUT", "NUL"),
    ));
    for cur in ["EURO", "", "€", "XYZ", "eu", "DROP"] {
        c.push(gql(
            format!("currency {cur:?}"),
            Admin,
            UPDATE_ORG,
            json!({"i": {"currency": cur}}),
            UserError("INVALID", ""),
        ));
    }

    // ---- dates at year 0 and 9999, and beyond
    for (name, date) in
        [("score in year 0", "0000-01-01"), ("score in 9999-12-31", "9999-12-31"), ("score in year -1", "-0001-06-01")]
    {
        c.push(gql(name, Rep, SCORE, json!({"p": {"grain": "WEEK", "date": date}}), Error("BAD_USER_INPUT", "")));
    }
    for grain in ["MONTH", "QUARTER", "YEAR"] {
        c.push(gql(
            format!("leaderboard {grain} of 9999-12-31"),
            Rep,
            BOARD,
            json!({"i": {"period": {"grain": grain, "date": "9999-12-31"}}}),
            Error("BAD_USER_INPUT", ""),
        ));
    }
    c.push(gql(
        "date in year 10000",
        Rep,
        SCORE,
        json!({"p": {"grain": "WEEK", "date": "10000-01-01"}}),
        Error("BAD_USER_INPUT", ""),
    ));
    c.push(gql(
        "date 2026-02-30",
        Rep,
        SCORE,
        json!({"p": {"grain": "WEEK", "date": "2026-02-30"}}),
        Error("BAD_USER_INPUT", ""),
    ));
    c.push(log("activity in year 0", json!({"occurredAt": "0000-01-01T00:00:00Z"}), UserError("OUT_OF_RANGE", "")));
    c.push(log("activity in 9999", json!({"occurredAt": "9999-12-31T23:59:59Z"}), UserError("OUT_OF_RANGE", "")));
    c.push(log("activity with a garbage time", json!({"occurredAt": "yesterday"}), Error("BAD_USER_INPUT", "")));
    c.push(gql(
        "campaign starting in year 0",
        Admin,
        CREATE_CAMPAIGN,
        json!({"i": {"name": "Ancient", "startsAt": "0000-01-01T00:00:00Z", "endsAt": "2026-02-01T00:00:00Z", "multiplier": 2}}),
        UserError("OUT_OF_RANGE", ""),
    ));
    c.push(gql(
        "campaign ending in 9999",
        Admin,
        CREATE_CAMPAIGN,
        json!({"i": {"name": "Endless", "startsAt": "2026-01-01T00:00:00Z", "endsAt": "9999-12-31T00:00:00Z", "multiplier": 2}}),
        UserError("OUT_OF_RANGE", ""),
    ));
    c.push(gql(
        "points target from year 0",
        Admin,
        SET_TARGET,
        json!({"i": {"salesRole": "OUTBOUND", "weeklyPoints": 20, "reason": "x", "effectiveFrom": "0000-01-01"}}),
        UserError("OUT_OF_RANGE", ""),
    ));
    c.push(gql(
        "points target from 9999",
        Admin,
        SET_TARGET,
        json!({"i": {"salesRole": "OUTBOUND", "weeklyPoints": 20, "reason": "x", "effectiveFrom": "9999-12-31"}}),
        UserError("OUT_OF_RANGE", ""),
    ));
    c.push(deal("deal closing in 9999", json!({"expectedCloseDate": "9999-12-31"}), UserError("OUT_OF_RANGE", "")));
    c.push(deal("deal closing in year 0", json!({"expectedCloseDate": "0000-01-01"}), UserError("OUT_OF_RANGE", "")));
    c.push(deal(
        "lead created in year 0",
        json!({"leadCreatedAt": "0000-01-01T00:00:00Z"}),
        UserError("OUT_OF_RANGE", ""),
    ));
    c.push(deal(
        "first contact in 9999",
        json!({"firstContactAt": "9999-12-31T23:59:59Z"}),
        UserError("OUT_OF_RANGE", ""),
    ));
    c.push(gql(
        "member starting in year 0",
        Admin,
        CREATE_MEMBER,
        json!({"i": {"name": "Old", "email": "old@hostile.test", "salesRole": "OUTBOUND", "startDate": "0000-01-01"}}),
        UserError("", ""),
    ));
    c.push(gql(
        "quota for 9999",
        Admin,
        SET_QUOTA,
        json!({"i": {"subjectId": f.org.rep, "metric": "REVENUE", "grain": "YEAR", "period": "9999-12-31", "amount": "10"}}),
        UserError("OUT_OF_RANGE", ""),
    ));
    c.push(gql(
        "forecast for year 0",
        Rep,
        SUBMIT_FORECAST,
        json!({"i": {"commit": "1", "bestCase": "2", "period": {"grain": "QUARTER", "date": "0000-01-01"}}}),
        UserError("OUT_OF_RANGE", ""),
    ));
    c.push(gql(
        "scoreboard of year 0",
        Admin,
        "query($t: ID!) { scoreboard(teamId: $t, week: \"0000-01-03\") { weekStart } }",
        json!({"t": f.org.outbound}),
        Error("BAD_USER_INPUT", "week"),
    ));
    c.push(gql(
        "evaluate alerts in 9999",
        Admin,
        "mutation { evaluateAlerts(week: \"9999-12-31\") { alerts { id } userErrors { field code message } } }",
        json!({}),
        UserError("OUT_OF_RANGE", ""),
    ));
    c.push(gql(
        "evaluate alerts in year 0",
        Admin,
        "mutation { evaluateAlerts(week: \"0000-01-03\") { alerts { id } userErrors { field code message } } }",
        json!({}),
        UserError("OUT_OF_RANGE", "1900"),
    ));
    c.push(Case {
        name: "payroll export of year 0".into(),
        req: Req::Get("/exports/payouts.csv?period=0000-01-01&grain=YEAR".into()),
        expect: Http(400, "BAD_USER_INPUT", "period"),
    });
    c.push(Case {
        name: "payroll export of 9999".into(),
        req: Req::Get("/exports/payouts.csv?period=9999-12-31&grain=YEAR".into()),
        expect: Http(400, "BAD_USER_INPUT", "period"),
    });

    // ---- webhooks aimed inside the network
    for url in [
        "http://127.0.0.1/hook",
        "http://127.1/hook",
        "http://2130706433/hook",
        "http://0x7f000001/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://[::1]/hook",
        "http://[::]/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://[64:ff9b::a9fe:a9fe]/hook",
        "http://[2002:7f00:1::]/hook",
        "http://[ff02::1]/hook",
    ] {
        c.push(gql(
            format!("webhook to {url}"),
            Admin,
            CREATE_HOOK,
            json!({"i": {"url": url, "events": ["deal.won"]}}),
            UserError("PRIVATE_ADDRESS", "private network"),
        ));
    }
    for (url, code) in [
        ("file:///etc/passwd", "INVALID"),
        ("gopher://127.0.0.1:25/", "INVALID"),
        ("javascript:alert(1)", "INVALID"),
        ("http://user:pass@example.com/", "INVALID"),
        ("not a url", "INVALID"),
        ("http://does-not-exist.invalid/hook", "UNRESOLVABLE"),
    ] {
        c.push(gql(
            format!("webhook to {url}"),
            Admin,
            CREATE_HOOK,
            json!({"i": {"url": url, "events": ["deal.won"]}}),
            UserError(code, ""),
        ));
    }
    c.push(gql(
        "webhook for an unknown event",
        Admin,
        CREATE_HOOK,
        json!({"i": {"url": "https://93.184.216.34/hook", "events": ["deal.*", "'; DROP TABLE webhooks; --"]}}),
        UserError("INVALID", ""),
    ));

    // ---- authentication and persisted queries
    c.push(gql(
        "mutation without a token",
        Nobody,
        CREATE_TEAM,
        json!({"i": {"name": "Anon"}}),
        Error("UNAUTHENTICATED", ""),
    ));
    c.push(raw(
        "persisted query with a garbage hash",
        Some("application/json"),
        r#"{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "'; DROP TABLE persisted_queries; --"}}}"#,
        Error("PERSISTED_QUERY_NOT_FOUND", ""),
    ));
    c.push(raw(
        "persisted query whose hash does not match",
        Some("application/json"),
        format!(
            r#"{{"query": "mutation {{ createTeam(input: {{name: \"APQ\"}}) {{ team {{ id }} }} }}", "extensions": {{"persistedQuery": {{"version": 1, "sha256Hash": "{}"}}}}}}"#,
            "0".repeat(64)
        ),
        Error("BAD_USER_INPUT", "hash"),
    ));
    c
}

/// Sends a case; returns the HTTP status and the body text.
async fn send(app: &TestApp, f: &Fixture, req: &Req) -> (u16, String) {
    let url = format!("{}/graphql", app.base_url);
    let token = |who: Who| match who {
        Who::Admin => Some(f.org.admin_token.clone()),
        Who::Rep => Some(f.org.rep_token.clone()),
        Who::Nobody => None,
    };
    let resp = match req {
        Req::Gql(who, query, vars) => {
            let mut r = app.client.post(&url).json(&json!({"query": query, "variables": vars}));
            if let Some(t) = token(*who) {
                r = r.bearer_auth(t);
            }
            r.send().await
        }
        Req::Raw(content_type, body) => {
            let mut r = app.client.post(&url).bearer_auth(&f.org.admin_token).body(body.clone());
            if let Some(ct) = content_type {
                r = r.header("content-type", *ct);
            }
            r.send().await
        }
        Req::Get(path) => {
            app.client.get(format!("{}{path}", app.base_url)).bearer_auth(&f.org.admin_token).send().await
        }
        Req::Upload(query, csv) => {
            let operations = json!({"query": query, "variables": {"file": null, "mode": "ALL_OR_NOTHING"}});
            let form = reqwest::multipart::Form::new()
                .text("operations", operations.to_string())
                .text("map", json!({"0": ["variables.file"]}).to_string())
                .part(
                    "0",
                    reqwest::multipart::Part::bytes(csv.clone()).file_name("import.csv").mime_str("text/csv").unwrap(),
                );
            app.client.post(&url).bearer_auth(&f.org.admin_token).multipart(form).send().await
        }
        Req::Tcp(head, body) => return tcp(app, head, body).await,
    };
    let resp = resp.expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// Writes a request head and body to a raw connection (ignoring a server that stops reading)
/// and reads the answer.
async fn tcp(app: &TestApp, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let (mut rd, mut wr) = stream.split();
    let write = async {
        let _ = wr.write_all(head.as_bytes()).await;
        let _ = wr.write_all(body).await;
        let _ = wr.flush().await;
    };
    let read = async {
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), rd.read_to_end(&mut buf)).await;
        buf
    };
    let ((), buf) = tokio::join!(write, read);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
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

/// Why the answer does not match, if it does not.
fn check(expect: &Expect, status: u16, body: &str) -> Result<(), String> {
    if status >= 500 {
        return Err(format!("HTTP {status}"));
    }
    if body.contains("INTERNAL") {
        return Err("an INTERNAL error".into());
    }
    let json: Option<Value> = serde_json::from_str(body).ok();
    // GraphQL errors, or the `{"error": {code, message}}` of the CSV export.
    let first_error = |j: &Value| {
        let e = if j["errors"].is_array() { &j["errors"][0] } else { &j["error"] };
        let code = e["extensions"]["code"].as_str().or(e["code"].as_str()).unwrap_or("");
        (code.to_owned(), e["message"].as_str().unwrap_or("").to_owned())
    };
    match expect {
        Expect::Http(want_status, want_code, fragment) => {
            if status != *want_status {
                return Err(format!("HTTP {status}, wanted {want_status}"));
            }
            let Some(j) = json else { return Err("the body is not JSON".into()) };
            let (code, message) = first_error(&j);
            if code != *want_code {
                return Err(format!("code {code:?}, wanted {want_code}"));
            }
            if !message.to_lowercase().contains(&fragment.to_lowercase()) {
                return Err(format!("message {message:?} lacks {fragment:?}"));
            }
        }
        Expect::Error(want_code, fragment) => {
            if status != 200 {
                return Err(format!("HTTP {status}"));
            }
            let Some(j) = json else { return Err("the body is not JSON".into()) };
            let (code, message) = first_error(&j);
            if code != *want_code {
                return Err(format!("code {code:?}, wanted {want_code}"));
            }
            if message.is_empty() || !message.to_lowercase().contains(&fragment.to_lowercase()) {
                return Err(format!("message {message:?} lacks {fragment:?}"));
            }
        }
        Expect::UserError(want_code, fragment) => {
            let Some(j) = json else { return Err(format!("HTTP {status}: the body is not JSON")) };
            if j.get("errors").is_some() {
                return Err(format!("a GraphQL error instead of a user error: {:?}", first_error(&j)));
            }
            let mut errors = Vec::new();
            user_errors(&j["data"], &mut errors);
            let hit = errors.iter().any(|e| {
                let code = e["code"].as_str().unwrap_or("");
                let message = e["message"].as_str().unwrap_or("");
                let about = format!("{} {message}", e["field"]);
                (want_code.is_empty() || code == *want_code)
                    && !message.is_empty()
                    && about.to_lowercase().contains(&fragment.to_lowercase())
            });
            if !hit {
                return Err(format!("no user error {want_code:?} with {fragment:?} in {errors:?}"));
            }
        }
        Expect::ImportRefused(fragment) => {
            let Some(j) = json else { return Err(format!("HTTP {status}: the body is not JSON")) };
            let result = j["data"].as_object().and_then(|d| d.values().next()).cloned().unwrap_or(Value::Null);
            if result["committed"] != json!(false) {
                return Err(format!("not refused: {j}"));
            }
            let listed = result["errors"].as_array().is_some_and(|e| {
                e.iter()
                    .any(|e| e["message"].as_str().is_some_and(|m| m.to_lowercase().contains(&fragment.to_lowercase())))
            });
            if !listed {
                return Err(format!("no row error with {fragment:?}: {}", result["errors"]));
            }
        }
    }
    Ok(())
}

async fn hostile_input_catalogue_writes_nothing(app: &TestApp) {
    let app = &TestApp::spawn_with(app.backend, |c| {
        c.webhooks_allow_private = false;
        c.upload_limit_bytes = UPLOAD_LIMIT;
    })
    .await;
    let f = fixture(app).await;
    let before = snapshot(app, &f.org).await;
    assert_ne!(before["score"]["points"], json!(0.0), "the rep has points to lose: {before:?}");
    let cases = cases(&f, app);
    let mut failures = Vec::new();
    for case in &cases {
        if std::env::var("HOSTILE_TRACE").is_ok() {
            eprintln!("case: {}", case.name);
        }
        let (status, body) = send(app, &f, &case.req).await;
        if let Err(why) = check(&case.expect, status, &body) {
            failures.push(format!("{}: {why}\n    {}", case.name, body.chars().take(400).collect::<String>()));
        }
    }
    // The server is still up and answers.
    app.ok(&f.org.rep_token, "{ viewer { role } }", json!({})).await;
    let after = snapshot(app, &f.org).await;
    let changed: Vec<String> = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}: {v} → {}", after[k]))
        .collect();
    assert!(
        failures.is_empty() && changed.is_empty(),
        "{} of {} cases failed:\n{}\nchanged by the catalogue: {changed:?}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(cases.len() >= 200, "the catalogue has {} cases", cases.len());
}

/// SQL, HTML and LIKE metacharacters, quotes, and non-ASCII text.
const HOSTILE_TEXT: &[&str] = &[
    "'; DROP TABLE members; --",
    "<script>alert(1)</script>",
    "100% _sure_ \\ back\\slash",
    "Robert\"); DELETE FROM deals WHERE ('1'='1",
    "O'Brien & <b>Søn</b> — 日本 🚀",
];

/// Runs a mutation and returns the value at `path` in `data`; the mutation must succeed.
async fn stored(app: &TestApp, token: &str, query: &str, vars: Value, path: &[&str]) -> Value {
    let d = app.ok(token, query, vars).await;
    let mut v = &d;
    for p in path {
        v = &v[*p];
    }
    let mut errors = Vec::new();
    user_errors(&d, &mut errors);
    assert!(errors.is_empty(), "{query}: {d}");
    v.clone()
}

async fn metacharacters_round_trip_verbatim(app: &TestApp) {
    let org = app.seed_org("meta").await;
    let admin = org.admin_token.as_str();
    app.ok(admin, "mutation { createStage(input: {name: \"Lead\", kind: OPEN}) { stage { id } } }", json!({})).await;
    let members_before = app.count_rows("members").await;
    for (i, text) in HOSTILE_TEXT.iter().enumerate() {
        let text = (*text).to_owned();
        let expect = json!(text);
        // Organization name and display name.
        let o = stored(app, admin, "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { name branding { displayName } } userErrors { field code message } } }", json!({"i": {"name": text, "displayName": text}}), &["updateOrganization", "organization"]).await;
        assert_eq!((&o["name"], &o["branding"]["displayName"]), (&expect, &expect));
        // A team's name and description.
        let t = stored(app, admin, "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id name description } userErrors { field code message } } }", json!({"i": {"name": format!("{text} {i}"), "description": text}}), &["createTeam", "team"]).await;
        assert_eq!((t["name"].as_str().unwrap(), &t["description"]), (format!("{text} {i}").as_str(), &expect));
        let read =
            app.ok(admin, "query($id: ID!) { team(id: $id) { name description } }", json!({"id": t["id"]})).await;
        assert_eq!(read["team"]["description"], expect, "read back");
        // A member's name.
        let m = stored(
            app,
            admin,
            CREATE_MEMBER.replace("member { id }", "member { id name }").as_str(),
            json!({"i": {"name": format!("{text} {i}"), "email": format!("m{i}@meta.test"), "salesRole": "OUTBOUND"}}),
            &["createMember", "member"],
        )
        .await;
        assert_eq!(m["name"].as_str().unwrap(), format!("{text} {i}"));
        // An activity type, an activity's note and idempotency key, and a void reason.
        let at = stored(app, admin, "mutation($i: CreateActivityTypeInput!) { createActivityType(input: $i) { activityType { id name description } userErrors { field code message } } }", json!({"i": {"name": format!("{text} {i}"), "description": text, "category": "ACTION", "unit": "COUNT", "points": 1}}), &["createActivityType", "activityType"]).await;
        assert_eq!(at["description"], expect);
        let a = stored(app, &org.rep_token, "mutation($i: LogActivityInput!) { logActivity(input: $i) { activity { id note idempotencyKey } userErrors { field code message } } }", json!({"i": {"activityTypeId": at["id"], "note": text, "idempotencyKey": text}}), &["logActivity", "activity"]).await;
        assert_eq!((&a["note"], &a["idempotencyKey"]), (&expect, &expect));
        let v = stored(app, admin, "mutation($i: VoidActivityInput!) { voidActivity(input: $i) { activity { voidReason } userErrors { field code message } } }", json!({"i": {"id": a["id"], "reason": text}}), &["voidActivity", "activity"]).await;
        assert_eq!(v["voidReason"], expect);
        // A campaign's name, theme and reward.
        let c = stored(app, admin, "mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { campaign { name theme reward } userErrors { field code message } } }", json!({"i": {"name": format!("{text} {i}"), "theme": text, "reward": text, "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-02-01T00:00:00Z", "multiplier": 2}}), &["createCampaign", "campaign"]).await;
        assert_eq!((&c["theme"], &c["reward"]), (&expect, &expect));
        // A deal's free-text fields.
        let d = stored(app, &org.rep_token, "mutation($i: DealInput!) { createDeal(input: $i) { deal { name company leadSource address industry externalId } userErrors { field code message } } }", json!({"i": {"name": text, "company": text, "leadSource": text, "address": text, "industry": text, "externalId": format!("{text} {i}")}}), &["createDeal", "deal"]).await;
        for field in ["name", "company", "leadSource", "address", "industry"] {
            assert_eq!(d[field], expect, "deal {field}");
        }
        assert_eq!(d["externalId"].as_str().unwrap(), format!("{text} {i}"));
        // A territory, a forecast note, a webhook's description and an API key's name.
        let tr = stored(app, admin, "mutation($i: CreateTerritoryInput!) { createTerritory(input: $i) { territory { name } userErrors { field code message } } }", json!({"i": {"name": format!("{text} {i}"), "kind": "REGION"}}), &["createTerritory", "territory"]).await;
        assert_eq!(tr["name"].as_str().unwrap(), format!("{text} {i}"));
        let f = stored(app, &org.rep_token, "mutation($i: SubmitForecastInput!) { submitForecast(input: $i) { numbers { note } userErrors { field code message } } }", json!({"i": {"commit": "1", "bestCase": "2", "note": text}}), &["submitForecast", "numbers"]).await;
        assert_eq!(f["note"], expect);
        let w = stored(app, admin, "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { description } userErrors { field code message } } }", json!({"i": {"url": "https://93.184.216.34/hook", "events": ["deal.won"], "description": text}}), &["createWebhook", "webhook"]).await;
        assert_eq!(w["description"], expect);
        let k = stored(app, admin, "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { name } userErrors { field code message } } }", json!({"i": {"name": text, "scopes": ["org:read"]}}), &["createApiKey", "apiKey"]).await;
        assert_eq!(k["name"], expect);
    }
    // Nothing else happened to the tables the strings name.
    assert_eq!(app.count_rows("members").await, members_before + HOSTILE_TEXT.len() as i64);
    assert_eq!(app.count_rows("deals").await, HOSTILE_TEXT.len() as i64);

    // Searches treat LIKE metacharacters literally: only the one name with `%`, `_` or `\`.
    for (needle, hits) in
        [("%", 1), ("_", 1), ("\\", 1), ("100%", 1), ("'", 3), ("<script>", 1), ("%%", 0), ("_s", 1), ("x_y", 0)]
    {
        let m = app.ok(admin, MEMBERS, json!({"s": needle})).await;
        assert_eq!(m["members"]["totalCount"], hits, "members matching {needle:?}");
        let t = app
            .ok(admin, "query($s: String) { teams(filter: {search: $s}) { totalCount } }", json!({"s": needle}))
            .await;
        assert_eq!(t["teams"]["totalCount"], hits, "teams matching {needle:?}");
        let d = app
            .ok(admin, "query($s: String) { deals(filter: {search: $s}) { totalCount } }", json!({"s": needle}))
            .await;
        assert_eq!(d["deals"]["totalCount"], hits, "deals matching {needle:?}");
    }
}
