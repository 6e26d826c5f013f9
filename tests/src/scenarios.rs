//! The scenarios: plain functions generic over the [`Driver`], each against its own fake Square.
//!
//! Grouped as the issue lists them: the flows, Square's refusals, the faults and retries, TLS,
//! and load. Every error a scenario sees is checked for the application secret (a sentinel).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use square_oauth::{
    AccessToken, AuthorizationCode, AuthorizeUrl, ClientId, ClientSecret, CodeVerifier, Config, ErrorCode, MerchantId,
    MigrationToken, ObtainToken, RetrieveTokenStatus, RetryPolicy, RevokeToken, Scope, State, UnexpectedKind,
    parse_callback,
};
use square_oauth_mock::{Behaviour, Fault, MockSquare};

use crate::fixture::{CLIENT_ID, CLIENT_SECRET, Fixture, MERCHANT, REDIRECT_URL, REVOKE, STATUS, TOKEN};
use crate::sockets;
use crate::{Driver, DriverError, ErrorKind, Settings};

/// The error of a call that must fail; panics if it succeeded or if the error shows the secret.
fn failure<T>(result: Result<T, DriverError>, what: &str) -> DriverError {
    match result {
        Ok(_) => panic!("{what}: succeeded, but it must fail"),
        Err(error) => {
            error.assert_no_secret(CLIENT_SECRET);
            error
        }
    }
}

/// Asserts a Square refusal with this status and code.
fn assert_refused(error: &DriverError, status: u16, code: ErrorCode) {
    assert_eq!(error.kind, ErrorKind::Core, "{error:?}");
    assert_eq!(error.status.map(|s| s.as_u16()), Some(status), "{error:?}");
    assert!(error.has_code(&code), "expected {code}: {error:?}");
    assert!(matches!(error.core, Some(square_oauth::Error::Square(_))), "{error:?}");
}

/// Asserts the refusal of a token that no longer works: 401 with the specification's
/// `UNAUTHORIZED`, or the specific code (`ACCESS_TOKEN_REVOKED`, `ACCESS_TOKEN_EXPIRED`) the fake
/// sends when switched to it. A client must handle both.
fn assert_token_dead(error: &DriverError, specific: ErrorCode) {
    let code = if error.has_code(&specific) { specific } else { ErrorCode::Unauthorized };
    assert_refused(error, 401, code);
}

fn status_of(access: &AccessToken) -> RetrieveTokenStatus {
    RetrieveTokenStatus::new(access.clone())
}

fn id() -> ClientId {
    Fixture::client_id()
}

fn secret() -> ClientSecret {
    Fixture::client_secret()
}

/// Settings whose policy never retries.
fn never() -> Settings {
    Settings::default().retry_policy(RetryPolicy::never())
}

// ---------------------------------------------------------------------------------------------
// Flows

/// Authorize URL → Allow on the fake → callback parsed → code exchanged → status → code-flow
/// refresh (the same refresh token back) → revoke → status says revoked.
pub fn full_code_flow<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let state = State::generate().expect("entropy");
    let url = AuthorizeUrl::new(id())
        .scopes([Scope::MerchantProfileRead, Scope::PaymentsRead])
        .state(&state)
        .redirect_uri(REDIRECT_URL)
        .build(&fixture.config())
        .expect("an authorize URL");
    let redirect = fixture.mock.approve(&url, None).expect("the seller allows");
    assert!(redirect.starts_with(REDIRECT_URL), "{redirect}");
    let code = parse_callback(&redirect, &State::new("forged")).map(|_| ()).expect_err("a forged state");
    assert!(matches!(code, square_oauth::Error::Callback(_)));
    let code = parse_callback(&redirect, &state).expect("the code");

    let exchange = ObtainToken::authorization_code(id(), secret(), code).redirect_uri(REDIRECT_URL);
    let tokens = driver.send(&exchange).expect("the code exchange");
    let access = tokens.access_token.expect("an access token");
    let refresh = tokens.refresh_token.expect("a refresh token");
    assert_eq!(tokens.merchant_id.as_ref().map(MerchantId::as_str), Some(MERCHANT));
    assert!(tokens.expires_at.is_some());
    assert_eq!(tokens.refresh_token_expires_at, None, "code-flow refresh tokens do not expire");

    let sent = &fixture.requests_to(TOKEN)[0];
    assert_eq!(sent.header("authorization"), None, "ObtainToken carries its credentials in the body");
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert!(sent.header("square-version").is_some());
    assert!(sent.header("user-agent").is_some_and(|agent| agent.starts_with("square-oauth")), "{sent:?}");

    let status = driver.send(&status_of(&access)).expect("the token's status");
    assert_eq!(status.merchant_id.as_ref().map(MerchantId::as_str), Some(MERCHANT));
    assert_eq!(status.client_id.as_ref().map(ClientId::as_str), Some(CLIENT_ID));
    let scopes = status.scopes.unwrap_or_default();
    assert!(scopes.contains(&Scope::PaymentsRead) && scopes.contains(&Scope::MerchantProfileRead), "{scopes:?}");
    assert!(status.expires_at.is_some());

    let refreshed = driver.send(&ObtainToken::refresh(id(), secret(), refresh.clone())).expect("a code-flow refresh");
    assert_eq!(refreshed.refresh_token.as_ref(), Some(&refresh), "the code flow returns the same refresh token");
    let access = refreshed.access_token.expect("a new access token");
    driver.send(&status_of(&access)).expect("the refreshed token works");

    let revoked = driver.send(&RevokeToken::access_token(id(), secret(), access.clone())).expect("the revocation");
    assert_eq!(revoked.success, Some(true));
    let revoke = &fixture.requests_to(REVOKE)[0];
    assert_eq!(revoke.header("authorization"), Some(format!("Client {CLIENT_SECRET}").as_str()));

    let error = failure(driver.send(&status_of(&access)), "status of a revoked token");
    assert_refused(&error, 401, ErrorCode::Unauthorized);
}

/// PKCE: exchange with the verifier, then refresh: each refresh returns a new refresh token and
/// the old one is refused.
pub fn full_pkce_flow_with_rotation<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let tokens = fixture.pkce_tokens(&driver);
    let first = tokens.refresh_token.expect("a refresh token");
    assert!(tokens.refresh_token_expires_at.is_some(), "PKCE refresh tokens expire");
    let exchange = &fixture.requests_to(TOKEN)[0];
    let body: serde_json::Value = serde_json::from_slice(&exchange.body).expect("a JSON body");
    assert!(body.get("client_secret").is_none() && body.get("code_verifier").is_some(), "{body}");

    let second = driver.send(&ObtainToken::pkce_refresh(id(), first.clone())).expect("the first refresh");
    let second_refresh = second.refresh_token.expect("a rotated refresh token");
    assert_ne!(second_refresh, first, "a PKCE refresh rotates the refresh token");
    driver.send(&status_of(&second.access_token.expect("an access token"))).expect("the new token works");

    fixture.mock.clear_requests();
    let error = failure(driver.send(&ObtainToken::pkce_refresh(id(), first)), "a spent refresh token");
    assert_refused(&error, 400, ErrorCode::Unauthorized);
    assert_eq!(fixture.requests_to(TOKEN).len(), 1, "a refused single-use call is sent once");

    let third = driver.send(&ObtainToken::pkce_refresh(id(), second_refresh.clone())).expect("the second refresh");
    assert_ne!(third.refresh_token.as_ref(), Some(&second_refresh));
}

/// RevokeToken by merchant: every token of the application for that seller dies.
pub fn revoke_by_merchant<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let tokens = fixture.code_flow_tokens(&driver);
    let (access, refresh) = (tokens.access_token.expect("access"), tokens.refresh_token.expect("refresh"));

    let revoke = RevokeToken::merchant(id(), secret(), MerchantId::new(MERCHANT));
    assert_eq!(driver.send(&revoke).expect("the revocation").success, Some(true));
    let body: serde_json::Value = serde_json::from_slice(&fixture.requests_to(REVOKE)[0].body).expect("JSON");
    assert_eq!(body["merchant_id"], MERCHANT);
    assert!(body.get("access_token").is_none(), "never both: {body}");

    assert_token_dead(&failure(driver.send(&status_of(&access)), "revoked status"), ErrorCode::AccessTokenRevoked);
    // The same token, with the fake switched to the specific code.
    fixture.mock.set_behaviour(Behaviour { specific_token_errors: true, ..Behaviour::default() });
    let error = failure(driver.send(&status_of(&access)), "revoked status");
    assert_refused(&error, 401, ErrorCode::AccessTokenRevoked);
    assert_token_dead(&error, ErrorCode::AccessTokenRevoked);
    let refreshed = driver.send(&ObtainToken::refresh(id(), secret(), refresh));
    assert_refused(&failure(refreshed, "refresh after revocation"), 400, ErrorCode::Unauthorized);
}

/// RevokeToken with `revoke_only_access_token`: that token dies, the authorization lives on.
pub fn revoke_only_access_token<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let tokens = fixture.code_flow_tokens(&driver);
    let (access, refresh) = (tokens.access_token.expect("access"), tokens.refresh_token.expect("refresh"));

    let revoke = RevokeToken::access_token(id(), secret(), access.clone()).revoke_only_access_token(true);
    assert_eq!(driver.send(&revoke).expect("the revocation").success, Some(true));
    assert_token_dead(&failure(driver.send(&status_of(&access)), "revoked status"), ErrorCode::AccessTokenRevoked);

    let refreshed = driver.send(&ObtainToken::refresh(id(), secret(), refresh)).expect("the refresh token still works");
    driver.send(&status_of(&refreshed.access_token.expect("access"))).expect("and its new access token");
}

fn renew_path() -> String {
    format!("/oauth2/clients/{CLIENT_ID}/access-token/renew")
}

/// RenewToken (deprecated): a new access token, the old one replaced; a lost answer is not
/// retried.
#[allow(deprecated)]
pub fn renew_token<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let access = fixture.code_flow_tokens(&driver).access_token.expect("access");

    let renewed = driver.send(&square_oauth::RenewToken::new(id(), secret(), access.clone())).expect("a renewal");
    let new_access = renewed.access_token.expect("a renewed token");
    assert!(renewed.expires_at.is_some());
    assert_eq!(renewed.merchant_id.as_ref().map(MerchantId::as_str), Some(MERCHANT));
    driver.send(&status_of(&new_access)).expect("the renewed token works");
    if new_access != access {
        assert_token_dead(
            &failure(driver.send(&status_of(&access)), "the replaced token"),
            ErrorCode::AccessTokenRevoked,
        );
    }

    // A renewal whose answer is lost is not sent again: the token it carried is already dead.
    fixture.mock.clear_requests();
    fixture.mock.fault(&renew_path(), Fault::Truncate, 1);
    let lost =
        failure(driver.send(&square_oauth::RenewToken::new(id(), secret(), new_access.clone())), "a lost renewal");
    assert_eq!(lost.kind, ErrorKind::Transport, "{lost:?}");
    assert_eq!(fixture.requests_to(&renew_path()).len(), 1, "a renewal is sent once");
    assert_token_dead(
        &failure(driver.send(&status_of(&new_access)), "the renewed-away token"),
        ErrorCode::AccessTokenRevoked,
    );

    let wrong = square_oauth::RenewToken::new(id(), ClientSecret::new("sq0csp-SENTINEL-wrong"), new_access);
    let error = failure(driver.send(&wrong), "a renewal with a wrong secret");
    error.assert_no_secret("sq0csp-SENTINEL-wrong");
    assert_refused(&error, 401, ErrorCode::Unauthorized);
}

/// The `migration_token` grant: a legacy token becomes a code-flow pair, once.
pub fn migration_token<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let legacy = fixture.mock.seed_legacy_token(CLIENT_ID, MERCHANT);
    let migrate = ObtainToken::migration(id(), secret(), MigrationToken::new(legacy.clone()));
    let tokens = driver.send(&migrate).expect("a migration");
    assert!(tokens.refresh_token.is_some());
    driver.send(&status_of(&tokens.access_token.expect("access"))).expect("the migrated token works");
    let again = ObtainToken::migration(id(), secret(), MigrationToken::new(legacy));
    assert_refused(&failure(driver.send(&again), "a second migration"), 400, ErrorCode::Unauthorized);
}

// ---------------------------------------------------------------------------------------------
// Square's refusals

/// A code older than five minutes is refused, and the refusal is sent once.
pub fn expired_code<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let code = fixture.code();
    fixture.mock.advance(Duration::from_secs(6 * 60));
    let error = failure(driver.send(&ObtainToken::authorization_code(id(), secret(), code)), "an expired code");
    assert_refused(&error, 400, ErrorCode::Unauthorized);
    assert_eq!(fixture.requests_to(TOKEN).len(), 1);
}

/// A code works once.
pub fn reused_code<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let code = fixture.code();
    driver.send(&ObtainToken::authorization_code(id(), secret(), code.clone())).expect("the first exchange");
    let error = failure(driver.send(&ObtainToken::authorization_code(id(), secret(), code)), "a reused code");
    assert_refused(&error, 400, ErrorCode::Unauthorized);
}

/// A PKCE code with the wrong verifier is refused (and, Square's rule, not spent).
pub fn wrong_verifier<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let (code, verifier) = fixture.pkce_code();
    let wrong = CodeVerifier::generate().expect("entropy");
    let error = failure(driver.send(&ObtainToken::pkce(id(), code.clone(), wrong)), "a wrong verifier");
    assert_refused(&error, 400, ErrorCode::Unauthorized);
    driver.send(&ObtainToken::pkce(id(), code, verifier)).expect("the right verifier still works");
}

/// A wrong client secret: 401 `UNAUTHORIZED`, and neither secret in the error.
pub fn bad_client_secret<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let wrong = "sq0csp-SENTINEL-wrong-secret-never-printed";
    let exchange = ObtainToken::authorization_code(id(), ClientSecret::new(wrong), fixture.code());
    let error = failure(driver.send(&exchange), "a wrong secret");
    error.assert_no_secret(wrong);
    assert_refused(&error, 401, ErrorCode::Unauthorized);

    let revoke = RevokeToken::merchant(id(), ClientSecret::new(wrong), MerchantId::new(MERCHANT));
    let error = failure(driver.send(&revoke), "a revocation with a wrong secret");
    error.assert_no_secret(wrong);
    assert_refused(&error, 401, ErrorCode::Unauthorized);
}

/// The caller's mistake is caught before anything is sent.
pub fn invalid_input_is_never_sent<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let exchange = ObtainToken::authorization_code(ClientId::new(""), secret(), AuthorizationCode::new("sq0cgb-x"));
    let error = failure(driver.send(&exchange), "an empty client id");
    assert_eq!(error.kind, ErrorKind::Core);
    assert!(matches!(error.core, Some(square_oauth::Error::InvalidInput(_))), "{error:?}");
    assert!(fixture.mock.requests().is_empty(), "nothing was sent");
}

// ---------------------------------------------------------------------------------------------
// Faults and retries

/// 429 with `Retry-After` (seconds, then an HTTP date): the retry arrives no sooner. A code
/// exchange is never retried after a 429.
pub fn rate_limited_retry_after_is_honoured<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let access = fixture.code_flow_tokens(&driver).access_token.expect("access");

    let gap = |retry_after: String| {
        fixture.mock.clear_requests();
        fixture.mock.fault(STATUS, Fault::Status { status: 429, retry_after: Some(retry_after) }, 1);
        driver.send(&status_of(&access)).expect("the retry succeeds");
        let arrived = fixture.requests_to(STATUS);
        assert_eq!(arrived.len(), 2, "one 429, one retry");
        arrived[1].arrived.duration_since(arrived[0].arrived)
    };
    let waited = gap("1".to_owned());
    assert!(waited >= Duration::from_secs(1), "Retry-After: 1 but the retry came after {waited:?}");
    // A date has whole seconds: three seconds from now is at least two from the answer.
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3);
    let date = jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&at).expect("a date");
    let waited = gap(date.clone());
    assert!(waited >= Duration::from_millis(1500), "Retry-After: {date} but the retry came after {waited:?}");

    fixture.mock.clear_requests();
    fixture.mock.fault(TOKEN, Fault::Status { status: 429, retry_after: Some("0".to_owned()) }, 1);
    let exchange = ObtainToken::authorization_code(id(), secret(), fixture.code());
    let error = failure(driver.send(&exchange), "a rate-limited code exchange");
    assert_refused(&error, 429, ErrorCode::RateLimited);
    assert_eq!(fixture.requests_to(TOKEN).len(), 1, "a code exchange is not sent twice");
}

/// 503: a status call and a code-flow refresh are retried; a PKCE refresh is not, and its
/// refresh token is still good because Square never acted on it.
pub fn unavailable_retried_for_status_not_for_pkce_refresh<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let code_flow = fixture.code_flow_tokens(&driver);
    let access = code_flow.access_token.expect("access");
    let unavailable = Fault::Status { status: 503, retry_after: None };

    fixture.mock.clear_requests();
    fixture.mock.fault(STATUS, unavailable.clone(), 1);
    driver.send(&status_of(&access)).expect("retried after the 503");
    assert_eq!(fixture.requests_to(STATUS).len(), 2);

    fixture.mock.clear_requests();
    fixture.mock.fault(TOKEN, unavailable.clone(), 1);
    let refresh = ObtainToken::refresh(id(), secret(), code_flow.refresh_token.expect("refresh"));
    driver.send(&refresh).expect("a code-flow refresh is replayable");
    assert_eq!(fixture.requests_to(TOKEN).len(), 2);

    let pkce = fixture.pkce_tokens(&driver).refresh_token.expect("a PKCE refresh token");
    fixture.mock.clear_requests();
    fixture.mock.fault(TOKEN, unavailable, 1);
    let error = failure(driver.send(&ObtainToken::pkce_refresh(id(), pkce.clone())), "a PKCE refresh on 503");
    assert_eq!(error.status.map(|s| s.as_u16()), Some(503), "{error:?}");
    assert_eq!(fixture.requests_to(TOKEN).len(), 1, "a PKCE refresh is sent once");
    driver.send(&ObtainToken::pkce_refresh(id(), pkce)).expect("the refresh token was never spent");
}

/// A stalled answer ends in the timeout, within a generous bound. A replayable call that timed
/// out is retried; a PKCE refresh is not.
pub fn stall_ends_in_timeout<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let tokens = fixture.pkce_tokens(&driver);
    let access = tokens.access_token.expect("access");
    let timeout = Duration::from_millis(500);

    let impatient: D = fixture.driver_with(&never().timeout(timeout));
    fixture.mock.fault(STATUS, Fault::Delay(Duration::from_secs(5)), 1);
    let started = Instant::now();
    let error = failure(impatient.send(&status_of(&access)), "a stalled answer");
    let took = started.elapsed();
    assert_eq!(error.kind, ErrorKind::Timeout, "{error:?}");
    assert!(took >= timeout && took < timeout + Duration::from_secs(3), "timed out after {took:?}");

    let retrying: D = fixture.driver_with(&Settings::default().timeout(timeout));
    fixture.mock.clear_requests();
    fixture.mock.fault(STATUS, Fault::Delay(Duration::from_secs(3)), 1);
    retrying.send(&status_of(&access)).expect("the retry after the timeout");
    assert_eq!(fixture.requests_to(STATUS).len(), 2);

    fixture.mock.clear_requests();
    fixture.mock.fault(TOKEN, Fault::Delay(Duration::from_secs(3)), 1);
    let refresh = ObtainToken::pkce_refresh(id(), tokens.refresh_token.expect("refresh"));
    let error = failure(retrying.send(&refresh), "a stalled PKCE refresh");
    assert_eq!(error.kind, ErrorKind::Timeout, "{error:?}");
    assert_eq!(fixture.requests_to(TOKEN).len(), 1, "a PKCE refresh that may have arrived is not sent again");
}

/// The connection closed without an answer: retried for a status call, not for a PKCE refresh
/// (whose token the fake never spent).
pub fn reset_connection<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let tokens = fixture.pkce_tokens(&driver);

    fixture.mock.clear_requests();
    fixture.mock.fault(STATUS, Fault::Reset, 1);
    driver.send(&status_of(tokens.access_token.as_ref().expect("access"))).expect("retried after the reset");
    assert_eq!(fixture.requests_to(STATUS).len(), 2);

    let refresh = tokens.refresh_token.expect("refresh");
    fixture.mock.clear_requests();
    fixture.mock.fault(TOKEN, Fault::Reset, 1);
    let error = failure(driver.send(&ObtainToken::pkce_refresh(id(), refresh.clone())), "a reset PKCE refresh");
    assert_eq!(error.kind, ErrorKind::Transport, "{error:?}");
    assert!(error.may_have_reached_square, "a reset after the request was read: {error:?}");
    assert_eq!(fixture.requests_to(TOKEN).len(), 1);
    driver.send(&ObtainToken::pkce_refresh(id(), refresh)).expect("the fake never acted on it");
}

/// The answer's body stops halfway: retried for a status call; for a PKCE refresh it is a
/// transport error, sent once, and the refresh token is gone (Square acted, the answer was lost).
pub fn truncated_body<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let tokens = fixture.pkce_tokens(&driver);

    fixture.mock.clear_requests();
    fixture.mock.fault(STATUS, Fault::Truncate, 1);
    driver.send(&status_of(tokens.access_token.as_ref().expect("access"))).expect("retried after the truncation");
    assert_eq!(fixture.requests_to(STATUS).len(), 2);

    let refresh = tokens.refresh_token.expect("refresh");
    fixture.mock.clear_requests();
    fixture.mock.fault(TOKEN, Fault::Truncate, 1);
    let error = failure(driver.send(&ObtainToken::pkce_refresh(id(), refresh.clone())), "a truncated answer");
    assert_eq!(error.kind, ErrorKind::Transport, "{error:?}");
    assert!(error.may_have_reached_square, "{error:?}");
    assert_eq!(fixture.requests_to(TOKEN).len(), 1);
    let again = failure(driver.send(&ObtainToken::pkce_refresh(id(), refresh)), "the spent refresh token");
    assert_refused(&again, 400, ErrorCode::Unauthorized);
}

/// A proxy's HTML 502: an unexpected answer with its status (and retried when allowed).
pub fn html_502<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let access = fixture.code_flow_tokens(&driver).access_token.expect("access");

    let once: D = fixture.driver_with(&never());
    fixture.mock.fault(STATUS, Fault::Html502, 1);
    let error = failure(once.send(&status_of(&access)), "an HTML 502");
    assert_eq!(error.kind, ErrorKind::Core);
    assert_eq!(error.status.map(|s| s.as_u16()), Some(502));
    let Some(square_oauth::Error::UnexpectedResponse(unexpected)) = &error.core else {
        panic!("an unexpected answer: {error:?}")
    };
    assert_eq!(unexpected.kind, UnexpectedKind::NotJson);
    assert!(unexpected.content_type.as_deref().is_some_and(|t| t.starts_with("text/html")));

    fixture.mock.clear_requests();
    fixture.mock.fault(STATUS, Fault::Html502, 1);
    driver.send(&status_of(&access)).expect("retried after the 502");
    assert_eq!(fixture.requests_to(STATUS).len(), 2);
}

/// A 302 is returned as an error, never followed (a redirect could carry a credential away).
pub fn redirect_not_followed<D: Driver>() {
    let fixture = Fixture::start();
    let elsewhere = Fixture::start();
    let driver: D = fixture.driver();
    let access = fixture.code_flow_tokens(&driver).access_token.expect("access");

    fixture.mock.clear_requests();
    fixture.mock.fault(STATUS, Fault::Redirect(format!("{}{STATUS}", elsewhere.mock.base_url())), 1);
    let error = failure(driver.send(&status_of(&access)), "a redirect");
    assert_eq!(error.kind, ErrorKind::Redirect, "{error:?}");
    assert_eq!(error.status.map(|s| s.as_u16()), Some(302));

    fixture.mock.fault(TOKEN, Fault::Redirect(format!("{}{TOKEN}", elsewhere.mock.base_url())), 1);
    let exchange = ObtainToken::authorization_code(id(), secret(), fixture.code());
    assert_eq!(failure(driver.send(&exchange), "a redirected exchange").kind, ErrorKind::Redirect);

    assert_eq!(fixture.requests_to(STATUS).len() + fixture.requests_to(TOKEN).len(), 2, "each sent once");
    assert!(elsewhere.mock.requests().is_empty(), "nothing reached the redirect's target");
}

/// A body over the cap stops the read at the cap, with the cap in the error; not retried.
pub fn oversize_body_stopped_at_cap<D: Driver>() {
    let fixture = Fixture::start();
    let driver: D = fixture.driver();
    let access = fixture.code_flow_tokens(&driver).access_token.expect("access");

    fixture.mock.clear_requests();
    fixture.mock.fault(STATUS, Fault::Oversize(2 * 1024 * 1024), 1);
    let error = failure(driver.send(&status_of(&access)), "a 2 MiB answer");
    assert_eq!(error.kind, ErrorKind::BodyTooLarge { limit: square_oauth::DEFAULT_MAX_RESPONSE_BYTES });

    let small = Config::builder()
        .base_url(&fixture.mock.base_url())
        .max_response_bytes(16 * 1024)
        .build()
        .expect("a configuration");
    let capped = D::new(small, &Settings::default());
    fixture.mock.fault(STATUS, Fault::Oversize(16 * 1024 + 1), 1);
    let error = failure(capped.send(&status_of(&access)), "an answer one byte over");
    assert_eq!(error.kind, ErrorKind::BodyTooLarge { limit: 16 * 1024 });
    assert_eq!(fixture.requests_to(STATUS).len(), 2, "neither was retried");
    capped.send(&status_of(&access)).expect("a normal answer is under the cap");
}

/// A code exchange is retried when the connection was refused (it provably never left): the
/// fake starts listening during the backoff and receives it exactly once.
pub fn single_use_retried_when_never_sent<D: Driver>() {
    let addr = TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free port");
    let config = Config::custom(&format!("http://{addr}")).expect("a loopback URL");
    let policy = RetryPolicy::default().max_retries(4).initial_backoff(Duration::from_millis(400));
    let driver = D::new(config, &Settings::default().retry_policy(policy));
    let late = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        MockSquare::start(Fixture::mock_config().listen(addr)).expect("the fake starts on the freed port")
    });
    let exchange = ObtainToken::authorization_code(id(), secret(), AuthorizationCode::new("sq0cgb-never-issued"));
    let result = driver.send(&exchange);
    let mock = late.join().expect("the starter thread");
    let error = failure(result, "an unknown code");
    assert_refused(&error, 400, ErrorCode::Unauthorized);
    assert_eq!(mock.requests().len(), 1, "refused connections carried nothing; the one that connected, once");
}

// ---------------------------------------------------------------------------------------------
// TLS

/// Over https to the fake behind a self-signed certificate: works with that CA given to the
/// client, refused (before any request is sent) without it.
pub fn tls_with_private_ca<D: Driver>() {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("a self-signed certificate");
    let (certificate, key) = (certified.cert.pem(), certified.signing_key.serialize_pem());
    let fixture = Fixture::with(Fixture::mock_config().tls(&certificate, &key));
    assert!(fixture.mock.base_url().starts_with("https://"));

    let trusting: D = fixture.driver_with(&Settings::default().root_ca_pem(certificate));
    let tokens = fixture.code_flow_tokens(&trusting);
    let access = tokens.access_token.expect("access");
    trusting.send(&status_of(&access)).expect("a status over TLS");
    let seen = fixture.mock.requests().len();

    let stranger: D = fixture.driver();
    let error = failure(stranger.send(&status_of(&access)), "an unknown CA");
    assert_eq!(error.kind, ErrorKind::CertificateRefused, "{error:?}");
    assert!(!error.may_have_reached_square, "{error:?}");
    assert_eq!(fixture.mock.requests().len(), seen, "no request went out over an untrusted connection");
}

// ---------------------------------------------------------------------------------------------
// Load

/// How many requests the load scenario sends.
pub const LOAD_REQUESTS: usize = 10_000;

/// [`LOAD_REQUESTS`] status calls, [`Driver::LOAD_IN_FLIGHT`] at a time: no error, each sent
/// once, and never more connections open at once than the pool allows: those in use (at most one
/// per request in flight), the idle ones it keeps (set to the same number here), and the spare
/// ones its pool may be making or closing ([`Driver::LOAD_SPARE_CONNECTIONS`]); afterwards no
/// more than the idle ones.
///
/// Why not "at most one per request in flight": hyper-util's pool, when a request finds no idle
/// connection, starts a new one and also waits for one to come back; if one comes back first the
/// new connection is still finished and kept idle, or closed when the idle pool is full (the
/// reqwest run saw 520 and 622 open against 512 in use and idle). ureq opens a connection only
/// for a request.
pub fn load<D: Driver>() {
    let fixture = Fixture::start();
    let in_flight = D::LOAD_IN_FLIGHT;
    let max_idle = in_flight;
    let driver: D = fixture.driver_with(&Settings::default().max_idle_connections(max_idle));
    let access = fixture.code_flow_tokens(&driver).access_token.expect("access");
    let operations: Vec<_> = (0..LOAD_REQUESTS).map(|_| status_of(&access)).collect();
    fixture.mock.clear_requests();

    let port = fixture.mock.addr().port();
    let started = Instant::now();
    let (outcomes, most_open) = sockets::most_established_while(port, || driver.send_all(operations, in_flight));
    let took = started.elapsed();
    let errors: Vec<_> = outcomes.iter().filter_map(|outcome| outcome.as_ref().err()).collect();
    assert!(errors.is_empty(), "{}: {} errors, first: {:?}", driver.name(), errors.len(), errors.first());
    assert_eq!(outcomes.len(), LOAD_REQUESTS);
    assert_eq!(fixture.requests_to(STATUS).len(), LOAD_REQUESTS, "each request sent once, none retried");
    eprintln!(
        "load through {}: {LOAD_REQUESTS} requests, {in_flight} in flight, {took:?}, at most {most_open:?} connections open",
        driver.name()
    );
    if let Some(most_open) = most_open {
        let bound = in_flight + max_idle + D::LOAD_SPARE_CONNECTIONS;
        assert!(most_open >= 1, "the sampler saw the connections");
        assert!(most_open <= bound, "{}: {most_open} connections open at once, pool bound {bound}", driver.name());
        let left = sockets::established_to(port).unwrap_or(0);
        assert!(left <= max_idle, "{left} connections left open, {max_idle} may idle");
    }
}
