//! The `client_certificates` table (IAM-11): what Kura knows of the client certificates it
//! issued to a tenant. Never the key.

use super::{constraint, found, micros, opt_timestamp, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use crate::rows::ClientCertificate;
use jiff::Timestamp;
use kura_domain::{TenantId, UserId};
use uuid::Uuid;

macro_rules! cols {
    () => {
        "tenant_id, serial, holder, fingerprint, not_before, not_after, created_at, created_by, revoked_at, \
         last_used_at, last_used_ip"
    };
}

#[derive(sqlx::FromRow)]
struct Row {
    tenant_id: Uuid,
    serial: String,
    holder: String,
    fingerprint: String,
    not_before: i64,
    not_after: i64,
    created_at: i64,
    created_by: Option<Uuid>,
    revoked_at: Option<i64>,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
}

impl TryFrom<Row> for ClientCertificate {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(ClientCertificate {
            tenant_id: TenantId::from_uuid(r.tenant_id),
            serial: r.serial,
            holder: r.holder,
            fingerprint: r.fingerprint,
            not_before: timestamp(r.not_before)?,
            not_after: timestamp(r.not_after)?,
            created_at: timestamp(r.created_at)?,
            created_by: r.created_by.map(UserId::from_uuid),
            revoked_at: opt_timestamp(r.revoked_at)?,
            last_used_at: opt_timestamp(r.last_used_at)?,
            last_used_ip: r.last_used_ip,
        })
    }
}

pub(crate) async fn insert(e: &mut Exec<'_>, c: &ClientCertificate) -> Result<(), StoreError> {
    const SQL: &str = concat!(
        "INSERT INTO client_certificates (",
        cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    run!(e, |conn| sqlx::query(SQL)
        .bind(c.tenant_id.as_uuid())
        .bind(c.serial.as_str())
        .bind(c.holder.as_str())
        .bind(c.fingerprint.as_str())
        .bind(micros(c.not_before))
        .bind(micros(c.not_after))
        .bind(micros(c.created_at))
        .bind(c.created_by.map(|u| u.as_uuid()))
        .bind(c.revoked_at.map(micros))
        .bind(c.last_used_at.map(micros))
        .bind(c.last_used_ip.as_deref())
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))
    .map_err(constraint("a certificate with this serial or fingerprint already exists"))?;
    Ok(())
}

/// The tenant's certificates, newest first.
pub(crate) async fn all(e: &mut Exec<'_>, tenant: TenantId) -> Result<Vec<ClientCertificate>, StoreError> {
    const SQL: &str =
        concat!("SELECT ", cols!(), " FROM client_certificates WHERE tenant_id = $1 ORDER BY created_at DESC, serial");
    let rows: Vec<Row> = run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).fetch_all(c).await)?;
    rows.into_iter().map(ClientCertificate::try_from).collect()
}

/// One of the tenant's certificates by serial.
pub(crate) async fn by_serial(
    e: &mut Exec<'_>,
    tenant: TenantId,
    serial: &str,
) -> Result<Option<ClientCertificate>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM client_certificates WHERE tenant_id = $1 AND serial = $2");
    let row: Option<Row> =
        run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(serial).fetch_optional(c).await)?;
    row.map(ClientCertificate::try_from).transpose()
}

/// Revokes a certificate; revoking it again keeps the first time.
pub(crate) async fn revoke(e: &mut Exec<'_>, tenant: TenantId, serial: &str, now: Timestamp) -> Result<(), StoreError> {
    const SQL: &str =
        "UPDATE client_certificates SET revoked_at = COALESCE(revoked_at, $3) WHERE tenant_id = $1 AND serial = $2";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(serial)
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}

/// Records a use of a certificate (time and client address).
pub(crate) async fn record_use(
    e: &mut Exec<'_>,
    tenant: TenantId,
    serial: &str,
    now: Timestamp,
    ip: Option<&str>,
) -> Result<(), StoreError> {
    const SQL: &str =
        "UPDATE client_certificates SET last_used_at = $3, last_used_ip = $4 WHERE tenant_id = $1 AND serial = $2";
    run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(serial)
        .bind(micros(now))
        .bind(ip)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}
