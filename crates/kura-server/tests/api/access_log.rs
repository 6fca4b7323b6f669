//! LOG-2 over HTTP: every request in the access log of the tenant it was made as, with the route
//! template (never the raw path or query), status, principal, address and user agent; read by
//! the tenant administrator through the API and the console, by operators for the platform;
//! retention chosen per tenant (audited) and purged by the scheduled job with an audit entry.

use crate::console_client::*;
use crate::helpers::*;
use kura_domain::{AuditScope, Clock, Slug};
use kura_store::AuditFilter;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn fast(s: &mut kura_server::Settings) {
    s.access_log.flush_milliseconds = 20;
}

/// The tenant's access log as the API gives it, once it holds at least `n` entries matching
/// `query` (the flusher writes in the background).
async fn entries(app: &TestApp, token: &str, query: &str, n: usize) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (s, body) = app.get(&format!("/api/v1/access-log{query}"), token).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        if body["entries"].as_array().is_some_and(|e| e.len() >= n) {
            return body;
        }
        assert!(std::time::Instant::now() < deadline, "fewer than {n} access log entries for {query:?}: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A scope's access-log count once the flusher has written every request made so far: the
/// same count over several flush intervals (these reads go to the store, not through HTTP).
async fn settled(app: &TestApp, scope: AuditScope) -> u64 {
    let count = || async { app.state.store.access_log_count(scope, &Default::default()).await.unwrap() };
    let mut last = count().await;
    let mut same = 0;
    while same < 5 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let now = count().await;
        if now == last { same += 1 } else { (last, same) = (now, 0) }
    }
    last
}

#[tokio::test]
async fn log_2_requests_are_logged_with_route_templates_principal_address_and_agent() {
    let app = spawn_app_with(fast).await;
    let t = app.tenant("acme").await;
    let (s, _) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, made) = app.post("/api/v1/collections/customers/records", &t.admin_token, json!({"name": "山田"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let id = made["id"].as_str().unwrap().to_owned();
    let secret_query = "filter=name%3D%27canary-query%27";
    let resp = app
        .client
        .get(format!("{}/api/v1/collections/customers/records/{id}?{secret_query}", app.address))
        .bearer_auth(&t.admin_token)
        .header("user-agent", format!("kura-test/1.0 {}", "x".repeat(400)))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success() || resp.status().is_client_error());
    let (s, _) =
        app.get("/api/v1/collections/customers/records/0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b", &t.admin_token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let route = "/api/v1/collections/{name}/records/{id}";
    let body = entries(&app, &t.admin_token, &format!("?route={}", urlencode(route)), 2).await;
    let list = body["entries"].as_array().unwrap();
    assert!(list.iter().all(|e| e["route"] == route && e["method"] == "GET"), "{body}");
    let statuses: Vec<u64> = list.iter().map(|e| e["status"].as_u64().unwrap()).collect();
    assert!(statuses.contains(&404), "{statuses:?}");
    let with_agent =
        list.iter().find(|e| e["user_agent"].as_str().is_some_and(|a| a.starts_with("kura-test/1.0"))).unwrap();
    assert_eq!(with_agent["user_agent"].as_str().unwrap().chars().count(), 256, "the user agent is cut short");
    assert_eq!(with_agent["source_ip"], "127.0.0.1");
    assert_eq!(with_agent["actor_kind"], "user");
    assert!(with_agent["actor_id"].as_str().is_some());
    assert!(with_agent["latency_ms"].as_f64().is_some());
    assert!(with_agent["at_local"].as_str().unwrap().contains("JST"), "{with_agent}");
    assert_eq!(body["retention_days"], 90);

    // Neither the record's id nor the query string is stored anywhere in the log.
    let all = entries(&app, &t.admin_token, "?limit=1000", 4).await;
    let text = all.to_string();
    assert!(!text.contains(&id), "the raw path leaked: {text}");
    assert!(!text.contains("canary-query"), "the query string leaked: {text}");
    // The create is there too, as its template, with 201.
    assert!(
        all["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["route"] == "/api/v1/collections/{name}/records" && e["method"] == "POST" && e["status"] == 201)
    );

    // Filters: a status class, an address, a time range; bad filters are clear 400s.
    let refused = entries(&app, &t.admin_token, "?status=4xx", 1).await;
    assert!(refused["entries"].as_array().unwrap().iter().all(|e| (400..500).contains(&e["status"].as_u64().unwrap())));
    let (_, none) = app.get("/api/v1/access-log?ip=192.0.2.1", &t.admin_token).await;
    assert_eq!(none["total"], 0);
    let (_, later) = app.get("/api/v1/access-log?from=2030-01-01T00:00:00%2B09:00", &t.admin_token).await;
    assert_eq!(later["total"], 0);
    for bad in
        ["?status=6xx", "?status=abc", "?ip=not-an-ip", "?from=yesterday", "?to=", "?limit=0", "?before=x", "?nope=1"]
    {
        let (s, body) = app.get(&format!("/api/v1/access-log{bad}"), &t.admin_token).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }

    // Paging with the cursor walks back without repeating.
    let (_, first) = app.get("/api/v1/access-log?limit=2", &t.admin_token).await;
    let cursor = first["entries"][1]["cursor"].as_str().unwrap().to_owned();
    let (_, next) = app.get(&format!("/api/v1/access-log?limit=2&before={cursor}"), &t.admin_token).await;
    assert_ne!(next["entries"][0]["cursor"], first["entries"][0]["cursor"]);
    assert_ne!(next["entries"][0]["cursor"], first["entries"][1]["cursor"]);
}

fn urlencode(s: &str) -> String {
    s.replace('/', "%2F").replace('{', "%7B").replace('}', "%7D")
}

#[tokio::test]
async fn log_2_each_tenant_sees_only_its_own_requests_and_readers_need_audit_read() {
    let app = spawn_app_with(fast).await;
    let a = app.tenant("acme").await;
    let b = app.tenant("beta").await;
    let (s, _) = app.get("/api/v1/collections", &b.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    let body = entries(&app, &a.admin_token, "?route=%2Fapi%2Fv1%2Faccess-log", 1).await;
    let b_id = app.state.store.tenant_by_slug(&Slug::parse("beta").unwrap()).await.unwrap().unwrap().id;
    let b_entries = app.state.store.access_log(AuditScope::Tenant(b_id), &Default::default()).await.unwrap();
    assert!(!b_entries.is_empty());
    let a_routes: Vec<&str> =
        body["entries"].as_array().unwrap().iter().map(|e| e["route"].as_str().unwrap()).collect();
    assert!(!a_routes.contains(&"/api/v1/collections"), "B's request in A's log: {a_routes:?}");
    let (s, _) = app.send("GET", "/api/v1/access-log", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A user without audit.read is refused.
    let viewer = crate::access::user_with_role(&app, &a, "viewer@acme.example.jp", "viewer").await;
    let (s, _) = app.get("/api/v1/access-log", &viewer).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn log_2_retention_is_set_per_tenant_audited_and_the_purge_records_what_it_deleted() {
    let app = spawn_app_with(fast).await;
    let t = app.tenant("acme").await;
    let tenant = app.state.store.tenant_by_slug(&Slug::parse("acme").unwrap()).await.unwrap().unwrap().id;
    entries(&app, &t.admin_token, "", 1).await;

    // The administrator sets 30 days; out of range is refused and nothing changes.
    let (_, current) = app.get("/api/v1/settings/security", &t.admin_token).await;
    assert_eq!(current["access_log"]["retention_days"], json!(null));
    let mut change = current.clone();
    change.as_object_mut().unwrap().remove("against_nist");
    change["access_log"] = json!({"retention_days": 3});
    let (s, body) = app.send("PUT", "/api/v1/settings/security", Some(&t.admin_token), Some(change.clone())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    change["access_log"] = json!({"retention_days": 30});
    let (s, saved) = app.send("PUT", "/api/v1/settings/security", Some(&t.admin_token), Some(change)).await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    assert_eq!(saved["access_log"]["retention_days"], 30);
    let (_, page) = app.get("/api/v1/access-log", &t.admin_token).await;
    assert_eq!(page["retention_days"], 30);
    let audit = app
        .state
        .store
        .audit_entries(
            AuditScope::Tenant(tenant),
            &AuditFilter {
                operation: kura_domain::Operation::parse("settings.security_update"),
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert!(audit[0].detail.as_deref().unwrap().contains("access_log.retention_days: default → 30"), "{audit:?}");

    // Nothing is old enough yet: the purge deletes nothing and records nothing. Every request
    // so far is written first (the flusher writes in the background), so that none of them
    // arrives after the purge below with a time older than the tenant's retention.
    let before = settled(&app, AuditScope::Tenant(tenant)).await;
    settled(&app, AuditScope::Platform).await;
    assert_eq!(kura_server::access_log::purge_expired(&app.state).await.unwrap(), 0);
    assert!(before > 0);

    // 31 days on, the tenant's entries are past its 30 days; the platform's (90) are not.
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 31));
    let platform_before = app.state.store.access_log_count(AuditScope::Platform, &Default::default()).await.unwrap();
    let purged = kura_server::access_log::purge_expired(&app.state).await.unwrap();
    assert!(purged >= before, "{purged} < {before}");
    let left = app
        .state
        .store
        .access_log_count(
            AuditScope::Tenant(tenant),
            &kura_store::AccessFilter {
                to: Some(app.clock.now().checked_sub(jiff::SignedDuration::from_hours(24 * 30)).unwrap()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(
        app.state.store.access_log_count(AuditScope::Platform, &Default::default()).await.unwrap(),
        platform_before
    );
    let purge = app
        .state
        .store
        .audit_entries(
            AuditScope::Tenant(tenant),
            &AuditFilter { operation: kura_domain::Operation::parse("access_log.purge"), ..AuditFilter::default() },
        )
        .await
        .unwrap();
    assert_eq!(purge.len(), 1);
    assert!(purge[0].detail.as_deref().unwrap().contains(&format!("deleted={purged}")), "{purge:?}");
    app.verify_audit().await;
}

#[tokio::test]
async fn log_2_console_pages_show_the_access_log_to_admins_and_the_platform_log_to_operators() {
    let app = spawn_app_with(fast).await;
    let t = app.tenant("acme").await;
    entries(&app, &t.admin_token, "", 1).await;
    let c = Console::new(&app);
    c.login(&t.slug, &t.admin_email, PASSWORD).await;
    let page = c.get_in("/console/access-log?status=2xx", "ja").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("アクセスログ"));
    assert!(page.body.contains("/api/v1/access-log"), "{}", page.body);
    assert!(page.body.contains("利用者"), "the principal's kind");
    let (_, users) = app.get("/api/v1/users", &t.admin_token).await;
    let admin = users.as_array().unwrap().iter().find(|u| u["email"] == t.admin_email.as_str()).unwrap();
    let admin_id = admin["id"].as_str().expect("the administrator's id");
    assert!(
        page.body.contains(&format!("<span title=\"{admin_id}\">管理者</span>")),
        "the principal's name, with the id on hover: {}",
        page.body
    );
    assert!(page.body.contains("日本時間"), "times in the tenant's zone");
    assert!(page.body.contains("90日間"));
    let page = c.get_in("/console/access-log?ip=192.0.2.99", "en").await;
    assert!(page.body.contains("Access log"));
    assert!(page.body.contains("class=\"empty\""), "an empty state when nothing matches");
    let page = c.get_in("/console/access-log?from=garbage", "en").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Enter a date and time."));
    // The retention is on the security page, and saving it changes it.
    let page = c.get_in("/console/settings/security", "en").await;
    assert!(page.body.contains("access_log.retention_days"), "{}", page.body);

    // Operators read the platform's requests (the failed and tenant-less ones among them).
    app.operator("ops@kura.example.jp").await;
    let o = Console::new(&app);
    o.operator_login(&app, "ops@kura.example.jp", PASSWORD, None).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let page = loop {
        let page = o.get_in("/operator/access-log", "en").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        if page.body.contains("/operator/login/second-factor") || std::time::Instant::now() > deadline {
            break page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(page.body.contains("Platform access log"));
    assert!(page.body.contains("/operator/login/second-factor"), "{}", page.body);
    // A tenant administrator cannot read the platform's log.
    let page = c.get("/operator/access-log").await;
    assert_ne!(page.status, StatusCode::OK);
}

#[tokio::test]
async fn log_2_a_full_buffer_drops_and_counts_entries_and_never_fails_a_request() {
    // One slot and a flusher that waits long: most requests find the buffer full.
    let app = spawn_app_with(|s| {
        s.access_log.buffer = 1;
        s.access_log.flush_milliseconds = 60_000;
    })
    .await;
    let t = app.tenant("acme").await;
    for _ in 0..20 {
        let (s, _) = app.get("/api/v1/collections", &t.admin_token).await;
        assert_eq!(s, StatusCode::OK);
    }
    assert!(app.state.access_log.dropped() > 0);
    let metrics = app.client.get(format!("{}/metrics", app.address)).send().await.unwrap().text().await.unwrap();
    let line = metrics.lines().find(|l| l.starts_with("kura_access_log_dropped_total ")).unwrap();
    let n: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(n > 0.0, "{line}");
}
