//! Guarantees 2 to 4 on PostgreSQL under faults, with the refreshers in separate processes:
//! 100 `kill -9`s, a holder paused (SIGSTOP) past its lease and resumed, and the server itself
//! restarted mid-run (fast, then immediate shutdown) with every connection cut besides, and the
//! server down for longer than the store keeps reconnecting, with new tokens in hand.
//! Afterwards nothing is lost and no single-use token was presented twice.
#![cfg(feature = "postgres")]

mod common;

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::pg::{PgDb, cluster_or_skip, ctl, restart};
use common::*;
use square_oauth::{Flow, MerchantId};
use square_oauth_mock::MockSquare;
use square_oauth_vault::decide::SellerState;
use square_oauth_vault::{Key, Keyring, PostgresStore, RefreshOutcome, Vault, VaultError};

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

struct Setup {
    db: PgDb,
    dir: Dir,
    vault: Vault<PostgresStore>,
}

fn setup(name: &str) -> Option<Setup> {
    let db = PgDb::new(name)?;
    let dir = Dir::new(&format!("pg-{name}"), false);
    let key = Key::from_file_or_create(&dir.key_file()).unwrap();
    let vault = Vault::new(PostgresStore::open(&db.conninfo).unwrap(), Keyring::new(key), settings());
    Some(Setup { db, dir, vault })
}

impl Setup {
    fn refresher(&self, square: &MockSquare, extra: &[&str]) -> Child {
        refresher_on(square, &self.db.conninfo, &self.dir.key_file(), extra)
    }

    fn finish(&self, square: &MockSquare, target: &str, lease_ms: &str) -> String {
        let mut last = self.refresher(square, &["--threads", "4", "--target", target, "--lease-ms", lease_ms]);
        let mut out = String::new();
        last.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        assert!(last.wait().unwrap().success(), "the last refresher failed: {out}");
        out.trim().to_owned()
    }

    /// Code-flow sellers lost, PKCE sellers "outcome unknown", PKCE tokens presented twice,
    /// after checking that every active seller reached `target` and is accepted by the fake.
    fn tallies(
        &self,
        square: &MockSquare,
        pkce: &[MerchantId],
        code_flow: &[MerchantId],
        target: u64,
    ) -> (usize, usize, usize) {
        let vault = &self.vault;
        let lost: Vec<_> = code_flow
            .iter()
            .filter_map(|m| match vault.record(m) {
                Ok(r) if r.state == SellerState::Active && r.refreshes >= target => None,
                other => Some(format!("{m}: {other:?}")),
            })
            .collect();
        if !lost.is_empty() {
            eprintln!("code-flow sellers lost: {lost:?}");
        }
        let lost = lost.len();
        let mut unknown = 0;
        let mut pkce_active = Vec::new();
        for merchant in pkce {
            let record = vault.record(merchant).unwrap();
            match record.state {
                // A lease a killed machine left on a seller already past the target (the last
                // refresher only visits the others): whether that machine sent the refresh is
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
        let twice = pkce_presented_twice(square, &mut HashSet::new());
        let client = client(square);
        let rejected = pkce_active.iter().chain(code_flow).filter(|m| !accepted_by_fake(vault, &client, m)).count();
        assert_eq!(rejected, 0, "sellers whose tokens the fake refuses");
        (lost, unknown, twice)
    }
}

#[test]
fn a_hundred_kill_9s_of_machines_lose_no_code_flow_seller_and_present_no_token_twice() {
    const KILLS: usize = 100;
    const LIVE: usize = 4;
    const TARGET: &str = "10";
    const UNREACHED: &str = "1000000";
    const LEASE_MS: &str = "1000";
    let Some(setup) = setup("kills") else { return };
    let square = fake();
    let pkce = grant(&square, &setup.vault, 500, Flow::Pkce);
    let code_flow = grant(&square, &setup.vault, 500, Flow::CodeFlow);
    let started = Instant::now();

    // One thread per process, so that a kill interrupts at most one refresh. The killed
    // processes never run out of work (their target is out of reach), so that every kill lands
    // on a process in the middle of refreshing; with TARGET they finished the work early and
    // the rest of the kills fell on processes that were only starting up.
    let spawn = || setup.refresher(&square, &["--threads", "1", "--target", UNREACHED, "--lease-ms", LEASE_MS]);
    let mut rng = Rng(u64::from(std::process::id()));
    let mut live: Vec<Child> = (0..LIVE).map(|_| spawn()).collect();
    let mut kills = 0;
    while kills < KILLS {
        // Long enough for a new process to connect, list the sellers and be refreshing.
        std::thread::sleep(Duration::from_millis(250 + rng.below(400)));
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
    let after_kills = setup.vault.health().unwrap();
    let during_kills: u64 = setup.vault.sellers().unwrap().iter().map(|s| s.record.refreshes).sum();
    assert!(during_kills > 0, "the kills interrupted no refreshing");
    std::thread::sleep(Duration::from_millis(1100));
    let last = setup.finish(&square, TARGET, LEASE_MS);

    let (lost, unknown, twice) = setup.tallies(&square, &pkce, &code_flow, TARGET.parse().unwrap());
    println!(
        "pg kills: {kills} kills over 1000 sellers, {during_kills} refreshes stored meanwhile, after the kills: \
         {after_kills:?}; code-flow sellers lost: {lost}, \
         PKCE outcome unknown: {unknown}, PKCE tokens presented twice: {twice}, fake refused reuses: {}, {:.1} s; last: {last}",
        square.refused_reuses(),
        started.elapsed().as_secs_f64(),
    );
    assert_eq!(lost, 0);
    assert_eq!(twice, 0);
    assert_eq!(square.refused_reuses(), 0);
    assert!(unknown <= kills, "{unknown} unknown outcomes for {kills} kills");
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args([name, &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
}

/// A holder that refreshes `merchant` with a 300 ms lease, stopped with SIGSTOP once Square has
/// answered it, left past its lease while `meanwhile` runs, then resumed; what it reports.
fn paused_holder(square: &MockSquare, setup: &Setup, merchant: &str, meanwhile: impl FnOnce()) -> String {
    let mut holder = setup.refresher(square, &["--pause-after-send", merchant, "--lease-ms", "300"]);
    let mut out = BufReader::new(holder.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "answered ok=true");
    signal(&holder, "-STOP");
    std::thread::sleep(Duration::from_millis(400));
    meanwhile();
    holder.stdin.take().unwrap().write_all(b"go\n").unwrap();
    signal(&holder, "-CONT");
    line.clear();
    out.read_line(&mut line).unwrap();
    assert!(holder.wait().unwrap().success());
    line.trim().to_owned()
}

#[test]
fn a_machine_paused_past_its_lease_cannot_overwrite_newer_tokens() {
    let Some(setup) = setup("pause-code") else { return };
    let square = fake();
    let merchant = grant(&square, &setup.vault, 1, Flow::CodeFlow).remove(0);
    let client = client(&square);
    let mut newer = None;
    let reported = paused_holder(&square, &setup, merchant.as_str(), || {
        let outcome = setup.vault.refresh(&merchant, true, &mut sender(&client)).unwrap();
        assert!(matches!(outcome, RefreshOutcome::Refreshed));
        newer = Some(setup.vault.tokens(&merchant).unwrap().access_token().expose_secret().to_owned());
    });
    assert_eq!(reported, "finished stale");
    let stored = setup.vault.tokens(&merchant).unwrap();
    assert_eq!(Some(stored.access_token().expose_secret()), newer.as_deref());
    assert_eq!(setup.vault.record(&merchant).unwrap().refreshes, 1);
}

#[test]
fn a_pkce_machine_paused_past_its_lease_is_waited_for_and_its_late_answer_kept() {
    let Some(setup) = setup("pause-pkce") else { return };
    let square = fake();
    let merchant = grant(&square, &setup.vault, 1, Flow::Pkce).remove(0);
    let client = client(&square);
    let reported = paused_holder(&square, &setup, merchant.as_str(), || {
        let outcome = setup.vault.refresh(&merchant, true, &mut |_: &square_oauth::ObtainToken| -> Result<_, _> {
            panic!("a PKCE refresh token whose outcome is unknown was about to be presented")
        });
        assert!(matches!(outcome.unwrap(), RefreshOutcome::Unavailable(_)));
        assert!(matches!(setup.vault.record(&merchant).unwrap().state, SellerState::OutcomeUnknown { .. }));
    });
    assert_eq!(reported, "finished refreshed");
    assert_eq!(setup.vault.record(&merchant).unwrap().state, SellerState::Active);
    assert!(accepted_by_fake(&setup.vault, &client, &merchant));
    assert_eq!(square.refused_reuses(), 0);
}

#[test]
fn the_database_restarted_and_every_connection_cut_mid_run_loses_nothing() {
    const LIVE: usize = 4;
    // Enough refreshes (40 per seller, 16,000 in all) that the refreshers are still at work
    // when the last fault comes, about 6 s in, on a fast machine: at 10 they finished first.
    const TARGET: &str = "40";
    const LEASE_MS: &str = "5000";
    let Some(cluster) = cluster_or_skip("restart") else { return };
    let Some(setup) = setup("restart") else { return };
    let square = fake();
    let pkce = grant(&square, &setup.vault, 200, Flow::Pkce);
    let code_flow = grant(&square, &setup.vault, 200, Flow::CodeFlow);
    let started = Instant::now();
    let mut live: Vec<Child> = (0..LIVE)
        .map(|_| setup.refresher(&square, &["--threads", "2", "--target", TARGET, "--lease-ms", LEASE_MS]))
        .collect();
    let still_running = |live: &mut Vec<Child>, fault: &str| {
        for child in live.iter_mut() {
            assert!(child.try_wait().unwrap().is_none(), "a refresher ended before the {fault}: the run is too short");
        }
    };

    std::thread::sleep(Duration::from_millis(1500));
    still_running(&mut live, "cut");
    let mut admin = setup.db.client();
    let cut: i64 = admin
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'square-oauth-vault' AND pid <> pg_backend_pid()) t",
            &[],
        )
        .unwrap()
        .get(0);
    drop(admin);
    assert!(cut >= LIVE as i64, "{cut} connections cut");
    std::thread::sleep(Duration::from_millis(1000));
    still_running(&mut live, "fast restart");
    restart(&cluster, "fast");
    std::thread::sleep(Duration::from_millis(1500));
    still_running(&mut live, "immediate restart");
    restart(&cluster, "immediate");

    let mut lines = Vec::new();
    for mut child in live {
        let mut out = String::new();
        child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        assert!(child.wait().unwrap().success(), "a refresher failed: {out}");
        lines.push(out.trim().to_owned());
    }
    // Whatever a fault interrupted is finished by a fresh process once the leases ran out.
    std::thread::sleep(Duration::from_millis(5100));
    let last = setup.finish(&square, TARGET, LEASE_MS);

    let (lost, unknown, twice) = setup.tallies(&square, &pkce, &code_flow, TARGET.parse().unwrap());
    println!(
        "pg restart: {cut} connections cut, a fast and an immediate restart over 400 sellers; code-flow sellers lost: \
         {lost}, PKCE outcome unknown: {unknown}, PKCE tokens presented twice: {twice}, fake refused reuses: {}, \
         {:.1} s; per process: {lines:?}; last: {last}",
        square.refused_reuses(),
        started.elapsed().as_secs_f64(),
    );
    assert_eq!(lost, 0);
    assert_eq!(twice, 0);
    assert_eq!(square.refused_reuses(), 0);
    // At most one refresh in flight per refresher thread at each of the three faults.
    assert!(unknown <= 3 * LIVE * 2, "{unknown} unknown outcomes");
}

/// The server stopped right after Square answered a PKCE refresh, and kept down for longer than
/// the store keeps reconnecting (half a second here; a minute by default): the new tokens,
/// the only live ones once Square has spent the old refresh token, are held in memory, the
/// refresher loop goes on trying instead of ending, and stores them when the server is back.
#[test]
fn new_tokens_outlive_the_database_down_past_the_reconnect_window() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    const SELLERS: usize = 40;
    let Some(cluster) = cluster_or_skip("outage") else { return };
    let Some(setup) = setup("outage") else { return };
    let square = fake();
    let pkce = grant(&square, &setup.vault, SELLERS, Flow::Pkce);
    let late = grants(&square, 1, Flow::CodeFlow).remove(0);
    let store = PostgresStore::open(&setup.db.conninfo).unwrap().reconnect_for(Duration::from_millis(500));
    let mut settings = settings();
    // Every seller due once: after its refresh it is next due 7 days after this clock.
    settings.clock =
        Arc::new(|| square_oauth::jiff::Timestamp::now() + square_oauth::jiff::SignedDuration::from_hours(24 * 8));
    let key = Key::from_file_or_create(&setup.dir.key_file()).unwrap();
    let vault = Vault::new(store, Keyring::new(key), settings);

    let client = client(&square);
    let answered = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let (held_seen, ended) = std::thread::scope(|scope| {
        let refresher = scope.spawn(|| {
            let make_send = || {
                let mut send = sender(&client);
                let (answered, stopped, cluster) = (&answered, &stopped, &cluster);
                move |operation: &square_oauth::ObtainToken| {
                    let result = send(operation);
                    // The tenth answer in hand: the server goes down before it is stored.
                    if result.is_ok() && answered.fetch_add(1, Ordering::SeqCst) == 9 {
                        ctl(cluster, &["stop", "-m", "fast"]);
                        stopped.store(true, Ordering::SeqCst);
                    }
                    result
                }
            };
            vault.run_refresher(4, Duration::from_millis(200), &stop, &make_send)
        });
        // Down until the vault holds new tokens it could not store (the store gave up after its
        // window), then 2 s more, four times that window.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !(stopped.load(Ordering::SeqCst) && vault.held() > 0) {
            assert!(Instant::now() < deadline && !refresher.is_finished(), "no new tokens were held in the outage");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_secs(2));
        let held_seen = vault.held();
        assert!(!refresher.is_finished(), "the refresher ended while the server was down");
        // A seller connecting meanwhile: its code is spent, and the grant is held, not dropped.
        let put = vault.put(&late);
        assert!(matches!(put, Err(VaultError::NotYetStored { .. })), "{put:?}");
        assert_eq!(vault.held(), held_seen + 1);
        ctl(&cluster, &["start"]);
        // Until every seller is refreshed and the late grant stored (the refresher reconnects
        // on its own and stores what is held first), then stop.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !pkce.iter().all(|m| setup.vault.record(m).is_ok_and(|r| r.refreshes >= 1 && r.lease.is_none()))
            || setup.vault.tokens(late.merchant_id()).is_err()
        {
            assert!(Instant::now() < deadline && !refresher.is_finished(), "the sellers were not all refreshed");
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::SeqCst);
        (held_seen, refresher.join().unwrap())
    });
    ended.expect("the refresher stops cleanly once the held tokens are stored");
    assert!(held_seen > 0, "no new tokens were in hand when the server went down");
    assert_eq!(vault.held(), 0);
    // The late grant is stored (and, due on the refresher's clock, maybe refreshed since).
    let record = setup.vault.record(late.merchant_id()).unwrap();
    assert_eq!(record.state, SellerState::Active, "{record:?}");
    assert!(accepted_by_fake(&setup.vault, &client, late.merchant_id()), "the late grant's tokens work");
    for merchant in &pkce {
        let record = setup.vault.record(merchant).unwrap();
        assert_eq!((record.state, record.refreshes), (SellerState::Active, 1), "{merchant}");
    }
    let twice = pkce_presented_twice(&square, &mut HashSet::new());
    let refused = pkce.iter().filter(|m| !accepted_by_fake(&setup.vault, &client, m)).count();
    println!(
        "pg outage: the server down past the reconnect window, sellers with new tokens held: {held_seen}; \
         {SELLERS} sellers refreshed once, PKCE tokens presented twice: {twice}, refused by the fake afterwards: \
         {refused}, fake refused reuses: {}",
        square.refused_reuses()
    );
    assert_eq!((twice, refused, square.refused_reuses()), (0, 0, 0));
}
