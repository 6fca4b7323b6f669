//! TLS termination (DAT-1): the server certificate read from PEM files and swapped in place when
//! they change, the rustls configuration (ring only; TLS 1.2 and 1.3; AEAD suites with forward
//! secrecy; ALPN `h2` and `http/1.1`), the connection loop that serves the router over it, and
//! the listener that only redirects to HTTPS; and the optional client certificate (IAM-11,
//! `client_auth`), handed to each request of the connection.
//!
//! The cryptography is rustls's; this module only chooses its settings.

mod client_auth;
mod redirect;
mod serve;

pub use client_auth::{OptionalClientCert, PeerCertificate};
pub use redirect::redirect_router;
pub use serve::serve_tls;

use jiff::Timestamp;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Pem { path: PathBuf, message: String },
    #[error("the key does not fit the certificate, or is of an unsupported kind: {0}")]
    Key(rustls::Error),
    #[error("the certificate cannot be read: {0}")]
    Certificate(#[from] kura_crypto::x509::CertError),
    #[error("cannot configure TLS: {0}")]
    Config(rustls::Error),
}

/// The suites offered, strongest first: TLS 1.3's three, and for TLS 1.2 only ECDHE key exchange
/// (forward secrecy) with AES-GCM or ChaCha20-Poly1305. No CBC, no RSA key exchange, no SHA-1
/// MACs.
const SUITES: &[rustls::SupportedCipherSuite] = &[
    rustls::crypto::ring::cipher_suite::TLS13_AES_256_GCM_SHA384,
    rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256,
    rustls::crypto::ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    rustls::crypto::ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    rustls::crypto::ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    rustls::crypto::ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    rustls::crypto::ring::cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    rustls::crypto::ring::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    rustls::crypto::ring::cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// The ring provider with [`SUITES`].
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[allow(
        deprecated,
        reason = "ring is the provider Kura is held to (no aws-lc, no OpenSSL); rustls deprecates it only for lacking post-quantum key exchange"
    )]
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites = SUITES.to_vec();
    Arc::new(provider)
}

/// The certificate being served, with what Kura reports about it.
#[derive(Debug)]
pub struct ServedCert {
    key: Arc<CertifiedKey>,
    pub not_after: Timestamp,
    /// SHA-256 of the certificate, as browsers show it.
    pub fingerprint: String,
}

/// The server certificate: loaded from its two PEM files, swapped whole when they change. Each
/// handshake takes the current one, so a renewed certificate is served from the next connection
/// on, without a restart.
#[derive(Debug)]
pub struct CertStore {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Arc<ServedCert>>,
    /// SHA-256 of the two files as last read, to notice a change without parsing.
    files_digest: Mutex<[u8; 32]>,
}

impl CertStore {
    /// Reads the certificate and key; fails if either is missing, unreadable or they do not fit.
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<Self, TlsError> {
        let (served, digest) = read_pair(cert_file, key_file)?;
        Ok(Self {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            current: RwLock::new(Arc::new(served)),
            files_digest: Mutex::new(digest),
        })
    }

    /// The certificate served now.
    pub fn current(&self) -> Arc<ServedCert> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Reads the files again and, if they changed and form a valid pair, serves the new
    /// certificate. Returns whether it changed. A half-written or mismatched pair (the key
    /// replaced before the certificate, say) is an error and the old certificate stays.
    pub fn reload(&self) -> Result<bool, TlsError> {
        let digest = files_digest(&self.cert_file, &self.key_file)?;
        if *self.files_digest.lock().unwrap_or_else(std::sync::PoisonError::into_inner) == digest {
            return Ok(false);
        }
        let (served, digest) = read_pair(&self.cert_file, &self.key_file)?;
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(served);
        *self.files_digest.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = digest;
        Ok(true)
    }

    /// Whole days until the served certificate expires (negative once it has).
    pub fn days_left(&self, now: Timestamp) -> i64 {
        (self.current().not_after.as_second() - now.as_second()).div_euclid(86_400)
    }

    /// Reloads every `every` and on SIGHUP, logging what changed; runs until aborted. The
    /// signal handler is installed before this returns the task, so a SIGHUP sent once Kura
    /// serves never meets the default action (which would end the process).
    pub fn watch(self: Arc<Self>, every: std::time::Duration) -> impl std::future::Future<Output = ()> + Send {
        #[cfg(unix)]
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                #[cfg(unix)]
                let hup = async {
                    match hangup.as_mut() {
                        Some(s) => {
                            s.recv().await;
                        }
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let hup = std::future::pending::<()>();
                tokio::select! {
                    _ = tick.tick() => {}
                    () = hup => tracing::info!("SIGHUP: reloading the TLS certificate"),
                }
                self.reload_and_log();
            }
        }
    }

    fn reload_and_log(&self) {
        match self.reload() {
            Ok(true) => {
                let served = self.current();
                tracing::info!(fingerprint = %served.fingerprint, not_after = %served.not_after, "serving a renewed TLS certificate");
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "the TLS certificate files cannot be used; still serving the previous certificate");
            }
        }
    }

    /// The rustls configuration serving this store's certificate; with `client_ca` (DER), it
    /// asks clients for a certificate of that CA without requiring one (IAM-11).
    pub fn server_config(self: &Arc<Self>, client_ca: Option<&[u8]>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(TlsError::Config)?;
        let builder = match client_ca {
            Some(ca) => {
                builder.with_client_cert_verifier(Arc::new(OptionalClientCert::new(ca).map_err(TlsError::Config)?))
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        config.ignore_client_order = true;
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current().key.clone())
    }
}

/// The DER certificates in a PEM text, in order.
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    CertificateDer::pem_slice_iter(pem).map(|c| c.map(|c| c.to_vec()).map_err(|e| e.to_string())).collect()
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_owned(), source })
}

fn files_digest(cert_file: &Path, key_file: &Path) -> Result<[u8; 32], TlsError> {
    let mut both = read(cert_file)?;
    both.extend_from_slice(&read(key_file)?);
    Ok(kura_crypto::sha256(&both))
}

fn read_pair(cert_file: &Path, key_file: &Path) -> Result<(ServedCert, [u8; 32]), TlsError> {
    let cert_pem = read(cert_file)?;
    let key_pem = read(key_file)?;
    let pem_error = |path: &Path, message: String| TlsError::Pem { path: path.to_owned(), message };
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(cert_file, e.to_string()))?;
    let Some(leaf) = chain.first() else {
        return Err(pem_error(cert_file, "no CERTIFICATE block".into()));
    };
    let info = kura_crypto::x509::inspect(leaf)?;
    let fingerprint = kura_crypto::x509::fingerprint_sha256(leaf);
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| pem_error(key_file, e.to_string()))?;
    let certified = CertifiedKey::from_der(chain, key, &provider()).map_err(TlsError::Key)?;
    certified.keys_match().map_err(TlsError::Key)?;
    let not_after = Timestamp::from_second(info.not_after).unwrap_or(Timestamp::MAX);
    let mut both = cert_pem;
    both.extend_from_slice(&key_pem);
    Ok((ServedCert { key: Arc::new(certified), not_after, fingerprint }, kura_crypto::sha256(&both)))
}
