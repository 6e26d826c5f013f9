//! Runs one workload many times, for a profiler:
//!
//! ```text
//! cargo build --release -p square-oauth-benches --example profile
//! valgrind --tool=callgrind target/release/examples/profile ours-code-exchange 500
//! callgrind_annotate --inclusive=yes callgrind.out.* | head -60
//! ```
//!
//! `benches/instructions.sh` runs every workload this way and prints instructions per call.
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
            "ours-pkce-refresh" => drop(black_box(ours.pkce_refresh())),
            "floor-pkce-refresh" => drop(black_box(floor::pkce_refresh())),
            "ours-token-status" => drop(black_box(ours.token_status())),
            "floor-token-status" => drop(black_box(floor::token_status())),
            "ours-revoke" => drop(black_box(ours.revoke())),
            "floor-revoke" => drop(black_box(floor::revoke())),
            "ours-error-current" => drop(black_box(ours.error_current())),
            "floor-error-current" => drop(black_box(floor::error_current())),
            "ours-error-legacy" => drop(black_box(ours.error_legacy())),
            "floor-error-legacy" => drop(black_box(floor::error_legacy())),
            "ours-authorize" => drop(black_box(ours.authorize_and_callback())),
            "floor-authorize" => drop(black_box(floor::authorize_and_callback())),
            "ours-pkce" => drop(black_box(ours.pkce())),
            "floor-pkce" => drop(black_box(floor::pkce())),
            other => panic!("unknown workload {other}"),
        }
    }
}
