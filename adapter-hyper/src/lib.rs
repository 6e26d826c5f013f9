//! # square-oauth-hyper
//!
//! Carries the [`square_oauth`] core's requests to Square over hyper 1 (HTTP/1.1, pooled
//! keep-alive connections) and rustls, on tokio. The core decides everything about the protocol
//! (what to send, how to read the answer, whether a retry is allowed); this crate only sends,
//! reads, times out and sleeps.
//!
//! ```no_run
//! use square_oauth_hyper::{AsyncCalls as _, Client};
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
//! The calls come from the core's [`AsyncCalls`] trait, the same for every async adapter: `send`
//! takes any [`Operation`](square_oauth::Operation); `obtain_token`, `revoke_token`,
//! `token_status`, `renew_token` and `refresh_if_due` are the same call with the type spelled
//! out. Their futures are `Send`, so they can be spawned on tokio. This crate implements only
//! the core's [`AsyncTransport`]: one attempt, a sleep, the clock and entropy; the core's
//! [`Call`](square_oauth::Call) decides everything else.
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
//! Each attempt hands hyper its own copy of the request body, wiped when hyper lets go of it; the
//! answer is read into the core's [`WipingBuffer`], wiped after
//! parsing. Buffers inside hyper and rustls are
//! theirs and are not wiped. No error or `Debug` output of this crate carries a secret.
//!
//! ## Out of scope
//!
//! HTTP/2 (Square's OAuth calls are single requests) and any decision the core makes.
//!
//! ## Proxies
//!
//! None: the built-in connector reads no proxy setting, from the environment or elsewhere. To go
//! through a proxy, give a [`connector`](ClientBuilder::connector) that does it (and keep a
//! loopback base URL off it: plain `http` is allowed there).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;

use std::collections::hash_map::RandomState;
use std::error::Error as StdError;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Body as _;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use square_oauth::{AsyncTransport, Body, Config, Failure, RetryPolicy, WipingBuffer};

pub use builder::{ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
pub use square_oauth::AsyncCalls;
pub use {hyper_rustls, rustls, square_oauth};

/// The built-in connector: HTTPS by rustls (ring, webpki roots) over hyper-util's TCP connector.
pub type DefaultConnector = hyper_rustls::HttpsConnector<HttpConnector>;

/// What hyper, the connector or rustls reported; its source chain says why.
#[derive(Debug)]
pub struct TransportError(Box<dyn StdError + Send + Sync>);

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for TransportError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

/// Boxes any of the transport's errors.
fn boxed(error: impl Into<Box<dyn StdError + Send + Sync>>) -> TransportError {
    TransportError(error.into())
}

/// The error of every call: the core's [`CallError`](square_oauth::CallError) with hyper's
/// error as the transport's. It says whether the request may have reached Square and keeps the
/// transport's error as its source; no variant holds a secret.
pub type Error = square_oauth::CallError<TransportError>;

/// An async client for Square's OAuth API: the calls come from [`AsyncCalls`].
///
/// Cheap to clone: clones share the configuration and the connection pool. Needs a tokio runtime
/// (either flavour); its futures are `Send`, so they can be spawned.
///
/// ```no_run
/// use square_oauth_hyper::{AsyncCalls as _, Client};
/// use square_oauth_hyper::square_oauth::{AccessToken, Config, RetrieveTokenStatus};
///
/// # async fn run() -> Result<(), square_oauth_hyper::Error> {
/// let client = Client::new(Config::production());
/// let status = client.token_status(&RetrieveTokenStatus::new(AccessToken::new("EAAAexample"))).await?;
/// println!("scopes: {:?}, expires {:?}", status.scopes, status.expires_at);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Client<C = DefaultConnector> {
    inner: Arc<Inner<C>>,
}

#[derive(Debug)]
struct Inner<C> {
    config: Config,
    retry_policy: RetryPolicy,
    timeout: Duration,
    http: HyperClient<C, Full<Bytes>>,
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

impl<C: Connect + Clone + Send + Sync + 'static> AsyncTransport for Client<C> {
    type Error = TransportError;

    fn config(&self) -> &Config {
        &self.inner.config
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry_policy
    }

    async fn attempt(&self, request: &Request<Body>) -> Result<Response<WipingBuffer>, Failure<TransportError>> {
        // hyper wants a body it owns: this attempt's copy, wiped when hyper drops it.
        let mut body = WipingBuffer::with_capacity(request.body().len());
        body.push(request.body().expose_secret()).map_err(|error| Failure::Refused(boxed(error)))?;
        let mut owned = square_oauth::with_body(request, Full::new(Bytes::from_owner(body)));
        // Whether a connection was ever handed to the request: hyper's connect timeout covers
        // TCP alone, so a name lookup or TLS handshake that stalls runs into the whole-request
        // timeout below, before anything was written.
        let connected = hyper_util::client::legacy::connect::capture_connection(&mut owned);
        let exchange = async {
            let response = self.inner.http.request(owned).await.map_err(classify)?;
            let limit = self.inner.config.max_response_bytes();
            let (head, mut body) = response.into_parts();
            let announced = body.size_hint().exact();
            let mut buffer = WipingBuffer::capped(limit, announced).map_err(|_| Failure::BodyTooLarge)?;
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|error| Failure::MaybeSent(boxed(error)))?;
                if let Ok(data) = frame.into_data() {
                    buffer.push(&data).map_err(|_| Failure::BodyTooLarge)?;
                }
            }
            Ok(Response::from_parts(head, buffer))
        };
        match tokio::time::timeout(self.inner.timeout, exchange).await {
            Ok(result) => result,
            Err(_elapsed) => Err(Failure::TimedOut { may_have_reached: connected.connection_metadata().is_some() }),
        }
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }

    fn entropy(&self) -> u64 {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_usize(Arc::as_ptr(&self.inner) as usize);
        hasher.finish()
    }
}

/// What hyper's failure means. A connect error (refused, unreachable, TLS handshake) happened
/// before the request was written: Square never saw it. Anything later may have reached Square.
/// A certificate rustls refused is final: retrying cannot make it valid.
fn classify(error: hyper_util::client::legacy::Error) -> Failure<TransportError> {
    if !error.is_connect() {
        return Failure::MaybeSent(boxed(error));
    }
    let mut timed_out = false;
    let mut tls: Option<bool> = None;
    let mut cause: Option<&(dyn StdError + 'static)> = Some(&error);
    while let Some(current) = cause {
        if let Some(refusal) = current.downcast_ref::<rustls::Error>() {
            tls = Some(matches!(refusal, rustls::Error::InvalidCertificate(_)));
        }
        // `io::Error::source` skips the error it wraps: step into it by hand.
        cause = match current.downcast_ref::<std::io::Error>() {
            Some(io) => {
                timed_out |= io.kind() == std::io::ErrorKind::TimedOut;
                io.get_ref().map(|inner| inner as &(dyn StdError + 'static))
            }
            None => current.source(),
        };
    }
    match (tls, timed_out) {
        (Some(true), _) => Failure::CertificateRefused(boxed(error)),
        (Some(false), _) => Failure::Refused(boxed(error)),
        (None, true) => Failure::TimedOut { may_have_reached: false },
        (None, false) => Failure::NotSent(boxed(error)),
    }
}
