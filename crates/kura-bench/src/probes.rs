//! The machine's limits that bound the results: how many fdatasyncs the disk does per second, how
//! many single-row transactions SQLite commits durably per second on it, and how many Argon2id
//! hashes the cores compute per second at Kura's parameters.

use anyhow::Context as _;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use kura_crypto::{Argon2Params, PasswordHasher};
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

/// Fsyncs per second on the disk holding `dir`.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct FsyncRate {
    /// Appending 4 KiB, then fdatasync (a growing log: every sync also records the new size).
    pub append_per_s: f64,
    /// Overwriting the same 4 KiB block, then fdatasync (a reused log file).
    pub overwrite_per_s: f64,
    /// SQLite with Kura's durability settings (WAL, `synchronous=FULL`), one row per
    /// transaction: what a store without group commit acknowledges per second on this disk.
    pub sqlite_row_commits_per_s: f64,
}

/// Measures the disk holding `dir` for `seconds` each: 4 KiB writes with fdatasync, appending and
/// overwriting, then SQLite's durable single-row commits.
pub async fn disk_rate(dir: &Path, seconds: f64) -> anyhow::Result<FsyncRate> {
    let path = dir.to_owned();
    let (append_per_s, overwrite_per_s) =
        tokio::task::spawn_blocking(move || fdatasync_rates(&path, seconds)).await??;
    let sqlite_row_commits_per_s = sqlite_row_commit_rate(dir, seconds).await?;
    Ok(FsyncRate { append_per_s, overwrite_per_s, sqlite_row_commits_per_s })
}

/// Writes 4 KiB and fdatasyncs in a loop for `seconds`, once appending and once overwriting:
/// the rates per second, in that order.
fn fdatasync_rates(dir: &Path, seconds: f64) -> anyhow::Result<(f64, f64)> {
    let duration = Duration::from_secs_f64(seconds);
    let block = [0x5a_u8; 4096];
    let path = dir.join("fsync-probe.bin");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.sync_all()?;
    let start = Instant::now();
    let mut n = 0_u64;
    while start.elapsed() < duration {
        f.write_all(&block)?;
        f.sync_data()?;
        n += 1;
    }
    let append_per_s = n as f64 / start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut n = 0_u64;
    while start.elapsed() < duration {
        f.write_all_at(&block, 0)?;
        f.sync_data()?;
        n += 1;
    }
    let overwrite_per_s = n as f64 / start.elapsed().as_secs_f64();
    drop(f);
    let _ = std::fs::remove_file(&path);
    Ok((append_per_s, overwrite_per_s))
}

/// Commits one row of a record's size per transaction into a fresh SQLite database in `dir`, in
/// WAL mode with `synchronous=FULL` as Kura's store opens it, for `seconds`: the durable commits
/// per second one connection gets without batching.
async fn sqlite_row_commit_rate(dir: &Path, seconds: f64) -> anyhow::Result<f64> {
    let options = SqliteConnectOptions::new()
        .filename(dir.join("commit-probe.sqlite"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut conn = SqliteConnection::connect_with(&options).await.context("cannot open the probe's SQLite file")?;
    sqlx::query("CREATE TABLE probe (id INTEGER PRIMARY KEY, data TEXT NOT NULL)").execute(&mut conn).await?;
    // About the size of a seeded record of the benchmark's collection, as Kura stores it.
    let data = format!(r#"{{"name":"{0}","city":"{0}","email":"probe@example.com","points":500}}"#, "x".repeat(100));
    let duration = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut n = 0_u64;
    while start.elapsed() < duration {
        sqlx::query("INSERT INTO probe (data) VALUES ($1)").bind(&data).execute(&mut conn).await?;
        n += 1;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    conn.close().await?;
    Ok(rate)
}

/// Argon2id hashes per second at Kura's parameters.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Argon2Rate {
    pub params: String,
    pub threads: usize,
    /// The `argon2` crate, one memory block per thread reused for every hash: the raw rate.
    pub raw_1_thread: f64,
    pub raw_n_threads: f64,
    /// `kura_crypto::PasswordHasher::verify`, as Kura's login does it: parse the PHC string and
    /// allocate fresh memory for every hash.
    pub verify_1_thread: f64,
    pub verify_n_threads: f64,
}

/// Measures for `seconds` each: raw hashes with reused memory and Kura's verify, on one thread and
/// on `threads`. The first two hashes of each thread are a warm-up and not counted.
pub fn argon2_rate(params: Argon2Params, threads: usize, seconds: f64) -> anyhow::Result<Argon2Rate> {
    let d = Duration::from_secs_f64(seconds);
    Ok(Argon2Rate {
        params: format!("m={},t={},p={}", params.memory_kib, params.iterations, params.parallelism),
        threads,
        raw_1_thread: on_threads(1, d, || raw_hasher(params))?,
        raw_n_threads: on_threads(threads, d, || raw_hasher(params))?,
        verify_1_thread: on_threads(1, d, || verify_hasher(params))?,
        verify_n_threads: on_threads(threads, d, || verify_hasher(params))?,
    })
}

/// The raw rate alone on `threads` threads, for `seconds`: measured beside each round's login runs,
/// so that logins/s and hashes/s are compared under the same machine conditions.
pub fn argon2_raw_rate(params: Argon2Params, threads: usize, seconds: f64) -> anyhow::Result<f64> {
    on_threads(threads, Duration::from_secs_f64(seconds), || raw_hasher(params))
}

type HashFn = Box<dyn FnMut() -> anyhow::Result<()> + Send>;

fn raw_hasher(params: Argon2Params) -> anyhow::Result<HashFn> {
    let p = Params::new(params.memory_kib, params.iterations, params.parallelism, Some(32))
        .map_err(|e| anyhow::anyhow!("invalid Argon2 parameters: {e}"))?;
    let mut blocks = vec![Block::new(); p.block_count()];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
    let mut out = [0_u8; 32];
    Ok(Box::new(move || {
        argon2
            .hash_password_into_with_memory(b"correct horse battery staple", b"kura-bench-salt!", &mut out, &mut blocks)
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    }))
}

fn verify_hasher(params: Argon2Params) -> anyhow::Result<HashFn> {
    let hasher = PasswordHasher::new(params)?;
    let stored = hasher.hash("correct horse battery staple")?;
    Ok(Box::new(move || {
        anyhow::ensure!(hasher.verify(Some(&stored), "correct horse battery staple")?, "verification failed");
        Ok(())
    }))
}

/// Runs `make()`'s hash function on `threads` threads for `d` after a warm-up; the summed rate.
fn on_threads(threads: usize, d: Duration, make: impl Fn() -> anyhow::Result<HashFn> + Sync) -> anyhow::Result<f64> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> anyhow::Result<f64> {
                    let mut hash = make()?;
                    hash()?;
                    hash()?;
                    let start = Instant::now();
                    let mut n = 0_u64;
                    while start.elapsed() < d {
                        hash()?;
                        n += 1;
                    }
                    Ok(n as f64 / start.elapsed().as_secs_f64())
                })
            })
            .collect();
        let mut total = 0.0;
        for h in handles {
            total += h.join().map_err(|_| anyhow::anyhow!("a hashing thread panicked"))??;
        }
        Ok(total)
    })
}
