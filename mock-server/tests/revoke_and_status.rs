//! RevokeToken (and its webhook), RetrieveTokenStatus, personal tokens, and the deprecated
//! RenewToken as the 2024-03-20 specification describes it.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use hmac::Mac as _;
use serde_json::{Value, json};
use square_oauth_mock::{Behaviour, MockSquare};

fn client_auth() -> String {
    format!("Client {SECRET}")
}

fn revoke(base: &str, auth: Option<&str>, body: &Value) -> Answer {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
    post_json(base, "/oauth2/revoke", body, &headers)
}

/// A code-flow grant for `merchant`: (access token, refresh token).
fn grant(square: &MockSquare, merchant: &str) -> (String, String) {
    let url = authorize_url(&square.base_url(), &[("scope", "PAYMENTS_READ")]);
    let code = param(&square.approve(&url, Some(merchant)).unwrap(), "code").unwrap();
    let v = token_ok(&exchange_code(&square.base_url(), &code));
    (v["access_token"].as_str().unwrap().to_owned(), v["refresh_token"].as_str().unwrap().to_owned())
}

#[test]
fn revoke_needs_a_client_authorization_header() {
    let square = start();
    let base = square.base_url();
    let (token, _) = grant(&square, SELLER);
    let body = json!({"client_id": CLIENT_ID, "access_token": token});
    for auth in [None, Some(format!("Bearer {token}")), Some(SECRET.to_owned()), Some("Client ".to_owned())] {
        let a = revoke(&base, auth.as_deref(), &body);
        assert_eq!(a.status, 400, "{auth:?}");
        assert_eq!(a.json(), json!({"message": "bad authorization header", "type": "bad_request.invalid_parameter"}));
    }
    let wrong = revoke(&base, Some("Client sq0csp-wrong"), &body);
    assert_error(&wrong, 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    // The token survived all of that.
    assert_eq!(status_of(&base, &token).status, 200);
}

#[test]
fn revoke_takes_access_token_or_merchant_id_never_both() {
    let square = start();
    let base = square.base_url();
    let (token, _) = grant(&square, SELLER);
    let both = revoke(
        &base,
        Some(&client_auth()),
        &json!({"client_id": CLIENT_ID, "access_token": token, "merchant_id": SELLER}),
    );
    assert_error(&both, 400, "INVALID_REQUEST_ERROR", "CONFLICTING_PARAMETERS");
    let neither = revoke(&base, Some(&client_auth()), &json!({"client_id": CLIENT_ID}));
    assert_error(&neither, 400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER");
    let no_client = revoke(&base, Some(&client_auth()), &json!({"access_token": token}));
    assert_error(&no_client, 400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER");
    let unknown =
        revoke(&base, Some(&client_auth()), &json!({"client_id": CLIENT_ID, "access_token": "EAAAnot-a-token"}));
    assert_error(&unknown, 404, "INVALID_REQUEST_ERROR", "NOT_FOUND");
    assert_eq!(status_of(&base, &token).status, 200);
}

#[test]
fn revoke_only_access_token_keeps_the_authorization() {
    let square = start();
    let base = square.base_url();
    let (token, rt) = grant(&square, SELLER);
    let (other, _) = grant(&square, SELLER);
    let a = revoke(
        &base,
        Some(&client_auth()),
        &json!({"client_id": CLIENT_ID, "access_token": token, "revoke_only_access_token": true}),
    );
    assert_eq!(a.status, 200);
    assert_schema("RevokeTokenResponse", &a.json());
    assert_eq!(a.json(), json!({"success": true}));
    assert_error(&status_of(&base, &token), 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    assert_eq!(status_of(&base, &other).status, 200);
    token_ok(&refresh(&base, &rt, Some(SECRET)));
}

#[test]
fn full_revoke_kills_every_token_of_the_app_for_that_seller() {
    let square = start();
    let base = square.base_url();
    let (t1, r1) = grant(&square, SELLER);
    let (t2, r2) = grant(&square, SELLER);
    let (kept, kept_rt) = grant(&square, SELLER_2);
    let a = revoke(&base, Some(&client_auth()), &json!({"client_id": CLIENT_ID, "access_token": t1}));
    assert_eq!(a.json(), json!({"success": true}));
    for t in [&t1, &t2] {
        assert_error(&status_of(&base, t), 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    }
    for r in [&r1, &r2] {
        assert_error(&refresh(&base, r, Some(SECRET)), 400, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    }
    assert_eq!(status_of(&base, &kept).status, 200);
    token_ok(&refresh(&base, &kept_rt, Some(SECRET)));
    // By merchant: the other seller's authorization ends too; repeating it is harmless.
    let body = json!({"client_id": CLIENT_ID, "merchant_id": SELLER_2});
    assert_eq!(revoke(&base, Some(&client_auth()), &body).json(), json!({"success": true}));
    assert_error(&status_of(&base, &kept), 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    assert_eq!(revoke(&base, Some(&client_auth()), &body).status, 200);
    let never = revoke(&base, Some(&client_auth()), &json!({"client_id": CLIENT_ID, "merchant_id": "NEVERAUTHORIZED"}));
    assert_error(&never, 404, "INVALID_REQUEST_ERROR", "NOT_FOUND");
}

/// Accepts one connection, failing the test instead of hanging if none comes.
fn accept_within(listener: &TcpListener, limit: Duration) -> std::net::TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = std::time::Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok((conn, _)) => {
                conn.set_nonblocking(false).unwrap();
                return conn;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("no webhook delivery: {e}"),
        }
    }
}

#[test]
fn full_revoke_sends_a_signed_webhook() {
    let square = start();
    let base = square.base_url();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/square/webhooks?x=1", listener.local_addr().unwrap());
    let key = "whsec-test-key";
    square.webhook(&url, key);
    let (token, _) = grant(&square, SELLER);
    // revoke_only_access_token does not end the authorization: no event (one would name SELLER_2).
    let (only, _) = grant(&square, SELLER_2);
    revoke(
        &base,
        Some(&client_auth()),
        &json!({"client_id": CLIENT_ID, "access_token": only, "revoke_only_access_token": true}),
    );
    assert_eq!(
        revoke(&base, Some(&client_auth()), &json!({"client_id": CLIENT_ID, "access_token": token})).status,
        200
    );

    let mut conn = accept_within(&listener, Duration::from_secs(10));
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    assert!(request_line.starts_with("POST /square/webhooks?x=1 HTTP/1.1"), "{request_line}");
    let mut signature = None;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        match k.to_ascii_lowercase().as_str() {
            "x-square-hmacsha256-signature" => signature = Some(v.trim().to_owned()),
            "content-length" => length = v.trim().parse().unwrap(),
            _ => {}
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").unwrap();

    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    mac.update(&body);
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(signature.as_deref(), Some(expected.as_str()));

    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_schema("OauthAuthorizationRevokedEvent", &event);
    assert_eq!(event["type"], "oauth.authorization.revoked");
    assert_eq!(event["merchant_id"], SELLER);
    assert_eq!(event["data"]["type"], "revocation");
    assert_eq!(event["data"]["object"]["revocation"]["revoker_type"], "APPLICATION");
    assert_eq!(event["event_id"].as_str().unwrap().len(), 36);
}

#[test]
fn token_status_reports_scopes_expiry_client_and_merchant() {
    let square = start();
    let base = square.base_url();
    let code = code_flow_code(&square, "PAYMENTS_READ ORDERS_WRITE");
    let v = token_ok(&exchange_code(&base, &code));
    let a = status_of(&base, v["access_token"].as_str().unwrap());
    assert_eq!(a.status, 200);
    let s = a.json();
    assert_schema("RetrieveTokenStatusResponse", &s);
    assert_eq!(s["scopes"], json!(["PAYMENTS_READ", "ORDERS_WRITE"]));
    assert_eq!(s["client_id"], CLIENT_ID);
    assert_eq!(s["merchant_id"], SELLER);
    assert_eq!(s["expires_at"], v["expires_at"]);
}

#[test]
fn token_status_refuses_invalid_tokens_with_401() {
    let square = start();
    let base = square.base_url();
    assert_error(&status_of(&base, "EAAAnot-a-token"), 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    assert_error(&post_empty(&base, "/oauth2/token/status", &[]), 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    let client = post_empty(&base, "/oauth2/token/status", &[("authorization", &client_auth())]);
    assert_error(&client, 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    // The scheme is case-insensitive (RFC 6750).
    let (token, _) = grant(&square, SELLER);
    let lower = post_empty(&base, "/oauth2/token/status", &[("authorization", &format!("bearer {token}"))]);
    assert_eq!(lower.status, 200);
}

#[test]
fn personal_tokens_never_expire() {
    let square = start();
    let base = square.base_url();
    let token = square.seed_personal_token(SELLER);
    square.advance(400 * DAY);
    let a = status_of(&base, &token);
    assert_eq!(a.status, 200);
    let s = a.json();
    assert_schema("RetrieveTokenStatusResponse", &s);
    assert!(s.get("expires_at").is_none(), "{s}");
    assert_eq!(s["merchant_id"], SELLER);
    assert!(s["scopes"].as_array().unwrap().len() > 50);
}

fn renew(base: &str, client_id: &str, auth: Option<&str>, token: &str) -> Answer {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
    post_json(
        base,
        &format!("/oauth2/clients/{client_id}/access-token/renew"),
        &json!({"access_token": token}),
        &headers,
    )
}

#[test]
fn renew_token_works_within_15_days_of_expiry() {
    let square = start();
    let base = square.base_url();
    let (token, _) = grant(&square, SELLER);
    square.advance(40 * DAY);
    let a = renew(&base, CLIENT_ID, Some(&client_auth()), &token);
    assert_eq!(a.status, 200, "{}", a.body);
    let v = a.json();
    assert_schema_2024("RenewTokenResponse", &v);
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["merchant_id"], SELLER);
    let renewed = v["access_token"].as_str().unwrap();
    assert_ne!(renewed, token);
    let expires = epoch_secs(v["expires_at"].as_str().unwrap());
    assert!(expires.abs_diff(fake_now_secs(&square) + 30 * 86_400) <= 5);
    assert_eq!(status_of(&base, renewed).status, 200);
    // More than 15 days past expiry: too late.
    square.advance(46 * DAY);
    let late = renew(&base, CLIENT_ID, Some(&client_auth()), renewed);
    assert_eq!(late.status, 401);
    assert_schema_2024("RenewTokenResponse", &late.json());
    assert_eq!(late.error().1, "UNAUTHORIZED");
}

#[test]
fn a_repeated_revoke_succeeds_again_unless_switched_to_refuse() {
    let square = start();
    let base = square.base_url();
    let (token, _) = grant(&square, SELLER);
    let by_token = json!({"client_id": CLIENT_ID, "access_token": token});
    let by_merchant = json!({"client_id": CLIENT_ID, "merchant_id": SELLER});
    assert_eq!(revoke(&base, Some(&client_auth()), &by_token).json(), json!({"success": true}));
    // The default: the same answer again.
    assert_eq!(revoke(&base, Some(&client_auth()), &by_token).json(), json!({"success": true}));
    assert_eq!(revoke(&base, Some(&client_auth()), &by_merchant).json(), json!({"success": true}));
    // The other behaviour: what a client may see when the first answer was lost.
    square.set_behaviour(Behaviour { refuse_repeated_revoke: true, ..Behaviour::default() });
    assert_error(&revoke(&base, Some(&client_auth()), &by_token), 401, "AUTHENTICATION_ERROR", "ACCESS_TOKEN_REVOKED");
    assert_error(
        &revoke(&base, Some(&client_auth()), &by_merchant),
        401,
        "AUTHENTICATION_ERROR",
        "ACCESS_TOKEN_REVOKED",
    );
    // A seller with a live grant is still revoked normally.
    let (fresh, _) = grant(&square, SELLER);
    assert_eq!(revoke(&base, Some(&client_auth()), &by_merchant).json(), json!({"success": true}));
    assert_eq!(status_of(&base, &fresh).status, 401);
}

#[test]
fn renew_token_checks_its_client_header() {
    let square = start();
    let base = square.base_url();
    let (token, _) = grant(&square, SELLER);
    let a = renew(&base, CLIENT_ID, Some(&format!("Bearer {token}")), &token);
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["message"], "bad authorization header");
    let a = renew(&base, CLIENT_ID, Some("Client sq0csp-wrong"), &token);
    assert_eq!((a.status, a.error().1.as_str()), (401, "UNAUTHORIZED"));
    let a = renew(&base, OTHER_CLIENT, Some(&format!("Client {OTHER_SECRET}")), &token);
    assert_eq!((a.status, a.error().1.as_str()), (404, "NOT_FOUND"));
    assert_schema_2024("RenewTokenResponse", &a.json());
}
