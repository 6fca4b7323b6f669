//! Tenant user management (IAM-1): create, edit, disable and delete users of one's own tenant.

use super::passwords::check_new_password;
use super::{ensure_within, links, security};
use crate::auth::{TenantPrincipal, Via};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{
    AuditRecord, DisplayName, Email, Key, Language, Operation, Permission, Role, User, UserId, UserStatus,
};
use kura_store::NewAccount;
use serde::Deserialize;

/// A new user. Without a password, the user is invited: a single-use setup link is mailed to
/// them, in their language.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "hanako.sato@acme.example.jp", "display_name": "佐藤 花子", "role": "editor",
    "language": "ja"}))]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    /// The key of the user's role, e.g. `editor`.
    pub role: String,
    /// An initial password. When the tenant's policy says so, the user must change it at the
    /// first sign-in.
    pub password: Option<String>,
    /// The language of the user's mail: `ja` (default) or `en`.
    pub language: Option<Language>,
    /// Without a password, mail a setup link (default). `false`: no mail; the user cannot sign in
    /// until an administrator issues a one-time password
    /// (`POST /api/v1/users/{id}/one-time-password`).
    pub invite: Option<bool>,
}

/// Changes to a user; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "viewer", "status": "disabled"}))]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub role: Option<String>,
    /// `active` or `disabled`. Disabling signs the user out everywhere and revokes the API keys
    /// they created (enabling the user again does not bring those back).
    pub status: Option<String>,
    /// A new password set by the administrator: the user's sessions end, and when the tenant's
    /// policy says so, the user must change it at the next sign-in.
    pub password: Option<String>,
    /// The language of the user's mail: `ja` or `en`.
    pub language: Option<Language>,
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
    let policy = security::policy_of(state, g.tenant_id()).await?;
    let hash = match input.password {
        Some(pw) => {
            check_new_password(state, p.tenant(), &policy, None, "password", &pw).await?;
            Some(state.hashing.hash(pw).await.map_err(AppError::internal)?)
        }
        None => None,
    };
    let account = NewAccount {
        email: &email,
        display_name: &name,
        role: role.id,
        password_hash: hash.as_deref(),
        language: input.language.unwrap_or_default(),
        must_change_password: policy.password.change_after_admin_set,
    };
    let mut w = g.begin(&state.store).await?;
    let user = w.insert_account(g.tenant_id(), account).await?;
    let mut detail = format!("role={}", role.key);
    // Without a password, the user is invited: a setup link goes out with the account.
    let invite = hash.is_none() && input.invite.unwrap_or(true);
    if invite {
        links::queue_setup_link(state, &mut w, p.tenant(), &user).await?;
        detail.push_str("; invited by mail");
    }
    w.commit(AuditRecord::success(Operation::UserCreate, format!("user:{email}")).with_detail(detail)).await?;
    if invite {
        state.mail.kick();
    }
    Ok(user)
}

/// Issues a generated one-time password to a user (for someone without mail, or locked out):
/// it must be changed at the next sign-in, the user's sessions and links end, and it is returned
/// here to be shown once. Not for one's own account.
pub async fn issue_one_time_password(state: &AppState, p: &TenantPrincipal, id: UserId) -> AppResult<(User, String)> {
    let g = p.require(Permission::UsersManage)?;
    if p.user_id() == Some(id) {
        return Err(AppError::ForbiddenOther("you cannot issue a one-time password to yourself".into()));
    }
    let user = state.store.user(g.tenant_id(), id).await?.ok_or(AppError::NotFound("user"))?;
    let role = state.store.role(g.tenant_id(), user.role_id).await?.ok_or(AppError::NotFound("role"))?;
    ensure_within(p.role(), &role)?;
    let policy = security::policy_of(state, g.tenant_id()).await?;
    let password = super::tenants::generate_password();
    let hash = state.hashing.hash(password.clone()).await.map_err(AppError::internal)?;
    let mut w = g.begin(&state.store).await?;
    w.change_user_password(g.tenant_id(), id, &hash, true, policy.password.history).await?;
    let ended = w.end_user_sessions(g.tenant_id(), id, None).await?;
    w.commit(
        AuditRecord::success(Operation::PasswordReset, format!("user:{}", user.email))
            .with_detail(format!("one-time password issued by an administrator; ended {ended} session(s)")),
    )
    .await?;
    let user = state.store.user(g.tenant_id(), id).await?.ok_or(AppError::NotFound("user"))?;
    Ok((user, password))
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
    let policy = security::policy_of(state, g.tenant_id()).await?;
    let hash = match changes.password {
        Some(pw) => {
            check_new_password(state, p.tenant(), &policy, Some(&user), "password", &pw).await?;
            Some(state.hashing.hash(pw).await.map_err(AppError::internal)?)
        }
        None => None,
    };
    let language = changes.language.unwrap_or(user.language);
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
    if language != user.language {
        changed.push("language");
    }
    let mut w = g.begin(&state.store).await?;
    let mut updated = w.update_user(g.tenant_id(), id, &name, role.id, status).await?;
    if language != user.language {
        w.set_user_language(g.tenant_id(), id, language).await?;
        updated.language = language;
    }
    let mut ended = 0;
    if role.id != user.role_id {
        // A role change takes effect on the next request anyway (the role is read with the
        // session); ending the sessions makes the user sign in again under the new role.
        ended += w.end_user_sessions(g.tenant_id(), id, None).await?;
    }
    if let Some(h) = &hash {
        // An administrator's password: the user must replace it when the policy says so (never
        // when administrators set their own), and their sessions end (their own other ones).
        let must_change = policy.password.change_after_admin_set && !is_self;
        w.change_user_password(g.tenant_id(), id, h, must_change, policy.password.history).await?;
        let keep = match p.via() {
            Via::Session { digest, .. } if is_self => Some(*digest),
            _ => None,
        };
        ended += w.end_user_sessions(g.tenant_id(), id, keep.as_ref()).await?;
        updated.has_password = true;
        updated.must_change_password = must_change;
        changed.push("password");
    }
    let mut detail = format!("changed={}", changed.join(","));
    if status == UserStatus::Disabled && user.status != UserStatus::Disabled {
        let revoked = w.revoke_api_keys_of(g.tenant_id(), id).await?;
        detail.push_str(&format!(" api_keys_revoked={revoked}"));
    }
    if ended > 0 {
        detail.push_str(&format!("; ended {ended} session(s)"));
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
