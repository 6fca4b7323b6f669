//! Audit entries (LOG-1). Every state change and every sign-in attempt produces one, written in
//! the same transaction as the change. Entries form a hash chain per scope (a tenant, or the
//! platform itself); this module defines the entry, its canonical byte form and the chain's one
//! rule ([`AuditEntry::seal`]: how an entry is numbered and hashed onto the one before), which the
//! store's writer and its verification both use. The same canonical bytes are the leaves of the
//! scope's Merkle log (LOG-3, built in the store with `kura_crypto::merkle`).

use crate::ids::TenantId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

mod operation;

pub use operation::Operation;

/// Which chain an entry belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum AuditScope {
    /// Operator actions that belong to no tenant (creating operators, signing in as operator).
    Platform,
    Tenant(TenantId),
}

impl AuditScope {
    /// The platform chain is stored under the nil UUID, which no tenant can have.
    pub fn storage_id(self) -> Uuid {
        match self {
            Self::Platform => Uuid::nil(),
            Self::Tenant(t) => t.as_uuid(),
        }
    }
    pub fn from_storage_id(id: Uuid) -> Self {
        if id.is_nil() { Self::Platform } else { Self::Tenant(TenantId::from_uuid(id)) }
    }
}

/// Who acted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    Operator,
    ApiKey,
    /// The command line, run by whoever has the server's data directory.
    Cli,
    /// Someone not (yet) authenticated, such as a failed sign-in.
    Anonymous,
}

impl ActorKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Operator => "operator",
            Self::ApiKey => "api_key",
            Self::Cli => "cli",
            Self::Anonymous => "anonymous",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::User, Self::Operator, Self::ApiKey, Self::Cli, Self::Anonymous].into_iter().find(|k| k.as_str() == s)
    }
}

/// The actor of an entry, as it was at the time: later renames do not rewrite history.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<Uuid>,
    /// A readable name: an email address, an API key's name.
    pub label: String,
    /// The actor's role key at the time (LOG-1 "role group").
    pub role: Option<String>,
    pub source_ip: Option<String>,
    /// The client's user agent (its first 300 characters), for requests; `None` for the command
    /// line and scheduled jobs, and in entries written before it was recorded.
    #[serde(default)]
    pub user_agent: Option<String>,
}

impl Actor {
    /// An actor of the command line or a scheduled job: no address, no user agent.
    pub fn cli(label: impl Into<String>) -> Self {
        Self { kind: ActorKind::Cli, id: None, label: label.into(), role: None, source_ip: None, user_agent: None }
    }
}

/// How it ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Success, Self::Failure, Self::Denied].into_iter().find(|o| o.as_str() == s)
    }
}

/// What a writer states about its change; the store adds sequence, time and hashes.
#[derive(Clone, PartialEq, Debug)]
pub struct AuditRecord {
    pub operation: Operation,
    /// What was acted on, such as `record:<id>` or `user:<email>`.
    pub target: Option<String>,
    pub outcome: Outcome,
    /// A short, secret-free description (counts, changed field names; never values or passwords).
    pub detail: Option<String>,
}

impl AuditRecord {
    pub fn success(operation: Operation, target: impl Into<String>) -> Self {
        Self { operation, target: Some(target.into()), outcome: Outcome::Success, detail: None }
    }
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
}

/// An entry as stored in the chain.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct AuditEntry {
    pub scope: AuditScope,
    /// 1, 2, 3… within the scope, without gaps.
    pub seq: i64,
    pub at: Timestamp,
    pub actor: Actor,
    pub operation: Operation,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub detail: Option<String>,
    /// The hash of the previous entry (32 zero bytes for the first).
    pub prev_hash: [u8; 32],
    /// SHA-256 over `prev_hash` and [`AuditEntry::canonical_bytes`].
    pub hash: [u8; 32],
}

/// An entry's fields as stored, unparsed: the input of [`AuditEntry::stored_bytes`].
#[derive(Clone, Copy, Debug)]
pub struct StoredFields<'a> {
    pub scope_id: Uuid,
    pub seq: i64,
    pub at_micros: i64,
    pub actor_kind: &'a str,
    pub actor_id: Option<Uuid>,
    pub actor_label: &'a str,
    pub actor_role: Option<&'a str>,
    pub source_ip: Option<&'a str>,
    pub operation: &'a str,
    pub target: Option<&'a str>,
    pub outcome: &'a str,
    pub detail: Option<&'a str>,
    /// Stored sealed in a tenant's chain, like the label.
    pub user_agent: Option<&'a str>,
}

/// The version tags of the canonical encoding; a change of layout gets a new tag. Version 1 is
/// every entry without a user agent (all entries written before it was recorded, and those of
/// the command line and jobs); version 2 is version 1's fields followed by the user agent.
const CANONICAL_V1: &[u8] = b"kura-audit-v1";
const CANONICAL_V2: &[u8] = b"kura-audit-v2";

impl AuditEntry {
    /// The bytes that are hashed: every field, each length-prefixed, so that no two different
    /// entries encode alike.
    #[allow(clippy::too_many_arguments, reason = "mirrors the entry's fields one to one")]
    pub fn canonical_bytes(
        scope: AuditScope,
        seq: i64,
        at: Timestamp,
        actor: &Actor,
        operation: Operation,
        target: Option<&str>,
        outcome: Outcome,
        detail: Option<&str>,
    ) -> Vec<u8> {
        Self::stored_bytes(&StoredFields {
            user_agent: actor.user_agent.as_deref(),
            scope_id: scope.storage_id(),
            seq,
            at_micros: at.as_microsecond(),
            actor_kind: actor.kind.as_str(),
            actor_id: actor.id,
            actor_label: &actor.label,
            actor_role: actor.role.as_deref(),
            source_ip: actor.source_ip.as_deref(),
            operation: operation.as_str(),
            target,
            outcome: outcome.as_str(),
            detail,
        })
    }

    /// The canonical bytes from the fields as the store keeps them, without parsing them: what
    /// the Merkle log's leaf hashes (LOG-3), so that a row that no longer parses, or a field
    /// sealed under a key that was destroyed, still has its leaf.
    pub fn stored_bytes(f: &StoredFields<'_>) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        Self::put_stored_bytes(f, &mut out);
        out
    }

    /// [`AuditEntry::stored_bytes`] appended to `out`, so that a verification reading a long
    /// chain can keep one buffer for all its entries instead of allocating one per entry.
    pub fn put_stored_bytes(f: &StoredFields<'_>, out: &mut Vec<u8>) {
        put(out, if f.user_agent.is_some() { CANONICAL_V2 } else { CANONICAL_V1 });
        put(out, f.scope_id.as_bytes());
        put(out, &f.seq.to_be_bytes());
        put(out, &f.at_micros.to_be_bytes());
        put(out, f.actor_kind.as_bytes());
        put_opt(out, f.actor_id.as_ref().map(|u| u.as_bytes().as_slice()));
        put(out, f.actor_label.as_bytes());
        put_opt(out, f.actor_role.map(str::as_bytes));
        put_opt(out, f.source_ip.map(str::as_bytes));
        put(out, f.operation.as_bytes());
        put_opt(out, f.target.map(str::as_bytes));
        put(out, f.outcome.as_bytes());
        put_opt(out, f.detail.map(str::as_bytes));
        if let Some(agent) = f.user_agent {
            put(out, agent.as_bytes());
        }
    }

    /// The canonical bytes of this entry.
    pub fn own_canonical_bytes(&self) -> Vec<u8> {
        Self::canonical_bytes(
            self.scope,
            self.seq,
            self.at,
            &self.actor,
            self.operation,
            self.target.as_deref(),
            self.outcome,
            self.detail.as_deref(),
        )
    }
}

impl AuditEntry {
    /// The entry that follows the one numbered `prev_seq` with hash `prev_hash` in `scope`'s
    /// chain (0 and all zeros before the first): numbered `prev_seq + 1`, dated `at`, and sealed
    /// with the hash of `prev_hash` and its canonical bytes. Pure: the store locks the chain's
    /// head and reads the clock, this decides the entry.
    pub fn seal(
        scope: AuditScope,
        prev_seq: i64,
        prev_hash: [u8; 32],
        at: Timestamp,
        actor: &Actor,
        record: &AuditRecord,
    ) -> Self {
        let seq = prev_seq + 1;
        let canonical = Self::canonical_bytes(
            scope,
            seq,
            at,
            actor,
            record.operation,
            record.target.as_deref(),
            record.outcome,
            record.detail.as_deref(),
        );
        Self {
            scope,
            seq,
            at,
            actor: actor.clone(),
            operation: record.operation,
            target: record.target.clone(),
            outcome: record.outcome,
            detail: record.detail.clone(),
            prev_hash,
            hash: link(&prev_hash, &canonical),
        }
    }

    /// Whether this entry is sealed onto `prev_hash` as [`AuditEntry::seal`] seals: it names
    /// that hash as its previous one, and its own hash covers it and every field.
    pub fn is_sealed_onto(&self, prev_hash: &[u8; 32]) -> bool {
        self.prev_hash == *prev_hash && self.hash == link(prev_hash, &self.own_canonical_bytes())
    }
}

impl AuditEntry {
    /// The chain's link over canonical bytes already encoded (verification reads them from the
    /// stored columns with [`AuditEntry::stored_bytes`]).
    pub fn link_hash(prev: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
        link(prev, canonical)
    }
}

/// The chain's link: SHA-256 over the previous entry's hash and this entry's canonical bytes.
fn link(prev: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical);
    h.finalize().into()
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_opt(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => out.push(0),
        Some(b) => {
            out.push(1);
            put(out, b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_1_seal_chains_onto_the_previous_hash() {
        let actor =
            Actor { kind: ActorKind::Cli, id: None, label: "x".into(), role: None, source_ip: None, user_agent: None };
        let record = AuditRecord::success(Operation::TenantCreate, "t");
        let at = Timestamp::UNIX_EPOCH;
        let first = AuditEntry::seal(AuditScope::Platform, 0, [0; 32], at, &actor, &record);
        assert_eq!(first.seq, 1);
        assert!(first.is_sealed_onto(&[0; 32]));
        assert!(!first.is_sealed_onto(&[1; 32]));
        let other = AuditEntry::seal(AuditScope::Platform, 0, [1; 32], at, &actor, &record);
        assert_ne!(first.hash, other.hash);
        let second = AuditEntry::seal(AuditScope::Platform, first.seq, first.hash, at, &actor, &record);
        assert_eq!(second.seq, 2);
        assert!(second.is_sealed_onto(&first.hash));
        let mut altered = second.clone();
        altered.detail = Some("changed".into());
        assert!(!altered.is_sealed_onto(&first.hash));
    }

    #[test]
    fn log_1_entries_without_a_user_agent_keep_the_first_encoding_and_one_with_it_is_tagged_apart() {
        let mut a = actor("sato@example.jp");
        let old = AuditEntry::canonical_bytes(
            AuditScope::Platform,
            7,
            Timestamp::UNIX_EPOCH,
            &a,
            Operation::UserLogin,
            None,
            Outcome::Success,
            None,
        );
        // The first encoding, field by field, as entries written before the user agent have it.
        let mut v1 = Vec::new();
        put(&mut v1, b"kura-audit-v1");
        put(&mut v1, Uuid::nil().as_bytes());
        put(&mut v1, &7i64.to_be_bytes());
        put(&mut v1, &0i64.to_be_bytes());
        put(&mut v1, b"user");
        put_opt(&mut v1, None);
        put(&mut v1, b"sato@example.jp");
        put_opt(&mut v1, None);
        put_opt(&mut v1, None);
        put(&mut v1, b"user.login");
        put_opt(&mut v1, None);
        put(&mut v1, b"success");
        put_opt(&mut v1, None);
        assert_eq!(old, v1);
        a.user_agent = Some("Mozilla/5.0".into());
        let new = AuditEntry::canonical_bytes(
            AuditScope::Platform,
            7,
            Timestamp::UNIX_EPOCH,
            &a,
            Operation::UserLogin,
            None,
            Outcome::Success,
            None,
        );
        assert!(new.starts_with(&[0, 0, 0, 13]) && new[4..17] == *b"kura-audit-v2");
        assert!(new.ends_with(b"\0\0\0\x0bMozilla/5.0"));
        a.user_agent = Some(String::new());
        let empty = AuditEntry::canonical_bytes(
            AuditScope::Platform,
            7,
            Timestamp::UNIX_EPOCH,
            &a,
            Operation::UserLogin,
            None,
            Outcome::Success,
            None,
        );
        assert_ne!(empty, old, "an empty user agent is not the absence of one");
    }

    fn actor(label: &str) -> Actor {
        Actor { kind: ActorKind::User, id: None, label: label.into(), role: None, source_ip: None, user_agent: None }
    }

    #[test]
    fn log_1_canonical_bytes_differ_for_any_field_change() {
        let base = |label: &str, target: Option<&str>| {
            AuditEntry::canonical_bytes(
                AuditScope::Platform,
                1,
                Timestamp::UNIX_EPOCH,
                &actor(label),
                Operation::RecordCreate,
                target,
                Outcome::Success,
                None,
            )
        };
        assert_ne!(base("ab", Some("c")), base("a", Some("bc")));
        assert_ne!(base("a", None), base("a", Some("")));
    }

    #[test]
    fn log_1_operation_names_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::parse(op.as_str()), Some(op));
        }
    }
}
