//! LOG-5 in the tenant's console: the administrator sees each disclosure of the tenant's log
//! with its time, period, size and reason, in Japanese and English; a withheld one is not shown.

use crate::console_client::*;
use crate::helpers::*;
use kura_server::service::disclosure;
use reqwest::StatusCode;

#[tokio::test]
async fn log_5_the_tenant_admin_sees_disclosures_with_reason_and_time_but_not_withheld_ones() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = Console::new(&app);
    c.login(&t.slug, &t.admin_email, PASSWORD).await;
    let page = c.get("/console/audit/disclosures").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No disclosures"), "the empty state: {}", page.body);
    assert!(c.get("/console/audit").await.body.contains("/console/audit/disclosures"));

    let (from, to) = ("2026-11-01T00:00:00+09:00".parse().unwrap(), "2026-12-01T00:00:00+09:00".parse().unwrap());
    let reason = "東京地方裁判所の文書提出命令（令和8年(ワ)第123号）";
    let made = disclosure::disclose(&app.state, cli_actor(), "acme", from, to, reason, false).await.unwrap();
    assert!(kura_server::audit_export::verify(&made.bytes, None).is_ok());
    let hidden = "A request we may not tell the tenant about";
    disclosure::disclose(&app.state, cli_actor(), "acme", from, to, hidden, true).await.unwrap();
    // A bad reason is refused and recorded nowhere.
    assert!(disclosure::disclose(&app.state, cli_actor(), "acme", from, to, "no", false).await.is_err());

    let page = c.get("/console/audit/disclosures").await;
    assert!(page.body.contains(reason), "{}", page.body);
    assert!(page.body.contains("2026-11-22 09:00:00 JST"), "the time in the tenant's zone: {}", page.body);
    assert!(page.body.contains("2026-11-01T00:00:00+09:00"), "the period");
    assert!(!page.body.contains(hidden), "a withheld disclosure is not shown");
    assert!(c.get("/console/lang?to=ja&back=/console").await.status.is_redirection());
    let page = c.get("/console/audit/disclosures").await;
    assert!(page.body.contains("ログの開示"), "{}", page.body);
    assert!(page.body.contains(reason));
    assert!(english_sentences(&page.body).is_empty(), "{:?}", english_sentences(&page.body));

    // The platform's log holds both, the tenant's only the one not withheld.
    let op = kura_domain::Operation::LogDisclose;
    let filter = kura_store::AuditFilter { operation: Some(op), ..kura_store::AuditFilter::default() };
    let platform = app.state.store.audit_entries(kura_domain::AuditScope::Platform, &filter).await.unwrap();
    assert_eq!(platform.len(), 2);
    assert!(
        platform.iter().any(|e| e.detail.as_deref().is_some_and(|d| d.contains("withheld=yes") && d.contains(hidden)))
    );
    app.verify_audit().await;
}
