//! Mail written with the change that causes it (so that a rolled-back change sends nothing, and a
//! committed one is never without its mail), and mail given up, with its audit entry.

use super::{Write, new_id};
use crate::error::StoreError;
use crate::sql;
use crate::sql::mail::NewMail;
use crate::vault::{MAIL_BODY, MAIL_ERROR, MAIL_RECIPIENT, MAIL_SUBJECT};
use kura_domain::AuditScope;
use uuid::Uuid;

impl Write {
    /// Queues a mail of `scope` (this write's, or a tenant it opened); it is sent once the write
    /// commits. A tenant's mail has its recipient, subject and body sealed under the tenant's
    /// key (`vault/mail.rs`); the platform's stays plain.
    pub async fn enqueue_mail(&mut self, scope: AuditScope, mail: NewMail<'_>) -> Result<Uuid, StoreError> {
        let id = new_id();
        let now = self.now();
        if let AuditScope::Tenant(tenant) = scope {
            self.in_scope(tenant)?;
            let sealer = self.sealer(tenant).await?;
            let recipient = sealer.seal_mail(id, MAIL_RECIPIENT, mail.recipient);
            let subject = sealer.seal_mail(id, MAIL_SUBJECT, mail.subject);
            let body = sealer.seal_mail(id, MAIL_BODY, mail.body);
            let sealed = NewMail { recipient: &recipient, subject: &subject, body: &body, ..mail };
            sql::mail::insert(&mut self.exec().await?, id, scope, sealed, now).await?;
        } else {
            self.in_platform("a mail of the platform".to_owned())?;
            sql::mail::insert(&mut self.exec().await?, id, scope, mail, now).await?;
        }
        Ok(id)
    }

    /// Gives a pending mail up after its last attempt: it stays listed for the operator, its
    /// body erased. [`StoreError::NotFound`] if it is no longer pending.
    pub async fn give_up_mail(&mut self, id: Uuid, error: &str) -> Result<(), StoreError> {
        let error = match self.scope {
            AuditScope::Tenant(tenant) => self.sealer(tenant).await?.seal_mail(id, MAIL_ERROR, error),
            AuditScope::Platform => error.to_owned(),
        };
        sql::mail::failed(&mut self.exec().await?, id, &error).await
    }
}
