//! Signed checkpoints of the audit logs (LOG-3). Every `audit.checkpoint_seconds` (and on
//! demand) each log's tree head is written as a C2SP `tlog-checkpoint` inside a C2SP
//! `signed-note`, signed with Ed25519, and appended and fsynced to the log's file in the
//! checkpoint directory (the sink), which lives outside the database: whoever can rewrite the
//! database cannot rewrite what was already checkpointed, and `kura audit verify` checks the
//! database against the sink. The signing key is a file (mode 0600) created at first need.
//!
//! Sink layout: one file per log, `<scope id>.checkpoints` (the platform's log is the nil
//! UUID), holding signed notes one after another, each followed by a blank line.

use crate::settings::Settings;
use kura_crypto::merkle::{Checkpoint, NoteSigner, NoteVerifier, open_note, sign_note};
use kura_domain::{AuditScope, Clock};
use kura_store::{ChainBreak, ChainVerification, Store, TamperKind};
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint sink {path}: {source}")]
    Sink { path: PathBuf, source: std::io::Error },
    #[error("checkpoint signing key {path}: {source}")]
    KeyFile { path: PathBuf, source: std::io::Error },
    #[error("checkpoint signing key {path} is not a signed-note private key: {message}")]
    BadKey { path: PathBuf, message: String },
    #[error("checkpoint: {0}")]
    Format(String),
    #[error(transparent)]
    Store(#[from] kura_store::StoreError),
}

/// Makes, stores and reads checkpoints. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Checkpoints {
    dir: PathBuf,
    key_file: PathBuf,
    name: String,
    /// The signing key once loaded or created; also serialises appends within the process.
    signer: Arc<Mutex<Option<NoteSigner>>>,
}

/// A checkpoint as made: the log, its size and the signed note.
#[derive(Clone, Debug)]
pub struct Made {
    pub scope: AuditScope,
    pub size: u64,
    pub note: String,
}

impl Checkpoints {
    pub fn new(settings: &Settings) -> Self {
        Self {
            dir: settings.checkpoint_dir(),
            key_file: settings.signing_key_file(),
            name: settings.audit.log_name.clone(),
            signer: Arc::default(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    /// The origin line of `scope`'s log: `<log name>/audit/<tenant id>`, or `…/audit/platform`.
    pub fn origin(&self, scope: AuditScope) -> String {
        match scope {
            AuditScope::Platform => format!("{}/audit/platform", self.name),
            AuditScope::Tenant(t) => format!("{}/audit/{}", self.name, t.as_uuid()),
        }
    }

    fn file(&self, scope: AuditScope) -> PathBuf {
        self.dir.join(format!("{}.checkpoints", scope.storage_id()))
    }

    /// Deletes `scope`'s file from the sink, with the log it checkpointed (a tenant deleted at
    /// its contract's end, TEN-4). Returns whether there was one.
    pub(crate) fn remove(&self, scope: AuditScope) -> Result<bool, CheckpointError> {
        let path = self.file(scope);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(CheckpointError::Sink { path, source }),
        }
    }

    /// The signing key, loaded from its file or created there (0600) if there is none. Backup
    /// manifests (OPS-1) are signed with it too.
    pub(crate) fn signer(&self) -> Result<NoteSigner, CheckpointError> {
        let mut slot = self.signer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let signer = load_or_create_key(&self.key_file, &self.name)?;
        *slot = Some(signer.clone());
        Ok(signer)
    }

    /// The public key, in the signed-note verifier format tenants give their tools.
    pub fn public_key(&self) -> Result<String, CheckpointError> {
        Ok(self.signer()?.verifier().to_text())
    }

    /// The verifier of this node's key, if the key exists (verification never creates it).
    pub fn verifier(&self) -> Result<Option<NoteVerifier>, CheckpointError> {
        if !self.key_file.exists() {
            return Ok(None);
        }
        Ok(Some(self.signer()?.verifier()))
    }

    /// Checkpoints every log with a chain, whether or not it grew since the last.
    pub async fn checkpoint_all(&self, store: &Store, clock: &dyn Clock) -> Result<Vec<Made>, CheckpointError> {
        let heads = store.audit_tree_heads().await?;
        let mut out = Vec::with_capacity(heads.len());
        for (scope, head) in heads {
            out.push(self.write(scope, head, clock).await?);
        }
        Ok(out)
    }

    /// Checkpoints one log now.
    pub async fn checkpoint(
        &self,
        store: &Store,
        scope: AuditScope,
        clock: &dyn Clock,
    ) -> Result<Made, CheckpointError> {
        let head = store.audit_tree_head(scope).await?;
        self.write(scope, head, clock).await
    }

    async fn write(
        &self,
        scope: AuditScope,
        head: kura_store::TreeHead,
        clock: &dyn Clock,
    ) -> Result<Made, CheckpointError> {
        let signer = self.signer()?;
        let body = Checkpoint::new(&self.origin(scope), head.size, head.root)
            .and_then(|c| c.with_extension(&format!("time {}", clock.now())))
            .map_err(|e| CheckpointError::Format(e.to_string()))?
            .to_body();
        let note = sign_note(&body, &signer).map_err(|e| CheckpointError::Format(e.to_string()))?;
        let (dir, file, text) = (self.dir.clone(), self.file(scope), format!("{note}\n"));
        let lock = Arc::clone(&self.signer);
        tokio::task::spawn_blocking(move || {
            let _serial = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            append_durably(&dir, &file, text.as_bytes())
        })
        .await
        .map_err(|e| CheckpointError::Format(e.to_string()))??;
        Ok(Made { scope, size: head.size, note })
    }

    /// Every note in `scope`'s sink file, oldest first, unverified.
    pub fn notes(&self, scope: AuditScope) -> Result<Vec<String>, CheckpointError> {
        let path = self.file(scope);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(split_notes(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(source) => Err(CheckpointError::Sink { path, source }),
        }
    }

    /// The newest checkpoint of `scope`'s log in the sink, as its signed note.
    pub fn latest(&self, scope: AuditScope) -> Result<Option<String>, CheckpointError> {
        Ok(self.notes(scope)?.pop())
    }

    /// The scopes that have a file in the sink.
    fn sink_scopes(&self) -> Result<Vec<AuditScope>, CheckpointError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(CheckpointError::Sink { path: self.dir.clone(), source }),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".checkpoints")) else { continue };
            if let Ok(id) = id.parse::<uuid::Uuid>() {
                out.push(AuditScope::from_storage_id(id));
            }
        }
        Ok(out)
    }

    /// Verifies every log in the database against the checkpoints in the sink: each note must
    /// carry a valid signature by `verifier` and name its log; then the store checks each
    /// chain, its tree, and that the tree contains every checkpointed tree (LOG-3). A log with
    /// a forged or altered checkpoint is reported as such, before anything else about it.
    pub async fn verify_all(
        &self,
        store: &Store,
        verifier: Option<&NoteVerifier>,
    ) -> Result<Vec<ChainVerification>, CheckpointError> {
        let mut known: HashMap<AuditScope, Vec<Checkpoint>> = HashMap::new();
        let mut forged: HashMap<AuditScope, ChainBreak> = HashMap::new();
        for scope in self.sink_scopes()? {
            let notes = self.notes(scope)?;
            let list = known.entry(scope).or_default();
            for (n, note) in notes.iter().enumerate() {
                match open_checkpoint(note, verifier, &self.origin(scope)) {
                    Ok(c) => list.push(c),
                    Err(reason) => {
                        forged.entry(scope).or_insert(ChainBreak {
                            scope,
                            seq: 0,
                            kind: TamperKind::ForgedCheckpoint,
                            reason: format!("checkpoint {} of {} in the sink {reason}", n + 1, notes.len()),
                        });
                    }
                }
            }
        }
        let mut out = store.verify_all_against(&known).await?;
        for v in &mut out {
            if let Some(brk) = forged.remove(&v.scope) {
                v.result = Err(brk);
            }
        }
        Ok(out)
    }
}

/// Opens one note from the sink: signature, format and origin.
fn open_checkpoint(note: &str, verifier: Option<&NoteVerifier>, origin: &str) -> Result<Checkpoint, String> {
    let Some(verifier) = verifier else {
        return Err("cannot be checked: the signing key is missing".into());
    };
    let body = open_note(note, verifier).map_err(|e| format!("is forged or altered: {e}"))?;
    let c = Checkpoint::parse(body).map_err(|e| format!("is forged or altered: {e}"))?;
    if c.origin() != origin {
        return Err(format!("is of another log ({})", c.origin()));
    }
    Ok(c)
}

/// Splits a sink file into notes: each is text lines, a blank line, signature lines (starting
/// with an em dash), and a blank line after them.
fn split_notes(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut note = String::new();
    let mut in_signatures = false;
    for line in text.split_inclusive('\n') {
        if line == "\n" {
            if in_signatures {
                out.push(std::mem::take(&mut note));
                in_signatures = false;
                continue;
            }
            if !note.is_empty() {
                in_signatures = true;
            }
        }
        if !(line == "\n" && note.is_empty()) {
            note.push_str(line);
        }
    }
    if !note.trim().is_empty() {
        out.push(note);
    }
    out
}

/// Appends `bytes` to `file` and fsyncs it (and, when the file is new, its directory), so that
/// a checkpoint reported as made survives a crash.
fn append_durably(dir: &Path, file: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let sink = |source| CheckpointError::Sink { path: file.to_owned(), source };
    std::fs::create_dir_all(dir).map_err(|source| CheckpointError::Sink { path: dir.to_owned(), source })?;
    let created = !file.exists();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(file).map_err(sink)?;
    f.write_all(bytes).map_err(sink)?;
    f.sync_all().map_err(sink)?;
    if created {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| CheckpointError::Sink { path: dir.to_owned(), source })?;
    }
    Ok(())
}

/// Reads the signing key, or creates it (mode 0600, never overwriting) if there is none.
fn load_or_create_key(path: &Path, name: &str) -> Result<NoteSigner, CheckpointError> {
    let key_err = |source| CheckpointError::KeyFile { path: path.to_owned(), source };
    match std::fs::read_to_string(path) {
        Ok(text) => NoteSigner::parse(&text)
            .map_err(|e| CheckpointError::BadKey { path: path.to_owned(), message: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use std::os::unix::fs::OpenOptionsExt as _;
            let signer = NoteSigner::generate(name)
                .map_err(|e| CheckpointError::BadKey { path: path.to_owned(), message: e.to_string() })?;
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(key_err)?;
            }
            let mut f = match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
                Ok(f) => f,
                // Another process created it meanwhile: use that one.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return load_or_create_key(path, name),
                Err(e) => return Err(key_err(e)),
            };
            f.write_all(format!("{}\n", signer.to_private_text()).as_bytes()).map_err(key_err)?;
            f.sync_all().map_err(key_err)?;
            tracing::info!(path = %path.display(), key = %signer.verifier().to_text(), "checkpoint signing key created");
            Ok(signer)
        }
        Err(e) => Err(key_err(e)),
    }
}

/// Makes a checkpoint of every log every `every`, until the process ends. A failure is logged
/// and retried at the next tick.
pub async fn run_schedule(checkpoints: Checkpoints, store: Store, clock: Arc<dyn Clock>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match checkpoints.checkpoint_all(&store, &*clock).await {
            Ok(made) => tracing::debug!(logs = made.len(), "audit checkpoints made"),
            Err(e) => tracing::error!(error = %e, "audit checkpoints failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_notes;

    #[test]
    fn log_3_sink_files_split_into_their_notes() {
        let a = "o\n1\nAAAA\n\n\u{2014} k sig1\n";
        let b = "o\n2\nBBBB\ntime x\n\n\u{2014} k sig2\n\u{2014} w sig3\n";
        let text = format!("{a}\n{b}\n");
        assert_eq!(split_notes(&text), [a, b]);
        assert_eq!(split_notes(""), Vec::<String>::new());
    }
}
