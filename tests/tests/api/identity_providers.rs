//! Each organization's own OpenID Connect provider: a local provider with generated keys, two
//! organizations, rotation, a provider that cannot be reached, and tokens offered to the
//! organization they were not made for.

use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use scorebord_tests::{TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(
    members_sign_in_through_their_organizations_provider_and_no_other,
    provider_keys_rotate_and_an_unreachable_provider_fails_closed
);

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/jwt").join(name)).unwrap()
}

const ACME_ISSUER: &str = "https://idp.acme.test/";
const OTHER_ISSUER: &str = "https://idp.other.test/";

/// A local provider's JWKS endpoint, whose document the test swaps (rotation) or takes down.
struct Jwks {
    url: String,
    document: Arc<Mutex<String>>,
    server: tokio::task::JoinHandle<()>,
}

async fn jwks(document: &str) -> Jwks {
    let doc = Arc::new(Mutex::new(document.to_owned()));
    let served = doc.clone();
    let app =
        axum::Router::new().route("/jwks", axum::routing::get(move || async move { served.lock().unwrap().clone() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Jwks { url, document: doc, server }
}

/// A token of a provider: `key` signs it with key ID `kid`.
fn token(key: &str, kid: &str, claims: Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_pem(&fixture(key)).unwrap()).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(iss: &str, aud: &str, sub: &str, email: &str) -> Value {
    json!({"iss": iss, "aud": aud, "sub": sub, "email": email, "email_verified": true, "exp": now() + 600, "iat": now()})
}

/// POSTs with a bearer token, naming the organization in `X-Scorebord-Organization`.
async fn gql_in(app: &TestApp, token: &str, organization: Option<&str>, query: &str) -> Value {
    let mut req =
        app.client.post(format!("{}/graphql", app.base_url)).bearer_auth(token).json(&json!({"query": query}));
    if let Some(o) = organization {
        req = req.header("X-Scorebord-Organization", o);
    }
    req.send().await.unwrap().json().await.unwrap()
}

const SET: &str = "mutation($i: SetIdentityProviderInput!) { setIdentityProvider(input: $i) {
  identityProvider { issuer audience jwksUrl hasInlineKeys memberClaim createMembers defaultRole defaultSalesRole version }
  userErrors { field code message } } }";
const VIEWER: &str = "{ viewer { role member { name email team { name } } organization { slug } } }";

async fn members_sign_in_through_their_organizations_provider_and_no_other(app: &TestApp) {
    let acme = app.seed_org("acme").await;
    let other = app.seed_org("other").await;
    let keys = jwks(&String::from_utf8(fixture("jwks.json")).unwrap()).await;

    // Who may set it: admins, not reps, not keys, not the anonymous; and what it refuses.
    let input = json!({"issuer": ACME_ISSUER, "audience": "scorebord-acme", "jwksUrl": keys.url, "memberClaim": "EMAIL",
        "createMembers": true, "defaultRole": "REP", "defaultSalesRole": "INBOUND", "defaultTeamId": acme.inbound});
    assert_eq!(error_code(&app.gql(None, SET, json!({"i": input})).await), "UNAUTHENTICATED");
    assert_eq!(error_code(&app.gql(Some(&acme.rep_token), SET, json!({"i": input})).await), "FORBIDDEN");
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
    assert_eq!(error_code(&app.gql(Some(&key), SET, json!({"i": input})).await), "FORBIDDEN");
    let mut admin_default = input.clone();
    admin_default["defaultRole"] = json!("ADMIN");
    admin_default["jwks"] = json!("{}");
    let refused = app.ok(&acme.admin_token, SET, json!({"i": admin_default})).await;
    let codes: Vec<&str> = refused["setIdentityProvider"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"NOT_ALLOWED") && codes.contains(&"ONE_OF"), "{refused}");
    assert!(
        app.ok(&acme.admin_token, "{ identityProvider { issuer } }", json!({})).await["identityProvider"].is_null()
    );

    let set = app.ok(&acme.admin_token, SET, json!({"i": input})).await;
    assert_eq!(set["setIdentityProvider"]["userErrors"], json!([]), "{set}");
    assert_eq!(set["setIdentityProvider"]["identityProvider"]["version"], 1);
    let inline = json!({"issuer": OTHER_ISSUER, "audience": "scorebord-other",
        "jwks": String::from_utf8(fixture("jwks_rotated.json")).unwrap(), "memberClaim": "EMAIL"});
    let set_other = app.ok(&other.admin_token, SET, json!({"i": inline})).await;
    assert_eq!(set_other["setIdentityProvider"]["identityProvider"]["hasInlineKeys"], true, "{set_other}");

    // A member signs in with the provider's token, the organization named by the header or by
    // the token's own `org` claim.
    let rep = token("jwks_private.pem", "idp-2026", claims(ACME_ISSUER, "scorebord-acme", "u-rep", "Rep@acme.test"));
    let me = gql_in(app, &rep, Some("acme"), VIEWER).await;
    assert_eq!(me["data"]["viewer"]["member"]["name"], "acme Rep", "{me}");
    let mut with_org = claims(ACME_ISSUER, "scorebord-acme", "u-rep", "rep@acme.test");
    with_org["org"] = json!("acme");
    let rep_org = token("jwks_private.pem", "idp-2026", with_org);
    assert_eq!(gql_in(app, &rep_org, None, VIEWER).await["data"]["viewer"]["organization"]["slug"], "acme");

    // Someone new is created at first sign-in with the provider's defaults, and audited.
    let new = token("jwks_private.pem", "idp-2026", {
        let mut c = claims(ACME_ISSUER, "scorebord-acme", "u-new", "nieuw@acme.test");
        c["name"] = json!("Nina Nieuw");
        c
    });
    let nina = gql_in(app, &new, Some("acme"), VIEWER).await;
    assert_eq!(
        nina["data"]["viewer"],
        json!({"role": "REP", "member": {"name": "Nina Nieuw", "email": "nieuw@acme.test", "team": {"name": "acme Inbound"}},
               "organization": {"slug": "acme"}}),
        "{nina}"
    );
    assert_eq!(gql_in(app, &new, Some("acme"), VIEWER).await["data"]["viewer"]["member"]["name"], "Nina Nieuw");
    let members = app.ok(&acme.admin_token, "{ members(filter: {search: \"nieuw\"}) { totalCount } }", json!({})).await;
    assert_eq!(members["members"]["totalCount"], 1, "signed in twice, created once");
    let audit = app.ok(&acme.admin_token, "{ auditLog(first: 50) { nodes { action actorKind } } }", json!({})).await;
    assert!(
        audit["auditLog"]["nodes"].as_array().unwrap().iter().any(|e| e["action"] == "member.createOnSignIn"),
        "{audit}"
    );

    // A token is checked against the provider of the organization it names and no other.
    assert_eq!(error_code(&gql_in(app, &rep, Some("other"), VIEWER).await), "UNAUTHENTICATED", "acme's token at other");
    let other_rep =
        token("rsa_private.pem", "idp-2027", claims(OTHER_ISSUER, "scorebord-other", "o-1", "rep@other.test"));
    assert_eq!(gql_in(app, &other_rep, Some("other"), VIEWER).await["data"]["viewer"]["member"]["name"], "other Rep");
    assert_eq!(
        error_code(&gql_in(app, &other_rep, Some("acme"), VIEWER).await),
        "UNAUTHENTICATED",
        "other's token at acme"
    );
    // acme's key cannot mint for other's issuer, nor other's key for acme's issuer.
    let forged =
        token("jwks_private.pem", "idp-2027", claims(OTHER_ISSUER, "scorebord-other", "o-1", "rep@other.test"));
    assert_eq!(error_code(&gql_in(app, &forged, Some("other"), VIEWER).await), "UNAUTHENTICATED");
    let forged = token("rsa_private.pem", "idp-2026", claims(ACME_ISSUER, "scorebord-acme", "u-rep", "rep@acme.test"));
    assert_eq!(error_code(&gql_in(app, &forged, Some("acme"), VIEWER).await), "UNAUTHENTICATED");
    // Wrong audience, expired, unverified e-mail, unknown person without creation: refused.
    let refused = [
        claims(ACME_ISSUER, "someone-else", "u-rep", "rep@acme.test"),
        {
            let mut c = claims(ACME_ISSUER, "scorebord-acme", "u-rep", "rep@acme.test");
            c["exp"] = json!(now() - 600);
            c
        },
        {
            let mut c = claims(ACME_ISSUER, "scorebord-acme", "u-x", "x@acme.test");
            c["email_verified"] = json!(false);
            c
        },
    ];
    for c in refused {
        let t = token("jwks_private.pem", "idp-2026", c.clone());
        let body = gql_in(app, &t, Some("acme"), VIEWER).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{c}: {body}");
    }
    let stranger =
        token("rsa_private.pem", "idp-2027", claims(OTHER_ISSUER, "scorebord-other", "o-9", "nobody@other.test"));
    let body = gql_in(app, &stranger, Some("other"), VIEWER).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "other creates no members: {body}");
    // A deactivated member is refused, whoever vouches for them.
    let deactivate = "mutation($id: ID!) { deactivateMember(input: {id: $id}) { member { active } } }";
    app.ok(&acme.admin_token, deactivate, json!({"id": acme.rep})).await;
    assert_eq!(error_code(&gql_in(app, &rep, Some("acme"), VIEWER).await), "UNAUTHENTICATED");

    // Removing the provider refuses its tokens from the next request on.
    let removed = app.ok(&acme.admin_token, "mutation { removeIdentityProvider { removed } }", json!({})).await;
    assert_eq!(removed["removeIdentityProvider"]["removed"], true);
    assert_eq!(error_code(&gql_in(app, &new, Some("acme"), VIEWER).await), "UNAUTHENTICATED");
    keys.server.abort();
}

async fn provider_keys_rotate_and_an_unreachable_provider_fails_closed(app: &TestApp) {
    let app = &TestApp::spawn_with(app.backend, |c| c.identity_provider_refetch_seconds = 0).await;
    let acme = app.seed_org("acme").await;
    let keys = jwks(&String::from_utf8(fixture("jwks.json")).unwrap()).await;
    let input = json!({"issuer": ACME_ISSUER, "audience": "scorebord-acme", "jwksUrl": keys.url});
    assert_eq!(
        app.ok(&acme.admin_token, SET, json!({"i": input})).await["setIdentityProvider"]["userErrors"],
        json!([])
    );
    let old = token("jwks_private.pem", "idp-2026", claims(ACME_ISSUER, "scorebord-acme", "u-rep", "rep@acme.test"));
    assert_eq!(gql_in(app, &old, Some("acme"), VIEWER).await["data"]["viewer"]["member"]["name"], "acme Rep");

    // The provider rotates: a token of the new key is taken at once (the keys are fetched
    // again for its unknown key ID), and the old key stops working.
    *keys.document.lock().unwrap() = String::from_utf8(fixture("jwks_rotated.json")).unwrap();
    let rotated = token("rsa_private.pem", "idp-2027", claims(ACME_ISSUER, "scorebord-acme", "u-rep", "rep@acme.test"));
    assert_eq!(gql_in(app, &rotated, Some("acme"), VIEWER).await["data"]["viewer"]["member"]["name"], "acme Rep");
    let body = gql_in(app, &old, Some("acme"), VIEWER).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "the retired key: {body}");

    // The provider goes away: a token that needs its keys again is refused, saying why.
    keys.server.abort();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let unknown_kid =
        token("jwks_private.pem", "idp-2028", claims(ACME_ISSUER, "scorebord-acme", "u-rep", "rep@acme.test"));
    let body = gql_in(app, &unknown_kid, Some("acme"), VIEWER).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("could not be fetched"), "{body}");
    // And a provider that cannot be reached is not accepted in the first place.
    let unreachable = json!({"issuer": ACME_ISSUER, "audience": "scorebord-acme", "jwksUrl": keys.url});
    let set = app.ok(&acme.admin_token, SET, json!({"i": unreachable})).await;
    assert_eq!(set["setIdentityProvider"]["userErrors"][0]["code"], "UNREACHABLE", "{set}");
}
