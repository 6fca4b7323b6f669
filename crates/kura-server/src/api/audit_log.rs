//! The tenant's Merkle log (LOG-3) over the API: the latest signed checkpoint with the public
//! key, a checkpoint on demand, and inclusion and consistency proofs in C2SP encodings.

use super::extract::{ApiAuth, ApiQuery};
use crate::error::{AppResult, Problem};
use crate::service::access_log::{self, AccessParams};
use crate::service::audit::{self, CheckpointView};
use crate::service::audit_export;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;

/// The latest signed checkpoint of the tenant's operation log and the public key that checks
/// it. Requires `audit.read`.
#[utoipa::path(get, path = "/api/v1/audit/checkpoint", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = CheckpointView)))]
pub async fn latest_checkpoint(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Json<CheckpointView>> {
    Ok(Json(audit::latest_checkpoint(&state, &p).await?))
}

/// Makes a signed checkpoint of the tenant's operation log now. Requires `audit.read`.
#[utoipa::path(post, path = "/api/v1/audit/checkpoint", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = CheckpointView)))]
pub async fn make_checkpoint(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Json<CheckpointView>> {
    Ok(Json(audit::make_checkpoint(&state, &p).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InclusionParams {
    /// The entry's sequence number (its leaf is at index `seq - 1`).
    #[param(minimum = 1, example = 42)]
    pub seq: i64,
}

/// Proof that an entry is in the tenant's log, as a C2SP tlog-proof (`text/plain`) against the
/// latest checkpoint. Requires `audit.read`.
#[utoipa::path(get, path = "/api/v1/audit/proofs/inclusion", tag = "audit", security(("bearer" = [])),
    params(InclusionParams), responses((status = 200, body = String, content_type = "text/plain"),
        (status = 404, description = "There is no entry with that number in the log.", body = Problem,
            content_type = "application/problem+json")))]
pub async fn inclusion_proof(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(params): ApiQuery<InclusionParams>,
) -> AppResult<impl IntoResponse> {
    let text = audit::inclusion_proof(&state, &p, params.seq).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyParams {
    /// The older checkpoint's size.
    #[param(minimum = 0, example = 40)]
    pub first: u64,
    /// The newer checkpoint's size.
    #[param(minimum = 0, example = 42)]
    pub second: u64,
}

/// Proof that the tenant's log of `second` entries extends that of `first` entries: one base64
/// hash a line (`text/plain`), as in RFC 9162 and C2SP tlog-proof. Requires `audit.read`.
#[utoipa::path(get, path = "/api/v1/audit/proofs/consistency", tag = "audit", security(("bearer" = [])),
    params(ConsistencyParams), responses((status = 200, body = String, content_type = "text/plain"),
        (status = 404, description = "The log has not reached the larger size yet.", body = Problem,
            content_type = "application/problem+json")))]
pub async fn consistency_proof(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(params): ApiQuery<ConsistencyParams>,
) -> AppResult<impl IntoResponse> {
    let text = audit::consistency_proof(&state, &p, params.first, params.second).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text))
}

/// Export a time range of the tenant's operation log as one file that verifies offline with
/// `kura audit verify --export FILE`: CSV (UTF-8 with a byte order mark by default, or without
/// with `csv-utf8`) or JSON, times in the tenant's time zone with explicit offsets. Beside the
/// entries (sealed values opened, and each entry's stored bytes, which the Merkle log hashes) it
/// holds a signed checkpoint made now, the proofs that tie the entries to it, the public key,
/// and a manifest signed with the same key listing a digest of every row. At most 100,000
/// entries a file. The export is recorded in the log (`audit.export`). Requires `audit.read`.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", security(("bearer" = [])),
    params(audit_export::ExportParams),
    responses(
        (status = 200, description = "The export, as an attachment.", content(
            (String = "text/csv"),
            (String = "application/json"))),
        (status = 400, description = "A missing or malformed instant, a range that ends before it starts, an unknown \
            format, or more than 100,000 entries.", body = Problem, content_type = "application/problem+json")))]
pub async fn export_log(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(params): ApiQuery<audit_export::ExportParams>,
) -> AppResult<axum::response::Response> {
    // The permission before the parameters: a reader without it learns nothing from a 400.
    p.require(kura_domain::Permission::AuditRead)?;
    let (from, to, format) = audit_export::range_of(&params)?;
    let file = audit_export::export(&state, &p, from, to, format).await?;
    Ok(download(file))
}

/// An export file as an attachment.
pub(crate) fn download(file: audit_export::ExportFile) -> axum::response::Response {
    let headers = [
        (header::CONTENT_TYPE, file.content_type.to_owned()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", file.file_name)),
        (header::CACHE_CONTROL, "no-store".to_owned()),
    ];
    (headers, file.bytes).into_response()
}

/// A page of the tenant's access log (LOG-2).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(example = json!({"entries": [{"at": "2026-11-22T01:30:00Z", "at_local": "2026-11-22 10:30:00 JST",
    "method": "GET", "route": "/api/v1/collections/{name}/records/{id}", "status": 200, "latency_ms": 3.2,
    "actor_kind": "api_key", "actor_id": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a01", "source_ip": "203.0.113.7",
    "user_agent": "curl/8.5.0", "cursor": "1795311000000000.0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a02"}],
    "total": 1, "retention_days": 90}))]
pub struct AccessLogPage {
    /// Newest first.
    pub entries: Vec<access_log::AccessEntryView>,
    /// How many entries match the filters, over all pages.
    pub total: u64,
    /// Days entries are kept before the scheduled purge deletes them.
    pub retention_days: u32,
}

/// The tenant's access log: every request made as the tenant's users and API keys, newest
/// first, with the route template (never the path with identifiers), status, latency, address
/// and user agent. Requires `audit.read`.
#[utoipa::path(get, path = "/api/v1/access-log", tag = "audit", security(("bearer" = [])), params(AccessParams),
    responses((status = 200, body = AccessLogPage)))]
pub async fn access_log(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(params): ApiQuery<AccessParams>,
) -> AppResult<Json<AccessLogPage>> {
    // An API client leaves a condition out; an empty one is not a condition.
    for (name, value) in [
        ("from", &params.from),
        ("to", &params.to),
        ("status", &params.status),
        ("route", &params.route),
        ("ip", &params.ip),
        ("before", &params.before),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(crate::error::AppError::BadRequest(format!("{name} must not be empty; leave it out instead")));
        }
    }
    let filter = access_log::to_filter(&params)?;
    let entries = access_log::list(&state, &p, &filter).await?;
    let total = access_log::count(&state, &p, &filter).await?;
    let policy = crate::service::security::policy_of(&state, p.tenant().id).await?;
    let zone = p.tenant().time_zone.clone();
    Ok(Json(AccessLogPage {
        entries: entries.iter().map(|e| access_log::view(e, &zone)).collect(),
        total,
        retention_days: crate::service::security::access_log_days(&state, &policy),
    }))
}
