//! Mail and single-use links through a real SMTP server process (TEN-1, IAM-7): invitations and
//! resets arrive in the recipient's language, their links work once and expire by the clock,
//! asking for a reset says nothing about the address, and a mail that cannot be delivered is
//! retried, then given up visibly.

use crate::helpers::*;
use crate::smtp::SmtpSink;
use jiff::SignedDuration;
use kura_server::settings::SmtpSecurity;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn app_with_smtp(sink: &SmtpSink) -> TestApp {
    let port = sink.port;
    spawn_app_with(move |s| {
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = port;
        s.mail.smtp_security = SmtpSecurity::None;
        s.mail.from = "Kura <no-reply@kura.example.jp>".into();
    })
    .await
}

/// The token at the end of a link.
fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_owned()
}

async fn use_link(app: &TestApp, kind: &str, token: &str, password: &str) -> (StatusCode, Value) {
    app.send(
        "POST",
        "/api/v1/password-links",
        None,
        Some(json!({"kind": kind, "token": token, "new_password": password})),
    )
    .await
}

#[tokio::test]
async fn ten_1_iam_7_an_invited_user_gets_a_single_use_setup_link_in_their_language() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = app_with_smtp(&sink).await;
    let t = app.tenant("acme").await;
    let invite = |email: &str, language: &str| json!({"email": email, "display_name": "Hanako Sato", "role": "editor", "language": language});
    let (s, user) = app.post("/api/v1/users", &t.admin_token, invite("hanako@acme.example.jp", "en")).await;
    assert_eq!(s, StatusCode::CREATED, "{user}");
    assert_eq!(user["has_password"], false);
    let (s, _) = app.post("/api/v1/users", &t.admin_token, invite("taro@acme.example.jp", "ja")).await;
    assert_eq!(s, StatusCode::CREATED);

    let mails = sink.wait_for(2).await;
    let en = mails.iter().find(|m| m.to.contains("hanako@")).unwrap();
    let ja = mails.iter().find(|m| m.to.contains("taro@")).unwrap();
    assert_eq!(en.subject, "[Kura] Set up your account at acme 株式会社");
    assert!(en.body.starts_with("Dear Hanako Sato,") && en.body.contains("The link works once, until 2026-11-25"));
    assert_eq!(ja.subject, "【Kura】acme 株式会社 のアカウント設定のご案内");
    assert!(ja.body.contains("このリンクは 2026-11-25 09:00:00 JST まで有効で、一度だけ使用できます。"), "{}", ja.body);

    let link = en.link(&format!("{}/console/setup/", app.address));
    let page = app.client.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("hanako@acme.example.jp"), "the page names the account");
    let token = token_of(&link);
    // A password the policy refuses leaves the link usable.
    let (s, body) = use_link(&app, "setup", &token, "password").await;
    assert_eq!((s, body["errors"][0]["rule"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("common")));
    assert_eq!(use_link(&app, "reset", &token, "lantern-orchid-velvet").await.0, StatusCode::NOT_FOUND, "wrong kind");
    assert_eq!(use_link(&app, "setup", &token, "lantern-orchid-velvet").await.0, StatusCode::NO_CONTENT);
    assert_eq!(use_link(&app, "setup", &token, "another-good-phrase").await.0, StatusCode::NOT_FOUND, "burned");
    let _ = app.login("acme", "hanako@acme.example.jp", "lantern-orchid-velvet").await;
    let (_, entries) = app.get("/api/v1/audit?operation=password.reset", &t.admin_token).await;
    assert_eq!(entries[0]["detail"], "set through a setup link");
    // Only the digest is stored: the token appears nowhere in the database's link table.
    let (_, users) = app.get("/api/v1/users", &t.admin_token).await;
    assert!(!users.to_string().contains(&token));
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_7_links_expire_by_the_clock_and_a_new_link_replaces_the_old() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = app_with_smtp(&sink).await;
    let t = app.tenant("acme").await;
    let (_, user) = app
        .post(
            "/api/v1/users",
            &t.admin_token,
            json!({"email": "u@acme.example.jp", "display_name": "U", "role": "viewer"}),
        )
        .await;
    let id = user["id"].as_str().unwrap().to_owned();
    let first = token_of(&sink.wait_for(1).await[0].link("http"));
    // A resend replaces the first link.
    let (s, _) = app.post(&format!("/api/v1/users/{id}/setup-link"), &t.admin_token, json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let second = token_of(&sink.wait_for(2).await[1].link("http"));
    assert_eq!(use_link(&app, "setup", &first, "lantern-orchid-velvet").await.0, StatusCode::NOT_FOUND);
    // 72 hours by default: still good just before, refused just after.
    app.clock.advance(SignedDuration::from_hours(71));
    let page = app.client.get(format!("{}/console/setup/{second}", app.address)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    app.clock.advance(SignedDuration::from_hours(2));
    assert_eq!(use_link(&app, "setup", &second, "lantern-orchid-velvet").await.0, StatusCode::NOT_FOUND, "expired");
    let page = app.client.get(format!("{}/console/setup/{second}", app.address)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.text().await.unwrap().contains("This link can no longer be used."));
    let admin = app.login("acme", &t.admin_email, PASSWORD).await;
    assert_eq!(app.post(&format!("/api/v1/users/{id}/setup-link"), &admin, json!({})).await.0, StatusCode::ACCEPTED);
    let third = token_of(&sink.wait_for(3).await[2].link("http"));
    assert_eq!(use_link(&app, "setup", &third, "lantern-orchid-velvet").await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        app.post(&format!("/api/v1/users/{id}/setup-link"), &admin, json!({})).await.0,
        StatusCode::CONFLICT,
        "set up already"
    );
}

#[tokio::test]
async fn iam_7_a_reset_request_answers_alike_whether_or_not_the_address_exists() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = app_with_smtp(&sink).await;
    let t = app.tenant("acme").await;
    let other_session = app.login("acme", &t.admin_email, PASSWORD).await;
    let ask = |tenant: &str, email: &str| {
        app.send("POST", "/api/v1/password-resets", None, Some(json!({"tenant": tenant, "email": email})))
    };
    let known = ask("acme", &t.admin_email).await;
    for (tenant, email) in
        [("acme", "nobody@acme.example.jp"), ("nosuch", "a@b.example.jp"), ("acme", "not an address")]
    {
        assert_eq!(ask(tenant, email).await, known, "{tenant} {email}");
    }
    assert_eq!(known.0, StatusCode::ACCEPTED);
    let mails = sink.wait_for(1).await;
    // The unknown ones are recorded, not mailed: give the background work time to finish.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.received().len(), 1, "one mail, to the account that exists");
    assert_eq!(mails[0].subject, "【Kura】パスワード再設定のご案内");
    let (_, entries) = app.get("/api/v1/audit?operation=password.reset_request", &t.admin_token).await;
    let details: Vec<&str> = entries.as_array().unwrap().iter().map(|e| e["detail"].as_str().unwrap()).collect();
    assert!(details.contains(&"reset link sent") && details.contains(&"no such account"), "{details:?}");
    // A second request within a minute sends nothing more (no mail bombing).
    ask("acme", &t.admin_email).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.received().len(), 1);

    let token = token_of(&mails[0].link("http"));
    assert_eq!(use_link(&app, "reset", &token, "meadow-lantern-quiet").await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/me", &other_session).await.0, StatusCode::UNAUTHORIZED, "sessions ended");
    let (s, _) = app
        .send(
            "POST",
            "/api/v1/sessions",
            None,
            Some(json!({"tenant": "acme", "email": t.admin_email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the old password is gone");
    let _ = app.login("acme", &t.admin_email, "meadow-lantern-quiet").await;

    // Reset links last an hour.
    app.clock.advance(SignedDuration::from_mins(2));
    ask("acme", &t.admin_email).await;
    let token = token_of(&sink.wait_for(2).await[1].link("http"));
    app.clock.advance(SignedDuration::from_mins(61));
    assert_eq!(use_link(&app, "reset", &token, "another-fine-phrase").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ten_1_mail_that_cannot_be_delivered_is_retried_then_given_up_visibly() {
    // A relay that refuses connections: nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_app_with(move |s| {
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = closed;
        s.mail.smtp_security = SmtpSecurity::None;
        s.mail.max_attempts = 3;
        s.mail.retry_seconds = 60;
        // The test drives the retries itself; the sender's own polling stays out of the way.
        s.mail.poll_seconds = 3600;
    })
    .await;
    let t = app.tenant("acme").await;
    app.post(
        "/api/v1/users",
        &t.admin_token,
        json!({"email": "u@acme.example.jp", "display_name": "U", "role": "viewer"}),
    )
    .await;
    let pending = || async { app.state.store.mails(None, 10).await.unwrap() };
    // The first attempt (at once), then one after 60 s, one after 120 s more. An attempt counts
    // when the mail is claimed; wait for its failure too, so the clock moves only after the
    // retry is scheduled.
    wait_until(|| async move {
        let mail = &pending().await[0];
        mail.attempts == 1 && mail.last_error.is_some()
    })
    .await;
    assert_eq!(pending().await[0].status, "pending");
    for (advance, attempts) in [(60, 2), (120, 3)] {
        app.clock.advance(SignedDuration::from_secs(advance));
        kura_server::mail::deliver_due(&app.state).await.unwrap();
        assert_eq!(pending().await[0].attempts, attempts);
    }
    let mail = &pending().await[0];
    assert_eq!(mail.status, "failed", "{mail:?}");
    assert!(mail.last_error.is_some());
    let (_, entries) = app.get("/api/v1/audit?operation=mail.failed", &t.admin_token).await;
    assert_eq!(entries.as_array().unwrap().len(), 1, "recorded in the tenant's log");
    assert!(entries[0]["detail"].as_str().unwrap().starts_with("setup_link to u@acme.example.jp after 3 attempts"));

    app.operator("ops@kura.example.jp").await;
    let op = crate::console_client::Console::new(&app);
    op.operator_login(&app, "ops@kura.example.jp", PASSWORD, None).await;
    let page = op.get("/operator/mail").await.body;
    assert!(page.contains("u•••@acme.example.jp") && page.contains("status-locked"), "{page}");
    assert!(!page.contains("u@acme.example.jp"), "a tenant person's address is masked for the operator");
    assert!(page.contains("could not be delivered after every attempt"));
}

async fn wait_until<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "condition not met in time");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn ten_1_browser_an_invited_user_follows_the_mailed_link_chooses_a_password_and_signs_in() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = app_with_smtp(&sink).await;
    let t = app.tenant("acme").await;
    let (s, _) = app
        .post(
            "/api/v1/users",
            &t.admin_token,
            json!({"email": "new.staff@acme.example.jp", "display_name": "New Staff", "role": "editor", "language": "en"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mail = &sink.wait_for(1).await[0];
    let link = mail.link(&format!("{}/console/setup/", app.address));
    let Some(b) = crate::browser::Browser::launch().await else { return };
    b.goto(&link).await;
    b.wait_for_text("main h1", "Choose your password").await;
    b.wait_for_text(".rules", "Not a common or easily guessed password.").await;
    // First a password the policy refuses: the page names the broken rule, nothing is used up.
    b.find("#f-new_password").await.send_keys("password1").await;
    b.find("#f-confirm_password").await.send_keys("password1").await;
    b.find("main form button[type=submit]").await.click().await;
    b.wait_for_text(".field-error", "too common or too easy to guess").await;
    b.find("#f-new_password").await.send_keys("quiet-harbour-lantern-moss").await;
    b.find("#f-confirm_password").await.send_keys("quiet-harbour-lantern-moss").await;
    b.find("main form button[type=submit]").await.click().await;
    b.wait_for_text(".notice-ok", "Your password is set.").await;
    assert!(b.current_url().await.ends_with("/console/login?tenant=acme&set=1"));
    b.find("#f-email").await.send_keys("new.staff@acme.example.jp").await;
    b.find("#f-password").await.send_keys("quiet-harbour-lantern-moss").await;
    b.find("main form button[type=submit]").await.click().await;
    b.wait_for_text("main h1", "Dashboard").await;
    // The link is used up.
    b.goto(&link).await;
    b.wait_for_text("main", "This link can no longer be used.").await;
}

#[tokio::test]
async fn ten_1_mail_goes_over_starttls_and_implicit_tls_with_the_relays_certificate_checked() {
    use crate::smtp::Protection;
    for (protection, security) in [(Protection::StartTls, SmtpSecurity::Starttls), (Protection::Tls, SmtpSecurity::Tls)]
    {
        let Some((sink, ca)) = SmtpSink::start_with(protection) else { return };
        let port = sink.port;
        // Trusting the relay's CA: the mail arrives.
        let app = spawn_app_with(move |s| {
            s.mail.smtp_host = "127.0.0.1".into();
            s.mail.smtp_port = port;
            s.mail.smtp_security = security;
            s.mail.ca_file = Some(ca);
        })
        .await;
        let t = app.tenant("acme").await;
        app.post(
            "/api/v1/users",
            &t.admin_token,
            json!({"email": "tls@acme.example.jp", "display_name": "T", "role": "viewer"}),
        )
        .await;
        let mails = sink.wait_for(1).await;
        assert!(mails[0].to.contains("tls@acme.example.jp"), "{protection:?}");

        // Not trusting it (Mozilla's roots only): nothing is sent, and the error says why.
        let untrusted = spawn_app_with(move |s| {
            s.mail.smtp_host = "127.0.0.1".into();
            s.mail.smtp_port = port;
            s.mail.smtp_security = security;
            s.mail.poll_seconds = 3600;
        })
        .await;
        let t = untrusted.tenant("acme").await;
        untrusted
            .post(
                "/api/v1/users",
                &t.admin_token,
                json!({"email": "no@acme.example.jp", "display_name": "N", "role": "viewer"}),
            )
            .await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let error = loop {
            let mail = untrusted.state.store.mails(None, 1).await.unwrap().remove(0);
            if let Some(e) = mail.last_error {
                break e;
            }
            assert!(std::time::Instant::now() < deadline, "no delivery attempt");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        assert!(error.to_lowercase().contains("certificate"), "{protection:?}: {error}");
        assert_eq!(sink.received().len(), 1, "{protection:?}: nothing more arrived");
    }
}

// A tenant's mail, sealed (DAT-2) ---------------------------------------------------------------

/// The stored recipient, subject, body and last error of every mail, read behind Kura's back.
async fn raw_mails(db_url: &str) -> Vec<(String, String, String, Option<String>)> {
    const SQL: &str = "SELECT recipient, subject, body, last_error FROM mail_outbox ORDER BY created_at";
    if db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
        sqlx::query_as(SQL).fetch_all(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        sqlx::query_as(SQL).fetch_all(&pool).await.unwrap()
    }
}

fn invite_canary() -> Value {
    json!({"email": "Mail.Canary@acme.example.jp", "display_name": "メール カナリア", "role": "viewer"})
}

#[tokio::test]
async fn dat_2_tenant_mail_is_sealed_in_the_outbox_and_unreadable_once_the_tenants_keys_are_destroyed() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_encrypted_app_with(move |s| {
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = closed;
        s.mail.smtp_security = SmtpSecurity::None;
        s.mail.max_attempts = 3;
        s.mail.poll_seconds = 3600;
    })
    .await;
    let t = app.tenant("acme").await;
    let (s, body) = app.post("/api/v1/users", &t.admin_token, invite_canary()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let mails = || async { app.state.store.mails(None, 10).await.unwrap() };
    wait_until(|| async move { mails().await[0].last_error.is_some() }).await;

    // Stored: the recipient, subject, body and the relay's error, all sealed.
    let stored = raw_mails(&app.db_url).await;
    assert_eq!(stored.len(), 1);
    let (recipient, subject, body, error) = &stored[0];
    for value in [recipient, subject, body, error.as_ref().unwrap()] {
        assert!(value.starts_with('\u{1}'), "{value}");
        for plain in ["canary", "Canary", "カナリア", "acme", "/console/setup/"] {
            assert!(!value.contains(plain), "{plain} stored in the clear: {value}");
        }
    }
    // Read back opened, for the operator's list.
    let listed = &mails().await[0];
    assert_eq!(listed.recipient.to_lowercase(), "mail.canary@acme.example.jp");
    assert!(listed.subject.contains("acme 株式会社"), "{}", listed.subject);

    // Once the tenant's keys are gone (a copy of the data kept after its deletion), no node can
    // read the mail: the list says so, and the sender gives it up instead of sending it.
    let tenant = app.state.store.tenant_by_slug(&kura_domain::Slug::parse("acme").unwrap()).await.unwrap().unwrap();
    app.state.store.vault().unwrap().destroy_tenant_keys(tenant.id).await.unwrap();
    let node = app.another_node().await;
    let listed = node.state.store.mails(None, 10).await.unwrap().remove(0);
    assert_eq!(
        (listed.recipient.as_str(), listed.subject.as_str()),
        (kura_store::MAIL_UNOPENED, kura_store::MAIL_UNOPENED)
    );
    app.clock.advance(SignedDuration::from_hours(1));
    assert_eq!(kura_server::mail::deliver_due(&node.state).await.unwrap(), 0);
    let listed = node.state.store.mails(None, 10).await.unwrap().remove(0);
    assert_eq!(listed.status, "failed", "{listed:?}");
    assert!(listed.last_error.unwrap().contains("could not be decrypted"));
    // Counted as a refused decryption, as a request's would be (and recorded in the tenant's
    // log, which no longer opens to show it).
    let (_, metrics) = node.send("GET", "/metrics", None, None).await;
    assert!(metrics.as_str().unwrap_or("").contains("\nkura_decryption_refusals_total 1"), "{metrics}");
}

#[tokio::test]
async fn dat_2_sealed_tenant_mail_is_delivered_in_plain_over_smtp() {
    let Some(sink) = SmtpSink::start() else { return };
    let port = sink.port;
    let app = spawn_encrypted_app_with(move |s| {
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = port;
        s.mail.smtp_security = SmtpSecurity::None;
        s.mail.from = "Kura <no-reply@kura.example.jp>".into();
    })
    .await;
    let t = app.tenant("acme").await;
    let (s, body) = app.post("/api/v1/users", &t.admin_token, invite_canary()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let mail = sink.wait_for(1).await.remove(0);
    assert!(mail.to.to_lowercase().contains("mail.canary@acme.example.jp"), "{}", mail.to);
    assert_eq!(mail.subject, "【Kura】acme 株式会社 のアカウント設定のご案内");
    assert!(mail.body.contains("メール カナリア") && mail.body.contains("/console/setup/"), "{}", mail.body);
    // Delivered: the body is erased, the recipient and subject stay sealed.
    wait_until(|| async { app.state.store.mails(None, 10).await.unwrap()[0].status == "sent" }).await;
    let (recipient, subject, body, _) = raw_mails(&app.db_url).await.remove(0);
    assert!(recipient.starts_with('\u{1}') && subject.starts_with('\u{1}') && body.is_empty(), "{recipient} {subject}");
}
