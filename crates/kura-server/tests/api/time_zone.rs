//! LOG-4 over HTTP: times stored in UTC and shown in the tenant's zone, which its administrator
//! changes (audited); `/readyz` reports whether the system clock is synchronised.

use crate::console_client::*;
use crate::helpers::*;
use kura_domain::{AuditScope, Operation, Slug};
use kura_store::AuditFilter;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn log_4_the_tenant_admin_changes_the_time_zone_and_times_follow_it_audited() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, zone) = app.get("/api/v1/settings/time-zone", &t.admin_token).await;
    assert_eq!((s, zone), (StatusCode::OK, json!({"time_zone": "Asia/Tokyo"})));
    let (_, before) = app.get("/api/v1/audit?limit=1", &t.admin_token).await;
    let at = before[0]["at"].as_str().unwrap().to_owned();
    assert!(before[0]["at_local"].as_str().unwrap().ends_with("JST"), "{before}");

    // Bad input: a clear 400, nothing changed.
    let (s, body) = app
        .send("PUT", "/api/v1/settings/time-zone", Some(&t.admin_token), Some(json!({"time_zone": "Mars/Olympus"})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("Mars/Olympus"));
    let (s, _) =
        app.send("PUT", "/api/v1/settings/time-zone", Some(&t.admin_token), Some(json!({"zone": "UTC"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, zone) = app.get("/api/v1/settings/time-zone", &t.admin_token).await;
    assert_eq!(zone["time_zone"], "Asia/Tokyo");

    let (s, saved) =
        app.send("PUT", "/api/v1/settings/time-zone", Some(&t.admin_token), Some(json!({"time_zone": "UTC"}))).await;
    assert_eq!((s, saved), (StatusCode::OK, json!({"time_zone": "UTC"})));
    // The stored instant is the same; only how it is shown changed.
    let (_, entries) = app.get("/api/v1/audit?limit=100", &t.admin_token).await;
    let same = entries.as_array().unwrap().iter().find(|e| e["at"] == at).unwrap();
    assert!(same["at_local"].as_str().unwrap().ends_with("UTC"), "{same}");
    let tenant = app.state.store.tenant_by_slug(&Slug::parse("acme").unwrap()).await.unwrap().unwrap().id;
    let audit = app
        .state
        .store
        .audit_entries(
            AuditScope::Tenant(tenant),
            &AuditFilter { operation: Some(Operation::TimeZoneUpdate), ..AuditFilter::default() },
        )
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].detail.as_deref(), Some("time_zone: Asia/Tokyo → UTC"));

    // The console: the form on the security page, and a user without settings.manage refused.
    let c = Console::new(&app);
    c.login(&t.slug, &t.admin_email, PASSWORD).await;
    let page = c.get_in("/console/settings/security", "ja").await;
    assert!(page.body.contains("action=\"/console/settings/time-zone\""), "{}", page.body);
    let csrf = csrf_of(&page.body);
    let done = c.post("/console/settings/time-zone", &[("_csrf", &csrf), ("time_zone", "Asia/Tokyo")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let (_, zone) = app.get("/api/v1/settings/time-zone", &t.admin_token).await;
    assert_eq!(zone["time_zone"], "Asia/Tokyo");
    let viewer = crate::access::user_with_role(&app, &t, "viewer@acme.example.jp", "viewer").await;
    let (s, _) = app.send("PUT", "/api/v1/settings/time-zone", Some(&viewer), Some(json!({"time_zone": "UTC"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    app.verify_audit().await;
}

#[tokio::test]
async fn log_4_readyz_reports_whether_the_system_clock_is_synchronised() {
    let app = spawn_app().await;
    let (s, body) = app.send("GET", "/readyz", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let clock = body["clock"].as_str().unwrap_or_default();
    assert!(["synchronised", "unsynchronised", "unknown"].contains(&clock), "{body}");
    // On Linux the kernel always answers the query.
    if cfg!(target_os = "linux") {
        assert_ne!(clock, "unknown", "{body}");
    }
}
