//! The response cache: `leaderboard` and `score` answers are reused per caller and request
//! body until the organization's data changes, and never served stale after a change made
//! through the API, nor to another caller, nor for fields no event announces.

use std::time::{Duration, Instant};

use scorebord_tests::{Org, TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(
    answers_are_reused_until_a_score_or_member_changes,
    changes_outside_the_api_are_seen_within_the_ttl,
    fields_no_event_announces_are_never_cached,
    an_answer_is_never_served_to_another_caller,
    hits_spend_the_rate_limit_budget,
    a_past_period_is_reused_until_a_late_activity_moves_it,
);

const BOARD: &str = "query($p: PeriodInput!) { leaderboard(input: {period: $p, first: 10}) {
  totalEntries entries { rank points member { id name } } } }";
const SCORE: &str = "query($m: ID) { score(memberId: $m, period: {grain: WEEK}) { points activityCount } }";
const LOG: &str =
    "mutation($i: LogActivityInput!) { logActivity(input: $i) { activity { id } userErrors { code message } } }";

fn week() -> Value {
    json!({"p": {"grain": "WEEK"}})
}

fn hits(app: &TestApp) -> u64 {
    app.state.metrics.cached_responses.get()
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

fn points_of(board: &Value, name: &str) -> Option<f64> {
    board["leaderboard"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["member"]["name"] == name)
        .and_then(|e| e["points"].as_f64())
}

async fn answers_are_reused_until_a_score_or_member_changes(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let call = activity_type(app, &org).await;
    let first = app.ok(&org.viewer_token, BOARD, week()).await;
    let before = hits(app);
    let second = app.gql(Some(&org.viewer_token), BOARD, week()).await;
    assert_eq!(hits(app), before + 1, "the same question is answered from the cache");
    assert_eq!(second["data"], first, "{second}");
    assert!(second["extensions"]["cost"]["requestedQueryCost"].as_u64().unwrap() > 0, "{second}");

    // A logged activity shows on the very next read: the cached board is dropped.
    let r = app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call, "quantity": 3}})).await;
    assert_eq!(r["logActivity"]["userErrors"], json!([]), "{r}");
    let after_log = app.ok(&org.viewer_token, BOARD, week()).await;
    assert_eq!(points_of(&after_log, "acme Rep"), Some(6.0), "{after_log}");
    let score = app.ok(&org.rep_token, SCORE, json!({})).await;
    assert_eq!(score["score"]["points"], 6.0);
    app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call}})).await;
    let score = app.ok(&org.rep_token, SCORE, json!({})).await;
    assert_eq!(score["score"], json!({"points": 8.0, "activityCount": 2}), "the score is not served stale");

    // A renamed member shows on the next read too (MembersChanged).
    app.ok(
        &org.admin_token,
        "mutation($i: UpdateMemberInput!) { updateMember(input: $i) { member { name } } }",
        json!({"i": {"id": org.rep, "name": "Renamed Rep"}}),
    )
    .await;
    let renamed = app.ok(&org.viewer_token, BOARD, week()).await;
    assert_eq!(points_of(&renamed, "Renamed Rep"), Some(8.0), "{renamed}");
    assert_eq!(points_of(&renamed, "acme Rep"), None, "{renamed}");
}

/// A change that bypasses the API publishes nothing: the cached answer then lives out its TTL
/// (`RESPONSE_CACHE_SECONDS`), and with 0 nothing is cached. (`score` reads the day totals on
/// every execution, so a total changed with SQL shows as soon as the answer is not reused.)
async fn changes_outside_the_api_are_seen_within_the_ttl(app: &TestApp) {
    let ttl = Duration::from_secs(3);
    let cached = TestApp::spawn_with(app.backend, |c| c.response_cache_seconds = ttl.as_secs()).await;
    let org = cached.seed_org("acme").await;
    let call = activity_type(&cached, &org).await;
    cached.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call}})).await;
    assert_eq!(cached.ok(&org.rep_token, SCORE, json!({})).await["score"]["points"], 2.0);
    let changed = Instant::now();
    set_day_totals_by_sql(&cached, &org.rep, 5000).await;
    let mut served_stale = false;
    loop {
        let score = cached.ok(&org.rep_token, SCORE, json!({})).await;
        if score["score"]["points"] == 50.0 {
            break;
        }
        assert_eq!(score["score"]["points"], 2.0, "{score}");
        served_stale = true;
        assert!(changed.elapsed() < ttl + Duration::from_secs(2), "still served after the TTL: {score}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served_stale, "the cached answer was reused before the TTL ran out");

    let uncached = TestApp::spawn_with(app.backend, |c| c.response_cache_seconds = 0).await;
    let org = uncached.seed_org("acme").await;
    let call = activity_type(&uncached, &org).await;
    uncached.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call}})).await;
    uncached.ok(&org.rep_token, SCORE, json!({})).await;
    set_day_totals_by_sql(&uncached, &org.rep, 5000).await;
    let score = uncached.ok(&org.rep_token, SCORE, json!({})).await;
    assert_eq!(score["score"]["points"], 50.0, "with no cache the next request sees it: {score}");
    assert_eq!(hits(&uncached), 0);
}

async fn set_day_totals_by_sql(app: &TestApp, member_gid: &str, points_cents: i64) {
    use entity::activity_day_total;
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, sea_query::Expr};
    let updated = activity_day_total::Entity::update_many()
        .col_expr(activity_day_total::Column::PointsCents, Expr::value(points_cents))
        .filter(activity_day_total::Column::MemberId.eq(member_uuid(member_gid)))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected, 1);
}

fn member_uuid(gid: &str) -> uuid::Uuid {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(gid).unwrap();
    let text = String::from_utf8(raw).unwrap();
    uuid::Uuid::parse_str(text.trim_start_matches("Member:")).unwrap()
}

/// Anything outside the allowlist — another root field, a member's e-mail, a campaign board —
/// is executed every time, so a change no event announces is seen at once even with a long TTL.
async fn fields_no_event_announces_are_never_cached(app: &TestApp) {
    let app = TestApp::spawn_with(app.backend, |c| c.response_cache_seconds = 60).await;
    let org = app.seed_org("acme").await;
    let with_email =
        "query($p: PeriodInput!) { leaderboard(input: {period: $p}) { entries { member { name email } } } }";
    let with_types = "query($p: PeriodInput!) { leaderboard(input: {period: $p}) { totalEntries } activityTypes { edges { node { name } } } }";
    let campaign = app
        .ok(
            &org.admin_token,
            "mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { campaign { id } userErrors { message } } }",
            json!({"i": {"name": "Blitz", "multiplier": 2.0,
                "startsAt": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
                "endsAt": (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339()}}),
        )
        .await;
    let campaign =
        campaign["createCampaign"]["campaign"]["id"].as_str().unwrap_or_else(|| panic!("{campaign}")).to_owned();
    let campaign_board = json!({"p": {"campaignId": campaign}});
    for (query, vars) in [(with_email, week()), (with_types, week()), (BOARD, campaign_board.clone())] {
        app.ok(&org.viewer_token, query, vars.clone()).await;
        let before = hits(&app);
        app.ok(&org.viewer_token, query, vars).await;
        assert_eq!(hits(&app), before, "not answered from the cache: {query}");
    }
    assert!(app.state.responses.is_empty(), "nothing was kept");

    // What those fields read is seen at once: an activity type renamed with SQL.
    activity_type(&app, &org).await;
    app.ok(&org.viewer_token, with_types, week()).await;
    use entity::activity_type;
    use sea_orm::{EntityTrait as _, sea_query::Expr};
    activity_type::Entity::update_many()
        .col_expr(activity_type::Column::Name, Expr::value("Renamed by SQL"))
        .exec(&app.state.db)
        .await
        .unwrap();
    let types = app.ok(&org.viewer_token, with_types, week()).await;
    assert_eq!(types["activityTypes"]["edges"][0]["node"]["name"], "Renamed by SQL", "{types}");

    // The allowed shape, by contrast, is kept.
    app.ok(&org.viewer_token, BOARD, week()).await;
    let before = hits(&app);
    app.ok(&org.viewer_token, BOARD, week()).await;
    assert_eq!(hits(&app), before + 1);
}

/// The key is the caller: an answer another member may read is never served to one who may not.
async fn an_answer_is_never_served_to_another_caller(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let theirs = json!({"m": org.inbound_rep});
    let admin = app.ok(&org.admin_token, SCORE, theirs.clone()).await;
    assert_eq!(admin["score"]["points"], 0.0);
    app.ok(&org.admin_token, SCORE, theirs.clone()).await;
    let before = hits(app);
    let rep = app.gql(Some(&org.rep_token), SCORE, theirs.clone()).await;
    assert_eq!(error_code(&rep), "FORBIDDEN", "a rep reads no other rep's score: {rep}");
    let again = app.gql(Some(&org.rep_token), SCORE, theirs).await;
    assert_eq!(error_code(&again), "FORBIDDEN", "an error is never cached: {again}");
    assert_eq!(hits(app), before);
    // Unauthenticated callers are never answered from the cache.
    let anonymous = app.gql(None, BOARD, week()).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
}

/// A hit costs what executing would: the budget shrinks and runs out.
async fn hits_spend_the_rate_limit_budget(app: &TestApp) {
    let app = TestApp::spawn_with(app.backend, |c| {
        c.rate_limit_points = 100;
        c.rate_limit_restore_per_second = 1;
    })
    .await;
    let org = app.seed_org("acme").await;
    let mut available = Vec::new();
    let mut limited = None;
    for _ in 0..40 {
        let body = app.gql(Some(&org.viewer_token), SCORE, json!({})).await;
        if body.get("errors").is_some() {
            limited = Some(body);
            break;
        }
        available.push(body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"].as_i64().unwrap());
    }
    assert!(hits(&app) > 0, "the repeated score was served from the cache");
    assert!(available.windows(2).all(|w| w[1] < w[0]), "every answer spent budget: {available:?}");
    let limited = limited.expect("the budget ran out");
    assert_eq!(error_code(&limited), "RATE_LIMITED", "{limited}");
    assert_eq!(limited["data"], Value::Null);
    assert!(limited["errors"][0]["extensions"]["retryAfterSeconds"].as_f64().unwrap() > 0.0, "{limited}");
}

/// A period that has ended is kept too (for the TTL), and an activity logged late into it
/// drops the kept answer like any other score change.
async fn a_past_period_is_reused_until_a_late_activity_moves_it(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let call = activity_type(app, &org).await;
    app.ok(
        &org.admin_token,
        "mutation($i: UpdateMemberInput!) { updateMember(input: $i) { member { startDate } } }",
        json!({"i": {"id": org.rep, "startDate": "2025-01-01"}}),
    )
    .await;
    let week_ago = chrono::Utc::now() - chrono::Duration::days(7);
    let last_week = json!({"p": {"grain": "WEEK", "date": week_ago.date_naive().to_string()}});
    let first = app.ok(&org.viewer_token, BOARD, last_week.clone()).await;
    assert_eq!(points_of(&first, "acme Rep"), Some(0.0), "{first}");
    // The start date's MembersChanged also moves the data version once the rankings have
    // reloaded (in the background), which may drop the first answer: ask until one is reused.
    let mut reused = false;
    for _ in 0..20 {
        let before = hits(app);
        let again = app.ok(&org.viewer_token, BOARD, last_week.clone()).await;
        assert_eq!(again, first);
        if hits(app) > before {
            reused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reused, "last week's board is answered from the cache");

    let r =
        app.ok(&org.rep_token, LOG, json!({"i": {"activityTypeId": call, "occurredAt": week_ago.to_rfc3339()}})).await;
    assert_eq!(r["logActivity"]["userErrors"], json!([]), "{r}");
    let late = app.ok(&org.viewer_token, BOARD, last_week).await;
    assert_eq!(points_of(&late, "acme Rep"), Some(2.0), "a late activity shows at once: {late}");
}
