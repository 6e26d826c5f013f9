//! The client: one generic `send`, the retry loop, and the platform's clock and entropy.

use core::time::Duration;

use jiff::Timestamp;
use square_oauth::{
    AccessToken, ClientSecret, CodeVerifier, Config, Decision, ObtainToken, ObtainTokenResponse, Operation,
    RefreshRules, RetrieveTokenStatus, RetryPolicy, RevokeToken, RevokeTokenResponse, State, TokenSet, TokenStatus,
};

use crate::error::Error;
use crate::js;

/// The whole-attempt timeout of [`Client::new`]: 30 seconds, body included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends the core's operations with `fetch`.
///
/// Methods by kind:
/// - the one generic call: [`send`](Self::send), for any [`Operation`];
/// - the same with the type spelled out: [`obtain_token`](Self::obtain_token),
///   [`revoke_token`](Self::revoke_token), [`token_status`](Self::token_status);
/// - the token lifecycle: [`refresh_if_due`](Self::refresh_if_due).
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

    /// The core configuration requests are built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Sends any operation, retrying as the policy allows, and parses the answer.
    pub async fn send<O: Operation>(&self, operation: &O) -> Result<O::Output, Error> {
        let request = operation.build(&self.config)?;
        let mut attempt = 1;
        loop {
            let (error, outcome) = match js::attempt(&request, self.timeout, self.config.max_response_bytes()).await {
                Err(failed) => failed,
                Ok(response) => match operation.parse(&self.config, response) {
                    Ok(output) => return Ok(output),
                    Err(error) => {
                        let outcome = error.retry_outcome(now());
                        (Error::Core(error), outcome)
                    }
                },
            };
            let decision = match outcome {
                Some(outcome) => self.retry_policy.decide(operation.replay(), attempt, outcome, entropy()),
                None => Decision::Stop,
            };
            match decision {
                Decision::Retry(wait) => {
                    drop(error);
                    js::sleep(wait).await;
                    attempt += 1;
                }
                Decision::Stop => return Err(error),
            }
        }
    }

    /// ObtainToken, any grant: [`send`](Self::send) with the type spelled out.
    pub async fn obtain_token(&self, operation: &ObtainToken) -> Result<ObtainTokenResponse, Error> {
        self.send(operation).await
    }

    /// RevokeToken: [`send`](Self::send) with the type spelled out. It needs the application
    /// secret, which a page must never hold: in a browser application, revoke from your server.
    pub async fn revoke_token(&self, operation: &RevokeToken) -> Result<RevokeTokenResponse, Error> {
        self.send(operation).await
    }

    /// RetrieveTokenStatus of `access_token`.
    pub async fn token_status(&self, access_token: &AccessToken) -> Result<TokenStatus, Error> {
        self.send(&RetrieveTokenStatus::new(access_token.clone())).await
    }

    /// Refreshes `tokens` if the rules say it is due (by JavaScript's clock), and stores the
    /// answer in it. `Ok(true)` if it refreshed, `Ok(false)` if nothing was due.
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
        let Some(operation) = tokens.refresh_operation_if_due(now(), rules, client_secret)? else {
            return Ok(false);
        };
        let response = self.send(&operation).await?;
        tokens.apply_refresh(response, now())?;
        Ok(true)
    }
}

/// The current time from JavaScript's clock (`Date.now()`, milliseconds), for the token
/// lifecycle's questions (`refresh_due(now)`, `is_expired(now)`).
pub fn now() -> Timestamp {
    // `Date.now()` is an integer number of milliseconds, well inside jiff's range.
    Timestamp::from_millisecond(js_sys::Date::now() as i64).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A PKCE verifier from Web Crypto's `getRandomValues`. Keep it (sessionStorage) until the seller
/// comes back, then pass it to [`ObtainToken::pkce`].
pub fn generate_verifier() -> Result<CodeVerifier, Error> {
    CodeVerifier::generate().map_err(|error| Error::NoEntropy { message: error.to_string() })
}

/// An authorize URL's `state` from Web Crypto's `getRandomValues`. Keep it until the seller comes
/// back, then check the redirect with [`square_oauth::parse_callback`].
pub fn generate_state() -> Result<State, Error> {
    State::generate().map_err(|error| Error::NoEntropy { message: error.to_string() })
}

/// A random number for the retry policy's jitter: Web Crypto, else `Math.random`.
fn entropy() -> u64 {
    getrandom::u64().unwrap_or_else(|_| (js_sys::Math::random() * u64::MAX as f64) as u64)
}
