//! A file to import, spooled to disk (DAT-6), so that an import holds a few buffers of it in
//! memory however large it is.
//!
//! [`Spool`] takes the upload in pieces as they arrive and writes them to an anonymous temporary
//! file (created 0600 and already unlinked, so it is gone when the [`Upload`] is dropped, when
//! the request fails, even when the process dies; the console's spool has a name, in a 0700
//! directory, so that it can be kept between preview and import: [`super::staged`]), counting its bytes against
//! `limits.import_max_bytes`, hashing it (SHA-256) and checking on the way whether it is
//! binary, valid UTF-8 and valid Shift_JIS. [`Upload::text`] then reads it, as often as needed,
//! as UTF-8 text decoded with `encoding_rs` one chunk at a time.

use crate::error::{AppError, AppResult};
use encoding_rs::{Decoder, DecoderResult, SHIFT_JIS, UTF_8};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The piece of the file read or decoded at a time.
pub const CHUNK: usize = 64 * 1024;

/// What an upload is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8; a byte order mark at the start is skipped.
    Utf8,
    ShiftJis,
}

impl TextEncoding {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::ShiftJis => "Shift_JIS",
        }
    }
    fn decoder(self) -> Decoder {
        match self {
            Self::Utf8 => UTF_8.new_decoder_with_bom_removal(),
            Self::ShiftJis => SHIFT_JIS.new_decoder_without_bom_handling(),
        }
    }
}

/// A whole upload on disk, with what was learnt while it was written.
#[derive(Debug)]
pub struct Upload {
    file: File,
    /// The file's name when it has one ([`Spool::new_in`]); deleted with the upload.
    path: Option<tempfile::TempPath>,
    bytes: u64,
    sha256: [u8; 32],
    binary: bool,
    utf8: bool,
    sjis: bool,
}

impl Upload {
    /// The file's size in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
    /// The SHA-256 of the file, lower-case hex.
    pub fn sha256_hex(&self) -> String {
        kura_crypto::hex(&self.sha256)
    }
    /// Whether the file holds control bytes that no text file holds (NUL and the like).
    pub fn is_binary(&self) -> bool {
        self.binary
    }
    /// Whether the whole file is valid in `encoding`.
    pub fn is_valid(&self, encoding: TextEncoding) -> bool {
        match encoding {
            TextEncoding::Utf8 => self.utf8,
            TextEncoding::ShiftJis => self.sjis,
        }
    }
    /// The file from its start, decoded to UTF-8 text a chunk at a time. Each call starts a new,
    /// independent reading.
    pub fn text(&self, encoding: TextEncoding) -> AppResult<TextReader> {
        let file = self.file.try_clone().map_err(|e| AppError::Internal(Box::new(e)))?;
        Ok(TextReader {
            file,
            pos: 0,
            end: self.bytes,
            decoder: encoding.decoder(),
            raw: vec![0; CHUNK],
            raw_at: 0,
            raw_len: 0,
            out: vec![0; 3 * CHUNK + 16],
            out_at: 0,
            out_len: 0,
            done: false,
        })
    }
    /// Spools `bytes` already in memory (an upload that came base64 in JSON).
    pub fn from_bytes(bytes: &[u8], max: usize) -> AppResult<Self> {
        let mut spool = Spool::new(max)?;
        for piece in bytes.chunks(CHUNK) {
            spool.write(piece)?;
        }
        spool.finish()
    }
    /// Keeps the file at `path` instead of deleting it with the upload (a named spool only).
    pub fn persist(self, path: &Path) -> AppResult<()> {
        let Some(temp) = self.path else {
            return Err(AppError::Internal("an anonymous spool cannot be kept".into()));
        };
        temp.persist(path).map_err(|e| AppError::Internal(Box::new(e.error)))
    }
    /// An upload kept earlier ([`Upload::persist`]), read through once again to learn its size,
    /// digest and encodings. It stays where it is when this is dropped.
    pub fn open(path: &Path, max: usize) -> AppResult<Self> {
        let file = File::open(path).map_err(|e| AppError::Internal(Box::new(e)))?;
        let mut scan = Scan::new(max);
        let mut buf = vec![0; CHUNK];
        let mut pos = 0;
        loop {
            let n = file.read_at(&mut buf, pos).map_err(|e| AppError::Internal(Box::new(e)))?;
            if n == 0 {
                break;
            }
            pos += n as u64;
            scan.take(&buf[..n])?;
        }
        Ok(scan.finish(file, None))
    }
    /// Spools everything `reader` gives (a file named on the command line).
    pub fn from_reader(mut reader: impl Read, max: usize) -> AppResult<Self> {
        let mut spool = Spool::new(max)?;
        let mut buf = vec![0; CHUNK];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(AppError::BadRequest(format!("the file cannot be read: {e}"))),
            };
            spool.write(&buf[..n])?;
        }
        spool.finish()
    }
}

/// An upload being written.
pub struct Spool {
    file: File,
    path: Option<tempfile::TempPath>,
    scan: Scan,
}

impl Spool {
    /// An empty spool that takes at most `max` bytes: an anonymous file in the system's
    /// temporary directory.
    pub fn new(max: usize) -> AppResult<Self> {
        let file = tempfile::tempfile().map_err(|e| AppError::Internal(Box::new(e)))?;
        Ok(Self { file, path: None, scan: Scan::new(max) })
    }

    /// An empty spool with a name in `dir` (0600), so that the upload can be kept
    /// ([`Upload::persist`]); deleted when dropped otherwise.
    pub fn new_in(dir: &Path, max: usize) -> AppResult<Self> {
        let (file, path) =
            tempfile::NamedTempFile::new_in(dir).map_err(|e| AppError::Internal(Box::new(e)))?.into_parts();
        Ok(Self { file, path: Some(path), scan: Scan::new(max) })
    }

    /// Appends the next piece; refuses the upload once it is larger than the limit.
    pub fn write(&mut self, piece: &[u8]) -> AppResult<()> {
        self.scan.take(piece)?;
        self.file.write_all(piece).map_err(|e| AppError::Internal(Box::new(e)))
    }

    /// The whole upload, ready to read.
    pub fn finish(mut self) -> AppResult<Upload> {
        self.file.flush().map_err(|e| AppError::Internal(Box::new(e)))?;
        Ok(self.scan.finish(self.file, self.path))
    }
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool").field("bytes", &self.scan.bytes).finish_non_exhaustive()
    }
}

/// What is learnt of a file while it goes by: size (within the limit), digest, binary bytes and
/// which encodings it is valid in.
struct Scan {
    max: usize,
    bytes: u64,
    hash: Sha256,
    binary: bool,
    utf8: Validity,
    sjis: Validity,
}

impl Scan {
    fn new(max: usize) -> Self {
        Self {
            max,
            bytes: 0,
            hash: Sha256::new(),
            binary: false,
            utf8: Validity::new(TextEncoding::Utf8),
            sjis: Validity::new(TextEncoding::ShiftJis),
        }
    }

    fn take(&mut self, piece: &[u8]) -> AppResult<()> {
        self.bytes += piece.len() as u64;
        if self.bytes > self.max as u64 {
            return Err(AppError::BadRequest(format!("the file is larger than the limit of {} bytes", self.max)));
        }
        self.binary |= piece.iter().any(|b| matches!(b, 0x00..=0x08 | 0x0b | 0x0c | 0x0e..=0x1a | 0x1c..=0x1f | 0x7f));
        self.hash.update(piece);
        self.utf8.feed(piece, false);
        self.sjis.feed(piece, false);
        Ok(())
    }

    fn finish(mut self, file: File, path: Option<tempfile::TempPath>) -> Upload {
        self.utf8.feed(&[], true);
        self.sjis.feed(&[], true);
        Upload {
            file,
            path,
            bytes: self.bytes,
            sha256: self.hash.finalize().into(),
            binary: self.binary,
            utf8: self.utf8.valid,
            sjis: self.sjis.valid,
        }
    }
}

/// Whether what was fed so far decodes without a malformed sequence.
struct Validity {
    decoder: Decoder,
    valid: bool,
    scratch: Vec<u8>,
}

impl Validity {
    fn new(encoding: TextEncoding) -> Self {
        Self { decoder: encoding.decoder(), valid: true, scratch: vec![0; 3 * CHUNK + 16] }
    }

    fn feed(&mut self, mut piece: &[u8], last: bool) {
        while self.valid {
            let (result, read, _) = self.decoder.decode_to_utf8_without_replacement(piece, &mut self.scratch, last);
            piece = &piece[read..];
            match result {
                DecoderResult::InputEmpty => return,
                DecoderResult::OutputFull => {}
                DecoderResult::Malformed(..) => self.valid = false,
            }
        }
    }
}

/// An upload read as UTF-8 text ([`Upload::text`]). A malformed sequence is an
/// [`io::ErrorKind::InvalidData`] error.
pub struct TextReader {
    file: File,
    pos: u64,
    end: u64,
    decoder: Decoder,
    raw: Vec<u8>,
    raw_at: usize,
    raw_len: usize,
    out: Vec<u8>,
    out_at: usize,
    out_len: usize,
    done: bool,
}

impl std::fmt::Debug for TextReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextReader").field("pos", &self.pos).field("end", &self.end).finish_non_exhaustive()
    }
}

impl Read for TextReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_at < self.out_len {
                let n = buf.len().min(self.out_len - self.out_at);
                buf[..n].copy_from_slice(&self.out[self.out_at..self.out_at + n]);
                self.out_at += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            if self.raw_at == self.raw_len && self.pos < self.end {
                let want = CHUNK.min((self.end - self.pos) as usize);
                let n = self.file.read_at(&mut self.raw[..want], self.pos)?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the spooled file is shorter than written",
                    ));
                }
                self.pos += n as u64;
                (self.raw_at, self.raw_len) = (0, n);
            }
            let last = self.pos >= self.end;
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.raw[self.raw_at..self.raw_len],
                &mut self.out,
                last,
            );
            self.raw_at += read;
            (self.out_at, self.out_len) = (0, written);
            match result {
                DecoderResult::InputEmpty => self.done = last,
                DecoderResult::OutputFull => {}
                DecoderResult::Malformed(..) => {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "the file is not valid in its encoding"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::transfer::format::to_sjis;

    fn read_all(upload: &Upload, encoding: TextEncoding) -> String {
        let mut text = String::new();
        upload.text(encoding).unwrap().read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn dat_6_a_spooled_upload_is_decoded_across_chunk_boundaries_in_either_encoding() {
        // Multi-byte characters straddle every chunk boundary somewhere in a file this long.
        let line = "山田 太郎,ﾔﾏﾀﾞ ﾀﾛｳ,\"東京都, 千代田区\"\r\n";
        let text: String = std::iter::repeat_n(line, 3 * CHUNK / line.len() + 7).collect();
        let mut with_bom = "\u{feff}".as_bytes().to_vec();
        with_bom.extend_from_slice(text.as_bytes());
        let utf8 = Upload::from_bytes(&with_bom, usize::MAX).unwrap();
        assert!(utf8.is_valid(TextEncoding::Utf8) && !utf8.is_binary());
        assert_eq!(read_all(&utf8, TextEncoding::Utf8), text, "the byte order mark is skipped");
        assert_eq!(utf8.sha256_hex(), kura_crypto::hex(&kura_crypto::sha256(&with_bom)));
        // Read twice: each reading starts from the beginning.
        assert_eq!(read_all(&utf8, TextEncoding::Utf8), text);
        let sjis_bytes = to_sjis(&text).unwrap();
        let sjis = Upload::from_reader(&sjis_bytes[..], usize::MAX).unwrap();
        assert!(sjis.is_valid(TextEncoding::ShiftJis) && !sjis.is_valid(TextEncoding::Utf8));
        assert_eq!(read_all(&sjis, TextEncoding::ShiftJis), text);
        assert_eq!(sjis.bytes(), sjis_bytes.len() as u64);
        let mut err = String::new();
        let e = sjis.text(TextEncoding::Utf8).unwrap().read_to_string(&mut err).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn dat_6_spooling_learns_which_encodings_fit_and_refuses_binary_files() {
        let sjis = Upload::from_bytes(&to_sjis("氏名\r\nｶﾅ\r\n").unwrap(), 4096).unwrap();
        assert!(!sjis.is_valid(TextEncoding::Utf8) && sjis.is_valid(TextEncoding::ShiftJis));
        assert_eq!(read_all(&sjis, TextEncoding::ShiftJis), "氏名\r\nｶﾅ\r\n");
        let bom = Upload::from_bytes("\u{feff}氏名\n".as_bytes(), 4096).unwrap();
        assert!(bom.is_valid(TextEncoding::Utf8));
        assert_eq!(read_all(&bom, TextEncoding::Utf8), "氏名\n");
        // A truncated multi-byte character at the very end is not valid text.
        assert!(!Upload::from_bytes(&"氏".as_bytes()[..2], 4096).unwrap().is_valid(TextEncoding::Utf8));
    }

    #[test]
    fn dat_6_a_spool_refuses_a_file_over_the_limit_and_notices_binary_bytes() {
        let e = Upload::from_bytes(&[b'a'; 5000], 4096).unwrap_err();
        assert!(e.to_string().contains("larger than the limit of 4096 bytes"), "{e}");
        assert!(Upload::from_bytes(b"PK\x03\x04\x00\x00", 4096).unwrap().is_binary());
        let empty = Upload::from_bytes(b"", 4096).unwrap();
        assert_eq!(read_all(&empty, TextEncoding::Utf8), "");
    }
}
