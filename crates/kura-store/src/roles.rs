//! PostgreSQL's two roles (TEN-2, the second layer): migrations as the role that owns Kura's
//! tables, the application as a role that neither owns them nor bypasses row-level security,
//! and whether that holds for the role the store connects as ([`RowSecurity`]).
//!
//! On PostgreSQL the migrations are the shared ones (`migrations/`) and the PostgreSQL-only
//! ones (`migrations-postgres/`: the policies), merged by number into one migrator.

use crate::conn::{Exec, Scope, set_scope};
use crate::db::{MIGRATOR, redact};
use crate::dialect;
use crate::error::StoreError;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection as _, PgConnection};
use std::collections::HashMap;
use std::str::FromStr;

/// The PostgreSQL-only migrations: row-level security and its policies.
static PG_ONLY: Migrator = sqlx::migrate!("./migrations-postgres");

/// The `application_name` of the connection that runs the migrations as the owner role.
const PG_MIGRATE_NAME: &str = "kura-migrate";

/// Whether row-level security confines the role the store connects as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowSecurity {
    /// SQLite: one file, one process; no roles and no row-level security.
    NotAvailable,
    /// PostgreSQL, and the role neither owns the tables nor bypasses the policies.
    Enforced,
    /// PostgreSQL, and the policies do not confine the role: why.
    NotEnforced(Unconfined),
}

/// Why row-level security does not confine the role the store connects as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unconfined {
    /// A superuser bypasses every policy.
    Superuser,
    /// The role has `BYPASSRLS`.
    BypassRls,
    /// The role owns Kura's tables (or is a member of the role that does), so it could switch
    /// the policies off.
    OwnsTables,
    /// The tables have no forced row-level security (a migration missing or undone).
    NotForced,
}

impl Unconfined {
    /// The reason in words, for the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Superuser => "the database role is a superuser, which bypasses row-level security",
            Self::BypassRls => "the database role has BYPASSRLS",
            Self::OwnsTables => "the database role owns Kura's tables, so it can switch row-level security off",
            Self::NotForced => "row-level security is not enabled on Kura's tables",
        }
    }
}

impl RowSecurity {
    /// A short word for metrics and readiness: `enforced`, `not_enforced` or `not_available`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAvailable => "not_available",
            Self::Enforced => "enforced",
            Self::NotEnforced(_) => "not_enforced",
        }
    }
}

/// Every migration PostgreSQL runs, in order of number.
fn pg_migrator() -> Migrator {
    Migrator::with_migrations(MIGRATOR.iter().chain(PG_ONLY.iter()).cloned().collect())
}

/// Applies pending migrations on `conn`. When every migration is applied already it runs
/// nothing, so that the application role (which may not create tables) starts once the owner
/// has migrated; a database with a migration this binary does not know is refused either way.
pub(crate) async fn migrate(conn: &mut PgConnection) -> Result<(), StoreError> {
    let migrator = pg_migrator();
    if up_to_date(conn, &migrator).await? {
        return Ok(());
    }
    // FORCE ROW LEVEL SECURITY applies the policies to the owner too: a migration that moves
    // data sees every tenant's rows through the platform route, for this session only.
    set_scope(&mut Exec::Pg(conn, None), Scope::Platform, false).await?;
    let ran = migrator.run(&mut *conn).await;
    sqlx::raw_sql(dialect::CLEAR_SCOPE).execute(&mut *conn).await?;
    Ok(ran?)
}

/// Whether every migration is applied with the checksum this binary has. A missing migrations
/// table means no. An applied migration this binary does not know is refused, as the migrator
/// refuses it (a downgrade).
async fn up_to_date(conn: &mut PgConnection, migrator: &Migrator) -> Result<bool, StoreError> {
    let exists: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text").fetch_one(&mut *conn).await?;
    if exists.is_none() {
        return Ok(false);
    }
    let applied: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations WHERE success").fetch_all(&mut *conn).await?;
    let applied: HashMap<i64, Vec<u8>> = applied.into_iter().collect();
    if let Some(&unknown) = applied.keys().find(|&&v| !migrator.version_exists(v)) {
        return Err(MigrateError::VersionMissing(unknown).into());
    }
    Ok(migrator.iter().all(|m| applied.get(&m.version).is_some_and(|c| c.as_slice() == &*m.checksum)))
}

/// Migrates as the role of `owner_url`, then grants `app_role` what the application needs:
/// the schema, and `SELECT`, `INSERT`, `UPDATE`, `DELETE` on Kura's tables (only `SELECT` on
/// the migrations' own table). Nothing more: not ownership, not `TRUNCATE`, not `BYPASSRLS`.
pub(crate) async fn migrate_as_owner(owner_url: &str, app_role: &str) -> Result<(), StoreError> {
    let options = PgConnectOptions::from_str(owner_url)
        .map_err(|_| StoreError::BadUrl(redact(owner_url)))?
        .application_name(PG_MIGRATE_NAME);
    let mut owner = PgConnection::connect_with(&options).await?;
    migrate(&mut owner).await?;
    let me: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(&mut owner).await?;
    if me != app_role {
        let (role, schema): (String, String) = sqlx::query_as("SELECT quote_ident($1), quote_ident(current_schema())")
            .bind(app_role)
            .fetch_one(&mut owner)
            .await?;
        let grants = format!(
            "GRANT USAGE ON SCHEMA {schema} TO {role}; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}; \
             REVOKE INSERT, UPDATE, DELETE ON _sqlx_migrations FROM {role}"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(grants)).execute(&mut owner).await?;
    }
    let _ = owner.close().await;
    Ok(())
}

/// Whether the policies confine the role `conn` is connected as; warns when they do not.
pub(crate) async fn row_security(conn: &mut PgConnection) -> Result<RowSecurity, StoreError> {
    let (superuser, bypass, owns, forced): (bool, bool, bool, bool) = sqlx::query_as(
        "SELECT r.rolsuper, r.rolbypassrls, pg_has_role(current_user, c.relowner, 'USAGE'), \
                c.relrowsecurity AND c.relforcerowsecurity \
         FROM pg_roles r, pg_class c \
         WHERE r.rolname = current_user AND c.oid = to_regclass('records')",
    )
    .fetch_one(&mut *conn)
    .await?;
    let security = if superuser {
        RowSecurity::NotEnforced(Unconfined::Superuser)
    } else if bypass {
        RowSecurity::NotEnforced(Unconfined::BypassRls)
    } else if owns {
        RowSecurity::NotEnforced(Unconfined::OwnsTables)
    } else if !forced {
        RowSecurity::NotEnforced(Unconfined::NotForced)
    } else {
        RowSecurity::Enforced
    };
    if let RowSecurity::NotEnforced(why) = security {
        tracing::warn!(
            reason = why.as_str(),
            "PostgreSQL row-level security does not confine this connection (TEN-2): connect as an application role \
             and migrate with database_owner_url (docs/operations.md)"
        );
    }
    Ok(security)
}
