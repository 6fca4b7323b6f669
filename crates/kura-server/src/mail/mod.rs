//! Mail: the foundation of every notice Kura sends. A change that causes a mail queues it in the
//! outbox in its own transaction (`Write::enqueue_mail`); the sender task of every node delivers
//! due mail over SMTP (or to files, without a relay), retrying with backoff, and gives a mail up
//! only after its last attempt, visibly: the operator console lists it, and the tenant's log
//! records it. Templates are in Japanese and English, chosen by the recipient's language.

mod sender;
pub mod templates;
mod transport;

pub use sender::{deliver_due, spawn};
pub use transport::{MailError, Transport};

use crate::settings::Settings;
use std::sync::Arc;
use tokio::sync::Notify;

/// The node's mail sender: its transport, and the bell rung when this node queues a mail.
#[derive(Debug)]
pub struct Mailer {
    transport: Transport,
    wake: Notify,
}

impl Mailer {
    pub fn new(settings: &Settings) -> Result<Arc<Self>, MailError> {
        Ok(Arc::new(Self { transport: Transport::from_settings(settings)?, wake: Notify::new() }))
    }

    /// Asks the sender to look for due mail now (after a write that queued some has committed).
    pub fn kick(&self) {
        self.wake.notify_one();
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Waits until a mail is queued on this node.
    pub(crate) async fn wake_wait(&self) {
        self.wake.notified().await;
    }
}
