//! A fresh PostgreSQL database for Kura, dropped again when the guard is.

use anyhow::Context as _;
use sqlx::Connection as _;
use sqlx::postgres::PgConnection;
use std::time::Duration;

/// A database created for one benchmark run. Dropping it drops the database (best effort,
/// `WITH (FORCE)` so that a still-connected server does not keep it alive).
#[derive(Debug)]
pub struct PgDatabase {
    server_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    /// Connects to `server_url` (a maintenance database such as `postgres`) and creates a new,
    /// empty database. Fails quickly when the server is unreachable.
    pub async fn create(server_url: &str) -> anyhow::Result<Self> {
        check_loopback(server_url)?;
        let mut conn = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(server_url))
            .await
            .context("timed out connecting to PostgreSQL")?
            .context("cannot connect to PostgreSQL")?;
        // One database per harness process; a leftover of a killed run with the same id goes first.
        let name = format!("kura_bench_{}", std::process::id());
        // Identifiers cannot be bound; `name` is letters, digits and underscores only.
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
            .execute(&mut conn)
            .await
            .context("cannot drop a leftover benchmark database")?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .context("cannot create the benchmark database")?;
        let _ = conn.close().await;
        Ok(Self { url: with_database(server_url, &name), server_url: server_url.to_owned(), name })
    }

    /// PostgreSQL's version string and its durability settings, for the report.
    pub async fn describe(&self) -> anyhow::Result<String> {
        let mut conn = PgConnection::connect(&self.url).await?;
        let version: String = sqlx::query_scalar("SHOW server_version").fetch_one(&mut conn).await?;
        let sync: String = sqlx::query_scalar("SHOW synchronous_commit").fetch_one(&mut conn).await?;
        let fsync: String = sqlx::query_scalar("SHOW fsync").fetch_one(&mut conn).await?;
        let _ = conn.close().await;
        Ok(format!("PostgreSQL {version} (fsync={fsync}, synchronous_commit={sync})"))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let server = self.server_url.clone();
        let name = self.name.clone();
        // Drop may run inside the runtime, which cannot block on itself: use a short-lived one on
        // another thread.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_replaced() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h/p?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
    }

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
