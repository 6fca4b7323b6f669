//! API handlers for exporting a collection's records to a file and importing them from one
//! (DAT-5, DAT-6).

use super::extract::{ApiAuth, ApiPath, ApiQuery};
use crate::error::{AppResult, Problem};
use crate::service::transfer::export::{self, ExportParams, Exporter};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
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
