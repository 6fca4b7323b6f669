//! API handlers for account security: the tenant's security settings (IAM-4, IAM-5, IAM-9), the
//! caller's own password and sessions, and an administrator's unlock and forced logout.

use super::extract::{ApiAuth, ApiJson, ApiPath};
use super::views::{OwnSessionView, SessionsEnded, UserView};
use crate::error::AppResult;
use crate::service::account;
use crate::service::passwords::{self, PasswordChange};
use crate::service::security::{self, SecuritySettings, SecuritySettingsChange};
use crate::service::tenant_admin::{self, TimeZoneSetting};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kura_domain::UserId;

/// The tenant's security settings: password policy, lockout and throttling, sessions, and the
/// address lists of the console and the API. Requires `settings.manage`.
#[utoipa::path(get, path = "/api/v1/settings/security", tag = "settings", security(("bearer" = [])),
    responses((status = 200, body = SecuritySettings)))]
pub async fn get_security(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Json<SecuritySettings>> {
    Ok(Json(security::get(&state, &p).await?))
}

/// Replace the tenant's security settings as a whole. Every knob is checked against its bounds
/// first (422 naming each one out of bounds, nothing stored); a save by someone else since
/// `revision` is a 409. Address lists that leave out the address this request comes from are a
/// 409 `lockout_unconfirmed` (nothing stored) unless `confirm_lockout` is true. Takes effect at
/// once on every node. Requires `settings.manage`.
#[utoipa::path(put, path = "/api/v1/settings/security", tag = "settings", security(("bearer" = [])),
    request_body = SecuritySettingsChange,
    responses((status = 200, body = SecuritySettings)))]
pub async fn put_security(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(change): ApiJson<SecuritySettingsChange>,
) -> AppResult<Json<SecuritySettings>> {
    Ok(Json(security::put(&state, &p, change).await?))
}

/// The tenant's time zone: the console, the logs and exports show times in it (times are stored
/// in UTC). Requires `settings.manage`.
#[utoipa::path(get, path = "/api/v1/settings/time-zone", tag = "settings", security(("bearer" = [])),
    responses((status = 200, body = TimeZoneSetting)))]
pub async fn get_time_zone(ApiAuth(p): ApiAuth) -> AppResult<Json<TimeZoneSetting>> {
    Ok(Json(tenant_admin::own_time_zone(&p)?))
}

/// Set the tenant's time zone (an IANA name such as `Asia/Tokyo`; 400 for an unknown one,
/// nothing changed). Audited as `settings.time_zone`. Requires `settings.manage`.
#[utoipa::path(put, path = "/api/v1/settings/time-zone", tag = "settings", security(("bearer" = [])),
    request_body = TimeZoneSetting, responses((status = 200, body = TimeZoneSetting)))]
pub async fn put_time_zone(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(change): ApiJson<TimeZoneSetting>,
) -> AppResult<Json<TimeZoneSetting>> {
    Ok(Json(tenant_admin::set_own_time_zone(&state, &p, &change.time_zone).await?))
}

/// Change your own password. The current password is required; the new one must follow the
/// tenant's policy (422 names each broken rule). Your other sessions end; this one stays.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "sessions", security(("bearer" = [])),
    request_body = PasswordChange,
    responses((status = 200, body = SessionsEnded)))]
pub async fn change_password(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(change): ApiJson<PasswordChange>,
) -> AppResult<Json<SessionsEnded>> {
    Ok(Json(SessionsEnded { ended: passwords::change_own(&state, &p, change).await? }))
}

/// Your unexpired sessions, most recently used first.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "sessions", security(("bearer" = [])),
    responses((status = 200, body = Vec<OwnSessionView>)))]
pub async fn list_sessions(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Json<Vec<OwnSessionView>>> {
    Ok(Json(account::own_sessions(&state, &p).await?.into_iter().map(OwnSessionView::from).collect()))
}

/// End one of your sessions (the current one too, which signs you out).
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "the session's `id` from `GET /api/v1/me/sessions`",
        pattern = "^[0-9a-f]{32}$", example = "3f9a0c1d2b4e5f60718293a4b5c6d7e8")),
    responses((status = 204)))]
pub async fn end_session(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<String>,
) -> AppResult<StatusCode> {
    account::end_own_session(&state, &p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sign a user out everywhere at once (forced logout). Requires `users.manage`.
#[utoipa::path(delete, path = "/api/v1/users/{id}/sessions", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")),
    responses((status = 200, body = SessionsEnded)))]
pub async fn end_user_sessions(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<UserId>,
) -> AppResult<Json<SessionsEnded>> {
    Ok(Json(SessionsEnded { ended: account::force_logout(&state, &p, id).await? }))
}

/// Unlock an account locked by failed sign-ins (IAM-5). Unlocking an open account changes
/// nothing. Requires `users.manage`.
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")),
    responses((status = 200, body = UserView)))]
pub async fn unlock_user(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<UserId>,
) -> AppResult<Json<UserView>> {
    Ok(Json(account::unlock(&state, &p, id).await?.into()))
}
