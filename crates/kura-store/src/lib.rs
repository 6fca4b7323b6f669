//! Kura's storage: one implementation for embedded SQLite and for PostgreSQL.
//!
//! **Architecture invariants:**
//! - Only this crate knows SQL. Every statement is one text that runs on both engines, except
//!   those of `dialect.rs`, which holds each one that differs with both texts side by side, and
//!   the SQLite-only file of the access log (its migrations in `access/`; `access_log.rs`).
//! - Every tenant-owned query takes a `TenantId` and filters on it; tenant-owned tables have
//!   `tenant_id` as the first column of their primary key. A [`Write`] checks its scope on every
//!   call that names what it changes, and the writes as data check the tenant they are given.
//! - Every state change goes through [`Write`], whose only way to commit is
//!   [`Write::commit`], which appends the audit entry in the same transaction and returns only
//!   once that transaction is durable (concurrent writes share commits: `writer/`).
//!   The documented exceptions are bookkeeping that changes no business state: session activity
//!   times and API-key last-used times (`write/bookkeeping.rs`), the access log's batches
//!   (`access_log.rs`), the key-rotation job's batches, which change how values are
//!   sealed and not what they are (`key_rotation.rs`; the job's start and end are audited),
//!   and the count of a refused decryption met again before its next entry is due
//!   (`refused_opens.rs`; the count is written in that entry).
//! - The modules import each other bottom-up only, in the order ARCHITECTURE.md gives.

mod access_log;
mod account;
mod audit;
pub mod backup;
mod cache;
mod conn;
mod db;
mod definitions;
mod dialect;
mod error;
mod exports;
mod key_rotation;
mod outbox;
mod read;
mod refused_opens;
mod roles;
mod rows;
mod sql;
mod store;
mod time;
mod vault;
mod views;
mod write;
mod writer;

pub use access_log::{AccessEntry, AccessFilter};
pub use audit::{
    AuditFilter, ChainBreak, ChainVerification, ExportSlice, ExportedEntry, QuarterCount, TamperKind, TreeHead,
    VerifyReport,
};
pub use cache::{CacheStats, RecordSnapshot};
pub use conn::Engine;
pub use db::with_database;
pub use error::StoreError;
pub use key_rotation::{BatchOutcome, Claimed, RotationBatch};
pub use outbox::{ClaimedMail, UNOPENED_TEXT as MAIL_UNOPENED};
pub use read::CollectionAt;
pub use refused_opens::Noted;
pub use roles::{RowSecurity, Unconfined};
pub use rows::{ApiKey, ApiKeyContext, ClientCertificate, CollectionHead, Session, SessionOwner, UserSessionContext};
pub use sql::account::{OwnSession, session_handle};
pub use sql::backups::BackupCheck;
pub use sql::erasure::TenantDeletion;
pub use sql::exports::{ExportJob, ExportKind, ExportStatus, FinishedExport, NewExportJob};
pub use sql::factors::{Challenge, SecondFactor};
pub use sql::key_rotations::{KeyRotation, RotationKind, RotationStatus};
pub use sql::lockout::{FailureCount, Throttle};
pub use sql::mail::{MailStatus, NewMail, OutboxMail};
pub use sql::passkeys::PasskeyRegistration;
pub use sql::refused_opens::RefusalState;
pub use sql::signin::{SigninAccount, SigninContext};
pub use sql::tokens::LinkPurpose;
pub use store::{Store, StoreOptions};
pub use vault::{BackupKeyInfo, CreatedKeys, DataKeyInfo, MasterRotation, Rotated, Vault};
pub use write::{ApiKeyLimits, NewAccount, NewUserSession, Write};
pub use writer::CommitStats;

/// Helpers for tests of this crate and of the crates above it.
#[cfg(feature = "testing")]
pub mod testing;
