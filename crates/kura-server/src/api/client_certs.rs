//! API handlers for the tenant's client certificates (IAM-11).

use super::extract::{ApiAuth, ApiJson, ApiPath};
use crate::error::AppResult;
use crate::service::client_certs::{self, ClientCertView, IssuedClientCert, NewClientCert};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

/// List the tenant's client certificates, newest first, revoked and expired ones included.
/// Requires `settings.manage`.
#[utoipa::path(get, path = "/api/v1/client-certificates", tag = "client-certificates", security(("bearer" = [])),
    responses((status = 200, body = Vec<ClientCertView>)))]
pub async fn list(State(state): State<AppState>, ApiAuth(p): ApiAuth) -> AppResult<Json<Vec<ClientCertView>>> {
    Ok(Json(client_certs::list(&state, &p).await?))
}

/// Issue a client certificate for a user or device of the tenant. The answer holds the only
/// copy of its key: as PKCS#12 (base64) with the password that opens it, and as PEM. Neither is
/// kept by Kura. Requires `settings.manage`.
#[utoipa::path(post, path = "/api/v1/client-certificates", tag = "client-certificates", security(("bearer" = [])),
    request_body = NewClientCert, responses((status = 201, body = IssuedClientCert)))]
pub async fn issue(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(input): ApiJson<NewClientCert>,
) -> AppResult<(StatusCode, Json<IssuedClientCert>)> {
    Ok((StatusCode::CREATED, Json(client_certs::issue(&state, &p, input).await?)))
}

/// Revoke a client certificate: refused from the next request on, on every node. Its record
/// stays, marked revoked; revoking it again changes nothing. Requires `settings.manage`.
#[utoipa::path(delete, path = "/api/v1/client-certificates/{serial}", tag = "client-certificates",
    security(("bearer" = [])),
    params(("serial" = String, Path, example = "5f0c2a9e41d3b6c78e9f0a1b2c3d4e5f")),
    responses((status = 200, body = ClientCertView)))]
pub async fn revoke(
    State(state): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(serial): ApiPath<String>,
) -> AppResult<Json<ClientCertView>> {
    Ok(Json(client_certs::revoke(&state, &p, &serial).await?))
}
