//! The access log (LOG-2): every HTTP request — method, route template, status, latency,
//! tenant, principal, client address, user agent — kept apart from the audit log, with its own
//! retention.
//!
//! The layer [`record`] never waits: it offers the entry to a bounded channel and, when the
//! channel is full, counts the request as dropped (`kura_access_log_dropped_total`) instead of
//! holding it up or refusing it. [`run_flusher`] writes what waits in batches, one durable
//! commit a batch (at most `buffer` rows wait in memory), and [`run_purge`] deletes, on a schedule, what is older than each tenant's
//! retention, with an audit entry giving the count.
//!
//! `/healthz` and `/readyz` are left out: load balancers and monitors poll them every few
//! seconds, they carry no tenant data and no principal, and logging them would fill the
//! platform's log with probes. Everything else is logged, refused requests and unknown paths
//! included.

use crate::denials::Who;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use jiff::SignedDuration;
use kura_domain::{Actor, ActorKind, AuditRecord, AuditScope, Operation};
use kura_store::{AccessEntry, Store};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Most entries one write carries.
const BATCH: usize = 5_000;
/// Longest user agent kept, in characters.
const USER_AGENT_CHARS: usize = 256;
/// The route of a request that matched none.
pub const UNMATCHED: &str = "(unmatched)";

/// The channel between the requests and the flusher, and its counts.
#[derive(Debug)]
pub struct AccessLog {
    sender: Option<mpsc::Sender<AccessEntry>>,
    receiver: Mutex<Option<mpsc::Receiver<AccessEntry>>>,
    /// Wakes the flusher early when a batch's worth waits.
    wake: tokio::sync::Notify,
    dropped: AtomicU64,
    written: AtomicU64,
    failed: AtomicU64,
}

impl AccessLog {
    /// A channel of `buffer` entries; `None` when the access log is off.
    pub fn new(enabled: bool, buffer: usize) -> Self {
        let (sender, receiver) = if enabled {
            let (s, r) = mpsc::channel(buffer.max(1));
            (Some(s), Some(r))
        } else {
            (None, None)
        };
        Self {
            sender,
            receiver: Mutex::new(receiver),
            wake: tokio::sync::Notify::new(),
            dropped: AtomicU64::new(0),
            written: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    /// Offers an entry without waiting; a full buffer drops it and counts it.
    fn offer(&self, entry: AccessEntry) {
        let Some(sender) = &self.sender else { return };
        if sender.try_send(entry).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        } else if sender.max_capacity() - sender.capacity() >= BATCH {
            self.wake.notify_one();
        }
    }

    /// Requests not logged because the buffer was full (or the flusher had stopped).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Requests written to the access log.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Requests whose batch could not be written.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

/// The layer that logs every request but the health probes. Reads the route template axum
/// matched, never the raw path; the principal from what authentication left in [`Who`]; the
/// client's address as `client_address::remember` decided it.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.access_log.sender.is_none() {
        return next.run(request).await;
    }
    let route = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    if matches!(route.as_deref(), Some("/healthz" | "/readyz")) {
        return next.run(request).await;
    }
    let at = state.clock.now();
    let start = Instant::now();
    let method = request.method().as_str().to_owned();
    let source_ip = request.extensions().get::<crate::client_address::ClientAddress>().map(|c| c.0.to_string());
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).chars().take(USER_AGENT_CHARS).collect::<String>());
    let who = request.extensions().get::<Who>().cloned();
    let response = next.run(request).await;
    let latency_us = i64::try_from(start.elapsed().as_micros()).unwrap_or(i64::MAX);
    let (scope, actor_kind, actor_id) = match who.as_ref().and_then(Who::get) {
        Some((scope, actor)) => (*scope, Some(actor.kind), actor.id),
        None => (AuditScope::Platform, None, None),
    };
    state.access_log.offer(AccessEntry {
        scope,
        at,
        id: uuid::Uuid::nil(),
        method,
        route: route.unwrap_or_else(|| UNMATCHED.to_owned()),
        status: response.status().as_u16(),
        latency_us,
        actor_kind,
        actor_id,
        source_ip,
        user_agent,
    });
    response
}

/// Writes waiting entries: `every` after the first of a batch arrived, or as soon as
/// [`BATCH`] wait (the layer wakes it). When `stop` turns true, writes what waits and returns.
pub async fn run_flusher(state: AppState, every: Duration, mut stop: watch::Receiver<bool>) {
    let taken = state.access_log.receiver.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
    let Some(mut receiver) = taken else { return };
    loop {
        let first = tokio::select! {
            entry = receiver.recv() => entry,
            _ = stop.wait_for(|s| *s) => None,
        };
        let mut batch: Vec<AccessEntry> = first.into_iter().collect();
        let stopping = batch.is_empty() || {
            let deadline = tokio::time::Instant::now() + every;
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => false,
                () = state.access_log.wake.notified() => false,
                _ = stop.wait_for(|s| *s) => true,
            }
        };
        while stopping || batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(entry) => batch.push(entry),
                Err(_) => break,
            }
            if batch.len() == BATCH {
                write(&state, std::mem::take(&mut batch)).await;
            }
        }
        write(&state, batch).await;
        if stopping {
            return;
        }
    }
}

async fn write(state: &AppState, batch: Vec<AccessEntry>) {
    if batch.is_empty() {
        return;
    }
    let n = batch.len() as u64;
    match state.store.append_access_log(batch).await {
        Ok(()) => {
            state.access_log.written.fetch_add(n, Ordering::Relaxed);
        }
        Err(e) => {
            state.access_log.failed.fetch_add(n, Ordering::Relaxed);
            tracing::warn!(error = %e, entries = n, "could not write a batch of the access log");
        }
    }
}

/// Deletes, every `every`, the entries older than each scope's retention (the first run at
/// once).
pub async fn run_purge(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = purge_expired(&state).await {
            tracing::warn!(error = %e, "the access log purge failed; it runs again later");
        }
    }
}

/// One run of the purge: for the platform and every tenant with entries, deletes those older
/// than its retention and records the count in that scope's audit log (nothing is recorded
/// where nothing was old enough). Returns the number deleted in all.
pub async fn purge_expired(state: &AppState) -> crate::error::AppResult<u64> {
    let now = state.clock.now();
    let mut total = 0;
    for scope in state.store.access_log_scopes().await? {
        let days = match scope {
            AuditScope::Tenant(t) => {
                crate::service::security::access_log_days(state, &crate::service::security::policy_of(state, t).await?)
            }
            AuditScope::Platform => state.settings.access_log.retention_days,
        };
        let before = now.checked_sub(SignedDuration::from_hours(24 * i64::from(days))).unwrap_or(jiff::Timestamp::MIN);
        total += purge_scope(&state.store, scope, before, days).await?;
    }
    Ok(total)
}

async fn purge_scope(
    store: &Store,
    scope: AuditScope,
    before: jiff::Timestamp,
    days: u32,
) -> Result<u64, kura_store::StoreError> {
    let actor = Actor {
        kind: ActorKind::Cli,
        id: None,
        label: "access log retention".into(),
        role: None,
        source_ip: None,
        user_agent: None,
    };
    store
        .purge_access_log(scope, before, actor, |purged| {
            AuditRecord::success(Operation::AccessLogPurge, "access_log")
                .with_detail(format!("deleted={purged}; older_than={before}; retention_days={days}"))
        })
        .await
}
