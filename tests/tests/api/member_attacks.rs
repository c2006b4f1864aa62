//! Attacks on members, roles, the audit log, activity reads and external signing keys.

use scorebord_tests::{Org, TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(
    managers_do_not_act_above_their_role_or_outside_their_reach,
    member_role_and_credential_changes_are_audited,
    a_rep_reads_only_their_own_activities_on_every_path,
    an_identity_providers_key_signs_in_only_to_its_organizations,
);

const CREATE_MEMBER: &str =
    "mutation($i: CreateMemberInput!) { createMember(input: $i) { member { id } userErrors { field code } } }";
const UPDATE_MEMBER: &str = "mutation($i: UpdateMemberInput!) { updateMember(input: $i) { member { id name email role } userErrors { field code } } }";
const DEACTIVATE: &str =
    "mutation($id: ID!) { deactivateMember(input: {id: $id}) { member { active } userErrors { code } } }";
const REACTIVATE: &str =
    "mutation($id: ID!) { reactivateMember(input: {id: $id}) { member { active } userErrors { code } } }";
const CREATE_TEAM: &str =
    "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id manager { id } } userErrors { code } } }";
const UPDATE_TEAM: &str =
    "mutation($i: UpdateTeamInput!) { updateTeam(input: $i) { team { id manager { id } } userErrors { code } } }";
const MEMBER: &str = "query($id: ID!) { member(id: $id) { name email role active } }";

async fn create_member(app: &TestApp, org: &Org, name: &str, role: &str, team: &str) -> String {
    let email = format!("{}@{}.test", name.to_lowercase().replace(' ', "."), org.slug);
    let body = app
        .ok(
            &org.admin_token,
            CREATE_MEMBER,
            json!({"i": {"name": name, "email": email, "role": role, "salesRole": "MANAGER", "teamId": team, "password": "correct-horse-battery"}}),
        )
        .await;
    assert_eq!(body["createMember"]["userErrors"], json!([]), "{body}");
    body["createMember"]["member"]["id"].as_str().unwrap().to_owned()
}

fn forbidden(body: &Value, what: &str) {
    assert_eq!(error_code(body), "FORBIDDEN", "{what}: {body}");
}

/// A manager deactivated the organization's admin (who sat in the manager's team) and changed
/// the admin's login e-mail, and appointed a member outside their reach as a team's manager.
async fn managers_do_not_act_above_their_role_or_outside_their_reach(app: &TestApp) {
    let org = app.seed_org("acme").await;
    // An admin inside the manager's subtree (Outbound): in reach, but above the manager.
    let boss = create_member(app, &org, "Boss", "ADMIN", &org.outbound).await;
    // Another manager inside the same subtree: an equal role in reach.
    let lead = create_member(app, &org, "Team Lead", "MANAGER", &org.outbound).await;
    let m = &org.manager_token;

    forbidden(&app.gql(Some(m), DEACTIVATE, json!({"id": boss})).await, "deactivate an admin");
    forbidden(
        &app.gql(Some(m), UPDATE_MEMBER, json!({"i": {"id": boss, "email": "attacker@evil.test"}})).await,
        "change an admin's e-mail",
    );
    forbidden(&app.gql(Some(m), UPDATE_MEMBER, json!({"i": {"id": boss, "name": "Demoted"}})).await, "rename an admin");
    forbidden(
        &app.gql(Some(m), UPDATE_MEMBER, json!({"i": {"id": boss, "teamId": org.outbound}})).await,
        "move an admin",
    );
    let unchanged = app.ok(&org.admin_token, MEMBER, json!({"id": boss})).await;
    assert_eq!(
        unchanged["member"],
        json!({"name": "Boss", "email": "boss@acme.test", "role": "ADMIN", "active": true})
    );

    // An admin deactivated by an admin stays out of the manager's hands too.
    let off = app.ok(&org.admin_token, DEACTIVATE, json!({"id": boss})).await;
    assert_eq!(off["deactivateMember"]["member"]["active"], false, "an admin may act on an admin");
    forbidden(&app.gql(Some(m), REACTIVATE, json!({"id": boss})).await, "reactivate an admin");
    app.ok(&org.admin_token, REACTIVATE, json!({"id": boss})).await;

    // Team managers: the appointee must be in the appointer's reach and not above them.
    for (who, what) in [
        (&org.inbound_rep, "a rep of another team"),
        (&org.admin, "an admin outside the reach"),
        (&boss, "an admin inside the reach"),
    ] {
        forbidden(
            &app.gql(Some(m), UPDATE_TEAM, json!({"i": {"id": org.outbound, "managerId": who}})).await,
            &format!("appoint {what} to manage Outbound"),
        );
        forbidden(
            &app.gql(
                Some(m),
                CREATE_TEAM,
                json!({"i": {"name": "Rogue", "parentTeamId": org.outbound, "managerId": who}}),
            )
            .await,
            &format!("create a team managed by {what}"),
        );
    }
    let team = app
        .ok(&org.admin_token, "query($id: ID!) { team(id: $id) { manager { id } } }", json!({"id": org.outbound}))
        .await;
    assert_eq!(team["team"]["manager"]["id"], json!(org.manager), "the manager of Outbound did not change");

    // Inside the reach, at or below the manager's role: allowed.
    let renamed = app.ok(m, UPDATE_MEMBER, json!({"i": {"id": lead, "name": "Lead Renamed"}})).await;
    assert_eq!(renamed["updateMember"]["member"]["name"], "Lead Renamed", "a manager may act on a manager in reach");
    let sub = app
        .ok(m, CREATE_TEAM, json!({"i": {"name": "Closers", "parentTeamId": org.outbound, "managerId": lead}}))
        .await;
    assert_eq!(sub["createTeam"]["team"]["manager"]["id"], json!(lead));
    let rep_off = app.ok(m, DEACTIVATE, json!({"id": org.rep})).await;
    assert_eq!(rep_off["deactivateMember"]["member"]["active"], false);

    // A manager who is out of reach of another manager cannot touch them: the Inbound team has
    // its own manager now, and the Outbound manager may not deactivate them.
    let inbound_lead = create_member(app, &org, "Inbound Lead", "MANAGER", &org.inbound).await;
    forbidden(
        &app.gql(Some(m), DEACTIVATE, json!({"id": inbound_lead})).await,
        "deactivate a manager outside the reach",
    );
    // A manager cannot hand out roles at all, and no one hands out a role above their own.
    forbidden(&app.gql(Some(m), UPDATE_MEMBER, json!({"i": {"id": lead, "role": "ADMIN"}})).await, "promote to admin");
}

const AUDIT: &str = "query($id: ID!) { auditLog(filter: {entityId: $id}) { edges { node { action actorKind actor { id } before after } } } }";

async fn audit_of(app: &TestApp, org: &Org, id: &str) -> Vec<Value> {
    let log = app.ok(&org.admin_token, AUDIT, json!({"id": id})).await;
    let mut entries: Vec<Value> =
        log["auditLog"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
    entries.reverse(); // oldest first
    entries
}

fn entry<'a>(entries: &'a [Value], action: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["action"] == action)
        .unwrap_or_else(|| panic!("no {action} entry in {}", Value::from(entries.to_vec())))
}

/// Member creation, role changes, deactivation and reactivation, e-mail and password changes
/// and team-manager appointments were not in the audit log.
async fn member_role_and_credential_changes_are_audited(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let new = create_member(app, &org, "Newbie", "REP", &org.outbound).await;
    let admin = json!({"id": org.admin});

    let promote = app.ok(&org.admin_token, UPDATE_MEMBER, json!({"i": {"id": new, "role": "MANAGER"}})).await;
    assert_eq!(promote["updateMember"]["member"]["role"], "MANAGER");
    let email = app.ok(&org.manager_token, UPDATE_MEMBER, json!({"i": {"id": new, "email": "other@acme.test"}})).await;
    assert_eq!(email["updateMember"]["member"]["email"], "other@acme.test");
    app.ok(&org.admin_token, DEACTIVATE, json!({"id": new})).await;
    app.ok(&org.admin_token, REACTIVATE, json!({"id": new})).await;

    let entries = audit_of(app, &org, &new).await;
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["member.create", "member.changeRole", "member.changeEmail", "member.deactivate", "member.reactivate"],
        "{entries:?}"
    );
    for e in &entries {
        assert_eq!(e["actorKind"], "member");
        assert!(!e.to_string().contains("argon2"), "no password hash in the log: {e}");
    }
    let created = entry(&entries, "member.create");
    assert_eq!(created["actor"], admin);
    assert_eq!(created["before"], Value::Null);
    assert_eq!(created["after"]["email"], "newbie@acme.test");
    assert_eq!(created["after"]["role"], "REP");
    let role = entry(&entries, "member.changeRole");
    assert_eq!(role["actor"], admin);
    assert_eq!((&role["before"]["role"], &role["after"]["role"]), (&json!("REP"), &json!("MANAGER")));
    let mail = entry(&entries, "member.changeEmail");
    assert_eq!(mail["actor"], json!({"id": org.manager}), "the manager changed the e-mail");
    assert_eq!(
        (&mail["before"]["email"], &mail["after"]["email"]),
        (&json!("newbie@acme.test"), &json!("other@acme.test"))
    );
    let off = entry(&entries, "member.deactivate");
    assert_eq!((&off["before"]["active"], &off["after"]["active"]), (&json!(true), &json!(false)));
    let on = entry(&entries, "member.reactivate");
    assert_eq!((&on["before"]["active"], &on["after"]["active"]), (&json!(false), &json!(true)));

    // A password change: recorded with who did it, without any hash.
    let pw = "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { userErrors { code } } }";
    let changed = app
        .ok(
            &org.rep_token,
            pw,
            json!({"i": {"currentPassword": scorebord_tests::PASSWORD, "newPassword": "a-much-better-one"}}),
        )
        .await;
    assert_eq!(changed["changePassword"]["userErrors"], json!([]));
    let rep_entries = audit_of(app, &org, &org.rep).await;
    let pw_entry = entry(&rep_entries, "member.changePassword");
    assert_eq!(pw_entry["actor"], json!({"id": org.rep}));
    assert_eq!(pw_entry["after"]["hasPassword"], true);
    assert!(!pw_entry.to_string().contains("argon2"), "{pw_entry}");

    // A team-manager appointment decides who reaches the team's members.
    app.ok(&org.admin_token, UPDATE_TEAM, json!({"i": {"id": org.inbound, "managerId": new}})).await;
    let team_entries = audit_of(app, &org, &org.inbound).await;
    let appointed = entry(&team_entries, "team.update");
    assert_eq!(appointed["actor"], admin);
    assert_eq!(appointed["before"]["managerId"], Value::Null);
    assert_eq!(appointed["after"]["managerId"].as_str().unwrap(), uuid_of(&new));

    // API keys, created and revoked.
    let key = app
        .ok(
            &org.admin_token,
            "mutation { createApiKey(input: {name: \"BI\", scopes: [\"scores:read\"]}) { apiKey { id } } }",
            json!({}),
        )
        .await;
    let key_id = key["createApiKey"]["apiKey"]["id"].as_str().unwrap().to_owned();
    app.ok(
        &org.admin_token,
        "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { apiKey { id } } }",
        json!({"id": key_id}),
    )
    .await;
    let key_actions: Vec<String> =
        audit_of(app, &org, &key_id).await.iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
    assert_eq!(key_actions, ["apiKey.create", "apiKey.revoke"]);
}

/// The UUID inside a global ID.
fn uuid_of(gid: &str) -> String {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(gid).unwrap();
    String::from_utf8(raw).unwrap().split_once(':').unwrap().1.to_owned()
}

const LOG: &str = "mutation($i: LogActivityInput!) { logActivity(input: $i) { activity { id } userErrors { code } } }";

async fn log(app: &TestApp, token: &str, input: Value) -> String {
    let body = app.ok(token, LOG, json!({"i": input})).await;
    body["logActivity"]["activity"]["id"].as_str().unwrap_or_else(|| panic!("not logged: {body}")).to_owned()
}

/// A rep read a teammate's and another team's activity (note included) through `node`, and
/// teammates' activities through `scoreChanged`, though `activities` gives a rep only their own.
async fn a_rep_reads_only_their_own_activities_on_every_path(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let teammate = create_member(app, &org, "Mate", "REP", &org.outbound).await;
    let kind = app
        .ok(&org.admin_token, "mutation { createActivityType(input: {name: \"Call\", category: ACTION, unit: COUNT, points: 2}) { activityType { id } } }", json!({}))
        .await["createActivityType"]["activityType"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let own = log(app, &org.rep_token, json!({"activityTypeId": kind, "note": "mine"})).await;
    let mate =
        log(app, &org.manager_token, json!({"activityTypeId": kind, "memberId": teammate, "note": "mate's secret"}))
            .await;
    let other = log(
        app,
        &org.admin_token,
        json!({"activityTypeId": kind, "memberId": org.inbound_rep, "note": "team B secret"}),
    )
    .await;

    // `node` and `nodes`: the same rule.
    let node = "query($id: ID!) { node(id: $id) { ... on Activity { id note } } }";
    let nodes = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Activity { id note } } }";
    let ids = json!({"ids": [own, mate, other]});
    let mine = app.ok(&org.rep_token, node, json!({"id": own})).await;
    assert_eq!(mine["node"], json!({"id": own, "note": "mine"}));
    for id in [&mate, &other] {
        let body = app.ok(&org.rep_token, node, json!({"id": id})).await;
        assert_eq!(body["node"], Value::Null, "out of reach: null");
    }
    let rep_nodes = app.ok(&org.rep_token, nodes, ids.clone()).await;
    assert_eq!(rep_nodes["nodes"], json!([{"id": own, "note": "mine"}, null, null]));
    let manager_nodes = app.ok(&org.manager_token, nodes, ids.clone()).await;
    assert_eq!(manager_nodes["nodes"][1]["note"], "mate's secret", "the manager reads their team");
    assert_eq!(manager_nodes["nodes"][2], Value::Null, "not another team");
    for token in [&org.admin_token, &org.viewer_token] {
        let all = app.ok(token, nodes, ids.clone()).await;
        assert_eq!(all["nodes"][2]["note"], "team B secret");
    }

    // `scoreChanged`, with no argument and for the rep's own team: the teammate's activity,
    // logged first, is not delivered; the rep's own, logged next, is.
    let mut ws = app.ws("graphql-transport-ws").await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", org.rep_token)}}))
        .await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    let sub = "subscription($t: ID) { scoreChanged(teamId: $t) { member { id } activity { id note } } }";
    ws.send(json!({"id": "all", "type": "subscribe", "payload": {"query": sub}})).await;
    ws.send(json!({"id": "team", "type": "subscribe", "payload": {"query": sub, "variables": {"t": org.outbound}}}))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    log(app, &org.manager_token, json!({"activityTypeId": kind, "memberId": teammate, "note": "another secret"})).await;
    log(app, &org.admin_token, json!({"activityTypeId": kind, "memberId": org.inbound_rep, "note": "B again"})).await;
    let again = log(app, &org.rep_token, json!({"activityTypeId": kind, "note": "mine again"})).await;
    let mut seen = std::collections::HashSet::new();
    while seen.len() < 2 {
        let m = ws.next_json().await;
        let change = &m["payload"]["data"]["scoreChanged"];
        assert_eq!(change["activity"], json!({"id": again, "note": "mine again"}), "only the rep's own: {m}");
        seen.insert(m["id"].as_str().unwrap().to_owned());
    }
    // A subscription for the teammate by name is refused.
    ws.send(json!({"id": "mate", "type": "subscribe", "payload": {"query": "subscription($m: ID) { scoreChanged(memberId: $m) { member { id } } }", "variables": {"m": teammate}}})).await;
    let refused = ws.next_json().await;
    assert_eq!(refused["id"], "mate");
    assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN", "{refused}");
    // The connection (what `node` and `scoreChanged` now follow): the rep's own only; a
    // teammate asked for by name is refused.
    let listed = app.ok(&org.rep_token, "{ activities { edges { node { id } } } }", json!({})).await;
    assert_eq!(listed["activities"]["edges"], json!([{"node": {"id": again}}, {"node": {"id": own}}]));
    let named = app
        .gql(
            Some(&org.rep_token),
            "query($m: ID) { activities(filter: {memberId: $m}) { totalCount } }",
            json!({"m": teammate}),
        )
        .await;
    assert_eq!(error_code(&named), "FORBIDDEN", "{named}");
}

/// Every key in `JWT_PUBLIC_KEYS` signed in to every organization: a token signed with the
/// key meant for client A, naming client B's admin, was accepted as ADMIN of client B.
async fn an_identity_providers_key_signs_in_only_to_its_organizations(app: &TestApp) {
    use super::auth::bound_key;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let idp = TestApp::spawn_with(app.backend, |c| {
        c.jwt_public_keys = vec![bound_key("acme", "rsa_public.pem"), bound_key("bravo", "ec_public.pem")];
    })
    .await;
    let acme = idp.seed_org("acme").await;
    let bravo = idp.seed_org("bravo").await;
    let pem = |name: &str| {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/jwt").join(name)).unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let key_a = EncodingKey::from_rsa_pem(&pem("rsa_private.pem")).unwrap();
    let key_b = EncodingKey::from_ec_pem(&pem("ec_private.pem")).unwrap();
    let sign = |alg: Algorithm, key: &EncodingKey, member: &str, org: &str| {
        let claims = json!({"sub": uuid_of(member), "org": org, "exp": now + 300});
        jsonwebtoken::encode(&Header::new(alg), &claims, key).unwrap()
    };
    const VIEWER: &str = "{ viewer { role member { name } } }";

    // Key A naming org B's admin, by slug and by ID: refused.
    for org in [bravo.slug.clone(), bravo.id.0.to_string()] {
        let forged = sign(Algorithm::RS256, &key_a, &bravo.admin, &org);
        let body = idp.gql(Some(&forged), VIEWER, json!({})).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "key A for org B ({org}): {body}");
        // And over WebSocket.
        let mut ws = idp.ws("graphql-transport-ws").await;
        ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {forged}")}})).await;
        assert_eq!(ws.close_code().await, 4403);
    }
    // Key A naming org A, by slug and by ID (bound by slug): accepted.
    for org in [acme.slug.clone(), acme.id.0.to_string()] {
        let token = sign(Algorithm::RS256, &key_a, &acme.admin, &org);
        let body = idp.ok(&token, VIEWER, json!({})).await;
        assert_eq!(body["viewer"], json!({"role": "ADMIN", "member": {"name": "acme Admin"}}), "{org}");
    }
    // Key B signs for org B, not org A.
    let b_for_b = sign(Algorithm::ES256, &key_b, &bravo.admin, &bravo.slug);
    assert_eq!(idp.ok(&b_for_b, VIEWER, json!({})).await["viewer"]["member"]["name"], "bravo Admin");
    let b_for_a = sign(Algorithm::ES256, &key_b, &acme.admin, &acme.slug);
    assert_eq!(error_code(&idp.gql(Some(&b_for_a), VIEWER, json!({})).await), "UNAUTHENTICATED");
    // The server's own HS256 tokens stay valid for every organization.
    for (org, token) in [(&acme, &acme.admin_token), (&bravo, &bravo.admin_token)] {
        assert_eq!(idp.ok(token, VIEWER, json!({})).await["viewer"]["member"]["name"], format!("{} Admin", org.slug));
    }
}
