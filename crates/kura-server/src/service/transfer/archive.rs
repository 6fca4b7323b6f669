//! The whole tenant in one ZIP file (DAT-5), for the administrator who takes everything out, for
//! example before the contract ends: the collections' definitions, every collection's records
//! (CSV in UTF-8 with a byte order mark, for Excel, and JSON Lines), the users and roles without
//! any secret, and the operation log. A `manifest.json` lists every file with its size, rows
//! and SHA-256, and `SHA256SUMS` holds the same digests in the form `sha256sum -c` checks.
//!
//! The archive is written to an anonymous temporary file (deleted when closed), one chunk of
//! records or one page of log entries at a time, so memory does not grow with the tenant; only
//! the definitions, users and roles are held whole. Each collection's two files come from one
//! snapshot of it; the log is read from the newest entry at the start, newest first, as the
//! console lists it. Personal information is masked for a principal without `pii.read`, as in
//! every export. The archive is audited once (`tenant.export`), with its counts, when it is
//! complete and before it is handed over.

use super::export::{self, ExportParams, Exporter};
use super::format::{Format, HeaderNames};
use crate::api::views::{RoleView, UserView};
use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::service::{audit, collections, roles, users};
use crate::state::AppState;
use kura_crypto::hex;
use kura_domain::{AuditRecord, AuditScope, Operation, Permission};
use kura_store::AuditFilter;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::io::{Seek as _, SeekFrom, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use zip::write::SimpleFileOptions;

/// The archive's format, named in its manifest.
pub const FORMAT: &str = "kura-tenant-export/1";

/// Log entries read per page.
const LOG_PAGE: u32 = 1000;

/// What an administrator needs to take the whole tenant out: everything the archive holds.
pub const NEEDS: [Permission; 4] =
    [Permission::RecordsExport, Permission::UsersManage, Permission::RolesManage, Permission::AuditRead];

/// A finished archive: the open file, rewound, and what it holds.
#[derive(Debug)]
pub struct Archive {
    pub file: std::fs::File,
    pub bytes: u64,
    pub file_name: String,
    pub manifest: Manifest,
}

/// `manifest.json`: what the archive holds and the digest of every other file in it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Manifest {
    /// Always `kura-tenant-export/1`.
    pub format: String,
    pub tenant: String,
    pub tenant_name: String,
    /// When the export started, in UTC (RFC 3339).
    pub exported_at: String,
    /// The same instant in the tenant's time zone.
    pub exported_at_local: String,
    pub time_zone: String,
    /// Who exported it (email, key name or the command line).
    pub exported_by: String,
    /// Whether personal-information fields are masked (the exporter lacked `pii.read`).
    pub pii_masked: bool,
    pub files: Vec<ManifestFile>,
}

/// One file of the archive.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ManifestFile {
    pub path: String,
    pub bytes: u64,
    /// Records, users, roles, collections or log entries in the file.
    pub rows: u64,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

/// Builds the archive of `p`'s tenant into an anonymous temporary file (deleted when closed).
/// `p` needs every permission of [`NEEDS`].
pub async fn build(state: &AppState, p: &TenantPrincipal) -> AppResult<Archive> {
    let file = tempfile::tempfile().map_err(|e| AppError::Internal(Box::new(e)))?;
    build_into(state, p, file, &Progress::default()).await
}

/// How far a build got, in records: read by the export worker, which records it in the job
/// (`jobs/worker.rs`) while the build goes on.
#[derive(Debug)]
pub struct Progress {
    done: AtomicU64,
    /// `u64::MAX` until the build knows how many records it will write.
    total: AtomicU64,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    pub fn new() -> Self {
        Self { done: AtomicU64::new(0), total: AtomicU64::new(u64::MAX) }
    }
    pub(crate) fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }
    pub(crate) fn set_done(&self, done: u64) {
        self.done.store(done, Ordering::Relaxed);
    }
    /// Records written so far, and how many there are once known.
    pub fn get(&self) -> (u64, Option<u64>) {
        let total = self.total.load(Ordering::Relaxed);
        (self.done.load(Ordering::Relaxed), (total != u64::MAX).then_some(total))
    }
}

/// Builds the archive of `p`'s tenant into `file` (which must be empty), recording in
/// `progress` the records written: a collection's records count once both its files are
/// written. `p` needs every permission of [`NEEDS`].
pub async fn build_into(
    state: &AppState,
    p: &TenantPrincipal,
    file: std::fs::File,
    progress: &Progress,
) -> AppResult<Archive> {
    for needed in NEEDS {
        p.require(needed)?;
    }
    let tenant = p.tenant().clone();
    let started = state.clock.now();
    let definitions = collections::list(state, p).await?;
    let user_list: Vec<UserView> = users::list(state, p).await?.into_iter().map(UserView::from).collect();
    let role_list: Vec<RoleView> = roles::list(state, p).await?.into_iter().map(RoleView::from).collect();
    let params = ExportParams { format: Some(Format::Csv), header: Some(HeaderNames::Label) };
    let mut exporters = Vec::with_capacity(definitions.len());
    for c in &definitions {
        exporters.push(export::open(state, p, c.name.as_str(), &params).await?);
    }
    let pii_masked = exporters.iter().any(Exporter::masks_pii);
    progress.set_total(exporters.iter().map(|e| e.rows() as u64).sum());

    let io = |e: std::io::Error| AppError::Internal(Box::new(e));
    let mut zip = Zip::new(file);
    zip.json_file("collections.json", &definitions, definitions.len() as u64).map_err(io)?;
    zip.json_file("roles.json", &role_list, role_list.len() as u64).map_err(io)?;
    zip.json_lines("users.jsonl", &user_list).map_err(io)?;
    let mut written = 0u64;
    for mut csv in exporters {
        let mut jsonl = csv.reformatted(Format::Jsonl);
        let name = csv.collection_name().to_owned();
        let rows = csv.rows() as u64;
        zip.chunks(&format!("records/{name}.csv"), rows, || csv.next_chunk()).map_err(io)?;
        zip.start(&format!("records/{name}.jsonl")).map_err(io)?;
        while let Some(chunk) = jsonl.next_chunk() {
            zip.write(&chunk).map_err(io)?;
            progress.set_done(written + jsonl.written() as u64);
            // Let other tasks (requests, the worker's progress) run between chunks.
            tokio::task::yield_now().await;
        }
        zip.finish_file(rows);
        written += rows;
        progress.set_done(written);
    }
    let zone = tenant.time_zone.clone();
    zip.start("audit-log.jsonl").map_err(io)?;
    let mut before_seq = None;
    let mut entries = 0u64;
    loop {
        let filter = AuditFilter { before_seq, limit: LOG_PAGE, ..AuditFilter::default() };
        let page = audit::list(state, p, &filter).await?;
        for e in &page {
            let mut line = serde_json::to_vec(&audit::view(e, &zone)).map_err(|e| io(e.into()))?;
            line.push(b'\n');
            zip.write(&line).map_err(io)?;
        }
        entries += page.len() as u64;
        match page.last() {
            Some(last) if page.len() == LOG_PAGE as usize => before_seq = Some(last.seq),
            _ => break,
        }
    }
    zip.finish_file(entries);

    let manifest = Manifest {
        format: FORMAT.to_owned(),
        tenant: tenant.slug.to_string(),
        tenant_name: tenant.display_name.to_string(),
        exported_at: started.to_string(),
        exported_at_local: kura_domain::format_in_zone(started, &zone),
        time_zone: zone.to_string(),
        exported_by: p.actor().label.clone(),
        pii_masked,
        files: zip.files.clone(),
    };
    let (mut file, bytes) = zip.seal(&manifest).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;

    let records: u64 = manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with("records/") && f.path.ends_with(".csv"))
        .map(|f| f.rows)
        .sum();
    let detail = format!(
        "format=zip collections={} records={records} users={} roles={} log_entries={entries} pii={} bytes={bytes}",
        definitions.len(),
        user_list.len(),
        role_list.len(),
        if pii_masked { "masked" } else { "shown" },
    );
    let entry = AuditRecord::success(Operation::TenantExport, format!("tenant:{}", tenant.slug)).with_detail(detail);
    state.store.audit_only(AuditScope::Tenant(tenant.id), p.actor().clone(), entry).await?;
    super::flag::check(state, p).await?;
    let stamp = started.to_zoned(zone.zone()).strftime("%Y%m%d-%H%M%S").to_string();
    Ok(Archive { file, bytes, file_name: format!("kura-{}-{stamp}.zip", tenant.slug), manifest })
}

/// The ZIP being written, hashing each file as it goes.
struct Zip {
    writer: zip::ZipWriter<std::fs::File>,
    files: Vec<ManifestFile>,
    current: Option<(String, Sha256, u64)>,
}

impl Zip {
    fn new(file: std::fs::File) -> Self {
        Self { writer: zip::ZipWriter::new(file), files: Vec::new(), current: None }
    }

    fn options() -> SimpleFileOptions {
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).large_file(true)
    }

    fn start(&mut self, path: &str) -> std::io::Result<()> {
        self.writer.start_file(path, Self::options()).map_err(std::io::Error::other)?;
        self.current = Some((path.to_owned(), Sha256::new(), 0));
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some((_, hasher, size)) = &mut self.current {
            hasher.update(bytes);
            *size += bytes.len() as u64;
        }
        self.writer.write_all(bytes)
    }

    fn finish_file(&mut self, rows: u64) {
        if let Some((path, hasher, bytes)) = self.current.take() {
            self.files.push(ManifestFile { path, bytes, rows, sha256: hex(&hasher.finalize()) });
        }
    }

    fn json_file<T: Serialize>(&mut self, path: &str, value: &T, rows: u64) -> std::io::Result<()> {
        self.start(path)?;
        let mut bytes = serde_json::to_vec_pretty(value)?;
        bytes.push(b'\n');
        self.write(&bytes)?;
        self.finish_file(rows);
        Ok(())
    }

    fn json_lines<T: Serialize>(&mut self, path: &str, values: &[T]) -> std::io::Result<()> {
        self.start(path)?;
        for v in values {
            let mut line = serde_json::to_vec(v)?;
            line.push(b'\n');
            self.write(&line)?;
        }
        self.finish_file(values.len() as u64);
        Ok(())
    }

    fn chunks(&mut self, path: &str, rows: u64, mut next: impl FnMut() -> Option<Vec<u8>>) -> std::io::Result<()> {
        self.start(path)?;
        while let Some(chunk) = next() {
            self.write(&chunk)?;
        }
        self.finish_file(rows);
        Ok(())
    }

    /// Writes `manifest.json` and `SHA256SUMS` (neither listed in the manifest) and closes the
    /// archive; returns the file and its size.
    fn seal(mut self, manifest: &Manifest) -> std::io::Result<(std::fs::File, u64)> {
        let mut sums = String::new();
        for f in &manifest.files {
            sums.push_str(&format!("{}  {}\n", f.sha256, f.path));
        }
        self.writer.start_file("SHA256SUMS", Self::options()).map_err(std::io::Error::other)?;
        self.writer.write_all(sums.as_bytes())?;
        self.writer.start_file("manifest.json", Self::options()).map_err(std::io::Error::other)?;
        let mut json = serde_json::to_vec_pretty(manifest)?;
        json.push(b'\n');
        self.writer.write_all(&json)?;
        let mut file = self.writer.finish().map_err(std::io::Error::other)?;
        let bytes = file.seek(SeekFrom::End(0))?;
        Ok((file, bytes))
    }
}
