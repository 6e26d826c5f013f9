//! Square's side of the protocol: applications, sellers, codes and tokens, and the rules
//! that govern them. Nothing here does I/O or reads a clock: `now` is always an argument,
//! so every rule runs under one lock hold and races resolve to exactly one winner.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use crate::errors::{ApiError, INVALID_REQUEST_ERROR};
use crate::{App, Behaviour, MockError, scopes, util};

/// Authorization codes live this long.
pub(crate) const CODE_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// Access tokens live this long.
pub(crate) const ACCESS_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// `short_lived` access tokens live this long.
pub(crate) const SHORT_LIVED_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// PKCE refresh tokens live this long.
pub(crate) const PKCE_REFRESH_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);
/// An expired access token can still be refreshed (or renewed) for this long.
pub(crate) const GRACE: Duration = Duration::from_secs(15 * 24 * 3600);

/// What the authorize URL asked for, once validated.
#[derive(Debug, Clone)]
pub(crate) struct AuthorizeRequest {
    pub(crate) client_id: String,
    /// The `redirect_uri` parameter exactly as sent, if it was.
    pub(crate) redirect_uri: Option<String>,
    /// Where the browser goes back to: `redirect_uri` or the application's first redirect URL.
    pub(crate) redirect_to: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) state: Option<String>,
    pub(crate) code_challenge: Option<String>,
}

#[derive(Debug)]
struct Code {
    client_id: String,
    merchant_id: String,
    scopes: Vec<String>,
    redirect_uri: Option<String>,
    redirect_to: String,
    code_challenge: Option<String>,
    expires_at: SystemTime,
    used: bool,
}

#[derive(Debug)]
struct Access {
    /// `None` for a personal access token of a fake with no application.
    client_id: Option<String>,
    merchant_id: String,
    scopes: Vec<String>,
    /// `None`: never expires (personal access tokens).
    expires_at: Option<SystemTime>,
    revoked: bool,
    personal: bool,
}

#[derive(Debug)]
struct Refresh {
    client_id: String,
    merchant_id: String,
    scopes: Vec<String>,
    pkce: bool,
    /// PKCE only; code-flow refresh tokens never expire.
    expires_at: Option<SystemTime>,
    /// Expiry of the newest access token minted from this authorization (15-day grace rule).
    access_expires_at: SystemTime,
    used: bool,
    revoked: bool,
}

#[derive(Debug)]
struct Legacy {
    client_id: String,
    merchant_id: String,
    used: bool,
}

/// A full revocation that happened, for the webhook.
#[derive(Debug, Clone)]
pub(crate) struct Revocation {
    pub(crate) client_id: String,
    pub(crate) merchant_id: String,
    pub(crate) revoked_at: SystemTime,
    /// `APPLICATION` (RevokeToken) or `MERCHANT` (the seller, from the dashboard).
    pub(crate) revoker_type: &'static str,
}

/// All of the fake's mutable protocol state.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) apps: Vec<App>,
    pub(crate) sellers: Vec<String>,
    /// How far the test has moved the clock.
    pub(crate) offset: Duration,
    /// Which of Square's uncertain behaviours to model.
    pub(crate) behaviour: Behaviour,
    codes: HashMap<String, Code>,
    access: HashMap<String, Access>,
    refresh: HashMap<String, Refresh>,
    legacy: HashMap<String, Legacy>,
    /// Refreshes refused because they presented a spent single-use (PKCE) refresh token.
    pub(crate) refused_reuses: u64,
}

/// Typed, bounded reads of a JSON request body, with Square's error codes on mismatch.
struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    /// `null` counts as absent, as Square's nullable fields do.
    fn opt_str(&self, name: &str, min: usize, max: usize) -> Result<Option<&'a str>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let n = s.chars().count();
                if n < min {
                    Err(ApiError::invalid(
                        "VALUE_TOO_SHORT",
                        name,
                        format!("`{name}` must be at least {min} characters long"),
                    ))
                } else if n > max {
                    Err(ApiError::invalid(
                        "VALUE_TOO_LONG",
                        name,
                        format!("`{name}` must be at most {max} characters long"),
                    ))
                } else {
                    Ok(Some(s))
                }
            }
            Some(_) => Err(ApiError::invalid("EXPECTED_STRING", name, format!("Expected `{name}` to be a string"))),
        }
    }

    fn req_str(&self, name: &str, min: usize, max: usize) -> Result<&'a str, ApiError> {
        self.opt_str(name, min, max)?.ok_or_else(|| ApiError::missing(name))
    }

    fn opt_bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::invalid("EXPECTED_BOOLEAN", name, format!("Expected `{name}` to be a boolean"))),
        }
    }

    fn opt_str_array(&self, name: &str) -> Result<Option<Vec<&'a str>>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str().ok_or_else(|| {
                        ApiError::invalid(
                            "INVALID_ARRAY_VALUE",
                            name,
                            format!("Expected every item of `{name}` to be a string"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(ApiError::invalid("EXPECTED_ARRAY", name, format!("Expected `{name}` to be an array"))),
        }
    }
}

/// The body must be a JSON object.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let expected =
        || ApiError::new(400, INVALID_REQUEST_ERROR, "EXPECTED_JSON_BODY", "The request body must be a JSON object");
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(expected()),
    }
}

/// Parses `Authorization: Client <secret>`; anything else is Square's legacy "bad authorization header".
pub(crate) fn client_secret_header(header: Option<&str>) -> Result<&str, ApiError> {
    match header.and_then(|h| h.strip_prefix("Client ")) {
        Some(secret) if !secret.is_empty() && !secret.contains(char::is_whitespace) => Ok(secret),
        _ => Err(ApiError::bad_authorization_header()),
    }
}

/// Parses `Authorization: Bearer <token>` (scheme case-insensitive, as RFC 6750 allows).
fn bearer(header: Option<&str>) -> Result<&str, ApiError> {
    let h = header.ok_or_else(|| ApiError::unauthorized("The `Authorization` header is missing"))?;
    let (scheme, token) = h.split_once(' ').unwrap_or((h, ""));
    if !scheme.eq_ignore_ascii_case("Bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized("The `Authorization` header must be `Bearer ACCESS_TOKEN`"));
    }
    Ok(token.trim())
}

fn intersect(granted: &[String], requested: Option<Vec<&str>>) -> Result<Vec<String>, ApiError> {
    let Some(requested) = requested else {
        return Ok(granted.to_vec());
    };
    let narrowed: Vec<String> = granted.iter().filter(|g| requested.contains(&g.as_str())).cloned().collect();
    if narrowed.is_empty() {
        return Err(ApiError::invalid(
            "INVALID_VALUE",
            "scopes",
            "None of the requested scopes were granted by the seller",
        ));
    }
    Ok(narrowed)
}

/// What [`Behaviour::refuse_repeated_revoke`] answers to a revocation of something already revoked.
fn already_revoked() -> ApiError {
    ApiError::new(
        401,
        crate::errors::AUTHENTICATION_ERROR,
        "ACCESS_TOKEN_REVOKED",
        "The authorization has already been revoked",
    )
}

impl State {
    pub(crate) fn new(apps: Vec<App>, sellers: Vec<String>, behaviour: Behaviour) -> Self {
        State { apps, sellers, behaviour, ..State::default() }
    }

    pub(crate) fn app(&self, client_id: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    fn app_checked(&self, client_id: &str, secret: Option<&str>) -> Result<&App, ApiError> {
        let app =
            self.app(client_id).ok_or_else(|| ApiError::unauthorized(format!("Unknown client_id `{client_id}`")))?;
        if let Some(secret) = secret
            && !util::constant_time_eq(secret.as_bytes(), app.client_secret.as_bytes())
        {
            return Err(ApiError::unauthorized("The client_secret does not match the application"));
        }
        Ok(app)
    }

    // ---- authorize -------------------------------------------------------------------------

    /// Validates an authorize URL's query the way Square's authorize page does.
    pub(crate) fn parse_authorize(&self, query: &str) -> Result<AuthorizeRequest, MockError> {
        let mut params: HashMap<String, String> = HashMap::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            params.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        let client_id = params.get("client_id").filter(|c| !c.is_empty()).ok_or(MockError::MissingClientId)?;
        let app = self.app(client_id).ok_or_else(|| MockError::UnknownClient(client_id.clone()))?;
        let redirect_uri = params.get("redirect_uri").cloned();
        let redirect_to = match &redirect_uri {
            Some(r) if app.redirect_urls.iter().any(|u| u == r) => r.clone(),
            Some(r) => return Err(MockError::RedirectNotRegistered(r.clone())),
            None => app.redirect_urls.first().cloned().ok_or_else(|| MockError::NoRedirectUrl(client_id.clone()))?,
        };
        if let Some(rt) = params.get("response_type")
            && rt != "code"
        {
            return Err(MockError::UnsupportedResponseType(rt.clone()));
        }
        let scopes: Vec<String> = match params.get("scope") {
            Some(s) if !s.trim().is_empty() => {
                let mut out: Vec<String> = Vec::new();
                for scope in s.split(' ').filter(|s| !s.is_empty()) {
                    if !scopes::is_known(scope) {
                        return Err(MockError::UnknownScope(scope.to_owned()));
                    }
                    if !out.iter().any(|o| o == scope) {
                        out.push(scope.to_owned());
                    }
                }
                out
            }
            _ => scopes::DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        };
        let code_challenge = params.get("code_challenge").cloned();
        if let Some(method) = params.get("code_challenge_method")
            && method != "S256"
        {
            return Err(MockError::UnsupportedChallengeMethod(method.clone()));
        }
        if let Some(c) = &code_challenge {
            // RFC 7636: 43 to 128 unreserved characters; an S256 challenge is exactly 43.
            let ok =
                (43..=128).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            if !ok {
                return Err(MockError::InvalidCodeChallenge(c.clone()));
            }
        }
        Ok(AuthorizeRequest {
            client_id: client_id.clone(),
            redirect_uri,
            redirect_to,
            scopes,
            state: params.get("state").cloned(),
            code_challenge,
        })
    }

    /// The seller who approves: the one named, or the first registered.
    pub(crate) fn seller(&self, merchant_id: Option<&str>) -> Result<String, MockError> {
        match merchant_id {
            Some(m) if self.sellers.iter().any(|s| s == m) => Ok(m.to_owned()),
            Some(m) => Err(MockError::UnknownMerchant(m.to_owned())),
            None => self.sellers.first().cloned().ok_or(MockError::NoSeller),
        }
    }

    /// The seller pressed Allow: mint a code and build the redirect back to the application.
    pub(crate) fn approve(
        &mut self,
        req: &AuthorizeRequest,
        merchant_id: Option<&str>,
        now: SystemTime,
    ) -> Result<String, MockError> {
        let merchant_id = self.seller(merchant_id)?;
        let code = util::new_code();
        self.codes.insert(
            code.clone(),
            Code {
                client_id: req.client_id.clone(),
                merchant_id,
                scopes: req.scopes.clone(),
                redirect_uri: req.redirect_uri.clone(),
                redirect_to: req.redirect_to.clone(),
                code_challenge: req.code_challenge.clone(),
                expires_at: now + CODE_LIFETIME,
                used: false,
            },
        );
        let mut params = vec![("code", code.as_str()), ("response_type", "code")];
        if let Some(s) = &req.state {
            params.push(("state", s));
        }
        Ok(redirect_with(&req.redirect_to, &params))
    }

    /// A new seller who approved `client_id` and whose code was exchanged at `now`: what
    /// ObtainToken answered (PKCE: a single-use refresh token), without the browser steps.
    pub(crate) fn mint_grant(&mut self, client_id: &str, pkce: bool, now: SystemTime) -> Result<Value, MockError> {
        if self.app(client_id).is_none() {
            return Err(MockError::UnknownClient(client_id.to_owned()));
        }
        let merchant_id = util::new_merchant_id();
        self.sellers.push(merchant_id.clone());
        let granted: Vec<String> = scopes::DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
        let (access, expires_at) = self.mint_access(client_id, &merchant_id, granted.clone(), false, now);
        let refresh = util::new_refresh_token();
        let refresh_expires = pkce.then(|| now + PKCE_REFRESH_LIFETIME);
        self.refresh.insert(
            refresh.clone(),
            Refresh {
                client_id: client_id.to_owned(),
                merchant_id: merchant_id.clone(),
                scopes: granted,
                pkce,
                expires_at: refresh_expires,
                access_expires_at: expires_at,
                used: false,
                revoked: false,
            },
        );
        Ok(token_response(&access, expires_at, &merchant_id, &refresh, false, refresh_expires))
    }

    // ---- ObtainToken -----------------------------------------------------------------------

    /// `POST /oauth2/token`.
    pub(crate) fn obtain_token(&mut self, body: &Map<String, Value>, now: SystemTime) -> Result<Value, ApiError> {
        let f = Fields(body);
        let client_id = f.req_str("client_id", 0, 191)?;
        let grant_type = f.req_str("grant_type", 10, 20)?;
        let client_secret = f.opt_str("client_secret", 2, 1024)?;
        let scopes = f.opt_str_array("scopes")?;
        let short_lived = f.opt_bool("short_lived")?.unwrap_or(false);
        // Accepted and ignored: the 2026 SDKs send it; the token is usable either way.
        f.opt_bool("use_jwt")?;
        self.app_checked(client_id, client_secret)?;
        match grant_type {
            "authorization_code" => {
                let code = f.req_str("code", 0, 191)?;
                let redirect_uri = f.opt_str("redirect_uri", 0, 2048)?;
                let verifier = f.opt_str("code_verifier", 0, 1024)?;
                self.exchange_code(
                    client_id,
                    client_secret.is_some(),
                    code,
                    redirect_uri,
                    verifier,
                    scopes,
                    short_lived,
                    now,
                )
            }
            "refresh_token" => {
                let token = f.req_str("refresh_token", 2, 1024)?;
                self.refresh(client_id, client_secret.is_some(), token, scopes, short_lived, now)
            }
            "migration_token" => {
                let token = f.req_str("migration_token", 2, 1024)?;
                if client_secret.is_none() {
                    return Err(ApiError::missing("client_secret"));
                }
                self.migrate(client_id, token, now)
            }
            other => Err(ApiError::invalid(
                "INVALID_VALUE",
                "grant_type",
                format!(
                    "Unsupported grant_type `{other}`: expected authorization_code, refresh_token or migration_token"
                ),
            )),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn exchange_code(
        &mut self,
        client_id: &str,
        has_secret: bool,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        scopes: Option<Vec<&str>>,
        short_lived: bool,
        now: SystemTime,
    ) -> Result<Value, ApiError> {
        let grant = self.codes.get(code).ok_or_else(|| ApiError::bad_grant("Authorization code not found"))?;
        if grant.client_id != client_id {
            return Err(ApiError::bad_grant("Authorization code was issued to another application"));
        }
        if grant.used {
            return Err(ApiError::bad_grant("Authorization code is already used"));
        }
        if now > grant.expires_at {
            return Err(ApiError::bad_grant("Authorization code is expired"));
        }
        match (&grant.redirect_uri, redirect_uri) {
            (Some(_), None) => return Err(ApiError::missing("redirect_uri")),
            (Some(expected), Some(got)) if expected != got => {
                return Err(ApiError::bad_grant("redirect_uri does not match the one in the authorization request")
                    .field("redirect_uri"));
            }
            (None, Some(got)) if got != grant.redirect_to => {
                return Err(ApiError::bad_grant("redirect_uri does not match the application's redirect URL")
                    .field("redirect_uri"));
            }
            _ => {}
        }
        let pkce = match &grant.code_challenge {
            Some(challenge) => {
                let verifier = verifier.ok_or_else(|| ApiError::missing("code_verifier"))?;
                if !util::constant_time_eq(util::s256(verifier).as_bytes(), challenge.as_bytes()) {
                    return Err(
                        ApiError::bad_grant("code_verifier does not match the code_challenge").field("code_verifier")
                    );
                }
                true
            }
            None => {
                if !has_secret {
                    return Err(ApiError::missing("client_secret"));
                }
                false
            }
        };
        let granted = intersect(&grant.scopes, scopes)?;
        let merchant_id = grant.merchant_id.clone();
        let all_scopes = grant.scopes.clone();
        // Spent only once every check passed, under the same lock hold as the checks.
        if let Some(g) = self.codes.get_mut(code) {
            g.used = true;
        }
        let (access, expires_at) = self.mint_access(client_id, &merchant_id, granted, short_lived, now);
        let refresh = util::new_refresh_token();
        let refresh_expires = pkce.then(|| now + PKCE_REFRESH_LIFETIME);
        self.refresh.insert(
            refresh.clone(),
            Refresh {
                client_id: client_id.to_owned(),
                merchant_id: merchant_id.clone(),
                scopes: all_scopes,
                pkce,
                expires_at: refresh_expires,
                access_expires_at: expires_at,
                used: false,
                revoked: false,
            },
        );
        Ok(token_response(&access, expires_at, &merchant_id, &refresh, short_lived, refresh_expires))
    }

    fn mint_access(
        &mut self,
        client_id: &str,
        merchant_id: &str,
        scopes: Vec<String>,
        short_lived: bool,
        now: SystemTime,
    ) -> (String, SystemTime) {
        let token = util::new_access_token();
        let expires_at = now + if short_lived { SHORT_LIVED_LIFETIME } else { ACCESS_LIFETIME };
        self.access.insert(
            token.clone(),
            Access {
                client_id: Some(client_id.to_owned()),
                merchant_id: merchant_id.to_owned(),
                scopes,
                expires_at: Some(expires_at),
                revoked: false,
                personal: false,
            },
        );
        (token, expires_at)
    }

    fn refresh(
        &mut self,
        client_id: &str,
        has_secret: bool,
        token: &str,
        scopes: Option<Vec<&str>>,
        short_lived: bool,
        now: SystemTime,
    ) -> Result<Value, ApiError> {
        let r = self.refresh.get(token).ok_or_else(|| ApiError::bad_grant("Refresh token not found"))?;
        if r.client_id != client_id {
            return Err(ApiError::bad_grant("Refresh token was issued to another application"));
        }
        if r.revoked {
            return Err(ApiError::bad_grant("Refresh token is revoked"));
        }
        if r.pkce {
            if r.used {
                self.refused_reuses += 1;
                return Err(ApiError::bad_grant("Refresh token is already used"));
            }
            if r.expires_at.is_some_and(|e| now > e) {
                return Err(ApiError::bad_grant("Refresh token is expired"));
            }
        } else {
            if !has_secret {
                return Err(ApiError::missing("client_secret"));
            }
            // Square's documents say code-flow refresh tokens do not expire; the 15-day rule is
            // RenewToken's, applied here only when asked for.
            if self.behaviour.code_flow_refresh_grace && now > r.access_expires_at + GRACE {
                return Err(ApiError::bad_grant(
                    "The access token expired more than 15 days ago; the seller must authorize again",
                ));
            }
        }
        let granted = intersect(&r.scopes, scopes)?;
        let (pkce, merchant_id, all_scopes) = (r.pkce, r.merchant_id.clone(), r.scopes.clone());
        let (access, expires_at) = self.mint_access(client_id, &merchant_id, granted, short_lived, now);
        if pkce {
            if let Some(old) = self.refresh.get_mut(token) {
                old.used = true;
            }
            let fresh = util::new_refresh_token();
            let refresh_expires = now + PKCE_REFRESH_LIFETIME;
            self.refresh.insert(
                fresh.clone(),
                Refresh {
                    client_id: client_id.to_owned(),
                    merchant_id: merchant_id.clone(),
                    scopes: all_scopes,
                    pkce: true,
                    expires_at: Some(refresh_expires),
                    access_expires_at: expires_at,
                    used: false,
                    revoked: false,
                },
            );
            Ok(token_response(&access, expires_at, &merchant_id, &fresh, short_lived, Some(refresh_expires)))
        } else {
            if let Some(r) = self.refresh.get_mut(token) {
                r.access_expires_at = expires_at;
            }
            Ok(token_response(&access, expires_at, &merchant_id, token, short_lived, None))
        }
    }

    fn migrate(&mut self, client_id: &str, token: &str, now: SystemTime) -> Result<Value, ApiError> {
        let legacy = self.legacy.get(token).ok_or_else(|| ApiError::bad_grant("Migration token not found"))?;
        if legacy.client_id != client_id {
            return Err(ApiError::bad_grant("Migration token belongs to another application"));
        }
        if legacy.used {
            return Err(ApiError::bad_grant("Migration token is already migrated"));
        }
        let merchant_id = legacy.merchant_id.clone();
        if let Some(l) = self.legacy.get_mut(token) {
            l.used = true;
        }
        if let Some(a) = self.access.get_mut(token) {
            a.revoked = true;
        }
        let all: Vec<String> = scopes::DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
        let (access, expires_at) = self.mint_access(client_id, &merchant_id, all.clone(), false, now);
        let refresh = util::new_refresh_token();
        self.refresh.insert(
            refresh.clone(),
            Refresh {
                client_id: client_id.to_owned(),
                merchant_id: merchant_id.clone(),
                scopes: all,
                pkce: false,
                expires_at: None,
                access_expires_at: expires_at,
                used: false,
                revoked: false,
            },
        );
        Ok(token_response(&access, expires_at, &merchant_id, &refresh, false, None))
    }

    // ---- RevokeToken -----------------------------------------------------------------------

    /// `POST /oauth2/revoke`. Returns the answer and, for a full revocation, what the webhook reports.
    pub(crate) fn revoke(
        &mut self,
        authorization: Option<&str>,
        body: &Map<String, Value>,
        now: SystemTime,
    ) -> Result<(Value, Option<Revocation>), ApiError> {
        let secret = client_secret_header(authorization)?;
        let f = Fields(body);
        let client_id = f.req_str("client_id", 0, 191)?;
        let access_token = f.opt_str("access_token", 2, 1024)?;
        let merchant_id = f.opt_str("merchant_id", 0, 191)?;
        let only_access = f.opt_bool("revoke_only_access_token")?.unwrap_or(false);
        self.app_checked(client_id, Some(secret))?;
        let merchant_id = match (access_token, merchant_id) {
            (Some(_), Some(_)) => {
                return Err(ApiError::new(
                    400,
                    INVALID_REQUEST_ERROR,
                    "CONFLICTING_PARAMETERS",
                    "Provide either `access_token` or `merchant_id`, not both",
                ));
            }
            (None, None) => {
                return Err(ApiError::new(
                    400,
                    INVALID_REQUEST_ERROR,
                    "MISSING_REQUIRED_PARAMETER",
                    "Provide either `access_token` or `merchant_id`",
                )
                .field("access_token"));
            }
            (Some(token), None) => {
                let a = self
                    .access
                    .get_mut(token)
                    .filter(|a| a.client_id.as_deref() == Some(client_id) && !a.personal)
                    .ok_or_else(|| {
                        ApiError::new(
                            404,
                            INVALID_REQUEST_ERROR,
                            "NOT_FOUND",
                            "No access token of this application matches `access_token`",
                        )
                        .field("access_token")
                    })?;
                if a.revoked && self.behaviour.refuse_repeated_revoke {
                    return Err(already_revoked());
                }
                if only_access {
                    a.revoked = true;
                    return Ok((json!({"success": true}), None));
                }
                a.merchant_id.clone()
            }
            (None, Some(m)) => {
                let known =
                    self.access.values().any(|a| a.client_id.as_deref() == Some(client_id) && a.merchant_id == m)
                        || self.refresh.values().any(|r| r.client_id == client_id && r.merchant_id == m);
                if !known {
                    return Err(ApiError::new(
                        404,
                        INVALID_REQUEST_ERROR,
                        "NOT_FOUND",
                        "This seller has not authorized this application",
                    )
                    .field("merchant_id"));
                }
                let live =
                    self.access.values().any(|a| {
                        a.client_id.as_deref() == Some(client_id) && a.merchant_id == m && !a.revoked && !a.personal
                    }) || self.refresh.values().any(|r| r.client_id == client_id && r.merchant_id == m && !r.revoked);
                if !live && self.behaviour.refuse_repeated_revoke {
                    return Err(already_revoked());
                }
                m.to_owned()
            }
        };
        if only_access {
            for a in self.access.values_mut() {
                if a.client_id.as_deref() == Some(client_id) && a.merchant_id == merchant_id && !a.personal {
                    a.revoked = true;
                }
            }
            return Ok((json!({"success": true}), None));
        }
        self.end_authorization(client_id, &merchant_id);
        let revocation =
            Revocation { client_id: client_id.to_owned(), merchant_id, revoked_at: now, revoker_type: "APPLICATION" };
        Ok((json!({"success": true}), Some(revocation)))
    }

    /// What a seller does in Square's dashboard when they remove an application: every token
    /// of `client_id` for `merchant_id` dies, as with a full RevokeToken, and the revocation is
    /// the seller's (`MERCHANT`). Fails for an unknown application, or a seller who never
    /// authorized it.
    pub(crate) fn seller_revokes(
        &mut self,
        client_id: &str,
        merchant_id: &str,
        now: SystemTime,
    ) -> Result<Revocation, MockError> {
        if self.app(client_id).is_none() {
            return Err(MockError::UnknownClient(client_id.to_owned()));
        }
        let authorized = self
            .access
            .values()
            .any(|a| a.client_id.as_deref() == Some(client_id) && a.merchant_id == merchant_id && !a.personal)
            || self.refresh.values().any(|r| r.client_id == client_id && r.merchant_id == merchant_id);
        if !authorized {
            return Err(MockError::NotAuthorized {
                client_id: client_id.to_owned(),
                merchant_id: merchant_id.to_owned(),
            });
        }
        self.end_authorization(client_id, merchant_id);
        Ok(Revocation {
            client_id: client_id.to_owned(),
            merchant_id: merchant_id.to_owned(),
            revoked_at: now,
            revoker_type: "MERCHANT",
        })
    }

    /// Ends an authorization: every access token, refresh token, unused code and legacy token
    /// of the application for the seller dies.
    fn end_authorization(&mut self, client_id: &str, merchant_id: &str) {
        for a in self.access.values_mut() {
            if a.client_id.as_deref() == Some(client_id) && a.merchant_id == merchant_id && !a.personal {
                a.revoked = true;
            }
        }
        for r in self.refresh.values_mut() {
            if r.client_id == client_id && r.merchant_id == merchant_id {
                r.revoked = true;
            }
        }
        for c in self.codes.values_mut() {
            if c.client_id == client_id && c.merchant_id == merchant_id {
                c.used = true;
            }
        }
        for l in self.legacy.values_mut() {
            if l.client_id == client_id && l.merchant_id == merchant_id {
                l.used = true;
            }
        }
    }

    // ---- RetrieveTokenStatus ---------------------------------------------------------------

    /// `POST /oauth2/token/status`.
    pub(crate) fn token_status(&self, authorization: Option<&str>, now: SystemTime) -> Result<Value, ApiError> {
        let token = bearer(authorization)?;
        let a = self.live_access(token, now, Duration::ZERO)?;
        let mut out = json!({"scopes": a.scopes, "merchant_id": a.merchant_id});
        if let Some(c) = &a.client_id {
            out["client_id"] = json!(c);
        }
        if let Some(e) = a.expires_at {
            out["expires_at"] = json!(util::rfc3339(e));
        }
        Ok(out)
    }

    /// An access token usable at `now` (allowing `grace` past its expiry).
    fn live_access(&self, token: &str, now: SystemTime, grace: Duration) -> Result<&Access, ApiError> {
        let a = self.access.get(token).ok_or_else(|| ApiError::unauthorized("The access token is not valid"))?;
        // The specification gives `UNAUTHORIZED` for an expired or invalid token; the specific
        // codes are the other behaviour, on request.
        let specific = self.behaviour.specific_token_errors;
        if a.revoked {
            let code = if specific { "ACCESS_TOKEN_REVOKED" } else { "UNAUTHORIZED" };
            return Err(ApiError::new(
                401,
                crate::errors::AUTHENTICATION_ERROR,
                code,
                "The access token has been revoked",
            ));
        }
        if a.expires_at.is_some_and(|e| now > e + grace) {
            let code = if specific { "ACCESS_TOKEN_EXPIRED" } else { "UNAUTHORIZED" };
            return Err(ApiError::new(401, crate::errors::AUTHENTICATION_ERROR, code, "The access token has expired"));
        }
        Ok(a)
    }

    // ---- RenewToken (deprecated) -----------------------------------------------------------

    /// `POST /oauth2/clients/{client_id}/access-token/renew`, as the 2024-03-20 specification has it.
    pub(crate) fn renew(
        &mut self,
        client_id: &str,
        authorization: Option<&str>,
        body: &Map<String, Value>,
        now: SystemTime,
    ) -> Result<Value, ApiError> {
        let secret = client_secret_header(authorization)?;
        let f = Fields(body);
        let token = f.req_str("access_token", 2, 1024)?;
        self.app_checked(client_id, Some(secret))?;
        let a = self.live_access(token, now, GRACE)?;
        if a.personal || a.client_id.as_deref() != Some(client_id) {
            return Err(ApiError::new(
                404,
                INVALID_REQUEST_ERROR,
                "NOT_FOUND",
                "No OAuth access token of this application matches `access_token`",
            )
            .field("access_token"));
        }
        let (merchant_id, scopes) = (a.merchant_id.clone(), a.scopes.clone());
        // Renewing replaces the token: the old one stops working, as "may differ" implies.
        if let Some(old) = self.access.get_mut(token) {
            old.revoked = true;
        }
        let (access, expires_at) = self.mint_access(client_id, &merchant_id, scopes, false, now);
        for r in self.refresh.values_mut() {
            if r.client_id == client_id && r.merchant_id == merchant_id {
                r.access_expires_at = r.access_expires_at.max(expires_at);
            }
        }
        Ok(json!({
            "access_token": access,
            "token_type": "bearer",
            "expires_at": util::rfc3339(expires_at),
            "merchant_id": merchant_id,
        }))
    }

    // ---- seeding ---------------------------------------------------------------------------

    pub(crate) fn seed_legacy(&mut self, client_id: &str, merchant_id: &str, now: SystemTime) -> String {
        let token = util::new_legacy_token();
        self.legacy.insert(
            token.clone(),
            Legacy { client_id: client_id.to_owned(), merchant_id: merchant_id.to_owned(), used: false },
        );
        self.access.insert(
            token.clone(),
            Access {
                client_id: Some(client_id.to_owned()),
                merchant_id: merchant_id.to_owned(),
                scopes: scopes::DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
                expires_at: Some(now + ACCESS_LIFETIME),
                revoked: false,
                personal: false,
            },
        );
        token
    }

    pub(crate) fn seed_personal(&mut self, merchant_id: &str) -> String {
        let token = util::new_access_token();
        self.access.insert(
            token.clone(),
            Access {
                client_id: self.apps.first().map(|a| a.client_id.clone()),
                merchant_id: merchant_id.to_owned(),
                scopes: scopes::SCOPES.iter().map(|(s, _)| (*s).to_owned()).collect(),
                expires_at: None,
                revoked: false,
                personal: true,
            },
        );
        token
    }
}

fn token_response(
    access: &str,
    expires_at: SystemTime,
    merchant_id: &str,
    refresh: &str,
    short_lived: bool,
    refresh_expires_at: Option<SystemTime>,
) -> Value {
    let mut v = json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_at": util::rfc3339(expires_at),
        "merchant_id": merchant_id,
        "refresh_token": refresh,
        "short_lived": short_lived,
    });
    if let Some(r) = refresh_expires_at {
        v["refresh_token_expires_at"] = json!(util::rfc3339(r));
    }
    v
}

/// `base` with `params` appended to its query (keeping any query it already has).
pub(crate) fn redirect_with(base: &str, params: &[(&str, &str)]) -> String {
    let (without_fragment, fragment) = match base.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (base, None),
    };
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    let query = ser.finish();
    let sep = if without_fragment.contains('?') {
        if without_fragment.ends_with('?') || without_fragment.ends_with('&') { "" } else { "&" }
    } else {
        "?"
    };
    let mut out = format!("{without_fragment}{sep}{query}");
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}
