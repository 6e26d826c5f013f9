//! Loopback round trips through each adapter and its raw client, for people:
//! `cargo bench -p square-oauth-benches --bench adapters`. One minimal keep-alive server on
//! 127.0.0.1 answers every request with ObtainToken's canned answer.

use std::sync::LazyLock;

use divan::{Bencher, black_box};
use square_oauth_benches::loopback::{HyperPair, Server, UreqPair};

static SERVER: LazyLock<Server> = LazyLock::new(Server::start);

fn main() {
    divan::main();
}

#[divan::bench_group(sample_count = 200)]
mod hyper {
    use super::*;

    #[divan::bench]
    fn adapter(b: Bencher) {
        let pair = HyperPair::new(&SERVER);
        b.bench_local(|| pair.runtime.block_on(async { black_box(pair.ours().await) }));
    }

    #[divan::bench]
    fn raw_hyper_util(b: Bencher) {
        let pair = HyperPair::new(&SERVER);
        b.bench_local(|| pair.runtime.block_on(async { black_box(pair.base().await) }));
    }
}

#[divan::bench_group(sample_count = 200)]
mod ureq {
    use super::*;

    #[divan::bench]
    fn adapter(b: Bencher) {
        let pair = UreqPair::new(&SERVER);
        b.bench_local(|| black_box(pair.ours()));
    }

    #[divan::bench]
    fn raw_ureq(b: Bencher) {
        let pair = UreqPair::new(&SERVER);
        b.bench_local(|| black_box(pair.base()));
    }

    #[divan::bench]
    fn raw_ureq_with_adapter_timeouts(b: Bencher) {
        let pair = UreqPair::new(&SERVER);
        b.bench_local(|| black_box(pair.base_with_timeouts()));
    }
}
