//! The console in a real headless Chromium, in Japanese and English, at 1366 and 390 pixels wide:
//! the records list, the filter builder, a record page and the operation log. What the eye would
//! check is measured in the page (short values on one line, cards on a phone, the first column
//! kept in view, no untranslated message, paging clamped, history shown), and each screen is kept
//! as a screenshot under `target/browser-screenshots/` (CI keeps them as artefacts).

use crate::browser::Browser;
use crate::console_client::english_sentences;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::path::PathBuf;

/// Where the screenshots go: the build's `target/` folder.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("browser-screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshot folder");
    dir
}

/// A screenshot of the whole page: the window is made as tall as the page, then restored.
async fn shot(b: &Browser, width: u32, name: &str) {
    let height = b.execute("return document.documentElement.scrollHeight;", json!([])).await;
    let height = height.as_u64().unwrap_or(900).clamp(600, 6000) as u32;
    b.set_window_size(width, height + 120).await;
    let path = screenshot_dir().join(format!("{name}.png"));
    b.screenshot_png(&path).await;
    b.set_window_size(width, 900).await;
    eprintln!("screenshot: {}", path.display());
}

/// The cells of short values (phone numbers, dates, numbers) that take more than one line.
const WRAPPED_CELLS: &str = r#"
    const cells = [...document.querySelectorAll(
        'table.records .c-phone .v, table.records .c-date .v, table.records .c-num .v')];
    const wrapped = cells.filter(el => {
        const range = document.createRange();
        range.selectNodeContents(el);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        return lines.size > 1;
    }).map(el => el.textContent);
    return { cells: cells.length, wrapped };
"#;

async fn seed(app: &TestApp, t: &TenantFixture) -> String {
    let spec = json!({
        "name": "customers", "label": "顧客",
        "fields": [
            {"name": "name", "label": "氏名", "type": "text", "required": true, "pii": true},
            {"name": "kana", "label": "フリガナ", "type": "text", "pii": true},
            {"name": "email", "label": "メールアドレス", "type": "email", "pii": true},
            {"name": "phone", "label": "電話番号", "type": "phone", "pii": true},
            {"name": "plan", "label": "プラン", "type": "choice", "choices": ["free", "premium"],
             "choice_labels": {"free": "フリー", "premium": "プレミアム"}},
            {"name": "points", "label": "ポイント", "type": "number"},
            {"name": "joined", "label": "入会日", "type": "date"},
            {"name": "note", "label": "備考", "type": "long_text"}
        ]
    });
    assert_eq!(app.post("/api/v1/collections", &t.admin_token, spec).await.0, StatusCode::CREATED);
    let mut last = String::new();
    for i in 0..45 {
        let record = json!({
            "name": format!("山田 太郎{i}"), "kana": "ヤマダ タロウ", "email": format!("taro.yamada.{i}@example.co.jp"),
            "phone": "070-5055-5921", "plan": if i % 3 == 0 { "premium" } else { "free" },
            "points": 1000 + i * 137, "joined": "2025-07-09",
            "note": "土日は連絡がつきにくいため、平日の午前中にご連絡ください。請求書は郵送を希望。"
        });
        let (s, body) = app.post("/api/v1/collections/customers/records", &t.admin_token, record).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        last = body["id"].as_str().unwrap().to_owned();
    }
    let path = format!("/api/v1/collections/customers/records/{last}");
    assert_eq!(app.patch(&path, &t.admin_token, json!({"points": 99, "plan": "free"})).await.0, StatusCode::OK);
    last
}

#[tokio::test]
async fn pub_2_browser_console_reads_at_a_glance_in_both_languages_and_widths() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let record = seed(&app, &t).await;
    let Some(b) = Browser::launch().await else { return };
    let url = |p: &str| format!("{}{p}", app.address);
    b.goto(&url("/console/login")).await;
    b.find("#f-tenant").await.send_keys("acme").await;
    b.find("#f-email").await.send_keys(&t.admin_email).await;
    b.find("#f-password").await.send_keys(PASSWORD).await;
    b.find("main form button[type=submit]").await.click().await;
    b.wait_for_text("main h1", "Dashboard").await;

    for lang in ["ja", "en"] {
        b.goto(&url(&format!("/console/lang?to={lang}&back=/console"))).await;
        for width in [1366, 390] {
            b.set_window_size(width, 900).await;
            let tag = format!("{lang}-{width}");

            // The records list, asked for a page past the end: the last page (3 of 20 each).
            b.goto(&url("/console/collections/customers?per_page=20&page=99")).await;
            assert_eq!(b.find(".page.current").await.text().await, "3", "{tag}: paging is clamped");
            let cells = b.execute(WRAPPED_CELLS, json!([])).await;
            assert!(cells["cells"].as_u64().unwrap_or(0) >= 15, "{tag}: {cells}");
            assert_eq!(cells["wrapped"], json!([]), "{tag}: short values wrap");
            let layout = b
                .execute(
                    "const row = document.querySelector('table.records tbody tr');
                     const first = document.querySelector('table.records tbody th[scope=row]');
                     return { row: getComputedStyle(row).display, first: getComputedStyle(first).position,
                              overflow: document.documentElement.scrollWidth - window.innerWidth };",
                    json!([]),
                )
                .await;
            if width == 390 {
                assert_eq!(layout["row"], "block", "{tag}: records are cards on a phone");
                assert!(layout["overflow"].as_i64().unwrap_or(1) <= 0, "{tag}: the page scrolls sideways: {layout}");
            } else {
                assert_eq!(layout["first"], "sticky", "{tag}: the first column stays in view");
            }
            untranslated(&b, lang, &tag, "records").await;
            shot(&b, width, &format!("records-{tag}")).await;

            // The filter builder, at its second step for a number field.
            b.goto(&url("/console/collections/customers?filter=plan%20%3D%20%27premium%27&bf=points")).await;
            let ops = b.find_all("#f-bo option").await.len();
            assert_eq!(ops, 8, "{tag}: number operators and the two tests for a value");
            untranslated(&b, lang, &tag, "filter builder").await;
            shot(&b, width, &format!("filter-builder-{tag}")).await;

            // A record page with its history.
            b.goto(&url(&format!("/console/collections/customers/records/{record}"))).await;
            let history = b.find_all("ol.timeline li").await;
            assert_eq!(history.len(), 2, "{tag}: created and changed");
            let changed = if lang == "ja" { "レコード変更" } else { "Record changed" };
            b.wait_for_text("ol.timeline", changed).await;
            untranslated(&b, lang, &tag, "record").await;
            shot(&b, width, &format!("record-{tag}")).await;

            // The operation log.
            b.goto(&url("/console/audit")).await;
            b.wait_for_text("table.log", "record.update").await;
            untranslated(&b, lang, &tag, "operation log").await;
            shot(&b, width, &format!("audit-{tag}")).await;
        }
    }
    // The console works without scripts: none of these pages has one, and the policy allows none.
    let page = app.client.get(url("/console/login")).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    let source = b.page_source().await;
    assert!(!source.contains("<script") && !source.contains("style=\""));
}

/// On a Japanese page, no message in English.
async fn untranslated(b: &Browser, lang: &str, tag: &str, what: &str) {
    if lang != "ja" {
        return;
    }
    let found = english_sentences(&b.page_source().await);
    assert!(found.is_empty(), "{tag} {what}: untranslated: {found:?}");
}

/// IAM-6 in a real browser: sign in, add an authenticator app by reading its secret from the
/// page, keep the recovery codes, sign out, and sign in again with a code computed from that
/// secret.
#[tokio::test]
async fn iam_6_browser_enrols_totp_from_the_page_then_signs_in_again_with_a_code() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let Some(b) = Browser::launch().await else { return };
    let url = |p: &str| format!("{}{p}", app.address);
    let sign_in = async |b: &Browser| {
        b.goto(&url("/console/login")).await;
        b.find("#f-tenant").await.send_keys("acme").await;
        b.find("#f-email").await.send_keys(&t.admin_email).await;
        b.find("#f-password").await.send_keys(PASSWORD).await;
        b.find("main form button[type=submit]").await.click().await;
    };
    sign_in(&b).await;
    b.wait_for_text("main h1", "Dashboard").await;
    b.goto(&url("/console/account/second-factors")).await;
    b.wait_for_text("main", "You have no second factor yet.").await;
    b.find("main form[action='/console/account/second-factors'] button").await.click().await;
    let secret = b.find("#totp-secret").await.text().await;
    assert_eq!(secret.len(), 32, "{secret}");
    assert!(!b.find_all("main .qr svg").await.is_empty(), "the QR code is on the page");
    b.find("#f-code").await.send_keys(&crate::console_client::totp_now(&app, &secret)).await;
    b.find("main form button[type=submit]").await.click().await;
    b.wait_for_text("main h1", "Your recovery codes").await;
    assert_eq!(b.find_all("#recovery-codes li").await.len(), 10);
    b.find("main a.btn-primary").await.click().await;
    b.wait_for_text("main", "Unused recovery codes: 10").await;

    b.find("form[action='/console/logout'] button").await.click().await;
    b.wait_for_text("main h1", "Sign in").await;
    sign_in(&b).await;
    b.wait_for_text("main h1", "Enter your verification code").await;
    // The next 30-second step: the enrolment's code is spent.
    app.clock.advance(jiff::SignedDuration::from_secs(30));
    b.find("#f-code").await.send_keys(&crate::console_client::totp_now(&app, &secret)).await;
    b.find("main form button[type=submit]").await.click().await;
    b.wait_for_text("main h1", "Dashboard").await;
    let (_, entries) = app.get("/api/v1/audit?operation=mfa.enrol", &t.admin_token).await;
    assert_eq!(entries.as_array().unwrap().len(), 2, "offered, then confirmed");
}

/// IAM-6 in a real browser with Chromium's virtual authenticator (WebDriver's WebAuthn
/// extension): add a passkey from the second-factor page (the page's script hands the server's
/// options to `navigator.credentials.create`), sign out, and sign in again with the passkey as
/// the second step. The console is reached at `localhost`: a relying party must be a domain.
#[tokio::test]
async fn iam_6_browser_registers_a_passkey_with_a_virtual_authenticator_and_signs_in_with_it() {
    let app = crate::passkeys::spawn_passkey_app().await;
    let t = app.tenant("acme").await;
    let Some(b) = Browser::launch().await else { return };
    let authenticator = b.add_virtual_authenticator().await;
    let url = |p: &str| format!("http://localhost:{}{p}", app.port());
    let sign_in = async |b: &Browser| {
        b.goto(&url("/console/login")).await;
        b.find("#f-tenant").await.send_keys("acme").await;
        b.find("#f-email").await.send_keys(&t.admin_email).await;
        b.find("#f-password").await.send_keys(PASSWORD).await;
        b.find("main form button[type=submit]").await.click().await;
    };
    sign_in(&b).await;
    b.wait_for_text("main h1", "Dashboard").await;
    b.goto(&url("/console/account/second-factors")).await;
    b.wait_for_text("main", "You have no second factor yet.").await;
    b.find("#passkey-add #f-name").await.send_keys("Virtual key").await;
    b.find("#passkey-add button[type=submit]").await.click().await;
    b.wait_for_text("main h1", "Add a passkey or security key").await;
    b.find("#passkey-go").await.click().await;
    // The first factor brings the recovery codes.
    b.wait_for_text("main h1", "Your recovery codes").await;
    assert_eq!(b.find_all("#recovery-codes li").await.len(), 10);
    b.find("main a.btn-primary").await.click().await;
    b.wait_for_text("#second-factors", "Virtual key").await;
    assert_eq!(b.virtual_credentials(&authenticator).await.len(), 1, "the authenticator holds the passkey");

    b.find("form[action='/console/logout'] button").await.click().await;
    b.wait_for_text("main h1", "Sign in").await;
    sign_in(&b).await;
    b.wait_for_text("main h1", "Enter your verification code").await;
    b.find("#passkey-go").await.click().await;
    b.wait_for_text("main h1", "Dashboard").await;
    let credentials = b.virtual_credentials(&authenticator).await;
    assert!(credentials[0]["signCount"].as_u64().unwrap_or(0) >= 1, "{credentials:?}");
    let (_, logins) = app.get("/api/v1/audit?operation=user.login", &t.admin_token).await;
    let passkey_login = logins
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["detail"].as_str().is_some_and(|d| d.contains("passkey \"Virtual key\"")));
    assert!(passkey_login, "{logins}");
}

/// IAM-11 in a real browser: from the navigation to the client-certificate page, issue one from
/// its form, see the password and the download links once, and find it in the list, in both
/// languages (no message left in English on the Japanese pages).
#[tokio::test]
async fn iam_11_browser_issues_a_client_certificate_from_the_page() {
    // Over HTTPS (DAT-1), with a self-signed certificate made as `kura demo` makes its own: the
    // browser trusts exactly that certificate's key, so a page that loads proves the TLS path.
    let (app, certs) = crate::client_certs::tls_app_with(|_| {}).await;
    assert!(app.address.starts_with("https://"), "{}", app.address);
    let t = app.tenant("acme").await;
    let pem = std::fs::read_to_string(certs.path().join("server.pem")).unwrap();
    let der = pem_body(&pem);
    let pin = kura_crypto::x509::spki_pin_sha256(&der).unwrap();
    let Some(b) = Browser::launch_trusting(&pin).await else { return };
    let url = |p: &str| format!("{}{p}", app.address);
    b.goto(&url("/console/login")).await;
    b.find("#f-tenant").await.send_keys("acme").await;
    b.find("#f-email").await.send_keys(&t.admin_email).await;
    b.find("#f-password").await.send_keys(PASSWORD).await;
    b.find("main form button[type=submit]").await.click().await;
    b.wait_for_text("main h1", "Dashboard").await;

    for (lang, holder, title, issued) in [
        ("en", "Hanako's laptop", "Issue a client certificate", "Client certificate issued"),
        ("ja", "佐藤花子（ノートPC）", "クライアント証明書の発行", "クライアント証明書を発行しました"),
    ] {
        b.goto(&url(&format!("/console/lang?to={lang}&back=/console"))).await;
        b.find("nav.sidenav a[href='/console/settings/client-certificates']").await.click().await;
        b.find("main .page-actions a.btn-primary").await.click().await;
        b.wait_for_text("main h1", title).await;
        untranslated(&b, lang, lang, "certificate form").await;
        b.find("#f-holder").await.send_keys(holder).await;
        b.find("#f-days").await.clear().await;
        b.find("#f-days").await.send_keys("90").await;
        b.find("main form button[type=submit]").await.click().await;
        b.wait_for_text("main h1", issued).await;
        let password = b.find("#p12-password").await.text().await;
        assert_eq!(password.len(), 23, "{password}");
        let p12 = b.find("#download-p12").await;
        assert!(p12.attr("href").await.unwrap_or_default().starts_with("data:application/x-pkcs12;base64,MII"));
        assert!(p12.attr("download").await.unwrap_or_default().ends_with(".p12"));
        untranslated(&b, lang, lang, "issued certificate").await;
        shot(&b, 1366, &format!("client-certificate-issued-{lang}")).await;

        // Done: the list has it, valid and never used, and no longer any key or password.
        b.find("#issued a.btn-primary[href*='done=created']").await.click().await;
        b.wait_for_text("#client-certificates", holder).await;
        let source = b.page_source().await;
        assert!(!source.contains(&password) && !source.contains("data:application"));
        untranslated(&b, lang, lang, "certificate list").await;
        shot(&b, 1366, &format!("client-certificates-{lang}")).await;
    }
    let (_, list) = app.get("/api/v1/client-certificates", &t.admin_token).await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
}

/// The DER bytes of a PEM certificate.
fn pem_body(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(body).unwrap()
}

/// A downloaded file in `dir` once Chromium has finished writing it.
async fn downloaded(dir: &std::path::Path, suffix: &str) -> Vec<u8> {
    for _ in 0..100 {
        let done = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(suffix));
        if let Some(path) = done {
            return std::fs::read(path).unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no {suffix} file was downloaded into {}", dir.display());
}

#[tokio::test]
async fn dat_6_browser_imports_a_csv_through_the_preview_changes_and_deletes_in_bulk_then_exports() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, body) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let files = tempfile::tempdir().unwrap();
    let csv = files.path().join("会員.csv");
    let rows = "氏名,フリガナ,ポイント,プラン\n\
        山田 太郎,ヤマダ タロウ,120,free\n\
        \"佐藤, 花子\",サトウ ハナコ,80,free\n\
        鈴木 一郎,スズキ イチロウ,300,premium\n";
    std::fs::write(&csv, format!("\u{feff}{rows}")).unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let Some(b) = Browser::launch_downloading(downloads.path()).await else { return };
    let url = |p: &str| format!("{}{p}", app.address);
    b.goto(&url("/console/login")).await;
    b.find("#f-tenant").await.send_keys("acme").await;
    b.find("#f-email").await.send_keys(&t.admin_email).await;
    b.find("#f-password").await.send_keys(PASSWORD).await;
    b.find("main form button[type=submit]").await.click().await;
    b.wait_for_text("main h1", "Dashboard").await;
    b.goto(&url("/console/lang?to=ja&back=/console/collections/customers/import")).await;

    // Import: the file, its preview, then the import.
    b.find("#import-file").await.send_keys(&csv.display().to_string()).await;
    b.find("main button[name=step][value=preview]").await.click().await;
    b.find("main button[name=step][value=import]").await.click().await;
    b.wait_for_text("main", "インポートしました（追加3件・更新0件）").await;
    untranslated(&b, "ja", "ja", "import done").await;
    let (_, page) = app.get("/api/v1/collections/customers/records", &t.admin_token).await;
    assert_eq!(page["total"], 3, "{page}");

    // Change in bulk: the free plan's records to standard, from the listing's filter.
    b.goto(&url("/console/collections/customers?filter=plan%20%3D%20%27free%27")).await;
    b.find("main .page-actions a[href*='/bulk-update']").await.click().await;
    b.wait_for_text("main", "対象のレコードは2件です").await;
    b.select_option("#f-field", "plan").await;
    b.find("main form[method=get] button[type=submit]").await.click().await;
    b.select_option("#f-plan", "standard").await;
    b.find("#f-confirm_count").await.send_keys("2").await;
    shot(&b, 1366, "bulk-update-ja").await;
    b.find("main form[method=post] button.btn-danger").await.click().await;
    b.wait_for_text("main", "レコードを一括変更しました").await;

    // Delete in bulk: the premium record, confirmed by its count.
    b.goto(&url("/console/collections/customers/bulk-delete?filter=plan%20%3D%20%27premium%27")).await;
    b.wait_for_text("main", "対象のレコードは1件です").await;
    untranslated(&b, "ja", "ja", "bulk delete").await;
    b.find("#f-confirm_count").await.send_keys("1").await;
    shot(&b, 1366, "bulk-delete-ja").await;
    b.find("main form[method=post] button.btn-danger").await.click().await;
    b.wait_for_text("main", "レコードを一括削除しました").await;

    // Export what is left as CSV for Excel (UTF-8 with a byte order mark).
    b.goto(&url("/console/collections/customers/export")).await;
    b.find("main form button[type=submit]").await.click().await;
    let file = downloaded(downloads.path(), ".csv").await;
    let text = String::from_utf8(file).unwrap();
    assert!(text.starts_with('\u{feff}'), "{text:?}");
    assert!(text.contains("\"佐藤, 花子\"") && text.contains("山田 太郎"), "{text}");
    assert!(!text.contains("鈴木"), "the deleted record is not exported: {text}");
    assert_eq!(text.matches("standard").count(), 2, "{text}");
    app.verify_audit().await;
}
