//! # square-oauth-hyper
//!
//! Carries the [`square_oauth`] core's requests to Square over hyper 1 (HTTP/1.1, pooled
//! keep-alive connections) and rustls, on tokio. The core decides everything about the protocol
//! (what to send, how to read the answer, whether a retry is allowed); this crate only sends,
//! reads, times out and sleeps.
//!
//! ```no_run
//! use square_oauth_hyper::Client;
//! use square_oauth_hyper::square_oauth::{AuthorizationCode, ClientId, ClientSecret, Config, ObtainToken};
//!
//! # async fn run() -> Result<(), square_oauth_hyper::Error> {
//! let client = Client::new(Config::sandbox());
//! let exchange = ObtainToken::authorization_code(
//!     ClientId::new("sandbox-sq0idb-example"),
//!     ClientSecret::new("sandbox-sq0csb-example"),
//!     AuthorizationCode::new("sq0cgb-from-the-redirect"),
//! );
//! let token = client.obtain_token(&exchange).await?;
//! println!("merchant {:?}, expires {:?}", token.merchant_id, token.expires_at);
//! # Ok(())
//! # }
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
//!    send, then read the body, stopping as soon as it passes the cap
//!    ([`Config::max_response_bytes`], 1 MiB by default). A redirect is never followed.
//! 3. The answer is parsed by the core. If it failed, the core's [`RetryPolicy`] decides from
//!    what happened: an answer's status and `Retry-After`, a connection that was never made, or
//!    an attempt that may have reached Square. The client sleeps (tokio) or stops.
//!
//! Operations that spend a single-use credential (a code exchange, a PKCE refresh) are retried
//! only when the request provably never left: the connection was refused. Never after a status,
//! a timeout, a reset or a truncated answer, because the credential may already be spent. A TLS
//! certificate that fails verification is never retried at all.
//!
//! ## TLS
//!
//! rustls with the ring provider, chosen explicitly (rustls' process-wide default is never read),
//! and Mozilla's roots from `webpki-roots`. [`ClientBuilder::tls_config`] takes a rustls
//! configuration of your own (a private CA); the `native-roots` feature adds
//! `ClientBuilder::native_roots` for the system's store; [`ClientBuilder::connector`] takes any
//! hyper connector (an HTTPS connector over a proxy).
//!
//! ## Secrets
//!
//! The request body is handed to hyper without a copy and wiped when hyper lets go of it; the
//! answer is read into a buffer that is wiped after parsing. Buffers inside hyper and rustls are
//! theirs and are not wiped. No error or `Debug` output of this crate carries a secret.
//!
//! ## Out of scope
//!
//! HTTP/2 (Square's OAuth calls are single requests), proxies (bring a connector), and any
//! decision the core makes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod error;

use std::collections::hash_map::RandomState;
use std::error::Error as StdError;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as _, Incoming};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use square_oauth::{
    ClientSecret, Config, Decision, ObtainToken, ObtainTokenResponse, Operation, Outcome, RefreshRules,
    RetrieveTokenStatus, RetryPolicy, RevokeToken, RevokeTokenResponse, TokenSet, TokenStatus,
};
use zeroize::Zeroizing;

pub use builder::{ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
pub use error::Error;
pub use {hyper_rustls, rustls, square_oauth};

/// The built-in connector: HTTPS by rustls (ring, webpki roots) over hyper-util's TCP connector.
pub type DefaultConnector = hyper_rustls::HttpsConnector<HttpConnector>;

/// An async client for Square's OAuth API.
///
/// Cheap to clone: clones share the configuration and the connection pool. Needs a tokio runtime
/// (either flavour); its futures are `Send`, so they can be spawned.
///
/// - Building: [`new`](Self::new) (every default) or [`builder`](Self::builder).
/// - Calling: [`send`](Self::send) for any operation, or the named methods.
///
/// ```no_run
/// use square_oauth_hyper::Client;
/// use square_oauth_hyper::square_oauth::{AccessToken, Config, RetrieveTokenStatus};
///
/// # async fn run() -> Result<(), square_oauth_hyper::Error> {
/// let client = Client::new(Config::production());
/// let status = client.token_status(&RetrieveTokenStatus::new(AccessToken::new("EAAAexample"))).await?;
/// println!("scopes: {:?}, expires {:?}", status.scopes, status.expires_at);
/// # Ok(())
/// # }
/// ```
pub struct Client<C = DefaultConnector> {
    inner: Arc<Inner<C>>,
}

struct Inner<C> {
    config: Config,
    retry_policy: RetryPolicy,
    timeout: Duration,
    max_response_bytes: usize,
    http: HyperClient<C, Full<Bytes>>,
}

impl<C> Clone for Client<C> {
    fn clone(&self) -> Self {
        Client { inner: Arc::clone(&self.inner) }
    }
}

impl<C> fmt::Debug for Client<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("retry_policy", &self.inner.retry_policy)
            .field("timeout", &self.inner.timeout)
            .field("max_response_bytes", &self.inner.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with every default: webpki roots, connect timeout 10 s, whole-request timeout
    /// 30 s, [`RetryPolicy::default`], the size cap of `config`, idle connections kept 90 s.
    pub fn new(config: Config) -> Client {
        Self::builder(config).build()
    }

    /// A builder starting from those defaults.
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder::new(config)
    }
}

/// How one attempt ended when it gave no usable answer: the error to return if it is the last,
/// and what to tell the retry policy (`None`: never retry).
type Failed = (Error, Option<Outcome>);

impl<C: Connect + Clone + Send + Sync + 'static> Client<C> {
    /// The core configuration requests are built with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Sends any operation, retrying as the policy allows, and parses the answer.
    pub async fn send<O: Operation + Sync>(&self, operation: &O) -> Result<O::Output, Error> {
        let inner = &*self.inner;
        let (head, body) = operation.build(&inner.config)?.into_parts();
        // Shared by every attempt without a copy; wiped when the last clone is dropped.
        let body = Bytes::from_owner(SecretBody(body));
        let mut attempt = 1;
        loop {
            let request = Request::from_parts(head.clone(), Full::new(body.clone()));
            let (error, outcome) = match tokio::time::timeout(inner.timeout, self.attempt(request)).await {
                Err(_elapsed) => (Error::Timeout, Some(Outcome::MaybeSent)),
                Ok(Err(failed)) => failed,
                Ok(Ok(response)) => match operation.parse(&inner.config, response) {
                    Ok(output) => return Ok(output),
                    Err(error) => {
                        let outcome = error.retry_outcome(square_oauth::jiff::Timestamp::now());
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
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Decision::Stop => return Err(error),
            }
        }
    }

    /// One attempt: send, then read the answer up to the cap.
    async fn attempt(&self, request: Request<Full<Bytes>>) -> Result<Response<Zeroizing<Vec<u8>>>, Failed> {
        let response = self.inner.http.request(request).await.map_err(classify)?;
        let status = response.status();
        if status.is_redirection() {
            return Err((Error::Redirect { status }, None));
        }
        let limit = self.inner.max_response_bytes;
        let (head, body) = response.into_parts();
        let body = read_capped(body, limit).await?;
        Ok(Response::from_parts(head, body))
    }

    /// ObtainToken, any grant: [`send`](Self::send) with the type spelled out.
    pub async fn obtain_token(&self, operation: &ObtainToken) -> Result<ObtainTokenResponse, Error> {
        self.send(operation).await
    }

    /// RevokeToken: [`send`](Self::send) with the type spelled out.
    pub async fn revoke_token(&self, operation: &RevokeToken) -> Result<RevokeTokenResponse, Error> {
        self.send(operation).await
    }

    /// RetrieveTokenStatus: [`send`](Self::send) with the type spelled out.
    pub async fn token_status(&self, operation: &RetrieveTokenStatus) -> Result<TokenStatus, Error> {
        self.send(operation).await
    }

    /// RenewToken, which Square deprecated: refresh tokens replace it.
    #[deprecated(note = "Square deprecated RenewToken; use ObtainToken with a refresh token")]
    #[allow(deprecated)]
    pub async fn renew_token(
        &self,
        operation: &square_oauth::RenewToken,
    ) -> Result<square_oauth::RenewTokenResponse, Error> {
        self.send(operation).await
    }

    /// Refreshes `tokens` if the rules say it is due (by the system clock), and stores the answer
    /// in it. `Ok(true)` if it refreshed, `Ok(false)` if nothing was due.
    ///
    /// The code flow needs `client_secret`; PKCE ignores it. A refresh window that has closed
    /// fails with the core's lifecycle error (the seller must authorize again). On any error
    /// `tokens` is unchanged; a PKCE refresh whose answer was lost may have spent the refresh
    /// token, which no retry can recover.
    pub async fn refresh_if_due(
        &self,
        tokens: &mut TokenSet,
        client_secret: Option<&ClientSecret>,
        rules: &RefreshRules,
    ) -> Result<bool, Error> {
        let Some(operation) =
            tokens.refresh_operation_if_due(square_oauth::jiff::Timestamp::now(), rules, client_secret)?
        else {
            return Ok(false);
        };
        let response = self.send(&operation).await?;
        tokens.apply_refresh(response, square_oauth::jiff::Timestamp::now())?;
        Ok(true)
    }
}

/// Reads a body into wiped-on-drop memory, failing as soon as it passes `limit` (before reading
/// anything when the announced length already does).
async fn read_capped(mut body: Incoming, limit: usize) -> Result<Zeroizing<Vec<u8>>, Failed> {
    let too_large = || (Error::BodyTooLarge { limit }, None);
    let announced = body.size_hint().lower();
    if announced > limit as u64 {
        return Err(too_large());
    }
    let mut buffer = Zeroizing::new(Vec::with_capacity(announced as usize));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| (Error::transport(error), Some(Outcome::MaybeSent)))?;
        let Ok(data) = frame.into_data() else { continue };
        if data.len() > limit - buffer.len() {
            return Err(too_large());
        }
        if buffer.len() + data.len() > buffer.capacity() {
            // Grow by hand so that the old allocation is wiped rather than freed as is.
            let mut grown = Zeroizing::new(Vec::with_capacity((buffer.len() + data.len()).max(2 * buffer.capacity())));
            grown.extend_from_slice(&buffer);
            buffer = grown;
        }
        buffer.extend_from_slice(&data);
    }
    Ok(buffer)
}

/// What hyper's failure means for a retry. A connect error (refused, unreachable, TLS handshake)
/// happened before the request was written: Square never saw it. Anything later may have reached
/// Square. A certificate rustls refused is final: retrying cannot make it valid.
fn classify(error: hyper_util::client::legacy::Error) -> Failed {
    if !error.is_connect() {
        return (Error::transport(error), Some(Outcome::MaybeSent));
    }
    let mut timed_out = false;
    let mut tls_refused = false;
    let mut cause: Option<&(dyn StdError + 'static)> = Some(&error);
    while let Some(current) = cause {
        tls_refused |= current.is::<rustls::Error>();
        // `io::Error::source` skips the error it wraps: step into it by hand.
        cause = match current.downcast_ref::<std::io::Error>() {
            Some(io) => {
                timed_out |= io.kind() == std::io::ErrorKind::TimedOut;
                io.get_ref().map(|inner| inner as &(dyn StdError + 'static))
            }
            None => current.source(),
        };
    }
    match (tls_refused, timed_out) {
        (true, _) => (Error::transport(error), None),
        (false, true) => (Error::Timeout, Some(Outcome::NotSent)),
        (false, false) => (Error::transport(error), Some(Outcome::NotSent)),
    }
}

/// A random number for the policy's jitter, from the standard library's per-process hash keys.
fn entropy(attempt: u32) -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(attempt);
    hasher.finish()
}

/// The core's request body as `Bytes`' owner: read through its explicit accessor, wiped on drop.
struct SecretBody(square_oauth::Body);

impl AsRef<[u8]> for SecretBody {
    fn as_ref(&self) -> &[u8] {
        self.0.expose_secret()
    }
}
