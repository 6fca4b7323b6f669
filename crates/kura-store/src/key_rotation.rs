//! Data-key rotation jobs (DAT-2): starting one (a new key version in the keystore, the job row
//! and the `key.rotate_start` entry), the worker's batches that re-seal a tenant's stored
//! values under the newest version, and the end (older versions retired, `key.rotate_finish`).
//!
//! A batch re-seals at most `limit` rows of one sealed column (`sql/resealing.rs`) and records
//! the job's position in the same transaction, so a job cut off anywhere resumes after its last
//! committed batch and never re-does or skips a row. A batch changes no value, only how it is
//! sealed: it is bookkeeping, like the export worker's progress, and the job's start and end
//! are the audited writes. Each value is written back only while it is still as read, so a
//! write made meanwhile (sealed under the newest version already) is never undone.
//!
//! The first pass re-seals; the job is done after a pass that found nothing left to re-seal,
//! which also catches values written under an older version by a write already under way when
//! the rotation started.

use crate::conn::Scope;
use crate::error::StoreError;
use crate::sql;
use crate::sql::key_rotations::{KeyRotation, Position, RotationKind, RotationStatus};
use crate::sql::resealing::{COLUMNS, Resealed, RowKey, Shape, Stored};
use crate::store::Store;
use crate::time::now;
use crate::vault::{DataKeyInfo, Rotated, SEALED_TEXT, Sealer, USER_EMAIL_INDEX};
use crate::write::Write;
use jiff::SignedDuration;
use kura_domain::{AuditScope, CollectionId, RecordId, TenantId};
use uuid::Uuid;

/// What a batch left to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchOutcome {
    /// More rows to go through.
    More,
    /// A pass found nothing left to re-seal: the job can be finished.
    Complete,
}

/// One batch's result: what is left, and where values did not open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationBatch {
    pub outcome: BatchOutcome,
    /// The values of this batch that did not open under the tenant's keys (altered, moved from
    /// another row or tenant), each as the store's refusal names it: table, field and ids,
    /// never the value. They are left as they are and the job goes on; the caller records them.
    pub refused: Vec<String>,
}

/// A job claimed by [`Store::claim_key_rotation`].
#[derive(Clone, Debug)]
pub enum Claimed {
    /// Boxed: a job is large beside a refusal.
    Job(Box<KeyRotation>),
    /// The job's requester (sealed under its tenant's key) did not open: the job stays claimed
    /// until its lease ends and is not run; the caller records the refusal (`cause`, as the
    /// store's refusals name it, never the value) in the tenant's log.
    Refused { tenant: TenantId, job: Uuid, cause: String },
}

impl Store {
    /// The newest `limit` rotation jobs of `tenant`, newest first.
    pub async fn key_rotations(&self, tenant: TenantId, limit: u32) -> Result<Vec<KeyRotation>, StoreError> {
        let rows =
            sql::key_rotations::recent(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, limit).await?;
        let sealer = self.sealer(tenant).await?;
        rows.into_iter().map(|r| r.open(&sealer)).collect()
    }

    /// Every running rotation job, all tenants, oldest first (the operator's view).
    pub async fn running_key_rotations(&self) -> Result<Vec<KeyRotation>, StoreError> {
        let rows = sql::key_rotations::running(&mut self.db.read(Scope::Platform).await?.exec()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let sealer = self.sealer(row.tenant()).await?;
            out.push(row.open(&sealer)?);
        }
        Ok(out)
    }

    /// `tenant`'s data-key versions, oldest first (none without encryption at rest, or for a
    /// tenant that has no keys yet).
    pub async fn data_keys(&self, tenant: TenantId) -> Result<Vec<DataKeyInfo>, StoreError> {
        match &self.vault {
            Some(vault) => vault.data_keys(tenant).await,
            None => Ok(Vec::new()),
        }
    }

    /// Takes the oldest running job no worker holds for `claim` during `lease`.
    pub async fn claim_key_rotation(&self, claim: Uuid, lease: SignedDuration) -> Result<Option<Claimed>, StoreError> {
        let now = now(&*self.clock);
        let until = now.checked_add(lease).unwrap_or(now);
        let mut held = self.writer.hold(Scope::Platform).await?;
        let row = sql::key_rotations::claim(&mut held.exec()?, now, until, claim).await?;
        held.commit_unaudited().await?;
        let Some(row) = row else { return Ok(None) };
        let (tenant, job) = (row.tenant(), row.id());
        let sealer = self.sealer(tenant).await?;
        match row.open(&sealer) {
            Ok(opened) => Ok(Some(Claimed::Job(Box::new(opened)))),
            Err(StoreError::Unreadable(cause)) => Ok(Some(Claimed::Refused { tenant, job, cause })),
            Err(e) => Err(e),
        }
    }

    /// Re-seals the next batch of at most `limit` rows of `job` (held by `claim`), records its
    /// position and extends the lease by `lease`; `job` is updated to the new position.
    /// [`StoreError::NotFound`] if the claim was lost.
    pub async fn key_rotation_batch(
        &self,
        job: &mut KeyRotation,
        claim: Uuid,
        limit: u32,
        lease: SignedDuration,
    ) -> Result<RotationBatch, StoreError> {
        let sealer = self.sealer(job.tenant).await?;
        if sealer.current_version().is_none_or(|v| v < job.target_version) {
            return Err(StoreError::Unreadable(format!(
                "tenant {} has no data key of version {} in the keystore",
                job.tenant, job.target_version
            )));
        }
        let mut pos = Position {
            pass: job.pass,
            column_no: job.column_no,
            cursor: job.cursor.clone(),
            rows_done: job.rows_done,
            rows_total: job.rows_total,
            resealed: job.resealed,
            pass_resealed: job.pass_resealed,
        };
        let secure_delete = job.kind == RotationKind::Seal && self.engine() == crate::Engine::Sqlite;
        let mut held = self.writer.hold(Scope::tenant(job.tenant)).await?;
        if pos.rows_total.is_none() {
            let mut total = 0;
            for column in COLUMNS {
                total += column.count(&mut held.exec()?, job.tenant).await?;
            }
            pos.rows_total = Some(total);
        }
        if secure_delete {
            // The plain values replaced are overwritten in the file, not only unlinked.
            set_secure_delete(&mut held, true).await?;
        }
        let mut refused = Vec::new();
        if let Some(column) = COLUMNS.get(pos.column_no) {
            let rows = column.batch(&mut held.exec()?, job.tenant, pos.cursor.as_deref(), limit).await?;
            for (key, stored) in &rows {
                let Some(new) = resealed(&sealer, column.table, column.field, column.shape, key, stored, &mut refused)?
                else {
                    continue;
                };
                if column.write_back(&mut held.exec()?, job.tenant, key, stored, &new).await? {
                    pos.resealed += 1;
                    pos.pass_resealed += 1;
                }
            }
            pos.rows_done += rows.len() as u64;
            match rows.last() {
                Some((key, _)) if rows.len() >= limit as usize => pos.cursor = Some(key.to_cursor()),
                _ => {
                    pos.column_no += 1;
                    pos.cursor = None;
                }
            }
        }
        let complete = pos.column_no >= COLUMNS.len() && pos.pass_resealed == 0;
        if pos.column_no >= COLUMNS.len() && !complete {
            // Something was re-sealed in this pass: the next one checks nothing is left.
            pos = Position { pass: pos.pass + 1, column_no: 0, cursor: None, rows_done: 0, pass_resealed: 0, ..pos };
        }
        if secure_delete {
            set_secure_delete(&mut held, false).await?;
        }
        let now = now(&*self.clock);
        let until = now.checked_add(lease).unwrap_or(now);
        sql::key_rotations::advance(&mut held.exec()?, job.tenant, job.id, claim, &pos, until).await?;
        held.commit_unaudited().await?;
        job.pass = pos.pass;
        job.column_no = pos.column_no;
        job.cursor = pos.cursor;
        job.rows_done = pos.rows_done;
        job.rows_total = pos.rows_total;
        job.resealed = pos.resealed;
        job.pass_resealed = pos.pass_resealed;
        job.claimed_until = Some(until);
        let outcome = if complete { BatchOutcome::Complete } else { BatchOutcome::More };
        Ok(RotationBatch { outcome, refused })
    }
}

async fn set_secure_delete(held: &mut crate::writer::Held, on: bool) -> Result<(), StoreError> {
    use crate::conn::run;
    let sql = if on { "PRAGMA secure_delete = ON" } else { "PRAGMA secure_delete = OFF" };
    let mut e = held.exec()?;
    run!(&mut e, |c| sqlx::query(sql).execute(c).await.map(drop))?;
    Ok(())
}

/// The value to write back in place of `stored`, or `None` when it is under the newest version
/// already. A value that does not open is left as it is (logged by the sealer, and its refusal
/// added to `refused`): it could not be read before either, and is never re-sealed as
/// something else.
fn resealed(
    sealer: &Sealer,
    table: &str,
    field: &str,
    shape: Shape,
    key: &RowKey,
    stored: &Stored,
    refused: &mut Vec<String>,
) -> Result<Option<Resealed>, StoreError> {
    let row = key.seal_row();
    let outcome = match (shape, key, stored) {
        (Shape::Record, RowKey::Record(c, id), Stored::Bytes(bytes)) => {
            if !sealer.record_is_stale(bytes) {
                return Ok(None);
            }
            sealer.reseal_record(CollectionId::from_uuid(*c), RecordId::from_uuid(*id), bytes).map(Resealed::Bytes)
        }
        (Shape::AuditIndex, _, Stored::AuditTarget(target, index)) => {
            // A sealed target has its keyed index already; a plain one (written before the
            // tenant had keys) is re-indexed so that the listing finds it by the keyed index.
            if !sealer.has_keys() || target.starts_with(SEALED_TEXT) {
                return Ok(None);
            }
            let want = sealer.audit_target_index(target);
            return Ok((want != *index).then_some(Resealed::AuditIndex(want)));
        }
        (_, _, Stored::Text(text)) => {
            if !sealer.text_is_stale(text) {
                return Ok(None);
            }
            if (table, field) == ("users", "email") {
                sealer.open_text_or_plain(table, &row, field, text.clone()).map(|email| {
                    let email = zeroize::Zeroizing::new(email);
                    Resealed::Email(
                        sealer.seal_text(table, &row, field, &email),
                        sealer.index(USER_EMAIL_INDEX, &email),
                    )
                })
            } else {
                sealer.reseal_text(table, &row, field, text.clone()).map(Resealed::Text)
            }
        }
        _ => return Err(StoreError::Corrupt(format!("{table}.{field}: a row of another shape"))),
    };
    match outcome {
        Ok(new) => Ok(Some(new)),
        Err(StoreError::Unreadable(why)) => {
            refused.push(why);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

impl Write {
    /// Starts rotating `tenant`'s data key: a new version in the keystore, which seals every
    /// write from now on (for a tenant without keys, its first keys), and the job that
    /// re-seals the stored values. Without encryption at rest this is [`StoreError::Conflict`];
    /// so is a tenant whose job is still running. The caller commits with the audit entry.
    pub async fn start_key_rotation(&mut self, tenant: TenantId) -> Result<(KeyRotation, Rotated), StoreError> {
        self.check_tenant(tenant)?;
        let Some(vault) = self.vault.clone() else {
            return Err(StoreError::Conflict("encryption at rest is off: there is no key to rotate".into()));
        };
        let running = sql::key_rotations::recent(&mut self.exec().await?, tenant, 1).await?;
        if running.first().is_some_and(|r| r.is_running()) {
            return Err(StoreError::Conflict("a key rotation of this tenant is running already".into()));
        }
        let now = self.now();
        let rotated = vault.rotate_data_key(tenant, crate::sql::micros(now)).await?;
        let kind = if rotated.from.is_some() { RotationKind::Rotate } else { RotationKind::Seal };
        let sealer = vault.sealer(tenant).await?;
        let id = Uuid::now_v7();
        let actor = self.actor.clone();
        sql::key_rotations::insert(&mut self.exec().await?, &sealer, id, kind, rotated.to, &actor, now).await?;
        let job = KeyRotation {
            id,
            tenant,
            kind,
            target_version: rotated.to,
            status: RotationStatus::Running,
            pass: 1,
            column_no: 0,
            cursor: None,
            rows_done: 0,
            rows_total: None,
            resealed: 0,
            pass_resealed: 0,
            actor,
            claim: None,
            claimed_until: None,
            error: None,
            created_at: now,
            finished_at: None,
        };
        Ok((job, rotated))
    }

    /// Ends `job` (held by `claim`) as done, after a pass found nothing left to re-seal: the
    /// versions older than its target are retired in the keystore, and a tenant's plain values
    /// are no longer read. Returns how many versions were retired. The caller commits with the
    /// audit entry.
    pub async fn finish_key_rotation(&mut self, job: &KeyRotation, claim: Uuid) -> Result<u64, StoreError> {
        self.check_tenant(job.tenant)?;
        let now = self.now();
        sql::key_rotations::end(&mut self.exec().await?, job.tenant, job.id, claim, RotationStatus::Done, None, now)
            .await?;
        match self.vault.clone() {
            Some(vault) => vault.finish_rotation(job.tenant, job.target_version, crate::sql::micros(now)).await,
            None => Ok(0),
        }
    }

    /// Ends `job` (held by `claim`) as failed with `why`. Its new key version stays (it seals
    /// new writes), and so do the older ones: nothing is retired.
    pub async fn fail_key_rotation(&mut self, job: &KeyRotation, claim: Uuid, why: &str) -> Result<(), StoreError> {
        self.check_tenant(job.tenant)?;
        let now = self.now();
        sql::key_rotations::end(
            &mut self.exec().await?,
            job.tenant,
            job.id,
            claim,
            RotationStatus::Failed,
            Some(why),
            now,
        )
        .await
    }

    fn check_tenant(&self, tenant: TenantId) -> Result<(), StoreError> {
        if self.scope == AuditScope::Tenant(tenant) {
            Ok(())
        } else {
            Err(StoreError::OutOfScope { scope: self.scope, target: format!("the keys of tenant {tenant}") })
        }
    }
}
