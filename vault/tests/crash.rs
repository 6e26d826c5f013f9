//! Guarantees 3 and 4 under `kill -9`: refresher processes killed at random moments, 100
//! times, during a run over 500 PKCE and 500 code-flow sellers; then a fresh process finishes.
//! No code-flow seller is lost, no PKCE refresh token is presented twice, and every PKCE
//! seller ends valid or "outcome unknown", at most one per kill.

mod common;

use std::collections::HashSet;
use std::io::Read as _;
use std::process::Child;
use std::time::{Duration, Instant};

use common::*;
use square_oauth::Flow;
use square_oauth_vault::decide::SellerState;

const KILLS: usize = 100;
const LIVE: usize = 4;
const SELLERS_PER_FLOW: usize = 500;
const TARGET: &str = "10";
/// The killed processes' target: out of reach, so that they are refreshing when killed.
const UNREACHED: &str = "1000000";
const LEASE_MS: &str = "1000";

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[test]
fn a_hundred_kill_9s_lose_no_code_flow_seller_and_present_no_token_twice() {
    let square = fake();
    let dir = Dir::new("crash", true);
    let vault = vault(&dir);
    let pkce = grant(&square, &vault, SELLERS_PER_FLOW, Flow::Pkce);
    let code_flow = grant(&square, &vault, SELLERS_PER_FLOW, Flow::CodeFlow);
    let started = Instant::now();

    // One thread per process, so that a kill interrupts at most one refresh. The killed
    // processes never run out of work (their target is out of reach), so that every kill lands
    // on a process in the middle of refreshing; with TARGET they finished the work early and
    // the rest of the kills fell on processes that were only starting up.
    let spawn = || refresher(&square, &dir, &["--threads", "1", "--target", UNREACHED, "--lease-ms", LEASE_MS]);
    let mut rng = Rng(u64::from(std::process::id()));
    let mut live: Vec<Child> = (0..LIVE).map(|_| spawn()).collect();
    let mut kills = 0;
    while kills < KILLS {
        std::thread::sleep(Duration::from_millis(30 + rng.below(150)));
        let victim = rng.below(LIVE as u64) as usize;
        let mut child = std::mem::replace(&mut live[victim], spawn());
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    for mut child in live {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let after_kills = vault.health().unwrap();

    // Every lease a killed process held runs out; then a fresh process finishes the work.
    std::thread::sleep(Duration::from_millis(1100));
    let mut last = refresher(&square, &dir, &["--threads", "4", "--target", TARGET, "--lease-ms", LEASE_MS]);
    let mut out = String::new();
    last.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(last.wait().unwrap().success(), "the last refresher failed: {out}");

    let target: u64 = TARGET.parse().unwrap();
    let lost_code_flow = code_flow
        .iter()
        .filter(|m| vault.record(m).map(|r| r.state != SellerState::Active || r.refreshes < target).unwrap_or(true))
        .count();
    let mut unknown = 0;
    let mut pkce_active = Vec::new();
    for merchant in &pkce {
        let record = vault.record(merchant).unwrap();
        match record.state {
            // A lease a killed process left on a seller already past the target (the last
            // refresher only visits the others): whether that process sent the refresh is
            // unknown, and the vault's next look at the seller says so.
            SellerState::Active if record.lease.is_some() => unknown += 1,
            SellerState::Active => {
                assert!(record.refreshes >= target, "{merchant}: {}", record.refreshes);
                pkce_active.push(merchant.clone());
            }
            SellerState::OutcomeUnknown { .. } => unknown += 1,
            other => panic!("{merchant}: {other:?}"),
        }
    }
    let mut presented = HashSet::new();
    let twice = pkce_presented_twice(&square, &mut presented);
    println!(
        "crash: {kills} kills, {} after the kills: {after_kills:?}; code-flow sellers lost: {lost_code_flow}, \
         PKCE outcome unknown: {unknown}, PKCE tokens presented twice: {twice}, fake refused reuses: {}, {:.1} s; last: {}",
        SELLERS_PER_FLOW * 2,
        square.refused_reuses(),
        started.elapsed().as_secs_f64(),
        out.trim()
    );
    assert_eq!(lost_code_flow, 0);
    assert_eq!(twice, 0);
    assert_eq!(square.refused_reuses(), 0);
    assert!(unknown <= kills, "{unknown} unknown outcomes for {kills} kills");

    let client = client(&square);
    let rejected = pkce_active.iter().chain(&code_flow).filter(|m| !accepted_by_fake(&vault, &client, m)).count();
    assert_eq!(rejected, 0, "sellers whose tokens the fake refuses");
    assert_eq!(square.refused_reuses(), 0);
}
