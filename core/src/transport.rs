//! What an adapter implements (one attempt, a sleep, a clock, entropy) and what every adapter
//! gets for it: the driver loop over [`Call`] and the named calls, written once.
//!
//! Why a transport trait rather than each adapter driving [`Call`] itself: the driver loop is
//! the same ten lines for every transport, and those lines decide when a request is sent again.
//! Written once here, they are tested once (in memory, against every fault) and no adapter can
//! get them subtly wrong. An adapter implements only what its transport knows: how to send one
//! request and read the answer up to the cap, how to tell a failure before the connection from
//! one after, how to sleep, and where its clock and entropy come from. It stays free to drive
//! [`Call`] by hand where this loop does not fit.

use core::future::Future;
use core::time::Duration;

use http::{Request, Response};
use jiff::Timestamp;

use crate::buffer::WipingBuffer;
use crate::call::{Call, CallError, Failure, Step};
use crate::config::Config;
use crate::lifecycle::{RefreshRules, TokenSet};
use crate::obtain_token::{ObtainToken, ObtainTokenResponse};
use crate::operation::Operation;
use crate::retry::RetryPolicy;
use crate::revoke_token::{RevokeToken, RevokeTokenResponse};
use crate::secret::{Body, ClientSecret};
use crate::token_status::{RetrieveTokenStatus, TokenStatus};

/// A blocking transport: what an adapter such as `square-oauth-ureq` implements to get
/// [`Calls`].
pub trait Transport {
    /// The transport's own error, kept as the source of [`CallError::Transport`].
    type Error;

    /// The configuration requests are built with (and the answer's size cap).
    fn config(&self) -> &Config;

    /// When to send a request again.
    fn retry_policy(&self) -> &RetryPolicy;

    /// Sends `request` once (never following a redirect) and reads the answer, any status, into
    /// a [`WipingBuffer::capped`] at [`Config::max_response_bytes`]. A failure says whether the
    /// request may have left (see [`Failure`]).
    fn attempt(&self, request: &Request<Body>) -> Result<Response<WipingBuffer>, Failure<Self::Error>>;

    /// Blocks for `duration`.
    fn sleep(&self, duration: Duration);

    /// The wall clock.
    fn now(&self) -> Timestamp;

    /// A random number for the backoff's jitter (it need not be cryptographic).
    fn entropy(&self) -> u64;
}

/// An async transport: what `square-oauth-hyper`, `square-oauth-reqwest` and `square-oauth-wasm`
/// implement to get [`AsyncCalls`]. The futures are `Send` exactly when the transport's are.
pub trait AsyncTransport {
    /// The transport's own error, kept as the source of [`CallError::Transport`].
    type Error;

    /// The configuration requests are built with (and the answer's size cap).
    fn config(&self) -> &Config;

    /// When to send a request again.
    fn retry_policy(&self) -> &RetryPolicy;

    /// As [`Transport::attempt`], as a future.
    fn attempt(
        &self,
        request: &Request<Body>,
    ) -> impl Future<Output = Result<Response<WipingBuffer>, Failure<Self::Error>>>;

    /// Waits for `duration` with the runtime's timer.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()>;

    /// The wall clock.
    fn now(&self) -> Timestamp;

    /// A random number for the backoff's jitter (it need not be cryptographic).
    fn entropy(&self) -> u64;
}

/// `request`'s method, URI and headers with another body: what a transport hands its HTTP
/// client, which wants a body type of its own.
///
/// ```
/// # use square_oauth::{AccessToken, Config, Operation, RetrieveTokenStatus, with_body};
/// let request = RetrieveTokenStatus::new(AccessToken::new("EAAAexample")).build(&Config::sandbox())?;
/// let borrowed = with_body(&request, request.body().expose_secret());
/// assert_eq!(borrowed.uri(), request.uri());
/// assert_eq!(borrowed.headers(), request.headers());
/// # Ok::<(), square_oauth::Error>(())
/// ```
pub fn with_body<B>(request: &Request<Body>, body: B) -> Request<B> {
    let mut copy = Request::new(body);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

/// Runs one call to its end through a blocking transport.
fn run<T: Transport + ?Sized, O: Operation>(transport: &T, operation: &O) -> Result<O::Output, CallError<T::Error>> {
    let mut call = Call::new(operation, transport.config(), transport.retry_policy())?;
    // No earlier than the end of the last wait slept: a wall clock stepped back during a sleep
    // (NTP, a resumed virtual machine) would otherwise make the call wait that much again.
    let mut waited_until = Timestamp::MIN;
    loop {
        let now = transport.now().max(waited_until);
        match call.poll(now, transport.entropy()) {
            Step::Send(request) => match transport.attempt(request) {
                Ok(response) => call.answer(response),
                Err(failure) => call.failed(failure),
            },
            Step::Wait(until) => {
                transport.sleep(Call::<O, T::Error>::wait_from(until, now));
                waited_until = until;
            }
            Step::Done(result) => return result,
        }
    }
}

/// Runs one call to its end through an async transport.
async fn run_async<T: AsyncTransport + ?Sized, O: Operation>(
    transport: &T,
    operation: &O,
) -> Result<O::Output, CallError<T::Error>> {
    let mut call = Call::new(operation, transport.config(), transport.retry_policy())?;
    // No earlier than the end of the last wait slept: a wall clock stepped back during a sleep
    // (NTP, a resumed virtual machine) would otherwise make the call wait that much again.
    let mut waited_until = Timestamp::MIN;
    loop {
        let now = transport.now().max(waited_until);
        match call.poll(now, transport.entropy()) {
            Step::Send(request) => match transport.attempt(request).await {
                Ok(response) => call.answer(response),
                Err(failure) => call.failed(failure),
            },
            Step::Wait(until) => {
                transport.sleep(Call::<O, T::Error>::wait_from(until, now)).await;
                waited_until = until;
            }
            Step::Done(result) => return result,
        }
    }
}

/// Refreshes `tokens` if due: the shared body of both `refresh_if_due`s.
macro_rules! refresh_if_due {
    ($self:ident, $tokens:ident, $client_secret:ident, $rules:ident $(, $wait:tt)?) => {{
        let Some(operation) = $tokens.refresh_operation_if_due($self.now(), $rules, $client_secret)? else {
            return Ok(false);
        };
        let response = $self.send(&operation)$(.$wait)??;
        $tokens.apply_refresh(response, $self.now())?;
        Ok(true)
    }};
}

/// Square's calls over any blocking [`Transport`], the same for every adapter. In scope with
/// `use square_oauth::Calls as _` (each blocking adapter re-exports it).
pub trait Calls: Transport {
    /// Sends any operation, retrying as the policy allows, and parses the answer.
    fn send<O: Operation>(&self, operation: &O) -> Result<O::Output, CallError<Self::Error>> {
        run(self, operation)
    }

    /// ObtainToken, any grant.
    fn obtain_token(&self, operation: &ObtainToken) -> Result<ObtainTokenResponse, CallError<Self::Error>> {
        self.send(operation)
    }

    /// RevokeToken.
    fn revoke_token(&self, operation: &RevokeToken) -> Result<RevokeTokenResponse, CallError<Self::Error>> {
        self.send(operation)
    }

    /// RetrieveTokenStatus.
    fn token_status(&self, operation: &RetrieveTokenStatus) -> Result<TokenStatus, CallError<Self::Error>> {
        self.send(operation)
    }

    /// RenewToken, which Square deprecated: refresh tokens replace it.
    #[deprecated(note = "Square deprecated RenewToken; use ObtainToken with a refresh token")]
    #[allow(deprecated)]
    fn renew_token(&self, operation: &crate::RenewToken) -> Result<crate::RenewTokenResponse, CallError<Self::Error>> {
        self.send(operation)
    }

    /// Refreshes `tokens` if the rules say it is due (by the transport's clock), and stores the
    /// answer in it. `Ok(true)` if it refreshed, `Ok(false)` if nothing was due.
    ///
    /// The code flow needs `client_secret`; PKCE ignores it. On any error `tokens` is unchanged;
    /// a PKCE refresh whose answer was lost may have spent the refresh token
    /// ([`CallError::may_have_reached_square`]), which no retry can recover.
    fn refresh_if_due(
        &self,
        tokens: &mut TokenSet,
        client_secret: Option<&ClientSecret>,
        rules: &RefreshRules,
    ) -> Result<bool, CallError<Self::Error>> {
        refresh_if_due!(self, tokens, client_secret, rules)
    }
}

impl<T: Transport + ?Sized> Calls for T {}

/// Square's calls over any [`AsyncTransport`], the same for every adapter. In scope with
/// `use square_oauth::AsyncCalls as _` (each async adapter re-exports it).
///
/// # A future dropped before it ends
///
/// Dropping one of these futures (a `tokio::select!` branch taken, a request handler cancelled
/// at shutdown) stops the call where it is and reports nothing. If its request had left, Square
/// may have acted on it: a code exchange may have spent the code, and a PKCE refresh may have
/// rotated the refresh token, which `refresh_if_due` then never stores. Treat a dropped
/// single-use call as [`CallError::may_have_reached_square`]; or run it in a task of its own
/// (`tokio::spawn`) that nothing cancels, and await its handle. The vault's async refresh
/// reports a refresh dropped after its request left as possibly sent for this reason (for a
/// PKCE seller, an unknown outcome).
pub trait AsyncCalls: AsyncTransport {
    /// Sends any operation, retrying as the policy allows, and parses the answer.
    fn send<O: Operation>(&self, operation: &O) -> impl Future<Output = Result<O::Output, CallError<Self::Error>>> {
        run_async(self, operation)
    }

    /// ObtainToken, any grant.
    fn obtain_token(
        &self,
        operation: &ObtainToken,
    ) -> impl Future<Output = Result<ObtainTokenResponse, CallError<Self::Error>>> {
        self.send(operation)
    }

    /// RevokeToken.
    fn revoke_token(
        &self,
        operation: &RevokeToken,
    ) -> impl Future<Output = Result<RevokeTokenResponse, CallError<Self::Error>>> {
        self.send(operation)
    }

    /// RetrieveTokenStatus.
    fn token_status(
        &self,
        operation: &RetrieveTokenStatus,
    ) -> impl Future<Output = Result<TokenStatus, CallError<Self::Error>>> {
        self.send(operation)
    }

    /// RenewToken, which Square deprecated: refresh tokens replace it.
    #[deprecated(note = "Square deprecated RenewToken; use ObtainToken with a refresh token")]
    #[allow(deprecated)]
    fn renew_token(
        &self,
        operation: &crate::RenewToken,
    ) -> impl Future<Output = Result<crate::RenewTokenResponse, CallError<Self::Error>>> {
        self.send(operation)
    }

    /// As [`Calls::refresh_if_due`], as a future.
    fn refresh_if_due(
        &self,
        tokens: &mut TokenSet,
        client_secret: Option<&ClientSecret>,
        rules: &RefreshRules,
    ) -> impl Future<Output = Result<bool, CallError<Self::Error>>> {
        async move { refresh_if_due!(self, tokens, client_secret, rules, await) }
    }
}

impl<T: AsyncTransport + ?Sized> AsyncCalls for T {}

/// What every adapter's client is configured with besides its transport, with the defaults they
/// share: the retry policy, the time one attempt may take, the time a connect may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSettings {
    /// When to retry (default: [`RetryPolicy::default`]).
    pub retry_policy: RetryPolicy,
    /// How long one attempt may take, from connecting to the last byte of the answer
    /// (default [`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
    /// How long opening a connection may take, where the adapter opens its own
    /// (default [`DEFAULT_CONNECT_TIMEOUT`]).
    pub connect_timeout: Duration,
}

/// How long one attempt may take by default, from connecting to the last byte of the answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long opening a connection may take by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for AdapterSettings {
    fn default() -> Self {
        AdapterSettings {
            retry_policy: RetryPolicy::default(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

/// Writes the builder methods every adapter's client has alike (`retry_policy`, `timeout` and,
/// with `connect_timeout`, that one too), so that their meaning and documentation are written
/// once. Used inside an `impl` of a builder with a `settings: AdapterSettings` field.
#[doc(hidden)]
#[macro_export]
macro_rules! adapter_settings {
    () => {
        /// When to retry (default: `RetryPolicy::default()`); `RetryPolicy::never()` turns
        /// retries off.
        pub fn retry_policy(mut self, policy: $crate::RetryPolicy) -> Self {
            self.settings.retry_policy = policy;
            self
        }

        /// How long one attempt may take, from connecting to the last byte of the answer
        /// (default 30 s). Each retry gets the full time again; waits between retries are not
        /// counted.
        pub fn timeout(mut self, timeout: ::core::time::Duration) -> Self {
            self.settings.timeout = timeout;
            self
        }
    };
    (connect_timeout) => {
        $crate::adapter_settings!();

        /// How long opening a TCP connection may take (default 10 s); it counts against the
        /// [`timeout`](Self::timeout) too. A connect that times out never sent the request, so
        /// even a single-use request may be retried after it.
        pub fn connect_timeout(mut self, timeout: ::core::time::Duration) -> Self {
            self.settings.connect_timeout = timeout;
            self
        }
    };
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use super::*;
    use crate::{AccessToken, RetrieveTokenStatus};

    /// A transport whose first attempt never leaves and whose wall clock is stepped back 10
    /// minutes during the first sleep; the second attempt is answered.
    struct SteppedBack {
        config: Config,
        policy: RetryPolicy,
        clock: Cell<Timestamp>,
        attempts: Cell<u32>,
        slept: RefCell<Vec<Duration>>,
    }

    impl Transport for SteppedBack {
        type Error = &'static str;
        fn config(&self) -> &Config {
            &self.config
        }
        fn retry_policy(&self) -> &RetryPolicy {
            &self.policy
        }
        fn attempt(&self, _: &Request<Body>) -> Result<Response<WipingBuffer>, Failure<Self::Error>> {
            self.attempts.set(self.attempts.get() + 1);
            if self.attempts.get() == 1 {
                return Err(Failure::NotSent("connection refused"));
            }
            let mut body = WipingBuffer::capped(1024, None).map_err(|_| Failure::BodyTooLarge)?;
            body.push(br#"{"access_token":"EAAAx","merchant_id":"M","scopes":[]}"#)
                .map_err(|_| Failure::BodyTooLarge)?;
            let mut response = Response::new(body);
            response
                .headers_mut()
                .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
            Ok(response)
        }
        fn sleep(&self, duration: Duration) {
            self.slept.borrow_mut().push(duration);
            let after = self.clock.get() + duration;
            // The first sleep ends on a clock 10 minutes behind where it should be.
            let stepped =
                if self.slept.borrow().len() == 1 { after - jiff::SignedDuration::from_secs(600) } else { after };
            self.clock.set(stepped);
        }
        fn now(&self) -> Timestamp {
            self.clock.get()
        }
        fn entropy(&self) -> u64 {
            0
        }
    }

    #[test]
    fn a_clock_stepped_back_during_a_backoff_does_not_stretch_it() {
        let transport = SteppedBack {
            config: Config::sandbox(),
            policy: RetryPolicy::default(),
            clock: Cell::new(Timestamp::from_second(1_800_000_000).unwrap()),
            attempts: Cell::new(0),
            slept: RefCell::new(Vec::new()),
        };
        let status = transport.token_status(&RetrieveTokenStatus::new(AccessToken::new("EAAAexample")));
        assert!(status.is_ok(), "{status:?}");
        assert_eq!(transport.attempts.get(), 2);
        let slept = transport.slept.borrow();
        // One backoff, slept once: not a second wait for the 10 minutes the clock went back.
        assert_eq!(slept.len(), 1, "{slept:?}");
        assert!(slept[0] < Duration::from_secs(60), "{slept:?}");
    }
}
