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
    assert_eq!(ObtainToken::NAME, "ObtainToken");
    assert_eq!(RevokeToken::NAME, "RevokeToken");
    assert_eq!(RetrieveTokenStatus::NAME, "RetrieveTokenStatus");
    assert_eq!(RenewToken::NAME, "RenewToken");
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
