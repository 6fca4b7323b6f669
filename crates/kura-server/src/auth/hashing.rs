//! Password hashing on a bounded blocking pool: at most N hashes run at once (N = cores by
//! default), so a burst of sign-ins queues instead of starving every other request of CPU.
//!
//! Verifications keep Argon2's working memory (19 MiB each) for the next one while sign-ins are
//! waiting, and free it when the last of a burst is done: an idle server does not hold it.

use kura_crypto::{PasswordError, PasswordHasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;

#[derive(Clone, Debug)]
pub struct Hashing {
    hasher: PasswordHasher,
    permits: Arc<Semaphore>,
    /// Hashes running or waiting for a permit.
    demand: Arc<AtomicUsize>,
}

/// One hash counted in [`Hashing::demand`] until it is done or abandoned.
struct Demand(Arc<AtomicUsize>);

impl Demand {
    fn new(demand: &Arc<AtomicUsize>) -> Self {
        demand.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(demand))
    }
    /// Whether no other hash is running or waiting.
    fn alone(&self) -> bool {
        self.0.load(Ordering::Acquire) == 1
    }
}

impl Drop for Demand {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
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
        Self { hasher, permits: Arc::new(Semaphore::new(threads)), demand: Arc::default() }
    }

    pub async fn hash(&self, password: String) -> Result<String, HashingError> {
        self.run(move |h| h.hash(&password)).await
    }

    /// Verifies `password` against `stored`; with `None` it burns the same time and says no.
    pub async fn verify(&self, stored: Option<String>, password: String) -> Result<bool, HashingError> {
        self.run(move |h| h.verify(stored.as_deref(), &password)).await
    }

    /// [`Hashing::verify`] for a sign-in or a password check: a stored hash that cannot be read
    /// (edited outside Kura) refuses the password after taking as long as a real check, and is
    /// logged, instead of failing the request.
    pub async fn check(&self, stored: Option<String>, password: String) -> Result<bool, HashingError> {
        match self.verify(stored, password.clone()).await {
            Err(HashingError::Password(PasswordError::Malformed)) => {
                tracing::error!("a stored password hash cannot be read; the password is refused");
                self.verify(None, password).await
            }
            other => other,
        }
    }

    /// Whether a stored hash should be replaced once its password is known (IAM-8): see
    /// [`PasswordHasher::needs_rehash`].
    pub fn needs_rehash(&self, stored: &str) -> bool {
        self.hasher.needs_rehash(stored)
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher) -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, HashingError> {
        let demand = Demand::new(&self.demand);
        let _permit = self.permits.acquire().await.map_err(|_| HashingError::Closed)?;
        let hasher = self.hasher.clone();
        let result = tokio::task::spawn_blocking(move || {
            let result = f(&hasher);
            if demand.alone() {
                hasher.release_memory();
            }
            result
        })
        .await
        .map_err(|_| HashingError::Closed)?;
        Ok(result?)
    }

    /// See [`PasswordHasher::memory_stats`].
    pub fn memory_stats(&self) -> (usize, u64) {
        self.hasher.memory_stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kura_crypto::Argon2Params;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn iam_8_working_memory_is_reused_through_a_burst_and_freed_after_it() {
        let params = Argon2Params { memory_kib: 1024, iterations: 1, parallelism: 1 };
        let hashing = Hashing::new(PasswordHasher::new(params).unwrap(), 1);
        let stored = hashing.hash("correct horse battery".into()).await.unwrap();
        // A burst on one thread, all six asked for at once (`join!` polls each before any is
        // done): each verification waits for the one before and takes over its memory; the last
        // frees it.
        let verify = |password: &'static str| hashing.verify(Some(stored.clone()), password.into());
        let right = "correct horse battery";
        let outcomes = tokio::join!(
            verify(right),
            verify("wrong"),
            verify(right),
            verify("wrong"),
            verify(right),
            verify("wrong")
        );
        let outcomes = [outcomes.0, outcomes.1, outcomes.2, outcomes.3, outcomes.4, outcomes.5].map(Result::unwrap);
        assert_eq!(outcomes, [true, false, true, false, true, false]);
        let (kept, allocated) = hashing.memory_stats();
        assert_eq!(kept, 0, "nothing kept once the burst is over");
        assert!(allocated < 6, "memory is reused within a burst, not allocated {allocated} times");
        // A lone sign-in allocates, and frees again.
        assert!(hashing.verify(Some(stored), "correct horse battery".into()).await.unwrap());
        assert_eq!(hashing.memory_stats(), (0, allocated + 1));
    }
}
