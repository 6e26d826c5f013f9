//! ObtainToken: code flow, PKCE, refresh in both flows, scope narrowing, short-lived tokens,
//! lifetimes on the fake's clock, and the legacy migration grant.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use square_oauth_mock::Behaviour;

#[test]
fn code_flow_exchange_returns_squares_token_shape() {
    let square = start();
    let base = square.base_url();
    let code = code_flow_code(&square, "PAYMENTS_READ ORDERS_READ");
    let v = token_ok(&exchange_code(&base, &code));
    assert!(v["access_token"].as_str().unwrap().starts_with("EAAA"));
    assert!(v["refresh_token"].as_str().unwrap().starts_with("EQAA"));
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["merchant_id"], SELLER);
    assert_eq!(v["short_lived"], false);
    assert!(v.get("refresh_token_expires_at").is_none(), "code flow: {v}");
    // 30 days on the fake's clock.
    let expires = epoch_secs(v["expires_at"].as_str().unwrap());
    let now = fake_now_secs(&square);
    assert!(expires.abs_diff(now + 30 * 86_400) <= 5, "{expires} vs {now}");
}

#[test]
fn a_code_is_single_use() {
    let square = start();
    let base = square.base_url();
    let code = code_flow_code(&square, "PAYMENTS_READ");
    token_ok(&exchange_code(&base, &code));
    let again = exchange_code(&base, &code);
    assert_error(&again, 400, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    assert!(again.body.contains("already used"));
    let unknown = exchange_code(&base, "sq0cgb-doesnotexist");
    assert_error(&unknown, 400, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
}

#[test]
fn a_code_expires_after_five_minutes() {
    let square = start();
    let base = square.base_url();
    let fresh = code_flow_code(&square, "PAYMENTS_READ");
    let stale = code_flow_code(&square, "PAYMENTS_READ");
    square.advance(Duration::from_secs(4 * 60 + 50));
    token_ok(&exchange_code(&base, &fresh));
    square.advance(Duration::from_secs(20));
    let a = exchange_code(&base, &stale);
    assert_error(&a, 400, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    assert!(a.body.contains("expired"));
}

#[test]
fn a_failed_exchange_does_not_spend_the_code() {
    let square = start();
    let base = square.base_url();
    let code = pkce_code(&square, "PAYMENTS_READ");
    assert_error(
        &exchange_pkce(&base, &code, "wrong-verifier-wrong-verifier-wrong-verifier"),
        400,
        "AUTHENTICATION_ERROR",
        "UNAUTHORIZED",
    );
    token_ok(&exchange_pkce(&base, &code, VERIFIER));
}

#[test]
fn the_client_secret_is_checked_and_required_for_code_flow_codes() {
    let square = start();
    let base = square.base_url();
    let code = code_flow_code(&square, "PAYMENTS_READ");
    let wrong = post_json(
        &base,
        "/oauth2/token",
        &json!({"client_id": CLIENT_ID, "client_secret": "sq0csp-wrong", "code": code, "grant_type": "authorization_code"}),
        &[],
    );
    assert_error(&wrong, 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    let missing = post_json(
        &base,
        "/oauth2/token",
        &json!({"client_id": CLIENT_ID, "code": code, "grant_type": "authorization_code"}),
        &[],
    );
    assert_error(&missing, 400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER");
    assert_eq!(missing.json()["errors"][0]["field"], "client_secret");
    let unknown_client = post_json(
        &base,
        "/oauth2/token",
        &json!({"client_id": "sq0idp-nope", "client_secret": SECRET, "code": code, "grant_type": "authorization_code"}),
        &[],
    );
    assert_error(&unknown_client, 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    let other_app = post_json(
        &base,
        "/oauth2/token",
        &json!({"client_id": OTHER_CLIENT, "client_secret": OTHER_SECRET, "code": code, "grant_type": "authorization_code"}),
        &[],
    );
    assert_error(&other_app, 400, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    token_ok(&exchange_code(&base, &code));
}

#[test]
fn redirect_uri_is_required_when_the_authorize_url_had_one() {
    let square = start();
    let base = square.base_url();
    let url = authorize_url(&base, &[("redirect_uri", REDIRECT_2)]);
    let code = param(&square.approve(&url, None).unwrap(), "code").unwrap();
    let body = |r: Option<&str>| {
        let mut b =
            json!({"client_id": CLIENT_ID, "client_secret": SECRET, "code": code, "grant_type": "authorization_code"});
        if let Some(r) = r {
            b["redirect_uri"] = json!(r);
        }
        b
    };
    let missing = post_json(&base, "/oauth2/token", &body(None), &[]);
    assert_error(&missing, 400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER");
    assert_eq!(missing.json()["errors"][0]["field"], "redirect_uri");
    let other = post_json(&base, "/oauth2/token", &body(Some(REDIRECT)), &[]);
    assert_error(&other, 400, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    token_ok(&post_json(&base, "/oauth2/token", &body(Some(REDIRECT_2)), &[]));
}

#[test]
fn pkce_code_needs_the_matching_verifier() {
    let square = start();
    let base = square.base_url();
    let code = pkce_code(&square, "PAYMENTS_READ");
    // Without a verifier, even with the secret.
    let no_verifier = exchange_code(&base, &code);
    assert_error(&no_verifier, 400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER");
    assert_eq!(no_verifier.json()["errors"][0]["field"], "code_verifier");
    let wrong = exchange_pkce(&base, &code, &"x".repeat(43));
    assert_error(&wrong, 400, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    assert_eq!(s256(VERIFIER), CHALLENGE);
    let v = token_ok(&exchange_pkce(&base, &code, VERIFIER));
    // PKCE: a single-use refresh token that expires in 90 days.
    let refresh_expires = epoch_secs(v["refresh_token_expires_at"].as_str().unwrap());
    assert!(refresh_expires.abs_diff(fake_now_secs(&square) + 90 * 86_400) <= 5);
}

#[test]
fn code_flow_refresh_returns_the_same_refresh_token() {
    let square = start();
    let base = square.base_url();
    let v = token_ok(&exchange_code(&base, &code_flow_code(&square, "PAYMENTS_READ")));
    let rt = v["refresh_token"].as_str().unwrap();
    let r1 = token_ok(&refresh(&base, rt, Some(SECRET)));
    assert_eq!(r1["refresh_token"], rt);
    assert_ne!(r1["access_token"], v["access_token"]);
    assert!(r1.get("refresh_token_expires_at").is_none());
    let r2 = token_ok(&refresh(&base, rt, Some(SECRET)));
    assert_eq!(r2["refresh_token"], rt);
    // The secret is required for code-flow refresh.
    let a = refresh(&base, rt, None);
    assert_error(&a, 400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER");
    assert_error(&refresh(&base, rt, Some("sq0csp-bad")), 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
}

#[test]
fn pkce_refresh_rotates_and_the_old_token_is_dead() {
    let square = start();
    let base = square.base_url();
    let v = token_ok(&exchange_pkce(&base, &pkce_code(&square, "PAYMENTS_READ"), VERIFIER));
    let rt1 = v["refresh_token"].as_str().unwrap().to_owned();
    square.advance(DAY);
    let r = token_ok(&refresh(&base, &rt1, None));
    let rt2 = r["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);
    assert!(rt2.starts_with("EQAA"));
    let expires = epoch_secs(r["refresh_token_expires_at"].as_str().unwrap());
    assert!(expires.abs_diff(fake_now_secs(&square) + 90 * 86_400) <= 5);
    let dead = refresh(&base, &rt1, None);
    assert_error(&dead, 400, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    assert!(dead.body.contains("already used"));
    token_ok(&refresh(&base, &rt2, None));
}

#[test]
fn pkce_refresh_token_expires_after_ninety_days() {
    let square = start();
    let base = square.base_url();
    let v = token_ok(&exchange_pkce(&base, &pkce_code(&square, "PAYMENTS_READ"), VERIFIER));
    square.advance(91 * DAY);
    let a = refresh(&base, v["refresh_token"].as_str().unwrap(), None);
    assert_error(&a, 400, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    assert!(a.body.contains("expired"));
}

#[test]
fn scopes_narrow_to_the_intersection() {
    let square = start();
    let base = square.base_url();
    let v = token_ok(&exchange_code(&base, &code_flow_code(&square, "PAYMENTS_READ ORDERS_READ ITEMS_READ")));
    let rt = v["refresh_token"].as_str().unwrap();
    let narrowed = token_ok(&post_json(
        &base,
        "/oauth2/token",
        &json!({"client_id": CLIENT_ID, "client_secret": SECRET, "refresh_token": rt, "grant_type": "refresh_token",
                "scopes": ["ORDERS_READ", "PAYMENTS_READ", "CUSTOMERS_WRITE"]}),
        &[],
    ));
    let status = status_of(&base, narrowed["access_token"].as_str().unwrap()).json();
    assert_schema("RetrieveTokenStatusResponse", &status);
    let mut scopes: Vec<&str> = status["scopes"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["ORDERS_READ", "PAYMENTS_READ"]);
    // The authorization keeps every scope: a later refresh without `scopes` gets them all back.
    let full = token_ok(&refresh(&base, rt, Some(SECRET)));
    let status = status_of(&base, full["access_token"].as_str().unwrap()).json();
    assert_eq!(status["scopes"].as_array().unwrap().len(), 3);
    let disjoint = post_json(
        &base,
        "/oauth2/token",
        &json!({"client_id": CLIENT_ID, "client_secret": SECRET, "refresh_token": rt, "grant_type": "refresh_token", "scopes": ["CUSTOMERS_WRITE"]}),
        &[],
    );
    assert_error(&disjoint, 400, "INVALID_REQUEST_ERROR", "INVALID_VALUE");
}

#[test]
fn short_lived_tokens_last_24_hours() {
    let square = start();
    let base = square.base_url();
    let v = token_ok(&exchange_code(&base, &code_flow_code(&square, "PAYMENTS_READ")));
    let r = token_ok(&post_json(
        &base,
        "/oauth2/token",
        &json!({"client_id": CLIENT_ID, "client_secret": SECRET, "refresh_token": v["refresh_token"], "grant_type": "refresh_token", "short_lived": true}),
        &[],
    ));
    assert_eq!(r["short_lived"], true);
    let expires = epoch_secs(r["expires_at"].as_str().unwrap());
    assert!(expires.abs_diff(fake_now_secs(&square) + 86_400) <= 5);
    let token = r["access_token"].as_str().unwrap();
    square.advance(DAY - Duration::from_secs(60));
    assert_eq!(status_of(&base, token).status, 200);
    square.advance(Duration::from_secs(120));
    assert_error(&status_of(&base, token), 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
}

#[test]
fn access_tokens_last_30_days_and_code_flow_refresh_tokens_never_expire() {
    let square = start();
    let base = square.base_url();
    let v = token_ok(&exchange_code(&base, &code_flow_code(&square, "PAYMENTS_READ")));
    let token = v["access_token"].as_str().unwrap();
    let rt = v["refresh_token"].as_str().unwrap();
    square.advance(29 * DAY);
    assert_eq!(status_of(&base, token).status, 200);
    square.advance(2 * DAY);
    assert_error(&status_of(&base, token), 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    // 14 days past expiry: still refreshable.
    square.advance(13 * DAY);
    let r = token_ok(&refresh(&base, rt, Some(SECRET)));
    assert_eq!(status_of(&base, r["access_token"].as_str().unwrap()).status, 200);
    // Square's documents say code-flow refresh tokens do not expire: long after the 15 days
    // RenewToken allows, the refresh still works.
    square.advance(46 * DAY);
    let late = token_ok(&refresh(&base, rt, Some(SECRET)));
    assert_eq!(status_of(&base, late["access_token"].as_str().unwrap()).status, 200);
    square.advance(400 * DAY);
    token_ok(&refresh(&base, rt, Some(SECRET)));
}

#[test]
fn with_the_grace_switch_code_flow_refresh_ends_15_days_after_expiry() {
    let square = start();
    square.set_behaviour(Behaviour { code_flow_refresh_grace: true, ..Behaviour::default() });
    let base = square.base_url();
    let v = token_ok(&exchange_code(&base, &code_flow_code(&square, "PAYMENTS_READ")));
    let rt = v["refresh_token"].as_str().unwrap();
    // 14 days past expiry: still refreshable.
    square.advance(44 * DAY);
    token_ok(&refresh(&base, rt, Some(SECRET)));
    // The new token resets the clock; let it lapse for more than 15 days.
    square.advance(46 * DAY);
    let late = refresh(&base, rt, Some(SECRET));
    assert_error(&late, 400, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    assert!(late.body.contains("15 days"));
}

#[test]
fn token_status_errors_follow_the_specification_unless_switched() {
    let square = start();
    let base = square.base_url();
    let (expired, revoked) = (
        token_ok(&exchange_code(&base, &code_flow_code(&square, "PAYMENTS_READ"))),
        token_ok(&exchange_code(&base, &code_flow_code(&square, "PAYMENTS_READ"))),
    );
    let (expired, revoked) = (expired["access_token"].as_str().unwrap(), revoked["access_token"].as_str().unwrap());
    let only = json!({"client_id": CLIENT_ID, "access_token": revoked, "revoke_only_access_token": true});
    assert_eq!(
        post_json(&base, "/oauth2/revoke", &only, &[("authorization", &format!("Client {SECRET}"))]).status,
        200
    );
    square.advance(31 * DAY);
    // The specification: 401 UNAUTHORIZED for an expired or invalid token.
    assert_error(&status_of(&base, expired), 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    assert_error(&status_of(&base, revoked), 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    square.set_behaviour(Behaviour { specific_token_errors: true, ..Behaviour::default() });
    assert_error(&status_of(&base, expired), 401, "AUTHENTICATION_ERROR", "ACCESS_TOKEN_EXPIRED");
    assert_error(&status_of(&base, revoked), 401, "AUTHENTICATION_ERROR", "ACCESS_TOKEN_REVOKED");
}

#[test]
fn migration_token_gives_a_new_pair_once() {
    let square = start();
    let base = square.base_url();
    let legacy = square.seed_legacy_token(CLIENT_ID, SELLER);
    let body = json!({"client_id": CLIENT_ID, "client_secret": SECRET, "migration_token": legacy, "grant_type": "migration_token"});
    let v = token_ok(&post_json(&base, "/oauth2/token", &body, &[]));
    assert_eq!(v["merchant_id"], SELLER);
    assert!(v["access_token"].as_str().unwrap().starts_with("EAAA"));
    token_ok(&refresh(&base, v["refresh_token"].as_str().unwrap(), Some(SECRET)));
    assert_error(&post_json(&base, "/oauth2/token", &body, &[]), 400, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    // The legacy token itself stops working once migrated.
    assert_error(&status_of(&base, &legacy), 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    let not_seeded = json!({"client_id": CLIENT_ID, "client_secret": SECRET, "migration_token": "sq0atp-unknown", "grant_type": "migration_token"});
    assert_error(&post_json(&base, "/oauth2/token", &not_seeded, &[]), 400, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
}

#[test]
fn unknown_grant_type_and_bad_field_types_are_refused() {
    let square = start();
    let base = square.base_url();
    let a =
        post_json(&base, "/oauth2/token", &json!({"client_id": CLIENT_ID, "grant_type": "client_credentials"}), &[]);
    assert_error(&a, 400, "INVALID_REQUEST_ERROR", "INVALID_VALUE");
    let a = post_json(
        &base,
        "/oauth2/token",
        &json!({"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": "EQAAx", "short_lived": "yes"}),
        &[],
    );
    assert_error(&a, 400, "INVALID_REQUEST_ERROR", "EXPECTED_BOOLEAN");
    let a = post_json(&base, "/oauth2/token", &json!({"client_id": 7, "grant_type": "refresh_token"}), &[]);
    assert_error(&a, 400, "INVALID_REQUEST_ERROR", "EXPECTED_STRING");
    let a = post_json(&base, "/oauth2/token", &json!({"client_id": CLIENT_ID, "grant_type": "code"}), &[]);
    assert_error(&a, 400, "INVALID_REQUEST_ERROR", "VALUE_TOO_SHORT");
    let a = post_json(
        &base,
        "/oauth2/token",
        &json!({"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": "x".repeat(1025)}),
        &[],
    );
    assert_error(&a, 400, "INVALID_REQUEST_ERROR", "VALUE_TOO_LONG");
    let a = post_json(
        &base,
        "/oauth2/token",
        &json!({"client_id": CLIENT_ID, "grant_type": "refresh_token", "client_secret": SECRET}),
        &[],
    );
    assert_error(&a, 400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER");
    assert_eq!(a.json()["errors"][0]["field"], "refresh_token");
}
