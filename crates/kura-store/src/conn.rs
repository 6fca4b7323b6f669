//! The two engines' connections: which engine ([`Engine`]), a borrowed connection of either
//! ([`Exec`], with the [`run!`] macro that runs one body on both), and the writer's own
//! connection ([`WriterConn`], opened again by a [`Connector`]). The lowest module of the store:
//! readers, writers and the SQL all import from here.

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection as _, PgConnection, SqliteConnection};
use std::sync::atomic::{AtomicBool, Ordering};

/// Which database engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A borrowed connection of either engine: what every SQL function takes. A pooled reader comes
/// with its lease's flag, which [`run!`] raises when a statement fails in a way that may mean
/// the connection is broken (the writer's connection has none: the slot handles its own).
pub(crate) enum Exec<'c> {
    Sqlite(&'c mut SqliteConnection, Option<&'c AtomicBool>),
    Pg(&'c mut PgConnection, Option<&'c AtomicBool>),
}

impl Exec<'_> {
    pub(crate) fn engine(&self) -> Engine {
        match self {
            Self::Sqlite(..) => Engine::Sqlite,
            Self::Pg(..) => Engine::Postgres,
        }
    }

    /// Notes a failed statement: a pooled connection that may be broken is not pooled again.
    pub(crate) fn failed(&self, e: &sqlx::Error) {
        if let Self::Sqlite(_, Some(broken)) | Self::Pg(_, Some(broken)) = self
            && connection_lost(self.engine(), e)
        {
            broken.store(true, Ordering::Relaxed);
        }
    }
}

/// Whether an error may mean the connection is gone, rather than one statement being refused
/// (for the read pool, which then closes the connection, and the writer, which reconnects).
pub(crate) fn connection_lost(engine: Engine, e: &sqlx::Error) -> bool {
    match e {
        // PostgreSQL says when it is closing the connection: class 08 (connection exception) or
        // 57 (operator intervention: shutdown, terminated backend). SQLite's refusals leave the
        // connection usable.
        sqlx::Error::Database(db) => {
            engine == Engine::Postgres && db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57"))
        }
        sqlx::Error::RowNotFound
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Encode(_)
        | sqlx::Error::Decode(_) => false,
        _ => true,
    }
}

/// Runs the same body on whichever engine `$exec` (a `&mut Exec`) holds, with `$conn` bound to
/// the concrete `&mut …Connection`. The body is written once; the compiler checks it for both.
/// It yields the body's `Result<_, sqlx::Error>`, after noting an error with [`Exec::failed`].
macro_rules! run {
    ($exec:expr, |$conn:ident| $body:expr) => {{
        let exec: &mut $crate::conn::Exec<'_> = &mut *$exec;
        let result = match exec {
            $crate::conn::Exec::Sqlite(c, _) => {
                let $conn = &mut **c;
                $body
            }
            $crate::conn::Exec::Pg(c, _) => {
                let $conn = &mut **c;
                $body
            }
        };
        if let Err(e) = &result {
            exec.failed(e);
        }
        result
    }};
}
pub(crate) use run;

/// How to open the writer connection (again, after it was lost).
#[derive(Clone, Debug)]
pub(crate) enum Connector {
    Sqlite(SqliteConnectOptions),
    Pg(PgConnectOptions),
}

impl Connector {
    pub(crate) async fn connect(&self) -> Result<WriterConn, sqlx::Error> {
        Ok(match self {
            Self::Sqlite(options) => WriterConn::Sqlite(SqliteConnection::connect_with(options).await?),
            Self::Pg(options) => WriterConn::Pg(PgConnection::connect_with(options).await?),
        })
    }

    pub(crate) fn engine(&self) -> Engine {
        match self {
            Self::Sqlite(_) => Engine::Sqlite,
            Self::Pg(_) => Engine::Postgres,
        }
    }
}

/// The writer connection of either engine.
pub(crate) enum WriterConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

impl WriterConn {
    pub(crate) fn exec(&mut self) -> Exec<'_> {
        match self {
            Self::Sqlite(c) => Exec::Sqlite(c, None),
            Self::Pg(c) => Exec::Pg(c, None),
        }
    }

    /// Runs statements without parameters (transaction control) as plain text.
    pub(crate) async fn run(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
            Self::Pg(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
        }
    }

    pub(crate) async fn close(self) {
        let _ = match self {
            Self::Sqlite(c) => c.close().await,
            Self::Pg(c) => c.close().await,
        };
    }
}
