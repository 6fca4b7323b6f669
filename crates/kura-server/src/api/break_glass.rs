//! API handlers for break-glass access as the tenant sees it (IAM-13): the history, and the
//! approval, refusal and early end of an operator's access. Operators start it from the
//! operator console; whether it waits for approval is `break_glass_approval` in the security
//! settings.

use super::extract::{ApiAuth, ApiPath};
use crate::error::AppResult;
use crate::service::break_glass::{self, BreakGlassView};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

/// List the operators' break-glass accesses to the tenant, newest first: pending requests,
/// the access in force, and the history (who, why, from and to, approved or refused by whom).
/// Requires `settings.manage`.
#[utoipa::path(get, path = "/api/v1/break-glass", tag = "break-glass", security(("bearer" = [])),
    responses((status = 200, body = Vec<BreakGlassView>)))]
pub async fn list_break_glass(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
) -> AppResult<Json<Vec<BreakGlassView>>> {
    Ok(Json(break_glass::list(&state, &p).await?.into_iter().map(Into::into).collect()))
}

/// Approve a pending break-glass request: the access starts now, for its duration, and the
/// tenant's administrators are mailed. A request that is not pending (refused, lapsed, started)
/// is a 409. Requires `settings.manage`.
#[utoipa::path(post, path = "/api/v1/break-glass/{id}/approve", tag = "break-glass", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "01938a6e-8f3c-7d2e-9b1a-5c4d3e2f1a0b")),
    responses((status = 200, body = BreakGlassView)))]
pub async fn approve_break_glass(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<BreakGlassView>> {
    Ok(Json(break_glass::approve(&state, &p, id).await?.into()))
}

/// Refuse a pending break-glass request: it never starts. Requires `settings.manage`.
#[utoipa::path(post, path = "/api/v1/break-glass/{id}/refuse", tag = "break-glass", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "01938a6e-8f3c-7d2e-9b1a-5c4d3e2f1a0b")),
    responses((status = 200, body = BreakGlassView)))]
pub async fn refuse_break_glass(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<Json<BreakGlassView>> {
    Ok(Json(break_glass::refuse(&state, &p, id).await?.into()))
}

/// End an active break-glass access now: the operator's support session stops working at
/// once. Requires `settings.manage`.
#[utoipa::path(post, path = "/api/v1/break-glass/{id}/end", tag = "break-glass", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "01938a6e-8f3c-7d2e-9b1a-5c4d3e2f1a0b")),
    responses((status = 204)))]
pub async fn end_break_glass(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> AppResult<StatusCode> {
    break_glass::end_by_tenant(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
