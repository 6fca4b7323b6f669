//! Password hashing with Argon2id (IAM-8). Hashes are PHC strings, so that parameters can be
//! raised later and old hashes still verify. Hashes imported from a previous system may be
//! bcrypt (`$2a$`, `$2b$`, `$2y$`): they verify too, and [`PasswordHasher::needs_rehash`] says
//! that they (and Argon2id hashes below the configured cost) should be replaced at the user's
//! next successful sign-in.

use argon2::password_hash::PasswordHasher as _;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Argon2's working memory (19 MiB at the default cost), kept between verifications: allocating
/// and zeroing a fresh block for every sign-in costs throughput, and the allocator keeps freed
/// blocks, so peak memory grew with every sign-in. Buffers are shared by the hasher's clones and
/// taken one per running verification, so there are never more than verifications ever ran at
/// once (the server bounds that to one per core), and [`PasswordHasher::release_memory`] gives
/// them back once no sign-in is waiting. Argon2 writes every block before reading it, so what a
/// previous hash left is never used.
#[derive(Default)]
struct Buffers {
    kept: Mutex<Vec<Vec<Block>>>,
    /// Working memories allocated so far (for tests).
    allocated: AtomicU64,
}

/// Argon2id cost parameters. The default is OWASP's recommendation (19 MiB, 2 passes, 1 lane).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Params {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self { memory_kib: 19_456, iterations: 2, parallelism: 1 }
    }
}

impl Argon2Params {
    /// Deliberately weak parameters for tests only: a hash takes well under a millisecond.
    pub const fn insecure_for_tests() -> Self {
        Self { memory_kib: 64, iterations: 1, parallelism: 1 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("invalid Argon2 parameters: {0}")]
    Params(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the stored password hash is malformed")]
    Malformed,
}

/// Hashes and verifies passwords. Cheap to clone; CPU-bound, so callers run it on a bounded
/// blocking pool.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    params: Argon2Params,
    /// A well-formed hash with the current parameters, a random salt and a random output,
    /// verified against when an account does not exist, so that a missing account takes as long to
    /// refuse as a wrong password. No password can match it (it is no password's hash), and making
    /// it costs nothing at start-up.
    dummy: String,
    buffers: Arc<Buffers>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher").field("params", &self.params).finish_non_exhaustive()
    }
}

impl PasswordHasher {
    pub fn new(params: Argon2Params) -> Result<Self, PasswordError> {
        let p = Params::new(params.memory_kib, params.iterations, params.parallelism, None)
            .map_err(|e| PasswordError::Params(e.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
        use base64::Engine as _;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes);
        let dummy = format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            params.memory_kib,
            params.iterations,
            params.parallelism,
            b64(&crate::token::random_bytes::<16>()),
            b64(&crate::token::random_bytes::<32>()),
        );
        // Parsing proves the string is well-formed, so verify() never fails on it.
        PasswordHash::new(&dummy).map_err(|e| PasswordError::Params(e.to_string()))?;
        Ok(Self { argon2, params, dummy, buffers: Arc::default() })
    }

    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// Hashes a password with a fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let salt = crate::token::random_bytes::<16>();
        self.argon2
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PasswordError::Hash(e.to_string()))
    }

    /// Checks a password against a stored hash; `None` (no such account) burns the same time and
    /// returns false. The hash's own parameters are used, so hashes made at an older cost still
    /// verify.
    pub fn verify(&self, stored: Option<&str>, password: &str) -> Result<bool, PasswordError> {
        let (hash, real) = match stored {
            Some(h) => (h, true),
            None => (self.dummy.as_str(), false),
        };
        if is_bcrypt(hash) {
            // bcrypt reads at most 72 bytes of a password, as the system that made the hash did.
            return bcrypt::verify(password, hash).map_err(|_| PasswordError::Malformed);
        }
        let parsed = PasswordHash::new(hash).map_err(|_| PasswordError::Malformed)?;
        if parsed.algorithm.as_str() != "argon2id" {
            return Err(PasswordError::Malformed);
        }
        let params = Params::try_from(&parsed).map_err(|_| PasswordError::Malformed)?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).map_err(|_| PasswordError::Malformed)?,
            None => Version::V0x13,
        };
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return Err(PasswordError::Malformed);
        };
        let argon2 = Argon2::new(Algorithm::Argon2id, version, params);
        let mut computed = vec![0u8; expected.len()];
        let blocks = argon2.params().block_count();
        let mut memory = self.kept().pop().unwrap_or_default();
        if memory.len() != blocks {
            memory = vec![Block::new(); blocks];
            self.buffers.allocated.fetch_add(1, Ordering::Relaxed);
        }
        let result =
            argon2.hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut computed, &mut memory[..]);
        // Only buffers of the current cost are worth keeping; an old hash's size is dropped.
        if blocks == self.argon2.params().block_count() {
            self.kept().push(memory);
        }
        result.map_err(|e| PasswordError::Hash(e.to_string()))?;
        let ok = crate::token::ct_eq(&computed, expected.as_bytes());
        Ok(ok && real)
    }

    /// Whether a stored hash should be replaced by a fresh one once the password is known: a
    /// bcrypt hash, or an Argon2id hash made at a lower cost than this hasher's.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        if is_bcrypt(stored) {
            return true;
        }
        let Ok(parsed) = PasswordHash::new(stored) else { return true };
        let Ok(params) = Params::try_from(&parsed) else { return true };
        parsed.algorithm.as_str() != "argon2id"
            || parsed.version.is_some_and(|v| v != 0x13)
            || params.m_cost() < self.params.memory_kib
            || params.t_cost() < self.params.iterations
    }

    /// Whether `stored` is a hash this hasher can verify, for importing accounts from a previous
    /// system: bcrypt (`$2a$`, `$2b$`, `$2y$`, cost 4–[`MAX_IMPORT_BCRYPT_COST`]) or an Argon2id
    /// PHC string with its salt and hash, at a cost no greater than [`MAX_IMPORT_ARGON2`]. The
    /// caps matter: a sign-in verifies at the hash's own cost, so an absurd one would let one
    /// imported row stall every sign-in.
    pub fn is_importable(stored: &str) -> bool {
        if is_bcrypt(stored) {
            return bcrypt_shape_ok(stored)
                && stored.parse::<bcrypt::HashParts>().is_ok_and(|p| p.get_cost() <= MAX_IMPORT_BCRYPT_COST);
        }
        let Ok(parsed) = PasswordHash::new(stored) else { return false };
        let Ok(params) = Params::try_from(&parsed) else { return false };
        let version_ok = parsed.version.is_none_or(|v| Version::try_from(v).is_ok());
        parsed.algorithm.as_str() == "argon2id"
            && version_ok
            && parsed.salt.is_some()
            && parsed.hash.as_ref().is_some_and(|h| h.len() >= 16)
            && params.m_cost() <= MAX_IMPORT_ARGON2.memory_kib
            && params.t_cost() <= MAX_IMPORT_ARGON2.iterations
            && params.p_cost() <= MAX_IMPORT_ARGON2.parallelism
    }

    /// Frees the working memory kept for verifications (call it when none is waiting): 19 MiB per
    /// verification that ran at once, returned to the operating system.
    pub fn release_memory(&self) {
        drop(std::mem::take(&mut *self.kept()));
    }

    /// How many working memories are kept, and how many were allocated so far (for tests).
    pub fn memory_stats(&self) -> (usize, u64) {
        (self.kept().len(), self.buffers.allocated.load(Ordering::Relaxed))
    }

    fn kept(&self) -> MutexGuard<'_, Vec<Vec<Block>>> {
        // A buffer is pushed or popped whole, so a poisoned list is still consistent.
        self.buffers.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The highest bcrypt cost accepted on import (about 2.5 s per sign-in at 15 on these CPUs,
/// before the hash is replaced by Argon2id at the first sign-in).
pub const MAX_IMPORT_BCRYPT_COST: u32 = 15;

/// The highest Argon2id cost accepted on import.
pub const MAX_IMPORT_ARGON2: Argon2Params = Argon2Params { memory_kib: 262_144, iterations: 10, parallelism: 8 };

fn is_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|prefix| hash.starts_with(prefix))
}

/// `$2b$NN$` followed by 53 characters of bcrypt's base64 (22 of salt, 31 of hash).
fn bcrypt_shape_ok(hash: &str) -> bool {
    let Some(rest) = hash.get(4..) else { return false };
    let Some((cost, body)) = rest.split_once('$') else { return false };
    let cost_ok = cost.len() == 2 && cost.parse::<u32>().is_ok_and(|c| (4..=31).contains(&c));
    let alphabet = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '/';
    cost_ok && body.len() == 53 && body.chars().all(alphabet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_8_argon2id_round_trip() {
        let h = PasswordHasher::new(Argon2Params::insecure_for_tests()).unwrap();
        let stored = h.hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(!stored.contains("correct horse"));
        assert!(h.verify(Some(&stored), "correct horse battery").unwrap());
        assert!(!h.verify(Some(&stored), "wrong").unwrap());
        assert!(!h.verify(None, "anything").unwrap());
        assert!(h.dummy.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{}", h.dummy);
        assert!(h.verify(Some("not a hash"), "x").is_err());
    }

    #[test]
    fn iam_8_hashes_made_at_another_cost_still_verify_and_memory_is_reused_safely() {
        let cheap = PasswordHasher::new(Argon2Params::insecure_for_tests()).unwrap();
        let dearer = PasswordHasher::new(Argon2Params { memory_kib: 256, iterations: 2, parallelism: 1 }).unwrap();
        let old = cheap.hash("pw-one").unwrap();
        let new = dearer.hash("pw-two").unwrap();
        // Alternate sizes on one thread: the reused working memory is resized each time.
        for _ in 0..3 {
            assert!(dearer.verify(Some(&old), "pw-one").unwrap());
            assert!(cheap.verify(Some(&new), "pw-two").unwrap());
            assert!(!cheap.verify(Some(&new), "pw-one").unwrap());
        }
        assert!(cheap.verify(Some("$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"), "x").is_err());
    }

    #[test]
    fn iam_8_imported_bcrypt_hashes_verify_and_are_marked_for_rehash() {
        let h = PasswordHasher::new(Argon2Params::insecure_for_tests()).unwrap();
        let b = bcrypt::hash("imported-secret", 4).unwrap();
        assert!(b.starts_with("$2b$04$"));
        // The three prefixes of the wild: $2a$ (most), $2b$ (current), $2y$ (PHP).
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let stored = format!("{prefix}{}", &b[4..]);
            assert!(PasswordHasher::is_importable(&stored), "{stored}");
            assert!(h.verify(Some(&stored), "imported-secret").unwrap(), "{prefix}");
            assert!(!h.verify(Some(&stored), "wrong").unwrap(), "{prefix}");
            assert!(h.needs_rehash(&stored));
        }
        let fresh = h.hash("x").unwrap();
        assert!(!h.needs_rehash(&fresh));
        assert!(PasswordHasher::is_importable(&fresh));
        let dearer = PasswordHasher::new(Argon2Params { memory_kib: 128, iterations: 1, parallelism: 1 }).unwrap();
        assert!(dearer.needs_rehash(&fresh), "hashes below the configured cost are upgraded");
        for bad in [
            "",
            "plain text",
            "$2b$99$abc",
            "$2x$10$abcdefghijklmnopqrstuv",
            "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA",
        ] {
            assert!(!PasswordHasher::is_importable(bad), "{bad}");
        }
    }

    #[test]
    fn iam_8_same_password_different_salt() {
        let h = PasswordHasher::new(Argon2Params::insecure_for_tests()).unwrap();
        assert_ne!(h.hash("pw").unwrap(), h.hash("pw").unwrap());
    }
}
