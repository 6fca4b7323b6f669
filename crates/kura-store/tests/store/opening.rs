//! Opening a store: URLs and migrations (refusing a downgrade).

use super::*;

// Opening ----------------------------------------------------------------------------------------

#[tokio::test]
async fn open_refuses_a_database_from_a_newer_version() {
    let env = env().await;
    assert_eq!(env.store.engine(), if env.db.url.starts_with("sqlite:") { Engine::Sqlite } else { Engine::Postgres });
    env.store.ping().await.unwrap();
    env.store.close().await;

    // Opening again is fine (migrations already applied)...
    let clock = env.clock.clone();
    let again = env.db.open(clock.clone(), StoreOptions::default()).await.unwrap();
    again.close().await;

    // ...but not once the database has a migration this binary does not know.
    let raw = Raw::connect(&env.db.url).await;
    const FUTURE: &str = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                          VALUES ($2, 'from a newer Kura', TRUE, $1, 0)";
    const FUTURE_VERSION: i64 = 99_990_101_000_000;
    match &raw {
        Raw::Sqlite(p) => sqlx::query(FUTURE).bind(vec![0u8; 48]).bind(FUTURE_VERSION).execute(p).await.map(drop),
        Raw::Pg(p) => sqlx::query(FUTURE).bind(vec![0u8; 48]).bind(FUTURE_VERSION).execute(p).await.map(drop),
    }
    .unwrap();
    let err = env.db.open(clock, StoreOptions::default()).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Migration(sqlx::migrate::MigrateError::VersionMissing(FUTURE_VERSION))),
        "{err:?}"
    );
    assert!(err.to_string().contains("99990101000000"), "{err}");
}

#[tokio::test]
async fn open_refuses_unknown_urls() {
    let clock = Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH));
    let err = Store::open("mysql://root:secret@db/kura", clock, StoreOptions::default()).await.unwrap_err();
    assert!(matches!(&err, StoreError::BadUrl(u) if !u.contains("secret")), "{err:?}");
}
