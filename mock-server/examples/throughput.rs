//! Measures the fake's token exchanges per second: 64 concurrent clients over loopback, each
//! exchanging codes approved beforehand (approval is a library call, not timed).
//!
//! ```text
//! cargo run --release -p square-oauth-mock --example throughput [EXCHANGES] [CLIENTS]
//! ```
//! A benchmark measures; nothing here asserts a speed.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use square_oauth_mock::{App, MockConfig, MockSquare};

const CLIENT_ID: &str = "sq0idp-throughput";
const SECRET: &str = "sq0csp-throughput-secret";

/// Pops a code, releasing the lock before the request is sent.
fn next_code(queue: &Mutex<Vec<String>>) -> Option<String> {
    queue.lock().unwrap_or_else(|e| e.into_inner()).pop()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let exchanges: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20_000);
    let clients: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(64);
    let square = MockSquare::start(
        MockConfig::new().app(App::new(CLIENT_ID, SECRET, &["http://127.0.0.1:9/cb"])).seller("THROUGHPUT01"),
    )?;
    let base = square.base_url();
    let authorize = format!("{base}/oauth2/authorize?client_id={CLIENT_ID}&scope=PAYMENTS_READ&state=s");
    let mut codes = Vec::with_capacity(exchanges);
    for _ in 0..exchanges {
        let redirect = square.approve(&authorize, None)?;
        let code = redirect.split("code=").nth(1).and_then(|c| c.split('&').next()).ok_or("no code")?;
        codes.push(code.to_owned());
    }
    let queue = Arc::new(Mutex::new(codes));
    let failures = Arc::new(Mutex::new(0usize));
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            let (queue, failures, base) = (queue.clone(), failures.clone(), base.clone());
            s.spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
                let url = format!("{base}/oauth2/token");
                while let Some(code) = next_code(&queue) {
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
                        *failures.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let failures = *failures.lock().unwrap_or_else(|e| e.into_inner());
    println!(
        "{exchanges} token exchanges, {clients} concurrent clients, {:.2} s: {:.0} exchanges/s ({failures} failed)",
        elapsed.as_secs_f64(),
        exchanges as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
