//! Consistent copies of the data for backups (OPS-1), and restoring one into an empty target.
//! The copy is taken while writes go on: SQLite's `VACUUM INTO` reads one snapshot of the
//! database into a new file, and `pg_dump` reads one repeatable-read snapshot of a PostgreSQL
//! database. Both are handed to the caller as a byte stream ([`Snapshot`]), which compresses and
//! encrypts it; a restore is the reverse ([`RestoreSink`]). Nothing here knows of keys or
//! manifests.

mod pg;

use crate::conn::Engine;
use crate::error::StoreError;
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::Duration;

/// Why a snapshot or a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(
        "the restore target {0} is not empty: restore only into a new data directory, a new SQLite file or an empty database"
    )]
    TargetNotEmpty(String),
    #[error("a backup of a {backup} database cannot be restored into a {target} one")]
    EngineMismatch { backup: &'static str, target: &'static str },
    #[error("there is no SQLite database at {0}")]
    NoDatabase(String),
    #[error("cannot run {tool}: {source} (set backup.pg_dump or backup.pg_restore to its path)")]
    Tool { tool: String, source: io::Error },
    #[error("{tool} failed ({status}): {stderr}")]
    ToolFailed { tool: String, status: String, stderr: String },
    #[error("database name {0:?}: use letters, digits and _ only")]
    BadName(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl From<sqlx::Error> for SnapshotError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

/// The programs that dump and restore PostgreSQL databases.
#[derive(Clone, Debug)]
pub struct Tools {
    pub pg_dump: PathBuf,
    pub pg_restore: PathBuf,
}

/// The engine of a database URL.
pub fn engine_of(url: &str) -> Result<Engine, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Engine::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Engine::Postgres)
    } else {
        Err(StoreError::BadUrl(url.to_owned()))
    }
}

pub fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    }
}

/// One consistent copy of the database, read as a stream: a SQLite file written by
/// `VACUUM INTO` into the staging directory (removed when this is finished or dropped), or
/// `pg_dump`'s custom-format output as it runs. Call [`Snapshot::finish`] after reading it to
/// the end.
#[derive(Debug)]
pub struct Snapshot {
    inner: SnapshotInner,
    /// SQLite's staging copy, removed with the snapshot.
    staging_file: Option<PathBuf>,
}

#[derive(Debug)]
enum SnapshotInner {
    File(std::fs::File),
    Process(Option<pg::Running>),
}

impl Snapshot {
    /// Takes the copy of the database at `url`. `staging` is a private directory of the
    /// caller's on the backup's file system (SQLite's copy is written there, then read).
    pub async fn take(url: &str, tools: &Tools, staging: &Path) -> Result<Self, SnapshotError> {
        match engine_of(url)? {
            Engine::Sqlite => {
                let path = staging.join("database.sqlite");
                let connect = SqliteConnectOptions::from_str(url)
                    .map_err(StoreError::from)?
                    .create_if_missing(false)
                    .busy_timeout(Duration::from_secs(30));
                let mut conn = SqliteConnection::connect_with(&connect)
                    .await
                    .map_err(|_| SnapshotError::NoDatabase(url.trim_start_matches("sqlite://").to_owned()))?;
                let target = path.to_str().ok_or_else(|| io::Error::other("the staging path is not UTF-8"))?;
                // One read transaction: every write committed before it began, none after.
                let copied = sqlx::query("VACUUM INTO $1").bind(target).execute(&mut conn).await;
                let _ = conn.close().await;
                let snapshot = |file| Self { inner: SnapshotInner::File(file), staging_file: Some(path.clone()) };
                copied?;
                Ok(snapshot(std::fs::File::open(&path)?))
            }
            Engine::Postgres => {
                Ok(Self { inner: SnapshotInner::Process(Some(pg::dump(&tools.pg_dump, url)?)), staging_file: None })
            }
        }
    }

    /// The snapshot's size in bytes when it is known before it is read (SQLite's copy; not a
    /// `pg_dump` stream).
    pub fn size(&self) -> Option<u64> {
        match &self.inner {
            SnapshotInner::File(f) => f.metadata().ok().map(|m| m.len()),
            SnapshotInner::Process(_) => None,
        }
    }

    /// Waits for `pg_dump` to end and checks it succeeded; removes SQLite's staging copy.
    pub fn finish(mut self) -> Result<(), SnapshotError> {
        if let Some(path) = self.staging_file.take() {
            std::fs::remove_file(&path)?;
        }
        match &mut self.inner {
            SnapshotInner::File(_) => Ok(()),
            SnapshotInner::Process(running) => match running.take() {
                Some(r) => r.finish(),
                None => Ok(()),
            },
        }
    }
}

impl Read for Snapshot {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            SnapshotInner::File(file) => file.read(buf),
            SnapshotInner::Process(Some(running)) => running.read(buf),
            SnapshotInner::Process(None) => Ok(0),
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Some(path) = self.staging_file.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Where a backup is restored: a SQLite file (in a new data directory, or named by a
/// `sqlite://` URL), or a PostgreSQL database (created if it does not exist).
#[derive(Clone, Debug)]
pub enum RestoreTarget {
    Sqlite { file: PathBuf, data_dir: Option<PathBuf> },
    Postgres { url: String },
}

impl RestoreTarget {
    /// `sqlite://PATH` or `postgres://…`, or else a data directory path (the database is then
    /// `kura.db` in it, where Kura looks for it).
    pub fn parse(into: &str) -> Self {
        if into.starts_with("postgres://") || into.starts_with("postgresql://") {
            Self::Postgres { url: into.to_owned() }
        } else if let Some(path) = into.strip_prefix("sqlite://") {
            Self::Sqlite { file: PathBuf::from(path), data_dir: None }
        } else {
            let dir = PathBuf::from(into);
            Self::Sqlite { file: dir.join("kura.db"), data_dir: Some(dir) }
        }
    }

    /// As [`RestoreTarget::parse`], for a keystore: a directory path holds `keystore.db`.
    pub fn parse_keystore(into: &str) -> Self {
        match Self::parse(into) {
            Self::Sqlite { data_dir: Some(dir), .. } => {
                Self::Sqlite { file: dir.join("keystore.db"), data_dir: Some(dir) }
            }
            other => other,
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Self::Sqlite { .. } => Engine::Sqlite,
            Self::Postgres { .. } => Engine::Postgres,
        }
    }

    /// The database URL of the target, for opening it once restored.
    pub fn url(&self) -> String {
        match self {
            Self::Sqlite { file, .. } => format!("sqlite://{}", file.display()),
            Self::Postgres { url } => url.clone(),
        }
    }

    /// What to call the target in messages (a PostgreSQL URL without its password).
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite { file, data_dir: Some(dir) } => format!("{} ({})", dir.display(), file.display()),
            Self::Sqlite { file, data_dir: None } => file.display().to_string(),
            Self::Postgres { url } => pg::without_password(url).0,
        }
    }

    /// Refuses a target that holds anything (a data directory with any entry, an existing
    /// SQLite file, a database with any table), and prepares an absent one: a data
    /// directory is created (owner only), a PostgreSQL database created on its server.
    pub async fn prepare(&self) -> Result<(), SnapshotError> {
        match self {
            Self::Sqlite { file, data_dir } => {
                if let Some(dir) = data_dir
                    && dir.exists()
                    && (!dir.is_dir() || std::fs::read_dir(dir)?.next().is_some())
                {
                    return Err(SnapshotError::TargetNotEmpty(dir.display().to_string()));
                }
                let wal = PathBuf::from(format!("{}-wal", file.display()));
                if file.exists() || wal.exists() {
                    return Err(SnapshotError::TargetNotEmpty(file.display().to_string()));
                }
                if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                    create_private_dir(parent)?;
                }
                Ok(())
            }
            Self::Postgres { url } => pg::prepare_empty(url).await,
        }
    }

    /// Removes the target and everything in it: a data directory or SQLite file, or the
    /// PostgreSQL database (dropped). For scratch copies that are the caller's own, such as the
    /// restore drill's; absent is fine.
    pub async fn discard(&self) -> Result<(), SnapshotError> {
        match self {
            Self::Sqlite { file, data_dir } => {
                let remove = |r: io::Result<()>| match r {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                };
                match data_dir {
                    Some(dir) => remove(std::fs::remove_dir_all(dir))?,
                    None => {
                        for suffix in ["", "-wal", "-shm", ".restoring"] {
                            remove(std::fs::remove_file(format!("{}{suffix}", file.display())))?;
                        }
                    }
                }
                Ok(())
            }
            Self::Postgres { url } => pg::drop_database(url).await,
        }
    }

    /// The stream a backup's database is written into; [`RestoreSink::finish`] completes it.
    pub fn sink(&self, tools: &Tools) -> Result<RestoreSink, SnapshotError> {
        match self {
            Self::Sqlite { file, .. } => {
                let partial = PathBuf::from(format!("{}.restoring", file.display()));
                use std::os::unix::fs::OpenOptionsExt as _;
                let out = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&partial)?;
                Ok(RestoreSink::File { out, partial, file: file.clone() })
            }
            Self::Postgres { url } => Ok(RestoreSink::Process(pg::restore(&tools.pg_restore, url)?)),
        }
    }
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Where a restored database is written: a partial SQLite file renamed into place once whole
/// and synced, or `pg_restore`'s input.
#[derive(Debug)]
pub enum RestoreSink {
    File { out: std::fs::File, partial: PathBuf, file: PathBuf },
    Process(pg::Restoring),
}

impl RestoreSink {
    pub fn finish(self) -> Result<(), SnapshotError> {
        match self {
            Self::File { out, partial, file } => {
                out.sync_all()?;
                drop(out);
                std::fs::rename(&partial, &file)?;
                if let Some(dir) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::File::open(dir)?.sync_all()?;
                }
                Ok(())
            }
            Self::Process(p) => p.finish(),
        }
    }

    /// Removes what a failed restore left (the partial SQLite file).
    pub fn abandon(self) {
        match self {
            Self::File { out, partial, .. } => {
                drop(out);
                let _ = std::fs::remove_file(partial);
            }
            Self::Process(p) => p.abandon(),
        }
    }
}

impl Write for RestoreSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::File { out, .. } => out.write(buf),
            Self::Process(p) => p.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::File { out, .. } => out.flush(),
            Self::Process(p) => p.flush(),
        }
    }
}
