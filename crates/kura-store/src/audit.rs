//! Reading and verifying the audit chain (LOG-1). Appending happens in `Write::commit`.

use crate::error::StoreError;
use crate::store::Store;
use jiff::Timestamp;
use kura_domain::{AuditEntry, AuditScope, Operation};

/// Which entries to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Case-insensitive substring of the actor's label (email or key name).
    pub actor: Option<String>,
    pub operation: Option<Operation>,
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

impl Store {
    pub async fn audit_entries(&self, scope: AuditScope, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        todo!()
    }

    /// Every scope that has a chain: the platform and each tenant, including deleted ones.
    pub async fn audit_scopes(&self) -> Result<Vec<AuditScope>, StoreError> {
        todo!()
    }

    /// Re-computes every hash of a chain and checks sequence continuity and the stored head.
    /// `Ok(Err(_))` names the first broken entry.
    pub async fn verify_audit(&self, scope: AuditScope) -> Result<Result<VerifyReport, ChainBreak>, StoreError> {
        todo!()
    }
}
