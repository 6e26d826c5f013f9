//! Building a [`Client`]: timeouts, retry policy, pool size, trusted roots, or an agent of the
//! caller's own.

use std::sync::Arc;

use square_oauth::{AdapterSettings, Config, InvalidInput, Problem};
use ureq::Agent;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};

use crate::{Client, Error, InlineResolver, Inner, MarkingConnector};

pub use square_oauth::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
/// How many idle connections are kept by default (Square is one host, so this is per host too).
pub const DEFAULT_MAX_IDLE_CONNECTIONS: usize = 8;

/// Configures a [`Client`]; made by [`Client::builder`].
///
/// ```
/// use std::time::Duration;
/// use square_oauth_ureq::{Client, square_oauth::{Config, RetryPolicy}};
///
/// let client = Client::builder(Config::sandbox())
///     .timeout(Duration::from_secs(10))
///     .retry_policy(RetryPolicy::default().max_retries(1))
///     .build();
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    config: Config,
    settings: AdapterSettings,
    max_idle_connections: usize,
    agent: AgentSource,
}

/// Where the agent comes from: made at `build` (so that it sees the final settings), or given
/// whole by the caller.
#[derive(Debug)]
enum AgentSource {
    Made { roots: Option<Arc<Vec<Certificate<'static>>>> },
    Given(Agent),
}

impl ClientBuilder {
    pub(crate) fn new(config: Config) -> Self {
        ClientBuilder {
            config,
            settings: AdapterSettings::default(),
            max_idle_connections: DEFAULT_MAX_IDLE_CONNECTIONS,
            agent: AgentSource::Made { roots: None },
        }
    }

    square_oauth::adapter_settings!(connect_timeout);

    /// The most idle connections kept for reuse (default 8). Connections in use are not
    /// counted: a client used from N threads at once opens up to N.
    pub fn max_idle_connections(mut self, max: usize) -> Self {
        self.max_idle_connections = max;
        self
    }

    /// Trusts only the certificates in this PEM text (one or more `CERTIFICATE` blocks; other
    /// blocks are skipped) instead of the webpki roots: a private CA, a test server.
    ///
    /// Fails with [`square_oauth::Error::InvalidInput`] (field `root_certificates`) when the text
    /// holds no certificate or does not parse. Ignored when an [`agent`](Self::agent) is given:
    /// the agent brings its own TLS settings.
    pub fn tls_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        let invalid = || -> Error {
            square_oauth::Error::from(InvalidInput {
                field: "root_certificates",
                problem: Problem::Format("PEM text with at least one CERTIFICATE block"),
            })
            .into()
        };
        let mut certificates = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            if let PemItem::Certificate(certificate) = item.map_err(|_| invalid())? {
                certificates.push(certificate);
            }
        }
        if certificates.is_empty() {
            return Err(invalid());
        }
        if let AgentSource::Made { roots } = &mut self.agent {
            *roots = Some(Arc::new(certificates));
        }
        Ok(self)
    }

    /// Sends through this agent (its pool, connector, proxy and TLS settings) instead of one
    /// made here.
    ///
    /// Whatever the agent's own settings, every request this client sends is set to hand back
    /// 4xx/5xx answers (`http_status_as_error(false)`), follow no redirect (`max_redirects(0)`)
    /// and use this builder's timeouts; those are request-level settings in ureq, so the agent's
    /// connection pool is still shared. Its TLS settings are its own: give it a rustls crypto
    /// provider explicitly if more than one is compiled into the program.
    pub fn agent(mut self, agent: Agent) -> Self {
        self.agent = AgentSource::Given(agent);
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        let (agent, own_agent) = match self.agent {
            AgentSource::Made { roots } => {
                // Status handling, redirects and timeouts are the agent's own, so that a request
                // carries no configuration of its own (ureq copies the whole configuration into
                // every request that has one).
                let mut config = Agent::config_builder()
                    .max_idle_connections(self.max_idle_connections)
                    .max_idle_connections_per_host(self.max_idle_connections)
                    .tls_config(tls_config(roots))
                    .http_status_as_error(false)
                    .max_redirects(0)
                    .timeout_connect(Some(self.settings.connect_timeout))
                    .timeout_global(Some(self.settings.timeout));
                if self.config.is_loopback() {
                    config = config.proxy(None);
                }
                (Agent::with_parts(config.build(), MarkingConnector::default(), InlineResolver::default()), true)
            }
            // A caller's agent: the same settings go on each request.
            AgentSource::Given(agent) => (agent, false),
        };
        Client {
            inner: Arc::new(Inner {
                config: self.config,
                retry_policy: self.settings.retry_policy,
                connect_timeout: self.settings.connect_timeout,
                timeout: self.settings.timeout,
                agent,
                own_agent,
            }),
        }
    }
}

/// rustls with ring, chosen here rather than read from rustls' process-wide default, so that
/// another crate installing a different provider (or two being compiled in) changes nothing.
fn tls_config(roots: Option<Arc<Vec<Certificate<'static>>>>) -> TlsConfig {
    TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .root_certs(roots.map_or(RootCerts::WebPki, RootCerts::Specific))
        .build()
}
