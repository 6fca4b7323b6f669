//! Blind indexes (DAT-3): exact lookups on encrypted values. The index is HMAC-SHA-256 under the
//! tenant's blind-index key over the field name and the normalised value, so the database can
//! match equal values (sign-in by email, uniqueness, upsert keys) without seeing them, and equal
//! values in another tenant or field give unrelated indexes.

use super::keys::BlindKey;
use super::put_field;
use crate::token::ct_eq;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use std::fmt;
use unicode_normalization::{IsNormalized, UnicodeNormalization as _, is_nfkc_quick};

/// The form in which values are compared, indexed and searched: Unicode NFKC (full-width
/// `ＡＢＣ１２３` becomes `ABC123`, half-width `ﾔﾏﾀﾞ` becomes `ヤマダ`, the ideographic space a
/// space), then lowercase by Unicode's rules, then NFKC again because lowercasing can leave a
/// decomposed sequence (`İ` lowercases to `i` and a combining dot).
///
/// Partial-match search applies the same function to the query and to each decrypted value.
pub fn normalise(value: &str) -> String {
    let folded: String = value.nfkc().collect::<String>().to_lowercase();
    folded.nfkc().collect()
}

/// Whether [`normalise`] would leave `value` as it is, decided without allocating for most text:
/// ASCII without capitals, and text whose every character is its own lower case and which
/// Unicode's quick check calls NFKC (kana, kanji, digits). A `false` may be wrong the other way
/// (a rare "maybe" of the quick check); callers then normalise, which is always right.
pub fn is_normalised(value: &str) -> bool {
    if value.is_ascii() {
        return !value.bytes().any(|b| b.is_ascii_uppercase());
    }
    value.chars().all(is_own_lower_case) && is_nfkc_quick(value.chars()) == IsNormalized::Yes
}

fn is_own_lower_case(c: char) -> bool {
    let mut lower = c.to_lowercase();
    lower.next() == Some(c) && lower.next().is_none()
}

/// A blind index: 32 bytes, stored beside the sealed value and compared by the database.
#[derive(Clone, Copy, Eq)]
pub struct BlindIndex(pub [u8; 32]);

impl PartialEq for BlindIndex {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndex(")?;
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("..)")
    }
}

/// The blind index of `value` in `field` (a table-qualified name such as `users.email`) under a
/// tenant's blind-index key. Values are [`normalise`]d first, so `ＡＢＣ１２３` and `abc123` match.
pub fn blind_index(key: &BlindKey, field: &str, value: &str) -> BlindIndex {
    #[allow(clippy::expect_used, reason = "HMAC accepts keys of every length")]
    let mut mac = Hmac::<Sha256>::new_from_slice(key.bytes()).expect("HMAC takes keys of any length");
    let mut prefix = Vec::with_capacity(32 + field.len());
    put_field(&mut prefix, b"kura.blind-index.v1");
    put_field(&mut prefix, field.as_bytes());
    mac.update(&prefix);
    mac.update(normalise(value).as_bytes());
    BlindIndex(mac.finalize().into_bytes().into())
}

/// The index of `value` in `field` for a tenant without keys (one opened before encryption was
/// configured, whose values stay in the clear): SHA-256 over the same [`normalise`]d form, so
/// that lookups and uniqueness follow one rule for every tenant. It reveals nothing that the
/// plain value stored beside it does not.
pub fn plain_index(field: &str, value: &str) -> BlindIndex {
    use sha2::Digest as _;
    let mut prefix = Vec::with_capacity(32 + field.len());
    put_field(&mut prefix, b"kura.plain-index.v1");
    put_field(&mut prefix, field.as_bytes());
    let mut hash = Sha256::new();
    hash.update(&prefix);
    hash.update(normalise(value).as_bytes());
    BlindIndex(hash.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::KeyVersion;

    #[test]
    fn dat_3_full_width_and_case_fold_to_the_same_form() {
        assert_eq!(normalise("ＡＢＣ１２３"), "abc123");
        assert_eq!(normalise("ＡＢＣ１２３"), normalise("abc123"));
        assert_eq!(normalise("Taro.Yamada@Example.COM"), "taro.yamada@example.com");
        assert_eq!(normalise("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ"), "taro@example.com");
        // The ideographic space becomes an ASCII space.
        assert_eq!(normalise("山田\u{3000}太郎"), "山田 太郎");
        // Non-ASCII case folding.
        assert_eq!(normalise("ÄÖÜ"), "äöü");
        assert_eq!(normalise("ΑΒΓ"), "αβγ");
    }

    #[test]
    fn dat_3_half_width_katakana_normalises_to_full_width() {
        // Half-width ﾀ followed by the half-width voiced mark composes into one ダ.
        assert_eq!(normalise("ﾔﾏﾀﾞ"), "ヤマダ");
        assert_eq!(normalise("ﾔﾏﾀﾞ").chars().count(), 3);
        assert_eq!(normalise("ﾊﾟﾝ"), "パン");
        // Already normal text is unchanged, and hiragana stays hiragana.
        assert_eq!(normalise("やまだ"), "やまだ");
        assert_ne!(normalise("やまだ"), normalise("ヤマダ"));
        // A decomposed voiced mark composes as well.
        assert_eq!(normalise("タ\u{3099}"), "ダ");
    }

    #[test]
    fn dat_3_the_quick_check_agrees_with_normalise() {
        for s in ["abc", "東京都千代田区", "やまだ", "ヤマダ", "山田 太郎", "", "a-b_c@d.e"] {
            assert!(is_normalised(s), "{s}");
            assert_eq!(normalise(s), s);
        }
        for s in ["ABC", "ＡＢＣ１２３", "ﾔﾏﾀﾞ", "山田\u{3000}太郎", "Ä", "Ⅻ", "ﬁ"] {
            assert!(!is_normalised(s), "{s}");
            assert_ne!(normalise(s), s);
        }
    }

    #[test]
    fn dat_3_normalise_is_idempotent() {
        for s in ["ＡＢＣ１２３", "ﾔﾏﾀﾞ", "İstanbul", "ﬁle", "Ⅻ", "㍻", "①", "Straße"] {
            let once = normalise(s);
            assert_eq!(normalise(&once), once, "{s}");
        }
        assert_eq!(normalise("İ"), normalise("i\u{307}"));
    }

    #[test]
    fn dat_3_blind_index_matches_equal_normalised_values_only() {
        let key = BlindKey::generate(KeyVersion::FIRST);
        let a = blind_index(&key, "users.email", "ＡＢＣ１２３@example.com");
        let b = blind_index(&key, "users.email", "abc123@EXAMPLE.com");
        assert_eq!(a, b);
        assert_ne!(a, blind_index(&key, "users.email", "abc124@example.com"));
        assert_eq!(blind_index(&key, "records.name", "ﾔﾏﾀﾞ"), blind_index(&key, "records.name", "ヤマダ"));
    }

    #[test]
    fn dat_3_plain_index_folds_like_the_blind_index_and_differs_from_it() {
        let key = BlindKey::generate(KeyVersion::FIRST);
        let a = plain_index("users.email", "ＹＡＭＡＤＡ@example.jp");
        assert_eq!(a, plain_index("users.email", "yamada@example.jp"));
        assert_ne!(a, plain_index("users.email", "yamada2@example.jp"));
        assert_ne!(a, plain_index("api_keys.name", "yamada@example.jp"));
        assert_ne!(a, blind_index(&key, "users.email", "yamada@example.jp"));
    }

    #[test]
    fn dat_3_blind_index_differs_between_tenants_and_fields() {
        let tenant_a = BlindKey::generate(KeyVersion::FIRST);
        let tenant_b = BlindKey::generate(KeyVersion::FIRST);
        let value = "taro@example.com";
        let base = blind_index(&tenant_a, "users.email", value);
        assert_ne!(base, blind_index(&tenant_b, "users.email", value));
        assert_ne!(base, blind_index(&tenant_a, "api_keys.name", value));
        // The field name is length-prefixed: moving bytes between field and value changes the index.
        assert_ne!(blind_index(&tenant_a, "ab", "c"), blind_index(&tenant_a, "a", "bc"));
        // Deterministic under one key, and the Debug form shows only a short prefix.
        assert_eq!(base, blind_index(&tenant_a, "users.email", value));
        assert!(format!("{base:?}").len() < 24);
    }
}
