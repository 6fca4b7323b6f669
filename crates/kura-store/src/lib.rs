//! Kura's storage: one implementation for embedded SQLite and for PostgreSQL.
//!
//! **Architecture invariants:**
//! - Only this crate knows SQL. Every statement is one text that runs on both engines; the few
//!   dialect differences live in `db.rs`.
//! - Every tenant-owned query takes a `TenantId` and filters on it; tenant-owned tables have
//!   `tenant_id` as the first column of their primary key.
//! - Every state change goes through [`Write`], whose only way to commit is
//!   [`Write::commit`], which appends the audit entry in the same transaction and returns only
//!   once that transaction is durable (concurrent writes share commits: `writer.rs`).
//!   The documented exceptions are bookkeeping that changes no business state: session activity
//!   times and API-key last-used times.

mod account;
mod audit;
mod cache;
mod db;
mod definitions;
mod error;
mod outbox;
mod read;
mod rows;
mod sql;
mod store;
mod views;
mod write;
mod writer;

pub use audit::{AuditFilter, ChainBreak, ChainVerification, VerifyReport};
pub use cache::{CacheStats, RecordSnapshot};
pub use error::StoreError;
pub use read::CollectionAt;
pub use rows::{ApiKey, ApiKeyContext, Session, SessionOwner, UserSessionContext};
pub use sql::account::{OwnSession, session_handle};
pub use sql::collections::CollectionHead;
pub use sql::lockout::{FailureCount, Throttle};
pub use sql::mail::{MailStatus, NewMail, OutboxMail};
pub use sql::signin::{SigninAccount, SigninContext};
pub use sql::tokens::LinkPurpose;
pub use store::{Engine, Store, StoreOptions};
pub use write::{ApiKeyLimits, NewAccount, NewUserSession, Write};
pub use writer::CommitStats;

/// Helpers for tests of this crate and of the crates above it.
#[cfg(feature = "testing")]
pub mod testing;
