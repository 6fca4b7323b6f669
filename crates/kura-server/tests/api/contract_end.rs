//! TEN-4 over HTTP: after the contract's last day the tenant is read-only — its people sign in,
//! read and export, and every change is refused with a problem+json or a console page that names
//! the end date — until its data is deleted.

use crate::console_client::Console;
use crate::helpers::*;
use kura_server::service::tenants::{NewTenant, create_tenant};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn ten_4_after_the_contract_end_the_tenant_reads_and_exports_but_changes_nothing() {
    let app = spawn_app().await;
    // The clock is 2026-11-22 09:00 in Tokyo; the contract's last day is 30 November.
    let input = NewTenant {
        slug: "acme".into(),
        display_name: "アクメ株式会社".into(),
        admin_email: "admin@acme.example.jp".into(),
        admin_name: "管理者".into(),
        contract_end: Some("2026-11-30".into()),
        ..NewTenant::default()
    };
    create_tenant(&app.state, cli_actor(), input, Some(PASSWORD.into())).await.unwrap();
    let token = app.login("acme", "admin@acme.example.jp", PASSWORD).await;
    assert_eq!(app.post("/api/v1/collections", &token, customers_spec()).await.0, StatusCode::CREATED);
    let (s, r) = app.post("/api/v1/collections/customers/records", &token, json!({"name": "山田"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let id = r["id"].as_str().unwrap().to_owned();
    let (s, key) = app.post("/api/v1/api-keys", &token, json!({"name": "sync", "role": "tenant_admin"})).await;
    assert_eq!(s, StatusCode::CREATED, "{key}");
    let key = key["token"].as_str().unwrap().to_owned();

    // Eight days before the end, the administrator's console says so.
    let console = Console::new(&app);
    console.login("acme", "admin@acme.example.jp", PASSWORD).await;
    let home = console.get("/console").await;
    assert!(home.body.contains("contract-banner") && home.body.contains("2026-11-30"), "{}", home.body);
    assert!(home.body.contains("あと8日") || home.body.contains("8 days from today"), "{}", home.body);

    // 15:00 UTC on 30 November is 1 December in Tokyo: the day after the last.
    app.clock.set("2026-11-30T15:00:00Z".parse().unwrap());
    // Its people still sign in (the session of a week ago has timed out).
    let token = app.login("acme", "admin@acme.example.jp", PASSWORD).await;
    let record = format!("/api/v1/collections/customers/records/{id}");
    for credential in [token.as_str(), key.as_str()] {
        let (s, list) = app.get("/api/v1/collections/customers/records", credential).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        assert_eq!(app.get(&record, credential).await.0, StatusCode::OK);
        let resp = app
            .client
            .get(format!("{}/api/v1/collections/customers/export?format=jsonl", app.address))
            .bearer_auth(credential)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.text().await.unwrap().contains("山田"), "the export still works");

        let refused = [
            app.post("/api/v1/collections/customers/records", credential, json!({"name": "佐藤"})).await,
            app.patch(&record, credential, json!({"name": "山田太郎"})).await,
            app.delete(&record, credential).await,
            app.post(
                "/api/v1/users",
                credential,
                json!({"email": "x@acme.example.jp", "display_name": "x", "role": "viewer"}),
            )
            .await,
        ];
        for (s, body) in refused {
            assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
            assert_eq!(body["code"], "contract_ended", "{body}");
            assert!(body["detail"].as_str().unwrap().contains("ended on 2026-11-30"), "{body}");
        }
    }
    // Nothing changed.
    let (_, list) = app.get("/api/v1/collections/customers/records", &token).await;
    assert_eq!(list["items"][0]["data"]["name"], "山田", "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.get("/api/v1/users", &token).await.1.as_array().unwrap().len(), 1);

    // And sign out.
    let again = app.login("acme", "admin@acme.example.jp", PASSWORD).await;
    assert_eq!(app.delete("/api/v1/sessions/current", &again).await.0, StatusCode::NO_CONTENT);

    // The console: the list reads; a change is refused with a page that names the end date.
    let console = Console::new(&app);
    console.login("acme", "admin@acme.example.jp", PASSWORD).await;
    let page = console.get("/console/collections/customers").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("山田"));
    // The banner says it is read-only, and when the data is deleted: 60 days of grace, then
    // the next day.
    assert!(page.body.contains("contract-banner") && page.body.contains("2027-01-30"), "{}", page.body);
    let form = "/console/collections/customers/records/new";
    let refused = console.submit(form, form, &[("name", "佐藤")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("2026-11-30"), "{}", refused.body);
    assert!(refused.body.contains("契約") || refused.body.contains("contract"), "{}", refused.body);
}

#[tokio::test]
async fn ten_4_the_operator_downloads_the_deletion_certificate_and_it_verifies() {
    let app = spawn_encrypted_app().await;
    // The clock is 2026-11-22; the contract ended on 1 September, more than 60 days ago.
    let input = NewTenant {
        slug: "gone".into(),
        display_name: "消去株式会社".into(),
        admin_email: "admin@gone.example.jp".into(),
        admin_name: "管理者".into(),
        contract_end: Some("2026-09-01".into()),
        ..NewTenant::default()
    };
    create_tenant(&app.state, cli_actor(), input, Some(PASSWORD.into())).await.unwrap();
    app.tenant("stays").await;
    assert_eq!(kura_server::erasure::delete_due(&app.state).await, ["gone"]);

    let op = crate::console_pages::operator_console(&app).await;
    let list = op.get("/operator").await;
    assert!(list.body.contains("削除済みテナント") && list.body.contains("消去株式会社"), "{}", list.body);
    let link = crate::console_client::attr_in_tag(&list.body, "/certificate", "href");
    let resp = op.client.get(format!("{}{link}", app.address)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains("kura-deletion-gone.note"));
    let note = resp.text().await.unwrap();
    let certificate = kura_server::erasure::verify(&app.state, &note).unwrap();
    assert_eq!((certificate.slug.as_str(), certificate.contract_end.as_str()), ("gone", "2026-09-01"));
    assert_eq!(certificate.keys_destroyed, 2, "its data key and blind-index key");
    assert!(certificate.deleted.iter().any(|(c, n)| c == "users" && *n == 1));
    // The tenant is gone: it cannot sign in, and the other one is untouched.
    let (s, _) = app
        .send(
            "POST",
            "/api/v1/sessions",
            None,
            Some(json!({"tenant": "gone", "email": "admin@gone.example.jp", "password": PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    app.login("stays", "admin@stays.example.jp", PASSWORD).await;
    // Only an operator may download it.
    let anonymous = app.client.get(format!("{}{link}", app.address)).send().await.unwrap();
    assert_ne!(anonymous.status(), StatusCode::OK);
    app.verify_audit().await;
}

#[tokio::test]
async fn ten_4_administrators_are_reminded_30_14_and_1_days_before_the_end_once_each_in_their_language() {
    let app = spawn_app().await;
    // The clock is 2026-11-22 09:00 in Tokyo; the contract's last day is 31 December.
    let input = NewTenant {
        slug: "acme".into(),
        display_name: "アクメ株式会社".into(),
        admin_email: "admin@acme.example.jp".into(),
        admin_name: "管理者".into(),
        contract_end: Some("2026-12-31".into()),
        ..NewTenant::default()
    };
    create_tenant(&app.state, cli_actor(), input, Some(PASSWORD.into())).await.unwrap();
    let token = app.login("acme", "admin@acme.example.jp", PASSWORD).await;
    let users = [
        json!({"email": "en@acme.example.jp", "display_name": "Ann", "role": "tenant_admin", "password": "a-long-password-42", "language": "en"}),
        json!({"email": "viewer@acme.example.jp", "display_name": "閲覧", "role": "viewer", "password": "a-long-password-42"}),
    ];
    for user in users {
        assert_eq!(app.post("/api/v1/users", &token, user).await.0, StatusCode::CREATED);
    }
    let reminders = || async {
        let mut all = app.state.store.mails(None, 100).await.unwrap();
        all.retain(|m| m.kind == "contract_ending");
        all
    };
    let other = app.another_node().await;
    let send = |state: kura_server::AppState| async move {
        kura_server::service::contract_notices::send_due(&state).await.unwrap()
    };

    // 39 days before: nothing yet.
    assert_eq!(send(app.state.clone()).await, 0);
    // 30, 14 and 1 day(s) before (09:00 in Tokyo): one reminder each, to each administrator,
    // however often and on however many nodes the job runs.
    // (The nodes' own mail senders run the same job meanwhile: whoever comes first sends.)
    for (day, n) in [("2026-12-01", 2), ("2026-12-17", 4), ("2026-12-30", 6)] {
        app.clock.set(format!("{day}T00:00:00Z").parse().unwrap());
        let sent = send(app.state.clone()).await + send(app.state.clone()).await + send(other.state.clone()).await;
        assert!(sent <= 2, "{day}: {sent}");
        assert_eq!(reminders().await.len(), n, "{day}: each reminder once, to both administrators");
    }
    // The last day, and after it: no more.
    for day in ["2026-12-31", "2027-01-05"] {
        app.clock.set(format!("{day}T00:00:00Z").parse().unwrap());
        send(app.state.clone()).await;
        assert_eq!(reminders().await.len(), 6, "{day}");
    }

    let mails = reminders().await;
    assert!(mails.iter().all(|m| m.recipient != "viewer@acme.example.jp"), "administrators only");
    let ja: Vec<_> = mails.iter().filter(|m| m.recipient == "admin@acme.example.jp").collect();
    let en: Vec<_> = mails.iter().filter(|m| m.recipient == "en@acme.example.jp").collect();
    assert_eq!((ja.len(), en.len()), (3, 3));
    for days in ["30", "14", "1"] {
        assert!(ja.iter().any(|m| m.subject.contains(&format!("あと{days}日"))), "{ja:?}");
        assert!(en.iter().any(|m| m.subject.contains(&format!("({days} days)"))), "{en:?}");
    }
    assert!(ja.iter().all(|m| m.subject.contains("2026-12-31")));
    // The tenant's log records each reminder.
    let (_, log) = app
        .get("/api/v1/audit?operation=contract.end_notice", &app.login("acme", "admin@acme.example.jp", PASSWORD).await)
        .await;
    assert_eq!(log.as_array().unwrap().len(), 3, "{log}");

    // A later end date starts the reminders again.
    let mut w = app.state.store.begin(kura_domain::AuditScope::Platform, cli_actor()).await.unwrap();
    let mut tenant = app.state.store.tenant_by_slug(&kura_domain::Slug::parse("acme").unwrap()).await.unwrap().unwrap();
    tenant.contract_end = Some(jiff::civil::date(2027, 2, 1));
    w.update_tenant(&tenant).await.unwrap();
    w.commit(kura_domain::AuditRecord::success(kura_domain::Operation::TenantUpdate, "tenant:acme")).await.unwrap();
    app.clock.set("2027-01-05T00:00:00Z".parse().unwrap());
    send(app.state.clone()).await;
    send(other.state.clone()).await;
    assert_eq!(reminders().await.len(), 8, "the 30-day reminder of the new end, once");
}
