use scorebord_tests::{TestApp, backend_tests};
use serde_json::json;

/// `schema.graphql` is the published contract: it must equal what the code exports.
#[test]
fn sdl_has_not_drifted() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let committed = std::fs::read_to_string(&path).expect("schema.graphql exists");
    assert!(
        committed == scorebord::schema::sdl(),
        "schema.graphql is out of date: run `cargo run -- export-schema` and commit it"
    );
}

backend_tests!(every_type_and_field_is_described);

/// Front-end developers read the schema: every type, field, argument and enum value has a description.
async fn every_type_and_field_is_described(app: &TestApp) {
    let body = app
        .gql(
            None,
            r#"{ __schema { types { name kind description
                 fields { name description args { name description } }
                 inputFields { name description }
                 enumValues { name description } } } }"#,
            json!({}),
        )
        .await;
    let mut missing = Vec::new();
    let builtin = ["String", "Int", "Float", "Boolean", "ID"];
    for t in body["data"]["__schema"]["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        if name.starts_with("__") || builtin.contains(&name) {
            continue;
        }
        if t["description"].as_str().is_none_or(str::is_empty) {
            missing.push(name.to_owned());
        }
        for list in ["fields", "inputFields", "enumValues"] {
            for f in t[list].as_array().into_iter().flatten() {
                if f["description"].as_str().is_none_or(str::is_empty) {
                    missing.push(format!("{name}.{}", f["name"].as_str().unwrap()));
                }
            }
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:?}");
}
