//! What every endpoint shares: `Square-Version` echo, Square's `errors` shape for malformed
//! requests (never a panic), size cap, unknown paths and methods, CORS, the request record.

mod common;

use common::*;
use serde_json::json;
use square_oauth_mock::{Cors, MockSquare};

#[test]
fn every_answer_echoes_square_version() {
    let square = start();
    let base = square.base_url();
    let code = code_flow_code(&square, "PAYMENTS_READ");
    let a = post_json(
        &base,
        "/oauth2/token",
        &json!({"client_id": CLIENT_ID, "client_secret": SECRET, "code": code, "grant_type": "authorization_code"}),
        &[("square-version", "2025-08-20")],
    );
    assert_eq!(a.header("square-version"), Some("2025-08-20"));
    // Without one, the configured default; on errors too.
    let e = post_json(&base, "/oauth2/token", &json!({}), &[]);
    assert_eq!(e.header("square-version"), Some("2026-08-19"));
    assert_eq!(status_of(&base, "EAAAx").header("square-version"), Some("2026-08-19"));
    assert_eq!(get(&format!("{base}/nowhere")).header("square-version"), Some("2026-08-19"));
    let custom = MockSquare::start(config().square_version("2024-03-20")).unwrap();
    assert_eq!(status_of(&custom.base_url(), "EAAAx").header("square-version"), Some("2024-03-20"));
    let bad = post_json(&base, "/oauth2/token", &json!({}), &[("square-version", "latest")]);
    assert_error(&bad, 400, "INVALID_REQUEST_ERROR", "INVALID_SQUARE_VERSION_FORMAT");
}

#[test]
fn malformed_bodies_get_expected_json_body() {
    let square = start();
    let base = square.base_url();
    for body in ["", "{", "not json", "[1,2]", "\"text\"", "{\"client_id\": }", "\u{0}\u{ff}"] {
        for path in ["/oauth2/token", "/oauth2/revoke"] {
            let a = post_raw(&base, path, body, "application/json", &[("authorization", &format!("Client {SECRET}"))]);
            assert_error(&a, 400, "INVALID_REQUEST_ERROR", "EXPECTED_JSON_BODY");
        }
    }
    let a = post_raw(&base, "/oauth2/token", &"[".repeat(10_000), "application/json", &[]);
    assert_error(&a, 400, "INVALID_REQUEST_ERROR", "EXPECTED_JSON_BODY");
}

#[test]
fn a_wrong_content_type_gets_invalid_content_type() {
    let square = start();
    let base = square.base_url();
    let body = json!({"client_id": CLIENT_ID, "grant_type": "authorization_code"}).to_string();
    for ct in ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"] {
        let a = post_raw(&base, "/oauth2/token", &body, ct, &[]);
        assert_error(&a, 400, "INVALID_REQUEST_ERROR", "INVALID_CONTENT_TYPE");
    }
    // Parameters are fine.
    let a = post_raw(&base, "/oauth2/token", &body, "application/json; charset=utf-8", &[]);
    assert_error(&a, 400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER");
}

#[test]
fn missing_required_fields_are_named() {
    let square = start();
    let base = square.base_url();
    let a = post_json(&base, "/oauth2/token", &json!({"grant_type": "authorization_code"}), &[]);
    assert_error(&a, 400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER");
    assert_eq!(a.json()["errors"][0]["field"], "client_id");
    let a = post_json(&base, "/oauth2/token", &json!({"client_id": CLIENT_ID}), &[]);
    assert_eq!(a.json()["errors"][0]["field"], "grant_type");
    let a = post_json(
        &base,
        "/oauth2/token",
        &json!({"client_id": CLIENT_ID, "client_secret": SECRET, "grant_type": "authorization_code"}),
        &[],
    );
    assert_error(&a, 400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER");
    assert_eq!(a.json()["errors"][0]["field"], "code");
}

#[test]
fn an_oversized_body_gets_413() {
    let square = MockSquare::start(config().max_body_bytes(1024)).unwrap();
    let base = square.base_url();
    let big = json!({"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": "x".repeat(2000)});
    let a = post_json(&base, "/oauth2/token", &big, &[]);
    assert_error(&a, 413, "INVALID_REQUEST_ERROR", "REQUEST_ENTITY_TOO_LARGE");
    assert_eq!(a.header("square-version"), Some("2026-08-19"));
    // The server is still fine afterwards.
    token_ok(&exchange_code(&base, &code_flow_code(&square, "PAYMENTS_READ")));
}

#[test]
fn unknown_paths_and_methods_get_errors() {
    let square = start();
    let base = square.base_url();
    assert_error(&post_json(&base, "/v2/payments", &json!({}), &[]), 404, "INVALID_REQUEST_ERROR", "NOT_FOUND");
    let a = get(&format!("{base}/oauth2/token"));
    assert_error(&a, 405, "INVALID_REQUEST_ERROR", "METHOD_NOT_ALLOWED");
    assert_eq!(a.header("allow"), Some("POST"));
}

#[test]
fn by_default_no_page_may_read_an_answer_and_no_header_is_exposed() {
    let square = start();
    let base = square.base_url();
    let e = post_json(&base, "/oauth2/token", &json!({}), &[("origin", "http://localhost:8000")]);
    assert_eq!(e.header("access-control-allow-origin"), None);
    assert_eq!(e.header("access-control-expose-headers"), None);
    assert_eq!(status_of(&base, "EAAAx").header("access-control-allow-origin"), None);
    // Allowed, but nothing exposed: the headers stay hidden from the page.
    let allowed = MockSquare::start(config().cors(Cors::default().allow_origin("http://localhost:8000"))).unwrap();
    let e = post_json(&allowed.base_url(), "/oauth2/token", &json!({}), &[("origin", "http://localhost:8000")]);
    assert_eq!(e.header("access-control-allow-origin"), Some("http://localhost:8000"));
    assert_eq!(e.header("access-control-expose-headers"), None);
    let other = post_json(&allowed.base_url(), "/oauth2/token", &json!({}), &[("origin", "http://evil.example")]);
    assert_eq!(other.header("access-control-allow-origin"), None, "only configured origins are named back");
}

#[test]
fn cors_preflight_and_exposed_headers() {
    let square = MockSquare::start(
        config().cors(Cors::default().allow_origin("*").expose_header("Square-Version").expose_header("retry-after")),
    )
    .unwrap();
    let base = square.base_url();
    let a = agent()
        .options(format!("{base}/oauth2/token"))
        .header("origin", "http://127.0.0.1:5173")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, square-version")
        .call()
        .unwrap();
    assert_eq!(a.status().as_u16(), 204);
    let h = |n: &str| a.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(h("access-control-allow-origin").as_deref(), Some("http://127.0.0.1:5173"));
    assert_eq!(h("access-control-allow-headers").as_deref(), Some("content-type, authorization, square-version"));
    assert!(h("access-control-allow-methods").unwrap().contains("POST"));
    let e = post_json(&base, "/oauth2/token", &json!({}), &[("origin", "http://localhost:8000")]);
    assert_eq!(e.header("access-control-allow-origin"), Some("http://localhost:8000"));
    let exposed = e.header("access-control-expose-headers").unwrap().to_ascii_lowercase();
    assert!(exposed.contains("square-version") && exposed.contains("retry-after"));
    let no_origin = status_of(&base, "EAAAx");
    assert_eq!(no_origin.header("access-control-allow-origin"), None, "no Origin, no CORS headers");
}

#[test]
fn every_request_is_recorded_with_its_secrets() {
    let square = start();
    let base = square.base_url();
    let code = code_flow_code(&square, "PAYMENTS_READ");
    token_ok(&exchange_code(&base, &code));
    get(&authorize_url(&base, &[("state", "z")]));
    let log = square.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].path, "/oauth2/token");
    assert_eq!(log[0].query, None);
    assert_eq!(log[0].header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&log[0].body).unwrap();
    assert_eq!(body["client_secret"], SECRET);
    assert_eq!(body["code"], code.as_str());
    assert_eq!(log[1].method, "GET");
    assert_eq!(log[1].path, "/oauth2/authorize");
    assert!(log[1].query.as_deref().unwrap().contains("state=z"));
    assert!(log[0].at <= log[1].at);
    assert!(log[0].arrived <= log[1].arrived);
    square.clear_requests();
    assert!(square.requests().is_empty());
}

#[test]
fn the_clock_moves_only_forward_by_what_the_test_says() {
    let square = start();
    let before = square.now();
    square.advance(3 * DAY);
    let after = square.now();
    let moved = after.duration_since(before).unwrap();
    assert!(moved >= 3 * DAY && moved < 3 * DAY + std::time::Duration::from_secs(60));
}

#[test]
fn the_schema_check_itself_rejects_what_square_would_not_send() {
    // Guards the harness: if `$ref`s silently failed to resolve, every check would pass.
    let bad = [
        ("Error", json!({"category": "NOT_A_CATEGORY", "code": "UNAUTHORIZED"})),
        ("Error", json!({"category": "AUTHENTICATION_ERROR", "code": "NOT_A_CODE"})),
        ("Error", json!({"code": "UNAUTHORIZED"})),
        ("ObtainTokenResponse", json!({"expires_at": "2025-01-01"})),
        ("ObtainTokenResponse", json!({"errors": [{"category": "API_ERROR"}]})),
        ("RetrieveTokenStatusResponse", json!({"merchant_id": "SHORT"})),
    ];
    for (schema, instance) in bad {
        let caught = std::panic::catch_unwind(|| assert_schema(schema, &instance));
        assert!(caught.is_err(), "{schema} accepted {instance}");
    }
    let caught = std::panic::catch_unwind(|| assert_schema_2024("RenewTokenResponse", &json!({"token_type": "x"})));
    assert!(caught.is_err());
}
