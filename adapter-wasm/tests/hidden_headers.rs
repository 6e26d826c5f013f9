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

use core::time::Duration;

use serde_json::{Value, json};
use square_oauth::{
    AuthorizeUrl, ClientId, ClientSecret, CodeVerifier, Config, ErrorCode, Flow, ObtainToken, RetrieveTokenStatus,
    RetryPolicy, RevokeToken, Scope, TokenSet, parse_callback,
};
use square_oauth_wasm::{AsyncCalls as _, Client, generate_state, generate_verifier, now};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

/// The application `scripts/wasm-check` registers with the fake.
const CLIENT_ID: &str = "sq0idp-WasmScenarios000001";
const CLIENT_SECRET: &str = "sq0csp-WasmScenarioSecret-sentinel-0001";
const REDIRECT_URI: &str = "http://127.0.0.1:9/wasm-callback";

const MOCK_URL: Option<&str> = option_env!("SQUARE_MOCK_URL");

fn base_url() -> &'static str {
    MOCK_URL.unwrap_or_else(|| panic!("SQUARE_MOCK_URL was not set at compile time: run scripts/wasm-check"))
}

fn config() -> Config {
    Config::custom(base_url()).expect("a loopback URL")
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &web_sys::Request) -> js_sys::Promise;
}

/// Whether this runs in a browser page (CORS applies) rather than Node (it does not).
fn in_a_page() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("document")).unwrap_or(false)
}

async fn control(path: &str, body: Value) -> Value {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let headers = web_sys::Headers::new().unwrap();
    headers.append("content-type", "application/json").unwrap();
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&body.to_string()));
    let request = web_sys::Request::new_with_str_and_init(&format!("{}/__mock/{path}", base_url()), &init).unwrap();
    let response: web_sys::Response =
        JsFuture::from(global_fetch(&request)).await.expect("the fake's control API answers").unchecked_into();
    let text = JsFuture::from(response.text().unwrap()).await.unwrap().as_string().unwrap();
    assert_eq!(response.status(), 200, "/__mock/{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn tokens(client: &Client) -> TokenSet {
    let verifier: CodeVerifier = generate_verifier().unwrap();
    let state = generate_state().unwrap();
    let url = AuthorizeUrl::new(ClientId::new(CLIENT_ID))
        .scopes([Scope::MerchantProfileRead])
        .state(&state)
        .code_challenge(&verifier.challenge())
        .redirect_uri(REDIRECT_URI)
        .build(&config())
        .unwrap();
    let approved = control("approve", json!({"authorize_url": url})).await;
    let code = parse_callback(approved["redirect_url"].as_str().unwrap(), &state).unwrap();
    let exchange = ObtainToken::pkce(ClientId::new(CLIENT_ID), code, verifier).redirect_uri(REDIRECT_URI);
    let answer = client.obtain_token(&exchange).await.unwrap();
    TokenSet::from_response(Flow::Pkce, ClientId::new(CLIENT_ID), answer, now()).unwrap()
}

#[wasm_bindgen_test]
async fn a_retry_after_the_page_cannot_read_still_ends_in_the_right_answer() {
    control("clear-faults", json!({})).await;
    let quick = RetryPolicy::default().initial_backoff(Duration::from_millis(2)).max_backoff(Duration::from_secs(2));
    let client = Client::builder(config()).retry_policy(quick).timeout(Duration::from_secs(20)).build();
    let tokens = tokens(&client).await;

    // Retried after a 429 whose Retry-After may be hidden: the backoff stands in for it.
    control(
        "fault",
        json!({"path": "/oauth2/token/status", "kind": "status", "status": 429, "retry_after": "1", "times": 1}),
    )
    .await;
    client
        .token_status(&RetrieveTokenStatus::new(tokens.access_token().clone()))
        .await
        .expect("the retry after the 429 succeeds");

    // Past the retries, the 429 itself comes back, typed, with or without its Retry-After.
    control(
        "fault",
        json!({"path": "/oauth2/token/status", "kind": "status", "status": 429, "retry_after": "1", "times": 3}),
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
    control("clear-faults", json!({})).await;
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

    let switched = control("behaviour", json!({"specific_token_errors": false})).await;
    assert_eq!(switched["specific_token_errors"], false);
    let error = client.token_status(&RetrieveTokenStatus::new(tokens.access_token().clone())).await.unwrap_err();
    // Back to what scenarios.rs expects before anything can fail.
    control("behaviour", json!({"specific_token_errors": true})).await;
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
    assert!(error.has_code(&ErrorCode::Unauthorized), "{error}");
    assert!(!error.has_code(&ErrorCode::AccessTokenRevoked), "{error}");

    // And with the specific code, as scenarios.rs runs.
    let error = client.token_status(&RetrieveTokenStatus::new(tokens.access_token().clone())).await.unwrap_err();
    assert!(error.has_code(&ErrorCode::AccessTokenRevoked), "{error}");
}
