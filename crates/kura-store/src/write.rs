//! The one write path. A [`Write`] is a transaction tied to an audit scope and actor; the only
//! way to make its changes durable is [`Write::commit`], which appends the audit entry in the same
//! transaction. Dropping a `Write` rolls everything back.

use crate::error::StoreError;
use crate::rows::{ApiKey, Session, SessionOwner};
use kura_crypto::{SecretToken, TokenDigest};
use kura_domain::{
    Actor, ApiKeyId, AuditEntry, AuditRecord, AuditScope, Collection, CollectionId, CollectionSpec, DisplayName,
    Email, Key, Operator, PermissionSet, Record, RecordData, RecordId, Role, RoleId, Tenant, TenantId, TenantSpec,
    User, UserId, UserStatus,
};
use jiff::Timestamp;
use uuid::Uuid;

/// An open, audited transaction.
#[derive(Debug)]
pub struct Write {
    pub(crate) scope: AuditScope,
    pub(crate) actor: Actor,
}

impl Write {
    pub fn scope(&self) -> AuditScope {
        self.scope
    }

    /// Appends the audit entry for everything this write did and commits, durably.
    pub async fn commit(self, record: AuditRecord) -> Result<AuditEntry, StoreError> {
        todo!()
    }

    // Operators and tenants ---------------------------------------------------------------------

    pub async fn insert_operator(
        &mut self,
        email: &Email,
        display_name: &DisplayName,
        password_hash: &str,
    ) -> Result<Operator, StoreError> {
        todo!()
    }

    /// Creates a tenant with its three built-in roles.
    pub async fn insert_tenant(&mut self, spec: &TenantSpec) -> Result<Tenant, StoreError> {
        todo!()
    }

    // Users -------------------------------------------------------------------------------------

    pub async fn insert_user(
        &mut self,
        tenant: TenantId,
        email: &Email,
        display_name: &DisplayName,
        role: RoleId,
        password_hash: Option<&str>,
    ) -> Result<User, StoreError> {
        todo!()
    }
    pub async fn update_user(
        &mut self,
        tenant: TenantId,
        id: UserId,
        display_name: &DisplayName,
        role: RoleId,
        status: UserStatus,
    ) -> Result<User, StoreError> {
        todo!()
    }
    pub async fn set_user_password(&mut self, tenant: TenantId, id: UserId, password_hash: &str) -> Result<(), StoreError> {
        todo!()
    }
    /// Deletes the user and their sessions; their audit entries stay (IAM-1).
    pub async fn delete_user(&mut self, tenant: TenantId, id: UserId) -> Result<(), StoreError> {
        todo!()
    }

    // Roles -------------------------------------------------------------------------------------

    pub async fn insert_role(
        &mut self,
        tenant: TenantId,
        key: &Key,
        label: &DisplayName,
        permissions: PermissionSet,
    ) -> Result<Role, StoreError> {
        todo!()
    }
    pub async fn update_role(
        &mut self,
        tenant: TenantId,
        id: RoleId,
        label: &DisplayName,
        permissions: PermissionSet,
    ) -> Result<Role, StoreError> {
        todo!()
    }
    pub async fn delete_role(&mut self, tenant: TenantId, id: RoleId) -> Result<(), StoreError> {
        todo!()
    }

    // Collections and records ------------------------------------------------------------------

    pub async fn insert_collection(&mut self, tenant: TenantId, spec: &CollectionSpec) -> Result<Collection, StoreError> {
        todo!()
    }
    /// Replaces label, memo and fields (the name stays). Values of removed fields stay in stored
    /// records but are no longer shown or accepted.
    pub async fn update_collection(
        &mut self,
        tenant: TenantId,
        id: CollectionId,
        spec: &CollectionSpec,
    ) -> Result<Collection, StoreError> {
        todo!()
    }
    /// Deletes the collection and all its records.
    pub async fn delete_collection(&mut self, tenant: TenantId, id: CollectionId) -> Result<u64, StoreError> {
        todo!()
    }
    pub async fn insert_record(
        &mut self,
        tenant: TenantId,
        collection: CollectionId,
        data: &RecordData,
    ) -> Result<Record, StoreError> {
        todo!()
    }
    /// Reads a record inside this transaction (for read-modify-write).
    pub async fn record(
        &mut self,
        tenant: TenantId,
        collection: CollectionId,
        id: RecordId,
    ) -> Result<Option<Record>, StoreError> {
        todo!()
    }
    /// Replaces a record's data. With `expected_version`, refuses (Conflict) if the record changed
    /// since the caller read it.
    pub async fn update_record(
        &mut self,
        tenant: TenantId,
        collection: CollectionId,
        id: RecordId,
        expected_version: Option<i64>,
        data: &RecordData,
    ) -> Result<Record, StoreError> {
        todo!()
    }
    pub async fn delete_record(&mut self, tenant: TenantId, collection: CollectionId, id: RecordId) -> Result<(), StoreError> {
        todo!()
    }

    // Sessions and API keys --------------------------------------------------------------------

    /// Creates a session that expires at `expires_at`; returns the secret token (to set as a
    /// cookie or return once) and the stored session.
    pub async fn insert_session(
        &mut self,
        owner: SessionOwner,
        expires_at: Timestamp,
        source_ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<(SecretToken, Session), StoreError> {
        todo!()
    }
    pub async fn delete_session(&mut self, scope: Uuid, digest: &TokenDigest) -> Result<(), StoreError> {
        todo!()
    }
    pub async fn insert_api_key(
        &mut self,
        tenant: TenantId,
        name: &str,
        role: RoleId,
        expires_at: Option<Timestamp>,
    ) -> Result<(SecretToken, ApiKey), StoreError> {
        todo!()
    }
    pub async fn revoke_api_key(&mut self, tenant: TenantId, id: ApiKeyId) -> Result<(), StoreError> {
        todo!()
    }
}
