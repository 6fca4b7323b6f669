//! TEN-4, the contract's end, through the binary: the proof that a deleted tenant cannot be read
//! back from any backup generation, while the other tenants in the same backups restore intact;
//! the deletion certificate printed and verified; deletion refused before the grace period ends.
//!
//! The installation runs in this process with a manual clock (the backups are a day apart and
//! the deletion runs after the grace period); everything else goes through `kura` on the same
//! data directory, database, keystore and checkpoint sink.

use super::Cli;
use super::backup::{count, keystore_url, kura, master_key_file, restore_target, restored_url, stderr};
use super::stdout;
use jiff::{SignedDuration, Timestamp};
use kura_domain::{Actor, ActorKind, Clock as _, ManualClock};
use kura_server::backup::Backups;
use kura_server::service::tenants::{NewTenant, create_tenant};
use kura_server::{Application, Settings};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const PASSWORD: &str = "correct-horse-battery-staple-42";

/// The canaries of the tenant to be deleted: ASCII, Japanese names and text.
const CANARIES: [&str; 4] = ["KuraTen4CanaryQx", "金庫番消去試験", "カナリアタロウ", "canary-ten4@gone.example.jp"];
/// What the other tenant holds, which must survive.
const KEPT: [&str; 2] = ["KuraTen4KeptZw", "残る顧客花子"];

/// The settings `kura` uses for this installation (the same environment), with the cheap hashing
/// of the CLI tests.
pub(super) fn settings(cli: &Cli) -> Settings {
    let env = [
        ("KURA_DATABASE_URL", cli.db.url.clone()),
        ("KURA_DATA_DIR", cli.data().display().to_string()),
        ("KURA_AUDIT_CHECKPOINT_DIR", cli.sink.path().display().to_string()),
        ("KURA_ARGON2_MEMORY_KIB", "64".to_owned()),
        ("KURA_ARGON2_ITERATIONS", "1".to_owned()),
        ("KURA_LOG", "warn".to_owned()),
    ];
    let mut s = Settings::load(None, env.iter().map(|(k, v)| ((*k).to_owned(), v.clone()))).unwrap();
    s.listen = "127.0.0.1:0".parse().unwrap();
    s.cookie_secure = false;
    s
}

fn actor() -> Actor {
    Actor { kind: ActorKind::Cli, id: None, label: "cli:test".into(), role: None, source_ip: None, user_agent: None }
}

/// The installation served in this process on `clock`.
pub(super) struct Running {
    pub(super) app_state: kura_server::AppState,
    address: String,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub(super) async fn serve(settings: Settings, clock: Arc<ManualClock>) -> Running {
    let _ = (*kura_server::tls::provider()).clone().install_default();
    let app = Application::build(settings, clock).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let app_state = app.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_with_shutdown(async move {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder().build().unwrap();
    Running { app_state, address, client, _stop: tx }
}

impl Running {
    async fn send(&self, method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.address)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Opens a tenant whose contract ends on `end`, with a customers collection; returns the
    /// administrator's API token.
    pub(super) async fn tenant(&self, slug: &str, end: Option<String>) -> String {
        let email = format!("admin@{slug}.example.jp");
        let input = NewTenant {
            slug: slug.into(),
            display_name: format!("{slug} 株式会社"),
            admin_email: email.clone(),
            admin_name: "管理者".into(),
            contract_end: end,
            ..NewTenant::default()
        };
        create_tenant(&self.app_state, actor(), input, Some(PASSWORD.into())).await.unwrap();
        let body = json!({"tenant": slug, "email": email, "password": PASSWORD});
        let resp = self.client.post(format!("{}/api/v1/sessions", self.address)).json(&body).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        let token = resp.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
        let spec = json!({"name": "customers", "label": "顧客", "fields": [
            {"name": "name", "label": "氏名", "type": "text", "pii": true},
            {"name": "kana", "label": "フリガナ", "type": "text"},
            {"name": "email", "label": "メール", "type": "email", "pii": true},
            {"name": "note", "label": "備考", "type": "text"}
        ]});
        let (s, body) = self.send(reqwest::Method::POST, "/api/v1/collections", &token, Some(spec)).await;
        assert_eq!(s, 201, "{body}");
        token
    }

    pub(super) async fn record(&self, token: &str, data: Value) {
        let path = "/api/v1/collections/customers/records";
        let (s, body) = self.send(reqwest::Method::POST, path, token, Some(data)).await;
        assert_eq!(s, 201, "{body}");
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(files_under(&path)) } else { out.push(path) }
    }
    out
}

fn occurrences(haystack: &[u8], needle: &str) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle.as_bytes()).count()
}

/// Every byte of a restored database: its files on SQLite, a plain `pg_dump` on PostgreSQL.
fn database_bytes(into: &str) -> Vec<u8> {
    if into.starts_with("postgres") {
        let out = std::process::Command::new("pg_dump").arg("--dbname").arg(into).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    } else {
        files_under(Path::new(into)).iter().flat_map(|f| std::fs::read(f).unwrap()).collect()
    }
}

#[tokio::test]
async fn ten_4_every_restored_backup_generation_yields_no_canary_of_a_deleted_tenant() {
    let cli = Cli::new().await;
    master_key_file(&cli);
    let settings = settings(&cli);
    let start = kura_server::SystemClock.now();
    let clock = Arc::new(ManualClock::new(start));
    let running = serve(settings.clone(), clock.clone()).await;
    let state = &running.app_state;

    // The tenant to be deleted ends its contract tomorrow (its own day); the other has no end.
    let today = start.to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap()).date();
    let end = today.tomorrow().unwrap();
    let gone = running.tenant("gone", Some(end.to_string())).await;
    let stays = running.tenant("stays", None).await;
    for i in 0..5 {
        let data = json!({"name": format!("{} {i}", CANARIES[1]), "kana": CANARIES[2], "email": CANARIES[3],
                          "note": format!("{} {}", CANARIES[0], CANARIES[1])});
        running.record(&gone, data).await;
        let data = json!({"name": format!("{} {i}", KEPT[1]), "note": KEPT[0]});
        running.record(&stays, data).await;
    }

    // Seven backup generations, a day apart.
    let backups = Backups::new(&settings).unwrap();
    let vault = state.store.vault().unwrap().clone();
    for _ in 0..7 {
        clock.advance(SignedDuration::from_hours(24));
        backups.make(&vault, &*clock).await.unwrap();
    }
    let generations = backups.list().unwrap();
    assert_eq!(generations.len(), 7);

    // Still inside the grace period: the job deletes nothing.
    assert!(kura_server::erasure::delete_due(state).await.is_empty());
    // Past it (the end, then 60 days, then the day of deletion): the scheduled job deletes.
    let due = kura_server::erasure::due_date(end, 60);
    clock.set(
        due.to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap()).unwrap().timestamp()
            + SignedDuration::from_hours(1),
    );
    assert_eq!(kura_server::erasure::delete_due(state).await, ["gone"]);
    let deleted_at: Timestamp = clock.now();

    // Nothing of it is left in the live database; the platform's log keeps that it happened.
    let live = &cli.db.url;
    let gone_rows = "SELECT COUNT(*) FROM tenants WHERE slug = 'gone'";
    assert_eq!(count(live, gone_rows).await, 0);
    assert_eq!(count(live, "SELECT COUNT(*) FROM users WHERE email LIKE '%@gone.example.jp'").await, 0);
    assert_eq!(count(live, "SELECT COUNT(*) FROM tenant_deletions WHERE slug = 'gone'").await, 1);
    let entries = "SELECT COUNT(*) FROM audit_log WHERE operation = 'tenant.delete' AND target = 'tenant:gone'";
    assert_eq!(count(live, entries).await, 1);
    let out = kura(&cli, &["audit", "verify"], &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    // Its administrator was sent the certificate (a platform mail, kept when its rows went).
    let mails = "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'deletion_certificate' \
                 AND recipient = 'admin@gone.example.jp'";
    assert_eq!(count(live, mails).await, 1);

    // The operator downloads the certificate and verifies it.
    let file = cli.dir.path().join("gone.certificate");
    let out = kura(&cli, &["tenant", "certificate", "--tenant", "gone", "--out", file.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = kura(&cli, &["tenant", "verify-certificate", file.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Deletion certificate verified") && text.contains("records\t5"), "{text}");
    assert!(text.contains(&format!("contract ended {end}")), "{text}");
    let note = std::fs::read_to_string(&file).unwrap();
    let at = |key: &str| -> Timestamp {
        let line = note.lines().find(|l| l.starts_with(key)).unwrap();
        line.split(' ').nth(1).unwrap().parse().unwrap()
    };
    assert!(at("keys-destroyed ") >= deleted_at - SignedDuration::from_secs(1));
    let kept = at("keystore-backups-expired-by ").duration_since(at("keys-destroyed "));
    assert_eq!(kept, SignedDuration::from_hours(3 * 24) + SignedDuration::from_secs(60), "3 days and one check");
    let kept = at("data-backups-expired-by ").duration_since(at("rows-deleted "));
    assert_eq!(kept, SignedDuration::from_hours(7 * 24), "seven generations, one a day");
    // A changed certificate does not verify.
    std::fs::write(&file, note.replace("records 5", "records 4")).unwrap();
    let out = kura(&cli, &["tenant", "verify-certificate", file.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("INVALID"), "{}", stdout(&out));

    // Every generation, restored: no canary of the deleted tenant in any byte, none that Kura
    // can open; the other tenant intact.
    let key_file = cli.dir.path().join("data-master.key");
    let ks = keystore_url(&cli);
    for (n, generation) in generations.iter().enumerate() {
        let (into, _guard) = restore_target(&cli, &format!("gen{n}")).await;
        let out = kura(&cli, &["restore", &generation.id, "--into", &into], &[]);
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        let url = restored_url(&into);
        assert_eq!(count(&url, gone_rows).await, 1, "the backup predates the deletion");
        let bytes = database_bytes(&into);
        // The search sees the restored data: the tenant's name is there, in the clear (it is not
        // sealed; it goes with the backup itself, at the time the certificate gives).
        assert!(occurrences(&bytes, "gone 株式会社") > 0, "generation {n}: the search found nothing at all");
        for canary in CANARIES {
            assert_eq!(occurrences(&bytes, canary), 0, "generation {n}: {canary} in the restored bytes");
        }
        let node = cli.dir.path().join(format!("gen{n}-node"));
        let env = [
            ("KURA_DATABASE_URL", url.as_str()),
            ("KURA_DATA_DIR", node.to_str().unwrap()),
            ("KURA_MASTER_KEY_FILE", key_file.to_str().unwrap()),
            ("KURA_KEYSTORE_URL", ks.as_str()),
        ];
        let export = |slug: &str| {
            let file = cli.dir.path().join(format!("gen{n}-{slug}.jsonl"));
            let args = ["export", "--tenant", slug, "--collection", "customers", "--format", "jsonl", "--out"];
            let out = kura(&cli, &[&args[..], &[file.to_str().unwrap()]].concat(), &env);
            (out, std::fs::read_to_string(&file).unwrap_or_default())
        };
        let (out, text) = export("gone");
        assert!(!out.status.success(), "generation {n}: the deleted tenant's records opened");
        assert!(CANARIES.iter().all(|c| !text.contains(c)), "generation {n}: {text}");
        let (out, text) = export("stays");
        assert!(out.status.success(), "generation {n}: {}", stderr(&out));
        assert!(stdout(&out).contains("Exported 5 records"), "{}", stdout(&out));
        assert_eq!(occurrences(text.as_bytes(), KEPT[0]), 5, "generation {n}");
        assert!(text.contains(KEPT[1]));
    }
}

#[tokio::test]
async fn ten_4_deletion_before_the_grace_period_ends_or_without_an_end_is_refused_and_changes_nothing() {
    let cli = Cli::new().await;
    master_key_file(&cli);
    let settings = settings(&cli);
    let clock = Arc::new(ManualClock::new(kura_server::SystemClock.now()));
    let running = serve(settings, clock.clone()).await;
    let today = clock.now().to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap()).date();
    // Its contract has not ended (it ends tomorrow). The other has no end at all.
    let ended = running.tenant("ended", Some(today.tomorrow().unwrap().to_string())).await;
    running.tenant("open", None).await;
    running.record(&ended, json!({"name": "残す"})).await;
    let before = count(&cli.db.url, "SELECT COUNT(*) FROM records").await;

    let out = kura(&cli, &["tenant", "delete", "--tenant", "ended"], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("grace period") && err.contains("not before"), "{err}");
    let out = kura(&cli, &["tenant", "delete", "--tenant", "open"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no end date"), "{}", stderr(&out));
    let out = kura(&cli, &["tenant", "delete", "--tenant", "nobody"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no tenant nobody"), "{}", stderr(&out));
    let out = kura(&cli, &["tenant", "certificate", "--tenant", "ended"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no deletion certificate"), "{}", stderr(&out));
    // A grace period out of range is refused before anything opens.
    let out = kura(&cli, &["tenant", "delete", "--tenant", "ended"], &[("KURA_CONTRACT_GRACE_DAYS", "91")]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("contract.grace_days"), "{}", stderr(&out));
    let out = kura(&cli, &["tenant", "delete", "--tenant", "ended"], &[("KURA_CONTRACT_GRACE_DAYS", "-1")]);
    assert!(!out.status.success());

    // Nothing changed: the records, both tenants, their keys.
    assert_eq!(count(&cli.db.url, "SELECT COUNT(*) FROM records").await, before);
    assert_eq!(count(&cli.db.url, "SELECT COUNT(*) FROM tenants").await, 2);
    assert_eq!(count(&cli.db.url, "SELECT COUNT(*) FROM tenant_deletions").await, 0);
    let out = kura(&cli, &["tenant", "list"], &[]);
    assert!(stdout(&out).contains("ended") && stdout(&out).contains("open"));
    // And the job leaves them too, once the contract has ended, until the grace period is over.
    clock.advance(SignedDuration::from_hours(24 * 30));
    assert!(kura_server::erasure::delete_due(&running.app_state).await.is_empty());
    assert_eq!(count(&cli.db.url, "SELECT COUNT(*) FROM records").await, before);
}
