//! API handlers for second factors (IAM-6): finishing a sign-in with a code, one's own factors
//! and recovery codes, and an administrator's reset of a user's factors.

use super::extract::{ApiAuth, ApiJson, ApiPath, Client};
use super::views::SessionCreated;
use crate::error::{AppError, AppResult};
use crate::service::second_factor::{self as service, Answer, Enrolment, Pending};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kura_domain::{FieldError, FieldErrorKind, UserId};
use serde::{Deserialize, Serialize};

/// The password was right; a second factor is needed (IAM-6).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"challenge": "0190a4c2e5b87d3f9a1c2b3d4e5f6a7b.cH4ll3ng3T0k3n", "expires_at": "2026-11-22T00:05:00Z",
    "enrolment": null}))]
pub struct SecondFactorRequired {
    /// Send it with a code to `POST /api/v1/sessions/second-factor`. Works once, until `expires_at`.
    pub challenge: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// Set when the account must enrol a second factor first: add the secret to an
    /// authenticator app (or read `otpauth_uri` as a QR code) and send its first code.
    pub enrolment: Option<EnrolmentView>,
    /// Set when the account has passkeys: the WebAuthn request options (`{"publicKey": …}`,
    /// binary values in base64url) for `navigator.credentials.get`. Send its answer as `passkey`
    /// instead of a code.
    #[schema(value_type = Option<Object>)]
    pub passkey: Option<serde_json::Value>,
}

impl From<Pending> for SecondFactorRequired {
    fn from(p: Pending) -> Self {
        Self {
            challenge: p.challenge,
            expires_at: p.expires_at.to_string(),
            enrolment: p.enrolment.map(Into::into),
            passkey: p.passkey.and_then(|o| serde_json::to_value(o).ok()),
        }
    }
}

/// A TOTP secret to enrol (RFC 6238: SHA-1, 6 digits, 30 seconds).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "otpauth_uri": "otpauth://totp/Kura%20%28acme%29:admin%40acme.example.jp?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Kura%20%28acme%29&algorithm=SHA1&digits=6&period=30"}))]
pub struct EnrolmentView {
    /// The shared secret in base32.
    pub secret: String,
    /// The same as an `otpauth://` URI, for a QR code.
    pub otpauth_uri: String,
}

impl From<Enrolment> for EnrolmentView {
    fn from(e: Enrolment) -> Self {
        Self { secret: e.secret, otpauth_uri: e.uri }
    }
}

/// The second step of a sign-in.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"challenge": "0190a4c2e5b87d3f9a1c2b3d4e5f6a7b.cH4ll3ng3T0k3n", "code": "123456"}))]
pub struct CompleteRequest {
    /// The `challenge` of the 202 answer.
    pub challenge: String,
    /// The 6-digit code of the authenticator app, or an unused recovery code
    /// (`abcd-efgh-ijkl-mnop`; hyphens and case do not matter). Either this or `passkey`.
    pub code: Option<String>,
    /// The answer of `navigator.credentials.get` to the challenge's `passkey` options, as JSON
    /// (a `PublicKeyCredential`, binary values in base64url). Either this or `code`.
    #[schema(value_type = Option<Object>)]
    pub passkey: Option<serde_json::Value>,
}

/// Finish a sign-in that needs a second factor, with a code or a passkey. A wrong or already
/// used code is a 401 `second_factor_refused`, a passkey that is not the account's or does not
/// answer this challenge a 401 `passkey_refused`; both count toward the account's lockout like
/// a wrong password, and after five the challenge ends. A code of the wrong shape, or a
/// `passkey` that is not a credential, is a 422 and counts nothing. An expired challenge is a
/// 401 `challenge_expired`: sign in again.
#[utoipa::path(post, path = "/api/v1/sessions/second-factor", tag = "sessions", request_body = CompleteRequest,
    responses((status = 201, body = SessionCreated),
        (status = 409, description = "The code is right, but the account is signed in elsewhere and the tenant refuses concurrent sign-ins (`already_signed_in`).",
            body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn complete(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<CompleteRequest>,
) -> AppResult<(StatusCode, Json<SessionCreated>)> {
    let answer = match (&req.code, &req.passkey) {
        (Some(code), None) => Answer::Code(code),
        (None, Some(passkey)) => Answer::Passkey(passkey),
        _ => {
            return Err(AppError::Validation(vec![FieldError::new(
                "code",
                FieldErrorKind::Invalid { reason: "send either a code or a passkey's answer, not both".into() },
            )]));
        }
    };
    let done = service::complete_user(&state, &req.challenge, answer, &client, kura_domain::Surface::Api).await?;
    Ok((StatusCode::CREATED, Json(SessionCreated::new(done.session, done.recovery_codes))))
}

/// One of your second factors.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b", "kind": "totp", "label": "Authenticator app",
    "created_at": "2026-11-22T00:00:00Z", "last_used_at": null}))]
pub struct FactorView {
    #[schema(format = Uuid)]
    pub id: String,
    /// `totp` (an authenticator app) or `passkey` (a passkey or security key).
    pub kind: String,
    pub label: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
}

/// Your second factors and how many recovery codes you have left.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"factors": [], "recovery_codes_left": 0}))]
pub struct OwnFactors {
    pub factors: Vec<FactorView>,
    pub recovery_codes_left: i64,
}

/// Your second factors (IAM-6). Sessions only: an API key has no second factors (400).
#[utoipa::path(get, path = "/api/v1/me/second-factors", tag = "sessions", security(("bearer" = [])),
    responses((status = 200, body = OwnFactors)))]
pub async fn list_own(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Json<OwnFactors>> {
    let (factors, left) = service::own(&state, &p).await?;
    let factors = factors
        .into_iter()
        .map(|f| FactorView {
            id: f.id.to_string(),
            kind: f.kind,
            label: f.label,
            created_at: f.created_at.to_string(),
            last_used_at: f.last_used_at.map(|t| t.to_string()),
        })
        .collect();
    Ok(Json(OwnFactors { factors, recovery_codes_left: left }))
}

/// Start enrolling an authenticator app: a new secret, which counts once its first code is
/// confirmed with `POST /api/v1/me/second-factors/confirm`. Starting again replaces an
/// unconfirmed one.
#[utoipa::path(post, path = "/api/v1/me/second-factors", tag = "sessions", security(("bearer" = [])),
    responses((status = 201, body = EnrolmentView)))]
pub async fn start(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<(StatusCode, Json<EnrolmentView>)> {
    Ok((StatusCode::CREATED, Json(service::start(&state, &p).await?.into())))
}

/// A code to confirm an enrolment.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "123456"}))]
pub struct ConfirmRequest {
    /// The 6-digit code the authenticator app shows.
    pub code: String,
}

/// Recovery codes, shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"recovery_codes": ["abcd-efgh-ijkl-mnop"]}))]
pub struct IssuedRecoveryCodes {
    /// Each works once in place of a code. Empty when your earlier codes are kept.
    pub recovery_codes: Vec<String>,
}

/// Confirm the enrolment with the app's first code. With your first factor come ten recovery
/// codes, in this answer only. A wrong code is a 422 and the enrolment stays waiting.
#[utoipa::path(post, path = "/api/v1/me/second-factors/confirm", tag = "sessions", security(("bearer" = [])),
    request_body = ConfirmRequest, responses((status = 200, body = IssuedRecoveryCodes)))]
pub async fn confirm(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(req): ApiJson<ConfirmRequest>,
) -> AppResult<Json<IssuedRecoveryCodes>> {
    Ok(Json(IssuedRecoveryCodes { recovery_codes: service::confirm(&state, &p, &req.code).await? }))
}

/// Replace your recovery codes by ten new ones (in this answer only); the old ones stop working.
#[utoipa::path(post, path = "/api/v1/me/recovery-codes", tag = "sessions", security(("bearer" = [])),
    responses((status = 200, body = IssuedRecoveryCodes)))]
pub async fn renew_codes(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Json<IssuedRecoveryCodes>> {
    Ok(Json(IssuedRecoveryCodes { recovery_codes: service::renew_codes(&state, &p).await? }))
}

/// Remove one of your second factors. The last one cannot go while your tenant requires you to
/// have one (409).
#[utoipa::path(delete, path = "/api/v1/me/second-factors/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")),
    responses((status = 204)))]
pub async fn remove_own(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> AppResult<StatusCode> {
    service::remove_own(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove all of a user's second factors and recovery codes (a lost device). The user is told
/// by mail; if the tenant requires a factor of them, they enrol one at their next sign-in.
/// Requires `users.manage`.
#[utoipa::path(delete, path = "/api/v1/users/{id}/second-factors", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, example = "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b")),
    responses((status = 204)))]
pub async fn reset_user(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<UserId>,
) -> AppResult<StatusCode> {
    service::reset_user(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
