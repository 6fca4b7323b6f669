//! The one HTTP error type. Every failure a handler can meet becomes an [`AppError`], which
//! answers with an RFC 9457 `application/problem+json` body (console routes re-render it as a
//! page). Internal causes are logged once, here, and never sent to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kura_domain::{DomainError, FieldError, Permission};
use kura_store::StoreError;
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("the input has {} invalid field(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("authentication required")]
    Unauthenticated,
    #[error("the tenant, email address or password is wrong")]
    BadCredentials,
    #[error("this requires the {0} permission")]
    Forbidden(Permission),
    /// The user must choose a new password first (an issued one, an administrator's, or an
    /// expired one); only the password change and signing out are allowed until then.
    #[error("change your password first: PUT /api/v1/me/password")]
    PasswordChangeRequired,
    /// A sign-in refused because the account is signed in elsewhere and the tenant forbids
    /// concurrent sign-ins (IAM-9). Only said once the password was right.
    #[error("this account is already signed in elsewhere; sign out there first, or wait until that session times out")]
    AlreadySignedIn,
    #[error("{0}")]
    ForbiddenOther(String),
    /// A change asked of a tenant whose contract has ended: it is read-only until its data is
    /// deleted (TEN-4). The message names the end date.
    #[error("{0}")]
    ReadOnly(String),
    /// A request from an address outside the tenant's allow-list for the console or the API
    /// (IAM-10).
    #[error("requests from {ip} are not accepted by this tenant's {}; ask an administrator of the tenant to allow the address", surface.as_str())]
    AddressRefused { surface: kura_domain::Surface, ip: String },
    /// A request of a tenant that requires a client certificate for this door, without a valid
    /// one of the tenant's (IAM-11).
    #[error("{}: this tenant ({tenant}) requires a client certificate it issued for its {}; ask an administrator of the tenant for one", refusal.as_str(), surface.as_str())]
    CertificateRefused {
        surface: kura_domain::Surface,
        refusal: crate::service::client_certs::CertRefusal,
        tenant: String,
        /// The presented certificate's serial, if there was one.
        serial: Option<String>,
    },
    /// A request with an API key from outside the key's own address ranges (IAM-12).
    #[error("this API key may not be used from {ip}; its address ranges do not include it")]
    KeyAddressRefused { ip: String },
    /// Address lists that would shut out the administrator saving them, sent without
    /// `confirm_lockout` (IAM-10).
    #[error("{0}")]
    LockoutUnconfirmed(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// Something that existed and is gone for good: a downloaded or expired export's file.
    #[error("{0}")]
    Gone(String),
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    UnsupportedMedia(String),
    #[error("the request was refused: the form token is missing or stale; reload the page and try again")]
    Csrf,
    #[error("this method is not allowed here; the Allow header lists those that are")]
    MethodNotAllowed,
    #[error("the request URI is longer than {0} bytes")]
    UriTooLong(usize),
    /// Stored data did not decrypt for its tenant and place (DAT-2, TEN-2): never answered with
    /// another value. The cause (which record of which tenant) is logged, not sent.
    #[error("stored data could not be decrypted")]
    Undecryptable(String),
    /// A second-factor code that matches nothing, or was already used (IAM-6).
    #[error(
        "the code is wrong or was already used; enter the current code of your authenticator app, or an unused recovery code"
    )]
    SecondFactorRefused,
    /// A sign-in challenge that is unknown, already finished, or given up after too many wrong
    /// codes (IAM-6).
    #[error("this sign-in is unknown or already finished; sign in again with your password")]
    ChallengeUnknown,
    /// A sign-in challenge past its time (IAM-6).
    #[error("this sign-in expired before its second factor arrived; sign in again with your password")]
    ChallengeExpired,
    /// A passkey's sign-in answer that is not one of the account's passkeys or does not answer
    /// this sign-in (IAM-6).
    #[error(
        "the passkey was not accepted: it is not one of this account's passkeys, or it did not answer this sign-in; try again, or enter a code"
    )]
    PasskeyRefused,
    /// A passkey registration answer that does not verify (IAM-6).
    #[error("the authenticator's answer was not accepted ({0}); start the registration again")]
    PasskeyNotAccepted(String),
    /// A passkey registration past its time (IAM-6).
    #[error("this passkey registration expired before the authenticator answered; start it again")]
    RegistrationExpired,
    /// Passkeys need a relying party: a public URL naming a domain (IAM-6).
    #[error(
        "passkeys are unavailable on this server: its public URL (public_url) must name a domain such as https://kura.example.jp, not an IP address"
    )]
    PasskeysUnavailable,
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The problem document (RFC 9457). `code` is stable and machine-readable; `errors` lists field
/// problems, each with the field, a `code` and a message.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"type": "about:blank", "title": "Unprocessable Entity", "status": 422,
    "detail": "points: at least 0", "code": "validation",
    "errors": [{"field": "points", "code": "below_minimum", "min": 0.0, "message": "points: at least 0"}]}))]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldProblem>,
}

/// One field's problem in a [`Problem`].
#[derive(Debug, Serialize, Clone)]
pub struct FieldProblem {
    pub field: String,
    #[serde(flatten)]
    pub kind: kura_domain::FieldErrorKind,
    pub message: String,
}

impl AppError {
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthenticated
            | Self::BadCredentials
            | Self::SecondFactorRefused
            | Self::PasskeyRefused
            | Self::ChallengeUnknown
            | Self::ChallengeExpired => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_)
            | Self::ForbiddenOther(_)
            | Self::ReadOnly(_)
            | Self::AddressRefused { .. }
            | Self::KeyAddressRefused { .. }
            | Self::CertificateRefused { .. }
            | Self::Csrf
            | Self::PasswordChangeRequired => StatusCode::FORBIDDEN,
            Self::AlreadySignedIn
            | Self::LockoutUnconfirmed(_)
            | Self::RegistrationExpired
            | Self::PasskeysUnavailable => StatusCode::CONFLICT,
            Self::PasskeyNotAccepted(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Gone(_) => StatusCode::GONE,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMedia(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            Self::Internal(_) | Self::Undecryptable(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Validation(_) => "validation",
            Self::Unauthenticated => "unauthenticated",
            Self::BadCredentials => "bad_credentials",
            Self::Forbidden(_) | Self::ForbiddenOther(_) => "forbidden",
            Self::ReadOnly(_) => "contract_ended",
            Self::PasswordChangeRequired => "password_change_required",
            Self::AlreadySignedIn => "already_signed_in",
            Self::AddressRefused { .. } | Self::KeyAddressRefused { .. } => "address_not_allowed",
            Self::CertificateRefused { .. } => "client_certificate_required",
            Self::LockoutUnconfirmed(_) => "lockout_unconfirmed",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Gone(_) => "gone",
            Self::TooLarge(_) => "too_large",
            Self::UnsupportedMedia(_) => "unsupported_media_type",
            Self::Csrf => "csrf",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UriTooLong(_) => "uri_too_long",
            Self::SecondFactorRefused => "second_factor_refused",
            Self::ChallengeUnknown => "challenge_unknown",
            Self::ChallengeExpired => "challenge_expired",
            Self::PasskeyRefused => "passkey_refused",
            Self::PasskeyNotAccepted(_) => "passkey_not_accepted",
            Self::RegistrationExpired => "registration_expired",
            Self::PasskeysUnavailable => "passkeys_unavailable",
            Self::Internal(_) => "internal",
            Self::Undecryptable(_) => "undecryptable",
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status();
        let errors = match self {
            Self::Validation(errors) => errors
                .iter()
                .map(|e| FieldProblem { field: e.field.clone(), kind: e.kind.clone(), message: e.to_string() })
                .collect(),
            _ => Vec::new(),
        };
        let detail = match self {
            Self::Validation(errors) => errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            Self::Internal(_) => "an internal error occurred; it has been logged".to_owned(),
            Self::Undecryptable(_) => "stored data of this tenant could not be decrypted with its key, so none was \
                                       returned; the event has been logged for the operator"
                .to_owned(),
            other => other.to_string(),
        };
        Problem {
            problem_type: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            code: self.code().into(),
            errors,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            // Logged once with its cause chain; the client gets no internals.
            let mut chain = cause.to_string();
            let mut source = cause.source();
            while let Some(s) = source {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                source = s.source();
            }
            tracing::error!(error = %chain, "internal error");
        }
        if let Self::Undecryptable(cause) = &self {
            tracing::error!(error = %cause, "stored data could not be decrypted");
        }
        let status = self.status();
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response.extensions_mut().insert(ErrorMarker(std::sync::Arc::new(self)));
        response
    }
}

/// The error a response of `status` stands for, when it was produced outside Kura's handlers
/// (axum's routing and extractors answer some requests themselves, in plain text): `detail` is
/// what they said.
pub fn from_status(status: StatusCode, detail: String) -> AppError {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed,
        StatusCode::NOT_FOUND => AppError::NotFound("page"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMedia(detail),
        StatusCode::UNAUTHORIZED => AppError::Unauthenticated,
        s if s.is_server_error() => AppError::Internal(detail.into()),
        _ => AppError::BadRequest(if detail.is_empty() { "the request is malformed".into() } else { detail }),
    }
}

/// Attached to error responses so that the console can re-render them as pages.
#[derive(Clone, Debug)]
pub struct ErrorMarker(pub std::sync::Arc<AppError>);

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::NotFound => Self::NotFound("resource"),
            StoreError::Unreadable(cause) => Self::Undecryptable(cause),
            other => Self::internal(other),
        }
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Fields(errors) => Self::Validation(errors),
            DomainError::Invalid { .. } | DomainError::Query(_) => Self::BadRequest(e.to_string()),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
