//! Backups (OPS-1): the installation's backup key and the encrypted stream format of a backup's
//! files. The key is wrapped by the master key like a tenant key (purpose `backup`, bound to
//! [`BACKUP_KEY_OWNER`] instead of a tenant id) and kept in the keystore, apart from the
//! backups it opens.
//!
//! A file is `KURABK1\0`, a random 32-byte salt, then chunks of AES-256-GCM: each 64 KiB of
//! plaintext (the last one shorter, possibly empty) with its 16-byte tag. The file's key is
//! HMAC-SHA-256 of the backup key over the salt, so every file has a key of its own and the
//! nonce can be the chunk counter with a flag for the last chunk (the STREAM construction):
//! chunks cannot be reordered, dropped or cut off at the end without the file failing to open.
//! The caller's context (backup id and file name) is bound into every chunk, so a file moved
//! to another backup or name does not open either.

use super::keys::{KEY_LEN, KeyPurpose, KeyVersion, TenantKey, aes};
use crate::token::{random_bytes, sha256};
use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Payload};
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use std::fmt;
use std::io::{self, Read, Write};
use zeroize::Zeroizing;

/// What a backup key is wrapped under in place of a tenant id.
pub const BACKUP_KEY_OWNER: &[u8] = b"kura.backup-key";

const MAGIC: &[u8; 8] = b"KURABK1\0";
const SALT_LEN: usize = 32;
const TAG_LEN: usize = 16;
/// Plaintext bytes per chunk.
pub const CHUNK_LEN: usize = 64 * 1024;

/// The backup key, unwrapped, in memory only.
#[derive(Clone, PartialEq, Eq)]
pub struct BackupKey(TenantKey);

impl fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupKey").field("version", &self.version()).finish_non_exhaustive()
    }
}

impl BackupKey {
    pub fn generate(version: KeyVersion) -> Self {
        Self(TenantKey::generate(KeyPurpose::Backup, version))
    }
    /// Only a key of purpose `backup` becomes a backup key.
    pub fn from_tenant_key(key: TenantKey) -> Option<Self> {
        (key.purpose() == KeyPurpose::Backup).then_some(Self(key))
    }
    pub fn version(&self) -> KeyVersion {
        self.0.version()
    }
    /// The key to hand to `KeyProvider::wrap`.
    pub fn as_tenant_key(&self) -> &TenantKey {
        &self.0
    }
    fn bytes(&self) -> &[u8; KEY_LEN] {
        self.0.key_bytes()
    }
    /// The key's public name, written into each backup's manifest: the first 8 bytes of a
    /// domain-separated SHA-256 of the key, in hex. It tells a wrong key from a damaged file
    /// without revealing anything usable.
    pub fn fingerprint(&self) -> String {
        let mut input = Zeroizing::new(Vec::with_capacity(32 + KEY_LEN));
        input.extend_from_slice(b"kura.backup-key-id.v1\0");
        input.extend_from_slice(self.bytes());
        sha256(&input)[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
    /// The key of one file, from its salt.
    fn file_cipher(&self, salt: &[u8; SALT_LEN]) -> Aes256Gcm {
        #[allow(clippy::expect_used, reason = "HMAC accepts keys of every length")]
        let mut mac = <Hmac<Sha256>>::new_from_slice(self.bytes()).expect("HMAC takes keys of any length");
        mac.update(b"kura.backup.file.v1\0");
        mac.update(salt);
        let key: Zeroizing<[u8; KEY_LEN]> = Zeroizing::new(mac.finalize().into_bytes().into());
        aes(&key)
    }
}

/// Why a backup file did not open.
#[derive(Debug, thiserror::Error)]
pub enum BackupFileError {
    #[error("not a Kura backup file")]
    NotABackupFile,
    #[error("it does not open with this backup key: altered, or encrypted under another key or for another file")]
    DoesNotOpen,
    #[error("it is cut off")]
    Truncated,
    #[error("it has bytes after its end")]
    TrailingBytes,
}

impl From<BackupFileError> for io::Error {
    fn from(e: BackupFileError) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

fn nonce(counter: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    n
}

fn chunk_aad(context: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + context.len());
    super::put_field(&mut aad, b"kura.backup.chunk.v1");
    super::put_field(&mut aad, context);
    aad
}

/// Encrypts what is written to it into `inner`; [`SealWriter::finish`] writes the last chunk.
pub struct SealWriter<W: Write> {
    inner: W,
    cipher: Aes256Gcm,
    aad: Vec<u8>,
    counter: u64,
    buf: Zeroizing<Vec<u8>>,
}

impl<W: Write> fmt::Debug for SealWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealWriter").field("chunks", &self.counter).finish_non_exhaustive()
    }
}

impl<W: Write> SealWriter<W> {
    /// Writes the header to `inner`. `context` names the file (backup id and file name).
    pub fn new(key: &BackupKey, context: &[u8], mut inner: W) -> io::Result<Self> {
        let salt = random_bytes::<SALT_LEN>();
        inner.write_all(MAGIC)?;
        inner.write_all(&salt)?;
        Ok(Self {
            inner,
            cipher: key.file_cipher(&salt),
            aad: chunk_aad(context),
            counter: 0,
            buf: Zeroizing::new(Vec::with_capacity(CHUNK_LEN)),
        })
    }

    fn emit(&mut self, len: usize, last: bool) -> io::Result<()> {
        let ct = self
            .cipher
            .encrypt((&nonce(self.counter, last)).into(), Payload { msg: &self.buf[..len], aad: &self.aad })
            .map_err(|_| io::Error::other("backup chunk could not be encrypted"))?;
        self.inner.write_all(&ct)?;
        self.buf.drain(..len);
        self.counter += 1;
        Ok(())
    }

    /// Writes the last chunk (shorter than a full one, possibly empty) and returns `inner`.
    pub fn finish(mut self) -> io::Result<W> {
        let len = self.buf.len();
        self.emit(len, true)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for SealWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let take = data.len().min(CHUNK_LEN - self.buf.len());
        self.buf.extend_from_slice(&data[..take]);
        // A full chunk is never the last one: the last is always shorter, so a reader tells it
        // by its length.
        if self.buf.len() == CHUNK_LEN {
            self.emit(CHUNK_LEN, false)?;
        }
        Ok(take)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Decrypts a file written by [`SealWriter`]; every chunk is authenticated before its bytes are
/// handed out, and a file cut off or extended is an error, never a short read.
pub struct OpenReader<R: Read> {
    inner: R,
    cipher: Aes256Gcm,
    aad: Vec<u8>,
    counter: u64,
    plain: Zeroizing<Vec<u8>>,
    pos: usize,
    done: bool,
}

impl<R: Read> fmt::Debug for OpenReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenReader").field("chunks", &self.counter).finish_non_exhaustive()
    }
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<R: Read> OpenReader<R> {
    /// Reads the header of `inner`; `context` must be the one the file was written with.
    pub fn new(key: &BackupKey, context: &[u8], mut inner: R) -> io::Result<Self> {
        let mut header = [0u8; MAGIC.len() + SALT_LEN];
        if read_full(&mut inner, &mut header)? < header.len() || &header[..MAGIC.len()] != MAGIC {
            return Err(BackupFileError::NotABackupFile.into());
        }
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&header[MAGIC.len()..]);
        Ok(Self {
            inner,
            cipher: key.file_cipher(&salt),
            aad: chunk_aad(context),
            counter: 0,
            plain: Zeroizing::new(Vec::new()),
            pos: 0,
            done: false,
        })
    }

    fn next_chunk(&mut self) -> io::Result<()> {
        let mut ct = vec![0u8; CHUNK_LEN + TAG_LEN];
        let n = read_full(&mut self.inner, &mut ct)?;
        if n < TAG_LEN {
            return Err(BackupFileError::Truncated.into());
        }
        let last = n < ct.len();
        let plain = self
            .cipher
            .decrypt((&nonce(self.counter, last)).into(), Payload { msg: &ct[..n], aad: &self.aad })
            .map_err(|_| BackupFileError::DoesNotOpen)?;
        self.counter += 1;
        self.plain = Zeroizing::new(plain);
        self.pos = 0;
        if last {
            self.done = true;
            let mut extra = [0u8; 1];
            if read_full(&mut self.inner, &mut extra)? > 0 {
                return Err(BackupFileError::TrailingBytes.into());
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for OpenReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = out.len().min(self.plain.len() - self.pos);
        out[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(len: usize) {
        let key = BackupKey::generate(KeyVersion::FIRST);
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let mut w = SealWriter::new(&key, b"b1/database", Vec::new()).unwrap();
        w.write_all(&data).unwrap();
        let sealed = w.finish().unwrap();
        let mut back = Vec::new();
        OpenReader::new(&key, b"b1/database", &sealed[..]).unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back, data, "length {len}");
    }

    #[test]
    fn ops_1_backup_files_round_trip_at_every_chunk_boundary() {
        for len in [0, 1, CHUNK_LEN - 1, CHUNK_LEN, CHUNK_LEN + 1, 3 * CHUNK_LEN] {
            roundtrip(len);
        }
    }

    #[test]
    fn ops_1_backup_files_refuse_another_key_context_and_any_change() {
        let key = BackupKey::generate(KeyVersion::FIRST);
        let data = vec![42u8; 2 * CHUNK_LEN + 10];
        let mut w = SealWriter::new(&key, b"ctx", Vec::new()).unwrap();
        w.write_all(&data).unwrap();
        let sealed = w.finish().unwrap();
        let open = |key: &BackupKey, ctx: &[u8], bytes: &[u8]| {
            let mut out = Vec::new();
            OpenReader::new(key, ctx, bytes).and_then(|mut r| r.read_to_end(&mut out)).map(|_| out)
        };
        assert!(open(&key, b"ctx", &sealed).is_ok());
        assert!(open(&BackupKey::generate(KeyVersion::FIRST), b"ctx", &sealed).is_err(), "another key");
        assert!(open(&key, b"other", &sealed).is_err(), "another file");
        let mut flipped = sealed.clone();
        flipped[100] ^= 1;
        assert!(open(&key, b"ctx", &flipped).is_err(), "a flipped byte");
        let cut = &sealed[..MAGIC.len() + SALT_LEN + CHUNK_LEN + TAG_LEN];
        assert!(open(&key, b"ctx", cut).is_err(), "cut off at a chunk boundary");
        let mut longer = sealed.clone();
        longer.push(0);
        assert!(open(&key, b"ctx", &longer).is_err(), "bytes appended");
        assert!(open(&key, b"ctx", b"plain text").is_err(), "not a backup file");
        assert_ne!(key.fingerprint(), BackupKey::generate(KeyVersion::FIRST).fingerprint());
    }
}
