//! Who is making a request, and the proof that they may do what they ask.

use crate::error::{AppError, AppResult};
use kura_domain::{
    Actor, AuditEntry, AuditRecord, AuditScope, CollectionId, Key, Operator, Permission, Record, RecordData, Role,
    Tenant, TenantId, UserId,
};
use kura_store::{CollectionHead, Store, StoreError, Write};
use uuid::Uuid;

/// How a tenant principal authenticated.
#[derive(Clone, Debug)]
pub enum Via {
    /// A console session (cookie) or API session (bearer); carries what logout and CSRF need.
    Session { scope: Uuid, digest: kura_crypto::TokenDigest, csrf_token: String },
    ApiKey {
        id: kura_domain::ApiKeyId,
        /// The user who created the key, if known.
        owner: Option<UserId>,
    },
    /// The `kura` command, run by whoever can read the data directory.
    CommandLine,
    /// An operator's support session under break-glass access (IAM-13): read-only, bounded by
    /// the access's end.
    BreakGlass {
        /// The break-glass access.
        access: Uuid,
        /// The operator.
        operator: Uuid,
    },
    /// An export job built in the background on behalf of its requester (DAT-5).
    Job {
        /// The export job.
        job: Uuid,
    },
}

/// An authenticated member of a tenant (a user, or an API key acting with a role).
#[derive(Clone, Debug)]
pub struct TenantPrincipal {
    pub(crate) tenant: Tenant,
    pub(crate) role: Role,
    pub(crate) actor: Actor,
    pub(crate) user_id: Option<UserId>,
    pub(crate) via: Via,
    /// The collection the request's path names, read with the credential (saving a statement):
    /// its name, and its head if it exists.
    pub(crate) collection: Option<(Key, Option<CollectionHead>)>,
    /// The user must choose a new password first: every permission is refused until then.
    pub(crate) password_change_required: bool,
    /// The client certificate the request's connection presented (IAM-11), if any.
    pub(crate) client_cert: Option<crate::tls::PeerCertificate>,
}

impl TenantPrincipal {
    /// The command line acting in `tenant` with `role` (`kura export`): no session, no key.
    pub(crate) fn command_line(tenant: Tenant, role: Role, actor: Actor) -> Self {
        Self {
            tenant,
            role,
            actor,
            user_id: None,
            via: Via::CommandLine,
            collection: None,
            password_change_required: false,
            client_cert: None,
        }
    }
    /// The requester of export job `job`, as the worker builds it (DAT-5): the requester's
    /// current role, no session and no key of its own.
    pub(crate) fn background(tenant: Tenant, role: Role, actor: Actor, user_id: Option<UserId>, job: Uuid) -> Self {
        Self {
            tenant,
            role,
            actor,
            user_id,
            via: Via::Job { job },
            collection: None,
            password_change_required: false,
            client_cert: None,
        }
    }
    /// Proves the principal holds `permission`; the only way to obtain a [`Granted`].
    pub fn require(&self, permission: Permission) -> AppResult<Granted<'_>> {
        if self.password_change_required {
            return Err(AppError::PasswordChangeRequired);
        }
        if self.role.allows(permission) {
            Ok(Granted { principal: self, permission })
        } else {
            Err(AppError::Forbidden(permission))
        }
    }
    pub fn can(&self, permission: Permission) -> bool {
        !self.password_change_required && self.role.allows(permission)
    }
    /// Whether the user must choose a new password before anything else.
    pub fn password_change_required(&self) -> bool {
        self.password_change_required
    }
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }
    pub fn role(&self) -> &Role {
        &self.role
    }
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
    /// The client certificate the request's connection presented (IAM-11).
    pub fn client_cert(&self) -> Option<&crate::tls::PeerCertificate> {
        self.client_cert.as_ref()
    }
    pub fn user_id(&self) -> Option<UserId> {
        self.user_id
    }
    /// The user whose account the principal's credentials hang on: the signed-in user, or the
    /// creator of the API key. Keys created by this principal are revoked with that account.
    pub fn owner(&self) -> Option<UserId> {
        match &self.via {
            Via::Session { .. } => self.user_id,
            Via::ApiKey { owner, .. } => *owner,
            Via::CommandLine | Via::BreakGlass { .. } | Via::Job { .. } => None,
        }
    }
    /// Whether this is an operator under break-glass access (IAM-13).
    pub fn is_break_glass(&self) -> bool {
        matches!(self.via, Via::BreakGlass { .. })
    }
    pub fn via(&self) -> &Via {
        &self.via
    }
    pub fn csrf_token(&self) -> Option<&str> {
        match &self.via {
            Via::Session { csrf_token, .. } => Some(csrf_token),
            Via::ApiKey { .. } | Via::CommandLine | Via::BreakGlass { .. } | Via::Job { .. } => None,
        }
    }
}

/// A principal with a checked permission: the handle through which tenant data is read and
/// written.
#[derive(Clone, Copy, Debug)]
pub struct Granted<'a> {
    principal: &'a TenantPrincipal,
    permission: Permission,
}

impl<'a> Granted<'a> {
    pub fn tenant_id(&self) -> TenantId {
        self.principal.tenant.id
    }
    pub fn tenant(&self) -> &'a Tenant {
        &self.principal.tenant
    }
    pub fn permission(&self) -> Permission {
        self.permission
    }
    pub fn principal(&self) -> &'a TenantPrincipal {
        self.principal
    }
    /// Whether personal-information fields are shown unmasked (IAM-3).
    pub fn pii_visible(&self) -> bool {
        self.principal.can(Permission::PiiRead)
    }
    /// Starts an audited write in this tenant on behalf of the principal.
    pub async fn begin(&self, store: &Store) -> Result<Write, StoreError> {
        store.begin(AuditScope::Tenant(self.tenant_id()), self.principal.actor.clone()).await
    }
    /// Creates a record in this tenant on behalf of the principal, with its audit entry
    /// (`Store::create_record`).
    pub async fn create_record(
        &self,
        store: &Store,
        collection: CollectionId,
        data: &RecordData,
        audit: impl FnOnce(&Record) -> AuditRecord,
    ) -> Result<(Record, AuditEntry), StoreError> {
        store.create_record(self.tenant_id(), self.principal.actor.clone(), collection, data, audit).await
    }
    /// Changes a record as read, if it is still at that version, on behalf of the principal,
    /// with its audit entry (`Store::update_record`).
    pub async fn update_record(
        &self,
        store: &Store,
        current: &Record,
        data: &RecordData,
        audit: impl FnOnce(&Record) -> AuditRecord,
    ) -> Result<(Record, AuditEntry), StoreError> {
        store.update_record(self.tenant_id(), self.principal.actor.clone(), current, data, audit).await
    }
}

/// An authenticated operator (console session).
#[derive(Clone, Debug)]
pub struct OperatorPrincipal {
    pub operator: Operator,
    pub actor: Actor,
    pub scope: Uuid,
    pub digest: kura_crypto::TokenDigest,
    pub csrf_token: String,
    /// The operator must replace a one-time password before anything else.
    pub password_change_required: bool,
}

impl OperatorPrincipal {
    pub async fn begin(&self, store: &Store, scope: AuditScope) -> Result<Write, StoreError> {
        store.begin(scope, self.actor.clone()).await
    }
}
