//! What each operation tells the retry policy, and a refusal's `Retry-After` driving a decision.
#![allow(deprecated)]

mod common;

use core::time::Duration;

use common::answer;
use square_oauth::{
    AccessToken, AuthorizationCode, ClientId, ClientSecret, CodeVerifier, Config, Decision, MerchantId, MigrationToken,
    ObtainToken, Operation, Outcome, RefreshToken, RenewToken, Replay, RetrieveTokenStatus, RetryPolicy, RevokeToken,
};

fn id() -> ClientId {
    ClientId::new("sq0idp-app")
}
fn secret() -> ClientSecret {
    ClientSecret::new("sq0csp-secret")
}

#[test]
fn single_use_credentials_are_never_replayed_and_the_rest_are() {
    let code = || AuthorizationCode::new("sq0cgb-code");
    assert_eq!(ObtainToken::authorization_code(id(), secret(), code()).replay(), Replay::SingleUse);
    assert_eq!(ObtainToken::pkce(id(), code(), CodeVerifier::from_entropy([1; 32])).replay(), Replay::SingleUse);
    assert_eq!(ObtainToken::pkce_refresh(id(), RefreshToken::new("EQAAx")).replay(), Replay::SingleUse);
    assert_eq!(ObtainToken::migration(id(), secret(), MigrationToken::new("sq0atp-x")).replay(), Replay::SingleUse);
    assert_eq!(ObtainToken::refresh(id(), secret(), RefreshToken::new("EQAAx")).replay(), Replay::Safe);
    assert_eq!(RevokeToken::merchant(id(), secret(), MerchantId::new("M")).replay(), Replay::Safe);
    assert_eq!(RetrieveTokenStatus::new(AccessToken::new("EAAAx")).replay(), Replay::Safe);
    // Renewing replaces the token: a second copy after a lost answer would spend a dead token
    // and lose the renewed one.
    let renew = RenewToken::new(id(), secret(), AccessToken::new("EAAAx"));
    assert_eq!(renew.replay(), Replay::SingleUse);
    assert_eq!(RetryPolicy::default().decide(renew.replay(), 1, Outcome::MaybeSent, 0), Decision::Stop);
}

#[test]
fn a_rate_limited_answer_becomes_a_wait_for_safe_calls_and_a_stop_for_single_use_ones() {
    let body = br#"{"errors":[{"category":"RATE_LIMIT_ERROR","code":"RATE_LIMITED"}]}"#;
    let status = RetrieveTokenStatus::new(AccessToken::new("EAAAx"));
    let error = status
        .parse(&Config::production(), answer(429, &[("retry-after", "Wed, 21 Oct 2026 07:28:10 GMT")], body))
        .unwrap_err();
    let now: jiff::Timestamp = "2026-10-21T07:28:00Z".parse().unwrap();
    let wait = error.retry_after().map(|r| r.delay_from(now));
    assert_eq!(wait, Some(Duration::from_secs(10)));
    let outcome = Outcome::Answer { status: error.status().unwrap(), retry_after: wait };
    let policy = RetryPolicy::default();
    assert_eq!(policy.decide(status.replay(), 1, outcome, 0), Decision::Retry(Duration::from_secs(10)));
    let exchange = ObtainToken::authorization_code(id(), secret(), AuthorizationCode::new("sq0cgb-code"));
    assert_eq!(policy.decide(exchange.replay(), 1, outcome, 0), Decision::Stop);
    // A refusal that is not transient is final for everyone.
    let unauthorized = Outcome::Answer { status: http::StatusCode::UNAUTHORIZED, retry_after: None };
    assert_eq!(policy.decide(Replay::Safe, 1, unauthorized, 0), Decision::Stop);
}

/// Square's answer to a refresh, as an error.
fn refused(status: u16, category: &str, code: &str) -> square_oauth::Error {
    let body = format!(r#"{{"errors":[{{"category":"{category}","code":"{code}"}}]}}"#);
    let answer =
        http::Response::builder().status(status).header("content-type", "application/json").body(body).unwrap();
    ObtainToken::refresh(id(), secret(), RefreshToken::new("EQAAx"))
        .parse(&square_oauth::Config::production(), answer)
        .unwrap_err()
}

#[test]
fn only_a_refusal_of_the_grant_means_the_seller_must_authorize_again() {
    for (status, category, code) in [
        (400, "AUTHENTICATION_ERROR", "UNAUTHORIZED"),
        (401, "AUTHENTICATION_ERROR", "UNAUTHORIZED"),
        (401, "AUTHENTICATION_ERROR", "ACCESS_TOKEN_REVOKED"),
        (401, "AUTHENTICATION_ERROR", "ACCESS_TOKEN_EXPIRED"),
        (403, "AUTHENTICATION_ERROR", "ACCESS_TOKEN_REVOKED"),
    ] {
        assert!(refused(status, category, code).must_authorize_again(), "{status} {code}");
    }
    // Busy, slow, broken or malformed: worth another try, never the end of a seller's grant.
    for (status, category, code) in [
        (429, "RATE_LIMIT_ERROR", "RATE_LIMITED"),
        (408, "API_ERROR", "REQUEST_TIMEOUT"),
        (429, "AUTHENTICATION_ERROR", "UNAUTHORIZED"),
        (500, "API_ERROR", "INTERNAL_SERVER_ERROR"),
        (503, "API_ERROR", "SERVICE_UNAVAILABLE"),
        (400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER"),
        (404, "INVALID_REQUEST_ERROR", "NOT_FOUND"),
        (409, "INVALID_REQUEST_ERROR", "CONFLICT"),
    ] {
        assert!(!refused(status, category, code).must_authorize_again(), "{status} {code}");
    }
    let html =
        http::Response::builder().status(400).header("content-type", "text/html").body("<html>proxy</html>").unwrap();
    let unreadable =
        RetrieveTokenStatus::new(AccessToken::new("EAAAx")).parse(&square_oauth::Config::production(), html);
    assert!(!unreadable.unwrap_err().must_authorize_again());
}

#[test]
fn a_refresh_answer_sends_the_seller_back_only_when_the_grant_is_dead() {
    // A dead grant: Square refused the refresh token itself, or named the token.
    for (status, category, code) in [
        (400, "AUTHENTICATION_ERROR", "UNAUTHORIZED"),
        (400, "AUTHENTICATION_ERROR", "ACCESS_TOKEN_REVOKED"),
        (401, "AUTHENTICATION_ERROR", "ACCESS_TOKEN_REVOKED"),
        (401, "AUTHENTICATION_ERROR", "ACCESS_TOKEN_EXPIRED"),
        (403, "AUTHENTICATION_ERROR", "ACCESS_TOKEN_EXPIRED"),
    ] {
        assert!(refused(status, category, code).refresh_must_authorize_again(), "{status} {code}");
    }
    // The application's credentials refused (the seller cannot mend that), or worth another try.
    for (status, category, code) in [
        (401, "AUTHENTICATION_ERROR", "UNAUTHORIZED"),
        (403, "AUTHENTICATION_ERROR", "UNAUTHORIZED"),
        (429, "AUTHENTICATION_ERROR", "ACCESS_TOKEN_REVOKED"),
        (500, "AUTHENTICATION_ERROR", "UNAUTHORIZED"),
        (400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER"),
        (503, "API_ERROR", "SERVICE_UNAVAILABLE"),
    ] {
        assert!(!refused(status, category, code).refresh_must_authorize_again(), "{status} {code}");
    }
}

#[test]
fn a_token_set_that_cannot_refresh_means_the_seller_must_authorize_again() {
    use square_oauth::jiff::Timestamp;
    use square_oauth::{Flow, TokenSet};
    let answer = |refresh: bool| {
        let mut fields =
            serde_json::json!({"access_token": "EAAAx", "merchant_id": "M1", "expires_at": "2026-01-31T00:00:00Z"});
        if refresh {
            fields["refresh_token"] = "EQAAx".into();
            fields["refresh_token_expires_at"] = "2026-04-01T00:00:00Z".into();
        }
        serde_json::from_value(fields).unwrap()
    };
    let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let none = TokenSet::from_response(Flow::CodeFlow, id(), answer(false), start).unwrap();
    assert!(none.refresh_operation(Some(&secret())).unwrap_err().must_authorize_again());
    let pkce = TokenSet::from_response(Flow::Pkce, id(), answer(true), start).unwrap();
    let closed = pkce.refresh_operation_if_due("2026-05-01T00:00:00Z".parse().unwrap(), &Default::default(), None);
    assert!(closed.unwrap_err().must_authorize_again());
    // A missing client secret is the caller's to fix, not the seller's.
    let code_flow = TokenSet::from_response(Flow::CodeFlow, id(), answer(true), start).unwrap();
    assert!(!code_flow.refresh_operation(None).unwrap_err().must_authorize_again());
}

#[test]
fn a_call_error_reads_the_refusal_it_carries_and_nothing_else() {
    use square_oauth::{CallError, ErrorCode, LifecycleError};
    type Failed = CallError<std::io::Error>;
    // Square's answer: the grant is dead, or the call was only throttled.
    let dead: Failed = CallError::Core(refused(400, "AUTHENTICATION_ERROR", "UNAUTHORIZED"));
    assert!(dead.refresh_must_authorize_again());
    assert!(dead.has_code(&ErrorCode::Unauthorized));
    assert!(!dead.has_code(&ErrorCode::RateLimited));
    let throttled: Failed = CallError::Core(refused(429, "RATE_LIMIT_ERROR", "RATE_LIMITED"));
    assert!(!throttled.refresh_must_authorize_again());
    assert!(throttled.has_code(&ErrorCode::RateLimited));
    assert!(!throttled.has_code(&ErrorCode::Unauthorized));
    // The token set's own refusal, before anything was sent.
    let no_refresh_token: Failed = CallError::Lifecycle(LifecycleError::NoRefreshToken);
    assert!(no_refresh_token.refresh_must_authorize_again());
    assert!(!no_refresh_token.has_code(&ErrorCode::Unauthorized));
    let no_secret: Failed = CallError::Lifecycle(LifecycleError::ClientSecretRequired);
    assert!(!no_secret.refresh_must_authorize_again());
    // A transport failure never means the seller must come back, and carries no code.
    let timed_out: Failed = CallError::Timeout { may_have_reached: true };
    assert!(!timed_out.refresh_must_authorize_again());
    assert!(!timed_out.has_code(&ErrorCode::Unauthorized));
    assert!(timed_out.square_errors().is_empty());
}
