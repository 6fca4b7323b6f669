//! The two engines' connections: which engine ([`Engine`]), a borrowed connection of either
//! ([`Exec`], with the [`run!`] macro that runs one body on both), and the writer's own
//! connection ([`WriterConn`], opened again by a [`Connector`]). The lowest module of the store:
//! readers, writers and the SQL all import from here.

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection as _, PgConnection, SqliteConnection};
use std::sync::atomic::{AtomicBool, Ordering};
use uuid::Uuid;

/// Which database engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Whose rows a PostgreSQL connection may see and write under row-level security (TEN-2, the
/// second layer; `migrations-postgres/`). Every read lease and every write names one, and the
/// store sets it on the connection before the first statement ([`set_scope`]). SQLite has no
/// row-level security; there the scope is not sent anywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// One tenant's rows (or, for the tables keyed by audit scope, the rows of that scope).
    Tenant(Uuid),
    /// The platform route: every tenant's rows. Only for work that is platform-wide by nature
    /// (the operator console, schedulers that scan every tenant, look-ups that come before the
    /// tenant is known, purges, the writer's own batch bookkeeping); ARCHITECTURE.md lists them.
    Platform,
}

impl Scope {
    pub(crate) fn tenant(tenant: kura_domain::TenantId) -> Self {
        Self::Tenant(tenant.as_uuid())
    }

    /// The scope of an audit chain: its tenant, or the platform.
    pub(crate) fn audit(scope: kura_domain::AuditScope) -> Self {
        Self::stored(scope.storage_id())
    }

    /// The scope of a session owner's rows: the user's tenant, or the platform's for operators.
    pub(crate) fn owner(owner: crate::SessionOwner) -> Self {
        match owner {
            crate::SessionOwner::User { tenant_id, .. } => Self::tenant(tenant_id),
            crate::SessionOwner::Operator(_) => Self::Platform,
        }
    }

    /// The scope of a row keyed by `scope_id` (the nil UUID is the platform's).
    pub(crate) fn stored(scope_id: Uuid) -> Self {
        if scope_id.is_nil() { Self::Platform } else { Self::Tenant(scope_id) }
    }
}

/// Sets `scope` on a PostgreSQL connection: until the end of the current transaction (or of
/// the savepoint it is rolled back to) when `local`, otherwise for the session. A no-op on
/// SQLite.
pub(crate) async fn set_scope(exec: &mut Exec<'_>, scope: Scope, local: bool) -> Result<(), sqlx::Error> {
    let Exec::Pg(c, _) = exec else { return Ok(()) };
    let (tenant, platform) = match scope {
        Scope::Tenant(id) => (id.to_string(), ""),
        Scope::Platform => (String::new(), "on"),
    };
    let result = sqlx::query(crate::dialect::SET_SCOPE).bind(tenant).bind(platform).bind(local).execute(&mut **c).await;
    if let Err(e) = &result {
        exec.failed(e);
    }
    result.map(drop)
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
