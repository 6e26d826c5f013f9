//! Guarantee 5: readers get a valid token at once, even while a refresh is in flight; with an
//! expiring one they refresh, or join the refresh in flight and wait, with a timeout. The same
//! through the async vault.

mod common;

use square_oauth_ureq::Calls as _;
use std::future::Future as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use square_oauth::jiff::{SignedDuration, Timestamp};
use square_oauth::{Flow, ObtainToken, ObtainTokenResponse};
use square_oauth_vault::decide::{Record, SellerState};
use square_oauth_vault::{AsyncVault, Begin, Key, Keyring, RefreshFailure, SqliteStore, Vault, VaultError};

fn never_send(_: &ObtainToken) -> Result<ObtainTokenResponse, RefreshFailure> {
    panic!("a reader refreshed a valid token")
}

/// A vault whose clock the test moves.
fn vault_at(dir: &Dir, offset: Arc<Mutex<SignedDuration>>) -> Vault<SqliteStore> {
    let mut settings = settings();
    settings.clock = Arc::new(move || Timestamp::now() + *offset.lock().unwrap());
    settings.wait_timeout = Duration::from_millis(400);
    let key = Key::from_file_or_create(&dir.key_file()).unwrap();
    Vault::new(SqliteStore::open(&dir.db()).unwrap(), Keyring::new(key), settings)
}

#[test]
fn a_valid_token_is_served_at_once_even_while_its_refresh_is_in_flight() {
    let square = fake();
    let dir = Dir::new("readers-valid", false);
    let vault = vault(&dir);
    let merchant = grant(&square, &vault, 1, Flow::Pkce).remove(0);
    let stored = vault.tokens(&merchant).unwrap().access_token().clone();
    let Begin::Send(_flight) = vault.begin_refresh(&merchant, true).unwrap() else { panic!("no lease") };
    let started = Instant::now();
    assert_eq!(vault.access_token(&merchant, &mut never_send).unwrap(), stored);
    assert!(started.elapsed() < vault.settings().poll, "the reader waited");
}

#[test]
fn an_expiring_token_is_refreshed_by_the_reader() {
    let square = fake();
    let dir = Dir::new("readers-expiring", false);
    let offset = Arc::new(Mutex::new(SignedDuration::ZERO));
    let vault = vault_at(&dir, offset.clone());
    let merchant = grant(&square, &vault, 1, Flow::CodeFlow).remove(0);
    let old = vault.tokens(&merchant).unwrap();
    // Two minutes before expiry: inside the five-minute margin.
    let moved = old.expires_at().unwrap().duration_since(Timestamp::now()) - SignedDuration::from_mins(2);
    *offset.lock().unwrap() = moved;
    square.advance(Duration::try_from(moved).unwrap());
    let client = client(&square);
    let sent = AtomicUsize::new(0);
    let mut send = |operation: &ObtainToken| {
        sent.fetch_add(1, Ordering::Relaxed);
        sender(&client)(operation)
    };
    let token = vault.access_token(&merchant, &mut send).unwrap();
    assert_ne!(token, *old.access_token());
    assert_eq!(sent.load(Ordering::Relaxed), 1);
    assert_eq!(vault.access_token(&merchant, &mut never_send).unwrap(), token);
}

#[test]
fn readers_of_an_expired_token_join_the_refresh_in_flight_and_time_out_without_it() {
    let square = fake();
    let dir = Dir::new("readers-join", false);
    let offset = Arc::new(Mutex::new(SignedDuration::ZERO));
    let vault = vault_at(&dir, offset.clone());
    let merchant = grant(&square, &vault, 1, Flow::Pkce).remove(0);
    let old = vault.tokens(&merchant).unwrap();
    let moved = old.expires_at().unwrap().duration_since(Timestamp::now()) + SignedDuration::from_mins(1);
    *offset.lock().unwrap() = moved;
    square.advance(Duration::try_from(moved).unwrap());
    let client = client(&square);

    // Nobody finishes: the reader gives up after its timeout, with no token (it is expired).
    let Begin::Send(flight) = vault.begin_refresh(&merchant, true).unwrap() else { panic!("no lease") };
    let started = Instant::now();
    let error = vault.access_token(&merchant, &mut never_send).unwrap_err();
    assert!(matches!(error, VaultError::WaitTimedOut(_)), "{error}");
    assert!(started.elapsed() >= vault.settings().wait_timeout);

    // The holder finishes while three readers wait: they all get its token, none sends.
    let answer = client.obtain_token(flight.operation()).map_err(square_oauth_vault::transport::from_call);
    let tokens = std::thread::scope(|scope| {
        let readers: Vec<_> =
            (0..3).map(|_| scope.spawn(|| vault.access_token(&merchant, &mut never_send).unwrap())).collect();
        std::thread::sleep(Duration::from_millis(100));
        assert!(matches!(vault.finish_refresh(flight, answer).unwrap(), square_oauth_vault::RefreshOutcome::Refreshed));
        readers.into_iter().map(|r| r.join().unwrap()).collect::<Vec<_>>()
    });
    let stored = vault.tokens(&merchant).unwrap();
    assert!(tokens.iter().all(|t| t == stored.access_token()));
    assert_ne!(stored.access_token(), old.access_token());
    assert_eq!(square.refused_reuses(), 0);
}

#[test]
fn the_async_vault_refreshes_once_for_many_concurrent_readers() {
    let square = fake();
    let dir = Dir::new("readers-async", false);
    let offset = Arc::new(Mutex::new(SignedDuration::ZERO));
    let vault = vault_at(&dir, offset.clone());
    let merchant = grant(&square, &vault, 1, Flow::Pkce).remove(0);
    let old = vault.tokens(&merchant).unwrap();
    let moved = old.expires_at().unwrap().duration_since(Timestamp::now()) + SignedDuration::from_mins(1);
    *offset.lock().unwrap() = moved;
    square.advance(Duration::try_from(moved).unwrap());
    let vault = AsyncVault::new(vault);
    let client = client(&square);
    let sent = Arc::new(AtomicUsize::new(0));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let tokens = runtime.block_on(async {
        let readers: Vec<_> = (0..8)
            .map(|_| {
                let (vault, client, sent, merchant) = (vault.clone(), client.clone(), sent.clone(), merchant.clone());
                tokio::spawn(async move {
                    vault
                        .access_token(&merchant, move |operation| {
                            let (client, sent) = (client.clone(), sent.clone());
                            async move {
                                sent.fetch_add(1, Ordering::Relaxed);
                                let answer =
                                    tokio::task::spawn_blocking(move || client.obtain_token(&operation)).await.unwrap();
                                answer.map_err(square_oauth_vault::transport::from_call)
                            }
                        })
                        .await
                })
            })
            .collect();
        let mut tokens = Vec::new();
        for reader in readers {
            tokens.push(reader.await.unwrap().unwrap());
        }
        tokens
    });
    assert_eq!(sent.load(Ordering::Relaxed), 1, "one refresh for eight readers");
    let stored = vault.blocking().tokens(&merchant).unwrap();
    assert!(tokens.iter().all(|t| t == stored.access_token()));
    assert_eq!(square.refused_reuses(), 0);
}

/// Waits (up to 10 s) until `done` holds for the seller's record: what a dropped refresh
/// reports is written by a blocking task after the drop.
fn settles(vault: &Vault<SqliteStore>, merchant: &square_oauth::MerchantId, done: impl Fn(&Record) -> bool) -> Record {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let record = vault.record(merchant).unwrap();
        if done(&record) || Instant::now() > deadline {
            return record;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A refresh dropped by its caller (here a timeout around it) does not leave its lease to run
/// out: dropped before the send, the lease is released at once, and the seller can be refreshed
/// again (after the backoff of a failed attempt); dropped during the send, a PKCE seller's
/// outcome is unknown at once, since the request may have reached Square.
#[test]
fn a_refresh_dropped_by_its_caller_reports_its_lease() {
    let square = fake();
    let dir = Dir::new("readers-dropped", false);
    let vault = AsyncVault::new(vault(&dir));
    let sellers = grant(&square, vault.blocking(), 2, Flow::Pkce);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    // During the send: a send that never ends, cut by a timeout.
    let sending = &sellers[0];
    let cut = runtime.block_on(async {
        let never = |_| std::future::pending::<Result<ObtainTokenResponse, RefreshFailure>>();
        tokio::time::timeout(Duration::from_millis(200), vault.refresh(sending, true, never)).await
    });
    assert!(cut.is_err(), "the timeout cut the refresh: {cut:?}");
    let record = settles(vault.blocking(), sending, |r| r.lease.is_none());
    assert!(record.lease.is_none(), "the lease is reported: {record:?}");
    assert!(matches!(record.state, SellerState::OutcomeUnknown { .. }), "{record:?}");

    // Before the send: dropped while the lease is being taken (another connection holds the
    // database's write lock, so the first poll finds the lease not yet taken).
    let before = &sellers[1];
    let sent = Arc::new(AtomicUsize::new(0));
    let counted = sent.clone();
    let writer = rusqlite::Connection::open(dir.db()).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    {
        let _runtime = runtime.enter();
        let never = move |_| {
            counted.fetch_add(1, Ordering::Relaxed);
            std::future::pending::<Result<ObtainTokenResponse, RefreshFailure>>()
        };
        let mut refresh = std::pin::pin!(vault.refresh(before, true, never));
        let polled = refresh.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
        assert!(polled.is_pending(), "the lease waits for the write lock");
    }
    std::thread::sleep(Duration::from_millis(100));
    writer.execute_batch("COMMIT").unwrap();
    let record = settles(vault.blocking(), before, |r| r.lease.is_none() && r.fence > 0);
    assert_eq!(sent.load(Ordering::Relaxed), 0, "nothing was sent");
    assert!(record.lease.is_none(), "the lease is released: {record:?}");
    assert_eq!(record.state, SellerState::Active, "{record:?}");
    assert_eq!(record.failures, 1, "counted as an attempt that sent nothing: {record:?}");
    assert_eq!(square.refused_reuses(), 0);
}
