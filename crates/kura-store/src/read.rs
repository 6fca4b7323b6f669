//! Reads. Each takes a pooled connection for its duration; tenant-owned reads take a `TenantId`.

use crate::error::StoreError;
use crate::rows::{ApiKey, Session};
use crate::store::Store;
use kura_crypto::TokenDigest;
use kura_domain::{
    Collection, CollectionId, Email, Key, Operator, OperatorId, Record, RecordId, Role, RoleId, Slug, Tenant,
    TenantId, User, UserId,
};
use uuid::Uuid;

impl Store {
    // Operators ---------------------------------------------------------------------------------

    pub async fn operator_count(&self) -> Result<u64, StoreError> {
        todo!()
    }
    pub async fn operators(&self) -> Result<Vec<Operator>, StoreError> {
        todo!()
    }
    pub async fn operator(&self, id: OperatorId) -> Result<Option<Operator>, StoreError> {
        todo!()
    }
    /// The operator and their password hash, for sign-in.
    pub async fn operator_credentials(&self, email: &Email) -> Result<Option<(Operator, String)>, StoreError> {
        todo!()
    }

    // Tenants -----------------------------------------------------------------------------------

    pub async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        todo!()
    }
    pub async fn tenant(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        todo!()
    }
    pub async fn tenant_by_slug(&self, slug: &Slug) -> Result<Option<Tenant>, StoreError> {
        todo!()
    }

    // Users -------------------------------------------------------------------------------------

    pub async fn users(&self, tenant: TenantId) -> Result<Vec<User>, StoreError> {
        todo!()
    }
    pub async fn user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StoreError> {
        todo!()
    }
    /// The user and their password hash (none until a password is set), for sign-in.
    pub async fn user_credentials(
        &self,
        tenant: TenantId,
        email: &Email,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        todo!()
    }

    // Roles -------------------------------------------------------------------------------------

    pub async fn roles(&self, tenant: TenantId) -> Result<Vec<Role>, StoreError> {
        todo!()
    }
    pub async fn role(&self, tenant: TenantId, id: RoleId) -> Result<Option<Role>, StoreError> {
        todo!()
    }
    pub async fn role_by_key(&self, tenant: TenantId, key: &Key) -> Result<Option<Role>, StoreError> {
        todo!()
    }
    /// How many users hold a role (a role in use cannot be deleted).
    pub async fn role_user_count(&self, tenant: TenantId, id: RoleId) -> Result<u64, StoreError> {
        todo!()
    }

    // Collections and records ------------------------------------------------------------------

    pub async fn collections(&self, tenant: TenantId) -> Result<Vec<Collection>, StoreError> {
        todo!()
    }
    pub async fn collection(&self, tenant: TenantId, id: CollectionId) -> Result<Option<Collection>, StoreError> {
        todo!()
    }
    pub async fn collection_by_name(&self, tenant: TenantId, name: &Key) -> Result<Option<Collection>, StoreError> {
        todo!()
    }
    /// All records of a collection. Filtering, sorting and paging happen in the domain
    /// (`ListQuery::apply`), because values will be encrypted at rest.
    pub async fn records(&self, tenant: TenantId, collection: CollectionId) -> Result<Vec<Record>, StoreError> {
        todo!()
    }
    pub async fn record(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        id: RecordId,
    ) -> Result<Option<Record>, StoreError> {
        todo!()
    }
    pub async fn record_count(&self, tenant: TenantId, collection: CollectionId) -> Result<u64, StoreError> {
        todo!()
    }

    // Sessions and API keys --------------------------------------------------------------------

    /// Looks a session up by the scope encoded in its token (a tenant id, or the nil UUID for
    /// operator sessions) and the token's digest. Expired sessions are not returned.
    pub async fn session(&self, scope: Uuid, digest: &TokenDigest) -> Result<Option<Session>, StoreError> {
        todo!()
    }
    /// Records activity on a session (bookkeeping outside the audit path).
    pub async fn touch_session(&self, scope: Uuid, digest: &TokenDigest) -> Result<(), StoreError> {
        todo!()
    }
    /// A usable (not revoked, not expired) API key by its digest; records its use.
    pub async fn api_key_by_digest(&self, tenant: TenantId, digest: &TokenDigest) -> Result<Option<ApiKey>, StoreError> {
        todo!()
    }
    pub async fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError> {
        todo!()
    }
}
