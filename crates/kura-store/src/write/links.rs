//! Writes of single-use password links (TEN-1, IAM-7): issuing one (the secret is returned once,
//! only its digest stored) and burning one.

use super::Write;
use crate::error::StoreError;
use crate::sql;
use crate::sql::tokens::LinkPurpose;
use crate::time::micros_precision;
use jiff::Timestamp;
use kura_crypto::{SecretToken, TokenDigest};
use kura_domain::{TenantId, UserId};

impl Write {
    /// Issues a link for the user valid until `expires_at`, replacing their unused ones of the
    /// same purpose; returns its secret (to put in a mail, never stored).
    pub async fn issue_link(
        &mut self,
        tenant: TenantId,
        user: UserId,
        purpose: LinkPurpose,
        expires_at: Timestamp,
    ) -> Result<SecretToken, StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        let token = SecretToken::generate();
        let mut e = self.exec().await?;
        sql::tokens::forget(&mut e, tenant, user, purpose).await?;
        sql::tokens::insert(&mut e, tenant, &token.digest(), user, purpose, now, micros_precision(expires_at)).await?;
        Ok(token)
    }

    /// Burns an unused, unexpired link; `None` if it is unknown, used or expired. Of two writes
    /// with the same link, one gets its user.
    pub async fn burn_link(
        &mut self,
        tenant: TenantId,
        digest: &TokenDigest,
        purpose: LinkPurpose,
    ) -> Result<Option<UserId>, StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        sql::tokens::burn(&mut self.exec().await?, tenant, digest, purpose, now).await
    }

    /// Forgets all of the user's links (their password was set another way).
    pub async fn forget_links(&mut self, tenant: TenantId, user: UserId) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        sql::tokens::forget_all(&mut self.exec().await?, tenant, user).await
    }
}
