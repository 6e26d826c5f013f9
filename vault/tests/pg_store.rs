//! The PostgreSQL store's own contract: migrations (versioned, idempotent, safe when many
//! start at once), `update` as one serialised transaction per seller, `due` skipping rows
//! another transaction holds, a connection cut mid-transaction recovered without help, and no
//! password in `Debug`.
#![cfg(feature = "postgres")]

mod common;

use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::pg::PgDb;
use common::*;
use square_oauth::Flow;
use square_oauth::jiff::Timestamp;
use square_oauth_vault::postgres::migrate;
use square_oauth_vault::{Key, Keyring, PostgresStore, RefreshOutcome, Store, Vault};

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
                let terminated = killer
                    .query_one(
                        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name = 'square-oauth-vault' AND state = 'idle in transaction' \
                         AND pid <> pg_backend_pid()) t",
                        &[],
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
