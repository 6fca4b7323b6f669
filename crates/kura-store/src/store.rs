//! The [`Store`] handle: the read pool and the writer slot of one engine, the clock, and the
//! entry points for reads and writes.

use crate::conn::{Engine, Scope, set_scope};
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
    /// PostgreSQL: the URL of the role that owns Kura's tables. When given, the migrations run
    /// as that role, which then grants the role of the store's own URL what the application
    /// needs (TEN-2: the application role neither owns the tables nor bypasses row-level
    /// security). When not, the migrations run as the store's own role.
    pub owner_url: Option<String>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_connections: 8, record_cache_records: 1_000_000, vault: None, owner_url: None }
    }
}

/// A cheap-to-clone handle to the database.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: crate::db::Db,
    pub(crate) writer: Writer,
    /// The access log's connections, apart from the writer slot (`access_log.rs`).
    pub(crate) access: crate::access_log::AccessDb,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cache: Arc<crate::cache::RecordCache>,
    pub(crate) definitions: Arc<crate::definitions::Definitions>,
    pub(crate) vault: Option<Arc<Vault>>,
    /// Whether PostgreSQL's row-level security confines the store's role (`roles.rs`).
    pub(crate) row_security: crate::RowSecurity,
    /// The values the start-up sealing could not open ([`Store::refused_at_open`]).
    refused_at_open: Arc<[(kura_domain::TenantId, String)]>,
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
        let (db, mut conn, connector, row_security) =
            Db::open(url, options.owner_url.as_deref(), options.max_connections).await?;
        // What follows, before the writer starts, is platform-wide work on the writer
        // connection: the platform route for its session, cleared again below.
        set_scope(&mut conn.exec(), Scope::Platform, false).await?;
        // Chains written before the Merkle log get their trees before any write (LOG-3).
        crate::audit::tree::build_missing(&mut conn).await?;
        // Users written before their email and name were sealed get both sealed, and the
        // email's blind index, before any read or write (DAT-2, DAT-3).
        let refused_at_open = seal_unsealed(&mut conn, options.vault.as_deref()).await?.into();
        if let Some(vault) = options.vault.as_deref() {
            seal_unsealed_labels(&mut conn, vault).await?;
        }
        let access = crate::access_log::AccessDb::open(url, &mut conn).await?;
        if db.engine() == Engine::Postgres {
            conn.run(crate::dialect::CLEAR_SCOPE).await?;
        }
        let cache = Arc::new(crate::cache::RecordCache::new(options.record_cache_records));
        let writer = Writer::open(conn, connector, Arc::clone(&cache));
        tracing::info!(engine = ?db.engine(), encrypted = options.vault.is_some(), "store opened");
        Ok(Self {
            db,
            writer,
            access,
            clock,
            cache,
            definitions: Arc::default(),
            vault: options.vault,
            row_security,
            refused_at_open,
        })
    }

    /// The values of tenants that the start-up sealing met and could not open, each with its
    /// tenant and where it was found (never the value): left as they are, and logged. There is
    /// no audit log to write them to before the store is open; the application records them
    /// in each tenant's log once it is (`refused_opens` in kura-server).
    pub fn refused_at_open(&self) -> &[(kura_domain::TenantId, String)] {
        &self.refused_at_open
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

    /// Whether PostgreSQL's row-level security confines the role the store connects as (TEN-2);
    /// [`crate::RowSecurity::NotAvailable`] on SQLite.
    pub fn row_security(&self) -> crate::RowSecurity {
        self.row_security
    }

    pub fn engine(&self) -> Engine {
        self.db.engine()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Checks that the database answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        crate::sql::ping(&mut self.db.read(Scope::Platform).await?.exec()).await
    }

    /// Commits the writes already made, then closes the writer and the pools, waiting for
    /// connections to be returned. Later writes and reads fail.
    pub async fn close(&self) {
        self.writer.close().await;
        self.db.close().await;
        self.access.close().await;
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

/// Seals the email and name of every user written before migration 0045 and fills in the
/// email's blind index, tenant by tenant with the tenant's key (or the keyless index and plain
/// values for a tenant without keys, as for records). Each row is one atomic `UPDATE` that
/// applies only while the row still has no index, so several nodes opening at once do the work
/// once. Two emails of a tenant that are equal once normalised (`ＹＡＭＡＤＡ@example.jp` and
/// `yamada@example.jp`, distinct accounts before) cannot share the index: the later one is
/// sealed without it, logged, and cannot sign in until an administrator deletes one of the two;
/// a row that does not open (sealed, and its keys are not at hand) is left as it is, and
/// returned with its tenant and why.
async fn seal_unsealed(
    conn: &mut crate::conn::WriterConn,
    vault: Option<&Vault>,
) -> Result<Vec<(kura_domain::TenantId, String)>, StoreError> {
    use kura_domain::{TenantId, UserId};
    let rows = crate::sql::users::unindexed(&mut conn.exec()).await?;
    let mut refused = Vec::new();
    if rows.is_empty() {
        return Ok(refused);
    }
    let mut sealer: Option<Sealer> = None;
    let (mut sealed, mut duplicates) = (0u64, 0u64);
    for row in rows {
        let tenant = TenantId::from_uuid(row.tenant_id);
        let current = match sealer.take() {
            Some(s) if s.tenant() == tenant => s,
            _ => match vault {
                Some(vault) => vault.sealer(tenant).await?,
                None => Sealer::plain(tenant),
            },
        };
        let (email, name) = match row.open_either(&current) {
            Ok(opened) => opened,
            // Sealed by an earlier try and now without keys (no vault, or keys destroyed):
            // nothing to index; reads of it are refused as for records, logged by the sealer.
            Err(StoreError::Unreadable(why)) => {
                refused.push((tenant, why));
                sealer = Some(current);
                continue;
            }
            Err(e) => return Err(e),
        };
        let id = UserId::from_uuid(row.id);
        let identity = crate::sql::users::seal_identity(&current, id, &email, &name);
        if crate::sql::users::set_sealed(&mut conn.exec(), tenant, id, &identity).await? {
            sealed += 1;
        } else {
            crate::sql::users::seal_without_index(&mut conn.exec(), tenant, id, &identity).await?;
            duplicates += 1;
            tracing::error!(
                %tenant, user = %id,
                "this user's email equals another user's once normalised (case or width): it cannot sign in until one of the two is deleted"
            );
        }
        sealer = Some(current);
    }
    tracing::info!(sealed, duplicates, "users written before their emails were sealed are sealed and indexed");
    Ok(refused)
}

/// Seals the role labels, API-key names, collection labels, memos and field definitions, and
/// users' TOTP secrets, factor labels and enrolment secrets written before they were sealed, in
/// every tenant with keys (DAT-2). The rows of tenants
/// without keys stay plain, and are read again at every start (a few rows per such tenant, and
/// its keys looked up once). Each `UPDATE` applies only while the value is still as read.
async fn seal_unsealed_labels(conn: &mut crate::conn::WriterConn, vault: &Vault) -> Result<(), StoreError> {
    use crate::sql::{api_keys, collections, roles};
    use kura_domain::TenantId;
    let mut sealers: std::collections::HashMap<uuid::Uuid, Sealer> = std::collections::HashMap::new();
    let mut sealed = 0u64;
    macro_rules! sealer_of {
        ($tenant:expr) => {{
            let tenant: uuid::Uuid = $tenant;
            if !sealers.contains_key(&tenant) {
                sealers.insert(tenant, vault.sealer(TenantId::from_uuid(tenant)).await?);
            }
            &sealers[&tenant]
        }};
    }
    for (tenant, id, label) in roles::unsealed(&mut conn.exec()).await? {
        let sealer = sealer_of!(tenant);
        if sealer.has_keys() {
            roles::seal_unsealed(&mut conn.exec(), sealer, id, &label).await?;
            sealed += 1;
        }
    }
    for (tenant, id, name) in api_keys::unsealed(&mut conn.exec()).await? {
        let sealer = sealer_of!(tenant);
        if sealer.has_keys() {
            api_keys::seal_unsealed(&mut conn.exec(), sealer, id, &name).await?;
            sealed += 1;
        }
    }
    for (tenant, id, label, memo, fields) in collections::unsealed(&mut conn.exec()).await? {
        let sealer = sealer_of!(tenant);
        if sealer.has_keys() {
            collections::seal_unsealed(&mut conn.exec(), sealer, id, &label, &memo, &fields).await?;
            sealed += 1;
        }
    }
    for (tenant, id, label, secret) in crate::sql::factors::unsealed(&mut conn.exec()).await? {
        let sealer = sealer_of!(tenant);
        if sealer.has_keys() {
            crate::sql::factors::seal_unsealed(&mut conn.exec(), sealer, id, &label, &secret).await?;
            sealed += 1;
        }
    }
    for (tenant, digest, secret) in crate::sql::factors::unsealed_challenges(&mut conn.exec()).await? {
        let sealer = sealer_of!(tenant);
        if sealer.has_keys() {
            crate::sql::factors::seal_unsealed_challenge(&mut conn.exec(), sealer, &digest, &secret).await?;
            sealed += 1;
        }
    }
    if sealed > 0 {
        tracing::info!(
            sealed,
            "role labels, API-key names, collection definitions and second factors written before sealing are sealed"
        );
    }
    Ok(())
}
