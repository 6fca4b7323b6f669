//! The closed-loop load generator: N tokio tasks, each with its own keep-alive connection, each
//! sending the next request as soon as the previous one is answered. Every response is timed;
//! anything but 2xx is counted as an error and its kind kept for the report.

use crate::conn::{Call, CallError, Conn, Endpoint};
use crate::stats::Latency;
use crate::systems::Target;
use anyhow::Context as _;
use hyper::Method;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// POST a new record (authenticated).
    Create,
    /// GET a random seeded record by id.
    Get,
    /// GET a page of 50 with `points>100`, sorted by `-joined`.
    List,
    /// PATCH `points` of a random seeded record.
    Update,
    /// Sign in with a password.
    Login,
    /// GET the health check on a new connection each time: over TLS, one full handshake per
    /// request (no resumption).
    Connect,
}

impl Workload {
    pub const ALL: [Workload; 6] = [Self::Create, Self::Get, Self::List, Self::Update, Self::Login, Self::Connect];
    /// What runs when `--workloads` is not given.
    pub const DEFAULT: [Workload; 5] = [Self::Create, Self::Get, Self::List, Self::Update, Self::Login];
    pub const fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Get => "get by id",
            Self::List => "list 50, filter + sort",
            Self::Update => "update",
            Self::Login => "password login",
            Self::Connect => "new connection",
        }
    }
}

/// SplitMix64: a small, fast, seedable generator; good enough to pick ids and values.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A value in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

const SURNAMES: [&str; 10] = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"];
const GIVEN: [&str; 10] = ["太郎", "花子", "一郎", "美咲", "健太", "陽子", "翔", "愛", "大輔", "由美"];
const CITIES: [&str; 8] = ["東京都", "大阪府", "神奈川県", "愛知県", "福岡県", "北海道", "京都府", "宮城県"];

/// The JSON body of record number `i`: the same for every system (dates as `YYYY-MM-DD`, which
/// both accept), points uniform in 0..1000 so that `points>100` keeps about 90 %.
pub fn record_body(i: u64) -> String {
    let mut r = Rng::new(i);
    let name = format!("{} {}", SURNAMES[r.below(SURNAMES.len())], GIVEN[r.below(GIVEN.len())]);
    let city = CITIES[r.below(CITIES.len())];
    let points = r.below(1000);
    let (y, m, d) = (2015 + r.below(11), 1 + r.below(12), 1 + r.below(28));
    serde_json::json!({
        "name": name,
        "city": city,
        "email": format!("customer{i}@example.jp"),
        "points": points,
        "joined": format!("{y:04}-{m:02}-{d:02}"),
    })
    .to_string()
}

/// Creates `n` records in the target's main collection with `connections` concurrent requests;
/// returns their ids. Fails on the first error (the set-up is broken if seeding fails).
pub async fn seed(target: &Target, n: usize, connections: usize) -> anyhow::Result<Vec<String>> {
    let next = Arc::new(AtomicUsize::new(0));
    let url = Arc::new(target.records_url.clone());
    let auth = Arc::new(target.auth.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections.max(1) {
        let (next, url, auth) = (next.clone(), url.clone(), auth.clone());
        let root = target.tls_root.clone();
        tasks.spawn(async move {
            let client = seed_client(root.as_deref())?;
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(ids);
                }
                let resp = client
                    .post(url.as_str())
                    .header(reqwest::header::AUTHORIZATION, auth.as_str())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(record_body(i as u64))
                    .send()
                    .await
                    .context("seeding")?;
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                anyhow::ensure!(status.is_success(), "seeding record {i}: HTTP {status}: {text}");
                let v: serde_json::Value = serde_json::from_str(&text).context("seeding: response is not JSON")?;
                ids.push(v["id"].as_str().context("seeding: no id in the response")?.to_owned());
            }
        });
    }
    let mut ids = Vec::with_capacity(n);
    while let Some(r) = tasks.join_next().await {
        ids.extend(r.context("a seeding task panicked")??);
    }
    Ok(ids)
}

/// Kura's durable writes and commits (group commit batches), from `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Commits {
    pub writes: u64,
    pub commits: u64,
}

/// Reads `kura_store_writes_total` and `kura_store_commits_total` out of Prometheus text.
pub fn parse_commits(text: &str) -> Option<Commits> {
    let value = |name: &str| -> Option<u64> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| l.strip_prefix(name).filter(|rest| rest.starts_with([' ', '{'])))
            .and_then(|rest| rest.rsplit(' ').next())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|v| v as u64)
    };
    Some(Commits { writes: value("kura_store_writes_total")?, commits: value("kura_store_commits_total")? })
}

/// The commit counters of a Kura server, or `None` (PocketBase, or a Kura without them).
pub async fn commits(target: &Target) -> Option<Commits> {
    let url = target.metrics_url.as_deref()?;
    let client = crate::tls::http_client(target.tls_root.as_deref(), false, Duration::from_secs(10)).ok()?;
    let text = client.get(url).send().await.ok()?.text().await.ok()?;
    parse_commits(&text)
}

/// How to run one measurement.
#[derive(Clone, Copy, Debug)]
pub struct RunSpec {
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub seed: u64,
}

/// The outcome of one measurement.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Outcome {
    pub connections: usize,
    /// 2xx responses to requests started in the measured window.
    pub ok: u64,
    /// Other responses and transport errors in the measured window.
    pub errors: u64,
    /// From the start of the window to the last measured response.
    pub elapsed_s: f64,
    /// `ok / elapsed_s`.
    pub rps: f64,
    /// Of the 2xx responses.
    pub latency: Latency,
    /// Error kind (`HTTP 500: start of body` or `transport: …`) → count, warm-up included.
    pub error_kinds: BTreeMap<String, u64>,
}

#[derive(Default)]
struct TaskResult {
    ok: u64,
    errors: u64,
    latencies_us: Vec<u64>,
    last_end: Option<Instant>,
}

/// Most distinct error kinds kept per run; the rest are counted under "other".
const MAX_ERROR_KINDS: usize = 20;

/// Runs `workload` against `target` for `warmup + duration`, closed loop.
pub async fn run(target: Arc<Target>, workload: crate::load::Workload, spec: RunSpec) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        !matches!(workload, Workload::Get | Workload::Update) || !target.ids.is_empty(),
        "no seeded records to read or update"
    );
    let errors: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let t0 = Instant::now();
    let measure_from = t0 + spec.warmup;
    let deadline = measure_from + spec.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..spec.connections.max(1) {
        let target = target.clone();
        let errors = errors.clone();
        let mut rng = Rng::new(spec.seed ^ ((task as u64 + 1) << 32) ^ (workload as u64) << 56);
        tasks.spawn(async move {
            // A new connection for every request only in the new-connection workload; otherwise
            // one per task, opened again only if the server closed it.
            let fresh = workload == Workload::Connect;
            let endpoint = Endpoint::new(&target.health_url, target.tls_root.as_deref(), !fresh)?;
            let mut conn: Option<Conn> = None;
            let mut res = TaskResult::default();
            loop {
                let start = Instant::now();
                if start >= deadline {
                    break;
                }
                let call = request(&target, workload, &mut rng);
                let outcome = match open(&endpoint, &mut conn, fresh).await {
                    Err(e) => Err(format!("transport: {e}")),
                    Ok(c) => match c.call(&call).await {
                        Ok((status, _)) if status.is_success() => Ok(()),
                        Ok((status, body)) => Err(format!(
                            "HTTP {}: {}",
                            status.as_u16(),
                            String::from_utf8_lossy(&body).chars().take(160).collect::<String>()
                        )),
                        Err(CallError::Transport(e)) => Err(format!("transport: {e}")),
                        Err(CallError::Body(e)) => Err(format!("reading the body: {e}")),
                    },
                };
                if fresh || outcome.as_ref().is_err_and(|kind| !kind.starts_with("HTTP")) {
                    conn = None;
                }
                let end = Instant::now();
                let measured = start >= measure_from;
                match outcome {
                    Ok(()) if measured => {
                        res.ok += 1;
                        res.latencies_us.push(u64::try_from((end - start).as_micros()).unwrap_or(u64::MAX));
                        res.last_end = Some(end);
                    }
                    Ok(()) => {}
                    Err(kind) => {
                        if measured {
                            res.errors += 1;
                            res.last_end = Some(end);
                        }
                        let transport = kind.starts_with("transport") || kind.starts_with("reading");
                        {
                            let mut map = errors.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                            let key = if map.len() < MAX_ERROR_KINDS || map.contains_key(&kind) {
                                kind
                            } else {
                                "other".into()
                            };
                            *map.entry(key).or_default() += 1;
                        }
                        if transport {
                            // A dead server must not turn into a busy loop.
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    }
                }
            }
            anyhow::Ok(res)
        });
    }
    let mut ok = 0;
    let mut errs = 0;
    let mut latencies = Vec::new();
    let mut last_end = measure_from;
    while let Some(r) = tasks.join_next().await {
        let r = r.context("a load task panicked")??;
        ok += r.ok;
        errs += r.errors;
        latencies.extend(r.latencies_us);
        if let Some(e) = r.last_end {
            last_end = last_end.max(e);
        }
    }
    let elapsed_s = (last_end - measure_from).as_secs_f64().max(spec.duration.as_secs_f64() * 0.5);
    let error_kinds = errors.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
    Ok(Outcome {
        connections: spec.connections,
        ok,
        errors: errs,
        elapsed_s,
        rps: ok as f64 / elapsed_s,
        latency: Latency::from_micros(&mut latencies),
        error_kinds,
    })
}

/// The request `workload` sends next.
fn request<'a>(t: &'a Target, workload: Workload, rng: &mut Rng) -> Call<'a> {
    let call = |method, url, auth: bool, json| Call { method, url, auth: auth.then_some(t.auth.as_str()), json };
    match workload {
        Workload::Create => {
            call(Method::POST, Cow::Borrowed(t.create_url.as_str()), true, Some(record_body(rng.next_u64())))
        }
        Workload::Get => {
            let id = &t.ids[rng.below(t.ids.len())];
            call(Method::GET, Cow::Owned(format!("{}/{id}", t.records_url)), true, None)
        }
        Workload::List => call(Method::GET, Cow::Borrowed(t.list_url.as_str()), true, None),
        Workload::Update => {
            let id = &t.ids[rng.below(t.ids.len())];
            let body = format!("{{\"points\":{}}}", rng.below(1000));
            call(Method::PATCH, Cow::Owned(format!("{}/{id}", t.records_url)), true, Some(body))
        }
        Workload::Login => call(Method::POST, Cow::Borrowed(t.login_url.as_str()), false, Some(t.login_body.clone())),
        Workload::Connect => call(Method::GET, Cow::Borrowed(t.health_url.as_str()), false, None),
    }
}

/// The task's connection, opened first if it has none or the server closed it.
async fn open<'c>(endpoint: &Endpoint, conn: &'c mut Option<Conn>, fresh: bool) -> anyhow::Result<&'c mut Conn> {
    if fresh || conn.as_ref().is_none_or(Conn::is_closed) {
        *conn = Some(endpoint.connect().await?);
    }
    conn.as_mut().context("no connection")
}

/// A seeding task's client, with its keep-alive connection (seeding is not measured).
fn seed_client(tls_root: Option<&[u8]>) -> anyhow::Result<reqwest::Client> {
    crate::tls::http_client(tls_root, false, Duration::from_secs(60))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn record_bodies_are_deterministic_and_valid() {
        assert_eq!(record_body(42), record_body(42));
        assert_ne!(record_body(1), record_body(2));
        for i in 0..200 {
            let v: serde_json::Value = serde_json::from_str(&record_body(i)).unwrap();
            let points = v["points"].as_u64().unwrap();
            assert!(points < 1000);
            let joined = v["joined"].as_str().unwrap();
            assert_eq!(joined.len(), 10);
            assert!(joined.parse::<jiff::civil::Date>().is_ok(), "{joined}");
            assert!(v["email"].as_str().unwrap().ends_with("@example.jp"));
            assert!(v["name"].as_str().unwrap().contains(' '));
        }
    }

    #[test]
    fn commit_counters_from_prometheus_text() {
        let text = "# HELP kura_store_writes_total Writes made durable.\n# TYPE kura_store_writes_total counter\n\
                    kura_store_writes_total 12345\nkura_store_writes_total_extra 1\nkura_store_commits_total 678\n";
        assert_eq!(parse_commits(text), Some(Commits { writes: 12_345, commits: 678 }));
        assert_eq!(parse_commits("kura_database_up 1\n"), None);
    }

    #[test]
    fn rng_below_stays_in_range() {
        let mut r = Rng::new(7);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            seen[r.below(10)] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(Rng::new(0).below(0), 0);
    }
}
