//! The scenario suite's browser-sized share, through `fetch`, against the fake Square: the PKCE
//! flow with rotation, token status, revoke, Square's errors, scripted faults, the size cap and
//! the timeout.
//!
//! `scripts/wasm-check` starts `square-oauth-mock --control` with the application below and
//! passes its base URL at compile time in `SQUARE_MOCK_URL`; the same module then runs in Node
//! and in headless Chromium (`WASM_BINDGEN_USE_BROWSER=1`). Tests run one after another in one
//! module, and each takes a fresh authorization, so they share the fake without sharing state;
//! the fault tests clear the fake's fault queue before and after.
#![cfg(target_arch = "wasm32")]

use core::time::Duration;

use serde_json::{Value, json};
use square_oauth::{
    AccessToken, AuthorizationCode, AuthorizeUrl, ClientId, ClientSecret, CodeVerifier, Config, ErrorCode, Flow,
    ObtainToken, RefreshRules, RefreshToken, RetrieveTokenStatus, RetryPolicy, RevokeToken, Scope, TokenSet,
    parse_callback,
};
use square_oauth_wasm::{AsyncCalls as _, Client, Error, generate_state, generate_verifier, now};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

/// The application `scripts/wasm-check` registers with the fake.
const CLIENT_ID: &str = "sq0idp-WasmScenarios000001";
const CLIENT_SECRET: &str = "sq0csp-WasmScenarioSecret-sentinel-0001";
const REDIRECT_URI: &str = "http://127.0.0.1:9/wasm-callback";

/// The fake's base URL, from `scripts/wasm-check` at compile time.
const MOCK_URL: Option<&str> = option_env!("SQUARE_MOCK_URL");

fn base_url() -> &'static str {
    MOCK_URL.unwrap_or_else(|| {
        panic!(
            "SQUARE_MOCK_URL was not set when these tests were compiled: run scripts/wasm-check, which starts the fake"
        )
    })
}

fn config() -> Config {
    Config::custom(base_url()).expect("a loopback URL")
}

/// A client that fails fast: no retries unless a test asks, and a short backoff when it does.
fn client() -> Client {
    Client::builder(config()).retry_policy(RetryPolicy::never()).timeout(Duration::from_secs(20)).build()
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy::default().initial_backoff(Duration::from_millis(2)).max_backoff(Duration::from_secs(2))
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &web_sys::Request) -> js_sys::Promise;
}

/// Calls the fake's control API (`/__mock/…`); panics on anything but 200.
async fn control(path: &str, body: Option<Value>) -> Value {
    let init = web_sys::RequestInit::new();
    init.set_method(if body.is_some() { "POST" } else { "GET" });
    if let Some(body) = body {
        let headers = web_sys::Headers::new().unwrap();
        headers.append("content-type", "application/json").unwrap();
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body.to_string()));
    }
    let request = web_sys::Request::new_with_str_and_init(&format!("{}/__mock/{path}", base_url()), &init).unwrap();
    let response: web_sys::Response =
        JsFuture::from(global_fetch(&request)).await.expect("the fake's control API answers").unchecked_into();
    let text = JsFuture::from(response.text().unwrap()).await.unwrap().as_string().unwrap();
    assert_eq!(response.status(), 200, "/__mock/{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn fault(path: &str, mut fault: Value, times: u32) {
    fault["path"] = json!(path);
    fault["times"] = json!(times);
    control("fault", Some(fault)).await;
}

async fn clear_faults() {
    control("clear-faults", Some(json!({}))).await;
}

/// What the seller's browser does: the authorize URL, Allow on the consent page, the redirect.
/// Returns the code, checked against `state` the way an application must.
async fn authorize(verifier: &CodeVerifier) -> AuthorizationCode {
    let state = generate_state().unwrap();
    let url = AuthorizeUrl::new(ClientId::new(CLIENT_ID))
        .scopes([Scope::MerchantProfileRead, Scope::PaymentsRead])
        .state(&state)
        .code_challenge(&verifier.challenge())
        .redirect_uri(REDIRECT_URI)
        .build(&config())
        .unwrap();
    let approved = control("approve", Some(json!({"authorize_url": url}))).await;
    let redirect = approved["redirect_url"].as_str().unwrap();
    assert!(redirect.starts_with(REDIRECT_URI), "{redirect}");
    parse_callback(redirect, &state).expect("the redirect carries a code and our state")
}

fn exchange(code: AuthorizationCode, verifier: CodeVerifier) -> ObtainToken {
    ObtainToken::pkce(ClientId::new(CLIENT_ID), code, verifier).redirect_uri(REDIRECT_URI)
}

/// A fresh PKCE token set, through the whole flow.
async fn tokens() -> TokenSet {
    let verifier = generate_verifier().unwrap();
    let code = authorize(&verifier).await;
    let answer = client().obtain_token(&exchange(code, verifier)).await.unwrap();
    TokenSet::from_response(Flow::Pkce, ClientId::new(CLIENT_ID), answer, now()).unwrap()
}

fn square_code(error: &Error) -> Option<&ErrorCode> {
    error.square_errors().first().map(|e| &e.code)
}

/// A rule that makes every refresh due at once (the fake's clock, not JavaScript's, is the one a
/// test can move).
fn status_of(access_token: &AccessToken) -> RetrieveTokenStatus {
    RetrieveTokenStatus::new(access_token.clone())
}

fn due_now() -> RefreshRules {
    RefreshRules { refresh_after: square_oauth::jiff::SignedDuration::ZERO, ..RefreshRules::default() }
}

// ---- the PKCE flow --------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn full_pkce_flow_with_rotation() {
    let client = client();
    let mut tokens = tokens().await;
    assert_eq!(tokens.flow(), Flow::Pkce);
    assert!(tokens.access_token().expose_secret().starts_with("EAAA"));
    assert!(tokens.refresh_token_expires_at().is_some(), "PKCE refresh tokens expire");
    assert!(!tokens.is_expired(now()));

    // Nothing is due by Square's 7 days...
    assert!(!client.refresh_if_due(&mut tokens, None, &RefreshRules::default()).await.unwrap());
    // ...and with a rule that says now, the refresh rotates the refresh token.
    let spent = tokens.refresh_token().unwrap().expose_secret().to_owned();
    let old_access = tokens.access_token().expose_secret().to_owned();
    assert!(client.refresh_if_due(&mut tokens, None, &due_now()).await.unwrap());
    let fresh = tokens.refresh_token().unwrap().expose_secret().to_owned();
    assert_ne!(fresh, spent, "PKCE refresh tokens are single-use and rotated");
    assert_ne!(tokens.access_token().expose_secret(), old_access);

    // The spent refresh token is dead.
    let replay = ObtainToken::pkce_refresh(ClientId::new(CLIENT_ID), RefreshToken::new(spent));
    let error = client.obtain_token(&replay).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(square_code(&error), Some(&ErrorCode::Unauthorized));

    // The new access token works.
    let status = client.token_status(&status_of(tokens.access_token())).await.unwrap();
    assert_eq!(status.merchant_id.as_ref(), Some(tokens.merchant_id()));
    assert_eq!(status.client_id.as_ref().map(ClientId::as_str), Some(CLIENT_ID));
}

#[wasm_bindgen_test]
async fn verifier_and_state_come_from_web_crypto() {
    let a = generate_verifier().unwrap();
    let b = generate_verifier().unwrap();
    assert_eq!(a.expose_secret().len(), 43);
    assert_ne!(a.expose_secret(), b.expose_secret());
    assert_ne!(generate_state().unwrap().expose_secret(), generate_state().unwrap().expose_secret());
    // JavaScript's clock, within a day of the fake's.
    let fake_now: square_oauth::jiff::Timestamp = control("now", None).await["now"].as_str().unwrap().parse().unwrap();
    assert!(fake_now >= now() - square_oauth::jiff::SignedDuration::from_secs(5));
}

#[wasm_bindgen_test]
async fn forged_or_denied_redirect() {
    let verifier = generate_verifier().unwrap();
    let state = generate_state().unwrap();
    let url = AuthorizeUrl::new(ClientId::new(CLIENT_ID))
        .state(&state)
        .code_challenge(&verifier.challenge())
        .build(&config())
        .unwrap();
    let redirect = control("approve", Some(json!({"authorize_url": url}))).await;
    let other = generate_state().unwrap();
    let refused = parse_callback(redirect["redirect_url"].as_str().unwrap(), &other).unwrap_err();
    assert!(matches!(refused, square_oauth::Error::Callback(square_oauth::CallbackError::StateMismatch)));
    let denied = control("deny", Some(json!({"authorize_url": url}))).await;
    let denied = parse_callback(denied["redirect_url"].as_str().unwrap(), &state).unwrap_err();
    assert!(matches!(denied, square_oauth::Error::Callback(square_oauth::CallbackError::Denied { .. })));
}

// ---- status and revoke ----------------------------------------------------------------------

#[wasm_bindgen_test]
async fn token_status() {
    let tokens = tokens().await;
    let status = client().token_status(&status_of(tokens.access_token())).await.unwrap();
    let scopes = status.scopes.unwrap();
    assert!(scopes.contains(&Scope::MerchantProfileRead) && scopes.contains(&Scope::PaymentsRead), "{scopes:?}");
    assert_eq!(status.expires_at, tokens.expires_at());
}

#[wasm_bindgen_test]
async fn revoke_access_token() {
    let client = client();
    let tokens = tokens().await;
    let revoke = RevokeToken::access_token(
        ClientId::new(CLIENT_ID),
        ClientSecret::new(CLIENT_SECRET),
        tokens.access_token().clone(),
    );
    let answer = client.revoke_token(&revoke).await.unwrap();
    assert_eq!(answer.success, Some(true));
    let error = client.token_status(&status_of(tokens.access_token())).await.unwrap_err();
    assert_eq!(square_code(&error), Some(&ErrorCode::AccessTokenRevoked));
    // The whole authorization went with it: the refresh token too.
    let mut tokens = tokens;
    let error = client.refresh_if_due(&mut tokens, None, &due_now()).await.unwrap_err();
    assert_eq!(square_code(&error), Some(&ErrorCode::Unauthorized));
}

#[wasm_bindgen_test]
async fn revoke_by_merchant() {
    let client = client();
    let tokens = tokens().await;
    let revoke =
        RevokeToken::merchant(ClientId::new(CLIENT_ID), ClientSecret::new(CLIENT_SECRET), tokens.merchant_id().clone());
    assert_eq!(client.revoke_token(&revoke).await.unwrap().success, Some(true));
    let error = client.token_status(&status_of(tokens.access_token())).await.unwrap_err();
    assert!(error.has_code(&ErrorCode::AccessTokenRevoked), "{error}");
}

#[wasm_bindgen_test]
async fn revoke_only_access_token() {
    let client = client();
    let mut tokens = tokens().await;
    let revoke = RevokeToken::access_token(
        ClientId::new(CLIENT_ID),
        ClientSecret::new(CLIENT_SECRET),
        tokens.access_token().clone(),
    )
    .revoke_only_access_token(true);
    client.revoke_token(&revoke).await.unwrap();
    assert!(client.refresh_if_due(&mut tokens, None, &due_now()).await.unwrap());
    client.token_status(&status_of(tokens.access_token())).await.unwrap();
}

// ---- Square's errors ------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn reused_code_and_wrong_verifier() {
    let client = client();
    let verifier = generate_verifier().unwrap();
    let code = authorize(&verifier).await;
    let wrong = generate_verifier().unwrap();
    let error = client.obtain_token(&exchange(code.clone(), wrong)).await.unwrap_err();
    assert_eq!(square_code(&error), Some(&ErrorCode::Unauthorized), "{error}");
    // A failed exchange does not spend the code; a successful one does.
    client.obtain_token(&exchange(code.clone(), verifier.clone())).await.unwrap();
    let error = client.obtain_token(&exchange(code, verifier)).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(square_code(&error), Some(&ErrorCode::Unauthorized));
}

#[wasm_bindgen_test]
async fn bad_client_secret_and_expired_token() {
    let client = client();
    let tokens = tokens().await;
    let sentinel = "sq0csp-SENTINEL-wrong-secret-must-not-leak";
    let revoke =
        RevokeToken::access_token(ClientId::new(CLIENT_ID), ClientSecret::new(sentinel), tokens.access_token().clone());
    let error = client.revoke_token(&revoke).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(square_code(&error), Some(&ErrorCode::Unauthorized));
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(sentinel) && !shown.contains(tokens.access_token().expose_secret()), "{shown}");

    // 31 days later on the fake's clock, the access token has expired.
    control("advance", Some(json!({"seconds": 31 * 86_400}))).await;
    let error = client.token_status(&status_of(tokens.access_token())).await.unwrap_err();
    assert!(error.has_code(&ErrorCode::AccessTokenExpired), "{error}");
}

#[wasm_bindgen_test]
async fn unknown_token() {
    let error = client().token_status(&status_of(&AccessToken::new("EAAAnot-a-token-of-the-fake"))).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
    assert!(error.has_code(&ErrorCode::Unauthorized));
    assert!(matches!(error, Error::Core(square_oauth::Error::Square(_))));
}

// ---- faults and retries ---------------------------------------------------------------------

#[wasm_bindgen_test]
async fn rate_limited_retry_after_is_honoured() {
    clear_faults().await;
    let tokens = tokens().await;
    let client = Client::builder(config()).retry_policy(quick_retries()).build();
    fault("/oauth2/token/status", json!({"kind": "status", "status": 503}), 1).await;
    fault("/oauth2/token/status", json!({"kind": "status", "status": 429, "retry_after": "1"}), 1).await;
    // Two failures, two retries (one after Retry-After's second, slept with setTimeout), then Square's answer.
    client.token_status(&status_of(tokens.access_token())).await.unwrap();

    // Past the policy's retries, the last answer comes back.
    fault("/oauth2/token/status", json!({"kind": "status", "status": 503, "retry_after": "0"}), 3).await;
    let error = client.token_status(&status_of(tokens.access_token())).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert!(error.has_code(&ErrorCode::ServiceUnavailable));
    clear_faults().await;
}

#[wasm_bindgen_test]
async fn unavailable_not_retried_for_code_exchange_or_pkce_refresh() {
    clear_faults().await;
    let client = Client::builder(config()).retry_policy(quick_retries()).build();
    let verifier = generate_verifier().unwrap();
    let code = authorize(&verifier).await;
    fault("/oauth2/token", json!({"kind": "status", "status": 503, "retry_after": "0"}), 1).await;
    // One attempt only: a retry would have found the fake healthy and succeeded.
    let error = client.obtain_token(&exchange(code.clone(), verifier.clone())).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    // The faulted request was not acted on, so the code is still good.
    let answer = client.obtain_token(&exchange(code, verifier)).await.unwrap();

    // A PKCE refresh spends its refresh token: not retried either.
    let mut tokens = TokenSet::from_response(Flow::Pkce, ClientId::new(CLIENT_ID), answer, now()).unwrap();
    fault("/oauth2/token", json!({"kind": "status", "status": 503, "retry_after": "0"}), 1).await;
    let error = client.refresh_if_due(&mut tokens, None, &due_now()).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert!(client.refresh_if_due(&mut tokens, None, &due_now()).await.unwrap());
    clear_faults().await;
}

#[wasm_bindgen_test]
async fn expired_code() {
    let verifier = generate_verifier().unwrap();
    let code = authorize(&verifier).await;
    // Codes last 5 minutes on the fake's clock.
    control("advance", Some(json!({"seconds": 301}))).await;
    let error = client().obtain_token(&exchange(code, verifier)).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
    assert!(error.has_code(&ErrorCode::Unauthorized), "{error}");
}

#[wasm_bindgen_test]
async fn reset_connection() {
    clear_faults().await;
    let tokens = tokens().await;
    // Two resets: Chromium itself sends a request once more when a kept-alive connection closes
    // before any byte of the answer (POST included), below anything `fetch` lets a page control.
    fault("/oauth2/token/status", json!({"kind": "reset"}), 2).await;
    let error = client().token_status(&status_of(tokens.access_token())).await.unwrap_err();
    let Error::Transport { source, may_have_reached: true } = &error else {
        panic!("expected a transport error that may have reached Square, got {error:?}")
    };
    let message = source.to_string();
    assert!(!message.is_empty());
    assert!(!format!("{error:?}").contains(tokens.access_token().expose_secret()));
    clear_faults().await;

    fault("/oauth2/token/status", json!({"kind": "reset"}), 1).await;
    let retrying = Client::builder(config()).retry_policy(quick_retries()).build();
    retrying.token_status(&status_of(tokens.access_token())).await.unwrap();
    clear_faults().await;
}

#[wasm_bindgen_test]
async fn truncated_body() {
    clear_faults().await;
    let mut tokens = tokens().await;
    let before = tokens.refresh_token().unwrap().expose_secret().to_owned();
    fault("/oauth2/token", json!({"kind": "truncate"}), 1).await;
    let retrying = Client::builder(config()).retry_policy(quick_retries()).build();
    let error = retrying.refresh_if_due(&mut tokens, None, &due_now()).await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    // The set is unchanged, and the fake did spend the token: exactly why it is not replayed.
    assert_eq!(tokens.refresh_token().unwrap().expose_secret(), before);
    let error = retrying.refresh_if_due(&mut tokens, None, &due_now()).await.unwrap_err();
    assert!(error.has_code(&ErrorCode::Unauthorized), "{error:?}");
    clear_faults().await;
}

#[wasm_bindgen_test]
async fn html_502() {
    clear_faults().await;
    fault("/oauth2/token/status", json!({"kind": "html502"}), 1).await;
    let error = client().token_status(&status_of(&AccessToken::new("EAAAwhatever"))).await.unwrap_err();
    let Error::Core(square_oauth::Error::UnexpectedResponse(unexpected)) = &error else {
        panic!("expected an unexpected answer, got {error:?}")
    };
    assert_eq!(unexpected.status.as_u16(), 502);
    assert_eq!(unexpected.kind, square_oauth::UnexpectedKind::NotJson);
    clear_faults().await;
}

#[wasm_bindgen_test]
async fn redirect_not_followed() {
    clear_faults().await;
    let target = format!("{}/oauth2/token/status", base_url());
    fault("/oauth2/revoke", json!({"kind": "redirect", "location": target}), 1).await;
    control("clear-requests", Some(json!({}))).await;
    let revoke = RevokeToken::access_token(
        ClientId::new(CLIENT_ID),
        ClientSecret::new(CLIENT_SECRET),
        AccessToken::new("EAAAredirected"),
    );
    let error = client().revoke_token(&revoke).await.unwrap_err();
    assert!(matches!(error, Error::Redirect { .. }), "{error:?}");
    let log = control("requests", None).await;
    let paths: Vec<&str> = log.as_array().unwrap().iter().filter_map(|r| r["path"].as_str()).collect();
    assert!(!paths.contains(&"/oauth2/token/status"), "the redirect was followed: {paths:?}");
    clear_faults().await;
}

// ---- the cap and the timeout ----------------------------------------------------------------

#[wasm_bindgen_test]
async fn oversize_body_stopped_at_cap() {
    clear_faults().await;
    let capped = Config::builder().base_url(base_url()).max_response_bytes(4096).build().unwrap();
    let client = Client::builder(capped).retry_policy(RetryPolicy::never()).build();
    fault("/oauth2/token/status", json!({"kind": "oversize", "bytes": 100_000}), 1).await;
    let error = client.token_status(&status_of(&AccessToken::new("EAAAwhatever"))).await.unwrap_err();
    assert!(matches!(error, Error::BodyTooLarge { limit: 4096 }), "{error:?}");
    // An answer under the cap is read and parsed as usual (the fake's filler parses as an
    // answer with no known field).
    fault("/oauth2/token/status", json!({"kind": "oversize", "bytes": 4000}), 1).await;
    let read = client.token_status(&status_of(&AccessToken::new("EAAAwhatever"))).await;
    assert!(read.is_ok(), "{read:?}");
    clear_faults().await;
}

#[wasm_bindgen_test]
async fn stall_ends_in_timeout() {
    clear_faults().await;
    fault("/oauth2/token/status", json!({"kind": "delay", "millis": 3000}), 1).await;
    let client =
        Client::builder(config()).retry_policy(RetryPolicy::never()).timeout(Duration::from_millis(200)).build();
    let error = client.token_status(&status_of(&AccessToken::new("EAAAwhatever"))).await.unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    clear_faults().await;
}

#[wasm_bindgen_test]
async fn nobody_listening() {
    // Port 9 (discard) on loopback: nothing listens there in the test environment.
    let client =
        Client::builder(Config::custom("http://127.0.0.1:9").unwrap()).retry_policy(RetryPolicy::never()).build();
    let error = client.token_status(&status_of(&AccessToken::new("EAAAwhatever"))).await.unwrap_err();
    let Error::Transport { source, may_have_reached: true } = &error else {
        panic!("expected a transport error that may have reached Square, got {error:?}")
    };
    let message = source.to_string();
    assert!(message.contains("TypeError"), "{message}");
}

#[wasm_bindgen_test]
async fn invalid_input_is_never_sent() {
    let error =
        client().obtain_token(&ObtainToken::pkce_refresh(ClientId::new(""), RefreshToken::new("x"))).await.unwrap_err();
    assert!(matches!(error, Error::Core(square_oauth::Error::InvalidInput(_))), "{error:?}");
}
