//! Reads served from memory — each organization's directory (members, teams, the organization),
//! target books, streaks and the current rankings — follow every write made through the API at
//! once, see changes made outside it within `MEMBER_CACHE_SECONDS`, and never cross tenants.

use std::time::{Duration, Instant};

use chrono::{Datelike, Duration as Days, Utc};
use scorebord_tests::{Org, TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(
    a_board_with_names_and_teams_follows_every_write,
    changes_outside_the_api_are_seen_within_the_ttl,
    avatars_are_checked_and_only_their_owner_or_a_manager_sets_them,
    the_directory_never_crosses_organizations,
    a_streak_moves_when_a_past_week_or_a_target_changes,
    a_pipeline_screen_follows_stage_and_checklist_changes,
    running_campaigns_follow_the_clock_and_every_write,
    points_by_activity_type_follow_every_log,
);

/// What a sales-room screen asks.
const BOARD: &str = "query($p: PeriodInput!) { leaderboard(input: {period: $p, first: 10}) {
  totalEntries entries { rank points attainmentPercent streakWeeks member { id name avatarUrl team { id name } } } } }";
const SCORE: &str = "query($m: ID) { score(memberId: $m, period: {grain: WEEK}) {
  points activityCount target attainmentPercent streakWeeks } }";
const LOG: &str =
    "mutation($i: LogActivityInput!) { logActivity(input: $i) { activity { id } userErrors { code message } } }";
const UPDATE_MEMBER: &str = "mutation($i: UpdateMemberInput!) { updateMember(input: $i) {
  member { name avatarUrl } userErrors { field code message } } }";

fn week() -> Value {
    json!({"p": {"grain": "WEEK"}})
}

async fn activity_type(app: &TestApp, org: &Org) -> String {
    let d = app
        .ok(
            &org.admin_token,
            "mutation($i: CreateActivityTypeInput!) { createActivityType(input: $i) { activityType { id } } }",
            json!({"i": {"name": "Call", "category": "ACTION", "unit": "COUNT", "points": 2.0}}),
        )
        .await;
    d["createActivityType"]["activityType"]["id"].as_str().unwrap().to_owned()
}

fn entry<'a>(board: &'a Value, member: &str) -> &'a Value {
    board["leaderboard"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["member"]["id"] == member)
        .unwrap_or_else(|| panic!("{member} is not on the board: {board}"))
}

async fn a_board_with_names_and_teams_follows_every_write(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let call = activity_type(app, &org).await;
    let board = app.ok(&org.viewer_token, BOARD, week()).await;
    let rep = entry(&board, &org.rep);
    assert_eq!(rep["member"]["name"], "acme Rep");
    assert_eq!(rep["member"]["team"], json!({"id": org.outbound, "name": "acme Outbound"}));
    assert_eq!(rep["member"]["avatarUrl"], Value::Null);
    assert_eq!(rep["streakWeeks"], 0);

    // A logged activity: the board and the score have it on the very next read.
    let r = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call, "quantity": 3}})).await;
    assert_eq!(r["logActivity"]["userErrors"], json!([]), "{r}");
    assert_eq!(entry(&app.ok(&org.viewer_token, BOARD, week()).await, &org.rep)["points"], 6.0);
    let score = app.ok(&org.rep_token, SCORE, json!({})).await;
    assert_eq!((score["score"]["points"].as_f64(), score["score"]["activityCount"].as_i64()), (Some(6.0), Some(1)));

    // The member renamed and given a picture, by themself.
    let r = app
        .ok(
            &org.rep_token,
            UPDATE_MEMBER,
            json!({"i": {"id": org.rep, "name": "Renamed Rep", "avatarUrl": "https://cdn.example.com/rep.png"}}),
        )
        .await;
    assert_eq!(r["updateMember"]["userErrors"], json!([]), "{r}");
    let board = app.ok(&org.viewer_token, BOARD, week()).await;
    let rep = entry(&board, &org.rep);
    assert_eq!((rep["member"]["name"].as_str(), rep["points"].as_f64()), (Some("Renamed Rep"), Some(6.0)), "{board}");
    assert_eq!(rep["member"]["avatarUrl"], "https://cdn.example.com/rep.png");

    // Their team renamed, then the member moved to another team.
    let r = app
        .ok(
            &org.admin_token,
            "mutation($i: UpdateTeamInput!) { updateTeam(input: $i) { team { name } } }",
            json!({"i": {"id": org.outbound, "name": "Field Sales"}}),
        )
        .await;
    assert_eq!(r["updateTeam"]["team"]["name"], "Field Sales");
    let board = app.ok(&org.viewer_token, BOARD, week()).await;
    assert_eq!(entry(&board, &org.rep)["member"]["team"]["name"], "Field Sales", "{board}");
    let r = app.ok(&org.admin_token, UPDATE_MEMBER, json!({"i": {"id": org.rep, "teamId": org.inbound}})).await;
    assert_eq!(r["updateMember"]["userErrors"], json!([]), "{r}");
    let board = app.ok(&org.viewer_token, BOARD, week()).await;
    assert_eq!(entry(&board, &org.rep)["member"]["team"], json!({"id": org.inbound, "name": "acme Inbound"}));

    // A new team shows in the tree at once.
    let r = app
        .ok(
            &org.admin_token,
            "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id } } }",
            json!({"i": {"name": "Newcomers", "parentTeamId": org.sales}}),
        )
        .await;
    let new_team = r["createTeam"]["team"]["id"].clone();
    let tree = app
        .ok(&org.viewer_token, "query($t: ID!) { team(id: $t) { subTeams { id name } } }", json!({"t": org.sales}))
        .await;
    assert!(tree["team"]["subTeams"].as_array().unwrap().iter().any(|t| t["id"] == new_team), "{tree}");
    // And the organization's own fields.
    app.ok(
        &org.admin_token,
        "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { name } } }",
        json!({"i": {"name": "Acme Renamed"}}),
    )
    .await;
    let o = app.ok(&org.rep_token, "{ organization { name } }", json!({})).await;
    assert_eq!(o["organization"]["name"], "Acme Renamed");
}

/// A change that bypasses the API publishes nothing: what is kept in memory lives out its
/// time-to-live (`MEMBER_CACHE_SECONDS`), and with 0 nothing is kept.
async fn changes_outside_the_api_are_seen_within_the_ttl(app: &TestApp) {
    let ttl = Duration::from_secs(2);
    let kept = TestApp::spawn_with(app.backend, |c| c.member_cache_seconds = ttl.as_secs()).await;
    let org = kept.seed_org("acme").await;
    let board = kept.ok(&org.viewer_token, BOARD, week()).await;
    assert_eq!(entry(&board, &org.rep)["member"]["team"]["name"], "acme Outbound");
    let changed = Instant::now();
    rename_team_by_sql(&kept, "acme Outbound", "Renamed By SQL").await;
    loop {
        let board = kept.ok(&org.viewer_token, BOARD, week()).await;
        let name = entry(&board, &org.rep)["member"]["team"]["name"].clone();
        if name == "Renamed By SQL" {
            break;
        }
        assert_eq!(name, "acme Outbound", "{board}");
        assert!(changed.elapsed() < ttl + Duration::from_secs(2), "still the old name after the TTL: {board}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let unkept = TestApp::spawn_with(app.backend, |c| c.member_cache_seconds = 0).await;
    let org = unkept.seed_org("acme").await;
    unkept.ok(&org.viewer_token, BOARD, week()).await;
    rename_team_by_sql(&unkept, "acme Outbound", "Renamed By SQL").await;
    let board = unkept.ok(&org.viewer_token, BOARD, week()).await;
    assert_eq!(entry(&board, &org.rep)["member"]["team"]["name"], "Renamed By SQL", "nothing kept: {board}");
}

async fn rename_team_by_sql(app: &TestApp, from: &str, to: &str) {
    use entity::team;
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, sea_query::Expr};
    let updated = team::Entity::update_many()
        .col_expr(team::Column::Name, Expr::value(to))
        .filter(team::Column::Name.eq(from))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected, 1);
}

async fn avatars_are_checked_and_only_their_owner_or_a_manager_sets_them(app: &TestApp) {
    let org = app.seed_org("acme").await;
    for bad in ["javascript:alert(1)", "data:image/png;base64,AAAA", "/relative.png", "https://"] {
        let r = app.ok(&org.rep_token, UPDATE_MEMBER, json!({"i": {"id": org.rep, "avatarUrl": bad}})).await;
        assert_eq!(r["updateMember"]["userErrors"][0]["field"], json!(["input", "avatarUrl"]), "{bad}: {r}");
        assert_eq!(r["updateMember"]["userErrors"][0]["code"], "INVALID", "{bad}: {r}");
    }
    let long = format!("https://cdn.example.com/{}", "a".repeat(2000));
    let r = app.ok(&org.rep_token, UPDATE_MEMBER, json!({"i": {"id": org.rep, "avatarUrl": long}})).await;
    assert_eq!(r["updateMember"]["userErrors"][0]["code"], "INVALID", "{r}");
    // Another member's picture: not for a rep.
    let r = app
        .gql(
            Some(&org.rep_token),
            UPDATE_MEMBER,
            json!({"i": {"id": org.inbound_rep, "avatarUrl": "https://cdn.example.com/x.png"}}),
        )
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    // Their manager may; null removes it.
    let set = json!({"i": {"id": org.rep, "avatarUrl": "https://cdn.example.com/rep.png"}});
    let r = app.ok(&org.manager_token, UPDATE_MEMBER, set).await;
    assert_eq!(r["updateMember"]["member"]["avatarUrl"], "https://cdn.example.com/rep.png", "{r}");
    let r = app.ok(&org.rep_token, UPDATE_MEMBER, json!({"i": {"id": org.rep, "avatarUrl": null}})).await;
    assert_eq!(r["updateMember"]["member"]["avatarUrl"], Value::Null, "{r}");
    // Set on creation too, and checked there.
    let create = "mutation($i: CreateMemberInput!) { createMember(input: $i) { member { avatarUrl } userErrors { field code } } }";
    let r = app
        .ok(
            &org.admin_token,
            create,
            json!({"i": {"name": "Pic", "email": "pic@acme.test", "salesRole": "INBOUND", "avatarUrl": "ftp://x/y.png"}}),
        )
        .await;
    assert_eq!(r["createMember"]["userErrors"], json!([{"field": ["input", "avatarUrl"], "code": "INVALID"}]), "{r}");
    let r = app
        .ok(
            &org.admin_token,
            create,
            json!({"i": {"name": "Pic", "email": "pic@acme.test", "salesRole": "INBOUND", "avatarUrl": "https://cdn.example.com/p.png"}}),
        )
        .await;
    assert_eq!(r["createMember"]["member"]["avatarUrl"], "https://cdn.example.com/p.png", "{r}");
}

/// One instance keeps many organizations' directories side by side: a member or team of
/// another organization is never found through them, by ID or through a nested field.
async fn the_directory_never_crosses_organizations(app: &TestApp) {
    let acme = app.seed_org("acme").await;
    let other = app.seed_org("other").await;
    // Both directories are loaded.
    app.ok(&acme.viewer_token, BOARD, week()).await;
    app.ok(&other.viewer_token, BOARD, week()).await;
    for id in [&acme.rep, &acme.outbound, &acme.sales] {
        let r = app.ok(&other.admin_token, "query($id: ID!) { node(id: $id) { id } }", json!({"id": id})).await;
        assert_eq!(r["node"], Value::Null, "{id}: {r}");
    }
    let r =
        app.gql(Some(&other.admin_token), "query($t: ID!) { team(id: $t) { name } }", json!({"t": acme.sales})).await;
    assert!(r["errors"].is_array() && r["data"].is_null() || r["data"]["team"].is_null(), "{r}");
    let r = app.gql(Some(&other.admin_token), SCORE, json!({"m": acme.rep})).await;
    assert_eq!(error_code(&r), "NOT_FOUND", "another organization's member: {r}");
    // The other organization's board holds its own members only.
    let board = app.ok(&other.viewer_token, BOARD, week()).await;
    for e in board["leaderboard"]["entries"].as_array().unwrap() {
        assert!(e["member"]["name"].as_str().unwrap().starts_with("other "), "{e}");
    }
}

/// The streak is kept for the week: an activity logged back into last week, or a new target,
/// moves it on the next read.
async fn a_streak_moves_when_a_past_week_or_a_target_changes(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let call = activity_type(app, &org).await;
    let streak = |board: &Value| entry(board, &org.rep)["streakWeeks"].as_i64();
    let set_target = |points: f64| {
        json!({"i": {"memberId": org.rep, "weeklyPoints": points, "reason": "test",
            "effectiveFrom": (scorebord_tests::org_today() - Days::days(60)).to_string()}})
    };
    let target = "mutation($i: SetPointsTargetInput!) { setPointsTarget(input: $i) { userErrors { code message } } }";
    // Weeks before a member started do not count: the seeded rep starts today.
    let started = (scorebord_tests::org_today() - Days::days(60)).to_string();
    let r = app.ok(&org.admin_token, UPDATE_MEMBER, json!({"i": {"id": org.rep, "startDate": started}})).await;
    assert_eq!(r["updateMember"]["userErrors"], json!([]), "{r}");
    let r = app.ok(&org.admin_token, target, set_target(4.0)).await;
    assert_eq!(r["setPointsTarget"]["userErrors"], json!([]), "{r}");
    assert_eq!(streak(&app.ok(&org.viewer_token, BOARD, week()).await), Some(0));

    // Three calls in the middle of last week: 6 points against a target of 4.
    let today = scorebord_tests::org_today();
    let last_week = today - Days::days(i64::from(today.weekday().num_days_from_monday()) + 4);
    let at = last_week.and_hms_opt(12, 0, 0).unwrap().and_utc();
    let r = app
        .ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call, "quantity": 3, "occurredAt": at.to_rfc3339()}}))
        .await;
    assert_eq!(r["logActivity"]["userErrors"], json!([]), "{r}");
    let first_late = r["logActivity"]["activity"]["id"].as_str().unwrap().to_owned();
    assert_eq!(streak(&app.ok(&org.viewer_token, BOARD, week()).await), Some(1), "the late activity counts");
    let score = app.ok(&org.rep_token, SCORE, json!({})).await;
    assert_eq!(score["score"]["streakWeeks"], 1, "{score}");

    // Another rep's late activity moves their streak and leaves this one's alone; voiding this
    // one's late activity moves this one's and leaves the other's.
    let other = |board: &Value| entry(board, &org.inbound_rep)["streakWeeks"].as_i64();
    let r = app.ok(&org.admin_token, UPDATE_MEMBER, json!({"i": {"id": org.inbound_rep, "startDate": started}})).await;
    assert_eq!(r["updateMember"]["userErrors"], json!([]), "{r}");
    let mut other_target = set_target(4.0);
    other_target["i"]["memberId"] = json!(org.inbound_rep);
    app.ok(&org.admin_token, target, other_target).await;
    let board = app.ok(&org.viewer_token, BOARD, week()).await;
    assert_eq!((streak(&board), other(&board)), (Some(1), Some(0)), "{board}");
    let r = app
        .ok(
            &org.inbound_rep_token,
            LOG,
            json!({"i": {"activityTypeId": call, "quantity": 2, "occurredAt": at.to_rfc3339()}}),
        )
        .await;
    assert_eq!(r["logActivity"]["userErrors"], json!([]), "{r}");
    let board = app.ok(&org.viewer_token, BOARD, week()).await;
    assert_eq!((streak(&board), other(&board)), (Some(1), Some(1)), "{board}");
    let late = app
        .ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call, "quantity": 1, "occurredAt": at.to_rfc3339()}}))
        .await;
    let late = late["logActivity"]["activity"]["id"].as_str().unwrap().to_owned();
    assert_eq!(streak(&app.ok(&org.viewer_token, BOARD, week()).await), Some(1));
    let void = "mutation($i: VoidActivityInput!) { voidActivity(input: $i) { userErrors { code message } } }";
    for id in [late, first_late.clone()] {
        let r = app.ok(&org.admin_token, void, json!({"i": {"id": id, "reason": "test"}})).await;
        assert_eq!(r["voidActivity"]["userErrors"], json!([]), "{r}");
    }
    let board = app.ok(&org.viewer_token, BOARD, week()).await;
    assert_eq!((streak(&board), other(&board)), (Some(0), Some(1)), "the voided week no longer counts: {board}");
    let r = app
        .ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call, "quantity": 3, "occurredAt": at.to_rfc3339()}}))
        .await;
    assert_eq!(r["logActivity"]["userErrors"], json!([]), "{r}");
    let board = app.ok(&org.viewer_token, BOARD, week()).await;
    assert_eq!((streak(&board), other(&board)), (Some(1), Some(1)), "{board}");

    // A higher target takes the streak away again.
    app.ok(&org.admin_token, target, set_target(10.0)).await;
    assert_eq!(streak(&app.ok(&org.viewer_token, BOARD, week()).await), Some(0), "the new target counts");
    let score = app.ok(&org.rep_token, SCORE, json!({})).await;
    assert_eq!((score["score"]["streakWeeks"].as_i64(), score["score"]["target"].as_f64()), (Some(0), Some(10.0)));
}

/// Stages and checklists come from memory: a renamed stage, a new checklist item and a ticked
/// item show on the next read of a page of deals; another organization's set-up never does.
async fn a_pipeline_screen_follows_stage_and_checklist_changes(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let other = app.seed_org("other").await;
    const SCREEN: &str = "{ deals(first: 50) { nodes { id stage { id name } owner { name } amount { amount }
      checklist { done item { id label } } } } }";
    // Read before the organization has a stage: the catalog is loaded (empty) and must follow.
    let empty = app.ok(&org.rep_token, SCREEN, json!({})).await;
    assert_eq!(empty["deals"]["nodes"], json!([]), "{empty}");
    app.ok(
        &org.admin_token,
        "mutation($i: CreateStageInput!) { createStage(input: $i) { stage { id } } }",
        json!({"i": {"name": "Lead", "kind": "OPEN"}}),
    )
    .await;
    let deal = app
        .ok(
            &org.rep_token,
            "mutation($i: DealInput!) { createDeal(input: $i) { deal { id stage { id } } userErrors { message } } }",
            json!({"i": {"name": "Big one", "amount": "1200.00"}}),
        )
        .await;
    let deal_id = deal["createDeal"]["deal"]["id"].clone();
    let stage = deal["createDeal"]["deal"]["stage"]["id"].clone();
    let screen = app.ok(&org.rep_token, SCREEN, json!({})).await;
    let row = &screen["deals"]["nodes"][0];
    assert_eq!((row["id"].clone(), row["owner"]["name"].clone()), (deal_id.clone(), json!("acme Rep")), "{screen}");
    assert_eq!(row["checklist"], json!([]), "{screen}");
    let r = app
        .ok(
            &org.admin_token,
            "mutation($i: UpdateStageInput!) { updateStage(input: $i) { stage { name } } }",
            json!({"i": {"id": stage, "name": "First contact"}}),
        )
        .await;
    assert_eq!(r["updateStage"]["stage"]["name"], "First contact", "{r}");
    let item = app
        .ok(
            &org.admin_token,
            "mutation($i: AddChecklistItemInput!) { addChecklistItem(input: $i) { item { id } } }",
            json!({"i": {"stageId": stage, "label": "Call summary sent", "kind": "PROCESS"}}),
        )
        .await["addChecklistItem"]["item"]["id"]
        .clone();
    let screen = app.ok(&org.rep_token, SCREEN, json!({})).await;
    let row = &screen["deals"]["nodes"][0];
    assert_eq!(row["stage"]["name"], "First contact", "{screen}");
    assert_eq!(row["checklist"], json!([{"done": false, "item": {"id": item, "label": "Call summary sent"}}]));
    app.ok(
        &org.rep_token,
        "mutation($i: ChecklistItemOnDealInput!) { completeChecklistItem(input: $i) { userErrors { message } } }",
        json!({"i": {"dealId": deal_id, "itemId": item}}),
    )
    .await;
    let screen = app.ok(&org.rep_token, SCREEN, json!({})).await;
    assert_eq!(screen["deals"]["nodes"][0]["checklist"][0]["done"], true, "{screen}");
    // The other organization's stages keep their names and have no such item.
    app.ok(
        &other.admin_token,
        "mutation($i: CreateStageInput!) { createStage(input: $i) { stage { id } } }",
        json!({"i": {"name": "Lead", "kind": "OPEN"}}),
    )
    .await;
    let theirs = app.ok(&other.admin_token, "{ pipelineStages { name checklist { label } } }", json!({})).await;
    assert_eq!(theirs["pipelineStages"].as_array().map(Vec::len), Some(1), "{theirs}");
    for s in theirs["pipelineStages"].as_array().unwrap() {
        assert_ne!(s["name"], "First contact", "{theirs}");
        assert_eq!(s["checklist"], json!([]), "{theirs}");
    }
}

const CAMPAIGNS: &str = "query($s: CampaignStatus, $after: String) { campaigns(status: $s, first: 2, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } nodes { id name startsAt } } }";

fn campaign_names(d: &Value) -> Vec<String> {
    d["campaigns"]["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap().to_owned()).collect()
}

async fn create_campaign(app: &TestApp, org: &Org, name: &str, starts: chrono::DateTime<Utc>, ty: &str) -> String {
    let d = app
        .ok(
            &org.admin_token,
            "mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { campaign { id } userErrors { code message } } }",
            json!({"i": {"name": name, "startsAt": starts.to_rfc3339(), "endsAt": (starts + Days::days(1)).to_rfc3339(),
                         "multiplier": 2.0, "activityTypeIds": [ty]}}),
        )
        .await;
    assert_eq!(d["createCampaign"]["userErrors"], json!([]), "{d}");
    d["createCampaign"]["campaign"]["id"].as_str().unwrap().to_owned()
}

/// Running and upcoming campaigns are kept in memory: a campaign created, started by the clock
/// or ended shows in the right list on the next read, pages like any connection, and another
/// organization never sees it.
async fn running_campaigns_follow_the_clock_and_every_write(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let other = app.seed_org("globex").await;
    let call = activity_type(app, &org).await;
    let running = |after: Option<&str>| json!({"s": "RUNNING", "after": after});
    assert_eq!(campaign_names(&app.ok(&org.rep_token, CAMPAIGNS, running(None)).await), Vec::<String>::new());

    let now = Utc::now();
    create_campaign(app, &org, "Old", now - Days::hours(2), &call).await;
    create_campaign(app, &org, "Newer", now - Days::hours(1), &call).await;
    let soon = create_campaign(app, &org, "Soon", now + Days::seconds(3), &call).await;
    let d = app.ok(&org.rep_token, CAMPAIGNS, running(None)).await;
    assert_eq!(campaign_names(&d), ["Newer", "Old"], "newest start first: {d}");
    assert_eq!(d["campaigns"]["totalCount"], 2);
    let upcoming = app.ok(&org.rep_token, CAMPAIGNS, json!({"s": "UPCOMING"})).await;
    assert_eq!(campaign_names(&upcoming), ["Soon"]);

    // Pages: first 2 of 3 once "Soon" has started by the clock alone (no write in between).
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let first = app.ok(&org.rep_token, CAMPAIGNS, running(None)).await;
    assert_eq!(campaign_names(&first), ["Soon", "Newer"], "{first}");
    assert_eq!(first["campaigns"]["pageInfo"]["hasNextPage"], true);
    let cursor = first["campaigns"]["pageInfo"]["endCursor"].as_str().unwrap();
    let rest = app.ok(&org.rep_token, CAMPAIGNS, running(Some(cursor))).await;
    assert_eq!(campaign_names(&rest), ["Old"], "{rest}");
    assert_eq!(rest["campaigns"]["pageInfo"]["hasNextPage"], false);
    // The same cursor means the same place whichever way the list was read.
    let all = app.ok(&org.rep_token, CAMPAIGNS, json!({"after": cursor})).await;
    assert_eq!(campaign_names(&all), ["Old"], "{all}");
    assert_eq!(
        campaign_names(&app.ok(&org.rep_token, CAMPAIGNS, json!({"s": "UPCOMING"})).await),
        Vec::<String>::new()
    );

    // Ended now: gone from the running list on the next read, in the ended one.
    let d = app
        .ok(
            &org.admin_token,
            "mutation($i: EndCampaignInput!) { endCampaign(input: $i) { userErrors { code } } }",
            json!({"i": {"id": soon}}),
        )
        .await;
    assert_eq!(d["endCampaign"]["userErrors"], json!([]), "{d}");
    assert_eq!(campaign_names(&app.ok(&org.rep_token, CAMPAIGNS, running(None)).await), ["Newer", "Old"]);
    assert_eq!(campaign_names(&app.ok(&org.rep_token, CAMPAIGNS, json!({"s": "ENDED"})).await), ["Soon"]);

    // Another organization's lists stay empty, and the anonymous are refused.
    for status in ["RUNNING", "UPCOMING", "ENDED"] {
        let d = app.ok(&other.admin_token, CAMPAIGNS, json!({"s": status})).await;
        assert_eq!(campaign_names(&d), Vec::<String>::new(), "{status}: {d}");
    }
    let anonymous = app.gql(None, CAMPAIGNS, running(None)).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
}

/// The week's points per activity type come from the ranking: a log shows at once, per type,
/// and a void takes it away.
async fn points_by_activity_type_follow_every_log(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let call = activity_type(app, &org).await;
    const BY_TYPE: &str = "{ score(period: {grain: WEEK}) { points activityCount byActivityType {
      activityType { id name } count points } } }";
    let before = app.ok(&org.rep_token, BY_TYPE, json!({})).await;
    assert_eq!(before["score"]["byActivityType"], json!([]), "{before}");
    let r = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call, "quantity": 2}})).await;
    let first = r["logActivity"]["activity"]["id"].as_str().unwrap().to_owned();
    app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call, "quantity": 1}})).await;
    let d = app.ok(&org.rep_token, BY_TYPE, json!({})).await;
    assert_eq!(
        d["score"]["byActivityType"],
        json!([{"activityType": {"id": call, "name": "Call"}, "count": 2, "points": 6.0}]),
        "{d}"
    );
    assert_eq!((d["score"]["points"].as_f64(), d["score"]["activityCount"].as_i64()), (Some(6.0), Some(2)));
    // The type renamed: the breakdown names it so on the next read.
    let renamed = app
        .ok(
            &org.admin_token,
            "mutation($i: UpdateActivityTypeInput!) { updateActivityType(input: $i) { userErrors { code message } } }",
            json!({"i": {"id": call, "name": "Phone call"}}),
        )
        .await;
    assert_eq!(renamed["updateActivityType"]["userErrors"], json!([]), "{renamed}");
    let d = app
        .ok(
            &org.admin_token,
            "mutation($i: VoidActivityInput!) { voidActivity(input: $i) { userErrors { code message } } }",
            json!({"i": {"id": first, "reason": "logged twice"}}),
        )
        .await;
    assert_eq!(d["voidActivity"]["userErrors"], json!([]), "{d}");
    let d = app.ok(&org.rep_token, BY_TYPE, json!({})).await;
    assert_eq!(
        d["score"]["byActivityType"],
        json!([{"activityType": {"id": call, "name": "Phone call"}, "count": 1, "points": 2.0}]),
        "{d}"
    );
}
