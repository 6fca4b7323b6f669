//! Passkeys and security keys (IAM-6) through the API, with webauthn-rs's software
//! authenticator (a soft passkey, verifying the user) standing in for a device: registration in
//! two calls, finished on another node; sign-in's second step with a passkey, on another node
//! too, and not twice with one answer; bad answers (an expired registration, another challenge's
//! answer, a foreign passkey, malformed JSON) refused with clear problems and nothing changed;
//! removal, and an administrator's reset removing passkeys too.

use crate::helpers::*;
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

/// An application whose public URL is `http://localhost:PORT` (a relying party must be a domain,
/// and browsers accept plain HTTP only on localhost), listening on that port of 127.0.0.1.
pub(crate) async fn spawn_passkey_app() -> TestApp {
    // The port is chosen first so that the public URL can name it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    spawn_app_with(|s| {
        s.listen = format!("127.0.0.1:{port}").parse().unwrap();
        s.public_url = Some(format!("http://localhost:{port}"));
    })
    .await
}

fn origin(app: &TestApp) -> Url {
    Url::parse(&format!("http://localhost:{}", app.port())).unwrap()
}

/// A soft passkey that verifies its user, as a device with a fingerprint or PIN does.
fn device() -> SoftPasskey {
    SoftPasskey::new(true)
}

/// Starts a registration named `name`; returns its id and options.
async fn offer(app: &TestApp, token: &str, name: &str) -> (String, CreationChallengeResponse) {
    let (s, body) = app.post("/api/v1/me/passkeys", token, json!({"name": name})).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let options = serde_json::from_value(body["options"].clone()).unwrap();
    (body["registration"].as_str().unwrap().to_owned(), options)
}

/// Registers a passkey of `device` for the session's user; returns the answer's body.
pub(crate) async fn register(app: &TestApp, token: &str, device: &mut SoftPasskey, name: &str) -> Value {
    let (id, options) = offer(app, token, name).await;
    let credential = device.do_registration(origin(app), options).unwrap();
    let (s, body) =
        app.post(&format!("/api/v1/me/passkeys/registrations/{id}"), token, json!({"credential": credential})).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    body
}

async fn sign_in(app: &TestApp, slug: &str, email: &str) -> Value {
    let (s, body) = app
        .send("POST", "/api/v1/sessions", None, Some(json!({"tenant": slug, "email": email, "password": PASSWORD})))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    body
}

fn request_options(pending: &Value) -> RequestChallengeResponse {
    serde_json::from_value(pending["passkey"].clone()).expect("passkey options in the 202 answer")
}

async fn second(app: &TestApp, pending: &Value, passkey: Value) -> (StatusCode, Value) {
    let body = json!({"challenge": pending["challenge"], "passkey": passkey});
    app.send("POST", "/api/v1/sessions/second-factor", None, Some(body)).await
}

async fn audit(app: &TestApp, token: &str, operation: &str) -> Vec<Value> {
    let (s, entries) = app.get(&format!("/api/v1/audit?operation={operation}&limit=500"), token).await;
    assert_eq!(s, StatusCode::OK, "{entries}");
    entries.as_array().unwrap().clone()
}

async fn passkeys(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, body) = app.get("/api/v1/me/passkeys", token).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["passkeys"].as_array().unwrap().clone()
}

fn assert_problem(s: StatusCode, body: &Value, status: StatusCode, code: &str) {
    assert_eq!(s, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(!body["detail"].as_str().unwrap_or_default().is_empty(), "{body}");
}

#[tokio::test]
async fn iam_6_a_passkey_registered_over_the_api_is_the_second_step_of_sign_in_on_any_node() {
    let app = spawn_passkey_app().await;
    // Another node behind the same public address, as every node of one deployment is.
    let public_url = app.state.settings.public_url.clone();
    let node = app.another_node_with(|s| s.public_url = public_url).await;
    let t = app.tenant("acme").await;
    let mut laptop = device();

    // Registration started on one node and finished on another: its state is in the database.
    let (id, options) = offer(&app, &t.admin_token, "会社のノートPC").await;
    assert_eq!(options.public_key.rp.id, "localhost");
    let credential = laptop.do_registration(origin(&app), options).unwrap();
    let (s, body) = node
        .post(&format!("/api/v1/me/passkeys/registrations/{id}"), &t.admin_token, json!({"credential": credential}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["passkey"]["kind"], "passkey");
    assert_eq!(body["passkey"]["label"], "会社のノートPC");
    assert_eq!(body["recovery_codes"].as_array().unwrap().len(), 10, "the first factor brings recovery codes");
    // The registration served once.
    let (s, again) = app
        .post(&format!("/api/v1/me/passkeys/registrations/{id}"), &t.admin_token, json!({"credential": credential}))
        .await;
    assert_problem(s, &again, StatusCode::NOT_FOUND, "not_found");
    let listed = passkeys(&app, &t.admin_token).await;
    assert_eq!(listed.len(), 1);
    let (_, all) = app.get("/api/v1/me/second-factors", &t.admin_token).await;
    assert_eq!(all["factors"][0]["kind"], "passkey");

    // The next sign-in asks for the second factor and offers the passkey; another node finishes it.
    let pending = sign_in(&app, "acme", &t.admin_email).await;
    let options = request_options(&pending);
    assert_eq!(options.public_key.allow_credentials.len(), 1);
    let assertion = laptop.do_authentication(origin(&app), options).unwrap();
    let answer = serde_json::to_value(&assertion).unwrap();
    let (s, session) = second(&node, &pending, answer.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{session}");
    let token = session["token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", token).await.0, StatusCode::OK);
    // The same answer cannot finish the sign-in twice.
    let (s, body) = second(&app, &pending, answer).await;
    assert_problem(s, &body, StatusCode::UNAUTHORIZED, "challenge_unknown");
    let used = passkeys(&app, token).await;
    assert!(used[0]["last_used_at"].is_string(), "{used:?}");

    // A code still works beside the passkey (a recovery code here).
    let pending = sign_in(&app, "acme", &t.admin_email).await;
    let code = new_recovery_code(&app, token).await;
    let (s, done) = app
        .send(
            "POST",
            "/api/v1/sessions/second-factor",
            None,
            Some(json!({"challenge": pending["challenge"], "code": code})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{done}");

    // Audited: offered, enrolled, and the sign-in's entry names the passkey.
    let enrols = audit(&app, token, "mfa.enrol").await;
    let details: Vec<&str> = enrols.iter().filter_map(|e| e["detail"].as_str()).collect();
    assert!(details.iter().any(|d| d.contains("offered")), "{details:?}");
    assert!(details.iter().any(|d| d.contains("enrolled") && d.contains("会社のノートPC")), "{details:?}");
    let logins = audit(&app, token, "user.login").await;
    assert!(
        logins.iter().any(|e| e["detail"].as_str().is_some_and(|d| d.contains("passkey \"会社のノートPC\""))),
        "{logins:?}"
    );
    app.verify_audit().await;
}

/// One of ten new recovery codes for the session's user.
async fn new_recovery_code(app: &TestApp, token: &str) -> String {
    let (s, body) = app.post("/api/v1/me/recovery-codes", token, json!(null)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["recovery_codes"][0].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn iam_6_bad_passkey_answers_are_refused_clearly_and_change_nothing() {
    let app = spawn_passkey_app().await;
    let t = app.tenant("acme").await;
    let (_, user_token) = app.add_user(&t, "u@acme.example.jp", "利用者", "editor").await;
    let mut mine = device();
    let mut theirs = device();

    // A name that is empty or too long.
    for name in ["", "   ", &"x".repeat(61)] {
        let (s, body) = app.post("/api/v1/me/passkeys", &t.admin_token, json!({"name": name})).await;
        assert_problem(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    }
    // An expired registration (the injected clock moves past its five minutes).
    let (id, options) = offer(&app, &t.admin_token, "期限切れ").await;
    let credential = mine.do_registration(origin(&app), options).unwrap();
    app.clock.advance(SignedDuration::from_mins(6));
    let path = format!("/api/v1/me/passkeys/registrations/{id}");
    let (s, body) = app.post(&path, &t.admin_token, json!({"credential": credential})).await;
    assert_problem(s, &body, StatusCode::CONFLICT, "registration_expired");
    // Another registration's answer (its challenge differs).
    let (first, first_options) = offer(&app, &t.admin_token, "一つ目").await;
    let (second_id, _) = offer(&app, &t.admin_token, "二つ目").await;
    let wrong = mine.do_registration(origin(&app), first_options).unwrap();
    let (s, body) = app
        .post(&format!("/api/v1/me/passkeys/registrations/{second_id}"), &t.admin_token, json!({"credential": wrong}))
        .await;
    assert_problem(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "passkey_not_accepted");
    // The earlier registration was replaced by the later one.
    let (s, body) = app
        .post(&format!("/api/v1/me/passkeys/registrations/{first}"), &t.admin_token, json!({"credential": wrong}))
        .await;
    assert_problem(s, &body, StatusCode::NOT_FOUND, "not_found");
    // Someone else's registration is not found.
    let (theirs_id, theirs_options) = offer(&app, &user_token, "他人の").await;
    let foreign = theirs.do_registration(origin(&app), theirs_options).unwrap();
    let (s, body) = app
        .post(&format!("/api/v1/me/passkeys/registrations/{theirs_id}"), &t.admin_token, json!({"credential": foreign}))
        .await;
    assert_problem(s, &body, StatusCode::NOT_FOUND, "not_found");
    // Malformed: not JSON, not a credential, an unknown field.
    let response = app
        .client
        .post(format!("{}/api/v1/me/passkeys/registrations/{second_id}", app.address))
        .bearer_auth(&t.admin_token)
        .header("content-type", "application/json")
        .body("{\"credential\":")
        .send()
        .await
        .unwrap();
    let s = response.status();
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert!(s == StatusCode::BAD_REQUEST || s == StatusCode::UNPROCESSABLE_ENTITY, "{s} {body}");
    let (s, body) = app
        .post(
            &format!("/api/v1/me/passkeys/registrations/{second_id}"),
            &t.admin_token,
            json!({"credential": {"id": 1}}),
        )
        .await;
    assert_problem(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert!(passkeys(&app, &t.admin_token).await.is_empty(), "nothing was registered");
    assert_eq!(app.get("/api/v1/me/second-factors", &t.admin_token).await.1["recovery_codes_left"], 0);
    // Refused registrations are audited as failures.
    let enrols = audit(&app, &t.admin_token, "mfa.enrol").await;
    assert!(enrols.iter().any(|e| e["outcome"] == "failure"), "{enrols:?}");

    // Both register a passkey of their own.
    register(&app, &t.admin_token, &mut mine, "管理者の鍵").await;
    register(&app, &user_token, &mut theirs, "利用者の鍵").await;

    // A foreign passkey: the other user's device answers the administrator's challenge.
    let pending = sign_in(&app, "acme", &t.admin_email).await;
    let their_pending = sign_in(&app, "acme", "u@acme.example.jp").await;
    let mut options = request_options(&pending);
    options.public_key.allow_credentials = request_options(&their_pending).public_key.allow_credentials;
    let foreign = theirs.do_authentication(origin(&app), options).unwrap();
    let (s, body) = second(&app, &pending, serde_json::to_value(&foreign).unwrap()).await;
    assert_problem(s, &body, StatusCode::UNAUTHORIZED, "passkey_refused");
    // An answer to another challenge (the user's own device, the user's own later sign-in).
    let stale = sign_in(&app, "acme", &t.admin_email).await;
    let fresh = sign_in(&app, "acme", &t.admin_email).await;
    let answer = mine.do_authentication(origin(&app), request_options(&stale)).unwrap();
    let (s, body) = second(&app, &fresh, serde_json::to_value(&answer).unwrap()).await;
    assert_problem(s, &body, StatusCode::UNAUTHORIZED, "passkey_refused");
    // Not a credential: a 422 that counts nothing.
    let (s, body) = second(&app, &fresh, json!({"id": "x"})).await;
    assert_problem(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    let (s, body) = app
        .send(
            "POST",
            "/api/v1/sessions/second-factor",
            None,
            Some(json!({"challenge": fresh["challenge"], "code": "123456", "passkey": {}})),
        )
        .await;
    assert_problem(s, &body, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    // An expired challenge.
    let late = sign_in(&app, "acme", &t.admin_email).await;
    let answer = mine.do_authentication(origin(&app), request_options(&late)).unwrap();
    app.clock.advance(SignedDuration::from_mins(6));
    let (s, body) = second(&app, &late, serde_json::to_value(&answer).unwrap()).await;
    assert_problem(s, &body, StatusCode::UNAUTHORIZED, "challenge_expired");
    // Refusals were audited as failed second factors, and nothing else changed.
    let failed = audit(&app, &t.admin_token, "mfa.failed").await;
    assert!(failed.len() >= 2, "{failed:?}");
    assert!(failed.iter().any(|e| e["detail"].as_str().is_some_and(|d| d.contains("passkey"))), "{failed:?}");
    assert_eq!(passkeys(&app, &t.admin_token).await.len(), 1);
    assert_eq!(passkeys(&app, &user_token).await.len(), 1);

    // An API key has no passkeys.
    let (s, key) = app.post("/api/v1/api-keys", &t.admin_token, json!({"name": "bot", "role": "editor"})).await;
    assert_eq!(s, StatusCode::CREATED, "{key}");
    let (s, body) = app.post("/api/v1/me/passkeys", key["token"].as_str().unwrap(), json!({"name": "鍵"})).await;
    assert_problem(s, &body, StatusCode::BAD_REQUEST, "bad_request");
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_6_passkeys_need_a_public_url_naming_a_domain() {
    // The tests' default application is reached at 127.0.0.1: an IP address is no relying party.
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, body) = app.post("/api/v1/me/passkeys", &t.admin_token, json!({"name": "鍵"})).await;
    assert_problem(s, &body, StatusCode::CONFLICT, "passkeys_unavailable");
    assert!(body["detail"].as_str().unwrap().contains("public_url"), "{body}");
}

#[tokio::test]
async fn iam_6_passkeys_are_removed_by_their_owner_and_by_an_administrators_reset_told_by_mail() {
    let app = spawn_passkey_app().await;
    let t = app.tenant("acme").await;
    let (user_id, token) = app.add_user(&t, "u@acme.example.jp", "利用者", "editor").await;
    let mut phone = device();
    let mut key = device();
    let first = register(&app, &token, &mut phone, "スマートフォン").await;
    register(&app, &token, &mut key, "セキュリティキー").await;
    assert_eq!(passkeys(&app, &token).await.len(), 2);

    // The owner removes one; another user's or an unknown id is not found.
    let id = first["passkey"]["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/api/v1/me/passkeys/{id}"), &t.admin_token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&format!("/api/v1/me/passkeys/{id}"), &token).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&format!("/api/v1/me/passkeys/{id}"), &token).await.0, StatusCode::NOT_FOUND);
    let left = passkeys(&app, &token).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["label"], "セキュリティキー");
    // Only the one left is offered at sign-in, and it signs in.
    let pending = sign_in(&app, "acme", "u@acme.example.jp").await;
    let options = request_options(&pending);
    assert_eq!(options.public_key.allow_credentials.len(), 1);
    let answer = key.do_authentication(origin(&app), options).unwrap();
    assert_eq!(second(&app, &pending, serde_json::to_value(&answer).unwrap()).await.0, StatusCode::CREATED);
    let removals = audit(&app, &t.admin_token, "mfa.remove").await;
    assert!(
        removals.iter().any(|e| e["detail"].as_str().is_some_and(|d| d.contains("スマートフォン"))),
        "{removals:?}"
    );

    // An administrator's reset removes the passkeys; the user is told by mail and signs in with
    // the password alone (the tenant does not require a factor).
    let (s, _) = app.delete(&format!("/api/v1/users/{user_id}/second-factors"), &t.admin_token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(passkeys(&app, &token).await.is_empty());
    let resets = audit(&app, &t.admin_token, "mfa.reset").await;
    assert_eq!(resets.len(), 1);
    assert!(resets[0]["detail"].as_str().unwrap().starts_with("1 second factor"), "{resets:?}");
    let mails = app.mail_files(1).await;
    assert!(mails.iter().any(|m| m.to.contains("u@acme.example.jp")), "the user is told by mail");
    let (s, body) = app
        .send(
            "POST",
            "/api/v1/sessions",
            None,
            Some(json!({"tenant": "acme", "email": "u@acme.example.jp", "password": PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // A new registration after the reset works.
    register(&app, &token, &mut phone, "新しいスマートフォン").await;
    app.verify_audit().await;
}
