//! Fresh, private databases for tests, on either engine.
//!
//! By default each [`TestDb`] is a new SQLite file in its own temporary directory. With
//! `KURA_TEST_POSTGRES_URL` set (for example `postgres://postgres@127.0.0.1:5432/postgres`), each
//! is a new database on that server instead, dropped again when the `TestDb` is. Tests never
//! share a database, so they may run in parallel.

use crate::conn::{Engine, Exec};
use crate::{Store, StoreError, Write, with_database};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// The environment variable that switches tests to PostgreSQL.
pub const POSTGRES_URL_VAR: &str = "KURA_TEST_POSTGRES_URL";

/// The `application_name` of a store's PostgreSQL writer connection (to find it in
/// `pg_stat_activity`, for example to cut it).
pub const PG_WRITER_APPLICATION_NAME: &str = crate::db::PG_WRITER_NAME;
/// The `application_name` of the access log's own connections on PostgreSQL.
pub const PG_ACCESS_LOG_APPLICATION_NAME: &str = crate::access_log::PG_ACCESS_LOG_NAME;

/// How many tasks are waiting for the store's writer slot: lets a test line writers up behind a
/// `Write` it holds, so that they join one batch.
pub fn queued_writers(store: &Store) -> usize {
    store.writer.queued()
}

/// How many record inserts and updates wait in the writer's queue (see `Store::create_record`
/// and `Store::update_record`).
pub fn queued_as_data(store: &Store) -> usize {
    store.writer.queued_as_data()
}

/// `Store::create_record` with a given record id, so that a test can make an insert collide.
pub async fn create_record_with_id(
    store: &Store,
    id: kura_domain::RecordId,
    tenant: kura_domain::TenantId,
    collection: kura_domain::CollectionId,
    data: &kura_domain::RecordData,
    actor: kura_domain::Actor,
) -> Result<kura_domain::AuditEntry, StoreError> {
    let audit = |r: &kura_domain::Record| {
        kura_domain::AuditRecord::success(kura_domain::Operation::RecordCreate, format!("record:{}", r.id))
    };
    store.create_record_as(id, tenant, actor, collection, data, audit).await.map(|(_, entry)| entry)
}

/// Makes the `COMMIT` of the batch that `w` joins fail for real: it leaves a deferred constraint
/// violation in the outer transaction (a foreign key on SQLite, a unique key on PostgreSQL, both
/// on temporary tables), which each engine checks only at `COMMIT`.
pub async fn poison_batch(w: &mut Write) -> Result<(), StoreError> {
    let mut e = w.exec().await?;
    match &mut e {
        Exec::Sqlite(c, _) => {
            sqlx::raw_sql(crate::dialect::poison(Engine::Sqlite)).execute(&mut **c).await.map(drop)?
        }
        Exec::Pg(c, _) => sqlx::raw_sql(crate::dialect::poison(Engine::Postgres)).execute(&mut **c).await.map(drop)?,
    }
    Ok(())
}

/// The PostgreSQL role the tests' stores connect as: it neither owns the tables nor bypasses
/// row-level security (TEN-2), so every PostgreSQL test runs under the policies. `.ci/lib.sh`
/// creates it too; [`test_db`] creates it when missing.
pub const APP_ROLE: &str = "kura_app";

/// The application role's password (a test cluster's; with `trust` authentication it is not
/// asked for).
const APP_PASSWORD: &str = "kura_app";

/// `url` (a test database's, as the server's superuser) as the application role ([`APP_ROLE`]);
/// a SQLite URL as it is.
pub fn app_url(url: &str) -> String {
    let Some(rest) = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://")) else {
        return url.to_owned();
    };
    let host = match rest.find('@') {
        Some(at) if rest[..at].find('/').is_none() => &rest[at + 1..],
        _ => rest,
    };
    format!("postgres://{APP_ROLE}:{APP_PASSWORD}@{host}")
}

/// The URL that owns a test database's tables and runs its migrations: `url` itself on
/// PostgreSQL, none on SQLite.
pub fn owner_url(url: &str) -> Option<String> {
    (url.starts_with("postgres://") || url.starts_with("postgresql://")).then(|| url.to_owned())
}

/// Creates the application role on the server of `server` unless it exists (several test
/// processes may race: whoever loses finds it there). It may log in and do nothing else.
pub async fn ensure_app_role(server: &str) -> Result<(), StoreError> {
    let mut conn = PgConnection::connect(server).await?;
    let create = format!(
        "DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{APP_PASSWORD}' \
         NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(&mut conn).await?;
    let _ = conn.close().await;
    Ok(())
}

/// A database for one test. Keep it alive as long as the test uses `url`.
#[derive(Debug)]
pub struct TestDb {
    /// The database as the server's superuser: the owner of the tables, for the migrations and
    /// for tests that look at or alter the rows behind the store's back.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<PgScratch>,
}

impl TestDb {
    /// The URL a store of this test connects as: the application role on PostgreSQL.
    pub fn app_url(&self) -> String {
        app_url(&self.url)
    }

    /// Opens a store on this database as the application role, migrated by the owner.
    pub async fn open(
        &self,
        clock: std::sync::Arc<dyn kura_domain::Clock>,
        options: crate::StoreOptions,
    ) -> Result<Store, StoreError> {
        let options = crate::StoreOptions { owner_url: owner_url(&self.url), ..options };
        Store::open(&self.app_url(), clock, options).await
    }
}

/// Creates a fresh, empty database (see the module documentation for which engine).
pub async fn test_db() -> TestDb {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(server) if !server.trim().is_empty() => {
            let name = format!("kura_test_{}", uuid::Uuid::now_v7().simple());
            ensure_app_role(&server).await.expect("create the application role on KURA_TEST_POSTGRES_URL");
            let pg = PgScratch::create(&server, &name).await.expect("create a test database on KURA_TEST_POSTGRES_URL");
            TestDb { url: pg.url.clone(), _dir: None, _pg: Some(pg) }
        }
        _ => {
            let dir = tempfile::tempdir().expect("create a temporary directory");
            let url = format!("sqlite://{}", dir.path().join("kura.db").display());
            TestDb { url, _dir: Some(dir), _pg: None }
        }
    }
}

/// A keystore for one test, apart from its data: a SQLite file in a directory of its own, or
/// on PostgreSQL a database named after the test's with `_keys` appended.
#[derive(Debug)]
pub struct TestKeystore {
    pub url: String,
    /// The keystore's directory on SQLite (for tests that read its files).
    pub dir: Option<tempfile::TempDir>,
    _pg: Option<PgScratch>,
}

/// Creates the keystore that goes with `db`.
pub async fn test_keystore(db: &TestDb) -> TestKeystore {
    match &db._pg {
        Some(pg) => {
            let ks =
                PgScratch::create(&pg.server, &format!("{}_keys", pg.name)).await.expect("create a keystore database");
            TestKeystore { url: ks.url.clone(), dir: None, _pg: Some(ks) }
        }
        None => {
            let dir = tempfile::tempdir().expect("create a temporary directory");
            let url = format!("sqlite://{}", dir.path().join("keystore.db").display());
            TestKeystore { url, dir: Some(dir), _pg: None }
        }
    }
}

/// A vault over `keystore` with a fresh random master key.
pub async fn test_vault(keystore: &TestKeystore) -> std::sync::Arc<crate::Vault> {
    let master = std::sync::Arc::new(kura_crypto::vault::MasterKey::generate());
    std::sync::Arc::new(crate::Vault::open(&keystore.url, master, false).await.expect("open the keystore"))
}

/// A new, empty PostgreSQL database, dropped again (best effort, `WITH (FORCE)`) when this is.
/// Used by the tests and by the benchmark harness.
#[derive(Debug)]
pub struct PgScratch {
    /// The URL of the new database.
    pub url: String,
    server: String,
    name: String,
}

impl PgScratch {
    /// Connects to `server` (a maintenance database such as `postgres`) and creates database
    /// `name` (letters, digits and underscores only), replacing a leftover of that name.
    pub async fn create(server: &str, name: &str) -> Result<Self, StoreError> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(StoreError::BadUrl(format!("unusable database name {name:?}")));
        }
        let mut conn = PgConnection::connect(server).await?;
        // Identifiers cannot be bound as parameters; `name` was checked above.
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
            .execute(&mut conn)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
        let _ = conn.close().await;
        Ok(Self { url: with_database(server, name), server: server.to_owned(), name: name.to_owned() })
    }
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop may run inside a runtime, which cannot block on itself: use a short-lived one on
        // another thread. Best effort: a leftover database only costs disk space.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&server).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_is_replaced() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h/postgres?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }

    #[test]
    fn the_application_role_replaces_the_user() {
        assert_eq!(super::app_url("postgres://postgres@h:5432/db?x=1"), "postgres://kura_app:kura_app@h:5432/db?x=1");
        assert_eq!(super::app_url("postgres://h/db"), "postgres://kura_app:kura_app@h/db");
        assert_eq!(super::app_url("sqlite:///tmp/k.db"), "sqlite:///tmp/k.db");
    }
}
