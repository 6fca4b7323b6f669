//! A tenant's mail in the outbox, sealed (DAT-2): its recipient address, subject and body are
//! sealed under the tenant's data key, bound to the mail's id, from the write that queues it
//! until the sender opens it to deliver; so is the relay's last error, which often names the
//! address. The kind of mail, its language, status, times and
//! attempts stay plain: the sender and the operator's list work on them. Platform mail (to
//! operators, or a tenant's mail queued with no tenant scope) has no tenant key and stays plain.

use super::Sealer;
use crate::error::StoreError;
use uuid::Uuid;

const MAIL_OUTBOX: &str = "mail_outbox";
pub(crate) const RECIPIENT: &str = "recipient";
pub(crate) const SUBJECT: &str = "subject";
pub(crate) const BODY: &str = "body";
pub(crate) const ERROR: &str = "last_error";

impl Sealer {
    /// The stored form of `field` of mail `id`.
    pub(crate) fn seal_mail(&self, id: Uuid, field: &str, value: &str) -> String {
        self.seal_text(MAIL_OUTBOX, id.as_bytes(), field, value)
    }

    /// `field` of mail `id` from its stored form; refused unless it opens for exactly this
    /// tenant, mail and field (see [`Sealer::open_text`]).
    pub(crate) fn open_mail(&self, id: Uuid, field: &str, stored: String) -> Result<String, StoreError> {
        self.open_text(MAIL_OUTBOX, id.as_bytes(), field, stored)
    }
}
