//! Building a [`Client`]: timeouts, retry policy, pool, TLS or a connector of the caller's own.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use square_oauth::{AdapterSettings, Config};

use crate::{Client, DefaultConnector, Inner};

pub use square_oauth::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Configures a [`Client`]; made by [`Client::builder`].
///
/// ```
/// use std::time::Duration;
/// use square_oauth_hyper::{Client, square_oauth::{Config, RetryPolicy}};
///
/// let client: Client = Client::builder(Config::sandbox())
///     .timeout(Duration::from_secs(10))
///     .retry_policy(RetryPolicy::default().max_retries(1))
///     .build();
/// ```
#[derive(Debug)]
pub struct ClientBuilder<C = DefaultConnector> {
    config: Config,
    settings: AdapterSettings,
    pool_max_idle_per_host: usize,
    connector: Connector<C>,
}

/// Where the connector comes from: made at `build` (so that it sees the final connect timeout
/// and TLS settings), or given whole by the caller.
#[derive(Debug)]
enum Connector<C> {
    Made { tls: Option<Box<rustls::ClientConfig>>, make: fn(Option<Box<rustls::ClientConfig>>, Duration) -> C },
    Given(C),
}

impl ClientBuilder {
    pub(crate) fn new(config: Config) -> Self {
        ClientBuilder {
            config,
            settings: AdapterSettings::default(),
            pool_max_idle_per_host: usize::MAX,
            connector: Connector::Made { tls: None, make: https_connector },
        }
    }

    /// Uses this rustls configuration instead of the webpki roots: a private CA, client
    /// certificates, pinned protocol versions. Its crypto provider is the one it was built with;
    /// its ALPN list is replaced (this client speaks HTTP/1.1 only).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use square_oauth_hyper::{Client, rustls, square_oauth::Config};
    ///
    /// let mut roots = rustls::RootCertStore::empty();
    /// # let my_ca_der: Vec<u8> = Vec::new();
    /// # if !my_ca_der.is_empty() {
    /// roots.add(rustls::pki_types::CertificateDer::from(my_ca_der))?;
    /// # }
    /// let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
    ///     .with_safe_default_protocol_versions()?
    ///     .with_root_certificates(roots)
    ///     .with_no_client_auth();
    /// let client = Client::builder(Config::custom("https://square.internal.example")?).tls_config(tls).build();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tls_config(mut self, config: rustls::ClientConfig) -> Self {
        if let Connector::Made { tls, .. } = &mut self.connector {
            *tls = Some(Box::new(config));
        }
        self
    }

    /// Trusts the operating system's certificate store instead of the webpki roots (ring is
    /// still the crypto provider). Fails when the store cannot be read or holds no certificate.
    #[cfg(feature = "native-roots")]
    pub fn native_roots(self) -> std::io::Result<Self> {
        use hyper_rustls::ConfigBuilderExt;
        let config = rustls::ClientConfig::builder_with_provider(ring())
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_native_roots()?
            .with_no_client_auth();
        Ok(self.tls_config(config))
    }
}

impl<C> ClientBuilder<C> {
    square_oauth::adapter_settings!(connect_timeout);

    /// The most idle connections kept per host (no limit by default; idle ones close after 90 s).
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// Uses this connector instead of the built-in one (an HTTPS connector over a proxy, a
    /// custom resolver, a test double). It must do TLS itself; the core already refuses plain
    /// `http` to anything but this machine.
    pub fn connector<D>(self, connector: D) -> ClientBuilder<D> {
        ClientBuilder {
            config: self.config,
            settings: self.settings,
            pool_max_idle_per_host: self.pool_max_idle_per_host,
            connector: Connector::Given(connector),
        }
    }
}

impl<C: Connect + Clone + Send + Sync + 'static> ClientBuilder<C> {
    /// The client.
    pub fn build(self) -> Client<C> {
        let connector = match self.connector {
            Connector::Made { tls, make } => make(tls, self.settings.connect_timeout),
            Connector::Given(connector) => connector,
        };
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .build(connector);
        Client {
            inner: Arc::new(Inner {
                config: self.config,
                retry_policy: self.settings.retry_policy,
                timeout: self.settings.timeout,
                http,
            }),
        }
    }
}

/// ring, chosen here rather than read from rustls' process-wide default, so that another crate
/// installing a different provider (or two being compiled in) changes nothing.
fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// HTTPS (or `http` to loopback, which the core allows) over HTTP/1.1.
fn https_connector(tls: Option<Box<rustls::ClientConfig>>, connect_timeout: Duration) -> DefaultConnector {
    let tls = match tls {
        Some(config) => {
            let mut config = *config;
            config.alpn_protocols.clear();
            HttpsConnectorBuilder::new().with_tls_config(config)
        }
        None => HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(ring())
            .expect("ring supports rustls' safe default protocol versions"),
    };
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    tls.https_or_http().enable_http1().wrap_connector(http)
}
