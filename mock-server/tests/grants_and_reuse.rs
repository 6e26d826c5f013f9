//! Many sellers' grants minted at once, and single-use PKCE refresh tokens under concurrency:
//! what the vault's tests lean on.

mod common;

use common::*;
use serde_json::{Value, json};
use square_oauth_mock::MockSquare;

#[test]
fn minted_grants_are_real_grants_of_new_sellers() {
    let square = start();
    let base = square.base_url();
    let pkce = square.mint_grants(CLIENT_ID, 3, true).unwrap();
    let code_flow = square.mint_grants(CLIENT_ID, 2, false).unwrap();
    let mut merchants = std::collections::HashSet::new();
    for grant in pkce.iter().chain(&code_flow) {
        let grant: Value = serde_json::from_str(grant).unwrap();
        assert!(merchants.insert(grant["merchant_id"].as_str().unwrap().to_owned()));
        assert_eq!(status_of(&base, grant["access_token"].as_str().unwrap()).status, 200);
    }
    let first: Value = serde_json::from_str(&pkce[0]).unwrap();
    assert!(first["refresh_token_expires_at"].is_string());
    let rotated = token_ok(&refresh(&base, first["refresh_token"].as_str().unwrap(), None));
    assert_ne!(rotated["refresh_token"], first["refresh_token"]);
    let reused: Value = serde_json::from_str(&code_flow[0]).unwrap();
    let again = token_ok(&refresh(&base, reused["refresh_token"].as_str().unwrap(), Some(SECRET)));
    assert_eq!(again["refresh_token"], reused["refresh_token"]);
    assert!(square.mint_grants("sq0idp-nobody", 1, true).is_err());
}

#[test]
fn a_spent_pkce_refresh_token_presented_by_racing_clients_is_refused_and_counted() {
    let square = start();
    let base = square.base_url();
    let grant: Value = serde_json::from_str(&square.mint_grants(CLIENT_ID, 1, true).unwrap()[0]).unwrap();
    let token = grant["refresh_token"].as_str().unwrap().to_owned();
    let answers: Vec<u16> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8).map(|_| scope.spawn(|| refresh(&base, &token, None).status)).collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(answers.iter().filter(|s| **s == 200).count(), 1, "{answers:?}");
    assert_eq!(square.refused_reuses(), 7);
    // A code-flow token reused is no reuse.
    let code_flow: Value = serde_json::from_str(&square.mint_grants(CLIENT_ID, 1, false).unwrap()[0]).unwrap();
    for _ in 0..3 {
        token_ok(&refresh(&base, code_flow["refresh_token"].as_str().unwrap(), Some(SECRET)));
    }
    assert_eq!(square.refused_reuses(), 7);
}

/// A control call (not Square's shape, so not schema-checked).
fn control_post(base: &str, body: &Value) -> Answer {
    let mut r = agent()
        .post(format!("{base}/__mock/grants"))
        .header("content-type", "application/json")
        .send(body.to_string())
        .expect("the control request reaches the fake");
    Answer { status: r.status().as_u16(), headers: Vec::new(), body: r.body_mut().read_to_string().unwrap() }
}

#[test]
fn the_control_api_mints_grants_and_reports_refused_reuses() {
    let square = MockSquare::start(config().control(true)).unwrap();
    let base = square.base_url();
    let answer = control_post(&base, &json!({"client_id": CLIENT_ID, "count": 2, "pkce": true}));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let grants = answer.json()["grants"].as_array().unwrap().clone();
    assert_eq!(grants.len(), 2);
    let token = grants[0]["refresh_token"].as_str().unwrap();
    token_ok(&refresh(&base, token, None));
    assert_eq!(refresh(&base, token, None).status, 400);
    assert_eq!(get(&format!("{base}/__mock/stats")).json()["refused_reuses"], 1);
    let bad = control_post(&base, &json!({"client_id": CLIENT_ID, "count": 1, "pkce": "yes"}));
    assert_eq!(bad.status, 400);
    let unknown = control_post(&base, &json!({"client_id": "sq0idp-nobody", "count": 1}));
    assert_eq!(unknown.status, 400);
}
