//! The sender's bookkeeping on the mail outbox: claiming due mail, and recording a delivery or a
//! retry. Like session activity, this changes no business state and is not audited (the change
//! that queued the mail was; a mail given up is, through [`crate::Write::give_up_mail`]). Each
//! call goes through the writer slot and returns once durable, so a claim is never lost to a
//! crash after it was acted on: a mail claimed by a node that stops is taken again once its
//! lease ends.

use crate::error::StoreError;
use crate::sql;
use crate::sql::mail::{MailStatus, OutboxMail};
use crate::store::Store;
use crate::time::now;
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

impl Store {
    /// Takes up to `limit` due mails for `lease`, counting the attempt.
    pub async fn claim_mail(&self, limit: u32, lease: SignedDuration) -> Result<Vec<OutboxMail>, StoreError> {
        let now = now(&*self.clock);
        let until = now.checked_add(lease).unwrap_or(now);
        let mut held = self.writer.hold().await?;
        let claimed = sql::mail::claim(&mut held.exec()?, now, until, limit).await?;
        held.commit_unaudited().await?;
        Ok(claimed)
    }

    /// Records a delivery; the body is erased.
    pub async fn mail_sent(&self, id: Uuid) -> Result<(), StoreError> {
        let now = now(&*self.clock);
        let mut held = self.writer.hold().await?;
        sql::mail::sent(&mut held.exec()?, id, now).await?;
        held.commit_unaudited().await
    }

    /// Records a failed attempt; the mail is due again at `next`.
    pub async fn mail_retry(&self, id: Uuid, next: Timestamp, error: &str) -> Result<(), StoreError> {
        let mut held = self.writer.hold().await?;
        sql::mail::retry(&mut held.exec()?, id, crate::time::micros_precision(next), error).await?;
        held.commit_unaudited().await
    }

    /// The newest mails first (without bodies), at most `limit`; only those with `status` if given.
    pub async fn mails(&self, status: Option<&str>, limit: u32) -> Result<Vec<MailStatus>, StoreError> {
        sql::mail::list(&mut self.db.read().await?.exec(), status, limit).await
    }
}
