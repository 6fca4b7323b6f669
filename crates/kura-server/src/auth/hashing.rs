//! Password hashing on a bounded blocking pool: at most N hashes run at once (N = cores by
//! default), so a burst of sign-ins queues instead of starving every other request of CPU.

use kura_crypto::{PasswordError, PasswordHasher};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Clone, Debug)]
pub struct Hashing {
    hasher: PasswordHasher,
    permits: Arc<Semaphore>,
}

#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("the hashing pool is shut down")]
    Closed,
}

impl Hashing {
    pub fn new(hasher: PasswordHasher, threads: usize) -> Self {
        let threads =
            if threads == 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) } else { threads };
        Self { hasher, permits: Arc::new(Semaphore::new(threads)) }
    }

    pub async fn hash(&self, password: String) -> Result<String, HashingError> {
        self.run(move |h| h.hash(&password)).await
    }

    /// Verifies `password` against `stored`; with `None` it burns the same time and says no.
    pub async fn verify(&self, stored: Option<String>, password: String) -> Result<bool, HashingError> {
        self.run(move |h| h.verify(stored.as_deref(), &password)).await
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher) -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, HashingError> {
        let _permit = self.permits.acquire().await.map_err(|_| HashingError::Closed)?;
        let hasher = self.hasher.clone();
        let result = tokio::task::spawn_blocking(move || f(&hasher)).await.map_err(|_| HashingError::Closed)?;
        Ok(result?)
    }
}
