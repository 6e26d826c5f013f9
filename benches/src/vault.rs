//! The token vault on SQLite: one refresh through the vault against the floor of the same
//! refresh through the ureq adapter plus one bare `UPDATE` of a SQLite row, and how many due
//! sellers a refresher round refreshes per second.
//!
//! Both sides of the pair talk to the same minimal loopback server (see [`loopback`]) and write
//! a SQLite file in WAL mode with `synchronous=FULL` in a temporary directory: the vault's
//! durability, paid by both.
//!
//! [`loopback`]: crate::loopback

use std::path::Path;
use std::time::Instant;

use square_oauth::jiff::{SignedDuration, Timestamp};
use square_oauth::{Calls as _, ClientId, ClientSecret, Flow, MerchantId, ObtainToken, ObtainTokenResponse, TokenSet};
use square_oauth_mock::{App, MockConfig, MockSquare};
use square_oauth_vault::transport::from_call;
use square_oauth_vault::{Key, Keyring, RefreshOutcome, Settings, SqliteStore, Vault};

use crate::fixture::{CLIENT_ID, CLIENT_SECRET, CODE_ANSWER};
use crate::loopback::Server;

/// How many sellers the refresher refreshes at once: the CLI's default (`refresher
/// --concurrency`).
pub const CONCURRENCY: usize = 4;

/// A code-flow seller in a vault file, refreshed again and again against the loopback server
/// (whose answer is always the same grant, so every refresh stores it anew), and the floor:
/// the same refresh through the adapter, then one `UPDATE` of a row.
pub struct RefreshPair {
    vault: Vault<SqliteStore>,
    merchant: MerchantId,
    client: square_oauth_ureq::Client,
    operation: ObtainToken,
    connection: rusqlite::Connection,
    _dir: tempfile::TempDir,
}

impl RefreshPair {
    /// The vault and the bare table, each in its own file in a new temporary directory, and
    /// the client's connection already open.
    pub fn new(server: &Server) -> RefreshPair {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let answer: ObtainTokenResponse = serde_json::from_str(CODE_ANSWER).expect("the fixture's answer");
        let tokens = TokenSet::from_response(Flow::CodeFlow, ClientId::new(CLIENT_ID), answer, Timestamp::now())
            .expect("a token set");
        let settings = Settings::new(ClientId::new(CLIENT_ID), Some(ClientSecret::new(CLIENT_SECRET)));
        let store = SqliteStore::open(&dir.path().join("vault.sqlite")).expect("the vault opens");
        let vault = Vault::new(store, Keyring::new(Key::generate()), settings);
        vault.put(&tokens).expect("the seller is stored");
        let operation = tokens.refresh_operation(Some(&ClientSecret::new(CLIENT_SECRET))).expect("a refresh");
        let pair = RefreshPair {
            vault,
            merchant: tokens.merchant_id().clone(),
            client: square_oauth_ureq::Client::new(server.config()),
            operation,
            connection: bare_table(&dir.path().join("floor.sqlite"), tokens.merchant_id().as_str()),
            _dir: dir,
        };
        assert!(matches!(pair.ours(), RefreshOutcome::Refreshed), "the vault refreshed");
        assert_eq!(pair.base(), 1);
        pair
    }

    /// One refresh through the vault, due or not: lease, send, store.
    pub fn ours(&self) -> RefreshOutcome {
        self.vault
            .refresh(&self.merchant, true, &mut |operation| self.client.obtain_token(operation).map_err(from_call))
            .expect("the vault refreshes")
    }

    /// The same refresh through the adapter, and Square's answer written over one row, with the
    /// time it was obtained.
    ///
    /// The loopback server answers every refresh with the same tokens, where real Square sends
    /// new ones each time. Written alone, identical bytes would let SQLite skip the page write
    /// and with it the commit's fsync, making the floor a floor of nothing; the obtained-at
    /// time changes the row on every refresh, as new tokens would, and as the vault's sealed
    /// values (a new nonce each time) do.
    pub fn base(&self) -> usize {
        let answer = self.client.obtain_token(&self.operation).expect("a token");
        let access = answer.access_token.as_ref().expect("an access token").expose_secret();
        let refresh = answer.refresh_token.as_ref().map(|t| t.expose_secret());
        let obtained_at = Timestamp::now().as_nanosecond() as i64;
        self.connection
            .execute(
                "UPDATE sellers SET access_token = ?1, refresh_token = ?2, obtained_at = ?3 WHERE merchant_id = ?4",
                (access, refresh, obtained_at, self.merchant.as_str()),
            )
            .expect("the row is updated")
    }
}

/// A table of one seller's tokens in a file with the vault's durability.
fn bare_table(path: &Path, merchant: &str) -> rusqlite::Connection {
    let connection = rusqlite::Connection::open(path).expect("the file opens");
    let mode: String = connection.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0)).expect("WAL");
    assert_eq!(mode, "wal");
    connection
        .execute_batch(
            "PRAGMA synchronous=FULL;
             CREATE TABLE sellers (merchant_id TEXT PRIMARY KEY, access_token TEXT, refresh_token TEXT, obtained_at INTEGER);",
        )
        .expect("the table is made");
    connection.execute("INSERT INTO sellers (merchant_id) VALUES (?1)", [merchant]).expect("the row is made");
    connection
}

/// What a refresher round over many due sellers did.
#[derive(Debug)]
pub struct RoundFigures {
    /// Sellers in the vault, all due.
    pub sellers: usize,
    /// Sellers the round refreshed.
    pub refreshed: usize,
    /// Sellers it did not.
    pub not_refreshed: usize,
    /// How long the round took.
    pub seconds: f64,
}

/// Mints `sellers` PKCE grants on the fake Square, stores them in a vault file whose clock is a
/// week ahead (so that every one is due), and times one [`Vault::refresh_due`] round at the
/// CLI's concurrency, each refresher thread with its own ureq client.
pub fn refresh_due_round(sellers: usize) -> RoundFigures {
    const APP: &str = "sq0idp-vault-bench";
    let square =
        MockSquare::start(MockConfig::new().app(App::new(APP, "sq0csp-vault-bench", &["http://127.0.0.1:9/cb"])))
            .expect("the fake Square starts");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut settings = Settings::new(ClientId::new(APP), None);
    settings.clock = std::sync::Arc::new(|| Timestamp::now() + SignedDuration::from_hours(10 * 24));
    let store = SqliteStore::open(&dir.path().join("vault.sqlite")).expect("the vault opens");
    let vault = Vault::new(store, Keyring::new(Key::generate()), settings);
    let now = Timestamp::now();
    for answer in square.mint_grants(APP, sellers, true).expect("grants minted") {
        let answer: ObtainTokenResponse = serde_json::from_str(&answer).expect("a grant");
        let tokens = TokenSet::from_response(Flow::Pkce, ClientId::new(APP), answer, now).expect("a token set");
        vault.put(&tokens).expect("the seller is stored");
    }
    let config = square_oauth::Config::custom(&square.base_url()).expect("the fake's URL");
    let make_send = || {
        let client = square_oauth_ureq::Client::new(config.clone());
        move |operation: &ObtainToken| client.obtain_token(operation).map_err(from_call)
    };
    let started = Instant::now();
    let round = vault.refresh_due(usize::MAX, CONCURRENCY, &make_send).expect("the round runs");
    let (refreshed, not_refreshed) = (round.refreshed, round.not_refreshed());
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(square.refused_reuses(), 0, "a spent refresh token was presented");
    RoundFigures { sellers, refreshed, not_refreshed, seconds }
}
