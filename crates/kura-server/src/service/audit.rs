//! The tenant's operation log (LOG-1), filterable by time, actor and operation, shown in the
//! tenant's time zone (LOG-4).

use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use jiff::Timestamp;
use kura_domain::{AuditEntry, AuditScope, Operation, Outcome, Permission};
use kura_store::AuditFilter;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Entries at or after this instant (RFC 3339, e.g. `2026-11-01T00:00:00+09:00`).
    #[param(format = DateTime, example = "2026-11-01T00:00:00+09:00")]
    pub from: Option<String>,
    /// Entries before this instant (RFC 3339).
    #[param(format = DateTime, example = "2026-12-01T00:00:00+09:00")]
    pub to: Option<String>,
    /// Part of the actor's email address or API key name.
    #[param(example = "sato@")]
    pub actor: Option<String>,
    /// An operation such as `record.create`.
    #[param(inline, value_type = Option<OperationName>, example = "record.create")]
    pub operation: Option<String>,
    /// `success`, `failure` or `denied`.
    #[param(example = "denied")]
    pub outcome: Option<String>,
    /// The client's address, exactly as recorded.
    #[param(example = "203.0.113.7")]
    pub source_ip: Option<String>,
    /// The target, exactly (`record:customers/<id>` lists one record's history, `user:<email>`
    /// what was done to a user).
    #[param(example = "user:sato@acme.example.jp")]
    pub target: Option<String>,
    /// Entries with a sequence number below this (paging backwards).
    #[param(example = 200)]
    pub before: Option<i64>,
    /// At most this many entries (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000, example = 100)]
    pub limit: Option<u32>,
}

/// The name of an audited operation, for the API document: one of [`Operation::ALL`].
#[derive(Debug)]
pub struct OperationName;

impl utoipa::PartialSchema for OperationName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(Operation::ALL.iter().map(|o| o.as_str())))
            .into()
    }
}

impl utoipa::ToSchema for OperationName {}

/// An audit entry as clients see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"seq": 42, "at": "2026-11-22T01:30:00Z", "at_local": "2026-11-22 10:30:00 JST",
    "actor_kind": "user", "actor": "sato@acme.example.jp", "actor_role": "editor", "source_ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    "operation": "record.update", "target": "record:customers/0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a01",
    "outcome": "success", "detail": "changed=points",
    "hash": "9f2b6c1e0a4d8f7e3b5a6c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f"}))]
pub struct AuditEntryView {
    pub seq: i64,
    /// UTC instant.
    #[schema(format = DateTime)]
    pub at: String,
    /// The same instant in the tenant's time zone.
    pub at_local: String,
    pub actor_kind: String,
    pub actor: String,
    pub actor_role: Option<String>,
    pub source_ip: Option<String>,
    /// The client's user agent, for entries of requests (none for the command line, scheduled
    /// jobs, and entries written before it was recorded).
    pub user_agent: Option<String>,
    pub operation: String,
    pub target: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
    /// Hex SHA-256 of the entry, chained to the previous one.
    pub hash: String,
}

pub(crate) fn parse_instant(name: &str, s: &str) -> AppResult<Timestamp> {
    s.trim().parse::<Timestamp>().map_err(|_| {
        AppError::BadRequest(format!("{name} must be an RFC 3339 instant such as 2026-11-01T00:00:00+09:00"))
    })
}

pub fn to_filter(params: &AuditParams) -> AppResult<AuditFilter> {
    let operation = match params.operation.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Operation::parse(s).ok_or_else(|| AppError::BadRequest(format!("{s:?} is not an operation")))?),
    };
    let outcome =
        match params.outcome.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(Outcome::parse(s).ok_or_else(|| {
                AppError::BadRequest(format!("{s:?} is not an outcome: use success, failure or denied"))
            })?),
        };
    let source_ip = params.source_ip.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(ip) = source_ip
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        return Err(AppError::BadRequest(format!("{ip:?} is not an IP address")));
    }
    let target = params.target.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if target.is_some_and(|t| t.chars().count() > 500) {
        return Err(AppError::BadRequest("target must be at most 500 characters".into()));
    }
    let limit = params.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::BadRequest("limit must be between 1 and 1000".into()));
    }
    Ok(AuditFilter {
        from: params.from.as_deref().filter(|s| !s.is_empty()).map(|s| parse_instant("from", s)).transpose()?,
        to: params.to.as_deref().filter(|s| !s.is_empty()).map(|s| parse_instant("to", s)).transpose()?,
        actor: params.actor.clone().filter(|s| !s.trim().is_empty()),
        operation,
        outcome,
        source_ip: source_ip.map(str::to_owned),
        target: target.map(str::to_owned),
        before_seq: params.before,
        limit,
    })
}

pub async fn list(state: &AppState, p: &TenantPrincipal, filter: &AuditFilter) -> AppResult<Vec<AuditEntry>> {
    let g = p.require(Permission::AuditRead)?;
    Ok(state.store.audit_entries(AuditScope::Tenant(g.tenant_id()), filter).await?)
}

/// The most entries the viewer counts exactly: beyond it, it says "more than" (counting
/// millions would cost a read of millions of index entries on every page).
pub const COUNT_CAP: u64 = 10_000;

/// How many entries of the tenant's log match `filter` (its paging aside), up to
/// [`COUNT_CAP`] + 1: a number above the cap means "more than the cap".
pub async fn count(state: &AppState, p: &TenantPrincipal, filter: &AuditFilter) -> AppResult<u64> {
    let g = p.require(Permission::AuditRead)?;
    Ok(state.store.audit_count_up_to(AuditScope::Tenant(g.tenant_id()), filter, Some(COUNT_CAP + 1)).await?)
}

pub fn view(e: &AuditEntry, zone: &kura_domain::TimeZoneName) -> AuditEntryView {
    AuditEntryView {
        seq: e.seq,
        at: e.at.to_string(),
        at_local: kura_domain::format_in_zone(e.at, zone),
        actor_kind: e.actor.kind.as_str().into(),
        actor: e.actor.label.clone(),
        actor_role: e.actor.role.clone(),
        source_ip: e.actor.source_ip.clone(),
        user_agent: e.actor.user_agent.clone(),
        operation: e.operation.as_str().into(),
        target: e.target.clone(),
        outcome: e.outcome.as_str().into(),
        detail: e.detail.clone(),
        hash: e.hash.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// The security events of the tenant's log for each of the last days, in its time zone.
pub async fn security_events(
    state: &AppState,
    p: &TenantPrincipal,
) -> AppResult<Vec<crate::service::security_events::Day>> {
    let g = p.require(Permission::AuditRead)?;
    let zone = p.tenant().time_zone.zone();
    crate::service::security_events::per_day(state, AuditScope::Tenant(g.tenant_id()), &zone).await
}

/// The latest signed checkpoint of the tenant's log and the key that signed it (LOG-3).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"checkpoint": "kura/audit/0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a01\n42\nn3Kx…=\ntime 2026-11-22T01:30:00Z\n\n\u{2014} kura Ab3x…==\n",
    "public_key": "kura+1a2b3c4d+AXk…=", "size": 42}))]
pub struct CheckpointView {
    /// A C2SP tlog-checkpoint inside a C2SP signed-note, verbatim.
    pub checkpoint: String,
    /// The signed-note verifier key (Ed25519) that checks it.
    pub public_key: String,
    /// The number of entries the checkpoint covers.
    pub size: u64,
}

fn checkpoint_error(e: crate::checkpoints::CheckpointError) -> AppError {
    match e {
        crate::checkpoints::CheckpointError::Store(e) => e.into(),
        other => AppError::internal(other),
    }
}

/// Opens one of this node's own checkpoints (from its sink) for its size.
fn opened(state: &AppState, note: &str) -> AppResult<u64> {
    let verifier = state.checkpoints.verifier().map_err(checkpoint_error)?;
    let verifier = verifier.ok_or_else(|| AppError::Internal("the checkpoint signing key is missing".into()))?;
    let body = kura_crypto::merkle::open_note(note, &verifier).map_err(AppError::internal)?;
    let c = kura_crypto::merkle::Checkpoint::parse(body).map_err(AppError::internal)?;
    Ok(c.size())
}

/// The latest checkpoint of the tenant's log, made now if there is none yet.
pub async fn latest_checkpoint(state: &AppState, p: &TenantPrincipal) -> AppResult<CheckpointView> {
    let g = p.require(Permission::AuditRead)?;
    let scope = AuditScope::Tenant(g.tenant_id());
    let note = match state.checkpoints.latest(scope).map_err(checkpoint_error)? {
        Some(note) => note,
        None => state.checkpoints.checkpoint(&state.store, scope, &*state.clock).await.map_err(checkpoint_error)?.note,
    };
    let size = opened(state, &note)?;
    let public_key = state.checkpoints.public_key().map_err(checkpoint_error)?;
    Ok(CheckpointView { checkpoint: note, public_key, size })
}

/// Makes a checkpoint of the tenant's log now (on demand) and returns it.
pub async fn make_checkpoint(state: &AppState, p: &TenantPrincipal) -> AppResult<CheckpointView> {
    let g = p.require(Permission::AuditRead)?;
    let scope = AuditScope::Tenant(g.tenant_id());
    let made = state.checkpoints.checkpoint(&state.store, scope, &*state.clock).await.map_err(checkpoint_error)?;
    let public_key = state.checkpoints.public_key().map_err(checkpoint_error)?;
    Ok(CheckpointView { checkpoint: made.note, public_key, size: made.size })
}

/// The C2SP tlog-proof that entry `seq` is in the tenant's log, against the latest checkpoint
/// (a new one is made if the latest does not cover the entry yet).
pub async fn inclusion_proof(state: &AppState, p: &TenantPrincipal, seq: i64) -> AppResult<String> {
    let g = p.require(Permission::AuditRead)?;
    let scope = AuditScope::Tenant(g.tenant_id());
    if seq < 1 {
        return Err(AppError::BadRequest("seq must be 1 or more".into()));
    }
    let index = u64::try_from(seq - 1).unwrap_or(0);
    // An entry that does not exist gets no checkpoint made for it.
    if index >= state.store.audit_tree_head(scope).await?.size {
        return Err(AppError::NotFound("audit entry"));
    }
    let mut note = state.checkpoints.latest(scope).map_err(checkpoint_error)?;
    let mut size = match &note {
        Some(n) => opened(state, n)?,
        None => 0,
    };
    if size <= index {
        let made = state.checkpoints.checkpoint(&state.store, scope, &*state.clock).await.map_err(checkpoint_error)?;
        (note, size) = (Some(made.note), made.size);
    }
    let Some(note) = note.filter(|_| size > index) else {
        return Err(AppError::NotFound("audit entry"));
    };
    let hashes = state.store.audit_inclusion_proof(scope, index, size).await?;
    Ok(kura_crypto::merkle::TlogProof { extra: None, index, hashes, checkpoint: note }.to_text())
}

/// The consistency proof from the tenant's tree of `first` entries to that of `second`: one
/// base64 hash a line, as in C2SP tlog-proof.
pub async fn consistency_proof(state: &AppState, p: &TenantPrincipal, first: u64, second: u64) -> AppResult<String> {
    let g = p.require(Permission::AuditRead)?;
    if first > second {
        return Err(AppError::BadRequest("first must not be larger than second".into()));
    }
    let hashes = state.store.audit_consistency_proof(AuditScope::Tenant(g.tenant_id()), first, second).await?;
    Ok(proof_lines(&hashes))
}

/// Hashes one base64 line each.
pub fn proof_lines(hashes: &[kura_crypto::merkle::Hash]) -> String {
    use base64::Engine as _;
    hashes.iter().map(|h| format!("{}\n", base64::engine::general_purpose::STANDARD.encode(h.0))).collect()
}
