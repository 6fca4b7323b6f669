//! The report: every raw number (serialised with `--json`) and its Markdown rendering (medians,
//! ratios, errors). Formatting is pure and unit-tested.

use crate::load::{Outcome, Workload};
use crate::probes::{Argon2Rate, FsyncRate};
use crate::proc::CpuUse;
use crate::stats::median;
use crate::systems::SystemKind;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Machine {
    pub cores: usize,
    pub model: String,
    pub kernel: String,
    pub load_at_start: String,
    pub load_at_end: String,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Settings {
    pub records: usize,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub connections: usize,
    pub login_connections: usize,
    pub rounds: usize,
    pub seed: u64,
    pub work_dir: String,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct SystemReport {
    pub kind: SystemKind,
    pub label: String,
    pub version: String,
    pub notes: Vec<String>,
    pub start_to_healthy_ms: Vec<f64>,
    pub idle_rss_kib: Vec<u64>,
    /// VmHWM read after the last timed run; see `peak_scope`.
    pub peak_rss_kib: Option<u64>,
    pub peak_scope: String,
    pub seed_seconds: f64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Run {
    pub system: SystemKind,
    pub workload: Workload,
    pub round: usize,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub cpu: CpuUse,
    /// VmHWM after the run; reset before it when the kernel allows (see the system's peak_scope).
    pub peak_rss_kib: Option<u64>,
    /// Kura's durable writes and commits during the run (warm-up included).
    pub commits: Option<crate::load::Commits>,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    pub command: String,
    pub date: String,
    /// Git revision of the source tree (the harness's; build Kura from the same tree).
    pub source: String,
    pub machine: Machine,
    pub settings: Settings,
    pub fsync: Option<FsyncRate>,
    pub argon2: Option<Argon2Rate>,
    /// The raw Argon2id rate on all cores, measured in each round just before the login runs.
    pub argon2_per_round: Vec<f64>,
    pub systems: Vec<SystemReport>,
    pub runs: Vec<Run>,
    pub wrk: Vec<WrkRun>,
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct WrkRun {
    pub system: SystemKind,
    pub workload: Workload,
    #[serde(flatten)]
    pub result: crate::wrk::WrkResult,
}

/// Median figures of one system on one workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
    pub per_round: Vec<f64>,
    pub connections: usize,
    /// Medians of the CPU use over the rounds.
    pub cpu: CpuUse,
    /// The peak RSS of the first round (see the Markdown note on why not a later one).
    pub first_peak_rss_kib: Option<u64>,
}

impl Report {
    /// Medians over rounds of every (workload, system) that ran.
    pub fn cells(&self) -> BTreeMap<(Workload, SystemKind), Cell> {
        let mut groups: BTreeMap<(Workload, SystemKind), Vec<&Run>> = BTreeMap::new();
        for r in &self.runs {
            groups.entry((r.workload, r.system)).or_default().push(r);
        }
        groups
            .into_iter()
            .map(|(k, mut runs)| {
                runs.sort_by_key(|r| r.round);
                let med =
                    |f: &dyn Fn(&Run) -> f64| median(&runs.iter().map(|r| f(r)).collect::<Vec<_>>()).unwrap_or(0.0);
                let cell = Cell {
                    rps: med(&|r| r.outcome.rps),
                    p50_ms: med(&|r| r.outcome.latency.p50_ms),
                    p99_ms: med(&|r| r.outcome.latency.p99_ms),
                    errors: runs.iter().map(|r| r.outcome.errors).sum(),
                    per_round: runs.iter().map(|r| r.outcome.rps).collect(),
                    connections: runs.first().map_or(0, |r| r.outcome.connections),
                    cpu: CpuUse {
                        server_cores: med(&|r| r.cpu.server_cores),
                        harness_cores: med(&|r| r.cpu.harness_cores),
                        machine_busy_pct: med(&|r| r.cpu.machine_busy_pct),
                        machine_iowait_pct: med(&|r| r.cpu.machine_iowait_pct),
                    },
                    first_peak_rss_kib: runs.first().and_then(|r| r.peak_rss_kib),
                };
                (k, cell)
            })
            .collect()
    }

    /// The whole report as Markdown.
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let s = &self.settings;
        let m = &self.machine;
        let _ = writeln!(o, "## kura-bench results\n");
        let _ = writeln!(o, "- command: `{}`", self.command);
        let _ = writeln!(o, "- date: {}", self.date);
        let _ = writeln!(
            o,
            "- repository at run time: {} (the kura binary measured is the one given by --kura-bin)",
            self.source
        );
        let _ = writeln!(o, "- machine: {} cores, {}, {}", m.cores, m.model, m.kernel);
        let _ = writeln!(o, "- load average (1, 5, 15 min): {} at start, {} at end", m.load_at_start, m.load_at_end);
        let _ = writeln!(
            o,
            "- {} records seeded per system; each run {} s after a {} s warm-up; {} connections ({} for login); \
             {} rounds, systems alternated, medians reported",
            int(s.records as f64),
            num(s.duration_s),
            num(s.warmup_s),
            s.connections,
            s.login_connections,
            s.rounds
        );
        if let Some(f) = &self.fsync {
            let _ = writeln!(
                o,
                "- disk (temp dir `{}`): {} fdatasync/s appending 4 KiB, {} overwriting 4 KiB; SQLite (WAL, \
                 `synchronous=FULL`) commits {} single-row transactions/s",
                s.work_dir,
                int(f.append_per_s),
                int(f.overwrite_per_s),
                int(f.sqlite_row_commits_per_s)
            );
        }
        if let Some(a) = &self.argon2 {
            let _ = writeln!(
                o,
                "- Argon2id {}: raw (argon2 crate, memory reused) {}/s on 1 thread, {}/s on {} threads; \
                 Kura's verify (fresh memory per hash) {}/s on 1 thread, {}/s on {} threads",
                a.params,
                num(a.raw_1_thread),
                num(a.raw_n_threads),
                a.threads,
                num(a.verify_1_thread),
                num(a.verify_n_threads),
                a.threads
            );
        }
        for sys in &self.systems {
            let notes = if sys.notes.is_empty() { String::new() } else { format!("; {}", sys.notes.join("; ")) };
            let _ = writeln!(o, "- {}: {}{notes}", sys.label, sys.version);
        }

        let cells = self.cells();
        let kinds: Vec<SystemKind> = self.systems.iter().map(|s| s.kind).collect();
        let pb = |w: Workload| cells.get(&(w, SystemKind::Pocketbase)).map(|c| c.rps);
        let _ = writeln!(o, "\n### Throughput and latency (medians of {} rounds)\n", s.rounds);
        let _ = writeln!(
            o,
            "| workload | system | conns | req/s | p50 ms | p99 ms | errors | req/s per round | × PocketBase |"
        );
        let _ = writeln!(o, "|---|---|---:|---:|---:|---:|---:|---|---:|");
        for w in Workload::ALL {
            for k in &kinds {
                let Some(c) = cells.get(&(w, *k)) else { continue };
                let per_round = c.per_round.iter().map(|v| num(*v)).collect::<Vec<_>>().join(" / ");
                let vs_pb = match (pb(w), *k) {
                    (_, SystemKind::Pocketbase) => "1".to_owned(),
                    (Some(p), _) => ratio(c.rps, p),
                    (None, _) => "–".to_owned(),
                };
                let errors = if c.errors == 0 { "0".to_owned() } else { format!("**{}**", int(c.errors as f64)) };
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} | {errors} | {per_round} | {vs_pb} |",
                    w.name(),
                    k.label(),
                    c.connections,
                    num(c.rps),
                    ms(c.p50_ms),
                    ms(c.p99_ms),
                );
            }
        }

        let has = |k: SystemKind| kinds.contains(&k);
        if has(SystemKind::Pocketbase) || (has(SystemKind::KuraSqlite) && has(SystemKind::KuraPostgres)) {
            let _ = writeln!(o, "\n### Ratios of the medians\n");
            let _ = writeln!(
                o,
                "| workload | Kura SQLite / PocketBase | Kura PostgreSQL / PocketBase | Kura PostgreSQL / Kura SQLite |"
            );
            let _ = writeln!(o, "|---|---:|---:|---:|");
            let get = |w: Workload, k: SystemKind| cells.get(&(w, k)).map(|c| c.rps);
            let r = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => ratio(a, b),
                _ => "–".to_owned(),
            };
            for w in Workload::ALL {
                let (sq, pg, p) =
                    (get(w, SystemKind::KuraSqlite), get(w, SystemKind::KuraPostgres), get(w, SystemKind::Pocketbase));
                if sq.is_none() && pg.is_none() {
                    continue;
                }
                let _ = writeln!(o, "| {} | {} | {} | {} |", w.name(), r(sq, p), r(pg, p), r(pg, sq));
            }
        }

        if has(SystemKind::KuraSqlite) && has(SystemKind::KuraSqliteTls) {
            o.push_str(&self.tls_cost(&cells));
        }

        if let Some(a) = &self.argon2 {
            // Prefer the rate measured beside the logins, round by round; else the start-up probe.
            let (raw, how) = match median(&self.argon2_per_round) {
                Some(m) => (
                    m,
                    format!(
                        "median of {} measurements taken in the same rounds as the logins: {}",
                        self.argon2_per_round.len(),
                        self.argon2_per_round.iter().map(|v| num(*v)).collect::<Vec<_>>().join(" / ")
                    ),
                ),
                None => (a.raw_n_threads, "measured at start-up".to_owned()),
            };
            let lines: Vec<String> = [SystemKind::KuraSqlite, SystemKind::KuraPostgres]
                .into_iter()
                .filter_map(|k| cells.get(&(Workload::Login, k)).map(|c| (k, c.rps)))
                .map(|(k, rps)| format!("- {}: {} logins/s = {} of the raw rate", k.label(), num(rps), ratio(rps, raw)))
                .collect();
            if !lines.is_empty() {
                let _ = writeln!(o, "\n### Login against the hashing limit\n");
                let _ = writeln!(
                    o,
                    "Raw Argon2id {} on {} threads (argon2 crate, memory reused): {}/s ({how}).\n",
                    a.params,
                    a.threads,
                    num(raw)
                );
                let _ = writeln!(o, "{}", lines.join("\n"));
            }
        }

        let group: Vec<String> = Workload::ALL
            .iter()
            .flat_map(|w| kinds.iter().map(move |k| (*w, *k)))
            .filter_map(|(w, k)| {
                let runs: Vec<&Run> = self.runs.iter().filter(|r| r.workload == w && r.system == k).collect();
                let per_commit: Vec<f64> = runs
                    .iter()
                    .filter_map(|r| r.commits)
                    .filter(|c| c.commits > 0)
                    .map(|c| c.writes as f64 / c.commits as f64)
                    .collect();
                // The counters cover the warm-up too.
                let (commits_per_s, writes_per_s): (Vec<f64>, Vec<f64>) = runs
                    .iter()
                    .filter_map(|r| {
                        let seconds = self.settings.warmup_s + r.outcome.elapsed_s;
                        r.commits.map(|c| (c.commits as f64 / seconds, c.writes as f64 / seconds))
                    })
                    .unzip();
                let per_commit = median(&per_commit)?;
                let commits_per_s = median(&commits_per_s).unwrap_or(0.0);
                let writes_per_s = median(&writes_per_s).unwrap_or(0.0);
                // Reads commit only bookkeeping now and then (a session's last activity): not a batch.
                if commits_per_s < 1.0 {
                    return None;
                }
                // Against what one SQLite connection commits durably without batching, on the same disk.
                let single = match (k, &self.fsync) {
                    (SystemKind::KuraSqlite, Some(f)) if f.sqlite_row_commits_per_s > 0.0 => {
                        ratio(writes_per_s, f.sqlite_row_commits_per_s)
                    }
                    _ => "–".to_owned(),
                };
                Some(format!(
                    "| {} | {} | {} | {:.1} | {} | {} |",
                    w.name(),
                    k.label(),
                    num(commits_per_s),
                    per_commit,
                    num(writes_per_s),
                    single
                ))
            })
            .collect();
        if !group.is_empty() {
            let _ = writeln!(o, "\n### Group commit (Kura's /metrics, medians)\n");
            let _ = writeln!(
                o,
                "Durable writes per second over the run (warm-up included), and for Kura on SQLite their ratio to the \
                 single-row transactions SQLite commits per second on the same disk (the disk line above).\n"
            );
            let _ = writeln!(
                o,
                "| workload | system | durable commits/s | writes per commit | durable writes/s | × SQLite single-row commits |"
            );
            let _ = writeln!(o, "|---|---|---:|---:|---:|---:|");
            let _ = writeln!(o, "{}", group.join("\n"));
        }

        let _ = writeln!(o, "\n### Where the CPU went (medians)\n");
        let _ = writeln!(
            o,
            "Cores used on average during the measured run by the server process and by the harness's load generator, \
             the whole machine's busy and iowait share ({} cores), and the cores used by everything else (the machine's \
             busy time less the server and the harness: for Kura on PostgreSQL the database server, otherwise other \
             programs on the machine, i.e. noise).\n",
            self.machine.cores
        );
        let _ = writeln!(
            o,
            "| workload | system | server cores | load generator cores | machine busy % | iowait % | other cores |"
        );
        let _ = writeln!(o, "|---|---|---:|---:|---:|---:|---:|");
        for w in Workload::ALL {
            for k in &kinds {
                let Some(c) = cells.get(&(w, *k)) else { continue };
                let _ = writeln!(
                    o,
                    "| {} | {} | {:.2} | {:.2} | {:.0} | {:.1} | {:.2} |",
                    w.name(),
                    k.label(),
                    c.cpu.server_cores,
                    c.cpu.harness_cores,
                    c.cpu.machine_busy_pct,
                    c.cpu.machine_iowait_pct,
                    (c.cpu.machine_busy_pct / 100.0 * self.machine.cores as f64
                        - c.cpu.server_cores
                        - c.cpu.harness_cores)
                        .max(0.0)
                );
            }
        }

        let _ = writeln!(o, "\n### Memory and start-up\n");
        let _ = writeln!(
            o,
            "| system | start to healthy ms (median) | starts | idle RSS MiB (median) | peak RSS MiB | peak measured over |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|---|");
        for sys in &self.systems {
            let start = median(&sys.start_to_healthy_ms).map_or("–".to_owned(), ms);
            let idle = median(&sys.idle_rss_kib.iter().map(|&v| v as f64).collect::<Vec<_>>())
                .map_or("–".to_owned(), |v| mib(v as u64));
            let peak = sys.peak_rss_kib.map_or("–".to_owned(), mib);
            let _ = writeln!(
                o,
                "| {} | {start} | {} | {idle} | {peak} | {} |",
                sys.label,
                sys.start_to_healthy_ms.len(),
                sys.peak_scope
            );
        }

        if self.runs.iter().any(|r| r.peak_rss_kib.is_some()) {
            let _ = writeln!(
                o,
                "\nPeak RSS per workload in the first round, MiB. VmHWM is reset before each run, but a process \
                 that keeps freed memory starts the next run at its current RSS; workloads run in the order below, \
                 so each figure includes what the earlier workloads left behind, and later rounds would only repeat \
                 the highest:\n"
            );
            let _ = writeln!(o, "| workload | {} |", kinds.iter().map(|k| k.label()).collect::<Vec<_>>().join(" | "));
            let _ = writeln!(o, "|---|{}", "---:|".repeat(kinds.len()));
            for w in Workload::ALL {
                let row: Vec<String> = kinds
                    .iter()
                    .map(|k| cells.get(&(w, *k)).and_then(|c| c.first_peak_rss_kib).map_or("–".to_owned(), mib))
                    .collect();
                if row.iter().all(|c| c == "–") {
                    continue;
                }
                let _ = writeln!(o, "| {} | {} |", w.name(), row.join(" | "));
            }
        }

        let mut errors = String::new();
        for r in &self.runs {
            for (kind, n) in &r.outcome.error_kinds {
                let _ = writeln!(
                    errors,
                    "- {} / {} / round {}: {n} × `{}`",
                    r.system.label(),
                    r.workload.name(),
                    r.round + 1,
                    kind.replace('`', "'")
                );
            }
        }
        let _ = writeln!(o, "\n### Errors\n");
        if errors.is_empty() {
            let _ = writeln!(o, "No request failed: every response in every run (warm-up included) was 2xx.");
        } else {
            let _ = writeln!(o, "Non-2xx responses and transport errors (warm-up included):\n\n{errors}");
        }
        let disturbed = self.disturbed_runs();
        if !self.notes.is_empty() || !disturbed.is_empty() {
            let _ = writeln!(o, "\n### Notes\n");
            for n in &self.notes {
                let _ = writeln!(o, "- {n}");
            }
            if !disturbed.is_empty() {
                let _ = writeln!(
                    o,
                    "- other programs used more than {DISTURBED_CORES} cores during these runs, which are \
                     therefore disturbed: {}",
                    disturbed.join("; ")
                );
            }
        }
        o
    }
}

/// Cores used by other programs above which a run counts as disturbed.
const DISTURBED_CORES: f64 = 0.25;

impl Report {
    /// Runs during which programs other than the server and the harness were busy (Kura on
    /// PostgreSQL is left out: its database server is "other" by design).
    pub fn disturbed_runs(&self) -> Vec<String> {
        self.runs
            .iter()
            .filter(|r| !matches!(r.system, SystemKind::KuraPostgres | SystemKind::KuraPostgresRls))
            .filter_map(|r| {
                let other = r.cpu.machine_busy_pct / 100.0 * self.machine.cores as f64
                    - r.cpu.server_cores
                    - r.cpu.harness_cores;
                (other > DISTURBED_CORES).then(|| {
                    format!("round {} {} on {} ({other:.2} cores)", r.round + 1, r.workload.name(), r.system.label())
                })
            })
            .collect()
    }
}

/// An integer with thousands separators: `12,345`.
pub fn int(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0.0 && digits != "0" { format!("-{out}") } else { out }
}

/// A rate: integers from 100 up, one decimal below.
pub fn num(v: f64) -> String {
    if v.abs() >= 100.0 { int(v) } else { format!("{v:.1}") }
}

/// Milliseconds with about three significant digits.
pub fn ms(v: f64) -> String {
    if v >= 100.0 {
        int(v)
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// The server's CPU time per request in milliseconds: the cores it kept busy over the requests
/// it answered per second.
fn cpu_ms_per_request(c: &Cell) -> f64 {
    if c.rps > 0.0 { c.cpu.server_cores * 1000.0 / c.rps } else { 0.0 }
}

impl Report {
    /// Kura on SQLite over TLS against the same Kura over plain HTTP, from the same run:
    /// throughput, latency and the server's CPU time per request, as ratios.
    fn tls_cost(&self, cells: &BTreeMap<(Workload, SystemKind), Cell>) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "\n### Cost of TLS (Kura on SQLite, plain HTTP and TLS alternated in the same rounds)\n");
        let _ = writeln!(
            o,
            "| workload | plain req/s | TLS req/s | TLS / plain | p50 ms plain → TLS | server CPU ms/request plain → TLS \
             | CPU TLS / plain |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|");
        for w in Workload::ALL {
            let (Some(p), Some(t)) =
                (cells.get(&(w, SystemKind::KuraSqlite)), cells.get(&(w, SystemKind::KuraSqliteTls)))
            else {
                continue;
            };
            let (cp, ct) = (cpu_ms_per_request(p), cpu_ms_per_request(t));
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} → {} | {:.3} → {:.3} | {} |",
                w.name(),
                num(p.rps),
                num(t.rps),
                ratio(t.rps, p.rps),
                ms(p.p50_ms),
                ms(t.p50_ms),
                cp,
                ct,
                ratio(ct, cp)
            );
        }
        let _ = writeln!(
            o,
            "\n\"new connection\" opens a connection for every request (`GET /healthz`): over TLS each is a full \
             handshake (TLS 1.3, ECDHE and an ECDSA P-256 signature, no resumption), so its TLS req/s is the handshake \
             rate. The other workloads keep one connection per client, so TLS costs only record encryption there. \
             The load generator runs on the same machine and does its half of every handshake."
        );
        o
    }
}

/// `a / b` as `1.23×`; `–` when `b` is zero.
pub fn ratio(a: f64, b: f64) -> String {
    if b <= 0.0 || !a.is_finite() || !b.is_finite() { "–".to_owned() } else { format!("{:.2}×", a / b) }
}

/// A command line as one shell-pasteable string.
pub fn shell_join(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c)) {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::stats::Latency;

    #[test]
    fn number_formats() {
        assert_eq!(int(0.0), "0");
        assert_eq!(int(999.4), "999");
        assert_eq!(int(1000.0), "1,000");
        assert_eq!(int(1_234_567.0), "1,234,567");
        assert_eq!(int(-4321.0), "-4,321");
        assert_eq!(num(3289.4), "3,289");
        assert_eq!(num(33.27), "33.3");
        assert_eq!(ms(0.4321), "0.43");
        assert_eq!(ms(12.345), "12.3");
        assert_eq!(ms(1234.0), "1,234");
        assert_eq!(ratio(300.0, 100.0), "3.00×");
        assert_eq!(ratio(1.0, 0.0), "–");
    }

    #[test]
    fn shell_quoting() {
        let args = ["kura-bench", "--records", "1000", "--json", "out file.json", "it's"].map(String::from);
        assert_eq!(shell_join(&args), "kura-bench --records 1000 --json 'out file.json' 'it'\\''s'");
    }

    fn run(system: SystemKind, workload: Workload, round: usize, rps: f64, errors: u64) -> Run {
        let mut error_kinds = BTreeMap::new();
        if errors > 0 {
            error_kinds.insert("HTTP 500: boom".to_owned(), errors);
        }
        Run {
            system,
            workload,
            round,
            outcome: Outcome {
                connections: 32,
                ok: 100,
                errors,
                elapsed_s: 10.0,
                rps,
                latency: Latency { p50_ms: rps / 100.0, p99_ms: rps / 10.0, max_ms: 0.0, mean_ms: 0.0 },
                error_kinds,
            },
            cpu: CpuUse { server_cores: 1.5, harness_cores: 0.25, machine_busy_pct: 99.0, machine_iowait_pct: 0.5 },
            peak_rss_kib: Some(1024 * (10 + round as u64)),
            commits: (system != SystemKind::Pocketbase)
                .then_some(crate::load::Commits { writes: 1100 * (round as u64 + 1), commits: 100 }),
        }
    }

    fn system(kind: SystemKind) -> SystemReport {
        SystemReport {
            kind,
            label: kind.label().to_owned(),
            version: "v1".to_owned(),
            notes: vec![],
            start_to_healthy_ms: vec![50.0, 40.0, 60.0],
            idle_rss_kib: vec![30 * 1024, 31 * 1024, 29 * 1024],
            peak_rss_kib: Some(200 * 1024),
            peak_scope: "timed runs".to_owned(),
            seed_seconds: 1.0,
        }
    }

    #[test]
    fn disturbed_runs_are_named() {
        let mut busy = run(SystemKind::Pocketbase, Workload::List, 1, 500.0, 0);
        busy.cpu.machine_busy_pct = 100.0; // 2.0 cores - 1.5 server - 0.25 harness = 0.25: not above
        let mut noisy = run(SystemKind::KuraSqlite, Workload::Get, 2, 5000.0, 0);
        noisy.cpu.server_cores = 1.0; // 1.98 - 1.0 - 0.25 = 0.73
        let mut pg = run(SystemKind::KuraPostgres, Workload::Get, 0, 3000.0, 0);
        pg.cpu.server_cores = 0.5; // its database server is "other" by design
        let report = Report {
            machine: Machine { cores: 2, ..Machine::default() },
            runs: vec![busy, noisy, pg],
            ..Report::default()
        };
        assert_eq!(report.disturbed_runs(), vec!["round 3 get by id on Kura (SQLite) (0.73 cores)".to_owned()]);
        assert!(report.markdown().contains("which are therefore disturbed: round 3 get by id on Kura (SQLite)"));
    }

    #[test]
    fn login_against_the_hashing_rate_of_its_rounds() {
        let report = Report {
            settings: Settings { rounds: 3, ..Settings::default() },
            systems: vec![system(SystemKind::KuraSqlite)],
            argon2: Some(Argon2Rate {
                params: "m=19456,t=2,p=1".into(),
                threads: 2,
                raw_1_thread: 70.0,
                raw_n_threads: 50.0,
                verify_1_thread: 60.0,
                verify_n_threads: 120.0,
            }),
            argon2_per_round: vec![140.0, 120.0, 130.0],
            runs: (0..3).map(|r| run(SystemKind::KuraSqlite, Workload::Login, r, 117.0, 0)).collect(),
            ..Report::default()
        };
        let md = report.markdown();
        assert!(md.contains("Raw Argon2id m=19456,t=2,p=1 on 2 threads (argon2 crate, memory reused): 130/s"), "{md}");
        assert!(md.contains("140 / 120 / 130"), "{md}");
        assert!(md.contains("- Kura (SQLite): 117 logins/s = 0.90× of the raw rate"), "{md}");
        assert!(md.contains("No request failed"), "{md}");
    }

    #[test]
    fn group_commit_against_sqlites_single_row_commits() {
        let report = Report {
            settings: Settings { rounds: 3, warmup_s: 1.0, ..Settings::default() },
            systems: vec![system(SystemKind::KuraSqlite), system(SystemKind::KuraPostgres)],
            fsync: Some(FsyncRate { append_per_s: 3000.0, overwrite_per_s: 8000.0, sqlite_row_commits_per_s: 100.0 }),
            runs: (0..3)
                .flat_map(|r| {
                    [SystemKind::KuraSqlite, SystemKind::KuraPostgres].map(|k| run(k, Workload::Create, r, 200.0, 0))
                })
                .collect(),
            ..Report::default()
        };
        let md = report.markdown();
        assert!(md.contains("commits 100 single-row transactions/s"), "{md}");
        // 100 commits in 11 s; 1,100 / 2,200 / 3,300 writes by round: the median round's 2,200
        // writes in 11 s are 200/s, twice the single-row rate.
        assert!(md.contains("| create | Kura (SQLite) | 9.1 | 22.0 | 200 | 2.00× |"), "{md}");
        assert!(md.contains("| create | Kura (PostgreSQL) | 9.1 | 22.0 | 200 | – |"), "{md}");
    }

    #[test]
    fn medians_ratios_and_errors_in_the_table() {
        let report = Report {
            command: "kura-bench".into(),
            settings: Settings { rounds: 3, ..Settings::default() },
            machine: Machine { cores: 2, ..Machine::default() },
            systems: vec![system(SystemKind::KuraSqlite), system(SystemKind::Pocketbase)],
            runs: vec![
                run(SystemKind::KuraSqlite, Workload::Get, 0, 9000.0, 0),
                run(SystemKind::KuraSqlite, Workload::Get, 1, 12000.0, 0),
                run(SystemKind::KuraSqlite, Workload::Get, 2, 10000.0, 0),
                run(SystemKind::Pocketbase, Workload::Get, 0, 5000.0, 0),
                run(SystemKind::Pocketbase, Workload::Get, 1, 4000.0, 3),
                run(SystemKind::Pocketbase, Workload::Get, 2, 6000.0, 0),
            ],
            ..Report::default()
        };
        let cells = report.cells();
        let kura = &cells[&(Workload::Get, SystemKind::KuraSqlite)];
        assert_eq!(kura.rps, 10000.0);
        assert_eq!(kura.per_round, vec![9000.0, 12000.0, 10000.0]);
        assert_eq!(cells[&(Workload::Get, SystemKind::Pocketbase)].errors, 3);
        let md = report.markdown();
        assert!(
            md.contains(
                "| get by id | Kura (SQLite) | 32 | 10,000 | 100 | 1,000 | 0 | 9,000 / 12,000 / 10,000 | 2.00× |"
            ),
            "{md}"
        );
        assert!(md.contains("| get by id | PocketBase | 32 | 5,000 | 50.0 | 500 | **3** |"), "{md}");
        assert!(md.contains("| get by id | 2.00× | – | – |"), "{md}");
        assert!(md.contains("PocketBase / get by id / round 2: 3 × `HTTP 500: boom`"), "{md}");
        assert!(md.contains("| Kura (SQLite) | 50.0 | 3 | 30.0 | 200.0 | timed runs |"), "{md}");
        assert!(!md.contains("No request failed"));
        assert!(md.contains("| get by id | PocketBase | 1.50 | 0.25 | 99 | 0.5 | 0.23 |"), "{md}");
        assert!(
            md.contains("| workload | Kura (SQLite) | PocketBase |\n|---|---:|---:|\n| get by id | 10.0 | 10.0 |"),
            "{md}"
        );
    }

    #[test]
    fn the_cost_of_tls_compares_the_same_kura_in_the_same_run() {
        let report = Report {
            settings: Settings { rounds: 1, ..Settings::default() },
            systems: vec![system(SystemKind::KuraSqlite), system(SystemKind::KuraSqliteTls)],
            runs: vec![
                run(SystemKind::KuraSqlite, Workload::Connect, 0, 3000.0, 0),
                run(SystemKind::KuraSqliteTls, Workload::Connect, 0, 1500.0, 0),
                run(SystemKind::KuraSqlite, Workload::Get, 0, 10000.0, 0),
                run(SystemKind::KuraSqliteTls, Workload::Get, 0, 8000.0, 0),
            ],
            ..Report::default()
        };
        let md = report.markdown();
        assert!(md.contains("### Cost of TLS"), "{md}");
        // 1.5 server cores over 3,000 and 1,500 requests/s: 0.5 and 1 ms of CPU per request.
        assert!(
            md.contains("| new connection | 3,000 | 1,500 | 0.50× | 30.0 → 15.0 | 0.500 → 1.000 | 2.00× |"),
            "{md}"
        );
        assert!(md.contains("| get by id | 10,000 | 8,000 | 0.80× |"), "{md}");
        let plain_only = Report { systems: vec![system(SystemKind::KuraSqlite)], ..report };
        assert!(!plain_only.markdown().contains("Cost of TLS"));
    }
}
