//! The demo page's module (`adapter-wasm/demo/`): a real PKCE flow in the browser.
//!
//! The page's JavaScript only wires buttons to these functions and writes what they return into
//! the page; every secret stays here. Verifier and `state` wait in `sessionStorage` while the
//! seller is on Square's consent page (the usual place for a single-page application: per tab,
//! gone with it); the tokens live in this module's memory, and what is returned to the page is
//! masked.
//!
//! Build it with `scripts/wasm-size` (which also prints its size), or:
//! `cargo build -p square-oauth-wasm --example demo --target wasm32-unknown-unknown --profile wasm-release`
//! then `wasm-bindgen --target web --out-dir adapter-wasm/demo/pkg …/examples/demo.wasm`.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;

use js_sys::{Object, Reflect};
use square_oauth::{
    AuthorizeUrl, ClientId, ClientSecret, CodeVerifier, Config, ErrorCode, Flow, ObtainToken, RetrieveTokenStatus,
    RevokeToken, Scope, State, TokenSet, parse_callback,
};
use square_oauth_wasm::{AsyncCalls as _, Client, Error, generate_state, generate_verifier, now};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

/// talc rather than Rust's default allocator: smaller (the crate's README, "Size").
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Where the verifier and state wait while the seller is on the consent page.
const PENDING: &str = "square-oauth-demo:pending";

/// What the page configured, and the tokens once there are some.
struct Session {
    config: Config,
    client_id: ClientId,
    redirect_uri: String,
    tokens: Option<TokenSet>,
}

thread_local! {
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// Any error as the message the page shows.
fn fail(message: impl core::fmt::Display) -> JsValue {
    // Through `dyn Display`: one copy of the formatting for every error type, not one each.
    fn text(message: &dyn core::fmt::Display) -> JsValue {
        JsValue::from_str(&message.to_string())
    }
    text(&message)
}

fn storage() -> Result<web_sys::Storage, JsValue> {
    web_sys::window().and_then(|w| w.session_storage().ok().flatten()).ok_or_else(|| fail("no sessionStorage"))
}

fn with_session<T>(f: impl FnOnce(&mut Session) -> Result<T, JsValue>) -> Result<T, JsValue> {
    SESSION.with(|s| s.borrow_mut().as_mut().ok_or_else(|| fail("call configure() first")).and_then(f))
}

fn client() -> Result<Client, JsValue> {
    with_session(|s| Ok(Client::new(s.config.clone())))
}

/// Sets the fake's (or Square's) base URL, the application and its redirect URL.
#[wasm_bindgen]
pub fn configure(base_url: &str, client_id: &str, redirect_uri: &str) -> Result<(), JsValue> {
    let config = Config::custom(base_url).map_err(fail)?;
    SESSION.with(|s| {
        *s.borrow_mut() = Some(Session {
            config,
            client_id: ClientId::new(client_id),
            redirect_uri: redirect_uri.to_owned(),
            tokens: None,
        });
    });
    Ok(())
}

/// Step 1: a verifier and a state from Web Crypto, kept in `sessionStorage`; returns the
/// authorize URL to send the browser to.
#[wasm_bindgen]
pub fn start() -> Result<String, JsValue> {
    let verifier = generate_verifier().map_err(fail)?;
    let state = generate_state().map_err(fail)?;
    let url = with_session(|s| {
        AuthorizeUrl::new(s.client_id.clone())
            .scopes([Scope::MerchantProfileRead, Scope::PaymentsRead])
            .state(&state)
            .code_challenge(&verifier.challenge())
            .redirect_uri(s.redirect_uri.clone())
            .build(&s.config)
            .map_err(fail)
    })?;
    let pending = zeroize::Zeroizing::new(format!("{} {}", verifier.expose_secret(), state.expose_secret()));
    storage()?.set_item(PENDING, &pending)?;
    Ok(url)
}

/// Step 2, back from the consent page: checks `state`, exchanges the code, reads the token's
/// status. Returns the masked view.
#[wasm_bindgen]
pub async fn finish(callback_url: String) -> Result<JsValue, JsValue> {
    let storage = storage()?;
    let pending = zeroize::Zeroizing::new(storage.get_item(PENDING)?.ok_or_else(|| fail("no flow in progress"))?);
    // Single use, like the code: a reload cannot replay the exchange.
    storage.remove_item(PENDING)?;
    let (verifier, state) = pending.split_once(' ').ok_or_else(|| fail("the stored flow is damaged"))?;
    let (verifier, state) = (CodeVerifier::new(verifier), State::new(state));
    let code = parse_callback(&callback_url, &state).map_err(fail)?;
    let (client_id, redirect_uri) = with_session(|s| Ok((s.client_id.clone(), s.redirect_uri.clone())))?;
    let exchange = ObtainToken::pkce(client_id.clone(), code, verifier).redirect_uri(redirect_uri);
    let answer = client()?.obtain_token(&exchange).await.map_err(fail)?;
    let tokens = TokenSet::from_response(Flow::Pkce, client_id, answer, now()).map_err(fail)?;
    with_session(|s| {
        s.tokens = Some(tokens);
        Ok(())
    })?;
    view().await
}

fn tokens() -> Result<TokenSet, JsValue> {
    with_session(|s| s.tokens.clone().ok_or_else(|| fail("no tokens yet")))
}

/// Refresh: the PKCE refresh token is spent and replaced.
#[wasm_bindgen]
pub async fn refresh() -> Result<JsValue, JsValue> {
    let mut tokens = tokens()?;
    let operation = tokens.refresh_operation(None).map_err(fail)?;
    let answer = client()?.obtain_token(&operation).await.map_err(fail)?;
    tokens.apply_refresh(answer, now()).map_err(fail)?;
    with_session(|s| {
        s.tokens = Some(tokens);
        Ok(())
    })?;
    view().await
}

/// Revoke needs the application secret, which a real page never holds: a real application
/// revokes from its server. The demo takes the fake application's secret from its configuration.
#[wasm_bindgen]
pub async fn revoke(client_secret: String) -> Result<JsValue, JsValue> {
    let tokens = tokens()?;
    let revoke = RevokeToken::access_token(
        tokens.client_id().clone(),
        ClientSecret::new(client_secret),
        tokens.access_token().clone(),
    );
    client()?.revoke_token(&revoke).await.map_err(fail)?;
    view().await
}

/// `EAAA…Xe1I`: enough to tell two tokens apart, never enough to use one.
fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 16 {
        return "…".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail} ({} characters)", chars.len())
}

/// The SHA-256 of a token, in hex: what lets a test check which token the module holds without
/// the token itself ever reaching the page.
fn fingerprint(secret: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(secret.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

fn set(object: &Object, key: &str, value: impl Into<JsValue>) {
    // Setting a property on a plain object cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(key), &value.into());
}

/// The token set, masked, and its status as Square reports it now.
async fn view() -> Result<JsValue, JsValue> {
    let tokens = tokens()?;
    let out = Object::new();
    set(&out, "merchant_id", tokens.merchant_id().as_str());
    set(&out, "access_token", mask(tokens.access_token().expose_secret()));
    set(&out, "refresh_token", tokens.refresh_token().map(|t| mask(t.expose_secret())).unwrap_or_default());
    set(
        &out,
        "refresh_token_sha256",
        tokens.refresh_token().map(|t| fingerprint(t.expose_secret())).unwrap_or_default(),
    );
    let timestamp =
        |t: Option<square_oauth::jiff::Timestamp>| t.map(|t| square_oauth::Rfc3339(t).to_string()).unwrap_or_default();
    set(&out, "expires_at", timestamp(tokens.expires_at()));
    set(&out, "refresh_token_expires_at", timestamp(tokens.refresh_token_expires_at()));
    match client()?.token_status(&RetrieveTokenStatus::new(tokens.access_token().clone())).await {
        Ok(status) => {
            set(&out, "status", "active");
            // Recorded in the set, so the page still shows what was granted once the token is gone.
            let scopes = status.scopes.unwrap_or_default();
            with_session(|s| {
                s.tokens = s.tokens.take().map(|t| t.with_scopes(scopes));
                Ok(())
            })?;
        }
        Err(error) if error.has_code(&ErrorCode::AccessTokenRevoked) => set(&out, "status", "revoked"),
        Err(error) if error.has_code(&ErrorCode::AccessTokenExpired) => set(&out, "status", "expired"),
        // Square's specification answers UNAUTHORIZED for an expired or revoked token alike.
        Err(error) if error.has_code(&ErrorCode::Unauthorized) => set(&out, "status", "not valid (expired or revoked)"),
        Err(Error::Core(error)) => set(&out, "status", format!("refused: {error}")),
        Err(error) => return Err(fail(error)),
    }
    let scopes = with_session(|s| {
        let scopes = s.tokens.as_ref().map(TokenSet::scopes).unwrap_or_default();
        Ok(scopes.iter().map(Scope::as_str).collect::<Vec<_>>().join(" "))
    })?;
    set(&out, "scopes", scopes);
    Ok(out.into())
}
