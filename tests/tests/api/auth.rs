use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use scorebord_tests::{PASSWORD, SECRET, TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(
    token_failures_are_unauthenticated,
    issuer_and_audience_are_checked,
    deactivated_member_token_is_refused,
    a_role_change_takes_effect_at_once,
    members_changed_outside_the_api_are_seen_within_the_cache_ttl,
    login_and_refresh_rotation_with_reuse_detection,
    logout_ends_the_login,
    change_password,
    identity_provider_keys_rs256_es256_jwks,
    login_is_throttled_per_account_and_per_address,
    forwarded_addresses_are_trusted_only_when_configured,
);

const VIEWER: &str = "{ viewer { member { name } } }";

fn member_uuid(gid: &str) -> String {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(gid).unwrap();
    String::from_utf8(raw).unwrap().split_once(':').unwrap().1.to_owned()
}

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

async fn token_failures_are_unauthenticated(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let now = chrono::Utc::now().timestamp();
    let sub = member_uuid(&org.rep);
    let org_id = org.id.0.to_string();
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());

    // The good token works.
    let good = sign(&json!({"sub": sub, "org": org_id, "exp": now + 300}), SECRET);
    assert!(app.gql(Some(&good), VIEWER, json!({})).await.get("errors").is_none());

    let cases = [
        ("missing", None),
        ("expired", Some(sign(&json!({"sub": sub, "org": org_id, "exp": now - 600}), SECRET))),
        ("bad signature", Some(sign(&json!({"sub": sub, "org": org_id, "exp": now + 300}), "wrong-secret"))),
        (
            "alg none",
            Some(format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&json!({"sub": sub, "org": org_id, "exp": now + 300}))
            )),
        ),
        (
            "RS256 header over an HMAC signature",
            Some({
                let hs = sign(&json!({"sub": sub, "org": org_id, "exp": now + 300}), SECRET);
                let parts: Vec<&str> = hs.split('.').collect();
                format!("{}.{}.{}", b64(&json!({"alg": "RS256", "typ": "JWT"})), parts[1], parts[2])
            }),
        ),
        ("not yet valid", Some(sign(&json!({"sub": sub, "org": org_id, "exp": now + 900, "nbf": now + 600}), SECRET))),
        ("garbage", Some("not-a-jwt".to_owned())),
        (
            "unknown member",
            Some(sign(&json!({"sub": uuid::Uuid::now_v7().to_string(), "org": org_id, "exp": now + 300}), SECRET)),
        ),
    ];
    for (what, token) in cases {
        let body = app.gql(token.as_deref(), VIEWER, json!({})).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{what}: {body}");
        assert!(body["data"].is_null(), "{what}: no data expected: {body}");
    }
    // A header that is not a bearer token.
    let resp: Value = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .json(&json!({"query": VIEWER}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&resp), "UNAUTHENTICATED");
}

async fn issuer_and_audience_are_checked(app: &TestApp) {
    let strict = TestApp::spawn_with(app.backend, |c| {
        c.jwt_issuer = Some("https://id.scorebord.test".into());
        c.jwt_audience = Some("scorebord-api".into());
    })
    .await;
    let org = strict.seed_org("acme").await;
    // Tokens the server issues carry iss and aud.
    assert!(strict.gql(Some(&org.rep_token), VIEWER, json!({})).await.get("errors").is_none());
    let now = chrono::Utc::now().timestamp();
    let sub = member_uuid(&org.rep);
    for (what, claims) in [
        (
            "wrong audience",
            json!({"sub": sub, "org": org.slug, "exp": now + 300, "iss": "https://id.scorebord.test", "aud": "other"}),
        ),
        (
            "wrong issuer",
            json!({"sub": sub, "org": org.slug, "exp": now + 300, "iss": "https://evil.test", "aud": "scorebord-api"}),
        ),
        ("no audience", json!({"sub": sub, "org": org.slug, "exp": now + 300, "iss": "https://id.scorebord.test"})),
    ] {
        let body = strict.gql(Some(&sign(&claims, SECRET)), VIEWER, json!({})).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{what}: {body}");
    }
    // The org claim may be the slug.
    let ok = json!({"sub": sub, "org": org.slug, "exp": now + 300, "iss": "https://id.scorebord.test", "aud": "scorebord-api"});
    assert!(strict.gql(Some(&sign(&ok, SECRET)), VIEWER, json!({})).await.get("errors").is_none());
}

async fn deactivated_member_token_is_refused(app: &TestApp) {
    let org = app.seed_org("acme").await;
    // The member was just authenticated (and is remembered by this instance)…
    assert!(app.gql(Some(&org.rep_token), VIEWER, json!({})).await.get("errors").is_none());
    let data = app
        .ok(
            &org.admin_token,
            "mutation($id: ID!) { deactivateMember(input: {id: $id}) { member { active deactivatedAt } userErrors { code } } }",
            json!({"id": org.rep}),
        )
        .await;
    assert_eq!(data["deactivateMember"]["member"]["active"], false);
    let body = app.gql(Some(&org.rep_token), VIEWER, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    // …and cannot log in.
    let body = login(app, &org.slug, "rep@acme.test", PASSWORD).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    // Reactivated: works again, history intact.
    app.ok(
        &org.admin_token,
        "mutation($id: ID!) { reactivateMember(input: {id: $id}) { member { active } } }",
        json!({"id": org.rep}),
    )
    .await;
    assert!(app.gql(Some(&org.rep_token), VIEWER, json!({})).await.get("errors").is_none());
}

async fn login(app: &TestApp, slug: &str, email: &str, password: &str) -> Value {
    app.gql(
        None,
        "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken accessTokenExpiresAt member { name } } }",
        json!({"i": {"organizationSlug": slug, "email": email, "password": password}}),
    )
    .await
}

async fn refresh(app: &TestApp, token: &str) -> Value {
    app.gql(
        None,
        "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { accessToken refreshToken } }",
        json!({"t": token}),
    )
    .await
}

/// The role authentication loads is current on the very next request, even though the member
/// was remembered by the previous one.
async fn a_role_change_takes_effect_at_once(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let keys = "{ apiKeys { id } }";
    let body = app.gql(Some(&org.rep_token), keys, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "a rep may not list API keys: {body}");
    app.ok(
        &org.admin_token,
        "mutation($id: ID!) { updateMember(input: {id: $id, role: ADMIN}) { member { role } } }",
        json!({"id": org.rep}),
    )
    .await;
    let listed = app.ok(&org.rep_token, keys, json!({})).await;
    assert!(listed["apiKeys"].is_array(), "{listed}");
    app.ok(
        &org.admin_token,
        "mutation($id: ID!) { updateMember(input: {id: $id, role: REP}) { member { role } } }",
        json!({"id": org.rep}),
    )
    .await;
    let body = app.gql(Some(&org.rep_token), keys, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
}

/// A change that bypasses the API (SQL by hand, the CLI on another process) publishes nothing:
/// a remembered member is then served for at most `MEMBER_CACHE_SECONDS`; with 0, never.
async fn members_changed_outside_the_api_are_seen_within_the_cache_ttl(app: &TestApp) {
    use entity::member;
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, sea_query::Expr};
    let set_active = |db: sea_orm::DatabaseConnection, id: String, active: bool| async move {
        let id = uuid::Uuid::parse_str(&id).unwrap();
        member::Entity::update_many()
            .col_expr(member::Column::Active, Expr::value(active))
            .filter(member::Column::Id.eq(id))
            .exec(&db)
            .await
            .unwrap();
    };
    let ttl = std::time::Duration::from_secs(3);
    let cached = TestApp::spawn_with(app.backend, |c| c.member_cache_seconds = ttl.as_secs()).await;
    let org = cached.seed_org("acme").await;
    assert!(cached.gql(Some(&org.rep_token), VIEWER, json!({})).await.get("errors").is_none());
    let changed = std::time::Instant::now();
    set_active(cached.state.db.clone(), member_uuid(&org.rep), false).await;
    loop {
        let body = cached.gql(Some(&org.rep_token), VIEWER, json!({})).await;
        if body.get("errors").is_some() {
            assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
            break;
        }
        assert!(changed.elapsed() < ttl + std::time::Duration::from_secs(2), "still served after the TTL");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let uncached = TestApp::spawn_with(app.backend, |c| c.member_cache_seconds = 0).await;
    let org = uncached.seed_org("acme").await;
    assert!(uncached.gql(Some(&org.rep_token), VIEWER, json!({})).await.get("errors").is_none());
    set_active(uncached.state.db.clone(), member_uuid(&org.rep), false).await;
    let body = uncached.gql(Some(&org.rep_token), VIEWER, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "with no cache the next request sees it: {body}");
}

async fn login_and_refresh_rotation_with_reuse_detection(app: &TestApp) {
    let org = app.seed_org("acme").await;
    for (slug, email, password) in [
        ("acme", "rep@acme.test", "wrong-password"),
        ("nope", "rep@acme.test", PASSWORD),
        ("acme", "ghost@acme.test", PASSWORD),
    ] {
        assert_eq!(error_code(&login(app, slug, email, password).await), "UNAUTHENTICATED", "{slug} {email}");
    }
    let body = login(app, &org.slug, " REP@acme.test ", PASSWORD).await;
    let first = body["data"]["login"].clone();
    assert_eq!(first["member"]["name"], "acme Rep", "{body}");
    let access = first["accessToken"].as_str().unwrap();
    assert!(app.gql(Some(access), VIEWER, json!({})).await.get("errors").is_none());

    // Rotation: the refresh token gives new tokens, once.
    let r1 = first["refreshToken"].as_str().unwrap().to_owned();
    let second = refresh(app, &r1).await;
    let r2 = second["data"]["refreshToken"]["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let third = refresh(app, &r2).await;
    let r3 = third["data"]["refreshToken"]["refreshToken"].as_str().unwrap().to_owned();

    // Reusing r1 (already rotated) is theft: refused, and the whole family dies.
    assert_eq!(error_code(&refresh(app, &r1).await), "UNAUTHENTICATED");
    assert_eq!(
        error_code(&refresh(app, &r3).await),
        "UNAUTHENTICATED",
        "the newest token of the family is revoked too"
    );

    // A separate login is unaffected.
    let other = login(app, &org.slug, "rep@acme.test", PASSWORD).await;
    let other_refresh = other["data"]["login"]["refreshToken"].as_str().unwrap();
    assert!(refresh(app, other_refresh).await.get("errors").is_none());
    assert_eq!(error_code(&refresh(app, "garbage").await), "UNAUTHENTICATED");
}

async fn logout_ends_the_login(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let body = login(app, &org.slug, "rep@acme.test", PASSWORD).await;
    let r = body["data"]["login"]["refreshToken"].as_str().unwrap();
    let out =
        app.gql(None, "mutation($t: String!) { logout(input: {refreshToken: $t}) { revoked } }", json!({"t": r})).await;
    assert_eq!(out["data"]["logout"]["revoked"], true);
    assert_eq!(error_code(&refresh(app, r).await), "UNAUTHENTICATED");
    let again =
        app.gql(None, "mutation($t: String!) { logout(input: {refreshToken: $t}) { revoked } }", json!({"t": r})).await;
    assert_eq!(again["data"]["logout"]["revoked"], false);
}

async fn change_password(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let body = login(app, &org.slug, "rep@acme.test", PASSWORD).await;
    let r = body["data"]["login"]["refreshToken"].as_str().unwrap().to_owned();
    let q = "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { member { name } userErrors { field code } } }";
    let wrong = app.ok(&org.rep_token, q, json!({"i": {"currentPassword": "nope", "newPassword": "short"}})).await;
    let errors = &wrong["changePassword"]["userErrors"];
    assert_eq!(errors.as_array().unwrap().len(), 2, "{errors}");
    assert_eq!(errors[0]["field"], json!(["input", "currentPassword"]));
    assert_eq!(errors[1]["field"], json!(["input", "newPassword"]));
    let ok = app
        .ok(&org.rep_token, q, json!({"i": {"currentPassword": PASSWORD, "newPassword": "a-much-better-one"}}))
        .await;
    assert_eq!(ok["changePassword"]["userErrors"], json!([]));
    assert_eq!(error_code(&login(app, &org.slug, "rep@acme.test", PASSWORD).await), "UNAUTHENTICATED");
    assert!(login(app, &org.slug, "rep@acme.test", "a-much-better-one").await.get("errors").is_none());
    assert_eq!(error_code(&refresh(app, &r).await), "UNAUTHENTICATED", "old logins end with a password change");
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/jwt").join(name)
}

/// A `JWT_PUBLIC_KEYS` entry: the fixture key, bound to one organization.
pub fn bound_key(org: &str, name: &str) -> scorebord::config::PublicKeyFile {
    scorebord::config::PublicKeyFile { organizations: vec![org.to_owned()], path: fixture(name) }
}

/// Tokens signed by an organization's identity provider: RS256 (PEM), ES256 (PEM) and RS256
/// from a JWKS file with a key ID. Algorithm confusion (an HS256 token whose secret is the
/// public key) is refused.
async fn identity_provider_keys_rs256_es256_jwks(app: &TestApp) {
    let idp = TestApp::spawn_with(app.backend, |c| {
        c.jwt_public_keys = ["rsa_public.pem", "ec_public.pem", "jwks.json"].map(|f| bound_key("acme", f)).to_vec();
    })
    .await;
    let org = idp.seed_org("acme").await;
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": member_uuid(&org.rep), "org": org.slug, "exp": now + 300});
    let pem = |name: &str| std::fs::read(fixture(name)).unwrap();

    let rs = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(&pem("rsa_private.pem")).unwrap(),
    )
    .unwrap();
    let es = jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &claims,
        &EncodingKey::from_ec_pem(&pem("ec_private.pem")).unwrap(),
    )
    .unwrap();
    let mut kid_header = Header::new(Algorithm::RS256);
    kid_header.kid = Some("idp-2026".into());
    let jwks =
        jsonwebtoken::encode(&kid_header, &claims, &EncodingKey::from_rsa_pem(&pem("jwks_private.pem")).unwrap())
            .unwrap();
    for (what, token) in [("RS256 PEM", &rs), ("ES256 PEM", &es), ("RS256 JWKS kid", &jwks)] {
        let body = idp.gql(Some(token), VIEWER, json!({})).await;
        assert_eq!(body["data"]["viewer"]["member"]["name"], "acme Rep", "{what}: {body}");
    }
    // A kid that the JWKS does not hold, signed with an unknown key.
    let mut unknown = Header::new(Algorithm::RS256);
    unknown.kid = Some("someone-else".into());
    let forged =
        jsonwebtoken::encode(&unknown, &claims, &EncodingKey::from_rsa_pem(&pem("jwks_private.pem")).unwrap()).unwrap();
    assert_eq!(error_code(&idp.gql(Some(&forged), VIEWER, json!({})).await), "UNAUTHENTICATED");
    // HS256 signed with the RSA public key as the secret: algorithm confusion, refused.
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&pem("rsa_public.pem")),
    )
    .unwrap();
    assert_eq!(error_code(&idp.gql(Some(&confused), VIEWER, json!({})).await), "UNAUTHENTICATED");
    // The same with the server's HS256 secret present as well.
    let both =
        TestApp::spawn_with(app.backend, |c| c.jwt_public_keys = vec![bound_key("bravo", "rsa_public.pem")]).await;
    let org2 = both.seed_org("bravo").await;
    let claims2 = json!({"sub": member_uuid(&org2.rep), "org": org2.slug, "exp": now + 300});
    let confused2 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims2,
        &EncodingKey::from_secret(&pem("rsa_public.pem")),
    )
    .unwrap();
    assert_eq!(error_code(&both.gql(Some(&confused2), VIEWER, json!({})).await), "UNAUTHENTICATED");
}

const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";

/// A login from `forwarded_for` (sent as `X-Forwarded-For`).
async fn login_from(app: &TestApp, email: &str, password: &str, forwarded_for: &str) -> Value {
    app.client
        .post(format!("{}/graphql", app.base_url))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"query": LOGIN, "variables": {"i": {"organizationSlug": "acme", "email": email, "password": password}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn retry_after(body: &Value) -> f64 {
    assert_eq!(error_code(body), "RATE_LIMITED", "{body}");
    body["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_f64()
        .unwrap_or_else(|| panic!("no retryAfterSeconds: {body}"))
}

async fn login_is_throttled_per_account_and_per_address(app: &TestApp) {
    let app = TestApp::spawn_with(app.backend, |c| {
        c.login_failures_per_account = 3;
        c.login_failures_per_address = 5;
        c.login_throttle_window_seconds = 900;
    })
    .await;
    app.seed_org("acme").await;

    // Three wrong passwords for the rep: plain UNAUTHENTICATED.
    for _ in 0..3 {
        assert_eq!(error_code(&login(&app, "acme", "rep@acme.test", "wrong-password").await), "UNAUTHENTICATED");
    }
    // The fourth attempt waits, even with the right password (it is not checked at all), and
    // however the e-mail is spelled.
    let refused = login(&app, "acme", " REP@acme.test", PASSWORD).await;
    let wait = retry_after(&refused);
    assert!((299.0..=300.0).contains(&wait), "3 failures per 900 s: one back after 300 s, got {wait}");
    assert!(refused["data"].is_null() || refused["data"]["login"].is_null(), "{refused}");
    assert!(refused["errors"][0]["message"].as_str().unwrap().contains("retry in"), "{refused}");

    // Another account from the same address still has the address's remaining two failures...
    assert_eq!(error_code(&login(&app, "acme", "manager@acme.test", "nope-nope").await), "UNAUTHENTICATED");
    let ok = login(&app, "acme", "manager@acme.test", PASSWORD).await;
    assert!(ok["data"]["login"]["accessToken"].is_string(), "{ok}");
    assert_eq!(error_code(&login(&app, "acme", "admin@acme.test", "nope-nope").await), "UNAUTHENTICATED");
    // ...and then the address is spent: unknown accounts and other organizations count too,
    // so probing for e-mail addresses is throttled the same way.
    assert!(retry_after(&login(&app, "acme", "ghost@acme.test", "x").await) > 0.0);
    assert!(retry_after(&login(&app, "elsewhere", "admin@acme.test", PASSWORD).await) > 0.0);

    // changePassword with a wrong current password is throttled like a login (keyed by the
    // member; this address is spent already, so a fresh server shows the per-member count).
    let fresh = TestApp::spawn_with(app.backend, |c| {
        c.login_failures_per_account = 2;
        c.login_failures_per_address = 100;
    })
    .await;
    let org = fresh.seed_org("acme").await;
    let change = "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { userErrors { field code } } }";
    let wrong = json!({"i": {"currentPassword": "not-it", "newPassword": "a-long-new-password-1"}});
    for _ in 0..2 {
        let body = fresh.gql(Some(&org.rep_token), change, wrong.clone()).await;
        assert_eq!(
            body["data"]["changePassword"]["userErrors"][0]["field"],
            json!(["input", "currentPassword"]),
            "{body}"
        );
    }
    let right = json!({"i": {"currentPassword": PASSWORD, "newPassword": "a-long-new-password-1"}});
    assert!(retry_after(&fresh.gql(Some(&org.rep_token), change, right).await) > 0.0);
    // The member's own login is a different key: it still works.
    assert!(login(&fresh, "acme", "rep@acme.test", PASSWORD).await["data"]["login"]["accessToken"].is_string());
}

async fn forwarded_addresses_are_trusted_only_when_configured(app: &TestApp) {
    // Not trusted (the default): X-Forwarded-For is ignored, every attempt is from 127.0.0.1.
    let direct = TestApp::spawn_with(app.backend, |c| {
        c.login_failures_per_account = 100;
        c.login_failures_per_address = 2;
    })
    .await;
    direct.seed_org("acme").await;
    for (i, from) in ["198.51.100.1", "198.51.100.2"].iter().enumerate() {
        let body = login_from(&direct, &format!("u{i}@acme.test"), "x", from).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    }
    retry_after(&login_from(&direct, "u9@acme.test", "x", "198.51.100.3").await);

    // Behind a trusted proxy the last X-Forwarded-For entry is the client.
    let proxied = TestApp::spawn_with(app.backend, |c| {
        c.login_failures_per_account = 100;
        c.login_failures_per_address = 2;
        c.trust_forwarded_for = true;
    })
    .await;
    proxied.seed_org("acme").await;
    for i in 0..2 {
        let body = login_from(&proxied, &format!("u{i}@acme.test"), "x", "10.9.9.9, 198.51.100.1").await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    }
    retry_after(&login_from(&proxied, "u5@acme.test", "x", "198.51.100.1").await);
    // Another client behind the same proxy is not affected.
    let other = login_from(&proxied, "rep@acme.test", PASSWORD, "198.51.100.2").await;
    assert!(other["data"]["login"]["accessToken"].is_string(), "{other}");
}
