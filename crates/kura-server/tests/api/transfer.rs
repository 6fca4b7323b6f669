//! Exporting a collection to a file and importing one into a collection (DAT-5, DAT-6), over the
//! API: encodings, quoting, formula neutralisation, masking, audit entries and permissions.

use crate::console_client::Console;
use crate::helpers::{PASSWORD, TenantFixture, TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A collection whose text fields keep what they are given (no katakana rule), so that
/// half-width katakana and symbols survive as written.
pub(crate) fn notes_spec(name: &str) -> Value {
    json!({
        "name": name,
        "label": "メモ帳",
        "fields": [
            {"name": "title", "label": "件名", "type": "text", "required": true},
            {"name": "body", "label": "本文", "type": "long_text"},
            {"name": "owner", "label": "担当者", "type": "text", "pii": true},
            {"name": "points", "label": "点数", "type": "number"},
            {"name": "due", "label": "期限", "type": "date"},
            {"name": "done", "label": "完了", "type": "boolean"},
            {"name": "plan", "label": "プラン", "type": "choice", "choices": ["free", "premium"]}
        ]
    })
}

/// Values that CSV and spreadsheets find hard: Japanese and full-width text, commas, quotes,
/// line breaks, half-width katakana, empty values and would-be formulas.
fn awkward_records() -> Vec<Value> {
    vec![
        json!({"title": "山田 太郎", "body": "住所：東京都千代田区１－２－３, ４階\n「至急」と\"言われた\"", "owner": "佐藤 花子",
            "points": 120, "due": "2026-12-24", "done": true, "plan": "premium"}),
        json!({"title": "ﾊﾝｶｸ ｶﾀｶﾅ ｦｧｨｩｪｫｬｭｮｯｰ", "body": "", "points": -5.5, "done": false}),
        json!({"title": "=cmd|' /C calc'!A0", "body": "+SUM(A1:A9)", "owner": "@admin", "plan": "free"}),
        json!({"title": "'引用符で始まる", "body": "-1", "points": 0}),
        json!({"title": "ＡＢＣ　全角英数字　１２３", "body": "カンマ,と\r\n改行"}),
    ]
}

pub(crate) async fn notes(app: &TestApp, t: &TenantFixture, name: &str) -> Vec<Value> {
    let (s, body) = app.post("/api/v1/collections", &t.admin_token, notes_spec(name)).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let mut created = Vec::new();
    for r in awkward_records() {
        let (s, body) = app.post(&format!("/api/v1/collections/{name}/records"), &t.admin_token, r).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        created.push(body);
    }
    created
}

/// GETs a file: status, content type and raw bytes.
pub(crate) async fn download(app: &TestApp, path: &str, token: &str) -> (StatusCode, String, Vec<u8>) {
    let resp = app.client.get(format!("{}{path}", app.address)).bearer_auth(token).send().await.expect("request");
    let status = resp.status();
    let kind = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, kind, resp.bytes().await.expect("body").to_vec())
}

pub(crate) fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("a CSV row").iter().map(str::to_owned).collect())
        .collect()
}

pub(crate) async fn audit(app: &TestApp, t: &TenantFixture, operation: &str) -> Vec<Value> {
    let (s, entries) = app.get(&format!("/api/v1/audit?operation={operation}"), &t.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{entries}");
    entries.as_array().unwrap().clone()
}

pub(crate) async fn api_key(app: &TestApp, t: &TenantFixture, role: &str, permissions: &[&str]) -> String {
    let (s, body) = app
        .post("/api/v1/roles", &t.admin_token, json!({"key": role, "label": role, "permissions": permissions}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, created) = app.post("/api/v1/api-keys", &t.admin_token, json!({"name": role, "role": role})).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    created["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn dat_5_csv_export_keeps_japanese_text_quotes_and_line_breaks_with_a_bom_for_excel() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let (s, kind, bytes) = download(&app, "/api/v1/collections/notes/export", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(kind, "text/csv; charset=utf-8");
    assert!(bytes.starts_with(b"\xef\xbb\xbf"), "the default CSV starts with a byte order mark");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(text.contains("\r\n"), "rows end as Excel writes them");
    let rows = csv_rows(text);
    assert_eq!(rows[0], ["件名", "本文", "担当者", "点数", "期限", "完了", "プラン"]);
    assert_eq!(rows.len(), 6);
    assert_eq!(
        rows[1],
        [
            "山田 太郎",
            "住所：東京都千代田区１－２－３, ４階\n「至急」と\"言われた\"",
            "佐藤 花子",
            "120",
            "2026-12-24",
            "true",
            "premium"
        ]
    );
    assert_eq!(rows[2], ["ﾊﾝｶｸ ｶﾀｶﾅ ｦｧｨｩｪｫｬｭｮｯｰ", "", "", "-5.5", "", "false", ""], "empty values stay empty");
    // Text that a spreadsheet would run as a formula starts with an apostrophe; numbers do not.
    assert_eq!(rows[3], ["'=cmd|' /C calc'!A0", "'+SUM(A1:A9)", "'@admin", "", "", "", "free"]);
    assert_eq!(rows[4][..2], ["''引用符で始まる", "'-1"]);
    assert_eq!(rows[5][..2], ["ＡＢＣ　全角英数字　１２３", "カンマ,と\r\n改行"]);

    // Plain UTF-8 has no byte order mark, and keys can name the columns.
    let (s, _, bytes) =
        download(&app, "/api/v1/collections/notes/export?format=csv-utf8&header=key", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!bytes.starts_with(b"\xef\xbb\xbf"));
    assert_eq!(
        csv_rows(std::str::from_utf8(&bytes).unwrap())[0],
        ["title", "body", "owner", "points", "due", "done", "plan"]
    );
}

#[tokio::test]
async fn dat_5_shift_jis_export_round_trips_half_width_kana_and_refuses_what_it_cannot_hold() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let created = notes(&app, &t, "notes").await;
    let (s, kind, bytes) = download(&app, "/api/v1/collections/notes/export?format=csv-sjis", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(kind, "text/csv; charset=Shift_JIS");
    assert!(std::str::from_utf8(&bytes).is_err(), "the file is Shift_JIS, not UTF-8");
    let (text, _, replaced) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!replaced);
    let rows = csv_rows(&text);
    assert_eq!(rows[0][0], "件名");
    assert_eq!(rows[2][0], "ﾊﾝｶｸ ｶﾀｶﾅ ｦｧｨｩｪｫｬｭｮｯｰ");
    // Half-width katakana are one byte each in Shift_JIS.
    assert!(bytes.windows(4).any(|w| w == [0xca, 0xdd, 0xb6, 0xb8]), "ﾊﾝｶｸ as single bytes");
    assert_eq!(audit(&app, &t, "record.export").await.len(), 1);

    // A character Shift_JIS cannot hold is refused, naming record and field; nothing is sent.
    let id = created[1]["id"].as_str().unwrap();
    let (s, body) =
        app.patch(&format!("/api/v1/collections/notes/records/{id}"), &t.admin_token, json!({"body": "寿司🍣"})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = app.get("/api/v1/collections/notes/export?format=csv-sjis", &t.admin_token).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["field"], format!("record {id}/body"));
    assert!(errors[0]["message"].as_str().unwrap().contains("🍣"), "{body}");
    assert_eq!(audit(&app, &t, "record.export").await.len(), 1, "a refused export is not an export");
    // UTF-8 holds it.
    let (s, _, bytes) = download(&app, "/api/v1/collections/notes/export?format=csv-utf8", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8(bytes).unwrap().contains("寿司🍣"));
}

#[tokio::test]
async fn dat_5_exports_mask_personal_information_without_pii_read_and_are_audited_with_their_counts() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let exporter = api_key(&app, &t, "exporter", &["records.read", "records.export"]).await;
    let (s, _, bytes) = download(&app, "/api/v1/collections/notes/export?format=csv-utf8", &exporter).await;
    assert_eq!(s, StatusCode::OK);
    let rows = csv_rows(std::str::from_utf8(&bytes).unwrap());
    assert_eq!(rows[1][2], "••••••", "担当者 is personal information");
    assert_eq!(rows[1][0], "山田 太郎", "other fields are shown");
    assert_eq!(rows[2][2], "", "no value is no value, masked or not");
    let (s, _, bytes) = download(&app, "/api/v1/collections/notes/export?format=jsonl", &exporter).await;
    assert_eq!(s, StatusCode::OK);
    let lines: Vec<Value> =
        std::str::from_utf8(&bytes).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["data"]["owner"], "••••••");
    assert_eq!(lines[0]["data"]["title"], "山田 太郎");
    // Shift_JIS has no bullet: masked values read ●●●●●●.
    let (s, _, bytes) = download(&app, "/api/v1/collections/notes/export?format=csv-sjis", &exporter).await;
    assert_eq!(s, StatusCode::OK);
    assert!(encoding_rs::SHIFT_JIS.decode(&bytes).0.contains("●●●●●●"));
    // The administrator (pii.read) sees the values.
    let (_, _, bytes) = download(&app, "/api/v1/collections/notes/export?format=jsonl", &t.admin_token).await;
    assert!(std::str::from_utf8(&bytes).unwrap().contains("佐藤 花子"));

    let entries = audit(&app, &t, "record.export").await;
    assert_eq!(entries.len(), 4, "one entry per export");
    assert_eq!(entries[0]["target"], "collection:notes");
    assert_eq!(entries[0]["detail"], "format=jsonl rows=5 pii=shown");
    assert_eq!(entries[3]["detail"], "format=csv-utf8 rows=5 pii=masked");
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_5_export_needs_records_export() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let reader = api_key(&app, &t, "reader", &["records.read", "pii.read"]).await;
    let (s, body) = app.get("/api/v1/collections/notes/export", &reader).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("records.export"), "{body}");
    let (s, body) = app.get("/api/v1/collections/nosuch/export", &t.admin_token).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    let (s, body) = app.get("/api/v1/collections/notes/export?format=xlsx", &t.admin_token).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(audit(&app, &t, "record.export").await.is_empty());
}

#[tokio::test]
async fn dat_5_console_exports_from_the_collection_page_and_explains_a_refusal_in_japanese() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;
    console.get("/console/lang?to=ja&back=/console").await;
    let list = console.get("/console/collections/notes").await;
    assert!(list.body.contains("href=\"/console/collections/notes/export\""), "the records page links to export");
    let form = console.get("/console/collections/notes/export").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("メモ帳のエクスポート") && form.body.contains("CSV・Excel向け"), "{}", form.body);
    assert!(form.body.contains("href=\"/console/help/data\""));
    let help = console.get("/console/help/data").await;
    assert_eq!(help.status, StatusCode::OK);
    assert!(help.body.contains("数式の無害化"), "the help page is the guide's export section");
    assert!(!help.body.contains("アカウントロック"), "and only that section");
    let file =
        console.client.get(format!("{}/console/collections/notes/export/file?format=csv&header=label", app.address));
    let resp = file.send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains("notes.csv"));
    assert!(resp.bytes().await.unwrap().starts_with("\u{feff}件名".as_bytes()));
    // A value Shift_JIS cannot hold: a page in the reader's language names it.
    let id = app.get("/api/v1/collections/notes/records", &t.admin_token).await.1["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(&format!("/api/v1/collections/notes/records/{id}"), &t.admin_token, json!({"title": "🍣"})).await;
    let refused = console.get("/console/collections/notes/export/file?format=csv-sjis&header=label").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Shift_JISで書き出せません"), "{}", refused.body);
    assert_eq!(audit(&app, &t, "record.export").await.len(), 1);
    // A viewer has no export button and no export page.
    let (s, _) = app
        .post(
            "/api/v1/users",
            &t.admin_token,
            json!({"email": "v@acme.example.jp", "display_name": "閲覧者",
        "role": "viewer", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let viewer = Console::new(&app);
    viewer.login("acme", "v@acme.example.jp", PASSWORD).await;
    assert!(!viewer.get("/console/collections/notes").await.body.contains("/export"));
    assert_eq!(viewer.get("/console/collections/notes/export").await.status, StatusCode::FORBIDDEN);
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
}

pub(crate) async fn records_of(app: &TestApp, t: &TenantFixture, name: &str) -> Vec<Value> {
    let (s, page) = app.get(&format!("/api/v1/collections/{name}/records?per_page=500"), &t.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().iter().map(|r| r["data"].clone()).collect()
}

pub(crate) async fn create_notes(app: &TestApp, t: &TenantFixture, name: &str) {
    let (s, body) = app.post("/api/v1/collections", &t.admin_token, notes_spec(name)).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn dat_6_round_trip_export_then_import_into_a_new_collection_gives_identical_records() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let original = records_of(&app, &t, "notes").await;
    assert_eq!(original.len(), 5);
    for (format, header, import_format) in
        [("csv", "label", "csv"), ("csv-utf8", "key", "csv"), ("csv-sjis", "label", "csv"), ("jsonl", "label", "jsonl")]
    {
        let (s, _, bytes) = download(
            &app,
            &format!("/api/v1/collections/notes/export?format={format}&header={header}"),
            &t.admin_token,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let target = format!("copy_{}", format.replace('-', "_"));
        create_notes(&app, &t, &target).await;
        let body = json!({"file": b64(&bytes), "format": import_format});
        let (s, preview) =
            app.post(&format!("/api/v1/collections/{target}/import/preview"), &t.admin_token, body.clone()).await;
        assert_eq!(s, StatusCode::OK, "{preview}");
        assert_eq!((preview["valid"].as_u64(), preview["invalid"].as_u64()), (Some(5), Some(0)), "{format}: {preview}");
        assert_eq!(preview["written"], false);
        assert!(records_of(&app, &t, &target).await.is_empty(), "a preview writes nothing");
        let (s, report) = app.post(&format!("/api/v1/collections/{target}/import"), &t.admin_token, body).await;
        assert_eq!(s, StatusCode::OK, "{report}");
        assert_eq!((report["inserted"].as_u64(), report["written"].as_bool()), (Some(5), Some(true)));
        assert_eq!(records_of(&app, &t, &target).await, original, "{format}: the same records");
    }
    let imports = audit(&app, &t, "record.import").await;
    assert_eq!(imports.len(), 4, "one entry per import");
    let sjis = imports.iter().find(|e| e["target"] == "collection:copy_csv_sjis").unwrap();
    let detail = sjis["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("format=csv encoding=Shift_JIS mode=insert inserted=5 updated=0 skipped=0 sha256="),
        "{detail}"
    );
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_6_a_shift_jis_file_with_half_width_kana_imports_with_its_encoding_detected() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    create_notes(&app, &t, "notes").await;
    let text = "件名,本文,点数\r\nﾔﾏﾀﾞ ﾀﾛｳ,ｶﾌﾞｼｷｶﾞｲｼｬ ﾃｽﾄ,１２０\r\n";
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
    let (s, report) = app.post("/api/v1/collections/notes/import", &t.admin_token, json!({"file": b64(&bytes)})).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["encoding"], "Shift_JIS");
    let sha = format!("{:x}", sha2_digest(&bytes));
    assert_eq!(report["sha256"], sha);
    let records = records_of(&app, &t, "notes").await;
    assert_eq!(records, [json!({"title": "ﾔﾏﾀﾞ ﾀﾛｳ", "body": "ｶﾌﾞｼｷｶﾞｲｼｬ ﾃｽﾄ", "points": 120.0})]);
    // Read as UTF-8 on purpose, the same file is refused, and nothing changes.
    let (s, body) = app
        .post("/api/v1/collections/notes/import", &t.admin_token, json!({"file": b64(&bytes), "encoding": "utf8"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("not valid UTF-8"), "{body}");
    assert_eq!(records_of(&app, &t, "notes").await.len(), 1);
}

pub(crate) fn sha2_digest(bytes: &[u8]) -> HexDigest {
    HexDigest(kura_crypto::sha256(bytes))
}

pub(crate) struct HexDigest([u8; 32]);
impl std::fmt::LowerHex for HexDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

#[tokio::test]
async fn dat_6_a_file_with_errors_changes_nothing_and_reports_every_bad_row() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    create_notes(&app, &t, "notes").await;
    let text = "件名,点数,期限,プラン,備考\n正しい行,1,2026-01-01,free,x\n,2,,,\n数字でない,abc,,,\n日付,3,2026-13-45,gold,\n=cmd|' /C calc'!A0,4,,,\n";
    let body = json!({"file": b64(text.as_bytes()), "format": "csv"});
    let (s, preview) = app.post("/api/v1/collections/notes/import/preview", &t.admin_token, body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{preview}");
    assert_eq!((preview["valid"].as_u64(), preview["invalid"].as_u64()), (Some(2), Some(3)), "{preview}");
    assert_eq!(preview["columns"][4], json!({"column": "備考", "field": null}), "an unknown column is ignored");
    let problems = preview["problems"].as_array().unwrap();
    let at = |line: u64| problems.iter().filter(|p| p["line"] == line).map(|p| p["column"].clone()).collect::<Vec<_>>();
    assert_eq!(at(3), [json!("件名")], "the required title is missing");
    assert_eq!(at(4), [json!("点数")]);
    assert_eq!(at(5), [json!("期限"), json!("プラン")], "every problem of the row");
    assert_eq!(
        preview["preview"][0]["values"],
        json!({"title": "正しい行", "points": 1.0, "due": "2026-01-01", "plan": "free"})
    );

    let (s, refused) = app.post("/api/v1/collections/notes/import", &t.admin_token, body.clone()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["errors"].as_array().unwrap().len(), 4, "{refused}");
    assert!(records_of(&app, &t, "notes").await.is_empty(), "nothing was written");
    assert!(audit(&app, &t, "record.import").await.is_empty());

    // Only the valid rows, on request; the would-be formula is stored as the text it is.
    let mut only_valid = body;
    only_valid["valid_only"] = json!(true);
    let (s, report) = app.post("/api/v1/collections/notes/import", &t.admin_token, only_valid).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    let titles: Vec<Value> = records_of(&app, &t, "notes").await.iter().map(|r| r["title"].clone()).collect();
    assert_eq!(titles, [json!("=cmd|' /C calc'!A0"), json!("正しい行")], "newest first");
    let entry = &audit(&app, &t, "record.import").await[0];
    assert!(entry["detail"].as_str().unwrap().contains("inserted=2 updated=0 skipped=3"), "{entry}");
    let (_, _, bytes) = download(&app, "/api/v1/collections/notes/export?format=csv-utf8", &t.admin_token).await;
    assert!(String::from_utf8(bytes).unwrap().contains("'=cmd|' /C calc'!A0"), "neutralised on the way out");
}

#[tokio::test]
async fn dat_6_upsert_by_key_updates_matching_records_and_inserts_the_others() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    create_notes(&app, &t, "notes").await;
    for (title, points) in [("A-001", 1), ("A-002", 2)] {
        let (s, _) = app
            .post(
                "/api/v1/collections/notes/records",
                &t.admin_token,
                json!({"title": title, "points": points, "body": "残す"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let text = "title,points\nA-002,20\nA-003,30\n";
    let body = json!({"file": b64(text.as_bytes()), "mode": "upsert", "key": "title"});
    let (s, report) = app.post("/api/v1/collections/notes/import", &t.admin_token, body).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!((report["inserted"].as_u64(), report["updated"].as_u64()), (Some(1), Some(1)));
    let records = records_of(&app, &t, "notes").await;
    assert_eq!(
        records,
        [
            json!({"title": "A-003", "points": 30.0}),
            json!({"title": "A-002", "points": 20.0, "body": "残す"}),
            json!({"title": "A-001", "points": 1.0, "body": "残す"}),
        ],
        "columns not in the file keep their values"
    );
    let entry = &audit(&app, &t, "record.import").await[0];
    assert!(entry["detail"].as_str().unwrap().contains("mode=upsert:title inserted=1 updated=1"), "{entry}");
    // A key twice in one file is a problem of the second row.
    let text = "title,points\nA-009,1\nA-009,2\n";
    let body = json!({"file": b64(text.as_bytes()), "mode": "upsert", "key": "title"});
    let (s, refused) = app.post("/api/v1/collections/notes/import", &t.admin_token, body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("line 2"), "{refused}");
}

#[tokio::test]
async fn dat_6_bad_files_get_a_clear_4xx_and_change_nothing() {
    let app = crate::helpers::spawn_app_with(|s| s.limits.import_max_bytes = 4096).await;
    let t = app.tenant("acme").await;
    create_notes(&app, &t, "notes").await;
    let post = |body: Value| {
        let app = &app;
        let token = t.admin_token.clone();
        async move { app.post("/api/v1/collections/notes/import", &token, body).await }
    };
    let cases = [
        (json!({"file": b64(b"PK\x03\x04\x14\x00\x06\x00binary")}), "not a text file"),
        (json!({"file": b64("本文\nだけ\n".as_bytes())}), "no column for the required field 件名 (title)"),
        (json!({"file": b64(&vec![b'a'; 5000])}), "larger than the limit of 4096 bytes"),
        (json!({"file": "###"}), "base64"),
        (json!({"file": b64(b"title\nx\n"), "mode": "upsert"}), "key field"),
        (json!({"file": b64(b"title\nx\n"), "columns": {"nosuch": "title"}}), "column the file does not have"),
    ];
    for (body, expected) in cases {
        let (s, problem) = post(body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains(expected), "{expected}: {problem}");
    }
    let (s, _) = app.send("POST", "/api/v1/collections/notes/import", Some(&t.admin_token), None).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(records_of(&app, &t, "notes").await.is_empty());
    assert!(audit(&app, &t, "record.import").await.is_empty());
    // Without records.write, or without pii.read on a collection with personal information.
    let reader = api_key(&app, &t, "reader", &["records.read", "records.export"]).await;
    let (s, _) = app.post("/api/v1/collections/notes/import", &reader, json!({"file": b64(b"title\nx\n")})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let writer = api_key(&app, &t, "writer", &["records.read", "records.write"]).await;
    let (s, body) = app.post("/api/v1/collections/notes/import", &writer, json!({"file": b64(b"title\nx\n")})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("pii.read"), "{body}");
}

/// A `multipart/form-data` body: text fields, then the file (if any).
pub(crate) fn multipart(fields: &[(&str, &str)], file: Option<&[u8]>) -> (String, Vec<u8>) {
    let boundary = "kura-test-boundary-7d3f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some(bytes) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\nContent-Type: text/csv\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn dat_6_console_previews_a_shift_jis_file_lets_the_mapping_be_corrected_and_imports_it() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    create_notes(&app, &t, "notes").await;
    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;
    console.get("/console/lang?to=ja&back=/console").await;
    let list = console.get("/console/collections/notes").await;
    assert!(list.body.contains("href=\"/console/collections/notes/import\""));
    let form = console.get("/console/collections/notes/import").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("メモ帳へのインポート") && form.body.contains("enctype=\"multipart/form-data\""));
    let token = crate::console_client::csrf_of(&form.body);
    // 「タイトル」 is no field's label: the preview says so, and the mapping corrects it.
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("タイトル,点数\r\nﾃｽﾄ,abc\r\n山田,5\r\n");
    let post = |fields: Vec<(&'static str, String)>, file: Option<Vec<u8>>| {
        let console = &console;
        let base = app.address.clone();
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (kind, body) = multipart(&f, file.as_deref());
            let resp = console
                .client
                .post(format!("{base}/console/collections/notes/import"))
                .header("content-type", kind)
                .header("origin", base.clone())
                .body(body)
                .send()
                .await
                .unwrap();
            Console::read(resp).await
        }
    };
    let first = post(vec![("_csrf", token.clone()), ("step", "preview".into())], Some(bytes.to_vec())).await;
    assert_eq!(first.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", first.body);
    assert!(first.body.contains("必須項目「件名」（title）の列がありません"), "{}", first.body);
    assert!(records_of(&app, &t, "notes").await.is_empty());

    // The mapping corrected, with the file chosen again: the preview keeps it on the server and
    // the page carries a token naming it, not the file.
    let mapping = vec![
        ("_csrf", token.clone()),
        ("map:タイトル", "title".into()),
        ("map:点数", "points".into()),
        ("step", "preview".into()),
    ];
    let preview = post(mapping.clone(), Some(bytes.to_vec())).await;
    assert_eq!(preview.status, StatusCode::UNPROCESSABLE_ENTITY, "a row has a problem: {}", preview.body);
    let upload = crate::console_client::attr_in_tag(&preview.body, "name=\"upload\"", "value");
    assert!(!preview.body.contains(&b64(&bytes)), "the page does not carry the file");
    let mut mapped = mapping;
    mapped.push(("upload", upload.clone()));
    let preview = post(mapped.clone(), None).await;
    assert_eq!(preview.status, StatusCode::UNPROCESSABLE_ENTITY, "a row has a problem: {}", preview.body);
    assert!(preview.body.contains("2行中、正しい行は1行"), "{}", preview.body);
    assert!(preview.body.contains("ﾃｽﾄ") || preview.body.contains("山田"), "the rows as they will be stored");
    assert!(!preview.body.contains("value=\"import\""), "no import while a row is wrong");
    let mut skip = mapped.clone();
    skip.push(("valid_only", "on".into()));
    let preview = post(skip.clone(), None).await;
    assert_eq!(preview.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(preview.body.contains("1行をインポート"), "{}", preview.body);
    assert!(records_of(&app, &t, "notes").await.is_empty(), "previews write nothing");
    let mut import = skip;
    import.retain(|(k, _)| *k != "step");
    import.push(("step", "import".into()));
    let done = post(import, None).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("インポートしました（追加1件・更新0件）"), "{}", done.body);
    assert_eq!(records_of(&app, &t, "notes").await, [json!({"title": "山田", "points": 5.0})]);
    // Without the form token, nothing happens.
    let kept = app.data_dir().join("exports/imports");
    assert_eq!(std::fs::read_dir(&kept).unwrap().count(), 0, "the import deleted the kept file");
    let refused = post(vec![("upload", upload), ("step", "import".into())], None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(audit(&app, &t, "record.import").await.len(), 1);
}

/// Peak resident memory of this process since the last reset, in KiB (Linux).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The export rate for 100,000 records, and the memory it takes beyond the collection's
/// snapshot (docs/PERFORMANCE.md). Not a pass/fail test:
/// `cargo test --release -p kura-server --test api dat_5_measure -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement, run by hand"]
async fn dat_5_measure_export_rate_and_memory_for_100000_records() {
    const N: usize = 100_000;
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let store = &app.state.store;
    let tenant = store.tenant_by_slug(&kura_domain::Slug::parse("acme").unwrap()).await.unwrap().unwrap();
    let key = kura_domain::Key::parse("notes").unwrap();
    let c = store.collection_by_name(tenant.id, &key).await.unwrap().unwrap();
    let started = std::time::Instant::now();
    let mut w = store.begin(kura_domain::AuditScope::Tenant(tenant.id), crate::helpers::cli_actor()).await.unwrap();
    for i in 0..N {
        let input = json!({"title": format!("顧客 {i} 山田 太郎"), "body": "東京都千代田区丸の内１－２－３, \"本社\"",
            "owner": "佐藤 花子", "points": i, "due": "2026-12-24", "done": i % 2 == 0, "plan": "premium"});
        let data = c.validate(input.as_object().unwrap(), kura_domain::WriteMode::Create, None).unwrap();
        w.insert_record(tenant.id, c.id, &data).await.unwrap();
    }
    w.commit(kura_domain::AuditRecord::success(kura_domain::Operation::RecordCreate, "collection:notes"))
        .await
        .unwrap();
    eprintln!("seeded {N} records in {:.1} s", started.elapsed().as_secs_f64());
    // Load the snapshot (what listings share), then measure the export's own peak.
    let (s, _) = app.get("/api/v1/collections/notes/records?per_page=1", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    let mut csv_file = Vec::new();
    for format in ["csv", "csv-sjis", "jsonl"] {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = peak_rss_kib();
        let started = std::time::Instant::now();
        let mut resp = app
            .client
            .get(format!("{}/api/v1/collections/notes/export?format={format}", app.address))
            .bearer_auth(&t.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let mut bytes = 0usize;
        while let Some(chunk) = resp.chunk().await.unwrap() {
            bytes += chunk.len();
            if format == "csv" {
                csv_file.extend_from_slice(&chunk);
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let peak = peak_rss_kib();
        eprintln!(
            "export {format}: {N} records, {:.1} MiB in {secs:.2} s = {:.0} records/s; process peak {:.1} MiB \
             (at start {:.1} MiB, +{:.1} MiB)",
            bytes as f64 / 1048576.0,
            N as f64 / secs,
            peak as f64 / 1024.0,
            before as f64 / 1024.0,
            peak.saturating_sub(before) as f64 / 1024.0
        );
    }
    // Import the CSV export into a new collection, through the API (preview, then import).
    create_notes(&app, &t, "copy").await;
    let body = json!({"file": b64(&csv_file)});
    drop(csv_file);
    for step in ["import/preview", "import"] {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = peak_rss_kib();
        let started = std::time::Instant::now();
        let (s, report) = app.post(&format!("/api/v1/collections/copy/{step}"), &t.admin_token, body.clone()).await;
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(s, StatusCode::OK, "{report}");
        assert_eq!(report["valid"], N + 5, "the seeded records and the five of `notes`");
        let peak = peak_rss_kib();
        eprintln!(
            "{step}: {N} records in {secs:.2} s = {:.0} records/s; process peak {:.1} MiB (at start {:.1} MiB, +{:.1} MiB)",
            N as f64 / secs,
            peak as f64 / 1024.0,
            before as f64 / 1024.0,
            peak.saturating_sub(before) as f64 / 1024.0
        );
    }
}
