//! A tenant's audit entries, sealed (DAT-2): the actor's label (an email or a key name), the
//! client's user agent, the target (`user:<email>`, `record:<collection>/<id>`) and the detail
//! are sealed under the tenant's data key, bound to the entry's sequence number, before the entry is hashed. The
//! chain and the Merkle tree therefore commit to the stored bytes, so verification never needs
//! a key, and still passes once the tenant's keys are destroyed. Everything else of an entry
//! (scope, number, time, actor kind and id, role key, source address, operation, outcome) stays
//! plain: identifiers and the operational facts that filters and verification use. The user
//! agent is sealed because it is free text the client chose (it can name a person, a device or
//! an account), no filter compares it, and a tenant's chain outlives its keys: whatever stays
//! plain there is readable for as long as the log is kept.
//!
//! Entries written before sealing keep their plain values (sealing them would change what the
//! chain committed to), so opening accepts a plain value here, unlike other sealed columns.

use super::Sealer;
use crate::error::StoreError;
use kura_domain::{Actor, AuditEntry, AuditRecord};
use std::borrow::Cow;

/// The table and fields bound into an entry's seals, and the name of the target's index.
const AUDIT_LOG: &str = "audit_log";
const ACTOR_LABEL: &str = "actor_label";
const TARGET: &str = "target";
const DETAIL: &str = "detail";
const USER_AGENT: &str = "user_agent";
const AUDIT_TARGET_INDEX: &str = "audit_log.target";

/// An entry's fields as they are stored and hashed, and the index of its target.
pub(crate) struct StoredAudit<'a> {
    pub actor: Cow<'a, Actor>,
    pub record: Cow<'a, AuditRecord>,
    pub target_index: Option<Vec<u8>>,
}

impl Sealer {
    /// The stored form of entry `seq` of this tenant's chain: with keys, its actor's label,
    /// target and detail sealed; without, as they are. Either way the target gets its index.
    pub(crate) fn seal_audit<'a>(&self, seq: i64, actor: &'a Actor, record: &'a AuditRecord) -> StoredAudit<'a> {
        let target_index = record.target.as_deref().map(|t| self.audit_target_index(t));
        if !self.has_keys() {
            return StoredAudit { actor: Cow::Borrowed(actor), record: Cow::Borrowed(record), target_index };
        }
        let row = seq.to_be_bytes();
        let seal = |field: &str, value: &str| self.seal_text(AUDIT_LOG, &row, field, value);
        let actor = Actor {
            label: seal(ACTOR_LABEL, &actor.label),
            user_agent: actor.user_agent.as_deref().map(|a| seal(USER_AGENT, a)),
            ..actor.clone()
        };
        let record = AuditRecord {
            target: record.target.as_deref().map(|t| seal(TARGET, t)),
            detail: record.detail.as_deref().map(|d| seal(DETAIL, d)),
            ..record.clone()
        };
        StoredAudit { actor: Cow::Owned(actor), record: Cow::Owned(record), target_index }
    }

    /// The index an entry's target is found by. A record's target (`record:<collection>/<id>`)
    /// holds only identifiers the records table keeps plain, and the id is a UUIDv7 that grows
    /// with time, so its index is the target itself: a record's entries then go to the end of
    /// the index, as they did before targets were sealed. A keyed hash there put every entry of
    /// a batch on an index page of its own, and creates fell to about two thirds of their rate
    /// (docs/PERFORMANCE.md). Every other target (a user's email, a key's name) gets the blind
    /// index.
    pub(crate) fn audit_target_index(&self, target: &str) -> Vec<u8> {
        if is_record_target(target) { target.as_bytes().to_vec() } else { self.index(AUDIT_TARGET_INDEX, target) }
    }

    /// Opens an entry of this tenant's chain read from the database, in place. A sealed value
    /// that does not open for exactly this tenant, entry and field is refused
    /// ([`StoreError::Unreadable`]); a plain one was written before sealing and is kept.
    pub(crate) fn open_audit(&self, entry: &mut AuditEntry) -> Result<(), StoreError> {
        let row = entry.seq.to_be_bytes();
        let label = std::mem::take(&mut entry.actor.label);
        entry.actor.label = self.open_text_or_plain(AUDIT_LOG, &row, ACTOR_LABEL, label)?;
        if let Some(agent) = entry.actor.user_agent.take() {
            entry.actor.user_agent = Some(self.open_text_or_plain(AUDIT_LOG, &row, USER_AGENT, agent)?);
        }
        if let Some(target) = entry.target.take() {
            entry.target = Some(self.open_text_or_plain(AUDIT_LOG, &row, TARGET, target)?);
        }
        if let Some(detail) = entry.detail.take() {
            entry.detail = Some(self.open_text_or_plain(AUDIT_LOG, &row, DETAIL, detail)?);
        }
        Ok(())
    }
}

/// Whether `target` is exactly `record:<collection key>/<record id>`: nothing but identifiers.
fn is_record_target(target: &str) -> bool {
    let Some((collection, id)) = target.strip_prefix("record:").and_then(|rest| rest.split_once('/')) else {
        return false;
    };
    kura_domain::Key::parse(collection).is_ok() && uuid::Uuid::try_parse(id).is_ok()
}

#[cfg(test)]
mod tests {
    use super::is_record_target;

    #[test]
    fn dat_3_only_a_record_target_of_identifiers_is_its_own_index() {
        assert!(is_record_target("record:customers/0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b"));
        for other in [
            "user:yamada@example.jp",
            "record:customers/山田",
            "record:0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b",
            "record:Customers/0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b",
            "record:customers/0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a7b/x",
            "collection:customers",
        ] {
            assert!(!is_record_target(other), "{other}");
        }
    }
}
