//! The keystore database: tenant keys wrapped by the master key, apart from the data. A SQLite
//! file (outside the data directory) or a PostgreSQL database of its own, with its own
//! migrations (`keystore/`). It is read once per tenant per process and written when a tenant
//! opens, so it uses sqlx's pools rather than the data's reader pool and writer slot.

use crate::error::StoreError;
use kura_crypto::vault::{KeyPurpose, WrappedKey};
use kura_domain::TenantId;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

/// The keystore's migrations, embedded at build time; the same files serve both engines.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./keystore");

#[derive(Clone, Debug)]
pub(crate) enum Keystore {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Runs one body on either engine's pool.
macro_rules! on_pool {
    ($ks:expr, |$p:ident| $body:expr) => {
        match $ks {
            Keystore::Sqlite($p) => $body,
            Keystore::Postgres($p) => $body,
        }
    };
}

fn purpose_name(p: KeyPurpose) -> &'static str {
    match p {
        KeyPurpose::Data => "data",
        KeyPurpose::BlindIndex => "blind-index",
        KeyPurpose::Backup => "backup",
        KeyPurpose::ClientCa => "client-ca",
    }
}

impl Keystore {
    /// Opens (a SQLite file is created if missing; a PostgreSQL database must exist) and
    /// migrates the keystore at `url`.
    pub(crate) async fn open(url: &str, create_database: bool) -> Result<Self, StoreError> {
        let ks = if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5));
            Self::Sqlite(SqlitePoolOptions::new().max_connections(2).connect_with(connect).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url)?.application_name("kura-keystore");
            if create_database {
                create_pg_database(&connect).await?;
            }
            Self::Postgres(PgPoolOptions::new().max_connections(2).connect_with(connect).await?)
        } else {
            return Err(StoreError::BadUrl("the keystore URL must be sqlite://PATH or postgres://…".to_owned()));
        };
        on_pool!(&ks, |p| MIGRATOR.run(p).await)?;
        Ok(ks)
    }

    /// Every wrapped key of `tenant`, oldest version first.
    pub(crate) async fn tenant_keys(&self, tenant: TenantId) -> Result<Vec<WrappedKey>, StoreError> {
        const SQL: &str = "SELECT wrapped FROM tenant_keys WHERE tenant_id = $1 ORDER BY purpose, version";
        let rows: Vec<Vec<u8>> = on_pool!(self, |p| sqlx::query_scalar(SQL).bind(tenant.as_uuid()).fetch_all(p).await)?;
        rows.iter()
            .map(|b| WrappedKey::from_bytes(b).map_err(|e| StoreError::Corrupt(format!("keystore: {e}"))))
            .collect()
    }

    /// Stores a new tenant's wrapped keys in one transaction, durably. A tenant that already has
    /// keys is a conflict (keys are never replaced here: that would make its data unreadable).
    pub(crate) async fn insert(&self, tenant: TenantId, keys: &[WrappedKey], now: i64) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO tenant_keys (tenant_id, purpose, version, master_key_id, wrapped, created_at) \
                           VALUES ($1, $2, $3, $4, $5, $6)";
        macro_rules! insert_all {
            ($pool:expr) => {{
                let mut tx = $pool.begin().await?;
                for k in keys {
                    sqlx::query(SQL)
                        .bind(tenant.as_uuid())
                        .bind(purpose_name(k.purpose()))
                        .bind(i64::from(k.version().get()))
                        .bind(k.master_key_id().as_str())
                        .bind(k.to_bytes())
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| match &e {
                            sqlx::Error::Database(d) if d.is_unique_violation() => {
                                StoreError::Conflict("this tenant already has keys".to_owned())
                            }
                            _ => StoreError::Database(e),
                        })?;
                }
                tx.commit().await?;
            }};
        }
        match self {
            Self::Sqlite(p) => insert_all!(p),
            Self::Postgres(p) => insert_all!(p),
        }
        Ok(())
    }

    /// Destroys every key of `tenant` (crypto-shredding: its values, in every copy of the data,
    /// can no longer be opened). Returns how many keys there were.
    pub(crate) async fn destroy(&self, tenant: TenantId) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM tenant_keys WHERE tenant_id = $1";
        const PLAIN: &str = "DELETE FROM tenant_plain_values WHERE tenant_id = $1";
        let n =
            on_pool!(self, |p| sqlx::query(SQL).bind(tenant.as_uuid()).execute(p).await.map(|r| r.rows_affected()))?;
        on_pool!(self, |p| sqlx::query(PLAIN).bind(tenant.as_uuid()).execute(p).await.map(drop))?;
        Ok(n)
    }

    pub(crate) async fn close(&self) {
        on_pool!(self, |p| p.close().await)
    }
}

/// Creates the keystore's PostgreSQL database if it does not exist, through the server's
/// `postgres` database.
async fn create_pg_database(connect: &PgConnectOptions) -> Result<(), StoreError> {
    use sqlx::{ConnectOptions as _, Connection as _};
    let name = connect.get_database().unwrap_or_default().to_owned();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(StoreError::BadUrl(format!(
            "a keystore database name of letters, digits and _ only, not {name:?}"
        )));
    }
    let mut conn = connect.clone().database("postgres").connect().await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        // Identifiers cannot be bound; `name` was checked above.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
    }
    let _ = conn.close().await;
    Ok(())
}
