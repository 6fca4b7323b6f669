//! API handlers for exporting a collection's records to a file and importing them from one
//! (DAT-5, DAT-6).

use super::extract::{ApiAuth, ApiPath, ApiQuery};
use crate::error::{AppError, AppResult, Problem};
use crate::service::transfer::archive::{self, Archive};
use crate::service::transfer::export::{self, ExportParams, Exporter};
use crate::service::transfer::import::{self, RecordImportOptions, RecordImportReport};
use crate::state::AppState;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;

/// Export a collection's records as a file: CSV (UTF-8 with a byte order mark for Excel, plain
/// UTF-8, or Shift_JIS) or JSON Lines. Streamed from one consistent snapshot. Text values of a
/// CSV file that start with `=`, `+`, `-`, `@`, a tab, a carriage return or an apostrophe get a
/// leading apostrophe, so that spreadsheets do not run them as formulas; an import removes it.
/// Personal information is masked without `pii.read`. A value that Shift_JIS cannot hold is
/// refused (422, naming record and field), never replaced. Requires `records.export`; audited
/// with the format and row count.
#[utoipa::path(get, path = "/api/v1/collections/{name}/export", tag = "records", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers"), ExportParams),
    responses(
        (status = 200, description = "The file, as an attachment.",
            content((String = "text/csv", example = "\u{feff}氏名,フリガナ,ポイント\r\n山田 太郎,ヤマダ タロウ,120\r\n"),
                (String = "application/jsonl"))),
        (status = 422, description = "A value cannot be written in the encoding asked for; `errors` names each record and field.",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_records(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(name): ApiPath<String>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> AppResult<Response> {
    let exporter = export::start(&state, &p, &name, &params).await?;
    Ok(download(exporter))
}

/// The export as a streamed attachment: one chunk of records at a time.
pub(crate) fn download(exporter: Exporter) -> Response {
    let headers = [
        (header::CONTENT_TYPE, exporter.format().content_type().to_owned()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", exporter.file_name())),
        (header::CACHE_CONTROL, "no-store".to_owned()),
    ];
    let chunks = futures_util::stream::unfold(exporter, |mut e| async move {
        let chunk = e.next_chunk()?;
        // Let other requests run between chunks of a large export.
        tokio::task::yield_now().await;
        Some((Ok::<_, Infallible>(Bytes::from(chunk)), e))
    });
    (headers, Body::from_stream(chunks)).into_response()
}

/// Export the whole tenant as one ZIP file: the collections' definitions (`collections.json`),
/// every collection's records as CSV (UTF-8 with a byte order mark) and JSON Lines
/// (`records/NAME.csv`, `records/NAME.jsonl`), the users (`users.jsonl`) and roles
/// (`roles.json`) without any secret, and the operation log, newest first (`audit-log.jsonl`).
/// `manifest.json` lists every file with its size, rows and SHA-256; `SHA256SUMS` holds the
/// same digests for `sha256sum -c`. Personal information is masked without `pii.read`.
/// Requires `records.export`, `users.manage`, `roles.manage` and `audit.read`; audited once
/// (`tenant.export`) with its counts.
#[utoipa::path(get, path = "/api/v1/export", tag = "records", security(("bearer" = [])),
    responses(
        (status = 200, description = "The archive, as an attachment.", content_type = "application/zip", body = Vec<u8>),
    ))]
pub async fn export_tenant(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Response> {
    let archive = archive::build(&state, &p).await?;
    Ok(archive_download(archive))
}

/// A finished archive as a streamed attachment, read from its temporary file in 64 KiB pieces
/// (the file is deleted when the stream ends).
pub(crate) fn archive_download(archive: Archive) -> Response {
    super::exports::attachment(crate::service::transfer::jobs::Download {
        file: archive.file,
        file_name: archive.file_name,
        bytes: archive.bytes,
        content_type: "application/zip",
    })
}

/// Check a file before importing it into a collection: how its columns map to fields, the first
/// rows as they will be stored, and every problem of every row. Writes nothing. Requires
/// `records.write` (and `pii.read` for a collection with personal information).
#[utoipa::path(post, path = "/api/v1/collections/{name}/import/preview", tag = "records", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers")),
    request_body = RecordImportOptions, responses((status = 200, body = RecordImportReport)))]
pub async fn preview_import(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<RecordImportReport>> {
    // The permission first: a refusal must not depend on what was sent.
    p.require(kura_domain::Permission::RecordsWrite)?;
    let options = read_options(&state, &headers, body).await?;
    Ok(Json(import::preview(&state, &p, &name, &options).await?))
}

/// Import a file into a collection: CSV (UTF-8 with or without a byte order mark, or
/// Shift_JIS) or JSON Lines, inserting every row or upserting by a key field. All rows are
/// written in one transaction with one audit entry (counts and the file's SHA-256), or none:
/// a file with a bad row is refused (422, every problem listed) unless `valid_only` is set.
/// Requires `records.write` (and `pii.read` for a collection with personal information).
#[utoipa::path(post, path = "/api/v1/collections/{name}/import", tag = "records", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers")),
    request_body = RecordImportOptions, responses((status = 200, body = RecordImportReport)))]
pub async fn import_records(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<RecordImportReport>> {
    // The permission first: a refusal must not depend on what was sent.
    p.require(kura_domain::Permission::RecordsWrite)?;
    let options = read_options(&state, &headers, body).await?;
    Ok(Json(import::import(&state, &p, &name, &options).await?))
}

/// The import's JSON body, within the import limit (the file is base64: a third larger)
/// instead of the API's usual body limit.
async fn read_options(state: &AppState, headers: &HeaderMap, body: Body) -> AppResult<RecordImportOptions> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !json {
        return Err(AppError::UnsupportedMedia("send the body as application/json".into()));
    }
    let limit = state.settings.limits.import_max_bytes / 3 * 4 + 64 * 1024;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| AppError::TooLarge(limit))?;
    serde_json::from_slice(&bytes).map_err(|e| AppError::BadRequest(format!("invalid JSON: {e}")))
}
