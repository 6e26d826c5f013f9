//! The fleet benchmark: many due sellers in one PostgreSQL database, refreshed by 1, 2 and 4
//! refresher processes (standing for machines) against the fake Square on loopback, beside the
//! floor: the same refresh exchanges, each followed by one bare `UPDATE`, with no coordination
//! at all (every floor process owns its own slice of the sellers).
//!
//! ```text
//! scripts/bench-fleet [--sellers 100000] [--concurrency 4] [--processes 1,2,4]
//! ```
//!
//! The database: `SQUARE_VAULT_BENCH_DATABASE_URL`, else the libpq variables `PGHOST`, `PGPORT`,
//! `PGUSER`, `PGPASSWORD`, `PGDATABASE` (which `pg_virtualenv` sets: `scripts/bench-fleet` runs
//! this binary in a throwaway cluster). Everything happens in a schema of its own, dropped at
//! the end.
//!
//! One JSON line per measurement (`machine`, `fleet_setup`, `fleet_floor`, `fleet_refreshers`
//! per process count) and a summary, `vault_fleet_postgres`, with each rate, the ratio of 4
//! refreshers to the floor (goal: at least 0.7) and the database work per refresh: the
//! transactions and row updates PostgreSQL counted (`pg_stat_database`, `pg_stat_user_tables`),
//! the statements and round trips that makes, and the CPU time per refresh of each part (the
//! worker processes, the fake Square this process hosts, the PostgreSQL server), read from
//! `/proc`.
//!
//! The PKCE sellers' refresh tokens are single-use on the fake: it counts every spent one
//! presented again, and the run fails if that count is not zero or if a seller was not
//! refreshed exactly once per round.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use postgres::{Client, NoTls};
use serde_json::json;
use square_oauth::jiff::{SignedDuration, Timestamp};
use square_oauth::{Calls as _, ClientId, Flow, ObtainToken, ObtainTokenResponse, RefreshToken, TokenSet};
use square_oauth_mock::{App, MockConfig, MockSquare};
use square_oauth_vault::transport::from_call;
use square_oauth_vault::{Key, Keyring, PostgresStore, Settings, Vault};

const APP: &str = "sq0idp-fleet-bench";
const DATABASE: &str = "SQUARE_VAULT_BENCH_DATABASE_URL";
/// The refreshers' clock is this many days ahead per round, so that every seller is due again:
/// more than the 7 days after which a grant is refreshed (`RefreshRules::default`), and few
/// enough that the last round's clock stays a day short of the fake's 30-day access tokens. A
/// clock past that finds every token it has just obtained already expiring, so its round never
/// runs out of due sellers: with 10 days, the third round refreshed 2,000 sellers 950,000 times.
const DAYS_PER_ROUND: i64 = 8;
/// How many rounds fit before the clock reaches the fake's access tokens' expiry.
const MAX_ROUNDS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flags = flags(&args[1.min(args.len())..]);
    match args.first().map(String::as_str) {
        Some("refresher") => refresher(&flags),
        Some("floor") => floor(&flags),
        _ => coordinate(&self::flags(&args)),
    }
}

fn flags(args: &[String]) -> HashMap<String, String> {
    let mut flags = HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let Some(name) = flag.strip_prefix("--") else { continue };
        flags.insert(name.to_owned(), it.next().cloned().unwrap_or_default());
    }
    flags
}

fn number(flags: &HashMap<String, String>, name: &str, default: usize) -> usize {
    flags.get(name).map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("--{name}: not a number")))
}

/// The database the run uses: the variable, else libpq's.
fn database() -> String {
    if let Ok(url) = std::env::var(DATABASE)
        && !url.is_empty()
    {
        return url;
    }
    assert!(
        std::env::var_os("PGHOST").is_some() || std::env::var_os("PGPORT").is_some(),
        "no database: set {DATABASE} or run under scripts/bench-fleet (pg_virtualenv)"
    );
    let pairs = [
        ("host", "PGHOST"),
        ("port", "PGPORT"),
        ("user", "PGUSER"),
        ("password", "PGPASSWORD"),
        ("dbname", "PGDATABASE"),
    ];
    let conninfo = pairs
        .iter()
        .filter_map(|(key, var)| std::env::var(var).ok().map(|value| format!("{key}='{}'", value.replace('\'', "\\'"))))
        .collect::<Vec<_>>()
        .join(" ");
    if conninfo.starts_with("host=") { conninfo } else { format!("host='localhost' {conninfo}") }
}

fn with_search_path(base: &str, schema: &str) -> String {
    if base.starts_with("postgres://") || base.starts_with("postgresql://") {
        let separator = if base.contains('?') { '&' } else { '?' };
        format!("{base}{separator}options=-c%20search_path%3D{schema}")
    } else {
        format!("{base} options='-c search_path={schema}'")
    }
}

/// Transactions committed or rolled back in the database, and rows updated in `table` (all, and
/// those written as heap-only tuples, which add no index entry), as PostgreSQL's statistics
/// count them.
fn counters(client: &mut Client, table: &str) -> (i64, i64, i64) {
    client.batch_execute("SELECT pg_stat_clear_snapshot()").expect("statistics");
    let xacts: i64 = client
        .query_one(
            "SELECT (xact_commit + xact_rollback)::BIGINT FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .expect("pg_stat_database")
        .get(0);
    let (updates, hot): (i64, i64) = client
        .query_opt("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = $1", &[&table])
        .expect("pg_stat_user_tables")
        .map_or((0, 0), |row| (row.get(0), row.get(1)));
    (xacts, updates, hot)
}

/// How the claims read the due index (`sellers_due`): its scans, the index entries they read
/// and the table rows they fetched through it, as PostgreSQL's statistics count them (read
/// after [`counters`], which takes a fresh snapshot of them).
fn due_index_reads(client: &mut Client) -> (i64, i64, i64) {
    client
        .query_opt(
            "SELECT idx_scan, idx_tup_read, idx_tup_fetch FROM pg_stat_user_indexes WHERE indexrelname = 'sellers_due'",
            &[],
        )
        .expect("pg_stat_user_indexes")
        .map_or((0, 0, 0), |row| (row.get(0), row.get(1), row.get(2)))
}

/// Waits for PostgreSQL's statistics to take in what the finished processes did (they flush
/// at exit, and the server applies it within about a second).
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(1500));
}

/// Starts `n` copies of this binary with `role` and waits for them; the seconds from the first
/// start to the last exit, and the sum of the counts they printed.
fn run_processes(
    n: usize,
    role: &str,
    extra: &dyn Fn(usize) -> Vec<String>,
    env: &[(&str, String)],
) -> (f64, usize, usize) {
    let exe = std::env::current_exe().expect("this binary's path");
    let started = Instant::now();
    let children: Vec<Child> = (0..n)
        .map(|i| {
            let mut command = Command::new(&exe);
            command.arg(role).args(extra(i)).stdout(Stdio::piped());
            for (name, value) in env {
                command.env(name, value);
            }
            command.spawn().expect("a worker process starts")
        })
        .collect();
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().expect("the worker ends")).collect();
    let seconds = started.elapsed().as_secs_f64();
    let (mut done, mut other) = (0, 0);
    for output in outputs {
        assert!(output.status.success(), "a {role} process failed");
        let text = String::from_utf8_lossy(&output.stdout);
        for field in text.split_whitespace() {
            if let Some(n) = field.strip_prefix("refreshed=") {
                done += n.parse::<usize>().expect("a count");
            } else if let Some(n) = field.strip_prefix("other=") {
                other += n.parse::<usize>().expect("a count");
            }
        }
    }
    (seconds, done, other)
}

/// CPU time spent so far, in clock ticks (`/proc`, USER_HZ): by this process itself (the fake
/// Square, which it hosts), by the worker processes it has waited for, and by the PostgreSQL
/// server (the postmaster, every live child of it, and the children it has reaped: the
/// backends of closed connections). `None` for the server when it is not on this machine.
#[derive(Clone, Copy)]
struct Cpu {
    fake: u64,
    workers: u64,
    database: Option<u64>,
}

/// Fields 14 to 17 of `/proc/<pid>/stat` (utime, stime, cutime, cstime) and field 4 (the
/// parent), or `None` when the process is not there.
fn proc_times(pid: &str) -> Option<([u64; 4], String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after it are counted from its ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0);
    Some(([n(11), n(12), n(13), n(14)], fields.get(1)?.to_string()))
}

impl Cpu {
    fn now(postmaster: Option<&str>) -> Cpu {
        let own = proc_times("self").map_or([0; 4], |(t, _)| t);
        let database = postmaster.and_then(|pm| {
            let (times, _) = proc_times(pm)?;
            let mut total = times.iter().sum::<u64>();
            for entry in std::fs::read_dir("/proc").ok()?.flatten() {
                let name = entry.file_name();
                let Some(pid) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())) else { continue };
                if let Some((t, parent)) = proc_times(pid)
                    && parent == pm
                {
                    total += t[0] + t[1];
                }
            }
            Some(total)
        });
        Cpu { fake: own[0] + own[1], workers: own[2] + own[3], database }
    }

    /// Core-microseconds per refresh spent between `before` and now, by part.
    fn per_refresh(before: Cpu, after: Cpu, refreshes: usize) -> serde_json::Value {
        let us = |ticks: u64| (ticks as f64 * 1e6 / CLOCK_TICKS / refreshes as f64).round();
        let database = after.database.zip(before.database).map(|(a, b)| us(a - b));
        json!({
            "workers": us(after.workers - before.workers),
            "fake_square": us(after.fake - before.fake),
            "database": database,
            "total": us(after.workers - before.workers + after.fake - before.fake) + database.unwrap_or(0.0),
        })
    }
}

/// USER_HZ, the unit of `/proc`'s CPU times: 100 on every Linux architecture this runs on.
const CLOCK_TICKS: f64 = 100.0;

/// The PostgreSQL server's process id when it runs on this machine: the parent of this
/// connection's backend.
fn postmaster(client: &mut Client) -> Option<String> {
    let backend: i32 = client.query_one("SELECT pg_backend_pid()", &[]).ok()?.get(0);
    proc_times(&backend.to_string()).map(|(_, parent)| parent)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn coordinate(flags: &HashMap<String, String>) {
    let sellers = number(flags, "sellers", 100_000);
    let concurrency = number(flags, "concurrency", 4);
    let processes: Vec<usize> = flags
        .get("processes")
        .map_or("1,2,4", String::as_str)
        .split(',')
        .map(|n| n.trim().parse().expect("--processes: numbers, comma-separated"))
        .collect();
    assert!(
        processes.len() <= MAX_ROUNDS,
        "--processes: at most {MAX_ROUNDS} rounds, so that each round's clock stays before the fake's tokens expire"
    );
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpu
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_owned()))
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!("{}", json!({"name": "machine", "cpu": cpu, "cores": cores, "load_average": load.join(" ")}));

    let base = database();
    let schema = format!("fleet_{}", std::process::id());
    let mut admin = Client::connect(&base, NoTls).expect("the database answers");
    let version: String = admin.query_one("SHOW server_version", &[]).expect("a version").get(0);
    admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")).expect("a schema");
    let conninfo = with_search_path(&base, &schema);
    let mut client = Client::connect(&conninfo, NoTls).expect("the schema's connection");

    let square =
        MockSquare::start(MockConfig::new().app(App::new(APP, "sq0csp-fleet-bench", &["http://127.0.0.1:9/cb"])))
            .expect("the fake Square starts");

    // The vault's sellers, stored through the vault (sealed) by 16 threads at once; then the
    // floor's own sellers, other grants of the same fake, in a bare table.
    let setup = Instant::now();
    let key = Key::generate();
    let store = PostgresStore::with_pool(&conninfo, 16).expect("the store opens");
    let vault = Vault::new(store, Keyring::new(key.clone()), Settings::new(ClientId::new(APP), None));
    let grants = square.mint_grants(APP, sellers, true).expect("grants minted");
    let now = Timestamp::now();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..16 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(grant) = grants.get(i) else { break };
                    let answer: ObtainTokenResponse = serde_json::from_str(grant).expect("a grant");
                    let tokens = TokenSet::from_response(Flow::Pkce, ClientId::new(APP), answer, now).expect("tokens");
                    vault.put(&tokens).expect("the seller is stored");
                }
            });
        }
    });
    drop(grants);
    client
        .batch_execute(
            "CREATE TABLE floor_sellers (merchant_id TEXT PRIMARY KEY, access_token TEXT NOT NULL, refresh_token TEXT NOT NULL)",
        )
        .expect("the floor's table");
    {
        use std::io::Write as _;
        let mut copy = client.copy_in("COPY floor_sellers FROM STDIN").expect("COPY");
        for grant in square.mint_grants(APP, sellers, true).expect("grants minted") {
            let answer: ObtainTokenResponse = serde_json::from_str(&grant).expect("a grant");
            let merchant = answer.merchant_id.as_ref().expect("a seller");
            let access = answer.access_token.as_ref().expect("an access token");
            let refresh = answer.refresh_token.as_ref().expect("a refresh token");
            writeln!(copy, "{}\t{}\t{}", merchant.as_str(), access.expose_secret(), refresh.expose_secret())
                .expect("a row");
        }
        copy.finish().expect("the floor's rows");
    }
    // One statement each: a multi-statement batch is one transaction, which VACUUM refuses.
    client.batch_execute("VACUUM ANALYZE sellers").expect("vacuum");
    client.batch_execute("VACUUM ANALYZE floor_sellers").expect("vacuum");
    println!(
        "{}",
        json!({"name": "fleet_setup", "sellers": sellers, "seconds": round3(setup.elapsed().as_secs_f64()), "postgresql": version})
    );

    let env = [(DATABASE, conninfo.clone()), ("SQUARE_VAULT_KEY", key.to_base64().to_string())];
    let base_url = square.base_url();
    let reuses_before = square.refused_reuses();

    // The floor, at the most processes measured.
    let floor_processes = processes.iter().copied().max().unwrap_or(4);
    let (xacts_before, updates_before, hot_before) = counters(&mut client, "floor_sellers");
    let server = postmaster(&mut admin);
    let cpu_before = Cpu::now(server.as_deref());
    let (seconds, done, _) = run_processes(
        floor_processes,
        "floor",
        &|i| {
            ["--base-url", &base_url, "--slice", &i.to_string(), "--of", &floor_processes.to_string(), "--concurrency"]
                .iter()
                .map(|s| (*s).to_owned())
                .chain([concurrency.to_string()])
                .collect()
        },
        &env,
    );
    settle();
    // After the settling pause: the backends of the closed connections have been reaped.
    let cpu = Cpu::per_refresh(cpu_before, Cpu::now(server.as_deref()), done.max(1));
    let (xacts_after, updates_after, hot_after) = counters(&mut client, "floor_sellers");
    assert_eq!(done, sellers, "the floor refreshed every seller once");
    let floor_rate = done as f64 / seconds;
    println!(
        "{}",
        json!({
            "name": "fleet_floor", "processes": floor_processes, "concurrency": concurrency, "refreshed": done,
            "seconds": round3(seconds), "sellers_per_second": floor_rate.round(),
            "transactions_per_refresh": round3((xacts_after - xacts_before) as f64 / done as f64),
            "row_updates_per_refresh": round3((updates_after - updates_before) as f64 / done as f64),
            "heap_only_updates_per_refresh": round3((hot_after - hot_before) as f64 / done as f64),
            "cpu_us_per_refresh": cpu,
        })
    );

    let mut rates = Vec::new();
    let mut work = json!(null);
    for (round, &n) in processes.iter().enumerate() {
        let days = DAYS_PER_ROUND * (round as i64 + 1);
        let (xacts_before, updates_before, hot_before) = counters(&mut client, "sellers");
        let index_before = due_index_reads(&mut client);
        let cpu_before = Cpu::now(server.as_deref());
        let (seconds, refreshed, other) = run_processes(
            n,
            "refresher",
            &|_| {
                ["--base-url", &base_url, "--days-ahead", &days.to_string(), "--concurrency", &concurrency.to_string()]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect()
            },
            &env,
        );
        settle();
        let cpu = Cpu::per_refresh(cpu_before, Cpu::now(server.as_deref()), refreshed.max(1));
        let (xacts_after, updates_after, hot_after) = counters(&mut client, "sellers");
        let index_after = due_index_reads(&mut client);
        let scans = (index_after.0 - index_before.0).max(1) as f64;
        let once: i64 = client
            .query_one("SELECT count(*) FROM sellers WHERE refreshes = $1", &[&(round as i64 + 1)])
            .expect("a count")
            .get(0);
        assert_eq!(refreshed, sellers, "every seller refreshed ({n} processes)");
        assert_eq!(once as usize, sellers, "every seller refreshed exactly once more ({n} processes)");
        let rate = refreshed as f64 / seconds;
        rates.push((n, rate));
        let transactions = (xacts_after - xacts_before) as f64 / refreshed as f64;
        let updates = (updates_after - updates_before) as f64 / refreshed as f64;
        println!(
            "{}",
            json!({
                "name": "fleet_refreshers", "processes": n, "concurrency": concurrency, "refreshed": refreshed,
                "not_refreshed_by_the_first_to_look": other,
                "seconds": round3(seconds), "sellers_per_second": rate.round(), "ratio_to_floor": round3(rate / floor_rate),
                "transactions_per_refresh": round3(transactions), "row_updates_per_refresh": round3(updates),
                "heap_only_updates_per_refresh": round3((hot_after - hot_before) as f64 / refreshed as f64),
                "cpu_us_per_refresh": cpu,
                "due_index": {
                    "scans_per_refresh": round3(scans / refreshed as f64),
                    "entries_read_per_scan": round3((index_after.1 - index_before.1) as f64 / scans),
                    "rows_fetched_per_scan": round3((index_after.2 - index_before.2) as f64 / scans),
                },
            })
        );
        if n == floor_processes {
            work = json!({"transactions": round3(transactions), "row_updates": round3(updates)});
        }
    }
    let reuses = square.refused_reuses() - reuses_before;
    assert_eq!(reuses, 0, "a spent refresh token was presented");
    let at_most = rates.iter().find(|(n, _)| *n == floor_processes).map_or(0.0, |(_, r)| *r);
    let ratio = at_most / floor_rate;
    println!(
        "{}",
        json!({
            "name": "vault_fleet_postgres",
            "sellers": sellers,
            "concurrency_per_process": concurrency,
            "floor_sellers_per_second": floor_rate.round(),
            "floor_processes": floor_processes,
            "refreshers_sellers_per_second": rates.iter().map(|(n, r)| json!({"processes": n, "sellers_per_second": r.round()})).collect::<Vec<_>>(),
            "ratio": round3(ratio),
            "target": ">= 0.7x the floor",
            "met": ratio >= 0.7,
            "refused_reuses": reuses,
            "measured_per_refresh": work,
            "per_refresh_by_design": {
                "statements": "1: store the previous seller's result by compare-and-swap and lease the next seller (Store::replace_and_claim, one UPDATE ... WITH statement); a thread's first claim of a round is Store::claim_leases alone",
                "round_trips": 1,
                "commits": 1,
                "row_versions_written": "2: the result's (a new index entry: refresh_at moves) and the lease's (heap-only)",
                "floor": "1 UPDATE, 1 round trip, 1 commit, 1 row version",
            },
        })
    );
    drop(vault);
    drop(client);
    let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
}

/// A refresher process: rounds of the vault's refresher (as `Vault::run_refresher` runs
/// them) until a round finds nothing due, its clock `--days-ahead` in the future.
fn refresher(flags: &HashMap<String, String>) {
    let concurrency = number(flags, "concurrency", 4);
    let days = number(flags, "days-ahead", 10) as i64;
    let store = PostgresStore::with_pool(&database(), concurrency + 1).expect("the store opens");
    let key = Key::from_env("SQUARE_VAULT_KEY").expect("the key");
    let mut settings = Settings::new(ClientId::new(APP), None);
    settings.clock = std::sync::Arc::new(move || Timestamp::now() + SignedDuration::from_hours(24 * days));
    let vault = Vault::new(store, Keyring::new(key), settings);
    let config = square_oauth::Config::custom(flags.get("base-url").expect("--base-url")).expect("the fake's URL");
    let make_send = || {
        let client = square_oauth_ureq::Client::new(config.clone());
        move |operation: &ObtainToken| client.obtain_token(operation).map_err(from_call)
    };
    let (mut refreshed, mut other) = (0, 0);
    loop {
        let limit = concurrency * Vault::<PostgresStore>::ROUND_PER_THREAD;
        let round = vault.refresh_due(limit, concurrency, &make_send).expect("a round");
        if round.is_empty() {
            break;
        }
        refreshed += round.refreshed;
        other += round.not_refreshed();
    }
    println!("refreshed={refreshed} other={other}");
}

/// A floor process: its slice of the bare table's sellers (every `--of`th, from `--slice`),
/// each refreshed through the adapter and written back with one `UPDATE`, by `--concurrency`
/// threads with a connection each.
fn floor(flags: &HashMap<String, String>) {
    let concurrency = number(flags, "concurrency", 4);
    let (slice, of) = (number(flags, "slice", 0), number(flags, "of", 1));
    let conninfo = database();
    let config = square_oauth::Config::custom(flags.get("base-url").expect("--base-url")).expect("the fake's URL");
    let mut client = Client::connect(&conninfo, NoTls).expect("a connection");
    let mine: Vec<(String, String)> = client
        .query("SELECT merchant_id, refresh_token FROM floor_sellers ORDER BY merchant_id", &[])
        .expect("the floor's sellers")
        .iter()
        .enumerate()
        .filter(|(i, _)| i % of == slice)
        .map(|(_, row)| (row.get(0), row.get(1)))
        .collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| {
                let mut db = Client::connect(&conninfo, NoTls).expect("a connection");
                // The vault's durability: the commit is on disk before the next refresh.
                db.batch_execute("SET synchronous_commit = on").expect("synchronous_commit");
                let update = db
                    .prepare("UPDATE floor_sellers SET access_token = $1, refresh_token = $2 WHERE merchant_id = $3")
                    .expect("the UPDATE");
                let square = square_oauth_ureq::Client::new(config.clone());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((merchant, refresh)) = mine.get(i) else { break };
                    let operation = ObtainToken::pkce_refresh(ClientId::new(APP), RefreshToken::new(refresh.clone()));
                    let answer = square.obtain_token(&operation).expect("a refresh");
                    let access = answer.access_token.as_ref().expect("an access token").expose_secret();
                    let refresh = answer.refresh_token.as_ref().expect("a refresh token").expose_secret();
                    let n = db.execute(&update, &[&access, &refresh, merchant]).expect("the row is updated");
                    assert_eq!(n, 1);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    println!("refreshed={}", done.into_inner());
}
