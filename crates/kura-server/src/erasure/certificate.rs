//! The deletion certificate (TEN-4): what was deleted of a tenant and when, as text lines signed
//! as a C2SP signed note with the installation's Ed25519 signing key (the key that signs audit
//! checkpoints and backup manifests), so that `kura audit public-key` checks it too and anyone
//! holding that public key can check it without Kura.
//!
//! ```text
//! kura-deletion-certificate v1
//! tenant 0193a6f0-…
//! slug acme
//! name 株式会社アクメ
//! contract-end 2027-03-31
//! grace-days 60
//! keys-destroyed 2027-05-31T00:00:03.000000Z 2
//! rows-deleted 2027-05-31T00:00:03.000000Z
//! deleted records 1200
//! deleted users 4
//! …
//! keystore-backups-expired-by 2027-06-03T00:01:03.000000Z
//! data-backups-expired-by 2027-06-07T00:00:03.000000Z
//! basis keystore backups are taken at 03:00 Asia/Tokyo and each is deleted 3 days after …
//! ```

use kura_crypto::merkle::{NoteSigner, NoteVerifier, SignedNoteError, open_note, sign_note};

const FIRST_LINE: &str = "kura-deletion-certificate v1";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    pub tenant_id: String,
    pub slug: String,
    pub name: String,
    pub contract_end: String,
    pub grace_days: u32,
    /// When the tenant's keys were destroyed in the keystore, and how many there were.
    pub keys_destroyed_at: String,
    pub keys_destroyed: u64,
    pub rows_deleted_at: String,
    /// Each category of data with the number of rows deleted.
    pub deleted: Vec<(String, u64)>,
    /// After this time no keystore backup that held the tenant's keys is kept: from then on no
    /// copy of the tenant's sealed values can be opened by anyone.
    pub keystore_backups_expired_by: String,
    /// After this time no data backup that held the tenant's rows is kept.
    pub data_backups_expired_by: String,
    /// How the two times above were derived, in a sentence.
    pub basis: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("the certificate's signature does not check: {0}; it was altered or signed by another key")]
    Signature(SignedNoteError),
    #[error("the certificate is malformed: {0}")]
    Malformed(String),
}

/// A value fits on one line of the note: no line breaks or control characters.
fn one_line(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(char::is_control)
}

impl Certificate {
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{FIRST_LINE}\ntenant {}\nslug {}\nname {}\ncontract-end {}\ngrace-days {}\nkeys-destroyed {} {}\n\
             rows-deleted {}\n",
            self.tenant_id,
            self.slug,
            self.name,
            self.contract_end,
            self.grace_days,
            self.keys_destroyed_at,
            self.keys_destroyed,
            self.rows_deleted_at
        );
        for (category, n) in &self.deleted {
            out.push_str(&format!("deleted {category} {n}\n"));
        }
        out.push_str(&format!(
            "keystore-backups-expired-by {}\ndata-backups-expired-by {}\nbasis {}\n",
            self.keystore_backups_expired_by, self.data_backups_expired_by, self.basis
        ));
        out
    }

    pub fn sign(&self, signer: &NoteSigner) -> Result<String, CertificateError> {
        let text = self.to_text();
        let fields = [&self.tenant_id, &self.slug, &self.name, &self.contract_end, &self.basis];
        if !fields.iter().all(|f| one_line(f)) {
            return Err(CertificateError::Malformed("a value is empty or holds a line break".into()));
        }
        sign_note(&text, signer).map_err(|e| CertificateError::Malformed(e.to_string()))
    }

    /// The certificate of a signed note, once its signature by `verifier` checks.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<Self, CertificateError> {
        let text = open_note(note, verifier).map_err(CertificateError::Signature)?;
        Self::parse(text)
    }

    fn parse(text: &str) -> Result<Self, CertificateError> {
        let bad = |m: &str| CertificateError::Malformed(m.to_owned());
        let mut lines = text.lines().peekable();
        if lines.next() != Some(FIRST_LINE) {
            return Err(bad("not a Kura deletion certificate of version 1"));
        }
        let mut field = |key: &str| -> Result<String, CertificateError> {
            let line = lines.next().ok_or_else(|| bad(&format!("no {key} line")))?;
            let value = line.strip_prefix(key).and_then(|r| r.strip_prefix(' ')).ok_or_else(|| bad(line))?;
            Ok(value.to_owned())
        };
        let tenant_id = field("tenant")?;
        let slug = field("slug")?;
        let name = field("name")?;
        let contract_end = field("contract-end")?;
        let grace_days = field("grace-days")?.parse().map_err(|_| bad("grace-days"))?;
        let keys = field("keys-destroyed")?;
        let (keys_destroyed_at, n) = keys.split_once(' ').ok_or_else(|| bad("keys-destroyed"))?;
        let keys_destroyed = n.parse().map_err(|_| bad("keys-destroyed"))?;
        let rows_deleted_at = field("rows-deleted")?;
        let mut deleted = Vec::new();
        while let Some(line) = lines.next_if(|l| l.starts_with("deleted ")) {
            let mut words = line.split(' ').skip(1);
            let (Some(category), Some(n), None) = (words.next(), words.next(), words.next()) else {
                return Err(bad(line));
            };
            deleted.push((category.to_owned(), n.parse().map_err(|_| bad(line))?));
        }
        let mut field = |key: &str| -> Result<String, CertificateError> {
            let line = lines.next().ok_or_else(|| bad(&format!("no {key} line")))?;
            let value = line.strip_prefix(key).and_then(|r| r.strip_prefix(' ')).ok_or_else(|| bad(line))?;
            Ok(value.to_owned())
        };
        let keystore_backups_expired_by = field("keystore-backups-expired-by")?;
        let data_backups_expired_by = field("data-backups-expired-by")?;
        let basis = field("basis")?;
        if lines.next().is_some() {
            return Err(bad("lines after basis"));
        }
        Ok(Self {
            tenant_id,
            slug,
            name,
            contract_end,
            grace_days,
            keys_destroyed_at: keys_destroyed_at.to_owned(),
            keys_destroyed,
            rows_deleted_at,
            deleted,
            keystore_backups_expired_by,
            data_backups_expired_by,
            basis,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_4_a_certificate_round_trips_signed_and_refuses_a_change() {
        let c = Certificate {
            tenant_id: "0193a6f0-0000-7000-8000-000000000000".into(),
            slug: "acme".into(),
            name: "株式会社アクメ".into(),
            contract_end: "2027-03-31".into(),
            grace_days: 60,
            keys_destroyed_at: "2027-05-31T00:00:03Z".into(),
            keys_destroyed: 2,
            rows_deleted_at: "2027-05-31T00:00:04Z".into(),
            deleted: vec![("records".into(), 1200), ("users".into(), 4)],
            keystore_backups_expired_by: "2027-06-07T00:00:03Z".into(),
            data_backups_expired_by: "2027-06-07T00:00:04Z".into(),
            basis: "7 generations, one a day".into(),
        };
        let signer = NoteSigner::generate("kura").unwrap();
        let note = c.sign(&signer).unwrap();
        assert_eq!(Certificate::open(&note, &signer.verifier()).unwrap(), c);
        let altered = note.replace("records 1200", "records 1199");
        assert!(matches!(Certificate::open(&altered, &signer.verifier()), Err(CertificateError::Signature(_))));
        let other = NoteSigner::generate("kura").unwrap();
        assert!(matches!(Certificate::open(&note, &other.verifier()), Err(CertificateError::Signature(_))));
        let broken = Certificate { name: "a\nb".into(), ..c };
        assert!(broken.sign(&signer).is_err());
    }
}
