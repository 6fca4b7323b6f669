//! Second factors (IAM-6) through HTTP: TOTP enrolment and sign-in with replay refused,
//! single-use recovery codes, the tenant's rule enforced on the API, the console and the setup
//! link, bad input refused without change, challenge expiry by the clock, lockout by wrong codes,
//! and an administrator's reset told by mail.

use crate::console_client::{Console, totp_now, totp_secret_of};
use crate::helpers::*;
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn sign_in(app: &TestApp, slug: &str, email: &str) -> (StatusCode, Value) {
    app.send("POST", "/api/v1/sessions", None, Some(json!({"tenant": slug, "email": email, "password": PASSWORD})))
        .await
}

async fn second(app: &TestApp, challenge: &Value, code: &str) -> (StatusCode, Value) {
    app.send(
        "POST",
        "/api/v1/sessions/second-factor",
        None,
        Some(json!({"challenge": challenge.as_str().unwrap(), "code": code})),
    )
    .await
}

async fn audit_ops(app: &TestApp, token: &str, operation: &str) -> Vec<Value> {
    let (s, entries) = app.get(&format!("/api/v1/audit?operation={operation}&limit=500"), token).await;
    assert_eq!(s, StatusCode::OK, "{entries}");
    entries.as_array().unwrap().clone()
}

async fn set_rule(app: &TestApp, token: &str, rule: &str) {
    let (s, mut settings) = app.get("/api/v1/settings/security", token).await;
    assert_eq!(s, StatusCode::OK, "{settings}");
    settings.as_object_mut().unwrap().remove("against_nist");
    settings["second_factor"] = rule.into();
    let (s, body) = app.send("PUT", "/api/v1/settings/security", Some(token), Some(settings)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["second_factor"], rule);
}

/// Enrols an authenticator app for the session's user through the API; returns its secret and
/// the recovery codes.
pub(crate) async fn enrol(app: &TestApp, token: &str) -> (String, Vec<String>) {
    let (s, offered) = app.post("/api/v1/me/second-factors", token, json!(null)).await;
    assert_eq!(s, StatusCode::CREATED, "{offered}");
    let secret = offered["secret"].as_str().unwrap().to_owned();
    assert!(offered["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/"));
    let (s, body) = app.post("/api/v1/me/second-factors/confirm", token, json!({"code": totp_now(app, &secret)})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let codes: Vec<String> =
        body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().into()).collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

#[tokio::test]
async fn iam_6_totp_enrolled_then_asked_for_and_a_replayed_code_is_refused() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (secret, _) = enrol(&app, &t.admin_token).await;
    let (s, mine) = app.get("/api/v1/me/second-factors", &t.admin_token).await;
    assert_eq!(
        (s, mine["factors"].as_array().unwrap().len(), mine["recovery_codes_left"].as_i64()),
        (StatusCode::OK, 1, Some(10))
    );

    // The code that confirmed the enrolment is spent: the next sign-in waits for a new step.
    let (s, pending) = sign_in(&app, "acme", &t.admin_email).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{pending}");
    assert!(pending["enrolment"].is_null());
    let code = totp_now(&app, &secret);
    let (s, body) = second(&app, &pending["challenge"], &code).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("second_factor_refused")), "{body}");
    app.clock.advance(SignedDuration::from_secs(30));
    let code = totp_now(&app, &secret);
    let (s, session) = second(&app, &pending["challenge"], &code).await;
    assert_eq!(s, StatusCode::CREATED, "{session}");
    let (s, _) = app.get("/api/v1/me", session["token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    // The challenge is finished; the same code on a new challenge is a replay, on any node.
    assert_eq!(second(&app, &pending["challenge"], &code).await.1["code"], "challenge_unknown");
    let node = app.another_node().await;
    let (_, again) = sign_in(&node, "acme", &t.admin_email).await;
    let (s, body) = second(&node, &again["challenge"], &code).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("second_factor_refused")));
    // One step later, the other node finishes the challenge the first node's sign-in made.
    let (_, third) = sign_in(&app, "acme", &t.admin_email).await;
    app.clock.advance(SignedDuration::from_secs(30));
    assert_eq!(second(&node, &third["challenge"], &totp_now(&app, &secret)).await.0, StatusCode::CREATED);

    let failed = audit_ops(&app, &t.admin_token, "mfa.failed").await;
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|e| e["detail"].as_str().unwrap().starts_with("code already used")), "{failed:?}");
    assert_eq!(audit_ops(&app, &t.admin_token, "mfa.enrol").await.len(), 2, "offered, then confirmed");
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_6_recovery_codes_work_once_each_and_api_keys_need_no_second_factor() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, key) = app.post("/api/v1/api-keys", &t.admin_token, json!({"name": "batch", "role": "viewer"})).await;
    assert_eq!(s, StatusCode::CREATED, "{key}");
    let (_, codes) = enrol(&app, &t.admin_token).await;
    let (_, pending) = sign_in(&app, "acme", &t.admin_email).await;
    // Case and hyphens do not matter.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let (s, session) = second(&app, &pending["challenge"], &typed).await;
    assert_eq!(s, StatusCode::CREATED, "{session}");
    let (_, pending) = sign_in(&app, "acme", &t.admin_email).await;
    let (s, body) = second(&app, &pending["challenge"], &codes[3]).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("second_factor_refused")));
    assert_eq!(second(&app, &pending["challenge"], &codes[4]).await.0, StatusCode::CREATED);
    let (_, mine) = app.get("/api/v1/me/second-factors", &t.admin_token).await;
    assert_eq!(mine["recovery_codes_left"], 8);
    let used = audit_ops(&app, &t.admin_token, "mfa.recovery_code_use").await;
    assert_eq!(used.len(), 2);
    assert_eq!(used[0]["detail"], "8 unused code(s) left");
    // API keys are for machines: no second step, and no factors of their own.
    let key = key["token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", key).await.0, StatusCode::OK);
    assert_eq!(app.get("/api/v1/me/second-factors", key).await.0, StatusCode::BAD_REQUEST);
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_6_the_tenants_rule_is_enforced_on_api_sign_in_with_enrolment_first() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, _) = app
        .post(
            "/api/v1/users",
            &t.admin_token,
            json!({"email": "v@acme.example.jp", "display_name": "閲覧", "role": "viewer", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    set_rule(&app, &t.admin_token, "administrators").await;
    assert_eq!(sign_in(&app, "acme", "v@acme.example.jp").await.0, StatusCode::CREATED, "a viewer is no administrator");
    let (s, pending) = sign_in(&app, "acme", &t.admin_email).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{pending}");
    let secret = pending["enrolment"]["secret"].as_str().expect("a secret to enrol").to_owned();
    // A recovery code cannot enrol, and a wrong code leaves the enrolment waiting.
    let (s, _) = second(&app, &pending["challenge"], "abcd-efgh-ijkl-mnop").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, done) = second(&app, &pending["challenge"], &totp_now(&app, &secret)).await;
    assert_eq!(s, StatusCode::CREATED, "{done}");
    assert_eq!(done["recovery_codes"].as_array().unwrap().len(), 10);

    set_rule(&app, &t.admin_token, "everyone").await;
    let (s, pending) = sign_in(&app, "acme", "v@acme.example.jp").await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert!(pending["enrolment"]["otpauth_uri"].as_str().unwrap().contains("v%40acme.example.jp"));
    // The last factor cannot be removed while the rule requires one.
    let admin = done["token"].as_str().unwrap();
    let (_, mine) = app.get("/api/v1/me/second-factors", admin).await;
    let id = mine["factors"][0]["id"].as_str().unwrap();
    let (s, body) = app.delete(&format!("/api/v1/me/second-factors/{id}"), admin).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    set_rule(&app, admin, "optional").await;
    assert_eq!(app.delete(&format!("/api/v1/me/second-factors/{id}"), admin).await.0, StatusCode::NO_CONTENT);
    assert_eq!(sign_in(&app, "acme", &t.admin_email).await.0, StatusCode::CREATED, "no factor, none required");
    assert_eq!(audit_ops(&app, admin, "mfa.remove").await.len(), 1);
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_6_bad_codes_and_expired_challenges_are_clear_4xx_and_wrong_codes_lock_the_account() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (secret, _) = enrol(&app, &t.admin_token).await;
    let (_, pending) = sign_in(&app, "acme", &t.admin_email).await;
    // Codes of the wrong shape: 422, nothing counted, the challenge still good.
    for bad in ["12345", "1234567", "", "abcd-efgh", "１２３４５６"] {
        let (s, body) = second(&app, &pending["challenge"], bad).await;
        assert_eq!(
            (s, body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("code")),
            "{bad}: {body}"
        );
    }
    let (s, body) = second(&app, &json!("not-a-challenge"), "123456").await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("challenge_unknown")));
    assert!(audit_ops(&app, &t.admin_token, "mfa.failed").await.is_empty());
    // Five minutes later the challenge has expired: 401, and the code is not spent.
    app.clock.advance(SignedDuration::from_secs(5 * 60 + 1));
    let code = totp_now(&app, &secret);
    let (s, body) = second(&app, &pending["challenge"], &code).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("challenge_expired")), "{body}");
    let (_, fresh) = sign_in(&app, "acme", &t.admin_email).await;
    assert_eq!(second(&app, &fresh["challenge"], &code).await.0, StatusCode::CREATED, "the code was not spent");

    // Wrong codes count toward the lockout like wrong passwords (threshold 3 here).
    let (_, mut settings) = app.get("/api/v1/settings/security", &t.admin_token).await;
    settings.as_object_mut().unwrap().remove("against_nist");
    settings["lockout"]["threshold"] = 3.into();
    assert_eq!(
        app.send("PUT", "/api/v1/settings/security", Some(&t.admin_token), Some(settings)).await.0,
        StatusCode::OK
    );
    let (_, pending) = sign_in(&app, "acme", &t.admin_email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..3 {
        assert_eq!(second(&app, &pending["challenge"], wrong).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(second(&app, &pending["challenge"], wrong).await.1["code"], "challenge_unknown", "ended by the lock");
    assert_eq!(sign_in(&app, "acme", &t.admin_email).await.0, StatusCode::UNAUTHORIZED, "locked");
    let locks = audit_ops(&app, &t.admin_token, "user.lock").await;
    assert_eq!(locks.len(), 1, "{locks:?}");
    assert_eq!(audit_ops(&app, &t.admin_token, "mfa.failed").await.len(), 3);
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_6_the_console_asks_for_the_second_step_and_a_setup_link_user_enrols_first() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    set_rule(&app, &t.admin_token, "everyone").await;
    // A user invited with a setup link sets a password, then must enrol before anything else.
    let (s, _) = app
        .post(
            "/api/v1/users",
            &t.admin_token,
            json!({"email": "new@acme.example.jp", "display_name": "新人", "role": "editor"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mails = app.mail_files(1).await;
    let mail = mails.iter().find(|m| m.to.contains("new@")).expect("a setup mail");
    let link = mail.link(&format!("{}/console/setup/", app.address));
    let token = link.rsplit('/').next().unwrap();
    let (s, _) = app
        .send(
            "POST",
            "/api/v1/password-links",
            None,
            Some(json!({"kind": "setup", "token": token, "new_password": PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    let user = Console::new(&app);
    let page = user
        .post("/console/login", &[("tenant", "acme"), ("email", "new@acme.example.jp"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.location.as_deref(), Some("/console/login/second-factor"));
    // No session before the second step.
    assert_eq!(user.get("/console").await.location.as_deref(), Some("/console/login"));
    let form = user.get("/console/login/second-factor").await;
    assert!(form.body.contains("<svg"), "the QR code is drawn by the server");
    // A code of the wrong shape is a clear message, and changes nothing.
    let bad = user.post("/console/login/second-factor", &[("code", "12")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("6-digit"), "{}", bad.body);
    assert_eq!(totp_secret_of(&bad.body), totp_secret_of(&form.body), "the same secret is still offered");
    let (next, secret) = user.second_step(&app, "/console/login/second-factor", None).await;
    assert_eq!(next, "/console");
    assert_eq!(user.get("/console").await.status, StatusCode::OK);

    // The next sign-in asks for a code, on another node too; an expired one sends back to sign-in.
    let node = app.another_node().await;
    let again = Console::new(&node);
    let page = again
        .post("/console/login", &[("tenant", "acme"), ("email", "new@acme.example.jp"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.location.as_deref(), Some("/console/login/second-factor"));
    app.clock.advance(SignedDuration::from_secs(6 * 60));
    let code = totp_now(&app, &secret);
    let expired = again.post("/console/login/second-factor", &[("code", &code)]).await;
    assert_eq!(expired.location.as_deref(), Some("/console/login?again=1"));
    let page = again
        .post("/console/login", &[("tenant", "acme"), ("email", "new@acme.example.jp"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.location.as_deref(), Some("/console/login/second-factor"));
    let (next, _) = again.second_step(&app, "/console/login/second-factor", Some(&secret)).await;
    assert_eq!(next, "/console");
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_6_an_administrator_resets_a_users_factors_audited_and_told_by_mail() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (id, token) = app.add_user(&t, "u@acme.example.jp", "利用者", "editor").await;
    enrol(&app, &token).await;
    assert_eq!(sign_in(&app, "acme", "u@acme.example.jp").await.0, StatusCode::ACCEPTED);
    // Only holders of users.manage may reset.
    assert_eq!(app.delete(&format!("/api/v1/users/{id}/second-factors"), &token).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        app.delete(&format!("/api/v1/users/{id}/second-factors"), &t.admin_token).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(sign_in(&app, "acme", "u@acme.example.jp").await.0, StatusCode::CREATED, "no factor left");
    let resets = audit_ops(&app, &t.admin_token, "mfa.reset").await;
    assert_eq!(resets.len(), 1);
    assert_eq!(resets[0]["target"], "user:u@acme.example.jp");
    let mails = app.mail_files(1).await;
    let mail = mails.iter().find(|m| m.to.contains("u@acme")).expect("the user is told");
    assert!(mail.subject.contains("二要素認証がリセットされました"), "{}", mail.subject);
    app.verify_audit().await;
}
