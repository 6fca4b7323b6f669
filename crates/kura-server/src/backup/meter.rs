//! How far the running backup job is, in bytes, for a progress bar: the command line polls it
//! while a backup, a verification or a restore runs. One job runs at a time in a process
//! (`Jobs`), so one meter per kind of backups is enough; each job starts it afresh.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes done of bytes to do (0: not known).
#[derive(Debug, Default)]
pub struct Meter {
    done: AtomicU64,
    total: AtomicU64,
}

impl Meter {
    /// A new job of `total` bytes (0 when the size is not known, as with `pg_dump`).
    pub fn start(&self, total: u64) {
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }
    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }
    /// Bytes done and bytes to do (0: not known).
    pub fn get(&self) -> (u64, u64) {
        (self.done.load(Ordering::Relaxed), self.total.load(Ordering::Relaxed))
    }
}

/// A reader that counts what is read through it on a meter.
pub(super) struct Metered<R> {
    pub(super) inner: R,
    pub(super) meter: Arc<Meter>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.meter.add(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_1_the_meter_counts_the_bytes_read_through_it() {
        let meter = Arc::new(Meter::default());
        meter.start(10);
        let mut r = Metered { inner: &b"0123456789"[..], meter: Arc::clone(&meter) };
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(meter.get(), (10, 10));
        meter.start(0);
        assert_eq!(meter.get(), (0, 0));
    }
}
