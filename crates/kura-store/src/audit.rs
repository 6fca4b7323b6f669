//! Reading and verifying the audit chain (LOG-1). Appending happens in `Write::commit`.

use crate::error::StoreError;
use crate::sql;
use crate::sql::audit::ListParams;
use crate::store::Store;
use jiff::Timestamp;
use kura_domain::{AuditEntry, AuditScope, Operation, Outcome};

/// Which entries to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Case-insensitive substring of the actor's label (email or key name).
    pub actor: Option<String>,
    pub operation: Option<Operation>,
    pub outcome: Option<Outcome>,
    /// The source address, exactly as recorded.
    pub source_ip: Option<String>,
    /// The target, exactly (`record:customers/…` lists one record's history).
    pub target: Option<String>,
    /// Only entries with a sequence number below this (for paging backwards).
    pub before_seq: Option<i64>,
    pub limit: u32,
}

/// Where and why a chain failed verification.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit chain {scope:?} broken at entry {seq}: {reason}")]
pub struct ChainBreak {
    pub scope: AuditScope,
    pub seq: i64,
    pub reason: String,
}

/// The result of verifying one chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub scope: AuditScope,
    pub entries: u64,
    pub head_seq: i64,
}

/// One chain's outcome in [`Store::verify_all`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainVerification {
    pub scope: AuditScope,
    pub result: Result<VerifyReport, ChainBreak>,
}

fn list_params<'a>(filter: &'a AuditFilter, actor_like: Option<&'a str>) -> ListParams<'a> {
    let limit = if filter.limit == 0 { DEFAULT_LIMIT } else { filter.limit.clamp(1, MAX_LIMIT) };
    ListParams {
        from: filter.from,
        to: filter.to,
        operation: filter.operation,
        before_seq: filter.before_seq,
        actor_like,
        outcome: filter.outcome,
        source_ip: filter.source_ip.as_deref().map(str::trim).filter(|s| !s.is_empty()),
        target: filter.target.as_deref(),
        limit: i64::from(limit),
    }
}

/// Listing limits: 0 means the default.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;
/// Entries read per round trip while verifying, so memory stays flat however long the chain.
const VERIFY_PAGE: i64 = 1000;

impl Store {
    pub async fn audit_entries(&self, scope: AuditScope, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let actor_like = filter.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()).map(like_pattern);
        let params = list_params(filter, actor_like.as_deref());
        sql::audit::list(&mut self.db.read().await?.exec(), scope, &params).await
    }

    /// How many entries match `filter`, whatever its paging and limit.
    pub async fn audit_count(&self, scope: AuditScope, filter: &AuditFilter) -> Result<u64, StoreError> {
        let actor_like = filter.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()).map(like_pattern);
        let params = list_params(filter, actor_like.as_deref());
        sql::audit::count(&mut self.db.read().await?.exec(), scope, &params).await
    }

    /// Every scope that has a chain: the platform and each tenant, including deleted ones.
    pub async fn audit_scopes(&self) -> Result<Vec<AuditScope>, StoreError> {
        let mut ids = sql::audit::scopes(&mut self.db.read().await?.exec()).await?;
        // The platform (nil UUID) first, then tenants in a stable order.
        ids.sort();
        ids.dedup();
        Ok(ids.into_iter().map(AuditScope::from_storage_id).collect())
    }

    /// Verifies every chain that must exist and every chain that does: the platform's, that of
    /// each tenant in the tenants table, and those left by tenants no longer there. A chain that
    /// must exist but has neither entries nor a head is reported broken at entry 1: every tenant
    /// is opened with an entry in its own chain, and every tenant's opening is an entry in the
    /// platform's. Scopes come in order: the platform, then tenants by id.
    ///
    /// What this proves, and what it does not: each entry matches its hash and follows the one
    /// before, none is missing between the first and the head, and no chain is missing or cut
    /// short of its head. Someone able to write the database can still rewrite a chain with
    /// freshly computed hashes together with its head; that needs a record of the heads kept
    /// outside the database, which does not exist yet.
    pub async fn verify_all(&self) -> Result<Vec<ChainVerification>, StoreError> {
        let tenants = self.tenants().await?;
        let mut scopes = self.audit_scopes().await?;
        let mut expected: Vec<AuditScope> = tenants.iter().map(|t| AuditScope::Tenant(t.id)).collect();
        if !tenants.is_empty() || self.operator_count().await? > 0 {
            expected.push(AuditScope::Platform);
        }
        scopes.extend(expected.iter().copied());
        scopes.sort_by_key(|s| s.storage_id());
        scopes.dedup();
        let mut out = Vec::with_capacity(scopes.len());
        for scope in scopes {
            let result = match self.verify_audit(scope).await? {
                Ok(report) if report.head_seq == 0 && expected.contains(&scope) => Err(ChainBreak {
                    scope,
                    seq: 1,
                    reason: "the chain is missing: no entries and no head, where at least one entry must be".into(),
                }),
                other => other,
            };
            out.push(ChainVerification { scope, result });
        }
        Ok(out)
    }

    /// Re-computes every hash of a chain and checks sequence continuity and the stored head.
    /// `Ok(Err(_))` names the first broken entry.
    pub async fn verify_audit(&self, scope: AuditScope) -> Result<Result<VerifyReport, ChainBreak>, StoreError> {
        // One snapshot for entries and head, so that appends during verification are not
        // mistaken for a broken tail.
        let mut tx = self.db.snapshot().await?;
        let mut e = tx.exec();
        let brk = |seq: i64, reason: String| Ok(Err(ChainBreak { scope, seq, reason }));

        let mut expected: i64 = 1;
        let mut prev = [0u8; 32];
        // Start below any sequence number so that stray entries at 0 or below are seen too.
        let mut after = i64::MIN;
        loop {
            let rows = sql::audit::page(&mut e, scope, after, VERIFY_PAGE).await?;
            let full = rows.len() as i64 == VERIFY_PAGE;
            for row in rows {
                let seq = row.seq;
                after = seq;
                if seq < expected {
                    return brk(seq, format!("entry {seq} is out of sequence"));
                }
                if seq > expected {
                    return brk(expected, format!("entry {expected} is missing"));
                }
                let entry = match AuditEntry::try_from(row) {
                    Ok(entry) => entry,
                    Err(err) => return brk(seq, format!("entry {seq} was altered ({err})")),
                };
                if !entry.is_sealed_onto(&prev) {
                    return brk(seq, format!("entry {seq} was altered"));
                }
                prev = entry.hash;
                expected += 1;
            }
            if !full {
                break;
            }
        }

        let last = expected - 1;
        let entries = u64::try_from(last).unwrap_or(0);
        match sql::audit::head(&mut e, scope).await? {
            None if last == 0 => Ok(Ok(VerifyReport { scope, entries: 0, head_seq: 0 })),
            None => brk(last, format!("the chain head is missing but {last} entries are present")),
            Some((head_seq, _)) if head_seq > last => {
                brk(last + 1, format!("the chain head says {head_seq} entries but only {last} are present"))
            }
            Some((head_seq, _)) if head_seq < last => {
                brk(head_seq + 1, format!("entry {} is beyond the chain head ({head_seq})", head_seq + 1))
            }
            Some((_, head_hash)) if head_hash.as_slice() != prev.as_slice() => {
                brk(last, format!("the chain head does not match entry {last}"))
            }
            Some((head_seq, _)) => Ok(Ok(VerifyReport { scope, entries, head_seq })),
        }
    }
}

/// A `LIKE` pattern matching `needle` anywhere, case-insensitively (the column side is
/// lower-cased in SQL), with the wildcards of user input escaped.
fn like_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_pattern("Taro_%"), "%taro\\_\\%%");
        assert_eq!(like_pattern("a\\b"), "%a\\\\b%");
    }
}
