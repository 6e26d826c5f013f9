//! What the adapter refuses to do: read past the size cap, wait past the timeout, follow a
//! redirect; and what it does quietly: reuse connections.

mod common;

#[allow(unused_imports)]
use square_oauth::{AsyncCalls as _, AsyncTransport as _};
use std::time::{Duration, Instant};

use common::*;
use square_oauth_hyper::square_oauth::{AccessToken, Config, ObtainToken, RetrieveTokenStatus, RetryPolicy};
use square_oauth_hyper::{Client, Error};
use square_oauth_mock::Fault;

fn status_call() -> RetrieveTokenStatus {
    RetrieveTokenStatus::new(AccessToken::new("EAAA-any-token"))
}

#[tokio::test]
async fn an_endless_chunked_body_is_cut_at_the_cap_while_streaming() {
    let server = RawServer::start(Answer::Endless).await;
    // A body read to its end first would never end: the timeout would fire instead.
    let client = builder(&server.base_url).timeout(Duration::from_secs(60)).build();

    let error = client.token_status(&status_call()).await.unwrap_err();

    assert!(matches!(error, Error::BodyTooLarge { limit: 1_048_576 }), "{error:?}");
}

#[tokio::test]
async fn the_cap_follows_the_configuration() {
    let server = RawServer::start(Answer::Endless).await;
    let config = Config::builder().base_url(&server.base_url).max_response_bytes(4096).build().unwrap();
    let client = Client::builder(config).retry_policy(quick_retries()).build();

    let error = client.token_status(&status_call()).await.unwrap_err();

    assert!(matches!(error, Error::BodyTooLarge { limit: 4096 }), "{error:?}");
}

#[tokio::test]
async fn an_announced_length_over_the_cap_is_refused_and_not_retried() {
    let square = square();
    let client = client(&square);
    let token = square.seed_personal_token(MERCHANT);
    square.fault("/oauth2/token/status", Fault::Oversize(2 * 1024 * 1024), 3);

    let error = client.token_status(&RetrieveTokenStatus::new(AccessToken::new(token))).await.unwrap_err();

    assert!(matches!(error, Error::BodyTooLarge { limit: 1_048_576 }), "{error:?}");
    assert_eq!(requests_to(&square, "/oauth2/token/status"), 1);
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let square = square();
    let client =
        builder(&square.base_url()).timeout(Duration::from_millis(200)).retry_policy(RetryPolicy::never()).build();
    square.fault("/oauth2/token/status", Fault::Delay(Duration::from_secs(10)), 1);

    let started = Instant::now();
    let error = client.token_status(&status_call()).await.unwrap_err();

    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(8), "the timeout fired before the answer came");
}

#[tokio::test]
async fn a_timeout_is_retried_for_a_safe_call_only() {
    let square = square();
    let client = builder(&square.base_url()).timeout(Duration::from_millis(300)).build();
    let token = square.seed_personal_token(MERCHANT);
    square.fault("/oauth2/token/status", Fault::Delay(Duration::from_secs(10)), 1);
    assert!(client.token_status(&RetrieveTokenStatus::new(AccessToken::new(token))).await.is_ok());
    assert_eq!(requests_to(&square, "/oauth2/token/status"), 2);

    let exchange = ObtainToken::authorization_code(client_id(), client_secret(), code(&square, None));
    square.fault("/oauth2/token", Fault::Delay(Duration::from_secs(10)), 1);
    assert!(matches!(client.obtain_token(&exchange).await, Err(Error::Timeout { .. })));
    assert_eq!(requests_to(&square, "/oauth2/token"), 1);
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let square = square();
    let client = client(&square);
    square.fault("/oauth2/token/status", Fault::Redirect("http://127.0.0.1:9/steal".into()), 3);

    let error = client.token_status(&status_call()).await.unwrap_err();

    assert!(matches!(error, Error::Redirect { status: Some(status) } if status == 302), "{error:?}");
    assert_eq!(error.status(), Some(http::StatusCode::FOUND));
    assert_eq!(square.requests().len(), 1, "one request, to the fake only");
}

#[tokio::test]
async fn sequential_requests_reuse_one_connection() {
    let server = RawServer::start(Answer::TokenStatus).await;
    let client = builder(&server.base_url).build();

    for _ in 0..20 {
        let status = client.token_status(&status_call()).await.unwrap();
        assert_eq!(status.merchant_id.unwrap().as_str(), MERCHANT);
    }

    // One, unless the pool had not yet taken a connection back when the next request left.
    assert!(server.accepted() <= 2, "{} connections for 20 requests", server.accepted());
}

#[tokio::test]
async fn clones_share_the_pool() {
    let server = RawServer::start(Answer::TokenStatus).await;
    let client = builder(&server.base_url).build();
    for _ in 0..5 {
        client.clone().token_status(&status_call()).await.unwrap();
    }
    assert!(server.accepted() <= 2, "{} connections for 5 requests", server.accepted());
}

#[tokio::test]
async fn concurrent_requests_from_spawned_tasks() {
    let server = RawServer::start(Answer::TokenStatus).await;
    let client = builder(&server.base_url).pool_max_idle_per_host(4).build();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.token_status(&status_call()).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
}

#[tokio::test]
async fn no_secret_in_errors_or_debug_output() {
    let unreachable = builder(&closed_port()).build();
    let revoke = square_oauth_hyper::square_oauth::RevokeToken::access_token(
        client_id(),
        client_secret(),
        AccessToken::new("EAAA-SENTINEL-access"),
    );
    let error = unreachable.revoke_token(&revoke).await.unwrap_err();
    for text in [format!("{error}"), format!("{error:?}"), chain(&error), format!("{unreachable:?}")] {
        assert!(!text.contains("SENTINEL"), "{text}");
    }

    let square = square();
    let client = client(&square);
    let exchange = ObtainToken::authorization_code(
        client_id(),
        square_oauth_hyper::square_oauth::ClientSecret::new("sq0csp-SENTINEL-wrong"),
        code(&square, None),
    );
    let error = client.obtain_token(&exchange).await.unwrap_err();
    assert_eq!(error.status(), Some(http::StatusCode::UNAUTHORIZED));
    for text in [format!("{error}"), format!("{error:?}"), chain(&error)] {
        assert!(!text.contains("SENTINEL"), "{text}");
    }
}

// Linux drops SYNs to a full accept queue; other systems may refuse them instead.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_connect_timeout_is_a_timeout() {
    // A listener whose accept queue is full and never drained: the kernel drops further SYNs,
    // so a new connection neither succeeds nor is refused.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..8 {
        match tokio::time::timeout(Duration::from_millis(100), tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => held.push(stream),
            _ => break,
        }
    }
    let client = builder(&format!("http://{addr}"))
        .connect_timeout(Duration::from_millis(200))
        .timeout(Duration::from_secs(20))
        .retry_policy(RetryPolicy::never())
        .build();

    let error = client.token_status(&status_call()).await.unwrap_err();

    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    drop((held, listener));
}
