//! When the adapter sends a request again, and when it must not: a single-use credential (a code
//! exchange, a PKCE refresh) goes again only if the request provably never left.

mod common;

#[allow(unused_imports)]
use square_oauth::{AsyncCalls as _, AsyncTransport as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use square_oauth_hyper::square_oauth::{
    AccessToken, CodeVerifier, ObtainToken, RefreshToken, RetrieveTokenStatus, RetryPolicy,
};
use square_oauth_hyper::{Client, Error};
use square_oauth_mock::Fault;

fn counting_client(base_url: &str, policy: RetryPolicy) -> (Client<Counting>, Arc<AtomicUsize>) {
    let (connector, calls) = Counting::new();
    let client = builder(base_url).retry_policy(policy).connector(connector).build();
    (client, calls)
}

#[tokio::test]
async fn connection_refused_is_retried_even_for_a_pkce_refresh() {
    let (client, calls) = counting_client(&closed_port(), quick_retries());
    let refresh = ObtainToken::pkce_refresh(client_id(), RefreshToken::new("EQAA-single-use-refresh"));

    let error = client.obtain_token(&refresh).await.unwrap_err();

    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 3, "one attempt and the policy's two retries");
}

#[tokio::test]
async fn retries_stop_at_the_policy_limit() {
    let (client, calls) = counting_client(&closed_port(), RetryPolicy::never());
    let status = RetrieveTokenStatus::new(AccessToken::new("EAAA-any"));
    assert!(matches!(client.token_status(&status).await, Err(Error::Transport { .. })));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_503_is_not_retried_for_a_code_exchange_and_the_code_survives() {
    let square = square();
    let client = client(&square);
    let code = code(&square, None);
    let exchange = ObtainToken::authorization_code(client_id(), client_secret(), code);
    square.fault("/oauth2/token", Fault::Status { status: 503, retry_after: None }, 1);

    let error = client.obtain_token(&exchange).await.unwrap_err();

    assert_eq!(error.status(), Some(http::StatusCode::SERVICE_UNAVAILABLE));
    assert!(matches!(error, Error::Core(_)), "{error:?}");
    assert_eq!(requests_to(&square, "/oauth2/token"), 1);
    // The fault answered instead of Square, so the caller can still spend the code once.
    assert!(client.obtain_token(&exchange).await.is_ok());
}

#[tokio::test]
async fn a_503_is_retried_for_a_safe_call() {
    let square = square();
    let client = client(&square);
    let token = square.seed_personal_token(MERCHANT);
    square.fault("/oauth2/token/status", Fault::Status { status: 503, retry_after: Some("0".into()) }, 2);

    let status = client.token_status(&RetrieveTokenStatus::new(AccessToken::new(token))).await.unwrap();

    assert_eq!(status.merchant_id.unwrap().as_str(), MERCHANT);
    assert_eq!(requests_to(&square, "/oauth2/token/status"), 3);
}

#[tokio::test]
async fn a_retry_after_date_is_read_with_the_clock() {
    let square = square();
    let client = client(&square);
    let token = square.seed_personal_token(MERCHANT);
    // A date in the past means "now".
    let retry_after = Some("Wed, 21 Oct 2015 07:28:00 GMT".to_owned());
    square.fault("/oauth2/token/status", Fault::Status { status: 429, retry_after }, 1);

    assert!(client.token_status(&RetrieveTokenStatus::new(AccessToken::new(token))).await.is_ok());
    assert_eq!(requests_to(&square, "/oauth2/token/status"), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_stops() {
    let square = square();
    let client = client(&square);
    let token = square.seed_personal_token(MERCHANT);
    square.fault("/oauth2/token/status", Fault::Status { status: 429, retry_after: Some("3600".into()) }, 1);

    let error = client.token_status(&RetrieveTokenStatus::new(AccessToken::new(token))).await.unwrap_err();

    assert_eq!(error.status(), Some(http::StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(requests_to(&square, "/oauth2/token/status"), 1);
}

#[tokio::test]
async fn a_reset_or_truncated_answer_is_retried_for_a_safe_call() {
    let square = square();
    let client = client(&square);
    let token = square.seed_personal_token(MERCHANT);
    square.fault("/oauth2/token/status", Fault::Reset, 1);
    square.fault("/oauth2/token/status", Fault::Truncate, 1);

    assert!(client.token_status(&RetrieveTokenStatus::new(AccessToken::new(token))).await.is_ok());
    assert_eq!(requests_to(&square, "/oauth2/token/status"), 3);
}

#[tokio::test]
async fn a_truncated_answer_is_not_retried_for_a_pkce_exchange() {
    let square = square();
    let client = client(&square);
    let verifier = CodeVerifier::from_entropy([3; 32]);
    let exchange = ObtainToken::pkce(client_id(), code(&square, Some(&verifier)), verifier);
    square.fault("/oauth2/token", Fault::Truncate, 1);

    let error = client.obtain_token(&exchange).await.unwrap_err();

    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(requests_to(&square, "/oauth2/token"), 1);
}

#[tokio::test]
async fn a_reset_is_not_retried_for_a_code_exchange() {
    let square = square();
    let client = client(&square);
    let exchange = ObtainToken::authorization_code(client_id(), client_secret(), code(&square, None));
    square.fault("/oauth2/token", Fault::Reset, 1);

    let error = client.obtain_token(&exchange).await.unwrap_err();

    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(requests_to(&square, "/oauth2/token"), 1);
}

#[tokio::test]
async fn an_html_502_from_a_proxy_is_retried_for_a_safe_call() {
    let square = square();
    let client = client(&square);
    let token = square.seed_personal_token(MERCHANT);
    square.fault("/oauth2/token/status", Fault::Html502, 1);

    assert!(client.token_status(&RetrieveTokenStatus::new(AccessToken::new(token))).await.is_ok());
    assert_eq!(requests_to(&square, "/oauth2/token/status"), 2);
}

#[tokio::test]
async fn an_invalid_input_is_refused_before_anything_is_sent() {
    let (client, calls) = counting_client(&closed_port(), quick_retries());
    let status = RetrieveTokenStatus::new(AccessToken::new(""));
    let error = client.token_status(&status).await.unwrap_err();
    assert!(matches!(error, Error::Core(square_oauth_hyper::square_oauth::Error::InvalidInput(_))), "{error:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
