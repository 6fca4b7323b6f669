//! The access log (LOG-2): requests appended in batches, bookkeeping apart from the audited
//! write path (it records requests, it changes no business state), listed per scope with
//! filters, purged by age with an audit entry.
//!
//! It never goes through the data's writer slot: a batch of thousands of rows would hold every
//! record write up while it is inserted. It has connections of its own ([`AccessDb`]):
//! - **SQLite**: a database file of its own beside the data file (`kura.db` →
//!   `kura-access.db`), with its own migrations (`access/`), so its inserts run on another
//!   thread and take another file's lock. Written with `synchronous=NORMAL`: a power cut may
//!   lose the last moments of the log, as a full buffer or a crash does (the log is best
//!   effort by design; the audit log is not). Rows an earlier version wrote into the data
//!   file's `access_log` are moved over when the store opens. Not in the data's backups.
//! - **PostgreSQL**: the `access_log` table of the data database (migration 0055), written
//!   over two pooled connections of its own beside the writer's.

use crate::conn::{Exec, Scope, WriterConn, set_scope};
use crate::error::StoreError;
use crate::sql;
use crate::sql::access_log::ListParams;
use crate::store::Store;
use jiff::Timestamp;
use kura_domain::{Actor, AuditRecord, AuditScope};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Acquire as _, Postgres, Sqlite};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

pub use crate::sql::access_log::AccessEntry;

/// The SQLite file's migrations, embedded at build time (PostgreSQL's table is in `migrations/`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./access");

/// The `application_name` of the access log's connections on PostgreSQL.
pub(crate) const PG_ACCESS_LOG_NAME: &str = "kura-access-log";

/// Connections of the access log's own: one inserting, one reading or purging.
const CONNECTIONS: u32 = 2;

/// The access log's connections, apart from the data's writer slot and read pool.
#[derive(Clone, Debug)]
pub(crate) enum AccessDb {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// A connection of the access log's pool.
pub(crate) enum AccessConn {
    Sqlite(PoolConnection<Sqlite>),
    Pg(PoolConnection<Postgres>),
}

impl AccessConn {
    fn exec(&mut self) -> Exec<'_> {
        match self {
            Self::Sqlite(c) => Exec::Sqlite(&mut *c, None),
            Self::Pg(c) => Exec::Pg(&mut *c, None),
        }
    }
}

/// The access log's SQLite file for the data file `data`: `NAME-access.EXT` beside it.
pub(crate) fn sqlite_path(data: &Path) -> PathBuf {
    let stem = data.file_stem().map_or_else(|| "kura".into(), |s| s.to_string_lossy().into_owned());
    let name = match data.extension() {
        Some(ext) => format!("{stem}-access.{}", ext.to_string_lossy()),
        None => format!("{stem}-access"),
    };
    data.with_file_name(name)
}

impl AccessDb {
    /// Opens the access log of the data database at `url`, whose writer connection `data` is
    /// not yet shared. On SQLite it creates and migrates the file beside the data file and
    /// moves over any rows the data file still holds.
    pub(crate) async fn open(url: &str, data: &mut WriterConn) -> Result<Self, StoreError> {
        match data {
            WriterConn::Sqlite(conn) => {
                let data_file = SqliteConnectOptions::from_str(url)?.get_filename().to_path_buf();
                let path = sqlite_path(&data_file);
                let connect = SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new().max_connections(CONNECTIONS).connect_with(connect).await?;
                MIGRATOR.run(&pool).await?;
                let moved = sql::access_log::move_from_data_file(conn, &path).await?;
                if moved > 0 {
                    tracing::info!(rows = moved, "moved the access log out of the data file into its own");
                }
                Ok(Self::Sqlite(pool))
            }
            WriterConn::Pg(_) => {
                let connect = PgConnectOptions::from_str(url)?.application_name(PG_ACCESS_LOG_NAME);
                // Lazy: a node connects for its access log when it first writes or reads it.
                let pool = PgPoolOptions::new().max_connections(CONNECTIONS).connect_lazy_with(connect);
                Ok(Self::Postgres(pool))
            }
        }
    }

    /// A connection in `scope` (on PostgreSQL set for its session each time: the pool is
    /// sqlx's, whose connections do not remember what was set on them).
    async fn conn(&self, scope: Scope) -> Result<AccessConn, StoreError> {
        Ok(match self {
            Self::Sqlite(p) => AccessConn::Sqlite(p.acquire().await?),
            Self::Postgres(p) => {
                let mut conn = AccessConn::Pg(p.acquire().await?);
                set_scope(&mut conn.exec(), scope, false).await?;
                conn
            }
        })
    }

    pub(crate) async fn close(&self) {
        match self {
            Self::Sqlite(p) => p.close().await,
            Self::Postgres(p) => p.close().await,
        }
    }
}

/// What a listing of the access log keeps.
#[derive(Clone, Debug, Default)]
pub struct AccessFilter {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Answers with a status in this range (both ends included), such as 400–499.
    pub status: Option<(u16, u16)>,
    /// The route template, exactly.
    pub route: Option<String>,
    /// The source address, exactly.
    pub source_ip: Option<String>,
    /// Entries older than this one (the last of the page before).
    pub before: Option<(Timestamp, Uuid)>,
    /// At most this many (0: the default, 100; never more than 1,000).
    pub limit: u32,
}

fn params(f: &AccessFilter) -> ListParams<'_> {
    let limit = if f.limit == 0 { 100 } else { f.limit.clamp(1, 1000) };
    ListParams {
        from: f.from,
        to: f.to,
        status_min: f.status.map(|(a, _)| i32::from(a)),
        status_max: f.status.map(|(_, b)| i32::from(b)),
        route: f.route.as_deref().map(str::trim).filter(|s| !s.is_empty()),
        source_ip: f.source_ip.as_deref().map(str::trim).filter(|s| !s.is_empty()),
        before: f.before,
        limit: i64::from(limit),
    }
}

impl Store {
    /// Appends a batch of requests, each given a fresh id, in one transaction of the access
    /// log's own (bookkeeping: no audit entry).
    pub async fn append_access_log(&self, mut entries: Vec<AccessEntry>) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        for e in &mut entries {
            e.id = Uuid::now_v7();
        }
        // The platform route: one batch holds the requests of every scope.
        match &mut self.access.conn(Scope::Platform).await? {
            AccessConn::Sqlite(c) => {
                let mut tx = c.begin().await?;
                sql::access_log::insert_many(&mut Exec::Sqlite(&mut tx, None), &entries).await?;
                tx.commit().await?;
            }
            AccessConn::Pg(c) => {
                let mut tx = c.begin().await?;
                sql::access_log::insert_many(&mut Exec::Pg(&mut tx, None), &entries).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// The scope's requests newest first.
    pub async fn access_log(&self, scope: AuditScope, filter: &AccessFilter) -> Result<Vec<AccessEntry>, StoreError> {
        sql::access_log::list(&mut self.access.conn(Scope::audit(scope)).await?.exec(), scope, &params(filter)).await
    }

    /// How many of the scope's requests match `filter`, whatever its paging.
    pub async fn access_log_count(&self, scope: AuditScope, filter: &AccessFilter) -> Result<u64, StoreError> {
        sql::access_log::count(&mut self.access.conn(Scope::audit(scope)).await?.exec(), scope, &params(filter)).await
    }

    /// Every scope that has requests in the access log (for the purge).
    pub async fn access_log_scopes(&self) -> Result<Vec<AuditScope>, StoreError> {
        sql::access_log::scopes(&mut self.access.conn(Scope::Platform).await?.exec()).await
    }

    /// Deletes the scope's requests older than `before` and records it in the scope's audit
    /// log with `record(count)`, as `actor`; returns the count (nothing is recorded when it is
    /// 0). The entry is committed first, then the rows deleted: the log never misses a purge
    /// that happened, and a purge cut off between the two is finished, and recorded again, by
    /// the next run.
    pub async fn purge_access_log(
        &self,
        scope: AuditScope,
        before: Timestamp,
        actor: Actor,
        record: impl FnOnce(u64) -> AuditRecord,
    ) -> Result<u64, StoreError> {
        let old = ListParams { to: Some(before), limit: 1, ..ListParams::default() };
        let count =
            sql::access_log::count(&mut self.access.conn(Scope::audit(scope)).await?.exec(), scope, &old).await?;
        if count == 0 {
            return Ok(0);
        }
        self.begin(scope, actor).await?.commit(record(count)).await?;
        sql::access_log::purge(&mut self.access.conn(Scope::audit(scope)).await?.exec(), scope, before).await
    }
}
