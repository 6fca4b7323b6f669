//! Signing in and out. Failed attempts are audited too (LOG-1), and an unknown account takes as
//! long to refuse as a wrong password, so timing does not reveal which accounts exist.

use crate::auth::{ClientInfo, OperatorPrincipal, TenantPrincipal, Via, session_token};
use crate::denials::Denial;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use jiff::{SignedDuration, Timestamp};
use kura_domain::{Actor, ActorKind, AuditRecord, AuditScope, Email, Operation, Outcome, Slug, UserStatus};
use kura_store::SessionOwner;

/// A new session: the token to hand to the client, and when it expires.
#[derive(Debug)]
pub struct NewSession {
    pub token: String,
    pub expires_at: Timestamp,
}

fn expiry(state: &AppState) -> Timestamp {
    let now = state.clock.now();
    now.checked_add(SignedDuration::from_mins(i64::from(state.settings.session.absolute_minutes))).unwrap_or(now)
}

fn anonymous(label: &str, client: &ClientInfo) -> Actor {
    Actor {
        kind: ActorKind::Anonymous,
        id: None,
        label: label.chars().take(254).collect(),
        role: None,
        source_ip: client.ip.clone(),
    }
}

/// Signs a tenant user in with tenant slug, email and password.
pub async fn login_user(
    state: &AppState,
    tenant_slug: &str,
    email: &str,
    password: &str,
    client: &ClientInfo,
) -> AppResult<NewSession> {
    let tenant = match Slug::parse(tenant_slug) {
        Ok(slug) => state.store.tenant_by_slug(&slug).await?,
        Err(_) => None,
    };
    let account = match (&tenant, Email::parse(email)) {
        (Some(t), Ok(e)) => state.store.user_credentials(t.id, &e).await?,
        _ => None,
    };
    let (stored, user) = match account {
        Some((user, hash)) => (hash, Some(user)),
        None => (None, None),
    };
    // Without a stored hash this verifies against the dummy, so it takes as long and says no.
    let password_ok = state.hashing.verify(stored, password.to_owned()).await.map_err(AppError::internal)?;
    let user = user.filter(|u| password_ok && u.status == UserStatus::Active);
    state.metrics.login(user.is_some());
    // A failure is audited in the tenant's log when the tenant exists, else in the platform's.
    let scope = tenant.as_ref().map_or(AuditScope::Platform, |t| AuditScope::Tenant(t.id));
    let (Some(tenant), Some(user)) = (tenant, user) else {
        let record = AuditRecord {
            operation: Operation::UserLoginFailed,
            target: Some(format!("tenant:{} user:{}", truncate(tenant_slug, 40), truncate(email, 254))),
            outcome: Outcome::Failure,
            detail: None,
        };
        state.store.audit_only(scope, anonymous(email, client), record).await?;
        return Err(AppError::BadCredentials);
    };
    // Only someone who proved their password learns why the tenant cannot be used (TEN-1).
    if let Err(refusal) = super::tenant_access::check(state, &tenant) {
        let record = AuditRecord {
            operation: Operation::UserLoginFailed,
            target: Some(format!("user:{}", user.email)),
            outcome: Outcome::Denied,
            detail: Some(refusal.to_string()),
        };
        state.store.audit_only(AuditScope::Tenant(tenant.id), anonymous(email, client), record).await?;
        return Err(refusal);
    }
    let role = state.store.role(tenant.id, user.role_id).await?.ok_or(AppError::BadCredentials)?;
    let actor = Actor {
        kind: ActorKind::User,
        id: Some(user.id.as_uuid()),
        label: user.email.to_string(),
        role: Some(role.key.to_string()),
        source_ip: client.ip.clone(),
    };
    let expires_at = expiry(state);
    let mut w = state.store.begin(AuditScope::Tenant(tenant.id), actor).await?;
    let (secret, _) = w
        .insert_session(
            SessionOwner::User { tenant_id: tenant.id, user_id: user.id },
            expires_at,
            client.ip.as_deref(),
            client.user_agent.as_deref(),
        )
        .await?;
    w.commit(AuditRecord::success(Operation::UserLogin, format!("user:{}", user.email))).await?;
    Ok(NewSession { token: session_token(tenant.id.as_uuid(), &secret), expires_at })
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Ends the principal's session. An API key has no session to end: that is refused, so that a
/// client does not believe a key stopped working (revoke keys with `DELETE /api/v1/api-keys/{id}`).
pub async fn logout_user(state: &AppState, p: &TenantPrincipal) -> AppResult<()> {
    let Via::Session { scope, digest, .. } = p.via() else {
        return Err(AppError::BadRequest(
            "this request is authenticated with an API key, which is not a session: nothing was ended; \
             revoke the key with DELETE /api/v1/api-keys/{id} instead"
                .into(),
        ));
    };
    let mut w = state.store.begin(AuditScope::Tenant(p.tenant().id), p.actor().clone()).await?;
    w.delete_session(*scope, digest).await?;
    w.commit(AuditRecord::success(Operation::UserLogout, format!("user:{}", p.actor().label))).await?;
    Ok(())
}

/// Signs an operator in.
pub async fn login_operator(
    state: &AppState,
    email: &str,
    password: &str,
    client: &ClientInfo,
) -> AppResult<NewSession> {
    let account = match Email::parse(email) {
        Ok(e) => state.store.operator_credentials(&e).await?,
        Err(_) => None,
    };
    let stored = account.as_ref().map(|(_, h)| h.clone());
    let ok = state.hashing.verify(stored, password.to_owned()).await.map_err(AppError::internal)?;
    state.metrics.login(ok);
    let Some((operator, _)) = account.filter(|_| ok) else {
        // Refused, and throttled per address and name tried, so that guessing cannot flood the
        // platform's log (LOG-1).
        let denial = Denial {
            scope: AuditScope::Platform,
            actor: anonymous(email, client),
            operation: Operation::OperatorLoginFailed,
            target: format!("operator:{}", truncate(email, 254)),
            reason: "wrong email address or password".into(),
        };
        state.denials.record(state, denial).await;
        return Err(AppError::BadCredentials);
    };
    let actor = Actor {
        kind: ActorKind::Operator,
        id: Some(operator.id.as_uuid()),
        label: operator.email.to_string(),
        role: Some("operator".into()),
        source_ip: client.ip.clone(),
    };
    let expires_at = expiry(state);
    let mut w = state.store.begin(AuditScope::Platform, actor).await?;
    let (secret, _) = w
        .insert_session(
            SessionOwner::Operator(operator.id),
            expires_at,
            client.ip.as_deref(),
            client.user_agent.as_deref(),
        )
        .await?;
    w.commit(AuditRecord::success(Operation::OperatorLogin, format!("operator:{}", operator.email))).await?;
    Ok(NewSession { token: session_token(uuid::Uuid::nil(), &secret), expires_at })
}

pub async fn logout_operator(state: &AppState, p: &OperatorPrincipal) -> AppResult<()> {
    let mut w = p.begin(&state.store, AuditScope::Platform).await?;
    w.delete_session(p.scope, &p.digest).await?;
    w.commit(AuditRecord::success(Operation::OperatorLogout, format!("operator:{}", p.operator.email))).await?;
    Ok(())
}
