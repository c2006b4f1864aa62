//! The consulting firm's whole journey, end to end over HTTP: two clients from the starter,
//! each with its own identity provider and host name; a rep signs in through their client's
//! provider on its host, logs an activity and sees it on the Dutch board; the other client's
//! provider and the firm's other client are refused; one client is exported, read back into a
//! new one with equal counts, deleted, and no row of it is left.

use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use scorebord_tests::{TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(a_firm_runs_two_clients_from_sign_up_to_erasure);

const STAFF_PASSWORD: &str = "Tulpen-fiets-gracht-2026";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/jwt").join(name)).unwrap()
}

/// A local web server: the client's provider's JWKS and the host's verification file.
async fn site(jwks: &str) -> (String, Arc<Mutex<String>>, tokio::task::JoinHandle<()>) {
    let token = Arc::new(Mutex::new(String::new()));
    let served = token.clone();
    let keys = jwks.to_owned();
    let app = axum::Router::new().route("/jwks", axum::routing::get(move || async move { keys })).route(
        "/.well-known/scorebord-verification.txt",
        axum::routing::get(move || async move { served.lock().unwrap().clone() }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("localhost:{}", listener.local_addr().unwrap().port());
    let handle = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (host, token, handle)
}

/// POSTs as if sent to `host`, with a bearer token.
async fn on_host(app: &TestApp, host: &str, token: &str, query: &str, variables: Value) -> Value {
    app.client
        .post(format!("{}/graphql", app.base_url))
        .header(reqwest::header::HOST, host)
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn provider_token(key: &str, kid: &str, issuer: &str, audience: &str, email: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"iss": issuer, "aud": audience, "sub": email, "email": email, "email_verified": true,
        "name": "Rik de Rep", "exp": now + 600, "iat": now});
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_pem(&fixture(key)).unwrap()).unwrap()
}

struct Client {
    id: Value,
    host: String,
    admin: String,
    _site: tokio::task::JoinHandle<()>,
}

/// A client created from the starter in Dutch, with its provider (issuer `iss`, keys `jwks`)
/// that creates reps at first sign-in, and its verified host.
async fn client(app: &TestApp, firm: &str, slug: &str, iss: &str, jwks: &str) -> Client {
    let created = app
        .ok(
            firm,
            "mutation($i: CreateClientOrganizationInput!) { createClientOrganization(input: $i) {
               organization { id } userErrors { message } } }",
            json!({"i": {"name": slug, "slug": slug, "locale": "NL", "template": "STARTER",
                "firstAdmin": {"name": "Admin", "email": format!("admin@{slug}.test")}}}),
        )
        .await["createClientOrganization"]
        .clone();
    let (host, token, handle) = site(jwks).await;
    // The firm's admin sets the client up, acting in it.
    let acting = |q: &'static str, v: Value| {
        let host = host.clone();
        let _ = &host;
        async move {
            app.client
                .post(format!("{}/graphql", app.base_url))
                .bearer_auth(firm)
                .header("X-Scorebord-Organization", slug)
                .json(&json!({"query": q, "variables": v}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let provider = acting(
        "mutation($i: SetIdentityProviderInput!) { setIdentityProvider(input: $i) { userErrors { message } } }",
        json!({"i": {"issuer": iss, "audience": slug, "jwksUrl": format!("http://{host}/jwks"), "createMembers": true,
            "defaultRole": "REP", "defaultSalesRole": "OUTBOUND"}}),
    )
    .await;
    assert_eq!(provider["data"]["setIdentityProvider"]["userErrors"], json!([]), "{provider}");
    let added = acting(
        "mutation($h: String!) { addOrganizationDomain(input: {host: $h}) { domain { verificationToken } } }",
        json!({"h": host}),
    )
    .await;
    *token.lock().unwrap() =
        added["data"]["addOrganizationDomain"]["domain"]["verificationToken"].as_str().unwrap().to_owned();
    let verified = acting(
        "mutation($h: String!) { verifyOrganizationDomain(input: {host: $h}) { domain { verified } userErrors { message } } }",
        json!({"h": host}),
    )
    .await;
    assert_eq!(verified["data"]["verifyOrganizationDomain"]["domain"]["verified"], true, "{verified}");
    Client { id: created["organization"]["id"].clone(), host, admin: firm.to_owned(), _site: handle }
}

async fn a_firm_runs_two_clients_from_sign_up_to_erasure(app: &TestApp) {
    let app = &TestApp::spawn_with(app.backend, |c| c.organization_deletion_grace_hours = 0).await;
    let person = scorebord::firm::service::NewPerson {
        name: "Anna".into(),
        email: "anna@north.test".into(),
        password: Some(STAFF_PASSWORD.into()),
    };
    scorebord::firm::service::create_firm(&app.state.db, "North", "north", person).await.unwrap().unwrap();
    let login = app
        .gql(
            None,
            "mutation { firmLogin(input: {firmSlug: \"north\", email: \"anna@north.test\", password: \"Tulpen-fiets-gracht-2026\"}) { accessToken } }",
            json!({}),
        )
        .await;
    let firm = login["data"]["firmLogin"]["accessToken"].as_str().unwrap().to_owned();
    let alpha =
        client(app, &firm, "alpha", "https://idp.alpha.test/", &String::from_utf8(fixture("jwks.json")).unwrap()).await;
    let beta =
        client(app, &firm, "beta", "https://idp.beta.test/", &String::from_utf8(fixture("jwks_rotated.json")).unwrap())
            .await;

    // A rep of alpha signs in through alpha's provider on alpha's host (created at first
    // sign-in), logs an activity and sees it on the Dutch board.
    let rep = provider_token("jwks_private.pem", "idp-2026", "https://idp.alpha.test/", "alpha", "rik@alpha.test");
    let me =
        on_host(app, &alpha.host, &rep, "{ viewer { role member { name } organization { slug } } locale }", json!({}))
            .await;
    assert_eq!(me["data"]["viewer"]["organization"]["slug"], "alpha", "{me}");
    assert_eq!(me["data"]["locale"], "NL");
    let types = on_host(app, &alpha.host, &rep, "{ activityTypes { nodes { id name } } }", json!({})).await;
    let quote =
        types["data"]["activityTypes"]["nodes"].as_array().unwrap().iter().find(|t| t["name"] == "Quote sent").unwrap()
            ["id"]
            .clone();
    let logged = on_host(
        app,
        &alpha.host,
        &rep,
        "mutation($i: LogActivityInput!) { logActivity(input: $i) { userErrors { message } score { points } } }",
        json!({"i": {"activityTypeId": quote}}),
    )
    .await;
    assert_eq!(logged["data"]["logActivity"]["score"]["points"], 3.0, "{logged}");
    let board = on_host(
        app,
        &alpha.host,
        &rep,
        "{ leaderboard(input: {period: {grain: WEEK}}) { entries { rank points member { name } } } kpis { key name } enumLabels(enum: ROLE) { value label } }",
        json!({}),
    )
    .await;
    assert_eq!(board["data"]["leaderboard"]["entries"][0]["member"]["name"], "Rik de Rep", "{board}");
    assert_eq!(board["data"]["leaderboard"]["entries"][0]["points"], 3.0);
    assert!(board["data"]["kpis"].as_array().unwrap().iter().any(|k| k["name"] == "Nieuwe leads"), "{board}");
    assert!(board["data"]["enumLabels"].as_array().unwrap().iter().any(|l| l["label"] == "Verkoper"));

    // The other client's provider is refused at alpha, and alpha's rep at beta.
    let beta_rep = provider_token("rsa_private.pem", "idp-2027", "https://idp.beta.test/", "beta", "bo@beta.test");
    assert_eq!(
        error_code(&on_host(app, &alpha.host, &beta_rep, "{ viewer { role } }", json!({})).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(error_code(&on_host(app, &beta.host, &rep, "{ viewer { role } }", json!({})).await), "UNAUTHENTICATED");
    assert_eq!(
        on_host(app, &beta.host, &beta_rep, "{ viewer { organization { slug } } }", json!({})).await["data"]["viewer"]
            ["organization"]["slug"],
        "beta"
    );

    // Export alpha, read it back into a new client with equal counts, then delete alpha.
    let archive = app
        .client
        .get(format!("{}/exports/organization.ndjson", app.base_url))
        .bearer_auth(&alpha.admin)
        .header("X-Scorebord-Organization", "alpha")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let imported: Value = app
        .client
        .post(format!("{}/firm/clients/import?slug=alpha-2", app.base_url))
        .bearer_auth(&firm)
        .body(archive.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alpha_id = raw(&alpha.id);
    let copy_id =
        uuid::Uuid::parse_str(imported["organization"]["id"].as_str().unwrap_or_else(|| panic!("{imported}"))).unwrap();
    let before = app.rows_per_table_of(alpha_id).await;
    assert!(before["members"] >= 2 && before["activities"] >= 1 && before["organizations"] == 1, "{before:?}");
    let copy = app.rows_per_table_of(copy_id).await;
    for (table, n) in &before {
        // Sign-in secrets and host names stay behind; the copy's log records the import.
        let expected = match table.as_str() {
            "refresh_tokens" | "api_keys" | "persisted_queries" | "organization_domains" => 0,
            "audit_log" => n + 1,
            _ => *n,
        };
        assert_eq!(copy[table], expected, "{table}: {before:?} / {copy:?}");
    }
    let deleted = app
        .ok(
            &firm,
            "mutation($id: ID!) { deleteClientOrganization(input: {id: $id}) { erased } }",
            json!({"id": alpha.id}),
        )
        .await;
    assert_eq!(deleted["deleteClientOrganization"]["erased"], true);
    let after = app.rows_per_table_of(alpha_id).await;
    assert!(after.values().all(|n| *n == 0), "rows of the erased client left: {after:?}");
    assert_eq!(error_code(&on_host(app, &alpha.host, &rep, "{ viewer { role } }", json!({})).await), "UNAUTHENTICATED");
    assert_eq!(app.rows_per_table_of(copy_id).await, copy, "the copy is untouched");
}

fn raw(gid: &Value) -> uuid::Uuid {
    use base64::Engine as _;
    let text =
        String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(gid.as_str().unwrap()).unwrap())
            .unwrap();
    uuid::Uuid::parse_str(text.split_once(':').unwrap().1).unwrap()
}
