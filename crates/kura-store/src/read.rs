//! Reads. Each takes a pooled connection for its duration; tenant-owned reads take a `TenantId`.
//! The SQL lives in [`crate::sql`], shared with the write path.

use crate::cache::RecordSnapshot;
use crate::error::StoreError;
use crate::rows::{ApiKey, Session};
use crate::sql;
use crate::store::Store;
use crate::write::now;
use kura_crypto::TokenDigest;
use kura_domain::{
    Collection, CollectionId, Email, Key, Operator, OperatorId, Record, RecordId, Role, RoleId, Slug, Tenant, TenantId,
    User, UserId,
};
use std::sync::Arc;
use uuid::Uuid;

/// How stale an API key's recorded last use may get before a use records it again.
pub(crate) const KEY_USE_RESOLUTION: jiff::SignedDuration = jiff::SignedDuration::from_mins(1);

impl Store {
    // Operators ---------------------------------------------------------------------------------

    pub async fn operator_count(&self) -> Result<u64, StoreError> {
        sql::operators::count_all(&mut self.db.read().await?.exec()).await
    }
    pub async fn operators(&self) -> Result<Vec<Operator>, StoreError> {
        sql::operators::all(&mut self.db.read().await?.exec()).await
    }
    pub async fn operator(&self, id: OperatorId) -> Result<Option<Operator>, StoreError> {
        sql::operators::by_id(&mut self.db.read().await?.exec(), id).await
    }
    /// The operator and their password hash, for sign-in.
    pub async fn operator_credentials(&self, email: &Email) -> Result<Option<(Operator, String)>, StoreError> {
        sql::operators::credentials(&mut self.db.read().await?.exec(), email).await
    }

    // Tenants -----------------------------------------------------------------------------------

    pub async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        sql::tenants::all(&mut self.db.read().await?.exec()).await
    }
    pub async fn tenant(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        sql::tenants::by_id(&mut self.db.read().await?.exec(), id).await
    }
    pub async fn tenant_by_slug(&self, slug: &Slug) -> Result<Option<Tenant>, StoreError> {
        sql::tenants::by_slug(&mut self.db.read().await?.exec(), slug).await
    }

    // Users -------------------------------------------------------------------------------------

    pub async fn users(&self, tenant: TenantId) -> Result<Vec<User>, StoreError> {
        sql::users::all(&mut self.db.read().await?.exec(), tenant).await
    }
    pub async fn user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StoreError> {
        sql::users::by_id(&mut self.db.read().await?.exec(), tenant, id).await
    }
    /// The user and their password hash (none until a password is set), for sign-in.
    pub async fn user_credentials(
        &self,
        tenant: TenantId,
        email: &Email,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        sql::users::credentials(&mut self.db.read().await?.exec(), tenant, email).await
    }

    // Roles -------------------------------------------------------------------------------------

    pub async fn roles(&self, tenant: TenantId) -> Result<Vec<Role>, StoreError> {
        sql::roles::all(&mut self.db.read().await?.exec(), tenant).await
    }
    pub async fn role(&self, tenant: TenantId, id: RoleId) -> Result<Option<Role>, StoreError> {
        sql::roles::by_id(&mut self.db.read().await?.exec(), tenant, id).await
    }
    pub async fn role_by_key(&self, tenant: TenantId, key: &Key) -> Result<Option<Role>, StoreError> {
        sql::roles::by_key(&mut self.db.read().await?.exec(), tenant, key).await
    }
    /// How many users hold a role (a role in use cannot be deleted).
    pub async fn role_user_count(&self, tenant: TenantId, id: RoleId) -> Result<u64, StoreError> {
        sql::roles::user_count(&mut self.db.read().await?.exec(), tenant, id).await
    }

    // Collections and records ------------------------------------------------------------------

    pub async fn collections(&self, tenant: TenantId) -> Result<Vec<Collection>, StoreError> {
        sql::collections::all(&mut self.db.read().await?.exec(), tenant).await
    }
    pub async fn collection(&self, tenant: TenantId, id: CollectionId) -> Result<Option<Collection>, StoreError> {
        sql::collections::by_id(&mut self.db.read().await?.exec(), tenant, id).await
    }
    pub async fn collection_by_name(&self, tenant: TenantId, name: &Key) -> Result<Option<Collection>, StoreError> {
        sql::collections::by_name(&mut self.db.read().await?.exec(), tenant, name).await
    }
    /// All records of a collection, as a shared snapshot no older than the last committed write
    /// (see `cache.rs`). Filtering, sorting and paging happen in the domain (`ListQuery::apply`),
    /// because values will be encrypted at rest. A missing collection has no records.
    pub async fn records(&self, tenant: TenantId, collection: CollectionId) -> Result<Arc<RecordSnapshot>, StoreError> {
        use crate::cache::Freshness;
        let key = (tenant, collection);
        let mut conn = self.db.read().await?;
        let mut e = conn.exec();
        let Some((change_seq, delete_seq)) = sql::collections::change_seqs(&mut e, tenant, collection).await? else {
            self.cache.forget(key);
            return Ok(Arc::default());
        };
        let snapshot = match self.cache.lookup(key, change_seq, delete_seq) {
            Freshness::Fresh(snapshot) => return Ok(snapshot),
            Freshness::Stale { base, since } => {
                let changed = sql::records::changed_since(&mut e, tenant, collection, since).await?;
                Arc::new(base.merged(changed))
            }
            Freshness::Missing => {
                Arc::new(RecordSnapshot::from_records(sql::records::all(&mut e, tenant, collection).await?))
            }
        };
        // The numbers were read before the records, so the snapshot is at least this fresh;
        // anything newer it happens to hold is fetched again (idempotently) next time.
        self.cache.store(key, change_seq, snapshot.clone());
        Ok(snapshot)
    }
    pub async fn record(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        id: RecordId,
    ) -> Result<Option<Record>, StoreError> {
        sql::records::by_id(&mut self.db.read().await?.exec(), tenant, collection, id).await
    }
    pub async fn record_count(&self, tenant: TenantId, collection: CollectionId) -> Result<u64, StoreError> {
        sql::records::count_in(&mut self.db.read().await?.exec(), tenant, collection).await
    }

    // Sessions and API keys --------------------------------------------------------------------

    /// Looks a session up by the scope encoded in its token (a tenant id, or the nil UUID for
    /// operator sessions) and the token's digest. Expired sessions are not returned.
    pub async fn session(&self, scope: Uuid, digest: &TokenDigest) -> Result<Option<Session>, StoreError> {
        let now = now(&*self.clock);
        sql::sessions::live(&mut self.db.read().await?.exec(), scope, digest, now).await
    }
    /// Records activity on a session (bookkeeping outside the audit path).
    ///
    /// It goes through the writer slot like every write and returns once durable: do not call it
    /// while holding a [`crate::Write`].
    pub async fn touch_session(&self, scope: Uuid, digest: &TokenDigest) -> Result<(), StoreError> {
        let now = now(&*self.clock);
        let mut held = self.writer.hold().await?;
        sql::sessions::touch(&mut held.exec()?, scope, digest, now).await?;
        held.commit(None).await.map(drop)
    }
    /// A usable (not revoked, not expired) API key by its digest; records its use.
    ///
    /// The key is looked up on a reader. Its last-used time is bookkeeping outside the audit
    /// path, recorded to the minute (like session activity): only when it is unset or at least
    /// a minute old does this write, through the writer slot, and wait until that is durable.
    /// So do not call this while holding a [`crate::Write`].
    pub async fn api_key_by_digest(
        &self,
        tenant: TenantId,
        digest: &TokenDigest,
    ) -> Result<Option<ApiKey>, StoreError> {
        let now = now(&*self.clock);
        let Some(key) = sql::api_keys::usable_by_digest(&mut self.db.read().await?.exec(), tenant, digest, now).await?
        else {
            return Ok(None);
        };
        let recent = key.last_used_at.is_some_and(|used| now.duration_since(used) < KEY_USE_RESOLUTION);
        if recent {
            return Ok(Some(key));
        }
        let mut held = self.writer.hold().await?;
        // The same conditions again: the key may have been revoked since it was read.
        let used = sql::api_keys::use_by_digest(&mut held.exec()?, tenant, digest, now).await?;
        held.commit(None).await?;
        Ok(used)
    }
    pub async fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError> {
        sql::api_keys::all(&mut self.db.read().await?.exec(), tenant).await
    }
}
