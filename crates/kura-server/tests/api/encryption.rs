//! Encryption at rest through the API (DAT-2, DAT-3, TEN-2): record values are ciphertext in the
//! database under per-tenant keys, lists and search work on the opened values, normalised
//! search finds half-width kana and full-width letters, and a ciphertext moved to another
//! tenant's row is refused with a clear error, never answered with a value.

use crate::helpers::*;
use kura_domain::AuditScope;
use kura_store::AuditFilter;
use reqwest::StatusCode;
use serde_json::json;

/// The stored bytes of every record, read behind Kura's back.
pub async fn raw_records(db_url: &str) -> Vec<(uuid::Uuid, Vec<u8>)> {
    const SQL: &str = "SELECT id, data FROM records ORDER BY id";
    if db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
        sqlx::query_as(SQL).fetch_all(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        sqlx::query_as(SQL).fetch_all(&pool).await.unwrap()
    }
}

async fn set_raw_data(db_url: &str, id: &str, data: &[u8]) {
    const SQL: &str = "UPDATE records SET data = $2 WHERE id = $1";
    let id: uuid::Uuid = id.parse().unwrap();
    let n = if db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
        sqlx::query(SQL).bind(id).bind(data).execute(&pool).await.unwrap().rows_affected()
    } else {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        sqlx::query(SQL).bind(id).bind(data).execute(&pool).await.unwrap().rows_affected()
    };
    assert_eq!(n, 1);
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn dat_2_records_written_through_the_api_are_ciphertext_and_read_back_in_plain() {
    let app = spawn_encrypted_app().await;
    let t = app.tenant("acme").await;
    let (s, body) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let records = "/api/v1/collections/customers/records";
    let (s, r) =
        app.post(records, &t.admin_token, json!({"name": "暗号 太郎", "email": "angou@example.jp", "points": 7})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_owned();
    let (s, r) = app.patch(&format!("{records}/{id}"), &t.admin_token, json!({"name": "暗号 花子"})).await;
    assert_eq!(s, StatusCode::OK, "{r}");

    for (_, stored) in raw_records(&app.db_url).await {
        assert_eq!(stored[0], 1, "sealed");
        for plain in ["暗号", "花子", "angou@example.jp", "points"] {
            assert!(!holds(&stored, plain), "{plain} stored in the clear");
        }
    }
    // Lists, gets and filters work on the opened values, on this node and on another.
    for node in [&app, &app.another_node().await] {
        let (s, page) =
            node.get(&format!("{records}?filter=name%20~%20%22%E8%8A%B1%E5%AD%90%22"), &t.admin_token).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(page["items"][0]["data"]["name"], "暗号 花子", "{page}");
        let (_, r) = node.get(&format!("{records}/{id}"), &t.admin_token).await;
        assert_eq!(r["data"]["email"], "angou@example.jp");
    }
    // Opening the tenant created its keys, and the platform's audit entry says so.
    let entries = app.state.store.audit_entries(AuditScope::Platform, &AuditFilter::default()).await.unwrap();
    let opening = entries.iter().find(|e| e.operation.as_str() == "tenant.create").unwrap();
    let detail = opening.detail.clone().unwrap_or_default();
    assert!(detail.contains("data key v1") && detail.contains("blind-index key v1"), "{detail}");
}

#[tokio::test]
async fn dat_3_search_through_the_api_finds_half_width_kana_and_full_width_letters() {
    let app = spawn_encrypted_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let records = "/api/v1/collections/customers/records";
    for name in ["ヤマダ タロウ", "ABC123 商事", "やまだ はなこ"] {
        let (s, r) = app.post(records, &t.admin_token, json!({"name": name})).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
    }
    let names = |page: &serde_json::Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|r| r["data"]["name"].as_str().unwrap().to_owned()).collect()
    };
    let search = |q: &str| {
        let url = reqwest::Url::parse_with_params(&format!("http://x{records}"), [("q", q)]).unwrap();
        format!("{}?{}", url.path(), url.query().unwrap())
    };
    let (s, page) = app.get(&search("ﾔﾏﾀﾞ"), &t.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(names(&page), ["ヤマダ タロウ"]);
    let (_, page) = app.get(&search("ＡＢＣ１２３"), &t.admin_token).await;
    assert_eq!(names(&page), ["ABC123 商事"]);
    let (_, page) = app.get(&search("abc"), &t.admin_token).await;
    assert_eq!(names(&page), ["ABC123 商事"]);
}

#[tokio::test]
async fn ten_2_a_ciphertext_moved_to_another_tenants_record_is_refused_with_a_clear_error() {
    let app = spawn_encrypted_app().await;
    let (a, b) = (app.tenant("tenant-a").await, app.tenant("tenant-b").await);
    let records = "/api/v1/collections/customers/records";
    let mut ids = Vec::new();
    for (t, name) in [(&a, "Aの秘密"), (&b, "Bの記録")] {
        app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
        let (s, r) = app.post(records, &t.admin_token, json!({"name": name})).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        ids.push(r["id"].as_str().unwrap().to_owned());
    }
    let stored = raw_records(&app.db_url).await;
    let a_sealed = stored.iter().find(|(id, _)| id.to_string() == ids[0]).unwrap().1.clone();
    set_raw_data(&app.db_url, &ids[1], &a_sealed).await;

    // A node that reads what the database holds: B's record does not open under B's key.
    let node = app.another_node().await;
    let (s, body) = node.get(&format!("{records}/{}", ids[1]), &b.admin_token).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["code"], "undecryptable", "{body}");
    assert!(!body.to_string().contains("秘密"), "{body}");
    let (s, body) = node.get(records, &b.admin_token).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::INTERNAL_SERVER_ERROR, Some("undecryptable")), "{body}");
    // A's record still opens where it belongs.
    let (s, r) = node.get(&format!("{records}/{}", ids[0]), &a.admin_token).await;
    assert_eq!((s, r["data"]["name"].as_str()), (StatusCode::OK, Some("Aの秘密")));
}
