//! Second factors (IAM-6): time-based one-time passwords (RFC 6238, through `totp-rs`) and the
//! single-use recovery codes that stand in for a lost authenticator.
//!
//! Codes are six digits over 30-second steps with HMAC-SHA-1, what every authenticator app
//! understands; a code of the step before or after the server's is accepted (±1 step), and the
//! caller stores the step it matched so that a code is accepted only once (RFC 6238 §5.2).
//! Nothing here reads a clock: the caller passes the time.

use crate::token::{TokenDigest, random_bytes, sha256};
use std::fmt;
use zeroize::Zeroizing;

/// Digits of a code.
pub const TOTP_DIGITS: usize = 6;
/// Seconds per step.
pub const TOTP_STEP_SECONDS: u64 = 30;
/// Characters of a recovery code, hyphens aside.
pub const RECOVERY_CODE_CHARS: usize = 16;

/// RFC 4648 base32, lower case for recovery codes (no padding is ever needed here).
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A TOTP shared secret: 160 random bits (RFC 4226 §4's recommendation). `Debug` never prints
/// it, and its bytes are wiped when dropped.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    pub fn generate() -> Self {
        Self(Zeroizing::new(random_bytes::<20>().to_vec()))
    }

    /// The secret in base32, as authenticator apps take it when typed in.
    pub fn to_base32(&self) -> String {
        base32(&self.0, BASE32)
    }

    /// Reads a stored or typed secret in base32 (spaces ignored, either case); `None` unless it
    /// holds at least 128 bits.
    pub fn from_base32(text: &str) -> Option<Self> {
        let bytes = from_base32(text)?;
        (bytes.len() >= 16).then(|| Self(Zeroizing::new(bytes)))
    }

    fn totp(&self) -> Option<totp_rs::Totp> {
        totp_rs::Builder::new()
            .with_secret(self.0.to_vec())
            .with_digits(TOTP_DIGITS as u8)
            .with_skew(1)
            .with_step_duration(TOTP_STEP_SECONDS)
            .build()
            .ok()
    }

    /// The time step a code matches at `unix_seconds`, within one step either way; `None` if it
    /// matches none. The caller refuses a step at or before the last one it accepted.
    pub fn check(&self, code: &str, unix_seconds: u64) -> Option<u64> {
        if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.totp()?.check(code, unix_seconds)
    }

    /// The code for `unix_seconds` (what an authenticator app shows then).
    pub fn code_at(&self, unix_seconds: u64) -> String {
        self.totp().map(|t| t.generate(unix_seconds).to_string()).unwrap_or_default()
    }

    /// The `otpauth://` URI an authenticator app reads from a QR code (Google Authenticator's
    /// key URI format): `issuer` names the service, `account` the user.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECONDS}",
            percent(issuer),
            percent(account),
            self.to_base32(),
            percent(issuer)
        )
    }
}

/// What someone typed as a second factor, recognised by its shape.
#[derive(Clone, PartialEq, Eq)]
pub enum FactorCode {
    /// Six digits.
    Totp(String),
    /// A recovery code, normalised (lower case, without hyphens or spaces).
    Recovery(String),
}

impl fmt::Debug for FactorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Totp(_) => "FactorCode::Totp(..)",
            Self::Recovery(_) => "FactorCode::Recovery(..)",
        })
    }
}

impl FactorCode {
    /// Reads a code: six digits, or a recovery code of 16 base32 characters (hyphens and spaces
    /// ignored, either case). Anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if compact.len() == TOTP_DIGITS && compact.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Self::Totp(compact));
        }
        let lower = compact.to_ascii_lowercase();
        let base32ish = lower.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
        (lower.len() == RECOVERY_CODE_CHARS && base32ish).then_some(Self::Recovery(lower))
    }
}

/// A fresh recovery code (80 random bits), shown to its holder once as `abcd-efgh-ijkl-mnop`;
/// only [`recovery_digest`] of it is stored. `Debug` never prints it.
#[derive(Clone)]
pub struct RecoveryCode(String);

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

impl RecoveryCode {
    pub fn generate() -> Self {
        let chars = base32(&random_bytes::<10>(), BASE32).to_ascii_lowercase();
        let groups: Vec<&str> = (0..4).map(|i| &chars[i * 4..i * 4 + 4]).collect();
        Self(groups.join("-"))
    }
    /// The code as shown to its holder.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn digest(&self) -> TokenDigest {
        recovery_digest(&self.0.replace('-', ""))
    }
}

/// The stored form of a normalised recovery code. 80 random bits make a plain SHA-256 digest as
/// safe to store as a token's: no dictionary to try.
pub fn recovery_digest(normalised: &str) -> TokenDigest {
    TokenDigest(sha256(format!("kura-recovery-code:{normalised}").as_bytes()))
}

fn base32(bytes: &[u8], alphabet: &[u8; 32]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(alphabet[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(alphabet[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let c = c.to_ascii_uppercase();
        let value = BASE32.iter().position(|&a| char::from(a) == c)? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
        buffer &= (1 << bits) - 1;
    }
    Some(out)
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 secret, "12345678901234567890".
    fn rfc_secret() -> TotpSecret {
        TotpSecret(Zeroizing::new(b"12345678901234567890".to_vec()))
    }

    #[test]
    fn iam_6_codes_match_rfc_6238_vectors_within_one_step() {
        let s = rfc_secret();
        // Appendix B: 94287082 at T=59 and 07081804 at T=1111111109 (eight digits); six-digit
        // codes are their last six.
        assert_eq!(s.code_at(59), "287082");
        assert_eq!(s.code_at(1_111_111_109), "081804");
        assert_eq!(s.check("081804", 1_111_111_109), Some(1_111_111_109 / 30));
        // One step either way is accepted, two are not.
        assert_eq!(s.check("081804", 1_111_111_109 + 30), Some(1_111_111_109 / 30));
        assert_eq!(s.check("081804", 1_111_111_109 - 30), Some(1_111_111_109 / 30));
        assert_eq!(s.check("081804", 1_111_111_109 + 60), None);
        assert_eq!(s.check("08180", 1_111_111_109), None);
        assert_eq!(s.check("0818045", 1_111_111_109), None);
    }

    #[test]
    fn iam_6_secrets_round_trip_through_base32_and_never_print() {
        let s = TotpSecret::generate();
        let text = s.to_base32();
        assert_eq!(text.len(), 32);
        let back = TotpSecret::from_base32(&text.to_lowercase()).expect("base32");
        assert_eq!(back.code_at(1_000_000), s.code_at(1_000_000));
        assert!(TotpSecret::from_base32("ABC!").is_none());
        assert!(TotpSecret::from_base32("ABCDEFGH").is_none(), "under 128 bits");
        assert_eq!(format!("{s:?}"), "TotpSecret(..)");
        let uri = s.otpauth_uri("Kura (acme)", "a@b.jp");
        assert!(uri.starts_with("otpauth://totp/Kura%20%28acme%29:a%40b.jp?secret="), "{uri}");
    }

    #[test]
    fn iam_6_codes_are_recognised_by_shape() {
        assert_eq!(FactorCode::parse(" 123 456 "), Some(FactorCode::Totp("123456".into())));
        let r = RecoveryCode::generate();
        assert_eq!(r.expose().len(), 19);
        let Some(FactorCode::Recovery(n)) = FactorCode::parse(&r.expose().to_uppercase()) else { panic!("recovery") };
        assert!(recovery_digest(&n) == r.digest());
        for bad in ["12345", "1234567", "", "abcd-efgh-ijkl-mno", "abcd-efgh-ijkl-mnop1", "abcd-efgh-ijkl-mno1"] {
            assert_eq!(FactorCode::parse(bad), None, "{bad}");
        }
        assert_ne!(RecoveryCode::generate().expose(), r.expose());
    }
}
