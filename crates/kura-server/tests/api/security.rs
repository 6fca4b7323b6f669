//! Account security through the API: the tenant's security settings and their bounds, lockout
//! (including the race across two nodes), throttling by address, password rules and changes,
//! session rules, forced logout, and the upgrade of imported hashes (IAM-4, IAM-5, IAM-8, IAM-9).

use crate::helpers::*;
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Changes the tenant's security settings through the API and returns the answer.
async fn set_policy(app: &TestApp, token: &str, change: impl FnOnce(&mut Value)) -> (StatusCode, Value) {
    let (s, mut settings) = app.get("/api/v1/settings/security", token).await;
    assert_eq!(s, StatusCode::OK, "{settings}");
    settings.as_object_mut().unwrap().remove("against_nist");
    change(&mut settings);
    app.send("PUT", "/api/v1/settings/security", Some(token), Some(settings)).await
}

async fn policy(app: &TestApp, token: &str, change: impl FnOnce(&mut Value)) {
    let (s, body) = set_policy(app, token, change).await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

async fn add_user(app: &TestApp, t: &TenantFixture, email: &str, role: &str) -> String {
    let (s, body) = app
        .post(
            "/api/v1/users",
            &t.admin_token,
            json!({"email": email, "display_name": "テスト", "role": role, "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn attempt(app: &TestApp, slug: &str, email: &str, password: &str) -> (StatusCode, Value) {
    app.send("POST", "/api/v1/sessions", None, Some(json!({"tenant": slug, "email": email, "password": password})))
        .await
}

async fn audit_ops(app: &TestApp, token: &str, operation: &str) -> Vec<Value> {
    let (s, entries) = app.get(&format!("/api/v1/audit?operation={operation}&limit=500"), token).await;
    assert_eq!(s, StatusCode::OK, "{entries}");
    entries.as_array().unwrap().clone()
}

#[tokio::test]
async fn iam_4_iam_5_iam_9_security_settings_accepted_at_bounds_and_refused_outside_changing_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    add_user(&app, &t, "e@acme.example.jp", "editor").await;
    let (s, defaults) = app.get("/api/v1/settings/security", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(defaults["revision"], 0);
    assert_eq!(defaults["password"]["min_length"], 8, "NIST defaults");
    assert_eq!(defaults["password"]["blocklist"], true);
    assert_eq!(defaults["password"]["expiry_days"], Value::Null);
    assert_eq!(defaults["sessions"]["absolute_minutes"], 180);
    assert_eq!(defaults["against_nist"], json!([]));

    // (path, lowest, highest)
    let knobs: [(&str, &str, u64, u64); 10] = [
        ("password", "min_length", 8, 128),
        ("password", "max_length", 8, 128),
        ("password", "expiry_days", 30, 365),
        ("password", "history", 0, 24),
        ("lockout", "threshold", 3, 100),
        ("lockout", "lock_minutes", 1, 10_080),
        ("lockout", "throttle_failures", 5, 1_000),
        ("lockout", "throttle_window_minutes", 1, 1_440),
        ("sessions", "absolute_minutes", 5, 10_080),
        ("sessions", "idle_minutes", 5, 10_080),
    ];
    let mut revision = 0;
    for (section, knob, low, high) in knobs {
        for ok in [low, high] {
            let (s, body) = set_policy(&app, &t.admin_token, |p| {
                p[section][knob] = ok.into();
                if knob == "min_length" {
                    p["password"]["max_length"] = 128.into();
                }
                if knob == "max_length" {
                    p["password"]["min_length"] = ok.min(8).into();
                }
                if knob == "absolute_minutes" {
                    p["sessions"]["idle_minutes"] = 5.into();
                }
            })
            .await;
            assert_eq!(s, StatusCode::OK, "{section}.{knob} = {ok}: {body}");
            assert_eq!(body[section][knob], ok);
            revision += 1;
            assert_eq!(body["revision"], revision);
        }
        let (_, before) = app.get("/api/v1/settings/security", &t.admin_token).await;
        for bad in [low.checked_sub(1), Some(high + 1)].into_iter().flatten() {
            let (s, body) = set_policy(&app, &t.admin_token, |p| p[section][knob] = bad.into()).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{section}.{knob} = {bad}: {body}");
            assert_eq!(body["code"], "validation");
            assert_eq!(body["errors"][0]["field"], format!("{section}.{knob}"));
            let (_, after) = app.get("/api/v1/settings/security", &t.admin_token).await;
            assert_eq!(after, before, "a refused change changes nothing");
        }
    }
    // Malformed bodies are 4xx problems too, never a 5xx.
    for bad in [
        json!({"revision": revision}),
        json!({"revision": "x", "password": {}, "lockout": {}, "sessions": {}}),
        json!([]),
    ] {
        let (s, body) = app.send("PUT", "/api/v1/settings/security", Some(&t.admin_token), Some(bad)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    }
    let (s, _) = set_policy(&app, &t.admin_token, |p| p["sessions"]["concurrent"] = "sometimes".into()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = set_policy(&app, &t.admin_token, |p| p["password"]["min_lenght"] = 9.into()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "unknown knobs are refused");

    // A save from a stale revision is refused.
    let (s, body) = set_policy(&app, &t.admin_token, |p| {
        p["revision"] = 1.into();
        p["password"]["history"] = 3.into();
    })
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");

    // NIST deviations are named; the change is audited old → new.
    let (s, body) = set_policy(&app, &t.admin_token, |p| {
        p["password"]["require_digit"] = true.into();
        p["password"]["expiry_days"] = 90.into();
    })
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["against_nist"], json!(["password.composition", "password.expiry_days"]));
    let entries = audit_ops(&app, &t.admin_token, "settings.security_update").await;
    let last = entries[0]["detail"].as_str().unwrap();
    assert!(last.contains("password.require_digit: false → true"), "{last}");
    assert!(last.contains("password.expiry_days: 365 → 90"), "{last}");

    // Only settings.manage may read or change them.
    let token = app.login("acme", "e@acme.example.jp", PASSWORD).await;
    assert_eq!(app.get("/api/v1/settings/security", &token).await.0, StatusCode::FORBIDDEN);
    app.verify_audit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_5_lockout_race_locks_at_exactly_n_across_two_nodes() {
    let app = spawn_app().await;
    let other = app.another_node().await;
    let t = app.tenant("acme").await;
    let id = add_user(&app, &t, "target@acme.example.jp", "viewer").await;
    policy(&app, &t.admin_token, |p| {
        p["lockout"]["threshold"] = 5.into();
        p["lockout"]["lock_minutes"] = Value::Null;
    })
    .await;
    // 24 wrong passwords at once, half through each node.
    let attempts: Vec<_> = (0..24)
        .map(|i| {
            let node = if i % 2 == 0 { &app } else { &other };
            let (client, url) = (node.client.clone(), format!("{}/api/v1/sessions", node.address));
            tokio::spawn(async move {
                let body = json!({"tenant": "acme", "email": "target@acme.example.jp", "password": "wrong-guess"});
                let resp = client.post(url).json(&body).send().await.unwrap();
                (resp.status(), resp.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut results = Vec::new();
    for a in attempts {
        results.push(a.await.unwrap());
    }
    let first = &results[0].1;
    for (s, body) in &results {
        assert_eq!(*s, StatusCode::UNAUTHORIZED);
        assert_eq!(body, first, "every refusal looks the same");
    }
    let (_, user) = app.get(&format!("/api/v1/users/{id}"), &t.admin_token).await;
    assert_eq!(user["failed_logins"], 5, "exactly N counted, never N+k: {user}");
    assert!(user["locked_at"].is_string() && user["locked_until"].is_null(), "{user}");
    assert_eq!(audit_ops(&app, &t.admin_token, "user.lock").await.len(), 1, "one lock event");
    assert_eq!(audit_ops(&app, &t.admin_token, "user.login_failed").await.len(), 24);

    // Locked: the right password answers exactly like a wrong one, on both nodes.
    for node in [&app, &other] {
        let (s, body) = attempt(node, "acme", "target@acme.example.jp", PASSWORD).await;
        assert_eq!((s, &body), (StatusCode::UNAUTHORIZED, first));
    }
    let (s, unlocked) = app.post(&format!("/api/v1/users/{id}/unlock"), &t.admin_token, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{unlocked}");
    assert_eq!(unlocked["failed_logins"], 0);
    assert_eq!(audit_ops(&app, &t.admin_token, "user.unlock").await.len(), 1);
    assert_eq!(attempt(&other, "acme", "target@acme.example.jp", PASSWORD).await.0, StatusCode::CREATED);
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_5_locked_unknown_and_wrong_answer_alike_and_a_timed_lock_ends_by_itself() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    add_user(&app, &t, "u@acme.example.jp", "viewer").await;
    policy(&app, &t.admin_token, |p| {
        p["lockout"]["threshold"] = 3.into();
        p["lockout"]["lock_minutes"] = 15.into();
    })
    .await;
    let (s_unknown, unknown) = attempt(&app, "acme", "nobody@acme.example.jp", "whatever-it-is").await;
    let (s_wrong, wrong) = attempt(&app, "acme", "u@acme.example.jp", "wrong-1").await;
    attempt(&app, "acme", "u@acme.example.jp", "wrong-2").await;
    attempt(&app, "acme", "u@acme.example.jp", "wrong-3").await;
    let (s_locked, locked) = attempt(&app, "acme", "u@acme.example.jp", PASSWORD).await;
    assert_eq!(
        (s_unknown, s_wrong, s_locked),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(unknown, wrong);
    assert_eq!(locked, wrong);
    let lock = &audit_ops(&app, &t.admin_token, "user.lock").await[0];
    assert!(lock["detail"].as_str().unwrap().contains("3 consecutive failed sign-ins; locked until"), "{lock}");
    app.clock.advance(SignedDuration::from_mins(14));
    assert_eq!(attempt(&app, "acme", "u@acme.example.jp", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    app.clock.advance(SignedDuration::from_mins(2));
    assert_eq!(attempt(&app, "acme", "u@acme.example.jp", PASSWORD).await.0, StatusCode::CREATED);
    // A success starts the count again: two failures do not lock.
    attempt(&app, "acme", "u@acme.example.jp", "wrong-4").await;
    attempt(&app, "acme", "u@acme.example.jp", "wrong-5").await;
    assert_eq!(attempt(&app, "acme", "u@acme.example.jp", PASSWORD).await.0, StatusCode::CREATED);
    // Off: no lock however many failures.
    policy(&app, &t.admin_token, |p| p["lockout"]["enabled"] = false.into()).await;
    for i in 0..6 {
        attempt(&app, "acme", "u@acme.example.jp", &format!("wrong-{i}")).await;
    }
    assert_eq!(attempt(&app, "acme", "u@acme.example.jp", PASSWORD).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn iam_5_an_address_spraying_many_accounts_is_throttled_and_others_are_not() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    add_user(&app, &t, "a@acme.example.jp", "viewer").await;
    add_user(&app, &t, "b@acme.example.jp", "viewer").await;
    policy(&app, &t.admin_token, |p| {
        p["lockout"]["throttle_failures"] = 5.into();
        p["lockout"]["throttle_window_minutes"] = 10.into();
    })
    .await;
    // One guess each at several accounts, known and unknown: no account reaches its lock.
    for who in ["a", "b", "c", "d", "e"] {
        attempt(&app, "acme", &format!("{who}@acme.example.jp"), "Summer2026!").await;
    }
    let (s, body) = attempt(&app, "acme", "a@acme.example.jp", PASSWORD).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the address is refused, even with a right password: {body}");
    let throttled = audit_ops(&app, &t.admin_token, "user.login_throttled").await;
    assert_eq!(throttled.len(), 1, "one entry per window");
    assert_eq!(throttled[0]["target"], "address:127.0.0.1");
    // Another address is not affected.
    let elsewhere =
        reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let resp = elsewhere
        .post(format!("{}/api/v1/sessions", app.address))
        .json(&json!({"tenant": "acme", "email": "a@acme.example.jp", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    app.clock.advance(SignedDuration::from_mins(11));
    assert_eq!(attempt(&app, "acme", "a@acme.example.jp", PASSWORD).await.0, StatusCode::CREATED, "the window ended");
}

#[tokio::test]
async fn iam_4_password_rules_are_enforced_and_each_broken_rule_named() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    policy(&app, &t.admin_token, |p| {
        p["password"]["min_length"] = 12.into();
        p["password"]["require_digit"] = true.into();
        p["password"]["history"] = 2.into();
    })
    .await;
    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let put = |body: Value| app.send("PUT", "/api/v1/me/password", Some(&t.admin_token), Some(body));
    let (s, body) = put(change(PASSWORD, "short")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let rules: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["too_short", "no_digit", "common"], "{body}");
    let (s, body) = put(change(PASSWORD, "acme-harbour-lantern-7")).await;
    assert_eq!((s, body["errors"][0]["rule"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("personal")));
    let (s, body) = put(change(PASSWORD, "password1234")).await;
    assert_eq!((s, body["errors"][0]["rule"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("common")));
    let (s, body) = put(change("not-my-password", "velvet-orchid-lantern-7")).await;
    assert_eq!((s, body["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("current_password")));
    let (s, body) = put(change(PASSWORD, "velvet-orchid-lantern-7")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = put(change("velvet-orchid-lantern-7", "harbour-quiet-meadow-8")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // The current and the last two are remembered, and refused with their rule.
    let (s, body) = put(change("harbour-quiet-meadow-8", "velvet-orchid-lantern-7")).await;
    assert_eq!((s, body["errors"][0]["rule"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reused")));
    let (s, body) = put(change("harbour-quiet-meadow-8", "harbour-quiet-meadow-8")).await;
    assert_eq!((s, body["errors"][0]["rule"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reused")));
    assert!(app.login("acme", &t.admin_email, "harbour-quiet-meadow-8").await.len() > 40);
    let changes = audit_ops(&app, &t.admin_token, "password.change").await;
    assert_eq!(changes.iter().filter(|e| e["outcome"] == "success").count(), 2);
    assert!(changes.iter().all(|e| !e.to_string().contains("velvet")), "no secret in the log");
}

#[tokio::test]
async fn iam_9_a_password_change_needs_the_current_one_and_ends_the_other_sessions() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let phone = app.login("acme", &t.admin_email, PASSWORD).await;
    let (s, body) = app
        .send(
            "PUT",
            "/api/v1/me/password",
            Some(&t.admin_token),
            Some(json!({"current_password": PASSWORD, "new_password": "river-stone-lantern-9"})),
        )
        .await;
    assert_eq!((s, &body["ended"]), (StatusCode::OK, &json!(1)), "{body}");
    assert_eq!(app.get("/api/v1/me", &phone).await.0, StatusCode::UNAUTHORIZED, "the other session ended");
    assert_eq!(app.get("/api/v1/me", &t.admin_token).await.0, StatusCode::OK, "this one stays");
    // An API key has no password to change.
    let (_, key) = app.post("/api/v1/api-keys", &t.admin_token, json!({"name": "k", "role": "viewer"})).await;
    let key = key["token"].as_str().unwrap();
    let (s, _) = app
        .send("PUT", "/api/v1/me/password", Some(key), Some(json!({"current_password": "x", "new_password": "y"})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn iam_9_an_administrators_reset_ends_the_users_sessions_and_forces_a_change() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    policy(&app, &t.admin_token, |p| p["password"]["change_after_admin_set"] = true.into()).await;
    let id = add_user(&app, &t, "u@acme.example.jp", "viewer").await;
    let (_, user) = app.get(&format!("/api/v1/users/{id}"), &t.admin_token).await;
    assert_eq!(user["must_change_password"], true, "an initial password set by an administrator");
    let token = app.login("acme", "u@acme.example.jp", PASSWORD).await;
    let (s, body) = app.get("/api/v1/collections", &token).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("password_change_required")));
    let (_, me) = app.get("/api/v1/me", &token).await;
    assert_eq!(me["password_change_required"], true);
    let own = json!({"current_password": PASSWORD, "new_password": "meadow-river-lantern-4"});
    assert_eq!(app.send("PUT", "/api/v1/me/password", Some(&token), Some(own)).await.0, StatusCode::OK);
    assert_eq!(app.get("/api/v1/collections", &token).await.0, StatusCode::OK);

    let (s, body) =
        app.patch(&format!("/api/v1/users/{id}"), &t.admin_token, json!({"password": "temporary-orchid-6"})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(app.get("/api/v1/me", &token).await.0, StatusCode::UNAUTHORIZED, "the reset ended the session");
    let (s, created) = attempt(&app, "acme", "u@acme.example.jp", "temporary-orchid-6").await;
    assert_eq!((s, &created["password_change_required"]), (StatusCode::CREATED, &json!(true)));
    // The policy's rules apply to an administrator's choice too.
    let (s, body) = app.patch(&format!("/api/v1/users/{id}"), &t.admin_token, json!({"password": "12345678"})).await;
    assert_eq!((s, body["errors"][0]["rule"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("common")));
}

#[tokio::test]
async fn ten_1_a_one_time_password_from_tenant_creation_must_be_changed_first() {
    let app = spawn_app().await;
    let input = kura_server::service::tenants::NewTenant {
        slug: "himawari".into(),
        display_name: "ひまわり保育園".into(),
        admin_email: "encho@himawari.example.jp".into(),
        admin_name: "園長".into(),
        ..Default::default()
    };
    let (_, _, generated) =
        kura_server::service::tenants::create_tenant(&app.state, cli_actor(), input, None).await.unwrap();
    let one_time = generated.unwrap();
    let (s, created) = attempt(&app, "himawari", "encho@himawari.example.jp", &one_time).await;
    assert_eq!((s, &created["password_change_required"]), (StatusCode::CREATED, &json!(true)));
    let token = created["token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/users", token).await.0, StatusCode::FORBIDDEN);
    let change = json!({"current_password": one_time, "new_password": "sunflower-morning-garden"});
    assert_eq!(app.send("PUT", "/api/v1/me/password", Some(token), Some(change)).await.0, StatusCode::OK);
    assert_eq!(app.get("/api/v1/users", token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn iam_9_concurrent_sign_ins_are_allowed_replaced_or_refused_and_admins_force_logout() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let id = add_user(&app, &t, "u@acme.example.jp", "viewer").await;
    let first = app.login("acme", "u@acme.example.jp", PASSWORD).await;
    let second = app.login("acme", "u@acme.example.jp", PASSWORD).await;
    assert_eq!(app.get("/api/v1/me", &first).await.0, StatusCode::OK, "allowed by default");

    policy(&app, &t.admin_token, |p| p["sessions"]["concurrent"] = "replace".into()).await;
    let third = app.login("acme", "u@acme.example.jp", PASSWORD).await;
    assert_eq!(app.get("/api/v1/me", &first).await.0, StatusCode::UNAUTHORIZED, "replaced");
    assert_eq!(app.get("/api/v1/me", &second).await.0, StatusCode::UNAUTHORIZED, "replaced");
    assert_eq!(app.get("/api/v1/me", &third).await.0, StatusCode::OK);

    policy(&app, &t.admin_token, |p| {
        p["sessions"]["concurrent"] = "refuse".into();
        p["sessions"]["idle_minutes"] = 30.into();
    })
    .await;
    let (s, body) = attempt(&app, "acme", "u@acme.example.jp", PASSWORD).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::CONFLICT, Some("already_signed_in")));
    // A wrong password still gets the ordinary refusal: the conflict is said only to the owner.
    assert_eq!(attempt(&app, "acme", "u@acme.example.jp", "not-the-password").await.0, StatusCode::UNAUTHORIZED);
    // Once the live session idles out, a new sign-in is allowed.
    app.clock.advance(SignedDuration::from_mins(31));
    let fourth = app.login("acme", "u@acme.example.jp", PASSWORD).await;

    // The administrator's forced logout ends every session at once.
    let admin = app.login("acme", &t.admin_email, PASSWORD).await;
    let (s, body) = app.delete(&format!("/api/v1/users/{id}/sessions"), &admin).await;
    // The idled-out session is still stored until its absolute end: both go.
    assert_eq!((s, &body["ended"]), (StatusCode::OK, &json!(2)), "{body}");
    assert_eq!(app.get("/api/v1/me", &fourth).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(audit_ops(&app, &admin, "session.revoke_all").await.len(), 1);
    let _ = app.login("acme", "u@acme.example.jp", PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_9_refuse_policy_race_leaves_one_session_across_two_nodes() {
    let app = spawn_app().await;
    let other = app.another_node().await;
    let t = app.tenant("acme").await;
    let id = add_user(&app, &t, "u@acme.example.jp", "viewer").await;
    policy(&app, &t.admin_token, |p| p["sessions"]["concurrent"] = "refuse".into()).await;
    // 16 right passwords at once, half through each node (two stores on one database): the check
    // and the insert are one decision, so exactly one sign-in wins.
    let attempts: Vec<_> = (0..16)
        .map(|i| {
            let node = if i % 2 == 0 { &app } else { &other };
            let (client, url) = (node.client.clone(), format!("{}/api/v1/sessions", node.address));
            tokio::spawn(async move {
                let body = json!({"tenant": "acme", "email": "u@acme.example.jp", "password": PASSWORD});
                let resp = client.post(url).json(&body).send().await.unwrap();
                (resp.status(), resp.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut created = 0;
    for a in attempts {
        let (s, body) = a.await.unwrap();
        match s {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => assert_eq!(body["code"], "already_signed_in", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 1, "one session under the refuse policy");
    let (s, body) = app.delete(&format!("/api/v1/users/{id}/sessions"), &t.admin_token).await;
    assert_eq!((s, &body["ended"]), (StatusCode::OK, &json!(1)), "exactly one session stored: {body}");
    let refused = audit_ops(&app, &t.admin_token, "user.login_failed").await;
    assert_eq!(refused.len(), 15, "every refused sign-in audited");
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_9_users_see_and_end_their_own_sessions_and_policy_timeouts_apply_at_once() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let other = app.login("acme", &t.admin_email, PASSWORD).await;
    let (s, list) = app.get("/api/v1/me/sessions", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|x| x["current"] == true).count(), 1);
    assert!(list.iter().all(|x| x["source_ip"] == "127.0.0.1"));
    let id = list.iter().find(|x| x["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    assert!(!other.contains(&id), "the id is no credential");
    assert_eq!(app.delete(&format!("/api/v1/me/sessions/{id}"), &t.admin_token).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/me", &other).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.delete(&format!("/api/v1/me/sessions/{id}"), &t.admin_token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.delete("/api/v1/me/sessions/not-a-handle", &t.admin_token).await.0, StatusCode::NOT_FOUND);

    // Shorter timeouts apply to sessions already open.
    let token = app.login("acme", &t.admin_email, PASSWORD).await;
    app.clock.advance(SignedDuration::from_mins(20));
    assert_eq!(app.get("/api/v1/me", &token).await.0, StatusCode::OK);
    policy(&app, &token, |p| p["sessions"]["idle_minutes"] = 10.into()).await;
    app.clock.advance(SignedDuration::from_mins(11));
    assert_eq!(app.get("/api/v1/me", &token).await.0, StatusCode::UNAUTHORIZED, "idle 11 > 10 minutes");
    let token = app.login("acme", &t.admin_email, PASSWORD).await;
    app.clock.advance(SignedDuration::from_mins(9));
    policy(&app, &token, |p| {
        p["sessions"]["absolute_minutes"] = 15.into();
        p["sessions"]["idle_minutes"] = 15.into();
    })
    .await;
    app.clock.advance(SignedDuration::from_mins(7));
    assert_eq!(app.get("/api/v1/me", &token).await.0, StatusCode::UNAUTHORIZED, "16 minutes > the new 15");
}

#[tokio::test]
async fn iam_8_an_imported_bcrypt_hash_is_replaced_by_argon2id_at_the_next_sign_in() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let id = add_user(&app, &t, "legacy@acme.example.jp", "viewer").await;
    let tenant = app.state.store.tenant_by_slug(&kura_domain::Slug::parse("acme").unwrap()).await.unwrap().unwrap();
    let user_id: kura_domain::UserId = id.parse().unwrap();
    // As a previous system stored it (PHP's $2y$).
    let bcrypt = format!("$2y${}", &bcrypt::hash("legacy-system-secret", 5).unwrap()[4..]);
    let mut w = app.state.store.begin(kura_domain::AuditScope::Tenant(tenant.id), cli_actor()).await.unwrap();
    w.set_user_password(tenant.id, user_id, &bcrypt).await.unwrap();
    w.commit(kura_domain::AuditRecord::success(kura_domain::Operation::UserUpdate, "user:legacy")).await.unwrap();

    assert_eq!(attempt(&app, "acme", "legacy@acme.example.jp", "wrong").await.0, StatusCode::UNAUTHORIZED);
    let _ = app.login("acme", "legacy@acme.example.jp", "legacy-system-secret").await;
    let stored = app.state.store.password_hash(tenant.id, user_id).await.unwrap().flatten().unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    let rehash = audit_ops(&app, &t.admin_token, "password.rehash").await;
    assert_eq!(rehash.len(), 1);
    let detail = rehash[0]["detail"].as_str().unwrap();
    assert!(detail.starts_with("bcrypt → argon2id"), "{detail}");
    assert!(!rehash[0].to_string().contains("legacy-system-secret") && !rehash[0].to_string().contains("$2y$"));
    // Once is enough: the next sign-in finds nothing to upgrade.
    let _ = app.login("acme", "legacy@acme.example.jp", "legacy-system-secret").await;
    assert_eq!(audit_ops(&app, &t.admin_token, "password.rehash").await.len(), 1);
    // A stored hash edited into something unreadable refuses the sign-in; it does not fail it.
    let mut w = app.state.store.begin(kura_domain::AuditScope::Tenant(tenant.id), cli_actor()).await.unwrap();
    w.set_user_password(tenant.id, user_id, "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ").await.unwrap();
    w.commit(kura_domain::AuditRecord::success(kura_domain::Operation::UserUpdate, "user:legacy")).await.unwrap();
    let (s, body) = attempt(&app, "acme", "legacy@acme.example.jp", "legacy-system-secret").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn iam_1_iam_8_a_csv_import_is_previewed_row_by_row_then_imported_all_or_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    add_user(&app, &t, "existing@acme.example.jp", "viewer").await;
    let a = bcrypt::hash("old-system-pass-a", 4).unwrap().replacen("$2b$", "$2a$", 1);
    let y = bcrypt::hash("old-system-pass-y", 4).unwrap().replacen("$2b$", "$2y$", 1);
    let good = format!(
        "email,display_name,role,language,password_hash\n\
         kana@acme.example.jp,加奈,editor,ja,{a}\n\
         yuki@acme.example.jp,Yuki,viewer,en,{y}\n\
         new@acme.example.jp,\"Sato, Ken\",viewer,en,\n"
    );
    let bad = format!(
        "{good}\
         not-an-address,X,viewer,ja,\n\
         kana@acme.example.jp,Again,viewer,ja,\n\
         existing@acme.example.jp,Y,viewer,ja,\n\
         z@acme.example.jp,Z,nosuch,ja,\n\
         p@acme.example.jp,P,viewer,fr,plaintext-password\n\
         slow@acme.example.jp,S,viewer,ja,$2b$31${}\n",
        &a[7..]
    );
    let users_before = app.get("/api/v1/users", &t.admin_token).await.1.as_array().unwrap().len();
    let (s, report) = app.post("/api/v1/users/import", &t.admin_token, json!({"csv": bad, "dry_run": true})).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!((report["valid"].as_u64(), report["invalid"].as_u64()), (Some(3), Some(6)), "{report}");
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows[0]["action"], "keep_password_hash");
    assert_eq!(rows[2]["action"], "invite");
    let problem = |line: u64| -> Vec<String> {
        rows.iter().find(|r| r["line"] == line).unwrap()["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("{}: {}", p["column"].as_str().unwrap(), p["problem"].as_str().unwrap()))
            .collect()
    };
    assert_eq!(problem(5), ["email: not an email address"]);
    assert_eq!(problem(6), ["email: this address appears twice in the file"]);
    assert_eq!(problem(7), ["email: a user with this address already exists"]);
    assert_eq!(problem(8), ["role: \"nosuch\" is not a role of this tenant"]);
    assert_eq!(problem(9).len(), 2, "language and a plain password: {:?}", problem(9));
    assert_eq!(problem(10).len(), 1, "a cost that would stall every sign-in: {:?}", problem(10));
    // Without dry_run, a file with problems imports nothing and names each one.
    let (s, body) = app.post("/api/v1/users/import", &t.admin_token, json!({"csv": bad})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "line 5: email");
    assert_eq!(app.get("/api/v1/users", &t.admin_token).await.1.as_array().unwrap().len(), users_before);

    let (s, report) = app.post("/api/v1/users/import", &t.admin_token, json!({"csv": good})).await;
    assert_eq!((s, report["imported"].as_u64()), (StatusCode::OK, Some(3)), "{report}");
    let imports = app.get("/api/v1/audit?operation=user.import", &t.admin_token).await.1;
    assert_eq!(imports.as_array().unwrap().len(), 1, "one entry for the whole import");
    let detail = imports[0]["detail"].as_str().unwrap();
    assert_eq!(detail, "3 user(s): 2 with bcrypt hashes, 0 with Argon2id hashes, 1 invited by mail");
    assert!(!imports.to_string().contains("$2"), "no hash in the log");
    // The imported people sign in with the passwords they had; the hashes are upgraded then.
    let _ = app.login("acme", "kana@acme.example.jp", "old-system-pass-a").await;
    let _ = app.login("acme", "yuki@acme.example.jp", "old-system-pass-y").await;
    assert_eq!(app.get("/api/v1/audit?operation=password.rehash", &t.admin_token).await.1.as_array().unwrap().len(), 2);
    // The invited one gets a setup link, in English.
    let mail = app.mail_files(1).await.into_iter().find(|m| m.to.contains("new@acme")).unwrap();
    assert_eq!(mail.subject, "[Kura] Set up your account at acme 株式会社");
    assert!(mail.body.starts_with("Dear Sato, Ken,"));
    // Malformed files are 4xx problems, never a 5xx.
    for csv in ["", "name,email\nx,y\n", "email,display_name\na@b.jp,x\n", "email,display_name,role\n\"unclosed,x,y\n"]
    {
        let (s, body) = app.post("/api/v1/users/import", &t.admin_token, json!({"csv": csv})).await;
        assert!(s.is_client_error(), "{csv:?}: {s} {body}");
    }
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_4_expiring_passwords_are_warned_14_and_3_days_before_once_each_then_must_be_changed() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, _) = app
        .post(
            "/api/v1/users",
            &t.admin_token,
            json!({"email": "u@acme.example.jp", "display_name": "U", "role": "viewer", "password": PASSWORD, "language": "en"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    policy(&app, &t.admin_token, |p| p["password"]["expiry_days"] = 30.into()).await;
    // Keys do not expire with passwords: the log is read with one at the end.
    let (_, key) = app.post("/api/v1/api-keys", &t.admin_token, json!({"name": "audit", "role": "tenant_admin"})).await;
    let key = key["token"].as_str().unwrap().to_owned();
    let send = || kura_server::service::expiry::send_due_notices(&app.state);
    assert_eq!(send().await.unwrap(), 0, "nothing due yet");
    app.clock.advance(SignedDuration::from_hours(24 * 16 + 1));
    assert_eq!(send().await.unwrap(), 2, "the administrator and the user, 14 days before");
    assert_eq!(send().await.unwrap(), 0, "once per password");
    let mails = app.mail_files(2).await;
    let en = mails.iter().find(|m| m.to.contains("u@acme")).unwrap();
    assert_eq!(en.subject, "[Kura] Your password expires in 14 days");
    let ja = mails.iter().find(|m| m.to.contains("admin@acme")).unwrap();
    assert_eq!(ja.subject, "【Kura】パスワードの有効期限まであと14日です");
    app.clock.advance(SignedDuration::from_hours(24 * 11));
    assert_eq!(send().await.unwrap(), 2, "3 days before");
    assert_eq!(send().await.unwrap(), 0);
    assert!(app.mail_files(4).await.iter().any(|m| m.subject == "[Kura] Your password expires in 3 days"));
    app.clock.advance(SignedDuration::from_hours(24 * 4));
    let (s, created) = attempt(&app, "acme", "u@acme.example.jp", PASSWORD).await;
    assert_eq!((s, &created["password_change_required"]), (StatusCode::CREATED, &json!(true)), "expired");
    let token = created["token"].as_str().unwrap();
    let change = json!({"current_password": PASSWORD, "new_password": "spring-harbour-lantern"});
    assert_eq!(app.send("PUT", "/api/v1/me/password", Some(token), Some(change)).await.0, StatusCode::OK);
    assert_eq!(app.get("/api/v1/collections", token).await.0, StatusCode::OK);
    let (_, entries) = app.get("/api/v1/audit?operation=password.expiry_notice", &key).await;
    assert_eq!(entries.as_array().unwrap().len(), 4);
}
