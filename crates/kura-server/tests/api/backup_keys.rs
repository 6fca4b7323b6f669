//! OPS-1 through the operator console: the page of backup keys (made, retired, the kept backups
//! that need each, when it goes) and the key's rotation behind a confirmation, as
//! `kura backup rotate-key` does it, recorded in the platform's log under the operator's name.

use crate::backups::{app_with_backups, ids, scalar};
use crate::console_client::{Console, english_sentences};
use crate::console_pages::operator_console;
use crate::helpers::{PASSWORD, spawn_app};
use reqwest::StatusCode;

const OPERATOR: &str = "ops@kura.example.jp";
const PAGE: &str = "/operator/backups/keys";
const ROTATE: &str = "/operator/backups/keys/rotate";
const ROTATED_BY_OPERATOR: &str = "SELECT COUNT(*) FROM audit_log WHERE operation = 'backup.key_rotate' \
                                   AND actor_label = 'ops@kura.example.jp' AND outcome = 'success'";
const REMOVED: &str = "SELECT COUNT(*) FROM audit_log WHERE operation = 'backup.key_remove' \
                       AND target = 'backup-key:1'";

#[tokio::test]
async fn ops_1_the_backup_keys_page_lists_each_key_and_rotates_it_after_a_confirmation() {
    let app = app_with_backups().await;
    let t = app.tenant("acme").await;
    let vault = app.state.store.vault().expect("encryption at rest").clone();
    // Signed in with the authenticator app's secret kept, to sign in again as the days pass.
    app.operator(OPERATOR).await;
    let op = Console::new(&app);
    let (_, secret) = op.operator_login(&app, OPERATOR, PASSWORD, None).await;
    op.get("/console/lang?to=ja&back=/operator").await;

    // No key before the first backup; the backups page leads here.
    let page = op.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("バックアップ鍵はまだありません"), "{}", page.body);
    assert!(op.get("/operator/backups").await.body.contains(&format!("href=\"{PAGE}\"")));

    // The first backup makes key 1: in use, made at the backup's time, in the backups' zone.
    op.submit("/operator/backups", "/operator/backups/take", &[]).await;
    let first = ids(&app).pop().expect("a backup");
    let page = op.get(PAGE).await;
    assert!(page.body.contains("バックアップ鍵 1") && page.body.contains("使用中"), "{}", page.body);
    assert!(page.body.contains("2026-11-22 09:00:00 JST") && page.body.contains("使用中は削除しません"));
    assert!(page.body.contains("これから取得するすべてのバックアップ") && page.body.contains(&first));
    assert!(page.body.contains(&vault.master_key_id().to_string()), "the master key that wraps it");
    let untranslated = english_sentences(&page.body);
    assert!(untranslated.is_empty(), "{untranslated:?}");

    // The rotation asks first, and says what it does not do.
    app.clock.set("2026-11-22T00:10:00Z".parse().unwrap());
    let confirm = op.get(ROTATE).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("新しいバックアップ鍵を作成し、今後のバックアップすべてに使用してもよろしいですか"));
    assert!(confirm.body.contains("更新だけではそれらのバックアップは保護されません"), "{}", confirm.body);
    assert!(confirm.body.contains(&format!("action=\"{ROTATE}\"")) && confirm.body.contains("name=\"_csrf\""));
    assert_eq!(vault.backup_keys().await.unwrap().len(), 1, "asking changes nothing");

    // Rotated: key 2 is in use; key 1 is retired and kept for the backup made with it, until
    // three more backups (the generations kept) have pushed that one out, on the daily 03:00
    // schedule by the 25th.
    let done = op.submit(ROTATE, ROTATE, &[]).await;
    assert_eq!(done.location.as_deref(), Some("/operator/backups/keys?done=backupkeyrotated"), "{}", done.body);
    assert_eq!(scalar(&app, ROTATED_BY_OPERATOR).await, 1, "in the platform's log, in the operator's name");
    let page = op.get("/operator/backups/keys?done=backupkeyrotated").await;
    assert!(page.body.contains("新しいバックアップ鍵を作成しました"), "{}", page.body);
    assert!(page.body.contains("バックアップ鍵 2") && page.body.contains("2026-11-22 09:10:00 JST"));
    assert!(page.body.contains("保管中のバックアップ 1 件") && page.body.contains(&first), "{}", page.body);
    assert!(
        page.body.contains("あと 3 回バックアップを取得した後（定時どおりなら 2026-11-25 03:00:00 JST ごろ）"),
        "{}",
        page.body
    );
    let keys = vault.backup_keys().await.unwrap();
    assert_eq!(keys.iter().map(|k| (k.version, k.retired_at.is_some())).collect::<Vec<_>>(), [(1, true), (2, false)]);

    // Two more backups: one to go. The third removes key 1 with the backup that needed it.
    for (day, left) in [("2026-11-23", Some(2)), ("2026-11-24", Some(1)), ("2026-11-25", None)] {
        app.clock.set(format!("{day}T00:00:00Z").parse().unwrap());
        op.operator_login(&app, OPERATOR, PASSWORD, Some(&secret)).await;
        let taken = op.submit("/operator/backups", "/operator/backups/take", &[]).await;
        assert_eq!(taken.status, StatusCode::SEE_OTHER, "{}", taken.body);
        let page = op.get(PAGE).await;
        match left {
            Some(n) => assert!(page.body.contains(&format!("あと {n} 回バックアップを取得した後")), "{}", page.body),
            None => assert!(!page.body.contains("バックアップ鍵 1<"), "{}", page.body),
        }
    }
    assert!(!ids(&app).contains(&first));
    assert_eq!(vault.backup_key_versions().await.unwrap(), [2]);
    assert_eq!(scalar(&app, REMOVED).await, 1);

    // In English too.
    op.get(&format!("/console/lang?to=en&back={PAGE}")).await;
    let page = op.get(PAGE).await;
    assert!(page.body.contains("Backup key 2") && page.body.contains("In use"), "{}", page.body);
    assert!(page.body.contains("Every new backup") && page.body.contains("3 kept backup(s)"), "{}", page.body);
    let confirm = op.get(ROTATE).await;
    assert!(confirm.body.contains("Make a new backup key and use it for every backup from now on?"));

    // Without the form's token, or from a tenant's console, nothing happens.
    let refused = op.post(ROTATE, &[]).await;
    assert_ne!(refused.status, StatusCode::SEE_OTHER);
    let user = Console::new(&app);
    user.login("acme", &t.admin_email, PASSWORD).await;
    assert_eq!(user.get(PAGE).await.location.as_deref(), Some("/operator/login"));
    let token = crate::console_client::csrf_of(&user.get("/console").await.body);
    let refused = user.post(ROTATE, &[("_csrf", token.as_str())]).await;
    assert_eq!(refused.location.as_deref(), Some("/operator/login"));
    assert_eq!(vault.backup_key_versions().await.unwrap(), [2]);
    assert_eq!(scalar(&app, ROTATED_BY_OPERATOR).await, 1);
    app.verify_audit().await;
}

#[tokio::test]
async fn ops_1_without_a_master_key_the_backup_keys_page_says_why_and_rotating_changes_nothing() {
    let app = spawn_app().await;
    let op = operator_console(&app).await;
    let page = op.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("マスターキーがないため、バックアップ鍵はありません"), "{}", page.body);
    let refused = op.submit(PAGE, ROTATE, &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(
        refused.body.contains("完了できませんでした") && refused.body.contains("no master key"),
        "{}",
        refused.body
    );
    let rotations = "SELECT COUNT(*) FROM audit_log WHERE operation = 'backup.key_rotate'";
    assert_eq!(scalar(&app, rotations).await, 0);
    app.verify_audit().await;
}
