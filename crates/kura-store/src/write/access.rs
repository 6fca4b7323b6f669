//! Writes of access credentials: sessions, API keys and client certificates. Their secrets are returned once and
//! stored only as digests.

use super::{Write, new_id};
use crate::error::StoreError;
use crate::rows::{ApiKey, ClientCertificate, Session, SessionOwner};
use crate::sql;
use crate::time::micros_precision;
use jiff::Timestamp;
use kura_crypto::{SecretToken, TokenDigest};
use kura_domain::{ApiKeyId, AuditScope, RoleId, TenantId, UserId};
use uuid::Uuid;

/// What narrows a new API key beyond its role (IAM-12).
#[derive(Clone, Debug, Default)]
pub struct ApiKeyLimits {
    /// The permissions it may use (`None`: all of its role's).
    pub scopes: Option<kura_domain::PermissionSet>,
    /// The ranges it may be used from (empty: wherever the tenant's API list allows).
    pub allowed_ranges: Vec<ipnet::IpNet>,
}

impl Write {
    /// Creates a session that expires at `expires_at`; returns the secret token (to set as a
    /// cookie or return once) and the stored session.
    pub async fn insert_session(
        &mut self,
        owner: SessionOwner,
        expires_at: Timestamp,
        source_ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<(SecretToken, Session), StoreError> {
        let session_scope = match owner {
            SessionOwner::User { tenant_id, .. } => AuditScope::Tenant(tenant_id),
            SessionOwner::Operator(_) => AuditScope::Platform,
        };
        if session_scope != self.scope {
            return Err(StoreError::OutOfScope {
                scope: self.scope,
                target: format!("a session of {session_scope:?}"),
            });
        }
        let now = self.now();
        let token = SecretToken::generate();
        let session = Session {
            owner,
            csrf_token: SecretToken::generate().expose().to_owned(),
            created_at: now,
            last_seen_at: now,
            expires_at: micros_precision(expires_at),
            source_ip: source_ip.map(str::to_owned),
            user_agent: user_agent.map(str::to_owned),
        };
        sql::sessions::insert(&mut self.exec().await?, &token.digest(), &session).await?;
        Ok((token, session))
    }

    pub async fn delete_session(&mut self, scope: Uuid, digest: &TokenDigest) -> Result<(), StoreError> {
        if scope != self.scope.storage_id() {
            return Err(StoreError::OutOfScope { scope: self.scope, target: format!("a session of scope {scope}") });
        }
        sql::sessions::delete(&mut self.exec().await?, scope, digest).await
    }

    /// A role that does not exist in the tenant is [`StoreError::NotFound`]. `owner` is the user
    /// the key is revoked with (see [`Write::revoke_api_keys_of`]).
    pub async fn insert_api_key(
        &mut self,
        tenant: TenantId,
        name: &str,
        role: RoleId,
        expires_at: Option<Timestamp>,
        owner: Option<UserId>,
        limits: ApiKeyLimits,
    ) -> Result<(SecretToken, ApiKey), StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        let sealer = self.sealer(tenant).await?;
        let mut e = self.exec().await?;
        // api_keys.role_id has no foreign key (revoked keys may outlive their role), so check here.
        if sql::roles::by_id(&mut e, tenant, role, &sealer).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        let token = SecretToken::generate();
        let key = ApiKey {
            id: ApiKeyId::from_uuid(new_id()),
            tenant_id: tenant,
            name: name.to_owned(),
            role_id: role,
            created_by: owner,
            created_at: now,
            expires_at: expires_at.map(micros_precision),
            revoked_at: None,
            last_used_at: None,
            last_used_ip: None,
            scopes: limits.scopes,
            allowed_ranges: limits.allowed_ranges,
            previous_valid_until: None,
        };
        sql::api_keys::insert(&mut e, &key, &token.digest(), &sealer).await?;
        Ok((token, key))
    }

    /// Gives a live key a new secret; the current one stays accepted for `grace` (zero: refused
    /// at once). [`StoreError::NotFound`] when there is no such live key.
    pub async fn rotate_api_key(
        &mut self,
        tenant: TenantId,
        id: ApiKeyId,
        grace: jiff::SignedDuration,
    ) -> Result<(SecretToken, ApiKey), StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        let until = micros_precision(now.checked_add(grace).unwrap_or(now));
        let token = SecretToken::generate();
        let sealer = self.sealer(tenant).await?;
        let key = sql::api_keys::rotate(&mut self.exec().await?, tenant, id, &token.digest(), until, now, &sealer)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((token, key))
    }

    /// Claims the `stage`-days expiry reminder of a key (see `sql::api_keys::claim_expiry_notice`).
    pub async fn claim_api_key_expiry_notice(
        &mut self,
        tenant: TenantId,
        id: ApiKeyId,
        stage: u32,
    ) -> Result<bool, StoreError> {
        self.in_scope(tenant)?;
        sql::api_keys::claim_expiry_notice(&mut self.exec().await?, tenant, id, stage).await
    }

    /// Records a client certificate just issued (IAM-11).
    pub async fn insert_client_certificate(&mut self, cert: &ClientCertificate) -> Result<(), StoreError> {
        self.in_scope(cert.tenant_id)?;
        sql::client_certs::insert(&mut self.exec().await?, cert).await
    }

    /// Revokes a client certificate at once; revoking it again keeps the first time.
    /// [`StoreError::NotFound`] when the tenant has no certificate with that serial.
    pub async fn revoke_client_certificate(&mut self, tenant: TenantId, serial: &str) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        sql::client_certs::revoke(&mut self.exec().await?, tenant, serial, now).await
    }

    /// Revokes a key at once; revoking it again keeps the first revocation time.
    pub async fn revoke_api_key(&mut self, tenant: TenantId, id: ApiKeyId) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        sql::api_keys::revoke(&mut self.exec().await?, tenant, id, now).await
    }

    /// Revokes every key `user` created that is still live, so that no credential outlives its
    /// owner's account (IAM-12); returns how many.
    pub async fn revoke_api_keys_of(&mut self, tenant: TenantId, user: UserId) -> Result<u64, StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        sql::api_keys::revoke_created_by(&mut self.exec().await?, tenant, user, now).await
    }
}
