//! Shared application state handed to every handler. Nothing here is the only copy of anything
//! that matters: sessions, keys and data live in the database, so several Kura nodes can share
//! one PostgreSQL.

use crate::auth::Hashing;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::settings::Settings;
use kura_domain::Clock;
use kura_store::Store;
use std::sync::Arc;

/// The state every handler and middleware extracts, behind one `Arc`: a clone (axum makes one
/// per `State` extractor, several per request) is one atomic increment instead of one per
/// field. Cloning the fields one by one, some twenty `Arc`s, took about a tenth of the CPU of a
/// get by id (`perf record` of the harness's get workload). Fields are reached through `Deref`.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// This state with the server certificate set (for `Application::build`, before serving).
    pub(crate) fn with_tls(self, tls: Option<Arc<crate::tls::CertStore>>) -> Self {
        let mut shared = Arc::unwrap_or_clone(self.0);
        shared.tls = tls;
        Self::new(shared)
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
#[derive(Clone, Debug)]
pub struct Shared {
    pub store: Store,
    pub hashing: Hashing,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    pub mail: Arc<Mailer>,
    /// Records listed per principal in the current minute (`records.export`).
    pub read_budget: Arc<crate::service::export::ReadBudget>,
    /// Refused requests waiting to be counted into the audit log (LOG-1).
    pub denials: Arc<crate::denials::DenialLog>,
    /// The server certificate when Kura terminates TLS itself (DAT-1).
    pub tls: Option<Arc<crate::tls::CertStore>>,
    /// Signed checkpoints of the audit logs and their sink (LOG-3).
    pub checkpoints: crate::checkpoints::Checkpoints,
    /// The access log's channel to its flusher and its counts (LOG-2).
    pub access_log: Arc<crate::access_log::AccessLog>,
    /// The client-certificate CA (IAM-11), read or made on first need.
    pub client_ca: Arc<crate::service::client_certs::CaSlot>,
    /// The backups and their copies (OPS-1).
    pub backups: crate::backup::Backups,
    /// The keystore's own backups, on their own schedule and shorter retention (OPS-1, TEN-4).
    pub keystore_backups: crate::backup::Backups,
    /// The backup job running in this process, if any: one at a time.
    pub jobs: Arc<crate::backup::Jobs>,
    /// This node's export worker: its bell and the jobs it is building (DAT-5).
    pub export_worker: Arc<crate::service::transfer::worker::ExportWorker>,
}
