//! Guarantee 8: the refresher takes sellers at 7 days old less a random spread, with bounded
//! concurrency, backs off after failures and honours `Retry-After`; the health query counts
//! every state.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use square_oauth::jiff::{SignedDuration, Timestamp};
use square_oauth::{Flow, MerchantId, ObtainToken, ObtainTokenResponse};
use square_oauth_mock::Fault;
use square_oauth_vault::decide::{Health, Unavailable};
use square_oauth_vault::{
    Key, Keyring, RefreshFailure, RefreshOutcome, Row, SqliteStore, Store as _, StoreError, Vault, VaultError,
};

/// A vault over `store` with `keys`, its clock `offset` ahead of now.
fn vault_on<T: square_oauth_vault::Store>(store: T, keys: Keyring, offset: Arc<Mutex<SignedDuration>>) -> Vault<T> {
    let mut settings = settings();
    settings.clock = Arc::new(move || Timestamp::now() + *offset.lock().unwrap());
    Vault::new(store, keys, settings)
}

/// A vault on `dir`'s SQLite file and key file.
fn vault_at(dir: &Dir, offset: Arc<Mutex<SignedDuration>>) -> Vault<SqliteStore> {
    let key = Key::from_file_or_create(&dir.key_file()).unwrap();
    vault_on(SqliteStore::open(&dir.db()).unwrap(), Keyring::new(key), offset)
}

const DAY: SignedDuration = SignedDuration::from_hours(24);

#[test]
fn due_sellers_are_spread_before_seven_days_and_refreshed_with_bounded_concurrency() {
    let square = fake();
    let dir = Dir::new("schedule", false);
    let offset = Arc::new(Mutex::new(SignedDuration::ZERO));
    let vault = vault_at(&dir, offset.clone());
    let sellers = grant(&square, &vault, 30, Flow::Pkce);
    let spread = SignedDuration::try_from(vault.settings().spread).unwrap();
    let mut spread_at = std::collections::HashSet::new();
    for seller in vault.sellers().unwrap() {
        let seven = seller.record.obtained_at + DAY * 7;
        assert!(seller.record.refresh_at <= seven && seller.record.refresh_at >= seven - spread);
        spread_at.insert(seller.record.refresh_at);
    }
    assert!(spread_at.len() > 20, "the refresh times are not spread: {}", spread_at.len());

    let client = client(&square);
    let in_flight = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    let make_send = || {
        |operation: &ObtainToken| {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            let answer = sender(&client)(operation);
            in_flight.fetch_sub(1, Ordering::SeqCst);
            answer
        }
    };
    assert!(vault.refresh_due(100, 3, &make_send).unwrap().is_empty(), "nothing is due now");
    *offset.lock().unwrap() = DAY * 6;
    assert!(vault.refresh_due(100, 3, &make_send).unwrap().is_empty(), "nothing is due at 6 days");
    *offset.lock().unwrap() = DAY * 7;
    let round = vault.refresh_due(100, 3, &make_send).unwrap();
    assert_eq!((round.refreshed, round.not_refreshed()), (30, 0), "{round:?}");
    assert_eq!(most.load(Ordering::SeqCst), 3);
    assert_eq!(vault.health().unwrap().count(Health::Fresh), 30);
    for merchant in &sellers {
        assert_eq!(vault.record(merchant).unwrap().refreshes, 1);
    }
    assert_eq!(square.refused_reuses(), 0);
}

#[test]
fn a_busy_square_is_left_alone_for_its_retry_after_and_failures_back_off() {
    let square = fake();
    let dir = Dir::new("retry-after", false);
    let offset = Arc::new(Mutex::new(SignedDuration::ZERO));
    let vault = vault_at(&dir, offset.clone());
    let merchant = grant(&square, &vault, 1, Flow::CodeFlow).remove(0);
    *offset.lock().unwrap() = DAY * 7;
    square.fault("/oauth2/token", Fault::Status { status: 429, retry_after: Some("120".into()) }, 3);
    let client = square_oauth_ureq::Client::builder(square_oauth::Config::custom(&square.base_url()).unwrap())
        .retry_policy(square_oauth::RetryPolicy::never())
        .build();
    let before = Timestamp::now() + DAY * 7;
    let outcome = vault.refresh(&merchant, false, &mut sender(&client)).unwrap();
    assert!(matches!(outcome, RefreshOutcome::Failed(RefreshFailure::Busy { retry_after: Some(_) })), "{outcome:?}");
    let record = vault.record(&merchant).unwrap();
    let retry_at = record.retry_at.unwrap();
    assert!(
        retry_at >= before + SignedDuration::from_secs(119)
            && retry_at <= Timestamp::now() + DAY * 7 + SignedDuration::from_secs(121)
    );
    assert_eq!(vault.health().unwrap().count(Health::Failing), 1);
    let make_send = || sender(&client);
    *offset.lock().unwrap() = DAY * 7 + SignedDuration::from_secs(60);
    assert!(vault.refresh_due(10, 2, &make_send).unwrap().is_empty(), "retried before Retry-After");
    assert!(matches!(
        vault.refresh(&merchant, false, &mut sender(&client)).unwrap(),
        RefreshOutcome::BackingOff { .. }
    ));
    // Past it, a further failure (no Retry-After this time) backs off exponentially.
    *offset.lock().unwrap() = DAY * 7 + SignedDuration::from_secs(200);
    square.fault("/oauth2/token", Fault::Status { status: 503, retry_after: None }, 1);
    let round = vault.refresh_due(10, 2, &make_send).unwrap();
    assert_eq!((round.failed, round.not_refreshed()), (1, 1), "a 503 is a failure to retry: {round:?}");
    let record = vault.record(&merchant).unwrap();
    assert!(record.failures >= 2);
    // Once the queued faults are spent, it refreshes.
    *offset.lock().unwrap() = DAY * 8;
    loop {
        match vault.refresh(&merchant, true, &mut sender(&client)).unwrap() {
            RefreshOutcome::Refreshed => break,
            RefreshOutcome::Failed(_) => continue,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(vault.record(&merchant).unwrap().failures, 0);
}

#[test]
fn the_health_query_counts_every_state() {
    let square = fake();
    let dir = Dir::new("health", false);
    let offset = Arc::new(Mutex::new(SignedDuration::ZERO));
    let vault = vault_at(&dir, offset.clone());
    let code_flow = grant(&square, &vault, 3, Flow::CodeFlow);
    let pkce = grant(&square, &vault, 3, Flow::Pkce);
    let fail = |failure: fn() -> RefreshFailure| {
        move |_: &ObtainToken| -> Result<ObtainTokenResponse, RefreshFailure> { Err(failure()) }
    };
    let _ = vault.refresh(&code_flow[0], true, &mut fail(|| RefreshFailure::NotSent { source: None })).unwrap();
    let _ = vault.refresh(&pkce[0], true, &mut fail(|| RefreshFailure::MaybeSent { source: None })).unwrap();
    let refused = || {
        let refresh = ObtainToken::pkce_refresh(
            square_oauth::ClientId::new("sq0idp-app"),
            square_oauth::RefreshToken::new("EQAAx"),
        );
        let answer = http::Response::builder()
            .status(400)
            .header("content-type", "application/json")
            .body(r#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED"}]}"#)
            .unwrap();
        let error = square_oauth::Operation::parse(&refresh, &square_oauth::Config::production(), answer).unwrap_err();
        RefreshFailure::Refused { reauthorize: true, error }
    };
    assert!(matches!(vault.refresh(&pkce[1], true, &mut fail(refused)).unwrap(), RefreshOutcome::MustAuthorize));
    assert!(matches!(
        vault.refresh(&pkce[0], true, &mut fail(refused)).unwrap(),
        RefreshOutcome::Unavailable(Unavailable::OutcomeUnknown)
    ));
    let report = vault.health().unwrap();
    assert_eq!(
        [Health::Fresh, Health::Failing, Health::OutcomeUnknown, Health::MustAuthorize].map(|h| report.count(h)),
        [3, 1, 1, 1]
    );
    *offset.lock().unwrap() = DAY * 7 + SignedDuration::from_hours(1);
    let report = vault.health().unwrap();
    assert_eq!(report.count(Health::Due), 3, "{report:?}");
    *offset.lock().unwrap() = DAY * 8 + SignedDuration::from_hours(1);
    let report = vault.health().unwrap();
    assert_eq!(report.count(Health::Overdue), 3, "{report:?}");
    // Past the unknown outcome's deadline, it counts as "must authorize again".
    assert_eq!(report.count(Health::MustAuthorize), 2);
    assert_eq!(report.total(), 6);

    let stop = AtomicBool::new(true);
    let client = client(&square);
    vault.run_refresher(2, Duration::from_millis(10), &stop, &|| sender(&client)).unwrap();
}

#[test]
fn sixteen_threads_on_one_due_code_flow_seller_send_one_refresh() {
    let square = fake();
    let dir = Dir::new("single-flight", false);
    let offset = Arc::new(Mutex::new(DAY * 7));
    let vaults: Vec<_> = (0..16).map(|_| vault_at(&dir, offset.clone())).collect();
    let merchant = grant(&square, &vaults[0], 1, Flow::CodeFlow).remove(0);
    let client = client(&square);
    let sent = AtomicUsize::new(0);
    let barrier = std::sync::Barrier::new(vaults.len());
    let outcomes: Vec<RefreshOutcome> = std::thread::scope(|scope| {
        let threads: Vec<_> = vaults
            .iter()
            .map(|vault| {
                let (client, sent, barrier, merchant) = (&client, &sent, &barrier, &merchant);
                scope.spawn(move || {
                    barrier.wait();
                    vault
                        .refresh(merchant, false, &mut |operation: &ObtainToken| {
                            sent.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(50));
                            sender(client)(operation)
                        })
                        .unwrap()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(sent.load(Ordering::SeqCst), 1);
    assert_eq!(outcomes.iter().filter(|o| matches!(o, RefreshOutcome::Refreshed)).count(), 1);
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            RefreshOutcome::Refreshed | RefreshOutcome::HeldElsewhere { .. } | RefreshOutcome::NotDue
        )),
        "{outcomes:?}"
    );
    assert_eq!(vaults[0].record(&merchant).unwrap().refreshes, 1);
}

#[test]
fn a_sender_that_panics_ends_the_round_with_its_panic_not_an_empty_count() {
    let square = fake();
    let dir = Dir::new("panic", false);
    let offset = Arc::new(Mutex::new(DAY * 8));
    let vault = vault_at(&dir, offset);
    grant(&square, &vault, 3, Flow::CodeFlow);
    let make_send = || |_: &ObtainToken| -> Result<ObtainTokenResponse, RefreshFailure> { panic!("the sender broke") };
    let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| vault.refresh_due(10, 2, &make_send)));
    let panic = round.expect_err("the sender's panic reaches the caller");
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"the sender broke"));
}

#[test]
fn a_damaged_row_is_counted_and_backs_off_while_the_round_goes_on() {
    let square = fake();
    let dir = Dir::new("damaged-row", false);
    let offset = Arc::new(Mutex::new(SignedDuration::ZERO));
    let vault = vault_at(&dir, offset.clone());
    let pkce = grant(&square, &vault, 3, Flow::Pkce);
    let damaged = grant(&square, &vault, 1, Flow::CodeFlow).remove(0);
    vault
        .store()
        .update(&damaged, &mut |row| {
            let mut row = row.unwrap().clone();
            let last = row.tokens.access_token.len() - 1;
            row.tokens.access_token[last] ^= 0x40;
            Some(row)
        })
        .unwrap();
    *offset.lock().unwrap() = DAY * 8;
    let client = client(&square);
    let make_send = || sender(&client);
    let round = vault.refresh_due(10, 1, &make_send).expect("the round goes on past the damaged row");
    assert_eq!((round.refreshed, round.failed, round.not_refreshed()), (3, 1, 1), "{round:?}");
    for merchant in &pkce {
        assert_eq!(vault.record(merchant).unwrap().refreshes, 1);
    }
    let record = vault.record(&damaged).unwrap();
    assert!(record.lease.is_none() && record.failures == 1 && record.retry_at.is_some(), "{record:?}");
    // Backing off: the next round does not take it again at once.
    assert!(vault.refresh_due(10, 1, &make_send).unwrap().is_empty());
    assert_eq!(square.refused_reuses(), 0);
}

#[test]
fn a_vault_set_up_wrong_ends_its_round_and_backs_nobody_off() {
    let square = fake();
    let dir = Dir::new("set-up-wrong", false);
    let vault = vault_at(&dir, Arc::new(Mutex::new(SignedDuration::ZERO)));
    let code = grant(&square, &vault, 2, Flow::CodeFlow);
    // The same store without the application's secret: a code-flow refresh cannot be built.
    let mut settings = vault.settings().clone();
    settings.client_secret = None;
    settings.clock = Arc::new(|| Timestamp::now() + DAY * 8);
    let key = Key::from_file_or_create(&dir.key_file()).unwrap();
    let secretless = Vault::new(SqliteStore::open(&dir.db()).unwrap(), Keyring::new(key), settings);
    let client = client(&square);
    let error = secretless.refresh_due(10, 1, &|| sender(&client)).expect_err("this vault's own lack ends the round");
    assert!(matches!(error, VaultError::Lifecycle(_)), "{error}");
    for merchant in &code {
        let record = vault.record(merchant).unwrap();
        assert!(record.lease.is_none() && record.failures == 0 && record.retry_at.is_none(), "{record:?}");
    }
}

#[test]
fn a_round_leaves_rows_sealed_with_a_key_it_lacks_to_the_vaults_that_hold_it() {
    let square = fake();
    let dir = Dir::new("other-keys", false);
    let offset = Arc::new(Mutex::new(SignedDuration::ZERO));
    let vault = vault_at(&dir, offset.clone());
    let ours: Vec<_> = [grant(&square, &vault, 3, Flow::Pkce), grant(&square, &vault, 2, Flow::CodeFlow)].concat();
    // Sellers sealed with another key on the same store: a process given a new key first, or
    // rows under a key since dropped (restored from an old backup, rotated away too early).
    let on_key = |key| vault_on(SqliteStore::open(&dir.db()).unwrap(), Keyring::new(key), offset.clone());
    let other = on_key(Key::generate());
    let theirs: Vec<_> = [grant(&square, &other, 2, Flow::Pkce), grant(&square, &other, 1, Flow::CodeFlow)].concat();
    let rows = |sellers: &[square_oauth::MerchantId]| -> Vec<_> {
        sellers.iter().map(|m| vault.store().get(m).unwrap().unwrap()).collect()
    };
    *offset.lock().unwrap() = DAY * 8;
    let client = client(&square);
    let make_send = || sender(&client);

    // A vault that holds neither key claims nothing, and writes nothing.
    let (before_ours, before_theirs) = (rows(&ours), rows(&theirs));
    let stranger = on_key(Key::generate());
    assert!(stranger.refresh_due(100, 2, &make_send).expect("no error either").is_empty());
    assert_eq!((rows(&ours), rows(&theirs)), (before_ours, before_theirs.clone()));
    // Asked for one of them, it says why and gives its lease back, with no backoff for anyone.
    let error = stranger.refresh(&ours[0], false, &mut sender(&client)).expect_err("not its key");
    assert!(matches!(error, VaultError::Seal(_)), "{error}");
    let record = vault.record(&ours[0]).unwrap();
    assert!(record.lease.is_none() && record.failures == 0 && record.retry_at.is_none(), "{record:?}");
    // Each vault refreshes its own sellers, and leaves the others' rows exactly as they were.
    for concurrency in [1, 3] {
        let round = vault.refresh_due(100, concurrency, &make_send).expect("the round goes on");
        assert_eq!((round.refreshed, round.not_refreshed()), (if concurrency == 1 { 5 } else { 0 }, 0), "{round:?}");
        assert_eq!(rows(&theirs), before_theirs);
    }
    let round = other.refresh_due(100, 2, &make_send).unwrap();
    assert_eq!((round.refreshed, round.not_refreshed()), (3, 0), "{round:?}");
    for merchant in ours.iter().chain(&theirs) {
        assert_eq!(vault.store().get(merchant).unwrap().unwrap().record.refreshes, 1, "{merchant}");
    }
    assert_eq!(square.refused_reuses(), 0);
}

/// A store that has only the methods a store must have, and the trait's defaults for the rest
/// (the claims through `due` and `update`).
struct Defaults(SqliteStore);

impl square_oauth_vault::Store for Defaults {
    fn get(&self, merchant: &MerchantId) -> Result<Option<Row>, StoreError> {
        self.0.get(merchant)
    }
    fn update(
        &self,
        merchant: &MerchantId,
        decide: &mut dyn FnMut(Option<&Row>) -> Option<Row>,
    ) -> Result<(), StoreError> {
        self.0.update(merchant, decide)
    }
    fn delete(&self, merchant: &MerchantId) -> Result<bool, StoreError> {
        self.0.delete(merchant)
    }
    fn records(&self) -> Result<Vec<square_oauth_vault::decide::Record>, StoreError> {
        self.0.records()
    }
    fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<MerchantId>, StoreError> {
        self.0.due(now, limit)
    }
    fn remember_event(&self, event_id: &str, received_at: Timestamp) -> Result<bool, StoreError> {
        self.0.remember_event(event_id, received_at)
    }
}

/// A store holding three PKCE sellers of `vault`'s key and, due before them all, `orphan`:
/// sealed with a key no vault here holds (dropped before a rotation finished, say).
struct Orphaned {
    square: square_oauth_mock::MockSquare,
    dir: Dir,
    offset: Arc<Mutex<SignedDuration>>,
    vault: Vault<SqliteStore>,
    ours: Vec<MerchantId>,
    orphan: MerchantId,
}

impl Orphaned {
    fn new(name: &str) -> Orphaned {
        let square = fake();
        let dir = Dir::new(name, false);
        let offset = Arc::new(Mutex::new(SignedDuration::ZERO));
        let vault = vault_at(&dir, offset.clone());
        let ours = grant(&square, &vault, 3, Flow::Pkce);
        let mut settings = vault.settings().clone();
        settings.clock = Arc::new(Timestamp::now);
        let dropped = Vault::new(SqliteStore::open(&dir.db()).unwrap(), Keyring::new(Key::generate()), settings);
        let orphan = grant(&square, &dropped, 1, Flow::CodeFlow).remove(0);
        due_first(&vault, &orphan, &ours);
        *offset.lock().unwrap() = DAY * 8;
        Orphaned { square, dir, offset, vault, ours, orphan }
    }

    /// The same store under another store type, with `vault`'s key and clock.
    fn vault_over<T: square_oauth_vault::Store>(&self, store: T) -> Vault<T> {
        vault_on(store, Keyring::new(Key::from_file_or_create(&self.dir.key_file()).unwrap()), self.offset.clone())
    }
}

#[test]
fn an_orphan_due_first_hides_no_seller_behind_it() {
    let fx = Orphaned::new("orphan-first");
    // A PKCE lease left by a refresher that went away: only the claim through the lease
    // decision (behind the orphan in due order) finds it, and marks the outcome unknown.
    let square_oauth_vault::Begin::Send(flight) = fx.vault.begin_refresh(&fx.ours[0], false).unwrap() else {
        panic!("due")
    };
    drop(flight);
    *fx.offset.lock().unwrap() = DAY * 8 + fx.vault.settings().policy.lease + SignedDuration::from_mins(1);
    let first = client(&fx.square);
    let round = fx.vault.refresh_due(10, 1, &|| sender(&first)).unwrap();
    assert_eq!((round.refreshed, round.outcome_unknown, round.not_refreshed()), (2, 1, 1), "{round:?}");
    // A store with the trait's default claims looks past it too.
    let fx = Orphaned::new("orphan-first-defaults");
    let defaults = fx.vault_over(Defaults(SqliteStore::open(&fx.dir.db()).unwrap()));
    let second = client(&fx.square);
    let round = defaults.refresh_due(10, 1, &|| sender(&second)).unwrap();
    assert_eq!((round.refreshed, round.not_refreshed()), (3, 0), "{round:?}");
    let orphan = fx.vault.record(&fx.orphan).unwrap();
    assert!(orphan.lease.is_none() && orphan.failures == 0 && orphan.retry_at.is_none(), "left alone: {orphan:?}");
    assert_eq!(fx.square.refused_reuses(), 0);
}

#[test]
fn a_store_that_ignores_the_claims_keys_is_refused_and_its_lease_given_back() {
    let fx = Orphaned::new("ignores-keys");
    // A store whose claims take the orphan whatever its key.
    let store =
        Counting { careless: Some(fx.orphan.clone()), ..Counting::new(SqliteStore::open(&fx.dir.db()).unwrap()) };
    let careless = fx.vault_over(store);
    let client = client(&fx.square);
    let error = careless.refresh_due(10, 1, &|| sender(&client)).expect_err("a store that breaks the contract");
    assert!(error.to_string().contains("Claim::keys"), "{error}");
    assert!(fx.vault.record(&fx.orphan).unwrap().lease.is_none(), "given back");
}

#[test]
fn a_row_whose_key_id_names_a_held_key_but_another_sealed_it_is_damaged() {
    let fx = Orphaned::new("key-id-lies");
    let ours = fx.vault.store().get(&fx.ours[0]).unwrap().unwrap().tokens.key_id;
    fx.vault
        .store()
        .update(&fx.orphan, &mut |row| {
            let mut row = row.unwrap().clone();
            row.tokens.key_id = ours.clone();
            Some(row)
        })
        .unwrap();
    let client = client(&fx.square);
    let round = fx.vault.refresh_due(10, 1, &|| sender(&client)).expect("the round goes on");
    assert_eq!((round.refreshed, round.failed), (3, 1), "{round:?}");
    let record = fx.vault.record(&fx.orphan).unwrap();
    assert!(record.lease.is_none() && record.failures == 1 && record.retry_at.is_some(), "{record:?}");
}

#[test]
fn a_round_counts_a_pkce_lease_left_by_a_refresher_that_went_away_as_outcome_unknown() {
    let square = fake();
    let dir = Dir::new("lease-left", false);
    let offset = Arc::new(Mutex::new(DAY * 8));
    let vault = vault_at(&dir, offset.clone());
    let merchant = grant(&square, &vault, 1, Flow::Pkce).remove(0);
    // A refresher takes the lease and is never heard of again: its flight, dropped without
    // `finish_refresh`, stands for a process killed mid-call.
    let square_oauth_vault::Begin::Send(flight) = vault.begin_refresh(&merchant, false).unwrap() else {
        panic!("the seller is due")
    };
    drop(flight);
    // Past the lease: the outcome is unknown, and the round says so (exit 4 in the CLI).
    *offset.lock().unwrap() = DAY * 8 + vault.settings().policy.lease + DAY;
    let client = client(&square);
    let round = vault.refresh_due(10, 1, &|| sender(&client)).unwrap();
    assert_eq!((round.outcome_unknown, round.must_authorize, round.not_refreshed()), (1, 0, 1), "{round:?}");
    assert!(matches!(
        vault.record(&merchant).unwrap().state,
        square_oauth_vault::decide::SellerState::OutcomeUnknown { .. }
    ));
    assert_eq!(square.refused_reuses(), 0);
}
