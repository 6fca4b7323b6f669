//! Mail written with the change that causes it (so that a rolled-back change sends nothing, and a
//! committed one is never without its mail), and mail given up, with its audit entry.

use super::{Write, new_id};
use crate::error::StoreError;
use crate::sql;
use crate::sql::mail::NewMail;
use uuid::Uuid;

impl Write {
    /// Queues a mail in this write's scope; it is sent once the write commits.
    pub async fn enqueue_mail(&mut self, mail: NewMail<'_>) -> Result<Uuid, StoreError> {
        let id = new_id();
        let now = self.now();
        let scope = self.scope;
        sql::mail::insert(&mut self.exec().await?, id, scope, mail, now).await?;
        Ok(id)
    }

    /// Gives a pending mail up after its last attempt: it stays listed for the operator, its
    /// body erased. [`StoreError::NotFound`] if it is no longer pending.
    pub async fn give_up_mail(&mut self, id: Uuid, error: &str) -> Result<(), StoreError> {
        sql::mail::failed(&mut self.exec().await?, id, error).await
    }
}
