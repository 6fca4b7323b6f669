//! Liveness, readiness and metrics endpoints (MON-2). Liveness and readiness are open by design:
//! they reveal no tenant data. The metrics reveal sign-in failure counts and load, so they are
//! restricted by network or token (`[metrics]` settings; loopback only by default).

use crate::error::AppError;
use crate::metrics::Kind;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The process is up.
pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// The process can serve: the database answers. When Kura terminates TLS, the answer also gives
/// the whole days left before the served certificate expires (DAT-1), so that monitoring can
/// warn before it does; and always whether the system clock is synchronised (LOG-4).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let (status, mut body) = match state.store.ping().await {
        Ok(()) => (StatusCode::OK, json!({"status": "ready", "database": "ok"})),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, json!({"status": "unavailable", "database": "unreachable"}))
        }
    };
    if let Some(certs) = &state.tls {
        body["certificate_days_left"] = json!(certs.days_left(state.clock.now()));
    }
    // Reported, never a reason to be unready (LOG-4): `synchronised`, `unsynchronised` or
    // `unknown`.
    body["clock"] = json!(crate::clock_sync::read());
    // Reported, never a reason to be unready (TEN-2): `enforced`, `not_enforced` (the role owns
    // the tables or bypasses the policies; the start-up log says why) or `not_available` (SQLite).
    body["row_security"] = json!(state.store.row_security().as_str());
    (status, Json(body)).into_response()
}

/// The metrics, to the configured networks or the holder of the metrics token only.
pub async fn metrics(State(state): State<AppState>, parts: axum::http::request::Parts) -> Response {
    if !metrics_allowed(&state, &parts) {
        return AppError::ForbiddenOther(
            "the metrics are served only to the configured networks or with the metrics token".into(),
        )
        .into_response();
    }
    let up = if state.store.ping().await.is_ok() { 1.0 } else { 0.0 };
    let commits = state.store.commit_stats();
    let cache = state.store.cache_stats();
    let days_left = state.tls.as_ref().map(|certs| certs.days_left(state.clock.now()) as f64);
    let tls = days_left.map(|days| {
        ("kura_tls_certificate_days_left", "Whole days before the served TLS certificate expires.", Kind::Gauge, days)
    });
    let mut extra = vec![
        ("kura_database_up", "Whether the database answers.", Kind::Gauge, up),
        ("kura_store_reads_total", "Read operations on the database.", Kind::Counter, state.store.reads() as f64),
        ("kura_store_writes_total", "Writes made durable.", Kind::Counter, commits.writes as f64),
        ("kura_store_commits_total", "Durable commits (group commit batches).", Kind::Counter, commits.batches as f64),
        (
            "kura_store_failed_commits_total",
            "Batches whose commit failed.",
            Kind::Counter,
            commits.failed_batches as f64,
        ),
        (
            "kura_record_cache_fresh_total",
            "Reads answered from a record snapshot as it was.",
            Kind::Counter,
            cache.fresh as f64,
        ),
        (
            "kura_record_cache_merged_total",
            "Record snapshots brought up to date with the records changed since.",
            Kind::Counter,
            cache.merged as f64,
        ),
        ("kura_record_cache_loaded_total", "Record snapshots read whole.", Kind::Counter, cache.loaded as f64),
        (
            "kura_record_cache_advanced_total",
            "Record snapshots brought up to date by the writer with its own writes.",
            Kind::Counter,
            cache.advanced as f64,
        ),
        (
            "kura_record_cache_passed_total",
            "Single-record reads that went to the database past a stale or missing snapshot.",
            Kind::Counter,
            cache.passed as f64,
        ),
    ];
    extra.extend(tls);
    // Backups (OPS-1): the newest backup here and the newest restore drill, once there is one.
    let seconds = |t: jiff::Timestamp| t.as_microsecond() as f64 / 1e6;
    if let Some(newest) = state.backups.newest_time() {
        extra.push((
            "kura_backup_newest_timestamp_seconds",
            "When the newest backup in the backup directory was taken (Unix time).",
            Kind::Gauge,
            seconds(newest),
        ));
    }
    if let Some(newest) = state.keystore_backups.newest_time() {
        extra.push((
            "kura_keystore_backup_newest_timestamp_seconds",
            "When the newest keystore backup was taken (Unix time).",
            Kind::Gauge,
            seconds(newest),
        ));
    }
    if let Some((at, ok)) = crate::backup::last_drill(&state.store).await {
        extra.push((
            "kura_backup_drill_success",
            "Whether the newest restore drill passed (1) or failed (0).",
            Kind::Gauge,
            if ok { 1.0 } else { 0.0 },
        ));
        extra.push((
            "kura_backup_drill_timestamp_seconds",
            "When the newest restore drill ran (Unix time).",
            Kind::Gauge,
            seconds(at),
        ));
    }
    let log = &state.access_log;
    extra.extend([
        (
            "kura_access_log_dropped_total",
            "Requests not written to the access log because its buffer was full.",
            Kind::Counter,
            log.dropped() as f64,
        ),
        ("kura_access_log_written_total", "Requests written to the access log.", Kind::Counter, log.written() as f64),
        (
            "kura_access_log_failed_total",
            "Requests whose access log batch could not be written.",
            Kind::Counter,
            log.failed() as f64,
        ),
    ]);
    let body = state.metrics.render(&extra);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

fn metrics_allowed(state: &AppState, parts: &axum::http::request::Parts) -> bool {
    let m = &state.settings.metrics;
    let peer = crate::auth::client_ip(parts);
    if peer.is_some_and(|ip| m.allow_from.iter().any(|net| net.contains(&ip))) {
        return true;
    }
    let token = m.token.expose();
    let offered = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    !token.is_empty() && offered.is_some_and(|t| kura_crypto::ct_eq(t.as_bytes(), token.as_bytes()))
}
