//! The tenant and operator consoles over HTTP (server-rendered HTML): sign-in, language, CSRF and
//! origin checks, tenant isolation, PII masking, audit times in the tenant's zone, the operator's
//! tenant hand-over — and one real headless browser run through the main flow.

use crate::browser::Browser;
use crate::console_client::*;
use crate::helpers::*;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, ORIGIN, SET_COOKIE};
use serde_json::{Value, json};

async fn api_collection_with_record(app: &TestApp, t: &TenantFixture, record: Value) -> String {
    let (s, body) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = app.post("/api/v1/collections/customers/records", &t.admin_token, record).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn console_login_page_speaks_japanese_and_english_and_assets_are_cached() {
    let app = spawn_app().await;
    let c = Console::new(&app);
    let ja = c.get_in("/console/login", "ja,en-US;q=0.8").await;
    assert_eq!(ja.status, StatusCode::OK);
    assert!(ja.body.contains(r#"<html lang="ja">"#) && ja.body.contains("ログイン") && ja.body.contains("テナントID"));
    let en = c.get_in("/console/login", "en-US,en;q=0.9").await;
    assert!(en.body.contains(r#"<html lang="en">"#) && en.body.contains("Sign in") && en.body.contains("Tenant ID"));
    assert!(en.body.contains(r#"<label for="f-email">"#), "inputs are labelled");

    // The switch remembers the choice in a cookie and only returns to local paths.
    let sw = c.get("/console/lang?to=ja&back=/console/login").await;
    assert_eq!((sw.status, sw.location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/login")));
    assert!(c.get_in("/console/login", "en").await.body.contains(r#"<html lang="ja">"#));
    let evil = c.get("/console/lang?to=en&back=//evil.example/").await;
    assert_eq!(evil.location.as_deref(), Some("/console"));

    // Signed-out visitors are sent to sign in; the stylesheet may be cached; there is no inline style.
    let dash = c.get("/console").await;
    assert_eq!((dash.status, dash.location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/login")));
    let css = app.client.get(format!("{}/assets/kura.css", app.address)).send().await.unwrap();
    assert_eq!(css.headers()[CACHE_CONTROL], "public, max-age=86400");
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    assert!(!ja.body.contains("style=") && !ja.body.contains("<script"));
}

#[tokio::test]
async fn log_1_console_login_failure_is_generic_and_audited() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = Console::new(&app);
    let tries = [
        ("acme", t.admin_email.as_str(), "wrong-password"),
        ("acme", "nobody@acme.example.jp", PASSWORD),
        ("nosuch", "a@b.jp", PASSWORD),
    ];
    for (slug, email, pw) in tries {
        let page = Console::read(
            c.client
                .post(format!("{}/console/login", app.address))
                .header(ACCEPT_LANGUAGE, "ja")
                .form(&[("tenant", slug), ("email", email), ("password", pw)])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.body.contains("テナントID、メールアドレスまたはパスワードが正しくありません。"), "{}", page.body);
    }
    let (_, entries) = app.get("/api/v1/audit?operation=user.login_failed", &t.admin_token).await;
    assert_eq!(entries.as_array().unwrap().len(), 2, "{entries}");

    // A good sign-in sets a session cookie that scripts cannot read and other sites cannot send.
    let resp = c
        .client
        .post(format!("{}/console/login", app.address))
        .form(&[("tenant", "acme"), ("email", t.admin_email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = resp.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for flag in ["kura_session=", "Path=/", "HttpOnly", "SameSite=Strict", "Secure", "Max-Age=10800"] {
        assert!(cookie.contains(flag), "{flag} missing in {cookie}");
    }
    assert!(c.get("/console").await.body.contains("acme 株式会社"));
    let out = c.submit("/console", "/console/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(c.get("/console").await.status, StatusCode::SEE_OTHER, "signed out");
    app.verify_audit().await;
}

#[tokio::test]
async fn console_refuses_posts_without_the_session_token_or_from_other_sites() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = Console::new(&app);
    c.login("acme", &t.admin_email, PASSWORD).await;
    let fields = [("label", "顧客"), ("name", "customers"), ("memo", "")];
    assert_eq!(c.post("/console/collections/new", &fields).await.status, StatusCode::FORBIDDEN, "no token");
    let mut wrong = fields.to_vec();
    wrong.push(("_csrf", "not-the-token"));
    let refused = c.post("/console/collections/new", &wrong).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "wrong token");
    assert!(refused.body.contains("<html") && !refused.body.contains("\"code\""), "an HTML page, not JSON");

    let token = csrf_of(&c.get("/console/collections/new").await.body);
    let mut right = fields.to_vec();
    right.push(("_csrf", &token));
    let url = format!("{}/console/collections/new", app.address);
    let cross = c.client.post(&url).header(ORIGIN, "https://evil.example").form(&right).send().await.unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN, "right token, foreign origin");
    let opaque = c.client.post(&url).header(ORIGIN, "null").form(&right).send().await.unwrap();
    assert_eq!(opaque.status(), StatusCode::FORBIDDEN, "right token, opaque origin");
    // Console pages keep the referrer (and so the Origin of their own POSTs) within the site.
    let page = c.client.get(&url).send().await.unwrap();
    assert_eq!(page.headers()["referrer-policy"], "same-origin");
    let (_, list) = app.get("/api/v1/collections", &t.admin_token).await;
    assert_eq!(list, json!([]), "nothing was created");
    let forged_login = c.client.post(format!("{}/console/login", app.address)).header(ORIGIN, "https://evil.example");
    let forged_login = forged_login.form(&[("tenant", "acme"), ("email", &t.admin_email), ("password", PASSWORD)]);
    assert_eq!(forged_login.send().await.unwrap().status(), StatusCode::FORBIDDEN, "login CSRF");

    let same = c.client.post(&url).header(ORIGIN, app.address.as_str()).form(&right).send().await.unwrap();
    assert_eq!(same.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/api/v1/collections", &t.admin_token).await.1.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn ten_2_console_never_shows_another_tenants_records() {
    let app = spawn_app().await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("bravo").await;
    api_collection_with_record(&app, &a, json!({"name": "A社の顧客"})).await;
    let b_id = api_collection_with_record(&app, &b, json!({"name": "B社の秘密顧客", "points": 7})).await;
    let (_, _) = app.post("/api/v1/collections", &b.admin_token, json!({"name": "only_bravo", "label": "B専用"})).await;
    let (_, b_users) = app.get("/api/v1/users", &b.admin_token).await;
    let b_user = b_users[0]["id"].as_str().unwrap().to_owned();

    let c = Console::new(&app);
    c.login("alpha", &a.admin_email, PASSWORD).await;
    let list = c.get("/console/collections/customers").await;
    assert!(list.body.contains("A社の顧客") && !list.body.contains("B社の秘密顧客"));
    let record = format!("/console/collections/customers/records/{b_id}");
    for path in [
        record.clone(),
        format!("{record}/delete"),
        "/console/collections/only_bravo".into(),
        "/console/collections/only_bravo/settings".into(),
        format!("/console/users/{b_user}"),
    ] {
        let page = c.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.body.contains("B社の秘密顧客") && !page.body.contains("bravo"), "{path}: {}", page.body);
    }
    let del = c.submit("/console", &format!("{record}/delete"), &[]).await;
    assert_eq!(del.status, StatusCode::NOT_FOUND);
    let upd = c.submit("/console", &record, &[("name", "乗っ取り")]).await;
    assert_eq!(upd.status, StatusCode::NOT_FOUND);
    let (_, still) = app.get(&format!("/api/v1/collections/customers/records/{b_id}"), &b.admin_token).await;
    assert_eq!((still["data"]["name"].as_str(), still["version"].as_i64()), (Some("B社の秘密顧客"), Some(1)));
    assert!(!c.get("/console/audit").await.body.contains("bravo"));
}

#[tokio::test]
async fn iam_3_console_masks_pii_for_viewer() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let id =
        api_collection_with_record(&app, &t, json!({"name": "山田太郎", "email": "taro@example.jp", "points": 120}))
            .await;
    let viewer =
        json!({"email": "viewer@acme.example.jp", "display_name": "閲覧", "role": "viewer", "password": PASSWORD});
    assert_eq!(app.post("/api/v1/users", &t.admin_token, viewer).await.0, StatusCode::CREATED);

    let admin = Console::new(&app);
    admin.login("acme", &t.admin_email, PASSWORD).await;
    assert!(admin.get("/console/collections/customers").await.body.contains("山田太郎"));

    let c = Console::new(&app);
    c.login("acme", "viewer@acme.example.jp", PASSWORD).await;
    let record = format!("/console/collections/customers/records/{id}");
    for path in
        ["/console/collections/customers", record.as_str(), "/console/collections/customers?q=%E5%B1%B1%E7%94%B0"]
    {
        let page = c.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.body.contains("山田太郎") && !page.body.contains("taro@example.jp"), "{path} leaks PII");
    }
    assert!(c.get("/console/collections/customers").await.body.contains("••••••"));
    assert!(c.get(&record).await.body.contains("120"), "other fields are shown");
    // The viewer's menu offers only what the role allows, and other pages are refused politely.
    let dash = c.get_in("/console", "en").await.body;
    assert!(
        dash.contains("/console/collections") && !dash.contains("/console/users") && !dash.contains("/console/audit")
    );
    let refused = c.get_in("/console/users", "ja").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("この操作を行う権限がありません"), "{}", refused.body);
}

#[tokio::test]
async fn log_4_console_shows_audit_times_in_tenant_zone() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    api_collection_with_record(&app, &t, json!({"name": "山田"})).await;
    let c = Console::new(&app);
    c.login("acme", &t.admin_email, PASSWORD).await;
    let log = c.get("/console/audit").await.body;
    assert!(log.contains("2026-11-22 09:00:00 JST"), "{log}");
    assert!(log.contains("record.create") && log.contains("127.0.0.1"));
    // Filter bounds are local times of the tenant's zone: 09:00 JST is the clock's 00:00 UTC.
    let from_nine = c.get("/console/audit?from=2026-11-22T09%3A00&operation=record.create").await.body;
    assert!(from_nine.contains(r#"<code class="op">record.create</code>"#));
    assert!(!from_nine.contains(r#"<code class="op">user.login</code>"#), "only the chosen operation");
    let later = c.get("/console/audit?from=2026-11-22T09%3A01").await.body;
    assert!(!later.contains("2026-11-22 09:00:00 JST"), "nothing after 09:01 JST");
    assert!(c.get("/console").await.body.contains("2026-11-22 09:00:00 JST"), "dashboard shows recent entries");
}

#[tokio::test]
async fn pub_2_console_record_form_shows_field_errors_in_the_users_language() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    api_collection_with_record(&app, &t, json!({"name": "山田"})).await;
    let c = Console::new(&app);
    c.login("acme", &t.admin_email, PASSWORD).await;
    assert!(c.get("/console/lang?to=ja&back=/console").await.status.is_redirection());
    let page = c
        .submit(
            "/console/collections/customers/records/new",
            "/console/collections/customers/records/new",
            &[("name", ""), ("kana", "やまだ"), ("points", "-1"), ("plan", "gold")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for msg in [
        "入力してください。",
        "全角カナで入力してください。",
        "0以上の数値を入力してください。",
        "選択肢から選んでください。",
    ] {
        assert!(page.body.contains(msg), "{msg} missing");
    }
    assert!(page.body.contains(r#"value="やまだ""#), "the input is kept");
    let ok = c
        .submit(
            "/console/collections/customers/records/new",
            "/console/collections/customers/records/new",
            &[("name", "山田花子"), ("kana", "ヤマダ ハナコ"), ("points", "5"), ("plan", "free")],
        )
        .await;
    // Saving leads to the new record, which the confirmation names.
    let at = ok.location.expect("a redirect");
    assert!(at.starts_with("/console/collections/customers/records/") && at.ends_with("?done=created"), "{at}");
    assert!(c.get(&at).await.body.contains("「山田花子」を登録しました。"));
}

#[tokio::test]
async fn iam_2_console_every_page_renders_for_the_administrator() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let id = api_collection_with_record(&app, &t, json!({"name": "山田", "plan": "free"})).await;
    let c = Console::new(&app);
    c.login("acme", &t.admin_email, PASSWORD).await;
    let created = c
        .submit(
            "/console/roles/new",
            "/console/roles/new",
            &[("key", "sales"), ("label", "営業"), ("permissions", "records.read"), ("permissions", "records.write")],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let (_, roles) = app.get("/api/v1/roles", &t.admin_token).await;
    let sales = roles.as_array().unwrap().iter().find(|r| r["key"] == "sales").unwrap();
    assert_eq!(sales["permissions"], json!(["records.read", "records.write"]));
    let user = c
        .submit(
            "/console/users/new",
            "/console/users/new",
            &[("email", "sato@acme.example.jp"), ("display_name", "佐藤"), ("role", "sales"), ("password", "")],
        )
        .await;
    assert_eq!(user.status, StatusCode::SEE_OTHER, "{}", user.body);
    let key = c
        .submit(
            "/console/api-keys/new",
            "/console/api-keys/new",
            &[("name", "CRM連携"), ("role", "viewer"), ("expires_in_days", "30")],
        )
        .await;
    // Post-redirect-get: the POST issues the key and redirects to the page that shows it once.
    assert_eq!(key.status, StatusCode::SEE_OTHER, "{}", key.body);
    let shown = c.get(key.location.as_deref().unwrap()).await;
    assert!(shown.body.contains("kura_"), "the token is shown once");
    let (_, users) = app.get("/api/v1/users", &t.admin_token).await;
    let uid = users.as_array().unwrap().iter().find(|u| u["email"] == "sato@acme.example.jp").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rid = sales["id"].as_str().unwrap();
    let paths = [
        "/console",
        "/console/users",
        "/console/users/new",
        &format!("/console/users/{uid}"),
        &format!("/console/users/{uid}/delete"),
        "/console/roles",
        "/console/roles/new",
        &format!("/console/roles/{rid}"),
        &format!("/console/roles/{rid}/delete"),
        "/console/collections",
        "/console/collections/new",
        "/console/collections/customers",
        "/console/collections/customers?sort=-points&page=1",
        "/console/collections/customers/settings",
        "/console/collections/customers/delete",
        "/console/collections/customers/fields/new",
        "/console/collections/customers/fields/kana",
        "/console/collections/customers/fields/kana/delete",
        "/console/collections/customers/records/new",
        &format!("/console/collections/customers/records/{id}"),
        &format!("/console/collections/customers/records/{id}/delete"),
        "/console/api-keys",
        "/console/api-keys/new",
        "/console/audit",
    ];
    for lang in ["ja", "en"] {
        for path in paths {
            let page = c.get_in(path, lang).await;
            assert_eq!(page.status, StatusCode::OK, "{path} ({lang}): {}", page.body);
            assert!(page.body.contains(&format!(r#"<html lang="{lang}">"#)) && !page.body.contains("style="), "{path}");
        }
    }
    assert_eq!(c.get("/console/no-such-page").await.status, StatusCode::NOT_FOUND);
    let bad_filter = c.get("/console/collections/customers?filter=nosuch%20%3D%201").await;
    assert_eq!(bad_filter.status, StatusCode::OK, "a bad filter is explained beside the input");
    let field = c
        .submit(
            "/console/collections/customers/fields/new",
            "/console/collections/customers/fields/new",
            &[
                ("label", "郵便番号"),
                ("name", "zip"),
                ("type", "text"),
                ("pattern", r"\d{3}-\d{4}"),
                ("max_length", "8"),
            ],
        )
        .await;
    assert_eq!(field.status, StatusCode::SEE_OTHER, "{}", field.body);
    let (_, spec) = app.get("/api/v1/collections/customers", &t.admin_token).await;
    assert_eq!(spec["fields"].as_array().unwrap().last().unwrap()["rules"]["pattern"], r"\d{3}-\d{4}");
    app.verify_audit().await;
}

#[tokio::test]
async fn ten_1_operator_console_creates_tenant_whose_administrator_sets_a_password_through_a_mailed_link() {
    let app = spawn_app().await;
    app.operator("ops@kura.example.jp").await;
    let op = Console::new(&app);
    assert_eq!(op.get("/operator").await.location.as_deref(), Some("/operator/login"));
    let wrong = op.post("/operator/login", &[("email", "ops@kura.example.jp"), ("password", "nope-nope-nope")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let (next, _) = op.operator_login(&app, "ops@kura.example.jp", PASSWORD, None).await;
    assert_eq!(next, "/operator");
    let form = [
        ("display_name", "ひまわり保育園"),
        ("slug", "himawari"),
        ("time_zone", "Asia/Tokyo"),
        ("contract_start", "2026-11-01"),
        ("contract_end", ""),
        ("admin_name", "園長"),
        ("admin_email", "encho@himawari.example.jp"),
    ];
    let created = op.submit("/operator/tenants/new", "/operator/tenants/new", &form).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert!(created.body.contains("/console/login?tenant=himawari"));
    assert!(created.body.contains("encho@himawari.example.jp"), "the page says where the link went");
    let again = op.submit("/operator/tenants/new", "/operator/tenants/new", &form).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "the slug is taken");

    // Without an SMTP relay the setup link goes to a file, and the operator's mail list shows it.
    let mail = &app.mail_files(1).await[0];
    assert!(mail.to.contains("encho@himawari.example.jp"));
    assert_eq!(mail.subject, "【Kura】ひまわり保育園 のアカウント設定のご案内");
    // The operator sees that it went, not to whom in full (IAM-13).
    let outbox = op.get("/operator/mail").await.body;
    assert!(outbox.contains("e•••@himawari.example.jp") && !outbox.contains("encho@"), "{outbox}");
    let link = mail.link(&format!("{}/console/setup/", app.address));
    let path = link.strip_prefix(&app.address).unwrap().to_owned();

    // The administrator follows it, chooses a password (the policy's rules first refuse one),
    // and signs in: nobody else ever knew the password.
    let admin = Console::new(&app);
    assert!(admin.get(&path).await.body.contains("encho@himawari.example.jp"));
    let weak = admin.post(&path, &[("new_password", "12345678"), ("confirm_password", "12345678")]).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let set = admin
        .post(&path, &[("new_password", "sunflower-morning-garden"), ("confirm_password", "sunflower-morning-garden")])
        .await;
    assert_eq!(set.location.as_deref(), Some("/console/login?tenant=himawari&set=1"));
    assert_eq!(admin.get(&path).await.status, StatusCode::NOT_FOUND, "the link is used up");
    admin.login("himawari", "encho@himawari.example.jp", "sunflower-morning-garden").await;
    assert!(admin.get("/console").await.body.contains("ひまわり保育園"));
    app.verify_audit().await;
}

#[tokio::test]
async fn log_1_browser_console_creates_collection_and_record_and_sees_audit() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let Some(b) = Browser::launch().await else { return };
    let url = |p: &str| format!("{}{p}", app.address);
    b.goto(&url("/console/login")).await;
    b.find("#f-tenant").await.send_keys("acme").await;
    b.find("#f-email").await.send_keys(&t.admin_email).await;
    b.find("#f-password").await.send_keys(PASSWORD).await;
    b.find("main form button[type=submit]").await.click().await;
    b.wait_for_text("main h1", "Dashboard").await;

    b.goto(&url("/console/collections/new")).await;
    b.find("#f-label").await.send_keys("Customers").await;
    b.find("#f-name").await.send_keys("customers").await;
    b.find("main form button.btn-primary").await.click().await;
    b.wait_for_text(".notice-ok", "Created").await;

    b.goto(&url("/console/collections/customers/fields/new")).await;
    b.find("#f-label").await.send_keys("Full name").await;
    b.find("#f-name").await.send_keys("full_name").await;
    b.select_option("#f-type", "text").await;
    b.find("#f-required").await.click().await;
    b.find("main form button.btn-primary").await.click().await;
    b.wait_for_text("table.data", "full_name").await;

    b.goto(&url("/console/collections/customers/records/new")).await;
    b.find("#f-full_name").await.send_keys("Yamada Taro").await;
    b.find("main form button.btn-primary").await.click().await;
    b.wait_for_text("main h1", "Yamada Taro").await;
    b.goto(&url("/console/collections/customers")).await;
    b.wait_for_text("table.data", "Yamada Taro").await;
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("first-records-en-1280.png");
    b.screenshot_png(&shot).await;
    eprintln!("records list screenshot: {}", shot.display());

    b.goto(&url("/console/audit")).await;
    b.wait_for_text("table.data", "record.create").await;
    let (_, log) = app.get("/api/v1/audit?operation=record.create", &t.admin_token).await;
    assert_eq!(log[0]["actor"], t.admin_email.as_str(), "the browser's action is in the log");
}
