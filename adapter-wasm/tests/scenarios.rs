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

mod common;

use core::time::Duration;

use common::{
    CLIENT_ID, CLIENT_SECRET, authorize, base_url, clear_faults, clear_requests, config, control, exchange, fault,
    in_a_page, requests_to, tokens_with,
};
use serde_json::json;
use square_oauth::{
    AccessToken, AuthorizeUrl, ClientId, ClientSecret, Config, ErrorCode, Flow, ObtainToken, RefreshRules,
    RefreshToken, RetrieveTokenStatus, RetryPolicy, RevokeToken, Scope, TokenSet, parse_callback,
};
use square_oauth_wasm::{AsyncCalls as _, Client, Error, generate_state, generate_verifier, now};
use wasm_bindgen_test::wasm_bindgen_test;

/// A client that fails fast: no retries unless a test asks, and a short backoff when it does.
fn client() -> Client {
    Client::builder(config()).retry_policy(RetryPolicy::never()).timeout(Duration::from_secs(20)).build()
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy::default().initial_backoff(Duration::from_millis(2)).max_backoff(Duration::from_secs(2))
}

/// A fresh PKCE token set, through the whole flow.
async fn tokens() -> TokenSet {
    tokens_with(&client()).await
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `performance.now()` (pages, workers and Node alike): a monotonic clock in milliseconds,
    /// for how long a call took, where `Date.now()` would move with a step of the wall clock.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn millis_now() -> f64;
}

/// When a logged request arrived at the fake, on its monotonic clock (milliseconds since it
/// started): a step of the wall clock between two requests cannot shift their difference.
fn arrived_ms(request: &serde_json::Value) -> f64 {
    request["elapsed_ms"].as_f64().expect("the fake logs each request's arrival")
}

/// When a logged request arrived at the fake, on the machine's wall clock.
fn arrived_at(request: &serde_json::Value) -> square_oauth::jiff::Timestamp {
    let millis = request["at_ms"].as_i64().expect("the fake logs each request's arrival");
    square_oauth::jiff::Timestamp::from_millisecond(millis).expect("a time jiff can hold")
}

fn square_code(error: &Error) -> Option<&ErrorCode> {
    error.square_errors().first().map(|e| &e.code)
}

fn status_of(access_token: &AccessToken) -> RetrieveTokenStatus {
    RetrieveTokenStatus::new(access_token.clone())
}

/// A rule that makes every refresh due at once (the fake's clock, not JavaScript's, is the one a
/// test can move).
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

    // The adapter's clock (`Date.now()`) is the machine's: within a minute of when the fake, on
    // the same machine, logged an exchange, not stuck at the epoch or far off.
    clear_requests().await;
    let tokens = tokens().await;
    let exchanged = requests_to("/oauth2/token").await;
    let arrived = arrived_at(&exchanged[0]);
    let drift = (now() - arrived).abs();
    assert!(
        drift < square_oauth::jiff::SignedDuration::from_secs(60),
        "now() is {} but the fake says {arrived}",
        now()
    );
    assert!(!tokens.is_expired(now()));
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
    // Backoffs long enough to tell apart from `Retry-After: 1`: 200-400 ms after the first
    // failure, 400-800 ms after the second.
    let policy = RetryPolicy::default().initial_backoff(Duration::from_millis(400)).max_backoff(Duration::from_secs(2));
    let client = Client::builder(config()).retry_policy(policy).build();
    fault("/oauth2/token/status", json!({"kind": "status", "status": 503}), 1).await;
    fault("/oauth2/token/status", json!({"kind": "status", "status": 429, "retry_after": "1"}), 1).await;
    clear_requests().await;
    // Two failures, two retries (slept with setTimeout), then Square's answer.
    client.token_status(&status_of(tokens.access_token())).await.unwrap();
    let arrived = requests_to("/oauth2/token/status").await;
    assert_eq!(arrived.len(), 3, "a 503, a 429, the answer");
    let after_503 = arrived_ms(&arrived[1]) - arrived_ms(&arrived[0]);
    let after_429 = arrived_ms(&arrived[2]) - arrived_ms(&arrived[1]);
    assert!(after_503 >= 200.0, "the backoff after the 503 is at least 200 ms, the retry came after {after_503} ms");
    if in_a_page() {
        // The fake exposes no header to pages (as the strictest CORS Square may have), so the
        // page cannot read `Retry-After` and the backoff stands in for it.
        assert!(
            after_429 >= 400.0,
            "the backoff after the 429 is at least 400 ms, the retry came after {after_429} ms"
        );
    } else {
        assert!(after_429 >= 1000.0, "Retry-After: 1 but the retry came after {after_429} ms");
    }

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

/// How many copies of one `POST` reach the fake when each connection it is written on is reset
/// before any byte of the answer, as measured here: Node's `fetch` (undici) sends it once;
/// Chromium's network stack sends it a second time, on a new connection, below anything `fetch`
/// lets a page control.
fn copies_the_runtime_sends() -> usize {
    if in_a_page() { 2 } else { 1 }
}

#[wasm_bindgen_test]
async fn a_reset_code_exchange_is_never_retried_by_the_adapter() {
    clear_faults().await;
    // A client that retries whatever its policy allows: a code exchange that may have reached
    // Square is not something it allows.
    let retrying = Client::builder(config()).retry_policy(quick_retries()).build();
    let verifier = generate_verifier().unwrap();
    let code = authorize(&verifier).await;
    let copies = copies_the_runtime_sends();
    // One reset for each copy the runtime sends by itself: one more copy, from the adapter,
    // would get through and come back as tokens.
    fault("/oauth2/token", json!({"kind": "reset"}), copies as u32).await;
    clear_requests().await;
    let error = retrying.obtain_token(&exchange(code.clone(), verifier.clone())).await.unwrap_err();
    let Error::Transport { may_have_reached: true, .. } = &error else {
        panic!("expected a transport error that may have reached Square, got {error:?}")
    };
    let arrived = requests_to("/oauth2/token").await;
    assert_eq!(arrived.len(), copies, "copies of the exchange that reached the fake: {arrived:?}");
    assert!(arrived.iter().all(|request| request["body"] == arrived[0]["body"]), "every copy is the same exchange");
    clear_faults().await;
    // The fake dropped every copy before acting on it, so the code is still good.
    retrying.obtain_token(&exchange(code, verifier)).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_reset_pkce_refresh_is_never_retried_by_the_adapter() {
    clear_faults().await;
    let retrying = Client::builder(config()).retry_policy(quick_retries()).build();
    let mut tokens = tokens().await;
    let before = tokens.refresh_token().unwrap().expose_secret().to_owned();
    let copies = copies_the_runtime_sends();
    fault("/oauth2/token", json!({"kind": "reset"}), copies as u32).await;
    clear_requests().await;
    let error = retrying.refresh_if_due(&mut tokens, None, &due_now()).await.unwrap_err();
    let Error::Transport { may_have_reached: true, .. } = &error else {
        panic!("expected a transport error that may have reached Square, got {error:?}")
    };
    let arrived = requests_to("/oauth2/token").await;
    assert_eq!(arrived.len(), copies, "copies of the refresh that reached the fake: {arrived:?}");
    for request in &arrived {
        assert!(request["body"].as_str().unwrap().contains(&before), "each copy presents the same refresh token");
    }
    assert_eq!(tokens.refresh_token().unwrap().expose_secret(), before, "the set is unchanged");
    clear_faults().await;
    // Never acted on, so the refresh token is still good, and now rotates.
    assert!(retrying.refresh_if_due(&mut tokens, None, &due_now()).await.unwrap());
    assert_ne!(tokens.refresh_token().unwrap().expose_secret(), before);
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

/// Bytes of scripted oversize answers the fake has handed to its connections so far.
async fn oversize_bytes_sent() -> u64 {
    control("stats", None).await["oversize_bytes_sent"].as_u64().expect("the fake counts them")
}

#[wasm_bindgen_test]
async fn oversize_body_stopped_at_cap() {
    clear_faults().await;
    let capped = Config::builder().base_url(base_url()).max_response_bytes(4096).build().unwrap();
    let client = Client::builder(capped).retry_policy(RetryPolicy::never()).build();
    const ANSWER: u64 = 256 * 1024 * 1024;
    fault("/oauth2/token/status", json!({"kind": "oversize", "bytes": ANSWER}), 1).await;
    clear_requests().await;
    let sent_before = oversize_bytes_sent().await;
    let started = millis_now();
    let error = client.token_status(&status_of(&AccessToken::new("EAAAwhatever"))).await.unwrap_err();
    let took = millis_now() - started;
    assert!(matches!(error, Error::BodyTooLarge { limit: 4096 }), "{error:?}");
    // Stopped early: the connection closed with most of the 256 MiB never sent (what the fake
    // did send sits in socket and runtime buffers, a few MiB at most), and without waiting for it.
    let sent = oversize_bytes_sent().await - sent_before;
    assert!(sent < ANSWER / 8, "{sent} of {ANSWER} bytes were sent: the answer was read past the cap");
    assert!(took < 5000.0, "the capped answer took {took} ms");
    assert_eq!(requests_to("/oauth2/token/status").await.len(), 1, "not retried");
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
    let started = millis_now();
    let error = client.token_status(&status_of(&AccessToken::new("EAAAwhatever"))).await.unwrap_err();
    let took = millis_now() - started;
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    // Ended by the 200 ms timeout, not by the answer the fake would give after 3 s.
    assert!((200.0..2500.0).contains(&took), "the attempt took {took} ms with a 200 ms timeout");
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
    clear_requests().await;
    let error =
        client().obtain_token(&ObtainToken::pkce_refresh(ClientId::new(""), RefreshToken::new("x"))).await.unwrap_err();
    assert!(matches!(error, Error::Core(square_oauth::Error::InvalidInput(_))), "{error:?}");
    let log = control("requests", None).await;
    assert_eq!(log.as_array().map(Vec::len), Some(0), "the fake received something: {log}");
}

#[wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export function watch_fetch() {
  if (!globalThis.__squareOauthSignals) {
    const original = globalThis.fetch;
    globalThis.__squareOauthSignals = [];
    globalThis.fetch = function (input, init) {
      if (input instanceof Request && input.url.includes("/oauth2/")) globalThis.__squareOauthSignals.push(input.signal);
      return original.call(this, input, init);
    };
  }
  globalThis.__squareOauthSignals.length = 0;
}
export function signals_aborted() {
  return globalThis.__squareOauthSignals.map((signal) => signal.aborted);
}
"#)]
extern "C" {
    /// Wraps the global `fetch` (once) so that the abort signal of each request to Square's
    /// paths is kept, and forgets those kept so far.
    fn watch_fetch();
    /// Whether each kept signal has been aborted, in the order the requests were made.
    fn signals_aborted() -> js_sys::Array;
}

fn aborted() -> Vec<bool> {
    signals_aborted().iter().map(|value| value.as_bool().unwrap_or_default()).collect()
}

#[wasm_bindgen_test]
async fn a_call_dropped_mid_flight_aborts_its_fetch() {
    use core::future::Future as _;
    clear_faults().await;
    fault("/oauth2/token/status", json!({"kind": "delay", "millis": 2000}), 1).await;
    watch_fetch();
    let client = client();
    let status = status_of(&AccessToken::new("EAAAwhatever"));
    {
        // Polled once: the request is made and waits for the delayed answer. Then dropped, as
        // an application's own timeout or a `select` drops it.
        let mut call = core::pin::pin!(client.token_status(&status));
        let mut context = core::task::Context::from_waker(core::task::Waker::noop());
        assert!(call.as_mut().poll(&mut context).is_pending());
        assert_eq!(aborted(), [false], "the request is in flight");
    }
    assert_eq!(aborted(), [true], "dropping the call aborted its fetch");
    clear_faults().await;
    // A call that runs to its end reads Square's whole answer, as before.
    let error = client.token_status(&status).await.unwrap_err();
    assert!(error.has_code(&ErrorCode::Unauthorized), "{error:?}");
}
