//! Writes of settings: a tenant's own (by the operator: name, time zone, contract, status) and a
//! user's view of a collection.

use super::Write;
use crate::error::StoreError;
use crate::sql;
use kura_domain::{CollectionId, Tenant, TenantId, TimeZoneName, UserId};

impl Write {
    /// Replaces a tenant's changeable settings with those of `tenant` (its slug and creation time
    /// are kept). Tenants belong to the platform's audit scope.
    pub async fn update_tenant(&mut self, tenant: &Tenant) -> Result<(), StoreError> {
        self.in_platform(format!("tenant {}", tenant.id))?;
        sql::tenants::update(&mut self.exec().await?, tenant).await
    }

    /// Sets a tenant's time zone, in the tenant's own write: its administrator's setting (LOG-4),
    /// audited in the tenant's log.
    pub async fn set_time_zone(&mut self, tenant: TenantId, zone: &TimeZoneName) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        sql::tenants::set_time_zone(&mut self.exec().await?, tenant, zone).await
    }

    /// Remembers the columns `user` chose to see of a collection's records.
    pub async fn save_view_columns(
        &mut self,
        tenant: TenantId,
        user: UserId,
        collection: CollectionId,
        columns: &[&str],
    ) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        sql::views::save(&mut self.exec().await?, tenant, user, collection, &columns.join(","), now).await
    }
}
