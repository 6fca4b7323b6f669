//! An upload kept between the console's preview and its import (DAT-6), so that the file
//! crosses the network once and the page does not carry it.
//!
//! The preview keeps the spooled file in `<export dir>/imports/` (0600 in a 0700 directory)
//! under a name made of its expiry (by the injected clock, [`KEEP_MINUTES`] after the preview)
//! and the SHA-256 of a random 256-bit token together with the tenant and the user: the token
//! travels in the preview page's form, and only the same person in the same tenant can name the
//! file with it. The import takes the file and deletes it; a new preview of it renews its
//! expiry; the export worker's passes and every new upload delete expired files. With several
//! nodes, the export directory must be shared (or the console routed to one node), as for
//! exports; otherwise the import says the file is gone and asks for it again.

use super::upload::{Spool, Upload};
use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use std::path::{Path, PathBuf};

/// How long a previewed file waits for its import.
pub const KEEP_MINUTES: i64 = 60;

/// The directory of kept uploads, created owner-only if missing.
fn dir(state: &AppState) -> AppResult<PathBuf> {
    let dir = state.settings.export_dir().join("imports");
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir).map_err(|e| AppError::Internal(Box::new(e)))?;
    }
    Ok(dir)
}

/// A spool for a console upload: a named temporary file in the kept uploads' directory (so that
/// keeping it is a rename), deleted when dropped unless kept.
pub fn spool(state: &AppState) -> AppResult<Spool> {
    sweep(state);
    Spool::new_in(&dir(state)?, state.settings.limits.import_max_bytes)
}

/// The token a file is kept under: 256 random bits, URL-safe base64.
pub fn new_token() -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, kura_crypto::random_bytes::<32>())
}

/// The part of a kept file's name that the token, the tenant and the user give.
fn digest(p: &TenantPrincipal, token: &str) -> AppResult<String> {
    let user = p.user_id().map(|u| u.to_string()).unwrap_or_default();
    let valid = token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(gone());
    }
    Ok(kura_crypto::hex(&kura_crypto::sha256(format!("kura-import:{}:{user}:{token}", p.tenant().id).as_bytes())))
}

fn gone() -> AppError {
    AppError::BadRequest("the file of this preview is no longer kept; choose it again".into())
}

/// Keeps `upload` (spooled by [`spool`]) for the import under `token`, replacing what was kept
/// under it, until [`KEEP_MINUTES`] from now.
pub fn keep(state: &AppState, p: &TenantPrincipal, token: &str, upload: Upload) -> AppResult<()> {
    let digest = digest(p, token)?;
    let dir = dir(state)?;
    discard_digest(&dir, &digest);
    let expires = state.clock.now().as_second() + KEEP_MINUTES * 60;
    upload.persist(&dir.join(format!("{expires}-{digest}")))
}

/// The upload kept under `token` for this person, renewed for another [`KEEP_MINUTES`].
pub fn open(state: &AppState, p: &TenantPrincipal, token: &str) -> AppResult<Upload> {
    sweep(state);
    let digest = digest(p, token)?;
    let dir = dir(state)?;
    let path = find(&dir, &digest).ok_or_else(gone)?;
    let expires = state.clock.now().as_second() + KEEP_MINUTES * 60;
    let renewed = dir.join(format!("{expires}-{digest}"));
    std::fs::rename(&path, &renewed).map_err(|_| gone())?;
    Upload::open(&renewed, state.settings.limits.import_max_bytes)
}

/// Deletes the upload kept under `token` (after its import).
pub fn discard(state: &AppState, p: &TenantPrincipal, token: &str) {
    if let (Ok(digest), Ok(dir)) = (digest(p, token), dir(state)) {
        discard_digest(&dir, &digest);
    }
}

fn discard_digest(dir: &Path, digest: &str) {
    while let Some(path) = find(dir, digest) {
        if std::fs::remove_file(&path).is_err() {
            break;
        }
    }
}

fn find(dir: &Path, digest: &str) -> Option<PathBuf> {
    std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).find(|path| {
        path.file_name().and_then(|n| n.to_str()).and_then(|n| n.split_once('-')).is_some_and(|(_, d)| d == digest)
    })
}

/// Deletes the kept uploads whose time is up, and spools that an interrupted request left.
pub fn sweep(state: &AppState) {
    let dir = state.settings.export_dir().join("imports");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    let now = state.clock.now().as_second();
    for path in entries.flatten().map(|e| e.path()) {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        let expired = match name.split_once('-').map(|(e, _)| e.parse::<i64>()) {
            Some(Ok(expires)) => expires <= now,
            // A spool in progress is named by `tempfile` (`.tmp…`): left alone while young.
            _ => path
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age.as_secs() > KEEP_MINUTES as u64 * 60)),
        };
        if expired && std::fs::remove_file(&path).is_ok() {
            tracing::info!(file = name, "a kept import file whose time was up was deleted");
        }
    }
}
