//! Encryption at rest (DAT-2, DAT-3, TEN-2): the key hierarchy, sealed values and blind
//! indexes. This module is pure apart from reading and creating the master key file; the
//! keystore that holds wrapped tenant keys, and the store's write path that calls [`seal`] and
//! [`open`], sit above it.
//!
//! * [`keys`]: a master key ([`KeyProvider`], [`MasterKey`]) wraps random per-tenant keys
//!   ([`TenantKey`], [`WrappedKey`]) with AES-256-GCM, bound to tenant, purpose and version.
//! * [`keyfile`]: the master key file, created 0600 and refused when others can read it.
//! * [`seal`]: one value under a tenant data key, bound to tenant, table, row, field and
//!   key version ([`SealContext`]); [`KeyRing`] opens old versions while sealing with the newest.
//! * [`tenant`]: one tenant's keys together ([`TenantKeys`]), to and from the keystore's wrapped
//!   form, and [`rewrap`] for rotating the master key.
//! * [`backup`]: the installation's backup key and the encrypted, chunked format of backup
//!   files (OPS-1).
//! * [`ring`]: the new master key with the ones it replaces ([`MasterKeyRing`]), while a
//!   master-key rotation re-wraps the keystore.
//! * [`blind`]: keyed HMAC-SHA-256 indexes over [`normalise`]d values for exact lookups.

pub mod backup;
pub mod blind;
pub mod keyfile;
pub mod keys;
pub mod ring;
pub mod seal;
pub mod tenant;

pub use backup::{BACKUP_KEY_OWNER, BackupFileError, BackupKey, OpenReader, SealWriter};
pub use blind::{BlindIndex, blind_index, is_normalised, normalise, plain_index};
pub use keyfile::{MASTER_KEY_ENV, load_master_key};
pub use keys::{
    BlindKey, DataKey, KEY_LEN, KeyProvider, KeyPurpose, KeyVersion, MasterKey, MasterKeyId, TenantKey, WrappedKey,
};
pub use ring::MasterKeyRing;
pub use seal::{KeyRing, SealContext, open, seal, sealed_version};
pub use tenant::{TenantKeys, rewrap};

use std::path::PathBuf;

/// Why a key could not be loaded, created or unwrapped. Messages name files and key ids, never
/// key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the wrapped key is malformed")]
    Malformed,
    #[error("the wrapped key does not open under this master key for this tenant, purpose and version")]
    UnwrapRefused,
    #[error("the key was wrapped by master key {0}, which is not loaded")]
    UnknownMasterKey(MasterKeyId),
    #[error("the keystore holds no data key or no blind-index key for this tenant")]
    Incomplete,
    #[error("the master key must be 32 bytes, given as base64")]
    BadMasterKey,
    #[error("the master key path {path} is not a regular file")]
    NotAKeyFile { path: PathBuf },
    #[error("the master key file {path} must be exactly 32 bytes")]
    BadKeyFile { path: PathBuf },
    #[error("the master key file {path} can be read by group or others (mode {mode:o}); make it 0600")]
    KeyFileTooOpen { path: PathBuf, mode: u32 },
    #[error("cannot use the master key file {path}: {source}")]
    KeyFileIo { path: PathBuf, source: std::io::Error },
}

/// Why a sealed value did not open. Every case is an error: a value never opens to something
/// other than what was sealed for exactly this context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the sealed value is malformed or of an unknown format")]
    Malformed,
    #[error("no key of version {0} is loaded for this tenant")]
    UnknownKeyVersion(u32),
    #[error("the sealed value does not open in this context (another tenant, table, row, field or key, or altered)")]
    Refused,
}

/// Appends `bytes` with a u64 big-endian length prefix, so that concatenated fields have exactly
/// one reading ("ab"+"c" and "a"+"bc" differ).
pub(crate) fn put_field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}
