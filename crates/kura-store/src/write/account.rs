//! Writes of account security: the tenant's security policy, failed sign-ins and locks (IAM-5),
//! user sessions under the tenant's policy (IAM-9), and password changes with their history
//! (IAM-4, IAM-8).

use super::Write;
use crate::error::StoreError;
use crate::rows::{Session, SessionOwner};
use crate::sql;
use crate::sql::account::session_handle;
use crate::sql::lockout::{FailureCount, Throttle};
use crate::time::micros_precision;
use jiff::Timestamp;
use kura_crypto::{SecretToken, TokenDigest};
use kura_domain::{AuditScope, SecurityPolicy, TenantId, UserId};

/// What [`Write::insert_user_session`] did.
#[derive(Debug)]
pub enum NewUserSession {
    /// The session, with the secret of its token.
    Created(SecretToken, Session),
    /// The user was disabled or locked meanwhile, or is gone.
    Closed,
    /// The refuse policy: the user has a live session.
    SignedInElsewhere,
}

impl Write {
    /// Stores the tenant's policy if its revision is still `expected` (0: never saved); returns
    /// the new revision and the policy it replaced (`None`: the defaults). A save in between is
    /// [`StoreError::Conflict`].
    pub async fn put_security_policy(
        &mut self,
        tenant: TenantId,
        expected: i64,
        policy: &SecurityPolicy,
    ) -> Result<(i64, Option<SecurityPolicy>), StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        let mut e = self.exec().await?;
        let old = sql::security::get(&mut e, tenant).await?.map(|(_, p)| p);
        let revision = sql::security::put(&mut e, tenant, expected, policy, now).await?.ok_or_else(|| {
            StoreError::Conflict("the security settings were changed by someone else meanwhile".to_owned())
        })?;
        Ok((revision, old))
    }

    /// Counts a failed sign-in of the account (see [`FailureCount`]); `threshold` failures lock
    /// it until `until` (`None`: until an administrator unlocks it).
    pub async fn count_failed_signin(
        &mut self,
        tenant: TenantId,
        user: UserId,
        threshold: u32,
        until: Option<Timestamp>,
    ) -> Result<FailureCount, StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        sql::lockout::count_failure(&mut self.exec().await?, tenant, user, threshold, now, until.map(micros_precision))
            .await
    }

    /// Starts the account's failure count again (after a successful sign-in).
    pub async fn reset_failed_signins(&mut self, tenant: TenantId, user: UserId) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        sql::lockout::reset(&mut self.exec().await?, tenant, user).await
    }

    /// Unlocks the account; returns whether it was locked.
    pub async fn unlock_user(&mut self, tenant: TenantId, user: UserId) -> Result<bool, StoreError> {
        self.in_scope(tenant)?;
        sql::lockout::unlock(&mut self.exec().await?, tenant, user).await
    }

    /// Counts a failed sign-in from `address` in this write's scope, in a window of `window`.
    pub async fn count_address_failure(
        &mut self,
        address: &str,
        window: jiff::SignedDuration,
    ) -> Result<Throttle, StoreError> {
        let now = self.now();
        let floor = now.checked_sub(window).unwrap_or(now);
        let scope = self.scope.storage_id();
        sql::lockout::count_address(&mut self.exec().await?, scope, address, now, floor).await
    }

    /// Creates a user session, unless the user is by now disabled or locked, or — with
    /// `exclusive_idle` (the refuse policy's idle timeout) — has a session used within that time.
    ///
    /// Under the refuse policy the check and the insert are one decision: the user's row is
    /// locked first, so that sign-ins through several nodes sharing one database (or several
    /// writers on one SQLite file, which serialise on its write lock) decide one after the other,
    /// and at most one session results (IAM-9).
    pub async fn insert_user_session(
        &mut self,
        tenant: TenantId,
        user: UserId,
        expires_at: Timestamp,
        exclusive_idle: Option<jiff::SignedDuration>,
        source_ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<NewUserSession, StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        let mut e = self.exec().await?;
        if let Some(idle) = exclusive_idle {
            if !sql::account::lock_user(&mut e, tenant, user).await? {
                return Ok(NewUserSession::Closed);
            }
            let since = now.checked_sub(idle).unwrap_or(now);
            if sql::account::live_sessions(&mut e, tenant, user, now, since).await? > 0 {
                return Ok(NewUserSession::SignedInElsewhere);
            }
        }
        let token = SecretToken::generate();
        let session = Session {
            owner: SessionOwner::User { tenant_id: tenant, user_id: user },
            csrf_token: SecretToken::generate().expose().to_owned(),
            created_at: now,
            last_seen_at: now,
            expires_at: micros_precision(expires_at),
            source_ip: source_ip.map(str::to_owned),
            user_agent: user_agent.map(str::to_owned),
        };
        let created = sql::account::insert_session_if_open(&mut e, &token.digest(), &session, tenant, user).await?;
        Ok(if created { NewUserSession::Created(token, session) } else { NewUserSession::Closed })
    }

    /// Ends all of the user's sessions but `keep`; returns how many ended.
    pub async fn end_user_sessions(
        &mut self,
        tenant: TenantId,
        user: UserId,
        keep: Option<&TokenDigest>,
    ) -> Result<u64, StoreError> {
        self.in_scope(tenant)?;
        sql::account::delete_sessions_except(&mut self.exec().await?, tenant, user, keep).await
    }

    /// Ends the user's session with this handle (see `OwnSession`); [`StoreError::NotFound`] if
    /// the user has no such session.
    pub async fn end_user_session(&mut self, tenant: TenantId, user: UserId, handle: &str) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        let mut e = self.exec().await?;
        let sessions = sql::account::sessions_of(&mut e, tenant, user, now).await?;
        let (digest, _) =
            sessions.into_iter().find(|(d, _)| session_handle(d) == handle).ok_or(StoreError::NotFound)?;
        sql::sessions::delete(&mut e, AuditScope::Tenant(tenant).storage_id(), &digest).await
    }

    /// Sets a new password. `must_change`: the user must replace it at the next sign-in. With
    /// `history` above 0, the replaced hash is remembered and only the last `history` are kept;
    /// with 0 the history is forgotten.
    pub async fn change_user_password(
        &mut self,
        tenant: TenantId,
        user: UserId,
        password_hash: &str,
        must_change: bool,
        history: u32,
    ) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        let mut e = self.exec().await?;
        let old = sql::account::password_hash_of(&mut e, tenant, user).await?.ok_or(StoreError::NotFound)?;
        if let Some(old) = old.filter(|_| history > 0) {
            sql::account::remember_password(&mut e, tenant, user, now, &old).await?;
        }
        sql::account::forget_passwords(&mut e, tenant, user, history).await?;
        // A new password makes any setup or reset link still out there useless.
        sql::tokens::forget_all(&mut e, tenant, user).await?;
        sql::users::set_password(&mut e, tenant, user, password_hash, must_change, now).await
    }

    /// Ends the operator's sessions but `keep` (after a password change); returns how many ended.
    pub async fn end_operator_sessions(
        &mut self,
        operator: kura_domain::OperatorId,
        keep: &TokenDigest,
    ) -> Result<u64, StoreError> {
        self.in_platform(format!("operator {operator}"))?;
        sql::account::delete_operator_sessions_except(&mut self.exec().await?, operator, keep).await
    }

    /// Replaces `old` by a stronger hash of the same password; false if the password changed
    /// meanwhile.
    pub async fn rehash_password(
        &mut self,
        tenant: TenantId,
        user: UserId,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        self.in_scope(tenant)?;
        sql::account::rehash(&mut self.exec().await?, tenant, user, old, new).await
    }

    /// Requires a new password at the next sign-in (an expired password), or no longer does.
    pub async fn require_password_change(
        &mut self,
        tenant: TenantId,
        user: UserId,
        required: bool,
    ) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        sql::account::require_password_change(&mut self.exec().await?, tenant, user, required).await
    }
}

impl Write {
    /// Records that the `stage`-days expiry warning goes out for the user's password set at
    /// `changed_at`; false if it (or a nearer one) already did, or the password changed since.
    pub async fn claim_expiry_notice(
        &mut self,
        tenant: TenantId,
        user: UserId,
        changed_at: Timestamp,
        stage: u32,
    ) -> Result<bool, StoreError> {
        self.in_scope(tenant)?;
        sql::account::claim_expiry_notice(&mut self.exec().await?, tenant, user, changed_at, stage).await
    }
}
