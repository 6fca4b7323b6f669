//! Reads of account security: what a sign-in decides on, the tenant's security policy, a user's
//! own sessions and password history.

use crate::conn::Scope;
use crate::error::StoreError;
use crate::rows::SessionOwner;
use crate::sql;
use crate::sql::account::{OwnSession, session_handle};
use crate::sql::factors::{Challenge, SecondFactor};
use crate::sql::signin::SigninContext;
use crate::store::Store;
use crate::time::now;
use jiff::Timestamp;
use kura_crypto::TokenDigest;
use kura_domain::{Email, SecurityPolicy, Slug, TenantId, UserId};

impl Store {
    /// Everything a sign-in to tenant `slug` as `email` from `address` decides on, in one
    /// statement; `None` if there is no such tenant. The email matches in its normalised form,
    /// by its blind index under the tenant's key: the tenant's id comes from memory (the vault
    /// remembers each slug it has seen), so only the first sign-in to a tenant on a node reads
    /// it first.
    pub async fn signin_context(
        &self,
        slug: &Slug,
        email: Option<&Email>,
        address: Option<&str>,
    ) -> Result<Option<SigninContext>, StoreError> {
        let mut conn = self.db.read(Scope::Platform).await?;
        let Some(vault) = &self.vault else {
            // Without a vault every tenant's index is the keyless one.
            let sealer = crate::vault::Sealer::plain(TenantId::from_uuid(uuid::Uuid::nil()));
            let index = email.map(|email| sql::users::email_index(&sealer, email));
            let row = sql::signin::fetch(&mut conn.exec(), slug, index.as_deref(), address).await?;
            return match row {
                Some(row) => {
                    let sealer = crate::vault::Sealer::plain(row.tenant_id());
                    Ok(Some(row.into_context(&sealer)?))
                }
                None => Ok(None),
            };
        };
        // At most twice: a remembered slug whose tenant is gone and whose slug went to another.
        for _ in 0..2 {
            let tenant = match vault.tenant_of_slug(slug) {
                Some(tenant) => tenant,
                None => match sql::tenants::by_slug(&mut conn.exec(), slug).await? {
                    Some(tenant) => {
                        vault.remember_slug(slug, tenant.id);
                        tenant.id
                    }
                    None => return Ok(None),
                },
            };
            let sealer = vault.sealer(tenant).await?;
            let index = email.map(|email| sql::users::email_index(&sealer, email));
            let Some(row) = sql::signin::fetch(&mut conn.exec(), slug, index.as_deref(), address).await? else {
                vault.forget_slug(slug);
                return Ok(None);
            };
            if row.tenant_id() == tenant {
                return Ok(Some(row.into_context(&sealer)?));
            }
            vault.forget_slug(slug);
        }
        Err(StoreError::Corrupt(format!("the tenant of slug {slug} changed twice during one sign-in")))
    }

    /// The tenant's stored security policy and its revision; `None` while it uses the defaults.
    pub async fn security_policy(&self, tenant: TenantId) -> Result<Option<(i64, SecurityPolicy)>, StoreError> {
        sql::security::get(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant).await
    }

    /// The user's unexpired sessions, most recently used first; `current` marks the caller's own.
    pub async fn own_sessions(
        &self,
        tenant: TenantId,
        user: UserId,
        current: Option<&TokenDigest>,
    ) -> Result<Vec<OwnSession>, StoreError> {
        let now = now(&*self.clock);
        let sessions =
            sql::account::sessions_of(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, user, now)
                .await?;
        Ok(sessions
            .into_iter()
            .map(|(digest, session)| OwnSession {
                handle: session_handle(&digest),
                current: current.is_some_and(|c| *c == digest),
                session,
            })
            .collect())
    }

    /// The user's password hash: `Some(None)` while none is set, `None` if there is no such user.
    pub async fn password_hash(&self, tenant: TenantId, user: UserId) -> Result<Option<Option<String>>, StoreError> {
        sql::account::password_hash_of(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, user).await
    }

    /// The user and expiry of an unused, unexpired link (the link's page shows them before the
    /// user chooses a password; only [`crate::Write::burn_link`] uses it up).
    pub async fn live_link(
        &self,
        tenant: TenantId,
        digest: &TokenDigest,
        purpose: crate::LinkPurpose,
    ) -> Result<Option<(UserId, Timestamp)>, StoreError> {
        let now = now(&*self.clock);
        sql::tokens::live(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, digest, purpose, now).await
    }

    /// When the user's last link of `purpose` was issued.
    pub async fn latest_link(
        &self,
        tenant: TenantId,
        user: UserId,
        purpose: crate::LinkPurpose,
    ) -> Result<Option<Timestamp>, StoreError> {
        sql::tokens::latest(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, user, purpose).await
    }

    /// Every tenant's stored security policy (tenants without one use the defaults, which set
    /// no expiry).
    pub async fn security_policies(&self) -> Result<Vec<(TenantId, SecurityPolicy)>, StoreError> {
        sql::security::all(&mut self.db.read(Scope::Platform).await?.exec()).await
    }

    /// Active users of the tenant whose password was set at or before `changed_before` and who
    /// have not had the `stage`-days expiry warning (or a nearer one) yet.
    pub async fn users_with_expiring_passwords(
        &self,
        tenant: TenantId,
        changed_before: Timestamp,
        stage: u32,
    ) -> Result<Vec<kura_domain::User>, StoreError> {
        let sealer = self.sealer(tenant).await?;
        sql::account::expiring(
            &mut self.db.read(Scope::tenant(tenant)).await?.exec(),
            tenant,
            changed_before,
            stage,
            &sealer,
        )
        .await
    }

    /// The hashes of the user's last `n` replaced passwords, newest first.
    pub async fn recent_password_hashes(
        &self,
        tenant: TenantId,
        user: UserId,
        n: u32,
    ) -> Result<Vec<String>, StoreError> {
        sql::account::recent_passwords(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, user, n).await
    }

    /// The owner's second factors (IAM-6), confirmed and pending, oldest first.
    pub async fn second_factors(&self, owner: SessionOwner) -> Result<Vec<SecondFactor>, StoreError> {
        let tenant = match owner {
            SessionOwner::User { tenant_id, .. } => Some(self.sealer(tenant_id).await?),
            SessionOwner::Operator(_) => None,
        };
        let sealer = sql::factors::owner_sealer(owner, tenant);
        sql::factors::of_owner(&mut self.db.read(Scope::owner(owner)).await?.exec(), owner, &sealer).await
    }

    /// The owner's passkey registration `id` under way, expired or not; another person's is
    /// not found.
    pub async fn passkey_registration(
        &self,
        owner: SessionOwner,
        id: uuid::Uuid,
    ) -> Result<Option<crate::PasskeyRegistration>, StoreError> {
        let tenant = match owner {
            SessionOwner::User { tenant_id, .. } => Some(self.sealer(tenant_id).await?),
            SessionOwner::Operator(_) => None,
        };
        let sealer = sql::factors::owner_sealer(owner, tenant);
        sql::passkeys::get(&mut self.db.read(Scope::owner(owner)).await?.exec(), owner, id, &sealer).await
    }

    /// Whether a passkey credential with this id digest is registered to anyone.
    pub async fn passkey_credential_taken(&self, credential_hash: &[u8]) -> Result<bool, StoreError> {
        sql::factors::credential_taken(&mut self.db.read(Scope::Platform).await?.exec(), credential_hash).await
    }

    /// How many of the owner's recovery codes are unused.
    pub async fn recovery_codes_left(&self, owner: SessionOwner) -> Result<i64, StoreError> {
        sql::factors::codes_left(&mut self.db.read(Scope::owner(owner)).await?.exec(), owner).await
    }

    /// A sign-in challenge by its token in `scope` (a tenant's id, or nil for operators),
    /// expired or not.
    pub async fn challenge(&self, scope: uuid::Uuid, digest: &TokenDigest) -> Result<Option<Challenge>, StoreError> {
        let sealer = if scope.is_nil() {
            crate::vault::Sealer::plain(TenantId::from_uuid(scope))
        } else {
            self.sealer(TenantId::from_uuid(scope)).await?
        };
        sql::factors::challenge(&mut self.db.read(Scope::stored(scope)).await?.exec(), scope, digest, &sealer).await
    }
}
