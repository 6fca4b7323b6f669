//! Who is asking: a request's credential joined with everything needed to authorise it (the
//! tenant, the account and its role) in one statement, because this runs on every request and
//! each statement costs a round trip (SQLite: a hand-off to its worker thread; PostgreSQL: the
//! network). The rows decode through the same row types as the single-table queries, so the
//! result is exactly what those would return one by one. A request on a collection also names
//! it, and gets the collection's head (see `Store::collection_at`) from the same statement.

use super::api_keys::ApiKeyRow;
use super::micros;
use super::roles::RoleRow;
use super::sessions::SessionRow;
use super::tenants::TenantRow;
use super::users::UserRow;
use crate::conn::{Exec, run};
use crate::error::StoreError;
use crate::rows::CollectionHead;
use crate::rows::{ApiKeyContext, UserSessionContext};
use jiff::Timestamp;
use kura_crypto::TokenDigest;
use kura_domain::{Key, TenantId};
use uuid::Uuid;

/// The tenant and role columns both joins return, aliased apart from the credential's own.
macro_rules! tenant_role_cols {
    () => {
        "t.slug AS t_slug, t.display_name AS t_display_name, t.time_zone AS t_time_zone, \
         t.contract_start AS t_contract_start, t.contract_end AS t_contract_end, \
         t.created_at AS t_created_at, t.status AS t_status, \
         r.id AS r_id, r.role_key AS r_role_key, r.label AS r_label, r.permissions AS r_permissions, \
         r.builtin AS r_builtin, \
         c.id AS c_id, c.revision AS c_revision, c.change_seq AS c_change_seq, c.delete_seq AS c_delete_seq"
    };
}

/// The collection named by `$4`, if any: a `NULL` name joins nothing.
macro_rules! collection_join {
    ($tenant:literal) => {
        concat!(" LEFT JOIN collections c ON c.tenant_id = ", $tenant, " AND c.name = $4")
    };
}

#[derive(sqlx::FromRow)]
struct TenantRoleCols {
    t_slug: String,
    t_display_name: String,
    t_time_zone: String,
    t_contract_start: Option<String>,
    t_contract_end: Option<String>,
    t_created_at: i64,
    t_status: String,
    r_id: Uuid,
    r_role_key: String,
    r_label: String,
    r_permissions: String,
    r_builtin: bool,
    c_id: Option<Uuid>,
    c_revision: Option<i64>,
    c_change_seq: Option<i64>,
    c_delete_seq: Option<i64>,
}

impl TenantRoleCols {
    fn collection(&self) -> Option<CollectionHead> {
        Some(CollectionHead {
            id: self.c_id?,
            revision: self.c_revision?,
            change_seq: self.c_change_seq?,
            delete_seq: self.c_delete_seq?,
        })
    }

    fn split(self, tenant: Uuid) -> (TenantRow, RoleRow) {
        let t = TenantRow {
            id: tenant,
            slug: self.t_slug,
            display_name: self.t_display_name,
            time_zone: self.t_time_zone,
            contract_start: self.t_contract_start,
            contract_end: self.t_contract_end,
            created_at: self.t_created_at,
            status: self.t_status,
        };
        let r = RoleRow {
            tenant_id: tenant,
            id: self.r_id,
            role_key: self.r_role_key,
            label: self.r_label,
            permissions: self.r_permissions,
            builtin: self.r_builtin,
        };
        (t, r)
    }
}

#[derive(sqlx::FromRow)]
struct UserSessionRow {
    user_id: Uuid,
    csrf_token: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    source_ip: Option<String>,
    user_agent: Option<String>,
    u_email: String,
    u_display_name: String,
    u_role_id: Uuid,
    u_status: String,
    u_created_at: i64,
    u_updated_at: i64,
    u_lang: String,
    u_has_password: bool,
    u_must_change_password: bool,
    u_password_changed_at: Option<i64>,
    u_failed_logins: i64,
    u_locked_at: Option<i64>,
    u_locked_until: Option<i64>,
    ts_policy: Option<String>,
    #[sqlx(flatten)]
    rest: TenantRoleCols,
}

/// A live (unexpired) user session of `tenant` with its user, tenant and the user's role, and
/// the head of the collection named `collection` if it exists. The caller still checks the idle
/// timeout and the user's status.
pub(crate) async fn user_session(
    e: &mut Exec<'_>,
    tenant: TenantId,
    digest: &TokenDigest,
    now: Timestamp,
    collection: Option<&Key>,
    sealer: &crate::vault::Sealer,
) -> Result<Option<UserSessionContext>, StoreError> {
    const SQL: &str = concat!(
        "SELECT s.user_id, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, s.source_ip, ",
        "s.user_agent, u.email AS u_email, u.display_name AS u_display_name, u.role_id AS u_role_id, ",
        "u.status AS u_status, u.created_at AS u_created_at, u.updated_at AS u_updated_at, ",
        "u.lang AS u_lang, u.password_hash IS NOT NULL AS u_has_password, ",
        "u.must_change_password AS u_must_change_password, u.password_changed_at AS u_password_changed_at, ",
        "u.failed_logins AS u_failed_logins, u.locked_at AS u_locked_at, u.locked_until AS u_locked_until, ",
        "ts.policy AS ts_policy, ",
        tenant_role_cols!(),
        " FROM sessions s",
        " JOIN users u ON u.tenant_id = s.scope_id AND u.id = s.user_id",
        " JOIN tenants t ON t.id = s.scope_id",
        // The tenant's session policy (idle timeout) applies to every request, on every node.
        " LEFT JOIN tenant_security ts ON ts.tenant_id = s.scope_id",
        " JOIN roles r ON r.tenant_id = u.tenant_id AND r.id = u.role_id",
        collection_join!("s.scope_id"),
        " WHERE s.scope_id = $1 AND s.token_hash = $2 AND s.expires_at > $3"
    );
    let Some(row) = fetch::<UserSessionRow>(e, SQL, tenant, digest, now, collection).await? else {
        return Ok(None);
    };
    let t = tenant.as_uuid();
    let session = SessionRow {
        scope_id: t,
        user_id: Some(row.user_id),
        operator_id: None,
        csrf_token: row.csrf_token,
        created_at: row.created_at,
        last_seen_at: row.last_seen_at,
        expires_at: row.expires_at,
        source_ip: row.source_ip,
        user_agent: row.user_agent,
    };
    let user = UserRow {
        tenant_id: t,
        id: row.user_id,
        email: row.u_email,
        display_name: row.u_display_name,
        role_id: row.u_role_id,
        status: row.u_status,
        created_at: row.u_created_at,
        updated_at: row.u_updated_at,
        lang: row.u_lang,
        has_password: row.u_has_password,
        must_change_password: row.u_must_change_password,
        password_changed_at: row.u_password_changed_at,
        failed_logins: row.u_failed_logins,
        locked_at: row.u_locked_at,
        locked_until: row.u_locked_until,
    };
    let policy = row.ts_policy.as_deref().map(super::security::parse).transpose()?;
    let head = row.rest.collection();
    let (tenant_row, role) = row.rest.split(t);
    Ok(Some(UserSessionContext {
        policy,
        collection: head,
        session: session.try_into()?,
        user: user.open(sealer)?,
        tenant: tenant_row.try_into()?,
        role: role.open(sealer)?,
    }))
}

#[derive(sqlx::FromRow)]
struct ApiKeyContextRow {
    id: Uuid,
    name: String,
    role_id: Uuid,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    last_used_at: Option<i64>,
    created_by: Option<Uuid>,
    last_used_ip: Option<String>,
    scopes: Option<String>,
    allowed_ranges: Option<String>,
    previous_valid_until: Option<i64>,
    ts_policy: Option<String>,
    #[sqlx(flatten)]
    rest: TenantRoleCols,
}

/// A usable (not revoked, not expired at `now`) API key of `tenant` by digest, with its tenant
/// and role, and the head of the collection named `collection` if it exists.
pub(crate) async fn api_key(
    e: &mut Exec<'_>,
    tenant: TenantId,
    digest: &TokenDigest,
    now: Timestamp,
    collection: Option<&Key>,
    sealer: &crate::vault::Sealer,
) -> Result<Option<ApiKeyContext>, StoreError> {
    const SQL: &str = concat!(
        "SELECT k.id, k.name, k.role_id, k.created_at, k.expires_at, k.revoked_at, k.last_used_at, k.created_by, ",
        "k.last_used_ip, k.scopes, k.allowed_ranges, k.previous_valid_until, ",
        "ts.policy AS ts_policy, ",
        tenant_role_cols!(),
        " FROM api_keys k",
        " JOIN tenants t ON t.id = k.tenant_id",
        // The tenant's API address list (IAM-10) applies to every request, on every node.
        " LEFT JOIN tenant_security ts ON ts.tenant_id = k.tenant_id",
        " JOIN roles r ON r.tenant_id = k.tenant_id AND r.id = k.role_id",
        collection_join!("k.tenant_id"),
        // The current secret, or the previous one within its grace period after a rotation.
        " WHERE k.tenant_id = $1 AND (k.token_hash = $2 OR (k.previous_token_hash = $2 AND k.previous_valid_until > $3))",
        " AND k.revoked_at IS NULL",
        " AND (k.expires_at IS NULL OR k.expires_at > $3)"
    );
    let Some(row) = fetch::<ApiKeyContextRow>(e, SQL, tenant, digest, now, collection).await? else {
        return Ok(None);
    };
    let t = tenant.as_uuid();
    let key = ApiKeyRow {
        tenant_id: t,
        id: row.id,
        name: row.name,
        role_id: row.role_id,
        created_at: row.created_at,
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
        last_used_at: row.last_used_at,
        created_by: row.created_by,
        last_used_ip: row.last_used_ip,
        scopes: row.scopes,
        allowed_ranges: row.allowed_ranges,
        previous_valid_until: row.previous_valid_until,
    };
    let policy = row.ts_policy.as_deref().map(super::security::parse).transpose()?;
    let head = row.rest.collection();
    let (tenant_row, role) = row.rest.split(t);
    Ok(Some(ApiKeyContext {
        policy,
        key: key.open(sealer)?,
        tenant: tenant_row.try_into()?,
        role: role.open(sealer)?,
        collection: head,
    }))
}

/// Runs one of the two queries above: both take the tenant, the token digest, the time and the
/// collection's name, as `$1`…`$4`.
async fn fetch<R>(
    e: &mut Exec<'_>,
    sql: &'static str,
    tenant: TenantId,
    digest: &TokenDigest,
    now: Timestamp,
    collection: Option<&Key>,
) -> Result<Option<R>, StoreError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    Ok(run!(e, |c| sqlx::query_as(sql)
        .bind(tenant.as_uuid())
        .bind(digest.0.as_slice())
        .bind(micros(now))
        .bind(collection.map(Key::as_str))
        .fetch_optional(c)
        .await)?)
}
