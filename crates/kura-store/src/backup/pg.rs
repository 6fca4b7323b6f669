//! PostgreSQL through its own tools: `pg_dump` in the custom format (one consistent snapshot,
//! uncompressed: the caller compresses) and `pg_restore` into an empty database. A password in
//! the URL is handed over in `PGPASSWORD`, never on a command line others can read.

use super::SnapshotError;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions as _, Connection as _};
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::str::FromStr as _;

/// `url` without the password of its user part, and that password (percent-decoded).
pub(super) fn without_password(url: &str) -> (String, Option<String>) {
    let Some(start) = url.find("://").map(|i| i + 3) else { return (url.to_owned(), None) };
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return (url.to_owned(), None) };
    let user_info = &rest[..at];
    let Some((user, password)) = user_info.split_once(':') else { return (url.to_owned(), None) };
    let stripped = format!("{}{user}{}", &url[..start], &rest[at..]);
    (stripped, Some(percent_decode(password)))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn command(tool: &Path, url: &str) -> Command {
    let (url, password) = without_password(url);
    let mut cmd = Command::new(tool);
    cmd.arg(format!("--dbname={url}"));
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd
}

fn tool_name(tool: &Path) -> String {
    tool.display().to_string()
}

/// Collects a child's standard error on a thread of its own, so that it never blocks.
fn drain_stderr(child: &mut Child) -> std::thread::JoinHandle<String> {
    let stderr = child.stderr.take();
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_string(&mut text);
        }
        text
    })
}

fn wait(tool: &str, mut child: Child, stderr: std::thread::JoinHandle<String>) -> Result<(), SnapshotError> {
    let status = child.wait()?;
    let text = stderr.join().unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    Err(SnapshotError::ToolFailed { tool: tool.to_owned(), status: status.to_string(), stderr: text.trim().to_owned() })
}

/// A running `pg_dump`, read through its standard output.
#[derive(Debug)]
pub struct Running {
    tool: String,
    child: Child,
    stdout: ChildStdout,
    stderr: std::thread::JoinHandle<String>,
}

pub(super) fn dump(tool: &Path, url: &str) -> Result<Running, SnapshotError> {
    let mut child = command(tool, url)
        .args(["--format=custom", "--compress=0", "--no-password"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| SnapshotError::Tool { tool: tool_name(tool), source })?;
    let stderr = drain_stderr(&mut child);
    let stdout = child.stdout.take().ok_or_else(|| io::Error::other("pg_dump has no output"))?;
    Ok(Running { tool: tool_name(tool), child, stdout, stderr })
}

impl Running {
    pub(super) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stdout.read(buf)
    }
    pub(super) fn finish(self) -> Result<(), SnapshotError> {
        drop(self.stdout);
        wait(&self.tool, self.child, self.stderr)
    }
}

/// A running `pg_restore`, written through its standard input.
#[derive(Debug)]
pub struct Restoring {
    tool: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: std::thread::JoinHandle<String>,
}

pub(super) fn restore(tool: &Path, url: &str) -> Result<Restoring, SnapshotError> {
    let mut child = command(tool, url)
        .args(["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--no-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| SnapshotError::Tool { tool: tool_name(tool), source })?;
    let stderr = drain_stderr(&mut child);
    let stdin = child.stdin.take();
    Ok(Restoring { tool: tool_name(tool), child, stdin, stderr })
}

impl Restoring {
    fn input(&mut self) -> io::Result<&mut ChildStdin> {
        self.stdin.as_mut().ok_or_else(|| io::Error::other("pg_restore's input is closed"))
    }
    pub(super) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.input()?.write(buf)
    }
    pub(super) fn flush(&mut self) -> io::Result<()> {
        self.input()?.flush()
    }
    pub(super) fn finish(mut self) -> Result<(), SnapshotError> {
        drop(self.stdin.take());
        wait(&self.tool, self.child, self.stderr)
    }
    pub(super) fn abandon(mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Drops the database of `url` if it exists, ending its connections.
pub(super) async fn drop_database(url: &str) -> Result<(), SnapshotError> {
    let connect = PgConnectOptions::from_str(url).map_err(crate::error::StoreError::from)?;
    let name = connect.get_database().unwrap_or_default().to_owned();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(SnapshotError::BadName(name));
    }
    let mut admin = connect.database("postgres").connect().await?;
    // Identifiers cannot be bound; `name` was checked above.
    let dropped = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&mut admin)
        .await;
    let _ = admin.close().await;
    dropped?;
    Ok(())
}

/// Creates the target database if it does not exist, and refuses it if it holds any relation
/// outside the system schemas.
pub(super) async fn prepare_empty(url: &str) -> Result<(), SnapshotError> {
    let connect = PgConnectOptions::from_str(url).map_err(crate::error::StoreError::from)?;
    let name = connect.get_database().unwrap_or_default().to_owned();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(SnapshotError::BadName(name));
    }
    let mut admin = connect.clone().database("postgres").connect().await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut admin)
        .await?;
    if exists.is_none() {
        // Identifiers cannot be bound; `name` was checked above.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
    }
    let _ = admin.close().await;
    let mut conn = PgConnection::connect_with(&connect).await?;
    let relations: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' \
         AND n.nspname NOT LIKE 'pg\\_temp%'",
    )
    .fetch_one(&mut conn)
    .await?;
    let _ = conn.close().await;
    if relations > 0 {
        return Err(SnapshotError::TargetNotEmpty(without_password(url).0));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn ops_1_a_password_leaves_the_url_for_the_environment() {
        assert_eq!(
            without_password("postgres://kura:p%40ss@db:5432/kura?sslmode=require"),
            ("postgres://kura@db:5432/kura?sslmode=require".to_owned(), Some("p@ss".to_owned()))
        );
        assert_eq!(
            without_password("postgres://postgres@127.0.0.1/x"),
            ("postgres://postgres@127.0.0.1/x".into(), None)
        );
    }
}
