//! The backup's files on disk: the sealed file written through zstd and the backup key's
//! encryption (`seal_file`) and read back (`open_file`), their digests checked against the
//! manifest (`check_digests`), private directories, synced writes and copies, and the scratch
//! directory a downloaded backup is verified or restored from.

use super::{BackupError, FileEntry, Meter, io_at, meter};
use kura_crypto::hex;
use kura_crypto::vault::{BackupKey, OpenReader, SealWriter};
use kura_store::backup::Snapshot;
use sha2::{Digest as _, Sha256};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// zstd's level: its default, about as fast as the disk on two cores.
const ZSTD_LEVEL: i32 = 3;

/// A private scratch directory beside the backups, removed when dropped.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// A new name for a scratch directory in `dir` (not created).
    pub(super) fn name(dir: &Path, what: &str) -> Self {
        let tag: String = kura_crypto::random_bytes::<6>().iter().map(|b| format!("{b:02x}")).collect();
        Self(dir.join(format!(".{what}-{tag}")))
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What is bound into every chunk of a backup's file: the backup's id and the file's name.
pub(super) fn file_context(id: &str, file: &str) -> Vec<u8> {
    format!("{id}/{file}").into_bytes()
}

/// Counts and hashes what goes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Compresses and encrypts `snapshot` into the new file `path` (mode 0600, synced); returns
/// the bytes read, the bytes written and their SHA-256.
pub(super) fn seal_file(
    snapshot: Snapshot,
    path: &Path,
    key: &BackupKey,
    context: &[u8],
    meter: Arc<Meter>,
) -> Result<(u64, u64, String), BackupError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io_at(path))?;
    let fail = |source| BackupError::Io { path: path.to_owned(), source };
    let hashing = Hashing { inner: io::BufWriter::with_capacity(1 << 20, file), hasher: Sha256::new(), bytes: 0 };
    let sealed = SealWriter::new(key, context, hashing).map_err(fail)?;
    let mut zstd = zstd::stream::Encoder::new(sealed, ZSTD_LEVEL).map_err(fail)?;
    let mut metered = meter::Metered { inner: snapshot, meter };
    let plain = io::copy(&mut metered, &mut zstd).map_err(fail)?;
    let snapshot = metered.inner;
    let hashing = zstd.finish().and_then(SealWriter::finish).map_err(fail)?;
    let (size, digest) = (hashing.bytes, hex(&hashing.hasher.finalize()));
    let file = hashing.inner.into_inner().map_err(|e| fail(e.into_error()))?;
    file.sync_all().map_err(fail)?;
    snapshot.finish()?;
    Ok((plain, size, digest))
}

/// Decrypts and decompresses the backup file `path` into `out`; returns the bytes written, or
/// why the file does not open.
pub(super) fn open_file(
    path: &Path,
    key: &BackupKey,
    context: &[u8],
    out: &mut impl Write,
    meter: Arc<Meter>,
) -> Result<u64, String> {
    let file = meter::Metered { inner: std::fs::File::open(path).map_err(|e| e.to_string())?, meter };
    let opened =
        OpenReader::new(key, context, io::BufReader::with_capacity(1 << 20, file)).map_err(|e| e.to_string())?;
    let mut zstd = zstd::stream::Decoder::new(opened).map_err(|e| e.to_string())?;
    io::copy(&mut zstd, out).map_err(|e| e.to_string())
}

/// Checks every file of a manifest against its size and digest, naming the first that differs.
pub(super) fn check_digests(dir: &Path, backup: &str, files: &[FileEntry], meter: &Meter) -> Result<(), BackupError> {
    for f in files {
        let path = dir.join(&f.name);
        let corrupt = |why: String| BackupError::Corrupt { backup: backup.to_owned(), file: path.clone(), why };
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) => return Err(corrupt(format!("it cannot be read: {e}"))),
        };
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(|e| corrupt(format!("it cannot be read: {e}")))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
            meter.add(n as u64);
        }
        if size != f.size {
            return Err(corrupt(format!("it has {size} bytes, and the signed manifest says {}", f.size)));
        }
        if hex(&hasher.finalize()) != f.sha256 {
            return Err(corrupt("its SHA-256 digest differs from the one in the signed manifest".to_owned()));
        }
    }
    Ok(())
}

pub(super) fn private_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new().mode(0o700).create(path)
}

pub(super) fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

pub(super) fn copy_synced(from: &Path, to: &Path) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut input = std::fs::File::open(from)?;
    let mut out = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(to)?;
    io::copy(&mut input, &mut out)?;
    out.sync_all()
}

pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}
