//! Tenant user management (IAM-1): create, edit, disable and delete users of one's own tenant.

use super::{check_password, ensure_within};
use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{AuditRecord, DisplayName, Email, Key, Operation, Permission, Role, User, UserId, UserStatus};
use serde::Deserialize;

/// A new user. Without a password, the user cannot sign in until one is set.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "sato@acme.example.jp", "display_name": "佐藤 花子", "role": "editor",
    "password": "a long passphrase"}))]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    /// The key of the user's role, e.g. `editor`.
    pub role: String,
    pub password: Option<String>,
}

/// Changes to a user; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"display_name": "佐藤 花子", "status": "disabled"}))]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub role: Option<String>,
    /// `active` or `disabled`. Disabling signs the user out everywhere and revokes the API keys
    /// they created (enabling the user again does not bring those back).
    pub status: Option<String>,
    pub password: Option<String>,
}

pub async fn list(state: &AppState, p: &TenantPrincipal) -> AppResult<Vec<User>> {
    let g = p.require(Permission::UsersManage)?;
    Ok(state.store.users(g.tenant_id()).await?)
}

pub async fn get(state: &AppState, p: &TenantPrincipal, id: UserId) -> AppResult<User> {
    let g = p.require(Permission::UsersManage)?;
    state.store.user(g.tenant_id(), id).await?.ok_or(AppError::NotFound("user"))
}

async fn role_by_key(state: &AppState, p: &TenantPrincipal, key: &str) -> AppResult<Role> {
    let key = Key::parse(key).map_err(|_| AppError::BadRequest(format!("{key:?} is not a role")))?;
    let role = state
        .store
        .role_by_key(p.tenant().id, &key)
        .await?
        .ok_or_else(|| AppError::BadRequest(format!("{key} is not a role of this tenant")))?;
    ensure_within(p.role(), &role)?;
    Ok(role)
}

pub async fn create(state: &AppState, p: &TenantPrincipal, input: NewUser) -> AppResult<User> {
    let g = p.require(Permission::UsersManage)?;
    let email = Email::parse(&input.email)?;
    let name = DisplayName::parse(&input.display_name)?;
    let role = role_by_key(state, p, &input.role).await?;
    let hash = match input.password {
        Some(pw) => {
            check_password(state, "password", &pw)?;
            Some(state.hashing.hash(pw).await.map_err(AppError::internal)?)
        }
        None => None,
    };
    let mut w = g.begin(&state.store).await?;
    let user = w.insert_user(g.tenant_id(), &email, &name, role.id, hash.as_deref()).await?;
    w.commit(
        AuditRecord::success(Operation::UserCreate, format!("user:{email}")).with_detail(format!("role={}", role.key)),
    )
    .await?;
    Ok(user)
}

pub async fn update(state: &AppState, p: &TenantPrincipal, id: UserId, changes: UserChanges) -> AppResult<User> {
    let g = p.require(Permission::UsersManage)?;
    let user = state.store.user(g.tenant_id(), id).await?.ok_or(AppError::NotFound("user"))?;
    // Through one of their API keys a user is still themselves (and disabling themselves would
    // revoke the very key).
    let is_self = p.owner() == Some(id);
    let name = match &changes.display_name {
        Some(n) => DisplayName::parse(n)?,
        None => user.display_name.clone(),
    };
    let current_role = state.store.role(g.tenant_id(), user.role_id).await?.ok_or(AppError::NotFound("role"))?;
    // Changing a more powerful user's account would be a way around ensure_within.
    ensure_within(p.role(), &current_role)?;
    let role = match &changes.role {
        Some(key) => role_by_key(state, p, key).await?,
        None => current_role,
    };
    let status = match changes.status.as_deref() {
        Some(s) => {
            UserStatus::parse(s).ok_or_else(|| AppError::BadRequest("status must be active or disabled".into()))?
        }
        None => user.status,
    };
    if is_self && (role.id != user.role_id || status != user.status) {
        return Err(AppError::ForbiddenOther("you cannot change your own role or status".into()));
    }
    let hash = match changes.password {
        Some(pw) => {
            check_password(state, "password", &pw)?;
            Some(state.hashing.hash(pw).await.map_err(AppError::internal)?)
        }
        None => None,
    };
    let mut changed = Vec::new();
    if name != user.display_name {
        changed.push("display_name");
    }
    if role.id != user.role_id {
        changed.push("role");
    }
    if status != user.status {
        changed.push("status");
    }
    let mut w = g.begin(&state.store).await?;
    let updated = w.update_user(g.tenant_id(), id, &name, role.id, status).await?;
    if let Some(h) = &hash {
        w.set_user_password(g.tenant_id(), id, h).await?;
        changed.push("password");
    }
    let mut detail = format!("changed={}", changed.join(","));
    if status == UserStatus::Disabled && user.status != UserStatus::Disabled {
        let revoked = w.revoke_api_keys_of(g.tenant_id(), id).await?;
        detail.push_str(&format!(" api_keys_revoked={revoked}"));
    }
    w.commit(AuditRecord::success(Operation::UserUpdate, format!("user:{}", user.email)).with_detail(detail)).await?;
    Ok(updated)
}

/// Deletes a user; their audit entries remain (IAM-1), the API keys they created are revoked
/// (IAM-12).
pub async fn delete(state: &AppState, p: &TenantPrincipal, id: UserId) -> AppResult<()> {
    let g = p.require(Permission::UsersManage)?;
    if p.owner() == Some(id) {
        return Err(AppError::ForbiddenOther("you cannot delete your own account".into()));
    }
    let user = state.store.user(g.tenant_id(), id).await?.ok_or(AppError::NotFound("user"))?;
    let role = state.store.role(g.tenant_id(), user.role_id).await?.ok_or(AppError::NotFound("role"))?;
    ensure_within(p.role(), &role)?;
    let mut w = g.begin(&state.store).await?;
    w.delete_user(g.tenant_id(), id).await?;
    let revoked = w.revoke_api_keys_of(g.tenant_id(), id).await?;
    w.commit(
        AuditRecord::success(Operation::UserDelete, format!("user:{}", user.email))
            .with_detail(format!("api_keys_revoked={revoked}")),
    )
    .await?;
    Ok(())
}
