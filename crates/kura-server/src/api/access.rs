//! API handlers for sessions, the caller's identity, users, roles and API keys.

use super::extract::{ApiAuth, ApiJson, ApiPath, Client};
use super::second_factor::SecondFactorRequired;
use super::views::{ApiKeyCreated, ApiKeyView, Me, RoleView, SessionCreated, UserView};
use crate::error::{AppResult, Problem};
use crate::service::{api_keys, roles, sessions, users};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kura_domain::{ApiKeyId, RoleId, UserId};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tenant": "acme", "email": "admin@acme.example.jp", "password": "correct-horse-battery"}))]
pub struct LoginRequest {
    /// The tenant's slug.
    pub tenant: String,
    pub email: String,
    pub password: String,
}

/// Sign in and get a bearer session token. Every refusal — wrong password, unknown account,
/// locked or disabled account, throttled address — is the same 401. A 409
/// `already_signed_in` answers a right password when the tenant refuses concurrent sign-ins.
///
/// When the account has a second factor, or the tenant requires one of it (IAM-6), a right
/// password answers 202 with a short-lived `challenge`; finish with
/// `POST /api/v1/sessions/second-factor`. If the account must enrol a factor first, the answer
/// carries the secret to enrol (`enrolment`), and the first valid code finishes both.
/// API keys never need a second factor.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = LoginRequest,
    responses((status = 201, body = SessionCreated),
        (status = 202, description = "The password is right; a second factor is needed.", body = SecondFactorRequired),
        (status = 409, description = "The password is right, but the account is signed in elsewhere and the tenant refuses concurrent sign-ins (`already_signed_in`).",
            body = Problem, content_type = "application/problem+json")))]
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<LoginRequest>,
) -> AppResult<Response> {
    let signed_in =
        sessions::login_user(&state, &req.tenant, &req.email, &req.password, &client, kura_domain::Surface::Api)
            .await?;
    Ok(match signed_in {
        sessions::SignIn::Done(s) => (StatusCode::CREATED, Json(SessionCreated::new(s, Vec::new()))).into_response(),
        sessions::SignIn::Pending(p) => (StatusCode::ACCEPTED, Json(SecondFactorRequired::from(p))).into_response(),
    })
}

/// End the current session.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "sessions", security(("bearer" = [])),
    responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<StatusCode> {
    sessions::logout_user(&state, &p).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the caller is, in which tenant, with which permissions.
#[utoipa::path(get, path = "/api/v1/me", tag = "sessions", security(("bearer" = [])),
    responses((status = 200, body = Me)))]
pub async fn me(ApiAuth(p): ApiAuth) -> Json<Me> {
    Json(Me {
        tenant: p.tenant().slug.to_string(),
        tenant_name: p.tenant().display_name.to_string(),
        time_zone: p.tenant().time_zone.to_string(),
        actor: p.actor().label.clone(),
        actor_kind: p.actor().kind.as_str().into(),
        role: p.role().key.to_string(),
        permissions: p.role().permissions.iter().map(|x| x.as_str().to_owned()).collect(),
        password_change_required: p.password_change_required(),
    })
}

/// List the tenant's users. Requires `users.manage`.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Vec<UserView>)))]
pub async fn list_users(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Json<Vec<UserView>>> {
    Ok(Json(users::list(&state, &p).await?.into_iter().map(UserView::from).collect()))
}

/// Create a user. Requires `users.manage`.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = users::NewUser,
    responses((status = 201, body = UserView)))]
pub async fn create_user(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(input): ApiJson<users::NewUser>,
) -> AppResult<(StatusCode, Json<UserView>)> {
    Ok((StatusCode::CREATED, Json(users::create(&state, &p, input).await?.into())))
}

/// Get a user. Requires `users.manage`.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")), responses((status = 200, body = UserView)))]
pub async fn get_user(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<UserId>,
) -> AppResult<Json<UserView>> {
    Ok(Json(users::get(&state, &p, id).await?.into()))
}

/// Change a user. Requires `users.manage`.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), request_body = users::UserChanges,
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")), responses((status = 200, body = UserView)))]
pub async fn update_user(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(changes): ApiJson<users::UserChanges>,
) -> AppResult<Json<UserView>> {
    Ok(Json(users::update(&state, &p, id, changes).await?.into()))
}

/// Delete a user; their audit entries remain. Requires `users.manage`.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")), responses((status = 204)))]
pub async fn delete_user(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<UserId>,
) -> AppResult<StatusCode> {
    users::delete(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List roles. Requires `roles.manage`.
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles", security(("bearer" = [])),
    responses((status = 200, body = Vec<RoleView>)))]
pub async fn list_roles(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Json<Vec<RoleView>>> {
    Ok(Json(roles::list(&state, &p).await?.into_iter().map(RoleView::from).collect()))
}

/// Create a custom role. Requires `roles.manage`.
#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", security(("bearer" = [])), request_body = roles::NewRole,
    responses((status = 201, body = RoleView)))]
pub async fn create_role(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(input): ApiJson<roles::NewRole>,
) -> AppResult<(StatusCode, Json<RoleView>)> {
    Ok((StatusCode::CREATED, Json(roles::create(&state, &p, input).await?.into())))
}

/// Get a role. Requires `roles.manage`.
#[utoipa::path(get, path = "/api/v1/roles/{id}", tag = "roles", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")), responses((status = 200, body = RoleView)))]
pub async fn get_role(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<RoleId>,
) -> AppResult<Json<RoleView>> {
    Ok(Json(roles::get(&state, &p, id).await?.into()))
}

/// Change a custom role. Requires `roles.manage`.
#[utoipa::path(patch, path = "/api/v1/roles/{id}", tag = "roles", security(("bearer" = [])), request_body = roles::RoleChanges,
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")), responses((status = 200, body = RoleView)))]
pub async fn update_role(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<RoleId>,
    ApiJson(changes): ApiJson<roles::RoleChanges>,
) -> AppResult<Json<RoleView>> {
    Ok(Json(roles::update(&state, &p, id, changes).await?.into()))
}

/// Delete a custom role that no user holds. Requires `roles.manage`.
#[utoipa::path(delete, path = "/api/v1/roles/{id}", tag = "roles", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")), responses((status = 204)))]
pub async fn delete_role(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<RoleId>,
) -> AppResult<StatusCode> {
    roles::delete(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List API keys (never their secrets). Requires `apikeys.manage`.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys", security(("bearer" = [])),
    responses((status = 200, body = Vec<ApiKeyView>)))]
pub async fn list_api_keys(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Json<Vec<ApiKeyView>>> {
    Ok(Json(api_keys::list(&state, &p).await?.into_iter().map(ApiKeyView::from).collect()))
}

/// Create an API key; the token is returned once. Requires `apikeys.manage`.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", security(("bearer" = [])), request_body = api_keys::NewApiKey,
    responses((status = 201, body = ApiKeyCreated)))]
pub async fn create_api_key(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(input): ApiJson<api_keys::NewApiKey>,
) -> AppResult<(StatusCode, Json<ApiKeyCreated>)> {
    let (token, key) = api_keys::create(&state, &p, input).await?;
    Ok((StatusCode::CREATED, Json(ApiKeyCreated { token, key: key.into() })))
}

/// Rotate an API key: a new secret, returned once; the current secret keeps working for
/// `grace_minutes`, then is refused. Rotating again drops the earlier secret at once. Requires
/// `apikeys.manage` and every permission of the key's role.
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/rotate", tag = "api-keys", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")),
    request_body = api_keys::RotateApiKey, responses((status = 200, body = ApiKeyCreated)))]
pub async fn rotate_api_key(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<ApiKeyId>,
    ApiJson(change): ApiJson<api_keys::RotateApiKey>,
) -> AppResult<Json<ApiKeyCreated>> {
    let (token, key) = api_keys::rotate(&state, &p, id, change).await?;
    Ok(Json(ApiKeyCreated { token, key: key.into() }))
}

/// Revoke an API key. Requires `apikeys.manage`.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")), responses((status = 204)))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<ApiKeyId>,
) -> AppResult<StatusCode> {
    api_keys::revoke(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
