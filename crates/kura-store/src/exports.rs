//! Export jobs (DAT-5): reading them, and the worker's bookkeeping on them. Claiming a job and
//! recording its progress change no business state and are not audited (like the mail
//! sender's claims, `outbox.rs`); asking for a job, its end, its download and its expiry are
//! audited writes ([`crate::Write`], `write/exports.rs`).

use crate::conn::Scope;
use crate::error::StoreError;
use crate::sql;
use crate::sql::exports::ExportJob;
use crate::store::Store;
use crate::time::now;
use jiff::{SignedDuration, Timestamp};
use kura_domain::TenantId;
use uuid::Uuid;

impl Store {
    /// One export job of `tenant`.
    pub async fn export_job(&self, tenant: TenantId, id: Uuid) -> Result<Option<ExportJob>, StoreError> {
        let row = sql::exports::by_id(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, id).await?;
        match row {
            Some(row) => Ok(Some(row.open(&self.sealer(tenant).await?)?)),
            None => Ok(None),
        }
    }

    /// The newest `limit` export jobs of `tenant`, newest first.
    pub async fn export_jobs(&self, tenant: TenantId, limit: u32) -> Result<Vec<ExportJob>, StoreError> {
        let rows = sql::exports::recent(&mut self.db.read(Scope::tenant(tenant)).await?.exec(), tenant, limit).await?;
        let sealer = self.sealer(tenant).await?;
        rows.into_iter().map(|r| r.open(&sealer)).collect()
    }

    /// The status of export job `id`, whatever its tenant, if it exists (for cleaning up files
    /// a node no longer needs).
    pub async fn export_job_status(&self, id: Uuid) -> Result<Option<sql::exports::ExportStatus>, StoreError> {
        let status = sql::exports::status_of(&mut self.db.read(Scope::Platform).await?.exec(), id).await?;
        Ok(status.as_deref().and_then(sql::exports::ExportStatus::parse))
    }

    /// Ready export jobs whose link has expired by now, as (tenant, job), at most `limit`.
    pub async fn expired_export_jobs(&self, limit: u32) -> Result<Vec<(TenantId, Uuid)>, StoreError> {
        let now = now(&*self.clock);
        let rows = sql::exports::expired(&mut self.db.read(Scope::Platform).await?.exec(), now, limit).await?;
        Ok(rows.into_iter().map(|(t, id)| (TenantId::from_uuid(t), id)).collect())
    }

    /// Takes the oldest export job that waits (queued, or running under a lease that ended) for
    /// `claim` during `lease`. A job whose requester does not open with its tenant's key (the
    /// key destroyed, or the row altered) cannot be built: it is failed at once, logged without
    /// its contents, like a mail that does not open.
    pub async fn claim_export_job(&self, claim: Uuid, lease: SignedDuration) -> Result<Option<ExportJob>, StoreError> {
        let now = now(&*self.clock);
        let until = now.checked_add(lease).unwrap_or(now);
        // The platform route: the export worker takes the oldest waiting job of any tenant.
        let mut held = self.writer.hold(Scope::Platform).await?;
        let row = sql::exports::claim(&mut held.exec()?, now, until, claim).await?;
        held.commit_unaudited().await?;
        let Some(row) = row else { return Ok(None) };
        let (tenant, id) = (row.tenant(), row.id());
        let opened = match self.sealer(tenant).await {
            Ok(sealer) => row.open(&sealer),
            Err(e) => Err(e),
        };
        match opened {
            Ok(job) => Ok(Some(job)),
            Err(e) => {
                tracing::error!(job = %id, error = %e, "an export job could not be opened with its tenant's key; failed");
                let mut held = self.writer.hold(Scope::tenant(tenant)).await?;
                let why = "the job could not be decrypted with its tenant's key";
                sql::exports::fail(&mut held.exec()?, tenant, id, Some(claim), why, now).await?;
                held.commit_unaudited().await?;
                Ok(None)
            }
        }
    }

    /// Records a build's progress and extends its lease by `lease` from now;
    /// [`StoreError::NotFound`] if `claim` no longer holds the job (its lease ended and another
    /// worker took it).
    pub async fn export_job_progress(
        &self,
        id: Uuid,
        claim: Uuid,
        rows_done: u64,
        rows_total: Option<u64>,
        lease: SignedDuration,
    ) -> Result<(), StoreError> {
        let now: Timestamp = now(&*self.clock);
        let until = now.checked_add(lease).unwrap_or(now);
        // The platform route: the worker holding the claim knows the job by its id.
        let mut held = self.writer.hold(Scope::Platform).await?;
        sql::exports::progress(&mut held.exec()?, id, claim, rows_done, rows_total, until).await?;
        held.commit_unaudited().await
    }
}
