//! Guarantees 1 to 3 on PostgreSQL, with the refreshers in separate processes standing for
//! separate machines: 4 refresher processes on one database, 1,000 PKCE and 1,000 code-flow
//! sellers each forced through at least 10 refreshes, against the fake Square, which refuses
//! (and counts) any spent PKCE refresh token.
#![cfg(feature = "postgres")]

mod common;

use std::collections::HashSet;
use std::io::Read as _;
use std::time::Instant;

use common::pg::PgDb;
use common::*;
use square_oauth::Flow;
use square_oauth_vault::decide::SellerState;
use square_oauth_vault::{Key, Keyring, PostgresStore, Vault};

const PROCESSES: usize = 4;
const THREADS: &str = "4";
const SELLERS_PER_FLOW: usize = 1000;
const TARGET: u64 = 10;

#[test]
fn four_machines_refresh_two_thousand_sellers_without_presenting_a_spent_token() {
    let Some(db) = PgDb::new("race") else { return };
    let square = fake();
    let dir = Dir::new("pg-race", false);
    let key = Key::from_file_or_create(&dir.key_file()).unwrap();
    let vault = Vault::new(PostgresStore::open(&db.conninfo).unwrap(), Keyring::new(key), settings());
    let pkce = grant(&square, &vault, SELLERS_PER_FLOW, Flow::Pkce);
    let code_flow = grant(&square, &vault, SELLERS_PER_FLOW, Flow::CodeFlow);

    let started = Instant::now();
    let mut children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            refresher_on(
                &square,
                &db.conninfo,
                &dir.key_file(),
                &["--threads", THREADS, "--target", &TARGET.to_string()],
            )
        })
        .collect();
    let mut lines = Vec::new();
    for child in &mut children {
        let mut out = String::new();
        child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        assert!(child.wait().unwrap().success(), "a refresher failed: {out}");
        lines.push(out.trim().to_owned());
    }
    let elapsed = started.elapsed();

    let mut refreshes = 0;
    for merchant in pkce.iter().chain(&code_flow) {
        let record = vault.record(merchant).unwrap();
        assert_eq!(record.state, SellerState::Active, "{merchant}");
        assert!(record.refreshes >= TARGET, "{merchant}: {} refreshes", record.refreshes);
        assert!(record.lease.is_none(), "{merchant}: a lease left behind");
        refreshes += record.refreshes;
    }
    let mut presented = HashSet::new();
    let twice = pkce_presented_twice(&square, &mut presented);
    println!(
        "pg race: {PROCESSES} processes x {THREADS} threads, {refreshes} refreshes stored, {} PKCE refresh tokens \
         presented, {twice} presented twice, fake refused reuses: {}, {:.1} s; per process: {lines:?}",
        presented.len(),
        square.refused_reuses(),
        elapsed.as_secs_f64()
    );
    assert_eq!(square.refused_reuses(), 0);
    assert_eq!(twice, 0);
    assert!(presented.len() as u64 >= SELLERS_PER_FLOW as u64 * TARGET);

    // Checked from four threads: 4,000 calls to the fake, one after another, would be most
    // of the test's time.
    let everyone: Vec<_> = pkce.iter().chain(&code_flow).collect();
    let rejected: Vec<_> = std::thread::scope(|scope| {
        let checks: Vec<_> = everyone
            .chunks(everyone.len().div_ceil(4))
            .map(|chunk| {
                let (square, vault) = (&square, &vault);
                scope.spawn(move || {
                    let client = client(square);
                    chunk
                        .iter()
                        .filter(|m| !accepted_by_fake(vault, &client, m))
                        .map(|m| (*m).clone())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        checks.into_iter().flat_map(|check| check.join().unwrap()).collect()
    });
    assert!(rejected.is_empty(), "the fake refuses the tokens of {} sellers: {rejected:?}", rejected.len());
    assert_eq!(square.refused_reuses(), 0);
}
