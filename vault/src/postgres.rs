//! The shared store: a PostgreSQL database that many machines' refreshers use at once.
//!
//! - **Migrations** are versioned (table `square_vault_schema`) and run by [`PostgresStore::open`]
//!   and by [`migrate`], in one transaction under a transaction-scoped advisory lock, so that
//!   machines starting together apply each migration once; the lock goes with the commit.
//! - **[`Store::update`]** is `BEGIN; SELECT … FOR UPDATE; INSERT` or `UPDATE; COMMIT` at READ
//!   COMMITTED: the row lock makes every decision on a seller wait for the previous one. Two
//!   first inserts of the same seller race on the primary key; the loser runs again and decides
//!   on the winner's row. Serialization failures and deadlocks are retried; so is a lost
//!   connection (a restarted server, a terminated backend): a commit whose answer was lost is
//!   recognised by reading the row back. The one-statement methods also run again on a fresh
//!   connection when theirs turns out to be gone. `synchronous_commit` is forced on, so a commit is
//!   durable when [`Store::update`] returns. A method keeps reconnecting for a minute
//!   ([`PostgresStore::reconnect_for`]) before it fails; a lease that a lost statement may have
//!   taken and that could not be read back or given back in that time (nothing is sent with it:
//!   the caller got an error) is given back after the store's next statement the server
//!   answers, rather than left to expire.
//! - **[`Store::replace`]** is one `UPDATE … WHERE` the whole row is still as expected, in a
//!   transaction of its own: the vault stores a refresh's result with it over the row its lease
//!   wrote, and falls back to [`Store::update`] when anything changed the row meanwhile.
//! - **[`Store::claim_due`]** picks due sellers with `SELECT … FOR UPDATE SKIP LOCKED` and
//!   takes their leases (fencing numbers and all, decided as on SQLite) in the same short
//!   transaction: a seller another machine is claiming at that moment is skipped rather than
//!   waited for, and once the claim commits the seller is no longer due for anyone else. So
//!   refreshers on many machines share the due sellers out between them instead of racing for
//!   the same ones.
//! - **[`Store::claim_leases`]**, the refresher's usual claim, does the same in one statement
//!   (`UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) … RETURNING` the row as it was)
//!   for the sellers whose only possible decision is a lease ([`decide::leasable`]), writing the
//!   lease [`decide::take_lease`] writes; the vault checks it against [`decide::acquire`] on the
//!   returned row. **[`Store::replace_and_claim`]** stores a refresh's result by compare-and-swap
//!   and leases the next seller in that same statement (data-modifying `WITH` clauses).
//! - **Nothing is held across the call to Square**: no lock, no transaction, no connection (a
//!   connection goes back to the pool after every method).
//! - **A bounded pool**: at most [`PostgresStore::with_pool`] connections per store; a caller
//!   beyond that waits for one to come back.
//! - **TLS** with `sslmode=require` or `verify-full` in the connection string: rustls (ring),
//!   the server's certificate verified, chain and host name (this store's `require` checks as
//!   much as libpq's `verify-full`). `verify-ca` checks the chain alone, as libpq's does, for a
//!   server reached by a name its certificate does not hold, and so needs the database's own
//!   authority (the public ones would pass anyone's certificate). The certificate must be signed by
//!   an authority of [`PostgresStore::with_root_certificates`], else of the file the
//!   connection string's `sslrootcert` names, else of the file `PGSSLROOTCERT` names (a
//!   managed database's own authority: certificates named so replace the public ones, as in
//!   libpq), else of the webpki roots, which `sslrootcert=system` also names (with
//!   `verify-full` only, as libpq). `prefer` (the parser's default) and `disable` connect in
//!   **plain text**: a connection that leaves the machine wants `sslmode=verify-full` (or
//!   `require`). Authorities named for a connection without TLS are refused, and so is a Unix
//!   socket with TLS (it has none).
//!
//! Per refresh by the refresher, the database work is one statement in its own transaction:
//! store the previous seller's result and lease the next seller
//! ([`Store::replace_and_claim`]): 1 round trip and 1 commit synced to disk, 2 rows written
//! (the lease's version a heap-only tuple: the table keeps room on its pages for it, and no
//! indexed column changes). Each refresher thread's first claim of a round is
//! [`Store::claim_leases`] alone. Statements are prepared once per connection, with the limit
//! written into them so that PostgreSQL keeps one generic plan (a custom plan per execution was
//! most of the database's work); a claim starts its index scan where the thread's previous one
//! was ([`Claim::from`]), not over every seller refreshed since the round began.
//!
//! ```no_run
//! use square_oauth_vault::PostgresStore;
//! let store = PostgresStore::open("postgres://vault@db.internal/marketplace")?;
//! # let _ = store;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;
use std::str::FromStr as _;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use postgres::config::SslMode;
use postgres::types::ToSql;
use postgres::{Client, Config, NoTls, Statement};
use square_oauth::{Flow, MerchantId};

use crate::conninfo;
use crate::decide::{self, Lease, Record, SellerState};
use crate::store::{Claim, Row, SealedTokens, Store, StoreError};

/// The schema, one migration per entry; a migration is never edited once released, only
/// followed by another.
const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE sellers (
    merchant_id TEXT PRIMARY KEY,
    flow TEXT NOT NULL,
    state TEXT NOT NULL,
    unknown_deadline BIGINT,
    fence BIGINT NOT NULL,
    lease_owner TEXT,
    lease_fence BIGINT,
    lease_expires_at BIGINT,
    obtained_at BIGINT NOT NULL,
    expires_at BIGINT,
    refresh_at BIGINT NOT NULL,
    granted_at BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    retry_at BIGINT,
    refreshes BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    token_meta TEXT NOT NULL,
    access_token BYTEA NOT NULL,
    refresh_token BYTEA
);
CREATE INDEX sellers_due ON sellers (refresh_at) WHERE state = 'active';
CREATE TABLE webhook_events (
    event_id TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL
);
",
    "
-- Room on every page for a row's next version: taking a lease changes no indexed column, so with
-- room beside it the new version is a heap-only tuple (HOT) and no index grows. Pages written
-- from now on keep it.
ALTER TABLE sellers SET (fillfactor = 70);
",
];

/// The advisory lock key the migrations run under ("sqvault" in ASCII).
const MIGRATION_LOCK: i64 = 0x0073_7176_6175_6c74;

const COLUMNS: &str = "merchant_id, flow, state, unknown_deadline, fence, lease_owner, lease_fence, lease_expires_at, \
    obtained_at, expires_at, refresh_at, granted_at, failures, retry_at, refreshes, key_id, token_meta, access_token, \
    refresh_token";

/// [`DUE`]'s condition, shared with [`DUE_FOR_KEYS`].
macro_rules! due_sql {
    () => {
        "state = 'active' AND refresh_at <= $1 \
         AND (lease_expires_at IS NULL OR lease_expires_at <= $1) AND (retry_at IS NULL OR retry_at <= $1)"
    };
}

/// The sellers [`Store::due`] names, skipping rows another transaction holds: `$1` is now,
/// `$2` the limit.
const DUE: &str = concat!("WHERE ", due_sql!(), " ORDER BY refresh_at LIMIT $2 FOR UPDATE SKIP LOCKED");

/// The sellers [`Store::claim_due`] passes on: [`DUE`]'s, but for those another key than `$3`'s
/// sealed, unless their decision needs no tokens (a PKCE seller's lease, expired since it is
/// due): [`store::claimable_with`](crate::store::claimable_with) in SQL.
const DUE_FOR_KEYS: &str = concat!(
    "WHERE ",
    due_sql!(),
    " AND (key_id = ANY($3) OR (flow = 'pkce' AND lease_expires_at IS NOT NULL))",
    " ORDER BY refresh_at LIMIT $2 FOR UPDATE SKIP LOCKED"
);

/// The sellers [`Store::claim_leases`] takes: [`decide::leasable`] in SQL (active, due, not
/// backing off, no lease or an expired code-flow lease) and sealed with one of the claim's keys,
/// skipping rows another transaction holds, `limit` of them: `now`, `from` and `keys` name the
/// parameters that hold now, [`Claim::from`] and [`Claim::keys`].
fn leasable_sql(now: &str, from: &str, keys: &str, limit: i64) -> String {
    format!(
        "state = 'active' AND refresh_at <= {now} AND refresh_at >= {from} \
         AND (lease_expires_at IS NULL OR (lease_expires_at <= {now} AND flow = 'code_flow')) \
         AND (retry_at IS NULL OR retry_at <= {now}) AND key_id = ANY({keys}) \
         ORDER BY refresh_at FOR UPDATE SKIP LOCKED LIMIT {limit}"
    )
}

/// How long a store call keeps trying through lost connections (a server restarting), unless
/// [`PostgresStore::reconnect_for`] says otherwise.
const RECONNECT_FOR: Duration = Duration::from_secs(60);

/// How long a caller waits for a pooled connection before giving up.
const POOL_WAIT: Duration = Duration::from_secs(60);

fn pg(what: &str) -> impl FnOnce(postgres::Error) -> StoreError + '_ {
    move |e| StoreError::new(format!("PostgreSQL: {what}"), e)
}

/// The driver's reading of a connection string: the server, user and database
/// [`PostgresStore::open`] connects to, for showing where a store is (its password included, so
/// not for printing whole). libpq's TLS settings the driver does not read (`sslmode=verify-ca`
/// and `verify-full`, `sslrootcert`) are read here, and shown as `sslmode=require`.
///
/// ```
/// let config = square_oauth_vault::postgres::config(
///     "postgres://vault@db.internal/marketplace?sslmode=verify-full&sslrootcert=/etc/db-ca.pem",
/// )?;
/// assert_eq!(config.get_dbname(), Some("marketplace"));
/// # Ok::<(), square_oauth_vault::StoreError>(())
/// ```
pub fn config(conninfo: &str) -> Result<Config, StoreError> {
    read(conninfo).map(|(config, _)| config)
}

/// The driver's reading of `conninfo`, and libpq's TLS settings, which it does not read.
fn read(conninfo: &str) -> Result<(Config, conninfo::LibpqTls), StoreError> {
    let (rest, libpq) = conninfo::split(conninfo)?;
    Ok((Config::from_str(&rest).map_err(pg("read the connection string"))?, libpq))
}

/// Applies every migration the database lacks; the schema version it ends at. Safe to run from
/// many machines at once, and again at any time.
pub fn migrate(conninfo: &str) -> Result<u32, StoreError> {
    let mut client = Server::new(conninfo, None)?.connect()?;
    migrate_on(&mut client)
}

fn migrate_on(client: &mut Client) -> Result<u32, StoreError> {
    let mut tx = client.transaction().map_err(pg("begin"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(pg("lock the schema"))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS square_vault_schema (version INTEGER NOT NULL)")
        .map_err(pg("create the schema version table"))?;
    let current: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM square_vault_schema", &[])
        .and_then(|row| row.try_get(0))
        .map_err(pg("read the schema version"))?;
    let mut version = current;
    for (number, migration) in (1..).zip(MIGRATIONS) {
        if number <= current {
            continue;
        }
        tx.batch_execute(migration).map_err(pg("migrate"))?;
        tx.execute("INSERT INTO square_vault_schema (version) VALUES ($1)", &[&number])
            .map_err(pg("record the schema version"))?;
        version = number;
    }
    tx.commit().map_err(pg("commit the schema"))?;
    Ok(u32::try_from(version).unwrap_or(0))
}

/// The database server and how to reach it.
struct Server {
    config: Config,
    /// `None`: plain TCP (or a Unix socket).
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
}

impl Server {
    /// The server `conninfo` names, TLS as the module docs say. `roots`: the authorities to
    /// trust instead of those the connection string, `PGSSLROOTCERT` or the webpki roots give,
    /// which only a connection over TLS uses, so they are refused without it.
    fn new(conninfo: &str, roots: Option<&[u8]>) -> Result<Server, StoreError> {
        let (mut config, libpq) = read(conninfo)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("square-oauth-vault");
        // libpq: `sslrootcert=system` makes `verify-full` the mode, and refuses a weaker one.
        let system = libpq.root_cert.as_deref() == Some("system");
        match libpq.mode.as_deref() {
            None if system => {
                config.ssl_mode(SslMode::Require);
            }
            Some(mode) if system && mode != "verify-full" => {
                return Err(StoreError::msg(format!(
                    "PostgreSQL: sslrootcert=system needs sslmode=verify-full, not {mode}"
                )));
            }
            _ => {}
        }
        let tls = config.get_ssl_mode() == SslMode::Require;
        // `split` put `require` where the last verify mode was; anything else is a reading of
        // the connection string that must not go on in plain text.
        if libpq.verify().is_some() && !tls {
            return Err(StoreError::msg(
                "PostgreSQL: read the connection string: it asks for sslmode=verify-ca or verify-full, \
                 and reads otherwise",
            ));
        }
        if !tls {
            if roots.is_some() || libpq.root_cert.is_some() {
                return Err(StoreError::msg(
                    "PostgreSQL: root certificates were given, but the connection string does not ask for TLS \
                     (sslmode=require, verify-ca or verify-full)",
                ));
            }
            return Ok(Server { config, tls: None });
        }
        let given = match (roots, &libpq.root_cert) {
            (Some(pem), _) => Roots::Pem(pem.to_vec(), "the root certificates given".to_owned()),
            (None, Some(named)) if named == "system" => Roots::Public,
            // The path is not shown: it comes from the connection string, which a typo (an
            // empty value before `password=…`) can make its password.
            (None, Some(path)) => Roots::file(std::path::Path::new(path), "the file sslrootcert names")?,
            (None, None) => match std::env::var_os("PGSSLROOTCERT") {
                Some(path) if path == "system" => Roots::Public,
                Some(path) => {
                    let path = std::path::Path::new(&path);
                    Roots::file(path, &format!("PGSSLROOTCERT ({})", path.display()))?
                }
                None => Roots::Public,
            },
        };
        let verify = libpq.verify().unwrap_or(conninfo::Verify::Full);
        // Any public authority, and any host name: anyone with a certificate for a name of
        // their own would pass. libpq refuses it too.
        if verify == conninfo::Verify::Chain && matches!(given, Roots::Public) {
            return Err(StoreError::msg(
                "PostgreSQL: sslmode=verify-ca needs the database's own authority (sslrootcert, PGSSLROOTCERT, \
                 or root certificates given): with the public ones it would accept any certificate",
            ));
        }
        Ok(Server { config, tls: Some(tls_config(given, verify)?) })
    }

    fn connect(&self) -> Result<Client, StoreError> {
        let mut client = match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(NoTls),
        }
        .map_err(pg("connect"))?;
        // A refresh result must be on disk before the call that stored it returns, whatever the
        // server's default.
        client.batch_execute("SET synchronous_commit = on").map_err(pg("synchronous_commit"))?;
        Ok(client)
    }
}

/// The authorities a server's certificate must be signed by.
enum Roots {
    /// These PEM certificates (they replace the public ones, as libpq's `sslrootcert`: a
    /// database's private authority is the only one it needs), and where they came from.
    Pem(Vec<u8>, String),
    /// The webpki roots: the public authorities.
    Public,
}

impl Roots {
    /// The certificates of the file at `path`, called `named` in errors.
    fn file(path: &std::path::Path, named: &str) -> Result<Roots, StoreError> {
        let pem = std::fs::read(path).map_err(|e| StoreError::new(format!("PostgreSQL: read {named}"), e))?;
        Ok(Roots::Pem(pem, named.to_owned()))
    }
}

/// rustls with ring, trusting `roots`, checking the certificate's host name unless `verify` is
/// [`Chain`](conninfo::Verify::Chain) (libpq's `verify-ca`).
fn tls_config(roots: Roots, verify: conninfo::Verify) -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut store = rustls::RootCertStore::empty();
    match &roots {
        Roots::Pem(pem, source) => {
            for certificate in CertificateDer::pem_slice_iter(pem) {
                let certificate =
                    certificate.map_err(|e| StoreError::new(format!("PostgreSQL: a certificate in {source}"), e))?;
                store
                    .add(certificate)
                    .map_err(|e| StoreError::new(format!("PostgreSQL: a certificate in {source}"), e))?;
            }
            if store.is_empty() {
                return Err(StoreError::msg(format!("PostgreSQL: no PEM certificate in {source}")));
            }
        }
        Roots::Public => store.roots = webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::new("PostgreSQL: TLS", e))?;
    let config = match verify {
        conninfo::Verify::Full => builder.with_root_certificates(store),
        conninfo::Verify::Chain => builder
            .dangerous()
            .with_custom_certificate_verifier(std::sync::Arc::new(ChainOnly { roots: store, provider })),
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config.with_no_client_auth()))
}

/// libpq's `verify-ca`: the server's certificate must be signed by a trusted authority, and may
/// name any host (a server reached by an address its certificate does not hold). Everything
/// else (the handshake's signatures, the algorithms) is rustls's own checking.
#[derive(Debug)]
struct ChainOnly {
    roots: rustls::RootCertStore,
    provider: std::sync::Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let certificate = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &certificate,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &rustls::pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &rustls::pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// [`Store::claim_leases`]'s statement for `limit` sellers: `$1` now, `$2` the owner, `$3` when
/// the lease expires, `$4` [`Claim::from`], `$5` [`Claim::keys`]. The limit is written into the statement rather than passed, so that
/// PostgreSQL can keep one plan for it (the due index, then the primary key): with a limit it
/// cannot see, it plans a hash join over the whole table, or plans afresh on every execution.
fn lease_sql(limit: i64) -> String {
    format!(
        "UPDATE sellers AS s SET fence = s.fence + 1, lease_owner = $2, lease_fence = s.fence + 1, \
         lease_expires_at = $3 FROM (SELECT {COLUMNS} FROM sellers WHERE {}) AS before \
         WHERE s.merchant_id = before.merchant_id RETURNING {}",
        leasable_sql("$1", "$4", "$5", limit),
        qualified("before"),
    )
}

/// [`Store::replace_and_claim`]'s statement: `$1` to `$37` as in `replace`, `$38` now, `$39`
/// the owner, `$40` when the lease expires, `$41` [`Claim::from`], `$42` [`Claim::keys`]. One row: how many rows were
/// replaced (0 or 1), then the leased seller's row as it was before (all NULL when none was
/// leasable). The claim leaves out `$1`'s seller: one statement cannot write a row twice.
fn replace_and_lease_sql(assignments: &str, expected: &str) -> String {
    format!(
        "WITH done AS (UPDATE sellers SET {assignments} WHERE merchant_id = $1 AND {expected} RETURNING 1), \
         leased AS (UPDATE sellers AS s SET fence = s.fence + 1, lease_owner = $39, lease_fence = s.fence + 1, \
         lease_expires_at = $40 FROM (SELECT {COLUMNS} FROM sellers WHERE merchant_id <> $1 AND {}) AS before \
         WHERE s.merchant_id = before.merchant_id RETURNING {}) \
         SELECT (SELECT count(*) FROM done), leased.* FROM (SELECT 1) AS one LEFT JOIN leased ON true",
        leasable_sql("$38", "$41", "$42", 1),
        qualified("before"),
    )
}

/// Every column, qualified by `table`.
fn qualified(table: &str) -> String {
    COLUMNS.split(',').map(|c| format!("{table}.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

/// One connection with the statements it has prepared.
struct Conn {
    client: Client,
    get: Statement,
    get_for_update: Statement,
    insert: Statement,
    update: Statement,
    replace: Statement,
    replace_and_lease: Statement,
    delete: Statement,
    records: Statement,
    due: Statement,
    claim: Statement,
    lease: Statement,
    leased_by: Statement,
    remember: Statement,
}

impl Conn {
    fn open(server: &Server) -> Result<Conn, StoreError> {
        Conn::prepared(server.connect()?)
    }

    /// Prepares the statements on a connection to a migrated database.
    fn prepared(mut client: Client) -> Result<Conn, StoreError> {
        let values = (1..=19).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
        let assignments = COLUMNS
            .split(',')
            .map(str::trim)
            .zip(1..)
            .skip(1)
            .map(|(column, n)| format!("{column} = ${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        // `$2` to `$19` the new values, `$20` to `$37` the expected ones (all but the merchant
        // id); IS NOT DISTINCT FROM, so that NULL matches NULL.
        let expected = format!(
            "({}) IS NOT DISTINCT FROM ({})",
            COLUMNS.split(',').map(str::trim).skip(1).collect::<Vec<_>>().join(", "),
            (20..=37).map(|n| format!("${n}")).collect::<Vec<_>>().join(", "),
        );
        let mut prepare = |sql: &str| client.prepare(sql).map_err(pg("prepare"));
        Ok(Conn {
            get: prepare(&format!("SELECT {COLUMNS} FROM sellers WHERE merchant_id = $1"))?,
            get_for_update: prepare(&format!("SELECT {COLUMNS} FROM sellers WHERE merchant_id = $1 FOR UPDATE"))?,
            insert: prepare(&format!("INSERT INTO sellers ({COLUMNS}) VALUES ({values})"))?,
            update: prepare(&format!("UPDATE sellers SET {assignments} WHERE merchant_id = $1"))?,
            replace: prepare(&format!("UPDATE sellers SET {assignments} WHERE merchant_id = $1 AND {expected}"))?,
            replace_and_lease: prepare(&replace_and_lease_sql(&assignments, &expected))?,
            delete: prepare("DELETE FROM sellers WHERE merchant_id = $1")?,
            records: prepare(&format!("SELECT {COLUMNS} FROM sellers ORDER BY merchant_id"))?,
            due: prepare(&format!("SELECT merchant_id FROM sellers {DUE}"))?,
            claim: prepare(&format!("SELECT {COLUMNS} FROM sellers {DUE_FOR_KEYS}"))?,
            lease: prepare(&lease_sql(1))?,
            leased_by: prepare("SELECT merchant_id FROM sellers WHERE lease_owner = $1")?,
            remember: prepare(
                "INSERT INTO webhook_events (event_id, received_at) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING",
            )?,
            client,
        })
    }
}

struct Pool {
    idle: Vec<Conn>,
    open: usize,
}

/// A vault in a PostgreSQL database. See [the module](self).
pub struct PostgresStore {
    server: Server,
    max: usize,
    reconnect_for: Duration,
    /// Leases a statement may have taken before its connection went, that could not be given
    /// back then (the server stayed away): given back after the next statement the server answers.
    unsettled: Mutex<Vec<Unsettled>>,
    pool: Mutex<Pool>,
    returned: Condvar,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The configuration holds the password: only where the database is.
        f.debug_struct("PostgresStore")
            .field("dbname", &self.server.config.get_dbname())
            .field("user", &self.server.config.get_user())
            .field("tls", &self.server.tls.is_some())
            .field("max_connections", &self.max)
            .field("reconnect_for", &self.reconnect_for)
            .finish_non_exhaustive()
    }
}

/// A lease a lost statement may have taken, that nothing will be sent with.
#[derive(PartialEq)]
enum Unsettled {
    /// Every lease held by this claim's owner with this claim's expiry.
    Claim { owner: String, expires_at: Timestamp },
    /// The lease on one seller with exactly this owner and fencing number.
    Lease { merchant: MerchantId, owner: String, fence: u64 },
}

/// Why a transaction failed, for the retry loop.
enum Failure {
    /// Another transaction won (serialization failure, deadlock, a concurrent first insert):
    /// run it again.
    Conflict,
    /// The connection is gone: reconnect, and run it again.
    Lost(StoreError),
    /// Anything else: give up.
    Fatal(StoreError),
}

fn classify(what: &'static str) -> impl Fn(postgres::Error) -> Failure {
    move |e| {
        let code = e.code().map(|c| c.code().to_owned());
        match code.as_deref() {
            Some("40001" | "40P01" | "23505") => Failure::Conflict,
            // Class 08: connection exception; class 57P: the server shutting down or the
            // backend terminated by an operator.
            Some(c) if c.starts_with("08") || c.starts_with("57P") => Failure::Lost(pg(what)(e)),
            Some(_) => Failure::Fatal(pg(what)(e)),
            None => Failure::Lost(pg(what)(e)),
        }
    }
}

impl PostgresStore {
    /// Connects to the database named by `conninfo` (a `postgres://` URL or `key=value`
    /// pairs, as libpq takes them) and brings its schema up to date, with a pool of at most
    /// 10 connections. `sslmode=verify-full` (or `require`, or `verify-ca`) connects over TLS,
    /// the certificate verified against the authorities of `sslrootcert`, else of
    /// `PGSSLROOTCERT`, else the webpki roots; without it, in plain text (see the module docs).
    ///
    /// ```no_run
    /// let store = square_oauth_vault::PostgresStore::open(
    ///     "postgres://vault@db.internal/marketplace?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem",
    /// )?;
    /// # let _ = store;
    /// # Ok::<(), square_oauth_vault::StoreError>(())
    /// ```
    pub fn open(conninfo: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::with_pool(conninfo, 10)
    }

    /// [`open`](Self::open) with a pool of at most `max_connections` (at least 1).
    pub fn with_pool(conninfo: &str, max_connections: usize) -> Result<PostgresStore, StoreError> {
        PostgresStore::start(Server::new(conninfo, None)?, max_connections)
    }

    /// [`with_pool`](Self::with_pool) to a server whose certificate is signed by an authority
    /// of `roots_pem` (PEM certificates: a private CA, a cloud provider's bundle), and by no
    /// other (neither the webpki roots nor those of `sslrootcert` or `PGSSLROOTCERT`). The
    /// connection string must ask for TLS (`sslmode=require`, `verify-full` or `verify-ca`).
    ///
    /// ```no_run
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let roots = std::fs::read("/etc/ssl/rds-global-bundle.pem")?;
    /// let store = square_oauth_vault::PostgresStore::with_root_certificates(
    ///     "postgres://vault@db.internal/vault?sslmode=require",
    ///     10,
    ///     &roots,
    /// )?;
    /// # let _ = store; Ok(()) }
    /// ```
    pub fn with_root_certificates(
        conninfo: &str,
        max_connections: usize,
        roots_pem: &[u8],
    ) -> Result<PostgresStore, StoreError> {
        PostgresStore::start(Server::new(conninfo, Some(roots_pem))?, max_connections)
    }

    fn start(server: Server, max_connections: usize) -> Result<PostgresStore, StoreError> {
        let mut client = server.connect()?;
        migrate_on(&mut client)?;
        let first = Conn::prepared(client)?;
        let store = PostgresStore {
            server,
            max: max_connections.max(1),
            reconnect_for: RECONNECT_FOR,
            unsettled: Mutex::new(Vec::new()),
            pool: Mutex::new(Pool { idle: Vec::new(), open: 1 }),
            returned: Condvar::new(),
        };
        store.give_back(first);
        Ok(store)
    }

    /// How long each store call keeps trying through lost connections (a server restarting, a
    /// backend terminated) before it fails: a minute unless set here. A refresh whose new
    /// tokens the store then fails to take keeps them in memory
    /// ([`VaultError::NotYetStored`](crate::VaultError::NotYetStored)).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn run() -> Result<(), square_oauth_vault::StoreError> {
    /// let store = square_oauth_vault::PostgresStore::open("postgres://vault@db/vault")?
    ///     .reconnect_for(Duration::from_secs(300));
    /// # Ok(()) }
    /// ```
    pub fn reconnect_for(mut self, window: Duration) -> PostgresStore {
        self.reconnect_for = window;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self) -> Result<Conn, StoreError> {
        let deadline = Instant::now() + POOL_WAIT;
        let mut pool = self.lock();
        loop {
            if let Some(conn) = pool.idle.pop() {
                return Ok(conn);
            }
            if pool.open < self.max {
                pool.open += 1;
                drop(pool);
                return Conn::open(&self.server).inspect_err(|_| self.forget_one());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::msg("PostgreSQL: no pooled connection came free in time"));
            }
            pool = self.returned.wait_timeout(pool, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    fn give_back(&self, conn: Conn) {
        if conn.client.is_closed() {
            self.forget_one();
            return;
        }
        self.lock().idle.push(conn);
        self.returned.notify_one();
    }

    fn forget_one(&self) {
        let mut pool = self.lock();
        pool.open = pool.open.saturating_sub(1);
        drop(pool);
        self.returned.notify_one();
    }

    /// Runs `f` on a pooled connection; a connection that failed is closed rather than reused.
    ///
    /// Once `f` has had an answer from the server, the leases remembered by
    /// [`unsettled`](Self::unsettled) are given back ([`settle`](Self::settle)).
    fn with<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T, Failure>) -> Result<T, Failure> {
        let mut conn = self.take().map_err(Failure::Lost)?;
        let result = f(&mut conn);
        match result {
            Err(Failure::Lost(_)) => self.forget_one(),
            _ => self.give_back(conn),
        }
        if result.is_ok() {
            self.settle();
        }
        result
    }

    /// Runs a one-statement method, again on a fresh connection when the pooled one turns out
    /// to be gone (the server restarted, the backend was terminated), for up to [`reconnect_for`](Self::reconnect_for).
    fn simple<T>(&self, mut f: impl FnMut(&mut Conn) -> Result<T, Failure>) -> Result<T, StoreError> {
        let mut retries = self.retries();
        loop {
            match self.with(&mut f) {
                Ok(value) => return Ok(value),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Conflict) => return Err(StoreError::msg("PostgreSQL: a conflicting transaction")),
                Err(Failure::Lost(e)) => retries.lost(e)?,
            }
        }
    }
}

/// `expected` and `next` as a compare-and-swap's values, refused when they are not one seller's.
fn swap_values(expected: &Row, next: &Row) -> Result<(Values, Values), StoreError> {
    if expected.record.merchant_id != next.record.merchant_id {
        return Err(StoreError::msg("a replacement for another seller's row"));
    }
    Ok((Values::of(expected)?, Values::of(next)?))
}

/// A compare-and-swap's `$1` to `$37`: `next`'s values, then `expected`'s but its seller.
fn swap_params<'a>(old: &'a Values, new: &'a Values, expected: &'a Row, next: &'a Row) -> Vec<&'a (dyn ToSql + Sync)> {
    let mut params: Vec<&(dyn ToSql + Sync)> = new.params(&next.tokens).to_vec();
    params.extend_from_slice(&old.params(&expected.tokens)[1..]);
    params
}

impl PostgresStore {
    /// After a connection lost during a compare-and-swap of `expected` by `next`, what the row
    /// tells: `Some(true)` it landed, `None` the row is still `expected`, `Some(false)` it is
    /// something else.
    fn swapped(&self, expected: &Row, next: &Row) -> Result<Option<bool>, StoreError> {
        Ok(match self.get(&next.record.merchant_id)? {
            Some(row) if row == next.as_stored() => Some(true),
            Some(row) if row == expected.as_stored() => None,
            _ => Some(false),
        })
    }

    /// Gives back every lease held by `owner` expiring at `expires_at`, one claim's (its name is
    /// its own, and the expiry tells it from another claim by the same name), whose statement may have
    /// committed before its connection went: the rows it leased are not known as they were
    /// before, and nothing was sent with those leases, so they are released (as
    /// [`decide::release`] decides) and claimed again.
    fn give_back_leases(&self, owner: &str, expires_at: Timestamp) -> Result<(), StoreError> {
        let ours = |lease: &Lease| lease.owner == owner && millis(lease.expires_at) == millis(expires_at);
        let leased = self.simple(|c| {
            let rows = c.client.query(&c.leased_by, &[&owner]).map_err(classify("find a lost lease"))?;
            rows.iter()
                .map(|row| get::<String>(row, 0).map(MerchantId::new))
                .collect::<Result<Vec<_>, _>>()
                .map_err(Failure::Fatal)
        })?;
        for merchant in leased {
            tracing::warn!(merchant_id = %merchant, "a lease taken as the connection was lost; giving it back");
            self.release(&merchant, ours)?;
        }
        Ok(())
    }

    /// Releases the seller's lease if `ours` says it is the one to give back (as
    /// [`decide::release`] decides).
    fn release(&self, merchant: &MerchantId, ours: impl Fn(&Lease) -> bool) -> Result<(), StoreError> {
        self.update(merchant, &mut |current| {
            let row = current?;
            row.record.lease.as_ref().filter(|lease| ours(lease))?;
            decide::release(&row.record, row.record.fence).map(|record| Row { record, tokens: row.tokens.clone() })
        })
    }

    /// After a claim's statement was lost, with `retried` what the retry loop said (`Ok`: go
    /// on): gives back the leases it may have taken if it may have reached the server
    /// (`reached`), and remembers them ([`unsettled`](Self::unsettled)) when it cannot.
    fn lost_claim(&self, reached: bool, claim: &Claim<'_>, retried: Result<(), StoreError>) -> Result<(), StoreError> {
        if !reached {
            return retried;
        }
        let given_back = retried.and_then(|()| self.give_back_leases(claim.owner, claim.expires_at));
        if given_back.is_err() {
            self.unsettled(Unsettled::Claim { owner: claim.owner.to_owned(), expires_at: claim.expires_at });
        }
        given_back
    }

    /// Remembers a lease that may have been taken and could not be given back now.
    fn unsettled(&self, lease: Unsettled) {
        tracing::warn!(
            "a lease that may have been taken as the connection was lost is given back once the database answers"
        );
        self.unsettled.lock().unwrap_or_else(PoisonError::into_inner).push(lease);
    }

    /// Gives back the leases remembered by [`unsettled`](Self::unsettled), after a call that
    /// reached the server: each once, without waiting for a lost connection to come back, and
    /// none after the first that fails (they are kept for the next call).
    fn settle(&self) {
        if SETTLING.get() {
            return;
        }
        let waiting = std::mem::take(&mut *self.unsettled.lock().unwrap_or_else(PoisonError::into_inner));
        if waiting.is_empty() {
            return;
        }
        SETTLING.set(true);
        let mut left = Vec::new();
        for lease in waiting {
            if !left.is_empty() {
                left.push(lease);
                continue;
            }
            let given_back = match &lease {
                Unsettled::Claim { owner, expires_at } => self.give_back_leases(owner, *expires_at),
                Unsettled::Lease { merchant, owner, fence } => {
                    self.release(merchant, |lease| lease.owner == *owner && lease.fence == *fence)
                }
            };
            if given_back.is_err() {
                left.push(lease);
            }
        }
        SETTLING.set(false);
        self.unsettled.lock().unwrap_or_else(PoisonError::into_inner).extend(left);
    }

    /// How this store's methods go on after a failed attempt: through lost connections for its
    /// window, or not at all while settling.
    fn retries(&self) -> Retries {
        Retries::new(if SETTLING.get() { Duration::ZERO } else { self.reconnect_for })
    }
}

thread_local! {
    /// Whether this thread is settling ([`PostgresStore::settle`]): its calls do not wait for a
    /// lost connection to come back.
    static SETTLING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How a method goes on after a failed attempt: again after a lost connection, pausing from
/// 50 ms doubling to 1 s, for up to its window ([`PostgresStore::reconnect_for`]); again at once after a serialization
/// conflict, up to 100 times.
struct Retries {
    started: Instant,
    window: Duration,
    pause: Duration,
    conflicts: u32,
}

impl Retries {
    fn new(window: Duration) -> Retries {
        Retries { started: Instant::now(), window, pause: Duration::from_millis(50), conflicts: 0 }
    }

    /// After a lost connection: `Ok` once the pause is over, or `error` when the time is up.
    fn lost(&mut self, error: StoreError) -> Result<(), StoreError> {
        if self.started.elapsed() >= self.window {
            return Err(error);
        }
        tracing::warn!(error = %error, "the database connection was lost; trying again");
        std::thread::sleep(self.pause);
        self.pause = (self.pause * 2).min(Duration::from_secs(1));
        Ok(())
    }

    /// After a conflict over `what`: `Ok` to try again, or an error after the 100th.
    fn conflict(&mut self, what: &str) -> Result<(), StoreError> {
        self.conflicts += 1;
        if self.conflicts > 100 {
            return Err(StoreError::msg(format!("PostgreSQL: {what} stayed contended for 100 attempts")));
        }
        Ok(())
    }
}

fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn bad(what: &str) -> StoreError {
    StoreError::msg(format!("PostgreSQL: a stored row is not readable ({what})"))
}

fn time(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|_| bad("a time out of range"))
}

fn get<'a, T: postgres::types::FromSql<'a>>(row: &'a postgres::Row, index: usize) -> Result<T, StoreError> {
    row.try_get(index).map_err(pg("read a column"))
}

fn read_row(row: &postgres::Row) -> Result<Row, StoreError> {
    read_row_at(row, 0)
}

/// A seller's row from the columns of `row` starting at `at`, in [`COLUMNS`] order.
fn read_row_at(row: &postgres::Row, at: usize) -> Result<Row, StoreError> {
    let flow = match get::<&str>(row, at + 1)? {
        "code_flow" => Flow::CodeFlow,
        "pkce" => Flow::Pkce,
        _ => return Err(bad("unknown flow")),
    };
    let state = match get::<&str>(row, at + 2)? {
        "active" => SellerState::Active,
        "outcome_unknown" => {
            let deadline: Option<i64> = get(row, at + 3)?;
            SellerState::OutcomeUnknown { deadline: time(deadline.ok_or_else(|| bad("no deadline"))?)? }
        }
        "must_authorize" => SellerState::MustAuthorize,
        "revoked" => SellerState::Revoked,
        _ => return Err(bad("unknown state")),
    };
    let lease =
        match (get::<Option<String>>(row, at + 5)?, get::<Option<i64>>(row, at + 6)?, get::<Option<i64>>(row, at + 7)?)
        {
            (Some(owner), Some(fence), Some(expires_at)) => Some(Lease {
                owner,
                fence: u64::try_from(fence).map_err(|_| bad("a negative fence"))?,
                expires_at: time(expires_at)?,
            }),
            _ => None,
        };
    let record = Record {
        merchant_id: MerchantId::new(get::<String>(row, at)?),
        flow,
        state,
        fence: u64::try_from(get::<i64>(row, at + 4)?).map_err(|_| bad("a negative fence"))?,
        lease,
        obtained_at: time(get(row, at + 8)?)?,
        expires_at: get::<Option<i64>>(row, at + 9)?.map(time).transpose()?,
        refresh_at: time(get(row, at + 10)?)?,
        granted_at: time(get(row, at + 11)?)?,
        failures: u32::try_from(get::<i64>(row, at + 12)?).map_err(|_| bad("a failure count out of range"))?,
        retry_at: get::<Option<i64>>(row, at + 13)?.map(time).transpose()?,
        refreshes: u64::try_from(get::<i64>(row, at + 14)?).map_err(|_| bad("a negative refresh count"))?,
    };
    let tokens = SealedTokens {
        key_id: get(row, at + 15)?,
        token_meta: get(row, at + 16)?,
        access_token: get(row, at + 17)?,
        refresh_token: get(row, at + 18)?,
    };
    Ok(Row { record, tokens })
}

/// The 19 column values of a row, in [`COLUMNS`] order.
struct Values {
    merchant_id: String,
    flow: &'static str,
    state: &'static str,
    deadline: Option<i64>,
    fence: i64,
    lease_owner: Option<String>,
    lease_fence: Option<i64>,
    lease_expires_at: Option<i64>,
    obtained_at: i64,
    expires_at: Option<i64>,
    refresh_at: i64,
    granted_at: i64,
    failures: i64,
    retry_at: Option<i64>,
    refreshes: i64,
}

fn big(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::msg("PostgreSQL: a counter beyond 2^63"))
}

impl Values {
    fn of(row: &Row) -> Result<Values, StoreError> {
        let r = &row.record;
        Ok(Values {
            merchant_id: r.merchant_id.as_str().to_owned(),
            flow: match r.flow {
                Flow::CodeFlow => "code_flow",
                Flow::Pkce => "pkce",
            },
            state: r.state.name(),
            deadline: match r.state {
                SellerState::OutcomeUnknown { deadline } => Some(millis(deadline)),
                _ => None,
            },
            fence: big(r.fence)?,
            lease_owner: r.lease.as_ref().map(|l| l.owner.clone()),
            lease_fence: r.lease.as_ref().map(|l| big(l.fence)).transpose()?,
            lease_expires_at: r.lease.as_ref().map(|l| millis(l.expires_at)),
            obtained_at: millis(r.obtained_at),
            expires_at: r.expires_at.map(millis),
            refresh_at: millis(r.refresh_at),
            granted_at: millis(r.granted_at),
            failures: i64::from(r.failures),
            retry_at: r.retry_at.map(millis),
            refreshes: big(r.refreshes)?,
        })
    }

    fn params<'a>(&'a self, tokens: &'a SealedTokens) -> [&'a (dyn ToSql + Sync); 19] {
        [
            &self.merchant_id,
            &self.flow,
            &self.state,
            &self.deadline,
            &self.fence,
            &self.lease_owner,
            &self.lease_fence,
            &self.lease_expires_at,
            &self.obtained_at,
            &self.expires_at,
            &self.refresh_at,
            &self.granted_at,
            &self.failures,
            &self.retry_at,
            &self.refreshes,
            &tokens.key_id,
            &tokens.token_meta,
            &tokens.access_token,
            &tokens.refresh_token,
        ]
    }
}

/// What one attempt of [`Store::update`] did.
enum Attempt {
    /// Committed, with the row written (`None`: nothing was written).
    Done(Option<Box<Row>>),
    /// The connection was lost while committing `written` over the row as it was (`None`: a
    /// new row): it may or may not be stored.
    CommitUnknown(Option<Box<Row>>, Box<Row>, StoreError),
}

fn attempt(
    conn: &mut Conn,
    merchant: &MerchantId,
    decide: &mut dyn FnMut(Option<&Row>) -> Option<Row>,
) -> Result<Attempt, Failure> {
    let Conn { client, get_for_update, insert, update, .. } = conn;
    let mut tx = client.transaction().map_err(classify("begin"))?;
    let current = match tx.query_opt(&*get_for_update, &[&merchant.as_str()]).map_err(classify("read a seller"))? {
        Some(row) => Some(read_row(&row).map_err(Failure::Fatal)?),
        None => None,
    };
    let Some(next) = decide(current.as_ref()) else {
        // Nothing to write: the rollback only releases the row lock.
        tx.rollback().map_err(classify("roll back"))?;
        return Ok(Attempt::Done(None));
    };
    if next.record.merchant_id != *merchant {
        return Err(Failure::Fatal(StoreError::msg("a decision wrote another seller's row")));
    }
    let values = Values::of(&next).map_err(Failure::Fatal)?;
    let params = values.params(&next.tokens);
    let statement = if current.is_some() { &*update } else { &*insert };
    tx.execute(statement, &params).map_err(classify("write a seller"))?;
    match tx.commit().map_err(classify("commit")) {
        Ok(()) => Ok(Attempt::Done(Some(Box::new(next)))),
        Err(Failure::Lost(e)) => Ok(Attempt::CommitUnknown(current.map(Box::new), Box::new(next), e)),
        Err(other) => Err(other),
    }
}

/// What one attempt of [`Store::claim_due`] did.
enum Claimed {
    Done(Vec<Row>),
    /// The connection was lost while committing these rows (each beside the row as it was):
    /// each may or may not be stored.
    CommitUnknown(Vec<(Row, Row)>),
}

fn claim_attempt(
    conn: &mut Conn,
    now: Timestamp,
    limit: i64,
    keys: &[String],
    decide: &mut dyn FnMut(&Row) -> Option<Row>,
) -> Result<Claimed, Failure> {
    let Conn { client, claim, update, .. } = conn;
    let mut tx = client.transaction().map_err(classify("begin"))?;
    let due = tx.query(&*claim, &[&millis(now), &limit, &keys]).map_err(classify("claim due sellers"))?;
    let mut written = Vec::new();
    for row in &due {
        let row = read_row(row).map_err(Failure::Fatal)?;
        let Some(next) = decide(&row) else { continue };
        if next.record.merchant_id != row.record.merchant_id {
            return Err(Failure::Fatal(StoreError::msg("a decision wrote another seller's row")));
        }
        let values = Values::of(&next).map_err(Failure::Fatal)?;
        tx.execute(&*update, &values.params(&next.tokens)).map_err(classify("write a seller"))?;
        written.push((row, next));
    }
    if written.is_empty() {
        tx.rollback().map_err(classify("roll back"))?;
        return Ok(Claimed::Done(Vec::new()));
    }
    match tx.commit().map_err(classify("commit")) {
        Ok(()) => Ok(Claimed::Done(written.into_iter().map(|(_, next)| next).collect())),
        Err(Failure::Lost(error)) => {
            tracing::warn!(error = %error, "a claim's commit was cut off; reading back what landed");
            Ok(Claimed::CommitUnknown(written))
        }
        Err(other) => Err(other),
    }
}

/// The lease `written` takes over `before` (the row as it was; `None`: there was none), if it
/// takes one.
fn taken(before: Option<&Row>, written: &Row) -> Option<Unsettled> {
    let lease = written.record.lease.as_ref()?;
    if before.and_then(|row| row.record.lease.as_ref()) == Some(lease) {
        return None;
    }
    Some(Unsettled::Lease {
        merchant: written.record.merchant_id.clone(),
        owner: lease.owner.clone(),
        fence: lease.fence,
    })
}

impl Store for PostgresStore {
    fn get(&self, merchant: &MerchantId) -> Result<Option<Row>, StoreError> {
        self.simple(|c| {
            let row = c.client.query_opt(&c.get, &[&merchant.as_str()]).map_err(classify("read a seller"))?;
            row.as_ref().map(read_row).transpose().map_err(Failure::Fatal)
        })
    }

    fn update(
        &self,
        merchant: &MerchantId,
        decide: &mut dyn FnMut(Option<&Row>) -> Option<Row>,
    ) -> Result<(), StoreError> {
        let mut retries = self.retries();
        // A lease a commit whose answer was lost may have written, not read back: given back
        // unless a later attempt writes that same lease (then the caller holds it).
        let mut unknown: Option<Unsettled> = None;
        loop {
            let error = match self.with(|c| attempt(c, merchant, decide)) {
                Ok(Attempt::Done(written)) => {
                    if let Some(lease) = unknown
                        && written.as_deref().and_then(|row| taken(None, row)).as_ref() != Some(&lease)
                    {
                        self.unsettled(lease);
                    }
                    return Ok(());
                }
                Ok(Attempt::CommitUnknown(before, written, error)) => {
                    // The commit may have landed before the connection went. If the row reads
                    // back as written, it did (the row carries the lease's owner and fencing
                    // number, so it is ours); otherwise decide again on what is there now.
                    match self.get(merchant) {
                        Ok(Some(row)) if row == written.as_stored() => return Ok(()),
                        Ok(_) => {
                            tracing::warn!(merchant_id = %merchant, "a commit was cut off and did not land; deciding again");
                            continue;
                        }
                        Err(_) => {
                            unknown = taken(before.as_deref(), &written).or(unknown);
                            error
                        }
                    }
                }
                Err(Failure::Conflict) => {
                    retries.conflict("a seller's row")?;
                    continue;
                }
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Lost(error)) => error,
            };
            if let Err(error) = retries.lost(error) {
                // The caller gets an error: nothing will be sent with that lease.
                if let Some(lease) = unknown {
                    self.unsettled(lease);
                }
                return Err(error);
            }
        }
    }

    fn replace(&self, expected: &Row, next: &Row) -> Result<bool, StoreError> {
        let (old, new) = swap_values(expected, next)?;
        let params = swap_params(&old, &new, expected, next);
        let mut retries = self.retries();
        loop {
            // One statement, committed on its own: durable when it returns (synchronous_commit).
            let error = match self.with(|c| c.client.execute(&c.replace, &params).map_err(classify("replace a seller")))
            {
                Ok(n) => return Ok(n == 1),
                Err(Failure::Fatal(error)) => return Err(error),
                // Contended: the caller decides again under `update`, which waits its turn.
                Err(Failure::Conflict) => return Ok(false),
                Err(Failure::Lost(error)) => error,
            };
            retries.lost(error)?;
            if let Some(swapped) = self.swapped(expected, next)? {
                return Ok(swapped);
            }
        }
    }

    fn delete(&self, merchant: &MerchantId) -> Result<bool, StoreError> {
        self.simple(|c| {
            c.client.execute(&c.delete, &[&merchant.as_str()]).map(|n| n > 0).map_err(classify("delete a seller"))
        })
    }

    fn records(&self) -> Result<Vec<Record>, StoreError> {
        self.simple(|c| {
            let rows = c.client.query(&c.records, &[]).map_err(classify("list"))?;
            rows.iter().map(|row| read_row(row).map(|row| row.record)).collect::<Result<_, _>>().map_err(Failure::Fatal)
        })
    }

    fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<MerchantId>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.simple(|c| {
            let rows = c.client.query(&c.due, &[&millis(now), &limit]).map_err(classify("due"))?;
            rows.iter()
                .map(|row| get::<String>(row, 0).map(MerchantId::new))
                .collect::<Result<_, _>>()
                .map_err(Failure::Fatal)
        })
    }

    fn claim_due(
        &self,
        now: Timestamp,
        limit: usize,
        keys: &[String],
        decide: &mut dyn FnMut(&Row) -> Option<Row>,
    ) -> Result<Vec<Row>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut retries = self.retries();
        loop {
            let error = match self.with(|c| claim_attempt(c, now, limit, keys, decide)) {
                Ok(Claimed::Done(written)) => return Ok(written),
                Ok(Claimed::CommitUnknown(written)) => {
                    // As in `update`: a row that reads back as written (it carries the lease's
                    // owner and fencing number) was claimed; any other was not.
                    let mut landed = Vec::new();
                    for (_, row) in &written {
                        match self.get(&row.record.merchant_id) {
                            Ok(read) if read == Some(row.as_stored()) => landed.push(row.clone()),
                            Ok(_) => {}
                            Err(error) => {
                                // The caller gets an error: nothing will be sent with the
                                // leases this claim may have taken.
                                for (before, row) in &written {
                                    if let Some(lease) = taken(Some(before), row) {
                                        self.unsettled(lease);
                                    }
                                }
                                return Err(error);
                            }
                        }
                    }
                    return Ok(landed);
                }
                Err(Failure::Conflict) => {
                    retries.conflict("claiming due sellers")?;
                    continue;
                }
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Lost(error)) => error,
            };
            retries.lost(error)?;
        }
    }

    fn claim_leases(&self, claim: &Claim<'_>, limit: usize) -> Result<Vec<Row>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (now, expires_at, from) = (millis(claim.now), millis(claim.expires_at), millis(claim.from));
        let mut retries = self.retries();
        // Whether a statement may have reached the server (a connection was had for it).
        let mut reached = false;
        loop {
            // One statement, committed on its own: durable when it returns (synchronous_commit).
            let error = match self.with(|c| {
                reached = true;
                let statement = match limit {
                    1 => c.lease.clone(),
                    n => c.client.prepare(&lease_sql(n)).map_err(classify("prepare"))?,
                };
                let rows = c
                    .client
                    .query(&statement, &[&now, &claim.owner, &expires_at, &from, &claim.keys])
                    .map_err(classify("lease due sellers"))?;
                rows.iter().map(read_row).collect::<Result<Vec<_>, _>>().map_err(Failure::Fatal)
            }) {
                Ok(before) => return Ok(before),
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Conflict) => {
                    retries.conflict("leasing due sellers")?;
                    continue;
                }
                Err(Failure::Lost(error)) => error,
            };
            self.lost_claim(reached, claim, retries.lost(error))?;
        }
    }

    fn replace_and_claim(&self, expected: &Row, next: &Row, claim: &Claim<'_>) -> Result<(bool, Vec<Row>), StoreError> {
        let (old, new) = swap_values(expected, next)?;
        let (now, expires_at, from) = (millis(claim.now), millis(claim.expires_at), millis(claim.from));
        let mut params = swap_params(&old, &new, expected, next);
        params.extend_from_slice(&[&now, &claim.owner, &expires_at, &from, &claim.keys]);
        // One statement, committed on its own: durable when it returns (synchronous_commit).
        let mut reached = false;
        let error = match self.with(|c| {
            reached = true;
            let row = c.client.query_one(&c.replace_and_lease, &params).map_err(classify("replace and lease"))?;
            let replaced = get::<i64>(&row, 0).map_err(Failure::Fatal)? == 1;
            let leased = get::<Option<&str>>(&row, 1).map_err(Failure::Fatal)?.is_some();
            let before = if leased { vec![read_row_at(&row, 1).map_err(Failure::Fatal)?] } else { Vec::new() };
            Ok((replaced, before))
        }) {
            Ok(done) => return Ok(done),
            Err(Failure::Fatal(error)) => return Err(error),
            // Contended: the caller decides again under `update`, and claims on its own.
            Err(Failure::Conflict) => return Ok((false, Vec::new())),
            Err(Failure::Lost(error)) => error,
        };
        // The connection went: the statement may have landed or not, as a whole. Give back any
        // lease it took, and finish the replacement and the claim one at a time.
        self.lost_claim(reached, claim, self.retries().lost(error))?;
        let replaced = match self.swapped(expected, next)? {
            Some(swapped) => swapped,
            None => self.replace(expected, next)?,
        };
        Ok((replaced, self.claim_leases(claim, 1)?))
    }

    fn remember_event(&self, event_id: &str, received_at: Timestamp) -> Result<bool, StoreError> {
        self.simple(|c| {
            c.client
                .execute(&c.remember, &[&event_id, &millis(received_at)])
                .map(|n| n > 0)
                .map_err(classify("remember a webhook event"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(conninfo: &str) -> String {
        match Server::new(conninfo, None) {
            Ok(_) => panic!("{conninfo}: accepted"),
            Err(error) => format!("{error} {:?}", std::error::Error::source(&error)),
        }
    }

    #[test]
    fn a_connection_string_asking_for_too_little_checking_is_refused_before_connecting() {
        // verify-ca with the public authorities would take anyone's certificate for any name.
        if std::env::var_os("PGSSLROOTCERT").is_none() {
            assert!(refused("host=db sslmode=verify-ca").contains("own authority"));
        }
        assert!(refused("host=db sslmode=verify-ca sslrootcert=system").contains("needs sslmode=verify-full"));
        assert!(refused("host=db sslmode=prefer sslrootcert=/etc/ca.pem").contains("does not ask for TLS"));
        // A typo that makes the password the authority's file name: named nowhere.
        let error = refused("host=db sslmode=verify-full sslrootcert= password=hunter2-secret");
        assert!(error.contains("the file sslrootcert names") && !error.contains("hunter2"), "{error}");
        // And what is asked for is what is built.
        let server = Server::new("host=db sslmode=verify-full sslrootcert=system", None).expect("verify-full");
        assert!(server.tls.is_some());
        let server = Server::new("postgres://db/vault?sslrootcert=system", None).expect("verify-full by default");
        assert!(server.tls.is_some());
        assert!(Server::new("host=db", None).expect("plain").tls.is_none());
    }
}
