//! The `tenants` table: the operator's contracting customers.

use super::{constraint, corrupt, micros, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use jiff::civil::Date;
use kura_domain::{DisplayName, Slug, Tenant, TenantId, TenantStatus, TimeZoneName};
use uuid::Uuid;

macro_rules! cols {
    () => {
        "id, slug, display_name, time_zone, contract_start, contract_end, created_at, status"
    };
}

#[derive(sqlx::FromRow)]
pub(super) struct TenantRow {
    pub(super) id: Uuid,
    pub(super) slug: String,
    pub(super) display_name: String,
    pub(super) time_zone: String,
    pub(super) contract_start: Option<String>,
    pub(super) contract_end: Option<String>,
    pub(super) created_at: i64,
    pub(super) status: String,
}

fn date(s: Option<String>) -> Result<Option<Date>, StoreError> {
    s.map(|s| s.parse::<Date>().map_err(|e| corrupt("contract date", e))).transpose()
}

impl TryFrom<TenantRow> for Tenant {
    type Error = StoreError;
    fn try_from(r: TenantRow) -> Result<Self, StoreError> {
        Ok(Tenant {
            id: TenantId::from_uuid(r.id),
            slug: Slug::parse(&r.slug).map_err(|e| corrupt("tenant slug", e))?,
            display_name: DisplayName::parse(&r.display_name).map_err(|e| corrupt("tenant name", e))?,
            time_zone: TimeZoneName::parse(&r.time_zone).map_err(|e| corrupt("tenant time zone", e))?,
            contract_start: date(r.contract_start)?,
            contract_end: date(r.contract_end)?,
            status: TenantStatus::parse(&r.status).ok_or_else(|| corrupt("tenant status", &r.status))?,
            created_at: timestamp(r.created_at)?,
        })
    }
}

pub(crate) async fn all(e: &mut Exec<'_>) -> Result<Vec<Tenant>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM tenants ORDER BY slug");
    let rows: Vec<TenantRow> = run!(e, |c| sqlx::query_as(SQL).fetch_all(c).await)?;
    rows.into_iter().map(Tenant::try_from).collect()
}

pub(crate) async fn by_id(e: &mut Exec<'_>, id: TenantId) -> Result<Option<Tenant>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM tenants WHERE id = $1");
    let row: Option<TenantRow> = run!(e, |c| sqlx::query_as(SQL).bind(id.as_uuid()).fetch_optional(c).await)?;
    row.map(Tenant::try_from).transpose()
}

pub(crate) async fn by_slug(e: &mut Exec<'_>, slug: &Slug) -> Result<Option<Tenant>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM tenants WHERE slug = $1");
    let row: Option<TenantRow> = run!(e, |c| sqlx::query_as(SQL).bind(slug.as_str()).fetch_optional(c).await)?;
    row.map(Tenant::try_from).transpose()
}

pub(crate) async fn insert(e: &mut Exec<'_>, t: &Tenant) -> Result<(), StoreError> {
    const SQL: &str = concat!("INSERT INTO tenants (", cols!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
    // ISO 8601 civil dates (YYYY-MM-DD) sort and compare as text.
    let start = t.contract_start.map(|d| d.to_string());
    let end = t.contract_end.map(|d| d.to_string());
    run!(e, |c| sqlx::query(SQL)
        .bind(t.id.as_uuid())
        .bind(t.slug.as_str())
        .bind(t.display_name.as_str())
        .bind(t.time_zone.as_str())
        .bind(start.as_deref())
        .bind(end.as_deref())
        .bind(micros(t.created_at))
        .bind(t.status.as_str())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .map_err(constraint("a tenant with this slug already exists"))?;
    Ok(())
}

/// Sets a tenant's time zone (its administrator's own setting, LOG-4).
pub(crate) async fn set_time_zone(e: &mut Exec<'_>, tenant: TenantId, zone: &TimeZoneName) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE tenants SET time_zone = $2 WHERE id = $1";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(zone.as_str())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    super::found(n)
}

/// Writes a tenant's changeable settings: name, time zone, contract dates and status (its slug
/// and creation time never change).
pub(crate) async fn update(e: &mut Exec<'_>, t: &Tenant) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE tenants SET display_name = $2, time_zone = $3, contract_start = $4, contract_end = $5, \
                       status = $6 WHERE id = $1";
    let start = t.contract_start.map(|d| d.to_string());
    let end = t.contract_end.map(|d| d.to_string());
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(t.id.as_uuid())
        .bind(t.display_name.as_str())
        .bind(t.time_zone.as_str())
        .bind(start.as_deref())
        .bind(end.as_deref())
        .bind(t.status.as_str())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    super::found(n)
}
