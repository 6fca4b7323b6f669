//! Response bodies of the API that are not service types themselves.

use kura_domain::{Role, User};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCreated {
    /// Bearer token for `Authorization: Bearer …`. Shown once.
    pub token: String,
    pub expires_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub tenant: String,
    pub tenant_name: String,
    pub time_zone: String,
    pub actor: String,
    pub actor_kind: String,
    pub role: String,
    pub permissions: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role_id: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.to_string(),
            display_name: u.display_name.to_string(),
            role_id: u.role_id.to_string(),
            status: u.status.as_str().into(),
            created_at: u.created_at.to_string(),
            updated_at: u.updated_at.to_string(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    pub id: String,
    pub key: String,
    pub label: String,
    pub permissions: Vec<String>,
    pub builtin: bool,
}

impl From<Role> for RoleView {
    fn from(r: Role) -> Self {
        Self {
            id: r.id.to_string(),
            key: r.key.to_string(),
            label: r.label.to_string(),
            permissions: r.permissions.iter().map(|p| p.as_str().to_owned()).collect(),
            builtin: r.builtin,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub role_id: String,
    /// The id of the user who created the key; deleting or disabling that user revokes it.
    pub created_by: Option<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

impl From<kura_store::ApiKey> for ApiKeyView {
    fn from(k: kura_store::ApiKey) -> Self {
        Self {
            id: k.id.to_string(),
            name: k.name,
            role_id: k.role_id.to_string(),
            created_by: k.created_by.map(|u| u.to_string()),
            created_at: k.created_at.to_string(),
            expires_at: k.expires_at.map(|t| t.to_string()),
            revoked_at: k.revoked_at.map(|t| t.to_string()),
            last_used_at: k.last_used_at.map(|t| t.to_string()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    /// The secret token. Store it now: it is never shown again.
    pub token: String,
    pub key: ApiKeyView,
}
