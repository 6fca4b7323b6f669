//! The master key and the keys it replaced, during a master-key rotation: the new key wraps,
//! and a tenant key still wrapped by an older one unwraps with that one, so a node serves every
//! tenant while `kura keys rotate-master` re-wraps the keystore.

use super::KeyError;
use super::keys::{KeyProvider, MasterKey, MasterKeyId, TenantKey, WrappedKey};
use std::fmt;
use std::sync::Arc;

/// The current master key and the previous ones (unwrap only).
pub struct MasterKeyRing {
    current: Arc<MasterKey>,
    previous: Vec<Arc<MasterKey>>,
}

impl MasterKeyRing {
    /// `current` wraps; each of `previous` only unwraps what it wrapped. A previous key equal to
    /// the current one is left out.
    pub fn new(current: Arc<MasterKey>, previous: impl IntoIterator<Item = Arc<MasterKey>>) -> Self {
        let previous =
            previous.into_iter().filter(|p| p.master_key_id() != current.master_key_id()).collect::<Vec<_>>();
        Self { current, previous }
    }

    /// The ids of the previous keys.
    pub fn previous_ids(&self) -> impl Iterator<Item = &MasterKeyId> + '_ {
        self.previous.iter().map(|p| p.master_key_id())
    }
}

impl KeyProvider for MasterKeyRing {
    fn master_key_id(&self) -> &MasterKeyId {
        self.current.master_key_id()
    }

    fn wrap(&self, tenant: &[u8], key: &TenantKey) -> Result<WrappedKey, KeyError> {
        self.current.wrap(tenant, key)
    }

    fn unwrap(&self, tenant: &[u8], wrapped: &WrappedKey) -> Result<TenantKey, KeyError> {
        match self.previous.iter().find(|p| p.master_key_id() == wrapped.master_key_id()) {
            Some(previous) => previous.unwrap(tenant, wrapped),
            None => self.current.unwrap(tenant, wrapped),
        }
    }
}

impl fmt::Debug for MasterKeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let previous: Vec<&str> = self.previous_ids().map(MasterKeyId::as_str).collect();
        f.debug_struct("MasterKeyRing")
            .field("current", self.current.master_key_id())
            .field("previous", &previous)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::{DataKey, KeyVersion, rewrap};

    #[test]
    fn dat_2_a_ring_wraps_with_the_new_master_key_and_unwraps_with_either() {
        let old = Arc::new(MasterKey::generate());
        let new = Arc::new(MasterKey::generate());
        let key = DataKey::generate(KeyVersion::FIRST);
        let under_old = old.wrap(b"t", key.as_tenant_key()).unwrap();
        let ring = MasterKeyRing::new(Arc::clone(&new), [Arc::clone(&old), Arc::clone(&new)]);
        assert_eq!(ring.previous_ids().count(), 1, "the current key is not its own previous key");
        assert_eq!(ring.unwrap(b"t", &under_old).unwrap(), *key.as_tenant_key());
        let under_new = rewrap(&ring, &ring, b"t", &under_old).unwrap();
        assert_eq!(under_new.master_key_id(), new.master_key_id());
        assert_eq!(new.unwrap(b"t", &under_new).unwrap(), *key.as_tenant_key());
        // Still bound to the tenant, and a key wrapped by an unknown master key is refused.
        assert!(ring.unwrap(b"u", &under_old).is_err());
        let stranger = MasterKey::generate().wrap(b"t", key.as_tenant_key()).unwrap();
        assert!(matches!(ring.unwrap(b"t", &stranger), Err(KeyError::UnknownMasterKey(_))));
        let debug = format!("{ring:?}");
        assert!(debug.contains(old.master_key_id().as_str()) && debug.contains(new.master_key_id().as_str()));
    }
}
