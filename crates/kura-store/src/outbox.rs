//! The sender's bookkeeping on the mail outbox: claiming due mail, and recording a delivery or a
//! retry. Like session activity, this changes no business state and is not audited (the change
//! that queued the mail was; a mail given up is, through [`crate::Write::give_up_mail`]). Each
//! call goes through the writer slot and returns once durable, so a claim is never lost to a
//! crash after it was acted on: a mail claimed by a node that stops is taken again once its
//! lease ends.

use crate::conn::Scope;
use crate::error::StoreError;
use crate::sql;
use crate::sql::mail::{MailStatus, OutboxMail};
use crate::store::Store;
use crate::time::now;
use crate::vault::{MAIL_BODY, MAIL_ERROR, MAIL_RECIPIENT, MAIL_SUBJECT};
use jiff::{SignedDuration, Timestamp};
use kura_domain::{AuditScope, TenantId};
use uuid::Uuid;

/// Why a mail that does not open was given up (its last error; never its contents).
const UNOPENED: &str = "the mail could not be decrypted with its tenant's key (destroyed, or the row was altered)";

/// What the operator's list shows for a recipient or subject that does not open.
pub const UNOPENED_TEXT: &str = "(encrypted; the tenant's key does not open it)";

/// The mails a claim took: those to deliver, opened, and those given up because they did not
/// open.
#[derive(Debug, Default)]
pub struct ClaimedMail {
    pub mails: Vec<OutboxMail>,
    /// Each mail given up: its tenant, its id, and why it did not open
    /// ([`StoreError::Unreadable`] names where, never what).
    pub unopened: Vec<(TenantId, Uuid, StoreError)>,
}

impl Store {
    /// Takes up to `limit` due mails for `lease`, counting the attempt, opened: a tenant's
    /// mail is opened with its key. A mail that does not open (its tenant's key destroyed, or
    /// the row altered) cannot be sent: it is given up at once, logged without its contents,
    /// and returned in [`ClaimedMail::unopened`] for the caller to record.
    pub async fn claim_mail(&self, limit: u32, lease: SignedDuration) -> Result<ClaimedMail, StoreError> {
        let now = now(&*self.clock);
        let until = now.checked_add(lease).unwrap_or(now);
        // The platform route: the sender takes every scope's due mail.
        let mut held = self.writer.hold(Scope::Platform).await?;
        let claimed = sql::mail::claim(&mut held.exec()?, now, until, limit).await?;
        held.commit_unaudited().await?;
        let mut out = ClaimedMail { mails: Vec::with_capacity(claimed.len()), unopened: Vec::new() };
        for mail in claimed {
            match self.open_mail(mail).await {
                Ok(mail) => out.mails.push(mail),
                Err((tenant, id, e)) => {
                    tracing::error!(mail = %id, error = %e, "a queued mail could not be decrypted; given up");
                    out.unopened.push((tenant, id, e));
                }
            }
        }
        if !out.unopened.is_empty() {
            let mut held = self.writer.hold(Scope::Platform).await?;
            for (_, id, _) in &out.unopened {
                sql::mail::failed(&mut held.exec()?, *id, UNOPENED).await?;
            }
            held.commit_unaudited().await?;
        }
        Ok(out)
    }

    /// A claimed mail with its tenant's values opened.
    async fn open_mail(&self, mail: OutboxMail) -> Result<OutboxMail, (TenantId, Uuid, StoreError)> {
        let AuditScope::Tenant(tenant) = mail.scope else { return Ok(mail) };
        let id = mail.id;
        let opened = async {
            let sealer = self.sealer(tenant).await?;
            Ok(OutboxMail {
                recipient: sealer.open_mail(id, MAIL_RECIPIENT, mail.recipient)?,
                subject: sealer.open_mail(id, MAIL_SUBJECT, mail.subject)?,
                body: sealer.open_mail(id, MAIL_BODY, mail.body)?,
                ..mail
            })
        };
        opened.await.map_err(|e| (tenant, id, e))
    }

    /// Records a delivery; the body is erased.
    pub async fn mail_sent(&self, id: Uuid) -> Result<(), StoreError> {
        let now = now(&*self.clock);
        // The platform route: the sender knows a mail by its id.
        let mut held = self.writer.hold(Scope::Platform).await?;
        sql::mail::sent(&mut held.exec()?, id, now).await?;
        held.commit_unaudited().await
    }

    /// Records a failed attempt of mail `id` of `scope`; the mail is due again at `next`. A
    /// tenant's error is sealed like its recipient: a relay's answer often names the address.
    pub async fn mail_retry(
        &self,
        scope: AuditScope,
        id: Uuid,
        next: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        let error = match scope {
            AuditScope::Tenant(tenant) => self.sealer(tenant).await?.seal_mail(id, MAIL_ERROR, error),
            AuditScope::Platform => error.to_owned(),
        };
        let mut held = self.writer.hold(Scope::audit(scope)).await?;
        sql::mail::retry(&mut held.exec()?, id, crate::time::micros_precision(next), &error).await?;
        held.commit_unaudited().await
    }

    /// The newest mails first (without bodies), at most `limit`; only those with `status` if
    /// given. A tenant's recipient and subject are opened with its key; one that does not open
    /// (its tenant's key destroyed) is listed as [`UNOPENED_TEXT`], so the list still shows.
    pub async fn mails(&self, status: Option<&str>, limit: u32) -> Result<Vec<MailStatus>, StoreError> {
        let mut mails = sql::mail::list(&mut self.db.read(Scope::Platform).await?.exec(), status, limit).await?;
        for mail in &mut mails {
            let AuditScope::Tenant(tenant) = mail.scope else { continue };
            let (sealer, id) = (self.sealer(tenant).await, mail.id);
            let open =
                |field: &str, stored: String| sealer.as_ref().ok().and_then(|s| s.open_mail(id, field, stored).ok());
            mail.recipient = open(MAIL_RECIPIENT, std::mem::take(&mut mail.recipient)).unwrap_or(UNOPENED_TEXT.into());
            mail.subject = open(MAIL_SUBJECT, std::mem::take(&mut mail.subject)).unwrap_or(UNOPENED_TEXT.into());
            // The error of a mail given up because it did not open is the store's own, plain.
            if let Some(error) = mail.last_error.take() {
                let plain = error == UNOPENED;
                mail.last_error =
                    Some(if plain { error } else { open(MAIL_ERROR, error).unwrap_or(UNOPENED_TEXT.into()) });
            }
        }
        Ok(mails)
    }
}
