//! Turning a request's credentials (session cookie or bearer token) into a principal, enforcing
//! expiry, idle timeout and account status on every request.

use super::principal::{OperatorPrincipal, TenantPrincipal, Via};
use super::tokens::{parse_api_key_token, parse_session_token, parse_support_token};
use crate::error::{AppError, AppResult};
use crate::service::tenant_access;
use crate::state::AppState;
use axum::extract::OriginalUri;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use jiff::SignedDuration;
use kura_domain::{
    Actor, ActorKind, AddressPolicy, AuditRecord, AuditScope, BreakGlassStatus, DisplayName, Key, Operation, Outcome,
    Role, RoleId, SUPPORT_ROLE, Surface, TenantId, UserStatus, support_permissions,
};
use kura_store::{ApiKeyContext, SessionOwner, UserSessionContext};
use std::net::IpAddr;
use uuid::Uuid;

pub const SESSION_COOKIE: &str = "kura_session";
pub const OPERATOR_COOKIE: &str = "kura_operator";

/// Where a request came from, for audit entries and session records.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The client certificate the connection presented (IAM-11), verified against Kura's CA
    /// except for its dates.
    pub client_cert: Option<crate::tls::PeerCertificate>,
}

/// The client's address (see `client_address`) and user agent of a request.
pub fn client_info(parts: &Parts) -> ClientInfo {
    let ip = client_ip(parts).map(|ip| ip.to_string());
    let user_agent =
        parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(300).collect());
    let client_cert = parts.extensions.get::<crate::tls::PeerCertificate>().cloned();
    ClientInfo { ip, user_agent, client_cert }
}

/// The client's address, as the `client_address` layer decided it.
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<crate::client_address::ClientAddress>().map(|c| c.0)
}

/// The value of cookie `name`, if the request carries it (the first, if several do).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .and_then(|c| c.value_raw())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Resolves the bearer token of an API request (an API key or an API session token).
pub async fn resolve_api_request(state: &AppState, parts: &Parts) -> AppResult<TenantPrincipal> {
    let token = bearer(&parts.headers).ok_or(AppError::Unauthenticated)?;
    let info = client_info(parts);
    if token.starts_with("kura_") {
        let (tenant, secret) = parse_api_key_token(token).ok_or(AppError::Unauthenticated)?;
        let tenant_id = TenantId::from_uuid(tenant);
        let named = records_collection(parts);
        let ApiKeyContext { key, tenant, mut role, collection, policy } = state
            .store
            .api_key_context(tenant_id, &secret.digest(), named.as_ref(), info.ip.as_deref())
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let actor = Actor {
            kind: ActorKind::ApiKey,
            id: Some(key.id.as_uuid()),
            label: key.name.clone(),
            role: Some(role.key.to_string()),
            source_ip: info.ip.clone(),
            user_agent: info.user_agent.clone(),
        };
        attribute(parts, AuditScope::Tenant(tenant.id), &actor);
        // After the attribution, so that the refusal is in the tenant's log under the key.
        tenant_access::check_request(state, &tenant, &parts.method, request_path(parts))?;
        let policy = crate::service::security::effective(state, policy);
        check_address(parts, &policy.addresses, Surface::Api)?;
        crate::service::client_certs::check(
            state,
            &tenant,
            policy.client_certificates,
            Surface::Api,
            info.client_cert.as_ref(),
            info.ip.as_deref(),
        )
        .await?;
        // The key's own, narrower limits (IAM-12): its address ranges, and its scopes, which
        // leave the principal only those of its role's permissions.
        let ip = client_ip(parts);
        if !key.allowed_ranges.is_empty() && !ip.is_some_and(|ip| key.allowed_ranges.iter().any(|n| n.contains(&ip))) {
            let ip = ip.map_or_else(|| "an unknown address".into(), |ip| ip.to_string());
            return Err(AppError::KeyAddressRefused { ip });
        }
        if let Some(scopes) = key.scopes {
            role.permissions = role.permissions.iter().filter(|p| scopes.contains(*p)).collect();
        }
        return Ok(TenantPrincipal {
            tenant,
            role,
            actor,
            user_id: None,
            via: Via::ApiKey { id: key.id, owner: key.created_by },
            collection: named.map(|name| (name, collection)),
            password_change_required: false,
            client_cert: info.client_cert,
        });
    }
    if token.starts_with("kurabg_") {
        return resolve_support(state, parts, token, info, Surface::Api).await;
    }
    resolve_tenant_session(state, parts, token, info, records_collection(parts), Surface::Api).await
}

/// Refuses a request whose client address is not in the tenant's list for `surface` (IAM-10).
/// An empty list accepts any address; a request whose address is unknown is refused by a list.
pub fn check_address(parts: &Parts, addresses: &AddressPolicy, surface: Surface) -> AppResult<()> {
    if addresses.list(surface).is_empty() {
        return Ok(());
    }
    match client_ip(parts) {
        Some(ip) if addresses.allows(surface, ip) => Ok(()),
        ip => Err(AppError::AddressRefused {
            surface,
            ip: ip.map_or_else(|| "an unknown address".into(), |ip| ip.to_string()),
        }),
    }
}

/// The collection named by an API path on its records (`/api/v1/collections/{name}/records…`),
/// so that its head is read together with the credential.
fn records_collection(parts: &Parts) -> Option<Key> {
    // The API router is nested under `/api/v1`, and a nested router sees the path without it.
    let uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |original| &original.0);
    let rest = uri.path().strip_prefix("/api/v1/collections/")?;
    let (name, rest) = rest.split_once('/')?;
    if rest != "records" && !rest.starts_with("records/") {
        return None;
    }
    Key::parse(name).ok()
}

/// Resolves the console session cookie of a tenant user.
pub async fn resolve_tenant_cookie(state: &AppState, parts: &Parts) -> AppResult<TenantPrincipal> {
    let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(AppError::Unauthenticated)?;
    if token.starts_with("kurabg_") {
        return resolve_support(state, parts, token, client_info(parts), Surface::Console).await;
    }
    resolve_tenant_session(state, parts, token, client_info(parts), None, Surface::Console).await
}

/// An operator's support session under break-glass access (IAM-13). Good only while the access
/// is active, for its own token (the last one opened); acts with the fixed, read-only support
/// permissions; every request is written to the tenant's log under the operator's name before
/// anything else happens, and any method but `GET` is refused (and logged as refused).
async fn resolve_support(
    state: &AppState,
    parts: &Parts,
    token: &str,
    info: ClientInfo,
    surface: Surface,
) -> AppResult<TenantPrincipal> {
    let (tenant_id, access, secret) = parse_support_token(token).ok_or(AppError::Unauthenticated)?;
    let tenant_id = TenantId::from_uuid(tenant_id);
    let (grant, stored) = state.store.break_glass(tenant_id, access).await?.ok_or(AppError::Unauthenticated)?;
    let matches = stored.is_some_and(|d| kura_crypto::ct_eq(&d, &secret.digest().0));
    if !matches {
        return Err(AppError::Unauthenticated);
    }
    if grant.status_at(state.clock.now()) != BreakGlassStatus::Active {
        // Its time is up: the end goes into the logs now, if no one wrote it yet.
        crate::service::break_glass::close_due(state, vec![grant]).await?;
        return Err(AppError::Unauthenticated);
    }
    let tenant = state.store.tenant(tenant_id).await?.ok_or(AppError::Unauthenticated)?;
    let actor = Actor {
        kind: ActorKind::Operator,
        id: Some(grant.operator_id),
        label: format!("{} (break-glass)", grant.operator),
        role: Some(SUPPORT_ROLE.into()),
        source_ip: info.ip.clone(),
        user_agent: info.user_agent.clone(),
    };
    attribute(parts, AuditScope::Tenant(tenant.id), &actor);
    let read = parts.method == Method::GET || parts.method == Method::HEAD;
    let path = request_path(parts);
    let query = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |o| &o.0).query();
    let what = match query {
        Some(q) => format!("{} {path}?{}", parts.method, q.chars().take(300).collect::<String>()),
        None => format!("{} {path}", parts.method),
    };
    let record = AuditRecord::success(Operation::BreakGlassAccess, format!("break_glass:{}", grant.id));
    let record = if read {
        record.with_detail(what)
    } else {
        record.with_outcome(Outcome::Denied).with_detail(format!("{what}: refused, break-glass access is read-only"))
    };
    state.store.audit_only(AuditScope::Tenant(tenant.id), actor.clone(), record).await?;
    if !read {
        return Err(AppError::ForbiddenOther(
            "break-glass access is read-only: only GET requests are allowed under it".into(),
        ));
    }
    tenant_access::check_request(state, &tenant, &parts.method, path)?;
    let policy = crate::service::security::policy_of(state, tenant.id).await?;
    check_address(parts, &policy.addresses, surface)?;
    let role = Role {
        id: RoleId::from_uuid(Uuid::nil()),
        tenant_id: tenant.id,
        key: Key::parse(SUPPORT_ROLE).map_err(|e| AppError::Internal(e.into()))?,
        label: DisplayName::parse("Break-glass support").map_err(|e| AppError::Internal(e.into()))?,
        permissions: support_permissions(),
        builtin: false,
    };
    Ok(TenantPrincipal {
        tenant,
        role,
        actor,
        user_id: None,
        via: Via::BreakGlass { access: grant.id, operator: grant.operator_id },
        // Looked up by name by the records handlers (a support session is rare enough not to
        // need the statement that joins the collection with the credential).
        collection: None,
        password_change_required: false,
        client_cert: info.client_cert,
    })
}

/// Tells the audit of refused requests who this request is (see `denials::Who`).
fn attribute(parts: &Parts, scope: AuditScope, actor: &Actor) {
    if let Some(who) = parts.extensions.get::<crate::denials::Who>() {
        who.set(scope, actor);
    }
}

/// A tenant user's session, attributed for the audit of refusals before the tenant's access is
/// checked, so that a refusal of a suspended tenant's session is in that tenant's log.
async fn resolve_tenant_session(
    state: &AppState,
    parts: &Parts,
    token: &str,
    info: ClientInfo,
    named: Option<Key>,
    surface: Surface,
) -> AppResult<TenantPrincipal> {
    let (scope, secret) = parse_session_token(token).ok_or(AppError::Unauthenticated)?;
    // The token's scope names the tenant; the store looks the session up in that tenant only.
    if scope.is_nil() {
        return Err(AppError::Unauthenticated);
    }
    let digest = secret.digest();
    let UserSessionContext { session, user, tenant, role, policy, collection } = state
        .store
        .user_session_context(TenantId::from_uuid(scope), &digest, named.as_ref())
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // The tenant's session policy as it is now (IAM-9): a shortened timeout applies at once to
    // sessions already open, on every node.
    let policy = crate::service::security::effective(state, policy);
    let sessions = &policy.sessions;
    let absolute = SignedDuration::from_mins(i64::from(sessions.absolute_minutes));
    let past_absolute = session.created_at.checked_add(absolute).is_ok_and(|end| state.clock.now() >= end);
    if past_absolute
        || idle_expired(state, session.last_seen_at, sessions.idle_minutes)
        || user.status != UserStatus::Active
    {
        return Err(AppError::Unauthenticated);
    }
    let actor = Actor {
        kind: ActorKind::User,
        id: Some(user.id.as_uuid()),
        label: user.email.to_string(),
        role: Some(role.key.to_string()),
        source_ip: info.ip.clone(),
        user_agent: info.user_agent.clone(),
    };
    attribute(parts, AuditScope::Tenant(tenant.id), &actor);
    tenant_access::check_request(state, &tenant, &parts.method, request_path(parts))?;
    check_address(parts, &policy.addresses, surface)?;
    crate::service::client_certs::check(
        state,
        &tenant,
        policy.client_certificates,
        surface,
        info.client_cert.as_ref(),
        info.ip.as_deref(),
    )
    .await?;
    touch(state, scope, &digest, session.last_seen_at).await;
    Ok(TenantPrincipal {
        tenant,
        role,
        actor,
        user_id: Some(user.id),
        via: Via::Session { scope, digest, csrf_token: session.csrf_token },
        collection: named.map(|name| (name, collection)),
        password_change_required: user.must_change_password,
        client_cert: info.client_cert,
    })
}

/// Resolves the operator console cookie.
pub async fn resolve_operator_cookie(state: &AppState, parts: &Parts) -> AppResult<OperatorPrincipal> {
    let token = cookie(&parts.headers, OPERATOR_COOKIE).ok_or(AppError::Unauthenticated)?;
    let (scope, secret) = parse_session_token(token).ok_or(AppError::Unauthenticated)?;
    if !scope.is_nil() {
        return Err(AppError::Unauthenticated);
    }
    let digest = secret.digest();
    let session = state.store.session(scope, &digest).await?.ok_or(AppError::Unauthenticated)?;
    if idle_expired(state, session.last_seen_at, state.settings.session.idle_minutes) {
        return Err(AppError::Unauthenticated);
    }
    let SessionOwner::Operator(id) = session.owner else {
        return Err(AppError::Unauthenticated);
    };
    let operator = state.store.operator(id).await?.ok_or(AppError::Unauthenticated)?;
    touch(state, scope, &digest, session.last_seen_at).await;
    let info = client_info(parts);
    let actor = Actor {
        kind: ActorKind::Operator,
        id: Some(id.as_uuid()),
        label: operator.email.to_string(),
        role: Some("operator".into()),
        source_ip: info.ip,
        user_agent: info.user_agent,
    };
    attribute(parts, AuditScope::Platform, &actor);
    let password_change_required = operator.must_change_password;
    Ok(OperatorPrincipal { operator, actor, scope, digest, csrf_token: session.csrf_token, password_change_required })
}

/// The request's path as the client sent it (before any router nesting).
fn request_path(parts: &Parts) -> &str {
    parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |original| &original.0).path()
}

fn idle_expired(state: &AppState, last_seen: jiff::Timestamp, idle_minutes: u32) -> bool {
    let idle = SignedDuration::from_mins(i64::from(idle_minutes));
    state.clock.now() >= last_seen.saturating_add(idle).unwrap_or(last_seen)
}

/// Records activity at most once a minute per session, to keep reads from becoming writes.
async fn touch(state: &AppState, scope: Uuid, digest: &kura_crypto::TokenDigest, last_seen: jiff::Timestamp) {
    if state.clock.now().duration_since(last_seen) >= SignedDuration::from_mins(1)
        && let Err(e) = state.store.touch_session(scope, digest).await
    {
        tracing::warn!(error = %e, "could not record session activity");
    }
}
