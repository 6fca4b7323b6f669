//! The key hierarchy: one master key per installation wraps one random data key per tenant and
//! version (DAT-2, TEN-2). Key bytes live in zeroizing buffers, are never printed by `Debug`, and
//! are compared only in constant time.

use super::KeyError;
use crate::token::{ct_eq, random_bytes, sha256};
use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use std::fmt;
use zeroize::Zeroizing;

/// Length of every key in the hierarchy: AES-256 and HMAC-SHA-256 both take 32 bytes.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Format byte of a wrapped key; a new wrapping scheme takes a new byte.
const WRAP_FORMAT: u8 = 1;

/// The version of a tenant's key. Version 1 is the first; rotation moves to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyVersion(u32);

impl KeyVersion {
    pub const FIRST: Self = Self(1);

    /// Version 0 is reserved so that an all-zero header never names a real key.
    pub fn new(v: u32) -> Option<Self> {
        (v > 0).then_some(Self(v))
    }
    pub fn get(self) -> u32 {
        self.0
    }
    pub fn next(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }
}

impl fmt::Display for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// What a tenant key is for. The purpose is bound into the wrapping, so a blind-index key cannot
/// be unwrapped and used as a data key or the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    /// Seals and opens stored values (DAT-2).
    Data,
    /// Keys the blind indexes used for exact lookups (DAT-3).
    BlindIndex,
    /// Encrypts backups (OPS-1); the installation's, not a tenant's.
    Backup,
    /// Seals the client-certificate CA's private key (IAM-11); the installation's.
    ClientCa,
}

impl KeyPurpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::Data => b"data",
            Self::BlindIndex => b"blind-index",
            Self::Backup => b"backup",
            Self::ClientCa => b"client-ca",
        }
    }
    fn byte(self) -> u8 {
        match self {
            Self::Data => 1,
            Self::BlindIndex => 2,
            Self::Backup => 3,
            Self::ClientCa => 4,
        }
    }
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Data),
            2 => Some(Self::BlindIndex),
            3 => Some(Self::Backup),
            4 => Some(Self::ClientCa),
            _ => None,
        }
    }
}

/// The public name of a master key: the first 8 bytes of a domain-separated SHA-256 of the key,
/// in hex. It tells which master key wrapped a tenant key without revealing anything usable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MasterKeyId(String);

impl MasterKeyId {
    fn of(key: &[u8; KEY_LEN]) -> Self {
        let mut input = Zeroizing::new(Vec::with_capacity(32 + KEY_LEN));
        input.extend_from_slice(b"kura.master-key-id.v1\0");
        input.extend_from_slice(key);
        let digest = sha256(&input);
        Self(digest[..8].iter().map(|b| format!("{b:02x}")).collect())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Parses an id read back from the keystore (16 lowercase hex digits).
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 16 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then(|| Self(s.to_owned()))
    }
}

impl fmt::Display for MasterKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// 32 secret bytes, zeroized on drop, compared in constant time, never printed.
#[derive(Clone)]
pub(crate) struct KeyBytes(Zeroizing<[u8; KEY_LEN]>);

impl KeyBytes {
    pub(crate) fn random() -> Self {
        Self(Zeroizing::new(random_bytes::<KEY_LEN>()))
    }
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(Self(Zeroizing::new(arr)))
    }
    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl PartialEq for KeyBytes {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.0[..], &other.0[..])
    }
}
impl Eq for KeyBytes {}

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The cipher for a key, built without copying the key to a temporary.
pub(crate) fn aes(key: &[u8; KEY_LEN]) -> Aes256Gcm {
    Aes256Gcm::new(key.into())
}

/// A tenant's key of one purpose and version, unwrapped, in memory only.
///
/// The AES-GCM key schedule is computed once here, so sealing and opening a value costs only
/// the cipher itself; `aes-gcm`'s `zeroize` feature wipes the schedule on drop.
#[derive(Clone)]
pub struct TenantKey {
    purpose: KeyPurpose,
    version: KeyVersion,
    bytes: KeyBytes,
    cipher: Aes256Gcm,
}

impl TenantKey {
    /// A fresh random key.
    pub fn generate(purpose: KeyPurpose, version: KeyVersion) -> Self {
        Self::from_bytes(purpose, version, KeyBytes::random())
    }
    fn from_bytes(purpose: KeyPurpose, version: KeyVersion, bytes: KeyBytes) -> Self {
        let cipher = aes(bytes.expose());
        Self { purpose, version, bytes, cipher }
    }
    pub fn purpose(&self) -> KeyPurpose {
        self.purpose
    }
    pub fn version(&self) -> KeyVersion {
        self.version
    }
    pub(crate) fn key_bytes(&self) -> &[u8; KEY_LEN] {
        self.bytes.expose()
    }
}

impl PartialEq for TenantKey {
    fn eq(&self, other: &Self) -> bool {
        self.purpose == other.purpose && self.version == other.version && self.bytes == other.bytes
    }
}
impl Eq for TenantKey {}

impl fmt::Debug for TenantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantKey")
            .field("purpose", &self.purpose)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// A tenant key encrypted under a master key: what the keystore holds. It carries the id of the
/// master key that wrapped it, the purpose and the version in the clear (all bound into the
/// AEAD), so a wrapped key moved to another tenant, purpose or version does not unwrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    master_key_id: MasterKeyId,
    purpose: KeyPurpose,
    version: KeyVersion,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl WrappedKey {
    pub fn master_key_id(&self) -> &MasterKeyId {
        &self.master_key_id
    }
    pub fn purpose(&self) -> KeyPurpose {
        self.purpose
    }
    pub fn version(&self) -> KeyVersion {
        self.version
    }

    /// The stored form: format byte, purpose byte, version (u32 big-endian), the master key id
    /// (16 ASCII hex digits), nonce, and the wrapped key with its tag.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 1 + 4 + 16 + NONCE_LEN + self.ciphertext.len());
        out.push(WRAP_FORMAT);
        out.push(self.purpose.byte());
        out.extend_from_slice(&self.version.0.to_be_bytes());
        out.extend_from_slice(self.master_key_id.0.as_bytes());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        const CT_LEN: usize = KEY_LEN + TAG_LEN;
        if bytes.len() != 1 + 1 + 4 + 16 + NONCE_LEN + CT_LEN || bytes[0] != WRAP_FORMAT {
            return Err(KeyError::Malformed);
        }
        let purpose = KeyPurpose::from_byte(bytes[1]).ok_or(KeyError::Malformed)?;
        let version = u32::from_be_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]);
        let version = KeyVersion::new(version).ok_or(KeyError::Malformed)?;
        let id = std::str::from_utf8(&bytes[6..22]).ok().and_then(MasterKeyId::parse).ok_or(KeyError::Malformed)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[22..22 + NONCE_LEN]);
        Ok(Self { master_key_id: id, purpose, version, nonce, ciphertext: bytes[22 + NONCE_LEN..].to_vec() })
    }
}

/// Where master keys come from. The file and environment implementation is [`MasterKey`]; a
/// key management service can implement the same two calls without ever handing out its key.
pub trait KeyProvider: fmt::Debug + Send + Sync {
    /// The id of the key that [`KeyProvider::wrap`] uses now.
    fn master_key_id(&self) -> &MasterKeyId;
    /// Encrypts a tenant key for the keystore, bound to `tenant` (the tenant id's bytes).
    fn wrap(&self, tenant: &[u8], key: &TenantKey) -> Result<WrappedKey, KeyError>;
    /// Decrypts a tenant key read from the keystore. Fails with an error, never a wrong key, if
    /// the wrapped key belongs to another tenant, purpose, version or master key, or was altered.
    fn unwrap(&self, tenant: &[u8], wrapped: &WrappedKey) -> Result<TenantKey, KeyError>;
}

/// The installation's master key held locally: 32 random bytes from a key file or from an
/// environment value. It never leaves this type; `Debug` prints only its id.
pub struct MasterKey {
    id: MasterKeyId,
    cipher: Aes256Gcm,
}

impl MasterKey {
    /// A fresh random master key (tests and [`MasterKey::create_file`]).
    pub fn generate() -> Self {
        Self::from_key_bytes(&KeyBytes::random())
    }

    pub(crate) fn from_key_bytes(bytes: &KeyBytes) -> Self {
        Self { id: MasterKeyId::of(bytes.expose()), cipher: aes(bytes.expose()) }
    }

    /// The key from its base64 form (standard alphabet, padding optional), as given in an
    /// environment variable.
    pub fn from_base64(value: &str) -> Result<Self, KeyError> {
        use base64::Engine as _;
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        let decoded = Zeroizing::new(engine.decode(value.trim()).map_err(|_| KeyError::BadMasterKey)?);
        let bytes = KeyBytes::from_slice(&decoded).ok_or(KeyError::BadMasterKey)?;
        Ok(Self::from_key_bytes(&bytes))
    }

    fn wrap_aad(&self, tenant: &[u8], purpose: KeyPurpose, version: KeyVersion) -> Vec<u8> {
        let mut aad = Vec::with_capacity(64 + tenant.len());
        super::put_field(&mut aad, b"kura.wrapped-key.v1");
        super::put_field(&mut aad, self.id.0.as_bytes());
        super::put_field(&mut aad, tenant);
        super::put_field(&mut aad, purpose.label());
        aad.extend_from_slice(&version.0.to_be_bytes());
        aad
    }
}

impl KeyProvider for MasterKey {
    fn master_key_id(&self) -> &MasterKeyId {
        &self.id
    }

    fn wrap(&self, tenant: &[u8], key: &TenantKey) -> Result<WrappedKey, KeyError> {
        let nonce = random_bytes::<NONCE_LEN>();
        let aad = self.wrap_aad(tenant, key.purpose, key.version);
        let ciphertext = self
            .cipher
            .encrypt((&nonce).into(), Payload { msg: key.bytes.expose(), aad: &aad })
            .map_err(|_| KeyError::UnwrapRefused)?;
        Ok(WrappedKey { master_key_id: self.id.clone(), purpose: key.purpose, version: key.version, nonce, ciphertext })
    }

    fn unwrap(&self, tenant: &[u8], wrapped: &WrappedKey) -> Result<TenantKey, KeyError> {
        if wrapped.master_key_id != self.id {
            return Err(KeyError::UnknownMasterKey(wrapped.master_key_id.clone()));
        }
        let aad = self.wrap_aad(tenant, wrapped.purpose, wrapped.version);
        let plain = Zeroizing::new(
            self.cipher
                .decrypt((&wrapped.nonce).into(), Payload { msg: &wrapped.ciphertext, aad: &aad })
                .map_err(|_| KeyError::UnwrapRefused)?,
        );
        let bytes = KeyBytes::from_slice(&plain).ok_or(KeyError::Malformed)?;
        Ok(TenantKey::from_bytes(wrapped.purpose, wrapped.version, bytes))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish_non_exhaustive()
    }
}

/// A tenant key that seals and opens values. Only a [`KeyPurpose::Data`] key becomes one, so
/// a blind-index key cannot seal by mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataKey(TenantKey);

impl DataKey {
    pub fn generate(version: KeyVersion) -> Self {
        Self(TenantKey::generate(KeyPurpose::Data, version))
    }
    pub fn from_tenant_key(key: TenantKey) -> Option<Self> {
        (key.purpose == KeyPurpose::Data).then_some(Self(key))
    }
    pub fn version(&self) -> KeyVersion {
        self.0.version
    }
    /// The key to hand to [`KeyProvider::wrap`].
    pub fn as_tenant_key(&self) -> &TenantKey {
        &self.0
    }
    pub(crate) fn cipher(&self) -> &Aes256Gcm {
        &self.0.cipher
    }
    /// The same key bytes under another version label: lets tests show that the version is
    /// bound into every seal, not only written in the header.
    #[cfg(test)]
    pub(crate) fn relabelled(&self, version: KeyVersion) -> Self {
        Self(TenantKey::from_bytes(KeyPurpose::Data, version, self.0.bytes.clone()))
    }
}

/// A tenant key that computes blind indexes. It has its own version, separate from the data
/// key's: rotating the data key leaves every index valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlindKey(TenantKey);

impl BlindKey {
    pub fn generate(version: KeyVersion) -> Self {
        Self(TenantKey::generate(KeyPurpose::BlindIndex, version))
    }
    pub fn from_tenant_key(key: TenantKey) -> Option<Self> {
        (key.purpose == KeyPurpose::BlindIndex).then_some(Self(key))
    }
    pub fn version(&self) -> KeyVersion {
        self.0.version
    }
    pub fn as_tenant_key(&self) -> &TenantKey {
        &self.0
    }
    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        self.0.bytes.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dat_2_tenant_keys_wrap_and_unwrap_under_the_master_key() {
        let master = MasterKey::generate();
        let key = DataKey::generate(KeyVersion::FIRST);
        let wrapped = master.wrap(b"tenant-a", key.as_tenant_key()).unwrap();
        assert_eq!(wrapped.master_key_id(), master.master_key_id());
        assert_eq!(wrapped.version(), KeyVersion::FIRST);
        let stored = wrapped.to_bytes();
        assert!(!stored.windows(KEY_LEN).any(|w| w == key.as_tenant_key().bytes.expose()));
        let back = WrappedKey::from_bytes(&stored).unwrap();
        assert_eq!(back, wrapped);
        let unwrapped = DataKey::from_tenant_key(master.unwrap(b"tenant-a", &back).unwrap()).unwrap();
        assert_eq!(unwrapped, key);
        let blind = BlindKey::generate(KeyVersion::FIRST);
        let wrapped_blind = master.wrap(b"tenant-a", blind.as_tenant_key()).unwrap();
        let blind_back = master.unwrap(b"tenant-a", &wrapped_blind).unwrap();
        assert!(DataKey::from_tenant_key(blind_back.clone()).is_none());
        assert_eq!(BlindKey::from_tenant_key(blind_back).unwrap(), blind);
    }

    #[test]
    fn ten_2_wrapped_key_does_not_unwrap_for_another_tenant_purpose_version_or_master() {
        let master = MasterKey::generate();
        let key = DataKey::generate(KeyVersion::FIRST);
        let wrapped = master.wrap(b"tenant-a", key.as_tenant_key()).unwrap();
        assert!(matches!(master.unwrap(b"tenant-b", &wrapped), Err(KeyError::UnwrapRefused)));
        let other_master = MasterKey::generate();
        assert!(matches!(other_master.unwrap(b"tenant-a", &wrapped), Err(KeyError::UnknownMasterKey(_))));
        // Relabelled purpose or version in the stored form: the AEAD refuses.
        let mut bytes = wrapped.to_bytes();
        bytes[1] = KeyPurpose::BlindIndex.byte();
        let relabelled = WrappedKey::from_bytes(&bytes).unwrap();
        assert!(matches!(master.unwrap(b"tenant-a", &relabelled), Err(KeyError::UnwrapRefused)));
        let mut bytes = wrapped.to_bytes();
        bytes[5] = 9;
        let relabelled = WrappedKey::from_bytes(&bytes).unwrap();
        assert!(matches!(master.unwrap(b"tenant-a", &relabelled), Err(KeyError::UnwrapRefused)));
        // Any flipped byte of the stored form is refused or rejected as malformed.
        let stored = wrapped.to_bytes();
        for i in 0..stored.len() {
            let mut bad = stored.clone();
            bad[i] ^= 0x01;
            let result = WrappedKey::from_bytes(&bad).and_then(|w| master.unwrap(b"tenant-a", &w));
            assert!(result.is_err(), "byte {i}");
        }
        assert!(matches!(WrappedKey::from_bytes(&stored[..stored.len() - 1]), Err(KeyError::Malformed)));
    }

    #[test]
    fn dat_2_keys_never_show_in_debug_and_compare_by_value() {
        let key = DataKey::generate(KeyVersion::FIRST);
        let raw = format!("{:?}", key.as_tenant_key().bytes.expose());
        let hex: String = key.as_tenant_key().bytes.expose().iter().map(|b| format!("{b:02x}")).collect();
        let debug = format!("{key:?} {:?} {:?}", key.as_tenant_key(), MasterKey::generate());
        assert!(!debug.contains(&raw) && !debug.contains(&hex), "{debug}");
        assert!(debug.contains("version"));
        assert_eq!(key, key.clone());
        assert_ne!(key, DataKey::generate(KeyVersion::FIRST));
        assert_eq!(format!("{:?}", KeyBytes::random()), "<redacted>");
    }

    #[test]
    fn dat_2_key_versions_start_at_one() {
        assert!(KeyVersion::new(0).is_none());
        assert_eq!(KeyVersion::FIRST.next().unwrap().get(), 2);
        assert!(KeyVersion(u32::MAX).next().is_none());
        assert_eq!(MasterKeyId::parse("0123456789abcdef").unwrap().as_str(), "0123456789abcdef");
        assert!(MasterKeyId::parse("0123456789ABCDEF").is_none());
        assert!(MasterKeyId::parse("0123").is_none());
    }
}
