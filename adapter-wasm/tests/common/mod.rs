//! What every wasm test file needs: the application `scripts/wasm-check` registers with the
//! fake, the fake's control API, and a fresh authorization through the whole PKCE flow.
// Each test file uses its own share of these.
#![allow(dead_code)]

use serde_json::{Value, json};
use square_oauth::{
    AuthorizationCode, AuthorizeUrl, ClientId, CodeVerifier, Config, Flow, ObtainToken, Scope, TokenSet, parse_callback,
};
use square_oauth_wasm::{AsyncCalls as _, Client, generate_state, generate_verifier, now};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The application `scripts/wasm-check` registers with the fake.
pub(crate) const CLIENT_ID: &str = "sq0idp-WasmScenarios000001";
pub(crate) const CLIENT_SECRET: &str = "sq0csp-WasmScenarioSecret-sentinel-0001";
pub(crate) const REDIRECT_URI: &str = "http://127.0.0.1:9/wasm-callback";

/// The fake's base URL, from `scripts/wasm-check` at compile time.
const MOCK_URL: Option<&str> = option_env!("SQUARE_MOCK_URL");

pub(crate) fn base_url() -> &'static str {
    MOCK_URL.unwrap_or_else(|| {
        panic!(
            "SQUARE_MOCK_URL was not set when these tests were compiled: run scripts/wasm-check, which starts the fake"
        )
    })
}

pub(crate) fn config() -> Config {
    Config::custom(base_url()).expect("a loopback URL")
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &web_sys::Request) -> js_sys::Promise;
}

/// Whether this runs in a browser page (CORS applies, Chromium's network stack sends) rather
/// than Node (no CORS, undici sends).
pub(crate) fn in_a_page() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("document")).unwrap_or(false)
}

/// Calls the fake's control API (`/__mock/…`): POST with a body, GET without; panics on
/// anything but 200.
pub(crate) async fn control(path: &str, body: Option<Value>) -> Value {
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

pub(crate) async fn fault(path: &str, mut fault: Value, times: u32) {
    fault["path"] = json!(path);
    fault["times"] = json!(times);
    control("fault", Some(fault)).await;
}

pub(crate) async fn clear_faults() {
    control("clear-faults", Some(json!({}))).await;
}

pub(crate) async fn clear_requests() {
    control("clear-requests", Some(json!({}))).await;
}

/// The requests the fake received on `path` since the log was last cleared, in arrival order,
/// without the CORS preflights a browser sends before them.
pub(crate) async fn requests_to(path: &str) -> Vec<Value> {
    let log = control("requests", None).await;
    log.as_array()
        .unwrap()
        .iter()
        .filter(|request| request["path"] == path && request["method"] != "OPTIONS")
        .cloned()
        .collect()
}

/// What the seller's browser does: the authorize URL, Allow on the consent page, the redirect.
/// Returns the code, checked against `state` the way an application must.
pub(crate) async fn authorize(verifier: &CodeVerifier) -> AuthorizationCode {
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

pub(crate) fn exchange(code: AuthorizationCode, verifier: CodeVerifier) -> ObtainToken {
    ObtainToken::pkce(ClientId::new(CLIENT_ID), code, verifier).redirect_uri(REDIRECT_URI)
}

/// A fresh PKCE token set, through the whole flow, exchanged by `client`.
pub(crate) async fn tokens_with(client: &Client) -> TokenSet {
    let verifier = generate_verifier().unwrap();
    let code = authorize(&verifier).await;
    let answer = client.obtain_token(&exchange(code, verifier)).await.unwrap();
    TokenSet::from_response(Flow::Pkce, ClientId::new(CLIENT_ID), answer, now()).unwrap()
}
