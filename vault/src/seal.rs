//! Sealing tokens at rest: XChaCha20-Poly1305 with a 256-bit key, a key id beside each value,
//! and the seller and column bound into every ciphertext.
//!
//! A sealed value is `b"sqv1"`, the key id (8 bytes), the column name and the merchant id (each
//! with a one- or two-byte length), a 24-byte random nonce, then the ciphertext with its tag.
//! Everything before the nonce is also the associated data, so it cannot be edited without
//! the tag failing; and it is in clear so that a value copied from another row or column is
//! named as such ([`SealError::SwappedRow`]) instead of being reported as mere damage.
//!
//! ```
//! use square_oauth_vault::seal::{Key, Keyring, SealError};
//!
//! let keys = Keyring::new(Key::from_bytes([7; 32]));
//! let sealed = keys.seal("MLQW2MYBY81PZ", "access_token", b"EAAAsecret");
//! assert_eq!(&*keys.open("MLQW2MYBY81PZ", "access_token", &sealed)?, b"EAAAsecret");
//! // The same bytes in another seller's row do not open.
//! assert!(matches!(keys.open("OTHER", "access_token", &sealed), Err(SealError::SwappedRow { .. })));
//! # Ok::<(), SealError>(())
//! ```

use core::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::{Zeroize, Zeroizing};

const MAGIC: &[u8; 4] = b"sqv1";
const NONCE_LEN: usize = 24;

/// The environment variable [`Key::from_env`] reads by default.
pub const KEY_ENV: &str = "SQUARE_VAULT_KEY";

/// Why a key could not be had, or a value not opened. No variant carries key material or
/// plaintext.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// No key was given: the vault does not start without one.
    #[error("no vault key: set {KEY_ENV} or give a key file")]
    NoKey,
    /// The key is not base64 of exactly 32 bytes.
    #[error("the vault key is not base64 of 32 bytes")]
    MalformedKey,
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The value was sealed with a key this keyring does not hold (a wrong key, or an old key
    /// dropped before `rotate-key` finished).
    #[error("sealed with key {key_id}, which this vault does not hold (wrong key?)")]
    UnknownKey {
        /// The key id stored with the value.
        key_id: String,
    },
    /// The value was sealed for another seller or column: it was copied between rows.
    #[error("a value sealed for {found_merchant}/{found_column} is stored in {merchant}/{column}")]
    SwappedRow {
        /// The row it was read from.
        merchant: String,
        /// The column it was read from.
        column: String,
        /// The seller it was sealed for.
        found_merchant: String,
        /// The column it was sealed for.
        found_column: String,
    },
    /// The value does not authenticate: it was changed (or truncated) since it was sealed.
    #[error("the sealed {column} of {merchant} is damaged or was tampered with")]
    Tampered {
        /// The row.
        merchant: String,
        /// The column.
        column: String,
    },
}

/// A 256-bit vault key. `Debug` prints only its id; the bytes are wiped on drop.
#[derive(Clone)]
pub struct Key {
    bytes: Zeroizing<[u8; 32]>,
    id: [u8; 8],
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").field("id", &self.id_hex()).finish_non_exhaustive()
    }
}

impl Key {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Key {
        use sha2::Digest as _;
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"square-oauth-vault key id\0");
        hasher.update(bytes);
        let digest = hasher.finalize();
        let mut id = [0; 8];
        id.copy_from_slice(&digest[..8]);
        Key { bytes: Zeroizing::new(bytes), id }
    }

    /// A new random key, from the operating system.
    pub fn generate() -> Key {
        let mut bytes = [0; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source failed");
        let key = Key::from_bytes(bytes);
        bytes.zeroize();
        key
    }

    /// A key from its base64 text (standard alphabet, padded or not; surrounding whitespace
    /// ignored).
    pub fn from_base64(text: &str) -> Result<Key, SealError> {
        let trimmed = text.trim().trim_end_matches('=');
        let mut decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed).map_err(|_| SealError::MalformedKey)?,
        );
        let bytes: [u8; 32] = decoded.as_slice().try_into().map_err(|_| SealError::MalformedKey)?;
        decoded.zeroize();
        Ok(Key::from_bytes(bytes))
    }

    /// The key as base64 text, for a key file.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(*self.bytes))
    }

    /// The key from the environment variable `name` ([`KEY_ENV`] by convention);
    /// [`SealError::NoKey`] if it is unset or empty.
    pub fn from_env(name: &str) -> Result<Key, SealError> {
        match std::env::var(name) {
            Ok(text) if !text.trim().is_empty() => Key::from_base64(&text),
            _ => Err(SealError::NoKey),
        }
    }

    /// The key in a file (its base64 text).
    pub fn from_file(path: &Path) -> Result<Key, SealError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|source| SealError::KeyFile { path: path.display().to_string(), source })?,
        );
        Key::from_base64(&text)
    }

    /// The key in `path`, or a new one written there first: into a file of its own beside it
    /// (mode 0600 on Unix), synced, then linked to `path` only if nothing is there, so that a
    /// reader sees no file or the whole key, never a part of it, and a key that appeared
    /// meanwhile (another process's) is never overwritten but used.
    pub fn from_file_or_create(path: &Path) -> Result<Key, SealError> {
        use std::io::Write as _;
        if path.exists() {
            return Key::from_file(path);
        }
        let key = Key::generate();
        let error = |source| SealError::KeyFile { path: path.display().to_string(), source };
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        // tempfile creates the file exclusively, with mode 0600 on Unix whatever the umask.
        let mut file = tempfile::Builder::new().prefix(".vault-key.").suffix(".tmp").tempfile_in(dir).map_err(error)?;
        file.write_all(key.to_base64().as_bytes()).map_err(error)?;
        file.write_all(b"\n").map_err(error)?;
        file.as_file().sync_all().map_err(error)?;
        match file.persist_noclobber(path) {
            Ok(_) => {
                // The new name survives a crash once the directory is synced too.
                #[cfg(unix)]
                std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(error)?;
                Ok(key)
            }
            // Another process created it first: use theirs.
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Key::from_file(path),
            Err(e) => Err(error(e.error)),
        }
    }

    /// The key's id: the first 8 bytes of a SHA-256 of the key, in hex. Stored beside each
    /// value; it says which key opens it without saying anything about the key.
    pub fn id_hex(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The keys a vault holds: the primary seals, every one opens.
#[derive(Clone, Debug)]
pub struct Keyring {
    primary: Key,
    older: Vec<Key>,
}

impl Keyring {
    /// A keyring of one key.
    pub fn new(primary: Key) -> Keyring {
        Keyring { primary, older: Vec::new() }
    }

    /// Adds a key that opens values but no longer seals (the key being rotated away from).
    #[must_use]
    pub fn with_older(mut self, key: Key) -> Keyring {
        if key.id != self.primary.id {
            self.older.push(key);
        }
        self
    }

    /// The id of the key that seals.
    pub fn primary_id(&self) -> String {
        self.primary.id_hex()
    }

    /// The ids of every key held, the primary's first: the values a store's `key_id` column
    /// holds for the rows this keyring opens.
    ///
    /// ```
    /// use square_oauth_vault::{Key, Keyring};
    /// let (new, old) = (Key::from_bytes([1; 32]), Key::from_bytes([2; 32]));
    /// let keys = Keyring::new(new.clone()).with_older(old.clone());
    /// assert_eq!(keys.ids(), [new.id_hex(), old.id_hex()]);
    /// ```
    pub fn ids(&self) -> Vec<String> {
        std::iter::once(&self.primary).chain(&self.older).map(Key::id_hex).collect()
    }

    /// Seals `plaintext` for `merchant`'s `column` with the primary key.
    pub fn seal(&self, merchant: &str, column: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut out = header(&self.primary.id, merchant, column);
        let aad_len = out.len();
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the operating system's random source failed");
        let cipher = XChaCha20Poly1305::new((&*self.primary.bytes).into());
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: &out[..aad_len] })
            .expect("XChaCha20-Poly1305 encryption does not fail on inputs under 256 GiB");
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// The key id a sealed value names, if it is a sealed value at all.
    pub fn key_id_of(sealed: &[u8]) -> Option<String> {
        parse(sealed).map(|parts| parts.key_id.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Opens what [`seal`](Self::seal) made for `merchant`'s `column`.
    pub fn open(&self, merchant: &str, column: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let tampered = || SealError::Tampered { merchant: merchant.to_owned(), column: column.to_owned() };
        let parts = parse(sealed).ok_or_else(tampered)?;
        let key =
            std::iter::once(&self.primary).chain(&self.older).find(|key| key.id == parts.key_id).ok_or_else(|| {
                SealError::UnknownKey { key_id: parts.key_id.iter().map(|b| format!("{b:02x}")).collect() }
            })?;
        if parts.merchant != merchant.as_bytes() || parts.column != column.as_bytes() {
            return Err(SealError::SwappedRow {
                merchant: merchant.to_owned(),
                column: column.to_owned(),
                found_merchant: String::from_utf8_lossy(parts.merchant).into_owned(),
                found_column: String::from_utf8_lossy(parts.column).into_owned(),
            });
        }
        let cipher = XChaCha20Poly1305::new((&*key.bytes).into());
        cipher
            .decrypt(XNonce::from_slice(parts.nonce), Payload { msg: parts.ciphertext, aad: parts.aad })
            .map(Zeroizing::new)
            .map_err(|_| tampered())
    }
}

fn header(key_id: &[u8; 8], merchant: &str, column: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + merchant.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(key_id);
    // Column names are the vault's own, short; merchant ids are bounded by the core's limits.
    out.push(u8::try_from(column.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(&column.as_bytes()[..column.len().min(255)]);
    let merchant_len = u16::try_from(merchant.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&merchant_len.to_be_bytes());
    out.extend_from_slice(&merchant.as_bytes()[..usize::from(merchant_len)]);
    out
}

struct Parts<'a> {
    key_id: [u8; 8],
    column: &'a [u8],
    merchant: &'a [u8],
    aad: &'a [u8],
    nonce: &'a [u8],
    ciphertext: &'a [u8],
}

fn parse(sealed: &[u8]) -> Option<Parts<'_>> {
    let rest = sealed.strip_prefix(MAGIC)?;
    let key_id: [u8; 8] = rest.get(..8)?.try_into().ok()?;
    let rest = &rest[8..];
    let column_len = usize::from(*rest.first()?);
    let column = rest.get(1..1 + column_len)?;
    let rest = &rest[1 + column_len..];
    let merchant_len = usize::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?));
    let merchant = rest.get(2..2 + merchant_len)?;
    let aad_len = sealed.len() - rest.len() + 2 + merchant_len;
    let rest = &rest[2 + merchant_len..];
    let nonce = rest.get(..NONCE_LEN)?;
    let ciphertext = &rest[NONCE_LEN..];
    Some(Parts { key_id, column, merchant, aad: &sealed[..aad_len], nonce, ciphertext })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_flipped_is_refused() {
        let keys = Keyring::new(Key::from_bytes([1; 32]));
        let sealed = keys.seal("M1", "refresh_token", b"EQAAsecret");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(keys.open("M1", "refresh_token", &bad).is_err(), "byte {i}");
        }
        for len in 0..sealed.len() {
            assert!(keys.open("M1", "refresh_token", &sealed[..len]).is_err(), "truncated to {len}");
        }
    }

    #[test]
    fn a_wrong_key_is_named_by_its_id() {
        let sealed = Keyring::new(Key::from_bytes([1; 32])).seal("M1", "access_token", b"x");
        let other = Keyring::new(Key::from_bytes([2; 32]));
        assert!(matches!(other.open("M1", "access_token", &sealed), Err(SealError::UnknownKey { .. })));
        let rotated = other.with_older(Key::from_bytes([1; 32]));
        assert_eq!(&*rotated.open("M1", "access_token", &sealed).unwrap(), b"x");
    }

    #[test]
    fn a_value_moved_to_another_column_is_named() {
        let keys = Keyring::new(Key::from_bytes([1; 32]));
        let sealed = keys.seal("M1", "access_token", b"x");
        let error = keys.open("M1", "refresh_token", &sealed).unwrap_err();
        assert!(matches!(error, SealError::SwappedRow { .. }), "{error}");
    }

    #[test]
    fn keys_round_trip_through_base64_and_debug_shows_only_the_id() {
        let key = Key::generate();
        let again = Key::from_base64(&key.to_base64()).unwrap();
        assert_eq!(key.id_hex(), again.id_hex());
        assert!(!format!("{key:?}").contains(key.to_base64().trim_end_matches('=')));
        assert!(matches!(Key::from_base64("c2hvcnQ="), Err(SealError::MalformedKey)));
    }
}
