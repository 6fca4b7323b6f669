//! Reads. Each takes a pooled connection for its duration; tenant-owned reads take a `TenantId`.
//! The SQL lives in [`crate::sql`], shared with the write path.

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
use uuid::Uuid;

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
    /// All records of a collection. Filtering, sorting and paging happen in the domain
    /// (`ListQuery::apply`), because values will be encrypted at rest.
    pub async fn records(&self, tenant: TenantId, collection: CollectionId) -> Result<Vec<Record>, StoreError> {
        sql::records::all(&mut self.db.read().await?.exec(), tenant, collection).await
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
    /// On SQLite this uses the single writer connection: do not call it while holding a
    /// [`crate::Write`].
    pub async fn touch_session(&self, scope: Uuid, digest: &TokenDigest) -> Result<(), StoreError> {
        let now = now(&*self.clock);
        sql::sessions::touch(&mut self.db.bookkeeping().await?.exec(), scope, digest, now).await
    }
    /// A usable (not revoked, not expired) API key by its digest; records its use.
    ///
    /// Recording the use is bookkeeping outside the audit path; on SQLite it uses the single
    /// writer connection, so do not call this while holding a [`crate::Write`].
    pub async fn api_key_by_digest(
        &self,
        tenant: TenantId,
        digest: &TokenDigest,
    ) -> Result<Option<ApiKey>, StoreError> {
        let now = now(&*self.clock);
        sql::api_keys::use_by_digest(&mut self.db.bookkeeping().await?.exec(), tenant, digest, now).await
    }
    pub async fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError> {
        sql::api_keys::all(&mut self.db.read().await?.exec(), tenant).await
    }
}
