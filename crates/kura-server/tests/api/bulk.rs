//! Bulk update and bulk delete (DAT-6) through the API and the console: the selection by the
//! listing's filter and keyword, the confirmed count, one audit entry, all or nothing.

use crate::access::user_with_role;
use crate::console_client::{Console, csrf_of};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const RECORDS: &str = "/api/v1/collections/customers/records";

/// Ten customers: four on the free plan (two of them with ヤマダ in their reading), six premium.
async fn seeded(app: &TestApp, t: &TenantFixture) {
    let (s, body) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    for i in 0..10 {
        let (plan, kana) = match i {
            0 | 1 => ("free", "ヤマダ"),
            2 | 3 => ("free", "スズキ"),
            _ => ("premium", "タナカ"),
        };
        let body = json!({"name": format!("顧客{i}"), "kana": kana, "points": i * 10, "plan": plan});
        let (s, r) = app.post(RECORDS, &t.admin_token, body).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
    }
}

async fn all(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, page) = app.get(&format!("{RECORDS}?per_page=500"), token).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

async fn entries(app: &TestApp, token: &str, operation: &str) -> Vec<Value> {
    let (s, body) = app.get(&format!("/api/v1/audit?operation={operation}"), token).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

#[tokio::test]
async fn dat_6_bulk_delete_by_filter_deletes_exactly_the_selection_with_one_audit_entry() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    seeded(&app, &t).await;

    // Filter and keyword together (the keyword folds half-width kana: ﾔﾏﾀﾞ finds ヤマダ).
    let body = json!({"filter": "plan = 'free'", "q": "ﾔﾏﾀﾞ", "expected_count": 2});
    let (s, out) = app.post(&format!("{RECORDS}/bulk-delete"), &t.admin_token, body).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out, json!({"matched": 2, "changed": 2}));
    let left = all(&app, &t.admin_token).await;
    assert_eq!(left.len(), 8);
    assert!(left.iter().all(|r| r["data"]["kana"] != "ヤマダ"), "{left:?}");

    let (s, out) = app
        .post(&format!("{RECORDS}/bulk-delete"), &t.admin_token, json!({"filter": "points < 40", "expected_count": 2}))
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(all(&app, &t.admin_token).await.len(), 6);

    // One entry per operation, naming the selection and the count.
    let logged = entries(&app, &t.admin_token, "record.bulk_delete").await;
    assert_eq!(logged.len(), 2, "{logged:?}");
    let details: Vec<&str> = logged.iter().map(|e| e["detail"].as_str().unwrap()).collect();
    assert!(details.contains(&"filter=plan = 'free'; q=ﾔﾏﾀﾞ; deleted=2"), "{details:?}");
    assert!(details.contains(&"filter=points < 40; deleted=2"), "{details:?}");
    assert!(logged.iter().all(|e| e["target"] == "collection:customers"), "{logged:?}");
    assert!(entries(&app, &t.admin_token, "record.delete").await.is_empty(), "no entry per record");
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_6_bulk_delete_refuses_a_count_other_than_the_selections_and_changes_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    seeded(&app, &t).await;
    let path = format!("{RECORDS}/bulk-delete");

    let (s, body) = app.post(&path, &t.admin_token, json!({"filter": "plan = 'free'", "expected_count": 5})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("now holds 4 records, not the 5 confirmed"), "{body}");
    // A filter the collection cannot answer, a body without the count, an unknown collection,
    // and a role without records.delete: each refused clearly.
    let (s, body) = app.post(&path, &t.admin_token, json!({"filter": "colour = 'red'", "expected_count": 1})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, body) = app.post(&path, &t.admin_token, json!({"filter": "plan = 'free'"})).await;
    assert!(s.is_client_error() && s != StatusCode::NOT_FOUND, "{s} {body}");
    let (s, _) =
        app.post("/api/v1/collections/nothing/records/bulk-delete", &t.admin_token, json!({"expected_count": 0})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let viewer = user_with_role(&app, &t, "viewer@acme.example.jp", "viewer").await;
    let (s, _) = app.post(&path, &viewer, json!({"filter": "plan = 'free'", "expected_count": 4})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    assert_eq!(all(&app, &t.admin_token).await.len(), 10, "nothing was deleted");
    assert!(entries(&app, &t.admin_token, "record.bulk_delete").await.is_empty());
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_6_bulk_update_sets_a_field_on_the_selection_all_or_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    seeded(&app, &t).await;
    let path = format!("{RECORDS}/bulk-update");

    let body = json!({"filter": "plan = 'free'", "set": {"plan": "standard"}, "expected_count": 4});
    let (s, out) = app.post(&path, &t.admin_token, body).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out, json!({"matched": 4, "changed": 4}));
    let records = all(&app, &t.admin_token).await;
    let standard: Vec<&Value> = records.iter().filter(|r| r["data"]["plan"] == "standard").collect();
    assert_eq!(standard.len(), 4);
    assert!(standard.iter().all(|r| r["version"] == 2), "{standard:?}");
    assert!(records.iter().filter(|r| r["data"]["plan"] == "premium").all(|r| r["version"] == 1));

    // Records that already hold the value are left alone.
    let body = json!({"filter": "points >= 30", "set": {"plan": "standard"}, "expected_count": 7});
    let (s, out) = app.post(&path, &t.admin_token, body).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out, json!({"matched": 7, "changed": 6}));

    // A value the field refuses: 422 naming the field, and no record changes.
    let before = all(&app, &t.admin_token).await;
    let body = json!({"set": {"points": -5}, "expected_count": 10});
    let (s, out) = app.post(&path, &t.admin_token, body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
    assert!(out.to_string().contains("points"), "{out}");
    let (s, out) = app.post(&path, &t.admin_token, json!({"set": {}, "expected_count": 10})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{out}");
    assert_eq!(all(&app, &t.admin_token).await, before, "nothing changed");

    // Without pii.read, a personal-information field cannot be set, nor filtered on.
    let (s, role) = app
        .post(
            "/api/v1/roles",
            &t.admin_token,
            json!({"key": "clerk", "label": "事務", "permissions": ["records.read", "records.write"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{role}");
    let clerk = user_with_role(&app, &t, "clerk@acme.example.jp", "clerk").await;
    let (s, out) = app.post(&path, &clerk, json!({"set": {"name": "上書き"}, "expected_count": 10})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{out}");
    let (s, out) =
        app.post(&path, &clerk, json!({"filter": "name = '顧客1'", "set": {"points": 1}, "expected_count": 1})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{out}");
    assert_eq!(all(&app, &t.admin_token).await, before, "nothing changed");

    let logged = entries(&app, &t.admin_token, "record.bulk_update").await;
    let details: Vec<&str> = logged.iter().map(|e| e["detail"].as_str().unwrap()).collect();
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(details.contains(&"filter=plan = 'free'; matched=4; changed=4; fields=plan"), "{details:?}");
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_6_console_bulk_delete_shows_the_selection_and_asks_for_the_typed_count() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    seeded(&app, &t).await;
    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;

    // The listing offers the bulk actions with its filter.
    let list = console.get("/console/collections/customers?filter=plan%20%3D%20%27free%27").await;
    assert!(
        list.body.contains("/console/collections/customers/bulk-delete?filter=plan%20%3D%20%27free%27"),
        "{}",
        list.body
    );

    let page = console.get_in("/console/collections/customers/bulk-delete?filter=plan%20%3D%20%27free%27", "ja").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("対象のレコードは4件です。"), "{}", page.body);
    assert!(page.body.contains("4件のレコードを削除する"), "{}", page.body);
    let csrf = csrf_of(&page.body);

    // A wrong count (typed full-width or not) is refused beside the input, and nothing changes.
    let form = [("_csrf", csrf.as_str()), ("filter", "plan = 'free'"), ("confirm_count", "３")];
    let wrong = console.post("/console/collections/customers/bulk-delete", &form).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    assert!(wrong.body.contains("4"), "{}", wrong.body);
    assert_eq!(all(&app, &t.admin_token).await.len(), 10);

    let form = [("_csrf", csrf.as_str()), ("filter", "plan = 'free'"), ("confirm_count", "４")];
    let done = console.post("/console/collections/customers/bulk-delete", &form).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let back = done.location.unwrap();
    assert!(back.starts_with("/console/collections/customers?") && back.contains("done=bulkdeleted"), "{back}");
    assert_eq!(all(&app, &t.admin_token).await.len(), 6);

    // Posting the same form again (a reload) finds nothing selected and deletes nothing more.
    let again = console.post("/console/collections/customers/bulk-delete", &form).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(all(&app, &t.admin_token).await.len(), 6);
    assert_eq!(entries(&app, &t.admin_token, "record.bulk_delete").await.len(), 1);
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_6_console_bulk_update_picks_a_field_then_sets_its_value() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    seeded(&app, &t).await;
    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;

    let step1 = console.get("/console/collections/customers/bulk-update?filter=plan%20%3D%20%27premium%27").await;
    assert_eq!(step1.status, StatusCode::OK, "{}", step1.body);
    assert!(step1.body.contains("name=\"field\""), "{}", step1.body);
    let step2 =
        console.get("/console/collections/customers/bulk-update?filter=plan%20%3D%20%27premium%27&field=points").await;
    assert!(step2.body.contains("name=\"points\""), "{}", step2.body);
    let csrf = csrf_of(&step2.body);

    let form = [
        ("_csrf", csrf.as_str()),
        ("filter", "plan = 'premium'"),
        ("field", "points"),
        ("points", "500"),
        ("confirm_count", "6"),
    ];
    let done = console.post("/console/collections/customers/bulk-update", &form).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let records = all(&app, &t.admin_token).await;
    assert_eq!(records.iter().filter(|r| r["data"]["points"] == 500.0).count(), 6);

    // A value the field refuses is shown beside the input; nothing changes.
    let form = [
        ("_csrf", csrf.as_str()),
        ("filter", "plan = 'premium'"),
        ("field", "points"),
        ("points", "たくさん"),
        ("confirm_count", "6"),
    ];
    let refused = console.post("/console/collections/customers/bulk-update", &form).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("field-error"), "{}", refused.body);
    assert_eq!(all(&app, &t.admin_token).await, records);
    app.verify_audit().await;
}

/// History (004 §3.4.14): entries older than a date, selected by a date field, go in one
/// operation with the filter and count in one audit entry; entries on or after it stay.
#[tokio::test]
async fn dat_6_bulk_delete_of_history_removes_the_entries_older_than_a_date_and_audits_the_counts() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, body) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    for (i, joined) in ["2019-03-31", "2020-12-31", "2021-01-01", "2024-06-15"].iter().enumerate() {
        let body = json!({"name": format!("顧客{i}"), "joined": joined});
        let (s, r) = app.post(RECORDS, &t.admin_token, body).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
    }
    let filter = "joined < '2021-01-01'";
    let (s, out) = app
        .post(&format!("{RECORDS}/bulk-delete"), &t.admin_token, json!({"filter": filter, "expected_count": 2}))
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out, json!({"matched": 2, "changed": 2}));
    let mut left: Vec<String> =
        all(&app, &t.admin_token).await.iter().map(|r| r["data"]["joined"].as_str().unwrap().to_owned()).collect();
    left.sort();
    assert_eq!(left, ["2021-01-01", "2024-06-15"]);
    let logged = entries(&app, &t.admin_token, "record.bulk_delete").await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["detail"], format!("filter={filter}; deleted=2"));
    app.verify_audit().await;
}
