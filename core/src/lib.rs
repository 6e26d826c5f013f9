//! # square-oauth
//!
//! The Square OAuth API as plain values: this crate turns typed calls into [`http::Request`]s and
//! Square's answers into typed results. It never opens a socket, reads a clock, draws a random
//! number or needs an async runtime, so the same code serves a tokio server, a blocking tool, a
//! browser and a worker. The adapters `square-oauth-hyper`, `square-oauth-ureq` and
//! `square-oauth-wasm` carry the requests; you can carry them yourself just as well.
//!
//! ## A call, from start to end
//!
//! ```
//! use square_oauth::{AuthorizationCode, ClientId, ClientSecret, Config, ObtainToken, Operation};
//!
//! let config = Config::production();
//! let exchange = ObtainToken::authorization_code(
//!     ClientId::new("sq0idp-uaPHILoPzWZk3tlJqlML0g"),
//!     ClientSecret::new("sq0csp-30a-4C_tVOnTh14Piza2BfTPBXyLafLPWSzY1qAjeBfM"),
//!     AuthorizationCode::new("sq0cgb-l0SBqxs4uwxErTVyYOdemg"),
//! );
//!
//! // 1. Build: method, URL, headers and JSON body. Nothing is sent.
//! let request = exchange.build(&config)?;
//! assert_eq!(request.method(), "POST");
//! assert_eq!(request.uri(), "https://connect.squareup.com/oauth2/token");
//! assert_eq!(request.headers()["square-version"], "2026-08-19");
//! // The request can be logged: the body and the secrets in it print as a redaction.
//! assert!(!format!("{request:?}").contains("sq0csp-30a"));
//!
//! // 2. Send it with any HTTP client, reading at most `config.max_response_bytes()`.
//!
//! // 3. Parse whatever came back.
//! let answer = http::Response::builder()
//!     .status(200)
//!     .header("content-type", "application/json")
//!     .body(br#"{"access_token":"EAAl3ikZIe18J-2-cHlV2bL4-EaZHGoJUhtEBT7QA6-7AgwIHw8Xe1IoUvGsNxA",
//!               "token_type":"bearer","expires_at":"2025-04-03T18:31:06Z",
//!               "merchant_id":"MLQW2MYBY81PZ","short_lived":false,
//!               "refresh_token":"EQAAl0OcByu3IYJYScGGg-8E5YNf0r0b6jCTCMy5nOcRZ4ok0wbWAL8vY3tZWNcc"}"#)?;
//! let token = exchange.parse(&config, answer)?;
//! assert_eq!(token.merchant_id.unwrap().as_str(), "MLQW2MYBY81PZ");
//! assert_eq!(token.expires_at.unwrap().to_string(), "2025-04-03T18:31:06Z");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What is here
//!
//! | Square's call | type | sends |
//! | --- | --- | --- |
//! | Authorize page | [`AuthorizeUrl`], then [`parse_callback`] | a URL for the seller's browser |
//! | ObtainToken | [`ObtainToken`]: `authorization_code`, `pkce`, `refresh`, `pkce_refresh`, `migration` | `POST /oauth2/token`, no `Authorization` |
//! | RevokeToken | [`RevokeToken`]: `access_token` or `merchant` | `POST /oauth2/revoke`, `Authorization: Client …` |
//! | RetrieveTokenStatus | [`RetrieveTokenStatus`] | `POST /oauth2/token/status`, `Authorization: Bearer …` |
//! | RenewToken (deprecated) | [`RenewToken`] | `POST /oauth2/clients/{id}/access-token/renew` |
//!
//! Every call implements [`Operation`]: `build` makes the request, `parse` reads the answer and
//! `replay` tells the [`RetryPolicy`] whether the request may be sent twice.
//!
//! - **Secrets** ([`ClientSecret`], [`AccessToken`], [`RefreshToken`], [`AuthorizationCode`],
//!   [`CodeVerifier`], [`State`], the request [`Body`]) print as `[REDACTED]`, are wiped on drop
//!   and are read only through `expose_secret()`. `Authorization` headers are marked sensitive.
//! - **Errors** ([`Error`]) say whose doing a failure was: the caller's ([`Error::InvalidInput`],
//!   before anything is sent), Square's refusal ([`Error::Square`], both error shapes, on any
//!   status, 200 included), an answer that made no sense ([`Error::UnexpectedResponse`], with a
//!   redacted excerpt), or a redirect without a usable code ([`Error::Callback`]).
//! - **Open enums** ([`Scope`], [`ErrorCode`], [`ErrorCategory`]) keep values Square adds later.
//! - **PKCE and state** come from entropy you pass ([`CodeVerifier::from_entropy`]), or from the
//!   operating system with the `getrandom` feature (`generate()`).
//!
//! ## Out of scope
//!
//! Sending requests (the adapters do it), the rest of Square's API (use the token this crate gets
//! you with any Square client), and reading clocks or random numbers (pass them in).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use http;
pub use jiff;

mod answer;
mod authorize;
mod buffer;
mod call;
mod config;
mod enums;
mod error;
mod ids;
mod json_path;
mod lifecycle;
mod obtain_token;
mod open_enum;
mod operation;
mod pkce;
mod redact;
mod renew_token;
mod retry;
mod revoke_token;
mod secret;
mod time;
mod token_status;
mod transport;
mod validators;
mod webhook;

pub use authorize::{AuthorizeUrl, parse_callback};
pub use buffer::{BodyTooLarge, WipingBuffer};
pub use call::{Call, CallError, Failure, Step};
pub use config::{
    Config, ConfigBuilder, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_SQUARE_VERSION, Environment, MAX_USER_AGENT_DETAIL,
    PRODUCTION_BASE_URL, SANDBOX_BASE_URL, SquareVersion,
};
pub use enums::{ErrorCategory, ErrorCode, Scope};
pub use error::{
    CallbackError, Error, InvalidInput, Problem, RetryAfter, SquareError, SquareRefusal, UnexpectedKind,
    UnexpectedResponse,
};
pub use ids::{ClientId, MerchantId};
pub use lifecycle::{
    CODE_FLOW_GRACE, Flow, LifecycleError, PKCE_REFRESH_LIFETIME, RefreshRules, TokenSet, WithSecrets,
};
pub use obtain_token::{Grant, ObtainToken, ObtainTokenResponse};
pub use operation::{Operation, Replay, SQUARE_VERSION_HEADER};
pub use pkce::{CodeChallenge, CodeVerifier, State};
pub use redact::{ERROR_TEXT_KEYS, EXCERPT_BYTES, HIDDEN, redact_json};
#[allow(deprecated)]
pub use renew_token::{RenewToken, RenewTokenResponse};
pub use retry::{Decision, Outcome, RetryPolicy, is_retryable};
pub use revoke_token::{RevokeTarget, RevokeToken, RevokeTokenResponse};
pub use secret::{
    AccessToken, AuthorizationCode, Body, ClientSecret, IdToken, MigrationToken, RefreshToken, WebhookSignatureKey,
};
pub use time::Rfc3339;
pub use token_status::{RetrieveTokenStatus, TokenStatus};
pub use transport::{
    AdapterSettings, AsyncCalls, AsyncTransport, Calls, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, Transport, with_body,
};
pub use webhook::{
    AUTHORIZATION_REVOKED, AuthorizationRevoked, RevokerType, SIGNATURE_HEADER, WebhookError, parse_revocation,
    verify_request, verify_signature,
};
