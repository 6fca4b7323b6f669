//! Tenant isolation (TEN-2), basic suite: a principal of tenant A can never read or change
//! anything of tenant B through the API, whatever ids or names it sends.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn ten_2_api_never_crosses_tenants() {
    let app = spawn_app().await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("bravo").await;
    for t in [&a, &b] {
        let (s, _) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (_, rb) = app
        .post("/api/v1/collections/customers/records", &b.admin_token, json!({"name": "B社の顧客", "points": 7}))
        .await;
    let b_record = rb["id"].as_str().unwrap().to_owned();
    let (_, b_users) = app.get("/api/v1/users", &b.admin_token).await;
    let b_user = b_users[0]["id"].as_str().unwrap().to_owned();
    let (_, b_roles) = app.get("/api/v1/roles", &b.admin_token).await;
    let b_role = b_roles[0]["id"].as_str().unwrap().to_owned();
    let (_, b_key) = app.post("/api/v1/api-keys", &b.admin_token, json!({"name": "b", "role": "viewer"})).await;
    let b_key_id = b_key["key"]["id"].as_str().unwrap().to_owned();

    // A sees only its own (empty) data.
    let (_, page) = app.get("/api/v1/collections/customers/records", &a.admin_token).await;
    assert_eq!(page["total"], 0);
    let (_, users) = app.get("/api/v1/users", &a.admin_token).await;
    assert!(users.as_array().unwrap().iter().all(|u| u["email"].as_str().unwrap().ends_with("alpha.example.jp")));

    // Every attempt on B's ids through A's principal is "not found", and changes nothing.
    let rec = format!("/api/v1/collections/customers/records/{b_record}");
    assert_eq!(app.get(&rec, &a.admin_token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.patch(&rec, &a.admin_token, json!({"points": 0})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&rec, &a.admin_token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/users/{b_user}"), &a.admin_token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.patch(&format!("/api/v1/users/{b_user}"), &a.admin_token, json!({"status": "disabled"})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.delete(&format!("/api/v1/users/{b_user}"), &a.admin_token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/roles/{b_role}"), &a.admin_token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&format!("/api/v1/api-keys/{b_key_id}"), &a.admin_token).await.0, StatusCode::NOT_FOUND);

    let (_, still) = app.get(&rec, &b.admin_token).await;
    assert_eq!(still["data"]["points"], 7.0);
    assert_eq!(still["version"], 1);
    let (_, me) = app.get("/api/v1/me", b_key["token"].as_str().unwrap()).await;
    assert_eq!(me["tenant"], "bravo", "B's key still works");

    // A's audit log holds nothing of B's.
    let (_, log) = app.get("/api/v1/audit?limit=1000", &a.admin_token).await;
    assert!(!log.to_string().contains("bravo"), "{log}");

    // A session token of B cannot be replayed with A's tenant id in it.
    let (scope_b, secret) = b.admin_token.split_once('.').unwrap();
    let (scope_a, _) = a.admin_token.split_once('.').unwrap();
    assert_ne!(scope_a, scope_b);
    let forged = format!("{scope_a}.{secret}");
    assert_eq!(app.get("/api/v1/me", &forged).await.0, StatusCode::UNAUTHORIZED);
}
