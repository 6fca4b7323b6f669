//! The console as a back office uses it, over HTTP: the records table (paging, page sizes,
//! columns), the filter builder, explanations in the reader's language, the record page with its
//! history, forgiving input and duplicate warnings, the operation log's filters, the dashboard,
//! and the operator's tenant page with suspension and contract dates (TEN-1).

use crate::console_client::*;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

/// A customers collection with every kind of field, `n` records, and a console signed in (ja).
async fn customers(app: &TestApp, t: &TenantFixture, n: usize) -> Console {
    let spec = json!({
        "name": "customers", "label": "顧客",
        "fields": [
            {"name": "name", "label": "氏名", "type": "text", "required": true, "pii": true},
            {"name": "kana", "label": "フリガナ", "type": "text", "pii": true, "rules": {"charset": "katakana"}},
            {"name": "email", "label": "メール", "type": "email", "pii": true, "warn_duplicates": true},
            {"name": "phone", "label": "電話番号", "type": "phone"},
            {"name": "points", "label": "ポイント", "type": "number", "rules": {"min": 0}},
            {"name": "joined", "label": "入会日", "type": "date"},
            {"name": "plan", "label": "プラン", "type": "choice", "choices": ["free", "premium"],
             "choice_labels": {"free": "フリー", "premium": "プレミアム"}},
            {"name": "note", "label": "備考", "type": "long_text"}
        ]
    });
    let (s, body) = app.post("/api/v1/collections", &t.admin_token, spec).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    for i in 0..n {
        let record = json!({
            "name": format!("顧客{i:03}"), "email": format!("c{i}@example.jp"), "phone": "070-5055-5921",
            "points": i * 10, "joined": "2026-04-01", "plan": if i % 2 == 0 { "free" } else { "premium" },
            "note": "長い備考".repeat(30)
        });
        let (s, body) = app.post("/api/v1/collections/customers/records", &t.admin_token, record).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let c = Console::new(app);
    c.login(&t.slug, &t.admin_email, PASSWORD).await;
    assert!(c.get("/console/lang?to=ja&back=/console").await.status.is_redirection());
    c
}

fn no_english(page: &Page, what: &str) {
    let found = english_sentences(&page.body);
    assert!(found.is_empty(), "{what}: untranslated text on a Japanese page: {found:?}");
}

#[tokio::test]
async fn pub_2_console_records_pages_are_clamped_and_sized() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = customers(&app, &t, 25).await;
    let page = c.get("/console/collections/customers?per_page=20&page=99").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("全25件中 21〜25件を表示"), "the last page instead of an empty one");
    assert!(page.body.contains(r#"<span class="page current" aria-current="page">2</span>"#));
    assert!(!page.body.contains("4901"));
    // Only the offered sizes are taken; others fall back to 50.
    let all = c.get("/console/collections/customers?per_page=500").await;
    assert!(all.body.contains("全25件中 1〜25件を表示"));
    // Short values are marked never to wrap, long text is cut with its whole value as the title.
    assert!(page.body.contains(r#"<td class="c-phone" data-label="電話番号"><span class="v">070-5055-5921</span>"#));
    assert!(page.body.contains(r#"class="c-num""#) && page.body.contains(r#"class="c-date""#));
    assert!(page.body.contains(r#"class="c-long" data-label="備考" title="長い備考長い備考"#));
    assert!(page.body.contains("プレミアム") && !page.body.contains(">premium<"), "choices by their labels");
    no_english(&page, "records");
}

#[tokio::test]
async fn pub_2_console_explains_filter_mistakes_beside_the_filter_and_keeps_the_table() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = customers(&app, &t, 3).await;
    let page = c.get("/console/collections/customers?filter=plan%20%3D%20%27pre").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("引用符が閉じていません。"), "{}", page.body);
    assert!(page.body.contains("この条件を外して表示しています。"));
    assert!(page.body.contains("table class=\"data records\"") && page.body.contains("顧客002"), "the table stays");
    no_english(&page, "bad filter");
    let unknown = c.get("/console/collections/customers?filter=nosuch%20%3D%201").await;
    assert!(unknown.body.contains("「nosuch」という項目はありません。"));
    let en = c.get_in("/console/lang?to=en&back=/console", "en").await;
    assert!(en.status.is_redirection());
    let page = c.get("/console/collections/customers?filter=plan%20%3D%20%27pre").await;
    assert!(page.body.contains("A quotation mark is not closed.") && !page.body.contains("invalid query"));

    // A viewer cannot filter or sort on personal information, and is told so in their words.
    let viewer = json!({"email": "v@acme.example.jp", "display_name": "閲覧", "role": "viewer", "password": PASSWORD});
    assert_eq!(app.post("/api/v1/users", &t.admin_token, viewer).await.0, StatusCode::CREATED);
    let v = Console::new(&app);
    v.login("acme", "v@acme.example.jp", PASSWORD).await;
    v.get("/console/lang?to=ja&back=/console").await;
    let page = v.get("/console/collections/customers?filter=email%20~%20%27c1%27").await;
    assert!(page.body.contains("「メール」は個人情報のため"), "{}", page.body);
    assert!(!page.body.contains("c1@example.jp"));
    let sorted = v.get("/console/collections/customers?sort=email").await;
    assert!(sorted.body.contains("「メール」は個人情報のため"), "{}", sorted.body);
    no_english(&sorted, "pii sort");
}

#[tokio::test]
async fn pub_2_console_filter_builder_offers_what_fits_each_type() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = customers(&app, &t, 12).await;
    // Step 1 lists the fields; step 2 the operators of the field's type and an input of its kind.
    let step1 = c.get("/console/collections/customers?bf=").await.body;
    assert!(step1.contains(r#"<option value="points">ポイント</option>"#));
    let step2 = c.get("/console/collections/customers?bf=points").await.body;
    assert!(step2.contains(r#"<option value="&gt;=">以上</option>"#) && !step2.contains(r#"value="~""#));
    assert!(step2.contains(r#"name="bv" inputmode="decimal""#) || step2.contains(r#"inputmode="decimal" name="bv""#));
    let date = c.get("/console/collections/customers?bf=joined").await.body;
    assert!(date.contains(r#"type="date" name="bv""#) && date.contains(">以降<"));
    let choice = c.get("/console/collections/customers?bf=plan").await.body;
    assert!(choice.contains(r#"<option value="premium">プレミアム</option>"#));

    // Adding a condition (a full-width number is read as the field's type expects) leads to the
    // listing it makes, in the filter language.
    let added = c.get("/console/collections/customers?bf=points&bo=%3E%3D&bv=%EF%BC%91%EF%BC%90%EF%BC%90").await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let location = added.location.unwrap();
    assert_eq!(location, "/console/collections/customers?filter=points%20%3E%3D%20100");
    let more = c.get(&format!("{location}&bf=plan&bo=%3D&bv=premium")).await.location.unwrap();
    let listed = c.get(&more).await.body;
    assert!(listed.contains("「ポイント」が 100 以上") && listed.contains("「プラン」が プレミアム"));
    assert!(listed.contains("全1件中"), "only 110 is ≥ 100 and premium");
    // Each condition can be removed on its own.
    assert!(listed.contains(r#"href="/console/collections/customers?filter=plan%20%3D%20%27premium%27""#));
    let wrong = c.get("/console/collections/customers?bf=points&bo=%3E&bv=%E3%81%9F%E3%81%8F%E3%81%95%E3%82%93").await;
    assert_eq!(wrong.status, StatusCode::OK);
    assert!(wrong.body.contains("数値を入力してください（例：100）。"));
    // The advanced box's example is made from this collection's fields.
    assert!(step1.contains("<code>name ~ '東京' &amp;&amp; email ~ '@example.jp'</code>"), "the example");
}

#[tokio::test]
async fn log_1_console_record_page_shows_history_and_names_the_record() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = customers(&app, &t, 0).await;
    let new = "/console/collections/customers/records/new";
    let created = c.submit(new, new, &[("name", "山田花子"), ("points", "5")]).await;
    let at = created.location.unwrap();
    let record = at.split('?').next().unwrap().to_owned();
    let view = c.get(&at).await;
    assert!(view.body.contains("<h1>山田花子</h1>"), "titled with its display field");
    assert!(view.body.contains("「山田花子」を登録しました。"));
    assert!(view.body.contains(&format!(r#"href="{record}/edit""#)));
    let edit = format!("{record}/edit");
    let saved = c.submit(&edit, &record, &[("name", "山田花子"), ("points", "１，２００"), ("plan", "premium")]).await;
    assert_eq!(saved.location.as_deref(), Some(format!("{record}?done=saved").as_str()));
    let view = c.get(&format!("{record}?done=saved")).await;
    assert!(view.body.contains("「山田花子」の変更を保存しました。"));
    assert!(view.body.contains("1,200") && view.body.contains("プレミアム"));
    assert!(view.body.contains("変更履歴") && view.body.contains("レコード変更") && view.body.contains("レコード作成"));
    assert!(view.body.contains("変更した項目: ポイント、プラン"), "{}", view.body);
    no_english(&view, "record page");
    let confirm = c.get(&format!("{record}/delete")).await;
    assert!(confirm.body.contains("レコード「山田花子」を削除してもよろしいですか？"));

    // A reader without pii.read sees the history but neither the name nor its title.
    let viewer = json!({"email": "v@acme.example.jp", "display_name": "閲覧", "role": "viewer", "password": PASSWORD});
    app.post("/api/v1/users", &t.admin_token, viewer).await;
    let v = Console::new(&app);
    v.login("acme", "v@acme.example.jp", PASSWORD).await;
    let seen = v.get_in(&record, "ja").await.body;
    assert!(!seen.contains("山田花子") && seen.contains("レコード変更") && !seen.contains("/edit\""));
}

#[tokio::test]
async fn pub_2_console_forgives_full_width_input_and_keeps_what_was_refused() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = customers(&app, &t, 0).await;
    let new = "/console/collections/customers/records/new";
    let fields = [
        ("name", "佐藤 一郎"),
        ("kana", "ｻﾄｳ ｲﾁﾛｳ"),
        ("email", "ｓａｔｏ＠example.jp"),
        ("phone", "０３ー１２３４－５６７８"),
        ("points", "１２００"),
    ];
    let created = c.submit(new, new, &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let (_, list) = app.get("/api/v1/collections/customers/records", &t.admin_token).await;
    let data = &list["items"][0]["data"];
    assert_eq!(data["kana"], "サトウ イチロウ");
    assert_eq!(data["email"], "sato@example.jp");
    assert_eq!(data["phone"], "03-1234-5678");
    assert_eq!(data["points"], 1200.0);
    // A number that is not one comes back as typed, with the reason beside it; number and email
    // inputs are text inputs, so the browser never empties them.
    let refused = c.submit(new, new, &[("name", "佐藤 二郎"), ("points", "たくさん")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains(r#"value="たくさん""#) && refused.body.contains("正しい形式で入力してください。"));
    assert!(
        refused.body.contains(r#"name="points" value="たくさん" inputmode="decimal""#)
            || refused.body.contains(r#"type="text" name="points""#)
    );
    assert!(!refused.body.contains(r#"type="number" name="points""#) && !refused.body.contains(r#"type="email""#));
}

#[tokio::test]
async fn pub_2_console_warns_about_a_possible_duplicate_before_saving() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = customers(&app, &t, 2).await;
    let new = "/console/collections/customers/records/new";
    // The same address, typed in capitals and full-width: warned about, nothing saved yet.
    let warned = c.submit(new, new, &[("name", "重複 太郎"), ("email", "Ｃ1@EXAMPLE.JP")]).await;
    assert_eq!(warned.status, StatusCode::OK);
    assert!(warned.body.contains("同じ内容のレコードがすでに登録されている可能性があります。"));
    assert!(warned.body.contains("「メール」が同じ（1件）") && warned.body.contains("顧客001"));
    assert!(warned.body.contains(r#"name="_duplicates_ok""#) && warned.body.contains("重複 太郎"));
    let (_, list) = app.get("/api/v1/collections/customers/records", &t.admin_token).await;
    assert_eq!(list["total"], 2, "nothing was saved");
    let saved =
        c.submit(new, new, &[("name", "重複 太郎"), ("email", "Ｃ1@EXAMPLE.JP"), ("_duplicates_ok", "1")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get("/api/v1/collections/customers/records", &t.admin_token).await.1["total"], 3);
    // Editing a record without changing the address (however it is typed) does not warn again.
    let record = saved.location.unwrap().split('?').next().unwrap().to_owned();
    let again =
        c.submit(&format!("{record}/edit"), &record, &[("name", "重複 次郎"), ("email", "c1@example.jp")]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
}

#[tokio::test]
async fn console_columns_are_remembered_per_user_and_collection() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = customers(&app, &t, 3).await;
    let list = "/console/collections/customers";
    let saved = c
        .submit(list, "/console/collections/customers/columns", &[("col", "points"), ("col", "plan"), ("back", list)])
        .await;
    assert_eq!(saved.location.as_deref(), Some(list));
    let page = c.get(list).await.body;
    assert!(page.contains(r#"data-label="ポイント""#) && !page.contains(r#"data-label="電話番号""#));
    let none = c.submit(list, "/console/collections/customers/columns", &[("back", list)]).await;
    assert_eq!(none.location.as_deref(), Some("/console/collections/customers?colerr=1"));
    assert!(
        c.get("/console/collections/customers?colerr=1").await.body.contains("表示する列を1つ以上選んでください。")
    );
    // Another user still sees the usual columns; the choice is in the log.
    let editor = json!({"email": "e@acme.example.jp", "display_name": "編集", "role": "editor", "password": PASSWORD});
    app.post("/api/v1/users", &t.admin_token, editor).await;
    let other = Console::new(&app);
    other.login("acme", "e@acme.example.jp", PASSWORD).await;
    assert!(other.get(list).await.body.contains(r#"data-label="電話番号""#));
    let (_, log) = app.get("/api/v1/audit?operation=view.update", &t.admin_token).await;
    assert_eq!(log[0]["detail"], "columns=points,plan");
    // A path elsewhere is not followed back.
    let away = c
        .submit(list, "/console/collections/customers/columns", &[("col", "points"), ("back", "//evil.example/")])
        .await;
    assert_eq!(away.location.as_deref(), Some(list));
}

#[tokio::test]
async fn console_messages_of_the_services_reach_pages_translated() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = customers(&app, &t, 0).await;
    let dup = c
        .submit("/console/collections/new", "/console/collections/new", &[("label", "顧客"), ("name", "customers")])
        .await;
    assert!(dup.body.contains("このコレクションIDはすでに使われています。"), "{}", dup.body);
    no_english(&dup, "duplicate collection");
    let user = c
        .submit(
            "/console/users/new",
            "/console/users/new",
            &[("email", &t.admin_email), ("display_name", "二人目"), ("role", "viewer"), ("password", "")],
        )
        .await;
    assert!(user.body.contains("このメールアドレスのユーザーはすでに登録されています。"), "{}", user.body);
    no_english(&user, "duplicate user");
    app.operator("ops@kura.example.jp").await;
    let op = Console::new(&app);
    op.operator_login(&app, "ops@kura.example.jp", PASSWORD, None).await;
    op.get("/console/lang?to=ja&back=/operator").await;
    let form = [
        ("display_name", "別会社"),
        ("slug", "acme"),
        ("time_zone", "Asia/Tokyo"),
        ("admin_name", "管理"),
        ("admin_email", "a@b.example.jp"),
    ];
    let taken = op.submit("/operator/tenants/new", "/operator/tenants/new", &form).await;
    assert!(taken.body.contains("このテナントIDはすでに使われています。"), "{}", taken.body);
    no_english(&taken, "duplicate tenant");
}

#[tokio::test]
async fn log_1_console_operation_log_filters_counts_and_reads_details() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = customers(&app, &t, 1).await;
    let wrong = [("tenant", "acme"), ("email", t.admin_email.as_str()), ("password", "wrong-password")];
    Console::new(&app).post("/console/login", &wrong).await;
    let all = c.get("/console/audit").await.body;
    assert!(all.contains("該当 ") && all.contains("日本時間 (Asia/Tokyo)"));
    // Only operations a tenant's log can hold are offered.
    assert!(all.contains(r#"<option value="record.create">"#) && !all.contains(r#"value="tenant.create""#));
    let failed = c.get("/console/audit?outcome=failure").await.body;
    assert!(failed.contains("該当 1件") && failed.contains("ログイン失敗"), "{failed}");
    let here = c.get("/console/audit?ip=127.0.0.1").await.body;
    assert!(here.contains(r#"data-label="IPアドレス">127.0.0.1</td>"#));
    assert!(!here.contains(r#"data-label="IPアドレス"></td>"#), "entries without an address are left out");
    let elsewhere = c.get("/console/audit?ip=192.0.2.9").await.body;
    assert!(elsewhere.contains("該当 0件"));
    let reversed = c.get("/console/audit?from=2026-11-23T09%3A00&to=2026-11-22T09%3A00").await;
    assert!(reversed.body.contains("終了日時が開始日時より前になっています。期間の指定は適用していません。"));
    assert!(!reversed.body.contains("該当 0件"), "the range is not applied");
    // Details read as lines with the fields' labels.
    assert!(
        all.contains("項目</span>: 氏名、フリガナ、メール、電話番号"),
        "fields by their labels, in the collection's order"
    );
    no_english(&c.get("/console/audit").await, "operation log");
}

#[tokio::test]
async fn console_dashboard_names_the_zone_and_counts_records_in_one_read() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = customers(&app, &t, 2).await;
    let dash = c.get("/console").await.body;
    assert!(dash.contains("日本時間 (Asia/Tokyo)") && dash.contains("はじめに設定しましょう"));
    assert!(dash.contains("ユーザーを招待する") && dash.contains("3件中1件完了"));
    assert!(dash.contains("セキュリティポリシーを確認する") && dash.contains("/console/settings/security"));
    // Saving the policy once, even unchanged, marks the review done.
    let (_, mut settings) = app.get("/api/v1/settings/security", &t.admin_token).await;
    settings.as_object_mut().unwrap().remove("against_nist");
    let (s, body) = app.send("PUT", "/api/v1/settings/security", Some(&t.admin_token), Some(settings)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(c.get("/console").await.body.contains("3件中2件完了"));
    let reads = |app: &TestApp| app.state.store.reads();
    let before = reads(&app);
    c.get("/console").await;
    let one = reads(&app) - before;
    for name in ["a", "b", "c", "d"] {
        app.post("/api/v1/collections", &t.admin_token, json!({"name": name, "label": name})).await;
    }
    let before = reads(&app);
    c.get("/console").await;
    assert_eq!(reads(&app) - before, one, "the dashboard reads as much with five collections as with one");
    // The list of records looks its collection up once.
    let before = reads(&app);
    c.get("/console/collections/customers").await;
    let list_reads = reads(&app) - before;
    // Every console page also reads the tenant's open break-glass accesses for its banner
    // (IAM-13): one indexed statement.
    assert!(list_reads <= 5, "session, break-glass banner, collection, snapshot, columns: {list_reads}");
}

pub(crate) async fn operator_console(app: &TestApp) -> Console {
    app.operator("ops@kura.example.jp").await;
    let op = Console::new(app);
    let (next, _) = op.operator_login(app, "ops@kura.example.jp", PASSWORD, None).await;
    assert_eq!(next, "/operator");
    op.get("/console/lang?to=ja&back=/operator").await;
    op
}

async fn tenant_page(app: &TestApp, slug: &str) -> String {
    let tenant = app.state.store.tenant_by_slug(&kura_domain::Slug::parse(slug).unwrap()).await.unwrap().unwrap();
    format!("/operator/tenants/{}", tenant.id)
}

#[tokio::test]
async fn ten_1_a_suspended_tenant_cannot_sign_in_and_says_why() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let key = json!({"name": "連携", "role": "viewer"});
    let (_, issued) = app.post("/api/v1/api-keys", &t.admin_token, key).await;
    let api_key = issued["token"].as_str().unwrap().to_owned();
    let user = Console::new(&app);
    user.login("acme", &t.admin_email, PASSWORD).await;
    let op = operator_console(&app).await;
    let page = tenant_page(&app, "acme").await;
    let list = op.get("/operator").await.body;
    assert!(list.contains(&format!(r#"href="{page}""#)) && list.contains("利用中"));
    let shown = op.get(&page).await.body;
    assert!(shown.contains("/console/login?tenant=acme") && shown.contains("日本時間 (Asia/Tokyo)"));
    let confirm = op.get(&format!("{page}/suspend")).await.body;
    assert!(confirm.contains("テナント「acme 株式会社」の利用を停止してもよろしいですか？"));
    let done = op.submit(&format!("{page}/suspend"), &format!("{page}/suspend"), &[]).await;
    assert_eq!(done.location.as_deref(), Some(format!("{page}?done=suspended").as_str()));
    assert!(op.get(&format!("{page}?done=suspended")).await.body.contains("テナントの利用を停止しました。"));

    // The session in use, a new sign-in and the API key are all refused, and say why.
    let refused = user.get_in("/console", "ja").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("このテナントは現在ご利用を停止しています。"));
    let again = Console::new(&app);
    let form = [("tenant", "acme"), ("email", t.admin_email.as_str()), ("password", PASSWORD)];
    let login = Console::read(
        again
            .client
            .post(format!("{}/console/login", app.address))
            .header("accept-language", "ja")
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
    assert!(login.body.contains("このテナントは現在ご利用を停止しています。"));
    // A wrong password learns nothing about the tenant.
    let wrong = [("tenant", "acme"), ("email", t.admin_email.as_str()), ("password", "wrong-password")];
    let guess = again.post("/console/login", &wrong).await;
    assert_eq!(guess.status, StatusCode::UNAUTHORIZED);
    assert!(!guess.body.contains("停止") && !guess.body.contains("suspended"));
    let (status, problem) = app.get("/api/v1/collections", &api_key).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(problem["detail"], "this tenant is suspended");

    // Resumed, everything works again; both changes are in the platform's log.
    let resumed = op.submit(&page, &format!("{page}/resume"), &[]).await;
    assert_eq!(resumed.location.as_deref(), Some(format!("{page}?done=resumed").as_str()));
    assert_eq!(app.get("/api/v1/collections", &api_key).await.0, StatusCode::OK);
    again.login("acme", &t.admin_email, PASSWORD).await;
    let platform = app.state.store.audit_entries(kura_domain::AuditScope::Platform, &Default::default()).await.unwrap();
    let details: Vec<_> = platform.iter().filter_map(|e| e.detail.clone()).collect();
    assert!(
        details.contains(&"status: active → suspended".to_owned())
            && details.contains(&"status: suspended → active".to_owned())
    );
    let (_, denied) = app.get("/api/v1/audit?operation=user.login_failed", &t.admin_token).await;
    assert!(
        denied
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["outcome"] == "denied" && e["detail"] == "this tenant is suspended")
    );
    // The refused session and key are in the tenant's own log, under who they were (LOG-1).
    let (_, refusals) = app.get("/api/v1/audit?operation=access.denied", &t.admin_token).await;
    let refusals = refusals.as_array().unwrap();
    for who in [t.admin_email.as_str(), "連携"] {
        assert!(
            refusals.iter().any(|e| e["actor"] == who && e["detail"] == "this tenant is suspended"),
            "{who}: {refusals:?}"
        );
    }
    app.verify_audit().await;
}

#[tokio::test]
async fn ten_1_contract_dates_are_enforced_at_sign_in_in_the_tenants_zone() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let op = operator_console(&app).await;
    let page = tenant_page(&app, "acme").await;
    // The clock is 2026-11-22 09:00 in Tokyo; the contract starts on 1 December.
    let form = [
        ("display_name", "アクメ株式会社"),
        ("time_zone", "Asia/Tokyo"),
        ("contract_start", "2026-12-01"),
        ("contract_end", "2027-03-31"),
    ];
    let saved = op.submit(&page, &page, &form).await;
    assert_eq!(saved.location.as_deref(), Some(format!("{page}?done=saved").as_str()), "{}", saved.body);
    let c = Console::new(&app);
    let login = |c: &Console| {
        let form = [("tenant", "acme"), ("email", t.admin_email.as_str()), ("password", PASSWORD)];
        let req = c.client.post(format!("{}/console/login", app.address)).header("accept-language", "ja").form(&form);
        async move { Console::read(req.send().await.unwrap()).await }
    };
    let early = login(&c).await;
    assert_eq!(early.status, StatusCode::FORBIDDEN);
    assert!(early.body.contains("このテナントのご契約は2026-12-01に開始します。"), "{}", early.body);
    // 15:00 UTC on 30 November is already 1 December in Tokyo.
    app.clock.set("2026-11-30T15:00:00Z".parse().unwrap());
    assert_eq!(login(&c).await.status, StatusCode::SEE_OTHER);
    app.clock.set("2027-03-31T15:00:00Z".parse().unwrap());
    // After the last day the tenant is read-only (TEN-4): its people still sign in, to read and
    // export until its data is deleted.
    let late = login(&Console::new(&app)).await;
    assert_eq!(late.status, StatusCode::SEE_OTHER, "{}", late.body);
    // The change is logged as before → after, and the list shows the new name.
    let platform = app.state.store.audit_entries(kura_domain::AuditScope::Platform, &Default::default()).await.unwrap();
    let detail = platform.iter().find_map(|e| e.detail.clone().filter(|d| d.contains("contract_start"))).unwrap();
    assert_eq!(
        detail,
        "display_name: acme 株式会社 → アクメ株式会社; contract_start: - → 2026-12-01; contract_end: - → 2027-03-31"
    );
}

#[tokio::test]
async fn ten_1_operator_picks_a_time_zone_and_bad_dates_are_explained() {
    let app = spawn_app().await;
    app.tenant("acme").await;
    let op = operator_console(&app).await;
    let page = tenant_page(&app, "acme").await;
    let shown = op.get(&page).await.body;
    assert!(shown.contains(r#"<select id="f-time_zone" name="time_zone""#));
    assert!(shown.contains(r#"<option value="Europe/Paris">中央ヨーロッパ時間（パリ） (Europe/Paris)</option>"#));
    let form = [
        ("display_name", "acme"),
        ("time_zone", "Europe/Paris"),
        ("contract_start", "2026-12-01"),
        ("contract_end", "2026-01-01"),
    ];
    let refused = op.submit(&page, &page, &form).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("終了日が開始日より前になっています。"));
    let form = [("display_name", "acme"), ("time_zone", "Europe/Paris"), ("contract_start", ""), ("contract_end", "")];
    assert_eq!(op.submit(&page, &page, &form).await.status, StatusCode::SEE_OTHER);
    let tenant = app.state.store.tenant_by_slug(&kura_domain::Slug::parse("acme").unwrap()).await.unwrap().unwrap();
    assert_eq!(tenant.time_zone.as_str(), "Europe/Paris");
    let nonsense =
        [("display_name", "acme"), ("time_zone", "Mars/Olympus"), ("contract_start", ""), ("contract_end", "")];
    let refused = op.submit(&page, &page, &nonsense).await;
    assert!(refused.body.contains("タイムゾーンを一覧から選んでください。"));
}
