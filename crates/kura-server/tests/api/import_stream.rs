//! Imports of files sent as the request body and streamed to disk, and the console's kept
//! uploads between preview and import (DAT-6).

use crate::console_client::{Console, attr_in_tag, csrf_of};
use crate::helpers::{PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::transfer::{audit, b64, create_notes, multipart, records_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Sends `body` as the file itself, with `query` as the import's choices.
async fn send_file(
    app: &TestApp,
    token: &str,
    path: &str,
    content_type: &str,
    query: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(token)
        .header("content-type", content_type)
        .query(query)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn total(app: &TestApp, token: &str, name: &str) -> u64 {
    let (s, page) = app.get(&format!("/api/v1/collections/{name}/records?per_page=1"), token).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["total"].as_u64().unwrap()
}

#[tokio::test]
async fn dat_6_a_file_sent_as_the_request_body_is_streamed_and_imported_with_its_choices_in_the_query() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    create_notes(&app, &t, "notes").await;
    // Shift_JIS with half-width katakana, several times the size of one read chunk, so that
    // characters straddle the chunks' boundaries; 「タイトル」 is mapped by the query.
    let mut text = String::from("タイトル,点数,期限\r\n");
    for i in 0..8000 {
        text.push_str(&format!("山田 ﾀﾛｳ　{i},{i},2026-12-24\r\n"));
    }
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    let sjis = sjis.to_vec();
    assert!(sjis.len() > 2 * 64 * 1024);
    let digest = kura_crypto::hex(&kura_crypto::sha256(&sjis));
    let columns = json!({"タイトル": "title"}).to_string();
    let query = [("columns", columns.as_str())];
    let path = "/api/v1/collections/notes/import";
    let (s, preview) =
        send_file(&app, &t.admin_token, &format!("{path}/preview"), "text/csv", &query, sjis.clone()).await;
    assert_eq!(s, StatusCode::OK, "{preview}");
    assert_eq!((preview["rows"].as_u64(), preview["valid"].as_u64()), (Some(8000), Some(8000)), "{preview}");
    assert_eq!((preview["encoding"].as_str(), preview["sha256"].as_str()), (Some("Shift_JIS"), Some(digest.as_str())));
    assert_eq!(preview["preview"].as_array().unwrap().len(), 20, "the first rows only");
    assert_eq!(preview["preview"][0]["values"]["title"], "山田 ﾀﾛｳ　0");
    assert_eq!(total(&app, &t.admin_token, "notes").await, 0, "a preview writes nothing");
    let (s, report) = send_file(&app, &t.admin_token, path, "text/csv", &query, sjis).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!((report["inserted"].as_u64(), report["written"].as_bool()), (Some(8000), Some(true)));
    assert_eq!(total(&app, &t.admin_token, "notes").await, 8000);
    let entries = audit(&app, &t, "record.import").await;
    assert_eq!(entries.len(), 1, "one entry for the whole file");
    let detail = entries[0]["detail"].as_str().unwrap();
    assert_eq!(
        detail,
        format!("format=csv encoding=Shift_JIS mode=insert inserted=8000 updated=0 skipped=0 sha256={digest}")
    );

    // JSON Lines as the body, upserting by the title: one row updates, one inserts.
    let jsonl = "{\"title\": \"山田 ﾀﾛｳ　1\", \"points\": 99}\n\n{\"title\": \"新規\", \"points\": 1}\n";
    let query = [("format", "jsonl"), ("mode", "upsert"), ("key", "title")];
    let (s, report) = send_file(&app, &t.admin_token, path, "application/jsonl", &query, jsonl.into()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!((report["inserted"].as_u64(), report["updated"].as_u64()), (Some(1), Some(1)), "{report}");
    assert_eq!(total(&app, &t.admin_token, "notes").await, 8001);

    // A bad row anywhere refuses the whole file, streamed or not.
    let mut bad = String::from("title,points\n");
    for i in 0..3000 {
        bad.push_str(&format!("行 {i},{}\n", if i == 2999 { "abc".to_owned() } else { i.to_string() }));
    }
    let (s, problem) = send_file(&app, &t.admin_token, path, "text/csv", &[], bad.into_bytes()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["errors"].to_string().contains("line 3001: points"), "{problem}");
    assert_eq!(total(&app, &t.admin_token, "notes").await, 8001);
    assert_eq!(audit(&app, &t, "record.import").await.len(), 2);
}

/// A bad upload: content type, query, body, the status and a part of the message expected.
type Case = (&'static str, Vec<(&'static str, &'static str)>, Vec<u8>, StatusCode, &'static str);

#[tokio::test]
async fn dat_6_bad_streamed_uploads_get_a_clear_4xx_and_change_nothing() {
    let app = spawn_app_with(|s| s.limits.import_max_bytes = 4096).await;
    let t = app.tenant("acme").await;
    create_notes(&app, &t, "notes").await;
    let path = "/api/v1/collections/notes/import";
    let sjis = encoding_rs::SHIFT_JIS.encode("title\r\nｶﾅ\r\n").0.to_vec();
    let cases: Vec<Case> = vec![
        ("text/csv", vec![], vec![b'a'; 5000], StatusCode::BAD_REQUEST, "larger than the limit of 4096 bytes"),
        (
            "application/octet-stream",
            vec![],
            b"PK\x03\x04\x14\x00binary".to_vec(),
            StatusCode::BAD_REQUEST,
            "not a text file",
        ),
        ("text/csv", vec![("encoding", "utf8")], sjis, StatusCode::BAD_REQUEST, "not valid UTF-8 text"),
        ("text/csv", vec![("columns", "title")], b"title\nx\n".to_vec(), StatusCode::BAD_REQUEST, "JSON object"),
        ("text/csv", vec![("nosuch", "1")], b"title\nx\n".to_vec(), StatusCode::BAD_REQUEST, "invalid query"),
        ("text/csv", vec![("mode", "upsert")], b"title\nx\n".to_vec(), StatusCode::BAD_REQUEST, "key field"),
        ("application/xml", vec![], b"<x/>".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "text/csv"),
    ];
    for (kind, query, body, status, expected) in cases {
        let (s, problem) = send_file(&app, &t.admin_token, path, kind, &query, body).await;
        assert_eq!(s, status, "{expected}: {problem}");
        assert!(problem["detail"].as_str().unwrap_or("").contains(expected), "{expected}: {problem}");
    }
    // The choices of a JSON body go in the body.
    let resp = app
        .client
        .post(format!("{}{path}?mode=upsert", app.address))
        .bearer_auth(&t.admin_token)
        .json(&json!({"file": b64(b"title\nx\n")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(records_of(&app, &t, "notes").await.is_empty());
    assert!(audit(&app, &t, "record.import").await.is_empty());
}

#[tokio::test]
async fn dat_6_the_console_keeps_a_previewed_file_for_its_owner_an_hour_and_deletes_it_after_the_import() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    create_notes(&app, &t, "notes").await;
    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;
    console.get("/console/lang?to=ja&back=/console").await;
    let token = csrf_of(&console.get("/console/collections/notes/import").await.body);
    let kept = app.data_dir().join("exports/imports");
    let files = || std::fs::read_dir(&kept).map(|d| d.count()).unwrap_or(0);
    let post = |console: &Console, fields: Vec<(&'static str, String)>, file: Option<Vec<u8>>| {
        let console = console.client.clone();
        let base = app.address.clone();
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (kind, body) = multipart(&f, file.as_deref());
            let resp = console
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
    let csv = "件名,点数\r\n山田,5\r\n佐藤,6\r\n".as_bytes().to_vec();
    let preview = post(&console, vec![("_csrf", token.clone()), ("step", "preview".into())], Some(csv.clone())).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    let upload = attr_in_tag(&preview.body, "name=\"upload\"", "value");
    assert_eq!(files(), 1, "the previewed file is kept");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&kept).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o700);
    for entry in std::fs::read_dir(&kept).unwrap() {
        let mode = std::os::unix::fs::PermissionsExt::mode(&entry.unwrap().metadata().unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
    }

    // Someone else, even with the token, gets nothing: the file is named for its owner.
    let other = app.tenant("beta").await;
    create_notes(&app, &other, "notes").await;
    let stranger = Console::new(&app);
    stranger.login("beta", &other.admin_email, PASSWORD).await;
    stranger.get("/console/lang?to=ja&back=/console").await;
    let theirs = csrf_of(&stranger.get("/console/collections/notes/import").await.body);
    let fields = vec![("_csrf", theirs), ("upload", upload.clone()), ("step", "import".into())];
    let refused = post(&stranger, fields, None).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("もう一度ファイルを選んでください"), "{}", refused.body);
    assert!(records_of(&app, &other, "notes").await.is_empty());

    // Its owner imports it within the hour; the import deletes it.
    app.clock.advance(jiff::SignedDuration::from_mins(59));
    let fields = vec![("_csrf", token.clone()), ("upload", upload.clone()), ("step", "import".into())];
    let done = post(&console, fields.clone(), None).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(records_of(&app, &t, "notes").await.len(), 2);
    assert_eq!(files(), 0, "the import deleted the kept file");
    let again = post(&console, fields, None).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "used once: {}", again.body);
    assert_eq!(records_of(&app, &t, "notes").await.len(), 2);

    // A preview left alone is deleted once its hour is up, by the next upload or the export
    // worker's pass.
    let preview = post(&console, vec![("_csrf", token.clone()), ("step", "preview".into())], Some(csv)).await;
    let upload = attr_in_tag(&preview.body, "name=\"upload\"", "value");
    assert_eq!(files(), 1);
    app.clock.advance(jiff::SignedDuration::from_mins(61));
    kura_server::service::transfer::worker::run_pass(&app.state).await.unwrap();
    assert_eq!(files(), 0, "swept once its time was up");
    // Signed in again (the session ended meanwhile), the token names nothing any more.
    console.login("acme", &t.admin_email, PASSWORD).await;
    let token = csrf_of(&console.get("/console/collections/notes/import").await.body);
    let t = crate::helpers::TenantFixture { admin_token: app.login("acme", &t.admin_email, PASSWORD).await, ..t };
    let late = post(&console, vec![("_csrf", token), ("upload", upload), ("step", "import".into())], None).await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(records_of(&app, &t, "notes").await.len(), 2);
    assert_eq!(audit(&app, &t, "record.import").await.len(), 1);
}
