//! How a refresh call ended, in the words the vault decides with; and the glue from each
//! adapter's error type (one function per adapter, behind its feature).
//!
//! The vault sends through a closure of yours, so any transport fits:
//! blocking `FnMut(&ObtainToken) -> Result<ObtainTokenResponse, RefreshFailure>`, or an async
//! closure returning a future of the same. With `square-oauth-ureq`:
//!
//! ```no_run
//! use square_oauth_vault::transport::from_ureq;
//! # let client = square_oauth_ureq::Client::new(square_oauth::Config::production());
//! let mut send = |operation: &square_oauth::ObtainToken| client.obtain_token(operation).map_err(from_ureq);
//! # let _ = &mut send;
//! ```

use core::time::Duration;
use std::error::Error as StdError;

use square_oauth::{ErrorCategory, ErrorCode};

use crate::decide::Completion;

/// Why a refresh call brought no tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshFailure {
    /// Square refused. `reauthorize`: the refresh token is dead and the seller must authorize
    /// again; otherwise the refusal is about the request or the application.
    #[error("Square refused the refresh: {error}")]
    Refused {
        /// Whether the seller must authorize again.
        reauthorize: bool,
        /// Square's answer.
        #[source]
        error: square_oauth::Error,
    },
    /// The request never left this machine (refused connection, DNS, invalid input): safe to
    /// send again.
    #[error("the refresh was not sent")]
    NotSent {
        /// Why.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
    /// The request may have reached Square and no usable answer came: for a PKCE refresh the
    /// token may be spent.
    #[error("the refresh may have reached Square; its answer was lost")]
    MaybeSent {
        /// Why.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
    /// Square answered that it did not act (429, 503): try later.
    #[error("Square is busy; try again later")]
    Busy {
        /// Square's `Retry-After`, as a wait.
        retry_after: Option<Duration>,
    },
}

impl RefreshFailure {
    /// What the decisions make of it.
    pub fn completion(&self) -> Completion {
        match self {
            RefreshFailure::Refused { reauthorize, .. } => Completion::Refused { reauthorize: *reauthorize },
            RefreshFailure::NotSent { .. } => Completion::NotSent,
            RefreshFailure::MaybeSent { .. } => Completion::MaybeSent,
            RefreshFailure::Busy { retry_after } => Completion::Busy { retry_after: *retry_after },
        }
    }

    /// Reads the core's error: Square's refusals by status and code, an answer that could not
    /// be understood as "may have been sent", invalid input as "not sent".
    pub fn from_core(error: square_oauth::Error, now: jiff::Timestamp) -> RefreshFailure {
        let Some(status) = error.status() else {
            return RefreshFailure::NotSent { source: Some(Box::new(error)) };
        };
        let code = status.as_u16();
        if matches!(code, 429 | 503) {
            return RefreshFailure::Busy { retry_after: error.retry_after().map(|after| after.delay_from(now)) };
        }
        if matches!(error, square_oauth::Error::UnexpectedResponse(_)) || status.is_server_error() || code == 408 {
            return RefreshFailure::MaybeSent { source: Some(Box::new(error)) };
        }
        // A dead grant: Square answers 400/401 with an authentication error about the token.
        // A wrong application secret is 401 too, but it is not the seller's doing, so only a
        // 400, or a code that names the token, sends the seller back to authorize.
        let names_token =
            error.has_code(&ErrorCode::AccessTokenRevoked) || error.has_code(&ErrorCode::AccessTokenExpired);
        let authentication = error.square_errors().iter().any(|e| e.category == ErrorCategory::AuthenticationError);
        let reauthorize = names_token || (code == 400 && authentication);
        RefreshFailure::Refused { reauthorize, error }
    }
}

fn refused_connection(error: &(dyn StdError + 'static)) -> bool {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(io.kind(), std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable)
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// `square-oauth-ureq`'s error as a [`RefreshFailure`].
#[cfg(feature = "ureq")]
pub fn from_ureq(error: square_oauth_ureq::Error) -> RefreshFailure {
    use square_oauth_ureq::Error;
    match error {
        Error::Core(error) => RefreshFailure::from_core(error, jiff::Timestamp::now()),
        Error::Transport { source } if refused_connection(source.as_ref()) => {
            RefreshFailure::NotSent { source: Some(source) }
        }
        Error::Transport { source } => RefreshFailure::MaybeSent { source: Some(source) },
        other => RefreshFailure::MaybeSent { source: Some(Box::new(other)) },
    }
}

/// `square-oauth-hyper`'s error as a [`RefreshFailure`].
#[cfg(feature = "hyper")]
pub fn from_hyper(error: square_oauth_hyper::Error) -> RefreshFailure {
    use square_oauth_hyper::Error;
    match error {
        Error::Core(error) => RefreshFailure::from_core(error, jiff::Timestamp::now()),
        Error::Transport { source } if refused_connection(source.as_ref()) => {
            RefreshFailure::NotSent { source: Some(source) }
        }
        Error::Transport { source } => RefreshFailure::MaybeSent { source: Some(source) },
        other => RefreshFailure::MaybeSent { source: Some(Box::new(other)) },
    }
}
