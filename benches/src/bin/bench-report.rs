//! Every benchmark pair, interleaved in one process, one JSON line each.
//!
//! ```text
//! cargo run --release -p square-oauth-benches --bin bench-report [-- --rounds 30 --round-ms 20 --due-sellers 10000 --quick]
//! ```
//!
//! For each pair, `rounds` rounds alternate ours and the baseline (which one goes first
//! alternates too), each side running as many iterations as fill about `round-ms`; the medians
//! of the per-iteration times are reported, so that machine noise hits both sides alike. The
//! lines: `machine`, then `{"name", "ours_ns", "base_ns", "ratio", "base", "target", "met"}` per
//! pair (the core pairs also with `ours_allocations` and `base_allocations` per call),
//! `allocations_per_code_exchange`, `vault_refresh_due_sellers` (one refresher round over
//! `--due-sellers`, 10 000 by default, all due) and `mock_server_throughput`. `--quick` is a
//! smoke run (3 rounds, 1 ms, 2 000 exchanges, 300 due sellers) for checking that everything
//! runs. Before measuring, it checks that both sides of every pair send the same request (line
//! `pairs_send_the_same_request`) and exits with status 1 if one does not.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::json;
use square_oauth::{ClientId, ClientSecret};
use square_oauth_benches::alloc::{Counting, count};
use square_oauth_benches::fixture::{CLIENT_ID, CLIENT_SECRET};
use square_oauth_benches::loopback::{HyperPair, Server, UreqPair};
use square_oauth_benches::ours::Ours;
use square_oauth_benches::peer::Peer;
use square_oauth_benches::vault::RefreshPair;
use square_oauth_benches::{floor, mock, vault};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Settings {
    rounds: usize,
    round: Duration,
    exchanges: usize,
    /// Due sellers in the vault's refresher round.
    due_sellers: usize,
    /// Only the lines whose name contains this.
    only: Option<String>,
}

impl Settings {
    fn wants(&self, name: &str) -> bool {
        self.only.as_deref().is_none_or(|only| name.contains(only))
    }
}

/// A timed loop: `n` calls of `f`, their results kept from the optimizer.
fn timed<T>(n: u64, mut f: impl FnMut() -> T) -> Duration {
    let started = Instant::now();
    for _ in 0..n {
        black_box(f());
    }
    started.elapsed()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 }
}

/// Interleaves the two sides and returns their median nanoseconds per iteration.
fn interleave(
    settings: &Settings,
    mut ours: impl FnMut(u64) -> Duration,
    mut base: impl FnMut(u64) -> Duration,
) -> (f64, f64) {
    // Warm up both, then size the rounds on the slower side.
    let _ = (ours(16), base(16));
    let mut n = 1u64;
    while ours(n).max(base(n)) < settings.round / 4 && n < 1 << 30 {
        n *= 2;
    }
    n = (n * 4).max(1);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..settings.rounds {
        let per_iteration = |d: Duration| d.as_nanos() as f64 / n as f64;
        if round % 2 == 0 {
            a.push(per_iteration(ours(n)));
            b.push(per_iteration(base(n)));
        } else {
            b.push(per_iteration(base(n)));
            a.push(per_iteration(ours(n)));
        }
    }
    (median(a), median(b))
}

/// Measures a pair (unless `--only` leaves it out) and prints its line. `limit` is the largest
/// ratio that meets the target.
fn report(
    settings: &Settings,
    name: &str,
    base: &str,
    target: &str,
    limit: f64,
    measure: impl FnOnce(&Settings) -> (f64, f64),
) {
    if !settings.wants(name) {
        return;
    }
    let (ours_ns, base_ns) = measure(settings);
    println!("{}", line(name, (ours_ns, base_ns), base, target, limit));
}

/// A pair's line: its times, their ratio, the baseline, the target and whether it is met (null
/// when `limit` is infinite: a pair for context only).
fn line(name: &str, (ours_ns, base_ns): (f64, f64), base: &str, target: &str, limit: f64) -> serde_json::Value {
    let ratio = ours_ns / base_ns;
    json!({
        "name": name,
        "ours_ns": (ours_ns * 10.0).round() / 10.0,
        "base_ns": (base_ns * 10.0).round() / 10.0,
        "ratio": (ratio * 1000.0).round() / 1000.0,
        "base": base,
        "target": target,
        "met": if limit.is_finite() { json!(ratio <= limit) } else { serde_json::Value::Null },
    })
}

/// A core pair: its allocations per call (counted while no other thread runs), then its
/// times, in one line like [`report`]'s with `ours_allocations` and `base_allocations` added.
fn core_pair<T, U>(
    settings: &Settings,
    name: &str,
    base: &str,
    mut ours: impl FnMut() -> T,
    mut floor: impl FnMut() -> U,
) {
    if !settings.wants(name) {
        return;
    }
    let calls = 1000;
    let (ours_allocations, _) = count(calls, &mut ours);
    let (base_allocations, _) = count(calls, &mut floor);
    let times = interleave(settings, |n| timed(n, &mut ours), |n| timed(n, &mut floor));
    let mut line = line(name, times, base, "<= 1.15x the floor", 1.15);
    line["ours_allocations"] = json!(ours_allocations);
    line["base_allocations"] = json!(base_allocations);
    println!("{line}");
}

fn machine() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_owned()))
        .unwrap_or_else(|| "unknown".to_owned());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "{}",
        json!({"name": "machine", "cpu": cpu, "cores": cores, "load_average": load.join(" "), "os": std::env::consts::OS})
    );
}

const USAGE: &str = "\
usage: bench-report [--rounds N] [--round-ms MS] [--exchanges N] [--due-sellers N] [--only NAME] [--quick]

  --rounds N        rounds per pair, each alternating ours and the baseline (default 30)
  --round-ms MS     how long each side runs in a round, in milliseconds (default 20)
  --exchanges N     code exchanges sent to the fake for mock_server_throughput (default 20000)
  --due-sellers N   due sellers in vault_refresh_due_sellers's refresher round (default 10000)
  --only NAME       only the lines whose name contains NAME
  --quick           a smoke run: 3 rounds of 1 ms, 2000 exchanges, 300 due sellers
";

fn main() {
    let mut settings =
        Settings { rounds: 30, round: Duration::from_millis(20), exchanges: 20_000, due_sellers: 10_000, only: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || args.next().and_then(|v| v.parse::<u64>().ok()).ok_or(format!("{arg} needs a number"));
        let parsed = match arg.as_str() {
            "--rounds" => number().map(|n| settings.rounds = n as usize),
            "--round-ms" => number().map(|n| settings.round = Duration::from_millis(n)),
            "--exchanges" => number().map(|n| settings.exchanges = n as usize),
            "--due-sellers" => number().map(|n| settings.due_sellers = n as usize),
            "--only" => args.next().map(|name| settings.only = Some(name)).ok_or(format!("{arg} needs a name")),
            "--quick" => {
                settings.rounds = 3;
                settings.round = Duration::from_millis(1);
                settings.exchanges = 2_000;
                settings.due_sellers = 300;
                Ok(())
            }
            "--bench" => Ok(()), // passed by `cargo bench`; this binary is not a bench target
            "-h" | "--help" => {
                print!("{USAGE}");
                return;
            }
            other => Err(format!("unknown argument {other}")),
        };
        if let Err(problem) = parsed {
            eprint!("bench-report: {problem}\n\n{USAGE}");
            std::process::exit(2);
        }
    }
    machine();

    // A pair whose sides send different requests measures different jobs: its ratio means
    // nothing, so the report stops there.
    let mismatched = square_oauth_benches::mismatched_requests();
    println!(
        "{}",
        json!({"name": "pairs_send_the_same_request", "ok": mismatched.is_empty(), "mismatched": mismatched})
    );
    if !mismatched.is_empty() {
        std::process::exit(1);
    }

    let ours = Ours::default();
    let peer = Peer::default();
    let (client_id, secret) = (ClientId::new(CLIENT_ID), ClientSecret::new(CLIENT_SECRET));
    const FLOOR: &str = "bare serde_json + http";

    // Allocations first, while no other thread exists.
    if settings.wants("allocations_per_code_exchange") {
        let (ours_allocs, ours_bytes) = count(1000, || ours.code_exchange());
        let (fresh_allocs, fresh_bytes) = count(1000, || ours.code_exchange_fresh(&client_id, &secret));
        let (floor_allocs, floor_bytes) = count(1000, floor::code_exchange);
        let (peer_allocs, peer_bytes) = count(1000, || peer.code_exchange());
        let (build_allocs, _) = count(1000, || ours.code_exchange_build());
        let (parse_allocs, _) = count(1000, || ours.code_exchange_parse());
        println!(
            "{}",
            json!({
                "name": "allocations_per_code_exchange",
                "ours": ours_allocs, "ours_bytes": ours_bytes,
            "ours_build": build_allocs, "ours_parse": parse_allocs,
                "ours_with_operation_made": fresh_allocs, "ours_with_operation_made_bytes": fresh_bytes,
                "floor": floor_allocs, "floor_bytes": floor_bytes,
                "oauth2": peer_allocs, "oauth2_bytes": peer_bytes,
            })
        );
    }

    let s = &settings;
    core_pair(s, "core_code_exchange", FLOOR, || ours.code_exchange(), floor::code_exchange);
    report(
        s,
        "core_code_exchange_vs_oauth2",
        "oauth2 5, in-memory HTTP client",
        ">= 1.4x faster than oauth2 (ratio <= 0.71)",
        0.71,
        |s| {
            interleave(
                s,
                |n| timed(n, || ours.code_exchange_fresh(&client_id, &secret)),
                |n| timed(n, || peer.code_exchange()),
            )
        },
    );
    report(
        s,
        "floor_code_exchange_vs_oauth2",
        "oauth2 5, in-memory HTTP client",
        "none: how far the floor itself is from oauth2",
        f64::INFINITY,
        |s| interleave(s, |n| timed(n, floor::code_exchange), |n| timed(n, || peer.code_exchange())),
    );
    core_pair(s, "core_pkce_refresh", FLOOR, || ours.pkce_refresh(), floor::pkce_refresh);
    core_pair(s, "core_token_status", FLOOR, || ours.token_status(), floor::token_status);
    core_pair(s, "core_revoke", FLOOR, || ours.revoke(), floor::revoke);
    core_pair(s, "core_error_current_shape", FLOOR, || ours.error_current(), floor::error_current);
    core_pair(s, "core_error_legacy_shape", FLOOR, || ours.error_legacy(), floor::error_legacy);
    core_pair(
        s,
        "core_authorize_url_and_callback",
        "bare form_urlencoded",
        || ours.authorize_and_callback(),
        floor::authorize_and_callback,
    );
    core_pair(s, "core_pkce_generation", "bare base64 + sha2", || ours.pkce(), floor::pkce);

    let server = Server::start();
    if settings.wants("adapter_hyper_round_trip") {
        let hyper = HyperPair::new(&server);
        report(
            s,
            "adapter_hyper_round_trip",
            "raw hyper-util 0.1 legacy client",
            "<= 1.05x the raw client",
            1.05,
            |s| {
                interleave(
                    s,
                    |n| hyper.runtime.block_on(async { timed_async(n, || hyper.ours()).await }),
                    |n| hyper.runtime.block_on(async { timed_async(n, || hyper.base()).await }),
                )
            },
        );
    }
    if settings.wants("adapter_ureq") {
        let ureq = UreqPair::new(&server);
        report(s, "adapter_ureq_round_trip", "raw ureq 3 agent", "<= 1.05x the raw client", 1.05, |s| {
            interleave(s, |n| timed(n, || ureq.ours()), |n| timed(n, || ureq.base()))
        });
        report(
            s,
            "adapter_ureq_round_trip_vs_raw_with_same_timeouts",
            "raw ureq 3 agent with the adapter's timeouts",
            "<= 1.05x the raw client",
            1.05,
            |s| interleave(s, |n| timed(n, || ureq.ours()), |n| timed(n, || ureq.base_with_timeouts())),
        );
    }

    if settings.wants("vault_refresh_sqlite") {
        let pair = RefreshPair::new(&server);
        report(
            s,
            "vault_refresh_sqlite",
            "ureq adapter + one bare SQLite UPDATE (WAL, synchronous=FULL)",
            "<= 1.5x the floor",
            1.5,
            |s| interleave(s, |n| timed(n, || pair.ours()), |n| timed(n, || pair.base())),
        );
    }
    if settings.wants("vault_refresh_due_sellers") {
        let round = vault::refresh_due_round(settings.due_sellers);
        println!(
            "{}",
            json!({
                "name": "vault_refresh_due_sellers",
                "sellers": round.sellers, "refreshed": round.refreshed, "not_refreshed": round.not_refreshed,
                "concurrency": vault::CONCURRENCY,
                "seconds": (round.seconds * 1000.0).round() / 1000.0,
                "sellers_per_second": (round.refreshed as f64 / round.seconds).round(),
            })
        );
    }

    if !settings.wants("mock_server_throughput") {
        return;
    }
    let (exchanges, clients, seconds, failed) = mock::throughput(settings.exchanges, 64);
    let per_second = exchanges as f64 / seconds;
    println!(
        "{}",
        json!({
            "name": "mock_server_throughput",
            "exchanges": exchanges, "clients": clients, "failed": failed,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "exchanges_per_second": per_second.round(),
            "target": ">= 20000 exchanges/s",
            "met": per_second >= 20_000.0 && failed == 0,
        })
    );
}

/// `timed` for an async call.
async fn timed_async<T, F: std::future::Future<Output = T>>(n: u64, mut f: impl FnMut() -> F) -> Duration {
    let started = Instant::now();
    for _ in 0..n {
        black_box(f().await);
    }
    started.elapsed()
}
