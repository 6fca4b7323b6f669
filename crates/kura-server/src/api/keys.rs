//! API handlers for the tenant's encryption keys (DAT-2): their versions, and rotating the data
//! key without downtime.

use super::extract::ApiAuth;
use crate::error::{AppResult, Problem};
use crate::service::key_rotation::{self, KeyStatus};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kura_store::{DataKeyInfo, KeyRotation};
use serde::Serialize;
use uuid::Uuid;

/// A data-key version (never the key itself).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"version": 1, "created_at": "2026-11-22T00:00:00Z", "retired_at": "2026-12-01T02:00:00Z"}))]
pub struct KeyVersionView {
    pub version: u32,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// When a finished rotation retired it. A retired version seals nothing and is kept only
    /// for the audit entries sealed under it (the hash chain commits to them as stored).
    pub retired_at: Option<String>,
}

impl KeyVersionView {
    fn new(k: &DataKeyInfo) -> Self {
        let at = |us: i64| jiff::Timestamp::from_microsecond(us).map(|t| t.to_string()).unwrap_or_default();
        Self { version: k.version, created_at: at(k.created_at), retired_at: k.retired_at.map(at) }
    }
}

/// A rotation job.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b", "kind": "rotate", "target_version": 2,
    "status": "running", "pass": 1, "rows_done": 12000, "rows_total": 120000, "percent": 10, "resealed": 11950,
    "requested_by": "admin@acme.example.jp", "created_at": "2026-11-22T01:00:00Z", "finished_at": null, "error": null}))]
pub struct RotationView {
    pub id: Uuid,
    /// `rotate` (a new version of the data key) or `seal` (the tenant's first keys: values
    /// stored before encryption at rest was switched on are sealed).
    pub kind: &'static str,
    /// The version every value is sealed under once the job is done.
    pub target_version: u32,
    /// `running`, `done` or `failed`.
    pub status: &'static str,
    /// 1 while re-sealing; a later pass checks that nothing is left.
    pub pass: u32,
    pub rows_done: u64,
    pub rows_total: Option<u64>,
    /// `rows_done` of `rows_total` in this pass, 0 to 100.
    pub percent: u8,
    /// Values re-sealed so far.
    pub resealed: u64,
    pub requested_by: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub finished_at: Option<String>,
    pub error: Option<String>,
}

impl RotationView {
    pub fn new(job: &KeyRotation) -> Self {
        Self {
            id: job.id,
            kind: key_rotation::kind_name(job.kind),
            target_version: job.target_version,
            status: job.status.as_str(),
            pass: job.pass,
            rows_done: job.rows_done,
            rows_total: job.rows_total,
            percent: key_rotation::percent(job),
            resealed: job.resealed,
            requested_by: job.actor.label.clone(),
            created_at: job.created_at.to_string(),
            finished_at: job.finished_at.map(|t| t.to_string()),
            error: job.error.clone(),
        }
    }
}

/// The tenant's keys and rotations.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"encryption_on": true, "current_version": 2,
    "versions": [{"version": 1, "created_at": "2026-11-22T00:00:00Z", "retired_at": "2026-12-01T02:00:00Z"},
                 {"version": 2, "created_at": "2026-12-01T01:00:00Z", "retired_at": null}],
    "rotations": [{"id": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b", "kind": "rotate", "target_version": 2,
    "status": "done", "pass": 2, "rows_done": 120000, "rows_total": 120000, "percent": 100, "resealed": 120000,
    "requested_by": "admin@acme.example.jp", "created_at": "2026-12-01T01:00:00Z",
    "finished_at": "2026-12-01T02:00:00Z", "error": null}]}))]
pub struct KeysView {
    /// Whether this installation encrypts tenant values at rest.
    pub encryption_on: bool,
    /// The version that seals new writes; `null` while the tenant's values are not sealed yet.
    pub current_version: Option<u32>,
    /// Every data-key version, oldest first.
    pub versions: Vec<KeyVersionView>,
    /// The newest rotations, newest first.
    pub rotations: Vec<RotationView>,
}

impl KeysView {
    fn new(s: &KeyStatus) -> Self {
        Self {
            encryption_on: s.encryption_on,
            current_version: s.current_version(),
            versions: s.keys.iter().map(KeyVersionView::new).collect(),
            rotations: s.rotations.iter().map(RotationView::new).collect(),
        }
    }
}

/// The tenant's data-key versions and its rotations with their progress (`settings.manage`).
#[utoipa::path(get, path = "/api/v1/keys", tag = "settings", security(("bearer" = [])),
    responses((status = 200, description = "The keys and rotations.", body = KeysView)))]
pub async fn get_keys(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Json<KeysView>> {
    Ok(Json(KeysView::new(&key_rotation::status_for(&state, &p).await?)))
}

/// Rotate the tenant's data key (`settings.manage`): a new version seals every write from now
/// on, and a background job re-encrypts the stored values with it while reads and writes go on;
/// the older versions keep opening until it is done, then are retired. For a tenant whose values
/// were stored before encryption at rest was switched on, this creates its first keys and the
/// job seals them. Audit entries are not re-encrypted (the hash chain commits to them). Audited
/// in the tenant's log and the platform's (`key.rotate_start`, `key.rotate_finish`).
#[utoipa::path(post, path = "/api/v1/keys/rotate", tag = "settings", security(("bearer" = [])),
    responses(
        (status = 202, description = "The rotation has started.", body = RotationView),
        (status = 409, description = "A rotation is running already, or encryption at rest is off.", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub async fn rotate_keys(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Response> {
    let job = key_rotation::start_for(&state, &p).await?;
    Ok((StatusCode::ACCEPTED, Json(RotationView::new(&job))).into_response())
}
