//! Races: many concurrent exchanges with every code used exactly once, and single-use grants
//! (codes, PKCE refresh tokens) that exactly one of several simultaneous requests can spend.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Barrier, Mutex};

use common::*;

#[test]
fn a_thousand_exchanges_from_64_clients_each_code_used_once() {
    const CLIENTS: usize = 64;
    const EXCHANGES: usize = 1000;
    let square = start();
    let base = square.base_url();
    let codes: Vec<String> = (0..EXCHANGES).map(|_| code_flow_code(&square, "PAYMENTS_READ")).collect();
    let queue = Arc::new(Mutex::new(codes.clone()));
    let tokens = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for _ in 0..CLIENTS {
            let (queue, tokens, base) = (queue.clone(), tokens.clone(), base.clone());
            s.spawn(move || {
                let agent = agent();
                loop {
                    let Some(code) = queue.lock().unwrap().pop() else { break };
                    let body = serde_json::json!({"client_id": CLIENT_ID, "client_secret": SECRET, "code": code, "grant_type": "authorization_code"});
                    let mut r = agent
                        .post(format!("{base}/oauth2/token"))
                        .header("content-type", "application/json")
                        .send(body.to_string())
                        .expect("answered");
                    assert_eq!(r.status().as_u16(), 200);
                    let v: serde_json::Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
                    tokens.lock().unwrap().push(v["access_token"].as_str().unwrap().to_owned());
                }
            });
        }
    });
    let tokens = tokens.lock().unwrap();
    assert_eq!(tokens.len(), EXCHANGES);
    assert_eq!(tokens.iter().collect::<HashSet<_>>().len(), EXCHANGES, "every token distinct");
    let posts = square.requests().iter().filter(|r| r.path == "/oauth2/token").count();
    assert_eq!(posts, EXCHANGES);
    // Every code is now spent.
    for code in codes.iter().take(20) {
        assert_eq!(exchange_code(&base, code).status, 400);
    }
}

/// Runs `n` copies of `request` at once; returns the statuses.
fn race(n: usize, request: impl Fn() -> Answer + Sync) -> Vec<u16> {
    let barrier = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    request().status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn a_code_raced_by_many_clients_is_spent_once() {
    let square = start();
    let base = square.base_url();
    for _ in 0..10 {
        let code = code_flow_code(&square, "PAYMENTS_READ");
        let statuses = race(8, || exchange_code(&base, &code));
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 7, "{statuses:?}");
    }
}

#[test]
fn two_concurrent_pkce_refreshes_exactly_one_wins() {
    let square = start();
    let base = square.base_url();
    for _ in 0..20 {
        let v = token_ok(&exchange_pkce(&base, &pkce_code(&square, "PAYMENTS_READ"), VERIFIER));
        let rt = v["refresh_token"].as_str().unwrap().to_owned();
        let statuses = race(2, || refresh(&base, &rt, None));
        let mut sorted = statuses.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [200, 400], "{statuses:?}");
    }
}
