//! The `api_keys` table. Only the key's digest is stored; the secret is shown once. A key's name
//! is sealed under the tenant's key (`vault/`, DAT-2).

use super::{constraint, found, micros, opt_timestamp, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use crate::rows::ApiKey;
use crate::vault::Sealer;
use jiff::Timestamp;
use kura_crypto::TokenDigest;
use kura_domain::{ApiKeyId, RoleId, TenantId, UserId};
use uuid::Uuid;

macro_rules! cols {
    () => {
        "tenant_id, id, name, role_id, created_at, expires_at, revoked_at, last_used_at, created_by, last_used_ip, \
         scopes, allowed_ranges, previous_valid_until"
    };
}

#[derive(sqlx::FromRow)]
pub(super) struct ApiKeyRow {
    pub(super) tenant_id: Uuid,
    pub(super) id: Uuid,
    pub(super) name: String,
    pub(super) role_id: Uuid,
    pub(super) created_at: i64,
    pub(super) expires_at: Option<i64>,
    pub(super) revoked_at: Option<i64>,
    pub(super) last_used_at: Option<i64>,
    pub(super) created_by: Option<Uuid>,
    pub(super) last_used_ip: Option<String>,
    pub(super) scopes: Option<String>,
    pub(super) allowed_ranges: Option<String>,
    pub(super) previous_valid_until: Option<i64>,
}

/// The stored form of a key's address ranges (`None` when there are none).
pub(crate) fn ranges_text(ranges: &[ipnet::IpNet]) -> Option<String> {
    (!ranges.is_empty()).then(|| ranges.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))
}

/// The table and field bound into a name's seal; the row is the key's id.
const API_KEYS: &str = "api_keys";
const NAME: &str = "name";

impl ApiKeyRow {
    /// The key, its name opened by the tenant's `sealer`.
    pub(super) fn open(mut self, sealer: &Sealer) -> Result<ApiKey, StoreError> {
        self.name = sealer.open_text(API_KEYS, self.id.as_bytes(), NAME, std::mem::take(&mut self.name))?;
        let r = self;
        Ok(ApiKey {
            id: ApiKeyId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            name: r.name,
            role_id: RoleId::from_uuid(r.role_id),
            created_by: r.created_by.map(UserId::from_uuid),
            created_at: timestamp(r.created_at)?,
            expires_at: opt_timestamp(r.expires_at)?,
            revoked_at: opt_timestamp(r.revoked_at)?,
            last_used_at: opt_timestamp(r.last_used_at)?,
            last_used_ip: r.last_used_ip,
            scopes: r
                .scopes
                .as_deref()
                .map(kura_domain::PermissionSet::parse_list)
                .transpose()
                .map_err(|e| super::corrupt("API key scopes", e))?,
            allowed_ranges: r
                .allowed_ranges
                .as_deref()
                .unwrap_or("")
                .split(',')
                .filter(|n| !n.is_empty())
                .map(|n| n.parse::<ipnet::IpNet>().map_err(|e| super::corrupt("API key ranges", e)))
                .collect::<Result<_, _>>()?,
            previous_valid_until: opt_timestamp(r.previous_valid_until)?,
        })
    }
}

pub(crate) async fn all(e: &mut Exec<'_>, tenant: TenantId, sealer: &Sealer) -> Result<Vec<ApiKey>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id");
    let rows: Vec<ApiKeyRow> = run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).fetch_all(c).await)?;
    rows.into_iter().map(|r| r.open(sealer)).collect()
}

/// Finds a usable key (not revoked, not expired at `now`) by digest and records its use (time
/// and client address), in one statement.
pub(crate) async fn use_by_digest(
    e: &mut Exec<'_>,
    tenant: TenantId,
    digest: &TokenDigest,
    now: Timestamp,
    ip: Option<&str>,
    sealer: &Sealer,
) -> Result<Option<ApiKey>, StoreError> {
    const SQL: &str = concat!(
        "UPDATE api_keys SET last_used_at = $3, last_used_ip = $4 ",
        "WHERE tenant_id = $1 AND (token_hash = $2 OR (previous_token_hash = $2 AND previous_valid_until > $3)) ",
        "AND revoked_at IS NULL ",
        "AND (expires_at IS NULL OR expires_at > $3) RETURNING ",
        cols!()
    );
    let row: Option<ApiKeyRow> = run!(e, |c| sqlx::query_as(SQL)
        .bind(tenant.as_uuid())
        .bind(digest.0.as_slice())
        .bind(micros(now))
        .bind(ip)
        .fetch_optional(c)
        .await)?;
    row.map(|r| r.open(sealer)).transpose()
}

pub(crate) async fn insert(
    e: &mut Exec<'_>,
    key: &ApiKey,
    digest: &TokenDigest,
    sealer: &Sealer,
) -> Result<(), StoreError> {
    const SQL: &str = concat!(
        "INSERT INTO api_keys (",
        cols!(),
        ", token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    );
    run!(e, |c| sqlx::query(SQL)
        .bind(key.tenant_id.as_uuid())
        .bind(key.id.as_uuid())
        .bind(sealer.seal_text(API_KEYS, key.id.as_uuid().as_bytes(), NAME, &key.name))
        .bind(key.role_id.as_uuid())
        .bind(micros(key.created_at))
        .bind(key.expires_at.map(micros))
        .bind(key.revoked_at.map(micros))
        .bind(key.last_used_at.map(micros))
        .bind(key.created_by.map(|u| u.as_uuid()))
        .bind(key.last_used_ip.as_deref())
        .bind(key.scopes.map(kura_domain::PermissionSet::to_list))
        .bind(ranges_text(&key.allowed_ranges))
        .bind(key.previous_valid_until.map(micros))
        .bind(digest.0.as_slice())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .map_err(constraint("an API key with this secret already exists"))?;
    Ok(())
}

/// The tenant's live keys expiring after `now` and at or before `before` whose last reminder is
/// not yet `stage` or nearer (the candidates for a reminder).
pub(crate) async fn expiring(
    e: &mut Exec<'_>,
    tenant: TenantId,
    now: Timestamp,
    before: Timestamp,
    stage: u32,
    sealer: &Sealer,
) -> Result<Vec<ApiKey>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        cols!(),
        " FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND expires_at <= $3 ",
        "AND (expiry_notice = 0 OR expiry_notice > $4) ORDER BY id"
    );
    let rows: Vec<ApiKeyRow> = run!(e, |c| sqlx::query_as(SQL)
        .bind(tenant.as_uuid())
        .bind(micros(now))
        .bind(micros(before))
        .bind(i64::from(stage))
        .fetch_all(c)
        .await)?;
    rows.into_iter().map(|r| r.open(sealer)).collect()
}

/// Records that the `stage`-days reminder goes out for the key, unless it (or a nearer one)
/// already did; returns whether this write is the one to send it (of two nodes, one is).
pub(crate) async fn claim_expiry_notice(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: ApiKeyId,
    stage: u32,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE api_keys SET expiry_notice = $3 WHERE tenant_id = $1 AND id = $2 \
                       AND revoked_at IS NULL AND (expiry_notice = 0 OR expiry_notice > $3)";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .bind(i64::from(stage))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Gives a live key a new secret (`digest`); the current one stays accepted until `grace_until`
/// (the previous one of an earlier rotation is dropped). Returns the key, or `None` when there
/// is no such live key.
pub(crate) async fn rotate(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: ApiKeyId,
    digest: &TokenDigest,
    grace_until: Timestamp,
    now: Timestamp,
    sealer: &Sealer,
) -> Result<Option<ApiKey>, StoreError> {
    const SQL: &str = concat!(
        "UPDATE api_keys SET previous_token_hash = token_hash, previous_valid_until = $4, token_hash = $3 ",
        "WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $5) ",
        "RETURNING ",
        cols!()
    );
    let row: Option<ApiKeyRow> = run!(e, |c| sqlx::query_as(SQL)
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .bind(digest.0.as_slice())
        .bind(micros(grace_until))
        .bind(micros(now))
        .fetch_optional(c)
        .await)?;
    row.map(|r| r.open(sealer)).transpose()
}

/// Revokes a key; revoking a revoked key keeps its first revocation time.
pub(crate) async fn revoke(e: &mut Exec<'_>, tenant: TenantId, id: ApiKeyId, now: Timestamp) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) WHERE tenant_id = $1 AND id = $2";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}

/// Revokes every key `user` created that is not revoked yet; returns how many.
pub(crate) async fn revoke_created_by(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
    now: Timestamp,
) -> Result<u64, StoreError> {
    const SQL: &str =
        "UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND created_by = $2 AND revoked_at IS NULL";
    Ok(run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Keys whose name is not sealed (written before they were sealed), as `(tenant, id, name)`.
pub(crate) async fn unsealed(e: &mut Exec<'_>) -> Result<Vec<(Uuid, Uuid, String)>, StoreError> {
    const SQL: &str = "SELECT tenant_id, id, name FROM api_keys WHERE name NOT LIKE $1 ORDER BY tenant_id";
    Ok(run!(e, |c| sqlx::query_as(SQL).bind(crate::vault::SEALED_TEXT_PATTERN).fetch_all(c).await)?)
}

/// Seals a key's name written before they were sealed, if it is still as it was read.
pub(crate) async fn seal_unsealed(e: &mut Exec<'_>, sealer: &Sealer, id: Uuid, name: &str) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE api_keys SET name = $3 WHERE tenant_id = $1 AND id = $2 AND name = $4";
    let sealed = sealer.seal_text(API_KEYS, id.as_bytes(), NAME, name);
    run!(e, |c| sqlx::query(SQL)
        .bind(sealer.tenant().as_uuid())
        .bind(id)
        .bind(&sealed)
        .bind(name)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}
