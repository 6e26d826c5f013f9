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

impl PgDb {
    /// Where the server is (host and port), from the connection string.
    pub fn server(&self) -> (String, u16) {
        let config: postgres::Config = self.conninfo.parse().expect("a connection string");
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(host)) => host.clone(),
            _ => "localhost".to_owned(),
        };
        (host, config.get_ports().first().copied().unwrap_or(5432))
    }

    /// This schema's connection string, but to `addr` (a [`CutProxy`]) instead of the server.
    pub fn conninfo_via(&self, addr: std::net::SocketAddr) -> String {
        let config: postgres::Config = self.conninfo.parse().expect("a connection string");
        let quote = |value: &str| value.replace('\\', "\\\\").replace('\'', "\\'");
        let mut pairs = vec![format!("host='{}'", addr.ip()), format!("port='{}'", addr.port())];
        let password = config.get_password().map(|p| String::from_utf8_lossy(p).into_owned());
        let named = [
            ("user", config.get_user()),
            ("password", password.as_deref()),
            ("dbname", config.get_dbname()),
            ("options", config.get_options()),
        ];
        pairs.extend(named.iter().filter_map(|(key, value)| value.map(|v| format!("{key}='{}'", quote(v)))));
        pairs.join(" ")
    }
}

/// A TCP proxy in front of the test server that can lose the answer to one statement: it
/// forwards the client's bytes holding a chosen needle, drops what the server answers, cuts
/// the connection, and from then on refuses every connection until [`up`](Self::up). The
/// statement ran and committed; the client never hears, and cannot ask.
pub struct CutProxy {
    pub addr: std::net::SocketAddr,
    shared: std::sync::Arc<std::sync::Mutex<Cut>>,
}

#[derive(Default)]
struct Cut {
    needle: Option<Vec<u8>>,
    down: bool,
    cuts: usize,
}

impl CutProxy {
    pub fn start(server: (String, u16)) -> CutProxy {
        use std::net::{TcpListener, TcpStream};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};

        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(std::sync::Mutex::new(Cut::default()));
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if accepting.lock().unwrap().down {
                    continue; // dropped: refused
                }
                let Ok(upstream) = TcpStream::connect((server.0.as_str(), server.1)) else { continue };
                let cutting = Arc::new(AtomicBool::new(false));
                let (shared, cut) = (accepting.clone(), cutting.clone());
                // Client to server: a chunk holding the needle arms the cut and goes through;
                // once the proxy is down, any other connection's next chunk ends it.
                pump(client.try_clone().unwrap(), upstream.try_clone().unwrap(), move |chunk| {
                    let mut state = shared.lock().unwrap();
                    if state.down && !cut.load(Ordering::SeqCst) {
                        return false;
                    }
                    if let Some(needle) = &state.needle
                        && chunk.windows(needle.len()).any(|w| w == needle.as_slice())
                    {
                        cut.store(true, Ordering::SeqCst);
                        state.needle = None;
                        state.down = true;
                        state.cuts += 1;
                    }
                    true
                });
                // Server to client: once armed, the answer is lost (the server is given a
                // moment to finish its commit first).
                pump(upstream, client, move |_| {
                    if cutting.load(Ordering::SeqCst) {
                        std::thread::sleep(std::time::Duration::from_millis(200));
                        return false;
                    }
                    true
                });
            }
        });
        CutProxy { addr, shared }
    }

    /// Loses the answer to the next client message holding `needle`, then goes down.
    pub fn cut_answer_to(&self, needle: &[u8]) {
        self.shared.lock().unwrap().needle = Some(needle.to_vec());
    }

    /// How many answers were cut so far.
    pub fn cuts(&self) -> usize {
        self.shared.lock().unwrap().cuts
    }

    /// Takes connections again.
    pub fn up(&self) {
        self.shared.lock().unwrap().down = false;
    }
}

/// Copies `from` to `to` on a thread of its own, chunk by chunk, while `pass` lets each chunk
/// through; then shuts both down.
fn pump(
    mut from: std::net::TcpStream,
    mut to: std::net::TcpStream,
    mut pass: impl FnMut(&[u8]) -> bool + Send + 'static,
) {
    use std::io::{Read as _, Write as _};
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            if !pass(&buf[..n]) || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = from.shutdown(std::net::Shutdown::Both);
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}
