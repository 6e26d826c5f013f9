//! When to send a request again: a decision, not a loop.
//!
//! Adapters report what happened after each attempt; the policy answers "retry after D" or
//! "stop", and the adapter sleeps with its own runtime. Square's own SDKs retry every call, token
//! exchanges included; that spends single-use codes and PKCE refresh tokens whose answers were
//! lost. Here an operation marked [`Replay::SingleUse`] is retried only when the request provably
//! never left this machine.

use core::time::Duration;

use http::StatusCode;

use crate::operation::Replay;

/// What happened to one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// An answer came back with this status (and maybe a `Retry-After`, already turned into a
    /// wait with the adapter's clock, see [`RetryAfter::delay_from`](crate::RetryAfter::delay_from)).
    Answer {
        /// The HTTP status.
        status: StatusCode,
        /// How long Square asked to wait.
        retry_after: Option<Duration>,
    },
    /// No connection could be made (refused, DNS failure, TLS handshake refused before the
    /// request was written): Square never saw the request.
    NotSent,
    /// The request may have reached Square but no full answer came back (a timeout, a reset, a
    /// truncated body).
    MaybeSent,
}

/// What to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send the same request again after this wait.
    Retry(Duration),
    /// Give the last outcome to the caller.
    Stop,
}

/// The retry rules. The default: at most 2 retries, exponential backoff from 500 ms capped at
/// 30 s with jitter, `Retry-After` honoured up to the cap, on 408, 429, 500, 502, 503, 504 and
/// failures to connect.
///
/// ```
/// use core::time::Duration;
/// use square_oauth::{Decision, Outcome, Replay, RetryPolicy};
/// use http::StatusCode;
///
/// let policy = RetryPolicy::default();
/// let busy = Outcome::Answer { status: StatusCode::TOO_MANY_REQUESTS, retry_after: Some(Duration::from_secs(2)) };
/// assert_eq!(policy.decide(Replay::Safe, 1, busy, 0), Decision::Retry(Duration::from_secs(2)));
/// // A code exchange that reached Square is never sent twice.
/// assert_eq!(policy.decide(Replay::SingleUse, 1, busy, 0), Decision::Stop);
/// assert!(matches!(policy.decide(Replay::SingleUse, 1, Outcome::NotSent, 0), Decision::Retry(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_retries: 2, initial_backoff: Duration::from_millis(500), max_backoff: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        Self { max_retries: 0, ..Self::default() }
    }

    /// The most retries after the first attempt.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The wait before the first retry; doubled for each one after.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The longest wait, for backoff and for `Retry-After` alike: a longer `Retry-After` stops.
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Decides after attempt number `attempt` (1 for the first) ended in `outcome`. `entropy` is
    /// any random number from the caller; it spreads the waits of many clients apart.
    pub fn decide(&self, replay: Replay, attempt: u32, outcome: Outcome, entropy: u64) -> Decision {
        if attempt > self.max_retries {
            return Decision::Stop;
        }
        let retry_after = match outcome {
            Outcome::NotSent => None,
            // The request may have arrived: only replayable ones go again.
            Outcome::MaybeSent if replay == Replay::Safe => None,
            Outcome::Answer { status, retry_after } if replay == Replay::Safe && is_retryable(status) => retry_after,
            _ => return Decision::Stop,
        };
        match retry_after {
            Some(wait) if wait > self.max_backoff => Decision::Stop,
            Some(wait) => Decision::Retry(wait),
            None => Decision::Retry(self.backoff(attempt, entropy)),
        }
    }

    /// "Equal jitter": half of the exponential step, plus a random share of the other half.
    fn backoff(&self, attempt: u32, entropy: u64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        let step = self.initial_backoff.saturating_mul(1 << exponent).min(self.max_backoff);
        let half = step / 2;
        let half_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if half_nanos == 0 { 0 } else { entropy % (half_nanos + 1) };
        half + Duration::from_nanos(jitter)
    }
}

/// The statuses that say "try again later": 408, 429, 500, 502, 503, 504.
pub fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16) -> Outcome {
        Outcome::Answer { status: StatusCode::from_u16(status).unwrap(), retry_after: None }
    }

    #[test]
    fn backoff_doubles_within_jitter_bounds_and_caps() {
        let policy = RetryPolicy::default().max_retries(10);
        for (attempt, step_ms) in [(1, 500u64), (2, 1000), (3, 2000), (7, 30_000), (10, 30_000)] {
            let low = policy.decide(Replay::Safe, attempt, answer(503), 0);
            let high = policy.decide(Replay::Safe, attempt, answer(503), u64::MAX - 1);
            let Decision::Retry(low) = low else { panic!("attempt {attempt} stopped") };
            let Decision::Retry(high) = high else { panic!("attempt {attempt} stopped") };
            assert_eq!(low, Duration::from_millis(step_ms / 2), "attempt {attempt}");
            assert!(high >= low && high <= Duration::from_millis(step_ms), "attempt {attempt}: {high:?}");
        }
    }

    #[test]
    fn jitter_spans_the_whole_upper_half_and_nothing_beyond() {
        // Attempt 1 of the default policy: a step of 500 ms, so a wait from 250 ms (entropy 0)
        // to 500 ms (entropy 250,000,000 ns, the top of the range), wrapping after that.
        let policy = RetryPolicy::default();
        let wait = |entropy| match policy.decide(Replay::Safe, 1, answer(503), entropy) {
            Decision::Retry(wait) => wait,
            Decision::Stop => panic!("stopped"),
        };
        let half = 250_000_000u64;
        assert_eq!(wait(0), Duration::from_millis(250));
        assert_eq!(wait(1), Duration::from_nanos(half + 1));
        assert_eq!(wait(half), Duration::from_millis(500), "the top of the range is reachable");
        assert_eq!(wait(half + 1), Duration::from_millis(250), "and the range wraps after it");
        assert_eq!(wait(half + 2), Duration::from_nanos(half + 1));
    }

    #[test]
    fn stops_after_the_configured_retries() {
        let policy = RetryPolicy::default();
        assert!(matches!(policy.decide(Replay::Safe, 2, answer(503), 0), Decision::Retry(_)));
        assert_eq!(policy.decide(Replay::Safe, 3, answer(503), 0), Decision::Stop);
        assert_eq!(RetryPolicy::never().decide(Replay::Safe, 1, Outcome::NotSent, 0), Decision::Stop);
    }

    #[test]
    fn only_transient_statuses_are_retried() {
        let policy = RetryPolicy::default();
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(matches!(policy.decide(Replay::Safe, 1, answer(status), 0), Decision::Retry(_)), "{status}");
        }
        for status in [200, 301, 400, 401, 403, 404, 413, 501, 505] {
            assert_eq!(policy.decide(Replay::Safe, 1, answer(status), 0), Decision::Stop, "{status}");
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let wait = |secs| Outcome::Answer {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(policy.decide(Replay::Safe, 1, wait(30), 7), Decision::Retry(Duration::from_secs(30)));
        assert_eq!(policy.decide(Replay::Safe, 1, wait(0), 7), Decision::Retry(Duration::ZERO));
        assert_eq!(policy.decide(Replay::Safe, 1, wait(31), 7), Decision::Stop);
    }

    #[test]
    fn single_use_requests_go_again_only_when_never_sent() {
        let policy = RetryPolicy::default();
        assert!(matches!(policy.decide(Replay::SingleUse, 1, Outcome::NotSent, 0), Decision::Retry(_)));
        assert_eq!(policy.decide(Replay::SingleUse, 1, Outcome::MaybeSent, 0), Decision::Stop);
        for status in [408, 429, 500, 503] {
            assert_eq!(policy.decide(Replay::SingleUse, 1, answer(status), 0), Decision::Stop);
        }
        assert!(matches!(policy.decide(Replay::Safe, 1, Outcome::MaybeSent, 0), Decision::Retry(_)));
    }
}
