//! The PostgreSQL store's own contract: migrations (versioned, idempotent, safe when many
//! start at once), `update` as one serialised transaction per seller, `due` skipping rows
//! another transaction holds, a connection cut mid-transaction recovered without help, a lease
//! whose statement's answer was lost given back once the server answers again, TLS with the
//! server's certificate verified, and no password in `Debug`.
#![cfg(feature = "postgres")]

mod common;

use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::pg::{CutProxy, PgDb};
use common::*;
use square_oauth::Flow;
use square_oauth::jiff::Timestamp;
use square_oauth_vault::decide::Lease;
use square_oauth_vault::postgres::migrate;
use square_oauth_vault::{Key, Keyring, PostgresStore, RefreshOutcome, Round, Store, Vault};

fn pg_vault(db: &PgDb) -> Vault<PostgresStore> {
    Vault::new(PostgresStore::open(&db.conninfo).expect("the store opens"), Keyring::new(Key::generate()), settings())
}

#[test]
fn eight_machines_migrating_at_once_apply_each_migration_once() {
    let Some(db) = PgDb::new("migrate") else { return };
    let start = Barrier::new(8);
    let versions: Vec<u32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    migrate(&db.conninfo).expect("a migration")
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(versions.iter().all(|v| *v == versions[0] && *v >= 1), "{versions:?}");
    // Again, and by opening: nothing left to apply.
    assert_eq!(migrate(&db.conninfo).unwrap(), versions[0]);
    PostgresStore::open(&db.conninfo).unwrap();
    let mut client = db.client();
    let rows = client.query("SELECT version FROM square_vault_schema ORDER BY version", &[]).unwrap();
    let recorded: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(recorded, (1..=versions[0] as i32).collect::<Vec<_>>(), "each migration recorded once");
}

#[test]
fn updates_on_one_seller_from_many_threads_never_interleave() {
    let Some(db) = PgDb::new("update") else { return };
    let square = fake();
    let vault = pg_vault(&db);
    let merchant = grant(&square, &vault, 1, Flow::CodeFlow).remove(0);
    let store = vault.store();
    let calls = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..25 {
                    store
                        .update(&merchant, &mut |current| {
                            calls.fetch_add(1, Ordering::Relaxed);
                            let mut next = current.expect("the seller").clone();
                            next.record.refreshes += 1;
                            Some(next)
                        })
                        .unwrap();
                }
            });
        }
    });
    // A lost update would leave fewer than 200.
    assert_eq!(store.get(&merchant).unwrap().unwrap().record.refreshes, 200);
    assert!(calls.load(Ordering::Relaxed) >= 200);
}

#[test]
fn two_first_grants_of_one_seller_race_and_the_second_decides_on_the_first() {
    let Some(db) = PgDb::new("insert") else { return };
    let square = fake();
    let vault = pg_vault(&db);
    let template = {
        let merchant = grant(&square, &vault, 1, Flow::Pkce).remove(0);
        let row = vault.store().get(&merchant).unwrap().unwrap();
        vault.store().delete(&merchant).unwrap();
        row
    };
    let merchant = template.record.merchant_id.clone();
    let start = Barrier::new(2);
    let saw_other = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                start.wait();
                vault
                    .store()
                    .update(&merchant, &mut |current| match current {
                        None => {
                            // Both may see no row; hold on so the two inserts collide.
                            std::thread::sleep(std::time::Duration::from_millis(100));
                            let mut first = template.clone();
                            first.record.refreshes = 1;
                            Some(first)
                        }
                        Some(row) => {
                            saw_other.fetch_add(1, Ordering::Relaxed);
                            let mut next = row.clone();
                            next.record.refreshes += 1;
                            Some(next)
                        }
                    })
                    .unwrap();
            });
        }
    });
    assert_eq!(saw_other.load(Ordering::Relaxed), 1);
    assert_eq!(vault.store().get(&merchant).unwrap().unwrap().record.refreshes, 2);
}

#[test]
fn replace_is_a_compare_and_swap_on_the_whole_row() {
    let Some(db) = PgDb::new("replace") else { return };
    let square = fake();
    let vault = pg_vault(&db);
    for flow in [Flow::CodeFlow, Flow::Pkce] {
        let sellers = grant(&square, &vault, 1, flow);
        replace_swaps_only_the_expected_row(vault.store(), &sellers[0]);
    }
}

#[test]
fn claims_lease_exactly_the_leasable_in_one_statement() {
    let Some(db) = PgDb::new("claims") else { return };
    let square = fake();
    let vault = pg_vault(&db);
    let code = grant(&square, &vault, 6, Flow::CodeFlow);
    let pkce = grant(&square, &vault, 4, Flow::Pkce);
    claims_lease_exactly_the_leasable(vault.store(), &code, &pkce);
}

#[test]
fn a_claim_from_a_time_leaves_out_the_sellers_due_before_it() {
    use square_oauth::jiff::SignedDuration;
    use square_oauth_vault::Claim;
    let Some(db) = PgDb::new("claim_from") else { return };
    let square = fake();
    let vault = pg_vault(&db);
    let sellers = grant(&square, &vault, 6, Flow::Pkce);
    // Due a second apart, the last first.
    let base = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
    for (i, merchant) in sellers.iter().enumerate() {
        let refresh_at = base - SignedDuration::from_secs(i as i64);
        vault
            .store()
            .update(merchant, &mut |current| {
                let mut row = current.unwrap().clone();
                row.record.refresh_at = refresh_at;
                Some(row)
            })
            .unwrap();
    }
    let mut rows: Vec<_> = sellers.iter().map(|m| vault.store().get(m).unwrap().unwrap()).collect();
    rows.sort_by_key(|row| row.record.refresh_at);
    let now = Timestamp::now() + SignedDuration::from_hours(24 * 30);
    let from = rows[2].record.refresh_at;
    let keys = vault.store().get(&sellers[0]).unwrap().unwrap().tokens.key_id;
    let keys = [keys];
    let claim = Claim { now, owner: "from", expires_at: now + SignedDuration::from_mins(5), from, keys: &keys };
    let taken = vault.store().claim_leases(&claim, 100).unwrap();
    let due_from: Vec<_> = rows.iter().filter(|row| row.record.refresh_at >= from).collect();
    assert_eq!(due_from.len(), 4);
    assert_eq!(taken.len(), 4, "{taken:?}");
    assert!(taken.iter().all(|row| row.record.refresh_at >= from));
    // In `refresh_at` order, earliest first.
    assert!(taken.windows(2).all(|pair| pair[0].record.refresh_at <= pair[1].record.refresh_at));
    // From the start, the ones left out.
    let taken = vault.store().claim_leases(&Claim { from: Timestamp::MIN, ..claim }, 100).unwrap();
    assert_eq!(taken.len(), 2);
    assert!(taken.iter().all(|row| row.record.refresh_at < from));
}

#[test]
fn four_refreshers_at_once_refresh_every_due_seller_exactly_once() {
    // The refresher's own path (claims with `claim_leases`, results stored with the next claim
    // by `replace_and_claim`), by 4 vaults with pools of their own, 4 threads each, on one
    // database: every seller refreshed once, none twice, no spent PKCE token presented again.
    use square_oauth::jiff::SignedDuration;
    let Some(db) = PgDb::new("refresh_due") else { return };
    let square = fake();
    let key = Key::generate();
    let vault = Vault::new(PostgresStore::open(&db.conninfo).unwrap(), Keyring::new(key.clone()), settings());
    let mut sellers = grant(&square, &vault, 300, Flow::Pkce);
    sellers.extend(grant(&square, &vault, 100, Flow::CodeFlow));
    let reuses_before = square.refused_reuses();
    let client = client(&square);
    let rounds: Vec<(Round, usize, usize)> = std::thread::scope(|scope| {
        let refreshers: Vec<_> = (0..4)
            .map(|_| {
                let (key, client, conninfo) = (key.clone(), &client, &db.conninfo);
                scope.spawn(move || {
                    let mut settings = settings();
                    // A week and a day on: every seller is due.
                    settings.clock = std::sync::Arc::new(|| Timestamp::now() + SignedDuration::from_hours(24 * 8));
                    let store = Counting::new(PostgresStore::open(conninfo).unwrap());
                    let vault = Vault::new(store, Keyring::new(key), settings);
                    let round = vault.refresh_due(usize::MAX, 4, &|| sender(client)).expect("a round");
                    let store = vault.store();
                    (round, store.updates.load(Ordering::Relaxed), store.claims_due.load(Ordering::Relaxed))
                })
            })
            .collect();
        refreshers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(
        rounds.iter().map(|r| r.0.refreshed).sum::<usize>(),
        sellers.len(),
        "every seller refreshed: {rounds:?}"
    );
    assert!(rounds.iter().all(|r| r.0.not_refreshed() == 0), "none found taken or failed: {rounds:?}");
    // On the one-statement path throughout: no compare-and-swap fell back to a locked decision,
    // and the lease decision's own claim ran only when nothing leasable was left (once per
    // thread at most, at the end).
    assert!(rounds.iter().all(|r| r.1 == 0), "no fallback to update: {rounds:?}");
    assert!(rounds.iter().all(|r| r.2 <= 4), "claim_due only at the end: {rounds:?}");
    let records = vault.store().records().unwrap();
    assert_eq!(records.len(), sellers.len());
    for record in &records {
        assert_eq!(record.refreshes, 1, "{record:?}");
        assert!(record.lease.is_none(), "{record:?}");
    }
    assert_eq!(square.refused_reuses(), reuses_before, "a spent refresh token was presented again");
}

#[test]
fn due_skips_a_seller_whose_row_another_transaction_holds() {
    let Some(db) = PgDb::new("due") else { return };
    let square = fake();
    let vault = pg_vault(&db);
    let mut sellers = grant(&square, &vault, 3, Flow::CodeFlow);
    sellers.sort();
    let later = Timestamp::now() + square_oauth::jiff::SignedDuration::from_hours(24 * 30);
    assert_eq!(vault.store().due(later, 10).unwrap().len(), 3);

    let mut holder = db.client();
    let mut tx = holder.transaction().unwrap();
    tx.execute("SELECT 1 FROM sellers WHERE merchant_id = $1 FOR UPDATE", &[&sellers[0].as_str()]).unwrap();
    let mut due = vault.store().due(later, 10).unwrap();
    due.sort();
    assert_eq!(due, sellers[1..].to_vec(), "the held row is skipped, not waited for");
    tx.rollback().unwrap();
    assert_eq!(vault.store().due(later, 10).unwrap().len(), 3);
}

/// A seller sealed with a key this vault lacks, due before all others, is left alone, and
/// hides neither the sellers behind it nor a PKCE lease behind it whose outcome is unknown
/// (found by the claim through the lease decision, which reads past it in SQL).
#[test]
fn a_seller_sealed_with_another_key_hides_no_seller_behind_it() {
    use square_oauth::jiff::SignedDuration;
    let Some(db) = PgDb::new("other_key") else { return };
    let square = fake();
    let offset = std::sync::Arc::new(std::sync::Mutex::new(SignedDuration::ZERO));
    let mut settings = settings();
    let clock = offset.clone();
    settings.clock = std::sync::Arc::new(move || Timestamp::now() + *clock.lock().unwrap());
    let vault = Vault::new(PostgresStore::open(&db.conninfo).unwrap(), Keyring::new(Key::generate()), settings);
    let ours = grant(&square, &vault, 3, Flow::Pkce);
    let orphan = grant(&square, &pg_vault(&db), 1, Flow::CodeFlow).remove(0);
    due_first(&vault, &orphan, &ours);
    let before = vault.store().get(&orphan).unwrap().unwrap();
    *offset.lock().unwrap() = SignedDuration::from_hours(24 * 8);
    // A refresher that took ours[0]'s lease and went away.
    let square_oauth_vault::Begin::Send(flight) = vault.begin_refresh(&ours[0], false).unwrap() else { panic!("due") };
    drop(flight);
    *offset.lock().unwrap() =
        SignedDuration::from_hours(24 * 8) + vault.settings().policy.lease + SignedDuration::from_mins(1);
    let client = client(&square);
    let round = vault.refresh_due(10, 1, &|| sender(&client)).unwrap();
    assert_eq!((round.refreshed, round.outcome_unknown, round.not_refreshed()), (2, 1, 1), "{round:?}");
    assert_eq!(vault.store().get(&orphan).unwrap().unwrap(), before, "left as it was");
    assert_eq!(square.refused_reuses(), 0);
}

#[test]
fn claims_made_at_once_get_different_sellers() {
    // Four claimers each take one due seller, and each waits inside its transaction (its row
    // locked, its lease not yet committed) until all four have arrived. They can all be inside
    // at once only if each claim skipped the rows the others hold: a claim that waited for a
    // locked row arrives only after the holder gave up waiting, so fewer are ever inside at once.
    const CLAIMERS: usize = 4;
    let Some(db) = PgDb::new("claim") else { return };
    let square = fake();
    let vault = pg_vault(&db);
    let sellers = grant(&square, &vault, 8, Flow::CodeFlow);
    let later = Timestamp::now() + square_oauth::jiff::SignedDuration::from_hours(24 * 30);
    let keys = [vault.store().get(&sellers[0]).unwrap().unwrap().tokens.key_id];
    let keys = &keys;
    // `arrived` only counts up (the barrier); `inside` is how many are in `decide` right now.
    let (arrived, inside, most_inside) = (AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0));
    let claimed: Vec<Vec<_>> = std::thread::scope(|scope| {
        let claimers: Vec<_> = (0..CLAIMERS)
            .map(|i| {
                let (store, arrived, inside, most_inside) = (vault.store(), &arrived, &inside, &most_inside);
                scope.spawn(move || {
                    store
                        .claim_due(later, 1, keys, &mut |row| {
                            arrived.fetch_add(1, Ordering::SeqCst);
                            let now_inside = inside.fetch_add(1, Ordering::SeqCst) + 1;
                            most_inside.fetch_max(now_inside, Ordering::SeqCst);
                            // A claim that blocked the others would wait here for nobody: the
                            // deadline lets it go, and the test then fails on `most_inside`.
                            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                            while arrived.load(Ordering::SeqCst) < CLAIMERS && std::time::Instant::now() < deadline {
                                std::thread::sleep(std::time::Duration::from_millis(5));
                            }
                            inside.fetch_sub(1, Ordering::SeqCst);
                            let mut next = row.clone();
                            next.record.fence += 1;
                            next.record.lease = Some(Lease {
                                owner: format!("claimer-{i}"),
                                fence: next.record.fence,
                                expires_at: later + square_oauth::jiff::SignedDuration::from_mins(5),
                            });
                            Some(next)
                        })
                        .unwrap()
                        .into_iter()
                        .map(|row| row.record.merchant_id)
                        .collect()
                })
            })
            .collect();
        claimers.into_iter().map(|c| c.join().unwrap()).collect()
    });
    assert_eq!(most_inside.load(Ordering::SeqCst), CLAIMERS, "all claims were open at once");
    let mut all: Vec<_> = claimed.iter().flatten().cloned().collect();
    assert!(claimed.iter().all(|c| c.len() == 1), "each claimer got one seller: {claimed:?}");
    all.sort();
    all.dedup();
    assert_eq!(all.len(), CLAIMERS, "no seller claimed twice: {claimed:?}");
    assert!(all.iter().all(|m| sellers.contains(m)));
    // The claimed sellers carry their leases and are no longer due; the others still are.
    assert_eq!(vault.store().due(later, 100).unwrap().len(), sellers.len() - CLAIMERS);
    for merchant in &all {
        assert!(vault.record(merchant).unwrap().lease.is_some_and(|l| l.owner.starts_with("claimer-")));
    }
}

#[test]
fn a_connection_cut_mid_transaction_is_recovered_without_help() {
    let Some(db) = PgDb::new("cut") else { return };
    let square = fake();
    let vault = pg_vault(&db);
    let merchant = grant(&square, &vault, 1, Flow::Pkce).remove(0);
    let mut killer = db.client();
    let cut = AtomicUsize::new(0);
    // Inside the transaction (the row locked, nothing written yet), another session terminates
    // this one's backend; the store must reconnect and run the transaction again.
    vault
        .store()
        .update(&merchant, &mut |current| {
            let mut next = current.expect("the seller").clone();
            if cut.fetch_add(1, Ordering::Relaxed) == 0 {
                // The backend holding this test's table (its own schema): other tests' backends
                // on the same cluster are left alone.
                let terminated = killer
                    .query_one(
                        "SELECT count(*) FROM (SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a \
                         WHERE a.application_name = 'square-oauth-vault' AND a.state = 'idle in transaction' \
                         AND a.pid <> pg_backend_pid() AND EXISTS (SELECT 1 FROM pg_locks l \
                         WHERE l.pid = a.pid AND l.relation = to_regclass($1))) t",
                        &[&format!("{}.sellers", db.schema)],
                    )
                    .unwrap()
                    .get::<_, i64>(0);
                assert_eq!(terminated, 1, "one backend in a transaction to cut");
            }
            next.record.refreshes += 1;
            Some(next)
        })
        .unwrap();
    assert_eq!(cut.load(Ordering::Relaxed), 2, "decided again after the cut");
    assert_eq!(vault.record(&merchant).unwrap().refreshes, 1, "written once");

    // And the vault goes on: a real refresh through the same store after the cut.
    let client = client(&square);
    assert!(matches!(vault.refresh(&merchant, true, &mut sender(&client)).unwrap(), RefreshOutcome::Refreshed));
    assert!(accepted_by_fake(&vault, &client, &merchant));
    assert_eq!(square.refused_reuses(), 0);
}

#[test]
fn the_store_debug_shows_no_password() {
    let Some(db) = PgDb::new("debug") else { return };
    let store = PostgresStore::open(&db.conninfo).unwrap();
    let shown = format!("{store:?}");
    if let Ok(password) = std::env::var("PGPASSWORD") {
        assert!(!password.is_empty() && !shown.contains(&password), "{shown}");
    }
    assert!(shown.contains("PostgresStore"));
}

/// A test of a lost answer: a schema with `count` PKCE sellers in it (its vault reads past the
/// proxy), and a store through a [`CutProxy`] with one connection and a short reconnect window.
struct Lost {
    vault: Vault<PostgresStore>,
    pkce: Vec<square_oauth::MerchantId>,
    proxy: CutProxy,
    store: PostgresStore,
    _square: square_oauth_mock::MockSquare,
    _db: PgDb,
}

fn lost(name: &str, count: usize) -> Option<Lost> {
    let db = PgDb::new(name)?;
    let square = fake();
    let vault = pg_vault(&db);
    let pkce = grant(&square, &vault, count, Flow::Pkce);
    let proxy = CutProxy::start(db.server());
    let store = PostgresStore::with_pool(&db.conninfo_via(proxy.addr), 1)
        .expect("the store opens through the proxy")
        .reconnect_for(std::time::Duration::from_millis(300));
    Some(Lost { vault, pkce, proxy, store, _square: square, _db: db })
}

fn leased_by(store: &PostgresStore, sellers: &[square_oauth::MerchantId], owner: &str) -> usize {
    sellers
        .iter()
        .filter(|m| store.get(m).unwrap().unwrap().record.lease.is_some_and(|lease| lease.owner == owner))
        .count()
}

/// A claim's statement commits, its answer is lost, and the server stays away past the store's
/// reconnect window, so the store cannot read back what it took: the caller gets an error and
/// sends nothing. The lease it took is given back by the store's next call, instead of staying
/// until it expires (and then, on a PKCE seller, reading as an unknown outcome). Both claims:
/// the lease alone, and a result stored with the next lease in one statement.
#[test]
fn a_claim_whose_answer_was_lost_gives_its_lease_back_once_the_server_answers() {
    use square_oauth_vault::Claim;
    let Some(Lost { vault, pkce, proxy, store, _square, _db }) = lost("lost_claim", 3) else { return };
    let now = Timestamp::now() + square_oauth::jiff::SignedDuration::from_hours(24 * 8);
    let expires_at = now + square_oauth::jiff::SignedDuration::from_mins(10);
    let keys = [vault.store().get(&pkce[0]).unwrap().unwrap().tokens.key_id];
    for with_result in [false, true] {
        let owner = if with_result { "replace-and-claim-whose-answer-is-lost" } else { "claim-whose-answer-is-lost" };
        let claim = Claim { now, owner, expires_at, from: Timestamp::MIN, keys: &keys };
        proxy.cut_answer_to(owner.as_bytes());
        let lost = if with_result {
            let expected = vault.store().get(&pkce[0]).unwrap().unwrap();
            let mut next = expected.clone();
            next.record.refreshes += 1;
            store.replace_and_claim(&expected, &next, &claim).map(|_| ())
        } else {
            store.claim_leases(&claim, 1).map(|_| ())
        };
        let error = lost.expect_err("no answer, and no server to ask");
        assert_eq!(proxy.cuts(), 1 + usize::from(with_result), "{error}");
        // It landed (read past the proxy): one seller leased by the lost claim.
        assert_eq!(leased_by(vault.store(), &pkce, owner), 1);

        proxy.up();
        // The store's next call that reaches the server gives it back, once it has succeeded.
        store.update(&pkce[2], &mut |_| None).expect("an update");
        let next = Claim { owner: "next-claim", ..claim };
        let taken = store.claim_leases(&next, 3).expect("a claim");
        assert_eq!(taken.len(), 3, "{owner}: the lost claim's seller is claimable again at once");
        assert_eq!(leased_by(vault.store(), &pkce, owner), 0);
        assert_eq!(leased_by(vault.store(), &pkce, next.owner), 3);
        for merchant in &pkce {
            let row = vault.store().get(merchant).unwrap().unwrap();
            assert!(
                store
                    .update(merchant, &mut |_| square_oauth_vault::decide::release(&row.record, row.record.fence)
                        .map(|record| square_oauth_vault::Row { record, tokens: row.tokens.clone() }))
                    .is_ok()
            );
        }
    }
}

/// The same for a lease taken in a transaction (`update`, as `begin_refresh` takes one): the
/// answer to its `COMMIT` is lost and the server stays away; the next call gives it back.
#[test]
fn a_lease_whose_commit_answer_was_lost_is_given_back_once_the_server_answers() {
    use square_oauth_vault::decide;
    let Some(Lost { vault, pkce, proxy, store, _square, _db }) = lost("lost_commit", 2) else { return };
    let now = Timestamp::now();
    let owner = "lease-whose-commit-answer-is-lost";
    let before = vault.store().get(&pkce[0]).unwrap().unwrap();
    proxy.cut_answer_to(b"COMMIT");
    let error = store
        .update(&pkce[0], &mut |current| {
            let row = current?;
            let record =
                decide::take_lease(&row.record, owner, now + square_oauth::jiff::SignedDuration::from_mins(10));
            Some(square_oauth_vault::Row { record, tokens: row.tokens.clone() })
        })
        .expect_err("no answer, and no server to ask");
    assert_eq!(proxy.cuts(), 1, "{error}");
    assert_eq!(leased_by(vault.store(), &pkce, owner), 1, "the commit landed");

    proxy.up();
    // The store's next call that reaches the server settles it, once it has succeeded; this
    // one writes nothing.
    store.update(&pkce[1], &mut |_| None).expect("an update");
    let after = vault.store().get(&pkce[0]).unwrap().unwrap();
    assert_eq!(after.record.lease, None);
    assert_eq!(after.record.fence, before.record.fence + 1, "released, not undone: the fencing number stays");
    assert_eq!(after.tokens, before.tokens);
}

/// A certificate authority of the test's own, and the cluster serving a certificate it signed
/// for `localhost` until dropped, when the cluster's own is restored.
struct ServedCertificate {
    base: String,
    authority_pem: String,
    _dir: tempfile::TempDir,
}

impl ServedCertificate {
    fn install(db: &PgDb) -> ServedCertificate {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut authority = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        authority.distinguished_name.push(rcgen::DnType::CommonName, "square-oauth-vault test authority");
        let authority = CertifiedIssuer::self_signed(authority, KeyPair::generate().expect("a key")).expect("a CA");
        let server_key = KeyPair::generate().expect("a key");
        let server = CertificateParams::new(vec!["localhost".to_owned()])
            .expect("server parameters")
            .signed_by(&server_key, &authority)
            .expect("a server certificate");
        let dir = tempfile::tempdir().expect("a directory");
        let (cert_file, key_file) = (dir.path().join("server.crt"), dir.path().join("server.key"));
        std::fs::write(&cert_file, server.pem()).unwrap();
        std::fs::write(&key_file, server_key.serialize_pem()).unwrap();
        let mut admin = db.client();
        // The server reads the files as its own user, and takes a key only that user can read.
        let data_dir: String = admin.query_one("SHOW data_directory", &[]).unwrap().get(0);
        let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&data_dir).expect("the data directory"));
        use std::os::unix::fs::PermissionsExt as _;
        for path in [dir.path(), cert_file.as_path(), key_file.as_path()] {
            std::os::unix::fs::chown(path, Some(owner), None).expect("the files given to the server's user");
        }
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let cert_file = cert_file.display().to_string();
        // One statement each: ALTER SYSTEM refuses to run inside a transaction.
        for statement in [
            "ALTER SYSTEM SET ssl = on".to_owned(),
            format!("ALTER SYSTEM SET ssl_cert_file = '{cert_file}'"),
            format!("ALTER SYSTEM SET ssl_key_file = '{}'", key_file.display()),
            "SELECT pg_reload_conf()".to_owned(),
        ] {
            admin.batch_execute(&statement).expect("the certificate configured");
        }
        wait_for_setting(db, &cert_file);
        ServedCertificate { base: db.conninfo.clone(), authority_pem: authority.pem(), _dir: dir }
    }
}

/// An error and its sources, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut said = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        said.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    said
}

/// Until a new connection sees `ssl_cert_file` at `expected` (a reload is asynchronous).
fn wait_for_setting(db: &PgDb, expected: &str) {
    for _ in 0..100 {
        let now: String = db.client().query_one("SHOW ssl_cert_file", &[]).unwrap().get(0);
        if now == expected {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the server did not take ssl_cert_file = {expected}");
}

impl Drop for ServedCertificate {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.base, postgres::NoTls) {
            for setting in ["ssl", "ssl_cert_file", "ssl_key_file"] {
                let _ = admin.batch_execute(&format!("ALTER SYSTEM RESET {setting}"));
            }
            let _ = admin.batch_execute("SELECT pg_reload_conf()");
        }
    }
}

#[test]
fn sslmode_require_connects_over_tls_verifying_the_servers_certificate() {
    let Some(db) = PgDb::new("tls") else { return };
    let Some(_cluster) = common::pg::cluster_or_skip("tls") else { return };
    let served = ServedCertificate::install(&db);
    let (_, port) = db.server();
    let over = |host: &str| {
        let direct = db.conninfo_via(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
        format!("{} sslmode=require", direct.replace("host='127.0.0.1'", &format!("host='{host}'")))
    };
    let tls = over("localhost");

    let store = PostgresStore::with_root_certificates(&tls, 2, served.authority_pem.as_bytes()).expect("a TLS store");
    assert!(format!("{store:?}").contains("tls: true"), "{store:?}");
    let square = fake();
    let vault = Vault::new(store, Keyring::new(Key::generate()), settings());
    let merchant = grant(&square, &vault, 1, Flow::CodeFlow).remove(0);
    assert!(vault.tokens(&merchant).is_ok(), "the grant reads back over TLS");
    // The store's connections are TLS: the server says so of each.
    let encrypted: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
             WHERE ssl AND application_name = 'square-oauth-vault'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(encrypted >= 1, "no TLS connection of the store's on the server");

    // A certificate no trusted authority signed is refused: the roots given replace the others
    // (and `PGSSLROOTCERT` is not read when roots are given).
    let unknown = rcgen::generate_simple_self_signed(vec!["elsewhere".to_owned()]).unwrap().cert.pem();
    let refused = PostgresStore::with_root_certificates(&tls, 1, unknown.as_bytes()).expect_err("an unknown authority");
    assert!(chain(&refused).contains("UnknownIssuer"), "{}", chain(&refused));
    // Nor a certificate for another name: the same server reached as 127.0.0.1, which the
    // certificate does not name.
    let elsewhere = PostgresStore::with_root_certificates(&over("127.0.0.1"), 1, served.authority_pem.as_bytes())
        .expect_err("a name the certificate does not hold");
    assert!(chain(&elsewhere).contains("not valid for name"), "{}", chain(&elsewhere));
    // Roots given for a connection that would not use them (no `sslmode=require`) are refused.
    let plain = tls.replace(" sslmode=require", "");
    let unused = PostgresStore::with_root_certificates(&plain, 1, served.authority_pem.as_bytes()).expect_err("plain");
    assert!(unused.to_string().contains("does not ask for TLS"), "{unused}");
    let text_only = PostgresStore::with_root_certificates(&tls, 1, b"not a certificate").expect_err("no certificate");
    assert!(text_only.to_string().contains("no PEM certificate"), "{text_only}");

    // `PostgresStore::open`, as the CLI and applications open it, takes the authority from the
    // file `PGSSLROOTCERT` names (libpq's variable): a refresher process given it connects over
    // TLS and finishes; one without it is refused, saying why.
    let dir = tempfile::tempdir().unwrap();
    let (key_file, authority_file) = (dir.path().join("vault.key"), dir.path().join("authority.pem"));
    Key::from_file_or_create(&key_file).expect("a key file");
    std::fs::write(&authority_file, &served.authority_pem).unwrap();
    let refresher = |authority: Option<&std::path::Path>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_vault-stress"));
        command.args(["--db", &tls, "--key-file", key_file.to_str().unwrap(), "--target", "0"]);
        command.args(["--base-url", &square.base_url(), "--client-id", CLIENT_ID, "--client-secret", SECRET]);
        command.env_remove("PGSSLROOTCERT");
        if let Some(file) = authority {
            command.env("PGSSLROOTCERT", file);
        }
        command.output().expect("the refresher runs")
    };
    // libpq's own settings in the connection string: `sslrootcert` names the authority, and
    // `sslmode` says what of the certificate is checked (a URL and `key=value` pairs alike).
    let authority = authority_file.to_str().unwrap();
    let via = |host: &str, settings: &str| format!("{} {settings}", over(host).replace(" sslmode=require", ""));
    let opens = |conninfo: &str| PostgresStore::with_pool(conninfo, 1).map(drop);
    let refusal = |conninfo: &str| chain(&PostgresStore::with_pool(conninfo, 1).expect_err(conninfo));
    opens(&via("localhost", &format!("sslmode=verify-full sslrootcert='{authority}'"))).expect("verify-full");
    let config: postgres::Config = db.conninfo.parse().unwrap();
    let encode =
        |text: &str| percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string();
    let url = format!(
        "postgres://{}:{}@localhost:{port}/{}?options={}&sslmode=verify-full&sslrootcert={}",
        encode(config.get_user().unwrap()),
        encode(&String::from_utf8_lossy(config.get_password().unwrap_or_default())),
        encode(config.get_dbname().unwrap()),
        encode(config.get_options().unwrap_or_default()),
        encode(authority),
    );
    let store = PostgresStore::with_pool(&url, 1).expect("a URL with verify-full and sslrootcert");
    assert!(format!("{store:?}").contains("tls: true"), "{store:?}");
    drop(store);
    // verify-ca: the chain is checked, not the name: 127.0.0.1, which the certificate does not
    // hold, connects; with verify-full it does not; with another authority neither does.
    opens(&via("127.0.0.1", &format!("sslmode=verify-ca sslrootcert='{authority}'"))).expect("verify-ca");
    let name = refusal(&via("127.0.0.1", &format!("sslmode=verify-full sslrootcert='{authority}'")));
    assert!(name.contains("not valid for name"), "{name}");
    let other = dir.path().join("other.pem");
    std::fs::write(&other, &unknown).unwrap();
    let issuer = refusal(&via("127.0.0.1", &format!("sslmode=verify-ca sslrootcert='{}'", other.display())));
    assert!(issuer.contains("UnknownIssuer"), "verify-ca still checks the chain: {issuer}");
    // `system`: the public authorities, which did not sign the test's; and verify-full only.
    let public = refusal(&via("localhost", "sslrootcert=system"));
    assert!(public.contains("UnknownIssuer"), "{public}");
    let weaker = refusal(&via("localhost", "sslmode=require sslrootcert=system"));
    assert!(weaker.contains("needs sslmode=verify-full"), "{weaker}");
    // An authority for a connection that would not use TLS is refused, as roots given are.
    let plain = refusal(&via("localhost", &format!("sslmode=disable sslrootcert='{authority}'")));
    assert!(plain.contains("does not ask for TLS"), "{plain}");

    let trusted = refresher(Some(&authority_file));
    assert!(trusted.status.success(), "{}", String::from_utf8_lossy(&trusted.stderr));
    assert!(String::from_utf8_lossy(&trusted.stdout).starts_with("done "), "{trusted:?}");
    let untrusted = refresher(None);
    assert!(!untrusted.status.success());
    // (vault-stress prints the store's message, not its sources: the certificate's refusal
    // is checked above, through the library.)
    assert!(String::from_utf8_lossy(&untrusted.stderr).contains("PostgreSQL: connect"), "{untrusted:?}");
    drop(vault);
}
