//! Kura's cryptographic primitives, in one place so that they are reviewed together:
//! password hashing (IAM-8), secret tokens stored only as digests (sessions, API keys, setup
//! links), the audit chain digest (LOG-1) and constant-time comparison.
//! [`vault`] holds encryption at rest: the master and per-tenant keys, sealed values and blind indexes.
//!
//! This crate knows nothing of tenants or storage; callers pass bytes in and get bytes out.

mod password;
mod token;
pub mod vault;

pub use password::{Argon2Params, MAX_IMPORT_ARGON2, MAX_IMPORT_BCRYPT_COST, PasswordError, PasswordHasher};
pub use token::{SecretToken, TokenDigest, ct_eq, random_bytes, sha256};
