//! Opening a store's database, and its read pool.
//!
//! Both engines get one writer connection (the slot of `writer/`) beside a pool of readers
//! ([`Readers`]); on SQLite the readers open read-only. A leased reader is an [`Exec`] like the
//! writer's connection, so the same SQL functions serve both.

use crate::conn::{Connector, Engine, Exec, Scope, WriterConn, run, set_scope};
use crate::dialect;
use crate::error::StoreError;
use crate::roles::RowSecurity;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions as _, Connection, PgConnection, SqliteConnection};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The migrations, embedded at build time; the same files serve both engines.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a SQLite connection waits for a lock held by another process (such as the CLI)
/// before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Each SQLite read connection's page cache (`PRAGMA cache_size`, negative: KiB), against
/// SQLite's default of 2,000 KiB. Records are read from the snapshots in memory (`cache/`),
/// so a reader mostly reads the few pages of a credential, and any other page comes from the
/// operating system's cache of the file, which every connection shares. At the default, eight
/// readers kept up to 16 MiB of copies of the same pages.
const READER_CACHE_KIB: &str = "-256";

/// The `application_name` of the PostgreSQL writer connection, to tell it apart in
/// `pg_stat_activity`.
pub(crate) const PG_WRITER_NAME: &str = "kura-writer";

/// How long a read waits for a free connection before failing (as sqlx's pool does by default).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The read pool of one engine (the writer connection lives in the writer's slot).
#[derive(Clone, Debug)]
pub(crate) enum Db {
    Sqlite(Arc<Readers<SqliteConnection>>),
    Postgres(Arc<Readers<PgConnection>>),
}

/// The read connections of one engine: at most `max` open, reused in turn.
///
/// Not sqlx's `Pool`, which pings every connection it takes back before pooling it again: a
/// round trip per read (on SQLite a hand-off to the connection's worker thread and back, on
/// PostgreSQL a network round trip and a backend wake-up), which profiles showed costing about
/// as much as the read itself. Here a connection goes back to the idle list as it is, unless a
/// statement on it failed in a way that may mean it is broken ([`Exec::failed`]) or it was
/// given up inside a transaction: then it is closed, and a later read opens a new one. A read
/// cancelled half-way (a client that hung up) leaves nothing behind: each engine's connection
/// finishes or discards the unread rest of a statement before running the next.
pub(crate) struct Readers<C: Connection> {
    /// Idle connections, each with the scope last set on it (PostgreSQL; see [`Db::read`]).
    idle: Mutex<Vec<(C, Option<Scope>)>>,
    permits: Arc<Semaphore>,
    options: C::Options,
    closed: AtomicBool,
    /// Leases handed out, for tests and metrics: one per read operation.
    leased: AtomicU64,
}

impl<C: Connection> std::fmt::Debug for Readers<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("available", &self.permits.available_permits()).finish_non_exhaustive()
    }
}

impl<C: Connection> Readers<C> {
    /// Opens the first connection (so that a bad URL or a missing file fails at start-up).
    async fn open(options: C::Options, max: u32) -> Result<Arc<Self>, sqlx::Error> {
        let first = options.connect().await?;
        let max = usize::try_from(max.max(1)).unwrap_or(1);
        Ok(Arc::new(Self {
            idle: Mutex::new(vec![(first, None)]),
            permits: Arc::new(Semaphore::new(max)),
            options,
            closed: AtomicBool::new(false),
            leased: AtomicU64::new(0),
        }))
    }

    /// An idle connection, or a new one while fewer than `max` are open; otherwise waits for
    /// one to come back.
    async fn lease(self: &Arc<Self>) -> Result<Lease<C>, sqlx::Error> {
        let permit = match tokio::time::timeout(ACQUIRE_TIMEOUT, Arc::clone(&self.permits).acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(sqlx::Error::PoolClosed),
            Err(_) => return Err(sqlx::Error::PoolTimedOut),
        };
        if self.closed.load(Ordering::Acquire) {
            return Err(sqlx::Error::PoolClosed);
        }
        self.leased.fetch_add(1, Ordering::Relaxed);
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let (conn, scope) = match idle {
            Some(idle) => idle,
            None => (self.options.connect().await?, None),
        };
        Ok(Lease {
            conn: Some(conn),
            scope,
            broken: AtomicBool::new(false),
            readers: Arc::clone(self),
            _permit: permit,
        })
    }

    /// Refuses further reads and closes the idle connections (leased ones close on return).
    async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        for (conn, _) in idle {
            let _ = conn.close().await;
        }
    }
}

/// A read connection, leased for one operation; it goes back to its [`Readers`] on drop.
pub(crate) struct Lease<C: Connection> {
    conn: Option<C>,
    /// The scope set on the connection for the session, if any.
    scope: Option<Scope>,
    broken: AtomicBool,
    readers: Arc<Readers<C>>,
    /// Released after the connection is back in the idle list (fields drop after `drop`).
    _permit: OwnedSemaphorePermit,
}

impl<C: Connection> Lease<C> {
    fn parts(&mut self) -> (&mut C, &AtomicBool) {
        match self.conn.as_mut() {
            Some(conn) => (conn, &self.broken),
            None => unreachable!("a lease's connection is taken only when the lease is dropped"),
        }
    }
}

impl<C: Connection> Drop for Lease<C> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if !self.broken.load(Ordering::Relaxed) && !self.readers.closed.load(Ordering::Acquire) {
            self.readers.idle.lock().unwrap_or_else(PoisonError::into_inner).push((conn, self.scope));
        }
        // Otherwise dropped, which closes it (and ends any transaction it was in).
    }
}

/// A read connection of either engine, leased for one operation.
pub(crate) enum Conn {
    Sqlite(Lease<SqliteConnection>),
    Pg(Lease<PgConnection>),
}

impl Conn {
    pub(crate) fn exec(&mut self) -> Exec<'_> {
        match self {
            Self::Sqlite(lease) => {
                let (c, broken) = lease.parts();
                Exec::Sqlite(c, Some(broken))
            }
            Self::Pg(lease) => {
                let (c, broken) = lease.parts();
                Exec::Pg(c, Some(broken))
            }
        }
    }

    /// Closes the connection when it is returned instead of pooling it again.
    fn discard(&self) {
        match self {
            Self::Sqlite(lease) => lease.broken.store(true, Ordering::Relaxed),
            Self::Pg(lease) => lease.broken.store(true, Ordering::Relaxed),
        }
    }
}

/// A read-only transaction on a leased connection. It is never committed: when it is dropped,
/// its connection is closed rather than pooled, which ends the transaction.
pub(crate) struct Tx(Conn);

impl Tx {
    pub(crate) fn exec(&mut self) -> Exec<'_> {
        self.0.exec()
    }
}

impl Db {
    /// Connects to `url`, applies pending migrations (on PostgreSQL as the role of `owner_url`
    /// when given, which then grants the role of `url` what it needs), and returns the read pool
    /// with the writer connection, how to open it again, and whether row-level security holds
    /// for the role the store connects as.
    pub(crate) async fn open(
        url: &str,
        owner_url: Option<&str>,
        max_connections: u32,
    ) -> Result<(Self, WriterConn, Connector, RowSecurity), StoreError> {
        let max = max_connections.max(1);
        let opened = if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            let mut writer = SqliteConnection::connect_with(&connect).await?;
            // Migrate before the readers connect: they open read-only and cannot create the file.
            MIGRATOR.run(&mut writer).await?;
            let (writer, connector) = (WriterConn::Sqlite(writer), Connector::Sqlite(connect.clone()));
            let readers = connect.create_if_missing(false).read_only(true).pragma("cache_size", READER_CACHE_KIB);
            let read = Readers::open(readers, max).await?;
            (Self::Sqlite(read), writer, connector, RowSecurity::NotAvailable)
        } else if is_postgres(url) {
            let connect = PgConnectOptions::from_str(url)?;
            if let Some(owner) = owner_url.filter(|o| !o.is_empty()) {
                if !is_postgres(owner) {
                    return Err(StoreError::BadUrl(redact(owner)));
                }
                crate::roles::migrate_as_owner(owner, connect.get_username()).await?;
            }
            let writer_options = connect.clone().application_name(PG_WRITER_NAME);
            let mut writer = PgConnection::connect_with(&writer_options).await?;
            // The migrator takes an advisory lock, so several nodes may start at once.
            crate::roles::migrate(&mut writer).await?;
            warn_without_autovacuum(&mut writer).await;
            let security = crate::roles::row_security(&mut writer).await?;
            let read = Readers::open(connect, max).await?;
            (Self::Postgres(read), WriterConn::Pg(writer), Connector::Pg(writer_options), security)
        } else {
            return Err(StoreError::BadUrl(redact(url)));
        };
        Ok(opened)
    }

    pub(crate) fn engine(&self) -> Engine {
        match self {
            Self::Sqlite(_) => Engine::Sqlite,
            Self::Postgres(_) => Engine::Postgres,
        }
    }

    /// How many read connections were leased so far: one per read operation (a statement, or a
    /// few that belong together).
    pub(crate) fn reads(&self) -> u64 {
        match self {
            Self::Sqlite(readers) => readers.leased.load(Ordering::Relaxed),
            Self::Postgres(readers) => readers.leased.load(Ordering::Relaxed),
        }
    }

    /// A connection for reads in `scope`. On PostgreSQL the scope is set for the connection's
    /// session before the lease is handed out, unless the connection has it already (the
    /// previous lease asked for the same): every lease names its scope, so a read runs under
    /// exactly the scope it asked for, never one an earlier read left behind.
    pub(crate) async fn read(&self, scope: Scope) -> Result<Conn, StoreError> {
        Ok(match self {
            Self::Sqlite(readers) => Conn::Sqlite(readers.lease().await?),
            Self::Postgres(readers) => {
                let mut lease = readers.lease().await?;
                if lease.scope != Some(scope) {
                    lease.scope = None;
                    let (c, broken) = lease.parts();
                    set_scope(&mut Exec::Pg(c, Some(broken)), scope, false).await?;
                    lease.scope = Some(scope);
                }
                Conn::Pg(lease)
            }
        })
    }

    /// A read-only transaction in `scope` that sees one consistent state, for reads that span
    /// several statements (verifying a chain while appends continue).
    pub(crate) async fn snapshot(&self, scope: Scope) -> Result<Tx, StoreError> {
        let conn = self.read(scope).await?;
        // From here on the connection is closed, not pooled, when it is returned: whatever
        // happens to this transaction, it ends with the connection.
        conn.discard();
        let mut tx = Tx(conn);
        let begin = dialect::begin_snapshot(self.engine());
        run!(&mut tx.exec(), |c| sqlx::raw_sql(begin).execute(c).await.map(drop))?;
        Ok(tx)
    }

    pub(crate) async fn close(&self) {
        match self {
            Self::Sqlite(readers) => readers.close().await,
            Self::Postgres(readers) => readers.close().await,
        }
    }
}

/// Warns when the server's autovacuum is off. Nothing then refreshes the planner's statistics
/// as the tables grow, and the plans each connection caches keep the shape they got from small
/// tables: measured, a credential statement planned while `sessions` held one row went on
/// scanning the whole table after thousands of sign-ins, and gets fell by nearly half.
async fn warn_without_autovacuum(writer: &mut PgConnection) {
    let on: Result<String, _> = sqlx::query_scalar("SHOW autovacuum").fetch_one(&mut *writer).await;
    if on.is_ok_and(|v| v == "off") {
        tracing::warn!(
            "PostgreSQL runs with autovacuum off: run ANALYZE regularly, or request handling slows down as tables grow"
        );
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` with its path (the database name) replaced by `database`, query string kept.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// The URL without credentials, for error messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://…{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_credentials() {
        assert_eq!(redact("mysql://root:hunter2@db/x"), "mysql://…@db/x");
        assert_eq!(redact("file.db"), "file.db");
    }
}
