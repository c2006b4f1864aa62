//! GraphQL over HTTP as its spec says: `Accept` negotiation (and 406), status codes per error
//! kind under both media types, the same media type for cached and executed answers, GET for
//! queries (variables, operationName, persisted queries by hash) and 405 for mutations, the
//! query-string bound, and GraphiQL from the binary for browsers only.

use scorebord_tests::{TestApp, backend_tests, error_code};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

backend_tests!(
    accept_negotiation_and_406,
    status_codes_per_error_kind,
    answers_by_post_and_get_have_the_negotiated_media_type,
    get_runs_queries_with_variables_and_operation_name,
    get_refuses_mutations_with_405,
    get_persisted_queries_as_apollo_kotlin_sends_them,
    get_meets_the_same_limits_and_auth_as_post,
    oversize_query_string,
    graphiql_for_browsers_only_and_from_this_host,
);

const JSON: &str = "application/json";
const GRAPHQL: &str = "application/graphql-response+json";
const APOLLO_KOTLIN_ACCEPT: &str =
    "multipart/mixed;deferSpec=20220824, application/graphql-response+json, application/json";
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

fn url(app: &TestApp) -> String {
    format!("{}/graphql", app.base_url)
}

fn content_type(resp: &reqwest::Response) -> String {
    resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// POSTs `body` with `accept` (none when `None`); returns status, content type and JSON body.
async fn post(app: &TestApp, token: Option<&str>, accept: Option<&str>, body: Value) -> (u16, String, Value) {
    let mut req = app.client.post(url(app)).json(&body);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let (status, ct) = (resp.status().as_u16(), content_type(&resp));
    let text = resp.text().await.unwrap();
    (status, ct, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

/// GETs `/graphql` with `params` in the query string.
async fn get(app: &TestApp, token: Option<&str>, accept: Option<&str>, params: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.get(url(app)).query(params);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn get_json(
    app: &TestApp,
    token: Option<&str>,
    accept: Option<&str>,
    params: &[(&str, &str)],
) -> (u16, String, Value) {
    let resp = get(app, token, accept, params).await;
    let (status, ct) = (resp.status().as_u16(), content_type(&resp));
    let text = resp.text().await.unwrap();
    (status, ct, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

async fn accept_negotiation_and_406(app: &TestApp) {
    let q = json!({"query": "{ __typename }"});
    for (accept, expected) in [
        (None, JSON),
        (Some("*/*"), JSON),
        (Some("application/*"), JSON),
        (Some("application/json"), JSON),
        (Some("application/json; charset=utf-8"), JSON),
        (Some("application/graphql-response+json"), GRAPHQL),
        (Some("application/graphql-response+json, application/json;q=0.9"), GRAPHQL),
        (Some("application/json;q=0.5, application/graphql-response+json"), GRAPHQL),
        (Some("application/json, application/graphql-response+json"), JSON),
        (Some(APOLLO_KOTLIN_ACCEPT), GRAPHQL),
        (Some("text/html, */*;q=0.1"), JSON),
    ] {
        let (status, ct, body) = post(app, None, accept, q.clone()).await;
        assert_eq!(status, 200, "{accept:?}: {body}");
        assert_eq!(ct, expected, "{accept:?}");
        assert_eq!(body["data"]["__typename"], "Query", "{accept:?}: {body}");
    }
    for accept in ["text/html", "application/xml", "application/json;q=0", "*/*;q=0"] {
        for (status, ct, body) in [
            post(app, None, Some(accept), q.clone()).await,
            get_json(app, None, Some(accept), &[("query", "{ __typename }")]).await,
        ] {
            assert_eq!(status, 406, "{accept}: {body}");
            assert_eq!(ct, JSON);
            assert!(error_code(&body) == "BAD_USER_INPUT" && body.get("data").is_none(), "{body}");
            assert!(body["errors"][0]["message"].as_str().unwrap().contains("Accept"), "{body}");
        }
    }
}

async fn status_codes_per_error_kind(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let token = Some(org.rep_token.as_str());
    // Request errors: nothing executed, so no `data`; 400 under graphql-response+json, 200 under json.
    let request_errors = [
        ("parse", json!({"query": "{ viewer { "})),
        ("validation", json!({"query": "{ nope }"})),
        ("missing required variable", json!({"query": "query($m: ID!) { member(id: $m) { name } }"})),
        (
            "null required variable",
            json!({"query": "query($m: ID!) { member(id: $m) { name } }", "variables": {"m": null}}),
        ),
        (
            "variable of the wrong type",
            json!({"query": "query($n: Int) { members(first: $n) { totalCount } }", "variables": {"n": "ten"}}),
        ),
        ("unknown operation", json!({"query": "query A { __typename }", "operationName": "B"})),
    ];
    for (kind, body) in &request_errors {
        let (status, ct, answer) = post(app, token, Some(GRAPHQL), body.clone()).await;
        assert_eq!((status, ct.as_str()), (400, GRAPHQL), "{kind}: {answer}");
        assert!(answer.get("data").is_none() && answer["errors"][0]["message"].is_string(), "{kind}: {answer}");
        let (status, ct, answer) = post(app, token, Some(JSON), body.clone()).await;
        assert_eq!((status, ct.as_str()), (200, JSON), "{kind}: {answer}");
        assert!(answer.get("data").is_none() && answer["errors"][0]["message"].is_string(), "{kind}: {answer}");
    }
    // Request-body errors keep their 4xx under both.
    for accept in [JSON, GRAPHQL] {
        for (body, expected) in [("{ \"not a JSON", 400), ("[]", 400), ("{\"qeury\": \"{ __typename }\"}", 400)] {
            let resp = app
                .client
                .post(url(app))
                .header("content-type", "application/json")
                .header("accept", accept)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), expected, "{body} under {accept}");
            assert_eq!(content_type(&resp), accept, "{body}");
            let answer: Value = resp.json().await.unwrap();
            assert!(answer.get("data").is_none() && error_code(&answer) == "BAD_USER_INPUT", "{answer}");
        }
    }
    // Null parameters are allowed.
    let (status, _, answer) = post(
        app,
        None,
        Some(JSON),
        json!({"query": "{ __typename }", "variables": null, "operationName": null, "extensions": null}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["__typename"], "Query");
    // Execution started: 200 and a `data` entry under both, even when a field failed.
    for accept in [JSON, GRAPHQL] {
        let (status, ct, answer) = post(app, None, Some(accept), json!({"query": "{ viewer { role } }"})).await;
        assert_eq!((status, ct.as_str()), (200, accept), "{answer}");
        assert!(answer.get("data").is_some(), "{answer}");
        assert_eq!(error_code(&answer), "UNAUTHENTICATED", "{answer}");
        let id = "bm9wZQ";
        let (status, _, answer) = post(
            app,
            token,
            Some(accept),
            json!({"query": "query($m: ID!) { member(id: $m) { name } }", "variables": {"m": id}}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert!(answer.get("data").is_some(), "{answer}");
    }
    // The rate limit refuses before execution: 429 under graphql-response+json.
    let app = &TestApp::spawn_with(app.backend, |c| {
        c.rate_limit_points = 10;
        c.rate_limit_restore_per_second = 1;
    })
    .await;
    let org = app.seed_org("acme").await;
    let many = json!({"query": "{ members(first: 100) { edges { node { name } } } }"});
    let (status, ct, answer) = post(app, Some(&org.rep_token), Some(GRAPHQL), many.clone()).await;
    assert_eq!((status, ct.as_str()), (429, GRAPHQL), "{answer}");
    assert!(answer.get("data").is_none() && error_code(&answer) == "RATE_LIMITED", "{answer}");
    let (status, _, answer) = post(app, Some(&org.rep_token), Some(JSON), many).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(error_code(&answer), "RATE_LIMITED", "{answer}");
}

const BOARD: &str = "query Board($p: PeriodInput!) { leaderboard(input: {period: $p, first: 10}) { totalEntries entries { rank points member { id name } } } }";

async fn answers_by_post_and_get_have_the_negotiated_media_type(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let body = json!({"query": BOARD, "variables": {"p": {"grain": "WEEK"}}});
    for accept in [None, Some(JSON), Some(GRAPHQL), Some(APOLLO_KOTLIN_ACCEPT)] {
        let expected = if accept.is_some_and(|a| a != JSON) { GRAPHQL } else { JSON };
        let (status, first_ct, first) = post(app, Some(&org.viewer_token), accept, body.clone()).await;
        assert_eq!(status, 200, "{first}");
        let (status, again_ct, again) = post(app, Some(&org.viewer_token), accept, body.clone()).await;
        assert_eq!(status, 200);
        assert_eq!(first_ct, expected, "{accept:?}");
        assert_eq!(again_ct, first_ct, "{accept:?}: a repeated request changed media type");
        assert_eq!(again["data"], first["data"]);
    }
    // By GET as well, same media type and answer.
    let vars = json!({"p": {"grain": "WEEK"}}).to_string();
    let params = [("query", BOARD), ("variables", vars.as_str())];
    let (s1, ct1, first) = get_json(app, Some(&org.viewer_token), Some(GRAPHQL), &params).await;
    let (s2, ct2, second) = get_json(app, Some(&org.viewer_token), Some(GRAPHQL), &params).await;
    assert_eq!((s1, s2), (200, 200), "{first} {second}");
    assert_eq!((ct1.as_str(), ct2.as_str()), (GRAPHQL, GRAPHQL));
    assert_eq!(first["data"], second["data"]);
}

async fn get_runs_queries_with_variables_and_operation_name(app: &TestApp) {
    let org = app.seed_org("acme").await;
    // Anonymous: a GET with only a query.
    let (status, ct, body) = get_json(app, None, None, &[("query", "{ __typename }")]).await;
    assert_eq!((status, ct.as_str()), (200, JSON), "{body}");
    assert_eq!(body["data"]["__typename"], "Query");
    // Variables and the operation name; the document also holds a mutation, which does not run.
    let doc =
        "query Me($first: Int) { viewer { member { name } } members(first: $first) { totalCount edges { node { name } } } }
               mutation Rename { updateMember(input: {id: \"x\", name: \"y\"}) { member { name } } }";
    let before = app.count_rows("members").await;
    for accept in [None, Some(GRAPHQL)] {
        let (status, _, body) = get_json(
            app,
            Some(&org.rep_token),
            accept,
            &[("query", doc), ("variables", r#"{"first": 1}"#), ("operationName", "Me")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["viewer"]["member"]["name"], "acme Rep", "{body}");
        assert_eq!(body["data"]["members"]["edges"].as_array().unwrap().len(), 1, "{body}");
        assert!(body["extensions"]["cost"]["requestedQueryCost"].as_u64().is_some(), "cost as over POST: {body}");
    }
    assert_eq!(app.count_rows("members").await, before);
    // A browser's Accept with a query runs it (GraphiQL only without one).
    let (status, ct, body) = get_json(app, None, Some(BROWSER_ACCEPT), &[("query", "{ __typename }")]).await;
    assert_eq!((status, ct.as_str()), (200, JSON), "{body}");
    // Malformed parameters are request errors.
    for params in [
        vec![("query", "{ __typename }"), ("variables", "{not json")],
        vec![("query", "{ __typename }"), ("variables", "\"a string\"")],
        vec![("query", "{ __typename }"), ("extensions", "[1]")],
        vec![("query", "{ __typename }"), ("query", "{ __typename }")],
        vec![("operationName", "A")],
        vec![],
    ] {
        for (accept, expected) in [(JSON, 400), (GRAPHQL, 400)] {
            let (status, ct, body) = get_json(app, None, Some(accept), &params).await;
            assert_eq!((status, ct.as_str()), (expected, accept), "{params:?}: {body}");
            assert!(body.get("data").is_none() && error_code(&body) == "BAD_USER_INPUT", "{body}");
        }
    }
    // Validation errors by GET follow the media type like POST.
    let (status, _, body) = get_json(app, None, Some(GRAPHQL), &[("query", "{ nope }")]).await;
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = get_json(app, None, Some(JSON), &[("query", "{ nope }")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("data").is_none());
}

async fn get_refuses_mutations_with_405(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let create = r#"mutation Add { createMember(input: {name: "By Get", email: "get@acme.test", salesRole: OUTBOUND}) { member { id } } }"#;
    let both = format!("query Me {{ viewer {{ role }} }} {create}");
    let before = app.count_rows("members").await;
    for accept in [None, Some(JSON), Some(GRAPHQL)] {
        for params in [vec![("query", create)], vec![("query", both.as_str()), ("operationName", "Add")]] {
            let resp = get(app, Some(&org.admin_token), accept, &params).await;
            assert_eq!(resp.status(), 405, "{params:?}");
            assert_eq!(resp.headers()["allow"], "POST");
            let expected = if accept == Some(GRAPHQL) { GRAPHQL } else { JSON };
            assert_eq!(content_type(&resp), expected);
            let body: Value = resp.json().await.unwrap();
            assert!(body.get("data").is_none(), "{body}");
            assert!(body["errors"][0]["message"].as_str().unwrap().contains("POST"), "{body}");
        }
    }
    // A subscription is refused the same way.
    let resp = get(app, Some(&org.admin_token), None, &[("query", "subscription { scoreChanged { points } }")]).await;
    assert_eq!(resp.status(), 405);
    assert_eq!(app.count_rows("members").await, before, "no mutation ran over GET");
    // The same document by POST runs the mutation.
    let (status, _, body) =
        post(app, Some(&org.admin_token), None, json!({"query": both, "operationName": "Add"})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["createMember"]["member"]["id"].is_string(), "{body}");
    assert_eq!(app.count_rows("members").await, before + 1);
}

async fn get_persisted_queries_as_apollo_kotlin_sends_them(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let query = "query Viewer { viewer { member { name } } }";
    let hash = hex::encode(Sha256::digest(query.as_bytes()));
    let extensions = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}}).to_string();
    let kotlin_get = |token: Option<String>| {
        let mut req = app
            .client
            .get(url(app))
            .query(&[("operationName", "Viewer"), ("extensions", extensions.as_str())])
            .header("accept", APOLLO_KOTLIN_ACCEPT)
            .header("x-apollo-operation-name", "Viewer")
            .header("x-apollo-operation-id", hash.as_str());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    // A miss: PersistedQueryNotFound, a request error (nothing ran).
    let miss = kotlin_get(Some(org.rep_token.clone())).await.unwrap();
    assert_eq!(miss.status(), 400);
    assert_eq!(content_type(&miss), GRAPHQL);
    let body: Value = miss.json().await.unwrap();
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound", "{body}");
    assert!(body.get("data").is_none());
    // The same miss under application/json answers 200, as Apollo Client expects.
    let (status, _, body) =
        get_json(app, Some(&org.rep_token), Some(JSON), &[("extensions", extensions.as_str())]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body}");
    // An anonymous POST with the text runs it but registers nothing.
    let (status, _, body) = post(
        app,
        None,
        Some(APOLLO_KOTLIN_ACCEPT),
        json!({"query": query, "operationName": "Viewer", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.count_rows("persisted_queries").await, 0);
    // The member's POST with the document registers it.
    let (status, _, body) = post(
        app,
        Some(&org.rep_token),
        Some(APOLLO_KOTLIN_ACCEPT),
        json!({"query": query, "operationName": "Viewer", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["viewer"]["member"]["name"], "acme Rep");
    assert_eq!(app.count_rows("persisted_queries").await, 1);
    // Then the GET hits, for the member and for an anonymous caller alike.
    let hit = kotlin_get(Some(org.rep_token.clone())).await.unwrap();
    assert_eq!(hit.status(), 200);
    assert_eq!(content_type(&hit), GRAPHQL);
    let body: Value = hit.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["member"]["name"], "acme Rep", "{body}");
    let anonymous: Value = kotlin_get(None).await.unwrap().json().await.unwrap();
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "the query ran, and met the same checks: {anonymous}");
    // A registered hash naming a mutation is refused over GET like a mutation's text.
    let mutation = "mutation Rename($i: UpdateMemberInput!) { updateMember(input: $i) { member { name } } }";
    let mhash = hex::encode(Sha256::digest(mutation.as_bytes()));
    let mext = json!({"persistedQuery": {"version": 1, "sha256Hash": mhash}});
    let vars = json!({"i": {"id": org.rep, "name": "Renamed"}});
    let (status, _, body) =
        post(app, Some(&org.admin_token), None, json!({"query": mutation, "variables": vars, "extensions": mext}))
            .await;
    assert_eq!(status, 200, "{body}");
    let resp = get(
        app,
        Some(&org.admin_token),
        None,
        &[("extensions", mext.to_string().as_str()), ("variables", vars.to_string().as_str())],
    )
    .await;
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
}

async fn get_meets_the_same_limits_and_auth_as_post(app: &TestApp) {
    let org = app.seed_org("acme").await;
    // The depth limit: 16 levels of parentTeam exceed 15.
    let mut deep = String::from("name");
    for _ in 0..16 {
        deep = format!("parentTeam {{ {deep} }}");
    }
    let deep = format!("{{ teams {{ edges {{ node {{ {deep} }} }} }} }}");
    let (status, _, body) = get_json(app, Some(&org.rep_token), Some(GRAPHQL), &[("query", deep.as_str())]).await;
    assert_eq!((status, error_code(&body).as_str()), (400, "QUERY_TOO_COMPLEX"), "{body}");
    // A bad token is refused as over POST.
    let (status, _, body) = get_json(app, Some("not-a-token"), None, &[("query", "{ viewer { role } }")]).await;
    let (post_status, _, post_body) =
        post(app, Some("not-a-token"), None, json!({"query": "{ viewer { role } }"})).await;
    assert_eq!(status, post_status);
    assert_eq!(error_code(&body), error_code(&post_body), "{body} {post_body}");
    // Metrics count GETs by operation name.
    get_json(app, Some(&org.rep_token), None, &[("query", "query ByGet { viewer { role } }")]).await;
    let text = app.client.get(format!("{}/metrics", app.base_url)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"scorebord_graphql_requests_total{operation="ByGet",outcome="ok"} 1"#), "{text}");
}

async fn oversize_query_string(app: &TestApp) {
    let padding = "a".repeat(17 * 1024);
    let query = format!("{{ __typename }} # {padding}");
    for accept in [JSON, GRAPHQL] {
        let (status, ct, body) = get_json(app, None, Some(accept), &[("query", query.as_str())]).await;
        assert_eq!((status, ct.as_str()), (414, accept), "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("POST"), "{body}");
    }
    // Just under the bound still runs.
    let query = format!("{{ __typename }} # {}", "a".repeat(15 * 1024));
    let (status, _, body) = get_json(app, None, None, &[("query", query.as_str())]).await;
    assert_eq!(status, 200, "{body}");
}

/// The `src`/`href` values of an HTML page.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').unwrap();
            found.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    found
}

async fn graphiql_for_browsers_only_and_from_this_host(app: &TestApp) {
    let resp = get(app, None, Some(BROWSER_ACCEPT), &[]).await;
    assert_eq!(resp.status(), 200);
    assert!(content_type(&resp).starts_with("text/html"));
    let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let host = app.base_url.trim_start_matches("http://");
    for directive in [
        "default-src 'none'",
        "script-src 'self';",
        &format!("connect-src 'self' ws://{host} wss://{host};"),
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(
        !csp.contains("unsafe-eval") && !csp.contains("script-src 'self' 'unsafe-inline'") && !csp.contains("http"),
        "{csp}"
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"graphiql\""));
    assert!(!html.contains("<script>"), "no inline script: {html}");
    let refs = references(&html);
    assert_eq!(refs.len(), 6, "{refs:?}");
    let mut total = 0;
    for r in &refs {
        assert!(r.starts_with("/graphiql/") && !r.starts_with("//"), "off-host or unexpected URL {r}");
        let asset = app.client.get(format!("{}{r}", app.base_url)).send().await.unwrap();
        assert_eq!(asset.status(), 200, "{r}");
        assert!(asset.headers()["cache-control"].to_str().unwrap().contains("immutable"), "{r}");
        let ct = content_type(&asset);
        assert!(ct.starts_with(if r.ends_with(".css") { "text/css" } else { "text/javascript" }), "{r}: {ct}");
        let bytes = asset.bytes().await.unwrap();
        let text = String::from_utf8_lossy(&bytes);
        // The scripts are production builds (no React development build).
        assert!(!text.contains("react.development"), "{r}");
        total += bytes.len();
    }
    assert!(total < 2_000_000, "GraphiQL's files take {total} bytes");
    // Parameters that name no GraphQL request still get the page in a browser.
    let resp = get(app, None, Some(BROWSER_ACCEPT), &[("utm_source", "mail")]).await;
    assert!(content_type(&resp).starts_with("text/html"), "{:?}", resp.headers());
    // An outdated digest or unknown file is not served.
    let stale =
        app.client.get(format!("{}/graphiql/0000000000000000/graphiql.min.js", app.base_url)).send().await.unwrap();
    assert_eq!(stale.status(), 404);
    // No page for a client that does not prefer HTML, nor with a query string.
    for accept in [None, Some("*/*"), Some(JSON), Some(GRAPHQL), Some("text/html, application/json")] {
        let (status, ct, body) = get_json(app, None, accept, &[]).await;
        assert_eq!(status, 400, "{accept:?}: {body}");
        assert!(!ct.starts_with("text/html"));
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("query"), "{body}");
    }
}
