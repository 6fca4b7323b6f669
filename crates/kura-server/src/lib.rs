//! Kura's HTTP surfaces — the JSON API under `/api/v1`, the tenant console under `/console`, the
//! operator console under `/operator`, health and metrics — plus settings and the
//! [`Application`] that ties them to a store.
//!
//! **Architecture invariant:** this crate holds no SQL and no cryptography of its own; it calls
//! `kura-store` and `kura-crypto`. Handlers are thin: the rules shared by the API, the console and
//! the CLI live in `service`.

pub mod access_log;
pub mod api;
mod application;
pub mod audit_export;
pub mod auth;
pub mod backup;
pub mod checkpoints;
pub mod client_address;
pub mod clock_sync;
mod console;
pub mod denials;
pub mod erasure;
pub mod error;
mod health;
pub mod mail;
mod metrics;
mod middleware;
pub mod refused_opens;
pub mod routes;
pub mod service;
pub mod settings;
mod state;
pub mod tls;

pub use application::{Application, BuildError, SystemClock, build_state, router, routes};
pub use settings::Settings;
pub use state::AppState;
