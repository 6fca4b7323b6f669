//! Mail written with the change that causes it (so that a rolled-back change sends nothing, and a
//! committed one is never without its mail), and mail given up, with its audit entry.

use super::{Write, new_id};
use crate::error::StoreError;
use crate::sql;
use crate::sql::mail::NewMail;
use kura_domain::AuditScope;
use uuid::Uuid;

impl Write {
    /// Queues a mail of `scope` (this write's, or a tenant it opened); it is sent once the write
    /// commits.
    pub async fn enqueue_mail(&mut self, scope: AuditScope, mail: NewMail<'_>) -> Result<Uuid, StoreError> {
        if let AuditScope::Tenant(tenant) = scope {
            self.in_scope(tenant)?;
        } else {
            self.in_platform("a mail of the platform".to_owned())?;
        }
        let id = new_id();
        let now = self.now();
        sql::mail::insert(&mut self.exec().await?, id, scope, mail, now).await?;
        Ok(id)
    }

    /// Gives a pending mail up after its last attempt: it stays listed for the operator, its
    /// body erased. [`StoreError::NotFound`] if it is no longer pending.
    pub async fn give_up_mail(&mut self, id: Uuid, error: &str) -> Result<(), StoreError> {
        sql::mail::failed(&mut self.exec().await?, id, error).await
    }
}
