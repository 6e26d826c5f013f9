//! The core against the floor and oauth2, for people: `cargo bench -p square-oauth-benches --bench core`.
//!
//! Each group holds `ours`, `floor` (bare serde_json + http, or the bare crate the job needs) and,
//! for the code exchange, `oauth2`. divan's allocation profiler shows allocations per call too.
//! For ratios measured side by side, run the `bench-report` binary instead.

use std::sync::LazyLock;

use divan::{AllocProfiler, Bencher, black_box};
use square_oauth::{ClientId, ClientSecret};
use square_oauth_benches::fixture::{CLIENT_ID, CLIENT_SECRET};
use square_oauth_benches::floor;
use square_oauth_benches::ours::Ours;
use square_oauth_benches::peer::Peer;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

static OURS: LazyLock<Ours> = LazyLock::new(Ours::default);
static PEER: LazyLock<Peer> = LazyLock::new(Peer::default);

fn main() {
    divan::main();
}

#[divan::bench_group]
mod code_exchange {
    use super::*;

    #[divan::bench]
    fn ours(b: Bencher) {
        let ours = &*OURS;
        b.bench(|| black_box(ours.code_exchange()));
    }

    #[divan::bench]
    fn ours_with_operation_made(b: Bencher) {
        let ours = &*OURS;
        let (client_id, secret) = (ClientId::new(CLIENT_ID), ClientSecret::new(CLIENT_SECRET));
        b.bench(|| black_box(ours.code_exchange_fresh(&client_id, &secret)));
    }

    #[divan::bench]
    fn floor() -> impl Sized {
        floor::code_exchange()
    }

    #[divan::bench]
    fn oauth2(b: Bencher) {
        let peer = &*PEER;
        b.bench(|| black_box(peer.code_exchange()));
    }
}

/// Defines a group with `ours` and `floor` for one workload.
macro_rules! pair {
    ($group:ident, $ours:ident, $floor:path) => {
        #[divan::bench_group]
        mod $group {
            use super::*;

            #[divan::bench]
            fn ours(b: Bencher) {
                let ours = &*OURS;
                b.bench(|| black_box(ours.$ours()));
            }

            #[divan::bench]
            fn floor() -> impl Sized {
                $floor()
            }
        }
    };
}

pair!(pkce_refresh, pkce_refresh, floor::pkce_refresh);
pair!(token_status, token_status, floor::token_status);
pair!(revoke, revoke, floor::revoke);
pair!(error_current_shape, error_current, floor::error_current);
pair!(error_legacy_shape, error_legacy, floor::error_legacy);
pair!(authorize_url_and_callback, authorize_and_callback, floor::authorize_and_callback);
pair!(pkce_generation, pkce, floor::pkce);
