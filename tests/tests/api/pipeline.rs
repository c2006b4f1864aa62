use scorebord_tests::{Org, TestApp, backend_tests, error_code};
use serde_json::{Value, json};

backend_tests!(
    stages_checklists_and_reorder,
    checklist_gate_names_every_open_item,
    probability_and_category_rules,
    external_id_upsert_and_splits,
    deal_permissions_and_tenancy,
    deal_changed_subscription,
    custom_fields_validated_and_gated,
    deal_pages_answer_the_same_projected_or_executed,
);

const CREATE_STAGE: &str = "mutation($i: CreateStageInput!) { createStage(input: $i) { stage { id name position kind defaultProbability defaultForecastCategory } userErrors { field code } } }";
const ADD_ITEM: &str = "mutation($i: AddChecklistItemInput!) { addChecklistItem(input: $i) { item { id label } userErrors { field code } } }";
const CREATE_DEAL: &str = "mutation($i: DealInput!) { createDeal(input: $i) { deal { id name probability probabilityManual forecastCategory stage { name } amount { amount currency } owner { name } version } userErrors { field code message } } }";
const MOVE: &str = "mutation($i: MoveDealStageInput!) { moveDealStage(input: $i) { deal { probability forecastCategory stage { name } stageHistory { fromStage { name } toStage { name } changedBy { name } } } userErrors { field code message } } }";
const CLOSE: &str = "mutation($i: CloseDealInput!) { closeDeal(input: $i) { deal { probability forecastCategory outcome outcomeReason closedAt stage { name } } userErrors { field code message } } }";

struct Pipeline {
    lead: String,
    qualified: String,
    proposal: String,
    won: String,
    lost: String,
    summary_mail: String,
}

async fn stage(
    app: &TestApp,
    org: &Org,
    name: &str,
    kind: &str,
    probability: Option<i32>,
    category: Option<&str>,
) -> String {
    let d = app
        .ok(&org.admin_token, CREATE_STAGE, json!({"i": {"name": name, "kind": kind, "defaultProbability": probability, "defaultForecastCategory": category}}))
        .await;
    d["createStage"]["stage"]["id"].as_str().unwrap_or_else(|| panic!("{d}")).to_owned()
}

async fn pipeline(app: &TestApp, org: &Org) -> Pipeline {
    let lead = stage(app, org, "Lead", "OPEN", Some(10), None).await;
    let qualified = stage(app, org, "Qualified", "OPEN", Some(25), Some("PIPELINE")).await;
    let proposal = stage(app, org, "Proposal", "OPEN", Some(60), Some("BEST_CASE")).await;
    let won = stage(app, org, "Won", "WON", None, None).await;
    let lost = stage(app, org, "Lost", "LOST", None, None).await;
    app.ok(
        &org.admin_token,
        ADD_ITEM,
        json!({"i": {"stageId": lead, "label": "Company filled in", "kind": "CONTENT", "fieldName": "company"}}),
    )
    .await;
    let mail = app
        .ok(
            &org.admin_token,
            ADD_ITEM,
            json!({"i": {"stageId": lead, "label": "Summary e-mail sent after the call", "kind": "PROCESS"}}),
        )
        .await;
    app.ok(
        &org.admin_token,
        ADD_ITEM,
        json!({"i": {"stageId": lead, "label": "Optional nicety", "kind": "PROCESS", "required": false}}),
    )
    .await;
    app.ok(
        &org.admin_token,
        ADD_ITEM,
        json!({"i": {"stageId": qualified, "label": "Amount known", "kind": "CONTENT", "fieldName": "amount"}}),
    )
    .await;
    let summary_mail = mail["addChecklistItem"]["item"]["id"].as_str().unwrap().to_owned();
    Pipeline { lead, qualified, proposal, won, lost, summary_mail }
}

fn codes(payload: &Value) -> Vec<String> {
    payload["userErrors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap().to_owned()).collect()
}

async fn stages_checklists_and_reorder(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let p = pipeline(app, &org).await;
    let list = app
        .ok(
            &org.rep_token,
            "{ pipelineStages { name position kind defaultProbability checklist { label kind required } } }",
            json!({}),
        )
        .await;
    let stages = list["pipelineStages"].as_array().unwrap();
    assert_eq!(stages.len(), 5);
    assert_eq!(
        stages[3],
        json!({"name": "Won", "position": 3, "kind": "WON", "defaultProbability": 100, "checklist": []})
    );
    assert_eq!(stages[0]["checklist"].as_array().unwrap().len(), 3);
    // Bad input is refused with user errors; reps cannot configure.
    let bad = app.ok(&org.admin_token, CREATE_STAGE, json!({"i": {"name": "", "defaultProbability": 101}})).await;
    assert_eq!(codes(&bad["createStage"]), vec!["REQUIRED", "OUT_OF_RANGE"]);
    let bad = app
        .ok(
            &org.admin_token,
            ADD_ITEM,
            json!({"i": {"stageId": p.lead, "label": "x", "kind": "CONTENT", "fieldName": "password"}}),
        )
        .await;
    assert_eq!(codes(&bad["addChecklistItem"]), vec!["INVALID"]);
    assert_eq!(
        error_code(&app.gql(Some(&org.rep_token), CREATE_STAGE, json!({"i": {"name": "Mine"}})).await),
        "FORBIDDEN"
    );
    // Reorder: every active stage exactly once.
    let reorder = "mutation($ids: [ID!]!) { reorderStages(input: {stageIds: $ids}) { stages { name position } userErrors { code } } }";
    let partial = app.ok(&org.admin_token, reorder, json!({"ids": [p.lead, p.qualified]})).await;
    assert_eq!(codes(&partial["reorderStages"]), vec!["INVALID"]);
    let ok = app.ok(&org.admin_token, reorder, json!({"ids": [p.qualified, p.lead, p.proposal, p.won, p.lost]})).await;
    assert_eq!(ok["reorderStages"]["stages"][0], json!({"name": "Qualified", "position": 0}));
    // A stage with deals cannot be deleted; an empty one can.
    app.ok(&org.rep_token, CREATE_DEAL, json!({"i": {"name": "Deal", "stageId": p.proposal}})).await;
    let del = "mutation($id: ID!) { deleteStage(input: {id: $id}) { stage { active } userErrors { code } } }";
    assert_eq!(codes(&app.ok(&org.admin_token, del, json!({"id": p.proposal})).await["deleteStage"]), vec!["IN_USE"]);
    let upd = "mutation($i: UpdateChecklistItemInput!) { updateChecklistItem(input: $i) { item { label required } userErrors { code } } }";
    let changed = app
        .ok(&org.admin_token, upd, json!({"i": {"id": p.summary_mail, "label": "Summary sent", "required": false}}))
        .await;
    assert_eq!(changed["updateChecklistItem"]["item"], json!({"label": "Summary sent", "required": false}));
    assert_eq!(
        app.ok(&org.admin_token, upd, json!({"i": {"id": p.summary_mail, "label": " "}})).await["updateChecklistItem"]
            ["userErrors"][0]["code"],
        "REQUIRED"
    );
    let gone = app.ok(&org.admin_token, del, json!({"id": p.lost})).await;
    assert_eq!(gone["deleteStage"]["stage"]["active"], false);
}

async fn checklist_gate_names_every_open_item(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let p = pipeline(app, &org).await;
    let d = app.ok(&org.rep_token, CREATE_DEAL, json!({"i": {"name": "Big one"}})).await;
    let deal = d["createDeal"]["deal"]["id"].as_str().unwrap().to_owned();
    assert_eq!(d["createDeal"]["deal"]["stage"]["name"], "Lead", "new deals start in the first open stage");
    // Moving on with open required items is refused, naming each of them.
    let refused = app.ok(&org.rep_token, MOVE, json!({"i": {"id": deal, "stageId": p.qualified}})).await;
    let messages: Vec<&str> = refused["moveDealStage"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        vec![
            "open required checklist item: Company filled in",
            "open required checklist item: Summary e-mail sent after the call"
        ]
    );
    assert!(refused["moveDealStage"]["deal"].is_null());
    // Skipping a stage counts that stage's items too.
    let skip = app.ok(&org.rep_token, MOVE, json!({"i": {"id": deal, "stageId": p.proposal}})).await;
    assert_eq!(skip["moveDealStage"]["userErrors"].as_array().unwrap().len(), 3);
    // Fill the field, tick the step: the move goes through.
    app.ok(
        &org.rep_token,
        "mutation($i: UpdateDealInput!) { updateDeal(input: $i) { userErrors { code } } }",
        json!({"i": {"id": deal, "deal": {"company": "Acme Corp"}}}),
    )
    .await;
    let tick = "mutation($i: ChecklistItemOnDealInput!) { completeChecklistItem(input: $i) { deal { version checklist { item { label } done } } userErrors { code } } }";
    let ticked = app.ok(&org.rep_token, tick, json!({"i": {"dealId": deal, "itemId": p.summary_mail}})).await;
    let done: Vec<bool> = ticked["completeChecklistItem"]["deal"]["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["done"].as_bool().unwrap())
        .collect();
    assert_eq!(done, vec![true, true, false]);
    assert_eq!(ticked["completeChecklistItem"]["deal"]["version"], 3, "the tick is a change of the deal");
    let moved = app.ok(&org.rep_token, MOVE, json!({"i": {"id": deal, "stageId": p.qualified}})).await;
    assert_eq!(moved["moveDealStage"]["userErrors"], json!([]));
    let history = &moved["moveDealStage"]["deal"]["stageHistory"];
    assert_eq!(history[0], json!({"fromStage": null, "toStage": {"name": "Lead"}, "changedBy": {"name": "acme Rep"}}));
    assert_eq!(history[1]["fromStage"]["name"], "Lead");
    // Closing as WON passes the remaining gates: the amount is still missing.
    let won = app.ok(&org.rep_token, CLOSE, json!({"i": {"id": deal, "outcome": "WON"}})).await;
    assert_eq!(won["closeDeal"]["userErrors"][0]["message"], "open required checklist item: Amount known");
    assert_eq!(
        won["closeDeal"]["userErrors"][0]["field"],
        json!(["input", "outcome"]),
        "the path names closeDeal's own input"
    );
    // Moving back is never blocked; losing is not gated.
    let back = app.ok(&org.rep_token, MOVE, json!({"i": {"id": deal, "stageId": p.lead}})).await;
    assert_eq!(back["moveDealStage"]["userErrors"], json!([]));
    let lost = app.ok(&org.rep_token, CLOSE, json!({"i": {"id": deal, "outcome": "LOST", "reason": "budget"}})).await;
    assert_eq!(lost["closeDeal"]["deal"]["outcome"], "LOST");
    assert_eq!(lost["closeDeal"]["deal"]["stage"]["name"], "Lost");
}

async fn probability_and_category_rules(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let p = pipeline(app, &org).await;
    let d = app
        .ok(
            &org.rep_token,
            CREATE_DEAL,
            json!({"i": {"name": "A", "company": "X", "amount": "2500.00", "stageId": p.qualified}}),
        )
        .await;
    let deal = d["createDeal"]["deal"].clone();
    assert_eq!(deal["probability"], 25);
    assert_eq!(deal["probabilityManual"], false);
    assert_eq!(deal["amount"], json!({"amount": "2500.00", "currency": "EUR"}));
    let id = deal["id"].as_str().unwrap().to_owned();
    let m = app.ok(&org.rep_token, MOVE, json!({"i": {"id": id, "stageId": p.proposal}})).await;
    assert_eq!(
        (m["moveDealStage"]["deal"]["probability"].as_i64(), m["moveDealStage"]["deal"]["forecastCategory"].as_str()),
        (Some(60), Some("BEST_CASE"))
    );
    // A probability set by hand survives moves.
    let upd = "mutation($i: UpdateDealInput!) { updateDeal(input: $i) { deal { probability probabilityManual version } userErrors { field code } } }";
    let set = app
        .ok(&org.rep_token, upd, json!({"i": {"id": id, "deal": {"probability": 40, "forecastCategory": "COMMIT"}}}))
        .await;
    assert_eq!(set["updateDeal"]["deal"]["probabilityManual"], true);
    let back = app.ok(&org.rep_token, MOVE, json!({"i": {"id": id, "stageId": p.qualified}})).await;
    assert_eq!(
        (
            back["moveDealStage"]["deal"]["probability"].as_i64(),
            back["moveDealStage"]["deal"]["forecastCategory"].as_str()
        ),
        (Some(40), Some("COMMIT"))
    );
    // WON forces 100 and CLOSED; LOST 0 and OMITTED; reopening takes the stage defaults again.
    let won = app.ok(&org.rep_token, CLOSE, json!({"i": {"id": id, "outcome": "WON", "reason": "great fit"}})).await;
    let w = &won["closeDeal"]["deal"];
    assert_eq!(
        (w["probability"].as_i64(), w["forecastCategory"].as_str(), w["outcome"].as_str()),
        (Some(100), Some("CLOSED"), Some("WON"))
    );
    assert!(w["closedAt"].is_string());
    let again = app.ok(&org.rep_token, CLOSE, json!({"i": {"id": id, "outcome": "LOST"}})).await;
    assert_eq!(codes(&again["closeDeal"]), vec!["CLOSED"]);
    let reopen = "mutation($i: ReopenDealInput!) { reopenDeal(input: $i) { deal { probability probabilityManual forecastCategory outcome closedAt stage { name } } userErrors { code } } }";
    let r = app.ok(&org.rep_token, reopen, json!({"i": {"id": id}})).await;
    assert_eq!(
        r["reopenDeal"]["deal"],
        json!({"probability": 60, "probabilityManual": false, "forecastCategory": "BEST_CASE", "outcome": null, "closedAt": null, "stage": {"name": "Proposal"}})
    );
    let lost = app.ok(&org.rep_token, CLOSE, json!({"i": {"id": id, "outcome": "LOST"}})).await;
    let closed = app
        .ok(
            &org.rep_token,
            "{ closed: deals(filter: {open: false}) { totalCount } open: deals(filter: {open: true}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!((closed["closed"]["totalCount"].as_i64(), closed["open"]["totalCount"].as_i64()), (Some(1), Some(0)));
    assert_eq!(
        (lost["closeDeal"]["deal"]["probability"].as_i64(), lost["closeDeal"]["deal"]["forecastCategory"].as_str()),
        (Some(0), Some("OMITTED"))
    );
    // Stale versions conflict; bad values are user errors.
    assert_eq!(
        error_code(
            &app.gql(
                Some(&org.rep_token),
                upd,
                json!({"i": {"id": id, "version": 1, "deal": {"name": "Lost update"}}})
            )
            .await
        ),
        "CONFLICT"
    );
    let bad = app
        .ok(
            &org.rep_token,
            upd,
            json!({"i": {"id": id, "deal": {"probability": 101, "amount": "-5", "country": "Netherlands"}}}),
        )
        .await;
    let fields: Vec<&str> =
        bad["updateDeal"]["userErrors"].as_array().unwrap().iter().map(|e| e["field"][1].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["amount", "probability", "country"]);
}

async fn external_id_upsert_and_splits(app: &TestApp) {
    let org = app.seed_org("acme").await;
    pipeline(app, &org).await;
    let up = "mutation($i: UpsertDealInput!) { upsertDealByExternalId(input: $i) { deal { id name externalId amount { amount } splits { member { name } kind percent } } userErrors { field code message } } }";
    let first = app
        .ok(&org.manager_token, up, json!({"i": {"externalId": "sf-0061", "deal": {"name": "CRM deal", "ownerId": org.rep, "amount": "100",
            "splits": [{"memberId": org.rep, "kind": "REVENUE", "percent": 60}, {"memberId": org.manager, "kind": "REVENUE", "percent": 40}, {"memberId": org.admin, "kind": "OVERLAY", "percent": 10}]}}}))
        .await;
    let d1 = &first["upsertDealByExternalId"]["deal"];
    assert_eq!(d1["splits"].as_array().unwrap().len(), 3, "{first}");
    let second = app
        .ok(
            &org.manager_token,
            up,
            json!({"i": {"externalId": "sf-0061", "deal": {"name": "CRM deal renamed", "amount": "150.5"}}}),
        )
        .await;
    let d2 = &second["upsertDealByExternalId"]["deal"];
    assert_eq!(d2["id"], d1["id"], "the same external ID is the same deal");
    assert_eq!(d2["name"], "CRM deal renamed");
    assert_eq!(d2["amount"]["amount"], "150.50");
    assert_eq!(app.count_rows("deals").await, 1);
    // Revenue splits must sum to 100.
    let bad = app
        .ok(
            &org.manager_token,
            up,
            json!({"i": {"externalId": "sf-0062", "deal": {"name": "Bad split", "ownerId": org.rep,
            "splits": [{"memberId": org.rep, "kind": "REVENUE", "percent": 60}]}}}),
        )
        .await;
    assert_eq!(bad["upsertDealByExternalId"]["userErrors"][0]["field"], json!(["input", "splits"]));
    assert_eq!(app.count_rows("deals").await, 1);
    // A duplicate external ID on create is a user error.
    let dup = app.ok(&org.rep_token, CREATE_DEAL, json!({"i": {"name": "Dup", "externalId": "sf-0061"}})).await;
    assert_eq!(codes(&dup["createDeal"]), vec!["TAKEN"]);
}

async fn deal_permissions_and_tenancy(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let other = app.seed_org("other").await;
    pipeline(app, &org).await;
    pipeline(app, &other).await;
    let mine =
        app.ok(&org.rep_token, CREATE_DEAL, json!({"i": {"name": "Rep's"}})).await["createDeal"]["deal"]["id"].clone();
    let theirs = app.ok(&org.inbound_rep_token, CREATE_DEAL, json!({"i": {"name": "Inbound's"}})).await["createDeal"]["deal"]["id"].clone();
    let foreign = app.ok(&other.rep_token, CREATE_DEAL, json!({"i": {"name": "Foreign"}})).await["createDeal"]["deal"]
        ["id"]
        .clone();
    // A rep sees their own deals only; a manager their team's; an admin all.
    let list = "{ deals { totalCount edges { node { name } } } }";
    assert_eq!(app.ok(&org.rep_token, list, json!({})).await["deals"]["totalCount"], 1);
    assert_eq!(app.ok(&org.manager_token, list, json!({})).await["deals"]["totalCount"], 1);
    assert_eq!(app.ok(&org.admin_token, list, json!({})).await["deals"]["totalCount"], 2);
    let one = "query($id: ID!) { deal(id: $id) { name } }";
    assert_eq!(error_code(&app.gql(Some(&org.rep_token), one, json!({"id": theirs})).await), "FORBIDDEN");
    assert_eq!(error_code(&app.gql(Some(&org.manager_token), one, json!({"id": theirs})).await), "FORBIDDEN");
    // A rep cannot create a deal for someone else, nor change another's deal.
    let body = app
        .gql(Some(&org.rep_token), CREATE_DEAL, json!({"i": {"name": "For them", "ownerId": org.inbound_rep}}))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let upd = "mutation($i: UpdateDealInput!) { updateDeal(input: $i) { deal { name } } }";
    assert_eq!(
        error_code(&app.gql(Some(&org.rep_token), upd, json!({"i": {"id": theirs, "deal": {"name": "x"}}})).await),
        "FORBIDDEN"
    );
    assert_eq!(
        error_code(&app.gql(Some(&org.viewer_token), upd, json!({"i": {"id": mine, "deal": {"name": "x"}}})).await),
        "FORBIDDEN"
    );
    // Another tenant's deal: NOT_FOUND everywhere; search is tenant-scoped.
    assert_eq!(error_code(&app.gql(Some(&org.admin_token), one, json!({"id": foreign})).await), "NOT_FOUND");
    assert_eq!(
        error_code(&app.gql(Some(&org.admin_token), upd, json!({"i": {"id": foreign, "deal": {"name": "x"}}})).await),
        "NOT_FOUND"
    );
    let search = app.ok(&org.admin_token, "{ deals(filter: {search: \"foreign\"}) { totalCount } }", json!({})).await;
    assert_eq!(search["deals"]["totalCount"], 0);
    let by_team = app
        .ok(
            &org.admin_token,
            "query($t: ID!) { deals(filter: {teamId: $t}) { totalCount } }",
            json!({"t": org.outbound}),
        )
        .await;
    assert_eq!(by_team["deals"]["totalCount"], 1);
    // Activities can name their deal (e.g. the quote sent for it); another org's deal is NOT_FOUND.
    let t = app.ok(&org.admin_token, "mutation { createActivityType(input: {name: \"Quote sent\", category: ACTION, unit: COUNT, points: 3}) { activityType { id } } }", json!({})).await;
    let quote = t["createActivityType"]["activityType"]["id"].clone();
    let log =
        "mutation($i: LogActivityInput!) { logActivity(input: $i) { activity { deal { name } } userErrors { code } } }";
    let logged = app.ok(&org.rep_token, log, json!({"i": {"activityTypeId": quote, "dealId": mine}})).await;
    assert_eq!(logged["logActivity"]["activity"]["deal"]["name"], "Rep's");
    assert_eq!(
        error_code(
            &app.gql(Some(&org.rep_token), log, json!({"i": {"activityTypeId": quote, "dealId": foreign}})).await
        ),
        "NOT_FOUND"
    );
}

async fn deal_changed_subscription(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let p = pipeline(app, &org).await;
    let mut ws = app.ws("graphql-transport-ws").await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", org.manager_token)}}))
        .await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    ws.send(json!({"id": "d", "type": "subscribe", "payload": {"query": "subscription($t: ID) { dealChanged(teamId: $t) { name stage { name } } }", "variables": {"t": org.outbound}}})).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // An Inbound deal is outside the subscription; the Outbound rep's deal is inside.
    app.ok(&org.inbound_rep_token, CREATE_DEAL, json!({"i": {"name": "Inbound deal"}})).await;
    let d = app
        .ok(
            &org.rep_token,
            CREATE_DEAL,
            json!({"i": {"name": "Outbound deal", "company": "X", "stageId": p.qualified}}),
        )
        .await;
    let msg = ws.next_json().await;
    assert_eq!(msg["payload"]["data"]["dealChanged"], json!({"name": "Outbound deal", "stage": {"name": "Qualified"}}));
    let id = d["createDeal"]["deal"]["id"].clone();
    app.ok(
        &org.rep_token,
        "mutation($i: UpdateDealInput!) { updateDeal(input: $i) { userErrors { code } } }",
        json!({"i": {"id": id, "deal": {"name": "Renamed"}}}),
    )
    .await;
    let msg = ws.next_json().await;
    assert_eq!(msg["payload"]["data"]["dealChanged"]["name"], "Renamed");
}

async fn custom_fields_validated_and_gated(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let p = pipeline(app, &org).await;
    let create = "mutation($i: CreateCustomFieldInput!) { createCustomField(input: $i) { field { key fieldType choices } userErrors { field code } } }";
    app.ok(
        &org.admin_token,
        create,
        json!({"i": {"key": "budgetOwner", "label": "Budget owner", "fieldType": "TEXT"}}),
    )
    .await;
    app.ok(&org.admin_token, create, json!({"i": {"key": "seats", "label": "Seats", "fieldType": "NUMBER"}})).await;
    let tier = app
        .ok(
            &org.admin_token,
            create,
            json!({"i": {"key": "tier", "label": "Tier", "fieldType": "CHOICE", "choices": ["gold", "silver"]}}),
        )
        .await;
    assert_eq!(
        tier["createCustomField"]["field"],
        json!({"key": "tier", "fieldType": "CHOICE", "choices": ["gold", "silver"]})
    );
    let bad =
        app.ok(&org.admin_token, create, json!({"i": {"key": "amount", "label": "Amount", "fieldType": "TEXT"}})).await;
    assert_eq!(bad["createCustomField"]["userErrors"][0]["code"], "RESERVED");
    let bad =
        app.ok(&org.admin_token, create, json!({"i": {"key": "size", "label": "Size", "fieldType": "CHOICE"}})).await;
    assert_eq!(bad["createCustomField"]["userErrors"][0]["field"], json!(["input", "choices"]));
    assert_eq!(
        error_code(
            &app.gql(Some(&org.rep_token), create, json!({"i": {"key": "mine", "label": "Mine", "fieldType": "TEXT"}}))
                .await
        ),
        "FORBIDDEN"
    );
    // A CONTENT checklist item can require a custom field.
    let item =
        "mutation($i: AddChecklistItemInput!) { addChecklistItem(input: $i) { item { id } userErrors { code } } }";
    let added = app.ok(&org.admin_token, item, json!({"i": {"stageId": p.qualified, "label": "Budget owner known", "kind": "CONTENT", "fieldName": "custom.budgetOwner"}})).await;
    assert_eq!(added["addChecklistItem"]["userErrors"], json!([]));
    let unknown = app
        .ok(
            &org.admin_token,
            item,
            json!({"i": {"stageId": p.qualified, "label": "x", "kind": "CONTENT", "fieldName": "custom.nope"}}),
        )
        .await;
    assert_eq!(unknown["addChecklistItem"]["userErrors"][0]["code"], "INVALID");
    // Values are validated against the definitions; nothing is written on errors.
    let before = app.count_rows("deals").await;
    let refused = app
        .ok(
            &org.rep_token,
            CREATE_DEAL,
            json!({"i": {"name": "D", "customFields": {"seats": "twelve", "tier": "bronze", "color": "red"}}}),
        )
        .await;
    let codes: Vec<(String, String)> = refused["createDeal"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"][2].as_str().unwrap_or("").to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(codes.len(), 3, "{codes:?}");
    assert!(codes.contains(&("color".into(), "UNKNOWN_FIELD".into())));
    assert_eq!(app.count_rows("deals").await, before);
    let d = app
        .ok(
            &org.rep_token,
            "mutation($i: DealInput!) { createDeal(input: $i) { deal { id customFields } userErrors { code } } }",
            json!({"i": {"name": "D", "company": "X", "customFields": {"seats": 12, "tier": "gold"}}}),
        )
        .await;
    assert_eq!(d["createDeal"]["deal"]["customFields"], json!({"seats": 12, "tier": "gold"}));
    let id = d["createDeal"]["deal"]["id"].clone();
    // Updates merge; null removes.
    let upd = "mutation($i: UpdateDealInput!) { updateDeal(input: $i) { deal { customFields } userErrors { code } } }";
    let u = app
        .ok(
            &org.rep_token,
            upd,
            json!({"i": {"id": id, "deal": {"customFields": {"tier": null, "budgetOwner": "CFO"}}}}),
        )
        .await;
    assert_eq!(u["updateDeal"]["deal"]["customFields"], json!({"seats": 12, "budgetOwner": "CFO"}));
    // The checklist gate sees the custom field: Lead's items done, then Qualified needs budgetOwner (filled) and the amount.
    app.ok(
        &org.rep_token,
        "mutation($i: ChecklistItemOnDealInput!) { completeChecklistItem(input: $i) { userErrors { code } } }",
        json!({"i": {"dealId": id, "itemId": p.summary_mail}}),
    )
    .await;
    app.ok(&org.rep_token, MOVE, json!({"i": {"id": id, "stageId": p.qualified}})).await;
    let gate = app.ok(&org.rep_token, MOVE, json!({"i": {"id": id, "stageId": p.proposal}})).await;
    let messages: Vec<&str> = gate["moveDealStage"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, vec!["open required checklist item: Amount known"], "the filled custom field passes");
}

/// A page of deals is answered by projection when every field asked is at hand, and by full
/// execution otherwise (`splits` reads the database); both give the same answer, through
/// `nodes` and `edges`, with aliases, fragments, `__typename` and directives.
async fn deal_pages_answer_the_same_projected_or_executed(app: &TestApp) {
    let org = app.seed_org("acme").await;
    let p = pipeline(app, &org).await;
    let create = "mutation($i: CreateCustomFieldInput!) { createCustomField(input: $i) { field { key } } }";
    app.ok(&org.admin_token, create, json!({"i": {"key": "seats", "label": "Seats", "fieldType": "NUMBER"}})).await;
    let full = app
        .ok(
            &org.rep_token,
            CREATE_DEAL,
            json!({"i": {"name": "Full", "company": "Initech", "amount": "1250.50", "expectedCloseDate": "2027-01-15",
                "leadSource": "Fair", "leadCreatedAt": "2026-11-01T09:00:00Z", "country": "NL", "postalCode": "1011",
                "industry": "Retail", "companySize": 40, "externalId": "crm-1", "probability": 35,
                "customFields": {"seats": 12}}}),
        )
        .await;
    let full_id = full["createDeal"]["deal"]["id"].as_str().unwrap().to_owned();
    let tick = "mutation($i: ChecklistItemOnDealInput!) { completeChecklistItem(input: $i) { userErrors { code } } }";
    app.ok(&org.rep_token, tick, json!({"i": {"dealId": full_id, "itemId": p.summary_mail}})).await;
    app.ok(&org.rep_token, CREATE_DEAL, json!({"i": {"name": "Bare"}})).await;
    app.ok(
        &org.inbound_rep_token,
        CREATE_DEAL,
        json!({"i": {"name": "Theirs", "stageId": p.qualified, "amount": "99"}}),
    )
    .await;
    let closing = app.ok(&org.rep_token, CREATE_DEAL, json!({"i": {"name": "Closing", "stageId": p.proposal}})).await;
    let closing_id = closing["createDeal"]["deal"]["id"].as_str().unwrap().to_owned();
    app.ok(&org.rep_token, CLOSE, json!({"i": {"id": closing_id, "outcome": "WON", "reason": "Best offer"}})).await;
    let selections = [
        "{ id name company amount { amount currency } stage { id name position kind defaultProbability defaultForecastCategory active version checklist { id label kind fieldName required position version } } owner { id name role salesRole active avatarUrl team { id name description } } expectedCloseDate probability probabilityManual forecastCategory leadSource leadCreatedAt firstContactAt closedAt outcome outcomeReason address country postalCode industry companySize territoryManual externalId customFields version createdAt updatedAt checklist { done completedAt item { id label kind required } } }",
        "{ __typename d: id owner { __typename who: name } stage { n: name } checklist { __typename ok: done } }",
        "{ ...D stage { ...S } }",
        "{ id ... on Deal { name } ... { amount { amount } } owner @include(if: true) { name } stage @skip(if: true) { name } }",
    ];
    let fragments = "fragment D on Deal { id name checklist { done item { label } } } fragment S on PipelineStage { name position }";
    for caller in [&org.admin_token, &org.rep_token, &org.manager_token] {
        for selection in selections {
            for shape in ["nodes SEL", "edges { cursor node SEL }"] {
                let query = |sel: &str| {
                    let q = format!("{{ deals(first: 50) {{ {} }} }} {fragments}", shape.replace("SEL", sel));
                    if sel.contains("...D") { q } else { q.replace(fragments, "") }
                };
                let projected = app.ok(caller, &query(selection), json!({})).await;
                // The same plus a field only full execution answers, which is then taken out again.
                let mut executed =
                    app.ok(caller, &query(&selection.replacen("{ ", "{ splits { percent } ", 1)), json!({})).await;
                let items = match shape.starts_with("nodes") {
                    true => executed["deals"]["nodes"].as_array_mut().unwrap().iter_mut().collect::<Vec<_>>(),
                    false => {
                        executed["deals"]["edges"].as_array_mut().unwrap().iter_mut().map(|e| &mut e["node"]).collect()
                    }
                };
                for d in items {
                    d.as_object_mut().unwrap().remove("splits");
                }
                assert_eq!(projected, executed, "{selection} as {shape}");
                let list = if shape.starts_with("nodes") {
                    &projected["deals"]["nodes"]
                } else {
                    &projected["deals"]["edges"]
                };
                assert!(!list.as_array().unwrap().is_empty(), "{projected}");
            }
        }
    }
    // What the projection answered is right, not only equal.
    let page = app
        .ok(
            &org.rep_token,
            "{ deals(first: 50, filter: {open: true}) { nodes { name company amount { amount currency } stage { name } owner { name } customFields checklist { done item { label } } } } }",
            json!({}),
        )
        .await;
    let nodes = page["deals"]["nodes"].as_array().unwrap();
    let names: Vec<&str> = nodes.iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Bare", "Full"], "a rep reads their own open deals, most recently changed first");
    let full = &nodes[1];
    assert_eq!(full["amount"]["amount"], "1250.50");
    assert_eq!(full["customFields"], json!({"seats": 12}));
    assert_eq!(full["stage"]["name"], "Lead");
    assert_eq!(full["owner"]["name"], "acme Rep");
    assert_eq!(
        full["checklist"],
        json!([
            {"done": true, "item": {"label": "Company filled in"}},
            {"done": true, "item": {"label": "Summary e-mail sent after the call"}},
            {"done": false, "item": {"label": "Optional nicety"}},
        ])
    );
    assert_eq!(nodes[0]["checklist"][0]["done"], false, "no company: the CONTENT item is open");
    // A kept page follows every write: a tick, an edit, a new deal, a deal closed.
    let nicety = full_checklist_item(app, &org, &full_id, "Optional nicety").await;
    app.ok(&org.rep_token, tick, json!({"i": {"dealId": full_id, "itemId": nicety}})).await;
    app.ok(
        &org.rep_token,
        "mutation($i: UpdateDealInput!) { updateDeal(input: $i) { userErrors { code } } }",
        json!({"i": {"id": full_id, "deal": {"name": "Full, renamed"}}}),
    )
    .await;
    app.ok(&org.rep_token, CREATE_DEAL, json!({"i": {"name": "Newest"}})).await;
    let page = app
        .ok(
            &org.rep_token,
            "{ deals(first: 50, filter: {open: true}) { totalCount nodes { id name checklist { done } } } }",
            json!({}),
        )
        .await;
    let names: Vec<&str> =
        page["deals"]["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Newest", "Full, renamed", "Bare"]);
    assert_eq!(page["deals"]["totalCount"], 3);
    assert_eq!(page["deals"]["nodes"][1]["checklist"], json!([{"done": true}, {"done": true}, {"done": true}]));
}

/// The ID of the checklist item labelled `label` of a deal's current stage.
async fn full_checklist_item(app: &TestApp, org: &Org, deal: &str, label: &str) -> String {
    let d = app
        .ok(
            &org.rep_token,
            "query($id: ID!) { deal(id: $id) { checklist { item { id label } } } }",
            json!({"id": deal}),
        )
        .await;
    let items = d["deal"]["checklist"].as_array().unwrap();
    let item = items.iter().find(|c| c["item"]["label"] == label).unwrap_or_else(|| panic!("{d}"));
    item["item"]["id"].as_str().unwrap().to_owned()
}
