//! The plaintext canary sweep's tools (DAT-2, DAT-3): canaries unique to one run, a search for
//! all of them in one pass that streams files of any size, and the files PostgreSQL keeps for a
//! test's databases (their pages, the WAL), found through the server itself.

use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Eight hex digits unique to this run, so that no other test's data in the same PostgreSQL
/// server (its WAL is shared by every database) can hold a canary, and this run's canaries are
/// not those a run before left in recycled WAL segments.
pub fn run_token() -> String {
    use std::hash::BuildHasher as _;
    // Seeded from the operating system's randomness.
    let random = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
    format!("{:08x}", random & 0xffff_ffff)
}

/// `token`'s characters as full-width letters and digits (`1a` → `１Ａ`).
pub fn full_width(token: &str) -> String {
    token.to_uppercase().chars().map(|c| char::from_u32(c as u32 + 0xfee0).unwrap_or(c)).collect()
}

/// Katakana for hex digits: full-width, and the half-width forms that normalise to them.
const KANA: [char; 16] =
    ['ア', 'イ', 'ウ', 'エ', 'オ', 'カ', 'キ', 'ク', 'ケ', 'コ', 'サ', 'シ', 'ス', 'セ', 'ソ', 'タ'];

/// `token`'s hex digits as full-width katakana.
pub fn kana(token: &str) -> String {
    token.chars().filter_map(|c| c.to_digit(16)).map(|d| KANA[d as usize]).collect()
}

/// `token`'s hex digits as half-width katakana (`ｱ` … `ﾀ`, U+FF71 on).
pub fn half_width_kana(token: &str) -> String {
    token.chars().filter_map(|c| c.to_digit(16)).filter_map(|d| char::from_u32(0xff71 + d)).collect()
}

/// The canaries, searched for together: a pass over the bytes looks up each pair of bytes in a
/// table of the canaries' first two, and compares only where one starts (rarely: most of a
/// database file or a WAL segment is zeros and binary headers).
#[derive(Debug)]
pub struct Canaries {
    needles: Vec<Vec<u8>>,
    starts: Vec<bool>,
    longest: usize,
}

/// How many of each canary one source held, in the order given.
pub type Counts = Vec<usize>;

impl Canaries {
    pub fn new(canaries: &[&str]) -> Self {
        let needles: Vec<Vec<u8>> = canaries.iter().map(|c| c.as_bytes().to_vec()).collect();
        assert!(needles.iter().all(|n| n.len() >= 2), "canaries of two bytes or more");
        let mut starts = vec![false; 1 << 16];
        for n in &needles {
            starts[(usize::from(n[0]) << 8) | usize::from(n[1])] = true;
        }
        let longest = needles.iter().map(Vec::len).max().unwrap_or(2);
        Self { needles, starts, longest }
    }

    pub fn names(&self) -> impl Iterator<Item = String> + '_ {
        self.needles.iter().map(|n| String::from_utf8_lossy(n).into_owned())
    }

    /// Adds the occurrences in `hay` that end at or after `hay[from]` to `counts` (those that
    /// end before were counted with the bytes before).
    fn add(&self, hay: &[u8], from: usize, counts: &mut Counts) {
        for (i, pair) in hay.windows(2).enumerate() {
            if !self.starts[(usize::from(pair[0]) << 8) | usize::from(pair[1])] {
                continue;
            }
            for (needle, n) in self.needles.iter().zip(counts.iter_mut()) {
                if i + needle.len() > from && hay[i..].starts_with(needle) {
                    *n += 1;
                }
            }
        }
    }

    /// The occurrences in `bytes`.
    pub fn count(&self, bytes: &[u8]) -> Counts {
        let mut counts = vec![0; self.needles.len()];
        self.add(bytes, 0, &mut counts);
        counts
    }

    /// The occurrences in the file at `path`, read a MiB at a time (a WAL segment is 16 MiB, and
    /// there may be many), keeping the last bytes of each read so that a canary across two
    /// reads is found once. Returns the counts and the bytes read.
    pub fn count_file(&self, path: &Path) -> std::io::Result<(Counts, u64)> {
        let mut file = std::fs::File::open(path)?;
        let mut counts = vec![0; self.needles.len()];
        let keep = self.longest - 1;
        let mut buf = vec![0u8; keep + (1 << 20)];
        let (mut kept, mut total) = (0usize, 0u64);
        loop {
            let n = file.read(&mut buf[kept..])?;
            if n == 0 {
                return Ok((counts, total));
            }
            total += n as u64;
            let end = kept + n;
            self.add(&buf[..end], kept, &mut counts);
            let carry = keep.min(end);
            buf.copy_within(end - carry..end, 0);
            kept = carry;
        }
    }
}

/// Where PostgreSQL's WAL is now, in bytes from its start; `url` as the superuser.
pub async fn wal_position(url: &str) -> u64 {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let at: i64 =
        sqlx::query_scalar("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::int8").fetch_one(&pool).await.unwrap();
    pool.close().await;
    u64::try_from(at).unwrap()
}

/// Where PostgreSQL keeps what Kura wrote to the test's database and its keystore: the
/// databases' own files (`base/<oid>/`), the shared catalogue (`global/`), temporary files
/// (`base/pgsql_tmp/`), the WAL segments that hold WAL written since position `since`
/// (`pg_wal/`, shared by the whole server: older WAL cannot hold a canary of this run, and
/// there may be a gigabyte of it), and the server's log when its collector writes one. Asks
/// the server for a `CHECKPOINT` first, so that the pages are in the files and not only in its
/// memory. `url` is the test database's, as the superuser. Returns the data directory, the
/// files, and whether the WAL since `since` is all still there (a busy server may have reused
/// the segment it began in: those bytes are then on no disk any more). `Err` says why the
/// files cannot be read from here (not readable by this user, or on another machine).
pub async fn pg_files(url: &str, since: u64) -> Result<(PathBuf, Vec<PathBuf>, bool), String> {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::query("CHECKPOINT").execute(&pool).await.unwrap();
    let segment: i64 = sqlx::query_scalar("SELECT setting::int8 FROM pg_settings WHERE name = 'wal_segment_size'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let data: String = sqlx::query_scalar("SHOW data_directory").fetch_one(&pool).await.unwrap();
    // The test's database and its keystore, `<name>_keys` (kura_store::testing).
    let oids: Vec<i64> = sqlx::query_scalar(
        "SELECT oid::int8 FROM pg_database WHERE datname IN (current_database(), current_database() || '_keys')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let log: Option<String> = sqlx::query_scalar("SELECT pg_current_logfile()").fetch_one(&pool).await.unwrap();
    let compression: String = sqlx::query_scalar("SHOW wal_compression").fetch_one(&pool).await.unwrap();
    pool.close().await;
    assert_eq!(oids.len(), 2, "the test's database and its keystore");
    if compression != "off" {
        // Full-page images in the WAL are compressed: a canary in one would not be seen.
        eprintln!("canary sweep: wal_compression is {compression}; full-page images in the WAL are not searchable");
    }
    let data = PathBuf::from(data);
    let mut dirs: Vec<PathBuf> = oids.iter().map(|oid| data.join("base").join(oid.to_string())).collect();
    dirs.extend([data.join("global"), data.join("pg_wal")]);
    let mut files = Vec::new();
    for dir in &dirs {
        let listed = files_in(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        files.extend(listed);
    }
    let segment = u64::try_from(segment).unwrap();
    let mut oldest = u64::MAX;
    files.retain(|f| {
        if !f.parent().is_some_and(|d| d.ends_with("pg_wal")) {
            return true;
        }
        match wal_address(f) {
            Ok(at) if at.saturating_add(segment) > since => {
                oldest = oldest.min(at);
                true
            }
            Ok(_) => false,
            // Kept, so that reading it fails visibly.
            Err(e) => e.kind() != std::io::ErrorKind::NotFound && e.kind() != std::io::ErrorKind::UnexpectedEof,
        }
    });
    let intact = oldest <= since;
    // Only while a query spills to disk; usually absent.
    files.extend(files_in(&data.join("base/pgsql_tmp")).unwrap_or_default());
    if let Some(log) = log {
        files.push(data.join(log));
    }
    Ok((data, files, intact))
}

/// Where in the WAL the segment file at `path` begins. Not its name but its first page says so:
/// a checkpoint renames old segments for reuse (to names ahead of the WAL), and they keep their
/// contents until they are written again.
fn wal_address(path: &Path) -> std::io::Result<u64> {
    let mut header = [0u8; 16];
    std::fs::File::open(path)?.read_exact(&mut header)?;
    // The page header: magic (2 bytes), info (2), timeline (4), then the page's address.
    Ok(u64::from_le_bytes([
        header[8], header[9], header[10], header[11], header[12], header[13], header[14], header[15],
    ]))
}

/// Every file under `dir`, recursively; an error if `dir` cannot be read.
fn files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(files_in(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

#[test]
fn canaries_are_counted_once_across_reads_and_in_every_form() {
    let c = Canaries::new(&["abc", "金庫"]);
    assert_eq!(c.count(b"xxabcabc"), [2, 0]);
    // Across the boundary of two reads: a file of a MiB and a bit, the canaries on the edge.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let mut bytes = vec![0u8; (1 << 20) - 1];
    bytes.extend_from_slice("abc金庫abc".as_bytes());
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(c.count_file(&path).unwrap(), (vec![2, 1], bytes.len() as u64));
    assert_eq!(half_width_kana("0f"), "ｱﾀ");
    assert_eq!(kura_crypto::vault::normalise(&half_width_kana("0123456789abcdef")), kana("0123456789abcdef"));
    assert_eq!(kura_crypto::vault::normalise(&full_width("09af")), "09af");
}
