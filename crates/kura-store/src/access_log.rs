//! The access log (LOG-2): requests appended in batches, bookkeeping beside the audited write
//! path (it records requests, it changes no business state), listed per scope with filters.
//! Purging by age is a [`crate::Write`] (`write/purge.rs`), so every purge has its audit entry.

use crate::error::StoreError;
use crate::sql;
use crate::sql::access_log::ListParams;
use crate::store::Store;
use jiff::Timestamp;
use kura_domain::AuditScope;
use uuid::Uuid;

pub use crate::sql::access_log::AccessEntry;

/// What a listing of the access log keeps.
#[derive(Clone, Debug, Default)]
pub struct AccessFilter {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Answers with a status in this range (both ends included), such as 400–499.
    pub status: Option<(u16, u16)>,
    /// The route template, exactly.
    pub route: Option<String>,
    /// The source address, exactly.
    pub source_ip: Option<String>,
    /// Entries older than this one (the last of the page before).
    pub before: Option<(Timestamp, Uuid)>,
    /// At most this many (0: the default, 100; never more than 1,000).
    pub limit: u32,
}

fn params(f: &AccessFilter) -> ListParams<'_> {
    let limit = if f.limit == 0 { 100 } else { f.limit.clamp(1, 1000) };
    ListParams {
        from: f.from,
        to: f.to,
        status_min: f.status.map(|(a, _)| i32::from(a)),
        status_max: f.status.map(|(_, b)| i32::from(b)),
        route: f.route.as_deref().map(str::trim).filter(|s| !s.is_empty()),
        source_ip: f.source_ip.as_deref().map(str::trim).filter(|s| !s.is_empty()),
        before: f.before,
        limit: i64::from(limit),
    }
}

impl Store {
    /// Appends a batch of requests, each given a fresh id, in one durable commit through the
    /// writer slot (bookkeeping: no audit entry). Do not call it while holding a [`crate::Write`].
    pub async fn append_access_log(&self, mut entries: Vec<AccessEntry>) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        for e in &mut entries {
            e.id = Uuid::now_v7();
        }
        let mut held = self.writer.hold().await?;
        sql::access_log::insert_many(&mut held.exec()?, &entries).await?;
        held.commit_unaudited().await
    }

    /// The scope's requests newest first.
    pub async fn access_log(&self, scope: AuditScope, filter: &AccessFilter) -> Result<Vec<AccessEntry>, StoreError> {
        sql::access_log::list(&mut self.db.read().await?.exec(), scope, &params(filter)).await
    }

    /// How many of the scope's requests match `filter`, whatever its paging.
    pub async fn access_log_count(&self, scope: AuditScope, filter: &AccessFilter) -> Result<u64, StoreError> {
        sql::access_log::count(&mut self.db.read().await?.exec(), scope, &params(filter)).await
    }

    /// Every scope that has requests in the access log (for the purge).
    pub async fn access_log_scopes(&self) -> Result<Vec<AuditScope>, StoreError> {
        sql::access_log::scopes(&mut self.db.read().await?.exec()).await
    }
}
