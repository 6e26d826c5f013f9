//! What every test file shares: the fake Square with one application, quick retries, codes from
//! the consent page, and a tiny raw HTTP server for what the fake cannot do.
#![allow(dead_code, unreachable_pub)]

#[allow(unused_imports)]
use square_oauth::{AsyncCalls as _, AsyncTransport as _};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame};
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use square_oauth_hyper::square_oauth::{
    AuthorizationCode, AuthorizeUrl, ClientId, ClientSecret, CodeVerifier, Config, RetryPolicy, State, parse_callback,
};
use square_oauth_hyper::{Client, ClientBuilder};
use square_oauth_mock::{App, MockConfig, MockSquare};

pub const CLIENT_ID: &str = "sq0idp-hyper-adapter";
/// A sentinel: no Debug, Display or error of the adapter may ever contain it.
pub const CLIENT_SECRET: &str = "sq0csp-SENTINEL-hyper-0123456789";
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub const MERCHANT: &str = "MERCHANT1";

pub fn mock_config() -> MockConfig {
    MockConfig::new().app(App::new(CLIENT_ID, CLIENT_SECRET, &[REDIRECT])).seller(MERCHANT)
}

pub fn square() -> MockSquare {
    MockSquare::start(mock_config()).expect("the fake Square starts")
}

pub fn client_id() -> ClientId {
    ClientId::new(CLIENT_ID)
}

pub fn client_secret() -> ClientSecret {
    ClientSecret::new(CLIENT_SECRET)
}

/// The default policy (2 retries) with waits short enough for tests.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy::default().initial_backoff(Duration::from_millis(5)).max_backoff(Duration::from_millis(50))
}

pub fn builder(base_url: &str) -> ClientBuilder {
    Client::builder(Config::custom(base_url).expect("loopback base URL")).retry_policy(quick_retries())
}

pub fn client(square: &MockSquare) -> Client {
    builder(&square.base_url()).build()
}

/// A code from the consent page, for the code flow (`None`) or PKCE.
pub fn code(square: &MockSquare, verifier: Option<&CodeVerifier>) -> AuthorizationCode {
    let config = Config::custom(&square.base_url()).unwrap();
    let state = State::from_entropy([7; 32]);
    let mut url = AuthorizeUrl::new(client_id()).state(&state);
    if let Some(verifier) = verifier {
        url = url.code_challenge(&verifier.challenge());
    }
    let redirect = square.approve(&url.build(&config).unwrap(), None).expect("the fake approves");
    parse_callback(&redirect, &state).expect("a code comes back")
}

/// How many requests the fake received on `path`.
pub fn requests_to(square: &MockSquare, path: &str) -> usize {
    square.requests().iter().filter(|request| request.path == path).count()
}

/// An address nothing listens on.
pub fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// What the raw server answers.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// A token status, as JSON with `Content-Length`.
    TokenStatus,
    /// `200 application/json` chunked, with no end.
    Endless,
}

/// A tiny HTTP/1.1 server on the current tokio runtime; it counts the connections it accepts.
pub struct RawServer {
    pub base_url: String,
    pub accepted: Arc<AtomicUsize>,
}

impl RawServer {
    pub async fn start(answer: Answer) -> RawServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                counter.fetch_add(1, Ordering::SeqCst);
                let service = service_fn(move |_request| async move {
                    let body = match answer {
                        Answer::TokenStatus => RawBody::Once(Some(Bytes::from_static(TOKEN_STATUS.as_bytes()))),
                        Answer::Endless => RawBody::Endless,
                    };
                    Ok::<_, Infallible>(
                        http::Response::builder().header("content-type", "application/json").body(body).unwrap(),
                    )
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        RawServer { base_url, accepted }
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

const TOKEN_STATUS: &str = r#"{"client_id":"sq0idp-hyper-adapter","merchant_id":"MERCHANT1","scopes":["PAYMENTS_READ"],"expires_at":"2030-01-01T00:00:00Z"}"#;

enum RawBody {
    Once(Option<Bytes>),
    Endless,
}

impl Body for RawBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let chunk = match self.get_mut() {
            RawBody::Once(chunk) => chunk.take(),
            RawBody::Endless => Some(Bytes::from_static(&[b' '; 16 * 1024])),
        };
        Poll::Ready(chunk.map(|chunk| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, RawBody::Once(None))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            RawBody::Once(chunk) => hyper::body::SizeHint::with_exact(chunk.as_ref().map_or(0, |c| c.len() as u64)),
            RawBody::Endless => hyper::body::SizeHint::default(),
        }
    }
}

/// The whole `source()` chain of an error, for assertions on what caused it.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        text.push_str(": ");
        text.push_str(&current.to_string());
        cause = current.source();
    }
    text
}

/// hyper-util's TCP connector, counting how often it is asked for a connection.
#[derive(Clone)]
pub struct Counting {
    inner: HttpConnector,
    calls: Arc<AtomicUsize>,
}

impl Counting {
    pub fn new() -> (Counting, Arc<AtomicUsize>) {
        let mut inner = HttpConnector::new();
        inner.enforce_http(false);
        let calls = Arc::new(AtomicUsize::new(0));
        (Counting { inner, calls: calls.clone() }, calls)
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<http::Uri> for Counting {
    type Response = TokioIo<tokio::net::TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let connecting = self.inner.call(uri);
        Box::pin(async move { connecting.await.map_err(Into::into) })
    }
}
