//! # square-oauth-wasm
//!
//! The [`square_oauth`] core carried over JavaScript's global `fetch`, for code compiled to
//! `wasm32-unknown-unknown`: browser pages, web and service workers, edge workers and Node ≥ 18
//! run the same module. Those are the places that use Square's PKCE flow, which needs no client
//! secret.
//!
//! ```ignore
//! use square_oauth::{AuthorizeUrl, ClientId, Config, ObtainToken, Scope, parse_callback};
//! use square_oauth_wasm::{AsyncCalls as _, Client, generate_state, generate_verifier};
//!
//! let config = Config::production();
//! let client_id = ClientId::new("sq0idp-…");
//!
//! // 1. Before sending the seller to Square: a verifier and a state from Web Crypto, kept
//! //    (sessionStorage) until the seller comes back.
//! let verifier = generate_verifier()?;
//! let state = generate_state()?;
//! let url = AuthorizeUrl::new(client_id.clone())
//!     .scopes([Scope::MerchantProfileRead])
//!     .state(&state)
//!     .code_challenge(&verifier.challenge())
//!     .build(&config)?;
//!
//! // 2. Back from Square: check `state`, then trade the code for tokens.
//! let code = parse_callback(&location_href, &state)?;
//! let client = Client::new(config);
//! let tokens = client.obtain_token(&ObtainToken::pkce(client_id, code, verifier)).await?;
//! ```
//!
//! ## What the adapter does
//!
//! - **One transport**: the global `fetch`, bound directly (not through `window`), so it works
//!   wherever `fetch` is a global. No gloo, no reqwest.
//! - **No redirect is followed.** Requests go with `redirect: "manual"`: a browser hands back an
//!   opaque redirect and Node the 3xx itself, and both become the core's
//!   [`CallError::Redirect`](square_oauth::CallError::Redirect). (The
//!   alternative, `redirect: "error"`, follows nothing either, but a browser then reports a
//!   redirect as the same `TypeError` as a network failure, so the caller could not tell them
//!   apart.)
//! - **A timeout** for the whole attempt, body included, through an `AbortController`
//!   (`CallError::Timeout`); **a size cap** on the body (the core's
//!   [`Config::max_response_bytes`](square_oauth::Config::max_response_bytes)), checked against
//!   `Content-Length` and again while streaming into the core's
//!   [`WipingBuffer`](square_oauth::WipingBuffer) (`CallError::BodyTooLarge`).
//! - **A dropped call stops its request.** When a call's future is dropped before Square's answer
//!   is read (an application's own timeout, a `select`, a component that unmounts), its `fetch`
//!   is aborted through the same `AbortController`, rather than left to run and to read Square's
//!   answer where nothing wipes it. A single-use request (a code exchange, a PKCE refresh) may
//!   have reached Square all the same: see [`AsyncCalls`] for what dropping one means.
//! - **The core's call state machine**, through [`AsyncCalls`] (the same calls, with the same
//!   signatures, as every other adapter), slept with `setTimeout`. A failed `fetch` is reported
//!   as "may have been sent" (JavaScript cannot say whether the request left), so single-use
//!   requests (code exchanges, PKCE refreshes) are not retried after one.
//! - **Typed errors**: [`Error`] is the core's [`CallError`](square_oauth::CallError) with
//!   [`JsError`] (the runtime's own message) as the transport's error: a CORS refusal or a network
//!   failure is `CallError::Transport`.
//! - **The clock and entropy of the platform**: [`now`] reads `Date.now()`; [`generate_verifier`]
//!   and [`generate_state`] draw from Web Crypto through getrandom's `wasm_js` backend (this crate
//!   is the only one in the workspace that enables it).
//!
//! `User-Agent` is not sent: browsers do not let a page set it, and listing it would make every
//! CORS preflight ask for one more header. The runtime's own `User-Agent` goes instead.
//!
//! ## What a browser may resend on its own
//!
//! The promise that a single-use request (a code exchange, a PKCE refresh) is never sent twice
//! after it may have reached Square holds for this library's own retries. A browser may itself
//! send a `POST` again, below `fetch`: when it wrote the request on a reused keep-alive connection
//! that the server then closed, and no byte of the answer came back, HTTP/1.1 lets the client
//! repeat it on a new connection, and browsers do. A page cannot turn that off.
//!
//! What the tests measure (`tests/scenarios.rs`, `a_reset_code_exchange_…` and
//! `a_reset_pkce_refresh_…`: the fake resets the connection of each copy that reaches it, and
//! counts them): **Node sends a code exchange or a PKCE refresh once; headless Chromium sends it
//! twice**, the second copy on a new connection. Neither runtime tells the page about the first
//! copy. What this adapter does about it:
//!
//! - it adds no retry of its own after a failed `fetch`: the failure counts as "may have reached
//!   Square" (`Error::Transport { may_have_reached: true, .. }`), so the core's call stops there,
//!   whatever the retry policy (the tests use one that retries everything it may, and check that
//!   no third copy arrives);
//! - it reports Square's answer to the browser's second copy as it is: if the first copy did
//!   reach Square and spent the code or the PKCE refresh token, the second comes back refused
//!   (`UNAUTHORIZED`), and the seller must authorize again. Nothing is ever presented a third time.
//!
//! Where a second copy is not acceptable, exchange codes and refresh tokens from a server, with an
//! adapter whose connections this library controls (hyper, reqwest, ureq).
//!
//! ## Proxies
//!
//! The browser's (or Node's) own: `fetch` goes wherever the runtime's network settings send it.
//! This crate reads no proxy setting.
//!
//! ## Secrets
//!
//! Request bodies are copied into a JavaScript `Uint8Array` for `fetch` and that copy is zeroed
//! when the attempt ends, also when its future is dropped; answers are read into wiped-on-drop memory. What the JavaScript engine
//! copies internally is out of this crate's reach.
//!
//! ## Other targets
//!
//! On anything but `wasm32` this crate is empty, so a workspace's host builds and tests ignore it.
//! Its tests run with `wasm-bindgen-test` in Node and in headless Chromium against the fake Square
//! (`scripts/wasm-check`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Elsewhere the crate is empty, so the links above have nothing to point at.
#![cfg_attr(not(target_arch = "wasm32"), allow(rustdoc::broken_intra_doc_links))]

#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
mod js;

#[cfg(target_arch = "wasm32")]
pub use client::{Client, ClientBuilder, DEFAULT_TIMEOUT, generate_state, generate_verifier, now};
#[cfg(target_arch = "wasm32")]
pub use js::JsError;
#[cfg(target_arch = "wasm32")]
pub use square_oauth::{self, AsyncCalls};

/// The error of every call: the core's [`CallError`](square_oauth::CallError) with the
/// runtime's message ([`JsError`]) as the transport's. No variant holds a secret.
#[cfg(target_arch = "wasm32")]
pub type Error = square_oauth::CallError<JsError>;
