//! Reads that serve the consoles' overviews: how many records each collection holds, and the
//! columns a user chose to see of a collection.

use crate::conn::Scope;
use crate::error::StoreError;
use crate::sql;
use crate::store::Store;
use kura_domain::{CollectionId, TenantId, UserId};

impl Store {
    /// The number of records of each collection of the tenant, in one statement (collections
    /// without records are absent).
    pub async fn record_counts(&self, tenant: TenantId) -> Result<Vec<(CollectionId, u64)>, StoreError> {
        sql::records::counts_by_collection(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant).await
    }

    /// The field names a user chose to see in a collection's records table, in their order;
    /// `None` when the user never chose.
    pub async fn view_columns(
        &self,
        tenant: TenantId,
        user: UserId,
        collection: CollectionId,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let stored =
            sql::views::columns(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, user, collection)
                .await?;
        Ok(stored.map(|s| s.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect()))
    }
}
