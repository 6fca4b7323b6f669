//! Response bodies of the API that are not service types themselves, and the schema of record
//! values. Every schema carries an example (the API document's conventions: ARCHITECTURE.md).

use kura_domain::{Role, User};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{RefOr, schema::AdditionalProperties};

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"token": "0190a4c2e5b87d3f9a1c2b3d4e5f6a7b.kS3cr3tT0k3nValueShownOnce", "expires_at": "2026-11-22T03:00:00Z",
    "password_change_required": false, "recovery_codes": []}))]
pub struct SessionCreated {
    /// Bearer token for `Authorization: Bearer …`. Shown once.
    pub token: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// The user must change their password (`PUT /api/v1/me/password`) before anything else;
    /// every other call answers 403 `password_change_required` until then.
    pub password_change_required: bool,
    /// Recovery codes, when a second factor was enrolled while signing in (IAM-6): each works
    /// once in place of a code. Shown this once; empty otherwise.
    pub recovery_codes: Vec<String>,
}

impl SessionCreated {
    pub fn new(s: crate::service::sessions::NewSession, recovery_codes: Vec<String>) -> Self {
        Self {
            token: s.token,
            expires_at: s.expires_at.to_string(),
            password_change_required: s.password_change_required,
            recovery_codes,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"tenant": "acme", "tenant_name": "アクメ株式会社", "time_zone": "Asia/Tokyo",
    "actor": "admin@acme.example.jp", "actor_kind": "user", "role": "tenant_admin",
    "permissions": ["records.read", "records.write"]}))]
pub struct Me {
    pub tenant: String,
    pub tenant_name: String,
    pub time_zone: String,
    pub actor: String,
    /// `user` or `api_key`.
    pub actor_kind: String,
    pub role: String,
    pub permissions: Vec<String>,
    /// The user must change their password before anything else.
    pub password_change_required: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b", "email": "sato@acme.example.jp",
    "display_name": "佐藤 花子", "role_id": "0190a4c2-e5b8-7d3f-9a1c-000000000002", "status": "active", "language": "ja",
    "has_password": true, "must_change_password": false, "password_changed_at": "2026-11-22T00:00:00Z",
    "failed_logins": 0, "locked_at": null, "locked_until": null, "created_at": "2026-11-22T00:00:00Z",
    "updated_at": "2026-11-22T00:00:00Z"}))]
pub struct UserView {
    #[schema(format = Uuid)]
    pub id: String,
    pub email: String,
    pub display_name: String,
    #[schema(format = Uuid)]
    pub role_id: String,
    /// `active` or `disabled`.
    #[schema(pattern = "^(active|disabled)$")]
    pub status: String,
    /// The language of the user's mail: `ja` or `en`.
    #[schema(pattern = "^(ja|en)$")]
    pub language: String,
    /// Whether a password is set (an invited user has none until they follow the setup link).
    pub has_password: bool,
    /// The user must choose a new password at the next sign-in.
    pub must_change_password: bool,
    #[schema(format = DateTime)]
    pub password_changed_at: Option<String>,
    /// Consecutive failed sign-ins since the last success (IAM-5).
    pub failed_logins: u32,
    /// When failed sign-ins locked the account, if they did.
    #[schema(format = DateTime)]
    pub locked_at: Option<String>,
    /// When the lock ends by itself; `null` with `locked_at` set: until an administrator unlocks.
    #[schema(format = DateTime)]
    pub locked_until: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
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
            language: u.language.code().into(),
            has_password: u.has_password,
            must_change_password: u.must_change_password,
            password_changed_at: u.password_changed_at.map(|t| t.to_string()),
            failed_logins: u.failed_logins,
            locked_at: u.locked_at.map(|t| t.to_string()),
            locked_until: u.locked_until.map(|t| t.to_string()),
            created_at: u.created_at.to_string(),
            updated_at: u.updated_at.to_string(),
        }
    }
}

/// One of the caller's own sessions.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "3f9a0c1d2b4e5f60718293a4b5c6d7e8", "current": true, "user_agent": "Mozilla/5.0",
    "source_ip": "203.0.113.7", "created_at": "2026-11-22T00:00:00Z", "last_seen_at": "2026-11-22T00:40:00Z",
    "expires_at": "2026-11-22T03:00:00Z"}))]
pub struct OwnSessionView {
    /// Names the session for `DELETE /api/v1/me/sessions/{id}`; not a credential.
    pub id: String,
    /// The session this request came with.
    pub current: bool,
    pub user_agent: Option<String>,
    pub source_ip: Option<String>,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
}

impl From<kura_store::OwnSession> for OwnSessionView {
    fn from(s: kura_store::OwnSession) -> Self {
        Self {
            id: s.handle,
            current: s.current,
            user_agent: s.session.user_agent,
            source_ip: s.session.source_ip,
            created_at: s.session.created_at.to_string(),
            last_seen_at: s.session.last_seen_at.to_string(),
            expires_at: s.session.expires_at.to_string(),
        }
    }
}

/// How many sessions an operation ended.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"ended": 2}))]
pub struct SessionsEnded {
    pub ended: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0190a4c2-e5b8-7d3f-9a1c-000000000009", "key": "sales_staff", "label": "営業担当",
    "permissions": ["records.read", "records.write"], "builtin": false}))]
pub struct RoleView {
    #[schema(format = Uuid)]
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
#[schema(example = json!({"id": "0190a4c2-e5b8-7d3f-9a1c-00000000000a", "name": "nightly CRM sync",
    "role_id": "0190a4c2-e5b8-7d3f-9a1c-000000000003", "created_by": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b",
    "created_at": "2026-11-22T00:00:00Z", "expires_at": null, "revoked_at": null,
    "last_used_at": "2026-11-23T09:15:00Z", "last_used_ip": "198.51.100.7", "scopes": ["records.read"],
    "allowed_ranges": ["198.51.100.0/24"], "previous_valid_until": null}))]
pub struct ApiKeyView {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    #[schema(format = Uuid)]
    pub role_id: String,
    /// The id of the user who created the key; deleting or disabling that user revokes it.
    #[schema(format = Uuid)]
    pub created_by: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
    /// The client address of the last recorded use (recorded at most once a minute).
    pub last_used_ip: Option<String>,
    /// The permissions the key may use; `null`: all of its role's.
    pub scopes: Option<Vec<String>>,
    /// The address ranges the key may be used from; empty: wherever the tenant's API list allows.
    pub allowed_ranges: Vec<String>,
    /// After a rotation: until when the previous secret is still accepted.
    #[schema(format = DateTime)]
    pub previous_valid_until: Option<String>,
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
            last_used_ip: k.last_used_ip,
            scopes: k.scopes.map(|s| s.iter().map(|p| p.as_str().to_owned()).collect()),
            allowed_ranges: k.allowed_ranges.iter().map(ToString::to_string).collect(),
            previous_valid_until: k.previous_valid_until.map(|t| t.to_string()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"token": "kura_0190a4c2e5b87d3f9a1c2b3d4e5f6a7b_kS3cr3tT0k3nValueShownOnce",
    "key": {"id": "0190a4c2-e5b8-7d3f-9a1c-00000000000a", "name": "nightly CRM sync",
    "role_id": "0190a4c2-e5b8-7d3f-9a1c-000000000003", "created_by": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b",
    "created_at": "2026-11-22T00:00:00Z", "expires_at": null, "revoked_at": null, "last_used_at": null,
    "last_used_ip": null, "scopes": ["records.read"], "allowed_ranges": ["198.51.100.0/24"],
    "previous_valid_until": null}}))]
pub struct ApiKeyCreated {
    /// The secret token. Store it now: it is never shown again.
    pub token: String,
    pub key: ApiKeyView,
}

/// A record's values by field name: text, numbers, booleans, or `null` to clear a field. Dates
/// are text (`2026-04-01`); each field's type and rules are in the collection's definition.
#[derive(Debug)]
pub struct RecordValues;

impl utoipa::PartialSchema for RecordValues {
    fn schema() -> RefOr<Schema> {
        let value = OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)))
            .item(ObjectBuilder::new().schema_type(SchemaType::Type(Type::Number)))
            .item(ObjectBuilder::new().schema_type(SchemaType::Type(Type::Boolean)))
            .item(ObjectBuilder::new().schema_type(SchemaType::Type(Type::Null)));
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Object))
            .description(Some(
                "Field name → value: text, a number, a boolean, or null to clear the field. Dates are text \
                 such as 2026-04-01. Which fields exist, their types and rules are the collection's definition.",
            ))
            .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(Schema::OneOf(value.build())))))
            .examples([json!({"name": "山田 太郎", "kana": "ヤマダ タロウ", "points": 120, "plan": "premium"})])
            .into()
    }
}

impl ToSchema for RecordValues {}
