use scorebord::demo;
use scorebord_tests::{TestApp, backend_tests};
use serde_json::json;

backend_tests!(demo_seed_is_idempotent_and_answers_the_newcomer_query);

async fn demo_seed_is_idempotent_and_answers_the_newcomer_query(app: &TestApp) {
    let org = demo::seed(&app.state).await.expect("seed");
    let counts =
        (app.count_rows("organizations").await, app.count_rows("teams").await, app.count_rows("members").await);
    assert_eq!(counts, (1, 4, 12));
    let again = demo::seed(&app.state).await.expect("seed twice");
    assert_eq!(again, org);
    assert_eq!(
        (app.count_rows("organizations").await, app.count_rows("teams").await, app.count_rows("members").await),
        counts
    );

    let tokens = demo::tokens(&app.state, org, chrono::Duration::hours(1)).await.expect("tokens");
    assert_eq!(tokens.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>(), demo::DEMO_LOGINS.to_vec());
    let rep = &tokens.iter().find(|(e, _)| e == "rep@demo.test").expect("rep").1;
    let data = app
        .ok(
            rep,
            "{ viewer { member { name salesRole team { name } } } organization { name branding { primaryColor } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["viewer"]["member"]["team"]["name"], "Outbound");
    assert_eq!(data["viewer"]["member"]["salesRole"], "OUTBOUND");
    assert_eq!(data["organization"]["name"], "Demo B.V.");
    assert_eq!(data["organization"]["branding"]["primaryColor"], "#0B5FFF");
    let manager = &tokens.iter().find(|(e, _)| e == "manager@demo.test").expect("manager").1;
    let v = app.ok(manager, "{ viewer { role member { name } } teams(filter: {rootsOnly: true}) { edges { node { name manager { email } subTeams { name } } } } }", json!({})).await;
    assert_eq!(v["viewer"]["role"], "MANAGER");
    let sales = &v["teams"]["edges"][0]["node"];
    assert_eq!(sales["manager"]["email"], "manager@demo.test");
    assert_eq!(sales["subTeams"], json!([{"name": "Closers"}, {"name": "Inbound"}, {"name": "Outbound"}]));
    // Every demo member logs in with the password 'demo'.
    let login = app
        .gql(None, "mutation { login(input: {organizationSlug: \"demo\", email: \"closer@demo.test\", password: \"demo\"}) { member { salesRole } } }", json!({}))
        .await;
    assert_eq!(login["data"]["login"]["member"]["salesRole"], "CLOSER");
}
