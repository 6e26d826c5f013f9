//! What can go wrong when a request is carried over `fetch`.

use http::StatusCode;
use square_oauth::{ErrorCode, SquareError};

/// The error type of every call of [`Client`](crate::Client).
///
/// The core's errors come through unchanged in [`Error::Core`]: the caller's mistakes (nothing
/// was sent), Square's refusals (status, every error, `Retry-After`) and answers that made no
/// sense. The other variants are this adapter's. No variant carries a secret: the runtime's
/// messages name what failed, never a request's body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The core's error, unchanged: invalid input, Square's refusal, an unexpected answer.
    #[error(transparent)]
    Core(#[from] square_oauth::Error),
    /// `fetch` failed: no connection, a CORS refusal, a reset, a body cut short. Browsers give
    /// one message for all of these (Chrome: `TypeError: Failed to fetch`, with the reason only
    /// in the developer console); Node adds the cause.
    #[error("the request to Square failed in transport: {message}")]
    Transport {
        /// The runtime's message (`name: message`, then the cause if the runtime gives one).
        message: String,
    },
    /// No complete answer came back within the client's timeout.
    #[error("no complete answer from Square in time")]
    Timeout,
    /// The answer's body is longer than the cap; reading stopped there.
    #[error("the answer's body is over the {limit}-byte cap")]
    BodyTooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The answer was a redirect, which is never followed: a redirect could carry a credential
    /// to another host. (A browser hides a redirect's status and `Location` from the page.)
    #[error("the answer was a redirect, which is not followed")]
    Redirect,
    /// Web Crypto is missing, so no verifier or state could be drawn (Node before 19 has no
    /// global `crypto`; run it with `--experimental-global-webcrypto`).
    #[error("no entropy from Web Crypto: {message}")]
    NoEntropy {
        /// getrandom's message.
        message: String,
    },
}

impl Error {
    /// The HTTP status of the answer this error came from, if an answer came.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Core(error) => error.status(),
            _ => None,
        }
    }

    /// Square's errors, if Square refused; empty otherwise.
    pub fn square_errors(&self) -> &[SquareError] {
        match self {
            Error::Core(error) => error.square_errors(),
            _ => &[],
        }
    }

    /// Whether Square's answer holds an error with this code.
    pub fn has_code(&self, code: &ErrorCode) -> bool {
        self.square_errors().iter().any(|error| &error.code == code)
    }
}
