//! API handlers for single-use password links (TEN-1, IAM-7): asking for a reset link, setting a
//! password through a link, and an administrator's resend of a setup link.

use super::extract::{ApiAuth, ApiJson, ApiPath, Client};
use crate::error::{AppResult, Problem};
use crate::service::links::{self, LinkCompletion};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kura_domain::UserId;
use kura_store::LinkPurpose;
use serde::{Deserialize, Serialize};

/// A request for a reset link.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tenant": "acme", "email": "hanako.sato@acme.example.jp"}))]
pub struct ResetRequest {
    /// The tenant's slug.
    pub tenant: String,
    pub email: String,
}

/// The one answer to every reset request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"detail": "If the tenant and address belong to an account, a link has been mailed to it."}))]
pub struct Accepted {
    pub detail: String,
}

/// Which link a password is set through.
#[derive(Clone, Copy, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Setup,
    Reset,
}

/// A password chosen through a link from a mail.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "setup", "token": "0190c5e8f1a27c3e9b4d6a1f2e3c4b5a.q2XwN8…",
    "new_password": "lantern-orchid-velvet-harbour"}))]
pub struct LinkUse {
    /// `setup` (a new account) or `reset` (forgot password).
    pub kind: LinkKind,
    /// The last part of the link's path.
    pub token: String,
    pub new_password: String,
}

/// Ask for a password reset link. The answer is the same 202, at once, whatever the tenant and
/// address: whether an account exists is not revealed. If it does, a single-use link valid for
/// an hour is mailed to it (at most one a minute).
#[utoipa::path(post, path = "/api/v1/password-resets", tag = "sessions", request_body = ResetRequest,
    responses((status = 202, body = Accepted)))]
pub async fn request_reset(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<ResetRequest>,
) -> (StatusCode, Json<Accepted>) {
    links::request_reset(&state, &req.tenant, &req.email, &client);
    let detail = "If the tenant and address belong to an account, a link has been mailed to it.".to_owned();
    (StatusCode::ACCEPTED, Json(Accepted { detail }))
}

/// Set a password through a setup or reset link. The link is used up; a link that is unknown,
/// used or expired is 404 and changes nothing; a password the tenant's policy refuses is 422
/// naming each broken rule (the link stays usable). The account's sessions end.
#[utoipa::path(post, path = "/api/v1/password-links", tag = "sessions", request_body = LinkUse,
    responses((status = 204),
        (status = 404, description = "The link is unknown, used or expired.", body = Problem,
            content_type = "application/problem+json")))]
pub async fn use_link(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<LinkUse>,
) -> AppResult<StatusCode> {
    let purpose = match req.kind {
        LinkKind::Setup => LinkPurpose::Setup,
        LinkKind::Reset => LinkPurpose::Reset,
    };
    let completion = LinkCompletion { token: req.token, new_password: req.new_password };
    links::complete(&state, purpose, completion, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mail a user who has not set a password yet a new setup link (earlier ones stop working).
/// Requires `users.manage`.
#[utoipa::path(post, path = "/api/v1/users/{id}/setup-link", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")),
    responses((status = 202, body = Accepted)))]
pub async fn resend_setup_link(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<UserId>,
) -> AppResult<(StatusCode, Json<Accepted>)> {
    links::resend_setup_link(&state, &p, id).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { detail: "A new setup link has been queued for the user.".into() })))
}

/// Import users from a previous system's CSV export. With `dry_run`, every row is checked and
/// the report names each row's problems; nothing is written. Without it, every row is created in
/// one transaction with one audit entry — or, if any row has a problem, none is (422 naming each
/// problem by line and column). Password hashes (bcrypt `$2a$`/`$2b$`/`$2y$`, Argon2id) are kept
/// and upgraded at each user's next sign-in; rows without one are invited by mail. Requires
/// `users.manage`.
#[utoipa::path(post, path = "/api/v1/users/import", tag = "users", security(("bearer" = [])),
    request_body = crate::service::import::UserImport,
    responses((status = 200, body = crate::service::import::ImportReport)))]
pub async fn import_users(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(input): ApiJson<crate::service::import::UserImport>,
) -> AppResult<Json<crate::service::import::ImportReport>> {
    Ok(Json(crate::service::import::import(&state, &p, input).await?))
}

/// A generated one-time password, shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"password": "k7QmR2vXp9LtWb3NcHdZ"}))]
pub struct OneTimePassword {
    /// Hand it over by a safe channel; the user must change it at the next sign-in.
    pub password: String,
}

/// Issue a user a generated one-time password (for someone without mail): it must be changed at
/// the next sign-in, and the user's sessions end. It is in this answer only. Requires
/// `users.manage`; not for one's own account.
#[utoipa::path(post, path = "/api/v1/users/{id}/one-time-password", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")),
    responses((status = 201, body = OneTimePassword)))]
pub async fn issue_one_time_password(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<UserId>,
) -> AppResult<(StatusCode, Json<OneTimePassword>)> {
    let (_, password) = crate::service::users::issue_one_time_password(&state, &p, id).await?;
    Ok((StatusCode::CREATED, Json(OneTimePassword { password })))
}
