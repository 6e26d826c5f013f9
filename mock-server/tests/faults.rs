//! Scripted faults: each mode, its count, its path, and what the fake did with the request.

mod common;

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use square_oauth_mock::Fault;

fn code_body(code: &str) -> String {
    json!({"client_id": CLIENT_ID, "client_secret": SECRET, "code": code, "grant_type": "authorization_code"})
        .to_string()
}

#[test]
fn status_fault_with_retry_after_for_the_next_n_requests() {
    let square = start();
    let base = square.base_url();
    square.fault("/oauth2/token", Fault::Status { status: 429, retry_after: Some("7".into()) }, 2);
    let code = code_flow_code(&square, "PAYMENTS_READ");
    for _ in 0..2 {
        let a = exchange_code(&base, &code);
        assert_error(&a, 429, "RATE_LIMIT_ERROR", "RATE_LIMITED");
        assert_eq!(a.header("retry-after"), Some("7"));
        assert_eq!(a.header("square-version"), Some("2026-08-19"));
    }
    // Faulted requests were not acted on: the code is still good.
    token_ok(&exchange_code(&base, &code));
    square.fault("/oauth2/revoke", Fault::Status { status: 503, retry_after: None }, 1);
    let a = post_json(&base, "/oauth2/revoke", &json!({}), &[]);
    assert_error(&a, 503, "API_ERROR", "SERVICE_UNAVAILABLE");
    assert_eq!(a.header("retry-after"), None);
    // Other paths are untouched.
    assert_eq!(status_of(&base, "EAAAx").status, 401);
}

#[test]
fn delay_fault_waits_then_answers_normally() {
    let square = start();
    let base = square.base_url();
    square.fault("/oauth2/token", Fault::Delay(Duration::from_millis(300)), 1);
    let code = code_flow_code(&square, "PAYMENTS_READ");
    token_ok(&exchange_code(&base, &code));
    let answered = Instant::now();
    let arrived = square.requests()[0].arrived;
    assert!(answered.duration_since(arrived) >= Duration::from_millis(300));
}

#[test]
fn reset_fault_closes_without_answering_and_does_not_act() {
    let square = start();
    let base = square.base_url();
    square.fault("/oauth2/token", Fault::Reset, 1);
    let code = code_flow_code(&square, "PAYMENTS_READ");
    let r =
        agent().post(format!("{base}/oauth2/token")).header("content-type", "application/json").send(code_body(&code));
    assert!(r.is_err(), "expected a transport error, got {r:?}");
    // On the wire: not a single byte comes back.
    square.fault("/oauth2/token", Fault::Reset, 1);
    let mut raw = std::net::TcpStream::connect(square.addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = code_body("sq0cgb-x");
    write!(
        raw,
        "POST /oauth2/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{req}",
        req.len()
    )
    .unwrap();
    let mut got = Vec::new();
    let _ = raw.read_to_end(&mut got);
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    assert_eq!(square.requests().len(), 2, "both requests were received and recorded");
    token_ok(&exchange_code(&base, &code));
}

#[test]
fn truncate_fault_cuts_a_real_answer_in_half() {
    let square = start();
    let base = square.base_url();
    square.fault("/oauth2/token", Fault::Truncate, 1);
    let code = code_flow_code(&square, "PAYMENTS_READ");
    let mut r = agent()
        .post(format!("{base}/oauth2/token"))
        .header("content-type", "application/json")
        .send(code_body(&code))
        .expect("the status line and headers arrive");
    assert_eq!(r.status().as_u16(), 200);
    let declared: usize = r.headers()["content-length"].to_str().unwrap().parse().unwrap();
    assert!(declared > 100);
    let mut got = Vec::new();
    let read = std::io::Read::read_to_end(&mut r.body_mut().as_reader(), &mut got);
    assert!(read.is_err() || got.len() < declared, "read {} of {declared}", got.len());
    assert!(got.len() <= declared / 2 + 1);
    // The exchange happened: the answer was lost, the code is spent.
    let again = exchange_code(&base, &code);
    assert_error(&again, 400, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
}

#[test]
fn html_502_fault_sends_a_proxy_page() {
    let square = start();
    let base = square.base_url();
    square.fault("/oauth2/token/status", Fault::Html502, 1);
    let a = status_of(&base, "EAAAx");
    assert_eq!(a.status, 502);
    assert!(a.header("content-type").unwrap().starts_with("text/html"));
    assert!(a.body.contains("502 Bad Gateway"));
    assert!(serde_json::from_str::<serde_json::Value>(&a.body).is_err());
}

#[test]
fn redirect_fault_sends_a_302() {
    let square = start();
    let base = square.base_url();
    square.fault("/oauth2/token", Fault::Redirect("https://evil.example/steal".into()), 1);
    let a = exchange_code(&base, "sq0cgb-x");
    assert_eq!(a.status, 302);
    assert_eq!(a.header("location"), Some("https://evil.example/steal"));
}

#[test]
fn oversize_fault_sends_that_many_bytes() {
    let square = start();
    let base = square.base_url();
    let n = 2 * 1024 * 1024 + 3;
    square.fault("/oauth2/token", Fault::Oversize(n), 1);
    let a = exchange_code(&base, "sq0cgb-x");
    assert_eq!(a.status, 200);
    assert_eq!(a.body.len(), n);
    assert!(a.body.starts_with("{\"access_token\":\"EAAA"));
    assert_eq!(a.header("content-type"), Some("application/json"));
}

#[test]
fn faults_apply_to_the_authorize_page_and_spare_preflights() {
    let square = start();
    let base = square.base_url();
    square.fault("/oauth2/authorize?ignored=1", Fault::Status { status: 500, retry_after: None }, 1);
    let preflight =
        agent().options(format!("{base}/oauth2/authorize")).header("origin", "http://127.0.0.1:1").call().unwrap();
    assert_eq!(preflight.status().as_u16(), 204);
    let a = get(&authorize_url(&base, &[]));
    assert_error(&a, 500, "API_ERROR", "INTERNAL_SERVER_ERROR");
    assert_eq!(get(&authorize_url(&base, &[])).status, 200);
}

#[test]
fn faults_queue_in_order() {
    let square = start();
    let base = square.base_url();
    square.fault("/oauth2/token/status", Fault::Status { status: 503, retry_after: Some("1".into()) }, 1);
    square.fault("/oauth2/token/status", Fault::Html502, 1);
    assert_eq!(status_of(&base, "EAAAx").status, 503);
    assert_eq!(status_of(&base, "EAAAx").status, 502);
    assert_eq!(status_of(&base, "EAAAx").status, 401);
}
