//! OPS-1 and TEN-4: the keystore's own backups. `kura backup --keystore` backs the keystore up
//! apart from the data, signed and encrypted, copied to the second directory and the bucket;
//! `kura backup list` lists them, `kura backup verify --keystore` and `kura restore --keystore`
//! check and restore them. With the scheduler on a moved clock: they are taken at their own
//! time and deleted everywhere after `backup.keystore_keep_days`, so that after the time a
//! deletion certificate states, no keystore backup holds the deleted tenant's keys.

use super::backup::{kura, master_key_file, restore_target, stderr};
use super::contract_end::{serve, settings};
use super::{Cli, stdout};
use jiff::{SignedDuration, Timestamp};
use kura_domain::{Clock as _, ManualClock};
use kura_server::backup::{Schedule, Schedules, parse_time, run_schedule};
use kura_server::settings::{RemoteSettings, Secret};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn keystore_backup_dir(cli: &Cli) -> PathBuf {
    cli.dir.path().join("data-keystore-backups")
}

/// The complete backups (directories named by an id) in `dir`, oldest first.
fn ids_in(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 23 && !n.starts_with('.'))
        .collect();
    ids.sort();
    ids
}

/// Restores the keystore backup `id` (from the bucket with `remote`) and returns the tenant ids
/// the restored keystore holds keys of, as `kura restore --keystore` prints them.
async fn tenants_in(cli: &Cli, id: &str, remote: bool, env: &[(&str, &str)], name: &str) -> Vec<String> {
    let (into, _guard) = restore_target(cli, name).await;
    let mut args = vec!["restore", id, "--keystore", "--into", &into];
    if remote {
        args.push("--remote");
    }
    let out = kura(cli, &args, env);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("The restored keystore opens with this master key"), "{}", stdout(&out));
    stdout(&out).lines().filter_map(|l| l.strip_prefix("tenant\t")).map(str::to_owned).collect()
}

#[tokio::test]
async fn ops_1_the_keystore_is_backed_up_apart_listed_verified_and_restored_and_a_flipped_byte_is_named() {
    let cli = Cli::new().await;
    master_key_file(&cli);
    let out = cli.run(&["operator", "create", "--email", "ops@example.jp"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli.run(&["tenant", "create", "--slug", "acme", "--name", "Acme", "--admin-email", "a@acme.example.jp"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let copies = cli.dir.path().join("offsite");
    let env = [("KURA_BACKUP_COPY_DIR", copies.to_str().unwrap())];

    let out = kura(&cli, &["backup", "--keystore"], &env);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("Keystore backup ") && text.contains("bytes of keystore"), "{text}");
    let id = text.split_whitespace().nth(2).unwrap().to_owned();
    // Apart from the data: in its own directory, its copy in `keystore/` of the second one; no
    // data backup was taken.
    assert_eq!(ids_in(&keystore_backup_dir(&cli)), std::slice::from_ref(&id));
    assert_eq!(ids_in(&copies.join("keystore")), std::slice::from_ref(&id));
    assert!(ids_in(&cli.dir.path().join("data-backups")).is_empty());
    let files: Vec<String> = std::fs::read_dir(keystore_backup_dir(&cli).join(&id))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files.contains(&"keystore.zst.kbk".to_owned()) && files.contains(&"manifest.note".to_owned()));
    let note = std::fs::read_to_string(keystore_backup_dir(&cli).join(&id).join("manifest.note")).unwrap();
    assert!(note.contains("\nkind keystore\n") && note.contains("\nwrapped-key "), "{note}");

    // Listed with the data's backups, in a section of its own, with the time it expires.
    let out = kura(&cli, &["backup", "list"], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let (data, keystore) = text.split_once("Keystore backups").unwrap();
    assert!(data.contains("No backups in") && !data.contains(&id), "{text}");
    let line = keystore.lines().find(|l| l.starts_with(&id)).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("\tvalid\t"), "{line}");
    let expires: Timestamp = line.rsplit('\t').next().unwrap().parse().unwrap();
    let made = kura_server::backup::id_time(&id).unwrap();
    let kept = expires.duration_since(made) - SignedDuration::from_hours(3 * 24);
    assert!(kept.abs() <= SignedDuration::from_secs(1), "kept 3 days by default: {kept}");
    assert!(keystore.contains("keystore backups are kept 3 days"), "{text}");

    // Verified, and restored: the keystore opens with the master key and holds acme's keys.
    let out = kura(&cli, &["backup", "verify", &id, "--keystore"], &env);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains(&format!("Keystore backup {id} verified")), "{}", stdout(&out));
    let out = kura(&cli, &["backup", "verify", &id], &env);
    assert!(!out.status.success(), "a keystore backup is not a data backup");
    assert_eq!(tenants_in(&cli, &id, false, &env, "ks").await.len(), 1);
    // The copy restores too, once the backup directory is gone.
    let copy = copies.join("keystore").join(&id);
    std::fs::rename(keystore_backup_dir(&cli), cli.dir.path().join("moved")).unwrap();
    assert_eq!(tenants_in(&cli, copy.to_str().unwrap(), false, &env, "ks_copy").await.len(), 1);
    std::fs::rename(cli.dir.path().join("moved"), keystore_backup_dir(&cli)).unwrap();

    // Another master key: a wrong key, nothing restored.
    let other = cli.dir.path().join("other-master.key");
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&other).unwrap();
        f.write_all(&kura_crypto::random_bytes::<32>()).unwrap();
    }
    let wrong = [("KURA_MASTER_KEY_FILE", other.to_str().unwrap())];
    let never = cli.dir.path().join("never");
    let out = kura(&cli, &["restore", &id, "--keystore", "--into", never.to_str().unwrap()], &wrong);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("wrong backup key"), "{}", stderr(&out));
    assert!(!never.exists(), "nothing was written");

    // A flipped byte: verify names the file, the restore writes nothing.
    let file = keystore_backup_dir(&cli).join(&id).join("keystore.zst.kbk");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[60] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let out = kura(&cli, &["backup", "verify", &id, "--keystore"], &env);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("{} is corrupted", file.display())), "{}", stderr(&out));
    let out = kura(&cli, &["restore", &id, "--keystore", "--into", never.to_str().unwrap()], &env);
    assert!(!out.status.success() && !never.exists());

    // Each is in the platform's log under its own target.
    let taken = "SELECT COUNT(*) FROM audit_log WHERE operation = 'backup.create' AND target LIKE 'keystore-backup:%'";
    assert_eq!(super::backup::count(&cli.db.url, taken).await, 1);
    let checked = "SELECT COUNT(*) FROM backup_checks WHERE backup_id LIKE 'keystore:%'";
    assert_eq!(super::backup::count(&cli.db.url, checked).await, 2, "the good verification and the failed one");
}

/// Waits until `check` holds, moving nothing: the scheduler runs on its own task.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what} did not happen");
}

#[tokio::test]
async fn ten_4_after_the_certificates_keystore_time_no_keystore_backup_anywhere_holds_the_deleted_tenants_keys() {
    let s3 = super::s3::S3Server::start();
    let cli = Cli::new().await;
    master_key_file(&cli);
    let copies = cli.dir.path().join("offsite");
    let mut settings = settings(&cli);
    settings.contract.grace_days = 2;
    settings.backup.copy_dir = Some(copies.clone());
    let mut env: Vec<(String, String)> = vec![("KURA_BACKUP_COPY_DIR".into(), copies.display().to_string())];
    if let Some(s3) = &s3 {
        settings.backup.remote = RemoteSettings {
            bucket: super::s3::BUCKET.into(),
            endpoint: s3.endpoint.clone(),
            allow_http: true,
            prefix: "site-b".into(),
            access_key_id: s3.access_key_id.clone(),
            secret_access_key: Secret::new(s3.secret_access_key.clone()),
            ..RemoteSettings::default()
        };
        for (k, v) in [
            ("KURA_BACKUP_REMOTE_BUCKET", super::s3::BUCKET),
            ("KURA_BACKUP_REMOTE_ENDPOINT", s3.endpoint.as_str()),
            ("KURA_BACKUP_REMOTE_ALLOW_HTTP", "true"),
            ("KURA_BACKUP_REMOTE_PREFIX", "site-b"),
            ("KURA_BACKUP_REMOTE_ACCESS_KEY_ID", s3.access_key_id.as_str()),
            ("KURA_BACKUP_REMOTE_SECRET_ACCESS_KEY", s3.secret_access_key.as_str()),
        ] {
            env.push((k.into(), v.into()));
        }
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let tokyo = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap();
    // Midnight of 2 December in Tokyo; the contract ends that day.
    let clock = Arc::new(ManualClock::new("2026-12-01T15:00:00Z".parse().unwrap()));
    let running = serve(settings.clone(), clock.clone()).await;
    let state = running.app_state.clone();
    let gone = running.tenant("gone", Some("2026-12-02".into())).await;
    running.tenant("stays", None).await;
    running.record(&gone, serde_json::json!({"name": "消える"})).await;
    let tenant_id = |slug: &'static str| {
        let state = state.clone();
        async move {
            let slug = kura_domain::Slug::parse(slug).unwrap();
            state.store.tenant_by_slug(&slug).await.unwrap().unwrap().id.as_uuid().to_string()
        }
    };
    let (gone_id, stays_id) = (tenant_id("gone").await, tenant_id("stays").await);

    // The keystore's own schedule, 03:00 Tokyo; no data backups or drills here.
    let every = Duration::from_millis(20);
    let at = Schedule { times: vec![parse_time("03:00").unwrap()], zone: tokyo.clone(), every };
    let schedules = Schedules { backups: None, drills: None, keystore: Some(at), every };
    let job = tokio::spawn(run_schedule(state.clone(), schedules));
    let local = keystore_backup_dir(&cli);
    let day = |d: u32| -> Timestamp { format!("2026-12-{:02}T18:30:00Z", d - 1).parse().unwrap() };
    // 03:30 on 2 to 5 December: one keystore backup each day; 3 days' retention leaves three.
    for d in 2..=5 {
        clock.set(day(d));
        let id = kura_server::backup::id_time(&format!("202612{:02}T183000.000000Z", d - 1)).unwrap();
        eventually("the day's keystore backup", || state.keystore_backups.newest_time() == Some(id)).await;
    }
    eventually("the 2 December backup expires", || ids_in(&local).len() == 3).await;
    assert_eq!(ids_in(&copies.join("keystore")), ids_in(&local), "the copy keeps the same");
    assert!(ids_in(&cli.dir.path().join("data-backups")).is_empty(), "no data backup was taken");

    // 5 December 10:00: the grace period is over; the tenant is deleted, its keys destroyed.
    clock.set("2026-12-05T01:00:00Z".parse().unwrap());
    assert_eq!(kura_server::erasure::delete_due(&state).await, ["gone"]);
    let note = kura_server::erasure::certificate_of(&state, "gone").await.unwrap();
    let at = |key: &str| -> Timestamp {
        let line = note.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("{note}"));
        line.split(' ').nth(1).unwrap().parse().unwrap()
    };
    let destroyed = at("keys-destroyed ");
    let expired_by = at("keystore-backups-expired-by ");
    assert_eq!(expired_by.duration_since(destroyed), SignedDuration::from_hours(72) + SignedDuration::from_secs(60));
    let basis = note.lines().find(|l| l.starts_with("basis ")).unwrap();
    assert!(basis.contains("keystore backups are taken at 03:00 Asia/Tokyo") && basis.contains("3 days"), "{basis}");

    // Now the keystore backups still hold its keys: the promise is about later.
    let newest = ids_in(&local).pop().unwrap();
    let held = tenants_in(&cli, &newest, false, &env, "before").await;
    assert!(held.contains(&gone_id) && held.contains(&stays_id), "{held:?}");

    // The days go by, with a keystore backup each day (without the keys), until the time the
    // certificate states; at it, every keystore backup that held the keys is gone everywhere.
    for d in 6..=8 {
        clock.set(day(d));
        let id = kura_server::backup::id_time(&format!("202612{:02}T183000.000000Z", d - 1)).unwrap();
        eventually("the day's keystore backup", || state.keystore_backups.newest_time() == Some(id)).await;
    }
    clock.set(expired_by);
    eventually("the last keystore backup that held the keys expires", || {
        ids_in(&local).iter().all(|id| kura_server::backup::id_time(id).unwrap() > destroyed)
            && ids_in(&copies.join("keystore")).iter().all(|id| kura_server::backup::id_time(id).unwrap() > destroyed)
    })
    .await;
    if s3.is_some() {
        // The bucket is listed after the local expiry in the same check.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    job.abort();

    let mut checked = 0;
    for id in ids_in(&local) {
        let held = tenants_in(&cli, &id, false, &env, &format!("local{checked}")).await;
        assert!(!held.contains(&gone_id) && held.contains(&stays_id), "{id}: {held:?}");
        checked += 1;
    }
    for id in ids_in(&copies.join("keystore")) {
        let path = copies.join("keystore").join(&id);
        let held = tenants_in(&cli, path.to_str().unwrap(), false, &env, &format!("copy{checked}")).await;
        assert!(!held.contains(&gone_id), "{id}: {held:?}");
        checked += 1;
    }
    assert!(checked >= 4, "three days of backups here and in the copy: {checked}");
    if s3.is_some() {
        let out = kura(&cli, &["backup", "list", "--remote"], &env);
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        let text = stdout(&out);
        let (_, keystore) = text.split_once("Keystore backups").unwrap();
        let remote: Vec<String> = keystore
            .lines()
            .filter(|l| l.ends_with("\tcomplete"))
            .filter_map(|l| l.split('\t').next())
            .map(str::to_owned)
            .collect();
        assert_eq!(remote, ids_in(&local), "the bucket keeps the same: {text}");
        for id in &remote {
            let held = tenants_in(&cli, id, true, &env, &format!("remote{checked}")).await;
            assert!(!held.contains(&gone_id), "{id} in the bucket: {held:?}");
            checked += 1;
        }
    }
    let _ = clock.now();
}
