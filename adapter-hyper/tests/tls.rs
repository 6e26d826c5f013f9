//! TLS: a private CA trusted through `tls_config`, and refused (without retry) by default.

mod common;

#[allow(unused_imports)]
use square_oauth::{AsyncCalls as _, AsyncTransport as _};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::*;
use square_oauth_hyper::square_oauth::{AccessToken, Config, RetrieveTokenStatus};
use square_oauth_hyper::{Client, Error, hyper_rustls, rustls};
use square_oauth_mock::MockSquare;

/// The fake Square over https with a fresh self-signed certificate for 127.0.0.1; and that
/// certificate, to trust.
fn square_over_tls() -> (MockSquare, rustls::pki_types::CertificateDer<'static>) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let square = MockSquare::start(mock_config().tls(&certified.cert.pem(), &certified.signing_key.serialize_pem()))
        .expect("the fake Square starts with TLS");
    (square, certified.cert.der().clone())
}

fn trusting(certificate: rustls::pki_types::CertificateDer<'static>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certificate).unwrap();
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[tokio::test]
async fn https_to_a_private_ca_trusted_through_tls_config() {
    let (square, certificate) = square_over_tls();
    assert!(square.base_url().starts_with("https://"));
    let token = square.seed_personal_token(MERCHANT);
    let client = builder(&square.base_url()).tls_config(trusting(certificate)).build();

    let status = client.token_status(&RetrieveTokenStatus::new(AccessToken::new(token))).await.unwrap();

    assert_eq!(status.merchant_id.unwrap().as_str(), MERCHANT);
    assert_eq!(requests_to(&square, "/oauth2/token/status"), 1);
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_before_sending() {
    let (square, _) = square_over_tls();
    // Webpki roots, ring: the defaults.
    let client = Client::builder(Config::custom(&square.base_url()).unwrap()).retry_policy(quick_retries()).build();

    let error = client.token_status(&RetrieveTokenStatus::new(AccessToken::new("EAAA-any"))).await.unwrap_err();

    assert!(matches!(error, Error::CertificateRefused { .. }), "{error:?}");
    assert!(!error.may_have_reached_square());
    assert!(chain(&error).contains("certificate"), "{}", chain(&error));
    assert!(square.requests().is_empty(), "nothing reached the fake");
}

#[tokio::test]
async fn a_refused_certificate_is_not_retried() {
    let (square, _) = square_over_tls();
    let (tcp, connections) = Counting::new();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))
        .unwrap()
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    let client = builder(&square.base_url()).connector(https).build();

    let error = client.token_status(&RetrieveTokenStatus::new(AccessToken::new("EAAA-any"))).await.unwrap_err();

    assert!(matches!(error, Error::CertificateRefused { .. }), "{error:?}");
    assert!(!error.may_have_reached_square());
    assert_eq!(connections.load(Ordering::SeqCst), 1, "a certificate does not become valid on a second try");
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let certified = rcgen::generate_simple_self_signed(vec!["square.example".to_owned()]).unwrap();
    let square =
        MockSquare::start(mock_config().tls(&certified.cert.pem(), &certified.signing_key.serialize_pem())).unwrap();
    let client = builder(&square.base_url()).tls_config(trusting(certified.cert.der().clone())).build();

    let error = client.token_status(&RetrieveTokenStatus::new(AccessToken::new("EAAA-any"))).await.unwrap_err();

    assert!(matches!(error, Error::CertificateRefused { .. }), "{error:?}");
    assert!(!error.may_have_reached_square());
    assert!(square.requests().is_empty());
}

/// A server that takes connections and never answers the TLS handshake. hyper's connect timeout
/// covers TCP alone, so the whole-request timeout fires first; nothing was written, so the
/// attempt reads "not sent", and even a code exchange is tried again.
#[tokio::test]
async fn a_handshake_that_never_ends_times_out_as_not_sent() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counting = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            counting.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    let client = Client::builder(Config::custom(&format!("https://127.0.0.1:{port}")).unwrap())
        .timeout(std::time::Duration::from_millis(300))
        .retry_policy(quick_retries().max_retries(1))
        .build();

    let exchange = square_oauth_hyper::square_oauth::ObtainToken::authorization_code(
        client_id(),
        client_secret(),
        square_oauth_hyper::square_oauth::AuthorizationCode::new("sq0cgb-never-sent"),
    );
    let error = client.obtain_token(&exchange).await.unwrap_err();

    assert!(matches!(error, Error::Timeout { may_have_reached: false }), "{error:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "tried again: the first attempt never sent the code");
}
