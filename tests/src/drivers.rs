//! The adapters behind one interface, so that a scenario is written once.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::StatusCode;
use square_oauth::{AsyncCalls as _, Calls as _, Config, ErrorCode, Operation, RetryPolicy};

/// How a scenario wants its client: everything the adapters have in common.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The retry policy (default: the core's, with a 10 ms first backoff so that suites stay fast).
    pub retry_policy: RetryPolicy,
    /// The whole-request timeout (default 10 s).
    pub timeout: Duration,
    /// The connect timeout (default 5 s).
    pub connect_timeout: Duration,
    /// Trust only this CA (PEM) instead of the webpki roots.
    pub root_ca_pem: Option<String>,
    /// The most idle connections kept (default: the adapter's own).
    pub max_idle_connections: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            retry_policy: RetryPolicy::default().initial_backoff(Duration::from_millis(10)),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            root_ca_pem: None,
            max_idle_connections: None,
        }
    }
}

impl Settings {
    /// These settings with another retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// These settings with another whole-request timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// These settings trusting only `pem`.
    pub fn root_ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.root_ca_pem = Some(pem.into());
        self
    }

    /// These settings keeping up to `max` idle connections.
    pub fn max_idle_connections(mut self, max: usize) -> Self {
        self.max_idle_connections = Some(max);
        self
    }
}

/// What kind of failure an adapter reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The core's error (invalid input, Square's refusal, an unexpected answer).
    Core,
    /// The transport failed (no connection, TLS, reset, truncated answer).
    Transport,
    /// The attempt timed out.
    Timeout,
    /// The body was over the cap.
    BodyTooLarge {
        /// The cap the adapter reported.
        limit: usize,
    },
    /// A redirect, not followed.
    Redirect,
    /// The server's certificate was refused.
    CertificateRefused,
    /// A variant this suite does not know yet.
    Other,
}

/// An adapter's error, reduced to what scenarios assert on: a [`Failure`], boxed so that
/// `Result`s stay small (its fields are read through `Deref`).
pub struct DriverError(Box<Failure>);

impl std::ops::Deref for DriverError {
    type Target = Failure;

    fn deref(&self) -> &Failure {
        &self.0
    }
}

/// What an adapter's error says.
pub struct Failure {
    /// What kind of failure it was.
    pub kind: ErrorKind,
    /// The answer's status, if an answer came.
    pub status: Option<StatusCode>,
    /// The codes of Square's errors, if Square refused.
    pub codes: Vec<ErrorCode>,
    /// The core's error, when it is one.
    pub core: Option<square_oauth::Error>,
    /// The error and every source, joined by `: ` (what a log would show).
    pub chain: String,
    /// The adapter error's `Debug`.
    pub debug: String,
    /// Whether the adapter says the request may have reached Square.
    pub may_have_reached_square: bool,
}

impl DriverError {
    fn new<E: StdError + 'static>(
        error: &E,
        kind: ErrorKind,
        status: Option<StatusCode>,
        codes: Vec<ErrorCode>,
        core: Option<square_oauth::Error>,
    ) -> Self {
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        let debug = format!("{error:?}");
        DriverError(Box::new(Failure { kind, status, codes, core, chain, debug, may_have_reached_square: true }))
    }

    /// Whether Square's answer held this code.
    pub fn has_code(&self, code: &ErrorCode) -> bool {
        self.codes.contains(code)
    }

    /// Panics if `secret` appears in the error's message chain or `Debug`.
    pub fn assert_no_secret(&self, secret: &str) {
        assert!(!self.chain.contains(secret), "a secret in the error message: {}", self.chain);
        assert!(!self.debug.contains(secret), "a secret in the error's Debug: {}", self.debug);
    }
}

impl fmt::Debug for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({:?}, {:?}): {}", self.kind, self.status, self.codes, self.chain)
    }
}

fn codes(errors: &[square_oauth::SquareError]) -> Vec<ErrorCode> {
    errors.iter().map(|e| e.code.clone()).collect()
}

impl<E: StdError + 'static> From<square_oauth::CallError<E>> for DriverError {
    fn from(error: square_oauth::CallError<E>) -> Self {
        use square_oauth::CallError as E;
        let (status, codes) = (error.status(), codes(error.square_errors()));
        let kind = match &error {
            E::Core(_) => ErrorKind::Core,
            E::Transport { .. } => ErrorKind::Transport,
            E::Timeout { .. } => ErrorKind::Timeout,
            E::BodyTooLarge { limit } => ErrorKind::BodyTooLarge { limit: *limit },
            E::Redirect { .. } => ErrorKind::Redirect,
            E::CertificateRefused { .. } => ErrorKind::CertificateRefused,
            _ => ErrorKind::Other,
        };
        let mut driver_error = DriverError::new(&error, kind, status, codes, None);
        driver_error.0.may_have_reached_square = error.may_have_reached_square();
        if let E::Core(core) = error {
            driver_error.0.core = Some(core);
        }
        driver_error
    }
}

/// An adapter as the scenarios see it: made from a configuration and [`Settings`], it sends.
pub trait Driver: Sized + Send + Sync {
    /// How many requests the load scenario keeps in flight through this adapter.
    const LOAD_IN_FLIGHT: usize;

    /// How many connections beyond those in use and those kept idle the adapter's pool may
    /// have open for a moment: hyper-util's pool (under the hyper and reqwest adapters) starts a
    /// connection for a request that finds none idle and races it against one coming back, so
    /// each request in flight may have one spare connection being made, or being closed when
    /// the idle pool is full. ureq opens a connection only for the request that uses it.
    const LOAD_SPARE_CONNECTIONS: usize;

    /// A client for `config` with `settings`.
    fn new(config: Config, settings: &Settings) -> Self;

    /// The adapter's name, for messages.
    fn name(&self) -> &'static str;

    /// Sends one operation and waits for its outcome.
    fn send<O>(&self, operation: &O) -> Result<O::Output, DriverError>
    where
        O: Operation + Send + Sync,
        O::Output: Send;

    /// Sends every operation, `in_flight` at a time, and returns the outcomes in order.
    fn send_all<O>(&self, operations: Vec<O>, in_flight: usize) -> Vec<Result<O::Output, DriverError>>
    where
        O: Operation + Send + Sync + 'static,
        O::Output: Send + 'static;
}

/// `square-oauth-ureq`: blocking; concurrency is threads sharing one client.
#[derive(Debug)]
pub struct UreqDriver {
    client: square_oauth_ureq::Client,
}

impl UreqDriver {
    /// The adapter's client, for what the driver interface does not cover.
    pub fn client(&self) -> &square_oauth_ureq::Client {
        &self.client
    }
}

impl Driver for UreqDriver {
    const LOAD_IN_FLIGHT: usize = 16;
    const LOAD_SPARE_CONNECTIONS: usize = 0;

    fn new(config: Config, settings: &Settings) -> Self {
        let mut builder = square_oauth_ureq::Client::builder(config)
            .retry_policy(settings.retry_policy.clone())
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout);
        if let Some(pem) = &settings.root_ca_pem {
            builder = builder.tls_root_certificates_pem(pem.as_bytes()).expect("a PEM certificate");
        }
        if let Some(max) = settings.max_idle_connections {
            builder = builder.max_idle_connections(max);
        }
        UreqDriver { client: builder.build() }
    }

    fn name(&self) -> &'static str {
        "ureq"
    }

    fn send<O>(&self, operation: &O) -> Result<O::Output, DriverError>
    where
        O: Operation + Send + Sync,
        O::Output: Send,
    {
        self.client.send(operation).map_err(DriverError::from)
    }

    fn send_all<O>(&self, operations: Vec<O>, in_flight: usize) -> Vec<Result<O::Output, DriverError>>
    where
        O: Operation + Send + Sync + 'static,
        O::Output: Send + 'static,
    {
        let next = AtomicUsize::new(0);
        let mut outcomes: Vec<(usize, Result<O::Output, DriverError>)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..in_flight)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(operation) = operations.get(i) else { return done };
                            done.push((i, self.send(operation)));
                        }
                    })
                })
                .collect();
            workers.into_iter().flat_map(|worker| worker.join().expect("a worker thread")).collect()
        });
        outcomes.sort_by_key(|(i, _)| *i);
        outcomes.into_iter().map(|(_, outcome)| outcome).collect()
    }
}

/// Sends every operation through an async client, `in_flight` tokio tasks at a time. Spawning
/// them is also the proof that each adapter's futures are `Send` (a macro, not a generic
/// function, because that proof is per concrete client).
macro_rules! spawn_all {
    ($runtime:expr, $client:expr, $operations:expr, $in_flight:expr) => {{
        let (runtime, client, operations, in_flight) = ($runtime, $client, $operations, $in_flight);
        let operations = Arc::new(operations);
        let next = Arc::new(AtomicUsize::new(0));
        runtime.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..in_flight {
                let (client, operations, next) = (client.clone(), operations.clone(), next.clone());
                tasks.spawn(async move {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(operation) = operations.get(i) else { return done };
                        done.push((i, client.send(operation).await.map_err(DriverError::from)));
                    }
                });
            }
            let mut outcomes = Vec::with_capacity(operations.len());
            while let Some(done) = tasks.join_next().await {
                outcomes.extend(done.expect("a load task"));
            }
            outcomes.sort_by_key(|(i, _)| *i);
            outcomes.into_iter().map(|(_, outcome)| outcome).collect()
        })
    }};
}

/// `square-oauth-hyper`: async, on its own multi-thread tokio runtime; `send` blocks on it.
#[derive(Debug)]
pub struct HyperDriver {
    runtime: tokio::runtime::Runtime,
    client: square_oauth_hyper::Client,
}

impl HyperDriver {
    /// The adapter's client, for what the driver interface does not cover.
    pub fn client(&self) -> &square_oauth_hyper::Client {
        &self.client
    }

    /// The runtime the client runs on.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }
}

impl Driver for HyperDriver {
    const LOAD_IN_FLIGHT: usize = 256;
    const LOAD_SPARE_CONNECTIONS: usize = Self::LOAD_IN_FLIGHT;

    fn new(config: Config, settings: &Settings) -> Self {
        use square_oauth_hyper::rustls;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let _context = runtime.enter();
        let mut builder = square_oauth_hyper::Client::builder(config)
            .retry_policy(settings.retry_policy.clone())
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout);
        if let Some(pem) = &settings.root_ca_pem {
            use rustls::pki_types::CertificateDer;
            use rustls::pki_types::pem::PemObject;
            let mut roots = rustls::RootCertStore::empty();
            for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                roots.add(certificate.expect("a PEM certificate")).expect("a usable CA");
            }
            let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("ring's protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            builder = builder.tls_config(tls);
        }
        if let Some(max) = settings.max_idle_connections {
            builder = builder.pool_max_idle_per_host(max);
        }
        let client = builder.build();
        drop(_context);
        HyperDriver { runtime, client }
    }

    fn name(&self) -> &'static str {
        "hyper"
    }

    fn send<O>(&self, operation: &O) -> Result<O::Output, DriverError>
    where
        O: Operation + Send + Sync,
        O::Output: Send,
    {
        self.runtime.block_on(self.client.send(operation)).map_err(DriverError::from)
    }

    fn send_all<O>(&self, operations: Vec<O>, in_flight: usize) -> Vec<Result<O::Output, DriverError>>
    where
        O: Operation + Send + Sync + 'static,
        O::Output: Send + 'static,
    {
        spawn_all!(&self.runtime, &self.client, operations, in_flight)
    }
}

/// `square-oauth-reqwest`: async over the application's own `reqwest::Client` (built here the way
/// an application would: redirects off, its timeouts, pool and TLS), on its own tokio runtime.
#[derive(Debug)]
pub struct ReqwestDriver {
    runtime: tokio::runtime::Runtime,
    client: square_oauth_reqwest::Client,
}

impl ReqwestDriver {
    /// The adapter's client, for what the driver interface does not cover.
    pub fn client(&self) -> &square_oauth_reqwest::Client {
        &self.client
    }

    /// The runtime the client runs on.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }
}

impl Driver for ReqwestDriver {
    const LOAD_IN_FLIGHT: usize = 256;
    const LOAD_SPARE_CONNECTIONS: usize = Self::LOAD_IN_FLIGHT;

    fn new(config: Config, settings: &Settings) -> Self {
        use square_oauth_reqwest::{reqwest, rustls};
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let mut roots = rustls::RootCertStore::empty();
        if let Some(pem) = &settings.root_ca_pem {
            use rustls::pki_types::CertificateDer;
            use rustls::pki_types::pem::PemObject;
            for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                roots.add(certificate.expect("a PEM certificate")).expect("a usable CA");
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring's protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .tls_backend_preconfigured(tls);
        if let Some(max) = settings.max_idle_connections {
            http = http.pool_max_idle_per_host(max);
        }
        let http = http.build().expect("a reqwest client");
        let client = square_oauth_reqwest::Client::with_client(http, config)
            .expect("an adapter client")
            .retry_policy(settings.retry_policy.clone())
            .timeout(settings.timeout);
        ReqwestDriver { runtime, client }
    }

    fn name(&self) -> &'static str {
        "reqwest"
    }

    fn send<O>(&self, operation: &O) -> Result<O::Output, DriverError>
    where
        O: Operation + Send + Sync,
        O::Output: Send,
    {
        self.runtime.block_on(self.client.send(operation)).map_err(DriverError::from)
    }

    fn send_all<O>(&self, operations: Vec<O>, in_flight: usize) -> Vec<Result<O::Output, DriverError>>
    where
        O: Operation + Send + Sync + 'static,
        O::Output: Send + 'static,
    {
        spawn_all!(&self.runtime, &self.client, operations, in_flight)
    }
}
