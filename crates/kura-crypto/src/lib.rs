//! Kura's cryptographic primitives, in one place so that they are reviewed together:
//! password hashing (IAM-8), secret tokens stored only as digests (sessions, API keys, setup
//! links), constant-time comparison, and X.509 certificates (DAT-1, IAM-11).
//! [`vault`] holds encryption at rest: the master and per-tenant keys, sealed values and blind indexes.
//! [`TotpSecret`] and [`RecoveryCode`] are second factors (IAM-6).
//! [`merkle`] is the audit log's Merkle tree (LOG-3): proofs, and checkpoints signed with Ed25519.
//!
//! This crate knows nothing of tenants or storage; callers pass bytes in and get bytes out.

pub mod merkle;
mod otp;
mod password;
mod token;
pub mod vault;
pub mod x509;

pub use otp::{
    FactorCode, RECOVERY_CODE_CHARS, RecoveryCode, TOTP_DIGITS, TOTP_STEP_SECONDS, TotpSecret, recovery_digest,
};
pub use password::{Argon2Params, MAX_IMPORT_ARGON2, MAX_IMPORT_BCRYPT_COST, PasswordError, PasswordHasher};
pub use token::{SecretToken, TokenDigest, ct_eq, hex, random_bytes, sha256};
