//! One call of an operation as a state machine: attempts, waits and a result, with no I/O.

use core::fmt;
use core::time::Duration;

use http::{Request, Response, StatusCode};
use jiff::Timestamp;

use crate::config::Config;
use crate::error::{Error, RetryAfter, SquareError};
use crate::lifecycle::LifecycleError;
use crate::operation::{Operation, Replay};
use crate::retry::{Decision, Outcome, RetryPolicy};
use crate::secret::Body;

/// How one attempt failed to bring back an answer, in the core's words. The transport says which
/// case its failure is; the [`Call`] decides from that alone.
///
/// The line that matters is whether the request may have reached Square: only a failure seen
/// before the connection was established is [`NotSent`](Self::NotSent). Anything seen while
/// writing the request or reading the answer is [`MaybeSent`](Self::MaybeSent), even a
/// "connection refused" (a reset looks like one on some systems).
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure<E> {
    /// The request never left this machine: the connection was refused, the name not found, the
    /// connect timed out.
    NotSent(E),
    /// The request may have reached Square: a reset, an answer cut short, a protocol error.
    MaybeSent(E),
    /// The attempt's time ran out; `may_have_reached` is false only when it ran out before a
    /// connection was made.
    TimedOut {
        /// Whether the request may have been written.
        may_have_reached: bool,
    },
    /// The answer's body is over [`Config::max_response_bytes`]; reading stopped there.
    BodyTooLarge,
    /// A redirect came back (its status, when the runtime shows it). Never followed, never retried.
    Redirect {
        /// The 3xx status; `None` where the runtime hides it (a browser's opaque redirect).
        status: Option<StatusCode>,
    },
    /// The server's TLS certificate was refused. No retry can make it valid.
    CertificateRefused(E),
    /// The transport refused to send at all for a reason no retry changes (an invalid URI, an
    /// https-only rule, a configuration it cannot use).
    Refused(E),
}

/// The error of a whole call through an adapter: the core's own, or how the transport failed.
/// Every adapter's `Error` is this type with its transport's error type as `E`.
///
/// No variant holds a secret: the core's errors name fields, never values, and excerpts of
/// answers are redacted; transport errors describe connections, not bodies. Each says whether
/// the request may have reached Square ([`may_have_reached_square`](Self::may_have_reached_square)),
/// which is what decides whether a spent single-use credential must be given up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError<E> {
    /// The core's error, unchanged: invalid input (nothing was sent), Square's refusal, an
    /// answer that made no sense.
    #[error(transparent)]
    Core(#[from] Error),
    /// A token set could not do what `refresh_if_due` asked: no refresh token, a closed PKCE
    /// window or a missing client secret (nothing was sent), or an answer it cannot take in.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// The request could not be carried: no connection, a reset, a truncated answer. The source
    /// says which (print the whole chain to see it).
    #[error("the request to Square failed in transport")]
    Transport {
        /// What failed, in the transport's own words.
        #[source]
        source: E,
        /// Whether the request may have reached Square.
        may_have_reached: bool,
    },
    /// No complete answer came back within the adapter's timeout.
    #[error("no complete answer from Square in time")]
    Timeout {
        /// Whether the request may have reached Square (false: the connect timed out).
        may_have_reached: bool,
    },
    /// The answer's body is longer than the cap; reading stopped there.
    #[error("the answer's body is over the {limit}-byte cap")]
    BodyTooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The answer was a redirect, which is never followed: it could carry a credential to
    /// another host.
    #[error("the answer was a redirect, which is not followed")]
    Redirect {
        /// The 3xx status, when the runtime shows it.
        status: Option<StatusCode>,
    },
    /// Square's TLS certificate was refused; nothing was sent.
    #[error("the server's TLS certificate was refused")]
    CertificateRefused {
        /// The TLS library's reason.
        #[source]
        source: E,
    },
}

impl<E> CallError<E> {
    /// The core's error, if it is one.
    pub fn core(&self) -> Option<&Error> {
        match self {
            CallError::Core(error) => Some(error),
            _ => None,
        }
    }

    /// The HTTP status of the answer this error came from, if an answer came.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            CallError::Core(error) => error.status(),
            CallError::Redirect { status } => *status,
            _ => None,
        }
    }

    /// Square's errors, if Square refused; empty otherwise.
    pub fn square_errors(&self) -> &[SquareError] {
        self.core().map_or(&[], Error::square_errors)
    }

    /// Whether Square's answer holds an error with this code.
    pub fn has_code(&self, code: &crate::ErrorCode) -> bool {
        self.square_errors().iter().any(|error| &error.code == code)
    }

    /// Whether the seller must authorize again, for the error of a refresh
    /// ([`Calls::refresh_if_due`](crate::Calls::refresh_if_due), or ObtainToken with a refresh
    /// token): Square's answer as [`Error::refresh_must_authorize_again`] reads it, or a token
    /// set that cannot refresh ([`LifecycleError::must_authorize_again`]). A transport failure
    /// never is.
    pub fn refresh_must_authorize_again(&self) -> bool {
        match self {
            CallError::Core(error) => error.refresh_must_authorize_again(),
            CallError::Lifecycle(error) => error.must_authorize_again(),
            _ => false,
        }
    }

    /// Whether the request may have reached Square. False only when it provably did not: the
    /// input was refused before sending, no connection was made, the certificate was refused.
    /// After a single-use request (a code exchange, a PKCE refresh) that may have reached
    /// Square, its credential may be spent.
    pub fn may_have_reached_square(&self) -> bool {
        match self {
            CallError::Core(Error::InvalidInput(_) | Error::Callback(_)) => false,
            CallError::Core(_) => true,
            CallError::Lifecycle(error) => error.from_answer(),
            CallError::Transport { may_have_reached, .. } | CallError::Timeout { may_have_reached } => {
                *may_have_reached
            }
            CallError::BodyTooLarge { .. } | CallError::Redirect { .. } => true,
            CallError::CertificateRefused { .. } => false,
        }
    }
}

/// What the driver of a [`Call`] must do next.
#[derive(Debug)]
pub enum Step<'c, T, E> {
    /// Send this request, read the answer up to [`Config::max_response_bytes`], then report it
    /// with [`Call::answer`] or [`Call::failed`].
    Send(&'c Request<Body>),
    /// Wait until this instant, then poll again.
    Wait(Timestamp),
    /// The call is over, with this result.
    Done(Result<T, CallError<E>>),
}

enum State<T, E> {
    Ready,
    InFlight,
    Waiting(Timestamp),
    /// The last attempt failed; the next poll decides (with its clock and entropy) whether to go
    /// again. `outcome` is `None` for a failure no retry can fix.
    Failed {
        error: CallError<E>,
        outcome: Option<Outcome>,
        retry_after: Option<RetryAfter>,
    },
    Finished(Result<T, CallError<E>>),
    Over,
}

/// One call of an [`Operation`], from the first attempt to its result, without I/O: it never
/// opens a socket, reads a clock, draws a random number or sleeps. A driver (an adapter) asks it
/// what to do, does it, and reports what happened.
///
/// Everything a call decides is here, once for every adapter: the request is built once; each
/// attempt is counted; an answer is parsed, and a refusal or an unreadable answer becomes the
/// retry policy's outcome (status and `Retry-After`, in seconds or as a date read against the
/// driver's clock); a redirect answer is refused; backoff gets jitter from the driver's entropy;
/// and a [`Replay::SingleUse`] request is never sent again once it may have reached Square.
///
/// ## The contract
///
/// 1. [`Call::new`] builds the request; an invalid input fails here and nothing is sent.
/// 2. [`poll`](Self::poll)`(now, entropy)` returns a [`Step`]:
///    - [`Step::Send`]: send the request once, then report exactly one of
///      [`answer`](Self::answer) (any status, body read up to the cap) or
///      [`failed`](Self::failed) (a [`Failure`]) before polling again;
///    - [`Step::Wait`]: sleep until that instant (or not at all, if it has passed), then poll
///      with a `now` no earlier than it (a wall clock stepped back during the sleep would
///      otherwise ask for the same wait again);
///    - [`Step::Done`]: the result; the call is over and must not be polled again.
///
/// `now` is the driver's wall clock (it reads `Retry-After` dates and schedules waits); `entropy`
/// is any random number (it spreads the backoff of many clients apart).
///
/// # Panics
///
/// When the contract is broken: polling with an attempt in flight and nothing reported,
/// reporting when no attempt is in flight, or polling after [`Step::Done`].
///
/// ## A driver
///
/// ```
/// use square_oauth::{AccessToken, Call, Config, Failure, RetrieveTokenStatus, RetryPolicy, Step};
/// use square_oauth::jiff::{SignedDuration, Timestamp};
///
/// let config = Config::sandbox();
/// let policy = RetryPolicy::default();
/// let operation = RetrieveTokenStatus::new(AccessToken::new("EAAAexample"));
/// let mut call = Call::<_, std::io::Error>::new(&operation, &config, &policy)?;
///
/// // A simulated transport: the first attempt is reset, the second gets an answer.
/// let mut now = Timestamp::UNIX_EPOCH;
/// let mut attempts = 0;
/// let status = loop {
///     match call.poll(now, 42) {
///         Step::Send(request) => {
///             assert_eq!(request.uri().path(), "/oauth2/token/status");
///             attempts += 1;
///             if attempts == 1 {
///                 call.failed(Failure::MaybeSent(std::io::ErrorKind::ConnectionReset.into()));
///             } else {
///                 let body = r#"{"merchant_id":"MLQW2MYBY81PZ","scopes":[]}"#;
///                 let answer = http::Response::builder()
///                     .status(200)
///                     .header("content-type", "application/json")
///                     .body(body)?;
///                 call.answer(answer);
///             }
///         }
///         Step::Wait(until) => now = until, // a real driver sleeps here
///         Step::Done(result) => break result?,
///     }
/// };
/// assert_eq!(status.merchant_id.unwrap().as_str(), "MLQW2MYBY81PZ");
/// assert_eq!(call.attempts(), 2);
/// assert!(now > Timestamp::UNIX_EPOCH, "the retry came after a backoff");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Call<'a, O: Operation, E> {
    operation: &'a O,
    config: &'a Config,
    policy: &'a RetryPolicy,
    request: Request<Body>,
    attempts: u32,
    may_have_reached: bool,
    state: State<O::Output, E>,
}

impl<'a, O: Operation, E> Call<'a, O, E> {
    /// A call of `operation`, its request built with `config`, retried as `policy` allows.
    /// Fails with the core's error (an invalid input) before anything is sent.
    pub fn new(operation: &'a O, config: &'a Config, policy: &'a RetryPolicy) -> Result<Self, Error> {
        let request = operation.build(config)?;
        Ok(Call { operation, config, policy, request, attempts: 0, may_have_reached: false, state: State::Ready })
    }

    /// What to do next, at `now`, with `entropy` for the backoff's jitter. See the
    /// [contract](Self#the-contract).
    pub fn poll(&mut self, now: Timestamp, entropy: u64) -> Step<'_, O::Output, E> {
        match core::mem::replace(&mut self.state, State::Over) {
            State::Ready => self.send(),
            State::Waiting(until) if now >= until => self.send(),
            State::Waiting(until) => {
                self.state = State::Waiting(until);
                Step::Wait(until)
            }
            State::Failed { error, outcome, retry_after } => {
                let decision = match outcome {
                    Some(Outcome::Answer { status, .. }) => {
                        let retry_after = retry_after.map(|after| after.delay_from(now));
                        self.decide(Outcome::Answer { status, retry_after }, entropy)
                    }
                    Some(outcome) => self.decide(outcome, entropy),
                    None => Decision::Stop,
                };
                // The policy never allows it; this keeps the rule whatever a policy says.
                let spent = self.may_have_reached && self.operation.replay() == Replay::SingleUse;
                match decision {
                    Decision::Retry(_) if spent => Step::Done(Err(error)),
                    Decision::Retry(wait) => {
                        let wait = jiff::SignedDuration::try_from(wait).unwrap_or(jiff::SignedDuration::MAX);
                        let until = now.saturating_add(wait).unwrap_or(now);
                        self.state = State::Waiting(until);
                        Step::Wait(until)
                    }
                    Decision::Stop => Step::Done(Err(error)),
                }
            }
            State::Finished(result) => Step::Done(result),
            State::InFlight => panic!("Call::poll with an attempt in flight: report its answer or failure first"),
            State::Over => panic!("Call::poll after the call was done"),
        }
    }

    fn decide(&self, outcome: Outcome, entropy: u64) -> Decision {
        self.policy.decide(self.operation.replay(), self.attempts, outcome, entropy)
    }

    fn send(&mut self) -> Step<'_, O::Output, E> {
        self.attempts += 1;
        self.state = State::InFlight;
        Step::Send(&self.request)
    }

    /// Reports the answer to the last [`Step::Send`]: any status, the body read up to the cap.
    pub fn answer<B: AsRef<[u8]>>(&mut self, response: Response<B>) {
        self.expect_in_flight();
        self.may_have_reached = true;
        let status = response.status();
        if status.is_redirection() {
            self.state =
                State::Failed { error: CallError::Redirect { status: Some(status) }, outcome: None, retry_after: None };
            return;
        }
        self.state = match self.operation.parse(self.config, response) {
            Ok(output) => State::Finished(Ok(output)),
            Err(error) => {
                let outcome = error.status().map(|status| Outcome::Answer { status, retry_after: None });
                let retry_after = error.retry_after().copied();
                State::Failed { error: CallError::Core(error), outcome, retry_after }
            }
        };
    }

    /// Reports that the last [`Step::Send`] brought back no usable answer, and how.
    pub fn failed(&mut self, failure: Failure<E>) {
        self.expect_in_flight();
        let limit = self.config.max_response_bytes();
        let (error, outcome) = match failure {
            Failure::NotSent(source) => {
                (CallError::Transport { source, may_have_reached: false }, Some(Outcome::NotSent))
            }
            Failure::MaybeSent(source) => {
                (CallError::Transport { source, may_have_reached: true }, Some(Outcome::MaybeSent))
            }
            Failure::TimedOut { may_have_reached } => {
                let outcome = if may_have_reached { Outcome::MaybeSent } else { Outcome::NotSent };
                (CallError::Timeout { may_have_reached }, Some(outcome))
            }
            Failure::BodyTooLarge => (CallError::BodyTooLarge { limit }, None),
            Failure::Redirect { status } => (CallError::Redirect { status }, None),
            Failure::CertificateRefused(source) => (CallError::CertificateRefused { source }, None),
            Failure::Refused(source) => (CallError::Transport { source, may_have_reached: false }, None),
        };
        self.may_have_reached |= error.may_have_reached_square();
        self.state = State::Failed { error, outcome, retry_after: None };
    }

    fn expect_in_flight(&self) {
        assert!(matches!(self.state, State::InFlight), "Call: an attempt was reported with none in flight");
    }

    /// How many attempts have been sent so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether any attempt so far may have reached Square.
    pub fn may_have_reached_square(&self) -> bool {
        self.may_have_reached
    }

    /// How long to sleep for a [`Step::Wait`] seen at `now` (zero when the instant has passed).
    pub fn wait_from(until: Timestamp, now: Timestamp) -> Duration {
        Duration::try_from(until.duration_since(now)).unwrap_or(Duration::ZERO)
    }
}

impl<O: Operation, E> fmt::Debug for Call<'_, O, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Ready => "ready",
            State::InFlight => "in flight",
            State::Waiting(_) => "waiting",
            State::Failed { .. } => "failed, deciding",
            State::Finished(_) => "finished",
            State::Over => "over",
        };
        f.debug_struct("Call")
            .field("attempts", &self.attempts)
            .field("may_have_reached_square", &self.may_have_reached)
            .field("state", &state)
            .finish_non_exhaustive()
    }
}
