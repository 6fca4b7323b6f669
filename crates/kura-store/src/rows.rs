//! Stored things that are not domain concepts: sessions, API keys, and a collection's head.

use jiff::Timestamp;
use kura_domain::{ApiKeyId, OperatorId, RoleId, TenantId, UserId};
use serde::Serialize;
use uuid::Uuid;

/// Whose session it is. Operator sessions belong to no tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionOwner {
    User { tenant_id: TenantId, user_id: UserId },
    Operator(OperatorId),
}

/// A server-side session. The token itself is never stored, only its digest.
#[derive(Clone, Debug)]
pub struct Session {
    pub owner: SessionOwner,
    /// Random per-session value that console forms must echo back (CSRF defence).
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// Absolute expiry, fixed at sign-in.
    pub expires_at: Timestamp,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A client certificate issued to one of a tenant's users or devices (IAM-11). Its key was
/// handed out once and is not kept.
#[derive(Clone, Debug, Serialize)]
pub struct ClientCertificate {
    pub tenant_id: TenantId,
    /// Lower-case hexadecimal.
    pub serial: String,
    pub holder: String,
    /// SHA-256 of the certificate, as browsers show it.
    pub fingerprint: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    pub created_at: Timestamp,
    /// The administrator who issued it.
    pub created_by: Option<UserId>,
    pub revoked_at: Option<Timestamp>,
    /// The last recorded use (to the minute) and its client address.
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
}

/// A tenant's API key (the secret is shown once at creation and stored as a digest).
#[derive(Clone, Debug, Serialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: String,
    pub role_id: RoleId,
    /// The user who created the key; deleting or disabling them revokes it. `None` for keys
    /// from before owners were recorded.
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    /// The client address of the last recorded use.
    pub last_used_ip: Option<String>,
    /// The permissions the key may use, a subset of its role's; `None`: all of the role's.
    pub scopes: Option<kura_domain::PermissionSet>,
    /// The address ranges the key may be used from (within the tenant's API list); empty: any
    /// the tenant's API list allows.
    pub allowed_ranges: Vec<ipnet::IpNet>,
    /// After a rotation, until when the previous secret is still accepted.
    pub previous_valid_until: Option<Timestamp>,
}

/// A live user session with everything needed to authorise its requests, read together.
#[derive(Clone, Debug)]
pub struct UserSessionContext {
    pub session: Session,
    pub user: kura_domain::User,
    pub tenant: kura_domain::Tenant,
    /// The user's role.
    pub role: kura_domain::Role,
    /// The tenant's stored security policy; `None` while it uses the defaults.
    pub policy: Option<kura_domain::SecurityPolicy>,
    /// The head of the collection the request named, if it exists.
    pub collection: Option<CollectionHead>,
}

/// A usable API key with everything needed to authorise its requests, read together.
#[derive(Clone, Debug)]
pub struct ApiKeyContext {
    pub key: ApiKey,
    pub tenant: kura_domain::Tenant,
    /// The key's role.
    pub role: kura_domain::Role,
    /// The head of the collection the request named, if it exists.
    pub collection: Option<CollectionHead>,
    /// The tenant's stored security policy (`None`: the defaults), for its API address list.
    pub policy: Option<kura_domain::SecurityPolicy>,
}

/// What a reader checks before using what it keeps in memory about a collection: the definition
/// revision and the change sequence numbers of its records. Turn it into a [`crate::CollectionAt`]
/// with [`crate::Store::collection_at_head`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct CollectionHead {
    pub(crate) id: Uuid,
    pub(crate) revision: i64,
    pub(crate) change_seq: i64,
    pub(crate) delete_seq: i64,
}
