//! A stateful fake of Square's OAuth server, for offline tests.
//!
//! Square has no offline sandbox. `square-oauth-mock` behaves like Square's side of OAuth,
//! not like a canned stub: it keeps applications, sellers, codes and tokens, enforces
//! Square's rules on them, and lets a test move its clock and script network faults. It is an
//! independent implementation of the protocol (it shares no types with the `square-oauth`
//! client crate, so a mistake in one is caught by the other); its JSON follows Square's
//! specification (`spec/` in the repository).
//!
//! ```no_run
//! use square_oauth_mock::{App, MockConfig, MockSquare};
//!
//! let square = MockSquare::start(
//!     MockConfig::new()
//!         .app(App::new("sq0idp-test", "sq0csp-secret", &["http://127.0.0.1:9/callback"]))
//!         .seller("MLR0X4N3A6XK9"),
//! )?;
//! let authorize = format!(
//!     "{}/oauth2/authorize?client_id=sq0idp-test&scope=PAYMENTS_READ&state=xyz",
//!     square.base_url()
//! );
//! // What the Allow button would do, without a browser:
//! let redirect = square.approve(&authorize, None)?;
//! assert!(redirect.contains("code=sq0cgb-"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Running model
//! [`MockSquare::start`] binds the listener synchronously (so the port is known and bind
//! errors are returned), then serves on its own thread with its own two-worker tokio
//! runtime. The handle's methods are synchronous and may be called from plain code or from
//! inside any async runtime. Dropping the handle stops the server and joins its thread.
//!
//! # Endpoints
//! | method and path | what it does |
//! | --- | --- |
//! | `GET /oauth2/authorize` | validates the query, renders the HTML consent page (permissions, seller, Allow, Deny) |
//! | `POST /oauth2/authorize` | the consent form's target: redirects (302) with `code`/`response_type`/`state`, or `error=access_denied` |
//! | `POST /oauth2/token` | ObtainToken: `authorization_code` (code flow and PKCE S256), `refresh_token`, `migration_token` |
//! | `POST /oauth2/revoke` | RevokeToken, `Authorization: Client <secret>` |
//! | `POST /oauth2/token/status` | RetrieveTokenStatus, `Authorization: Bearer <token>` |
//! | `POST /oauth2/clients/{client_id}/access-token/renew` | RenewToken, deprecated, as in the 2024-03-20 specification |
//! | `OPTIONS *` | CORS preflight (204) |
//!
//! # Square's rules as implemented
//! - Codes (`sq0cgb-…`) are single-use and expire 5 minutes after approval. A failed exchange
//!   does not spend the code; the winning exchange spends it under the same lock that checked it.
//! - `redirect_uri` is required at ObtainToken when the authorize URL carried one, and must be equal.
//!   Without one, the application's first redirect URL is used (and, if sent to ObtainToken, must match it).
//! - A code with a `code_challenge` needs the `code_verifier` whose S256 hash matches; only
//!   `code_challenge_method=S256` (or none) is accepted. A code without one needs `client_secret`.
//! - Access tokens (`EAAA…`) live 30 days, 24 hours with `short_lived`. Code-flow refresh
//!   tokens (`EQAA…`) are multi-use, returned unchanged and never expire (with
//!   [`Behaviour::code_flow_refresh_grace`], they stop working once the newest access token of
//!   that authorization has been expired for more than 15 days). PKCE refresh
//!   tokens are single-use, expire in 90 days (`refresh_token_expires_at`) and are replaced by
//!   a new one on every refresh.
//! - `scopes` at ObtainToken narrows the new access token to the intersection with what the
//!   seller granted (an empty intersection is refused); the authorization keeps its scopes.
//! - `migration_token` is accepted for tokens seeded with [`MockSquare::seed_legacy_token`]
//!   (once; the legacy token dies) and gives a code-flow pair.
//! - RevokeToken by `access_token` or `merchant_id` (not both). With
//!   `revoke_only_access_token`, only that access token (or, by merchant, every access token
//!   of the application for that seller) dies; without it, every access token, refresh token,
//!   unused code and legacy token of that application for that seller dies and the
//!   `oauth.authorization.revoked` webhook fires (see [`MockSquare::subscribe_webhook`] and
//!   [`MockSquare::webhook`]). [`MockSquare::seller_revokes`] does what a seller does in Square's
//!   dashboard: the same revocation, with `revoker_type` `MERCHANT`.
//! - RenewToken accepts an access token of that application up to 15 days past its expiry and
//!   replaces it with a new 30-day one (the old one is revoked).
//! - Personal access tokens ([`MockSquare::seed_personal_token`]) never expire: their status has no `expires_at`.
//! - If no seller is configured, one is made up at start, so [`MockSquare::approve`] always has one.
//!
//! # Failures: status, category, code
//! Square publishes no statuses for OAuth failures; these are the fake's choices, applied
//! consistently. Every body is `{"errors":[{"category","code","detail","field"?}]}` except the
//! legacy one noted.
//!
//! | failure | status | category | code |
//! | --- | --- | --- | --- |
//! | `Authorization` not `Client <secret>` (revoke, renew) | 400 | legacy shape `{"message":"bad authorization header","type":"bad_request.invalid_parameter"}` | |
//! | unknown `client_id`, wrong `client_secret`, wrong secret in `Client` header | 401 | `AUTHENTICATION_ERROR` | `UNAUTHORIZED` |
//! | code unknown, of another app, used or expired; `redirect_uri` mismatch; wrong `code_verifier`; refresh token unknown, of another app, revoked, used, expired or (with [`Behaviour::code_flow_refresh_grace`]) past the 15-day grace; migration token unknown or used | 400 | `AUTHENTICATION_ERROR` | `UNAUTHORIZED` (specific `detail`, e.g. "Authorization code is already used") |
//! | token status: missing/malformed `Bearer`, unknown token | 401 | `AUTHENTICATION_ERROR` | `UNAUTHORIZED` |
//! | token status or renew: expired or revoked token (the specification's answer) | 401 | `AUTHENTICATION_ERROR` | `UNAUTHORIZED` |
//! | the same with [`Behaviour::specific_token_errors`] | 401 | `AUTHENTICATION_ERROR` | `ACCESS_TOKEN_EXPIRED` / `ACCESS_TOKEN_REVOKED` |
//! | revoke of something already revoked, with [`Behaviour::refuse_repeated_revoke`] (otherwise `{"success": true}` again) | 401 | `AUTHENTICATION_ERROR` | `ACCESS_TOKEN_REVOKED` |
//! | required field absent (`client_id`, `grant_type`, `code`, `refresh_token`, `migration_token`, `client_secret` for code flow, `code_verifier` for a PKCE code, `redirect_uri` when the authorize URL had one, revoke with neither `access_token` nor `merchant_id`) | 400 | `INVALID_REQUEST_ERROR` | `MISSING_REQUIRED_PARAMETER` (with `field`) |
//! | revoke with both `access_token` and `merchant_id` | 400 | `INVALID_REQUEST_ERROR` | `CONFLICTING_PARAMETERS` |
//! | field of the wrong JSON type | 400 | `INVALID_REQUEST_ERROR` | `EXPECTED_STRING` / `EXPECTED_BOOLEAN` / `EXPECTED_ARRAY` / `INVALID_ARRAY_VALUE` |
//! | field outside the specification's length limits | 400 | `INVALID_REQUEST_ERROR` | `VALUE_TOO_SHORT` / `VALUE_TOO_LONG` |
//! | unknown `grant_type`; `scopes` with nothing in common with the grant | 400 | `INVALID_REQUEST_ERROR` | `INVALID_VALUE` |
//! | revoke/renew of a token or seller this application doesn't have | 404 | `INVALID_REQUEST_ERROR` | `NOT_FOUND` |
//! | body not JSON, or not a JSON object | 400 | `INVALID_REQUEST_ERROR` | `EXPECTED_JSON_BODY` |
//! | `Content-Type` not `application/json` | 400 | `INVALID_REQUEST_ERROR` | `INVALID_CONTENT_TYPE` |
//! | `Square-Version` not `YYYY-MM-DD` | 400 | `INVALID_REQUEST_ERROR` | `INVALID_SQUARE_VERSION_FORMAT` |
//! | body over [`MockConfig::max_body_bytes`] | 413 | `INVALID_REQUEST_ERROR` | `REQUEST_ENTITY_TOO_LARGE` |
//! | unknown path | 404 | `INVALID_REQUEST_ERROR` | `NOT_FOUND` |
//! | wrong method | 405 (with `Allow`) | `INVALID_REQUEST_ERROR` | `METHOD_NOT_ALLOWED` |
//! | authorize URL invalid (unknown client, unregistered redirect, unknown scope, bad challenge) | 400 HTML error page, no redirect | | |
//!
//! # Headers
//! Every answer carries `Square-Version` (the request's if well-formed, else the configured
//! default, `2026-08-19`) and `Vary: Origin`. CORS follows [`Cors`]: by default no origin is
//! allowed and no header exposed; a request from an allowed origin gets
//! `Access-Control-Allow-Origin` naming it, and `Access-Control-Expose-Headers` with the
//! configured headers, if any.
//! Preflights answer 204 with `Access-Control-Allow-Methods: GET, POST, OPTIONS` and
//! `Access-Control-Allow-Headers: content-type, authorization, square-version`.
//!
//! # Faults
//! [`MockSquare::fault`] scripts the next N requests to a path (preflights excepted); see
//! [`Fault`] for the modes. Faulted requests are still recorded by [`MockSquare::requests`].
//!
//! # Throughput
//! `cargo run --release -p square-oauth-mock --example throughput` measures code exchanges
//! with 64 concurrent clients over loopback; `bench-report` measures the same
//! (`mock_server_throughput`), and the README's Performance table gives its figure.
//!
//! # The control API
//! With [`MockConfig::control`] (the binary's `--control`), the handle's methods are also
//! offered over HTTP, with CORS, for tests that cannot hold the handle (WebAssembly tests in
//! Node or a browser). Control requests are never faulted or recorded. Off by default: then
//! `/__mock/…` is an unknown path (404) like any other.
//!
//! | method and path | body | answer |
//! | --- | --- | --- |
//! | `POST /__mock/app` | `{"client_id", "client_secret", "redirect_urls": [..]}` | `{"client_id"}`: registers an application, or more redirect URLs for one |
//! | `POST /__mock/approve` | `{"authorize_url", "merchant_id"?}` | `{"redirect_url"}`, as [`MockSquare::approve`] |
//! | `POST /__mock/deny` | `{"authorize_url"}` | `{"redirect_url"}`, as [`MockSquare::deny`] |
//! | `POST /__mock/fault` | `{"path", "kind", "times"?, …}` | `{"queued"}`, as [`MockSquare::fault`] |
//! | `POST /__mock/clear-faults` | none | `{"cleared"}`: every queued fault dropped |
//! | `POST /__mock/advance` | `{"seconds"}` | `{"now"}`, as [`MockSquare::advance`] |
//! | `GET /__mock/now` | none | `{"now"}` (RFC 3339) |
//! | `GET /__mock/requests` | none | `[{"method","path","query","headers","body","at_ms","elapsed_ms"}]`, as [`MockSquare::requests`] (`at_ms`: arrival, milliseconds since the Unix epoch on the real clock; `elapsed_ms`: arrival on the monotonic clock, milliseconds since the fake started, for delays) |
//! | `POST /__mock/clear-requests` | none | `{"cleared"}` |
//! | `POST /__mock/behaviour` | `{"specific_token_errors"?, "code_flow_refresh_grace"?, "refuse_repeated_revoke"?}` (booleans; absent ones unchanged) | the whole [`Behaviour`], as [`MockSquare::set_behaviour`] |
//! | `POST /__mock/grants` | `{"client_id", "count", "pkce"?}` | `{"grants": [..]}`: ObtainToken answers for `count` new sellers, as [`MockSquare::mint_grants`] |
//! | `GET /__mock/stats` | none | `{"refused_reuses", "oversize_bytes_sent"}`: the first as [`MockSquare::refused_reuses`], the second the bytes of `oversize` answers handed to the connection so far |
//! | `POST /__mock/webhook` | `{"client_id", "notification_url", "signature_key"}` | `{"client_id", "notification_url"}`, as [`MockSquare::subscribe_webhook`] |
//! | `POST /__mock/seller-revokes` | `{"client_id", "merchant_id"}` | `{"merchant_id", "event_id", "deliveries": [{"notification_url", "status" or "error"}]}`, as [`MockSquare::seller_revokes`] |
//!
//! Fault bodies, one per [`Fault`] mode: `{"kind":"status","status":429,"retry_after":"2"}`,
//! `{"kind":"delay","millis":500}`, `{"kind":"reset"}`, `{"kind":"truncate"}`,
//! `{"kind":"html502"}`, `{"kind":"redirect","location":"…"}`, `{"kind":"oversize","bytes":N}`;
//! `times` defaults to 1. A body the API cannot use gets 400 `{"error": "…"}`.
//!
//! # Out of scope
//! Square's other APIs; the seller's login; `locale` and `session` (accepted, ignored);
//! HTTP/2; subscriptions (`subscription_id`, `plan_id` are never sent); OpenID `id_token`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod consent;
mod control;
mod errors;
mod scopes;
mod server;
mod state;
mod util;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use server::{Shared, lock};
use state::State;

/// A registered application: its id, secret and redirect URLs (the first is the default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// The application id (`client_id`), e.g. `sq0idp-…` or `sandbox-sq0idb-…`.
    pub client_id: String,
    /// The application secret (`client_secret`).
    pub client_secret: String,
    /// The registered redirect URLs; an authorize URL without `redirect_uri` uses the first.
    pub redirect_urls: Vec<String>,
}

impl App {
    /// An application with these credentials and redirect URLs.
    pub fn new(client_id: &str, client_secret: &str, redirect_urls: &[&str]) -> Self {
        App {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            redirect_urls: redirect_urls.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// How to start a [`MockSquare`]. `Default` is: no applications, no sellers (one is made up),
/// listen on `127.0.0.1:0`, `Square-Version` `2026-08-19`, 64 KiB request bodies, plain http.
#[derive(Debug, Clone)]
pub struct MockConfig {
    listen: SocketAddr,
    apps: Vec<App>,
    sellers: Vec<String>,
    max_body_bytes: usize,
    square_version: String,
    tls: Option<(String, String)>,
    control: bool,
    behaviour: Behaviour,
    cors: Cors,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            apps: Vec::new(),
            sellers: Vec::new(),
            max_body_bytes: 64 * 1024,
            square_version: "2026-08-19".to_owned(),
            tls: None,
            control: false,
            behaviour: Behaviour::default(),
            cors: Cors::default(),
        }
    }
}

impl MockConfig {
    /// The default configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// The address to listen on (port 0: an ephemeral port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Registers an application.
    pub fn app(mut self, app: App) -> Self {
        self.apps.push(app);
        self
    }

    /// Registers a seller (merchant id) who can approve; [`MockSquare::approve`] picks the first if unspecified.
    pub fn seller(mut self, merchant_id: &str) -> Self {
        self.sellers.push(merchant_id.to_owned());
        self
    }

    /// The request body cap; larger bodies get 413 in the `errors` shape. Default 64 KiB.
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }

    /// The `Square-Version` echoed when a request sends none (default `2026-08-19`).
    pub fn square_version(mut self, version: &str) -> Self {
        self.square_version = version.to_owned();
        self
    }

    /// Serve https with this certificate chain and private key (both PEM), using rustls with
    /// the `ring` provider.
    pub fn tls(mut self, cert_chain_pem: &str, private_key_pem: &str) -> Self {
        self.tls = Some((cert_chain_pem.to_owned(), private_key_pem.to_owned()));
        self
    }

    /// Turns on the test-only control API under `/__mock/` (off by default): approve and deny,
    /// script faults, move the clock and read the request log over HTTP, for tests that cannot
    /// hold the [`MockSquare`] handle (WebAssembly tests in Node or a browser). See
    /// the table in [the crate documentation](crate#the-control-api).
    pub fn control(mut self, enabled: bool) -> Self {
        self.control = enabled;
        self
    }

    /// Which of Square's uncertain behaviours to model (default: what the specification says).
    /// It can be changed while running with [`MockSquare::set_behaviour`].
    pub fn behaviour(mut self, behaviour: Behaviour) -> Self {
        self.behaviour = behaviour;
        self
    }

    /// Which pages may call the fake from a browser, and which headers they may read (default:
    /// none; see [`Cors`]).
    pub fn cors(mut self, cors: Cors) -> Self {
        self.cors = cors;
        self
    }
}

/// The fake's CORS: which pages (origins) may read its answers, and which response headers
/// beyond the CORS-safelisted ones they may read.
///
/// The default is the strictest, since what Square sends is not documented: no origin is
/// allowed (a page cannot read any answer) and no header is exposed (`Retry-After` and
/// `Square-Version` stay hidden from a page that is allowed). A client running in a browser must
/// therefore work without those headers.
///
/// ```
/// use square_oauth_mock::{Cors, MockConfig};
///
/// let cors = Cors::default().allow_origin("http://127.0.0.1:5173").expose_header("retry-after");
/// let config = MockConfig::new().cors(cors);
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    /// Origins whose pages may read answers, as a browser sends them (`http://127.0.0.1:5173`);
    /// `*` allows any origin (named back, never `*` itself).
    pub allow_origins: Vec<String>,
    /// Response headers pages may read besides the safelisted ones (`retry-after`,
    /// `square-version`); none by default.
    pub expose_headers: Vec<String>,
}

impl Cors {
    /// Allows pages of `origin` (`*`: any).
    pub fn allow_origin(mut self, origin: &str) -> Self {
        self.allow_origins.push(origin.to_owned());
        self
    }

    /// Lets allowed pages read the header `name`.
    pub fn expose_header(mut self, name: &str) -> Self {
        self.expose_headers.push(name.to_ascii_lowercase());
        self
    }

    /// Whether pages of `origin` may read answers.
    pub fn allows(&self, origin: &str) -> bool {
        self.allow_origins.iter().any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(origin))
    }
}

/// How the fake answers where Square's documents leave Square's behaviour uncertain. The
/// default follows the specification; each switch turns on the other behaviour, so that a
/// client can be tested against both.
///
/// ```
/// use square_oauth_mock::{Behaviour, MockConfig};
///
/// let config = MockConfig::new().behaviour(Behaviour { specific_token_errors: true, ..Behaviour::default() });
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Behaviour {
    /// RetrieveTokenStatus and RenewToken of an expired or revoked access token answer
    /// `ACCESS_TOKEN_EXPIRED` / `ACCESS_TOKEN_REVOKED` instead of the specification's
    /// `UNAUTHORIZED` (all 401, `AUTHENTICATION_ERROR`).
    pub specific_token_errors: bool,
    /// Code-flow refresh tokens stop working once the newest access token of the authorization
    /// has been expired for more than 15 days (RenewToken's rule). Off: they never expire, as
    /// Square's documents say.
    pub code_flow_refresh_grace: bool,
    /// RevokeToken of an access token already revoked, or of a seller with nothing left to
    /// revoke, answers 401 `ACCESS_TOKEN_REVOKED` instead of `{"success": true}`: what a client
    /// may see when it repeats a revocation whose first answer was lost.
    pub refuse_repeated_revoke: bool,
}

/// A scripted fault for the next requests to one path (see [`MockSquare::fault`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and an `errors` body (429 `RATE_LIMITED`, 503
    /// `SERVICE_UNAVAILABLE`, …), with `Retry-After` if given (seconds or an HTTP date, sent as is).
    Status {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` header's value.
        retry_after: Option<String>,
    },
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Close the connection without answering (the request has still been received and recorded,
    /// but not acted on).
    Reset,
    /// Act on the request normally (a code is spent, a refresh token rotated), then send the
    /// status, headers and `Content-Length` of the real answer with only the first half of its
    /// body, and close the connection.
    Truncate,
    /// A `text/html` 502 page, as a proxy in front of Square would send.
    Html502,
    /// A 302 to this `Location`.
    Redirect(String),
    /// A 200 `application/json` body of exactly this many bytes (starts like a token answer).
    Oversize(usize),
}

/// One request the fake received, secrets included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Every header, names lowercase, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as received (empty when it exceeded the size cap).
    pub body: Vec<u8>,
    /// When it arrived, on the real clock (not the fake's): a time to show. A delay between two
    /// requests is measured with [`arrived`](Self::arrived), which a step of the wall clock
    /// cannot shift.
    pub at: SystemTime,
    /// When it arrived, on the monotonic clock: what a delay check subtracts.
    pub arrived: Instant,
}

impl RecordedRequest {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Why [`MockSquare::approve`] or [`MockSquare::deny`] refused an authorize URL (the same
/// reasons the consent page shows an error instead of redirecting).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// The URL has no query string.
    #[error("not an authorize URL: {0}")]
    InvalidAuthorizeUrl(String),
    /// `client_id` is absent.
    #[error("the authorize URL has no client_id")]
    MissingClientId,
    /// `client_id` is not a registered application.
    #[error("unknown client_id `{0}`")]
    UnknownClient(String),
    /// `redirect_uri` is not one of the application's redirect URLs.
    #[error("redirect_uri `{0}` is not registered for this application")]
    RedirectNotRegistered(String),
    /// No `redirect_uri` and the application has no redirect URL.
    #[error("application `{0}` has no redirect URL registered")]
    NoRedirectUrl(String),
    /// A requested scope Square doesn't know.
    #[error("unknown scope `{0}`")]
    UnknownScope(String),
    /// `response_type` other than `code`.
    #[error("unsupported response_type `{0}` (only `code`)")]
    UnsupportedResponseType(String),
    /// `code_challenge_method` other than `S256`.
    #[error("unsupported code_challenge_method `{0}` (only `S256`)")]
    UnsupportedChallengeMethod(String),
    /// `code_challenge` is not 43–128 unreserved characters.
    #[error("invalid code_challenge `{0}`")]
    InvalidCodeChallenge(String),
    /// The merchant given to approve isn't a registered seller.
    #[error("unknown merchant `{0}`")]
    UnknownMerchant(String),
    /// No seller is registered (can't happen through [`MockSquare::start`], which makes one up).
    #[error("no seller registered")]
    NoSeller,
    /// The seller never authorized the application, so there is nothing to revoke.
    #[error("seller `{merchant_id}` has not authorized application `{client_id}`")]
    NotAuthorized {
        /// The application.
        client_id: String,
        /// The seller.
        merchant_id: String,
    },
    /// A webhook subscription's notification URL is not a plain `http://` URL with a host, or
    /// its signature key is empty.
    #[error("invalid webhook subscription: {0}")]
    InvalidSubscription(String),
}

/// One notification the fake sent for a revocation, and how the receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// Where it was sent (the subscription's notification URL).
    pub notification_url: String,
    /// The receiver's HTTP status, or why no answer came (refused connection, timeout).
    pub outcome: Result<u16, String>,
}

/// What [`MockSquare::seller_revokes`] did: the event sent, and each delivery of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationNotice {
    /// The seller whose authorization ended.
    pub merchant_id: String,
    /// The `oauth.authorization.revoked` event's `event_id`.
    pub event_id: String,
    /// One per subscription of the application (and the [`MockSquare::webhook`] URL, if set).
    pub deliveries: Vec<WebhookDelivery>,
}

/// A running fake Square. Dropping it stops the server and joins its thread.
///
/// Methods by kind:
/// - where it is: [`base_url`](Self::base_url), [`addr`](Self::addr);
/// - the seller's side: [`approve`](Self::approve), [`deny`](Self::deny);
/// - time: [`now`](Self::now), [`advance`](Self::advance);
/// - seeding: [`seed_legacy_token`](Self::seed_legacy_token), [`seed_personal_token`](Self::seed_personal_token);
/// - faults and observation: [`fault`](Self::fault), [`requests`](Self::requests),
///   [`clear_requests`](Self::clear_requests);
/// - webhooks: [`subscribe_webhook`](Self::subscribe_webhook), [`seller_revokes`](Self::seller_revokes),
///   [`webhook`](Self::webhook);
/// - lifetime: [`start`](Self::start), [`shutdown`](Self::shutdown).
#[derive(Debug)]
pub struct MockSquare {
    shared: Arc<Shared>,
    addr: SocketAddr,
    https: bool,
    /// The server's runtime, where webhooks are delivered from.
    runtime: tokio::runtime::Handle,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

fn tls_acceptor(cert_pem: &str, key_pem: &str) -> std::io::Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("certificate chain: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| invalid(format!("private key: {e}")))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

impl MockSquare {
    /// Binds, then serves on a new thread. Fails if the address can't be bound, the runtime
    /// can't be built, or the TLS material doesn't parse.
    pub fn start(config: MockConfig) -> std::io::Result<MockSquare> {
        let tls = match &config.tls {
            Some((cert, key)) => Some(tls_acceptor(cert, key)?),
            None => None,
        };
        let std_listener = StdTcpListener::bind(config.listen)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("square-oauth-mock-worker")
            .enable_all()
            .build()?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener)?
        };
        let mut sellers = config.sellers;
        if sellers.is_empty() {
            sellers.push(util::new_merchant_id());
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(config.apps, sellers, config.behaviour)),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(HashMap::new()),
            webhook: Mutex::new(None),
            subscriptions: Mutex::new(Vec::new()),
            square_version: config.square_version,
            max_body: config.max_body_bytes,
            control: config.control,
            cors: config.cors,
            oversize_sent: std::sync::atomic::AtomicU64::new(0),
            started: Instant::now(),
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        let handle = runtime.handle().clone();
        let for_thread = shared.clone();
        let https = tls.is_some();
        let thread = std::thread::Builder::new().name("square-oauth-mock".to_owned()).spawn(move || {
            runtime.block_on(server::accept_loop(listener, for_thread, tls, rx));
            // Dropping the runtime here cancels every open connection's task.
            runtime.shutdown_timeout(Duration::from_millis(200));
        })?;
        Ok(MockSquare { shared, addr, https, runtime: handle, shutdown: Some(tx), thread: Some(thread) })
    }

    /// `http://127.0.0.1:PORT` (`https` when serving TLS), no trailing slash.
    pub fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What pressing Allow on the consent page does, without a browser: validates the
    /// authorize URL, mints a code for `merchant_id` (default: the first seller) and returns
    /// the redirect URL with `code`, `response_type=code` and `state`.
    pub fn approve(&self, authorize_url: &str, merchant_id: Option<&str>) -> Result<String, MockError> {
        let query = query_of(authorize_url)?;
        let mut st = lock(&self.shared.state);
        let now = SystemTime::now() + st.offset;
        let req = st.parse_authorize(&query)?;
        st.approve(&req, merchant_id, now)
    }

    /// What pressing Deny does: the redirect URL with `error=access_denied`,
    /// `error_description=user_denied` and `state`.
    pub fn deny(&self, authorize_url: &str) -> Result<String, MockError> {
        let query = query_of(authorize_url)?;
        let req = lock(&self.shared.state).parse_authorize(&query)?;
        Ok(server::deny_url(&req))
    }

    /// The behaviours modelled now (see [`Behaviour`]).
    pub fn behaviour(&self) -> Behaviour {
        lock(&self.shared.state).behaviour
    }

    /// Switches behaviours while running (the control API's `POST /__mock/behaviour`).
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        lock(&self.shared.state).behaviour = behaviour;
    }

    /// Moves the fake's clock forward (codes, tokens and grace periods all follow it).
    pub fn advance(&self, by: Duration) {
        lock(&self.shared.state).offset += by;
    }

    /// The fake's clock: real time plus every [`advance`](Self::advance).
    pub fn now(&self) -> SystemTime {
        self.shared.now()
    }

    /// Seeds a pre-2019 access token of `client_id` for `merchant_id` and returns it, for the
    /// `migration_token` grant. It also works as an access token until migrated.
    pub fn seed_legacy_token(&self, client_id: &str, merchant_id: &str) -> String {
        let mut st = lock(&self.shared.state);
        let now = SystemTime::now() + st.offset;
        st.seed_legacy(client_id, merchant_id, now)
    }

    /// Seeds a personal access token for `merchant_id`: every scope, never expires, attributed
    /// to the first registered application (no `client_id` if there is none).
    pub fn seed_personal_token(&self, merchant_id: &str) -> String {
        lock(&self.shared.state).seed_personal(merchant_id)
    }

    /// The next `times` requests to `path` (e.g. `"/oauth2/token"`; a query is ignored) get
    /// `fault` instead of, or on top of, the normal answer. Faults queue up in order.
    pub fn fault(&self, path: &str, fault: Fault, times: usize) {
        queue_fault(&self.shared, path, fault, times);
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// On every full revocation (RevokeToken without `revoke_only_access_token`, or
    /// [`seller_revokes`](Self::seller_revokes)) of any application, POST a signed
    /// `oauth.authorization.revoked` event to `url` (plain http), with
    /// `x-square-hmacsha256-signature` = base64(HMAC-SHA256(`signature_key`, `url` + body)).
    /// Delivery after RevokeToken is asynchronous and its failures are ignored.
    pub fn webhook(&self, url: &str, signature_key: &str) {
        *lock(&self.shared.webhook) = Some((url.to_owned(), signature_key.to_owned()));
    }

    /// Subscribes `notification_url` to `client_id`'s `oauth.authorization.revoked` events, as
    /// a developer does in Square's dashboard: every full revocation of that application's
    /// grants (RevokeToken without `revoke_only_access_token`, or
    /// [`seller_revokes`](Self::seller_revokes)) is POSTed there, signed like Square signs it:
    /// `x-square-hmacsha256-signature` = base64(HMAC-SHA256(`signature_key`,
    /// `notification_url` + body)). An application may have several subscriptions; the same URL
    /// again replaces its key. The URL must be plain `http://` (the fake's receivers are tests).
    ///
    /// ```no_run
    /// # let square = square_oauth_mock::MockSquare::start(square_oauth_mock::MockConfig::new()).unwrap();
    /// square.subscribe_webhook("sq0idp-test", "http://127.0.0.1:8080/webhooks/square", "whsec-key")?;
    /// # Ok::<(), square_oauth_mock::MockError>(())
    /// ```
    pub fn subscribe_webhook(
        &self,
        client_id: &str,
        notification_url: &str,
        signature_key: &str,
    ) -> Result<(), MockError> {
        server::subscribe(&self.shared, client_id, notification_url, signature_key)
    }

    /// The seller removes the application in their Square dashboard: every token of
    /// `client_id` for `merchant_id` is revoked (as a full RevokeToken does), and an
    /// `oauth.authorization.revoked` event with `revoker_type` `MERCHANT` is POSTed, signed, to
    /// each of the application's subscriptions ([`subscribe_webhook`](Self::subscribe_webhook))
    /// and to the [`webhook`](Self::webhook) URL if one is set. Returns once every delivery has
    /// been answered or has failed (each gives up after 10 seconds), with what each receiver
    /// answered; the revocation stands whatever they answered. From async code, call it on a
    /// blocking thread: it waits.
    pub fn seller_revokes(&self, client_id: &str, merchant_id: &str) -> Result<RevocationNotice, MockError> {
        let revocation = {
            let mut st = lock(&self.shared.state);
            let now = SystemTime::now() + st.offset;
            st.seller_revokes(client_id, merchant_id, now)?
        };
        let (event_id, body) = server::revocation_event(&revocation);
        let targets = server::webhook_targets(&self.shared, &revocation.client_id);
        let (tx, rx) = std::sync::mpsc::channel();
        self.runtime.spawn(async move {
            let _ = tx.send(server::deliver(targets, body).await);
        });
        // The runtime lives as long as the handle and every delivery has a deadline, so an
        // answer comes; were the runtime gone, no delivery was made.
        let deliveries = rx.recv().unwrap_or_default();
        Ok(RevocationNotice { merchant_id: revocation.merchant_id, event_id, deliveries })
    }

    /// Mints `count` grants of `client_id` at once, each for a new seller, as if each seller had
    /// pressed Allow and the code had been exchanged (`pkce`: with a single-use refresh token):
    /// ObtainToken's JSON answers, for tests that need many sellers. Fails for an unknown
    /// application.
    pub fn mint_grants(&self, client_id: &str, count: usize, pkce: bool) -> Result<Vec<String>, MockError> {
        let mut st = lock(&self.shared.state);
        let now = SystemTime::now() + st.offset;
        (0..count).map(|_| st.mint_grant(client_id, pkce, now).map(|answer| answer.to_string())).collect()
    }

    /// How many refreshes were refused because they presented a spent single-use (PKCE)
    /// refresh token: a client that loses track of its rotation shows up here.
    pub fn refused_reuses(&self) -> u64 {
        lock(&self.shared.state).refused_reuses
    }

    /// Stops the server and waits for its thread (the same as dropping the handle).
    pub fn shutdown(self) {
        drop(self);
    }
}

/// Queues `times` copies of `fault` for `path` (a query is ignored).
fn queue_fault(shared: &Shared, path: &str, fault: Fault, times: usize) {
    let path = path.split('?').next().unwrap_or(path).to_owned();
    let mut faults = lock(&shared.faults);
    let queue = faults.entry(path).or_default();
    queue.extend(std::iter::repeat_n(fault, times));
}

/// The query of an authorize URL, as `http::Uri` reads it (a fragment is no part of it).
fn query_of(url: &str) -> Result<String, MockError> {
    let invalid = || MockError::InvalidAuthorizeUrl(url.to_owned());
    let uri: http::Uri = url.parse().map_err(|_| invalid())?;
    uri.query().map(str::to_owned).ok_or_else(invalid)
}

impl Drop for MockSquare {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_and_values_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<MockSquare>();
        send_sync::<MockConfig>();
        send_sync::<Fault>();
        send_sync::<RecordedRequest>();
        send_sync::<MockError>();
    }

    #[test]
    fn query_of_ignores_fragments() {
        assert_eq!(query_of("http://h/oauth2/authorize?a=1#frag"), Ok("a=1".to_owned()));
        assert_eq!(query_of("https://h:8443/oauth2/authorize?a=1&b=%20"), Ok("a=1&b=%20".to_owned()));
        assert!(query_of("http://h/oauth2/authorize").is_err());
        assert!(query_of("http://h/oauth2/authorize#a?b=1").is_err(), "a ? inside the fragment is no query");
        assert!(query_of("not a url?a=1").is_err(), "a string that is no URL is refused");
    }
}
