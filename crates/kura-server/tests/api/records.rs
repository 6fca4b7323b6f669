//! Collections and records through the API: CRUD, validation (PUB-2), listing, PII masking
//! (IAM-3), and bad input that must change nothing.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn dat_4_collection_with_labels_and_memos_round_trips() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, body) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, c) = app.get("/api/v1/collections/customers", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c["label"], "顧客");
    assert_eq!(c["memo"], "会員名簿");
    assert_eq!(c["fields"][0]["label"], "氏名");
    assert_eq!(c["fields"][0]["pii"], true);
}

#[tokio::test]
async fn records_crud_with_versions() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let (s, r) = app
        .post(
            "/api/v1/collections/customers/records",
            &t.admin_token,
            json!({"name": "山田 太郎", "points": 120, "plan": "premium"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_owned();
    assert_eq!(r["version"], 1);
    let path = format!("/api/v1/collections/customers/records/{id}");
    let (s, r) = app.patch(&path, &t.admin_token, json!({"points": 130})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["version"], 2);
    assert_eq!(r["data"]["name"], "山田 太郎");
    assert_eq!(r["data"]["points"], 130.0);

    // A stale If-Match is refused and changes nothing.
    let resp = app
        .client
        .patch(format!("{}{path}", app.address))
        .bearer_auth(&t.admin_token)
        .header("If-Match", "\"1\"")
        .json(&json!({"points": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let (_, r) = app.get(&path, &t.admin_token).await;
    assert_eq!(r["data"]["points"], 130.0);

    let (s, _) = app.delete(&path, &t.admin_token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = app.get(&path, &t.admin_token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
    app.verify_audit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_without_if_match_lose_nothing() {
    // Updates read the record outside the write first; one that finds it changed meanwhile
    // applies its change to the current version instead. Every update lands, each on top of
    // the last, and none is refused.
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let (_, r) = app
        .post("/api/v1/collections/customers/records", &t.admin_token, json!({"name": "山田 太郎", "points": 0}))
        .await;
    let id = r["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/collections/customers/records/{id}");
    const UPDATES: usize = 24;
    let tasks: Vec<_> = (0..UPDATES)
        .map(|i| {
            let (client, url, token) = (app.client.clone(), format!("{}{path}", app.address), t.admin_token.clone());
            // Half change `points`, half `kana`: a lost update would show in the other field.
            let body = if i % 2 == 0 { json!({"points": i}) } else { json!({"kana": "ヤマダ"}) };
            tokio::spawn(async move { client.patch(url).bearer_auth(token).json(&body).send().await.unwrap().status() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    let (_, r) = app.get(&path, &t.admin_token).await;
    assert_eq!(r["version"], 1 + UPDATES as i64, "every update made a version: {r}");
    assert_eq!(r["data"]["kana"], "ヤマダ");
    assert_eq!(r["data"]["name"], "山田 太郎");
    app.verify_audit().await;
}

#[tokio::test]
async fn list_filters_sorts_and_pages() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    for (name, points) in [("佐藤", 150), ("鈴木", 50), ("高橋", 300), ("田中", 120)] {
        let (s, _) = app
            .post("/api/v1/collections/customers/records", &t.admin_token, json!({"name": name, "points": points}))
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, page) = app
        .get("/api/v1/collections/customers/records?filter=points%3E100&sort=-points&per_page=2", &t.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 3);
    let names: Vec<_> = page["items"].as_array().unwrap().iter().map(|r| r["data"]["name"].clone()).collect();
    assert_eq!(names, [json!("高橋"), json!("佐藤")]);
    let (s, page) = app.get("/api/v1/collections/customers/records?q=%E9%88%B4", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page["total"], 1);
    let (s, body) = app.get("/api/v1/collections/customers/records?filter=points%20%3E", &t.admin_token).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "bad_request");
}

#[tokio::test]
async fn pub_2_invalid_values_get_field_errors_and_change_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let (s, body) = app
        .post(
            "/api/v1/collections/customers/records",
            &t.admin_token,
            json!({"name": "x".repeat(51), "kana": "やまだ", "points": -1, "plan": "gold", "email": "nope", "joined": "2026-02-30", "colour": "red"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let problem_fields: Vec<&str> =
        body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for f in ["name", "kana", "points", "plan", "email", "joined", "colour"] {
        assert!(problem_fields.contains(&f), "{f} missing from {body}");
    }
    assert_eq!(body["errors"].as_array().unwrap().iter().find(|e| e["field"] == "kana").unwrap()["code"], "charset");
    let (_, page) = app.get("/api/v1/collections/customers/records", &t.admin_token).await;
    assert_eq!(page["total"], 0);
}

#[tokio::test]
async fn bad_input_gets_problem_json_and_changes_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let url = format!("{}/api/v1/collections", app.address);
    let cases: Vec<(reqwest::RequestBuilder, StatusCode)> = vec![
        (app.client.post(&url).header("content-type", "application/json").body("{not json"), StatusCode::BAD_REQUEST),
        (app.client.post(&url).header("content-type", "text/plain").body("{}"), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (app.client.post(&url).json(&json!({"name": 5, "label": "x"})), StatusCode::BAD_REQUEST),
        (app.client.post(&url).json(&json!({"name": "c", "label": "C", "surprise": true})), StatusCode::BAD_REQUEST),
        (
            app.client.post(&url).header("content-type", "application/json").body(format!("{{\"name\":\"{}\"}}", "a".repeat(70_000))),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            app.client.post(&url).json(&json!({"name": "c", "label": "C", "fields": [{"name": "a", "label": "A", "type": "text", "rules": {"max_length": 0}}]})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (app.client.post(&url).json(&json!({"name": "Bad Name", "label": "C"})), StatusCode::BAD_REQUEST),
    ];
    for (req, expected) in cases {
        let resp = req.bearer_auth(&t.admin_token).send().await.unwrap();
        assert_eq!(resp.status(), expected);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(!body["detail"].as_str().unwrap().is_empty());
        assert_eq!(body["status"], expected.as_u16());
    }
    let (_, list) = app.get("/api/v1/collections", &t.admin_token).await;
    assert_eq!(list, json!([]));
    let (s, _) = app.get("/api/v1/collections/customers/records/not-a-uuid", &t.admin_token).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn iam_3_pii_is_masked_for_users_without_pii_read() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let (_, r) = app
        .post(
            "/api/v1/collections/customers/records",
            &t.admin_token,
            json!({"name": "山田 花子", "email": "h@example.jp", "points": 5}),
        )
        .await;
    let (s, _) = app
        .post(
            "/api/v1/users",
            &t.admin_token,
            json!({"email": "view@acme.example.jp", "display_name": "閲覧", "role": "viewer", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let viewer = app.login("acme", "view@acme.example.jp", PASSWORD).await;
    let (_, page) = app.get("/api/v1/collections/customers/records", &viewer).await;
    let data = &page["items"][0]["data"];
    assert_eq!(data["name"], "••••••");
    assert_eq!(data["email"], "••••••");
    assert_eq!(data["points"], 5.0);
    let (_, one) =
        app.get(&format!("/api/v1/collections/customers/records/{}", r["id"].as_str().unwrap()), &viewer).await;
    assert_eq!(one["data"]["name"], "••••••");
    // Searching or filtering on masked fields must not reveal them either.
    let (_, page) = app.get("/api/v1/collections/customers/records?q=%E5%B1%B1%E7%94%B0", &viewer).await;
    assert_eq!(page["total"], 0);
    let (s, _) = app.get("/api/v1/collections/customers/records?filter=name%3D%27x%27", &viewer).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

/// A record read through the API costs one database read once its collection's snapshot is
/// fresh: the credential, its role and the collection's head come back in one statement, and
/// the record from memory. Counted through the store, for a session and for an API key.
#[tokio::test]
async fn a_get_by_id_reads_the_database_once_when_the_snapshot_is_fresh() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let (_, r) = app.post("/api/v1/collections/customers/records", &t.admin_token, json!({"name": "山田 太郎"})).await;
    let id = r["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/collections/customers/records/{id}");
    let (_, created) = app.post("/api/v1/api-keys", &t.admin_token, json!({"name": "CRM連携", "role": "viewer"})).await;
    let key = created["token"].as_str().unwrap().to_owned();
    for token in [&t.admin_token, &key] {
        // The list brings the snapshot up to date, and an API key records its first use.
        assert_eq!(app.get("/api/v1/collections/customers/records", token).await.0, StatusCode::OK);
        let before = app.state.store.reads();
        let (s, body) = app.get(&path, token).await;
        assert_eq!((s, body["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
        assert_eq!(app.state.store.reads() - before, 1);
    }
}
