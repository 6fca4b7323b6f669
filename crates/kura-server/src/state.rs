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

#[derive(Clone, Debug)]
pub struct AppState {
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
    /// The client-certificate CA (IAM-11), read or made on first need.
    pub client_ca: Arc<crate::service::client_certs::CaSlot>,
}
