//! A refresher process for the vault's multi-process tests: opens a vault file and forces
//! refreshes of its sellers against a Square (the fake, in the tests) until each has been
//! refreshed `--target` times; or, with `--pause-after-send`, refreshes one seller and waits for
//! a line on stdin between Square's answer and the store, so a test can stop it there.
//!
//! `--db` is a SQLite file, or with the `postgres` feature a `postgres://` URL (or libpq
//! `key=value` pairs starting with `host=`).
//!
//! ```text
//! vault-stress --db FILE --key-file FILE --base-url URL --client-id ID [--client-secret S]
//!              [--threads N] [--target N] [--lease-ms MS] [--pause-after-send MERCHANT]
//! ```
//!
//! It prints one line at the end: `done refreshed=N stale=N held_elsewhere=N unavailable=N
//! failed=N` (`held_elsewhere`: the seller's lease was another refresher's; not the new tokens
//! `Vault::held` counts).

use std::collections::HashMap;
use std::io::BufRead as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use jiff::SignedDuration;
use square_oauth::{ClientId, ClientSecret, Config, MerchantId};
use square_oauth_ureq::Calls as _;
use square_oauth_vault::transport::from_call;
use square_oauth_vault::{Begin, Key, Keyring, RefreshOutcome, Settings, SqliteStore, Store, Vault};

fn main() {
    if let Err(message) = run() {
        eprintln!("vault-stress: {message}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut args: HashMap<String, String> = HashMap::new();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let name = flag.strip_prefix("--").ok_or_else(|| format!("unexpected argument {flag}"))?.to_owned();
        let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
        args.insert(name, value);
    }
    let arg = |name: &str| args.get(name).cloned().ok_or_else(|| format!("--{name} is required"));
    let number = |name: &str, default: u64| -> Result<u64, String> {
        args.get(name).map_or(Ok(default), |v| v.parse().map_err(|_| format!("--{name}: not a number")))
    };
    let store = open_store(&arg("db")?, number("threads", 4)?)?;
    let key = Key::from_file(arg("key-file")?.as_ref()).map_err(|e| e.to_string())?;
    let mut settings = Settings::new(
        ClientId::new(arg("client-id")?),
        args.get("client-secret").map(|s| ClientSecret::new(s.clone())),
    );
    settings.policy.lease = SignedDuration::from_millis(i64::try_from(number("lease-ms", 30_000)?).unwrap_or(30_000));
    let vault = Vault::new(store, Keyring::new(key), settings);
    let config = Config::custom(&arg("base-url")?).map_err(|e| e.to_string())?;
    let client = square_oauth_ureq::Client::new(config);

    if let Some(merchant) = args.get("pause-after-send") {
        let merchant = MerchantId::new(merchant.clone());
        let Begin::Send(flight) = vault.begin_refresh(&merchant, true).map_err(|e| e.to_string())? else {
            return Err("no lease".into());
        };
        let result = client.obtain_token(flight.operation()).map_err(from_call);
        println!("answered ok={}", result.is_ok());
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| e.to_string())?;
        let outcome = vault.finish_refresh(flight, result).map_err(|e| e.to_string())?;
        println!("finished {}", name(&outcome));
        return Ok(());
    }

    let threads = number("threads", 4)?;
    let target = number("target", 20)?;
    let pending: Mutex<Vec<MerchantId>> =
        Mutex::new(vault.sellers().map_err(|e| e.to_string())?.into_iter().map(|s| s.record.merchant_id).collect());
    let counts: [AtomicU64; 5] = Default::default();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (vault, client, pending, counts) = (&vault, &client, &pending, &counts);
            scope.spawn(move || {
                let mut send =
                    |operation: &square_oauth::ObtainToken| client.obtain_token(operation).map_err(from_call);
                let mut pick = (std::process::id() as u64) << 8 | t;
                loop {
                    let merchant = {
                        let list = pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        if list.is_empty() {
                            break;
                        }
                        pick = pick.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                        list[(pick >> 33) as usize % list.len()].clone()
                    };
                    if vault.record(&merchant).map(|r| r.refreshes >= target).unwrap_or(true) {
                        pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|m| *m != merchant);
                        continue;
                    }
                    let done = match vault.refresh(&merchant, true, &mut send) {
                        Ok(outcome) => {
                            let slot = match outcome {
                                RefreshOutcome::Refreshed => 0,
                                RefreshOutcome::Stale => 1,
                                RefreshOutcome::HeldElsewhere { .. } => 2,
                                RefreshOutcome::Unavailable(_)
                                | RefreshOutcome::OutcomeUnknown
                                | RefreshOutcome::MustAuthorize => 3,
                                _ => 4,
                            };
                            counts[slot].fetch_add(1, Ordering::Relaxed);
                            slot == 3 || vault.record(&merchant).map(|r| r.refreshes >= target).unwrap_or(true)
                        }
                        Err(error) => {
                            eprintln!("vault-stress: {merchant}: {error}");
                            counts[4].fetch_add(1, Ordering::Relaxed);
                            // The store may be restarting: do not spin on it.
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            false
                        }
                    };
                    if done {
                        pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|m| *m != merchant);
                    }
                }
            });
        }
    });
    let [refreshed, stale, held_elsewhere, unavailable, failed] = counts.map(AtomicU64::into_inner);
    println!(
        "done refreshed={refreshed} stale={stale} held_elsewhere={held_elsewhere} unavailable={unavailable} failed={failed}"
    );
    Ok(())
}

fn open_store(db: &str, threads: u64) -> Result<Arc<dyn Store>, String> {
    #[cfg(feature = "postgres")]
    if db.starts_with("postgres://") || db.starts_with("postgresql://") || db.starts_with("host=") {
        let pool = usize::try_from(threads).unwrap_or(4) + 1;
        let store = square_oauth_vault::PostgresStore::with_pool(db, pool).map_err(|e| e.to_string())?;
        return Ok(Arc::new(store));
    }
    let _ = threads;
    Ok(Arc::new(SqliteStore::open(db.as_ref()).map_err(|e| e.to_string())?))
}

fn name(outcome: &RefreshOutcome) -> &'static str {
    match outcome {
        RefreshOutcome::Refreshed => "refreshed",
        RefreshOutcome::Stale => "stale",
        RefreshOutcome::OutcomeUnknown => "outcome_unknown",
        RefreshOutcome::MustAuthorize => "must_authorize",
        RefreshOutcome::Failed(_) => "failed",
        _ => "other",
    }
}
