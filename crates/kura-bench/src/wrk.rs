//! Optional cross-check of the harness's own load generator with `wrk` (Debian package, installed
//! by scripts/bench-setup.sh): the read workloads, same connections and duration, on each system.

use crate::load::Workload;
use crate::systems::Target;
use anyhow::Context as _;
use std::path::Path;
use std::process::Command;

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct WrkResult {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// "Non-2xx or 3xx responses" plus socket errors.
    pub errors: u64,
}

/// The path (and query) of an absolute `http://host:port/path?q` URL.
fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// The Lua string literal of `s` (ids, tokens and paths are plain ASCII; quotes escaped anyway).
fn lua_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The wrk script of a read workload: random seeded ids for get, the fixed page for list.
pub fn script(target: &Target, workload: Workload) -> Option<String> {
    let auth = format!("wrk.headers[\"Authorization\"] = {}\n", lua_str(&target.auth));
    match workload {
        Workload::Get => {
            let ids: Vec<String> = target.ids.iter().map(|i| lua_str(i)).collect();
            Some(format!(
                "{auth}local ids = {{{}}}\nlocal base = {}\nrequest = function()\n  \
                 return wrk.format(\"GET\", base .. ids[math.random(#ids)])\nend\n",
                ids.join(","),
                lua_str(&format!("{}/", path_of(&target.records_url)))
            ))
        }
        Workload::List => Some(format!(
            "{auth}request = function()\n  return wrk.format(\"GET\", {})\nend\n",
            lua_str(path_of(&target.list_url))
        )),
        _ => None,
    }
}

/// Runs wrk for one read workload; `None` for workloads it does not cover.
pub fn run(
    wrk: &Path,
    dir: &Path,
    target: &Target,
    workload: Workload,
    connections: usize,
    seconds: f64,
) -> anyhow::Result<Option<WrkResult>> {
    let Some(text) = script(target, workload) else { return Ok(None) };
    let path = dir.join(format!("wrk-{}.lua", workload as u8));
    std::fs::write(&path, text)?;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(connections.max(1));
    let out = Command::new(wrk)
        // wrk counts responses slower than its 2 s default timeout as errors: the list of a slow
        // system takes longer than that, so allow a minute like the harness does.
        .args(["--latency", "--timeout", "60s", "-t", &threads.to_string(), "-c", &connections.to_string()])
        .arg("-d")
        .arg(format!("{}s", seconds.ceil().max(1.0)))
        .arg("-s")
        .arg(&path)
        .arg(&target.records_url)
        .output()
        .context("cannot run wrk")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    parse(&stdout).map(Some).with_context(|| format!("unexpected wrk output:\n{stdout}"))
}

/// Milliseconds of a wrk duration such as `812.00us`, `5.17ms` or `1.02s`.
fn duration_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, factor) = if let Some(v) = s.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = s.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix('m') {
        (v, 60_000.0)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1000.0)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|v| v * factor)
}

/// Requests/s, p50, p99 and errors out of wrk's `--latency` report.
pub fn parse(out: &str) -> Option<WrkResult> {
    let mut rps = None;
    let (mut p50, mut p99) = (None, None);
    let mut errors = 0;
    for line in out.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            rps = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("50%") {
            p50 = duration_ms(v);
        } else if let Some(v) = line.strip_prefix("99%") {
            p99 = duration_ms(v);
        } else if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
            errors += v.trim().parse::<u64>().unwrap_or(0);
        } else if let Some(v) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            errors += v.split(',').filter_map(|p| p.split_whitespace().nth(1)?.parse::<u64>().ok()).sum::<u64>();
        }
    }
    Some(WrkResult { rps: rps?, p50_ms: p50?, p99_ms: p99?, errors })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    const OUTPUT: &str = "Running 10s test @ http://127.0.0.1:4000/api/v1/collections/bench/records
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.42ms    2.11ms  40.00ms   80.00%
    Req/Sec     2.98k   200.00     3.50k    70.00%
  Latency Distribution
     50%    5.17ms
     75%    6.00ms
     90%    7.50ms
     99%   14.50ms
  59000 requests in 10.00s, 40.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   5900.12
Transfer/sec:      4.00MB
";

    #[test]
    fn parses_wrk_output() {
        let r = parse(OUTPUT).unwrap();
        assert_eq!(r, WrkResult { rps: 5900.12, p50_ms: 5.17, p99_ms: 14.5, errors: 7 });
        assert!(parse("garbage").is_none());
        assert_eq!(duration_ms("812.00us"), Some(0.812));
        assert_eq!(duration_ms("1.50s"), Some(1500.0));
    }

    #[test]
    fn scripts_for_read_workloads() {
        let t = Target {
            auth: "Bearer abc".into(),
            records_url: "http://127.0.0.1:9/api/v1/collections/bench/records".into(),
            create_url: String::new(),
            list_url: "http://127.0.0.1:9/api/v1/collections/bench/records?filter=points%3E100".into(),
            login_url: String::new(),
            login_body: String::new(),
            metrics_url: None,
            health_url: String::new(),
            tls_root: None,
            ids: vec!["a1".into(), "b2".into()],
        };
        let get = script(&t, Workload::Get).unwrap();
        assert!(get.contains("local ids = {\"a1\",\"b2\"}"), "{get}");
        assert!(get.contains("local base = \"/api/v1/collections/bench/records/\""), "{get}");
        assert!(get.contains("wrk.headers[\"Authorization\"] = \"Bearer abc\""), "{get}");
        let list = script(&t, Workload::List).unwrap();
        assert!(list.contains("\"/api/v1/collections/bench/records?filter=points%3E100\""), "{list}");
        assert!(script(&t, Workload::Create).is_none());
    }
}
