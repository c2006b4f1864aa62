//! The GraphQL examples of README.md and docs/ against the schema and a demo server
//! (`tests/clients/docs-examples.mjs`): every example validates against `schema.graphql`, and
//! every example that needs nothing from the reader runs without an error as the demo login its
//! text names. Docs cannot drift from the API.

use scorebord::demo;
use scorebord_tests::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_examples_validate_and_run_against_the_demo() {
    let app = TestApp::spawn(scorebord_tests::Backend::Sqlite).await;
    let org = demo::seed(&app.state).await.expect("seed the demo");
    let tokens = demo::tokens(&app.state, org, chrono::Duration::hours(1)).await.expect("demo tokens");
    let token = |email: &str| tokens.iter().find(|(e, _)| e == email).map(|(_, t)| t.clone()).expect(email);
    let env = vec![
        ("SCOREBORD_URL", app.base_url.clone()),
        ("ADMIN_TOKEN", token("admin@demo.test")),
        ("MANAGER_TOKEN", token("manager@demo.test")),
        ("REP_TOKEN", token("rep@demo.test")),
        ("CLOSER_TOKEN", token("closer@demo.test")),
    ];
    crate::real_clients::node("docs-examples.mjs", env).await;
}
