//! A front end on a client's own host name finds its organization from the host: once the
//! organization proves it controls the host, sign-in and branding need no slug there, and
//! other organizations' credentials are refused there.

use std::sync::{Arc, Mutex};

use scorebord_tests::{PASSWORD, TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(a_verified_host_names_its_organization_and_no_other);

/// POSTs as if sent to `host` (the `Host` header a browser on that host sends).
async fn on_host(app: &TestApp, host: &str, token: Option<&str>, query: &str) -> Value {
    let mut req = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .header(reqwest::header::HOST, host)
        .json(&json!({"query": query}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

const ADD: &str = "mutation($h: String!) { addOrganizationDomain(input: {host: $h}) {
  domain { host verified verificationToken verificationPath } userErrors { code } } }";
const VERIFY: &str = "mutation($h: String!) { verifyOrganizationDomain(input: {host: $h}) { domain { verified } userErrors { code message } } }";
const HOST_ORG: &str = "{ hostOrganization { slug branding { primaryColor } } }";

async fn a_verified_host_names_its_organization_and_no_other(app: &TestApp) {
    let acme = app.seed_org("acme").await;
    let other = app.seed_org("other").await;
    // The client's own web server, which will serve the verification token.
    let served = Arc::new(Mutex::new(String::new()));
    let body = served.clone();
    let site = axum::Router::new().route(
        "/.well-known/scorebord-verification.txt",
        axum::routing::get(move || async move { body.lock().unwrap().clone() }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("localhost:{}", listener.local_addr().unwrap().port());
    let server = tokio::spawn(async move { axum::serve(listener, site).await.unwrap() });

    // Only admins add and verify host names; a key or a rep cannot move where members sign in.
    for token in [&acme.rep_token, &acme.manager_token] {
        assert_eq!(error_code(&app.gql(Some(token), ADD, json!({"h": host})).await), "FORBIDDEN");
    }
    let key = app
        .ok(
            &acme.admin_token,
            "mutation { createApiKey(input: {name: \"K\", scopes: [\"org:read\"]}) { secret } }",
            json!({}),
        )
        .await["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(error_code(&app.gql(Some(&key), ADD, json!({"h": host})).await), "FORBIDDEN");
    let bad = app.ok(&acme.admin_token, ADD, json!({"h": "not a host"})).await;
    assert_eq!(bad["addOrganizationDomain"]["userErrors"][0]["code"], "INVALID");

    let added =
        app.ok(&acme.admin_token, ADD, json!({"h": host.to_uppercase()})).await["addOrganizationDomain"].clone();
    assert_eq!(added["domain"]["host"], host.as_str(), "{added}");
    assert_eq!(added["domain"]["verified"], false);
    let token = added["domain"]["verificationToken"].as_str().unwrap().to_owned();
    let taken = app.ok(&other.admin_token, ADD, json!({"h": host})).await;
    assert_eq!(taken["addOrganizationDomain"]["userErrors"][0]["code"], "TAKEN", "{taken}");

    // Unverified, the host names nobody.
    assert!(on_host(app, &host, None, HOST_ORG).await["data"]["hostOrganization"].is_null());
    let not_yet = app.ok(&acme.admin_token, VERIFY, json!({"h": host})).await;
    assert_eq!(not_yet["verifyOrganizationDomain"]["userErrors"][0]["code"], "NOT_SERVED", "{not_yet}");
    *served.lock().unwrap() = "someone else's token".into();
    let wrong = app.ok(&acme.admin_token, VERIFY, json!({"h": host})).await;
    assert_eq!(wrong["verifyOrganizationDomain"]["userErrors"][0]["code"], "NOT_SERVED", "{wrong}");
    *served.lock().unwrap() = format!("{token}\n");
    let verified = app.ok(&acme.admin_token, VERIFY, json!({"h": host})).await;
    assert_eq!(verified["verifyOrganizationDomain"], json!({"domain": {"verified": true}, "userErrors": []}));

    // On the host: branding and sign-in without a slug, for anyone.
    let shown = on_host(app, &host, None, HOST_ORG).await;
    assert_eq!(shown["data"]["hostOrganization"], json!({"slug": "acme", "branding": {"primaryColor": "#112233"}}));
    assert!(app.gql(None, HOST_ORG, json!({})).await["data"]["hostOrganization"].is_null(), "the API's own host");
    let login = format!(
        "mutation {{ login(input: {{email: \"rep@acme.test\", password: \"{PASSWORD}\"}}) {{ accessToken member {{ name }} }} }}"
    );
    let signed_in = on_host(app, &host, None, &login).await;
    assert_eq!(signed_in["data"]["login"]["member"]["name"], "acme Rep", "{signed_in}");
    assert_eq!(error_code(&app.gql(None, &login, json!({})).await), "BAD_USER_INPUT", "no slug, no host");
    let elsewhere = format!(
        "mutation {{ login(input: {{organizationSlug: \"other\", email: \"rep@other.test\", password: \"{PASSWORD}\"}}) {{ accessToken }} }}"
    );
    assert_eq!(error_code(&on_host(app, &host, None, &elsewhere).await), "BAD_USER_INPUT");

    // On the host, the organization's members work and another organization's are refused.
    let me = on_host(app, &host, Some(&acme.rep_token), "{ viewer { member { name } } }").await;
    assert_eq!(me["data"]["viewer"]["member"]["name"], "acme Rep", "{me}");
    let intruder = on_host(app, &host, Some(&other.admin_token), "{ viewer { member { name } } }").await;
    assert_eq!(error_code(&intruder), "UNAUTHENTICATED", "{intruder}");

    // Removed, the host names nobody again.
    let removed = app
        .ok(
            &acme.admin_token,
            "mutation($h: String!) { removeOrganizationDomain(input: {host: $h}) { removed } }",
            json!({"h": host}),
        )
        .await;
    assert_eq!(removed["removeOrganizationDomain"]["removed"], true);
    assert!(on_host(app, &host, None, HOST_ORG).await["data"]["hostOrganization"].is_null());
    let listed = app.ok(&acme.admin_token, "{ organizationDomains { host } }", json!({})).await;
    assert_eq!(listed["organizationDomains"], json!([]));
    server.abort();
}
