//! `--backup-rate` (OPS-1): how fast `kura backup`, `kura backup verify` and `kura restore` go
//! on a data set of about `--backup-mb` megabytes, each set against this machine's own limits
//! measured in the same run on the same bytes: a plain copy of the database file (read, write,
//! fsync), zstd at the backup's level, the backup's sealing (kura-crypto's `SealWriter`,
//! AES-256-GCM in 64 KiB chunks) and SHA-256, and for reading back zstd's decompression and
//! `OpenReader`.
//!
//! Kura runs with encryption at rest, as backups need it; the records are customers with a memo
//! of about 1.5 KB, created through the API like any client's. The server is stopped before
//! the backup, so the machine's two cores serve the backup alone. The limits are measured on
//! the restored database file: exactly the bytes the backup's snapshot held.

use crate::proc;
use crate::systems::{self, Launch};
use anyhow::{Context as _, bail};
use kura_crypto::vault::{BackupKey, KeyVersion, OpenReader, SealWriter};
use sha2::{Digest as _, Sha256};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// zstd's level in Kura's backups (`backup/files.rs`).
const ZSTD_LEVEL: i32 = 3;
const COLLECTION: &str = "documents";
const MB: f64 = 1e6;

/// One measured step: bytes of the database (before compression) and seconds.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Step {
    pub bytes: u64,
    pub seconds: f64,
}

impl Step {
    pub fn mb_per_s(self) -> f64 {
        if self.seconds > 0.0 { self.bytes as f64 / MB / self.seconds } else { 0.0 }
    }
}

/// Everything the mode measures.
#[derive(Debug, Default, serde::Serialize)]
pub struct BackupRate {
    pub engine: String,
    pub records: usize,
    pub seed_seconds: f64,
    /// The database as the snapshot holds it.
    pub database_bytes: u64,
    /// The backup's files (compressed and sealed).
    pub stored_bytes: u64,
    pub backup: Step,
    pub verify: Step,
    pub restore: Step,
    /// The machine's limits on the same bytes.
    pub copy: Step,
    pub sha256: Step,
    pub zstd: Step,
    pub zstd_out_bytes: u64,
    pub seal: Step,
    pub unzstd: Step,
    pub open: Step,
}

impl BackupRate {
    /// The best rate a backup could reach doing its steps one after another on one core: a copy
    /// of the database (the snapshot), zstd over it, then sealing and hashing the compressed
    /// bytes and writing them once. In MB of database per second.
    pub fn backup_bound(&self) -> f64 {
        let ratio = self.zstd_out_bytes as f64 / self.database_bytes.max(1) as f64;
        1.0 / (1.0 / self.copy.mb_per_s()
            + 1.0 / self.zstd.mb_per_s()
            + ratio * (1.0 / self.seal.mb_per_s() + 1.0 / self.sha256.mb_per_s() + 1.0 / self.copy.mb_per_s()))
    }
    /// Verifying reads the stored file twice (its digest, then opening it) and decompresses.
    pub fn verify_bound(&self) -> f64 {
        let ratio = self.zstd_out_bytes as f64 / self.database_bytes.max(1) as f64;
        1.0 / (1.0 / self.unzstd.mb_per_s() + ratio * (1.0 / self.sha256.mb_per_s() + 1.0 / self.open.mb_per_s()))
    }
    /// Restoring is verifying plus writing the database once.
    pub fn restore_bound(&self) -> f64 {
        1.0 / (1.0 / self.verify_bound() + 1.0 / self.copy.mb_per_s())
    }
}

/// Runs the measurement: seeds Kura (on SQLite, or on PostgreSQL with `pg`) to about `mb`
/// megabytes, stops it, then backs up, verifies, restores, and measures the limits.
pub async fn measure(
    launch: &Launch,
    pg: Option<crate::pg::PgDatabase>,
    mb: u64,
    connections: usize,
) -> anyhow::Result<BackupRate> {
    let engine = if pg.is_some() { "postgres" } else { "sqlite" };
    let pg_url = pg.as_ref().map(|p| p.url.clone());
    let inst = systems::start_kura(launch, pg, false, false).await?;
    let dir = inst._dir.path().to_owned();
    let data = dir.join("data");
    let base = inst.target.records_url.split("/api/").next().context("base URL")?.to_owned();
    let http = crate::tls::http_client(None, false, std::time::Duration::from_secs(60))?;
    let spec = serde_json::json!({
        "name": COLLECTION, "label": "Documents",
        "fields": [
            {"name": "name", "label": "Name", "type": "text", "required": true, "pii": true},
            {"name": "email", "label": "Email", "type": "email", "pii": true},
            {"name": "memo", "label": "Memo", "type": "long_text"}
        ]
    });
    let resp = http
        .post(format!("{base}/api/v1/collections"))
        .header(reqwest::header::AUTHORIZATION, &inst.target.auth)
        .json(&spec)
        .send()
        .await?;
    anyhow::ensure!(resp.status().is_success(), "creating the collection: {}", resp.text().await.unwrap_or_default());

    // Seed in steps (20,000 records for 1 GB; a record takes some 3 KB with its audit entry)
    // until the database holds about `mb` megabytes.
    let started = Instant::now();
    let url = Arc::new(format!("{base}/api/v1/collections/{COLLECTION}/records"));
    let step = usize::try_from(mb.saturating_mul(20)).unwrap_or(20_000).clamp(200, 20_000);
    let mut records = 0;
    while database_size(&data, &inst).await? < mb * 1_000_000 {
        seed(&url, &inst.target.auth, records, step, connections).await?;
        records += step;
        eprintln!(
            "  {records} records, database {:.0} MB, {:.0} s",
            database_size(&data, &inst).await? as f64 / MB,
            started.elapsed().as_secs_f64()
        );
    }
    let seed_seconds = started.elapsed().as_secs_f64();
    let systems::Instance { server, _dir: keep, .. } = inst;
    drop(server);

    let mut r = BackupRate { engine: engine.to_owned(), records, seed_seconds, ..BackupRate::default() };
    let db_url = pg_url.clone().unwrap_or_default();
    eprintln!("kura backup …");
    let (out, secs) = kura(launch, &data, &db_url, &["backup"])?;
    let id = out.split_whitespace().nth(1).context("no backup id in the output of kura backup")?.to_owned();
    r.database_bytes = number_before(&out, " bytes of database").context("no size in kura backup's output")?;
    r.stored_bytes = number_before(&out, " bytes compressed").context("no stored size in kura backup's output")?;
    r.backup = Step { bytes: r.database_bytes, seconds: secs };
    eprintln!("kura backup verify …");
    let (_, secs) = kura(launch, &data, &db_url, &["backup", "verify", &id])?;
    r.verify = Step { bytes: r.database_bytes, seconds: secs };
    eprintln!("kura restore …");
    let restored = dir.join("restored");
    let into = match &pg_url {
        None => restored.display().to_string(),
        Some(url) => format!("{url}_restored"),
    };
    let (_, secs) = kura(launch, &data, &db_url, &["restore", &id, "--into", &into])?;
    r.restore = Step { bytes: r.database_bytes, seconds: secs };
    if pg_url.is_some() {
        drop_database(&into).await;
    }

    // The limits, on the snapshot's bytes: the restored file on SQLite, a plain dump on
    // PostgreSQL (the bytes the backup compressed).
    let plain = match &pg_url {
        None => restored.join("kura.db"),
        Some(url) => pg_dump_file(&dir, url)?,
    };
    eprintln!("measuring the machine's limits on {} …", plain.display());
    let limits = tokio::task::spawn_blocking(move || limits(&plain)).await??;
    r.copy = limits.copy;
    r.sha256 = limits.sha256;
    r.zstd = limits.zstd;
    r.zstd_out_bytes = limits.zstd_out_bytes;
    r.seal = limits.seal;
    r.unzstd = limits.unzstd;
    r.open = limits.open;
    drop(keep);
    Ok(r)
}

/// The database's size: its files on SQLite, `pg_database_size` on PostgreSQL.
async fn database_size(data: &Path, inst: &systems::Instance) -> anyhow::Result<u64> {
    if let Some(pg) = &inst.pg {
        return pg.size().await;
    }
    let mut total = 0;
    for name in ["kura.db", "kura.db-wal"] {
        total += std::fs::metadata(data.join(name)).map(|m| m.len()).unwrap_or(0);
    }
    Ok(total)
}

/// Creates records `first..first + n` with `connections` concurrent requests.
async fn seed(url: &Arc<String>, auth: &str, first: usize, n: usize, connections: usize) -> anyhow::Result<()> {
    let next = Arc::new(AtomicUsize::new(first));
    let auth = Arc::new(auth.to_owned());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections.max(1) {
        let (next, url, auth) = (next.clone(), url.clone(), auth.clone());
        tasks.spawn(async move {
            let client = crate::tls::http_client(None, false, std::time::Duration::from_secs(60))?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= first + n {
                    return anyhow::Ok(());
                }
                let resp = client
                    .post(url.as_str())
                    .header(reqwest::header::AUTHORIZATION, auth.as_str())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(document(i as u64))
                    .send()
                    .await
                    .context("seeding")?;
                let status = resp.status();
                if !status.is_success() {
                    bail!("seeding record {i}: HTTP {status}: {}", resp.text().await.unwrap_or_default());
                }
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.context("a seeding task panicked")??;
    }
    Ok(())
}

const PHRASES: [&str; 12] = [
    "ご注文いただいた商品の発送予定について、担当者より折り返しご連絡いたします。",
    "前回の打ち合わせで合意した内容を、見積書に反映して再送しました。",
    "請求書の宛名を本社経理部に変更してほしいとのご依頼がありました。",
    "来月の定期点検は第二週の火曜日午後で調整中です。",
    "Webサイトのお問い合わせフォームから資料請求がありました。",
    "契約更新の時期が近いため、新しい料金プランをご案内する予定です。",
    "電話での問い合わせ：ログインできないとのことで、パスワードの再設定を案内しました。",
    "展示会で名刺交換。製品デモの日程を後日連絡することになっています。",
    "支払いは月末締め翌月末払いでお願いしたいとのご要望です。",
    "ご担当者が異動されたため、後任の方の連絡先を確認しています。",
    "Order #4821 shipped via Yamato; tracking number sent by mail.",
    "納品物の検収が完了し、受領書を受け取りました。",
];

/// Record `i`: a name, an address and a memo of about 1.5 KB of varied Japanese business text.
fn document(i: u64) -> String {
    let mut r = crate::load::Rng::new(i ^ 0x5eed);
    let mut memo = String::new();
    while memo.len() < 1_500 {
        memo.push_str(PHRASES[r.below(PHRASES.len())]);
        memo.push_str(&format!("（{}）", r.below(100_000)));
    }
    serde_json::json!({"name": format!("顧客 {i}"), "email": format!("customer{i}@example.jp"), "memo": memo})
        .to_string()
}

/// Runs `kura ARGS` on the data directory; its standard output and the wall time.
fn kura(launch: &Launch, data: &Path, db_url: &str, args: &[&str]) -> anyhow::Result<(String, f64)> {
    let mut cmd = systems::kura_command(&launch.kura_bin, data, db_url);
    cmd.args(args);
    let started = Instant::now();
    let out = proc::run_capture(&mut cmd, &format!("kura {}", args.join(" ")))?;
    Ok((out, started.elapsed().as_secs_f64()))
}

/// The number just before `marker` in `text`.
fn number_before(text: &str, marker: &str) -> Option<u64> {
    let head = &text[..text.find(marker)?];
    head.rsplit(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// On PostgreSQL, what the backup compressed: `pg_dump` in the custom format, uncompressed, as
/// Kura runs it, into a file.
fn pg_dump_file(dir: &Path, db_url: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join("dump.pgc");
    let out = Command::new("pg_dump")
        .args(["--format=custom", "--compress=0", "--file"])
        .arg(&path)
        .arg(db_url)
        .output()
        .context("pg_dump")?;
    anyhow::ensure!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
    Ok(path)
}

async fn drop_database(url: &str) {
    let Some((server, name)) = url.rsplit_once('/') else { return };
    if let Ok(pool) = sqlx::PgPool::connect(&format!("{server}/postgres")).await {
        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await;
        pool.close().await;
    }
}

/// The limits measured on the file at `path`.
struct Limits {
    copy: Step,
    sha256: Step,
    zstd: Step,
    zstd_out_bytes: u64,
    seal: Step,
    unzstd: Step,
    open: Step,
}

/// Counts what goes through.
struct Counting(u64);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn timed<T>(bytes: u64, f: impl FnOnce() -> io::Result<T>) -> io::Result<(Step, T)> {
    let started = Instant::now();
    let value = f()?;
    Ok((Step { bytes, seconds: started.elapsed().as_secs_f64() }, value))
}

fn limits(path: &Path) -> anyhow::Result<Limits> {
    let bytes = std::fs::metadata(path)?.len();
    let reader = || -> io::Result<io::BufReader<std::fs::File>> {
        Ok(io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?))
    };
    // A plain copy: read the file, write a new one, fsync it.
    let copy_path = path.with_extension("copy");
    let (copy, ()) = timed(bytes, || {
        let mut out = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&copy_path)?);
        io::copy(&mut reader()?, &mut out)?;
        out.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()
    })?;
    std::fs::remove_file(&copy_path)?;
    let (sha256, _) = timed(bytes, || {
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut file = reader()?;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(hasher.finalize())
    })?;
    // zstd into memory, kept for decompression.
    let (zstd, compressed) = timed(bytes, || {
        let mut enc = zstd::stream::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
        io::copy(&mut reader()?, &mut enc)?;
        enc.finish()
    })?;
    let (unzstd, _) = timed(bytes, || io::copy(&mut zstd::stream::Decoder::new(&compressed[..])?, &mut io::sink()))?;
    // Sealing the database's bytes as a backup file is sealed, into memory, kept for opening.
    let key = BackupKey::generate(KeyVersion::FIRST);
    let (seal, sealed) = timed(bytes, || {
        let mut w = SealWriter::new(&key, b"bench/database", Vec::new())?;
        io::copy(&mut reader()?, &mut w)?;
        w.finish()
    })?;
    let (open, _) = timed(bytes, || {
        let mut r = OpenReader::new(&key, b"bench/database", &sealed[..])?;
        let mut out = Counting(0);
        io::copy(&mut r, &mut out)?;
        Ok(out.0)
    })?;
    Ok(Limits { copy, sha256, zstd, zstd_out_bytes: compressed.len() as u64, seal, unzstd, open })
}

/// The report, as Markdown.
pub fn report(r: &BackupRate) -> String {
    let row = |what: &str, s: Step, bound: f64| {
        format!("| {what} | {:.2} s | **{:.1} MB/s** | {:.2} |\n", s.seconds, s.mb_per_s(), s.mb_per_s() / bound)
    };
    let limit = |what: &str, s: Step| format!("| {what} | {:.2} s | {:.1} MB/s |\n", s.seconds, s.mb_per_s());
    let mut out = format!(
        "Kura on {}: {} records ({:.0} s to create through the API); database {:.1} MB, backup {:.1} MB \
         (zstd alone: {:.1} MB)\n\n",
        r.engine,
        r.records,
        r.seed_seconds,
        r.database_bytes as f64 / MB,
        r.stored_bytes as f64 / MB,
        r.zstd_out_bytes as f64 / MB
    );
    out.push_str("| command | time | rate (MB of database per s) | against its bound |\n|---|---|---|---|\n");
    out.push_str(&row("`kura backup`", r.backup, r.backup_bound()));
    out.push_str(&row("`kura backup verify`", r.verify, r.verify_bound()));
    out.push_str(&row("`kura restore`", r.restore, r.restore_bound()));
    out.push_str(&format!(
        "\nBounds (the steps one after another on one core): backup {:.1} MB/s, verify {:.1} MB/s, restore {:.1} MB/s.\n\n",
        r.backup_bound(),
        r.verify_bound(),
        r.restore_bound()
    ));
    out.push_str("| limit, same bytes | time | rate |\n|---|---|---|\n");
    out.push_str(&limit("plain copy (read, write, fsync)", r.copy));
    out.push_str(&limit("SHA-256", r.sha256));
    out.push_str(&limit(&format!("zstd level {ZSTD_LEVEL}, one thread"), r.zstd));
    out.push_str(&limit("zstd decompression", r.unzstd));
    out.push_str(&limit("sealing (AES-256-GCM, 64 KiB chunks)", r.seal));
    out.push_str(&limit("opening", r.open));
    out
}
