//! The fake Square's throughput: token exchanges per second with many concurrent clients over
//! loopback (the same measurement as `mock-server/examples/throughput.rs`).
//!
//! Codes are approved before the clock starts (approval is a library call). Each client is a
//! thread with its own kept-alive ureq agent sending Square's JSON by hand, so that the clients
//! cost as little as they can and the server is what is measured.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use square_oauth_mock::{App, MockConfig, MockSquare};

const CLIENT_ID: &str = "sq0idp-throughput";
const SECRET: &str = "sq0csp-throughput-secret";

/// Runs `exchanges` code exchanges from `clients` threads; returns (exchanges, clients,
/// seconds, failures).
pub fn throughput(exchanges: usize, clients: usize) -> (usize, usize, f64, usize) {
    let square = MockSquare::start(
        MockConfig::new().app(App::new(CLIENT_ID, SECRET, &["http://127.0.0.1:9/cb"])).seller("THROUGHPUT01"),
    )
    .expect("the fake Square starts");
    let base = square.base_url();
    let authorize = format!("{base}/oauth2/authorize?client_id={CLIENT_ID}&scope=PAYMENTS_READ&state=s");
    let codes: Vec<String> = (0..exchanges)
        .map(|_| {
            let redirect = square.approve(&authorize, None).expect("approved");
            let code = redirect.split("code=").nth(1).and_then(|c| c.split('&').next()).expect("a code");
            code.to_owned()
        })
        .collect();
    let queue = Mutex::new(codes);
    let failures = AtomicUsize::new(0);
    let url = format!("{base}/oauth2/token");
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                let agent: ureq::Agent =
                    ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
                loop {
                    let Some(code) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop() else { break };
                    let body = format!(
                        r#"{{"client_id":"{CLIENT_ID}","client_secret":"{SECRET}","code":"{code}","grant_type":"authorization_code"}}"#
                    );
                    let ok = agent
                        .post(&url)
                        .header("content-type", "application/json")
                        .send(&body)
                        .ok()
                        .and_then(|mut r| (r.status() == 200).then(|| r.body_mut().read_to_vec().ok()).flatten())
                        .is_some();
                    if !ok {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    (exchanges, clients, seconds, failures.load(Ordering::Relaxed))
}
