//! API handlers for exports built in the background (DAT-5): ask for one, follow its progress,
//! download its file once.

use super::extract::{ApiAuth, ApiJson, ApiPath, ApiQuery};
use crate::error::{AppResult, Problem};
use crate::service::transfer::jobs::{self, Download, ExportRequest};
use crate::state::AppState;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kura_store::{ExportJob, ExportKind, ExportStatus};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An export job as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b", "kind": "archive", "collection": null,
    "format": null, "status": "ready", "rows_done": 120000, "rows_total": 120000, "requested_by": "admin@acme.example.jp",
    "created_at": "2026-11-22T01:00:00Z", "finished_at": "2026-11-22T01:02:10Z", "expires_at": "2026-11-23T01:02:10Z",
    "file_name": "kura-acme-20261122-100000.zip", "bytes": 18342211, "error": null,
    "status_url": "/api/v1/exports/0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b",
    "download_url": "/api/v1/exports/0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b/download"}))]
pub struct ExportJobView {
    pub id: Uuid,
    /// `archive` or `collection`.
    #[schema(example = "archive")]
    pub kind: &'static str,
    pub collection: Option<String>,
    pub format: Option<String>,
    /// `queued`, `running`, `ready`, `failed`, `downloaded` or `expired`.
    #[schema(example = "running")]
    pub status: &'static str,
    /// Records written so far.
    pub rows_done: u64,
    /// Records the file will hold, once the build knows.
    pub rows_total: Option<u64>,
    /// Who asked for it.
    pub requested_by: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub finished_at: Option<String>,
    /// Until when the file can be downloaded (RFC 3339, UTC), once ready.
    pub expires_at: Option<String>,
    pub file_name: Option<String>,
    pub bytes: Option<u64>,
    /// Why the build failed.
    pub error: Option<String>,
    /// This job's address.
    pub status_url: String,
    /// Where the requester downloads the file, with the token given when the job was made as
    /// `?token=…`; only while it is ready.
    pub download_url: Option<String>,
}

impl ExportJobView {
    pub fn new(job: &ExportJob, requester: bool) -> Self {
        let (kind, collection, format) = match &job.kind {
            ExportKind::Archive => ("archive", None, None),
            ExportKind::Collection { collection, format, .. } => {
                ("collection", Some(collection.clone()), Some(format.clone()))
            }
        };
        let status_url = format!("/api/v1/exports/{}", job.id);
        let ready = job.status == ExportStatus::Ready;
        Self {
            id: job.id,
            kind,
            collection,
            format,
            status: job.status.as_str(),
            rows_done: job.rows_done,
            rows_total: job.rows_total,
            requested_by: job.actor.label.clone(),
            created_at: job.created_at.to_string(),
            finished_at: job.finished_at.map(|t| t.to_string()),
            expires_at: job.expires_at.filter(|_| ready).map(|t| t.to_string()),
            file_name: job.file_name.clone(),
            bytes: job.bytes,
            error: job.error.clone(),
            download_url: (ready && requester).then(|| format!("{status_url}/download")),
            status_url,
        }
    }
}

/// A job just made, with its download token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b",
    "status_url": "/api/v1/exports/0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b",
    "download_token": "kS3cr3tT0k3nValueShownOnceOnlyItsDigestIsKept0",
    "job": {"id": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b", "kind": "collection", "collection": "customers", "format": "csv",
        "status": "queued", "rows_done": 0, "rows_total": null, "requested_by": "admin@acme.example.jp",
        "created_at": "2026-11-22T01:00:00Z", "finished_at": null, "expires_at": null, "file_name": null, "bytes": null,
        "error": null, "status_url": "/api/v1/exports/0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b", "download_url": null}}))]
pub struct ExportStarted {
    pub id: Uuid,
    /// Where to follow the job.
    pub status_url: String,
    /// The download token, shown this once (only its digest is kept): present it as `?token=…`
    /// to the download address once the job is ready. It works once, for the requester only,
    /// until the link expires (`exports.link_hours`, 24 hours unless configured).
    pub download_token: String,
    pub job: ExportJobView,
}

/// Start an export in the background: the whole tenant as one ZIP archive (`kind: archive`, as
/// `GET /api/v1/export` builds it; needs `records.export`, `users.manage`, `roles.manage` and
/// `audit.read`) or one collection's records (`kind: collection`, as
/// `GET /api/v1/collections/{name}/export`; needs `records.export`). A worker on any node
/// builds the file and records its progress; the answer carries the job's address and the
/// download token. At most three of one requester's jobs wait at once. Audited
/// (`export.job_start`).
#[utoipa::path(post, path = "/api/v1/exports", tag = "records", security(("bearer" = [])),
    request_body = ExportRequest,
    responses(
        (status = 202, description = "The job is queued.", body = ExportStarted),
        (status = 404, description = "The collection named does not exist in your tenant.", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub async fn start_export(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(request): ApiJson<ExportRequest>,
) -> AppResult<Response> {
    let started = jobs::start(&state, &p, &request).await?;
    let view = ExportJobView::new(&started.job, true);
    let body = ExportStarted {
        id: started.job.id,
        status_url: view.status_url.clone(),
        download_token: started.token.expose().to_owned(),
        job: view,
    };
    let location = body.status_url.clone();
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location), (header::CACHE_CONTROL, "no-store".into())], Json(body))
        .into_response())
}

/// List the newest export jobs: one's own, or every one of the tenant for an administrator
/// (who holds every permission of the archive). Requires `records.export`.
#[utoipa::path(get, path = "/api/v1/exports", tag = "records", security(("bearer" = [])),
    responses((status = 200, body = Vec<ExportJobView>)))]
pub async fn list_exports(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Json<Vec<ExportJobView>>> {
    let list = jobs::list(&state, &p).await?;
    Ok(Json(list.iter().map(|j| ExportJobView::new(j, jobs::is_requester(j, &p))).collect()))
}

/// An export job's status and progress, and its download address once ready. Seen by its
/// requester and the tenant's administrators. Requires `records.export`.
#[utoipa::path(get, path = "/api/v1/exports/{id}", tag = "records", security(("bearer" = [])),
    params(("id" = Uuid, Path, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")),
    responses((status = 200, body = ExportJobView)))]
pub async fn get_export(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<ExportJobView>> {
    let job = jobs::get(&state, &p, id).await?;
    Ok(Json(ExportJobView::new(&job, jobs::is_requester(&job, &p))))
}

/// The download's query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DownloadParams {
    /// The download token given when the job was made (without it, the download is refused).
    #[param(example = "kS3cr3tT0k3nValueShownOnceOnlyItsDigestIsKept0")]
    pub token: Option<String>,
}

/// Download a finished export's file, once: by its requester, with the token given when the
/// job was made, until the link expires. The file is deleted as it is handed over; a second
/// download, or one after the link expired, is refused (410). Audited (`export.download`).
#[utoipa::path(get, path = "/api/v1/exports/{id}/download", tag = "records", security(("bearer" = [])),
    params(("id" = Uuid, Path, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b"), DownloadParams),
    responses(
        (status = 200, description = "The file, as an attachment.", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 410, description = "Downloaded already, or the link expired; the file is gone.", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub async fn download_export(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<DownloadParams>,
) -> AppResult<Response> {
    let file = jobs::download(&state, &p, id, params.token.as_deref().unwrap_or_default()).await?;
    Ok(attachment(file))
}

/// A downloaded file as a streamed attachment, read in 64 KiB pieces.
pub(crate) fn attachment(d: Download) -> Response {
    use tokio::io::AsyncReadExt as _;
    let headers = [
        (header::CONTENT_TYPE, d.content_type.to_owned()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", d.file_name)),
        (header::CONTENT_LENGTH, d.bytes.to_string()),
        (header::CACHE_CONTROL, "no-store".to_owned()),
    ];
    let file = Some(tokio::fs::File::from_std(d.file));
    let pieces = futures_util::stream::unfold(file, |file| async move {
        let mut file = file?;
        let mut buf = vec![0; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(file)))
            }
            // The error ends the response early, so the client sees a cut download.
            Err(e) => Some((Err(e), None)),
        }
    });
    (headers, Body::from_stream(pieces)).into_response()
}
