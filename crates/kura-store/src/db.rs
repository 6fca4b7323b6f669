//! The two engines behind one type, and the only place that knows their differences.
//!
//! Everything above this module sees an [`Exec`] (a connection of either engine) and runs SQL
//! through the [`run!`] macro, which expands the same body once per engine. The differences that
//! remain are connection set-up. Both engines get one writer connection (the slot of
//! [`crate::writer`]) beside a pool of readers; on SQLite the readers open read-only.

use crate::error::StoreError;
use crate::store::{Engine, StoreOptions};
use crate::writer::{Connector, WriterConn};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection as _, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// The migrations, embedded at build time; the same files serve both engines.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a SQLite connection waits for a lock held by another process (such as the CLI)
/// before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The `application_name` of the PostgreSQL writer connection, to tell it apart in
/// `pg_stat_activity`.
pub(crate) const PG_WRITER_NAME: &str = "kura-writer";

/// The read pool of one engine (the writer connection lives in [`crate::writer`]).
#[derive(Clone, Debug)]
pub(crate) enum Db {
    Sqlite { read: SqlitePool },
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
}

impl Db {
    /// Connects to `url`, applies pending migrations, and returns the read pool with the writer
    /// connection and how to open it again.
    pub(crate) async fn open(url: &str, options: &StoreOptions) -> Result<(Self, WriterConn, Connector), StoreError> {
        let max = options.max_connections.max(1);
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
            // No ping before each use: it costs a round trip per read (on SQLite a hand-off to
            // the connection's worker thread), and a connection that fails is dropped by the
            // pool after the failed statement anyway.
            let read = SqlitePoolOptions::new()
                .max_connections(max)
                .test_before_acquire(false)
                .connect_with(connect.create_if_missing(false).read_only(true))
                .await?;
            (Self::Sqlite { read }, writer, connector)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url)?;
            // No ping before each use (a network round trip per read): a connection that broke
            // while idle fails its statement, and the pool drops it.
            let pool = PgPoolOptions::new()
                .max_connections(max)
                .test_before_acquire(false)
                .connect_with(connect.clone())
                .await?;
            // The migrator takes an advisory lock, so several nodes may start at once.
            MIGRATOR.run(&pool).await?;
            let connector = Connector::Pg(connect.application_name(PG_WRITER_NAME));
            let writer = connector.connect().await?;
            (Self::Postgres(pool), writer, connector)
        } else {
            return Err(StoreError::BadUrl(redact(url)));
        };
        Ok(opened)
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
            Self::Sqlite { read } => Conn::Sqlite(read.acquire().await?),
            Self::Postgres(pool) => Conn::Pg(pool.acquire().await?),
        })
    }

    /// A read-only transaction that sees one consistent state, for reads that span several
    /// statements (verifying a chain while appends continue).
    pub(crate) async fn snapshot(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            // In WAL mode a read transaction sees the database as of its first read.
            Self::Sqlite { read } => Tx::Sqlite(read.begin().await?),
            Self::Postgres(pool) => Tx::Pg(pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?),
        })
    }

    pub(crate) async fn close(&self) {
        match self {
            Self::Sqlite { read } => read.close().await,
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
