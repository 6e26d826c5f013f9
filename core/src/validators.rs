//! The checks every operation makes before it builds anything, with Square's limits: one place,
//! so that a field is held to the same rule whichever call sends it.
//!
//! Each names the field in Square's words and never echoes its value.

use crate::enums::Scope;
use crate::error::{Error, InvalidInput, Problem};
use crate::ids::{ClientId, MerchantId};
use crate::secret::ClientSecret;

/// Square's length limits, from the specification, in characters: `(min, max)`.
mod limits {
    pub(super) const CLIENT_ID: (usize, usize) = (1, 191);
    pub(super) const CLIENT_SECRET: (usize, usize) = (2, 1024);
    pub(super) const CODE: (usize, usize) = (1, 191);
    pub(super) const REDIRECT_URI: (usize, usize) = (1, 2048);
    pub(super) const TOKEN: (usize, usize) = (2, 1024);
    pub(super) const MERCHANT_ID: (usize, usize) = (1, 191);
    /// RFC 7636 section 4.1.
    pub(super) const CODE_VERIFIER: (usize, usize) = (43, 128);
    /// Not Square's: a bound on what goes into a URL.
    pub(super) const STATE: (usize, usize) = (1, 1024);
}

/// Checks a text field against a length range (in characters, as the specification counts).
fn check_length(field: &'static str, value: &str, (min, max): (usize, usize)) -> Result<(), Error> {
    // A character is 1 to 4 bytes: when the byte length alone proves the bounds, skip the count.
    if value.len() <= max && value.len() >= min.saturating_mul(4).max(1) {
        return Ok(());
    }
    let actual = value.chars().count();
    if actual == 0 {
        return Err(InvalidInput::new(field, Problem::Empty).into());
    }
    if actual < min {
        return Err(InvalidInput::new(field, Problem::TooShort { min, actual }).into());
    }
    if actual > max {
        return Err(InvalidInput::new(field, Problem::TooLong { max, actual }).into());
    }
    Ok(())
}

/// `client_id`: 1 to 191 characters.
pub(crate) fn client_id(client_id: &ClientId) -> Result<(), Error> {
    check_length("client_id", client_id.as_str(), limits::CLIENT_ID)
}

/// `client_secret`: 2 to 1024 characters.
pub(crate) fn client_secret(secret: &ClientSecret) -> Result<(), Error> {
    check_length("client_secret", secret.expose_secret(), limits::CLIENT_SECRET)
}

/// An authorization `code`: 1 to 191 characters.
pub(crate) fn code(code: &str) -> Result<(), Error> {
    check_length("code", code, limits::CODE)
}

/// A token (`access_token`, `refresh_token`, `migration_token`): 2 to 1024 characters.
pub(crate) fn token(field: &'static str, token: &str) -> Result<(), Error> {
    check_length(field, token, limits::TOKEN)
}

/// `merchant_id`: 1 to 191 characters.
pub(crate) fn merchant_id(merchant: &MerchantId) -> Result<(), Error> {
    check_length("merchant_id", merchant.as_str(), limits::MERCHANT_ID)
}

/// `redirect_uri`: 1 to 2048 characters.
pub(crate) fn redirect_uri(uri: &str) -> Result<(), Error> {
    check_length("redirect_uri", uri, limits::REDIRECT_URI)
}

/// `state`: 1 to 1024 characters.
pub(crate) fn state(state: &str) -> Result<(), Error> {
    check_length("state", state, limits::STATE)
}

/// `scopes`: at least one, each a permission name without spaces.
pub(crate) fn scopes(scopes: &[Scope]) -> Result<(), Error> {
    if scopes.is_empty() {
        return Err(InvalidInput::new("scopes", Problem::Empty).into());
    }
    for scope in scopes {
        let text = scope.as_str();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidInput::new("scopes", Problem::Format("permission names without spaces")).into());
        }
    }
    Ok(())
}

/// `code_verifier`, RFC 7636 section 4.1: 43 to 128 unreserved characters.
pub(crate) fn code_verifier(verifier: &str) -> Result<(), Error> {
    check_length("code_verifier", verifier, limits::CODE_VERIFIER)?;
    if !verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')) {
        return Err(
            InvalidInput::new("code_verifier", Problem::Format("made of A-Z, a-z, 0-9, '-', '.', '_', '~'")).into()
        );
    }
    Ok(())
}

/// A credential sent in a header (`Authorization`): visible ASCII only. `HeaderValue` would take
/// bytes over 0x7F (sent raw, read by each server its own way) and spaces or tabs (trimmed by
/// some servers, kept by others).
pub(crate) fn header_credential(field: &'static str, credential: &str) -> Result<(), Error> {
    if credential.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(InvalidInput::new(field, Problem::Format("visible ASCII characters")).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_counted_in_characters_not_bytes() {
        // 191 characters of 2 bytes each: over the limit in bytes, within it in characters.
        assert!(client_id(&ClientId::new("é".repeat(191))).is_ok());
        let error = client_id(&ClientId::new("é".repeat(192))).unwrap_err();
        assert_eq!(error.to_string(), "invalid input: `client_id` must be at most 191 characters, got 192");
        let error = code_verifier(&"a".repeat(42)).unwrap_err();
        assert_eq!(error.to_string(), "invalid input: `code_verifier` must be at least 43 characters, got 42");
        assert!(matches!(
            token("refresh_token", ""),
            Err(Error::InvalidInput(InvalidInput { problem: Problem::Empty, .. }))
        ));
    }
}
