//! The two engines behind one type, and the only place that knows their differences.
//!
//! Everything above this module sees an [`Exec`] (a connection of either engine) and runs SQL
//! through the [`run!`] macro, which expands the same body once per engine. The differences that
//! remain are connection set-up: SQLite gets one writer connection (it allows a single writer
//! anyway, and a single connection serialises audit appends without `SQLITE_BUSY`) beside a pool
//! of readers; PostgreSQL gets one pool for everything.

use crate::error::StoreError;
use crate::store::{Engine, StoreOptions};
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// The migrations, embedded at build time; the same files serve both engines.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a SQLite connection waits for a lock held by another process (such as the CLI)
/// before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The pools of one engine.
#[derive(Clone, Debug)]
pub(crate) enum Db {
    Sqlite { write: SqlitePool, read: SqlitePool },
    Postgres(PgPool),
}

/// A borrowed connection of either engine: what every SQL function takes.
pub(crate) enum Exec<'c> {
    Sqlite(&'c mut SqliteConnection),
    Pg(&'c mut PgConnection),
}

/// Runs the same body on whichever engine `$exec` (a `&mut Exec`) holds, with `$conn` bound to
/// the concrete `&mut …Connection`. The body is written once; the compiler checks it for both.
macro_rules! run {
    ($exec:expr, |$conn:ident| $body:expr) => {
        match &mut *$exec {
            $crate::db::Exec::Sqlite(c) => {
                let $conn = &mut **c;
                $body
            }
            $crate::db::Exec::Pg(c) => {
                let $conn = &mut **c;
                $body
            }
        }
    };
}
pub(crate) use run;

/// A connection checked out of a pool for the duration of one operation.
pub(crate) enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Pg(PoolConnection<Postgres>),
}

impl Conn {
    pub(crate) fn exec(&mut self) -> Exec<'_> {
        match self {
            Self::Sqlite(c) => Exec::Sqlite(c),
            Self::Pg(c) => Exec::Pg(c),
        }
    }
}

/// An open transaction of either engine.
#[derive(Debug)]
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Pg(Transaction<'static, Postgres>),
}

impl Tx {
    pub(crate) fn exec(&mut self) -> Exec<'_> {
        match self {
            Self::Sqlite(t) => Exec::Sqlite(t),
            Self::Pg(t) => Exec::Pg(t),
        }
    }

    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(t) => t.commit().await?,
            Self::Pg(t) => t.commit().await?,
        }
        Ok(())
    }
}

impl Db {
    /// Connects to `url` and applies pending migrations.
    pub(crate) async fn open(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let max = options.max_connections.max(1);
        let db = if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            let write = SqlitePoolOptions::new().max_connections(1).connect_with(connect.clone()).await?;
            // Migrate before the readers connect: they open read-only and cannot create the file.
            MIGRATOR.run(&write).await?;
            let read = SqlitePoolOptions::new()
                .max_connections(max)
                .connect_with(connect.create_if_missing(false).read_only(true))
                .await?;
            Self::Sqlite { write, read }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new().max_connections(max).connect(url).await?;
            // The migrator takes an advisory lock, so several nodes may start at once.
            MIGRATOR.run(&pool).await?;
            Self::Postgres(pool)
        } else {
            return Err(StoreError::BadUrl(redact(url)));
        };
        Ok(db)
    }

    pub(crate) fn engine(&self) -> Engine {
        match self {
            Self::Sqlite { .. } => Engine::Sqlite,
            Self::Postgres(_) => Engine::Postgres,
        }
    }

    /// A connection for reads.
    pub(crate) async fn read(&self) -> Result<Conn, StoreError> {
        Ok(match self {
            Self::Sqlite { read, .. } => Conn::Sqlite(read.acquire().await?),
            Self::Postgres(pool) => Conn::Pg(pool.acquire().await?),
        })
    }

    /// A connection for the unaudited bookkeeping writes (session activity, key use). On SQLite
    /// this is the single writer: a task holding a [`crate::Write`] must not ask for it.
    pub(crate) async fn bookkeeping(&self) -> Result<Conn, StoreError> {
        Ok(match self {
            Self::Sqlite { write, .. } => Conn::Sqlite(write.acquire().await?),
            Self::Postgres(pool) => Conn::Pg(pool.acquire().await?),
        })
    }

    /// Starts a write transaction.
    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            // IMMEDIATE takes the write lock up front, so a transaction that reads before it
            // writes cannot fail half-way because another process (the CLI) wrote meanwhile.
            Self::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Self::Postgres(pool) => Tx::Pg(pool.begin().await?),
        })
    }

    /// A read-only transaction that sees one consistent state, for reads that span several
    /// statements (verifying a chain while appends continue).
    pub(crate) async fn snapshot(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            // In WAL mode a read transaction sees the database as of its first read.
            Self::Sqlite { read, .. } => Tx::Sqlite(read.begin().await?),
            Self::Postgres(pool) => Tx::Pg(pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?),
        })
    }

    pub(crate) async fn close(&self) {
        match self {
            Self::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// The URL without credentials, for error messages.
fn redact(url: &str) -> String {
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
