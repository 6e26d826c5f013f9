//! Small helpers: random identifiers in Square's formats, RFC 3339 timestamps, PKCE.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const TOKEN_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `len` characters drawn uniformly from `alphabet` with the operating system's RNG.
fn random_from(alphabet: &[u8], len: usize) -> String {
    // Rejection sampling keeps the draw uniform for alphabets that don't divide 256.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        if getrandom::fill(&mut buf).is_err() {
            // The OS RNG failing is not something a test can recover from, and a fake
            // that hands out predictable tokens would hide bugs; stop loudly.
            panic!("the operating system's random number generator failed");
        }
        for &b in &buf {
            if out.len() == len {
                break;
            }
            if usize::from(b) < limit {
                out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
            }
        }
    }
    out
}

/// An authorization code: `sq0cgb-` and 22 random characters.
pub(crate) fn new_code() -> String {
    format!("sq0cgb-{}", random_from(TOKEN_CHARS, 22))
}

/// An access token: `EAAA` and 60 random characters, like Square's.
pub(crate) fn new_access_token() -> String {
    format!("EAAA{}", random_from(TOKEN_CHARS, 60))
}

/// A refresh token: `EQAA` and 60 random characters.
pub(crate) fn new_refresh_token() -> String {
    format!("EQAA{}", random_from(TOKEN_CHARS, 60))
}

/// A legacy (pre-2019) access token as a migration token: `sq0atp-` and 22 characters.
pub(crate) fn new_legacy_token() -> String {
    format!("sq0atp-{}", random_from(TOKEN_CHARS, 22))
}

/// A merchant id: 13 uppercase alphanumerics, like `J9Z30SF99NPFJ`.
pub(crate) fn new_merchant_id() -> String {
    random_from(UPPER_ALNUM, 13)
}

/// A random UUID (version 4) in its textual form, for webhook event ids.
pub(crate) fn new_uuid() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        panic!("the operating system's random number generator failed");
    }
    // From bytes drawn here rather than uuid's `v4` feature, which would bring a second getrandom.
    uuid::Builder::from_random_bytes(bytes).into_uuid().hyphenated().to_string()
}

/// RFC 3339 in UTC with whole seconds, the way Square writes `expires_at`: `2025-04-03T18:31:06Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    format!("{:.0}", timestamp(t))
}

/// RFC 3339 with nanoseconds, as Square writes webhook `created_at`.
pub(crate) fn rfc3339_nanos(t: SystemTime) -> String {
    format!("{:.9}", timestamp(t))
}

/// The fake's clock never runs before 1970 or past 9999, so the epoch is only a formality.
fn timestamp(t: SystemTime) -> Timestamp {
    Timestamp::try_from(t).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The S256 challenge of a PKCE verifier: base64url (no padding) of its SHA-256.
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Compare two byte strings without an early exit on the first difference.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Square's webhook signature: base64 of HMAC-SHA256 keyed with `key` over `url` then `body`.
pub(crate) fn webhook_signature(key: &str, url: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(url.as_bytes());
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn formats_timestamps_like_square() {
        let t = UNIX_EPOCH + Duration::from_secs(1_743_705_066);
        assert_eq!(rfc3339(t), "2025-04-03T18:31:06Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_nanos(t + Duration::from_nanos(5)), "2025-04-03T18:31:06.000000005Z");
    }

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        assert_eq!(s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn identifiers_have_squares_shapes() {
        let m = new_merchant_id();
        assert!(m.len() >= 8 && m.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert!(new_code().starts_with("sq0cgb-"));
        assert!(new_access_token().starts_with("EAAA"));
        assert!(new_refresh_token().starts_with("EQAA"));
        assert_ne!(new_access_token(), new_access_token());
        let uuid = new_uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.as_bytes()[14], b'4', "version 4: {uuid}");
        assert!(constant_time_eq(b"sq0csp-a", b"sq0csp-a"));
        assert!(!constant_time_eq(b"sq0csp-a", b"sq0csp-b"));
        assert!(!constant_time_eq(b"sq0csp-a", b"sq0csp-"));
    }
}
