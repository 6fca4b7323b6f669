//! One tenant's keys together: the data key ring and the blind-index key, to and from the
//! wrapped form the keystore holds, and re-wrapping under a new master key (master key rotation).

use super::blind::{BlindIndex, blind_index};
use super::keys::{BlindKey, DataKey, KeyProvider, KeyPurpose, KeyVersion, WrappedKey};
use super::seal::{KeyRing, SealContext};
use super::{KeyError, SealError};

/// A tenant's unwrapped keys, held in memory while the tenant is in use.
#[derive(Debug, Clone)]
pub struct TenantKeys {
    data: KeyRing,
    blind: BlindKey,
}

impl TenantKeys {
    /// New random keys for a new tenant: data key and blind-index key, both version 1.
    pub fn generate() -> Self {
        let data = KeyRing::new([DataKey::generate(KeyVersion::FIRST)]);
        #[allow(clippy::expect_used, reason = "a ring built from one key is never empty")]
        let data = data.expect("one key");
        Self { data, blind: BlindKey::generate(KeyVersion::FIRST) }
    }

    pub fn data(&self) -> &KeyRing {
        &self.data
    }
    /// For rotation: [`KeyRing::rotate`] and [`KeyRing::retire`].
    pub fn data_mut(&mut self) -> &mut KeyRing {
        &mut self.data
    }
    pub fn blind(&self) -> &BlindKey {
        &self.blind
    }

    pub fn seal(&self, ctx: &SealContext<'_>, plaintext: &[u8]) -> Vec<u8> {
        self.data.seal(ctx, plaintext)
    }
    pub fn open(&self, ctx: &SealContext<'_>, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        self.data.open(ctx, sealed)
    }
    pub fn blind_index(&self, field: &str, value: &str) -> BlindIndex {
        blind_index(&self.blind, field, value)
    }

    /// Every key wrapped for the keystore under `provider`, bound to `tenant`.
    pub fn wrap(&self, provider: &dyn KeyProvider, tenant: &[u8]) -> Result<Vec<WrappedKey>, KeyError> {
        let mut out = Vec::new();
        for key in self.data.keys() {
            out.push(provider.wrap(tenant, key.as_tenant_key())?);
        }
        out.push(provider.wrap(tenant, self.blind.as_tenant_key())?);
        Ok(out)
    }

    /// The keys read back from the keystore. Every wrapped key must unwrap: one that does not is
    /// an error, never skipped. The highest blind-index version is the one in use.
    pub fn unwrap(provider: &dyn KeyProvider, tenant: &[u8], wrapped: &[WrappedKey]) -> Result<Self, KeyError> {
        let mut data = Vec::new();
        let mut blind: Option<BlindKey> = None;
        for w in wrapped {
            let key = provider.unwrap(tenant, w)?;
            match key.purpose() {
                KeyPurpose::Data => data.extend(DataKey::from_tenant_key(key)),
                KeyPurpose::BlindIndex => {
                    let key = BlindKey::from_tenant_key(key).ok_or(KeyError::Malformed)?;
                    if blind.as_ref().is_none_or(|b| b.version() < key.version()) {
                        blind = Some(key);
                    }
                }
                // A backup key is never a tenant's.
                KeyPurpose::Backup | KeyPurpose::ClientCa => return Err(KeyError::Malformed),
            }
        }
        let data = KeyRing::new(data).ok_or(KeyError::Incomplete)?;
        let blind = blind.ok_or(KeyError::Incomplete)?;
        Ok(Self { data, blind })
    }
}

/// Re-wraps one tenant key from the master key `from` to the master key `to`, for rotating the
/// master key: the tenant key itself, and so every sealed value, stays as it is.
pub fn rewrap(
    from: &dyn KeyProvider,
    to: &dyn KeyProvider,
    tenant: &[u8],
    wrapped: &WrappedKey,
) -> Result<WrappedKey, KeyError> {
    let key = from.unwrap(tenant, wrapped)?;
    to.wrap(tenant, &key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::MasterKey;

    fn ctx<'a>() -> SealContext<'a> {
        SealContext { tenant: b"tenant-a", table: "users", row: b"user-1", field: "email" }
    }

    #[test]
    fn dat_2_tenant_keys_survive_the_keystore_round_trip() {
        let master = MasterKey::generate();
        let mut keys = TenantKeys::generate();
        let old = keys.seal(&ctx(), b"taro@example.com");
        keys.data_mut().rotate().unwrap();
        let new = keys.seal(&ctx(), b"hanako@example.com");
        let index = keys.blind_index("users.email", "Taro@Example.com");

        let stored: Vec<Vec<u8>> = keys.wrap(&master, b"tenant-a").unwrap().iter().map(WrappedKey::to_bytes).collect();
        assert_eq!(stored.len(), 3);
        let read: Vec<WrappedKey> = stored.iter().map(|b| WrappedKey::from_bytes(b).unwrap()).collect();
        let back = TenantKeys::unwrap(&master, b"tenant-a", &read).unwrap();
        assert_eq!(back.open(&ctx(), &old).unwrap(), b"taro@example.com");
        assert_eq!(back.open(&ctx(), &new).unwrap(), b"hanako@example.com");
        assert_eq!(back.data().current().version().get(), 2);
        assert_eq!(back.blind_index("users.email", "taro@example.com"), index);
    }

    #[test]
    fn ten_2_tenant_keys_do_not_load_for_another_tenant_or_incomplete() {
        let master = MasterKey::generate();
        let keys = TenantKeys::generate();
        let wrapped = keys.wrap(&master, b"tenant-a").unwrap();
        assert!(matches!(TenantKeys::unwrap(&master, b"tenant-b", &wrapped), Err(KeyError::UnwrapRefused)));
        assert!(matches!(TenantKeys::unwrap(&master, b"tenant-a", &wrapped[..1]), Err(KeyError::Incomplete)));
        assert!(matches!(TenantKeys::unwrap(&master, b"tenant-a", &wrapped[1..]), Err(KeyError::Incomplete)));
        // Another tenant's keys, even loaded correctly, do not open tenant A's values.
        let other = TenantKeys::generate();
        let sealed = keys.seal(&ctx(), b"secret");
        assert_eq!(other.open(&ctx(), &sealed), Err(SealError::Refused));
        assert_ne!(other.blind_index("users.email", "a@example.com"), keys.blind_index("users.email", "a@example.com"));
    }

    #[test]
    fn dat_2_destroyed_keys_leave_values_unreadable() {
        // Crypto-shredding: once the keystore's wrapped keys are gone, a fresh set of keys for
        // the same tenant opens none of its old values.
        let keys = TenantKeys::generate();
        let sealed = keys.seal(&ctx(), b"secret");
        drop(keys);
        let replacement = TenantKeys::generate();
        assert_eq!(replacement.open(&ctx(), &sealed), Err(SealError::Refused));
    }

    #[test]
    fn dat_2_master_key_rotation_rewraps_tenant_keys_without_touching_values() {
        let old_master = MasterKey::generate();
        let new_master = MasterKey::generate();
        let keys = TenantKeys::generate();
        let sealed = keys.seal(&ctx(), b"secret");
        let wrapped = keys.wrap(&old_master, b"tenant-a").unwrap();
        let rewrapped: Vec<WrappedKey> =
            wrapped.iter().map(|w| rewrap(&old_master, &new_master, b"tenant-a", w).unwrap()).collect();
        assert!(rewrapped.iter().all(|w| w.master_key_id() == new_master.master_key_id()));
        assert!(matches!(TenantKeys::unwrap(&old_master, b"tenant-a", &rewrapped), Err(KeyError::UnknownMasterKey(_))));
        let back = TenantKeys::unwrap(&new_master, b"tenant-a", &rewrapped).unwrap();
        assert_eq!(back.open(&ctx(), &sealed).unwrap(), b"secret");
        // Re-wrapping for another tenant is refused: the old wrapping is bound to tenant A.
        assert!(rewrap(&old_master, &new_master, b"tenant-b", &wrapped[0]).is_err());
    }
}
