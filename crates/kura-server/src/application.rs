//! The application: settings in, a listening server out. The binary and the tests build it the
//! same way.

use crate::auth::Hashing;
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::routes::{Access, Route, Routes, Verb};
use crate::settings::Settings;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Redirect;
use kura_crypto::PasswordHasher;
use kura_domain::Clock;
use kura_store::{Store, StoreOptions};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The embedded database's file in the data directory, when no `database_url` is configured.
pub(crate) const EMBEDDED_DATABASE: &str = "kura.db";

/// The wall clock. The only place that reads the system time; everything else receives a
/// [`Clock`].
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods, reason = "the one sanctioned reading of the system clock")]
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: std::path::PathBuf, source: std::io::Error },
    #[error("cannot open the database: {0}")]
    Store(#[from] kura_store::StoreError),
    #[error("invalid password hashing parameters: {0}")]
    Hasher(#[from] kura_crypto::PasswordError),
    #[error("cannot set up mail: {0}")]
    Mail(#[from] crate::mail::MailError),
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// Encryption at rest is configured, and its master key or keystore cannot be used.
    #[error("encryption at rest: {0}")]
    Encryption(String),
    #[error("the client-certificate CA: {0}")]
    ClientCa(kura_crypto::x509::client::CaError),
    #[error("backups: {0}")]
    Backup(Box<crate::backup::BackupError>),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// A built application, bound to its port but not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    /// The plain-HTTP listener that only redirects to HTTPS (`tls.redirect_listen`).
    redirect: Option<TcpListener>,
    state: AppState,
}

impl Application {
    /// Opens the store (migrating it), prepares the state, loads the TLS certificate and binds
    /// the listeners. Plain HTTP off loopback without a declared proxy is refused here (DAT-1),
    /// however the settings were made.
    pub async fn build(mut settings: Settings, clock: Arc<dyn Clock>) -> Result<Self, BuildError> {
        settings.check_transport()?;
        let certs = match (&settings.tls.cert_file, &settings.tls.key_file) {
            (Some(cert), Some(key)) => Some(Arc::new(crate::tls::CertStore::load(cert, key)?)),
            _ => None,
        };
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr).await.map_err(|source| BuildError::Listen { addr, source })
        };
        let listener = bind(settings.listen).await?;
        // Links in mail point to the address actually bound (port 0 becomes a real port).
        if let Ok(bound) = listener.local_addr() {
            settings.listen = bound;
        }
        let redirect = match settings.tls.redirect_listen {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        let state = build_state(settings, clock.clone()).await?;
        // Serving TLS needs the client CA at once: the handshake asks for its certificates. With
        // encryption at rest, an existing CA key is read (and sealed if it is PEM) at start too.
        if certs.is_some() || state.client_ca.read_at_start() {
            state.client_ca.get(clock.now()).map_err(BuildError::ClientCa)?;
        }
        let state = state.with_tls(certs);
        Ok(Self { listener, redirect, state })
    }

    /// The port of the redirecting listener, if there is one.
    pub fn redirect_port(&self) -> Option<u16> {
        self.redirect.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port())
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.state.settings.listen)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_with_shutdown(shutdown_signal()).await
    }

    /// Serves until `signal` completes, then finishes in-flight requests, stops the mail sender
    /// and closes the store.
    pub async fn run_with_shutdown(self, signal: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let state = self.state.clone();
        let sweeper = tokio::spawn(sweep_denials(state.clone()));
        // Signed checkpoints of every audit log, also when nothing happened (LOG-3).
        let checkpointer = tokio::spawn(crate::checkpoints::run_schedule(
            state.checkpoints.clone(),
            state.store.clone(),
            state.clock.clone(),
            std::time::Duration::from_secs(u64::from(state.settings.audit.checkpoint_seconds)),
        ));
        // The access log's writer and its purge (LOG-2).
        let (log_stop, log_stopped) = tokio::sync::watch::channel(false);
        let flusher = tokio::spawn(crate::access_log::run_flusher(
            state.clone(),
            std::time::Duration::from_millis(state.settings.access_log.flush_milliseconds),
            log_stopped,
        ));
        let purger = tokio::spawn(crate::access_log::run_purge(
            state.clone(),
            std::time::Duration::from_secs(60 * u64::from(state.settings.access_log.purge_minutes)),
        ));
        // Exports built in the background, on every node (DAT-5).
        let (exports_stop, exports_stopped) = tokio::sync::watch::channel(false);
        let exporter = state.settings.exports.worker.then(|| {
            crate::service::transfer::worker::spawn(state.clone(), async move {
                let mut stopped = exports_stopped;
                let _ = stopped.wait_for(|s| *s).await;
            })
        });
        // Data-key rotation jobs, on every node that runs the worker (DAT-2).
        let (rotation_stop, rotation_stopped) = tokio::sync::watch::channel(false);
        let rotator = (state.store.vault().is_some() && state.settings.encryption.rotation_worker.unwrap_or(true))
            .then(|| {
                crate::service::key_rotation::spawn(state.clone(), async move {
                    let mut stopped = rotation_stopped;
                    let _ = stopped.wait_for(|s| *s).await;
                })
            });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let sender = crate::mail::spawn(state.clone(), async move {
            let mut stopped = stopped;
            let _ = stopped.wait_for(|s| *s).await;
        });
        // Every listener stops on the one signal.
        let (quit, quitting) = tokio::sync::watch::channel(false);
        let stopping = move || {
            let mut quitting = quitting.clone();
            async move {
                let _ = quitting.wait_for(|q| *q).await;
            }
        };
        tokio::spawn(async move {
            signal.await;
            let _ = quit.send(true);
        });
        let redirect = self.redirect.map(|listener| {
            let app = crate::tls::redirect_router(state.settings.public_url.clone(), state.settings.listen.port());
            let stop = stopping();
            tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stop).await })
        });
        let watcher = state.tls.clone().map(|certs| {
            let every = std::time::Duration::from_secs(u64::from(state.settings.tls.reload_seconds));
            tokio::spawn(certs.watch(every))
        });
        let result = match &state.tls {
            Some(certs) => match state
                .client_ca
                .get(state.clock.now())
                .map_err(|e| crate::tls::TlsError::Config(tokio_rustls::rustls::Error::General(e.to_string())))
                .and_then(|ca| certs.server_config(Some(ca.cert_der())))
            {
                Ok(config) => crate::tls::serve_tls(self.listener, config, router(self.state), stopping()).await,
                Err(e) => Err(std::io::Error::other(e.to_string())),
            },
            None => {
                let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
                axum::serve(self.listener, app).with_graceful_shutdown(stopping()).await
            }
        };
        if let Some(redirect) = redirect {
            let _ = redirect.await;
        }
        if let Some(watcher) = watcher {
            watcher.abort();
        }
        sweeper.abort();
        checkpointer.abort();
        purger.abort();
        let _ = log_stop.send(true);
        let _ = flusher.await;
        let _ = exports_stop.send(true);
        if let Some(exporter) = exporter {
            let _ = exporter.await;
        }
        let _ = rotation_stop.send(true);
        if let Some(rotator) = rotator {
            let _ = rotator.await;
        }
        let _ = stop.send(true);
        let _ = sender.await;
        state.denials.flush_all(&state).await;
        state.store.close().await;
        result
    }
}

/// Opens the store and assembles the shared state (also used by CLI commands that need no
/// listener).
pub async fn build_state(settings: Settings, clock: Arc<dyn Clock>) -> Result<AppState, BuildError> {
    if settings.database_url.expose().is_empty() {
        create_private_dir(&settings.data_dir)
            .map_err(|source| BuildError::DataDir { path: settings.data_dir.clone(), source })?;
    }
    create_key_for_new_deployment(&settings)?;
    let master =
        if settings.encryption_on() { Some(master_provider(&settings, master_key(&settings)?)?) } else { None };
    let vault = match &master {
        Some(master) => Some(open_vault_with(&settings, master.clone()).await?),
        None => None,
    };
    if vault.is_none() {
        tracing::warn!(
            "encryption at rest is off: tenant values are stored as they are (docs/operations.md, \
             \"Encryption at rest\", says how to turn it on)"
        );
    }
    let store = Store::open(
        &settings.database_url(),
        clock.clone(),
        StoreOptions {
            max_connections: settings.database_max_connections,
            record_cache_records: settings.record_cache_records,
            vault,
            owner_url: settings.database_owner_url(),
        },
    )
    .await?;
    let hasher = PasswordHasher::new(settings.argon2_params())?;
    let hashing = Hashing::new(hasher, settings.password.hashing_threads);
    let mail = crate::mail::Mailer::new(&settings)?;
    let checkpoints = crate::checkpoints::Checkpoints::new(&settings);
    let settings_access_log = settings.access_log.clone();
    let backups = crate::backup::Backups::new(&settings).map_err(|e| BuildError::Backup(Box::new(e)))?;
    let keystore_backups = crate::backup::Backups::keystore(&settings).map_err(|e| BuildError::Backup(Box::new(e)))?;
    let ca_dir = settings.tls.client_ca_dir.clone().unwrap_or_else(|| settings.data_dir.join("tls"));
    // With encryption at rest, the client CA's key is sealed under the same master key.
    let ca_sealer = master;
    let state = AppState::new(crate::state::Shared {
        client_ca: Arc::new(crate::service::client_certs::CaSlot::new(ca_dir, ca_sealer)),
        store,
        hashing,
        settings: Arc::new(settings),
        metrics: Arc::new(Metrics::default()),
        clock,
        read_budget: Arc::default(),
        denials: Arc::default(),
        mail,
        tls: None,
        checkpoints,
        access_log: Arc::new(crate::access_log::AccessLog::new(
            settings_access_log.enabled,
            settings_access_log.buffer,
        )),
        backups,
        keystore_backups,
        jobs: Arc::default(),
        export_worker: Arc::default(),
    });
    // The store met these before there was a log to write them to.
    crate::refused_opens::record_start_up(&state).await;
    Ok(state)
}

/// The safe default: a new embedded deployment (no database URL configured, no database file
/// yet) with `encryption.enabled` unset and no master key gets a master key file of its own
/// (0600, beside the data directory), so encryption at rest is on from its first tenant. An
/// existing deployment is never switched over silently, and a PostgreSQL deployment is
/// configured by its operator (its keystore is a database they create).
fn create_key_for_new_deployment(settings: &Settings) -> Result<(), BuildError> {
    let configured = settings.encryption.enabled.is_some()
        || !settings.database_url.expose().is_empty()
        || !settings.encryption.master_key.expose().is_empty();
    let key = settings.master_key_file();
    if configured || key.exists() || settings.data_dir.join(EMBEDDED_DATABASE).exists() {
        return Ok(());
    }
    kura_crypto::vault::MasterKey::load_or_create_file(&key).map_err(|e| {
        BuildError::Encryption(format!("cannot create the master key file {} for a new deployment: {e}", key.display()))
    })?;
    tracing::warn!(
        path = %key.display(),
        "a new deployment: its master key was created; back it up apart from the data, without it no tenant's \
         values can be read (docs/operations.md)"
    );
    Ok(())
}

/// The master key (from `KURA_MASTER_KEY`, else the key file, which must exist: only a new
/// embedded deployment and `kura demo` create one) and the keystore (a SQLite keystore's
/// directory is created, owner-only).
pub(crate) async fn open_vault(settings: &Settings) -> Result<Arc<kura_store::Vault>, BuildError> {
    open_vault_with(settings, master_provider(settings, master_key(settings)?)?).await
}

/// The master key as the vault uses it: alone, or during a master-key rotation with the key it
/// replaces (`encryption.previous_master_key_file`), which then only unwraps what it wrapped.
pub(crate) fn master_provider(
    settings: &Settings,
    master: Arc<kura_crypto::vault::MasterKey>,
) -> Result<Arc<dyn kura_crypto::vault::KeyProvider>, BuildError> {
    use kura_crypto::vault::{MasterKey, MasterKeyRing};
    let Some(path) = &settings.encryption.previous_master_key_file else { return Ok(master) };
    let previous = MasterKey::from_file(path)
        .map_err(|e| BuildError::Encryption(format!("encryption.previous_master_key_file: {e}")))?;
    let ring = MasterKeyRing::new(master, [Arc::new(previous)]);
    tracing::warn!(
        previous = ?ring.previous_ids().map(|id| id.as_str().to_owned()).collect::<Vec<_>>(),
        "a previous master key is configured: run `kura keys rotate-master`, then remove it (docs/operations.md)"
    );
    Ok(Arc::new(ring))
}

/// The master key: from `KURA_MASTER_KEY`, else from the key file, which must exist.
pub(crate) fn master_key(settings: &Settings) -> Result<Arc<kura_crypto::vault::MasterKey>, BuildError> {
    use kura_crypto::vault::MasterKey;
    let env = settings.encryption.master_key.expose();
    let master = if env.is_empty() {
        let path = settings.master_key_file();
        if !path.exists() {
            return Err(BuildError::Encryption(format!(
                "encryption.enabled is true and there is no master key: set KURA_MASTER_KEY (base64 of 32 \
                 random bytes) or create the key file {} (32 random bytes, mode 0600)",
                path.display()
            )));
        }
        MasterKey::from_file(&path).map_err(|e| BuildError::Encryption(e.to_string()))?
    } else {
        MasterKey::from_base64(env).map_err(|e| BuildError::Encryption(format!("KURA_MASTER_KEY: {e}")))?
    };
    Ok(Arc::new(master))
}

/// The keystore, opened with `master` (a SQLite keystore's directory is created, owner-only).
async fn open_vault_with(
    settings: &Settings,
    master: Arc<dyn kura_crypto::vault::KeyProvider>,
) -> Result<Arc<kura_store::Vault>, BuildError> {
    let url = settings.keystore_url();
    if settings.encryption.keystore_url.expose().is_empty() && url.starts_with("sqlite:") {
        let dir = settings.keystore_dir();
        create_private_dir(&dir).map_err(|source| BuildError::DataDir { path: dir, source })?;
    }
    let vault = kura_store::Vault::open(&url, master, settings.encryption.create_keystore)
        .await
        .map_err(|e| BuildError::Encryption(format!("cannot open the keystore: {e}")))?;
    tracing::info!(master_key_id = %vault.master_key_id(), "encryption at rest is on");
    Ok(Arc::new(vault))
}

/// Creates the data directory readable by its owner only.
pub(crate) fn create_private_dir(path: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// The routes outside the API and the consoles.
fn table() -> Routes<AppState> {
    use Verb::Get;
    Routes::default()
        .add(Get, "/", Access::Public, || async { Redirect::to("/console") })
        .add(Get, "/healthz", Access::Public, crate::health::healthz)
        .add(Get, "/readyz", Access::Public, crate::health::readyz)
        // Restricted by address or token instead of by a principal (`metrics` settings).
        .add(Get, "/metrics", Access::Public, crate::health::metrics)
}

/// Every route Kura serves with the access it needs: the top level, the API and the consoles
/// (the consoles' static assets and not-found pages aside).
pub fn routes() -> Vec<Route> {
    let mut all = table().list().to_vec();
    all.extend(crate::api::routes());
    all.extend(crate::console::routes());
    all
}

/// All routes with their layers.
pub fn router(state: AppState) -> Router {
    let max_body = state.settings.limits.max_body_bytes;
    table()
        .into_router()
        .merge(crate::api::router())
        .merge(crate::console::router())
        .fallback(|| async { AppError::NotFound("page") })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::Extension(crate::api::BodyLimit(max_body)))
        .layer(axum::middleware::from_fn(crate::middleware::uniform_errors))
        // Inside `audit_denials`, which hands it the principal (`denials::Who`), and outside the
        // errors made uniform, so that it sees the status sent.
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::access_log::record))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::denials::audit_denials))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::middleware::record_metrics))
        .layer(axum::middleware::from_fn(crate::middleware::security_headers))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::client_address::remember))
        .with_state(state)
}

/// Writes the counts of refused requests whose minute is over, every few seconds.
async fn sweep_denials(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        tick.tick().await;
        state.denials.flush_due(&state).await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
