//! The `user_views` table: what each user chose to see of a collection (the columns of its
//! records table in the console).

use super::micros;
use crate::conn::{Exec, run};
use crate::error::StoreError;
use jiff::Timestamp;
use kura_domain::{CollectionId, TenantId, UserId};

/// The user's chosen columns of a collection, as stored (comma-separated field names).
pub(crate) async fn columns(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
    collection: CollectionId,
) -> Result<Option<String>, StoreError> {
    const SQL: &str = "SELECT columns FROM user_views WHERE tenant_id = $1 AND user_id = $2 AND collection_id = $3";
    Ok(run!(e, |c| sqlx::query_scalar(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(collection.as_uuid())
        .fetch_optional(c)
        .await)?)
}

/// Sets the user's columns of a collection. A user or collection that does not exist in the
/// tenant is [`StoreError::NotFound`] (the foreign keys).
pub(crate) async fn save(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
    collection: CollectionId,
    columns: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO user_views (tenant_id, user_id, collection_id, columns, updated_at) \
                       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, user_id, collection_id) \
                       DO UPDATE SET columns = excluded.columns, updated_at = excluded.updated_at";
    run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(collection.as_uuid())
        .bind(columns)
        .bind(micros(at))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .map_err(|err| match &err {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Database(err),
    })?;
    Ok(())
}
