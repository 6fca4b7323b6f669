//! API handlers for exporting a collection's records to a file and importing them from one
//! (DAT-5, DAT-6).

use super::extract::{ApiAuth, ApiPath, ApiQuery};
use crate::error::{AppError, AppResult, Problem};
use crate::service::transfer::archive::{self, Archive};
use crate::service::transfer::export::{self, ExportParams, Exporter};
use crate::service::transfer::format::Encoding;
use crate::service::transfer::import::{
    self, ImportChoices, ImportFormat, ImportMode, RecordImportOptions, RecordImportReport,
};
use crate::service::transfer::upload::{Spool, Upload};
use crate::state::AppState;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use serde::Deserialize;
use std::collections::BTreeMap;
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
/// rows as they will be stored, and every problem of every row. Writes nothing. The file is the
/// request body itself (`text/csv`, `application/jsonl` or `application/octet-stream`, with the
/// choices in the query; streamed to a temporary file, up to `limits.import_max_bytes`), or a
/// JSON body with the file in base64 (files up to 16 MiB). Requires `records.write` (and
/// `pii.read` for a collection with personal information).
#[utoipa::path(post, path = "/api/v1/collections/{name}/import/preview", tag = "records", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers"), ImportParams),
    request_body(content(
        (RecordImportOptions = "application/json"),
        (String = "text/csv", example = "氏名,ポイント\r\n山田 太郎,120\r\n"),
        (String = "application/jsonl"))),
    responses((status = 200, body = RecordImportReport)))]
pub async fn preview_import(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(name): ApiPath<String>,
    ApiQuery(params): ApiQuery<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<RecordImportReport>> {
    // The permission first: a refusal must not depend on what was sent.
    p.require(kura_domain::Permission::RecordsWrite)?;
    let (choices, upload) = read_upload(&state, &headers, params, body).await?;
    Ok(Json(import::preview(&state, &p, &name, &choices, &upload).await?))
}

/// Import a file into a collection: CSV (UTF-8 with or without a byte order mark, or
/// Shift_JIS) or JSON Lines, inserting every row or upserting by a key field. The file is sent
/// as for the preview, checked whole, then read again and written: all rows in one transaction
/// with one audit entry (counts and the file's SHA-256), or none: a file with a bad row is
/// refused (422, every problem listed) unless `valid_only` is set. Requires `records.write`
/// (and `pii.read` for a collection with personal information).
#[utoipa::path(post, path = "/api/v1/collections/{name}/import", tag = "records", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers"), ImportParams),
    request_body(content(
        (RecordImportOptions = "application/json"),
        (String = "text/csv", example = "氏名,ポイント\r\n山田 太郎,120\r\n"),
        (String = "application/jsonl"))),
    responses((status = 200, body = RecordImportReport)))]
pub async fn import_records(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(name): ApiPath<String>,
    ApiQuery(params): ApiQuery<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<RecordImportReport>> {
    // The permission first: a refusal must not depend on what was sent.
    p.require(kura_domain::Permission::RecordsWrite)?;
    let (choices, upload) = read_upload(&state, &headers, params, body).await?;
    Ok(Json(import::import(&state, &p, &name, &choices, &upload).await?))
}

/// The largest file sent base64 inside a JSON body: that body is read whole, so larger files go
/// as the request body itself, which is streamed to disk.
pub const JSON_FILE_MAX: usize = 16 * 1024 * 1024;

/// The choices of an import whose file is the request body; a JSON body carries them itself.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// `csv` (the default) or `jsonl`.
    #[param(value_type = Option<String>, example = "csv")]
    pub format: Option<ImportFormat>,
    /// A CSV file's encoding: `auto` (the default: UTF-8 if the file is valid UTF-8, else
    /// Shift_JIS), `utf8` or `shift_jis`.
    #[param(value_type = Option<String>, example = "auto")]
    pub encoding: Option<Encoding>,
    /// `insert` (the default) or `upsert`.
    #[param(value_type = Option<String>, example = "insert")]
    pub mode: Option<ImportMode>,
    /// The field that identifies a record in upsert mode.
    #[param(example = "email")]
    pub key: Option<String>,
    /// Corrections to the column mapping, as a JSON object: a CSV header → a field's key, or
    /// `""` to ignore the column.
    #[param(example = r#"{"ポイント":"points"}"#)]
    pub columns: Option<String>,
    /// Import the valid rows and skip the others.
    #[param(example = false)]
    pub valid_only: Option<bool>,
}

impl ImportParams {
    fn is_empty(&self) -> bool {
        self.format.is_none()
            && self.encoding.is_none()
            && self.mode.is_none()
            && self.key.is_none()
            && self.columns.is_none()
            && self.valid_only.is_none()
    }

    fn into_choices(self) -> AppResult<ImportChoices> {
        let columns = match self.columns.as_deref() {
            None => BTreeMap::new(),
            Some(json) => serde_json::from_str(json).map_err(|_| {
                AppError::BadRequest("columns must be a JSON object of column names to field keys".into())
            })?,
        };
        Ok(ImportChoices {
            format: self.format.unwrap_or_default(),
            encoding: self.encoding.unwrap_or_default(),
            mode: self.mode.unwrap_or_default(),
            key: self.key,
            columns,
            valid_only: self.valid_only.unwrap_or(false),
        })
    }
}

/// The import's choices and its file, spooled: from a JSON body (the file base64, within
/// [`JSON_FILE_MAX`]), or streamed from the body itself with the choices in the query.
async fn read_upload(
    state: &AppState,
    headers: &HeaderMap,
    params: ImportParams,
    body: Body,
) -> AppResult<(ImportChoices, Upload)> {
    let max = state.settings.limits.import_max_bytes;
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match media.as_str() {
        "application/json" => {
            if !params.is_empty() {
                return Err(AppError::BadRequest(
                    "with a JSON body, the choices go in the body, not in the query".into(),
                ));
            }
            let json_max = max.min(JSON_FILE_MAX);
            let limit = json_max / 3 * 4 + 64 * 1024;
            let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| AppError::TooLarge(limit))?;
            let options: RecordImportOptions =
                serde_json::from_slice(&bytes).map_err(|e| AppError::BadRequest(format!("invalid JSON: {e}")))?;
            drop(bytes);
            let (file, choices) = options.into_parts();
            let file = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, file.trim())
                .map_err(|_| AppError::BadRequest("file must be the file's bytes in base64".into()))?;
            if file.len() > json_max && json_max < max {
                return Err(AppError::BadRequest(format!(
                    "a file in a JSON body is limited to {json_max} bytes; send larger files as the request body"
                )));
            }
            Ok((choices, Upload::from_bytes(&file, max)?))
        }
        "text/csv" | "text/plain" | "application/jsonl" | "application/x-ndjson" | "application/octet-stream" => {
            let choices = params.into_choices()?;
            let mut spool = Spool::new(max)?;
            let mut chunks = body.into_data_stream();
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk.map_err(|_| AppError::BadRequest("the upload was cut off".into()))?;
                spool.write(&chunk)?;
            }
            Ok((choices, spool.finish()?))
        }
        _ => Err(AppError::UnsupportedMedia(
            "send the file as the body (text/csv, application/jsonl or application/octet-stream), \
             or as base64 in application/json"
                .into(),
        )),
    }
}
