//! The wasm adapter where a page cannot read all of Square's answer, and where the fake answers
//! as Square's specification says.
//!
//! `scripts/wasm-check` starts the fake with `--allow-origin '*'` and no `--expose-header`: a
//! page (headless Chromium) may read the answers, but not `Retry-After` or `Square-Version`,
//! which is the strictest CORS Square may have. Node enforces no CORS, so there the headers are
//! read. Either way the calls must come out right. The fake is started with the specific token
//! codes for `scenarios.rs`; the test here switches it to the specification's `UNAUTHORIZED`
//! through the control API and back.
#![cfg(target_arch = "wasm32")]

mod common;

use core::time::Duration;

use common::{CLIENT_ID, CLIENT_SECRET, config, control, in_a_page, tokens_with as tokens};
use serde_json::json;
use square_oauth::{ClientId, ClientSecret, ErrorCode, RetrieveTokenStatus, RetryPolicy, RevokeToken};
use square_oauth_wasm::{AsyncCalls as _, Client};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn a_retry_after_the_page_cannot_read_still_ends_in_the_right_answer() {
    control("clear-faults", Some(json!({}))).await;
    let quick = RetryPolicy::default().initial_backoff(Duration::from_millis(2)).max_backoff(Duration::from_secs(2));
    let client = Client::builder(config()).retry_policy(quick).timeout(Duration::from_secs(20)).build();
    let tokens = tokens(&client).await;

    // Retried after a 429 whose Retry-After may be hidden: the backoff stands in for it.
    control(
        "fault",
        Some(json!({"path": "/oauth2/token/status", "kind": "status", "status": 429, "retry_after": "1", "times": 1})),
    )
    .await;
    client
        .token_status(&RetrieveTokenStatus::new(tokens.access_token().clone()))
        .await
        .expect("the retry after the 429 succeeds");

    // Past the retries, the 429 itself comes back, typed, with or without its Retry-After.
    control(
        "fault",
        Some(json!({"path": "/oauth2/token/status", "kind": "status", "status": 429, "retry_after": "1", "times": 3})),
    )
    .await;
    let error = client.token_status(&RetrieveTokenStatus::new(tokens.access_token().clone())).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(429));
    assert!(error.has_code(&ErrorCode::RateLimited), "{error}");
    let square_oauth_wasm::Error::Core(core) = &error else { panic!("a refusal: {error:?}") };
    if in_a_page() {
        assert!(core.retry_after().is_none(), "the fake exposes no header to pages: {core:?}");
    } else {
        assert!(core.retry_after().is_some(), "Node reads every header: {core:?}");
    }
    control("clear-faults", Some(json!({}))).await;
}

#[wasm_bindgen_test]
async fn the_specification_s_unauthorized_for_a_revoked_token_is_handled() {
    let client = Client::builder(config()).retry_policy(RetryPolicy::never()).build();
    let tokens = tokens(&client).await;
    let revoke = RevokeToken::access_token(
        ClientId::new(CLIENT_ID),
        ClientSecret::new(CLIENT_SECRET),
        tokens.access_token().clone(),
    );
    assert!(client.revoke_token(&revoke).await.unwrap().revoked());

    let switched = control("behaviour", Some(json!({"specific_token_errors": false}))).await;
    assert_eq!(switched["specific_token_errors"], false);
    let error = client.token_status(&RetrieveTokenStatus::new(tokens.access_token().clone())).await.unwrap_err();
    // Back to what scenarios.rs expects before anything can fail.
    control("behaviour", Some(json!({"specific_token_errors": true}))).await;
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
    assert!(error.has_code(&ErrorCode::Unauthorized), "{error}");
    assert!(!error.has_code(&ErrorCode::AccessTokenRevoked), "{error}");

    // And with the specific code, as scenarios.rs runs.
    let error = client.token_status(&RetrieveTokenStatus::new(tokens.access_token().clone())).await.unwrap_err();
    assert!(error.has_code(&ErrorCode::AccessTokenRevoked), "{error}");
}
