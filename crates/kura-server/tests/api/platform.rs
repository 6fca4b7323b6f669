//! Health, readiness, metrics, security headers, the OpenAPI document, and audit-chain
//! verification through the application.

use crate::helpers::*;
use kura_domain::AuditScope;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn mon_2_health_readiness_and_metrics() {
    let app = spawn_app().await;
    let (s, body) = app.send("GET", "/healthz", None, None).await;
    assert_eq!((s, body["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, body) = app.send("GET", "/readyz", None, None).await;
    assert_eq!((s, body["database"].as_str()), (StatusCode::OK, Some("ok")));
    let text = app.client.get(format!("{}/metrics", app.address)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("kura_http_responses_total{class=\"2xx\"}"), "{text}");
    assert!(text.contains("kura_database_up 1"));
    assert!(text.contains("kura_store_commits_total "));
    for name in ["kura_store_reads_total", "kura_record_cache_fresh_total", "kura_record_cache_passed_total"] {
        assert!(text.contains(&format!("\n{name} ")), "{name}: {text}");
    }
}

#[tokio::test]
async fn dat_1_security_headers_on_every_response() {
    let app = spawn_app().await;
    for path in ["/healthz", "/api/v1/me", "/no/such/page"] {
        let resp = app.client.get(format!("{}{path}", app.address)).send().await.unwrap();
        let h = resp.headers();
        assert!(h["content-security-policy"].to_str().unwrap().contains("script-src 'self'"), "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(h.contains_key("strict-transport-security"));
    }
    let resp = app.client.get(format!("{}/no/such/page", app.address)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn openapi_document_is_served_and_matches_the_committed_copy() {
    let app = spawn_app().await;
    let served =
        app.client.get(format!("{}/api/v1/openapi.json", app.address)).send().await.unwrap().text().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(&served).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/v1/collections/{name}/records"].is_object());
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json")).unwrap();
    assert_eq!(served, committed, "docs/openapi.json is stale: run `cargo run -p kura -- openapi > docs/openapi.json`");
}

#[tokio::test]
async fn log_1_every_api_change_is_audited_with_actor_role_ip_and_target() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let (_, r) = app.post("/api/v1/collections/customers/records", &t.admin_token, json!({"name": "山田"})).await;
    let id = r["id"].as_str().unwrap();
    app.patch(&format!("/api/v1/collections/customers/records/{id}"), &t.admin_token, json!({"points": 1})).await;
    app.delete(&format!("/api/v1/collections/customers/records/{id}"), &t.admin_token).await;
    let (s, log) = app.get("/api/v1/audit", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    let ops: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["operation"].as_str().unwrap()).collect();
    assert_eq!(&ops[..5], ["record.delete", "record.update", "record.create", "collection.create", "user.login"]);
    let update = &log[1];
    assert_eq!(update["actor"], t.admin_email.as_str());
    assert_eq!(update["actor_role"], "tenant_admin");
    assert_eq!(update["source_ip"], "127.0.0.1");
    assert_eq!(update["outcome"], "success");
    assert_eq!(update["target"], format!("record:customers/{id}"));
    assert_eq!(update["detail"], "changed=points");
    assert!(!log.to_string().contains("山田"), "audit entries hold no record values");
    // LOG-4: stored in UTC, shown in the tenant's zone.
    assert_eq!(update["at"], "2026-11-22T00:00:00Z");
    assert_eq!(update["at_local"], "2026-11-22 09:00:00 JST");
    let (_, filtered) = app.get("/api/v1/audit?operation=record.update", &t.admin_token).await;
    assert_eq!(filtered.as_array().unwrap().len(), 1);
    let (s, _) = app.get("/api/v1/audit?from=yesterday", &t.admin_token).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn log_1_verify_names_an_edited_entry() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let tenant = app.state.store.tenant_by_slug(&kura_domain::Slug::parse("acme").unwrap()).await.unwrap().unwrap();
    let scope = AuditScope::Tenant(tenant.id);
    assert!(app.state.store.verify_audit(scope).await.unwrap().is_ok());
    tamper(&app, "UPDATE audit_log SET target = 'collection:other' WHERE seq = 3").await;
    let broken = app.state.store.verify_audit(scope).await.unwrap().unwrap_err();
    assert_eq!(broken.seq, 3, "{broken}");
}

/// Runs raw SQL against the application's database, as an attacker with database access would
/// (as the owner of the tables: the application's own role sees no row without a tenant set).
async fn tamper(app: &TestApp, sql: &'static str) {
    let url = app.db_url.clone();
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

/// TEN-2: `/readyz` says whether PostgreSQL's row-level security confines the application. The
/// test applications connect as the application role, the test's own URL owning the tables; a
/// node connecting as the owner itself (the single-role default) is reported as not confined,
/// and answers all the same. SQLite has no row-level security.
#[tokio::test]
async fn ten_2_readyz_reports_whether_row_level_security_confines_the_application() {
    let app = spawn_app().await;
    let (s, body) = app.send("GET", "/readyz", None, None).await;
    assert_eq!(s, StatusCode::OK);
    if app.db_url.starts_with("sqlite:") {
        assert_eq!(body["row_security"], "not_available");
        return;
    }
    assert_eq!(body["row_security"], "enforced");
    let owner =
        app.another_node_with(|s| s.database_url = kura_server::settings::Secret::new(app.db_url.clone())).await;
    let (s, body) = owner.send("GET", "/readyz", None, None).await;
    assert_eq!((s, body["row_security"].as_str()), (StatusCode::OK, Some("not_enforced")));
}

/// TEN-2: the operator's first page shows what `/readyz` reports as `row_security`, with what
/// it means beside it, in Japanese and English: not available on SQLite; enforced for the
/// application role the test applications connect as; and for a node connected as the
/// superuser that owns the tables, not enforced, why, and what to do, with a warning on top.
#[tokio::test]
async fn ten_2_the_operator_console_shows_whether_row_level_security_confines_the_application() {
    const OPERATOR: &str = "ops@kura.example.jp";
    let app = spawn_app().await;
    app.operator(OPERATOR).await;
    let op = crate::console_client::Console::new(&app);
    let (_, secret) = op.operator_login(&app, OPERATOR, PASSWORD, None).await;
    let (state, en, ja) = if app.db_url.starts_with("sqlite:") {
        (
            "not_available",
            ["Not available (SQLite)", "has no database roles"],
            ["対象外（SQLite）", "SQLiteにはデータベースロールも"],
        )
    } else {
        (
            "enforced",
            ["Enforced", "could not read or change another tenant"],
            ["有効", "他のテナントのデータを読んだり変更したりすることはできません"],
        )
    };
    let pages = operator_pages(&op).await;
    for (page, wanted) in pages.iter().zip([en, ja]) {
        assert!(page.contains(&format!("data-row-security=\"{state}\"")), "{page}");
        for text in wanted {
            assert!(page.contains(text), "{text}: {page}");
        }
        assert!(!page.contains("database_owner_url"), "nothing to do: {page}");
    }
    assert!(pages[0].contains("Row-level security") && pages[1].contains("行レベルセキュリティ"));
    let untranslated = crate::console_client::english_sentences(&pages[1]);
    assert!(untranslated.is_empty(), "{untranslated:?}");
    if app.db_url.starts_with("sqlite:") {
        return;
    }

    // A node connected as the test's superuser, which owns the tables: not enforced, why, and
    // what to do, with the warning at the top of the page.
    let owner =
        app.another_node_with(|s| s.database_url = kura_server::settings::Secret::new(app.db_url.clone())).await;
    let op = crate::console_client::Console::new(&owner);
    op.operator_login(&owner, OPERATOR, PASSWORD, Some(&secret)).await;
    let pages = operator_pages(&op).await;
    let wanted = [
        ["Not enforced", "is a superuser", "does not confine Kura", "database_owner_url", "restart Kura"],
        ["無効", "スーパーユーザーのため", "適用されていません", "database_owner_url", "再起動してください"],
    ];
    for (page, wanted) in pages.iter().zip(wanted) {
        assert!(page.contains("data-row-security=\"not_enforced\""), "{page}");
        for text in wanted {
            assert!(page.contains(text), "{text}: {page}");
        }
    }
    let untranslated = crate::console_client::english_sentences(&pages[1]);
    assert!(untranslated.is_empty(), "{untranslated:?}");
}

/// The operator's first page in English, then in Japanese.
async fn operator_pages(op: &crate::console_client::Console) -> [String; 2] {
    let mut pages = [String::new(), String::new()];
    for (page, lang) in pages.iter_mut().zip(["en", "ja"]) {
        op.get(&format!("/console/lang?to={lang}&back=/operator")).await;
        let got = op.get("/operator").await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.body);
        *page = got.body;
    }
    pages
}
