//! A loopback round trip: a minimal keep-alive HTTP/1.1 server on 127.0.0.1 that answers every
//! request with ObtainToken's canned answer, the two adapters, and the raw clients under them.
//!
//! Both sides of each pair do the same job: the core builds the request, the bytes go over one
//! kept-alive connection, the whole body comes back, the core parses it. The raw side does with
//! hyper-util or ureq what the adapter does for you, without its timeouts, size cap, redirect
//! check and retry policy; the ratio is what those cost.

use square_oauth::{AsyncCalls as _, Calls as _};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use square_oauth::{AuthorizationCode, ClientId, ClientSecret, Config, ObtainToken, ObtainTokenResponse, Operation};
use tokio::net::TcpListener;

use crate::fixture::*;

/// The server: its own thread and runtime, alive as long as the process.
pub struct Server {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl Server {
    /// Starts the server on an ephemeral port.
    pub fn start() -> Server {
        let (tx, rx) = std::sync::mpsc::channel();
        let connections = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::clone(&connections);
        std::thread::Builder::new()
            .name("loopback-server".into())
            .spawn(move || {
                let runtime =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
                runtime.block_on(async move {
                    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
                    tx.send(listener.local_addr().expect("an address")).expect("the caller waits");
                    loop {
                        let Ok((stream, _)) = listener.accept().await else { continue };
                        accepted.fetch_add(1, Ordering::Relaxed);
                        let _ = stream.set_nodelay(true);
                        tokio::spawn(async move {
                            let service = service_fn(|request: hyper::Request<Incoming>| async move {
                                // Read the whole request body, as a real server does.
                                let _ = request.into_body().collect().await;
                                let mut response =
                                    hyper::Response::new(Full::new(Bytes::from_static(CODE_ANSWER.as_bytes())));
                                response.headers_mut().insert(
                                    http::header::CONTENT_TYPE,
                                    http::HeaderValue::from_static("application/json"),
                                );
                                Ok::<_, Infallible>(response)
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .keep_alive(true)
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                });
            })
            .expect("a server thread");
        Server { addr: rx.recv().expect("the server's address"), connections }
    }

    /// Connections accepted so far: with keep-alive working, one per client.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A core configuration pointing at the server.
    pub fn config(&self) -> Config {
        Config::custom(&self.base_url()).expect("a loopback URL")
    }
}

/// The code exchange sent in every round trip.
pub fn exchange() -> ObtainToken {
    ObtainToken::authorization_code(
        ClientId::new(CLIENT_ID),
        ClientSecret::new(CLIENT_SECRET),
        AuthorizationCode::new(CODE),
    )
    .redirect_uri(REDIRECT_URI)
}

/// The hyper adapter and raw hyper-util, with the tokio runtime the bench thread drives them on.
pub struct HyperPair {
    /// A current-thread runtime; each measurement is one `block_on` over many round trips.
    pub runtime: tokio::runtime::Runtime,
    adapter: square_oauth_hyper::Client,
    raw: HyperClient<HttpConnector, Full<Bytes>>,
    config: Config,
    operation: ObtainToken,
}

impl HyperPair {
    /// Both clients, talking to `server`, each with its connection already open.
    pub fn new(server: &Server) -> HyperPair {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
        let config = server.config();
        let (adapter, raw) = {
            let _guard = runtime.enter();
            let mut connector = HttpConnector::new();
            connector.set_nodelay(true);
            (
                square_oauth_hyper::Client::new(config.clone()),
                HyperClient::builder(TokioExecutor::new()).build::<_, Full<Bytes>>(connector),
            )
        };
        let pair = HyperPair { runtime, adapter, raw, config, operation: exchange() };
        pair.runtime.block_on(async {
            pair.ours().await;
            pair.base().await;
        });
        pair
    }

    /// One round trip through the adapter.
    pub async fn ours(&self) -> ObtainTokenResponse {
        self.adapter.send(&self.operation).await.expect("a token")
    }

    /// The same round trip through raw hyper-util.
    pub async fn base(&self) -> ObtainTokenResponse {
        let (head, body) = self.operation.build(&self.config).expect("a request").into_parts();
        let request = http::Request::from_parts(head, Full::new(Bytes::copy_from_slice(body.expose_secret())));
        let response = self.raw.request(request).await.expect("an answer");
        let (head, body) = response.into_parts();
        let body = body.collect().await.expect("a body").to_bytes();
        self.operation.parse(&self.config, http::Response::from_parts(head, body)).expect("a token")
    }
}

/// The ureq adapter and raw ureq.
pub struct UreqPair {
    adapter: square_oauth_ureq::Client,
    raw: ureq::Agent,
    raw_with_timeouts: ureq::Agent,
    config: Config,
    operation: ObtainToken,
}

impl UreqPair {
    /// Both clients, talking to `server`, each with its connection already open.
    pub fn new(server: &Server) -> UreqPair {
        let config = server.config();
        let raw: ureq::Agent =
            ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
        // The adapter's defaults: connect within 10 s, the whole call within 30 s.
        let raw_with_timeouts: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(std::time::Duration::from_secs(10)))
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build()
            .into();
        let pair = UreqPair {
            adapter: square_oauth_ureq::Client::new(config.clone()),
            raw,
            raw_with_timeouts,
            config,
            operation: exchange(),
        };
        pair.ours();
        pair.base();
        pair.base_with_timeouts();
        pair
    }

    /// One round trip through the adapter.
    pub fn ours(&self) -> ObtainTokenResponse {
        self.adapter.send(&self.operation).expect("a token")
    }

    /// The same round trip through raw ureq, with ureq's defaults (no timeouts).
    pub fn base(&self) -> ObtainTokenResponse {
        self.raw_round_trip(&self.raw)
    }

    /// The same round trip through raw ureq given the adapter's timeouts. ureq 3 resolves the
    /// host on every call, and with a deadline set (`timeout_global`) it does so on a new thread
    /// so that it can give up: one thread spawned per request, kept-alive connection or not.
    pub fn base_with_timeouts(&self) -> ObtainTokenResponse {
        self.raw_round_trip(&self.raw_with_timeouts)
    }

    fn raw_round_trip(&self, agent: &ureq::Agent) -> ObtainTokenResponse {
        let (head, body) = self.operation.build(&self.config).expect("a request").into_parts();
        let request = http::Request::from_parts(head, body.expose_secret());
        let response = agent.run(request).expect("an answer");
        let (head, mut body) = response.into_parts();
        let body = body.read_to_vec().expect("a body");
        self.operation.parse(&self.config, http::Response::from_parts(head, body)).expect("a token")
    }
}
