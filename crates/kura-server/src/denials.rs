//! Refused requests in the audit log (LOG-1): permission refusals (403), CSRF refusals and
//! refused operator sign-ins are entries with outcome `denied`, in the tenant's chain when the
//! refused principal belongs to a tenant, else in the platform's. A request answered with an
//! error because a stored value did not open (DAT-2) is an entry `crypto.open_refused` too, and
//! so is a value that did not open for work outside a request (the key rotation and export
//! workers, the mail sender, the scheduled notices, the restore drill, the command line):
//! [`record_refused_open`] counts and records them, or, for work that repeats and meets the
//! same value at every pass, [`crate::refused_opens::record`], which writes it once and then
//! once a day while it goes on.
//!
//! A flood of refusals must not fill the log, so entries are throttled per scope, actor, address
//! and operation: the first refusal of a minute is written at once; further ones in that minute
//! are only counted, and when the minute is over one more entry says how many there were. That
//! entry is written by the next refusal of the same kind, or by [`DenialLog::flush_due`], which
//! the server runs every few seconds and once more at shutdown. The counts are kept per Kura
//! node: with several nodes, each writes its own.

use crate::auth::ClientInfo;
use crate::error::{AppError, AppResult, ErrorMarker};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use kura_domain::{Actor, ActorKind, AuditRecord, AuditScope, Operation, Outcome, TenantId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// How long refusals of one kind are counted before the count is written.
pub const WINDOW: SignedDuration = SignedDuration::from_secs(60);

/// Who made a request, filled in by whichever extractor authenticated it, so that a refusal
/// further down can be attributed. Inserted into every request by [`audit_denials`].
#[derive(Clone, Debug, Default)]
pub struct Who(Arc<OnceLock<(AuditScope, Actor)>>);

impl Who {
    pub fn set(&self, scope: AuditScope, actor: &Actor) {
        let _ = self.0.set((scope, actor.clone()));
    }
    pub fn get(&self) -> Option<&(AuditScope, Actor)> {
        self.0.get()
    }
}

/// One refusal to record.
#[derive(Clone, Debug)]
pub struct Denial {
    pub scope: AuditScope,
    pub actor: Actor,
    pub operation: Operation,
    /// What was refused, such as `DELETE /api/v1/users/…`.
    pub target: String,
    /// Why, without secrets: the missing permission, or the refusal's message.
    pub reason: String,
}

/// The identity refusals are counted under.
type Key = (AuditScope, String, Option<String>, Operation);

#[derive(Debug)]
struct Window {
    started: Timestamp,
    /// Refusals after the first, not written yet.
    more: u64,
    last: Denial,
}

/// The throttled writer of refusals.
#[derive(Debug, Default)]
pub struct DenialLog {
    windows: Mutex<HashMap<Key, Window>>,
}

fn key(d: &Denial) -> Key {
    let who = d.actor.id.map_or_else(|| format!("{}:{}", d.actor.kind.as_str(), d.actor.label), |id| id.to_string());
    (d.scope, who, d.actor.source_ip.clone(), d.operation)
}

fn ended(w: &Window, now: Timestamp) -> bool {
    now >= w.started.saturating_add(WINDOW).unwrap_or(w.started)
}

fn first_entry(d: &Denial) -> AuditRecord {
    AuditRecord {
        operation: d.operation,
        target: Some(d.target.clone()),
        outcome: Outcome::Denied,
        detail: Some(d.reason.clone()),
    }
}

fn summary_entry(w: &Window) -> AuditRecord {
    AuditRecord {
        operation: w.last.operation,
        target: Some(w.last.target.clone()),
        outcome: Outcome::Denied,
        detail: Some(format!(
            "repeated={} in the {} s after {}; last: {}",
            w.more,
            WINDOW.as_secs(),
            w.started,
            w.last.reason
        )),
    }
}

impl DenialLog {
    /// Records a refusal: writes it at once if it is the first of its kind this minute (and
    /// the count of the minute before, if there was one), else counts it.
    pub async fn record(&self, state: &AppState, denial: Denial) {
        let now = state.clock.now();
        let mut due = Vec::new();
        {
            let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let k = key(&denial);
            match windows.get_mut(&k) {
                Some(w) if !ended(w, now) => {
                    w.more += 1;
                    w.last = denial;
                    return;
                }
                Some(w) if w.more > 0 => due.push((w.last.scope, w.last.actor.clone(), summary_entry(w))),
                _ => {}
            }
            due.push((denial.scope, denial.actor.clone(), first_entry(&denial)));
            windows.insert(k, Window { started: now, more: 0, last: denial });
        }
        write(state, due).await;
    }

    /// Writes the counts of the minutes that are over and forgets them.
    pub async fn flush_due(&self, state: &AppState) {
        self.flush(state, false).await;
    }

    /// Writes every count, over or not (at shutdown).
    pub async fn flush_all(&self, state: &AppState) {
        self.flush(state, true).await;
    }

    async fn flush(&self, state: &AppState, all: bool) {
        let now = state.clock.now();
        let due: Vec<_> = {
            let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let over: Vec<Key> = windows.iter().filter(|(_, w)| all || ended(w, now)).map(|(k, _)| k.clone()).collect();
            over.iter()
                .filter_map(|k| windows.remove(k))
                .filter(|w| w.more > 0)
                .map(|w| (w.last.scope, w.last.actor.clone(), summary_entry(&w)))
                .collect()
        };
        write(state, due).await;
    }
}

async fn write(state: &AppState, entries: Vec<(AuditScope, Actor, AuditRecord)>) {
    for (scope, actor, record) in entries {
        if let Err(e) = state.store.audit_only(scope, actor, record).await {
            tracing::warn!(error = %e, "could not record a refused request in the audit log");
        }
    }
}

/// The layer that records every refused request: a 403 answer carrying a permission refusal
/// or a CSRF refusal, attributed to the principal the request authenticated as (anonymous on
/// the platform's log when it did not get that far).
pub async fn audit_denials(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let who = Who::default();
    request.extensions_mut().insert(who.clone());
    // Cheap copies: the entry is built only if the request is refused.
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let peer = request.extensions().get::<crate::client_address::ClientAddress>().map(|c| c.0);
    let response = next.run(request).await;
    if response.status() == StatusCode::INTERNAL_SERVER_ERROR {
        if let Some(ErrorMarker(error)) = response.extensions().get::<ErrorMarker>()
            && let AppError::Undecryptable(cause) = error.as_ref()
        {
            refused_decryption(&state, &who, peer, format!("{method} {}", truncate(uri.path(), 200)), cause).await;
        }
        return response;
    }
    if response.status() != StatusCode::FORBIDDEN {
        return response;
    }
    let Some(ErrorMarker(error)) = response.extensions().get::<ErrorMarker>() else {
        return response;
    };
    let (operation, reason) = match error.as_ref() {
        AppError::Forbidden(p) => (Operation::AccessDenied, format!("missing permission {p}")),
        AppError::ForbiddenOther(m) => (Operation::AccessDenied, truncate(m, 300)),
        AppError::Csrf => (Operation::CsrfRefused, "the form's origin or token did not match".to_owned()),
        // Refused by a tenant's address list after the credential named the tenant; a refused
        // sign-in (no credential yet) is audited by the sign-in itself.
        AppError::AddressRefused { surface, ip } if who.get().is_some() => {
            (Operation::AddressRefused, format!("{ip} is not in the {} address list", surface.as_str()))
        }
        AppError::KeyAddressRefused { ip } => {
            (Operation::AddressRefused, format!("{ip} is not in the API key's address ranges"))
        }
        // Refused for want of a valid client certificate of the tenant (IAM-11); a refused
        // sign-in is audited by the sign-in itself.
        AppError::CertificateRefused { surface, refusal, serial, .. } if who.get().is_some() => (
            Operation::ClientCertRefused,
            format!("{} ({}); serial {}", refusal.as_str(), surface.as_str(), serial.as_deref().unwrap_or("none")),
        ),
        _ => return response,
    };
    let (scope, actor) = match who.get() {
        Some((scope, actor)) => (*scope, actor.clone()),
        None => (
            AuditScope::Platform,
            anonymous(&ClientInfo { ip: peer.map(|ip| ip.to_string()), ..ClientInfo::default() }),
        ),
    };
    let target = format!("{method} {}", truncate(uri.path(), 200));
    state.denials.record(&state, Denial { scope, actor, operation, target, reason }).await;
    response
}

/// A request answered with an error because a stored value did not open under its tenant's
/// key: recorded by [`record_refused_open`] in the log of the tenant the request was made in
/// (the platform's when it was not made in one), under the requester, with the method and path
/// as target.
async fn refused_decryption(state: &AppState, who: &Who, peer: Option<std::net::IpAddr>, target: String, cause: &str) {
    let (scope, actor) = match who.get() {
        Some((scope, actor)) => (*scope, actor.clone()),
        None => (
            AuditScope::Platform,
            anonymous(&ClientInfo { ip: peer.map(|ip| ip.to_string()), ..ClientInfo::default() }),
        ),
    };
    record_refused_open(state, scope, actor, target, cause).await;
}

/// Records a stored value that did not open under its tenant's key (moved to another row or
/// tenant, altered, or its key destroyed): counted (`kura_decryption_refusals_total`) and
/// written as `crypto.open_refused` with outcome `failure` to `scope`'s log, with `target` (the
/// request, or the job that read it) and where the value was found (`cause`, the store's
/// words: table, field, ids), never the value. Not throttled: it never happens unless the
/// database was changed behind Kura's back, and each one is worth seeing. Used by the request
/// layer above and by every piece of work outside a request that opens a tenant's values; it
/// never fails its caller (an entry that cannot be written is logged). Work that repeats and
/// meets the same value at every pass records it through [`crate::refused_opens`] instead,
/// which writes it once and then once a day while it goes on.
pub async fn record_refused_open(state: &AppState, scope: AuditScope, actor: Actor, target: String, cause: &str) {
    state.metrics.decryption_refused();
    write_refused_open(state, scope, actor, target, cause).await;
}

/// The entry of [`record_refused_open`], without counting it.
pub(crate) async fn write_refused_open(state: &AppState, scope: AuditScope, actor: Actor, target: String, cause: &str) {
    let record = AuditRecord {
        operation: Operation::CryptoOpenRefused,
        target: Some(truncate(&target, 300)),
        outcome: Outcome::Failure,
        detail: Some(truncate(cause, 300)),
    };
    if let Err(e) = state.store.audit_only(scope, actor, record).await {
        tracing::warn!(error = %e, "could not record a refused decryption in the audit log");
    }
}

/// [`record_refused_open`] for work outside a request on `tenant`'s data, when `result` is a
/// refused decryption; hands `result` back unchanged, so the work goes on (or stops) as it
/// would have without the entry.
pub async fn audit_refused_open<T>(
    state: &AppState,
    tenant: TenantId,
    actor: &Actor,
    target: &str,
    result: AppResult<T>,
) -> AppResult<T> {
    if let Err(AppError::Undecryptable(cause)) = &result {
        record_refused_open(state, AuditScope::Tenant(tenant), actor.clone(), target.to_owned(), cause).await;
    }
    result
}

/// Someone not (yet) authenticated, known by their address.
pub fn anonymous(client: &ClientInfo) -> Actor {
    Actor {
        kind: ActorKind::Anonymous,
        id: None,
        label: "anonymous".into(),
        role: None,
        source_ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}
