//! Where backups are kept and for how long: the complete backups of a directory (named by
//! their ids, each with its manifest), the copy in the second directory, and the retention rule
//! (generations for data, days for the keystore) applied in the directory, the copy directory
//! and the bucket.

use super::files::{copy_synced, private_dir, sync_dir};
use super::{BackupError, Backups, INCOMPLETE_PREFIX, MANIFEST_FILE, id_time, io_at, is_backup_id};
use std::io;
use std::path::{Path, PathBuf};

/// How long backups are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    /// The newest this many complete backups.
    Generations(u32),
    /// Every backup younger than this many days.
    Days(u32),
}

impl Retention {
    /// How many of the complete backups `ids` (oldest first) are deleted at `now`: the first ones.
    pub(super) fn excess(self, ids: &[String], now: jiff::Timestamp) -> usize {
        match self {
            Self::Generations(n) => ids.len().saturating_sub(n as usize),
            Self::Days(days) => {
                let keep = jiff::SignedDuration::from_hours(24 * i64::from(days));
                ids.iter()
                    .take_while(|id| id_time(id).is_none_or(|t| t.saturating_add(keep).is_ok_and(|end| end <= now)))
                    .count()
            }
        }
    }

    /// When a backup made at `made` is deleted by this rule at the latest, if it says so by time.
    pub fn expiry(self, made: jiff::Timestamp) -> Option<jiff::Timestamp> {
        match self {
            Self::Generations(_) => None,
            Self::Days(days) => made.saturating_add(jiff::SignedDuration::from_hours(24 * i64::from(days))).ok(),
        }
    }
}

impl Backups {
    /// Deletes the complete backups the retention rule no longer keeps at `now`; returns their ids.
    pub fn apply_retention(&self, now: jiff::Timestamp) -> Result<Vec<String>, BackupError> {
        retain(&self.dir, self.retention, now)
    }

    /// Applies the retention rule at `now` everywhere the backups are: the directory, the copy
    /// directory and the bucket. The keystore's backups expire by time, so this runs at every
    /// check of `kura serve`, not only after a new backup. Returns the ids deleted here, and
    /// what failed (the rest is still done).
    pub async fn expire(&self, now: jiff::Timestamp) -> (Vec<String>, Vec<String>) {
        let mut deleted = Vec::new();
        let mut failed = Vec::new();
        match self.apply_retention(now) {
            Ok(ids) => deleted.extend(ids),
            Err(e) => failed.push(e.to_string()),
        }
        if let Some(to) = &self.copy_dir {
            match retain(to, self.retention, now) {
                Ok(ids) => deleted.extend(ids),
                Err(e) => failed.push(e.to_string()),
            }
        }
        if let Some(remote) = &self.remote {
            match remote.retain(self.retention, now).await {
                Ok(ids) => deleted.extend(ids),
                Err(e) => failed.push(e.to_string()),
            }
        }
        deleted.sort();
        deleted.dedup();
        (deleted, failed)
    }

    /// Whether some backup here (the directory or the copy directory) is past its retention
    /// at `now`: a cheap look before [`Backups::expire`] lists the bucket.
    pub fn any_expired(&self, now: jiff::Timestamp) -> bool {
        let past = |ids: Vec<String>| self.retention.excess(&ids, now) > 0;
        past(self.complete_ids().unwrap_or_default()) || past(self.copy_ids())
    }

    /// The ids of the complete backups in the copy directory, oldest first (none without one).
    pub fn copy_ids(&self) -> Vec<String> {
        self.copy_dir.as_deref().and_then(|d| complete_ids_in(d).ok()).unwrap_or_default()
    }

    /// The ids of the complete backups in the directory, oldest first.
    pub(crate) fn complete_ids(&self) -> Result<Vec<String>, BackupError> {
        complete_ids_in(&self.dir)
    }

    /// Copies the complete backup `id` into the copy directory (under a hidden name, synced,
    /// then renamed into place), and applies the retention rule there too.
    pub(super) fn copy(&self, id: &str, to: &Path, now: jiff::Timestamp) -> Result<PathBuf, BackupError> {
        crate::application::create_private_dir(to).map_err(io_at(to))?;
        let staging = to.join(format!("{INCOMPLETE_PREFIX}{id}"));
        let copied = (|| -> Result<PathBuf, BackupError> {
            private_dir(&staging).map_err(io_at(&staging))?;
            let from = self.dir.join(id);
            for entry in std::fs::read_dir(&from).map_err(io_at(&from))?.flatten() {
                let target = staging.join(entry.file_name());
                copy_synced(&entry.path(), &target).map_err(io_at(&target))?;
            }
            sync_dir(&staging).map_err(io_at(&staging))?;
            let path = to.join(id);
            std::fs::rename(&staging, &path).map_err(io_at(&path))?;
            sync_dir(to).map_err(io_at(to))?;
            Ok(path)
        })();
        if copied.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        let path = copied?;
        retain(to, self.retention, now)?;
        Ok(path)
    }
}

/// Deletes the complete backups in `dir` that `retention` no longer keeps at `now`; returns
/// their ids.
pub(super) fn retain(dir: &Path, retention: Retention, now: jiff::Timestamp) -> Result<Vec<String>, BackupError> {
    let ids = complete_ids_in(dir)?;
    let excess = retention.excess(&ids, now);
    let mut deleted = Vec::new();
    for id in ids.into_iter().take(excess) {
        let path = dir.join(&id);
        std::fs::remove_dir_all(&path).map_err(io_at(&path))?;
        tracing::info!(backup = %id, dir = %dir.display(), "backup deleted by the retention rule");
        deleted.push(id);
    }
    if !deleted.is_empty() {
        sync_dir(dir).map_err(io_at(dir))?;
    }
    Ok(deleted)
}

/// The ids of the complete backups in `dir` (a directory named by a backup id, with its
/// manifest), oldest first.
fn complete_ids_in(dir: &Path) -> Result<Vec<String>, BackupError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(BackupError::Io { path: dir.to_owned(), source }),
    };
    let mut ids: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|name| is_backup_id(name) && dir.join(name).join(MANIFEST_FILE).is_file())
        .collect();
    ids.sort();
    Ok(ids)
}
