//! The authorize URL that starts the flow, and the redirect that ends it.

use crate::config::Config;
use crate::enums::Scope;
use crate::error::{CallbackError, Error, InvalidInput, Problem};
use crate::ids::ClientId;
use crate::pkce::{CodeChallenge, State};
use crate::secret::AuthorizationCode;
use crate::validators;

/// The page a seller opens to grant permissions (`GET /oauth2/authorize`). Built, never sent:
/// send the seller's browser there.
///
/// ```
/// use square_oauth::{AuthorizeUrl, ClientId, CodeVerifier, Config, Scope, State};
///
/// let verifier = CodeVerifier::from_entropy([7; 32]);
/// let state = State::from_entropy([9; 32]);
/// let url = AuthorizeUrl::new(ClientId::new("sq0idp-example"))
///     .scopes([Scope::MerchantProfileRead, Scope::PaymentsRead])
///     .state(&state)
///     .code_challenge(&verifier.challenge())
///     .build(&Config::production())
///     .unwrap();
/// assert!(url.starts_with("https://connect.squareup.com/oauth2/authorize?client_id=sq0idp-example"));
/// assert!(url.contains("scope=MERCHANT_PROFILE_READ+PAYMENTS_READ"));
/// assert!(url.contains("code_challenge_method=S256"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct AuthorizeUrl {
    client_id: ClientId,
    scopes: Vec<Scope>,
    locale: Option<String>,
    session: Option<bool>,
    // Kept as a `State` so that `Debug` of the builder shows a redaction, not the value.
    state: Option<State>,
    code_challenge: Option<CodeChallenge>,
    redirect_uri: Option<String>,
}

impl AuthorizeUrl {
    /// An authorize URL for the application; Square's default scopes apply until
    /// [`scopes`](Self::scopes) is called.
    pub fn new(client_id: ClientId) -> Self {
        Self {
            client_id,
            scopes: Vec::new(),
            locale: None,
            session: None,
            state: None,
            code_challenge: None,
            redirect_uri: None,
        }
    }

    /// `scope`: the permissions asked for.
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = Scope>) -> Self {
        self.scopes = scopes.into_iter().collect();
        self
    }

    /// `locale` of the page: `en-IE`, `en-US`, `en-CA`, `es-US`, `fr-CA` or `ja-JP`.
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }

    /// `session`: `false` forces the seller to sign in again (no effect in the sandbox).
    pub fn session(mut self, session: bool) -> Self {
        self.session = Some(session);
        self
    }

    /// `state`: echoed in the redirect and checked by [`parse_callback`].
    pub fn state(mut self, state: &State) -> Self {
        self.state = Some(state.clone());
        self
    }

    /// `code_challenge` (with `code_challenge_method=S256`): the code can then be exchanged only
    /// with the matching verifier.
    pub fn code_challenge(mut self, challenge: &CodeChallenge) -> Self {
        self.code_challenge = Some(challenge.clone());
        self
    }

    /// `redirect_uri`: must equal the registered one, and be sent again to ObtainToken.
    pub fn redirect_uri(mut self, redirect_uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(redirect_uri.into());
        self
    }

    /// The URL, on the configuration's host.
    pub fn build(&self, config: &Config) -> Result<String, Error> {
        validators::client_id(&self.client_id)?;
        // The base URL was checked when the configuration was built and the query is
        // form-encoded, so the pieces are joined as text: parsing the result into an
        // `http::Uri` and printing it again cost as much as building it.
        let mut url = String::with_capacity(self.url_capacity(config));
        url.push_str(config.base_url());
        url.push_str("/oauth2/authorize?client_id=");
        push_encoded(&mut url, self.client_id.as_str());
        if !self.scopes.is_empty() {
            // Written piece by piece: scopes joined by a space, which the form encoding writes `+`.
            validators::scopes(&self.scopes)?;
            url.push_str("&scope=");
            for (i, scope) in self.scopes.iter().enumerate() {
                if i > 0 {
                    url.push('+');
                }
                push_encoded(&mut url, scope.as_str());
            }
        }
        if let Some(locale) = &self.locale {
            let well_formed = !locale.is_empty()
                && locale.len() <= 16
                && locale.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !well_formed {
                return Err(InvalidInput::new("locale", Problem::Format("a language tag such as en-US")).into());
            }
            url.push_str("&locale=");
            push_encoded(&mut url, locale);
        }
        if let Some(session) = self.session {
            url.push_str(if session { "&session=true" } else { "&session=false" });
        }
        if let Some(state) = &self.state {
            validators::state(state.expose_secret())?;
            url.push_str("&state=");
            push_encoded(&mut url, state.expose_secret());
        }
        if let Some(challenge) = &self.code_challenge {
            url.push_str("&code_challenge=");
            push_encoded(&mut url, challenge.as_str());
            url.push_str("&code_challenge_method=");
            url.push_str(challenge.method());
        }
        if let Some(uri) = &self.redirect_uri {
            validators::redirect_uri(uri)?;
            url.push_str("&redirect_uri=");
            push_encoded(&mut url, uri);
        }
        url.push_str("&response_type=code");
        Ok(url)
    }

    /// Room for the whole URL, so that it is never moved while written: every name and value,
    /// the redirect URL three times over (its `:` and `/` are written `%3A` and `%2F`). The
    /// other values are identifiers that need no encoding; one that does costs a reallocation.
    fn url_capacity(&self, config: &Config) -> usize {
        // The names, `=`s and `&`s, with `session=false` and `code_challenge_method=S256`.
        const NAMES: usize = 140;
        let scopes: usize = self.scopes.iter().map(|scope| scope.as_str().len() + 1).sum();
        config.base_url().len()
            + NAMES
            + self.client_id.as_str().len()
            + scopes
            + self.locale.as_ref().map_or(0, String::len)
            + self.state.as_ref().map_or(0, |state| state.expose_secret().len())
            + self.code_challenge.as_ref().map_or(0, |challenge| challenge.as_str().len())
            + self.redirect_uri.as_ref().map_or(0, |uri| 3 * uri.len())
    }
}

/// Appends `value` as `application/x-www-form-urlencoded` writes it (the bytes
/// `form_urlencoded::byte_serialize` gives): ASCII letters, digits and `*-._` as they are, a
/// space as `+`, every other byte as `%XX`. A run of the first kind, all that an identifier, a
/// scope name or base64url holds, is copied in one piece.
fn push_encoded(url: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    // One load a byte rather than four ranges compared.
    static UNRESERVED: [bool; 256] = {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            table[b] = c.is_ascii_alphanumeric() || matches!(c, b'*' | b'-' | b'.' | b'_');
            b += 1;
        }
        table
    };
    let mut rest = value;
    loop {
        let run = rest.bytes().position(|b| !UNRESERVED[usize::from(b)]).unwrap_or(rest.len());
        url.push_str(&rest[..run]);
        let Some(c) = rest[run..].chars().next() else { return };
        if c == ' ' {
            url.push('+');
        } else {
            for &b in c.encode_utf8(&mut [0; 4]).as_bytes() {
                url.push('%');
                url.push(char::from(HEX[usize::from(b >> 4)]));
                url.push(char::from(HEX[usize::from(b & 0xF)]));
            }
        }
        rest = &rest[run + c.len_utf8()..];
    }
}

/// Reads the redirect back from the authorize page: the whole URL, or just its query (with or
/// without the `?`). Checks `state` first, in constant time, then returns the code or Square's
/// refusal.
///
/// ```
/// use square_oauth::{parse_callback, CallbackError, Error, State};
///
/// let state = State::new("expected-state");
/// let code = parse_callback("https://example.com/cb?code=sq0cgb-abc&response_type=code&state=expected-state", &state).unwrap();
/// assert_eq!(code.expose_secret(), "sq0cgb-abc");
///
/// let denied = parse_callback("error=access_denied&error_description=user_denied&state=expected-state", &state);
/// assert!(matches!(denied, Err(Error::Callback(CallbackError::Denied { .. }))));
///
/// let forged = parse_callback("?code=sq0cgb-abc&state=other", &state);
/// assert!(matches!(forged, Err(Error::Callback(CallbackError::StateMismatch))));
/// ```
pub fn parse_callback(redirect: &str, expected_state: &State) -> Result<AuthorizationCode, Error> {
    // An empty expected state would match an empty (or bare) `state` in a forged redirect.
    if expected_state.expose_secret().is_empty() {
        return Err(InvalidInput::new("state", Problem::Empty).into());
    }
    let without_fragment = redirect.split('#').next().unwrap_or_default();
    let query = if has_scheme(without_fragment) || without_fragment.starts_with('/') {
        // A URL: its query starts at the first `?`, and it may have none.
        without_fragment.split_once('?').map_or("", |(_, query)| query)
    } else {
        // A bare query, perhaps behind its `?` or a relative path (`cb?code=…`). A `?` or a
        // `://` inside a value (`state=https://…`) does not make it a URL.
        match without_fragment.find('?') {
            Some(at) if without_fragment.find('=').is_none_or(|eq| at < eq) => &without_fragment[at + 1..],
            _ => without_fragment,
        }
    };

    let mut code = None;
    // Whether the returned `state` matched, once one was read: it is compared where it
    // stands, never copied (a percent-decoded copy is wiped).
    let mut state_matched = None;
    let mut error = None;
    let mut description = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key == "state" {
            if state_matched.is_some() {
                return Err(CallbackError::Repeated("state").into());
            }
            state_matched = Some(expected_state.matches(&value));
            if let std::borrow::Cow::Owned(mut decoded) = value {
                zeroize::Zeroize::zeroize(&mut decoded);
            }
            continue;
        }
        let (slot, name) = match key.as_ref() {
            "code" => (&mut code, "code"),
            "error" => (&mut error, "error"),
            "error_description" => (&mut description, "error_description"),
            _ => continue,
        };
        if slot.is_some() {
            return Err(CallbackError::Repeated(name).into());
        }
        *slot = Some(zeroize::Zeroizing::new(value.into_owned()));
    }

    match state_matched {
        None => return Err(CallbackError::StateMissing.into()),
        Some(false) => return Err(CallbackError::StateMismatch.into()),
        Some(true) => {}
    }
    if let Some(error) = error {
        return Err(CallbackError::Denied {
            error: error.as_str().to_owned(),
            description: description.map(|d| d.as_str().to_owned()),
        }
        .into());
    }
    match code {
        // Moved out, not copied: what is left to wipe on drop is empty.
        Some(mut code) if !code.is_empty() => Ok(AuthorizationCode::new(std::mem::take(&mut *code))),
        _ => Err(CallbackError::CodeMissing.into()),
    }
}

/// Whether `text` starts with an RFC 3986 scheme and `://` (`https://…`).
fn has_scheme(text: &str) -> bool {
    // The scheme's characters, then `://` right after them. A first byte that is a letter is a
    // scheme character, so the scheme is never empty.
    let bytes = text.as_bytes();
    let end = bytes.iter().position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')));
    end.is_some_and(|end| bytes[0].is_ascii_alphabetic() && bytes[end..].starts_with(b"://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_encoded_as_form_urlencoded_does() {
        // Every ASCII byte, a space among them, and characters of two, three and four bytes.
        let ascii: String = (0..128u8).map(char::from).collect();
        for value in [ascii.as_str(), "", "sq0idp-uaPHIL_o.P*z", "a b", "é€😀 x", "https://e.com/cb?a=1&b=2"] {
            let mut url = String::from("x=");
            push_encoded(&mut url, value);
            let expected: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
            assert_eq!(url, format!("x={expected}"), "{value:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_value_is_encoded_as_form_urlencoded_does(value in "\\PC*") {
            let mut url = String::new();
            push_encoded(&mut url, &value);
            proptest::prop_assert_eq!(url, form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>());
        }
    }

    #[test]
    fn the_url_is_written_into_the_room_made_for_it() {
        let redirect = "https://example.com/cb";
        let url = AuthorizeUrl::new(ClientId::new("sq0idp-app"))
            .scopes([Scope::MerchantProfileRead, Scope::PaymentsRead])
            .locale("fr-CA")
            .session(false)
            .state(&State::new("st4te"))
            .code_challenge(&crate::CodeVerifier::from_entropy([1; 32]).challenge())
            .redirect_uri(redirect)
            .build(&Config::production())
            .unwrap();
        // Every name and value counted exactly, but for one `+` too many between the scopes and
        // the redirect URL's room for three bytes a byte, of which its `:` and three `/` use 8.
        let encoded = "https%3A%2F%2Fexample.com%2Fcb";
        assert!(url.contains(encoded));
        assert_eq!(url.capacity() - url.len(), 1 + 3 * redirect.len() - encoded.len());
    }
}
