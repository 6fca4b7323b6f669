//! The verification's read of an audit chain on SQLite (LOG-3): a page of entries as one text
//! that SQL builds, and the entries read back from it without copying. An entry that does not
//! read back is read as columns instead (`audit::page`, `AuditRow`). PostgreSQL reads columns
//! throughout (`dialect::reads_audit_texts`).

use crate::conn::{Exec, run};
use crate::error::StoreError;
use kura_domain::{AuditScope, StoredFields};

/// A field of [`STORED_PAGE`]: its length in bytes, `:`, and its bytes; NULL as a bare `:`.
macro_rules! framed {
    ($column:literal) => {
        concat!("octet_length(", $column, "), ':', ", $column)
    };
    // A binary column, framed by the length of its rendering as text.
    ($column:literal as text) => {
        concat!("octet_length(CAST(", $column, " AS TEXT)), ':', ", $column)
    };
}

/// The verification's read of a chain (LOG-3): a page of entries as one text, each entry one
/// after the other, with the page's count and last number. sqlx copies every value of every
/// row out of SQLite and hands each row from SQLite's thread to the reader on its own, and
/// that, with decoding each column, was most of a verification's time (docs/PERFORMANCE.md);
/// a page is now one row of three values. An entry's text holds its columns in `audit_log`'s
/// order, without the scope (every row is the scope's): the number and the time as decimals,
/// each followed by `:`, then each other column [`framed`]. The binary columns are their bytes,
/// as SQLite makes a `BLOB` part of a text. Read by [`StoredText::parse`]. The
/// page is joined in the order it is read, by number; a verification that finds an entry out
/// of order reads it again as columns.
const STORED_PAGE: &str = concat!(
    "SELECT count(*), max(seq), string_agg(entry, '') FROM (SELECT seq, concat(seq, ':', at, ':', ",
    framed!("actor_kind"),
    ", ",
    framed!("actor_id" as text),
    ", ",
    framed!("actor_label"),
    ", ",
    framed!("actor_role"),
    ", ",
    framed!("source_ip"),
    ", ",
    framed!("operation"),
    ", ",
    framed!("target"),
    ", ",
    framed!("outcome"),
    ", ",
    framed!("detail"),
    ", ",
    framed!("prev_hash" as text),
    ", ",
    framed!("hash" as text),
    ", ",
    framed!("user_agent"),
    ") AS entry FROM audit_log WHERE scope_id = $1 AND seq > $2 ORDER BY seq LIMIT $3) AS page"
);

/// Up to `limit` entries after `after_seq`, as [`STORED_PAGE`] reads them.
pub(crate) struct StoredPage {
    /// How many entries the page holds.
    pub(crate) count: i64,
    /// The number of its last entry (`None` when it is empty).
    pub(crate) last: Option<i64>,
    /// The entries' texts, one after the other.
    pub(crate) text: Vec<u8>,
}

impl StoredPage {
    /// A page of `count` entries whose text was not read: each is read as columns instead.
    pub(crate) fn unread(count: i64) -> Self {
        Self { count, last: None, text: Vec::new() }
    }
}

/// Reads up to `limit` entries after `after_seq` as one [`StoredPage`].
pub(crate) async fn stored_page(
    e: &mut Exec<'_>,
    scope: AuditScope,
    after_seq: i64,
    limit: i64,
) -> Result<StoredPage, StoreError> {
    use sqlx::Row as _;
    let (count, last, text) = run!(e, |c| async {
        let row =
            sqlx::query(STORED_PAGE).bind(scope.storage_id()).bind(after_seq).bind(limit).fetch_one(&mut *c).await?;
        // Unchecked: PostgreSQL types the text `text`, where `Vec<u8>` expects `bytea`, but
        // hands over its bytes all the same; SQLite hands over any value's bytes.
        let text = row.try_get_unchecked::<Option<Vec<u8>>, _>(2)?;
        Ok::<_, sqlx::Error>((row.try_get::<i64, _>(0)?, row.try_get::<Option<i64>, _>(1)?, text))
    }
    .await)?;
    Ok(StoredPage { count, last, text: text.unwrap_or_default() })
}

/// An entry as [`STORED_PAGE`] reads it: its fields borrowed from the text, as
/// `AuditEntry::put_stored_bytes` takes them, and its two hashes.
pub(crate) struct StoredText<'a> {
    pub(crate) fields: StoredFields<'a>,
    pub(crate) prev_hash: [u8; 32],
    pub(crate) hash: [u8; 32],
}

impl<'a> StoredText<'a> {
    /// Reads the first entry of a page's text (of `scope`'s chain), and returns it with the rest
    /// of the text. `None` when it does not read as an entry: a field missing or malformed, a
    /// number that is not an integer, an actor's id not 16 bytes, a hash not 32 bytes, text that
    /// is not UTF-8. The caller then reads that entry as columns.
    pub(crate) fn parse(scope: AuditScope, text: &'a [u8]) -> Option<(Self, &'a [u8])> {
        let mut r = Fields(text);
        let seq = r.int()?;
        let at_micros = r.int()?;
        let actor_kind = r.text()?;
        let actor_id = match r.field()? {
            None => None,
            Some(id) => Some(uuid::Uuid::from_slice(id).ok()?),
        };
        let actor_label = r.text()?;
        let actor_role = r.opt_text()?;
        let source_ip = r.opt_text()?;
        let operation = r.text()?;
        let target = r.opt_text()?;
        let outcome = r.text()?;
        let detail = r.opt_text()?;
        let prev_hash = r.field()??.try_into().ok()?;
        let hash = r.field()??.try_into().ok()?;
        let user_agent = r.opt_text()?;
        let fields = StoredFields {
            scope_id: scope.storage_id(),
            seq,
            at_micros,
            actor_kind,
            actor_id,
            actor_label,
            actor_role,
            source_ip,
            operation,
            target,
            outcome,
            detail,
            user_agent,
        };
        Some((Self { fields, prev_hash, hash }, r.0))
    }
}

/// The rest of a [`STORED_PAGE`]'s text, read from the front.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    /// The bytes up to the next `:`, which is passed.
    fn head(&mut self) -> Option<&'a [u8]> {
        let at = self.0.iter().position(|&b| b == b':')?;
        let (head, rest) = self.0.split_at(at);
        self.0 = &rest[1..];
        Some(head)
    }
    /// A number as SQL writes an integer (a `-` for a negative one, and digits), then `:`.
    fn int(&mut self) -> Option<i64> {
        let text = self.head()?;
        let digits = text.strip_prefix(b"-").unwrap_or(text);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(text).ok()?.parse().ok()
    }
    /// A [`framed`] field; `Some(None)` for NULL.
    fn field(&mut self) -> Option<Option<&'a [u8]>> {
        let len = self.head()?;
        if len.is_empty() {
            return Some(None);
        }
        if !len.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let (value, rest) = self.0.split_at_checked(std::str::from_utf8(len).ok()?.parse().ok()?)?;
        self.0 = rest;
        Some(Some(value))
    }
    /// A text field that may be NULL.
    fn opt_text(&mut self) -> Option<Option<&'a str>> {
        match self.field()? {
            None => Some(None),
            Some(value) => std::str::from_utf8(value).ok().map(Some),
        }
    }
    /// A text field that is never NULL.
    fn text(&mut self) -> Option<&'a str> {
        self.opt_text()?
    }
}
