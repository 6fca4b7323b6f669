//! API handlers for collections, records and the audit log.

use super::extract::{ApiAuth, ApiJson, ApiPath, ApiQuery};
use super::views::RecordValues;
use crate::error::{AppError, AppResult};
use crate::service::audit::{AuditEntryView, AuditParams};
use crate::service::records::{ListParams, RecordPage, RecordView};
use crate::service::{audit, collections, records};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use kura_domain::{Collection, CollectionSpec, RecordId};
use serde_json::{Map, Value};

/// List collections. Requires `records.read`.
#[utoipa::path(get, path = "/api/v1/collections", tag = "collections", security(("bearer" = [])),
    responses((status = 200, body = Vec<Collection>)))]
pub async fn list_collections(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Json<Vec<Collection>>> {
    Ok(Json(collections::list(&state, &p).await?))
}

/// Define a collection with typed fields. Requires `collections.manage`.
#[utoipa::path(post, path = "/api/v1/collections", tag = "collections", security(("bearer" = [])),
    request_body = CollectionSpec, responses((status = 201, body = Collection)))]
pub async fn create_collection(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(spec): ApiJson<CollectionSpec>,
) -> AppResult<(StatusCode, Json<Collection>)> {
    Ok((StatusCode::CREATED, Json(collections::create(&state, &p, spec).await?)))
}

/// Get a collection's definition. Requires `records.read`.
#[utoipa::path(get, path = "/api/v1/collections/{name}", tag = "collections", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers")), responses((status = 200, body = Collection)))]
pub async fn get_collection(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(name): ApiPath<String>,
) -> AppResult<Json<Collection>> {
    Ok(Json(collections::get(&state, &p, &name).await?))
}

/// Replace a collection's label, memo and fields. Requires `collections.manage`.
#[utoipa::path(put, path = "/api/v1/collections/{name}", tag = "collections", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers")), request_body = CollectionSpec, responses((status = 200, body = Collection)))]
pub async fn update_collection(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(name): ApiPath<String>,
    ApiJson(spec): ApiJson<CollectionSpec>,
) -> AppResult<Json<Collection>> {
    Ok(Json(collections::update(&state, &p, &name, spec).await?))
}

/// Delete a collection and all its records. Requires `collections.manage`.
#[utoipa::path(delete, path = "/api/v1/collections/{name}", tag = "collections", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers")), responses((status = 204)))]
pub async fn delete_collection(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(name): ApiPath<String>,
) -> AppResult<StatusCode> {
    collections::delete(&state, &p, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List records with filter, search, sort and paging. Requires `records.read`; personal
/// information is masked without `pii.read`.
#[utoipa::path(get, path = "/api/v1/collections/{name}/records", tag = "records", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers"), ListParams),
    responses((status = 200, body = RecordPage)))]
pub async fn list_records(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(name): ApiPath<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> AppResult<Json<RecordPage>> {
    Ok(Json(records::list(&state, &p, &name, &params).await?))
}

/// Create a record. Requires `records.write`.
#[utoipa::path(post, path = "/api/v1/collections/{name}/records", tag = "records", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers")), request_body = RecordValues,
    responses((status = 201, body = RecordView)))]
pub async fn create_record(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(name): ApiPath<String>,
    ApiJson(input): ApiJson<Map<String, Value>>,
) -> AppResult<(StatusCode, Json<RecordView>)> {
    Ok((StatusCode::CREATED, Json(records::create(&state, &p, &name, &input).await?)))
}

/// Get a record. Requires `records.read`.
#[utoipa::path(get, path = "/api/v1/collections/{name}/records/{id}", tag = "records", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers"), ("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")),
    responses((status = 200, body = RecordView)))]
pub async fn get_record(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath((name, id)): ApiPath<(String, RecordId)>,
) -> AppResult<Json<RecordView>> {
    Ok(Json(records::get(&state, &p, &name, id).await?))
}

/// Change some fields of a record (`null` clears a field). Send `If-Match: "<version>"` to refuse
/// the change if someone else changed the record first. Requires `records.write`.
#[utoipa::path(patch, path = "/api/v1/collections/{name}/records/{id}", tag = "records", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers"), ("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b"), ("If-Match" = Option<String>, Header, pattern = r#"^\s*(W/)?"?[0-9]{1,18}"?\s*$"#,
        description = "the record version you read, e.g. \"3\"", example = "\"3\"")),
    request_body = RecordValues,
    responses((status = 200, body = RecordView)))]
pub async fn update_record(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath((name, id)): ApiPath<(String, RecordId)>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<Map<String, Value>>,
) -> AppResult<Json<RecordView>> {
    let expected = match headers.get(header::IF_MATCH) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| AppError::BadRequest("If-Match must be a record version such as \"3\"".into()))?,
        ),
    };
    Ok(Json(records::update(&state, &p, &name, id, &input, expected).await?))
}

/// Delete a record. Requires `records.delete`.
#[utoipa::path(delete, path = "/api/v1/collections/{name}/records/{id}", tag = "records", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers"), ("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")),
    responses((status = 204)))]
pub async fn delete_record(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath((name, id)): ApiPath<(String, RecordId)>,
) -> AppResult<StatusCode> {
    records::delete(&state, &p, &name, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's operation log, newest first. Requires `audit.read`.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])), params(AuditParams),
    responses((status = 200, body = Vec<AuditEntryView>)))]
pub async fn list_audit(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> AppResult<Json<Vec<AuditEntryView>>> {
    // The console's filter form sends empty fields for "any"; an API client omits them instead,
    // and an empty instant or operation is not one.
    for (name, value) in [
        ("from", &params.from),
        ("to", &params.to),
        ("operation", &params.operation),
        ("outcome", &params.outcome),
        ("source_ip", &params.source_ip),
        ("target", &params.target),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(AppError::BadRequest(format!("{name} must not be empty; leave it out instead")));
        }
    }
    let filter = audit::to_filter(&params)?;
    let zone = p.tenant().time_zone.clone();
    let entries = audit::list(&state, &p, &filter).await?;
    Ok(Json(entries.iter().map(|e| audit::view(e, &zone)).collect()))
}
