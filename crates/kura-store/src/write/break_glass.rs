//! Writes of break-glass accesses (IAM-13). Each is a write in the tenant's scope, so that the
//! access, its approval and its end are entries of the tenant's own log; the start and the end
//! are recorded in the platform's log as well ([`Write::also_in_platform`]).

use super::Write;
use crate::error::StoreError;
use crate::sql;
use kura_crypto::TokenDigest;
use kura_domain::{BreakGlass, BreakGlassStatus};

impl Write {
    /// Stores a new access (pending or active) of this write's tenant.
    pub async fn insert_break_glass(&mut self, grant: &BreakGlass) -> Result<(), StoreError> {
        self.in_scope(grant.tenant_id)?;
        sql::break_glass::insert(&mut self.exec().await?, grant).await
    }

    /// Stores `grant`'s new status, decision and times if its stored status is still `from`;
    /// whether it was (another node may have decided or closed it first).
    pub async fn advance_break_glass(
        &mut self,
        grant: &BreakGlass,
        from: BreakGlassStatus,
    ) -> Result<bool, StoreError> {
        self.in_scope(grant.tenant_id)?;
        sql::break_glass::advance(&mut self.exec().await?, grant, from).await
    }

    /// Keeps the digest of a new support-session token for an active access, replacing (and so
    /// ending) the session opened before.
    pub async fn set_break_glass_token(&mut self, grant: &BreakGlass, digest: &TokenDigest) -> Result<(), StoreError> {
        self.in_scope(grant.tenant_id)?;
        sql::break_glass::set_token(&mut self.exec().await?, grant.tenant_id, grant.id, digest).await
    }
}
