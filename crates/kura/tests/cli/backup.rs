//! OPS-1: `kura backup`, `kura backup list|verify` and `kura restore` end to end, on the engine
//! of the test run.

use super::{Cli, demo_credentials, stdout};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub(super) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `kura` with the test's environment and `extra` on top.
pub(super) fn kura(cli: &Cli, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kura"));
    cmd.args(args)
        .env("KURA_DATABASE_URL", &cli.db.url)
        .env("KURA_DATA_DIR", cli.data())
        .env("KURA_AUDIT_CHECKPOINT_DIR", cli.sink.path())
        .env("KURA_ARGON2_MEMORY_KIB", "64")
        .env("KURA_ARGON2_ITERATIONS", "1")
        .env("KURA_LOG", "warn");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().expect("run kura")
}

/// A master key file beside the data directory, where Kura looks for it by default.
pub(super) fn master_key_file(cli: &Cli) -> PathBuf {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = cli.dir.path().join("data-master.key");
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).unwrap();
    f.write_all(&kura_crypto::random_bytes::<32>()).unwrap();
    path
}

/// The keystore the test's installation uses.
pub(super) fn keystore_url(cli: &Cli) -> String {
    match &cli._keystore {
        Some(ks) => ks.url.clone(),
        None => format!("sqlite://{}", cli.dir.path().join("data-keystore").join("keystore.db").display()),
    }
}

fn backup_dir(cli: &Cli) -> PathBuf {
    cli.dir.path().join("data-backups")
}

/// Takes a backup and returns its id.
fn backup(cli: &Cli, extra: &[(&str, &str)]) -> String {
    let out = kura(cli, &["backup"], extra);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    text.split_whitespace().nth(1).unwrap().to_owned()
}

/// An installation with an operator (so a platform log) and a master key.
async fn small_installation() -> Cli {
    let cli = Cli::new().await;
    master_key_file(&cli);
    let out = cli.run(&["operator", "create", "--email", "ops@example.jp"]);
    assert!(out.status.success(), "{}", stderr(&out));
    cli
}

/// Where a test restores to: a new data directory on SQLite, an empty database on PostgreSQL
/// (dropped with the returned guard).
pub(super) async fn restore_target(cli: &Cli, name: &str) -> (String, Option<kura_store::testing::PgScratch>) {
    match std::env::var(kura_store::testing::POSTGRES_URL_VAR) {
        Ok(server) if !server.trim().is_empty() && !cli.db.url.starts_with("sqlite:") => {
            let db = format!("kura_restore_{}_{}", name, uuid_like());
            let pg = kura_store::testing::PgScratch::create(&server, &db).await.unwrap();
            (pg.url.clone(), Some(pg))
        }
        _ => (cli.dir.path().join(name).display().to_string(), None),
    }
}

fn uuid_like() -> String {
    kura_crypto::random_bytes::<6>().iter().map(|b| format!("{b:02x}")).collect()
}

/// The database URL of a restore target as given to `--into`.
pub(super) fn restored_url(into: &str) -> String {
    if into.starts_with("postgres") { into.to_owned() } else { format!("sqlite://{into}/kura.db") }
}

pub(super) async fn count(url: &str, sql: &'static str) -> i64 {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    }
}

const RECORDS: &str = "SELECT COUNT(*) FROM records";
const IMPORTS: &str = "SELECT COUNT(*) FROM audit_log WHERE operation = 'record.import'";

#[tokio::test]
async fn ops_1_backup_while_writers_run_restores_every_record_with_its_audit_entry() {
    let cli = Cli::new().await;
    demo_credentials(&cli).await;
    let (records_before, imports_before) = (count(&cli.db.url, RECORDS).await, count(&cli.db.url, IMPORTS).await);

    // A writer imports one new customer at a time, each one record with its own audit entry,
    // until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, written) = (Arc::clone(&stop), Arc::clone(&written));
        let env: Vec<(String, String)> = vec![
            ("KURA_DATABASE_URL".into(), cli.db.url.clone()),
            ("KURA_DATA_DIR".into(), cli.data().display().to_string()),
            ("KURA_AUDIT_CHECKPOINT_DIR".into(), cli.sink.path().display().to_string()),
            ("KURA_LOG".into(), "warn".into()),
        ];
        let dir = cli.dir.path().to_owned();
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                let file = dir.join(format!("one-{i}.csv"));
                std::fs::write(&file, format!("name,kana,email\n書込 {i},カキコミ,writer{i}@example.jp\n")).unwrap();
                let out = Command::new(env!("CARGO_BIN_EXE_kura"))
                    .args(["import", "--tenant", "demo", "--collection", "customers", "--file"])
                    .arg(&file)
                    .envs(env.iter().map(|(k, v)| (k, v)))
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                written.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    while written.load(Ordering::SeqCst) < 2 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let acknowledged_before = written.load(Ordering::SeqCst) as i64;
    let id = backup(&cli, &[]);
    let during = written.load(Ordering::SeqCst);
    while written.load(Ordering::SeqCst) < during + 1 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();

    let out = kura(&cli, &["backup", "list"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("{id}\t")) && stdout(&out).contains("\tvalid"), "{}", stdout(&out));
    let out = kura(&cli, &["backup", "verify", &id], &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains(&format!("Backup {id} verified")), "{}", stdout(&out));

    let (into, _guard) = restore_target(&cli, "restored").await;
    let out = kura(&cli, &["restore", &id, "--into", &into], &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("audit chains of the restored data verified"), "{}", stdout(&out));

    // One consistent point: every record with its audit entry, nothing half written, and every
    // write acknowledged before the backup began is in it.
    let url = restored_url(&into);
    let (records, imports) = (count(&url, RECORDS).await, count(&url, IMPORTS).await);
    assert_eq!(records - records_before, imports - imports_before, "each imported record with its entry");
    assert!(imports - imports_before >= acknowledged_before, "{imports} {imports_before} {acknowledged_before}");
    assert!(count(&cli.db.url, RECORDS).await > records, "the writer went on after the backup's point");

    // The restored data passes `kura audit verify` and opens with the installation's keys.
    let restored_dir = cli.dir.path().join("restored-node");
    let sink = tempfile::tempdir().unwrap();
    let key_file = cli.dir.path().join("data-master.key");
    let ks = keystore_url(&cli);
    let env = [
        ("KURA_DATABASE_URL", url.as_str()),
        ("KURA_DATA_DIR", restored_dir.to_str().unwrap()),
        ("KURA_AUDIT_CHECKPOINT_DIR", sink.path().to_str().unwrap()),
        ("KURA_MASTER_KEY_FILE", key_file.to_str().unwrap()),
        ("KURA_KEYSTORE_URL", ks.as_str()),
    ];
    let out = kura(&cli, &["audit", "verify"], &env);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let file = cli.dir.path().join("restored.jsonl");
    let args = ["export", "--tenant", "demo", "--collection", "customers", "--format", "jsonl", "--out"];
    let out = kura(&cli, &[&args[..], &[file.to_str().unwrap()]].concat(), &env);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains(&format!("Exported {records} records")), "{}", stdout(&out));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("writer1@example.jp"), "decrypted with the installation's keys");
}

/// Flips one bit of `path` at `offset`.
fn flip(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn ops_1_verify_names_a_corrupted_file_and_refuses_a_bad_signature_and_a_wrong_key() {
    let cli = small_installation().await;
    let id = backup(&cli, &[]);
    let dir = backup_dir(&cli).join(&id);
    assert!(kura(&cli, &["backup", "verify", &id], &[]).status.success());

    // A flipped byte: verify names the file; restore refuses and creates nothing.
    let data = dir.join("database.zst.kbk");
    flip(&data, 200);
    let out = kura(&cli, &["backup", "verify", &id], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("database.zst.kbk is corrupted"), "{}", stderr(&out));
    let target = cli.dir.path().join("never");
    let out = kura(&cli, &["restore", &id, "--into", target.to_str().unwrap()], &[]);
    assert!(!out.status.success() && stderr(&out).contains("corrupted"), "{}", stderr(&out));
    assert!(!target.exists(), "nothing was written");
    flip(&data, 200);
    assert!(kura(&cli, &["backup", "verify", &id], &[]).status.success());

    // A manifest altered (a digest made to match a changed file) or its signature damaged.
    let manifest = dir.join("manifest.note");
    let original = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        original.replace("engine sqlite", "engine sqlitE").replace("engine postgres", "engine postgreS"),
    )
    .unwrap();
    let out = kura(&cli, &["backup", "verify", &id], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("signature"), "{}", stderr(&out));
    let (body, sig) = original.split_once("\n\n").unwrap();
    let damaged = sig.replacen('A', "B", 1).replacen('a', "b", 1);
    std::fs::write(&manifest, format!("{body}\n\n{damaged}")).unwrap();
    let out = kura(&cli, &["backup", "verify", &id], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("signature"), "{}", stderr(&out));
    std::fs::write(&manifest, &original).unwrap();

    // Another master key: the keystore's backup key does not unwrap, said as such.
    let other = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let out = kura(&cli, &["backup", "verify", &id], &[("KURA_MASTER_KEY", other)]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("wrong backup key") && stderr(&out).contains("does not unwrap with this master key"),
        "{}",
        stderr(&out)
    );
    // Another installation's keystore (with a backup key of its own): told apart by fingerprint.
    let second = small_installation().await;
    backup(&second, &[]);
    let env = [
        ("KURA_KEYSTORE_URL", keystore_url(&second)),
        ("KURA_MASTER_KEY_FILE", second.dir.path().join("data-master.key").display().to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = kura(&cli, &["backup", "verify", &id], &env);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("another installation's keystore"), "{}", stderr(&out));
    assert!(kura(&cli, &["backup", "verify", &id], &[]).status.success(), "the backup itself is intact");
}

#[tokio::test]
async fn ops_1_restore_into_a_non_empty_target_is_refused_and_changes_nothing() {
    let cli = small_installation().await;
    let id = backup(&cli, &[]);
    let (into, before) = if cli.db.url.starts_with("sqlite:") {
        let dir = cli.dir.path().join("occupied");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), "keep me").unwrap();
        (dir.display().to_string(), None)
    } else {
        (cli.db.url.clone(), Some(count(&cli.db.url, "SELECT COUNT(*) FROM audit_log").await))
    };
    let out = kura(&cli, &["restore", &id, "--into", &into], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is not empty"), "{}", stderr(&out));
    match before {
        None => {
            let entries: Vec<_> = std::fs::read_dir(&into).unwrap().flatten().map(|e| e.file_name()).collect();
            assert_eq!(entries, ["notes.txt"], "nothing was added");
        }
        Some(n) => assert_eq!(count(&cli.db.url, "SELECT COUNT(*) FROM audit_log").await, n),
    }
    assert!(cli.run(&["audit", "verify"]).status.success());
}

#[tokio::test]
async fn ops_1_retention_keeps_the_configured_number_of_generations() {
    let cli = small_installation().await;
    let keep = [("KURA_BACKUP_GENERATIONS", "3")];
    let ids: Vec<String> = (0..5).map(|_| backup(&cli, &keep)).collect();
    let out = kura(&cli, &["backup", "list"], &keep);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: Vec<String> = stdout(&out)
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|id| id.len() == 23)
        .map(str::to_owned)
        .collect();
    assert_eq!(listed, ids[2..], "the newest three, oldest first");
    let on_disk: HashMap<String, ()> = std::fs::read_dir(backup_dir(&cli))
        .unwrap()
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), ()))
        .collect();
    assert_eq!(on_disk.len(), 3, "{on_disk:?}");
    for id in &ids[2..] {
        assert!(kura(&cli, &["backup", "verify", id], &keep).status.success());
    }
}

#[tokio::test]
async fn ops_1_a_copy_in_a_second_directory_survives_losing_the_backups_and_restores() {
    let cli = small_installation().await;
    let copies = cli.dir.path().join("offsite");
    let env = [("KURA_BACKUP_COPY_DIR", copies.to_str().unwrap()), ("KURA_BACKUP_GENERATIONS", "2")];
    let ids: Vec<String> = (0..3).map(|_| backup(&cli, &env)).collect();
    let mut copied: Vec<String> =
        std::fs::read_dir(&copies).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    copied.sort();
    assert_eq!(copied, ids[1..], "the copy keeps the same generations");

    std::fs::remove_dir_all(backup_dir(&cli)).unwrap();
    let copy = copies.join(&ids[2]);
    let out = kura(&cli, &["backup", "verify", copy.to_str().unwrap()], &env);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let (into, _guard) = restore_target(&cli, "from_copy").await;
    let out = kura(&cli, &["restore", copy.to_str().unwrap(), "--into", &into], &env);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("All 1 audit chains of the restored data verified"), "{}", stdout(&out));
}

/// The settings of the remote copy in `s3`, the backups under a prefix.
fn remote_env(s3: &super::s3::S3Server, secret: &str) -> Vec<(String, String)> {
    [
        ("KURA_BACKUP_REMOTE_BUCKET", super::s3::BUCKET),
        ("KURA_BACKUP_REMOTE_ENDPOINT", s3.endpoint.as_str()),
        ("KURA_BACKUP_REMOTE_ALLOW_HTTP", "true"),
        ("KURA_BACKUP_REMOTE_PREFIX", "site-a/kura"),
        ("KURA_BACKUP_REMOTE_ACCESS_KEY_ID", s3.access_key_id.as_str()),
        ("KURA_BACKUP_REMOTE_SECRET_ACCESS_KEY", secret),
        ("KURA_BACKUP_GENERATIONS", "2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The ids `kura backup list --remote` prints as complete.
fn listed_remote(out: &Output) -> Vec<String> {
    stdout(out)
        .lines()
        .filter(|l| l.ends_with("\tcomplete"))
        .filter_map(|l| l.split('\t').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn ops_1_a_remote_copy_in_an_s3_bucket_survives_losing_the_backups_and_restores_intact() {
    let Some(s3) = super::s3::S3Server::start() else { return };
    let cli = Cli::new().await;
    demo_credentials(&cli).await;
    let env = remote_env(&s3, &s3.secret_access_key);
    let env = pairs(&env);
    let ids: Vec<String> = (0..3).map(|_| backup(&cli, &env)).collect();
    let out = kura(&cli, &["backup"], &env);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let newest = stdout(&out).split_whitespace().nth(1).unwrap().to_owned();
    assert!(stdout(&out).contains(&format!("Uploaded to s3://kura-backups/site-a/kura/{newest}")), "{}", stdout(&out));
    // The bucket keeps the same generations as the directory.
    let out = kura(&cli, &["backup", "list", "--remote"], &env);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(listed_remote(&out), [ids[2].clone(), newest.clone()], "{}", stdout(&out));

    // The backup directory is lost: the bucket's copy verifies and restores.
    std::fs::remove_dir_all(backup_dir(&cli)).unwrap();
    let out = kura(&cli, &["backup", "verify", &newest, "--remote"], &env);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains(&format!("Backup {newest} verified")), "{}", stdout(&out));
    let (into, _guard) = restore_target(&cli, "from_bucket").await;
    let out = kura(&cli, &["restore", &newest, "--remote", "--into", &into], &env);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("audit chains of the restored data verified"), "{}", stdout(&out));
    let url = restored_url(&into);
    assert_eq!(count(&url, RECORDS).await, count(&cli.db.url, RECORDS).await, "every record restored");
    assert!(count(&url, RECORDS).await >= 300);
    // …and its records open with the installation's keys.
    let sink = tempfile::tempdir().unwrap();
    let (key_file, ks) = (cli.dir.path().join("data-master.key"), keystore_url(&cli));
    let restored_dir = cli.dir.path().join("restored-node");
    let node = [
        ("KURA_DATABASE_URL", url.as_str()),
        ("KURA_DATA_DIR", restored_dir.to_str().unwrap()),
        ("KURA_AUDIT_CHECKPOINT_DIR", sink.path().to_str().unwrap()),
        ("KURA_MASTER_KEY_FILE", key_file.to_str().unwrap()),
        ("KURA_KEYSTORE_URL", ks.as_str()),
    ];
    let file = cli.dir.path().join("restored.jsonl");
    let args = ["export", "--tenant", "demo", "--collection", "customers", "--format", "jsonl", "--out"];
    let out = kura(&cli, &[&args[..], &[file.to_str().unwrap()]].concat(), &node);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(std::fs::read_to_string(&file).unwrap().lines().count() >= 300);
    assert!(!std::fs::read_dir(backup_dir(&cli)).unwrap().any(|_| true), "the download's scratch copy is removed");

    // A corrupted object in the bucket: verify names it, restore refuses and writes nothing.
    s3.flip(&format!("site-a/kura/{newest}/database.zst.kbk"), 200);
    let out = kura(&cli, &["backup", "verify", &newest, "--remote"], &env);
    assert!(!out.status.success());
    let named = format!("s3://kura-backups/site-a/kura/{newest}/database.zst.kbk is corrupted");
    assert!(stderr(&out).contains(&named), "{}", stderr(&out));
    let never = cli.dir.path().join("never");
    let out = kura(&cli, &["restore", &newest, "--remote", "--into", never.to_str().unwrap()], &env);
    assert!(!out.status.success() && stderr(&out).contains(&named), "{}", stderr(&out));
    assert!(!never.exists(), "nothing was written");

    // Each verification is in the platform's log, the failed one too, with where it read from.
    let verified = "SELECT COUNT(*) FROM audit_log WHERE operation = 'backup.verify'";
    assert_eq!(count(&cli.db.url, verified).await, 2);
    let failed = "SELECT COUNT(*) FROM backup_checks WHERE location = 'remote' AND NOT ok";
    assert_eq!(count(&cli.db.url, failed).await, 1);
    let taken = "SELECT COUNT(*) FROM audit_log WHERE operation = 'backup.create' AND outcome = 'success'";
    assert_eq!(count(&cli.db.url, taken).await, 4);
}

#[tokio::test]
async fn ops_1_wrong_bucket_credentials_or_settings_give_a_clear_error() {
    let Some(s3) = super::s3::S3Server::start() else { return };
    let cli = small_installation().await;
    let wrong_secret = "wrong-secret-0123456789abcdefghij";
    let env = remote_env(&s3, wrong_secret);
    let env = pairs(&env);
    // The backup itself is made, the upload refused: said as such, non-zero, the secret never shown.
    let out = kura(&cli, &["backup"], &env);
    assert!(!out.status.success());
    let text = format!("{}{}", stdout(&out), stderr(&out));
    let refused = format!("refused the credentials of access key {}", s3.access_key_id);
    assert!(text.contains(&refused) && text.contains("SignatureDoesNotMatch"), "{text}");
    assert!(!text.contains(wrong_secret), "{text}");
    let out = kura(&cli, &["backup", "list"], &[]);
    assert!(stdout(&out).contains("1 backup(s) in"), "the backup itself stands: {}", stdout(&out));
    let failed = "SELECT COUNT(*) FROM audit_log WHERE operation = 'backup.create' AND outcome = 'failure'";
    assert_eq!(count(&cli.db.url, failed).await, 1, "the failed copy is in the platform's log");
    let out = kura(&cli, &["backup", "list", "--remote"], &env);
    assert!(!out.status.success() && stderr(&out).contains(&refused), "{}", stderr(&out));
    // An unknown access key.
    let mut unknown = remote_env(&s3, &s3.secret_access_key);
    unknown.retain(|(k, _)| k != "KURA_BACKUP_REMOTE_ACCESS_KEY_ID");
    unknown.push(("KURA_BACKUP_REMOTE_ACCESS_KEY_ID".into(), "AKIAUNKNOWN000000000".into()));
    let out = kura(&cli, &["backup", "list", "--remote"], &pairs(&unknown));
    assert!(!out.status.success() && stderr(&out).contains("InvalidAccessKeyId"), "{}", stderr(&out));

    // Settings that cannot work stop every command at start, naming the option.
    let mut plain = remote_env(&s3, &s3.secret_access_key);
    plain.retain(|(k, _)| k != "KURA_BACKUP_REMOTE_ALLOW_HTTP");
    let out = kura(&cli, &["backup", "list"], &pairs(&plain));
    assert!(!out.status.success() && stderr(&out).contains("backup.remote.endpoint"), "{}", stderr(&out));
    let mut keyless = remote_env(&s3, "");
    keyless.retain(|(k, _)| k != "KURA_BACKUP_REMOTE_SECRET_ACCESS_KEY");
    let out = kura(&cli, &["backup", "list"], &pairs(&keyless));
    assert!(!out.status.success() && stderr(&out).contains("needs credentials"), "{}", stderr(&out));
    // A credentials file others can read is refused; one of mode 0600 works.
    use std::os::unix::fs::PermissionsExt as _;
    let file = cli.dir.path().join("s3-credentials");
    let body = format!(
        "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        s3.access_key_id, s3.secret_access_key
    );
    std::fs::write(&file, body).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut from_file = remote_env(&s3, "");
    from_file.retain(|(k, _)| !k.contains("ACCESS_KEY"));
    from_file.push(("KURA_BACKUP_REMOTE_CREDENTIALS_FILE".into(), file.display().to_string()));
    let out = kura(&cli, &["backup", "list", "--remote"], &pairs(&from_file));
    assert!(!out.status.success() && stderr(&out).contains("chmod 600"), "{}", stderr(&out));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = kura(&cli, &["backup"], &pairs(&from_file));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let out = kura(&cli, &["backup", "list", "--remote"], &pairs(&from_file));
    assert_eq!(listed_remote(&out).len(), 1, "{}", stdout(&out));
}

#[tokio::test]
async fn ops_1_kura_backup_drill_restores_the_newest_backup_checks_it_and_removes_the_copy() {
    let cli = small_installation().await;
    let out = kura(&cli, &["backup", "drill"], &[]);
    assert!(!out.status.success() && stderr(&out).contains("no backup yet to restore"), "{}", stderr(&out));
    backup(&cli, &[]);
    let id = backup(&cli, &[]);
    let out = kura(&cli, &["backup", "drill"], &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let said = format!("Restore drill passed for backup {id} (local copy): 1 audit chains verified");
    assert!(stdout(&out).contains(&said), "{}", stdout(&out));
    let left: Vec<String> = std::fs::read_dir(backup_dir(&cli))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "the scratch copy is removed: {left:?}");
    let drills = "SELECT COUNT(*) FROM audit_log WHERE operation = 'backup.drill'";
    assert_eq!(count(&cli.db.url, drills).await, 2, "the failed drill and the passed one");
    let passed = "SELECT COUNT(*) FROM backup_checks WHERE kind = 'drill' AND ok";
    assert_eq!(count(&cli.db.url, passed).await, 1);
    assert!(kura(&cli, &["audit", "verify"], &[]).status.success());
}

#[tokio::test]
async fn ops_1_a_rotated_backup_key_opens_older_backups_until_they_expire_then_it_is_removed() {
    let cli = small_installation().await;
    let copies = cli.dir.path().join("offsite");
    let env = [("KURA_BACKUP_GENERATIONS", "2"), ("KURA_BACKUP_COPY_DIR", copies.to_str().unwrap())];
    let key_of = |id: &str| -> String {
        let note = std::fs::read_to_string(backup_dir(&cli).join(id).join("manifest.note")).unwrap();
        note.lines().find(|l| l.starts_with("backup-key ")).unwrap().split(' ').nth(1).unwrap().to_owned()
    };
    let old = backup(&cli, &env);
    assert_eq!(key_of(&old), "1");

    let out = kura(&cli, &["backup", "rotate-key"], &env);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Backup key 2 made") && text.contains("backup key(s) 1."), "{text}");
    let keys = "SELECT COUNT(*) FROM backup_keys";
    let ks = keystore_url(&cli);
    assert_eq!(count(&ks, keys).await, 2);
    let rotated = "SELECT COUNT(*) FROM audit_log WHERE operation = 'backup.key_rotate' AND target = 'backup-key:2' \
                   AND outcome = 'success'";
    assert_eq!(count(&cli.db.url, rotated).await, 1, "in the platform's log");

    // New backups use the new key; the older backup still verifies and restores with the old one.
    let new = backup(&cli, &env);
    assert_eq!(key_of(&new), "2");
    for id in [&old, &new] {
        let out = kura(&cli, &["backup", "verify", id], &env);
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    }
    let (into, _guard) = restore_target(&cli, "old_key").await;
    let out = kura(&cli, &["restore", &old, "--into", &into], &env);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(count(&ks, keys).await, 2, "kept while a backup made with it is kept");

    // The next backup's retention deletes the last backup made with key 1: the key goes too.
    let newest = backup(&cli, &env);
    assert!(!backup_dir(&cli).join(&old).exists() && !copies.join(&old).exists());
    assert_eq!(count(&ks, keys).await, 1);
    assert_eq!(count(&ks, "SELECT COUNT(*) FROM backup_keys WHERE version = 2 AND retired_at IS NULL").await, 1);
    let removed = "SELECT COUNT(*) FROM audit_log WHERE operation = 'backup.key_remove' AND target = 'backup-key:1'";
    assert_eq!(count(&cli.db.url, removed).await, 1);
    for id in [&new, &newest] {
        let out = kura(&cli, &["backup", "verify", id], &env);
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    }
    assert!(cli.run(&["audit", "verify"]).status.success());
}
