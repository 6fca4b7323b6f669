//! Account security in the tenant console: the security settings page with NIST's advice in both
//! languages, the own password and sessions pages, and the administrator's view of a locked
//! account (IAM-4, IAM-5, IAM-9).

use crate::console_client::Console;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

/// The settings form as the defaults fill it, with `changes` applied.
fn settings_form<'a>(revision: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("revision", revision),
        ("password.min_length", "8"),
        ("password.max_length", "128"),
        ("password.expiry_days", ""),
        ("password.history", "0"),
        ("password.blocklist", "on"),
        ("lockout.enabled", "on"),
        ("lockout.threshold", "10"),
        ("lockout.lock_minutes", "30"),
        ("lockout.throttle_failures", "30"),
        ("lockout.throttle_window_minutes", "15"),
        ("sessions.absolute_minutes", "180"),
        ("sessions.idle_minutes", "60"),
        ("sessions.concurrent", "allow"),
    ];
    for (name, value) in changes {
        form.retain(|(n, _)| n != name);
        if !value.is_empty() || name.ends_with("days") || name.ends_with("lock_minutes") {
            form.push((name, value));
        }
    }
    form
}

#[tokio::test]
async fn iam_4_settings_page_warns_beside_values_nist_advises_against_in_both_languages() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = Console::new(&app);
    c.login("acme", &t.admin_email, PASSWORD).await;
    let page = c.get("/console/settings/security").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Minimum length") && page.body.contains("/console/help/security"));
    assert!(!page.body.contains("NIST SP 800-63B advises against"), "the defaults follow NIST");
    // The guide it links to is built in, in the reader's language.
    let guide = c.get("/console/help/security").await;
    assert_eq!(guide.status, StatusCode::OK);
    assert!(guide.body.contains("Account lockout and address limits") && guide.body.contains("<table"));
    assert!(c.get_in("/console/help/security", "ja").await.body.contains("アカウントロックと IP アドレスごとの制限"));

    // Out of bounds: the page says which field, and nothing is stored.
    let bad = settings_form("0", &[("password.min_length", "7"), ("sessions.idle_minutes", "999")]);
    let refused = c.submit("/console/settings/security", "/console/settings/security", &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Enter a number of at least 8."), "{}", refused.body);
    assert!(refused.body.contains("Enter a number of at most 180."));
    let (_, stored) = app.get("/api/v1/settings/security", &t.admin_token).await;
    assert_eq!(stored["revision"], 0);

    let seed = settings_form(
        "0",
        &[
            ("password.require_digit", "on"),
            ("password.expiry_days", "90"),
            ("lockout.threshold", "5"),
            ("sessions.concurrent", "refuse"),
        ],
    );
    let saved = c.submit("/console/settings/security", "/console/settings/security", &seed).await;
    assert_eq!(
        (saved.status, saved.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/settings/security?done=saved"))
    );
    let (_, stored) = app.get("/api/v1/settings/security", &t.admin_token).await;
    assert_eq!(stored["password"]["expiry_days"], 90);
    assert_eq!(stored["sessions"]["concurrent"], "refuse");
    let en = c.get("/console/settings/security").await.body;
    assert!(en.contains("NIST SP 800-63B advises against composition rules"));
    assert!(en.contains("NIST SP 800-63B advises against forced periodic changes"));
    let ja = c.get_in("/console/settings/security", "ja").await.body;
    assert!(ja.contains("NIST SP 800-63Bは文字種の強制を推奨していません"));
    assert!(ja.contains("定期的なパスワード変更の強制を推奨していません"));
    // A form loaded before that save is stale.
    let stale = c.submit("/console/settings/security", "/console/settings/security", &settings_form("0", &[])).await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Others see neither the page nor the menu item.
    app.post(
        "/api/v1/users",
        &t.admin_token,
        json!({"email": "v@acme.example.jp", "display_name": "v", "role": "viewer", "password": "viewer-pass-1234"}),
    )
    .await;
    let viewer = Console::new(&app);
    viewer.login("acme", "v@acme.example.jp", "viewer-pass-1234").await;
    assert!(!viewer.get("/console").await.body.contains("/console/settings/security"));
    assert_eq!(viewer.get("/console/settings/security").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn iam_4_iam_9_console_password_change_states_rules_names_broken_ones_and_ends_other_sessions() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = Console::new(&app);
    c.login("acme", &t.admin_email, PASSWORD).await;
    let form = c.get_in("/console/account/password", "ja").await.body;
    assert!(form.contains("8文字以上。") && form.contains("よく使われるパスワード"), "rules before typing");
    let change = |new: &'static str, again: &'static str| {
        vec![("current_password", PASSWORD), ("new_password", new), ("confirm_password", again)]
    };
    let weak = c.submit("/console/account/password", "/console/account/password", &change("qwerty", "qwerty")).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("Too short: use at least 8 characters."), "{}", weak.body);
    assert!(weak.body.contains("too common or too easy to guess"));
    let differ = c
        .submit(
            "/console/account/password",
            "/console/account/password",
            &change("lantern-orchid-9", "lantern-orchid-8"),
        )
        .await;
    assert!(differ.body.contains("The two new passwords differ."));
    let wrong = c
        .submit(
            "/console/account/password",
            "/console/account/password",
            &[
                ("current_password", "nope"),
                ("new_password", "lantern-orchid-9"),
                ("confirm_password", "lantern-orchid-9"),
            ],
        )
        .await;
    assert!(wrong.body.contains("The current password is not correct."));

    let other = Console::new(&app);
    other.login("acme", &t.admin_email, PASSWORD).await;
    let sessions = c.get("/console/account/sessions").await.body;
    assert_eq!(sessions.matches("/end\"").count(), 2 + 1, "two sessions and the api one: {sessions}");
    let done = c
        .submit(
            "/console/account/password",
            "/console/account/password",
            &change("lantern-orchid-9", "lantern-orchid-9"),
        )
        .await;
    assert_eq!(done.location.as_deref(), Some("/console/account/sessions?done=password"));
    assert_eq!(other.get("/console").await.location.as_deref(), Some("/console/login"), "signed out elsewhere");
    let after = c.get("/console/account/sessions?done=password").await.body;
    assert!(after.contains("Your password has been changed."));
    assert_eq!(after.matches("/end\"").count(), 1, "only this session is left");
}

#[tokio::test]
async fn iam_5_administrators_see_a_locked_account_and_unlock_it_in_the_console() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (_, user) = app
        .post(
            "/api/v1/users",
            &t.admin_token,
            json!({"email": "u@acme.example.jp", "display_name": "利用者", "role": "viewer", "password": PASSWORD}),
        )
        .await;
    let id = user["id"].as_str().unwrap().to_owned();
    for _ in 0..10 {
        app.send(
            "POST",
            "/api/v1/sessions",
            None,
            Some(json!({"tenant": "acme", "email": "u@acme.example.jp", "password": "guess"})),
        )
        .await;
    }
    let c = Console::new(&app);
    c.login("acme", &t.admin_email, PASSWORD).await;
    assert!(c.get("/console/users").await.body.contains("status-locked"));
    let page = c.get_in(&format!("/console/users/{id}"), "ja").await.body;
    assert!(page.contains("10回のログイン失敗により"), "{page}");
    let unlocked = c.submit(&format!("/console/users/{id}"), &format!("/console/users/{id}/unlock"), &[]).await;
    assert_eq!(unlocked.location, Some(format!("/console/users/{id}?done=unlocked")));
    assert!(!c.get("/console/users").await.body.contains("status-locked"));
    assert!(!app.login("acme", "u@acme.example.jp", PASSWORD).await.is_empty());
    let signed_out = c.submit(&format!("/console/users/{id}"), &format!("/console/users/{id}/signout"), &[]).await;
    assert_eq!(signed_out.location, Some(format!("/console/users/{id}?done=signedout")));
}

#[tokio::test]
async fn iam_13_an_operators_one_time_password_must_be_changed_before_anything_else() {
    let app = spawn_app().await;
    let (_, one_time) = kura_server::service::tenants::create_operator_one_time(
        &app.state,
        cli_actor(),
        "ops@kura.example.jp",
        "運用担当",
    )
    .await
    .unwrap();
    let op = Console::new(&app);
    let (next, _) = op.operator_login(&app, "ops@kura.example.jp", &one_time, None).await;
    assert_eq!(next, "/operator/account/password");
    assert_eq!(op.get("/operator").await.location.as_deref(), Some("/operator/account/password"));
    let weak = op
        .submit(
            "/operator/account/password",
            "/operator/account/password",
            &[("current_password", &one_time), ("new_password", "password"), ("confirm_password", "password")],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = op
        .submit(
            "/operator/account/password",
            "/operator/account/password",
            &[
                ("current_password", &one_time),
                ("new_password", "harbour-lantern-orchid"),
                ("confirm_password", "harbour-lantern-orchid"),
            ],
        )
        .await;
    assert_eq!(done.location.as_deref(), Some("/operator?done=password"));
    assert_eq!(op.get("/operator").await.status, StatusCode::OK);
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_1_console_import_previews_each_row_before_anything_is_written() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = Console::new(&app);
    c.login("acme", &t.admin_email, PASSWORD).await;
    let hash = bcrypt::hash("carried-over-pass", 4).unwrap();
    let bad = format!("email,display_name,role,password_hash\nok@acme.example.jp,OK,viewer,{hash}\nbroken,B,viewer,\n");
    let preview =
        c.submit("/console/users/import", "/console/users/import", &[("step", "preview"), ("csv", &bad)]).await;
    assert_eq!(preview.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(preview.body.contains("email: not an email address") && preview.body.contains("Nothing has been imported"));
    assert!(!preview.body.contains("name=\"step\" value=\"import\""), "no way to import a file with problems");
    let good = format!("email,display_name,role,password_hash\nok@acme.example.jp,OK,viewer,{hash}\n");
    let preview =
        c.submit("/console/users/import", "/console/users/import", &[("step", "preview"), ("csv", &good)]).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(preview.body.contains("Keeps their password") && preview.body.contains("Import 1 user(s)"));
    assert!(!c.get("/console/users").await.body.contains("ok@acme.example.jp"), "a preview writes nothing");
    let done = c.submit("/console/users/import", "/console/users/import", &[("step", "import"), ("csv", &good)]).await;
    assert_eq!(done.location.as_deref(), Some("/console/users?done=imported&n=1"));
    assert!(c.get("/console/users").await.body.contains("ok@acme.example.jp"));
    let _ = app.login("acme", "ok@acme.example.jp", "carried-over-pass").await;
}

#[tokio::test]
async fn iam_12_a_new_api_keys_secret_is_shown_once_and_a_reload_issues_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = Console::new(&app);
    c.login("acme", &t.admin_email, PASSWORD).await;
    let posted = c
        .submit(
            "/console/api-keys/new",
            "/console/api-keys/new",
            &[("name", "CRM連携"), ("role", "viewer"), ("expires_in_days", "30")],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    let page = posted.location.unwrap();
    let first = c.get(&page).await.body;
    assert!(first.contains("kura_") && first.contains("CRM連携"));
    let token = first[first.find("kura_").unwrap()..].split('<').next().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/me", &token).await.0, StatusCode::OK, "the shown key works");
    let again = c.get(&page).await.body;
    assert!(!again.contains("kura_") && again.contains("already been shown"), "read once");
    let (_, keys) = app.get("/api/v1/api-keys", &t.admin_token).await;
    assert_eq!(keys.as_array().unwrap().len(), 1, "reading the page twice issued nothing");
}

#[tokio::test]
async fn iam_1_a_new_users_one_time_password_is_shown_once_and_must_be_changed() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = Console::new(&app);
    c.login("acme", &t.admin_email, PASSWORD).await;
    let fields = [
        ("email", "nomail@acme.example.jp"),
        ("display_name", "メールなし"),
        ("role", "viewer"),
        ("language", "ja"),
        ("access", "one_time"),
        ("password", ""),
    ];
    let posted = c.submit("/console/users/new", "/console/users/new", &fields).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let page = posted.location.unwrap();
    assert!(page.ends_with("/one-time-password"));
    let shown = c.get_in(&page, "ja").await.body;
    let at = shown.find("id=\"password\"").unwrap();
    let start = at + shown[at..].find('>').unwrap() + 1;
    let password = shown[start..start + shown[start..].find('<').unwrap()].to_owned();
    assert_eq!(password.len(), 20);
    assert!(!c.get(&page).await.body.contains(&password), "shown once");
    assert!(app.mail_files(0).await.is_empty(), "no invitation mail");
    let (s, created) = app
        .send(
            "POST",
            "/api/v1/sessions",
            None,
            Some(json!({"tenant": "acme", "email": "nomail@acme.example.jp", "password": password})),
        )
        .await;
    assert_eq!((s, &created["password_change_required"]), (StatusCode::CREATED, &json!(true)));
    // The API issues one too, in its answer only.
    let (_, users) = app.get("/api/v1/users", &t.admin_token).await;
    let id = users.as_array().unwrap().iter().find(|u| u["email"] == "nomail@acme.example.jp").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, body) = app.post(&format!("/api/v1/users/{id}/one-time-password"), &t.admin_token, json!({})).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        app.get("/api/v1/me", created["token"].as_str().unwrap()).await.0,
        StatusCode::UNAUTHORIZED,
        "sessions ended"
    );
    let _ = app.login("acme", "nomail@acme.example.jp", body["password"].as_str().unwrap()).await;
}

#[tokio::test]
async fn iam_7_forgot_password_in_the_console_answers_alike_whatever_the_address() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = Console::new(&app);
    let form = c.get_in("/console/login", "ja").await.body;
    assert!(form.contains("/console/forgot"), "the sign-in page links to it");
    let known = c.post("/console/forgot", &[("tenant", "acme"), ("email", &t.admin_email)]).await;
    let unknown = c.post("/console/forgot", &[("tenant", "acme"), ("email", "nobody@acme.example.jp")]).await;
    let no_tenant = c.post("/console/forgot", &[("tenant", "nosuch"), ("email", &t.admin_email)]).await;
    assert_eq!(known.status, StatusCode::OK);
    assert!(known.body.contains("If the tenant ID and address belong to an account"));
    for other in [&unknown, &no_tenant] {
        assert_eq!(other.status, known.status);
    }
    assert_eq!(known.body, unknown.body, "the same page, word for word");
    // One mail, to the account that exists.
    let mails = app.mail_files(1).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].to.contains(&t.admin_email) && mails[0].body.contains("/console/reset/"));
    // The users form states the password rules too.
    c.login("acme", &t.admin_email, PASSWORD).await;
    assert!(c.get("/console/users/new").await.body.contains("At least 8 characters."));
}
