//! The [`Store`] handle: the read pool and the writer slot of one engine, the clock, and the
//! entry points for reads and writes.

use crate::conn::Engine;
use crate::db::Db;
use crate::error::StoreError;
use crate::vault::{Sealer, Vault};
use crate::writer::{CommitStats, Writer};
use kura_domain::Clock;
use std::sync::Arc;

/// Tuning knobs for opening a store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Connections for reads. Writes use one more connection of their own (see
    /// [`Store::begin`]).
    pub max_connections: u32,
    /// Records kept decoded in memory across all collections (see `cache/`); 0 disables the
    /// cache.
    pub record_cache_records: usize,
    /// Encryption at rest: the master key and keystore that seal tenant values (`vault/`).
    /// `None` stores values as they are.
    pub vault: Option<Arc<Vault>>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_connections: 8, record_cache_records: 1_000_000, vault: None }
    }
}

/// A cheap-to-clone handle to the database.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: crate::db::Db,
    pub(crate) writer: Writer,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cache: Arc<crate::cache::RecordCache>,
    pub(crate) definitions: Arc<crate::definitions::Definitions>,
    pub(crate) vault: Option<Arc<Vault>>,
}

impl Store {
    /// Opens (creating if needed) the database at `url` — `sqlite://PATH` or `postgres://…` — and
    /// applies pending migrations. Refuses a database that has migrations this binary does not
    /// know (a downgrade).
    ///
    /// Starts the task that commits batches of writes (group commit) on the current Tokio
    /// runtime: use the store within that runtime.
    #[tracing::instrument(skip_all)]
    pub async fn open(url: &str, clock: Arc<dyn Clock>, options: StoreOptions) -> Result<Self, StoreError> {
        let (db, mut conn, connector) = Db::open(url, options.max_connections).await?;
        // Chains written before the Merkle log get their trees before any write (LOG-3).
        crate::audit::tree::build_missing(&mut conn).await?;
        let cache = Arc::new(crate::cache::RecordCache::new(options.record_cache_records));
        let writer = Writer::open(conn, connector, Arc::clone(&cache));
        tracing::info!(engine = ?db.engine(), encrypted = options.vault.is_some(), "store opened");
        Ok(Self { db, writer, clock, cache, definitions: Arc::default(), vault: options.vault })
    }

    /// The vault sealing tenant values, when encryption at rest is configured.
    pub fn vault(&self) -> Option<&Arc<Vault>> {
        self.vault.as_ref()
    }

    /// How `tenant`'s values are sealed and opened: its keys (read from the keystore once), or
    /// plain when there is no vault.
    pub(crate) async fn sealer(&self, tenant: kura_domain::TenantId) -> Result<Sealer, StoreError> {
        match &self.vault {
            Some(vault) => vault.sealer(tenant).await,
            None => Ok(Sealer::plain(tenant)),
        }
    }

    pub fn engine(&self) -> Engine {
        self.db.engine()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Checks that the database answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        crate::sql::ping(&mut self.db.read().await?.exec()).await
    }

    /// Commits the writes already made, then closes the writer and the pools, waiting for
    /// connections to be returned. Later writes and reads fail.
    pub async fn close(&self) {
        self.writer.close().await;
        self.db.close().await;
        if let Some(vault) = &self.vault {
            vault.close().await;
        }
    }

    /// How many read operations took a connection from the read pool (for tests and metrics).
    pub fn reads(&self) -> u64 {
        self.db.reads()
    }

    /// How many writes were made durable, by how many commits (for tests and metrics).
    pub fn commit_stats(&self) -> CommitStats {
        self.writer.stats()
    }
}
