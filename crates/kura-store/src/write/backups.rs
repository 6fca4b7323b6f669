//! Backups (OPS-1): recording a verification or restore drill in the platform's table, in the
//! platform write whose audit entry says the same.

use super::Write;
use crate::error::StoreError;
use crate::sql;

impl Write {
    /// Records a backup's verification or restore drill.
    pub async fn record_backup_check(&mut self, check: &crate::BackupCheck) -> Result<(), StoreError> {
        self.in_platform(format!("backup {}", check.backup_id))?;
        sql::backups::insert(&mut self.exec().await?, check).await
    }
}
