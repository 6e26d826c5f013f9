//! The token lifecycle: what a grant returned, and Square's rules for keeping it alive.
//!
//! A [`TokenSet`] holds one seller's tokens and answers, from a `now` the caller passes, every
//! question a refresh job asks: is the access token expired, is a refresh due, can it still be
//! refreshed, when is the next refresh due. It builds the refresh request for its flow and takes
//! the answer in, rotating PKCE refresh tokens and keeping code-flow ones. Nothing here reads a
//! clock.

use core::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::enums::Scope;
use crate::ids::{ClientId, MerchantId};
use crate::obtain_token::{ObtainToken, ObtainTokenResponse};
use crate::secret::{AccessToken, ClientSecret, RefreshToken};

/// 15 days: how long after its expiry Square documents that an access token can still be renewed
/// (RenewToken's rule). Square's documents say code-flow refresh tokens do not expire, so this is
/// never used to refuse a refresh: past it, [`TokenSet::refresh_overdue`] warns that the refresh
/// job has been failing for a long time.
pub const CODE_FLOW_GRACE: SignedDuration = SignedDuration::from_hours(15 * 24);

/// 90 days: how long Square documents that a PKCE refresh token lasts. Used when an answer leaves
/// `refresh_token_expires_at` out, counted from when the answer arrived, which is never before
/// Square issued the token: the window it gives never closes before Square's own.
pub const PKCE_REFRESH_LIFETIME: SignedDuration = SignedDuration::from_hours(90 * 24);

/// Which grant a token set came from; it decides how it is refreshed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// The code flow, with the application secret: the refresh token is multi-use and never
    /// expires, and refreshing needs the secret.
    CodeFlow,
    /// PKCE, without a secret: the refresh token is single-use, expires (90 days), and each
    /// refresh returns a new one.
    Pkce,
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flow::CodeFlow => "code flow",
            Flow::Pkce => "PKCE",
        })
    }
}

/// When to refresh: Square asks for every 7 days or sooner; this crate adds a margin before
/// expiry so that a short-lived token, or one obtained long ago, never runs out first.
///
/// ```
/// use square_oauth::RefreshRules;
/// use square_oauth::jiff::SignedDuration;
///
/// let rules = RefreshRules::default();
/// assert_eq!(rules.refresh_after, SignedDuration::from_hours(7 * 24));
/// assert_eq!(rules.margin_before_expiry, SignedDuration::from_hours(24));
///
/// // Refresh daily instead.
/// let daily = RefreshRules { refresh_after: SignedDuration::from_hours(24), ..RefreshRules::default() };
/// # let _ = daily;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshRules {
    /// Refresh once the access token is this old (default 7 days, Square's guidance).
    pub refresh_after: SignedDuration,
    /// Refresh at the latest this long before the access token (or a PKCE refresh token)
    /// expires (default 1 day). Capped at half the access token's lifetime, so a 24-hour
    /// short-lived token is refreshed after 12 hours rather than the moment it is obtained.
    pub margin_before_expiry: SignedDuration,
}

impl Default for RefreshRules {
    fn default() -> Self {
        Self { refresh_after: SignedDuration::from_hours(7 * 24), margin_before_expiry: SignedDuration::from_hours(24) }
    }
}

/// Why a token set cannot do what was asked.
///
/// No variant carries a secret; merchant ids are not secrets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LifecycleError {
    /// Square's answer lacks a field a token set cannot do without (`access_token` or
    /// `merchant_id`).
    #[error("Square's answer has no `{0}`")]
    MissingField(&'static str),
    /// The refresh answer is for another seller than the token set's.
    #[error("the answer is for merchant {actual}, not {expected}")]
    MerchantMismatch {
        /// The token set's seller.
        expected: MerchantId,
        /// The seller in the answer.
        actual: MerchantId,
    },
    /// The token set holds no refresh token, so it can only be replaced by a new authorization.
    #[error("the token set has no refresh token; the seller must authorize again")]
    NoRefreshToken,
    /// A code-flow refresh needs the application secret, and none was given.
    #[error("a code-flow refresh needs the client secret")]
    ClientSecretRequired,
    /// The PKCE refresh token has expired: the seller must authorize again. (A code-flow refresh
    /// is never refused here: Square's answer decides.)
    #[error("the {flow} refresh window closed at {}; the seller must authorize again", crate::Rfc3339(*.closed_at))]
    RefreshWindowClosed {
        /// The token set's flow.
        flow: Flow,
        /// When the window closed.
        closed_at: Timestamp,
    },
}

impl LifecycleError {
    /// Whether only a new authorization by the seller can mend this: the set has no refresh
    /// token, or its PKCE refresh token has expired. The other variants are an answer that
    /// cannot be taken in, or a missing client secret: the application's to fix.
    ///
    /// ```
    /// use square_oauth::LifecycleError;
    /// assert!(LifecycleError::NoRefreshToken.must_authorize_again());
    /// assert!(!LifecycleError::ClientSecretRequired.must_authorize_again());
    /// ```
    pub fn must_authorize_again(&self) -> bool {
        matches!(self, LifecycleError::NoRefreshToken | LifecycleError::RefreshWindowClosed { .. })
    }

    /// Whether the error came from an answer Square sent (so a request reached Square), rather
    /// than from the set before anything was sent.
    pub fn from_answer(&self) -> bool {
        matches!(self, LifecycleError::MissingField(_) | LifecycleError::MerchantMismatch { .. })
    }
}

/// One seller's tokens, as a grant returned them, and Square's rules for keeping them alive.
///
/// The methods fall into four groups:
///
/// - **Reading**: [`flow`](Self::flow), [`merchant_id`](Self::merchant_id),
///   [`access_token`](Self::access_token), [`expires_at`](Self::expires_at), … .
/// - **Questions**, all from a `now` the caller passes: [`is_expired`](Self::is_expired),
///   [`refresh_due`](Self::refresh_due), [`can_refresh`](Self::can_refresh),
///   [`next_refresh_at`](Self::next_refresh_at).
/// - **Refreshing**: [`refresh_operation`](Self::refresh_operation) (or
///   [`refresh_operation_if_due`](Self::refresh_operation_if_due)) builds the request; the caller
///   sends it; [`apply_refresh`](Self::apply_refresh) takes the answer in.
/// - **Storing**: `Serialize` writes everything *but* the tokens; [`with_secrets`](Self::with_secrets)
///   is the explicit opt-in that writes them too; `Deserialize` reads what `with_secrets` wrote.
///
/// The calling contract for a PKCE token set: a refresh spends the refresh token, so the answer
/// must be applied (and stored) before anything else refreshes the same set. Send a PKCE refresh
/// at most once; if its answer is lost, the seller has to authorize again.
///
/// ```
/// use square_oauth::{ClientId, ClientSecret, Flow, ObtainTokenResponse, RefreshRules, TokenSet};
/// use square_oauth::jiff::{SignedDuration, Timestamp};
///
/// // What ObtainToken answered, and when.
/// let answer: ObtainTokenResponse = serde_json::from_str(r#"{
///     "access_token": "EAAAexample", "token_type": "bearer",
///     "expires_at": "2026-07-31T00:00:00Z", "merchant_id": "MLQW2MYBY81PZ",
///     "refresh_token": "EQAAexample", "short_lived": false
/// }"#)?;
/// let obtained: Timestamp = "2026-07-01T00:00:00Z".parse()?;
/// let mut tokens = TokenSet::from_response(Flow::CodeFlow, ClientId::new("sq0idp-app"), answer, obtained)?;
///
/// let rules = RefreshRules::default();
/// let day = SignedDuration::from_hours(24);
/// assert!(!tokens.refresh_due(obtained + day * 6, &rules));
/// assert!(tokens.refresh_due(obtained + day * 7, &rules));
/// assert_eq!(tokens.next_refresh_at(&rules), Some(obtained + day * 7));
///
/// // A refresh job: build the request, have an adapter send it, take the answer in.
/// let refresh = tokens.refresh_operation(Some(&ClientSecret::new("sq0csp-example")))?;
/// # let _ = refresh;
/// let answer: ObtainTokenResponse = serde_json::from_str(r#"{
///     "access_token": "EAAAnew", "expires_at": "2026-08-07T00:00:00Z",
///     "merchant_id": "MLQW2MYBY81PZ", "refresh_token": "EQAAexample"
/// }"#)?;
/// tokens.apply_refresh(answer, obtained + day * 7)?;
/// assert_eq!(tokens.next_refresh_at(&rules), Some(obtained + day * 14));
///
/// // Stored without its secrets unless asked.
/// let public = serde_json::to_string(&tokens)?;
/// assert!(!public.contains("EAAAexample"));
/// let stored = serde_json::to_string(&tokens.with_secrets())?;
/// let loaded: TokenSet = serde_json::from_str(&stored)?;
/// assert_eq!(loaded, tokens);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Square's rules, as this module applies them
///
/// | rule | source | here |
/// | --- | --- | --- |
/// | access tokens last 30 days (24 hours when short-lived) | Square | read from `expires_at`, never assumed |
/// | refresh every 7 days or sooner | Square's guidance | [`RefreshRules::refresh_after`], default 7 days |
/// | alert when a stored token is older than 8 days | Square's guidance | [`TokenSet::age`] |
/// | never let a token run out | this crate | [`RefreshRules::margin_before_expiry`], default 1 day |
/// | code flow: refresh tokens do not expire | Square | [`TokenSet::can_refresh`] is `true` for as long as there is one; Square's answer decides |
/// | renew within 15 days of the access token's expiry (RenewToken's rule) | Square | only a warning for the code flow: [`TokenSet::refresh_overdue`], [`CODE_FLOW_GRACE`] |
/// | PKCE: refresh tokens are single-use, last 90 days | Square | rotated by [`TokenSet::apply_refresh`]; window closes at `refresh_token_expires_at`, or 90 days after the grant when Square left it out |
///
/// # Boundaries
///
/// Every deadline is an instant at which something stops being allowed, and at that very
/// instant it is no longer allowed. Intervals are half-open: `[obtained_at, expires_at)` is when
/// the access token works.
///
/// - [`TokenSet::is_expired`] is `true` at `expires_at` itself.
/// - [`TokenSet::refresh_due`] is `true` at exactly `obtained_at + refresh_after` (7 days old is
///   due) and at exactly `expires_at - margin`.
/// - [`TokenSet::can_refresh`] is `false` at exactly `refresh_token_expires_at` (PKCE).
/// - [`TokenSet::refresh_overdue`] is `true` at exactly `expires_at + 15 days` (code flow).
///
/// Being strict at the instant costs nothing (a refresh is due days earlier). Where Square's
/// documents leave a rule uncertain, nothing is refused here: a code-flow refresh is always sent,
/// and Square's answer says whether the seller must authorize again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSet {
    flow: Flow,
    client_id: ClientId,
    merchant_id: MerchantId,
    access_token: AccessToken,
    expires_at: Option<Timestamp>,
    refresh_token: Option<RefreshToken>,
    refresh_token_expires_at: Option<Timestamp>,
    obtained_at: Timestamp,
    short_lived: bool,
    scopes: Vec<Scope>,
}

impl TokenSet {
    /// A token set from ObtainToken's answer to a code exchange (or a refresh), obtained at
    /// `now`.
    ///
    /// `access_token` and `merchant_id` are required ([`LifecycleError::MissingField`]). The
    /// answer carries no scopes: record the granted ones with [`with_scopes`](Self::with_scopes).
    ///
    /// A PKCE answer without `refresh_token` still gives a set, since its access token works and
    /// the code that bought it is spent: [`refresh_token`](Self::refresh_token) is then `None`,
    /// which is the report that the seller must authorize again before the access token expires
    /// ([`can_refresh`](Self::can_refresh) is `false`). A PKCE answer without
    /// `refresh_token_expires_at` gets Square's documented 90 days from `now`
    /// ([`PKCE_REFRESH_LIFETIME`]).
    pub fn from_response(
        flow: Flow,
        client_id: ClientId,
        response: ObtainTokenResponse,
        now: Timestamp,
    ) -> Result<TokenSet, LifecycleError> {
        let ObtainTokenResponse {
            access_token,
            expires_at,
            merchant_id,
            refresh_token,
            short_lived,
            refresh_token_expires_at,
            ..
        } = response;
        let access_token = access_token.ok_or(LifecycleError::MissingField("access_token"))?;
        let merchant_id = merchant_id.ok_or(LifecycleError::MissingField("merchant_id"))?;
        let refresh_token_expires_at =
            pkce_refresh_expiry(flow, refresh_token.is_some(), refresh_token_expires_at, now);
        Ok(TokenSet {
            flow,
            client_id,
            merchant_id,
            access_token,
            expires_at,
            refresh_token,
            refresh_token_expires_at,
            obtained_at: now,
            short_lived: short_lived.unwrap_or(false),
            scopes: Vec::new(),
        })
    }

    /// Records the scopes granted (from RetrieveTokenStatus, or the ones asked for), replacing
    /// any recorded before.
    #[must_use]
    pub fn with_scopes(mut self, scopes: impl IntoIterator<Item = Scope>) -> Self {
        self.scopes = scopes.into_iter().collect();
        self
    }

    /// The grant the tokens came from.
    pub fn flow(&self) -> Flow {
        self.flow
    }

    /// The application the tokens were issued to.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The seller who authorized the application.
    pub fn merchant_id(&self) -> &MerchantId {
        &self.merchant_id
    }

    /// The access token, for `Authorization: Bearer …` on Square's other APIs.
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// The refresh token, unless Square's answer left it out (then the seller must authorize
    /// again once the access token expires).
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    /// When the access token expires, as Square said.
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.expires_at
    }

    /// When the refresh token expires (PKCE only): Square's `refresh_token_expires_at`, or 90
    /// days after the answer arrived when Square left it out.
    pub fn refresh_token_expires_at(&self) -> Option<Timestamp> {
        self.refresh_token_expires_at
    }

    /// When the access token was obtained: the `now` passed to
    /// [`from_response`](Self::from_response) or to the last [`apply_refresh`](Self::apply_refresh).
    pub fn obtained_at(&self) -> Timestamp {
        self.obtained_at
    }

    /// The scopes recorded with [`with_scopes`](Self::with_scopes); empty if none were.
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    /// Whether the access token is short-lived (24 hours).
    pub fn short_lived(&self) -> bool {
        self.short_lived
    }

    /// How old the access token is at `now`. Square asks for an alert when a stored token is
    /// older than 8 days: with refreshes due at 7, an older token means the refresh job is failing.
    ///
    /// ```
    /// # use square_oauth::{ClientId, Flow, TokenSet};
    /// # use square_oauth::jiff::{SignedDuration, Timestamp};
    /// # let answer = serde_json::from_str(r#"{"access_token":"EAAAx","merchant_id":"M","refresh_token":"EQAAx"}"#).unwrap();
    /// # let now = Timestamp::UNIX_EPOCH;
    /// # let tokens = TokenSet::from_response(Flow::CodeFlow, ClientId::new("sq0idp-app"), answer, now).unwrap();
    /// if tokens.age(now) > SignedDuration::from_hours(8 * 24) {
    ///     // page someone: this seller's refresh job has been failing for a day
    /// }
    /// ```
    pub fn age(&self, now: Timestamp) -> SignedDuration {
        now.duration_since(self.obtained_at)
    }

    /// Whether the access token has expired: `true` from `expires_at` on (the instant itself
    /// included); `false` when Square gave no expiry.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|expires_at| now >= expires_at)
    }

    /// Whether a refresh is due: from [`next_refresh_at`](Self::next_refresh_at) on (that
    /// instant included).
    ///
    /// It stays `true` once a PKCE refresh window has closed, so that a refresh job notices:
    /// [`refresh_operation_if_due`](Self::refresh_operation_if_due) then fails with
    /// [`LifecycleError::RefreshWindowClosed`] instead of quietly doing nothing. `false` when the
    /// set has no refresh token (nothing can be done before the seller authorizes again; check
    /// [`is_expired`](Self::is_expired)).
    pub fn refresh_due(&self, now: Timestamp, rules: &RefreshRules) -> bool {
        self.next_refresh_at(rules).is_some_and(|due| now >= due)
    }

    /// Whether Square would still take the refresh token at `now`.
    ///
    /// - Code flow: always. Square's documents say code-flow refresh tokens do not expire, so
    ///   the refresh is sent and Square's answer decides; see
    ///   [`refresh_overdue`](Self::refresh_overdue) for the warning.
    /// - PKCE: until `refresh_token_expires_at`, that instant excluded (90 days after the grant
    ///   when Square's answer left it out, [`PKCE_REFRESH_LIFETIME`]).
    ///
    /// `false` without a refresh token. Whether the authorization was revoked is Square's to
    /// know; a refresh then fails with Square's error.
    pub fn can_refresh(&self, now: Timestamp) -> bool {
        self.refresh_token.is_some() && self.refresh_window_closes_at().is_none_or(|closes| now < closes)
    }

    /// When the refresh window closes, if it does: `refresh_token_expires_at` in PKCE, never in
    /// the code flow.
    pub fn refresh_window_closes_at(&self) -> Option<Timestamp> {
        match self.flow {
            Flow::CodeFlow => None,
            Flow::Pkce => self.refresh_token_expires_at,
        }
    }

    /// Whether a code-flow refresh is overdue at `now`: the access token expired 15 days
    /// ([`CODE_FLOW_GRACE`]) or more ago, that instant included. A warning, not a refusal: the
    /// refresh job has been failing for weeks, and Square may (its documents are not clear about
    /// it) ask the seller to authorize again. Send the refresh anyway; Square's answer decides.
    /// Always `false` in PKCE, whose refresh token has its own expiry
    /// ([`can_refresh`](Self::can_refresh)).
    ///
    /// ```
    /// # use square_oauth::{ClientId, Flow, TokenSet};
    /// # use square_oauth::jiff::{SignedDuration, Timestamp};
    /// # let answer = serde_json::from_str(r#"{"access_token":"EAAAx","merchant_id":"M","refresh_token":"EQAAx",
    /// #     "expires_at":"1970-01-31T00:00:00Z"}"#).unwrap();
    /// # let obtained = Timestamp::UNIX_EPOCH;
    /// let tokens = TokenSet::from_response(Flow::CodeFlow, ClientId::new("sq0idp-app"), answer, obtained)?;
    /// let day = SignedDuration::from_hours(24);
    /// assert!(!tokens.refresh_overdue(obtained + day * 44));
    /// assert!(tokens.refresh_overdue(obtained + day * 45));
    /// // Still refreshable: only Square can say no.
    /// assert!(tokens.can_refresh(obtained + day * 45));
    /// # Ok::<(), square_oauth::LifecycleError>(())
    /// ```
    pub fn refresh_overdue(&self, now: Timestamp) -> bool {
        match self.flow {
            Flow::CodeFlow => {
                self.refresh_token.is_some()
                    && self.expires_at.is_some_and(|expires_at| now >= add(expires_at, CODE_FLOW_GRACE))
            }
            Flow::Pkce => false,
        }
    }

    /// When the next refresh is due, so that a scheduler can sleep until then: the earliest of
    /// `obtained_at + refresh_after`, `expires_at - margin` and (PKCE) `refresh_token_expires_at -
    /// margin`, where the margin is capped at half the access token's lifetime. Negative rules
    /// count as zero.
    ///
    /// `None` when there is no refresh token. The instant may be in the past (a set loaded from
    /// storage after a long pause): refresh at once.
    pub fn next_refresh_at(&self, rules: &RefreshRules) -> Option<Timestamp> {
        self.refresh_token.as_ref()?;
        // A negative duration would schedule before the grant or after the expiry: read it as zero.
        let mut due = add(self.obtained_at, rules.refresh_after.max(SignedDuration::ZERO));
        let mut margin = rules.margin_before_expiry.max(SignedDuration::ZERO);
        if let Some(expires_at) = self.expires_at {
            let lifetime = expires_at.duration_since(self.obtained_at);
            if lifetime.is_positive() {
                margin = margin.min(lifetime / 2);
            }
            due = due.min(sub(expires_at, margin));
        }
        if self.flow == Flow::Pkce
            && let Some(refresh_expires_at) = self.refresh_token_expires_at
        {
            due = due.min(sub(refresh_expires_at, margin));
        }
        Some(due)
    }

    /// The ObtainToken request that refreshes this set: `refresh` with the client secret in the
    /// code flow (asking for a short-lived token again if this one is), `pkce_refresh` in PKCE
    /// (the secret, if given, is ignored: PKCE applications have none to send).
    ///
    /// Fails with [`LifecycleError::NoRefreshToken`] or, in the code flow without a secret,
    /// [`LifecycleError::ClientSecretRequired`]. It does not look at the clock: see
    /// [`refresh_operation_if_due`](Self::refresh_operation_if_due).
    pub fn refresh_operation(&self, client_secret: Option<&ClientSecret>) -> Result<ObtainToken, LifecycleError> {
        let refresh_token = self.refresh_token.clone().ok_or(LifecycleError::NoRefreshToken)?;
        match self.flow {
            Flow::CodeFlow => {
                let secret = client_secret.ok_or(LifecycleError::ClientSecretRequired)?;
                let operation = ObtainToken::refresh(self.client_id.clone(), secret.clone(), refresh_token);
                Ok(if self.short_lived { operation.short_lived(true) } else { operation })
            }
            Flow::Pkce => Ok(ObtainToken::pkce_refresh(self.client_id.clone(), refresh_token)),
        }
    }

    /// What a refresh job does at `now`: `Ok(None)` when no refresh is due, the request when one
    /// is, and [`LifecycleError::RefreshWindowClosed`] when one is due but the PKCE refresh token
    /// has expired (the application should drop the set and ask the seller to authorize again).
    /// A code-flow refresh is never refused here, however late: Square's answer decides
    /// ([`refresh_overdue`](Self::refresh_overdue) says when to worry).
    ///
    /// Adapters' `refresh_if_due` is this, the sending, and [`apply_refresh`](Self::apply_refresh).
    pub fn refresh_operation_if_due(
        &self,
        now: Timestamp,
        rules: &RefreshRules,
        client_secret: Option<&ClientSecret>,
    ) -> Result<Option<ObtainToken>, LifecycleError> {
        if !self.refresh_due(now, rules) {
            return Ok(None);
        }
        if !self.can_refresh(now) {
            let closed_at = self.refresh_window_closes_at().unwrap_or(now);
            return Err(LifecycleError::RefreshWindowClosed { flow: self.flow, closed_at });
        }
        self.refresh_operation(client_secret).map(Some)
    }

    /// Takes in the answer to [`refresh_operation`](Self::refresh_operation), received at `now`.
    ///
    /// - The access token, its expiry and `short_lived` are replaced; `obtained_at` becomes `now`.
    /// - PKCE: the new refresh token replaces the spent one, with its expiry (90 days from `now`
    ///   when Square left it out). An answer without a refresh token still gives the new access
    ///   token; the set is then left without a refresh token ([`refresh_token`](Self::refresh_token)
    ///   is `None`): the seller must authorize again before that access token expires.
    /// - Code flow: Square returns the same refresh token; if it returned none, the old one is
    ///   kept.
    /// - An answer for another seller is refused ([`LifecycleError::MerchantMismatch`]); one
    ///   without `merchant_id` is taken as this seller's.
    ///
    /// On error the set is left unchanged.
    pub fn apply_refresh(&mut self, response: ObtainTokenResponse, now: Timestamp) -> Result<(), LifecycleError> {
        let ObtainTokenResponse {
            access_token,
            expires_at,
            merchant_id,
            refresh_token,
            short_lived,
            refresh_token_expires_at,
            ..
        } = response;
        let access_token = access_token.ok_or(LifecycleError::MissingField("access_token"))?;
        if let Some(actual) = merchant_id
            && actual != self.merchant_id
        {
            return Err(LifecycleError::MerchantMismatch { expected: self.merchant_id.clone(), actual });
        }
        match (self.flow, refresh_token) {
            // The old refresh token is spent; keeping it would only schedule refreshes Square
            // refuses. The new access token is kept: it works until it expires.
            (Flow::Pkce, None) => {
                self.refresh_token = None;
                self.refresh_token_expires_at = None;
            }
            (Flow::Pkce, Some(new)) => {
                self.refresh_token = Some(new);
                self.refresh_token_expires_at = pkce_refresh_expiry(Flow::Pkce, true, refresh_token_expires_at, now);
            }
            (Flow::CodeFlow, Some(new)) => {
                self.refresh_token = Some(new);
                if refresh_token_expires_at.is_some() {
                    self.refresh_token_expires_at = refresh_token_expires_at;
                }
            }
            (Flow::CodeFlow, None) => {}
        }
        self.access_token = access_token;
        self.expires_at = expires_at;
        if let Some(short_lived) = short_lived {
            self.short_lived = short_lived;
        }
        self.obtained_at = now;
        Ok(())
    }

    /// The set as a value whose `Serialize` writes the tokens too: the explicit opt-in for
    /// storing a set that can be loaded again. Write it only where secrets belong (an encrypted
    /// store, a file readable by this user alone).
    pub fn with_secrets(&self) -> WithSecrets<'_> {
        WithSecrets(self)
    }
}

/// The PKCE refresh token's expiry: Square's, or 90 days from `now` when the answer has a PKCE
/// refresh token but no expiry for it.
fn pkce_refresh_expiry(
    flow: Flow,
    has_refresh_token: bool,
    given: Option<Timestamp>,
    now: Timestamp,
) -> Option<Timestamp> {
    match (flow, given) {
        (Flow::Pkce, None) if has_refresh_token => Some(add(now, PKCE_REFRESH_LIFETIME)),
        (Flow::Pkce, None) => None,
        (_, given) => given,
    }
}

/// `t + d`, saturating at the ends of time rather than failing: a deadline past year 9999 is
/// as good as none.
fn add(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.saturating_add(d).unwrap_or(if d.is_negative() { Timestamp::MIN } else { Timestamp::MAX })
}

/// `t - d`, saturating like [`add`] (`-d` itself would overflow for `SignedDuration::MIN`).
fn sub(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.saturating_sub(d).unwrap_or(if d.is_negative() { Timestamp::MAX } else { Timestamp::MIN })
}

/// A [`TokenSet`] whose `Serialize` includes the access and refresh tokens; made by
/// [`TokenSet::with_secrets`]. Its `Debug` still redacts them.
#[derive(Clone, Copy, Debug)]
pub struct WithSecrets<'a>(&'a TokenSet);

/// The stored form. One struct for both directions so the two cannot drift apart.
#[derive(Serialize, Deserialize)]
#[serde(bound(deserialize = "A: Deserialize<'de>, R: Deserialize<'de>"))]
struct Stored<A, R> {
    flow: Flow,
    client_id: ClientId,
    merchant_id: MerchantId,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token: Option<A>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::time::rfc3339::option")]
    expires_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<R>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::time::rfc3339::option")]
    refresh_token_expires_at: Option<Timestamp>,
    #[serde(with = "crate::time::rfc3339")]
    obtained_at: Timestamp,
    #[serde(default)]
    short_lived: bool,
    #[serde(default)]
    scopes: Vec<Scope>,
}

impl TokenSet {
    fn stored(&self, secrets: bool) -> Stored<&str, &str> {
        Stored {
            flow: self.flow,
            client_id: self.client_id.clone(),
            merchant_id: self.merchant_id.clone(),
            access_token: secrets.then(|| self.access_token.expose_secret()),
            expires_at: self.expires_at,
            refresh_token: if secrets { self.refresh_token.as_ref().map(RefreshToken::expose_secret) } else { None },
            refresh_token_expires_at: self.refresh_token_expires_at,
            obtained_at: self.obtained_at,
            short_lived: self.short_lived,
            scopes: self.scopes.clone(),
        }
    }
}

/// Writes everything except the access and refresh tokens, so that logging or storing a set by
/// accident leaks nothing. Such JSON cannot be loaded back; use [`TokenSet::with_secrets`] for
/// that.
impl Serialize for TokenSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.stored(false).serialize(serializer)
    }
}

impl Serialize for WithSecrets<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.stored(true).serialize(serializer)
    }
}

/// Reads what [`TokenSet::with_secrets`] wrote. JSON without `access_token` (what plain
/// `Serialize` writes) is refused.
impl<'de> Deserialize<'de> for TokenSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = Stored::<AccessToken, RefreshToken>::deserialize(deserializer)?;
        let access_token = stored.access_token.ok_or_else(|| {
            D::Error::custom("missing field `access_token` (was the token set written without `with_secrets()`?)")
        })?;
        let refresh_token = stored.refresh_token;
        Ok(TokenSet {
            flow: stored.flow,
            client_id: stored.client_id,
            merchant_id: stored.merchant_id,
            access_token,
            expires_at: stored.expires_at,
            refresh_token,
            refresh_token_expires_at: stored.refresh_token_expires_at,
            obtained_at: stored.obtained_at,
            short_lived: stored.short_lived,
            scopes: stored.scopes,
        })
    }
}
