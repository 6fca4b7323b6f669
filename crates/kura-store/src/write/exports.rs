//! Export jobs (DAT-5): asking for one, its end (complete or failed), its one download and its
//! expiry, each in the write whose audit entry records it.

use super::Write;
use crate::error::StoreError;
use crate::sql;
use crate::sql::exports::{FinishedExport, NewExportJob};
use kura_domain::TenantId;
use uuid::Uuid;

impl Write {
    /// Queues an export job of this write's tenant on behalf of its actor.
    pub async fn insert_export_job(&mut self, tenant: TenantId, job: &NewExportJob) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        let sealer = self.sealer(tenant).await?;
        let actor = self.actor.clone();
        sql::exports::insert(&mut self.exec().await?, tenant, job, &actor, &sealer, now).await
    }

    /// The file of job `id` is complete and offered; [`StoreError::NotFound`] if the worker's
    /// claim no longer holds it.
    pub async fn finish_export_job(
        &mut self,
        tenant: TenantId,
        id: Uuid,
        finished: &FinishedExport<'_>,
    ) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        sql::exports::finish(&mut self.exec().await?, tenant, id, finished, now).await
    }

    /// The build of job `id` failed with `error` (no file is offered);
    /// [`StoreError::NotFound`] if it had already ended or another worker holds it.
    pub async fn fail_export_job(
        &mut self,
        tenant: TenantId,
        id: Uuid,
        claim: Option<Uuid>,
        error: &str,
    ) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        sql::exports::fail(&mut self.exec().await?, tenant, id, claim, error, now).await
    }

    /// Takes the one download of job `id`; [`StoreError::NotFound`] if it is not offered now
    /// (never ready, downloaded already, or expired).
    pub async fn take_export_download(&mut self, tenant: TenantId, id: Uuid) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        sql::exports::take(&mut self.exec().await?, tenant, id, now).await
    }

    /// Job `id`'s link expired unused; [`StoreError::NotFound`] if it is not a ready job whose
    /// time has passed.
    pub async fn expire_export_job(&mut self, tenant: TenantId, id: Uuid) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        sql::exports::expire(&mut self.exec().await?, tenant, id, now).await
    }
}
