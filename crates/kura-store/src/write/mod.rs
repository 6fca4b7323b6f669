//! The one write path. A [`Write`] is a transaction tied to an audit scope and actor; the only
//! way to make its changes durable is [`Write::commit`], which appends the audit entry in the same
//! transaction. Dropping a `Write` rolls everything back.
//!
//! The methods are split by subject: `identity` (operators, tenants, users, roles), `data`
//! (collections, records) and `access` (sessions, API keys).

mod access;
mod data;
mod identity;

use crate::db::{Exec, Tx};
use crate::error::StoreError;
use crate::sql;
use jiff::Timestamp;
use kura_domain::{Actor, AuditEntry, AuditRecord, AuditScope, Clock};
use std::sync::Arc;

/// An open, audited transaction.
#[derive(Debug)]
pub struct Write {
    pub(crate) scope: AuditScope,
    pub(crate) actor: Actor,
    tx: Tx,
    clock: Arc<dyn Clock>,
}

impl Write {
    pub(crate) fn new(tx: Tx, clock: Arc<dyn Clock>, scope: AuditScope, actor: Actor) -> Self {
        Self { scope, actor, tx, clock }
    }

    pub fn scope(&self) -> AuditScope {
        self.scope
    }

    /// Refuses to touch a tenant other than the one whose audit chain this write appends to, so
    /// that a change can never land in one tenant while its entry lands in another's log.
    pub(crate) fn in_scope(&self, tenant: kura_domain::TenantId) -> Result<(), StoreError> {
        if self.scope == AuditScope::Tenant(tenant) {
            Ok(())
        } else {
            Err(StoreError::OutOfScope { scope: self.scope, target: format!("tenant {tenant}") })
        }
    }

    /// Appends the audit entry for everything this write did and commits, durably.
    ///
    /// The chain head is locked only now, at the end, so that concurrent writes in one scope
    /// wait for each other for the few statements of the append rather than for their whole
    /// transactions. Any failure leaves the transaction to roll back on drop: no change without
    /// its entry, no entry without its change.
    #[tracing::instrument(skip_all, fields(scope = ?self.scope, operation = record.operation.as_str()))]
    pub async fn commit(self, record: AuditRecord) -> Result<AuditEntry, StoreError> {
        let Self { scope, actor, mut tx, clock } = self;
        let mut e = tx.exec();
        sql::audit::ensure_head(&mut e, scope).await?;
        let (seq, prev_hash) = sql::audit::advance_head(&mut e, scope).await?;
        // Read the time only once the head is locked, so that times never go backwards along
        // the chain while writers queue for it.
        let at = now(&*clock);
        let canonical = AuditEntry::canonical_bytes(
            scope,
            seq,
            at,
            &actor,
            record.operation,
            record.target.as_deref(),
            record.outcome,
            record.detail.as_deref(),
        );
        let hash = kura_crypto::chain_hash(&prev_hash, &canonical);
        let entry = AuditEntry {
            scope,
            seq,
            at,
            actor,
            operation: record.operation,
            target: record.target,
            outcome: record.outcome,
            detail: record.detail,
            prev_hash,
            hash,
        };
        sql::audit::insert(&mut e, &entry).await?;
        sql::audit::set_head_hash(&mut e, scope, &hash).await?;
        tx.commit().await?;
        tracing::debug!(seq, "committed");
        Ok(entry)
    }

    /// The transaction's connection.
    fn exec(&mut self) -> Exec<'_> {
        self.tx.exec()
    }

    /// The current time at the precision stored.
    fn now(&self) -> Timestamp {
        now(&*self.clock)
    }
}

/// `clock.now()` truncated to microseconds, the stored precision, so that what a write returns
/// equals what a later read returns.
pub(crate) fn now(clock: &dyn Clock) -> Timestamp {
    micros_precision(clock.now())
}

pub(crate) fn micros_precision(ts: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(ts.as_microsecond()).unwrap_or(ts)
}

/// A fresh time-ordered identifier.
fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
