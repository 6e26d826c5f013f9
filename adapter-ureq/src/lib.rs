//! # square-oauth-ureq
//!
//! Carries the [`square_oauth`] core's requests to Square over ureq 3 (blocking, HTTP/1.1,
//! pooled keep-alive connections) and rustls. The core decides everything about the protocol
//! (what to send, how to read the answer, whether a retry is allowed); this crate only sends,
//! reads, times out and sleeps.
//!
//! ```no_run
//! use square_oauth_ureq::{Calls as _, Client};
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
//! The calls come from the core's [`Calls`] trait, the same for every blocking adapter: `send` takes
//! any [`Operation`](square_oauth::Operation); `obtain_token`, `revoke_token`, `token_status`,
//! `renew_token` and `refresh_if_due` are the same call with the type spelled out. This crate
//! implements only the core's [`Transport`]: one attempt, a sleep, the clock and entropy; the
//! core's [`Call`](square_oauth::Call) decides everything else.
//!
//! 1. The request is built once (an invalid input fails here, before anything is sent).
//! 2. Each attempt runs under the timeouts (see [below](#timeouts)): connect, send, then read
//!    the body through ureq's body limit, which stops as soon as it passes the cap
//!    ([`Config::max_response_bytes`], 1 MiB by default). 4xx and 5xx answers are read like any
//!    other (`http_status_as_error(false)`); a redirect is never followed (`max_redirects(0)`).
//! 3. The answer is parsed by the core. If it failed, the core's [`RetryPolicy`] decides from
//!    what happened: an answer's status and `Retry-After`, a connection that was never made, or
//!    an attempt that may have reached Square. The thread sleeps or the call returns.
//!
//! Operations that spend a single-use credential (a code exchange, a PKCE refresh) are retried
//! only when the request provably never left: the host was not found, or the connection was
//! refused or timed out while it was being made. Only the connector of this crate's own agent
//! can tell that stage apart (it marks what fails inside it), so with an [`agent`](ClientBuilder::agent)
//! of your own every I/O failure counts as "may have reached Square". Nothing seen while the
//! answer is read is ever "never sent", whatever the error code. A TLS certificate that fails
//! verification is never retried at all.
//!
//! ## Timeouts
//!
//! Every phase of an attempt after the host lookup is bounded, and so is their total:
//!
//! | phase | bound | default |
//! | --- | --- | --- |
//! | looking the host up | the system resolver's own limits (with glibc, `timeout` and `attempts` in `resolv.conf`, by default 5 s and 2 tries per name server) | |
//! | connecting: TCP, then the TLS handshake | [`connect_timeout`](ClientBuilder::connect_timeout), and what is left of `timeout` | 10 s |
//! | sending the request, waiting for the answer, reading its body | what is left of [`timeout`](ClientBuilder::timeout) | |
//! | the whole attempt, connecting to the body's last byte | [`timeout`](ClientBuilder::timeout) | 30 s |
//!
//! So one attempt takes at most the lookup plus `timeout`. Both are ureq's own deadlines
//! (`timeout_connect`, `timeout_global`), set on every request, so that a caller's
//! [`agent`](ClientBuilder::agent) cannot loosen them.
//!
//! The lookup is left to the system's limits because ureq 3 looks the host up on every request,
//! a kept-alive connection included, and enforces a deadline on the lookup by running it on a
//! new thread: with this crate's own agent the lookup runs on the calling thread instead, which
//! makes a request over a kept-alive connection as fast as with ureq's defaults (no timeout at
//! all). An [`agent`](ClientBuilder::agent) of your own keeps its resolver: ureq's default one
//! spends that thread per request and bounds the lookup by `timeout` as well.
//!
//! ## TLS
//!
//! rustls with the ring provider, set explicitly in ureq's `TlsConfig` (rustls' process-wide
//! default is never read), and Mozilla's roots from `webpki-roots`.
//! [`ClientBuilder::tls_root_certificates_pem`] trusts a private CA instead;
//! [`ClientBuilder::agent`] takes a whole [`ureq::Agent`] of your own (a proxy, the platform
//! verifier, a custom connector).
//!
//! ## Proxies
//!
//! ureq's default: read from the environment (`ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY`,
//! honouring `NO_PROXY`), or the proxy of an [`agent`](ClientBuilder::agent) of your own, except
//! for a loopback base URL ([`Config::is_loopback`](square_oauth::Config::is_loopback)): those
//! requests may be plain `http` and never go through a proxy, whatever the environment says.
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

use std::collections::hash_map::RandomState;
use std::error::Error as StdError;
use std::hash::{BuildHasher, Hasher};
use std::io::{ErrorKind, Read};
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use square_oauth::{Body, Config, Failure, RetryPolicy, Transport, WipingBuffer};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{ConnectionDetails, Connector, DefaultConnector, NextTimeout};
use zeroize::Zeroize as _;

pub use builder::{ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_IDLE_CONNECTIONS, DEFAULT_TIMEOUT};
pub use square_oauth::Calls;
pub use {square_oauth, ureq};

/// The error of every call: the core's [`CallError`](square_oauth::CallError) with ureq's error
/// as the transport's. It says whether the request may have reached Square and keeps ureq's
/// error as its source; no variant holds a secret.
pub type Error = square_oauth::CallError<ureq::Error>;

/// A blocking client for Square's OAuth API: the calls come from [`Calls`].
///
/// Cheap to clone, and `Send + Sync`: clones and threads share the configuration and the
/// connection pool.
///
/// ```no_run
/// use square_oauth_ureq::{Calls as _, Client};
/// use square_oauth_ureq::square_oauth::{AccessToken, Config, RetrieveTokenStatus};
///
/// let client = Client::new(Config::production());
/// let status = client.token_status(&RetrieveTokenStatus::new(AccessToken::new("EAAAexample")))?;
/// println!("scopes: {:?}, expires {:?}", status.scopes, status.expires_at);
/// # Ok::<(), square_oauth_ureq::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    retry_policy: RetryPolicy,
    connect_timeout: Duration,
    timeout: Duration,
    agent: ureq::Agent,
    /// Whether `agent` was made by the builder, with every setting below its own.
    own_agent: bool,
}

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
}

impl Transport for Client {
    type Error = ureq::Error;

    fn config(&self) -> &Config {
        &self.inner.config
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry_policy
    }

    fn attempt(&self, request: &Request<Body>) -> Result<Response<WipingBuffer>, Failure<ureq::Error>> {
        let inner = &*self.inner;
        let borrowed = square_oauth::with_body(request, request.body().expose_secret());
        let response = if inner.own_agent {
            inner.agent.run(borrowed)
        } else {
            // Set on every request, so that a caller's agent cannot make them unsafe.
            let configured = (inner.agent.configure_request(borrowed))
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_connect(Some(inner.connect_timeout))
                .timeout_global(Some(inner.timeout));
            inner.agent.run(if inner.config.is_loopback() {
                configured.proxy(None).build()
            } else {
                configured.build()
            })
        }
        .map_err(classify)?;
        let (head, mut body) = response.into_parts();
        let limit = inner.config.max_response_bytes();
        let mut buffer = WipingBuffer::capped(limit, body.content_length()).map_err(|_| Failure::BodyTooLarge)?;
        // One byte past the cap, to see that there was more; a cap of `usize::MAX` means none.
        let mut reader = body.with_config().limit((limit as u64).saturating_add(1)).reader();
        let mut chunk = [0u8; 8 * 1024];
        // The most of `chunk` any read filled: only that is wiped afterwards. Wiping all 8 KiB
        // (volatile writes, a byte at a time) cost more than the rest of a loopback round trip's
        // own work.
        let mut used = 0;
        let read = loop {
            match reader.read(&mut chunk[..]) {
                Ok(0) => break Ok(()),
                Ok(read) => {
                    used = used.max(read);
                    if buffer.push(&chunk[..read]).is_err() {
                        break Err(Failure::BodyTooLarge);
                    }
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                // The request was written and an answer began: whatever failed, it may have
                // reached Square.
                Err(error) => break Err(after_sending(ureq::Error::from(error))),
            }
        };
        chunk[..used].zeroize();
        read.map(|()| Response::from_parts(head, buffer))
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }

    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }

    fn entropy(&self) -> u64 {
        RandomState::new().build_hasher().finish()
    }
}

/// What ureq's failure of `run` means. Resolving, connecting (as this crate's connector marks
/// it) and a connect timeout happen before the request is written: Square never saw it. A TLS
/// refusal, a bad URI or an https-only rule is final. Anything else may have reached Square.
fn classify(error: ureq::Error) -> Failure<ureq::Error> {
    use ureq::Error as U;
    if refused_certificate(&error) {
        return Failure::CertificateRefused(error);
    }
    match &error {
        U::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect) => Failure::TimedOut { may_have_reached: false },
        U::HostNotFound | U::ConnectionFailed | U::ConnectProxyFailed(_) => Failure::NotSent(error),
        U::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<Connecting>()) => Failure::NotSent(error),
        U::Tls(_) | U::Pem(_) | U::TlsRequired | U::RequireHttpsOnly(_) | U::BadUri(_) => Failure::Refused(error),
        U::Http(_) | U::InvalidProxyUrl | U::TooManyRedirects | U::RedirectFailed => Failure::Refused(error),
        _ => after_sending(error),
    }
}

/// A failure once the request may have been written: a timeout, a body over ureq's limit, or
/// any I/O error, "connection refused" included (a reset reads that way on some systems).
fn after_sending(error: ureq::Error) -> Failure<ureq::Error> {
    match error {
        ureq::Error::BodyExceedsLimit(_) => Failure::BodyTooLarge,
        ureq::Error::Timeout(_) => Failure::TimedOut { may_have_reached: true },
        ureq::Error::Io(ref io) if io.kind() == ErrorKind::TimedOut => Failure::TimedOut { may_have_reached: true },
        error => Failure::MaybeSent(error),
    }
}

/// Whether rustls refused the server's certificate, anywhere in the error's chain.
fn refused_certificate(error: &ureq::Error) -> bool {
    // ureq's `Io` does not give its I/O error as a source: start inside it.
    let mut cause: Option<&(dyn StdError + 'static)> = match error {
        ureq::Error::Io(io) => Some(io),
        other => Some(other),
    };
    while let Some(current) = cause {
        if matches!(current.downcast_ref::<rustls::Error>(), Some(rustls::Error::InvalidCertificate(_))) {
            return true;
        }
        cause = match current.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => current.source(),
        };
    }
    false
}

/// ureq's own resolver, asked to look the host up on the calling thread.
///
/// ureq resolves the host on every request (a kept-alive connection included), and whenever a
/// deadline covers that lookup (any whole-request timeout does) its `DefaultResolver` runs
/// `getaddrinfo` on a new thread so that it can give up waiting: one thread spawned per request.
/// Passing no deadline keeps the lookup on this thread; the system resolver's own limits
/// (`timeout` and `attempts` in `resolv.conf`) bound it instead, and every later phase is still
/// bounded by the request's timeouts.
#[derive(Debug, Default)]
pub(crate) struct InlineResolver(DefaultResolver);

impl Resolver for InlineResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &ureq::config::Config,
        _: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        self.0.resolve(uri, config, NextTimeout::default())
    }
}

/// ureq's own connector chain (TCP, proxy, TLS), with every I/O error it returns marked as seen
/// before the request was written, so that [`classify`] can tell a refused connection from a
/// reset one.
#[derive(Debug, Default)]
pub(crate) struct MarkingConnector(DefaultConnector);

/// The mark: this I/O error happened while connecting.
#[derive(Debug, thiserror::Error)]
#[error("while connecting: {0}")]
struct Connecting(#[source] std::io::Error);

impl Connector for MarkingConnector {
    type Out = <DefaultConnector as Connector>::Out;

    fn connect(&self, details: &ConnectionDetails, chained: Option<()>) -> Result<Option<Self::Out>, ureq::Error> {
        self.0.connect(details, chained).map_err(|error| match error {
            ureq::Error::Io(io) => ureq::Error::Io(std::io::Error::new(io.kind(), Connecting(io))),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Error as Io, ErrorKind::ConnectionRefused};

    #[test]
    fn the_lookup_runs_to_its_end_whatever_deadline_ureq_gives_it() {
        use ureq::unversioned::resolver::Resolver as _;
        use ureq::unversioned::transport::NextTimeout;
        // A deadline already passed: ureq's resolver, given it, looks up on a new thread and
        // gives up at once; this one looks `localhost` up (in /etc/hosts) and answers.
        let passed = NextTimeout { after: std::time::Duration::ZERO.into(), ..NextTimeout::default() };
        let uri = http::Uri::from_static("http://localhost:9/");
        let addresses =
            super::InlineResolver::default().resolve(&uri, &ureq::config::Config::default(), passed).unwrap();
        assert!(addresses.iter().all(|a| a.ip().is_loopback() && a.port() == 9), "{addresses:?}");
        assert!(!addresses.is_empty());
    }

    #[test]
    fn only_a_failure_marked_by_the_connector_is_never_sent() {
        let later = super::classify(ureq::Error::Io(Io::from(ConnectionRefused)));
        assert!(matches!(later, square_oauth::Failure::MaybeSent(_)), "{later:?}");
        let marked = Io::new(ConnectionRefused, super::Connecting(Io::from(ConnectionRefused)));
        assert!(matches!(super::classify(ureq::Error::Io(marked)), square_oauth::Failure::NotSent(_)));
    }
}
