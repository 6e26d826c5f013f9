//! Every named call against the fake Square, the token lifecycle's `refresh_if_due`, and a
//! compile-time proof that the futures are `Send`.

mod common;

use common::*;
use square_oauth::AsyncTransport as _;
use square_oauth_hyper::AsyncCalls as _;
use square_oauth_hyper::square_oauth::jiff::{SignedDuration, Timestamp};
use square_oauth_hyper::square_oauth::{
    AccessToken, CodeVerifier, ErrorCode, Flow, ObtainToken, Operation, RefreshRules, RetrieveTokenStatus, RevokeToken,
    TokenSet,
};
use square_oauth_hyper::{Client, Error};

/// Compiles only if `send` returns a `Send` future for every operation (whose output is `Send`,
/// as every operation's is), so that it can be spawned on tokio.
fn send_is_send<'a, O>(client: &'a Client, operation: &'a O) -> impl Send + 'a
where
    O: Operation + Sync,
    O::Output: Send,
{
    client.send(operation)
}

fn named_calls_are_send<'a>(client: &'a Client, operation: &'a ObtainToken) -> impl Send + 'a {
    client.obtain_token(operation)
}

fn refresh_is_send<'a>(client: &'a Client, tokens: &'a mut TokenSet, rules: &'a RefreshRules) -> impl Send + 'a {
    client.refresh_if_due(tokens, None, rules)
}

fn assert_send_sync_clone<T: Send + Sync + Clone>() {}

#[test]
fn futures_and_client_are_send() {
    let _ = send_is_send::<RetrieveTokenStatus>;
    let _ = send_is_send::<ObtainToken>;
    let _ = refresh_is_send;
    let _ = named_calls_are_send;
    assert_send_sync_clone::<Client>();
    fn error_is_send_sync<E: Send + Sync + std::error::Error + 'static>() {}
    error_is_send_sync::<Error>();
}

#[tokio::test]
async fn code_flow_obtain_status_refresh_revoke() {
    let square = square();
    let client = client(&square);

    let exchange = ObtainToken::authorization_code(client_id(), client_secret(), code(&square, None));
    let token = client.obtain_token(&exchange).await.unwrap();
    let access_token = token.access_token.clone().unwrap();
    assert_eq!(token.merchant_id.as_ref().unwrap().as_str(), MERCHANT);

    // The code is single-use: a second exchange is refused, once.
    let again = client.obtain_token(&exchange).await.unwrap_err();
    assert!(again.has_code(&ErrorCode::Unauthorized), "{again:?}");
    assert_eq!(requests_to(&square, "/oauth2/token"), 2);

    let status = client.token_status(&RetrieveTokenStatus::new(access_token.clone())).await.unwrap();
    assert_eq!(status.merchant_id.unwrap().as_str(), MERCHANT);

    let mut tokens = TokenSet::from_response(Flow::CodeFlow, client_id(), token, Timestamp::now()).unwrap();
    let now_due = RefreshRules { refresh_after: SignedDuration::ZERO, ..RefreshRules::default() };
    assert!(!client.refresh_if_due(&mut tokens, Some(&client_secret()), &RefreshRules::default()).await.unwrap());
    assert!(client.refresh_if_due(&mut tokens, Some(&client_secret()), &now_due).await.unwrap());
    assert_ne!(tokens.access_token().expose_secret(), access_token.expose_secret());

    let revoke = RevokeToken::access_token(client_id(), client_secret(), tokens.access_token().clone());
    assert_eq!(client.revoke_token(&revoke).await.unwrap().success, Some(true));
    let revoked = client.token_status(&RetrieveTokenStatus::new(tokens.access_token().clone())).await.unwrap_err();
    // The specification's answer for a revoked token, which the fake gives by default.
    assert!(revoked.has_code(&ErrorCode::Unauthorized), "{revoked:?}");
    assert_eq!(revoked.status(), Some(http::StatusCode::UNAUTHORIZED));
}

#[tokio::test]
async fn pkce_refresh_rotates_the_refresh_token() {
    let square = square();
    let client = client(&square);
    let verifier = CodeVerifier::from_entropy([9; 32]);
    let exchange = ObtainToken::pkce(client_id(), code(&square, Some(&verifier)), verifier);
    let token = client.obtain_token(&exchange).await.unwrap();
    let mut tokens = TokenSet::from_response(Flow::Pkce, client_id(), token, Timestamp::now()).unwrap();
    let first = tokens.refresh_token().unwrap().clone();

    let now_due = RefreshRules { refresh_after: SignedDuration::ZERO, ..RefreshRules::default() };
    assert!(client.refresh_if_due(&mut tokens, None, &now_due).await.unwrap());

    assert_ne!(tokens.refresh_token().unwrap().expose_secret(), first.expose_secret());
    let spent = client.obtain_token(&ObtainToken::pkce_refresh(client_id(), first)).await.unwrap_err();
    assert!(spent.has_code(&ErrorCode::Unauthorized), "{spent:?}");
}

#[tokio::test]
async fn refresh_without_the_secret_fails_before_sending() {
    let square = square();
    let client = client(&square);
    let exchange = ObtainToken::authorization_code(client_id(), client_secret(), code(&square, None));
    let token = client.obtain_token(&exchange).await.unwrap();
    let mut tokens = TokenSet::from_response(Flow::CodeFlow, client_id(), token, Timestamp::now()).unwrap();
    let now_due = RefreshRules { refresh_after: SignedDuration::ZERO, ..RefreshRules::default() };

    let error = client.refresh_if_due(&mut tokens, None, &now_due).await.unwrap_err();

    assert!(
        matches!(error, Error::Lifecycle(square_oauth_hyper::square_oauth::LifecycleError::ClientSecretRequired)),
        "{error:?}"
    );
    assert_eq!(requests_to(&square, "/oauth2/token"), 1);
}

#[tokio::test]
#[allow(deprecated)]
async fn renew_token_still_works() {
    let square = square();
    let client = client(&square);
    let exchange = ObtainToken::authorization_code(client_id(), client_secret(), code(&square, None));
    let access_token: AccessToken = client.obtain_token(&exchange).await.unwrap().access_token.unwrap();
    let renew = square_oauth_hyper::square_oauth::RenewToken::new(client_id(), client_secret(), access_token);
    let renewed = client.renew_token(&renew).await.unwrap();
    assert!(renewed.access_token.is_some());
}

#[test]
fn config_and_debug() {
    let client = Client::new(square_oauth_hyper::square_oauth::Config::sandbox());
    assert_eq!(client.config().base_url(), "https://connect.squareupsandbox.com");
    let debug = format!("{client:?}");
    assert!(debug.contains("Client") && debug.contains("max_response_bytes"), "{debug}");
}
