//! STAND-IN for `square_oauth_ureq` until it lands: the same shape (`Client::builder(config)
//! .timeout(d).build()`, `send(&op)`, `Error::{Core, Transport, Timeout, BodyTooLarge,
//! Redirect}`), so swapping it for the adapter is a one-line change.

use std::time::Duration;

use square_oauth::http;
use square_oauth::{Config, Operation};

/// What can go wrong sending a request.
#[derive(Debug)]
#[non_exhaustive]
pub(crate) enum Error {
    /// The core refused the input or the answer.
    Core(square_oauth::Error),
    /// The connection failed.
    Transport { source: Box<dyn std::error::Error + Send + Sync> },
    /// The timeout passed.
    Timeout,
    /// The answer was over the cap.
    BodyTooLarge { limit: usize },
    /// The answer was a redirect, which is never followed.
    Redirect { status: u16 },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Core(e) => write!(f, "{e}"),
            Error::Transport { source } => write!(f, "transport failed: {source}"),
            Error::Timeout => f.write_str("timed out"),
            Error::BodyTooLarge { limit } => write!(f, "answer over the {limit}-byte cap"),
            Error::Redirect { status } => write!(f, "redirect {status} not followed"),
        }
    }
}

impl std::error::Error for Error {}

/// A blocking client.
#[derive(Debug)]
pub(crate) struct Client {
    config: Config,
    agent: ureq::Agent,
}

/// Builds a [`Client`].
#[derive(Debug)]
pub(crate) struct ClientBuilder {
    config: Config,
    timeout: Duration,
}

impl ClientBuilder {
    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub(crate) fn build(self) -> Client {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .build()
            .into();
        Client { config: self.config, agent }
    }
}

impl Client {
    pub(crate) fn builder(config: Config) -> ClientBuilder {
        ClientBuilder { config, timeout: Duration::from_secs(30) }
    }

    pub(crate) fn send<O: Operation>(&self, op: &O) -> Result<O::Output, Error> {
        let request = op.build(&self.config).map_err(Error::Core)?;
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, body.expose_secret().to_vec());
        let mut response = self.agent.run(request).map_err(|e| match e {
            ureq::Error::Timeout(_) => Error::Timeout,
            other => Error::Transport { source: Box::new(other) },
        })?;
        if response.status().is_redirection() {
            return Err(Error::Redirect { status: response.status().as_u16() });
        }
        let limit = self.config.max_response_bytes();
        let bytes = response.body_mut().with_config().limit(limit as u64 + 1).read_to_vec().map_err(|e| match e {
            ureq::Error::Timeout(_) => Error::Timeout,
            ureq::Error::BodyExceedsLimit(_) => Error::BodyTooLarge { limit },
            other => Error::Transport { source: Box::new(other) },
        })?;
        if bytes.len() > limit {
            return Err(Error::BodyTooLarge { limit });
        }
        let (parts, _) = response.into_parts();
        op.parse(&self.config, http::Response::from_parts(parts, bytes)).map_err(Error::Core)
    }
}
