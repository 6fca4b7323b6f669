//! Where mail goes: an SMTP relay (STARTTLS, TLS from the start, or plain on the same machine;
//! rustls with ring; credentials from the settings), or, without a relay, `.eml` files in the
//! data directory (the demo).

use crate::settings::{Settings, SmtpSecurity};
use kura_store::OutboxMail;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

/// How long one delivery may take before it counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail.from: {0}")]
    From(String),
    #[error("mail.ca_file {path}: {message}")]
    CaFile { path: PathBuf, message: String },
    #[error("mail: {0}")]
    Smtp(String),
    #[error("cannot create the mail directory {path}: {source}")]
    Dir { path: PathBuf, source: std::io::Error },
}

/// The configured way out.
#[derive(Clone)]
pub enum Transport {
    Smtp { relay: Box<AsyncSmtpTransport<Tokio1Executor>>, from: Mailbox },
    Files { dir: PathBuf, from: Mailbox },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The relay holds the SMTP password: name the kind only.
        match self {
            Self::Smtp { from, .. } => write!(f, "Transport::Smtp(from {from})"),
            Self::Files { dir, .. } => write!(f, "Transport::Files({})", dir.display()),
        }
    }
}

impl Transport {
    pub fn from_settings(settings: &Settings) -> Result<Self, MailError> {
        let m = &settings.mail;
        let from: Mailbox = m.from.parse().map_err(|e| MailError::From(format!("{e}")))?;
        if m.smtp_host.is_empty() {
            let dir = settings.data_dir.join("mail");
            return Ok(Self::Files { dir, from });
        }
        let mut tls = TlsParameters::builder(m.smtp_host.clone());
        if let Some(path) = m.ca_file.as_ref().filter(|p| !p.as_os_str().is_empty()) {
            let pem =
                std::fs::read(path).map_err(|e| MailError::CaFile { path: path.clone(), message: e.to_string() })?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| MailError::CaFile { path: path.clone(), message: e.to_string() })?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls.build_rustls().map_err(|e| MailError::Smtp(e.to_string()))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(m.smtp_host.as_str())
            .port(m.smtp_port)
            .timeout(Some(SMTP_TIMEOUT))
            .tls(match m.smtp_security {
                SmtpSecurity::Starttls => Tls::Required(tls),
                SmtpSecurity::Tls => Tls::Wrapper(tls),
                SmtpSecurity::None => Tls::None,
            });
        if !m.smtp_username.is_empty() {
            builder =
                builder.credentials(Credentials::new(m.smtp_username.clone(), m.smtp_password.expose().to_owned()));
        }
        Ok(Self::Smtp { relay: Box::new(builder.build()), from })
    }

    /// Whether mail goes to files (no relay configured).
    pub fn files_dir(&self) -> Option<&std::path::Path> {
        match self {
            Self::Files { dir, .. } => Some(dir),
            Self::Smtp { .. } => None,
        }
    }

    /// Delivers one mail; the error says why not, without secrets (it is stored for the operator).
    pub async fn deliver(&self, mail: &OutboxMail) -> Result<(), String> {
        let from = match self {
            Self::Smtp { from, .. } | Self::Files { from, .. } => from,
        };
        let message = build(from, mail)?;
        match self {
            Self::Smtp { relay, .. } => relay.send(message).await.map(drop).map_err(|e| e.to_string()),
            Self::Files { dir, .. } => {
                create_private_dir(dir).map_err(|e| e.to_string())?;
                let name = format!("{}-{}.eml", mail.created_at.as_second(), mail.id);
                // Written under another name and renamed, so that a reader never sees half a mail.
                let partial = dir.join(format!(".{name}.partial"));
                tokio::fs::write(&partial, message.formatted()).await.map_err(|e| e.to_string())?;
                tokio::fs::rename(&partial, dir.join(name)).await.map_err(|e| e.to_string())
            }
        }
    }
}

/// The message: plain text in UTF-8, base64-encoded (Japanese text survives any relay), with a
/// Message-ID derived from the outbox id, so that a retried delivery is recognisably the same.
fn build(from: &Mailbox, mail: &OutboxMail) -> Result<Message, String> {
    let to: Mailbox = mail.recipient.parse().map_err(|e| format!("recipient: {e}"))?;
    let domain = from.email.domain().to_owned();
    let part = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .header(ContentTransferEncoding::Base64)
        .body(mail.body.clone());
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.as_str())
        .message_id(Some(format!("<{}@{domain}>", mail.id)))
        .date(std::time::SystemTime::from(mail.created_at))
        .singlepart(part)
        .map_err(|e| e.to_string())
}

fn create_private_dir(path: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
