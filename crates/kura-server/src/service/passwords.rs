//! New passwords (IAM-4): checked against the tenant's policy and the user's history before they
//! are hashed, and set so that the user's other sessions end at once (IAM-9). Changing one's own
//! password needs the current one.

use super::security;
use crate::auth::{TenantPrincipal, Via};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{
    AuditRecord, AuditScope, FieldError, FieldErrorKind, Operation, Outcome, PasswordProblem, SecurityPolicy, Tenant,
    User,
};
use serde::Deserialize;

/// A change of one's own password.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "correct-horse-battery", "new_password": "lantern-orchid-velvet-harbour"}))]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// The words a tenant's passwords must not contain: its slug and name, the user's address.
fn context<'a>(tenant: &'a Tenant, email: Option<&'a str>) -> Vec<&'a str> {
    let mut words = vec![tenant.slug.as_str(), tenant.display_name.as_str()];
    words.extend(email);
    words
}

/// Refuses `password` for `field` with every rule it breaks (422), including reuse of the user's
/// current or recent passwords when the policy keeps a history. Nothing is hashed or stored.
pub async fn check_new_password(
    state: &AppState,
    tenant: &Tenant,
    policy: &SecurityPolicy,
    user: Option<&User>,
    field: &str,
    password: &str,
) -> AppResult<()> {
    let rules = &policy.password;
    let mut problems = rules.problems(password, &context(tenant, user.map(|u| u.email.as_str())));
    if let Some(user) = user.filter(|_| rules.history > 0 && problems.is_empty()) {
        let mut hashes = state.store.recent_password_hashes(tenant.id, user.id, rules.history).await?;
        if let Some(Some(current)) = state.store.password_hash(tenant.id, user.id).await? {
            hashes.insert(0, current);
        }
        for old in hashes {
            // Hashes the hasher cannot read (none should exist) do not block a new password.
            if state.hashing.verify(Some(old), password.to_owned()).await.unwrap_or(false) {
                problems.push(PasswordProblem::Reused { count: rules.history });
                break;
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(
            problems.into_iter().map(|p| FieldError::new(field, FieldErrorKind::Password(p))).collect(),
        ))
    }
}

/// Changes the signed-in user's own password: the current one must be given, the new one must
/// follow the policy. Every other session of the user ends; the current one stays. Returns how
/// many sessions ended.
pub async fn change_own(state: &AppState, p: &TenantPrincipal, change: PasswordChange) -> AppResult<u64> {
    let (Some(user_id), Via::Session { digest, .. }) = (p.user_id(), p.via()) else {
        return Err(AppError::BadRequest("an API key has no password; sign in as a user to change yours".into()));
    };
    let tenant = p.tenant();
    let user = state.store.user(tenant.id, user_id).await?.ok_or(AppError::Unauthenticated)?;
    let stored = state.store.password_hash(tenant.id, user_id).await?.flatten();
    let current_ok = state.hashing.check(stored, change.current_password.clone()).await.map_err(AppError::internal)?;
    if !current_ok {
        let record = AuditRecord::success(Operation::PasswordChange, format!("user:{}", user.email))
            .with_outcome(Outcome::Failure)
            .with_detail("the current password was wrong");
        state.store.audit_only(AuditScope::Tenant(tenant.id), p.actor().clone(), record).await?;
        return Err(AppError::Validation(vec![FieldError::new(
            "current_password",
            FieldErrorKind::Invalid { reason: "the current password is not correct".into() },
        )]));
    }
    let policy = security::policy_of(state, tenant.id).await?;
    check_new_password(state, tenant, &policy, Some(&user), "new_password", &change.new_password).await?;
    let hash = state.hashing.hash(change.new_password).await.map_err(AppError::internal)?;
    let mut w = state.store.begin(AuditScope::Tenant(tenant.id), p.actor().clone()).await?;
    w.change_user_password(tenant.id, user_id, &hash, false, policy.password.history).await?;
    let ended = w.end_user_sessions(tenant.id, user_id, Some(digest)).await?;
    w.commit(
        AuditRecord::success(Operation::PasswordChange, format!("user:{}", user.email))
            .with_detail(format!("ended {ended} other session(s)")),
    )
    .await?;
    Ok(ended)
}
