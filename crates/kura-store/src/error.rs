//! Storage errors. Constraint violations become [`StoreError::Conflict`] so that the HTTP layer
//! can answer 409 instead of 500.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint or an optimistic-concurrency check refused the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A write tried to change a tenant outside its audit scope: a programming error.
    #[error("a write in scope {scope:?} tried to change {target}")]
    OutOfScope { scope: kura_domain::AuditScope, target: String },
    #[error("not found")]
    NotFound,
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    BadUrl(String),
    /// Data read back does not decode: a row was edited outside Kura or is corrupt.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// A stored value did not open for its tenant and place (DAT-2, TEN-2): a ciphertext moved
    /// from another row or tenant, altered, or whose key is gone; or the tenant's keys did not
    /// unwrap. Never answered with a wrong value.
    #[error("a stored value could not be decrypted: {0}")]
    Unreadable(String),
    /// The commit that was to make this write durable failed (disk full, connection lost), so
    /// the write was not acknowledged. Every write of the same batch gets this error.
    #[error("the write was not committed: {0}")]
    NotCommitted(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}
