//! The client: the core's transport over `fetch`, and the platform's clock and entropy.

use core::time::Duration;

use jiff::Timestamp;
use square_oauth::{AsyncTransport, Body, CodeVerifier, Config, Failure, RetryPolicy, State, WipingBuffer};

use crate::js::{self, JsError};

/// The whole-attempt timeout of [`Client::new`]: 30 seconds, body included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends the core's operations with `fetch`. The calls come from the core's
/// [`AsyncCalls`](square_oauth::AsyncCalls) (`send`, `obtain_token`, `revoke_token`,
/// `token_status`, `renew_token`, `refresh_if_due`), with the same signatures as every other
/// adapter's; `revoke_token` needs the application secret, which a page must never hold: in a
/// browser application, revoke from your server.
///
/// Cheap to clone; holds no secret. Its futures are not `Send` (nothing in JavaScript is), which
/// is what `wasm_bindgen_futures::spawn_local` expects.
#[derive(Clone, Debug)]
pub struct Client {
    config: Config,
    retry_policy: RetryPolicy,
    timeout: Option<Duration>,
}

/// Builds a [`Client`]; start from [`Client::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct ClientBuilder {
    client: Client,
}

impl ClientBuilder {
    /// The retry rules (default [`RetryPolicy::default`]; [`RetryPolicy::never`] turns retries off).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.client.retry_policy = policy;
        self
    }

    /// The longest one attempt may take, from sending to the last byte of the answer (default
    /// [`DEFAULT_TIMEOUT`]). Waits between retries are not counted.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.client.timeout = Some(timeout);
        self
    }

    /// No timeout: an attempt waits as long as the runtime lets `fetch` wait.
    pub fn no_timeout(mut self) -> Self {
        self.client.timeout = None;
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        self.client
    }
}

impl Client {
    /// A client with every default: a 30-second timeout per attempt, [`RetryPolicy::default`],
    /// the size cap of `config`.
    pub fn new(config: Config) -> Client {
        Self::builder(config).build()
    }

    /// A builder starting from those defaults.
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder {
            client: Client { config, retry_policy: RetryPolicy::default(), timeout: Some(DEFAULT_TIMEOUT) },
        }
    }
}

impl AsyncTransport for Client {
    type Error = JsError;

    fn config(&self) -> &Config {
        &self.config
    }

    fn retry_policy(&self) -> &RetryPolicy {
        &self.retry_policy
    }

    async fn attempt(&self, request: &http::Request<Body>) -> Result<http::Response<WipingBuffer>, Failure<JsError>> {
        js::attempt(request, self.timeout, self.config.max_response_bytes()).await
    }

    async fn sleep(&self, duration: Duration) {
        js::sleep(duration).await;
    }

    fn now(&self) -> Timestamp {
        now()
    }

    fn entropy(&self) -> u64 {
        getrandom::u64().unwrap_or_else(|_| (js_sys::Math::random() * u64::MAX as f64) as u64)
    }
}

/// The current time from JavaScript's clock (`Date.now()`, milliseconds), for the token
/// lifecycle's questions (`refresh_due(now)`, `is_expired(now)`).
pub fn now() -> Timestamp {
    // `Date.now()` is an integer number of milliseconds, well inside jiff's range.
    Timestamp::from_millisecond(js_sys::Date::now() as i64).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A PKCE verifier from Web Crypto's `getRandomValues`. Keep it (sessionStorage) until the seller
/// comes back, then pass it to [`ObtainToken::pkce`](square_oauth::ObtainToken::pkce).
/// Fails when Web Crypto is missing (Node before 19 has no global `crypto`; run it with
/// `--experimental-global-webcrypto`).
pub fn generate_verifier() -> Result<CodeVerifier, getrandom::Error> {
    CodeVerifier::generate()
}

/// An authorize URL's `state` from Web Crypto's `getRandomValues`. Keep it until the seller comes
/// back, then check the redirect with [`square_oauth::parse_callback`].
/// Fails as [`generate_verifier`] does.
pub fn generate_state() -> Result<State, getrandom::Error> {
    State::generate()
}
