//! Rotating the master key (DAT-2): every tenant key and backup key in the keystore, and the
//! client CA's sealed key, re-wrapped under a new master key while nodes keep serving. The
//! tenant keys themselves, and so every sealed value, stay as they are.
//!
//! Nodes run with the new key as `encryption.master_key_file` and the old one as
//! `encryption.previous_master_key_file` (a `MasterKeyRing`: the new key wraps, either
//! unwraps), then `kura keys rotate-master` re-wraps; or it is given the new key with
//! `--new-key-file` before the nodes switch. Either way a key is replaced only while it is as it
//! was read, so the command can be run again after a crash and does only what is left. Audited
//! in the platform's log (`key.master_rotate`).

use crate::application::{master_key, master_provider};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_crypto::vault::{KeyProvider, MasterKey, MasterKeyRing};
use kura_domain::{Actor, AuditRecord, AuditScope, Operation};
use std::path::Path;
use std::sync::Arc;

/// What a master-key rotation did.
#[derive(Clone, Debug)]
pub struct MasterRotated {
    /// The id of the master key everything is wrapped under now.
    pub master_key_id: String,
    pub tenant_keys: u64,
    pub backup_keys: u64,
    /// Keys that were under that master key already (an earlier run, or opened since).
    pub already: u64,
    /// Whether the client CA's sealed key was re-wrapped.
    pub ca_key: bool,
}

fn encryption(what: impl std::fmt::Display) -> AppError {
    AppError::BadRequest(format!("master-key rotation: {what}"))
}

/// Re-wraps the keystore and the CA key under the new master key: the one in `new_key_file`,
/// or else the configured master key (the previous one then being configured).
pub async fn rotate_master(state: &AppState, new_key_file: Option<&Path>, actor: Actor) -> AppResult<MasterRotated> {
    let settings = &state.settings;
    if state.store.vault().is_none() {
        return Err(encryption("encryption at rest is off: there is no master key"));
    }
    let configured = master_key(settings).map_err(encryption)?;
    let provider: Arc<dyn KeyProvider> = match new_key_file {
        Some(path) => {
            let new = Arc::new(MasterKey::from_file(path).map_err(encryption)?);
            let mut previous = vec![configured];
            if let Some(old) = &settings.encryption.previous_master_key_file {
                previous.push(Arc::new(MasterKey::from_file(old).map_err(encryption)?));
            }
            Arc::new(MasterKeyRing::new(new, previous))
        }
        None if settings.encryption.previous_master_key_file.is_some() => {
            master_provider(settings, configured).map_err(encryption)?
        }
        None => {
            return Err(encryption(
                "give the new key with --new-key-file, or configure it as encryption.master_key_file with the old \
                 one as encryption.previous_master_key_file",
            ));
        }
    };
    let vault = kura_store::Vault::open(&settings.keystore_url(), Arc::clone(&provider), false).await?;
    let result = vault.rewrap_under_current_master().await;
    vault.shut().await;
    let done = result?;
    let ca_dir = settings.tls.client_ca_dir.clone().unwrap_or_else(|| settings.data_dir.join("tls"));
    let ca_key = kura_crypto::x509::client::rewrap_sealed_key(&ca_dir, &*provider)
        .map_err(|e| encryption(format!("the client CA key: {e}")))?;
    let rotated = MasterRotated {
        master_key_id: provider.master_key_id().as_str().to_owned(),
        tenant_keys: done.tenant_keys,
        backup_keys: done.backup_keys,
        already: done.already,
        ca_key,
    };
    let detail = format!(
        "to={} tenant_keys={} backup_keys={} already={} ca_key={}",
        rotated.master_key_id, rotated.tenant_keys, rotated.backup_keys, rotated.already, rotated.ca_key
    );
    let record = AuditRecord::success(Operation::MasterKeyRotate, "master-key").with_detail(detail);
    state.store.audit_only(AuditScope::Platform, actor, record).await?;
    Ok(rotated)
}
