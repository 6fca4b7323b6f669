//! Writes of second factors (IAM-6): enrolling and removing factors, accepting a code's time
//! step once, recovery codes, and the sign-in challenges that wait for a second factor.

use super::Write;
use crate::error::StoreError;
use crate::rows::SessionOwner;
use crate::sql;
use crate::sql::factors::{Challenge, SecondFactor};
use crate::sql::passkeys::PasskeyRegistration;
use crate::time::micros_precision;
use kura_crypto::{SecretToken, TokenDigest};
use uuid::Uuid;

impl Write {
    /// How the owner's secrets are sealed: the tenant's keys for a user, plain for an operator.
    async fn owner_sealer(&self, owner: SessionOwner) -> Result<crate::vault::Sealer, StoreError> {
        let tenant = match owner {
            SessionOwner::User { tenant_id, .. } => Some(self.sealer(tenant_id).await?),
            SessionOwner::Operator(_) => None,
        };
        Ok(sql::factors::owner_sealer(owner, tenant))
    }

    /// Refuses an owner outside this write's scope.
    fn owns(&self, owner: SessionOwner) -> Result<(), StoreError> {
        match owner {
            SessionOwner::User { tenant_id, .. } => self.in_scope(tenant_id),
            SessionOwner::Operator(op) => self.in_platform(format!("operator {op}")),
        }
    }

    /// Starts enrolling a TOTP factor with `secret` (base32), replacing the owner's unconfirmed
    /// ones; it counts once [`Write::accept_step`] confirms it. Returns its id.
    pub async fn begin_factor(&mut self, owner: SessionOwner, label: &str, secret: &str) -> Result<Uuid, StoreError> {
        self.owns(owner)?;
        let now = self.now();
        let id = Uuid::now_v7();
        let factor = SecondFactor {
            id,
            owner,
            kind: "totp".into(),
            label: label.into(),
            secret: secret.into(),
            last_step: -1,
            created_at: now,
            confirmed_at: None,
            last_used_at: None,
        };
        let sealer = self.owner_sealer(owner).await?;
        let mut e = self.exec().await?;
        sql::factors::delete_pending(&mut e, owner).await?;
        sql::factors::insert(&mut e, &factor, None, &sealer).await?;
        Ok(id)
    }

    /// Stores a registration of a passkey under way (see `sql::passkeys`), replacing the
    /// owner's earlier one; returns its id.
    pub async fn begin_passkey(
        &mut self,
        owner: SessionOwner,
        label: &str,
        state: &str,
        expires_at: jiff::Timestamp,
    ) -> Result<Uuid, StoreError> {
        self.owns(owner)?;
        let now = self.now();
        let registration = PasskeyRegistration {
            id: Uuid::now_v7(),
            owner,
            label: label.into(),
            state: state.into(),
            expires_at: micros_precision(expires_at),
        };
        let sealer = self.owner_sealer(owner).await?;
        sql::passkeys::insert(&mut self.exec().await?, &registration, now, &sealer).await?;
        Ok(registration.id)
    }

    /// Finishes the owner's registration `registration` with its verified credential (JSON):
    /// the registration is used up and the passkey counts at once. `Ok(None)` when another
    /// request finished the registration first. A credential already registered to anyone is a
    /// conflict.
    pub async fn add_passkey(
        &mut self,
        owner: SessionOwner,
        registration: Uuid,
        label: &str,
        credential: &str,
        credential_hash: &[u8],
    ) -> Result<Option<Uuid>, StoreError> {
        self.owns(owner)?;
        let now = self.now();
        let sealer = self.owner_sealer(owner).await?;
        let mut e = self.exec().await?;
        if !sql::passkeys::delete(&mut e, owner, registration).await? {
            return Ok(None);
        }
        if sql::factors::credential_taken(&mut e, credential_hash).await? {
            return Err(StoreError::Conflict("this passkey is already registered".into()));
        }
        let id = Uuid::now_v7();
        let factor = SecondFactor {
            id,
            owner,
            kind: "passkey".into(),
            label: label.into(),
            secret: credential.into(),
            last_step: -1,
            created_at: now,
            confirmed_at: Some(now),
            last_used_at: None,
        };
        sql::factors::insert(&mut e, &factor, Some(credential_hash), &sealer).await?;
        Ok(Some(id))
    }

    /// Records a sign-in with a passkey, storing its credential as it now is (JSON).
    pub async fn passkey_used(
        &mut self,
        owner: SessionOwner,
        factor: Uuid,
        credential: &str,
    ) -> Result<bool, StoreError> {
        self.owns(owner)?;
        let now = self.now();
        let sealer = self.owner_sealer(owner).await?;
        sql::factors::update_credential(&mut self.exec().await?, owner, factor, credential, now, &sealer).await
    }

    /// Accepts time step `step` of a factor if it is later than the last one accepted, and
    /// confirms the factor if it was pending; `false` for a replayed code.
    pub async fn accept_step(&mut self, owner: SessionOwner, factor: Uuid, step: u64) -> Result<bool, StoreError> {
        self.owns(owner)?;
        let now = self.now();
        let step = i64::try_from(step).map_err(|_| StoreError::Conflict("time step out of range".into()))?;
        sql::factors::accept_step(&mut self.exec().await?, owner, factor, step, now).await
    }

    /// Removes one of the owner's factors; returns whether it existed. Removing the last
    /// confirmed one forgets the recovery codes too.
    pub async fn remove_factor(&mut self, owner: SessionOwner, factor: Uuid) -> Result<bool, StoreError> {
        self.owns(owner)?;
        let now = self.now();
        let sealer = self.owner_sealer(owner).await?;
        let mut e = self.exec().await?;
        let removed = sql::factors::delete(&mut e, owner, Some(factor)).await? == 1;
        let left = sql::factors::of_owner(&mut e, owner, &sealer).await?;
        if removed && !left.iter().any(|f| f.confirmed_at.is_some()) {
            sql::factors::replace_codes(&mut e, owner, &[], now).await?;
        }
        Ok(removed)
    }

    /// Removes all of the owner's factors (passkeys too), recovery codes, pending challenges and
    /// registrations under way; returns how
    /// many factors there were.
    pub async fn reset_factors(&mut self, owner: SessionOwner) -> Result<u64, StoreError> {
        self.owns(owner)?;
        let now = self.now();
        let mut e = self.exec().await?;
        let n = sql::factors::delete(&mut e, owner, None).await?;
        sql::factors::replace_codes(&mut e, owner, &[], now).await?;
        sql::factors::forget_challenges(&mut e, owner, now).await?;
        sql::passkeys::delete_all(&mut e, owner).await?;
        Ok(n)
    }

    /// Replaces the owner's recovery codes by these digests.
    pub async fn replace_recovery_codes(
        &mut self,
        owner: SessionOwner,
        digests: &[TokenDigest],
    ) -> Result<(), StoreError> {
        self.owns(owner)?;
        let now = self.now();
        sql::factors::replace_codes(&mut self.exec().await?, owner, digests, now).await
    }

    /// Burns an unused recovery code; `false` if it is unknown or used.
    pub async fn use_recovery_code(&mut self, owner: SessionOwner, digest: &TokenDigest) -> Result<bool, StoreError> {
        self.owns(owner)?;
        let now = self.now();
        sql::factors::burn_code(&mut self.exec().await?, owner, digest, now).await
    }

    /// Stores a sign-in challenge, replacing the owner's earlier ones (and the scope's expired
    /// ones); returns its secret token (to hand to the client, never stored).
    pub async fn insert_challenge(&mut self, challenge: &Challenge) -> Result<SecretToken, StoreError> {
        self.owns(challenge.owner)?;
        let now = self.now();
        let token = SecretToken::generate();
        let mut stored = challenge.clone();
        stored.expires_at = micros_precision(stored.expires_at);
        let sealer = self.owner_sealer(challenge.owner).await?;
        let mut e = self.exec().await?;
        sql::factors::forget_challenges(&mut e, challenge.owner, now).await?;
        sql::factors::insert_challenge(&mut e, &token.digest(), &stored, now, &sealer).await?;
        Ok(token)
    }

    /// Counts a wrong code against a challenge; returns the attempts so far (0: it is gone).
    pub async fn count_challenge_attempt(
        &mut self,
        owner: SessionOwner,
        digest: &TokenDigest,
    ) -> Result<i64, StoreError> {
        self.owns(owner)?;
        sql::factors::count_attempt(&mut self.exec().await?, sql::sessions::scope_of(owner), digest).await
    }

    /// Ends a challenge; `false` if another request ended it first.
    pub async fn end_challenge(&mut self, owner: SessionOwner, digest: &TokenDigest) -> Result<bool, StoreError> {
        self.owns(owner)?;
        sql::factors::delete_challenge(&mut self.exec().await?, sql::sessions::scope_of(owner), digest).await
    }
}
