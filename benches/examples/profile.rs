//! Runs one workload many times, for a profiler:
//!
//! ```text
//! cargo build --release -p square-oauth-benches --example profile
//! valgrind --tool=callgrind target/release/examples/profile ours-code-exchange 500
//! callgrind_annotate --inclusive=yes callgrind.out.* | head -60
//! ```
use std::hint::black_box;

use square_oauth_benches::floor;
use square_oauth_benches::ours::Ours;
use square_oauth_benches::peer::Peer;

fn main() {
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_else(|| "ours-code-exchange".to_owned());
    let n: usize = args.next().map_or(500, |n| n.parse().expect("a count"));
    let ours = Ours::default();
    let peer = Peer::default();
    for _ in 0..n {
        match workload.as_str() {
            "ours-code-exchange" => drop(black_box(ours.code_exchange())),
            "floor-code-exchange" => drop(black_box(floor::code_exchange())),
            "oauth2-code-exchange" => drop(black_box(peer.code_exchange())),
            "ours-authorize" => drop(black_box(ours.authorize_and_callback())),
            "ours-error-legacy" => drop(black_box(ours.error_legacy())),
            other => panic!("unknown workload {other}"),
        }
    }
}
