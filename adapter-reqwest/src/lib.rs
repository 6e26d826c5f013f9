//! # square-oauth-reqwest
//!
//! Carries the [`square_oauth`] core's requests to Square over a [`reqwest::Client`], for the
//! tokio and axum applications that already hold one: its pool, timeouts and TLS serve Square's
//! calls too. The core decides everything about the protocol; this crate implements only the
//! core's [`AsyncTransport`] (one attempt, a sleep, the clock, entropy), and the calls come from
//! the core's [`AsyncCalls`], the same for every async adapter. Their futures are `Send`, so they
//! can be spawned on tokio.
//!
//! ```no_run
//! use square_oauth_reqwest::{AsyncCalls as _, Client};
//! use square_oauth_reqwest::square_oauth::{AuthorizationCode, ClientId, ClientSecret, Config, ObtainToken};
//!
//! # async fn run(http: reqwest::Client) -> Result<(), square_oauth_reqwest::Error> {
//! // `http` is the application's own client, built with `redirect(Policy::none())`.
//! let client = Client::with_client(http, Config::sandbox())?;
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
//! ## Your client's settings
//!
//! - **Redirects must be off**: build it with `redirect(reqwest::redirect::Policy::none())`. A
//!   redirect could carry a credential to another host. Either way, this crate refuses a redirect
//!   answer (`CallError::Redirect`), and an answer that came from another URL than the one asked
//!   (a redirect your client followed) is refused the same way.
//! - **Timeouts**: yours apply, and this crate bounds each whole attempt too
//!   ([`Client::timeout`], 30 s by default).
//! - **TLS**: yours. With reqwest's `rustls` feature and another provider compiled in, pick the
//!   provider explicitly (as [`Client::new`] does with ring): with aws-lc-rs and ring both
//!   enabled, rustls' process default is ambiguous.
//!
//! [`Client::new`] builds a client of its own: rustls with the ring provider, chosen explicitly,
//! Mozilla's roots (`webpki-roots`), no redirects. This crate turns on no reqwest default feature,
//! so neither OpenSSL nor aws-lc-rs comes with it.
//!
//! ## Proxies
//!
//! reqwest reads `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` from the environment by default and
//! does not exempt loopback. So when the base URL is plain `http` (which the core allows only to
//! a loopback host, a fake Square) and the environment names a proxy for it (`HTTP_PROXY`,
//! `ALL_PROXY`, either case), requests do not go through your client but through one of this
//! crate's own, built with `no_proxy()` and otherwise reqwest's defaults, so that no secret
//! travels in clear to a proxy. A proxy you set on your client yourself is your choice, and is
//! used; `https` requests always go through your client and its proxy settings.
//!
//! ## Secrets
//!
//! Each attempt hands reqwest its own copy of the request body, wiped when reqwest drops it; the
//! answer is read into the core's [`WipingBuffer`], wiped after parsing.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::error::Error as StdError;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use square_oauth::{AdapterSettings, AsyncTransport, Body, Config, Failure, RetryPolicy, WipingBuffer};

pub use square_oauth::AsyncCalls;
pub use {reqwest, rustls, square_oauth};

/// The error of every call: the core's [`CallError`](square_oauth::CallError) with reqwest's
/// error as the transport's. It says whether the request may have reached Square; no variant
/// holds a secret.
pub type Error = square_oauth::CallError<reqwest::Error>;

pub use square_oauth::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};

/// An async client for Square's OAuth API over a `reqwest::Client`; the calls come from
/// [`AsyncCalls`]. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    config: Config,
    settings: AdapterSettings,
    http: Arc<reqwest::Client>,
}

/// Without the reqwest client: its `Debug` prints its default headers, and an application's
/// own client may carry an `Authorization` header among them.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("config", &self.config).field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Client {
    /// A client over a reqwest client of this crate's own (rustls with ring, webpki roots, no
    /// redirects, [`DEFAULT_CONNECT_TIMEOUT`] for the whole connection: name lookup, TCP and
    /// TLS handshake), with [`RetryPolicy::default`] and [`DEFAULT_TIMEOUT`]. A connection not
    /// made in time is reported as not sent, so even a code exchange is tried again.
    pub fn new(config: Config) -> Result<Client, Error> {
        let tls = ring(rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
            .tls_backend_preconfigured(tls);
        Self::with_client(http.build().map_err(refused)?, config)
    }

    /// A client over `http`, the application's own (built with redirects off). For a plain-`http`
    /// (loopback) base URL while the environment names a proxy, a client without any proxy is
    /// used instead (see the crate docs).
    ///
    /// Build it with `redirect(reqwest::redirect::Policy::none())`: reqwest follows redirects
    /// by default, sending a `307`'s or `308`'s body (a secret, a code) on to wherever they
    /// point. An answer from another URL than the request's is reported as
    /// [`Error::Redirect`](square_oauth::CallError::Redirect), but only after the fact, and a
    /// redirect back to the very same URL (which reqwest follows too) cannot be told apart.
    pub fn with_client(http: reqwest::Client, config: Config) -> Result<Client, Error> {
        let proxied =
            ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"].iter().any(|name| std::env::var_os(name).is_some());
        let http = match proxied && config.base_url().starts_with("http://") {
            true => {
                let direct = reqwest::Client::builder()
                    .no_proxy()
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(DEFAULT_CONNECT_TIMEOUT);
                direct.tls_backend_preconfigured(ring(rustls::RootCertStore::empty())).build().map_err(refused)?
            }
            false => http,
        };
        Ok(Client { config, settings: AdapterSettings::default(), http: Arc::new(http) })
    }

    square_oauth::adapter_settings!();
}

/// rustls with ring, chosen here rather than read from rustls' process-wide default (which
/// reqwest would read, and which is ambiguous with two providers compiled in).
fn ring(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports rustls' safe default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A reqwest error met before anything could be sent (a client that cannot be built).
fn refused(error: reqwest::Error) -> Error {
    Error::Transport { source: error, may_have_reached: false }
}

impl AsyncTransport for Client {
    type Error = reqwest::Error;

    fn config(&self) -> &Config {
        &self.config
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.settings.retry_policy
    }

    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }

    fn entropy(&self) -> u64 {
        std::collections::hash_map::RandomState::new().hash_one(Arc::as_ptr(&self.http) as usize)
    }

    async fn attempt(&self, request: &Request<Body>) -> Result<Response<WipingBuffer>, Failure<reqwest::Error>> {
        let mut body = WipingBuffer::with_capacity(request.body().len());
        let _ = body.push(request.body().expose_secret());
        let owned = square_oauth::with_body(request, reqwest::Body::from(bytes::Bytes::from_owner(body)));
        let owned = reqwest::Request::try_from(owned).map_err(Failure::Refused)?;
        // The URL as reqwest reads it (its host lower-cased, its path resolved): an answer from
        // anywhere else came after a redirect the application's own client followed.
        let asked = owned.url().clone();
        let exchange = async {
            let mut answer = self.http.execute(owned).await.map_err(classify)?;
            if *answer.url() != asked {
                return Err(Failure::Redirect { status: None });
            }
            let limit = self.config.max_response_bytes();
            let mut buffer = WipingBuffer::capped(limit, answer.content_length()).map_err(|_| Failure::BodyTooLarge)?;
            let mut response =
                Response::builder().status(answer.status()).body(()).map_err(|_| Failure::BodyTooLarge)?;
            *response.headers_mut() = std::mem::take(answer.headers_mut());
            while let Some(chunk) = answer.chunk().await.map_err(classify)? {
                buffer.push(&chunk).map_err(|_| Failure::BodyTooLarge)?;
            }
            Ok(response.map(|()| buffer))
        };
        match tokio::time::timeout(self.settings.timeout, exchange).await {
            Ok(result) => result,
            Err(_elapsed) => Err(Failure::TimedOut { may_have_reached: true }),
        }
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// What reqwest's failure means. A connect error happened before the request was written, and a
/// certificate rustls refused there is final; anything later may have reached Square.
fn classify(error: reqwest::Error) -> Failure<reqwest::Error> {
    let mut cause = error.source();
    while let Some(current) = cause {
        if let Some(rustls::Error::InvalidCertificate(_)) = current.downcast_ref::<rustls::Error>() {
            return Failure::CertificateRefused(error);
        }
        // `io::Error::source` skips the error it wraps: step into it.
        cause = match current.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => current.source(),
        };
    }
    match (error.is_timeout(), error.is_connect()) {
        (true, connect) => Failure::TimedOut { may_have_reached: !connect },
        (false, true) => Failure::NotSent(error),
        (false, false) => Failure::MaybeSent(error),
    }
}
