//! Purging what has outlived its retention, as an audited write: the purge and its entry (with
//! the count) commit together.

use super::Write;
use crate::error::StoreError;
use crate::sql;
use jiff::Timestamp;
use kura_domain::AuditScope;

impl Write {
    /// Deletes the access log entries of this write's scope older than `before` (LOG-2);
    /// returns how many.
    pub async fn purge_access_log(&mut self, before: Timestamp) -> Result<u64, StoreError> {
        let scope = self.scope();
        match scope {
            AuditScope::Tenant(t) => self.in_scope(t)?,
            AuditScope::Platform => self.in_platform("access log".into())?,
        }
        sql::access_log::purge(&mut self.exec().await?, scope, before).await
    }
}
