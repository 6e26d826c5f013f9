//! The PostgreSQL side of the harness: where the test database is, and one schema per test so
//! that tests running side by side do not see each other's sellers.
//!
//! The database comes from `SQUARE_VAULT_TEST_DATABASE_URL` (a developer's own), else from the
//! libpq variables `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE` (which
//! `pg_virtualenv` sets, see `scripts/pg-test`). In CI (`CI=true`) a test with neither fails;
//! elsewhere it prints a notice and passes without running.

use std::process::Command;

use postgres::{Client, NoTls};

/// The connection string of the test database, if one was given.
fn base() -> Option<String> {
    if let Ok(url) = std::env::var("SQUARE_VAULT_TEST_DATABASE_URL")
        && !url.is_empty()
    {
        return Some(url);
    }
    if std::env::var_os("PGHOST").is_none() && std::env::var_os("PGPORT").is_none() {
        return None;
    }
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
    Some(if conninfo.starts_with("host=") { conninfo } else { format!("host='localhost' {conninfo}") })
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A schema of its own in the test database, dropped at the end.
pub struct PgDb {
    /// The connection string, with the schema as the search path.
    pub conninfo: String,
    base: String,
    /// The schema the test has to itself.
    pub schema: String,
}

impl PgDb {
    /// A fresh schema named after the test; `None` (after a printed notice) when no database
    /// was given outside CI.
    pub fn new(name: &str) -> Option<PgDb> {
        let Some(base) = base() else {
            assert!(
                !in_ci(),
                "no PostgreSQL for the vault's tests: set SQUARE_VAULT_TEST_DATABASE_URL or run them under scripts/pg-test"
            );
            eprintln!("NOTICE: no PostgreSQL given (SQUARE_VAULT_TEST_DATABASE_URL, PGHOST): {name} not run");
            return None;
        };
        let schema = format!("sqv_{}_{}", name.replace('-', "_"), std::process::id());
        let mut admin =
            Client::connect(&base, NoTls).expect("the test database (SQUARE_VAULT_TEST_DATABASE_URL or PG*) answers");
        admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
            .expect("a test schema");
        let conninfo = with_search_path(&base, &schema);
        Some(PgDb { conninfo, base, schema })
    }

    /// A plain connection to the test schema.
    pub fn client(&self) -> Client {
        Client::connect(&self.conninfo, NoTls).expect("a connection")
    }
}

fn with_search_path(base: &str, schema: &str) -> String {
    if base.starts_with("postgres://") || base.starts_with("postgresql://") {
        let separator = if base.contains('?') { '&' } else { '?' };
        format!("{base}{separator}options=-c%20search_path%3D{schema}")
    } else {
        format!("{base} options='-c search_path={schema}'")
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(&self.base, NoTls) {
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

/// The `pg_ctlcluster` version and name of the cluster the tests use, when it is a local
/// Debian cluster (as under `pg_virtualenv`).
pub fn local_cluster() -> Option<(String, String)> {
    let port = std::env::var("PGPORT").ok()?;
    let listing = Command::new("pg_lsclusters").arg("--no-header").output().ok()?;
    String::from_utf8_lossy(&listing.stdout).lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.len() > 2 && fields[2] == port).then(|| (fields[0].to_owned(), fields[1].to_owned()))
    })
}

/// Restarts the local cluster with `pg_ctlcluster … restart -m MODE` (`fast` or `immediate`).
pub fn restart(cluster: &(String, String), mode: &str) {
    ctl(cluster, &["restart", "-m", mode]);
}

/// Runs `pg_ctlcluster VERSION NAME ARGS…` on the local cluster, which must succeed.
pub fn ctl(cluster: &(String, String), args: &[&str]) {
    let status =
        Command::new("pg_ctlcluster").args([&cluster.0, &cluster.1]).args(args).status().expect("pg_ctlcluster runs");
    assert!(status.success(), "pg_ctlcluster {args:?} failed");
}

/// Whether a test that restarts the server can run: it needs a local cluster; in CI it fails
/// without one.
pub fn cluster_or_skip(name: &str) -> Option<(String, String)> {
    let cluster = local_cluster();
    if cluster.is_none() {
        assert!(!in_ci(), "{name}: no local PostgreSQL cluster to restart (run under scripts/pg-test)");
        eprintln!("NOTICE: {name} needs a local cluster it may restart (scripts/pg-test): not run");
    }
    cluster
}
