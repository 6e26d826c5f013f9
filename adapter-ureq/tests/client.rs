//! What the cross-adapter suite (`tests/`) does not cover: a caller's agent whose settings would
//! be unsafe, a chunked body that never ends, bad root certificates, `refresh_if_due`, and the
//! client's own traits, and a connection reset after the request arrived.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use square_oauth::{
    AccessToken, AuthorizeUrl, ClientId, ClientSecret, Config, ErrorCode, Flow, ObtainToken, RefreshRules,
    RetrieveTokenStatus, RetryPolicy, State, TokenSet, parse_callback,
};
use square_oauth::{AuthorizationCode, Calls as _, Transport as _};
use square_oauth_mock::{App, Fault, MockConfig, MockSquare};
use square_oauth_ureq::{Client, Error};
use ureq::Agent;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{ConnectionDetails, Connector, DefaultConnector};

const CLIENT_ID: &str = "sq0idp-ureq-adapter";
const SECRET: &str = "sq0csp-SENTINEL-ureq-adapter-secret";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn start() -> MockSquare {
    MockSquare::start(MockConfig::new().app(App::new(CLIENT_ID, SECRET, &[REDIRECT])).seller("MERCHANT1")).unwrap()
}

fn config(base_url: &str) -> Config {
    Config::custom(base_url).unwrap()
}

/// How many retries [`quick`] allows.
const QUICK_RETRIES: u32 = 2;

fn quick() -> RetryPolicy {
    RetryPolicy::default().max_retries(QUICK_RETRIES).initial_backoff(Duration::from_millis(5))
}

/// A server that answers every connection with a chunked body that never ends.
fn endless_chunked_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                let chunk = format!("{:x}\r\n{}\r\n", 4096, "7".repeat(4096));
                let _ = stream.write_all(head.as_bytes());
                while stream.write_all(chunk.as_bytes()).is_ok() {}
            });
        }
    });
    addr
}

#[test]
fn an_endless_chunked_body_is_cut_at_the_cap_while_reading() {
    let addr = endless_chunked_server();
    let config = Config::builder().base_url(&format!("http://{addr}")).max_response_bytes(64 * 1024).build().unwrap();
    // Were the body read to its end first, the timeout would fire instead.
    let client = Client::builder(config).timeout(Duration::from_secs(60)).retry_policy(quick()).build();

    let error = client.token_status(&RetrieveTokenStatus::new(AccessToken::new("EAAA-any"))).unwrap_err();

    assert!(matches!(error, Error::BodyTooLarge { limit: 65_536 }), "{error:?}");
}

#[test]
fn a_cap_of_usize_max_reads_answers_whole() {
    // The cap plus the one byte that tells "more" must not overflow (in a release build the
    // limit wrapped to 0 and every answer was refused after Square had taken the request).
    let square = start();
    let config = Config::builder().base_url(&square.base_url()).max_response_bytes(usize::MAX).build().unwrap();
    let client = Client::builder(config).retry_policy(quick()).build();
    let state = State::new("state-for-the-cap");
    let url = AuthorizeUrl::new(ClientId::new(CLIENT_ID)).state(&state).build(client.config()).unwrap();
    let code = parse_callback(&square.approve(&url, None).unwrap(), &state).unwrap();
    let exchange = ObtainToken::authorization_code(ClientId::new(CLIENT_ID), ClientSecret::new(SECRET), code);
    let answer = client.obtain_token(&exchange).expect("the answer, read whole");
    assert_eq!(answer.merchant_id.as_ref().map(|m| m.as_str()), Some("MERCHANT1"));
}

#[test]
fn a_callers_agent_still_reads_refusals_and_never_follows_redirects() {
    let (square, elsewhere) = (start(), start());
    // Everything this adapter must not do: 4xx as ureq errors, redirects followed, a 1 ms budget.
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(true)
        .max_redirects(10)
        .timeout_global(Some(Duration::from_millis(1)))
        .build()
        .new_agent();
    let client = Client::builder(config(&square.base_url())).agent(agent).retry_policy(quick()).build();
    let status = RetrieveTokenStatus::new(AccessToken::new("EAAA-unknown"));

    let error = client.token_status(&status).unwrap_err();
    assert!(error.has_code(&ErrorCode::Unauthorized), "the 401 is Square's refusal, read: {error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));

    square.fault("/oauth2/token/status", Fault::Redirect(format!("{}/oauth2/token/status", elsewhere.base_url())), 1);
    let error = client.token_status(&status).unwrap_err();
    assert!(matches!(error, Error::Redirect { status: Some(status) } if status == 302), "{error:?}");
    assert!(elsewhere.requests().is_empty());
}

#[test]
fn root_certificates_must_be_pem_certificates() {
    let builder = Client::builder(Config::sandbox());
    for bad in [&b""[..], b"not a certificate", b"-----BEGIN PRIVATE KEY-----\nMC4CAQA=\n-----END PRIVATE KEY-----\n"] {
        let error = Client::builder(Config::sandbox()).tls_root_certificates_pem(bad).unwrap_err();
        let Error::Core(square_oauth::Error::InvalidInput(invalid)) = &error else { panic!("{error:?}") };
        assert_eq!(invalid.field, "root_certificates");
    }
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let builder = builder.tls_root_certificates_pem(certified.cert.pem().as_bytes()).unwrap();
    assert!(format!("{builder:?}").contains("Made { roots: Some("), "{builder:?}");
}

#[test]
fn refresh_if_due_refreshes_only_when_due_and_keeps_the_set_on_failure() {
    let square = start();
    let client = Client::builder(config(&square.base_url())).retry_policy(quick()).build();
    let state = State::new("state-for-refresh");
    let url = AuthorizeUrl::new(ClientId::new(CLIENT_ID)).state(&state).build(client.config()).unwrap();
    let code = parse_callback(&square.approve(&url, None).unwrap(), &state).unwrap();
    let secret = ClientSecret::new(SECRET);
    let answer =
        client.obtain_token(&ObtainToken::authorization_code(ClientId::new(CLIENT_ID), secret.clone(), code)).unwrap();
    let mut tokens =
        TokenSet::from_response(Flow::CodeFlow, ClientId::new(CLIENT_ID), answer, jiff::Timestamp::now()).unwrap();
    let first = tokens.access_token().clone();

    assert!(!client.refresh_if_due(&mut tokens, Some(&secret), &RefreshRules::default()).unwrap());
    let always = RefreshRules { refresh_after: jiff::SignedDuration::ZERO, ..RefreshRules::default() };
    assert!(client.refresh_if_due(&mut tokens, Some(&secret), &always).unwrap());
    assert_ne!(tokens.access_token(), &first);
    client.token_status(&RetrieveTokenStatus::new(tokens.access_token().clone())).unwrap();

    let before = tokens.access_token().clone();
    let wrong = ClientSecret::new("sq0csp-SENTINEL-wrong");
    let error = client.refresh_if_due(&mut tokens, Some(&wrong), &always).unwrap_err();
    assert!(error.has_code(&ErrorCode::Unauthorized), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("SENTINEL"));
    assert_eq!(tokens.access_token(), &before, "a failed refresh leaves the set as it was");
}

#[test]
fn a_refused_connection_is_a_transport_error_after_the_retries() {
    let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let client = Client::builder(config(&format!("http://{addr}"))).retry_policy(quick()).build();

    let error = client.token_status(&RetrieveTokenStatus::new(AccessToken::new("EAAA-any"))).unwrap_err();

    let Error::Transport { source, may_have_reached } = &error else { panic!("{error:?}") };
    assert!(!may_have_reached, "a refused connection carried nothing");
    assert!(
        source.to_string().contains("refused") || format!("{source:?}").contains("ConnectionRefused"),
        "{source:?}"
    );
    assert_eq!(error.status(), None);
}

/// ureq's own connector chain, counting the connections it is asked to open: one per attempt.
#[derive(Debug)]
struct Counting(DefaultConnector, Arc<AtomicUsize>);

impl Connector for Counting {
    type Out = <DefaultConnector as Connector>::Out;

    fn connect(&self, details: &ConnectionDetails, chained: Option<()>) -> Result<Option<Self::Out>, ureq::Error> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.connect(details, chained)
    }
}

#[test]
fn a_refused_connection_is_tried_once_and_the_policy_retries_more() {
    let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    for (policy, attempts) in [(quick(), 1 + QUICK_RETRIES as usize), (RetryPolicy::never(), 1)] {
        let count = Arc::new(AtomicUsize::new(0));
        let connector = Counting(DefaultConnector::default(), Arc::clone(&count));
        let agent = Agent::with_parts(Agent::config_builder().build(), connector, DefaultResolver::default());
        let client = Client::builder(config(&format!("http://{addr}"))).agent(agent).retry_policy(policy).build();

        let error = client.token_status(&RetrieveTokenStatus::new(AccessToken::new("EAAA-any"))).unwrap_err();

        assert!(matches!(error, Error::Transport { .. }), "{error:?}");
        assert_eq!(count.load(Ordering::SeqCst), attempts, "one attempt and the policy's retries");
    }
}

#[test]
fn the_client_is_cheap_to_share_and_prints_no_secret() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Client>();
    fn error_is_std<E: std::error::Error + Send + Sync + 'static>() {}
    error_is_std::<Error>();

    let client = Client::new(Config::sandbox());
    let printed = format!("{client:?}");
    assert!(printed.contains("timeout") && printed.contains("max_response_bytes"), "{printed}");
    assert_eq!(client.clone().config().base_url(), client.config().base_url());

    // The one secret a client keeps is a proxy password in its agent; the client secret and
    // codes only pass through it, and a refusal must not echo them either.
    let proxy_password = "SENTINEL-proxy-password";
    let proxy = ureq::Proxy::new(&format!("http://user:{proxy_password}@127.0.0.1:9")).unwrap();
    let agent = Agent::config_builder().proxy(Some(proxy)).build().new_agent();
    let proxied = Client::builder(Config::sandbox()).agent(agent).build();
    let printed = format!("{proxied:?}");
    assert!(printed.contains("127.0.0.1"), "the proxy is printed: {printed}");
    assert!(!printed.contains(proxy_password), "{printed}");

    let square = start();
    let client = Client::new(config(&square.base_url()));
    let code = AuthorizationCode::new("sq0cgp-SENTINEL-unknown-code");
    let exchange = ObtainToken::authorization_code(ClientId::new(CLIENT_ID), ClientSecret::new(SECRET), code);
    let error = client.obtain_token(&exchange).unwrap_err();
    assert!(error.status().is_some(), "Square refused the code: {error:?}");
    let said = square.requests();
    assert!(said.iter().any(|r| String::from_utf8_lossy(&r.body).contains(SECRET)), "the secret was sent");
    for printed in [format!("{client:?}"), format!("{error:?}"), error.to_string()] {
        assert!(!printed.contains("SENTINEL"), "{printed}");
    }
}

/// A server that reads each request whole, counts it, then resets the connection (`SO_LINGER`
/// 0, so the client sees an RST rather than an orderly close) without answering.
fn resetting_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let arrived = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&arrived);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(&stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                counted.fetch_add(1, Ordering::SeqCst);
            }
            socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO)).unwrap();
        }
    });
    (addr, arrived)
}

#[test]
fn a_reset_after_the_request_arrived_is_never_called_never_sent() {
    let (addr, arrived) = resetting_server();
    let policy = RetryPolicy::default().max_retries(4).initial_backoff(Duration::from_millis(1));
    let client = Client::builder(config(&format!("http://{addr}"))).retry_policy(policy).build();
    let code = AuthorizationCode::new("sq0cgb-single-use");
    let exchange = ObtainToken::authorization_code(ClientId::new(CLIENT_ID), ClientSecret::new(SECRET), code);

    let error = client.obtain_token(&exchange).unwrap_err();

    assert!(matches!(error, Error::Transport { may_have_reached: true, .. }), "{error:?}");
    assert!(error.may_have_reached_square());
    assert_eq!(arrived.load(Ordering::SeqCst), 1, "the code exchange arrived once and was not sent again");
}
