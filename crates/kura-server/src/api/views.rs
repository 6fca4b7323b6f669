//! Response bodies of the API that are not service types themselves, and the schema of record
//! values. Every schema carries an example (the API document's conventions: ARCHITECTURE.md).

use kura_domain::{Role, User};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{RefOr, schema::AdditionalProperties};

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"token": "0190a4c2e5b87d3f9a1c2b3d4e5f6a7b.kS3cr3tT0k3nValueShownOnce", "expires_at": "2026-11-22T03:00:00Z"}))]
pub struct SessionCreated {
    /// Bearer token for `Authorization: Bearer …`. Shown once.
    pub token: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
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
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b", "email": "sato@acme.example.jp",
    "display_name": "佐藤 花子", "role_id": "0190a4c2-e5b8-7d3f-9a1c-000000000002", "status": "active",
    "created_at": "2026-11-22T00:00:00Z", "updated_at": "2026-11-22T00:00:00Z"}))]
pub struct UserView {
    #[schema(format = Uuid)]
    pub id: String,
    pub email: String,
    pub display_name: String,
    #[schema(format = Uuid)]
    pub role_id: String,
    #[schema(pattern = "^(active|disabled)$")]
    pub status: String,
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
            created_at: u.created_at.to_string(),
            updated_at: u.updated_at.to_string(),
        }
    }
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
    "created_at": "2026-11-22T00:00:00Z", "expires_at": null, "revoked_at": null, "last_used_at": null}))]
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
#[schema(example = json!({"token": "kura_0190a4c2e5b87d3f9a1c2b3d4e5f6a7b_kS3cr3tT0k3nValueShownOnce",
    "key": {"id": "0190a4c2-e5b8-7d3f-9a1c-00000000000a", "name": "nightly CRM sync",
    "role_id": "0190a4c2-e5b8-7d3f-9a1c-000000000003", "created_by": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b",
    "created_at": "2026-11-22T00:00:00Z", "expires_at": null, "revoked_at": null, "last_used_at": null}}))]
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
