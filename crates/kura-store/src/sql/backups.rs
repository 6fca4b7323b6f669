//! The platform's record of backup verifications and restore drills (`backup_checks`, OPS-1).

use super::{micros, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use jiff::Timestamp;
use uuid::Uuid;

/// One verification or drill of a backup, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupCheck {
    pub id: Uuid,
    /// The backup's name (its time), or empty when a drill found no backup to restore.
    pub backup_id: String,
    /// `verify` or `drill`.
    pub kind: String,
    /// Where the backup was read: `local`, `copy` or `remote`.
    pub location: String,
    pub checked_at: Timestamp,
    /// How long the check took, in milliseconds.
    pub millis: i64,
    pub ok: bool,
    /// What was checked, or why it failed.
    pub detail: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    backup_id: String,
    kind: String,
    location: String,
    checked_at: i64,
    millis: i64,
    ok: bool,
    detail: String,
}

impl TryFrom<Row> for BackupCheck {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            backup_id: r.backup_id,
            kind: r.kind,
            location: r.location,
            checked_at: timestamp(r.checked_at)?,
            millis: r.millis,
            ok: r.ok,
            detail: r.detail,
        })
    }
}

pub(crate) async fn insert(e: &mut Exec<'_>, c: &BackupCheck) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO backup_checks (id, backup_id, kind, location, checked_at, millis, ok, detail) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    run!(e, |conn| sqlx::query(SQL)
        .bind(c.id)
        .bind(&c.backup_id)
        .bind(&c.kind)
        .bind(&c.location)
        .bind(micros(c.checked_at))
        .bind(c.millis)
        .bind(c.ok)
        .bind(&c.detail)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The newest `limit` checks, newest first.
pub(crate) async fn recent(e: &mut Exec<'_>, limit: i64) -> Result<Vec<BackupCheck>, StoreError> {
    const SQL: &str = "SELECT id, backup_id, kind, location, checked_at, millis, ok, detail FROM backup_checks \
                       ORDER BY checked_at DESC, id DESC LIMIT $1";
    let rows: Vec<Row> = run!(e, |conn| sqlx::query_as(SQL).bind(limit).fetch_all(conn).await)?;
    rows.into_iter().map(BackupCheck::try_from).collect()
}
