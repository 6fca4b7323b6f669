//! Reads. Each takes a pooled connection for its duration; tenant-owned reads take a `TenantId`.
//! The SQL lives in [`crate::sql`], shared with the write path.

use crate::cache::{CacheStats, ForOne, Freshness, RecordSnapshot};
use crate::conn::Scope;
use crate::error::StoreError;
use crate::rows::CollectionHead;
use crate::rows::{ApiKey, ApiKeyContext, ClientCertificate, Session, UserSessionContext};
use crate::sql;
use crate::store::Store;
use crate::time::now;
use kura_crypto::TokenDigest;
use kura_domain::{
    Collection, CollectionId, Email, Key, Operator, OperatorId, Record, RecordId, Role, RoleId, Slug, Tenant, TenantId,
    User, UserId,
};
use std::sync::Arc;
use uuid::Uuid;

/// How stale an API key's recorded last use may get before a use records it again.
const KEY_USE_RESOLUTION: jiff::SignedDuration = jiff::SignedDuration::from_mins(1);

/// A collection as one read saw it: its definition, and the change numbers of its records then.
/// Records read through it ([`Store::records_at`], [`Store::record_at`]) are at least that fresh.
#[derive(Clone, Debug)]
pub struct CollectionAt {
    pub collection: Arc<Collection>,
    change_seq: i64,
    delete_seq: i64,
}

impl Store {
    // Operators ---------------------------------------------------------------------------------

    pub async fn operator_count(&self) -> Result<u64, StoreError> {
        sql::operators::count_all(&mut self.db.read(Scope::Platform).await?.exec()).await
    }
    pub async fn operators(&self) -> Result<Vec<Operator>, StoreError> {
        sql::operators::all(&mut self.db.read(Scope::Platform).await?.exec()).await
    }
    pub async fn operator(&self, id: OperatorId) -> Result<Option<Operator>, StoreError> {
        sql::operators::by_id(&mut self.db.read(Scope::Platform).await?.exec(), id).await
    }
    /// The operator and their password hash, for sign-in.
    pub async fn operator_credentials(&self, email: &Email) -> Result<Option<(Operator, String)>, StoreError> {
        sql::operators::credentials(&mut self.db.read(Scope::Platform).await?.exec(), email).await
    }

    // Tenants -----------------------------------------------------------------------------------

    pub async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        sql::tenants::all(&mut self.db.read(Scope::Platform).await?.exec()).await
    }
    pub async fn tenant(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        sql::tenants::by_id(&mut self.db.read(Scope::Platform).await?.exec(), id).await
    }
    pub async fn tenant_by_slug(&self, slug: &Slug) -> Result<Option<Tenant>, StoreError> {
        sql::tenants::by_slug(&mut self.db.read(Scope::Platform).await?.exec(), slug).await
    }
    /// The tenants deleted at their contract's end (TEN-4), newest first, with their certificates.
    pub async fn tenant_deletions(&self) -> Result<Vec<crate::TenantDeletion>, StoreError> {
        sql::erasure::all(&mut self.db.read(Scope::Platform).await?.exec()).await
    }
    /// The newest `limit` backup verifications and restore drills (OPS-1), newest first.
    pub async fn backup_checks(&self, limit: u32) -> Result<Vec<crate::BackupCheck>, StoreError> {
        sql::backups::recent(&mut self.db.read(Scope::Platform).await?.exec(), i64::from(limit)).await
    }

    // Users -------------------------------------------------------------------------------------

    pub async fn users(&self, tenant: TenantId) -> Result<Vec<User>, StoreError> {
        let sealer = self.sealer(tenant).await?;
        sql::users::all(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, &sealer).await
    }
    pub async fn user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StoreError> {
        let sealer = self.sealer(tenant).await?;
        sql::users::by_id(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, id, &sealer).await
    }
    /// The user and their password hash (none until a password is set), for sign-in. The email
    /// matches in its normalised form, by its blind index.
    pub async fn user_credentials(
        &self,
        tenant: TenantId,
        email: &Email,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let sealer = self.sealer(tenant).await?;
        sql::users::credentials(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, email, &sealer).await
    }

    // Roles -------------------------------------------------------------------------------------

    pub async fn roles(&self, tenant: TenantId) -> Result<Vec<Role>, StoreError> {
        let sealer = self.sealer(tenant).await?;
        sql::roles::all(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, &sealer).await
    }
    pub async fn role(&self, tenant: TenantId, id: RoleId) -> Result<Option<Role>, StoreError> {
        let sealer = self.sealer(tenant).await?;
        sql::roles::by_id(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, id, &sealer).await
    }
    pub async fn role_by_key(&self, tenant: TenantId, key: &Key) -> Result<Option<Role>, StoreError> {
        let sealer = self.sealer(tenant).await?;
        sql::roles::by_key(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, key, &sealer).await
    }
    /// How many users hold a role (a role in use cannot be deleted).
    pub async fn role_user_count(&self, tenant: TenantId, id: RoleId) -> Result<u64, StoreError> {
        sql::roles::user_count(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, id).await
    }

    // Collections and records ------------------------------------------------------------------

    pub async fn collections(&self, tenant: TenantId) -> Result<Vec<Collection>, StoreError> {
        let sealer = self.sealer(tenant).await?;
        sql::collections::all(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, &sealer).await
    }
    pub async fn collection(&self, tenant: TenantId, id: CollectionId) -> Result<Option<Collection>, StoreError> {
        let sealer = self.sealer(tenant).await?;
        sql::collections::by_id(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, id, &sealer).await
    }
    pub async fn collection_by_name(&self, tenant: TenantId, name: &Key) -> Result<Option<Collection>, StoreError> {
        let sealer = self.sealer(tenant).await?;
        sql::collections::by_name(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, name, &sealer).await
    }
    /// A collection by name as it is now: its definition and where its records stand. One
    /// statement when the definition is already in memory (see `definitions.rs`), two otherwise.
    /// Pass the result to [`Store::records_at`] and [`Store::record_at`].
    pub async fn collection_at(&self, tenant: TenantId, name: &Key) -> Result<Option<CollectionAt>, StoreError> {
        let mut conn = self.db.read(Scope::tenant(tenant)).await?;
        let mut e = conn.exec();
        let Some(head) = sql::collections::head(&mut e, tenant, name).await? else {
            return Ok(None);
        };
        match self.kept_at(tenant, head) {
            Some(at) => Ok(Some(at)),
            None => self.definition_at(&mut e, tenant, head).await,
        }
    }

    /// [`Store::collection_at`] from a head read with something else (the request's principal):
    /// no statement at all when the definition at that revision is in memory.
    pub async fn collection_at_head(
        &self,
        tenant: TenantId,
        head: CollectionHead,
    ) -> Result<Option<CollectionAt>, StoreError> {
        match self.kept_at(tenant, head) {
            Some(at) => Ok(Some(at)),
            None => self.definition_at(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, head).await,
        }
    }

    /// The collection at `head` with the definition kept in memory for its revision, if any.
    fn kept_at(&self, tenant: TenantId, head: CollectionHead) -> Option<CollectionAt> {
        let collection = self.definitions.get((tenant, CollectionId::from_uuid(head.id)), head.revision)?;
        Some(CollectionAt { collection, change_seq: head.change_seq, delete_seq: head.delete_seq })
    }

    /// The collection at `head` with its definition read from the database (and kept).
    async fn definition_at(
        &self,
        e: &mut crate::conn::Exec<'_>,
        tenant: TenantId,
        head: CollectionHead,
    ) -> Result<Option<CollectionAt>, StoreError> {
        let id = CollectionId::from_uuid(head.id);
        let sealer = self.sealer(tenant).await?;
        let Some((c, revision)) = sql::collections::revised(e, tenant, id, &sealer).await? else {
            return Ok(None);
        };
        let collection = Arc::new(c);
        self.definitions.put((tenant, id), revision, Arc::clone(&collection));
        Ok(Some(CollectionAt { collection, change_seq: head.change_seq, delete_seq: head.delete_seq }))
    }

    /// All records of a collection, as a shared snapshot no older than the last committed write
    /// (see `cache/`). Filtering, sorting and paging happen in the domain (`ListQuery::apply`),
    /// because values will be encrypted at rest. A missing collection has no records.
    pub async fn records(&self, tenant: TenantId, collection: CollectionId) -> Result<Arc<RecordSnapshot>, StoreError> {
        let key = (tenant, collection);
        let mut conn = self.db.read(Scope::tenant(tenant)).await?;
        let mut e = conn.exec();
        let Some((change_seq, delete_seq)) = sql::collections::change_seqs(&mut e, tenant, collection).await? else {
            self.cache.forget(key);
            return Ok(Arc::default());
        };
        self.snapshot(&mut e, key, change_seq, delete_seq).await
    }

    /// The records of `at`'s collection, no older than when `at` was read.
    pub async fn records_at(&self, at: &CollectionAt) -> Result<Arc<RecordSnapshot>, StoreError> {
        let c = &at.collection;
        let key = (c.tenant_id, c.id);
        if let Freshness::Fresh(snapshot) = self.cache.lookup(key, at.change_seq, at.delete_seq) {
            return Ok(snapshot);
        }
        // Wait for a refresh already under way before taking a connection from the pool.
        let _refreshing = self.cache.refreshing(key).await;
        let mut conn = self.db.read(Scope::tenant(at.collection.tenant_id)).await?;
        self.refresh(&mut conn.exec(), key, at.change_seq, at.delete_seq).await
    }

    /// One record of `at`'s collection, no older than when `at` was read: from the snapshot if
    /// it is fresh, else from the database, or from the snapshot brought up to date once enough
    /// reads have gone past it (see `cache/`). It does not wait for another reader's refresh.
    pub async fn record_at(&self, at: &CollectionAt, id: RecordId) -> Result<Option<Record>, StoreError> {
        let c = &at.collection;
        let key = (c.tenant_id, c.id);
        match self.cache.lookup_one(key, at.change_seq, at.delete_seq) {
            ForOne::Fresh(snapshot) => return Ok(snapshot.get(id).cloned()),
            ForOne::Refresh => {
                if let Some(_refreshing) = self.cache.try_refreshing(key) {
                    let mut conn = self.db.read(Scope::tenant(at.collection.tenant_id)).await?;
                    let snapshot = self.refresh(&mut conn.exec(), key, at.change_seq, at.delete_seq).await?;
                    return Ok(snapshot.get(id).cloned());
                }
            }
            ForOne::Read => {}
        }
        self.cache.passed();
        self.record(c.tenant_id, c.id, id).await
    }

    /// What the record snapshot cache did (for tests and metrics).
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// The snapshot at (at least) `change_seq`: kept, merged with what changed, or read whole.
    async fn snapshot(
        &self,
        e: &mut crate::conn::Exec<'_>,
        key: (TenantId, CollectionId),
        change_seq: i64,
        delete_seq: i64,
    ) -> Result<Arc<RecordSnapshot>, StoreError> {
        if let Freshness::Fresh(snapshot) = self.cache.lookup(key, change_seq, delete_seq) {
            return Ok(snapshot);
        }
        let _refreshing = self.cache.refreshing(key).await;
        self.refresh(e, key, change_seq, delete_seq).await
    }

    /// [`Store::snapshot`] for a caller that holds the collection's refresh lock.
    async fn refresh(
        &self,
        e: &mut crate::conn::Exec<'_>,
        key: (TenantId, CollectionId),
        change_seq: i64,
        delete_seq: i64,
    ) -> Result<Arc<RecordSnapshot>, StoreError> {
        let (tenant, collection) = key;
        let snapshot = match self.cache.lookup(key, change_seq, delete_seq) {
            // Brought up to date by the reader this one waited for.
            Freshness::Fresh(snapshot) => return Ok(snapshot),
            Freshness::Stale { base, since } => {
                let sealer = self.sealer(tenant).await?;
                let changed = sql::records::changed_since(e, tenant, collection, since, &sealer).await?;
                self.cache.refreshed(true);
                Arc::new(base.merged(changed))
            }
            Freshness::Missing => {
                let sealer = self.sealer(tenant).await?;
                let all = sql::records::all(e, tenant, collection, &sealer).await?;
                self.cache.refreshed(false);
                Arc::new(RecordSnapshot::from_records(all))
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
        let sealer = self.sealer(tenant).await?;
        sql::records::by_id(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, collection, id, &sealer)
            .await
    }
    pub async fn record_count(&self, tenant: TenantId, collection: CollectionId) -> Result<u64, StoreError> {
        sql::records::count_in(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, collection).await
    }

    // Sessions and API keys --------------------------------------------------------------------

    /// Looks a session up by the scope encoded in its token (a tenant id, or the nil UUID for
    /// operator sessions) and the token's digest. Expired sessions are not returned.
    pub async fn session(&self, scope: Uuid, digest: &TokenDigest) -> Result<Option<Session>, StoreError> {
        let now = now(&*self.clock);
        sql::sessions::live(&mut self.db.read(Scope::stored(scope)).await?.exec(), scope, digest, now).await
    }
    /// A live user session of `tenant` with its user, tenant and role, in one statement.
    /// Expired sessions are not returned; the idle timeout and the user's status are the
    /// caller's to check.
    /// With `collection`, also that collection's head (see [`Store::collection_at_head`]).
    pub async fn user_session_context(
        &self,
        tenant: TenantId,
        digest: &TokenDigest,
        collection: Option<&Key>,
    ) -> Result<Option<UserSessionContext>, StoreError> {
        let now = now(&*self.clock);
        let sealer = self.sealer(tenant).await?;
        sql::principals::user_session(
            &mut self.db.read(Scope::tenant(tenant)).await?.exec(),
            tenant,
            digest,
            now,
            collection,
            &sealer,
        )
        .await
    }
    /// A usable API key with its tenant and role, in one statement; records its use. With
    /// `collection`, also that collection's head (see [`Store::collection_at_head`]).
    ///
    /// The last-used time is bookkeeping outside the audit path, recorded to the minute (like
    /// session activity): only when it is unset or at least a minute old does this write, through
    /// the writer slot, and wait until that is durable. So do not call this while holding a
    /// [`crate::Write`].
    pub async fn api_key_context(
        &self,
        tenant: TenantId,
        digest: &TokenDigest,
        collection: Option<&Key>,
        ip: Option<&str>,
    ) -> Result<Option<ApiKeyContext>, StoreError> {
        let now = now(&*self.clock);
        let sealer = self.sealer(tenant).await?;
        let Some(mut context) = sql::principals::api_key(
            &mut self.db.read(Scope::tenant(tenant)).await?.exec(),
            tenant,
            digest,
            now,
            collection,
            &sealer,
        )
        .await?
        else {
            return Ok(None);
        };
        if context.key.last_used_at.is_some_and(|used| now.duration_since(used) < KEY_USE_RESOLUTION) {
            return Ok(Some(context));
        }
        let used = self.record_key_use(tenant, digest, now, ip).await?;
        Ok(used.map(|key| {
            context.key = key;
            context
        }))
    }
    /// The tenant's live keys expiring within (`now`, `before`] that have not had the `stage`
    /// reminder (or a nearer one) yet.
    pub async fn api_keys_expiring(
        &self,
        tenant: TenantId,
        before: jiff::Timestamp,
        stage: u32,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let now = now(&*self.clock);
        let sealer = self.sealer(tenant).await?;
        sql::api_keys::expiring(
            &mut self.db.read(Scope::tenant(tenant)).await?.exec(),
            tenant,
            now,
            before,
            stage,
            &sealer,
        )
        .await
    }
    pub async fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError> {
        let sealer = self.sealer(tenant).await?;
        sql::api_keys::all(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, &sealer).await
    }

    // Client certificates (IAM-11) ------------------------------------------------------------

    /// The tenant's client certificates, newest first, revoked ones included.
    pub async fn client_certificates(&self, tenant: TenantId) -> Result<Vec<ClientCertificate>, StoreError> {
        sql::client_certs::all(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant).await
    }
    /// One of the tenant's client certificates by serial, read from the database on every call
    /// (no cache), so that a revocation on one node is seen by the next request on every node.
    pub async fn client_certificate(
        &self,
        tenant: TenantId,
        serial: &str,
    ) -> Result<Option<ClientCertificate>, StoreError> {
        sql::client_certs::by_serial(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, serial).await
    }

    /// One break-glass access of the tenant (IAM-13), with the digest of its support session's
    /// token if one was opened.
    pub async fn break_glass(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
    ) -> Result<Option<(kura_domain::BreakGlass, Option<[u8; 32]>)>, StoreError> {
        sql::break_glass::get(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, id).await
    }
    /// The tenant's break-glass accesses, newest first.
    pub async fn break_glass_of(&self, tenant: TenantId) -> Result<Vec<kura_domain::BreakGlass>, StoreError> {
        sql::break_glass::of_tenant(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant).await
    }
    /// Every tenant's break-glass accesses still pending or active: the platform's overview of
    /// its own accesses (no tenant data), and the job that closes those whose time is up.
    pub async fn open_break_glass(&self) -> Result<Vec<kura_domain::BreakGlass>, StoreError> {
        sql::break_glass::open(&mut self.db.read(Scope::Platform).await?.exec()).await
    }
    /// The tenant's break-glass accesses still pending or active (one indexed statement, read
    /// for the console's banner).
    pub async fn open_break_glass_of(&self, tenant: TenantId) -> Result<Vec<kura_domain::BreakGlass>, StoreError> {
        sql::break_glass::open_of_tenant(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant).await
    }
}
