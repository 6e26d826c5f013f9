//! # square-oauth-ureq
//!
//! Carries the [`square_oauth`] core's requests to Square over ureq 3 (blocking, HTTP/1.1,
//! pooled keep-alive connections) and rustls. The core decides everything about the protocol
//! (what to send, how to read the answer, whether a retry is allowed); this crate only sends,
//! reads, times out and sleeps.
//!
//! ```no_run
//! use square_oauth_ureq::Client;
//! use square_oauth_ureq::square_oauth::{AuthorizationCode, ClientId, ClientSecret, Config, ObtainToken};
//!
//! let client = Client::new(Config::sandbox());
//! let exchange = ObtainToken::authorization_code(
//!     ClientId::new("sandbox-sq0idb-example"),
//!     ClientSecret::new("sandbox-sq0csb-example"),
//!     AuthorizationCode::new("sq0cgb-from-the-redirect"),
//! );
//! let token = client.obtain_token(&exchange)?;
//! println!("merchant {:?}, expires {:?}", token.merchant_id, token.expires_at);
//! # Ok::<(), square_oauth_ureq::Error>(())
//! ```
//!
//! ## What a call does
//!
//! [`Client::send`] takes any [`Operation`]; the named methods ([`obtain_token`](Client::obtain_token),
//! [`revoke_token`](Client::revoke_token), [`token_status`](Client::token_status),
//! [`refresh_if_due`](Client::refresh_if_due)) are the same call with the type spelled out.
//!
//! 1. The request is built once (an invalid input fails here, before anything is sent).
//! 2. Each attempt runs under the whole-request [`timeout`](ClientBuilder::timeout): connect,
//!    send, then read the body through ureq's body limit, which stops as soon as it passes the
//!    cap ([`Config::max_response_bytes`], 1 MiB by default). 4xx and 5xx answers are read like
//!    any other (`http_status_as_error(false)`); a redirect is never followed (`max_redirects(0)`).
//! 3. The answer is parsed by the core. If it failed, the core's [`RetryPolicy`] decides from
//!    what happened: an answer's status and `Retry-After`, a connection that was never made, or
//!    an attempt that may have reached Square. The thread sleeps or the call returns.
//!
//! Operations that spend a single-use credential (a code exchange, a PKCE refresh) are retried
//! only when the request provably never left: the connection was refused, or the host not
//! found. Never after a status, a timeout, a reset or a truncated answer, because the credential
//! may already be spent. A TLS certificate that fails verification is never retried at all.
//!
//! ## TLS
//!
//! rustls with the ring provider, set explicitly in ureq's `TlsConfig` (rustls' process-wide
//! default is never read), and Mozilla's roots from `webpki-roots`.
//! [`ClientBuilder::tls_root_certificates_pem`] trusts a private CA instead;
//! [`ClientBuilder::agent`] takes a whole [`ureq::Agent`] of your own (a proxy, the platform
//! verifier, a custom connector).
//!
//! Proxies are ureq's default: read from the environment (`ALL_PROXY`, `HTTPS_PROXY`, …,
//! honouring `NO_PROXY`). Give an agent of your own to choose otherwise.
//!
//! ## Secrets
//!
//! The request body is handed to ureq as a borrowed slice of the core's wiped-on-drop body, and
//! the answer is read into a buffer that is wiped after parsing. Buffers inside ureq and rustls
//! are theirs and are not wiped. No error or `Debug` output of this crate carries a secret.
//!
//! ## Out of scope
//!
//! HTTP/2, async (see `square-oauth-hyper`), and any decision the core makes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod error;

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io::{ErrorKind, Read};
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use square_oauth::{
    ClientSecret, Config, Decision, ObtainToken, ObtainTokenResponse, Operation, Outcome, RefreshRules,
    RetrieveTokenStatus, RetryPolicy, RevokeToken, RevokeTokenResponse, TokenSet, TokenStatus,
};
use zeroize::Zeroizing;

pub use builder::{ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_IDLE_CONNECTIONS, DEFAULT_TIMEOUT};
pub use error::Error;
pub use {square_oauth, ureq};

/// A blocking client for Square's OAuth API.
///
/// Cheap to clone, and `Send + Sync`: clones and threads share the configuration and the
/// connection pool.
///
/// - Building: [`new`](Self::new) (every default) or [`builder`](Self::builder).
/// - Calling: [`send`](Self::send) for any operation, or the named methods.
///
/// ```no_run
/// use square_oauth_ureq::Client;
/// use square_oauth_ureq::square_oauth::{AccessToken, Config, RetrieveTokenStatus};
///
/// let client = Client::new(Config::production());
/// let status = client.token_status(&RetrieveTokenStatus::new(AccessToken::new("EAAAexample")))?;
/// println!("scopes: {:?}, expires {:?}", status.scopes, status.expires_at);
/// # Ok::<(), square_oauth_ureq::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    retry_policy: RetryPolicy,
    connect_timeout: Duration,
    timeout: Duration,
    max_response_bytes: usize,
    agent: ureq::Agent,
    /// The agent is the caller's: its settings are overridden on every request.
    per_request: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("retry_policy", &self.inner.retry_policy)
            .field("connect_timeout", &self.inner.connect_timeout)
            .field("timeout", &self.inner.timeout)
            .field("max_response_bytes", &self.inner.max_response_bytes)
            .finish_non_exhaustive()
    }
}

/// How one attempt ended when it gave no usable answer: the error to return if it is the last,
/// and what to tell the retry policy (`None`: never retry).
type Failed = (Error, Option<Outcome>);

impl Client {
    /// A client with every default: webpki roots, connect timeout 10 s, whole-request timeout
    /// 30 s, [`RetryPolicy::default`], the size cap of `config`, up to 8 idle connections kept.
    pub fn new(config: Config) -> Client {
        Self::builder(config).build()
    }

    /// A builder starting from those defaults.
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder::new(config)
    }

    /// The core configuration requests are built with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Sends any operation, retrying as the policy allows, and parses the answer.
    pub fn send<O: Operation>(&self, operation: &O) -> Result<O::Output, Error> {
        let inner = &*self.inner;
        let (head, body) = operation.build(&inner.config)?.into_parts();
        let mut attempt = 1;
        loop {
            let (error, outcome) = match self.attempt(&head, body.expose_secret()) {
                Err(failed) => failed,
                Ok(response) => match operation.parse(&inner.config, response) {
                    Ok(output) => return Ok(output),
                    Err(error) => {
                        let outcome = error.retry_outcome(jiff::Timestamp::now());
                        (Error::Core(error), outcome)
                    }
                },
            };
            let decision = match outcome {
                Some(outcome) => inner.retry_policy.decide(operation.replay(), attempt, outcome, entropy(attempt)),
                None => Decision::Stop,
            };
            match decision {
                Decision::Retry(wait) => {
                    drop(error);
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                Decision::Stop => return Err(error),
            }
        }
    }

    /// One attempt: send, then read the answer up to the cap.
    fn attempt(&self, head: &http::request::Parts, body: &[u8]) -> Result<Response<Zeroizing<Vec<u8>>>, Failed> {
        let inner = &*self.inner;
        let limit = inner.max_response_bytes;
        let mut request = Request::from_parts(head.clone(), body);
        if inner.per_request {
            request = inner
                .agent
                .configure_request(request)
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_connect(Some(inner.connect_timeout))
                .timeout_global(Some(inner.timeout))
                .build();
        }
        let response = inner.agent.run(request).map_err(|error| classify(error, limit))?;
        let status = response.status();
        if status.is_redirection() {
            return Err((Error::Redirect { status }, None));
        }
        let (head, mut body) = response.into_parts();
        let body = read_capped(&mut body, limit)?;
        Ok(Response::from_parts(head, body))
    }

    /// ObtainToken, any grant: [`send`](Self::send) with the type spelled out.
    pub fn obtain_token(&self, operation: &ObtainToken) -> Result<ObtainTokenResponse, Error> {
        self.send(operation)
    }

    /// RevokeToken: [`send`](Self::send) with the type spelled out.
    pub fn revoke_token(&self, operation: &RevokeToken) -> Result<RevokeTokenResponse, Error> {
        self.send(operation)
    }

    /// RetrieveTokenStatus: [`send`](Self::send) with the type spelled out.
    pub fn token_status(&self, operation: &RetrieveTokenStatus) -> Result<TokenStatus, Error> {
        self.send(operation)
    }

    /// RenewToken, which Square deprecated: refresh tokens replace it.
    #[deprecated(note = "Square deprecated RenewToken; use ObtainToken with a refresh token")]
    #[allow(deprecated)]
    pub fn renew_token(&self, operation: &square_oauth::RenewToken) -> Result<square_oauth::RenewTokenResponse, Error> {
        self.send(operation)
    }

    /// Refreshes `tokens` if the rules say it is due (by the system clock), and stores the answer
    /// in it. `Ok(true)` if it refreshed, `Ok(false)` if nothing was due.
    ///
    /// The code flow needs `client_secret`; PKCE ignores it. A refresh window that has closed
    /// fails with the core's lifecycle error (the seller must authorize again). On any error
    /// `tokens` is unchanged; a PKCE refresh whose answer was lost may have spent the refresh
    /// token, which no retry can recover.
    pub fn refresh_if_due(
        &self,
        tokens: &mut TokenSet,
        client_secret: Option<&ClientSecret>,
        rules: &RefreshRules,
    ) -> Result<bool, Error> {
        let Some(operation) = tokens.refresh_operation_if_due(jiff::Timestamp::now(), rules, client_secret)? else {
            return Ok(false);
        };
        let response = self.send(&operation)?;
        tokens.apply_refresh(response, jiff::Timestamp::now())?;
        Ok(true)
    }
}

/// Reads a body into wiped-on-drop memory through ureq's body limit, which fails as soon as the
/// body passes `limit` (and before reading anything when the announced length already does).
fn read_capped(body: &mut ureq::Body, limit: usize) -> Result<Zeroizing<Vec<u8>>, Failed> {
    let announced = body.content_length().unwrap_or(0);
    if announced > limit as u64 {
        return Err((Error::BodyTooLarge { limit }, None));
    }
    let mut reader = body.with_config().limit(limit as u64).reader();
    let mut buffer = Zeroizing::new(Vec::with_capacity(announced as usize));
    let mut chunk = Zeroizing::new([0u8; 8 * 1024]);
    loop {
        let read = match reader.read(&mut chunk[..]) {
            Ok(0) => return Ok(buffer),
            Ok(read) => read,
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(error) => return Err(classify(ureq::Error::from(error), limit)),
        };
        if buffer.len() + read > buffer.capacity() {
            // Grow by hand so that the old allocation is wiped rather than freed as is.
            let mut grown = Zeroizing::new(Vec::with_capacity((buffer.len() + read).max(2 * buffer.capacity())));
            grown.extend_from_slice(&buffer);
            buffer = grown;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

/// What ureq's failure means for a retry. Failing to resolve or connect happens before the
/// request is written: Square never saw it. Any later I/O failure may have reached Square. A
/// TLS refusal (a certificate rustls rejected), a bad URI or an https-only rule is final:
/// retrying cannot change it.
fn classify(error: ureq::Error, limit: usize) -> Failed {
    use ureq::Error as U;
    let final_ = |error: U| (Error::transport(error), None);
    match error {
        U::BodyExceedsLimit(_) => (Error::BodyTooLarge { limit }, None),
        U::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect) => (Error::Timeout, Some(Outcome::NotSent)),
        U::Timeout(_) => (Error::Timeout, Some(Outcome::MaybeSent)),
        U::HostNotFound | U::ConnectionFailed | U::ConnectProxyFailed(_) => {
            (Error::transport(error), Some(Outcome::NotSent))
        }
        U::Io(ref io) if io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => final_(error),
        U::Io(ref io) if io.kind() == ErrorKind::TimedOut => (Error::Timeout, Some(Outcome::MaybeSent)),
        U::Io(ref io)
            if matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::AddrNotAvailable
            ) =>
        {
            (Error::transport(error), Some(Outcome::NotSent))
        }
        U::Tls(_)
        | U::Rustls(_)
        | U::Pem(_)
        | U::TlsRequired
        | U::RequireHttpsOnly(_)
        | U::BadUri(_)
        | U::Http(_)
        | U::InvalidProxyUrl
        | U::StatusCode(_)
        | U::TooManyRedirects
        | U::RedirectFailed => final_(error),
        // A reset, an early end of the answer, a protocol error: the request may have arrived.
        _ => (Error::transport(error), Some(Outcome::MaybeSent)),
    }
}

/// A random number for the policy's jitter, from the standard library's per-process hash keys.
fn entropy(attempt: u32) -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(attempt);
    hasher.finish()
}
