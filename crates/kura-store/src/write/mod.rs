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
mod backups;
mod bookkeeping;
mod break_glass;
mod bulk;
mod data;
mod erasure;
mod exports;
mod factors;
mod identity;
mod links;
mod mail;
mod settings;

pub use access::ApiKeyLimits;
pub use account::NewUserSession;
pub use identity::NewAccount;

use crate::conn::Exec;
use crate::error::StoreError;
use crate::sql;
use crate::store::Store;
use crate::vault::{Sealer, Vault};
use crate::writer::{Append, Held};
use jiff::Timestamp;
use kura_domain::{Actor, AuditEntry, AuditRecord, AuditScope, Clock, TenantId};
use std::sync::Arc;

impl Store {
    /// Starts an audited write in `scope` on behalf of `actor`.
    ///
    /// There is one writer connection per store, on both engines: this waits while another
    /// `Write` is open, so a task must not hold one `Write` while beginning another (or calling
    /// [`Store::touch_session`] / [`Store::api_key_context`], which use the writer too).
    /// Concurrent writes share durable commits (group commit): see [`Write::commit`].
    #[tracing::instrument(skip_all, fields(scope = ?scope, actor_kind = actor.kind.as_str()))]
    pub async fn begin(&self, scope: AuditScope, actor: Actor) -> Result<Write, StoreError> {
        let held = self.writer.hold(crate::conn::Scope::audit(scope)).await?;
        Ok(Write::new(held, Arc::clone(&self.clock), self.vault.clone(), scope, actor))
    }

    /// Records an event that changes nothing else, such as a failed sign-in.
    pub async fn audit_only(&self, scope: AuditScope, actor: Actor, record: AuditRecord) -> Result<(), StoreError> {
        self.begin(scope, actor).await?.commit(record).await.map(|_| ())
    }
}

/// A tenant a platform write opened.
#[derive(Debug)]
struct Opened {
    tenant: TenantId,
    /// The entry of the tenant's own chain ([`Write::audit_opened`]).
    record: Option<AuditRecord>,
    /// Whether the write filled in any of the tenant's rows beyond its built-in roles.
    filled: std::sync::atomic::AtomicBool,
    /// The keys created for it in the keystore, when encryption is configured.
    keys: Option<crate::vault::CreatedKeys>,
}

/// An open, audited write. It holds the store's writer slot until it is committed or dropped.
#[derive(Debug)]
pub struct Write {
    pub(crate) scope: AuditScope,
    pub(crate) actor: Actor,
    held: Held,
    clock: Arc<dyn Clock>,
    /// Seals what this write stores of a tenant (`vault/`); `None` without encryption.
    pub(crate) vault: Option<Arc<Vault>>,
    /// A new record not inserted yet: it goes in with the audit entry at commit (one call to the
    /// database instead of two), or before this write's next statement, whichever comes first.
    deferred: Option<sql::records::Insert>,
    /// Tenants this platform write opened ([`Write::insert_tenant`]): it may fill in their rows,
    /// which each one's own chain records ([`Write::audit_opened`]).
    opened: Vec<Opened>,
    /// An entry for the platform's chain as well, committed with this tenant write's own
    /// ([`Write::also_in_platform`]).
    platform: Option<AuditRecord>,
}

impl Write {
    pub(crate) fn new(
        held: Held,
        clock: Arc<dyn Clock>,
        vault: Option<Arc<Vault>>,
        scope: AuditScope,
        actor: Actor,
    ) -> Self {
        Self { scope, actor, held, clock, vault, deferred: None, opened: Vec::new(), platform: None }
    }

    /// How `tenant`'s values are sealed (see [`Store::sealer`]).
    async fn sealer(&self, tenant: TenantId) -> Result<Sealer, StoreError> {
        match &self.vault {
            Some(vault) => vault.sealer(tenant).await,
            None => Ok(Sealer::plain(tenant)),
        }
    }

    pub fn scope(&self) -> AuditScope {
        self.scope
    }

    /// Refuses to touch a tenant other than the one whose audit chain this write appends to (or
    /// one this write opened, whose chain gets the entry too), so that a change can never land
    /// in one tenant while its entry lands in another's log.
    fn opened(&self, tenant: TenantId) -> bool {
        self.opened.iter().any(|o| o.tenant == tenant)
    }

    /// The keys [`Write::insert_tenant`] created for `tenant` (for the opening's audit entry).
    pub fn created_keys(&self, tenant: TenantId) -> Option<&crate::vault::CreatedKeys> {
        self.opened.iter().find(|o| o.tenant == tenant).and_then(|o| o.keys.as_ref())
    }

    pub(crate) fn in_scope(&self, tenant: TenantId) -> Result<(), StoreError> {
        if let Some(opened) = self.opened.iter().find(|o| o.tenant == tenant) {
            opened.filled.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if self.scope == AuditScope::Tenant(tenant) || self.opened(tenant) {
            Ok(())
        } else {
            Err(StoreError::OutOfScope { scope: self.scope, target: format!("tenant {tenant}") })
        }
    }

    /// Refuses what only the platform's scope may change (operators, opening tenants) in a
    /// tenant's write, the counterpart of [`Write::in_scope`].
    pub(crate) fn in_platform(&self, target: String) -> Result<(), StoreError> {
        if self.scope == AuditScope::Platform {
            Ok(())
        } else {
            Err(StoreError::OutOfScope { scope: self.scope, target })
        }
    }

    /// What the chain of `tenant`, a tenant this write opened, records at commit: the rows this
    /// write filled in for it, such as its first administrator. A write that filled some in
    /// without it is refused at commit.
    pub fn audit_opened(&mut self, tenant: TenantId, record: AuditRecord) -> Result<(), StoreError> {
        match self.opened.iter_mut().find(|o| o.tenant == tenant) {
            Some(opened) => {
                opened.record = Some(record);
                Ok(())
            }
            None => Err(StoreError::OutOfScope { scope: self.scope, target: format!("tenant {tenant}") }),
        }
    }

    /// What the platform's chain records at commit, beside this tenant write's own entry: an
    /// operator's break-glass access beginning or ending is in both logs (IAM-13). Refused in
    /// the platform's own write, which has its entry already.
    pub fn also_in_platform(&mut self, record: AuditRecord) -> Result<(), StoreError> {
        if self.scope == AuditScope::Platform {
            return Err(StoreError::OutOfScope { scope: self.scope, target: "a second platform entry".into() });
        }
        self.platform = Some(record);
        Ok(())
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
    /// A platform write that opened tenants appends, in the same transaction, each one's own
    /// entry ([`Write::audit_opened`]) to its chain.
    ///
    /// The chain head is locked by the batch's first append to this scope and stays locked
    /// until the batch commits (on PostgreSQL its row, which other nodes then wait for).
    #[tracing::instrument(skip_all, fields(scope = ?self.scope, operation = record.operation.as_str()))]
    pub async fn commit(mut self, record: AuditRecord) -> Result<AuditEntry, StoreError> {
        let sealer = match self.scope {
            AuditScope::Tenant(tenant) => Some(self.sealer(tenant).await?),
            AuditScope::Platform => None,
        };
        let mut appends = vec![Append {
            scope: self.scope,
            actor: self.actor.clone(),
            record,
            clock: Arc::clone(&self.clock),
            sealer,
        }];
        for opened in std::mem::take(&mut self.opened) {
            let scope = AuditScope::Tenant(opened.tenant);
            match opened.record {
                Some(record) => {
                    let (actor, clock) = (self.actor.clone(), Arc::clone(&self.clock));
                    let sealer = Some(self.sealer(opened.tenant).await?);
                    appends.push(Append { scope, actor, record, clock, sealer });
                }
                // Rows of the tenant without an entry in its own chain: refused (rolled back).
                None if opened.filled.into_inner() => {
                    let target = format!("tenant {}: its rows need an entry in its own chain", opened.tenant);
                    return Err(StoreError::OutOfScope { scope: self.scope, target });
                }
                None => {}
            }
        }
        if let Some(record) = self.platform.take() {
            let (actor, clock) = (self.actor.clone(), Arc::clone(&self.clock));
            // The platform's chain is not sealed under any tenant's key.
            appends.push(Append { scope: AuditScope::Platform, actor, record, clock, sealer: None });
        }
        let Self { held, deferred, .. } = self;
        let entry = held.commit(appends, deferred).await?;
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
    pub(crate) fn now(&self) -> Timestamp {
        crate::time::now(&*self.clock)
    }
}

/// A fresh time-ordered identifier.
fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
