//! Which ureq setting costs the adapter its time (a diagnostic, not a benchmark):
//! `cargo run --release -p square-oauth-benches --example ureq_probe [plain|timeout_global|timeout_per_call|per_phase]`.
use std::time::{Duration, Instant};

use square_oauth::Operation;
use square_oauth_benches::loopback::{Server, exchange};

fn run(name: &str, agent: ureq::Agent, server: &Server) {
    let config = server.config();
    let op = exchange();
    let once = || {
        let (head, body) = op.build(&config).unwrap().into_parts();
        let request = http::Request::from_parts(head, body.expose_secret());
        let response = agent.run(request).unwrap();
        let (head, mut body) = response.into_parts();
        let body = body.read_to_vec().unwrap();
        op.parse(&config, http::Response::from_parts(head, body)).unwrap()
    };
    for _ in 0..100 {
        once();
    }
    let started = Instant::now();
    for _ in 0..2000 {
        std::hint::black_box(once());
    }
    println!("{name}: {:.1} us", started.elapsed().as_secs_f64() * 1e6 / 2000.0);
}

fn main() {
    let server = Server::start();
    let base = || ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0);
    let s30 = Some(Duration::from_secs(30));
    let only = std::env::args().nth(1);
    let want = |name: &str| only.as_deref().is_none_or(|o| o == name);
    for _ in 0..2 {
        if want("plain") {
            run("plain", base().build().into(), &server);
        }
        if want("timeout_global") {
            run("timeout_global", base().timeout_global(s30).build().into(), &server);
        }
        if want("timeout_per_call") {
            run("timeout_per_call", base().timeout_per_call(s30).build().into(), &server);
        }
        if want("per_phase") {
            run(
                "per_phase (connect, send_request, recv_response, recv_body)",
                base()
                    .timeout_connect(Some(Duration::from_secs(10)))
                    .timeout_send_request(s30)
                    .timeout_recv_response(s30)
                    .timeout_recv_body(s30)
                    .build()
                    .into(),
                &server,
            );
        }
    }
}
