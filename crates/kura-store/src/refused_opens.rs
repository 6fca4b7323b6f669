//! What work that repeats remembers of the refused decryptions it met (DAT-2), so that kura-server
//! writes each to the tenant's log once, then once a period while it goes on, and once more when
//! it ends, however many nodes repeat the work (`refused_opens` in kura-server says when).
//!
//! An entry and the row that says it was written commit together ([`Write::note_refused_open`],
//! [`Write::clear_refused_open`]). Counting a refusal met again, when no entry is due, is
//! bookkeeping outside the audit path, like a session's last activity
//! ([`Store::count_refused_open`]): the count is written in the next entry.

use crate::conn::Scope;
use crate::error::StoreError;
use crate::sql;
use crate::sql::refused_opens::RefusalState;
use crate::store::Store;
use crate::time::now;
use crate::write::Write;
use jiff::SignedDuration;
use kura_domain::TenantId;

/// An entry about a refused value to write now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Noted {
    /// The value was not met before (or another one was): the first entry about it.
    First,
    /// The value is met still; `before` is what its row held (the newest entry's time, how
    /// often it was met since).
    Again(RefusalState),
}

impl Store {
    /// Counts a refusal of `tenant`'s value with `digest` met again by `work`, if an entry
    /// about it was written less than `period` ago: `true` then, and nothing is to be written.
    /// `false`: an entry is due ([`Write::note_refused_open`]). Bookkeeping outside the audit
    /// path, through the writer slot: do not call it while holding a [`Write`].
    pub async fn count_refused_open(
        &self,
        tenant: TenantId,
        work: &str,
        digest: &[u8],
        period: SignedDuration,
    ) -> Result<bool, StoreError> {
        let now = now(&*self.clock);
        let cutoff = now.checked_sub(period).unwrap_or(now);
        let mut held = self.writer.hold(Scope::tenant(tenant)).await?;
        let counted = sql::refused_opens::count_quiet(&mut held.exec()?, tenant, work, digest, cutoff, now).await?;
        held.commit_unaudited().await?;
        Ok(counted)
    }

    /// The tenants for which `work` remembers a refusal.
    pub async fn refused_open_tenants(&self, work: &str) -> Result<Vec<TenantId>, StoreError> {
        sql::refused_opens::tenants(&mut self.db.read(Scope::Platform).await?.exec(), work).await
    }
}

impl Write {
    /// Takes the entry about `tenant`'s value with `digest` refused by `work`, due unless one
    /// about the same value was written less than `period` ago: `Some` if this write is to
    /// carry it (the caller commits with it), `None` if another node wrote it meanwhile.
    pub async fn note_refused_open(
        &mut self,
        tenant: TenantId,
        work: &str,
        digest: &[u8],
        period: SignedDuration,
    ) -> Result<Option<Noted>, StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        let cutoff = now.checked_sub(period).unwrap_or(now);
        let before = sql::refused_opens::get(&mut self.exec().await?, tenant, work).await?;
        if !sql::refused_opens::claim_entry(&mut self.exec().await?, tenant, work, digest, cutoff, now).await? {
            return Ok(None);
        }
        Ok(Some(match before {
            Some((same, state)) if same == digest => Noted::Again(state),
            _ => Noted::First,
        }))
    }

    /// Forgets the refusal `work` remembers for `tenant`, which it no longer meets; returns
    /// what its row held (`None`: there was none, and the caller has nothing to commit).
    pub async fn clear_refused_open(
        &mut self,
        tenant: TenantId,
        work: &str,
    ) -> Result<Option<RefusalState>, StoreError> {
        self.in_scope(tenant)?;
        sql::refused_opens::delete(&mut self.exec().await?, tenant, work).await
    }
}
