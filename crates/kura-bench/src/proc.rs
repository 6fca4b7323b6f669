//! Child processes the harness starts: a guard that kills them whatever happens, memory readings
//! from `/proc`, free loopback ports and waiting for a health endpoint.

use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server. Dropping it kills the process (SIGKILL) and reaps it, so nothing the harness
/// started outlives it: on normal exit, on an error, on Ctrl-C (the future owning it is dropped)
/// and on a panic (unwinding drops it).
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub name: String,
    pub log: PathBuf,
}

impl Server {
    /// Spawns `cmd` with its output appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> anyhow::Result<Self> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().with_context(|| format!("cannot start {name} ({:?})", cmd.get_program()))?;
        Ok(Self { child, name: name.to_owned(), log: log.to_owned() })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the end of the log if the process has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited ({status}); end of its log:\n{}", self.name, log_tail(&self.log, 20));
        }
        Ok(())
    }

    /// Polls `url` every 2 ms until it answers 200; returns the time since `spawned`.
    pub async fn wait_healthy(
        &mut self,
        client: &reqwest::Client,
        url: &str,
        spawned: Instant,
        timeout: Duration,
    ) -> anyhow::Result<Duration> {
        loop {
            if let Ok(resp) = client.get(url).send().await
                && resp.status() == reqwest::StatusCode::OK
            {
                return Ok(spawned.elapsed());
            }
            self.check_alive()?;
            if spawned.elapsed() > timeout {
                bail!(
                    "{} did not answer 200 on {url} within {timeout:?}; log:\n{}",
                    self.name,
                    log_tail(&self.log, 20)
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last `n` lines of a log file (for error messages).
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Resident and peak resident memory of a process, in KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

/// Parses `VmRSS` and `VmHWM` out of the text of `/proc/PID/status`.
pub fn parse_status(status: &str) -> Option<Memory> {
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()
    };
    Some(Memory { rss_kib: field("VmRSS:")?, hwm_kib: field("VmHWM:")? })
}

pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).context("cannot read /proc/PID/status")?;
    parse_status(&text).context("no VmRSS/VmHWM in /proc/PID/status")
}

/// Resets the peak RSS (VmHWM) of a process to its current RSS (Linux ≥ 4.0, `clear_refs` 5),
/// so that a later VmHWM covers only what follows. Returns false when the kernel refused.
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// CPU time of a process (user + system), in clock ticks, from the text of `/proc/PID/stat`.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of the full line, utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Busy and total ticks of the whole machine, from the first line of `/proc/stat`; iowait is
/// counted as idle, and also returned on its own.
pub fn parse_machine_ticks(stat: &str) -> Option<MachineTicks> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).map(|x| x.parse().ok()).collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal guest guest_nice; guests are inside user.
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    let total = (0..8).map(get).sum();
    Some(MachineTicks { busy: total - get(3) - get(4), iowait: get(4), total })
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MachineTicks {
    pub busy: u64,
    pub iowait: u64,
    pub total: u64,
}

/// A snapshot of CPU counters around a run.
#[derive(Clone, Copy, Debug)]
pub struct CpuSnapshot {
    at: std::time::Instant,
    server: u64,
    harness: u64,
    machine: MachineTicks,
}

/// Where the CPU went during a run: cores used on average by the server process and by the
/// harness itself, and the whole machine's busy and iowait share.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct CpuUse {
    pub server_cores: f64,
    pub harness_cores: f64,
    pub machine_busy_pct: f64,
    pub machine_iowait_pct: f64,
}

fn read_ticks(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|t| parse_stat_ticks(&t)).unwrap_or(0)
}

pub fn cpu_snapshot(server_pid: u32) -> CpuSnapshot {
    CpuSnapshot {
        at: std::time::Instant::now(),
        server: read_ticks(&server_pid.to_string()),
        harness: read_ticks("self"),
        machine: std::fs::read_to_string("/proc/stat").ok().and_then(|t| parse_machine_ticks(&t)).unwrap_or_default(),
    }
}

/// Clock ticks per second of the counters above (`getconf CLK_TCK`, 100 on Linux in practice).
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .filter(|&t: &f64| t > 0.0)
        .unwrap_or(100.0)
}

impl CpuSnapshot {
    /// The use between `self` and a later snapshot.
    pub fn until(&self, later: &CpuSnapshot, ticks_per_s: f64) -> CpuUse {
        let secs = (later.at - self.at).as_secs_f64().max(1e-9);
        let cores = |a: u64, b: u64| b.saturating_sub(a) as f64 / ticks_per_s / secs;
        let total = later.machine.total.saturating_sub(self.machine.total).max(1) as f64;
        CpuUse {
            server_cores: cores(self.server, later.server),
            harness_cores: cores(self.harness, later.harness),
            machine_busy_pct: 100.0 * later.machine.busy.saturating_sub(self.machine.busy) as f64 / total,
            machine_iowait_pct: 100.0 * later.machine.iowait.saturating_sub(self.machine.iowait) as f64 / total,
        }
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(l.local_addr()?.port())
}

/// Runs a command to completion; returns its standard output, or fails with both streams.
pub fn run_capture(cmd: &mut Command, what: &str) -> anyhow::Result<String> {
    let out = cmd.stdin(Stdio::null()).output().with_context(|| format!("cannot run {what}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!("{what} failed ({}):\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    Ok(stdout)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status() {
        let text = "Name:\tkura\nVmPeak:\t  900000 kB\nVmHWM:\t   45120 kB\nVmRSS:\t   33912 kB\nThreads:\t5\n";
        assert_eq!(parse_status(text), Some(Memory { rss_kib: 33_912, hwm_kib: 45_120 }));
        assert_eq!(parse_status("Name:\tx\n"), None);
    }

    #[test]
    fn parses_cpu_ticks() {
        let stat = "1163 (my (odd) name) R 1159 1159 945 0 -1 4194304 101 0 0 0 250 40 0 0 20 0 1 0 222089";
        assert_eq!(parse_stat_ticks(stat), Some(290));
        assert_eq!(parse_stat_ticks("garbage"), None);
        let machine = "cpu  100 10 50 800 40 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n";
        assert_eq!(parse_machine_ticks(machine), Some(MachineTicks { busy: 160, iowait: 40, total: 1000 }));
    }
}
