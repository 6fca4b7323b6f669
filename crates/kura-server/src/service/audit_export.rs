//! Exporting a time range of the tenant's operation log as a file that verifies offline (LOG-1,
//! LOG-3): the entries, a checkpoint made now, the proofs that tie the entries to it, the public
//! key and a signed manifest (see `audit_export`). Every export is itself an entry of the log.

use crate::audit_export::{self, Disclosure, ExportFormat, Source};
use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::service::audit::parse_instant;
use crate::state::AppState;
use jiff::Timestamp;
use kura_domain::{AuditRecord, AuditScope, Operation, Permission, Tenant};
use serde::Deserialize;

/// At most this many entries go into one file; a longer range is refused with a clear message.
pub const MAX_ENTRIES: u64 = 100_000;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// Entries at or after this instant (RFC 3339 with an offset).
    #[param(format = DateTime, example = "2026-11-01T00:00:00+09:00")]
    pub from: Option<String>,
    /// Entries before this instant (RFC 3339 with an offset).
    #[param(format = DateTime, example = "2026-12-01T00:00:00+09:00")]
    pub to: Option<String>,
    /// `csv` (UTF-8 with a byte order mark, the default), `csv-utf8` (without) or `json`.
    #[param(example = "csv")]
    pub format: Option<String>,
}

/// A finished export file.
#[derive(Debug)]
pub struct ExportFile {
    pub bytes: Vec<u8>,
    pub file_name: String,
    pub content_type: &'static str,
}

/// The format named by `s` (blank means the default, CSV with a byte order mark).
pub fn parse_format(s: Option<&str>) -> AppResult<ExportFormat> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(ExportFormat::Csv),
        Some(s) => ExportFormat::parse(s)
            .ok_or_else(|| AppError::BadRequest(format!("format must be csv, csv-utf8 or json, not {s:?}"))),
    }
}

/// The API's parameters read: both ends required, in order.
pub fn range_of(params: &ExportParams) -> AppResult<(Timestamp, Timestamp, ExportFormat)> {
    let need = |name: &str, v: &Option<String>| -> AppResult<Timestamp> {
        match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => parse_instant(name, s),
            None => Err(AppError::BadRequest(format!("{name} is required (an RFC 3339 instant)"))),
        }
    };
    Ok((need("from", &params.from)?, need("to", &params.to)?, parse_format(params.format.as_deref())?))
}

/// An export built: its content, its bytes and how many entries it holds.
#[derive(Debug)]
pub struct Built {
    pub doc: audit_export::ExportDoc,
    pub bytes: Vec<u8>,
    pub entries: usize,
}

/// Builds the export of `[from, to)` of `tenant`'s log in `format` (a disclosure's package when
/// `disclosure` is set), checking nothing and recording nothing: for [`export`] and the
/// operator's disclosure, which do both.
pub async fn build_file(
    state: &AppState,
    tenant: &Tenant,
    from: Timestamp,
    to: Timestamp,
    format: ExportFormat,
    disclosure: Option<Disclosure>,
) -> AppResult<Built> {
    if from >= to {
        return Err(AppError::BadRequest("from must be before to".into()));
    }
    let scope = AuditScope::Tenant(tenant.id);
    let slice = match state.store.audit_export_slice(scope, from, to, MAX_ENTRIES).await? {
        Ok(slice) => slice,
        Err(n) => {
            return Err(AppError::BadRequest(format!(
                "the range holds {n} entries; one file holds at most {MAX_ENTRIES}: choose a shorter range"
            )));
        }
    };
    let checkpoint_error = |e: crate::checkpoints::CheckpointError| match e {
        crate::checkpoints::CheckpointError::Store(e) => AppError::from(e),
        other => AppError::internal(other),
    };
    // A checkpoint made now covers every exported entry (the log only grows).
    let made = state.checkpoints.checkpoint(&state.store, scope, &*state.clock).await.map_err(checkpoint_error)?;
    let last = slice.entries.last().map_or(0, |e| u64::try_from(e.entry.seq).unwrap_or(0));
    let consistency =
        if last == 0 { Vec::new() } else { state.store.audit_consistency_proof(scope, last, made.size).await? };
    let source = Source {
        origin: state.checkpoints.origin(scope),
        tenant: tenant.slug.to_string(),
        time_zone: &tenant.time_zone,
        from,
        to,
        exported_at: state.clock.now(),
        entries: &slice.entries,
        before: &slice.before,
        consistency,
        checkpoint: made.note,
        disclosure,
    };
    let signer = state.checkpoints.signer().map_err(checkpoint_error)?;
    let doc = audit_export::build(format, &source, &signer).map_err(|m| AppError::Internal(m.into()))?;
    let bytes = audit_export::write(&doc).map_err(|m| AppError::Internal(m.into()))?;
    Ok(Built { doc, bytes, entries: slice.entries.len() })
}

/// Builds the export of `[from, to)` in `format` for `p` (who needs `audit.read`) and records
/// it in the tenant's log.
pub async fn export(
    state: &AppState,
    p: &TenantPrincipal,
    from: Timestamp,
    to: Timestamp,
    format: ExportFormat,
) -> AppResult<ExportFile> {
    let g = p.require(Permission::AuditRead)?;
    let tenant = p.tenant();
    let Built { doc, bytes, entries } = build_file(state, tenant, from, to, format, None).await?;
    let range = match doc.entries {
        Some((first, last)) => format!("first={first} last={last}"),
        None => "first=- last=-".to_owned(),
    };
    let detail = format!("format={} entries={entries} {range} from={} to={}", format.as_str(), doc.from, doc.to);
    let record = AuditRecord::success(Operation::AuditExport, "audit-log").with_detail(detail);
    state.store.audit_only(AuditScope::Tenant(g.tenant_id()), p.actor().clone(), record).await?;
    let day = |ts: Timestamp| ts.to_zoned(tenant.time_zone.zone()).strftime("%Y%m%d").to_string();
    Ok(ExportFile {
        bytes,
        file_name: format!("operation-log-{}-{}-{}.{}", tenant.slug, day(from), day(to), format.extension()),
        content_type: format.content_type(),
    })
}
