//! Every scenario through `square-oauth-reqwest` (async over an application's own `reqwest::Client`, on a
//! tokio runtime).

square_oauth_tests::scenarios!(square_oauth_tests::ReqwestDriver);

/// An application's own `reqwest::Client` under the adapter: a redirect it followed is told from
/// Square's own answer by the whole URL as reqwest read it (not by its host and path as
/// written), and its default headers stay out of the adapter's `Debug`.
mod own_client {
    use square_oauth::{AccessToken, CallError, Config, RetrieveTokenStatus};
    use square_oauth_mock::Fault;
    use square_oauth_reqwest::{AsyncCalls as _, Client, reqwest, rustls};
    use square_oauth_tests::fixture::STATUS;
    use square_oauth_tests::{Fixture, ReqwestDriver};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
    }

    /// rustls with ring, as an application builds its client (reqwest here has no provider of
    /// its own).
    fn ring_tls() -> rustls::ClientConfig {
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring's protocol versions")
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth()
    }

    fn access(fixture: &Fixture) -> AccessToken {
        let driver: ReqwestDriver = fixture.driver();
        fixture.code_flow_tokens(&driver).access_token.expect("an access token")
    }

    /// `LOCALHOST` is read by reqwest as `localhost`: still Square's (the fake's) own answer.
    #[test]
    fn a_base_url_reqwest_normalises_is_not_taken_for_a_redirect() {
        let fixture = Fixture::start();
        let access = access(&fixture);
        let base = fixture.mock.base_url().replace("127.0.0.1", "LOCALHOST");
        let client = Client::new(Config::custom(&base).expect("a loopback base URL")).expect("a client");
        let status = runtime().block_on(client.token_status(&RetrieveTokenStatus::new(access)));
        assert!(status.is_ok(), "{status:?}");
    }

    /// An application's client that follows redirects (reqwest's default), sent back to the same
    /// host and path with a query: the answer that comes is not Square's answer to the request.
    #[test]
    fn a_redirect_the_applications_client_followed_to_the_same_path_is_reported() {
        let fixture = Fixture::start();
        let access = access(&fixture);
        let tls = ring_tls();
        // No `.redirect(..)`: reqwest's default follows up to 10.
        let following = reqwest::Client::builder().no_proxy().tls_backend_preconfigured(tls).build().expect("a client");
        let client = Client::with_client(following, fixture.config()).expect("a client");
        fixture.mock.fault(STATUS, Fault::Redirect(format!("{}{STATUS}?again=1", fixture.mock.base_url())), 1);
        let status = runtime().block_on(client.token_status(&RetrieveTokenStatus::new(access)));
        assert!(matches!(status, Err(CallError::Redirect { .. })), "{status:?}");
    }

    #[test]
    fn the_applications_default_headers_stay_out_of_debug() {
        let fixture = Fixture::start();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("authorization", reqwest::header::HeaderValue::from_static("Bearer EAAAdefaultheadersecret"));
        let tls = ring_tls();
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .tls_backend_preconfigured(tls)
            .build()
            .expect("a client");
        assert!(format!("{http:?}").contains("EAAAdefaultheadersecret"), "reqwest's own Debug prints it");
        let client = Client::with_client(http, fixture.config()).expect("a client");
        let debug = format!("{client:?}");
        assert!(!debug.contains("EAAAdefaultheadersecret"), "{debug}");
        assert!(debug.contains("Client"), "{debug}");
    }
}

/// The adapter's own client bounds the whole connection (name lookup, TCP, TLS handshake) with
/// its connect timeout: a handshake that never ends is reported as not sent, not as a request
/// that may have reached Square.
#[test]
fn a_handshake_that_never_ends_is_not_sent_with_the_adapters_own_client() {
    use square_oauth::{AuthorizationCode, CallError, ClientId, ClientSecret, Config, ObtainToken, RetryPolicy};
    use square_oauth_reqwest::{AsyncCalls as _, Client};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepted and held open, never answered.
    let held = std::thread::spawn(move || listener.accept().map(|(stream, _)| stream));
    let client = Client::new(Config::custom(&format!("https://127.0.0.1:{port}")).unwrap())
        .unwrap()
        .retry_policy(RetryPolicy::never());
    let exchange = ObtainToken::authorization_code(
        ClientId::new("sq0idp-reqwest-handshake"),
        ClientSecret::new("sq0csp-never-sent"),
        AuthorizationCode::new("sq0cgb-never-sent"),
    );
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let started = std::time::Instant::now();
    let error = runtime.block_on(client.obtain_token(&exchange)).unwrap_err();
    assert!(matches!(error, CallError::Timeout { may_have_reached: false }), "{error:?}");
    // The connect timeout ended it, not the whole-request one (30 s).
    assert!(started.elapsed() < square_oauth_reqwest::DEFAULT_TIMEOUT, "{:?}", started.elapsed());
    drop(held);
}
