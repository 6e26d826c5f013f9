//! What adapters and applications rely on without saying so: every public value can cross
//! threads, and the error is a standard error.
#![allow(deprecated)]

use square_oauth::{
    AccessToken, AuthorizeUrl, Body, CallbackError, ClientSecret, CodeVerifier, Config, Error, InvalidInput,
    ObtainToken, ObtainTokenResponse, RenewToken, RenewTokenResponse, RetrieveTokenStatus, RetryPolicy, RevokeToken,
    RevokeTokenResponse, SquareError, SquareRefusal, State, TokenStatus, UnexpectedResponse,
};

fn thread_safe<T: Send + Sync + 'static>() {}
fn standard_error<T: std::error::Error + Send + Sync + 'static>() {}

#[test]
fn public_values_are_send_sync_and_static() {
    thread_safe::<Config>();
    thread_safe::<Body>();
    thread_safe::<http::Request<Body>>();
    thread_safe::<ObtainToken>();
    thread_safe::<RevokeToken>();
    thread_safe::<RetrieveTokenStatus>();
    thread_safe::<RenewToken>();
    thread_safe::<AuthorizeUrl>();
    thread_safe::<ObtainTokenResponse>();
    thread_safe::<RevokeTokenResponse>();
    thread_safe::<TokenStatus>();
    thread_safe::<RenewTokenResponse>();
    thread_safe::<SquareError>();
    thread_safe::<SquareRefusal>();
    thread_safe::<UnexpectedResponse>();
    thread_safe::<RetryPolicy>();
    thread_safe::<AccessToken>();
    thread_safe::<ClientSecret>();
    thread_safe::<CodeVerifier>();
    thread_safe::<State>();
}

#[test]
fn errors_are_standard_errors() {
    standard_error::<Error>();
    standard_error::<InvalidInput>();
    standard_error::<CallbackError>();
    // `?` into a boxed error works, and the message survives.
    let boxed: Box<dyn std::error::Error + Send + Sync> = Config::custom("http://example.com").unwrap_err().into();
    assert!(boxed.to_string().contains("base_url"), "{boxed}");
    // Small enough to return by value (clippy's `result_large_err` draws the line at 128 bytes).
    assert!(std::mem::size_of::<Error>() <= 128, "{} bytes", std::mem::size_of::<Error>());
}
