//! PKCE (RFC 7636) verifiers and challenges, and the `state` that ties a redirect to its request.
//!
//! The core has no randomness of its own: the caller passes 32 bytes of entropy (from the
//! operating system, Web Crypto, a test vector). With the `getrandom` feature, `generate()` does
//! that for you.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::secret::{constant_time_eq, secret_string};

secret_string! {
    /// A PKCE `code_verifier`: 43 to 128 characters of `[A-Za-z0-9-._~]`, kept by the client
    /// between the authorize URL and the code exchange.
    ///
    /// ```
    /// use square_oauth::CodeVerifier;
    /// // RFC 7636, Appendix B.
    /// let verifier = CodeVerifier::from_entropy([
    ///     116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37,
    ///     77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
    /// ]);
    /// assert_eq!(verifier.expose_secret(), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    /// assert_eq!(verifier.challenge().as_str(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    /// ```
    CodeVerifier
}

secret_string! {
    /// The `state` of an authorize URL: an unguessable value Square echoes in the redirect, which
    /// proves the redirect answers a request this application made (CSRF protection).
    State
}

/// 32 bytes of entropy as 43 base64url characters, in wiped-on-drop memory.
fn encode_entropy(entropy: [u8; 32]) -> String {
    let entropy = Zeroizing::new(entropy);
    base64url(entropy.as_slice())
}

/// `bytes` in base64url without padding (RFC 4648, section 5), in a string of exactly that
/// length (so that a secret's `new` keeps the buffer rather than copying it). Written out rather
/// than through the `base64` crate, whose generic engine is the larger part of a WebAssembly
/// module's PKCE code, for the two 32-byte values PKCE encodes.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let sextet = |group: u32, shift: u32| ALPHABET[(group >> shift & 63) as usize];
    // Filled by pushes into its exact capacity: no zeroed allocation, no index checks.
    let mut out = Vec::with_capacity((bytes.len() * 4).div_ceil(3));
    let whole = bytes.chunks_exact(3);
    let rest = whole.remainder();
    for chunk in whole {
        let group = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
        out.extend_from_slice(&[sextet(group, 18), sextet(group, 12), sextet(group, 6), sextet(group, 0)]);
    }
    // One or two bytes left make two or three characters.
    if let [first, more @ ..] = rest {
        let group = u32::from(*first) << 16 | more.first().map_or(0, |&b| u32::from(b) << 8);
        out.extend_from_slice(&[sextet(group, 18), sextet(group, 12), sextet(group, 6)][..=rest.len()]);
    }
    // Matched rather than `expect`ed: `expect` would print the error's `Debug`, whose code (for
    // `FromUtf8Error`, a byte vector's) would ship in every WebAssembly module for a case that
    // cannot happen.
    match String::from_utf8(out) {
        Ok(text) => text,
        Err(_) => unreachable!("the base64url alphabet is ASCII"),
    }
}

impl CodeVerifier {
    /// A verifier from 32 bytes of entropy: 43 base64url characters (RFC 7636, section 4.1).
    pub fn from_entropy(entropy: [u8; 32]) -> Self {
        Self::new(encode_entropy(entropy))
    }

    /// A verifier from the operating system's entropy.
    #[cfg(feature = "getrandom")]
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut entropy = Zeroizing::new([0u8; 32]);
        getrandom::fill(entropy.as_mut_slice())?;
        Ok(Self::from_entropy(*entropy))
    }

    /// The S256 challenge to put in the authorize URL: base64url(SHA-256(verifier)).
    pub fn challenge(&self) -> CodeChallenge {
        let digest = Sha256::digest(self.expose_secret().as_bytes());
        CodeChallenge(base64url(&digest))
    }
}

impl State {
    /// A state from 32 bytes of entropy: 43 base64url characters.
    pub fn from_entropy(entropy: [u8; 32]) -> Self {
        Self::new(encode_entropy(entropy))
    }

    /// A state from the operating system's entropy.
    #[cfg(feature = "getrandom")]
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut entropy = Zeroizing::new([0u8; 32]);
        getrandom::fill(entropy.as_mut_slice())?;
        Ok(Self::from_entropy(*entropy))
    }

    /// Compares with the `state` a redirect brought back, in constant time.
    pub fn matches(&self, returned: &str) -> bool {
        constant_time_eq(self.expose_secret().as_bytes(), returned.as_bytes())
    }
}

/// The S256 `code_challenge` of a [`CodeVerifier`]; not secret, it goes in the authorize URL.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// The challenge as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The method, always `S256` (`plain` gives no protection and is never sent).
    pub fn method(&self) -> &'static str {
        "S256"
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    proptest::proptest! {
        /// The hand-written encoder writes what the `base64` crate writes, at every length
        /// (each remainder of a division by 3), with no spare capacity.
        #[test]
        fn base64url_is_the_base64_crates(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..70)) {
            let ours = super::base64url(&bytes);
            proptest::prop_assert_eq!(&ours, &URL_SAFE_NO_PAD.encode(&bytes));
            proptest::prop_assert_eq!(ours.len(), ours.capacity());
        }
    }
}
