//! What can go wrong when a request is carried over ureq.

use std::error::Error as StdError;

use http::StatusCode;
use square_oauth::{ErrorCode, SquareError};

/// The error type of every call of [`Client`](crate::Client).
///
/// The core's errors come through unchanged in [`Error::Core`]: the caller's mistakes (nothing
/// was sent), Square's refusals (status, every error, `Retry-After`) and answers that made no
/// sense. The other variants are this adapter's: the transport failed, took too long, or brought
/// back something it will not read. No variant carries a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The core's error, unchanged: invalid input, Square's refusal, an unexpected answer.
    #[error(transparent)]
    Core(#[from] square_oauth::Error),
    /// The request could not be carried: no connection, a TLS failure, a reset, a truncated
    /// answer. The source says which (print the whole chain to see it).
    #[error("the request to Square failed in transport")]
    Transport {
        /// What failed, as ureq or rustls reported it.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// No complete answer came back within the client's timeout (connect timeout included).
    #[error("no complete answer from Square in time")]
    Timeout,
    /// The answer's body is longer than the cap; reading stopped there.
    #[error("the answer's body is over the {limit}-byte cap")]
    BodyTooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The answer was a redirect, which is never followed: a redirect could carry a credential
    /// to another host.
    #[error("the answer was a redirect ({status}), which is not followed")]
    Redirect {
        /// The 3xx status.
        status: StatusCode,
    },
}

impl Error {
    /// The HTTP status of the answer this error came from, if an answer came.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Core(error) => error.status(),
            Error::Redirect { status } => Some(*status),
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

    pub(crate) fn transport(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Error::Transport { source: source.into() }
    }
}
