//! API handlers for bulk changes of records (DAT-6). Read the selection's `total` first with a
//! listing (`GET …/records?filter=…&per_page=1`) and send it back as `expected_count`.

use super::extract::{ApiAuth, ApiJson, ApiPath};
use crate::error::AppResult;
use crate::service::bulk::{self, BulkDelete, BulkOutcome, BulkUpdate};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;

/// Delete every record a filter and keyword select, in one operation with one audit entry: all
/// of them or, if the selection no longer holds `expected_count` records or one of them changes
/// meanwhile, none (409). At most 10,000 records at a time. Requires `records.delete`.
#[utoipa::path(post, path = "/api/v1/collections/{name}/records/bulk-delete", tag = "records", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers")),
    request_body = BulkDelete, responses((status = 200, body = BulkOutcome)))]
pub async fn bulk_delete(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(name): ApiPath<String>,
    ApiJson(input): ApiJson<BulkDelete>,
) -> AppResult<Json<BulkOutcome>> {
    Ok(Json(bulk::delete(&state, &p, &name, &input.selection(), input.expected_count).await?))
}

/// Set the same fields on every record a filter and keyword select, in one operation with one
/// audit entry, all or none as for a bulk delete. Records that already hold the values are left
/// as they are. Requires `records.write` (and `pii.read` to set a personal-information field).
#[utoipa::path(post, path = "/api/v1/collections/{name}/records/bulk-update", tag = "records", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers")),
    request_body = BulkUpdate, responses((status = 200, body = BulkOutcome)))]
pub async fn bulk_update(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(name): ApiPath<String>,
    ApiJson(input): ApiJson<BulkUpdate>,
) -> AppResult<Json<BulkOutcome>> {
    Ok(Json(bulk::update(&state, &p, &name, &input.selection(), &input.set, input.expected_count).await?))
}
