//! The one write path. A [`Write`] is a unit of change tied to an audit scope and actor; the only
//! way to make its changes durable is [`Write::commit`], which appends the audit entry in the same
//! unit. Dropping a `Write` rolls everything back.
//!
//! Underneath, a `Write` is a savepoint inside the writer slot's outer transaction, which several
//! writes share and one `COMMIT` makes durable (group commit, see [`crate::writer`]).
//!
//! The methods are split by subject: `identity` (operators, tenants, users, roles), `data`
//! (collections, records), `access` (sessions, API keys) and `settings` (a tenant's settings, a
//! user's views).

mod access;
mod account;
mod data;
mod identity;
mod links;
mod mail;
mod settings;

pub use access::ApiKeyLimits;
pub use account::NewUserSession;
pub use identity::NewAccount;

use crate::db::Exec;
use crate::error::StoreError;
use crate::sql;
use crate::writer::{Append, Held};
use jiff::Timestamp;
use kura_domain::{Actor, AuditEntry, AuditRecord, AuditScope, Clock};
use std::sync::Arc;

/// An open, audited write. It holds the store's writer slot until it is committed or dropped.
#[derive(Debug)]
pub struct Write {
    pub(crate) scope: AuditScope,
    pub(crate) actor: Actor,
    held: Held,
    clock: Arc<dyn Clock>,
    /// A new record not inserted yet: it goes in with the audit entry at commit (one call to the
    /// database instead of two), or before this write's next statement, whichever comes first.
    deferred: Option<sql::records::Insert>,
}

impl Write {
    pub(crate) fn new(held: Held, clock: Arc<dyn Clock>, scope: AuditScope, actor: Actor) -> Self {
        Self { scope, actor, held, clock, deferred: None }
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
    /// The write and its entry become part of the current batch, and this returns `Ok` only once
    /// the `COMMIT` carrying that batch has completed (synchronous commit: never acknowledged
    /// before the fsync). If that `COMMIT` fails, every write of the batch gets
    /// [`StoreError::NotCommitted`]. Any failure before leaves the write to roll back on drop: no
    /// change without its entry, no entry without its change, and no effect on the other writes
    /// of the batch.
    ///
    /// The chain head is locked by the batch's first append to this scope and stays locked
    /// until the batch commits (on PostgreSQL its row, which other nodes then wait for).
    #[tracing::instrument(skip_all, fields(scope = ?self.scope, operation = record.operation.as_str()))]
    pub async fn commit(self, record: AuditRecord) -> Result<AuditEntry, StoreError> {
        let Self { scope, actor, held, clock, deferred } = self;
        let entry = held.commit(Append { scope, actor, record, clock }, deferred).await?;
        tracing::debug!(seq = entry.seq, "committed");
        Ok(entry)
    }

    /// The writer connection, inside this write's savepoint, with everything this write did so
    /// far in the database (so that its statements see its own changes).
    pub(crate) async fn exec(&mut self) -> Result<Exec<'_>, StoreError> {
        if let Some(insert) = self.deferred.take() {
            sql::records::insert(&mut self.held.exec()?, &insert).await?;
        }
        self.held.exec()
    }

    /// Inserts `insert` at commit, with the audit entry, or before the next statement.
    async fn defer(&mut self, insert: sql::records::Insert) -> Result<(), StoreError> {
        self.exec().await?;
        self.deferred = Some(insert);
        Ok(())
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
