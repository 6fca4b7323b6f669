//! Kura's cryptographic primitives, in one place so that they are reviewed together:
//! password hashing (IAM-8), secret tokens stored only as digests (sessions, API keys, setup
//! links), the audit chain digest (LOG-1), constant-time comparison, and X.509 certificates
//! (DAT-1, IAM-11).
//!
//! This crate knows nothing of tenants or storage; callers pass bytes in and get bytes out.

mod password;
mod token;
pub mod x509;

pub use password::{Argon2Params, MAX_IMPORT_ARGON2, MAX_IMPORT_BCRYPT_COST, PasswordError, PasswordHasher};
pub use token::{SecretToken, TokenDigest, chain_hash, ct_eq, random_bytes, sha256};
