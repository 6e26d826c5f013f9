//! The smallest useful module: a PKCE authorize URL, then the code exchange over `fetch`, and
//! the result handed to the page. `scripts/wasm-size` builds it beside the demo and measures it,
//! so that the cost of the library itself (not of a demo page's extras: storage, refresh,
//! revoke, token status) is what a size regression shows.
//!
//! The verifier and `state` wait in this module's memory, which is enough when the consent page
//! opens in another window or the callback arrives in the same page; an application whose page
//! navigates away keeps them in `sessionStorage`, as the demo (`examples/demo.rs`) does.
//!
//! Build it with `scripts/wasm-size`, or:
//! `cargo build -p square-oauth-wasm --example minimal --target wasm32-unknown-unknown --profile wasm-release`
//! then `wasm-bindgen --target web --out-dir … …/examples/minimal.wasm`.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;

use square_oauth::{AuthorizeUrl, ClientId, CodeVerifier, Config, ObtainToken, Scope, State, parse_callback};
use square_oauth_wasm::{AsyncCalls as _, Client, generate_state, generate_verifier};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

/// talc rather than Rust's default allocator: smaller (the crate's README, "Size").
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The flow between the two steps: where to send the exchange, for which application, and the
/// verifier and state it must present.
struct Pending {
    config: Config,
    client_id: ClientId,
    redirect_uri: String,
    verifier: CodeVerifier,
    state: State,
}

thread_local! {
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

/// Any error as the message the page shows.
fn fail(message: impl core::fmt::Display) -> JsValue {
    // Through `dyn Display`: one copy of the formatting for every error type, not one each.
    fn text(message: &dyn core::fmt::Display) -> JsValue {
        JsValue::from_str(&message.to_string())
    }
    text(&message)
}

/// Step 1: a verifier and a state from Web Crypto; returns the authorize URL to open.
/// `base_url` is Square's (`https://connect.squareup.com`) or a fake's.
#[wasm_bindgen]
pub fn authorize_url(base_url: &str, client_id: &str, redirect_uri: &str) -> Result<String, JsValue> {
    let config = Config::custom(base_url).map_err(fail)?;
    let client_id = ClientId::new(client_id);
    let verifier = generate_verifier().map_err(fail)?;
    let state = generate_state().map_err(fail)?;
    let url = AuthorizeUrl::new(client_id.clone())
        .scopes([Scope::MerchantProfileRead])
        .state(&state)
        .code_challenge(&verifier.challenge())
        .redirect_uri(redirect_uri)
        .build(&config)
        .map_err(fail)?;
    let pending = Pending { config, client_id, redirect_uri: redirect_uri.to_owned(), verifier, state };
    PENDING.with(|p| *p.borrow_mut() = Some(pending));
    Ok(url)
}

/// Step 2, with the URL Square redirected to: checks `state`, exchanges the code. Returns the
/// seller and when the access token expires (never the token itself: it stays in Rust).
#[wasm_bindgen]
pub async fn exchange(callback_url: String) -> Result<String, JsValue> {
    // Taken, not borrowed: the code and the verifier are single use.
    let pending = PENDING.with(|p| p.borrow_mut().take()).ok_or_else(|| fail("call authorize_url() first"))?;
    let code = parse_callback(&callback_url, &pending.state).map_err(fail)?;
    let exchange = ObtainToken::pkce(pending.client_id, code, pending.verifier).redirect_uri(pending.redirect_uri);
    let answer = Client::new(pending.config).obtain_token(&exchange).await.map_err(fail)?;
    let merchant = answer.merchant_id.as_ref().map(|m| m.as_str()).unwrap_or_default();
    let expires = answer.expires_at.map(|t| square_oauth::Rfc3339(t).to_string()).unwrap_or_default();
    Ok(format!("merchant {merchant}, access token expires {expires}"))
}
