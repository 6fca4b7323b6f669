//! A fresh PostgreSQL database for Kura, dropped again when the guard is.

use anyhow::Context as _;
use kura_store::testing::PgScratch;
use sqlx::Connection as _;
use sqlx::postgres::PgConnection;
use std::time::Duration;

/// A database created for one benchmark run, dropped again with the guard.
#[derive(Debug)]
pub struct PgDatabase {
    /// Drops the database when the run ends.
    _scratch: PgScratch,
    /// The keystore Kura opens beside it (`<name>_keys`) when encryption at rest is on.
    _keystore: PgScratch,
    pub url: String,
}

impl PgDatabase {
    /// Connects to `server_url` (a maintenance database such as `postgres`) and creates a new,
    /// empty database. Fails quickly when the server is unreachable.
    pub async fn create(server_url: &str, kind: crate::systems::SystemKind) -> anyhow::Result<Self> {
        check_loopback(server_url)?;
        // One database per harness process and system; a leftover of a killed run with the
        // same id is replaced.
        let rls = if kind == crate::systems::SystemKind::KuraPostgresRls { "_rls" } else { "" };
        let name = format!("kura_bench_{}{rls}", std::process::id());
        if !rls.is_empty() {
            kura_store::testing::ensure_app_role(server_url).await.context("cannot create the application role")?;
        }
        let scratch = tokio::time::timeout(Duration::from_secs(5), PgScratch::create(server_url, &name))
            .await
            .context("timed out connecting to PostgreSQL")?
            .context("cannot create the benchmark database")?;
        let keystore = PgScratch::create(server_url, &format!("{name}_keys"))
            .await
            .context("cannot create the benchmark keystore database")?;
        Ok(Self { url: scratch.url.clone(), _scratch: scratch, _keystore: keystore })
    }

    /// Refreshes the planner's statistics of every table, as autovacuum does within a minute of
    /// a bulk load. Without them, PostgreSQL's generic plan for a lookup by primary key in a
    /// freshly loaded `records` table may take the change-number index and filter a whole
    /// collection, and the timed runs would start seconds after seeding, before autovacuum.
    pub async fn analyze(&self) -> anyhow::Result<()> {
        let mut conn = PgConnection::connect(&self.url).await?;
        sqlx::raw_sql("ANALYZE").execute(&mut conn).await?;
        let _ = conn.close().await;
        Ok(())
    }

    /// Whether the server's autovacuum daemon runs. Without it nothing refreshes the planner's
    /// statistics while the tables grow, and plans cached on a long-lived connection keep the
    /// shape they got from tables measured small: a credential statement planned while
    /// `sessions` held one row scans the whole table once sign-ins have added thousands.
    pub async fn autovacuum(&self) -> anyhow::Result<bool> {
        Ok(self.show(&["autovacuum"]).await?[0] == "on")
    }

    /// PostgreSQL's version string and its durability settings, for the report.
    pub async fn describe(&self) -> anyhow::Result<String> {
        let shown = self.show(&["server_version", "fsync", "synchronous_commit", "autovacuum"]).await?;
        let [version, fsync, sync, autovacuum] = &shown[..] else { unreachable!("one value per setting") };
        Ok(format!("PostgreSQL {version} (fsync={fsync}, synchronous_commit={sync}, autovacuum={autovacuum})"))
    }

    /// The server's values of `settings`, in their order, over one connection.
    async fn show(&self, settings: &[&str]) -> anyhow::Result<Vec<String>> {
        let mut conn = PgConnection::connect(&self.url).await?;
        let mut values = Vec::with_capacity(settings.len());
        for setting in settings {
            values.push(sqlx::query_scalar("SELECT current_setting($1)").bind(setting).fetch_one(&mut conn).await?);
        }
        let _ = conn.close().await;
        Ok(values)
    }
}

/// The harness only touches loopback: refuse a PostgreSQL URL whose host is elsewhere.
fn check_loopback(url: &str) -> anyhow::Result<()> {
    let host = host_of(url);
    let ok = host == "localhost"
        || host.is_empty()
        || host.starts_with('/')
        || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    anyhow::ensure!(ok, "the benchmark only uses loopback; {host:?} is not a loopback host");
    Ok(())
}

/// The host part of a `postgres://user:pass@host:port/db?x` URL (without the port).
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if hostport.starts_with('[') {
        return hostport.split_once(']').map_or(hostport, |(h, _)| h).trim_start_matches('[');
    }
    hostport.split(':').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts() {
        assert_eq!(host_of("postgres://postgres@127.0.0.1:5432/postgres"), "127.0.0.1");
        assert_eq!(host_of("postgres://u:p@[::1]:5432/db"), "::1");
        assert!(check_loopback("postgres://postgres@127.0.0.1:5432/postgres").is_ok());
        assert!(check_loopback("postgres://postgres@localhost/postgres").is_ok());
        assert!(check_loopback("postgres://u:p@[::1]:5432/db").is_ok());
        assert!(check_loopback("postgres://u@db.example.com:5432/db").is_err());
        assert!(check_loopback("postgres://u@10.0.0.5/db").is_err());
    }
}
