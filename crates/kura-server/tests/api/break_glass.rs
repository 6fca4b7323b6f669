//! Operator access (IAM-13): an operator's credentials reach no tenant data on any route, and
//! break-glass access is the one, logged, tenant-visible, read-only and time-bounded way in,
//! with the tenant's optional approval.

use crate::console_client::{Console, Page, csrf_of};
use crate::helpers::*;
use jiff::SignedDuration;
use kura_domain::AuditScope;
use kura_server::routes::{Access, Route, Verb};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

const OPERATOR: &str = "ops@kura.example.jp";
const MISSING: &str = "01900000-0000-7000-8000-000000000000";
const REASON: &str = "問い合わせ #4521：一覧に表示されないレコードの調査";

/// What the tenant holds that an operator must not see: a record's values (one of them
/// personal information), a user's email address.
const MARKERS: [&str; 3] = ["山田 太郎", "ヤマダタロウ", "staff-marker@acme.example.jp"];

/// An operator signed in to the operator console, with the cookie jar at hand (to lift the
/// operator's session token out of it).
struct Operator {
    console: Console,
    jar: Arc<reqwest::cookie::Jar>,
}

impl Operator {
    async fn sign_in(app: &TestApp) -> Self {
        app.operator(OPERATOR).await;
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(Arc::clone(&jar))
            .build()
            .unwrap();
        let console = Console { client, base: app.address.clone() };
        let (next, _) = console.operator_login(app, OPERATOR, PASSWORD, None).await;
        assert_eq!(next, "/operator");
        Self { console, jar }
    }

    /// The value of one of the jar's cookies.
    fn cookie(&self, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let header = self.jar.cookies(&self.console.base.parse().unwrap())?;
        header.to_str().unwrap().split("; ").find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }

    /// Asks for break-glass access on the tenant's page.
    async fn start(&self, tenant: &str, reason: &str, minutes: &str) -> Page {
        let page = format!("/operator/tenants/{tenant}");
        self.console
            .submit(&page, &format!("{page}/break-glass"), &[("bg_reason", reason), ("bg_minutes", minutes)])
            .await
    }

    /// Opens the tenant console under an access; returns the support session's token.
    async fn open(&self, tenant: &str, access: &str) -> Result<String, Page> {
        let page = format!("/operator/tenants/{tenant}");
        let page = self.console.submit(&page, &format!("{page}/break-glass/{access}/open"), &[]).await;
        if page.status != StatusCode::SEE_OTHER {
            return Err(page);
        }
        assert_eq!(page.location.as_deref(), Some("/console"));
        Ok(self.cookie("kura_session").expect("the support session's cookie"))
    }

    async fn end(&self, tenant: &str, access: &str) -> Page {
        let page = format!("/operator/tenants/{tenant}");
        self.console.submit(&page, &format!("{page}/break-glass/{access}/end"), &[]).await
    }
}

async fn tenant_id(app: &TestApp, slug: &str) -> String {
    let slug = kura_domain::Slug::parse(slug).unwrap();
    app.state.store.tenant_by_slug(&slug).await.unwrap().unwrap().id.to_string()
}

/// A tenant holding the markers: a customer record and a second user.
async fn tenant_with_data(app: &TestApp) -> TenantFixture {
    let t = app.tenant("acme").await;
    let (s, body) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let record = json!({"name": "山田 太郎", "kana": "ヤマダタロウ", "email": "taro@example.jp", "points": 5});
    let (s, body) = app.post("/api/v1/collections/customers/records", &t.admin_token, record).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let user = json!({"email": "staff-marker@acme.example.jp", "display_name": "スタッフ", "role": "viewer"});
    let (s, body) = app.post("/api/v1/users", &t.admin_token, user).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    t
}

async fn accesses(app: &TestApp, t: &TenantFixture) -> Vec<Value> {
    let (s, list) = app.get("/api/v1/break-glass", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

async fn entries(app: &TestApp, t: &TenantFixture, operation: &str) -> Vec<Value> {
    let (s, list) = app.get(&format!("/api/v1/audit?operation={operation}&limit=1000"), &t.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

async fn platform_details(app: &TestApp, operation: &str) -> Vec<String> {
    let all = app.state.store.audit_entries(AuditScope::Platform, &Default::default()).await.unwrap();
    all.into_iter().filter(|e| e.operation.as_str() == operation).filter_map(|e| e.detail).collect()
}

fn path_for(r: &Route, tenant: &str) -> String {
    r.path
        .replace("{id}", if r.access == Access::Operator && r.verb == Verb::Get { tenant } else { MISSING })
        .replace("{access}", MISSING)
        .replace("{name}", "customers")
        .replace("{field}", "name")
        .replace("{serial}", "00")
        .replace("{handle}", &"0".repeat(32))
}

fn shows_no_tenant_data(what: &str, body: &str) {
    for marker in MARKERS {
        assert!(!body.contains(marker), "{what} shows {marker}");
    }
}

#[tokio::test]
async fn iam_13_operator_credentials_are_refused_on_every_tenant_route_and_operator_pages_show_no_tenant_data() {
    let app = spawn_app().await;
    let t = tenant_with_data(&app).await;
    let tenant = tenant_id(&app, "acme").await;
    let op = Operator::sign_in(&app).await;
    let token = op.cookie("kura_operator").expect("the operator's session");
    let csrf = csrf_of(&op.console.get("/operator").await.body);
    let routes = kura_server::routes();
    let tenant_routes: Vec<&Route> = routes
        .iter()
        .filter(|r| r.access != Access::Public && (r.path.starts_with("/console") || r.path.starts_with("/api/v1/")))
        .collect();
    let operator_routes: Vec<&Route> = routes.iter().filter(|r| r.access == Access::Operator).collect();
    assert!(
        tenant_routes.len() >= 100 && operator_routes.len() >= 15,
        "{} {}",
        tenant_routes.len(),
        operator_routes.len()
    );

    // Every tenant route, with the operator's session as the operator console holds it, as a
    // tenant console cookie, and as a bearer token: refused, and nothing of the tenant shown.
    let bare = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for r in &tenant_routes {
        let path = path_for(r, &tenant);
        let url = format!("{}{path}", app.address);
        let method = reqwest::Method::from_bytes(r.verb.as_str().as_bytes()).unwrap();
        let body = if r.path.starts_with("/api/") { crate::access::sample_body(r.verb, r.path) } else { None };
        let form = [("_csrf", csrf.as_str())];
        let attempts = [
            ("operator console cookie", op.console.client.request(method.clone(), &url)),
            ("as kura_session", bare.request(method.clone(), &url).header("cookie", format!("kura_session={token}"))),
            ("as bearer", bare.request(method.clone(), &url).bearer_auth(&token)),
        ];
        for (how, req) in attempts {
            let req = match (&body, path.starts_with("/api/")) {
                (Some(b), true) => req.json(b),
                (_, false) if r.verb != Verb::Get => req.form(&form),
                _ => req,
            };
            let page = Console::read(req.send().await.unwrap()).await;
            let verb = r.verb.as_str();
            let refused = matches!(page.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                || (page.status == StatusCode::SEE_OTHER && page.location.as_deref() == Some("/console/login"));
            assert!(refused, "{how}: {verb} {path} answered {} {:?}", page.status, page.location);
            shows_no_tenant_data(&format!("{how}: {verb} {path}"), &page.body);
        }
    }

    // Every operator route works without showing the tenant's records, users or log. Pages are
    // read with the tenant's id; forms are posted for a tenant that does not exist, so that
    // nothing changes (signing out would end the walk).
    for r in &operator_routes {
        if r.path == "/operator/logout" {
            continue;
        }
        let path = path_for(r, &tenant);
        let page = match r.verb {
            Verb::Get => op.console.get(&path).await,
            _ => op.console.post(&path, &[("_csrf", &csrf)]).await,
        };
        assert!(page.status.as_u16() < 500, "{} {path}: {}", r.verb.as_str(), page.status);
        shows_no_tenant_data(&format!("{} {path}", r.verb.as_str()), &page.body);
    }
    // The walk left no trace of access: no break-glass access exists.
    assert!(accesses(&app, &t).await.is_empty());
    assert!(entries(&app, &t, "break_glass.access").await.is_empty());
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_13_break_glass_start_mails_the_administrators_and_writes_the_tenant_log() {
    let app = spawn_app().await;
    let t = tenant_with_data(&app).await;
    let second = json!({"email": "cto@acme.example.jp", "display_name": "CTO", "role": "tenant_admin",
        "password": PASSWORD, "language": "en"});
    assert_eq!(app.post("/api/v1/users", &t.admin_token, second).await.0, StatusCode::CREATED);
    let tenant = tenant_id(&app, "acme").await;
    let op = Operator::sign_in(&app).await;
    let before = app.mail_files(0).await.len();

    let started = op.start(&tenant, REASON, "90").await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    assert!(started.location.unwrap().contains("done=bgstarted"));

    // Both administrators are mailed at once, each in their language, with the reason.
    let mails = app.mail_files(before + 2).await;
    let mails: Vec<_> = mails.iter().filter(|m| m.body.contains(REASON)).collect();
    assert_eq!(mails.len(), 2, "one mail per administrator");
    let ja = mails.iter().find(|m| m.to.contains(&t.admin_email)).unwrap();
    assert_eq!(ja.subject, "【Kura】運用者が acme 株式会社 に緊急アクセスしています");
    assert!(ja.body.contains(OPERATOR) && ja.body.contains("閲覧のみ"));
    let en = mails.iter().find(|m| m.to.contains("cto@acme.example.jp")).unwrap();
    assert_eq!(en.subject, "[Kura] An operator is accessing acme 株式会社 under break-glass");

    // The tenant's own log has the start, by the operator, with reason and period; the
    // platform's log records it too.
    let start = entries(&app, &t, "break_glass.start").await;
    assert_eq!(start.len(), 1, "{start:?}");
    assert_eq!(start[0]["actor_kind"], "operator");
    assert_eq!(start[0]["actor"], OPERATOR);
    let detail = start[0]["detail"].as_str().unwrap();
    assert!(detail.contains(REASON) && detail.contains("90 minutes") && detail.contains("JST"), "{detail}");
    assert!(detail.contains("mailed to 2 administrator(s)"), "{detail}");
    assert!(platform_details(&app, "break_glass.start").await.iter().any(|d| d.contains(REASON)));

    // The access is listed for the tenant, active, with no approval needed.
    let list = accesses(&app, &t).await;
    assert_eq!(list.len(), 1);
    assert_eq!((list[0]["status"].as_str(), list[0]["approval_required"].as_bool()), (Some("active"), Some(false)));

    // Every page of the tenant console shows the banner to the tenant's people.
    let admin = Console::new(&app);
    admin.login("acme", &t.admin_email, PASSWORD).await;
    for page in ["/console", "/console/collections", "/console/settings/break-glass"] {
        let body = admin.get(page).await.body;
        assert!(body.contains("break-glass-banner") && body.contains(REASON), "{page}");
    }
    let en_page = admin.get_in("/console/collections", "en").await.body;
    assert!(en_page.contains("has read-only break-glass access to this tenant until"), "{en_page}");

    // Ended early by the operator: in both logs, banner gone, history shows who ended it.
    let id = list[0]["id"].as_str().unwrap();
    let ended = op.end(&tenant, id).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER, "{}", ended.body);
    let end = entries(&app, &t, "break_glass.end").await;
    assert_eq!(end.len(), 1);
    assert!(end[0]["detail"].as_str().unwrap().contains("ended early by ops@kura.example.jp"));
    assert_eq!(platform_details(&app, "break_glass.end").await.len(), 1);
    let history = admin.get("/console/settings/break-glass").await.body;
    assert!(!history.contains("break-glass-banner"));
    assert!(history.contains("break-glass-history") && history.contains("(ended by ops@kura.example.jp)"), "{history}");
    let ja = admin.get_in("/console/settings/break-glass", "ja").await.body;
    assert!(ja.contains("ops@kura.example.jp が終了") && ja.contains("緊急アクセス（ブレークグラス）"), "{ja}");
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_13_requests_under_break_glass_are_read_only_and_audited_in_the_tenant_log_as_the_operator() {
    let app = spawn_app().await;
    let t = tenant_with_data(&app).await;
    let tenant = tenant_id(&app, "acme").await;
    let op = Operator::sign_in(&app).await;
    assert_eq!(op.start(&tenant, REASON, "60").await.status, StatusCode::SEE_OTHER);
    let id = accesses(&app, &t).await[0]["id"].as_str().unwrap().to_owned();
    let support = op.open(&tenant, &id).await.unwrap_or_else(|p| panic!("{} {}", p.status, p.body));
    assert!(support.starts_with("kurabg_"));

    // The tenant console, read-only: records with personal information masked, the banner.
    let records = op.console.get("/console/collections/customers").await;
    assert_eq!(records.status, StatusCode::OK, "{}", records.body);
    assert!(records.body.contains("ヤマダタロウ") && !records.body.contains("山田 太郎"), "PII masked");
    assert!(records.body.contains("break-glass-banner"));
    assert_eq!(op.console.get("/console/users").await.status, StatusCode::FORBIDDEN);
    let csrf = csrf_of(&records.body);
    let refused =
        op.console.post("/console/collections/customers/records/new", &[("_csrf", &csrf), ("name", "x")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // The API with the same session: exactly the support permissions, GET only, never a 5xx.
    let (s, list) = app.get("/api/v1/collections/customers/records", &support).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["items"][0]["data"]["name"], "••••••");
    let (s, me) = app.get("/api/v1/me", &support).await;
    assert_eq!((s, me["actor_kind"].as_str()), (StatusCode::OK, Some("operator")));
    let mut permissions: Vec<String> = serde_json::from_value(me["permissions"].clone()).unwrap();
    permissions.sort();
    assert_eq!(permissions, ["audit.read", "records.read"]);
    for r in kura_server::routes().iter().filter(|r| r.path.starts_with("/api/v1/") && r.access != Access::Public) {
        let path = path_for(r, &tenant);
        let (s, body) =
            app.send(r.verb.as_str(), &path, Some(&support), crate::access::sample_body(r.verb, r.path)).await;
        let permitted = match r.access {
            Access::Tenant => true,
            Access::Permission(p) => permissions.iter().any(|x| x == p.as_str()),
            _ => false,
        };
        assert!(s.as_u16() < 500, "{} {path}: {s} {body}", r.verb.as_str());
        if r.verb != Verb::Get || !permitted {
            assert_eq!(s, StatusCode::FORBIDDEN, "{} {path}: {body}", r.verb.as_str());
        } else {
            assert_ne!(s, StatusCode::FORBIDDEN, "{} {path}: {body}", r.verb.as_str());
        }
    }
    // And every page of the tenant console: those of the support permissions open, the others
    // are refused, none fails.
    for r in kura_server::routes().iter().filter(|r| r.path.starts_with("/console") && r.verb == Verb::Get) {
        if r.access == Access::Public {
            continue;
        }
        let path = path_for(r, &tenant);
        let page = op.console.get(&path).await;
        let permitted = match r.access {
            Access::Tenant => true,
            Access::Permission(p) => permissions.iter().any(|x| x == p.as_str()),
            _ => false,
        };
        assert!(page.status.as_u16() < 500, "GET {path}: {} {}", page.status, page.body);
        if permitted {
            assert_ne!(page.status, StatusCode::FORBIDDEN, "GET {path}");
        } else {
            assert_eq!(page.status, StatusCode::FORBIDDEN, "GET {path}");
        }
    }
    let (_, after) = app.get("/api/v1/collections/customers/records", &t.admin_token).await;
    assert_eq!(after["items"].as_array().unwrap().len(), 1, "nothing was written");

    // Every request is in the tenant's log under the operator's name: reads as successes,
    // writes as refused.
    let access = entries(&app, &t, "break_glass.access").await;
    let label = "ops@kura.example.jp (break-glass)";
    let requests: Vec<&Value> = access.iter().filter(|e| e["actor"] == label).collect();
    assert!(requests.len() > 20, "{access:?}");
    assert!(requests.iter().all(|e| e["actor_kind"] == "operator" && e["actor_role"] == "break_glass"));
    let details: Vec<&str> = access.iter().filter_map(|e| e["detail"].as_str()).collect();
    assert!(details.contains(&"GET /console/collections/customers"), "{details:?}");
    assert!(details.contains(&"GET /api/v1/collections/customers/records"), "{details:?}");
    assert!(access.iter().any(|e| e["outcome"] == "denied"
        && e["detail"].as_str().unwrap().starts_with("POST /api/v1/collections/customers/records:")));
    assert!(details.iter().any(|d| d.contains("opened a support session")));

    // Opening the session again replaces it; ending the access ends it at once.
    let again = op.open(&tenant, &id).await.unwrap();
    assert_eq!(app.get("/api/v1/me", &support).await.0, StatusCode::UNAUTHORIZED, "the old session is replaced");
    assert_eq!(app.get("/api/v1/me", &again).await.0, StatusCode::OK);
    let (s, _) = app.send("POST", &format!("/api/v1/break-glass/{id}/end"), Some(&t.admin_token), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/me", &again).await.0, StatusCode::UNAUTHORIZED, "ended by the administrator");
    let end = entries(&app, &t, "break_glass.end").await;
    assert!(end[0]["detail"].as_str().unwrap().contains(&format!("ended early by {}", t.admin_email)));
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_13_break_glass_ends_by_itself_when_the_clock_passes_its_end() {
    let app = spawn_app().await;
    let t = tenant_with_data(&app).await;
    let tenant = tenant_id(&app, "acme").await;
    let op = Operator::sign_in(&app).await;
    assert_eq!(op.start(&tenant, REASON, "30").await.status, StatusCode::SEE_OTHER);
    let id = accesses(&app, &t).await[0]["id"].as_str().unwrap().to_owned();
    let support = op.open(&tenant, &id).await.unwrap();
    app.clock.advance(SignedDuration::from_mins(29));
    assert_eq!(app.get("/api/v1/collections/customers/records", &support).await.0, StatusCode::OK);

    app.clock.advance(SignedDuration::from_mins(1));
    assert_eq!(app.get("/api/v1/collections/customers/records", &support).await.0, StatusCode::UNAUTHORIZED);
    let page = op.console.get("/console/collections/customers").await;
    assert_eq!(page.location.as_deref(), Some("/console/login"), "the console sends it to sign in");
    assert_eq!(op.open(&tenant, &id).await.unwrap_err().status, StatusCode::CONFLICT, "no new session either");

    // The end is in the tenant's log once (and the platform's), at the end time.
    let end = entries(&app, &t, "break_glass.end").await;
    assert_eq!(end.len(), 1, "{end:?}");
    assert!(end[0]["detail"].as_str().unwrap().contains("ended at its end time"), "{end:?}");
    assert_eq!(platform_details(&app, "break_glass.end").await.len(), 1);
    let list = accesses(&app, &t).await;
    assert_eq!((list[0]["status"].as_str(), list[0]["ended_by"].as_str()), (Some("ended"), Some("expiry")));
    assert_eq!(list[0]["ended_at"], list[0]["ends_at"]);
    let admin = Console::new(&app);
    admin.login("acme", &t.admin_email, PASSWORD).await;
    let history = admin.get("/console/settings/break-glass").await.body;
    assert!(!history.contains("break-glass-banner") && history.contains("(ended at its end time)"), "{history}");

    // An access nobody uses any more is closed by the periodic job, and only once.
    assert_eq!(op.start(&tenant, REASON, "5").await.status, StatusCode::SEE_OTHER);
    app.clock.advance(SignedDuration::from_mins(6));
    kura_server::service::expiry::send_due_notices(&app.state).await.unwrap();
    kura_server::service::expiry::send_due_notices(&app.state).await.unwrap();
    assert_eq!(entries(&app, &t, "break_glass.end").await.len(), 2);
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_13_with_the_approval_policy_nothing_starts_until_an_administrator_approves() {
    let app = spawn_app().await;
    let mut t = tenant_with_data(&app).await;
    let tenant = tenant_id(&app, "acme").await;
    // The policy, through the API's security settings.
    let (_, mut settings) = app.get("/api/v1/settings/security", &t.admin_token).await;
    assert_eq!(settings["break_glass_approval"], false);
    let obj = settings.as_object_mut().unwrap();
    obj.remove("against_nist");
    obj.insert("break_glass_approval".into(), json!(true));
    let (s, saved) = app.send("PUT", "/api/v1/settings/security", Some(&t.admin_token), Some(settings)).await;
    assert_eq!((s, saved["break_glass_approval"].as_bool()), (StatusCode::OK, Some(true)), "{saved}");
    let policy = entries(&app, &t, "settings.security_update").await;
    assert!(policy[0]["detail"].as_str().unwrap().contains("break_glass_approval: false → true"));

    let op = Operator::sign_in(&app).await;
    let before = app.mail_files(0).await.len();
    let asked = op.start(&tenant, REASON, "60").await;
    assert!(asked.location.unwrap().contains("done=bgrequested"));
    let mails = app.mail_files(before + 1).await;
    assert!(
        mails
            .iter()
            .any(|m| m.subject == "【Kura】acme 株式会社 への緊急アクセスの承認依頼" && m.body.contains(REASON))
    );
    let id = accesses(&app, &t).await[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(accesses(&app, &t).await[0]["status"], "pending");
    assert_eq!(entries(&app, &t, "break_glass.request").await.len(), 1);
    // Pending: no access at all.
    assert_eq!(op.open(&tenant, &id).await.unwrap_err().status, StatusCode::CONFLICT);
    assert!(entries(&app, &t, "break_glass.start").await.is_empty());
    let admin = Console::new(&app);
    admin.login("acme", &t.admin_email, PASSWORD).await;
    assert!(admin.get("/console").await.body.contains("break-glass-pending"), "administrators are told");

    // Refused through the API: nothing ever starts.
    let (s, refused) = app.send("POST", &format!("/api/v1/break-glass/{id}/refuse"), Some(&t.admin_token), None).await;
    assert_eq!((s, refused["status"].as_str()), (StatusCode::OK, Some("refused")), "{refused}");
    assert_eq!(op.open(&tenant, &id).await.unwrap_err().status, StatusCode::CONFLICT);
    let (s, _) = app.send("POST", &format!("/api/v1/break-glass/{id}/approve"), Some(&t.admin_token), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "a refused request cannot be approved later");
    let refusal = entries(&app, &t, "break_glass.refuse").await;
    assert_eq!(refusal[0]["actor"], t.admin_email.as_str());

    // Asked again and approved in the console: the access starts then, and works.
    assert_eq!(op.start(&tenant, REASON, "60").await.status, StatusCode::SEE_OTHER);
    let id = accesses(&app, &t).await[0]["id"].as_str().unwrap().to_owned();
    let page = "/console/settings/break-glass";
    let form = admin.get(page).await.body;
    assert!(form.contains("break-glass-pending") && form.contains(REASON), "{form}");
    let approved = admin.submit(page, &format!("{page}/{id}/approve"), &[]).await;
    assert_eq!(approved.location.as_deref(), Some("/console/settings/break-glass?done=bgapproved"));
    let approval = entries(&app, &t, "break_glass.approve").await;
    assert_eq!(approval[0]["actor"], t.admin_email.as_str());
    let support = op.open(&tenant, &id).await.unwrap();
    assert_eq!(app.get("/api/v1/collections/customers/records", &support).await.0, StatusCode::OK);
    let list = accesses(&app, &t).await;
    assert_eq!(list[0]["decided_by"], t.admin_email.as_str());
    let history = admin.get(page).await.body;
    assert!(history.contains(&format!("Approved by {}", t.admin_email)), "{history}");
    assert!(platform_details(&app, "break_glass.start").await.len() == 1);
    assert_eq!(op.end(&tenant, &id).await.status, StatusCode::SEE_OTHER);

    // A request nobody approves lapses after 24 hours, and can no longer be approved.
    assert_eq!(op.start(&tenant, REASON, "60").await.status, StatusCode::SEE_OTHER);
    let id = accesses(&app, &t).await[0]["id"].as_str().unwrap().to_owned();
    app.clock.advance(SignedDuration::from_hours(24));
    t.admin_token = app.login("acme", &t.admin_email, PASSWORD).await;
    assert_eq!(accesses(&app, &t).await[0]["status"], "expired");
    let (s, _) = app.send("POST", &format!("/api/v1/break-glass/{id}/approve"), Some(&t.admin_token), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(entries(&app, &t, "break_glass.expire").await.len(), 1);
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_13_bad_break_glass_requests_are_refused_clearly_and_change_nothing() {
    let app = spawn_app().await;
    let t = tenant_with_data(&app).await;
    let tenant = tenant_id(&app, "acme").await;
    let op = Operator::sign_in(&app).await;
    op.console.get("/console/lang?to=en&back=/operator").await;
    let before = app.mail_files(0).await.len();
    for (reason, minutes, field) in [
        ("", "60", "f-bg_reason"),
        ("short", "60", "f-bg_reason"),
        (REASON, "241", "f-bg_minutes"),
        (REASON, "0", "f-bg_minutes"),
        (REASON, "two hours", "f-bg_minutes"),
    ] {
        let page = op.start(&tenant, reason, minutes).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{reason} {minutes}");
        let at = page.body.find(&format!("id=\"{field}\"")).unwrap_or_else(|| panic!("{field}: {}", page.body));
        assert!(page.body[at..].contains("field-error"), "the error is beside {field}");
    }
    let page = op.start(&tenant, REASON, "241").await;
    assert!(page.body.contains("240"), "the limit is named");
    // An unknown tenant, or no tenant id at all.
    let form = csrf_of(&op.console.get("/operator").await.body);
    for path in [format!("/operator/tenants/{MISSING}/break-glass"), "/operator/tenants/nosuch/break-glass".into()] {
        let page = op.console.post(&path, &[("_csrf", &form), ("bg_reason", REASON), ("bg_minutes", "60")]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
    // The tenant's side: unknown or malformed ids, and holders of other roles.
    let (s, body) =
        app.send("POST", &format!("/api/v1/break-glass/{MISSING}/approve"), Some(&t.admin_token), None).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{body}");
    let (s, body) = app.send("POST", "/api/v1/break-glass/xyz/approve", Some(&t.admin_token), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let viewer = crate::access::user_with_role(&app, &t, "viewer@acme.example.jp", "viewer").await;
    assert_eq!(app.get("/api/v1/break-glass", &viewer).await.0, StatusCode::FORBIDDEN);

    // Nothing changed: no access, no entry, no mail.
    assert!(accesses(&app, &t).await.is_empty());
    for operation in ["break_glass.start", "break_glass.request", "break_glass.access"] {
        assert!(entries(&app, &t, operation).await.is_empty(), "{operation}");
    }
    assert_eq!(app.mail_files(0).await.len(), before);
    // One access at a time per operator and tenant.
    assert_eq!(op.start(&tenant, REASON, "60").await.status, StatusCode::SEE_OTHER);
    let twice = op.start(&tenant, REASON, "60").await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", twice.body);
    assert!(twice.body.contains("You already have a break-glass access to this tenant"), "{}", twice.body);
    assert_eq!(accesses(&app, &t).await.len(), 1);
    app.verify_audit().await;
}
