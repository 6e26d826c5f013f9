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
        let mut url = String::with_capacity(config.base_url().len() + 320);
        url.push_str(config.base_url());
        url.push_str("/oauth2/authorize?");
        let start = url.len();
        url.push_str("client_id=");
        url.extend(form_urlencoded::byte_serialize(self.client_id.as_str().as_bytes()));
        if !self.scopes.is_empty() {
            // Written piece by piece: scopes joined by a space, which the form encoding writes `+`.
            validators::scopes(&self.scopes)?;
            url.push_str("&scope=");
            for (i, scope) in self.scopes.iter().enumerate() {
                if i > 0 {
                    url.push('+');
                }
                url.extend(form_urlencoded::byte_serialize(scope.as_str().as_bytes()));
            }
        }
        let mut query = form_urlencoded::Serializer::for_suffix(url, start);
        if let Some(locale) = &self.locale {
            let well_formed = !locale.is_empty()
                && locale.len() <= 16
                && locale.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !well_formed {
                return Err(InvalidInput::new("locale", Problem::Format("a language tag such as en-US")).into());
            }
            query.append_pair("locale", locale);
        }
        if let Some(session) = self.session {
            query.append_pair("session", if session { "true" } else { "false" });
        }
        if let Some(state) = &self.state {
            validators::state(state.expose_secret())?;
            query.append_pair("state", state.expose_secret());
        }
        if let Some(challenge) = &self.code_challenge {
            query.append_pair("code_challenge", challenge.as_str());
            query.append_pair("code_challenge_method", challenge.method());
        }
        if let Some(uri) = &self.redirect_uri {
            validators::redirect_uri(uri)?;
            query.append_pair("redirect_uri", uri);
        }
        query.append_pair("response_type", "code");
        Ok(query.finish())
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
