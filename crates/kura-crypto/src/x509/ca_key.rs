//! The client CA's private key sealed under the master key (IAM-11 with DAT-2): what the CA's
//! key file holds when encryption at rest is on.
//!
//! The key (PKCS#8 DER) is encrypted with AES-256-GCM under a random key of purpose
//! [`KeyPurpose::ClientCa`], and that key is wrapped by the master key (bound to
//! [`CA_KEY_OWNER`] in place of a tenant id), like a tenant key in the keystore. Both travel in
//! the one file, so every node that shares the CA's folder and the master key opens it, and
//! nothing else can. The associated data binds the sealed key to its purpose and to the SHA-256
//! of the CA certificate: a sealed key put beside another certificate does not open.
//!
//! Format, version 1: `KURACAK1` (8 bytes), the wrapped key's length (u16 big-endian), the
//! wrapped key (`WrappedKey::to_bytes`), a 12-byte nonce, then the ciphertext with its 16-byte tag.

use crate::token::{random_bytes, sha256};
use crate::vault::{KeyError, KeyProvider, KeyPurpose, KeyVersion, TenantKey, WrappedKey};
use aes_gcm::aead::{Aead, Payload};
use zeroize::Zeroizing;

/// What the CA key's wrapping key is bound to in place of a tenant id.
pub const CA_KEY_OWNER: &[u8] = b"kura.client-ca-key";
const MAGIC: &[u8; 8] = b"KURACAK1";
const NONCE_LEN: usize = 12;

/// Why a sealed CA key did not open. Messages name master key ids, never key material.
#[derive(Debug, thiserror::Error)]
pub enum SealedKeyError {
    #[error("the sealed key is malformed")]
    Malformed,
    #[error("its wrapping key does not open: {0}")]
    Unwrap(#[from] KeyError),
    #[error("it does not open for this CA certificate (altered, or beside another CA's certificate)")]
    Refused,
}

/// Whether `file` is a sealed CA key (rather than a PEM one).
pub fn is_sealed(file: &[u8]) -> bool {
    file.starts_with(MAGIC)
}

/// The master key id named by a sealed key, if it is well-formed.
pub fn sealed_by(file: &[u8]) -> Option<String> {
    parts(file).ok().map(|(wrapped, _, _)| wrapped.master_key_id().as_str().to_owned())
}

fn aad(cert_der: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(64);
    crate::vault::put_field(&mut aad, b"kura.client-ca-key.v1");
    crate::vault::put_field(&mut aad, &sha256(cert_der));
    aad
}

/// Seals the CA's PKCS#8 `key_der` for the certificate `cert_der` under `provider`.
pub fn seal(provider: &dyn KeyProvider, cert_der: &[u8], key_der: &[u8]) -> Result<Vec<u8>, KeyError> {
    let kek = TenantKey::generate(KeyPurpose::ClientCa, KeyVersion::FIRST);
    let wrapped = provider.wrap(CA_KEY_OWNER, &kek)?.to_bytes();
    let len = u16::try_from(wrapped.len()).map_err(|_| KeyError::Malformed)?;
    let nonce = random_bytes::<NONCE_LEN>();
    let ciphertext = crate::vault::keys::aes(kek.key_bytes())
        .encrypt((&nonce).into(), Payload { msg: key_der, aad: &aad(cert_der) })
        .map_err(|_| KeyError::Malformed)?;
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + wrapped.len() + NONCE_LEN + ciphertext.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

fn parts(file: &[u8]) -> Result<(WrappedKey, [u8; NONCE_LEN], &[u8]), SealedKeyError> {
    let rest = file.strip_prefix(MAGIC).ok_or(SealedKeyError::Malformed)?;
    let (len, rest) = rest.split_first_chunk::<2>().ok_or(SealedKeyError::Malformed)?;
    let len = usize::from(u16::from_be_bytes(*len));
    if rest.len() < len + NONCE_LEN {
        return Err(SealedKeyError::Malformed);
    }
    let (wrapped, rest) = rest.split_at(len);
    let wrapped = WrappedKey::from_bytes(wrapped).map_err(|_| SealedKeyError::Malformed)?;
    let (nonce, ciphertext) = rest.split_first_chunk::<NONCE_LEN>().ok_or(SealedKeyError::Malformed)?;
    Ok((wrapped, *nonce, ciphertext))
}

/// Opens a key sealed by [`seal`] for exactly `cert_der`, with the master key of `provider`.
pub fn open(provider: &dyn KeyProvider, cert_der: &[u8], file: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealedKeyError> {
    let (wrapped, nonce, ciphertext) = parts(file)?;
    if wrapped.purpose() != KeyPurpose::ClientCa {
        return Err(SealedKeyError::Malformed);
    }
    let kek = provider.unwrap(CA_KEY_OWNER, &wrapped)?;
    crate::vault::keys::aes(kek.key_bytes())
        .decrypt((&nonce).into(), Payload { msg: ciphertext, aad: &aad(cert_der) })
        .map(Zeroizing::new)
        .map_err(|_| SealedKeyError::Refused)
}

/// The sealed key with its wrapping key re-wrapped under `provider`'s current master key
/// (master-key rotation), or `None` when that key wrapped it already. The sealed key itself is
/// kept as it is.
pub fn rewrap(provider: &dyn KeyProvider, file: &[u8]) -> Result<Option<Vec<u8>>, SealedKeyError> {
    let (wrapped, nonce, ciphertext) = parts(file)?;
    if wrapped.master_key_id() == provider.master_key_id() {
        return Ok(None);
    }
    let kek = provider.unwrap(CA_KEY_OWNER, &wrapped)?;
    let rewrapped = provider.wrap(CA_KEY_OWNER, &kek)?.to_bytes();
    let len = u16::try_from(rewrapped.len()).map_err(|_| SealedKeyError::Malformed)?;
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + rewrapped.len() + NONCE_LEN + ciphertext.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&rewrapped);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(ciphertext);
    Ok(Some(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::vault::MasterKey;

    #[test]
    fn iam_11_a_sealed_ca_key_opens_only_with_its_master_key_and_certificate() {
        let master = MasterKey::generate();
        let key = b"pkcs8 bytes of the CA key";
        let sealed = seal(&master, b"cert", key).unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.windows(key.len()).any(|w| w == key), "the key is not in the clear");
        assert_eq!(open(&master, b"cert", &sealed).unwrap().as_slice(), key);
        assert_eq!(sealed_by(&sealed).as_deref(), Some(master.master_key_id().as_str()));
        // Another master key, another certificate, an altered byte: each refused.
        let other = MasterKey::generate();
        assert!(matches!(open(&other, b"cert", &sealed), Err(SealedKeyError::Unwrap(KeyError::UnknownMasterKey(_)))));
        assert!(matches!(open(&master, b"other cert", &sealed), Err(SealedKeyError::Refused)));
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(matches!(open(&master, b"cert", &altered), Err(SealedKeyError::Refused)));
        assert!(matches!(open(&master, b"cert", &sealed[..20]), Err(SealedKeyError::Malformed)));
        assert!(!is_sealed(b"-----BEGIN PRIVATE KEY-----"));
    }

    #[test]
    fn dat_2_a_sealed_ca_key_is_rewrapped_under_a_new_master_key() {
        use crate::vault::MasterKeyRing;
        use std::sync::Arc;
        let old = Arc::new(MasterKey::generate());
        let new = Arc::new(MasterKey::generate());
        let sealed = seal(&*old, b"cert", b"the key").unwrap();
        let ring = MasterKeyRing::new(new.clone(), [old.clone()]);
        let rewrapped = rewrap(&ring, &sealed).unwrap().unwrap();
        assert_eq!(sealed_by(&rewrapped).as_deref(), Some(new.master_key_id().as_str()));
        assert_eq!(open(&*new, b"cert", &rewrapped).unwrap().as_slice(), b"the key");
        assert!(open(&*old, b"cert", &rewrapped).is_err());
        assert!(rewrap(&ring, &rewrapped).unwrap().is_none(), "done once");
    }
}
