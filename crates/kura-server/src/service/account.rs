//! Sessions seen by their owner and ended by them or by an administrator (IAM-9), and unlocking
//! accounts locked by failed sign-ins (IAM-5).

use super::ensure_within;
use crate::auth::{TenantPrincipal, Via};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{AuditRecord, AuditScope, Operation, Permission, User, UserId};
use kura_store::OwnSession;

/// The signed-in user's id; API keys have no sessions of their own.
fn own_user(p: &TenantPrincipal) -> AppResult<UserId> {
    p.user_id().ok_or_else(|| AppError::BadRequest("an API key has no sessions; sign in as a user".into()))
}

/// The signed-in user's unexpired sessions, most recently used first.
pub async fn own_sessions(state: &AppState, p: &TenantPrincipal) -> AppResult<Vec<OwnSession>> {
    let user = own_user(p)?;
    let current = match p.via() {
        Via::Session { digest, .. } => Some(*digest),
        Via::ApiKey { .. } | Via::CommandLine | Via::BreakGlass { .. } | Via::Job { .. } => None,
    };
    Ok(state.store.own_sessions(p.tenant().id, user, current.as_ref()).await?)
}

/// Ends one of the signed-in user's sessions (the current one too, which signs them out).
pub async fn end_own_session(state: &AppState, p: &TenantPrincipal, handle: &str) -> AppResult<()> {
    let user = own_user(p)?;
    if handle.len() != 32 || !handle.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound("session"));
    }
    let tenant = p.tenant().id;
    let mut w = state.store.begin(AuditScope::Tenant(tenant), p.actor().clone()).await?;
    w.end_user_session(tenant, user, handle).await.map_err(|e| match e {
        kura_store::StoreError::NotFound => AppError::NotFound("session"),
        other => other.into(),
    })?;
    w.commit(AuditRecord::success(Operation::SessionEnd, format!("user:{}", p.actor().label))).await?;
    Ok(())
}

/// Ends every session of the signed-in user but the current one; returns how many ended.
pub async fn end_other_own_sessions(state: &AppState, p: &TenantPrincipal) -> AppResult<u64> {
    let user = own_user(p)?;
    let Via::Session { digest, .. } = p.via() else {
        return Err(AppError::BadRequest("an API key has no sessions; sign in as a user".into()));
    };
    let tenant = p.tenant().id;
    let mut w = state.store.begin(AuditScope::Tenant(tenant), p.actor().clone()).await?;
    let ended = w.end_user_sessions(tenant, user, Some(digest)).await?;
    w.commit(
        AuditRecord::success(Operation::SessionEnd, format!("user:{}", p.actor().label))
            .with_detail(format!("ended {ended} other session(s)")),
    )
    .await?;
    Ok(ended)
}

/// A user an administrator may act on: one of the tenant's, holding a role within the
/// administrator's own permissions.
async fn managed_user(state: &AppState, p: &TenantPrincipal, id: UserId) -> AppResult<User> {
    let g = p.require(Permission::UsersManage)?;
    let user = state.store.user(g.tenant_id(), id).await?.ok_or(AppError::NotFound("user"))?;
    let role = state.store.role(g.tenant_id(), user.role_id).await?.ok_or(AppError::NotFound("role"))?;
    ensure_within(p.role(), &role)?;
    Ok(user)
}

/// An administrator's forced logout (004 強制的なログアウト): ends every session of the user, on
/// every node at once (sessions live in the database). Returns how many ended.
pub async fn force_logout(state: &AppState, p: &TenantPrincipal, id: UserId) -> AppResult<u64> {
    let user = managed_user(state, p, id).await?;
    // The administrator's own current session stays when they sign themselves out elsewhere.
    let keep = match p.via() {
        Via::Session { digest, .. } if p.user_id() == Some(id) => Some(*digest),
        _ => None,
    };
    let tenant = p.tenant().id;
    let mut w = state.store.begin(AuditScope::Tenant(tenant), p.actor().clone()).await?;
    let ended = w.end_user_sessions(tenant, id, keep.as_ref()).await?;
    w.commit(
        AuditRecord::success(Operation::SessionsRevoke, format!("user:{}", user.email))
            .with_detail(format!("ended {ended} session(s)")),
    )
    .await?;
    Ok(ended)
}

/// Unlocks an account locked by failed sign-ins; returns the user as it now is. Unlocking an
/// account that is not locked changes nothing and writes nothing.
pub async fn unlock(state: &AppState, p: &TenantPrincipal, id: UserId) -> AppResult<User> {
    let user = managed_user(state, p, id).await?;
    let tenant = p.tenant().id;
    if user.locked_at.is_some() {
        let mut w = state.store.begin(AuditScope::Tenant(tenant), p.actor().clone()).await?;
        if w.unlock_user(tenant, id).await? {
            w.commit(AuditRecord::success(Operation::UserUnlock, format!("user:{}", user.email))).await?;
        }
    }
    state.store.user(tenant, id).await?.ok_or(AppError::NotFound("user"))
}
