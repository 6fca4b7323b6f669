//! The contract's end (TEN-4): claiming each reminder before the end once, deleting every row of
//! a tenant, and recording the deletion in the platform's table. Only the platform's write may
//! delete: the tenant's own chain is among what goes.

use super::Write;
use crate::error::StoreError;
use crate::sql;
use crate::sql::erasure::TenantDeletion;
use kura_domain::TenantId;

impl Write {
    /// How many rows of each category `tenant` has now (for the certificate and the check that
    /// nothing is left), in the order of deletion.
    pub async fn tenant_row_counts(&mut self, tenant: TenantId) -> Result<Vec<(&'static str, u64)>, StoreError> {
        self.in_platform(format!("tenant {tenant}"))?;
        sql::erasure::counts(&mut self.exec().await?, tenant).await
    }

    /// Deletes every row of `tenant`: records, collections, users, roles, sessions, API keys,
    /// certificates, second factors, mail, its audit chain and the tenant itself. Returns how
    /// many rows of each category were deleted.
    pub async fn erase_tenant(&mut self, tenant: TenantId) -> Result<Vec<(&'static str, u64)>, StoreError> {
        self.in_platform(format!("tenant {tenant}"))?;
        for id in sql::collections::ids(&mut self.exec().await?, tenant).await? {
            self.held.forget_seqs(tenant, id);
        }
        sql::erasure::delete_all(&mut self.exec().await?, tenant).await
    }

    /// Claims the `stage`-days reminder of `tenant`'s contract end on `end`, in the tenant's write
    /// that mails it (see `sql::erasure::claim_end_notice`).
    pub async fn claim_contract_end_notice(
        &mut self,
        tenant: TenantId,
        end: jiff::civil::Date,
        stage: u32,
    ) -> Result<bool, StoreError> {
        self.in_scope(tenant)?;
        sql::erasure::claim_end_notice(&mut self.exec().await?, tenant, end, stage).await
    }

    /// Records a deletion and its certificate in the platform's table.
    pub async fn record_tenant_deletion(&mut self, deletion: &TenantDeletion) -> Result<(), StoreError> {
        self.in_platform(format!("tenant {}", deletion.tenant_id))?;
        sql::erasure::insert(&mut self.exec().await?, deletion).await
    }
}
