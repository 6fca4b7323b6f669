//! Kura's domain model: the values a tenant stores and the rules that govern them.
//!
//! **Architecture invariant:** this crate does no IO. It reads no clock (time arrives through
//! [`Clock`]), opens no file or socket, and generates no randomness; identifiers are minted by the
//! store. Everything here is therefore deterministic and unit-testable.

mod audit;
mod break_glass;
mod collection;
mod error;
mod ids;
mod language;
mod names;
mod normalize;
mod password_rules;
mod permission;
mod query;
mod record;
mod role;
mod security;
mod tenant;
mod time;
mod user;

pub use audit::{Actor, ActorKind, AuditEntry, AuditRecord, AuditScope, Operation, Outcome, StoredFields};
pub use break_glass::{
    APPROVAL_HOURS, BreakGlass, BreakGlassRequest, BreakGlassStatus, MAX_MINUTES as BREAK_GLASS_MAX_MINUTES,
    SUPPORT_ROLE, support_permissions,
};
pub use collection::{Charset, Collection, CollectionSpec, FieldDef, FieldType, Rules};
pub use error::{DomainError, FieldError, FieldErrorKind};
pub use ids::{ApiKeyId, CollectionId, OperatorId, RecordId, RoleId, TenantId, UserId};
pub use language::Language;
pub use names::{DisplayName, Email, Key, Slug, is_invisible_control};
pub use normalize::{to_full_width_katakana, to_half_width};
pub use password_rules::PasswordProblem;
pub use permission::{Permission, PermissionSet};
pub use query::{
    CompareOp, Condition, Filter, Found, ListQuery, Literal, MAX_PER_PAGE, Page, QueryError, RecordIndex, SortKey,
};
pub use record::{FieldValue, MASK, Record, RecordData, WriteMode};
pub use role::{BuiltinRole, Role};
pub use security::{
    AccessLogPolicy, AddressPolicy, CertificateRequirement, ConcurrentLogins, LockoutPolicy, PasswordPolicy,
    SecondFactorRule, SecurityPolicy, SessionPolicy, Surface, bounds, check_ranges, parse_range,
};
pub use tenant::{Tenant, TenantBlock, TenantSpec, TenantStatus};
pub use time::{Clock, ManualClock, TimeZoneName, format_in_zone};
pub use user::{Operator, User, UserStatus};
