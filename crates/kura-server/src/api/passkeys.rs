//! API handlers for passkeys and security keys (IAM-6): registering one in two calls (the
//! options for `navigator.credentials.create`, then its answer), listing and removing one's own.
//! Signing in with one is the second step of `POST /api/v1/sessions` (`second_factor::complete`).

use super::extract::{ApiAuth, ApiJson, ApiPath};
use super::second_factor::FactorView;
use crate::error::AppResult;
use crate::service::passkeys as service;
use crate::service::second_factor::FactorInfo;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// A name for the passkey about to be registered.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Work laptop"}))]
pub struct StartRequest {
    /// 1 to 60 characters, to tell your passkeys apart.
    pub name: String,
}

/// A registration under way.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"registration": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b", "expires_at": "2026-11-22T00:05:00Z",
    "options": {"publicKey": {"challenge": "…", "rp": {"id": "kura.example.jp", "name": "Kura"}}}}))]
pub struct Offer {
    /// Send the authenticator's answer to `POST /api/v1/me/passkeys/registrations/{registration}`.
    #[schema(format = Uuid)]
    pub registration: String,
    /// The WebAuthn creation options (`{"publicKey": …}`, binary values in base64url) for
    /// `navigator.credentials.create`.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    /// The registration works once, until then.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// Start registering a passkey or security key: the options for the authenticator. Needs the
/// server's public URL to name a domain (else 409 `passkeys_unavailable`). Sessions only: an API
/// key has no second factors (400).
#[utoipa::path(post, path = "/api/v1/me/passkeys", tag = "sessions", security(("bearer" = [])),
    request_body = StartRequest, responses((status = 201, body = Offer)))]
pub async fn start_passkey(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(req): ApiJson<StartRequest>,
) -> AppResult<(StatusCode, Json<Offer>)> {
    let offer = service::start_registration(&state, &p, &req.name).await?;
    let options = serde_json::to_value(&offer.options).map_err(crate::error::AppError::internal)?;
    Ok((
        StatusCode::CREATED,
        Json(Offer { registration: offer.registration.to_string(), options, expires_at: offer.expires_at.to_string() }),
    ))
}

/// The authenticator's answer to a registration.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"credential": {"id": "…", "rawId": "…", "type": "public-key",
    "response": {"attestationObject": "…", "clientDataJSON": "…"}}}))]
pub struct FinishRequest {
    /// What `navigator.credentials.create` returned, as JSON (binary values in base64url).
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// A passkey registered, with the recovery codes issued with your first second factor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"passkey": {"id": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b", "kind": "passkey",
    "label": "Work laptop", "created_at": "2026-11-22T00:00:00Z", "last_used_at": null},
    "recovery_codes": ["abcd-efgh-ijkl-mnop"]}))]
pub struct Registered {
    pub passkey: FactorView,
    /// Shown once; empty when you already had recovery codes.
    pub recovery_codes: Vec<String>,
}

/// Finish a registration with the authenticator's answer: the passkey counts at once. An answer
/// that does not verify (another challenge, another site) is a 422 `passkey_not_accepted`; an
/// expired registration a 409 `registration_expired`; a passkey already registered a 409; a
/// registration that is not yours, or already finished, a 404. Nothing is stored in any of
/// these cases.
#[utoipa::path(post, path = "/api/v1/me/passkeys/registrations/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")),
    request_body = FinishRequest, responses((status = 201, body = Registered)))]
pub async fn finish_passkey(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiJson(req): ApiJson<FinishRequest>,
) -> AppResult<(StatusCode, Json<Registered>)> {
    let (info, codes) = service::finish_registration(&state, &p, id, &req.credential).await?;
    Ok((StatusCode::CREATED, Json(Registered { passkey: view(info), recovery_codes: codes })))
}

fn view(f: FactorInfo) -> FactorView {
    FactorView {
        id: f.id.to_string(),
        kind: f.kind,
        label: f.label,
        created_at: f.created_at.to_string(),
        last_used_at: f.last_used_at.map(|t| t.to_string()),
    }
}

/// Your passkeys.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"passkeys": []}))]
pub struct OwnPasskeys {
    pub passkeys: Vec<FactorView>,
}

/// Your passkeys and security keys (IAM-6); `GET /api/v1/me/second-factors` lists them with
/// your other factors.
#[utoipa::path(get, path = "/api/v1/me/passkeys", tag = "sessions", security(("bearer" = [])),
    responses((status = 200, body = OwnPasskeys)))]
pub async fn list_own_passkeys(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Json<OwnPasskeys>> {
    let passkeys = service::own(&state, &p).await?.into_iter().map(view).collect();
    Ok(Json(OwnPasskeys { passkeys }))
}

/// Remove one of your passkeys. The last second factor cannot go while your tenant requires you
/// to have one (409).
#[utoipa::path(delete, path = "/api/v1/me/passkeys/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")),
    responses((status = 204)))]
pub async fn remove_own_passkey(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> AppResult<StatusCode> {
    service::remove_own(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
