//! The writes without an audit entry, the documented exceptions to "every state change goes
//! through [`crate::Write`]": a session's last activity, an API key's and a client
//! certificate's last use. Bookkeeping
//! that changes no business state, through the writer slot like every write, durable before
//! they return. A task holding a `Write` must not call them: it would wait for itself.

use crate::conn::Scope;
use crate::error::StoreError;
use crate::rows::ApiKey;
use crate::sql;
use crate::store::Store;
use crate::time::now;
use jiff::Timestamp;
use kura_crypto::TokenDigest;
use kura_domain::TenantId;
use uuid::Uuid;

impl Store {
    /// Records activity on a session (bookkeeping outside the audit path).
    ///
    /// It goes through the writer slot like every write and returns once durable: do not call it
    /// while holding a [`crate::Write`].
    pub async fn touch_session(&self, scope: Uuid, digest: &TokenDigest) -> Result<(), StoreError> {
        let now = now(&*self.clock);
        let mut held = self.writer.hold(Scope::stored(scope)).await?;
        sql::sessions::touch(&mut held.exec()?, scope, digest, now).await?;
        held.commit_unaudited().await
    }

    /// Records a use of `tenant`'s client certificate `serial` (bookkeeping outside the audit
    /// path, like [`Store::touch_session`]; callers record it at most once a minute).
    pub async fn record_client_certificate_use(
        &self,
        tenant: TenantId,
        serial: &str,
        ip: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = now(&*self.clock);
        let mut held = self.writer.hold(Scope::tenant(tenant)).await?;
        sql::client_certs::record_use(&mut held.exec()?, tenant, serial, now, ip).await?;
        held.commit_unaudited().await
    }

    /// Records a use of `tenant`'s API key with `digest` at `now`, if it is still usable
    /// (checked again here: it may have been revoked since it was read); returns the key as
    /// changed. Called by [`Store::api_key_context`] when the last use it recorded is a minute
    /// old.
    pub(crate) async fn record_key_use(
        &self,
        tenant: TenantId,
        digest: &TokenDigest,
        now: Timestamp,
        ip: Option<&str>,
    ) -> Result<Option<ApiKey>, StoreError> {
        // The tenant's keys before the slot: the first read of them goes to the keystore.
        let sealer = self.sealer(tenant).await?;
        let mut held = self.writer.hold(Scope::tenant(tenant)).await?;
        let used = sql::api_keys::use_by_digest(&mut held.exec()?, tenant, digest, now, ip, &sealer).await?;
        held.commit_unaudited().await?;
        Ok(used)
    }
}
