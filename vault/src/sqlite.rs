//! The embedded store: one SQLite file (SQLite is compiled in, nothing to install).
//!
//! - WAL journal, so readers never wait for the writer and writers never wait for readers.
//! - `synchronous=FULL`: every commit is on disk before [`Store::update`] returns, except one
//!   that only takes a lease on a code-flow seller ([`decide::forgettable`]): that one is
//!   committed with `synchronous=NORMAL`, in the WAL but not yet synced, so it survives the
//!   crash of any process but not of the machine, which would take its holder with it. The
//!   next synced commit carries it to disk. This saves one disk sync per code-flow refresh;
//!   a PKCE lease is always synced before the single-use token leaves. (SQLite fixes the level
//!   before a transaction begins, so such a write is first decided at `FULL`, rolled back before
//!   anything is written, and decided again at `NORMAL`: one more read, no disk work.)
//! - Every write is `BEGIN IMMEDIATE … COMMIT`: the write lock is taken first, so two
//!   processes deciding on the same row cannot both read the old value.
//! - A small pool of connections, one per thread using it at a time; many processes may open
//!   the same file.
//!
//! ```
//! use square_oauth_vault::SqliteStore;
//! # let dir = std::env::temp_dir().join(format!("sqv-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let store = SqliteStore::open(&dir.join("vault.sqlite"))?;
//! # let _ = store;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use square_oauth::{Flow, MerchantId};

use crate::decide::{self, Lease, Record, SellerState};
use crate::store::{Claim, Row, SealedTokens, Store, StoreError, lease_through};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sellers (
    merchant_id TEXT PRIMARY KEY,
    flow TEXT NOT NULL,
    state TEXT NOT NULL,
    unknown_deadline INTEGER,
    fence INTEGER NOT NULL,
    lease_owner TEXT,
    lease_fence INTEGER,
    lease_expires_at INTEGER,
    obtained_at INTEGER NOT NULL,
    expires_at INTEGER,
    refresh_at INTEGER NOT NULL,
    granted_at INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    retry_at INTEGER,
    refreshes INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    token_meta TEXT NOT NULL,
    access_token BLOB NOT NULL,
    refresh_token BLOB
) STRICT;
CREATE INDEX IF NOT EXISTS sellers_refresh_at ON sellers (refresh_at);
CREATE TABLE IF NOT EXISTS webhook_events (
    event_id TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL
) STRICT;
";

const COLUMNS: &str = "merchant_id, flow, state, unknown_deadline, fence, lease_owner, lease_fence, lease_expires_at, \
    obtained_at, expires_at, refresh_at, granted_at, failures, retry_at, refreshes, key_id, token_meta, access_token, \
    refresh_token";

/// Writes a whole row, new or not. An upsert rather than `INSERT OR REPLACE`: a replace deletes
/// the row and inserts it again under a new rowid, rewriting the table page and both indexes'
/// pages on every commit; an update in place writes the table page alone, and the
/// `refresh_at` index's page only when that column changes (one WAL frame for a lease instead
/// of three).
const WRITE_ROW: &str = "INSERT INTO sellers (merchant_id, flow, state, unknown_deadline, fence, lease_owner, \
    lease_fence, lease_expires_at, obtained_at, expires_at, refresh_at, granted_at, failures, retry_at, refreshes, \
    key_id, token_meta, access_token, refresh_token) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) \
    ON CONFLICT (merchant_id) DO UPDATE SET flow = excluded.flow, state = excluded.state, \
    unknown_deadline = excluded.unknown_deadline, fence = excluded.fence, lease_owner = excluded.lease_owner, \
    lease_fence = excluded.lease_fence, lease_expires_at = excluded.lease_expires_at, \
    obtained_at = excluded.obtained_at, expires_at = excluded.expires_at, refresh_at = excluded.refresh_at, \
    granted_at = excluded.granted_at, failures = excluded.failures, retry_at = excluded.retry_at, \
    refreshes = excluded.refreshes, key_id = excluded.key_id, token_meta = excluded.token_meta, \
    access_token = excluded.access_token, refresh_token = excluded.refresh_token";

/// A vault in one SQLite file. See [the module](self).
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    pool: Mutex<Vec<Connection>>,
}

fn sql(what: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::new(format!("SQLite: {what}"), e)
}

impl SqliteStore {
    /// Opens (or creates) the vault file at `path`, with its schema.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let store = SqliteStore { path: path.to_owned(), pool: Mutex::new(Vec::new()) };
        let mut connection = store.connect()?;
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql("begin"))?;
        tx.execute_batch(SCHEMA).map_err(sql("create the schema"))?;
        tx.commit().map_err(sql("commit the schema"))?;
        store.give_back(connection);
        Ok(store)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let connection = Connection::open(&self.path).map_err(sql("open"))?;
        connection.busy_timeout(Duration::from_secs(30)).map_err(sql("busy_timeout"))?;
        let mode: String =
            connection.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0)).map_err(sql("journal_mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::msg(format!("SQLite: the file refused WAL mode ({mode})")));
        }
        connection.execute_batch("PRAGMA synchronous=FULL;").map_err(sql("synchronous"))?;
        Ok(connection)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let pooled = self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        let mut connection = match pooled {
            Some(connection) => connection,
            None => self.connect()?,
        };
        let result = f(&mut connection);
        // A connection whose call failed may be left in any state: close it.
        if result.is_ok() {
            self.give_back(connection);
        }
        result
    }

    fn give_back(&self, connection: Connection) {
        let mut pool = self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if pool.len() < 16 {
            pool.push(connection);
        }
    }
}

/// [`DUE`]'s condition, shared with [`DUE_FOR_KEYS`].
macro_rules! due_sql {
    () => {
        "state = 'active' AND refresh_at <= ?1 AND refresh_at >= ?3 \
         AND (lease_expires_at IS NULL OR lease_expires_at <= ?1) AND (retry_at IS NULL OR retry_at <= ?1)"
    };
}

/// The sellers [`Store::due`] names: `?1` is now, `?2` the limit, `?3` the earliest
/// `refresh_at` (the earliest time there is).
const DUE: &str = concat!("WHERE ", due_sql!(), " ORDER BY refresh_at LIMIT ?2");

/// The sellers [`Store::claim_due`] passes on: [`DUE`]'s, but for those another key than `?4`'s
/// (a JSON array) sealed, unless their decision needs no tokens (a PKCE seller's lease, expired
/// since it is due): [`store::claimable_with`](crate::store::claimable_with) in SQL.
const DUE_FOR_KEYS: &str = concat!(
    "WHERE ",
    due_sql!(),
    " AND (key_id IN (SELECT value FROM json_each(?4)) OR (flow = 'pkce' AND lease_expires_at IS NOT NULL))",
    " ORDER BY refresh_at LIMIT ?2"
);

/// The sellers [`Store::claim_leases`] takes: [`decide::leasable`] in SQL, from `?3` on (the
/// claim's `from`) and sealed with one of the keys `?4` names (the claim's `keys`); `?1` is now,
/// `?2` the limit.
const LEASABLE: &str = "WHERE state = 'active' AND refresh_at <= ?1 AND refresh_at >= ?3 \
    AND (lease_expires_at IS NULL OR (lease_expires_at <= ?1 AND flow = 'code_flow')) \
    AND (retry_at IS NULL OR retry_at <= ?1) AND key_id IN (SELECT value FROM json_each(?4)) \
    ORDER BY refresh_at LIMIT ?2";

/// Runs one write transaction (`BEGIN IMMEDIATE`: the write lock first, so the rows read are
/// the rows written over): `decide` reads and says what to write and whether all of it is
/// [forgettable](decide::forgettable), `write` writes it, and the commit is synced to disk
/// unless it is forgettable. Returns what was written.
///
/// SQLite refuses to change `synchronous` inside a transaction, and whether a write is
/// forgettable is only known inside one. So every transaction starts at `FULL`; one that turns
/// out forgettable is rolled back before writing anything (no disk work), and run again at
/// `NORMAL`; if the second run decides differently (another process wrote in between), it is
/// run a third time at `FULL`, which is always safe. The connection is left at `FULL` when
/// this returns `Ok`; on an error [`SqliteStore::with`] closes it.
fn write_transaction<W>(
    c: &mut Connection,
    mut decide: impl FnMut(&rusqlite::Transaction<'_>) -> Result<Option<(W, bool)>, StoreError>,
    mut write: impl FnMut(&rusqlite::Transaction<'_>, &W) -> Result<(), StoreError>,
) -> Result<Option<W>, StoreError> {
    let mut relaxed = false;
    for attempt in 0..3 {
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql("begin"))?;
        let decided = decide(&tx)?;
        let to_level = match &decided {
            // Nothing written yet: rolling back costs no disk work.
            Some((_, forgettable)) if relaxed && !forgettable => {
                tx.rollback().map_err(sql("roll back"))?;
                Some(false)
            }
            Some((_, forgettable)) if !relaxed && *forgettable && attempt == 0 => {
                tx.rollback().map_err(sql("roll back"))?;
                Some(true)
            }
            Some((written, _)) => {
                write(&tx, written)?;
                tx.commit().map_err(sql("commit"))?;
                None
            }
            // Without a write, dropping the transaction rolls it back: nothing to make durable.
            None => {
                drop(tx);
                None
            }
        };
        let Some(level) = to_level else {
            if relaxed {
                c.execute_batch("PRAGMA synchronous=FULL").map_err(sql("synchronous"))?;
            }
            return Ok(decided.map(|(written, _)| written));
        };
        relaxed = level;
        c.execute_batch(if relaxed { "PRAGMA synchronous=NORMAL" } else { "PRAGMA synchronous=FULL" })
            .map_err(sql("synchronous"))?;
    }
    unreachable!("the third attempt runs at FULL and always commits")
}

fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn from_millis(ms: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_millisecond(ms)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Integer, Box::new(e)))
}

fn opt_millis(ms: Option<i64>) -> rusqlite::Result<Option<Timestamp>> {
    ms.map(from_millis).transpose()
}

fn bad(what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, what.to_owned().into())
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let flow = match row.get::<_, String>(1)?.as_str() {
        "code_flow" => Flow::CodeFlow,
        "pkce" => Flow::Pkce,
        _ => return Err(bad("unknown flow")),
    };
    let state = match row.get::<_, String>(2)?.as_str() {
        "active" => SellerState::Active,
        "outcome_unknown" => {
            let deadline: Option<i64> = row.get(3)?;
            SellerState::OutcomeUnknown { deadline: from_millis(deadline.ok_or_else(|| bad("no deadline"))?)? }
        }
        "must_authorize" => SellerState::MustAuthorize,
        "revoked" => SellerState::Revoked,
        _ => return Err(bad("unknown state")),
    };
    let lease = match (row.get::<_, Option<String>>(5)?, row.get::<_, Option<i64>>(6)?, row.get::<_, Option<i64>>(7)?) {
        (Some(owner), Some(fence), Some(expires_at)) => {
            Some(Lease { owner, fence: fence as u64, expires_at: from_millis(expires_at)? })
        }
        _ => None,
    };
    let record = Record {
        merchant_id: MerchantId::new(row.get::<_, String>(0)?),
        flow,
        state,
        fence: row.get::<_, i64>(4)? as u64,
        lease,
        obtained_at: from_millis(row.get(8)?)?,
        expires_at: opt_millis(row.get(9)?)?,
        refresh_at: from_millis(row.get(10)?)?,
        granted_at: from_millis(row.get(11)?)?,
        failures: row.get(12)?,
        retry_at: opt_millis(row.get(13)?)?,
        refreshes: row.get::<_, i64>(14)? as u64,
    };
    let tokens = SealedTokens {
        key_id: row.get(15)?,
        token_meta: row.get(16)?,
        access_token: row.get(17)?,
        refresh_token: row.get(18)?,
    };
    Ok(Row { record, tokens })
}

fn write_row(tx: &rusqlite::Transaction<'_>, row: &Row) -> rusqlite::Result<()> {
    let r = &row.record;
    let flow = match r.flow {
        Flow::CodeFlow => "code_flow",
        Flow::Pkce => "pkce",
    };
    let deadline = match r.state {
        SellerState::OutcomeUnknown { deadline } => Some(millis(deadline)),
        _ => None,
    };
    tx.prepare_cached(WRITE_ROW)?.execute(params![
        r.merchant_id.as_str(),
        flow,
        r.state.name(),
        deadline,
        r.fence as i64,
        r.lease.as_ref().map(|l| l.owner.as_str()),
        r.lease.as_ref().map(|l| l.fence as i64),
        r.lease.as_ref().map(|l| millis(l.expires_at)),
        millis(r.obtained_at),
        r.expires_at.map(millis),
        millis(r.refresh_at),
        millis(r.granted_at),
        r.failures,
        r.retry_at.map(millis),
        r.refreshes as i64,
        row.tokens.key_id,
        row.tokens.token_meta,
        row.tokens.access_token,
        row.tokens.refresh_token,
    ])?;
    Ok(())
}

impl SqliteStore {
    /// The rows `filter` picks (`?1` now, `?2` the limit, `?3` from: every filter names all
    /// three), each passed to `decide` and the row it returns written, in one write transaction.
    fn claim(
        &self,
        filter: &str,
        now: Timestamp,
        from: Timestamp,
        limit: usize,
        keys: &[String],
        decide: &mut dyn FnMut(&Row) -> Option<Row>,
    ) -> Result<Vec<Row>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // `?4`: the keys, a JSON array read with `json_each`.
        let keys = serde_json::Value::from(keys).to_string();
        self.with(|c| {
            let written = write_transaction(
                c,
                |tx| {
                    let mut statement =
                        tx.prepare_cached(&format!("SELECT {COLUMNS} FROM sellers {filter}")).map_err(sql("due"))?;
                    let due = statement
                        .query_map(params![millis(now), limit, millis(from), keys], read_row)
                        .map_err(sql("due"))?;
                    let mut written = Vec::new();
                    let mut forgettable = true;
                    for row in due {
                        let row = row.map_err(sql("due"))?;
                        let Some(next) = decide(&row) else { continue };
                        if next.record.merchant_id != row.record.merchant_id {
                            return Err(StoreError::msg("a decision wrote another seller's row"));
                        }
                        forgettable &= decide::forgettable(&row.record, &next.record);
                        written.push(next);
                    }
                    Ok((!written.is_empty()).then_some((written, forgettable)))
                },
                |tx, written| written.iter().try_for_each(|next| write_row(tx, next).map_err(sql("write a seller"))),
            )?;
            Ok(written.unwrap_or_default())
        })
    }
}

impl Store for SqliteStore {
    fn get(&self, merchant: &MerchantId) -> Result<Option<Row>, StoreError> {
        self.with(|c| {
            c.prepare_cached(&format!("SELECT {COLUMNS} FROM sellers WHERE merchant_id = ?1"))
                .and_then(|mut statement| statement.query_row([merchant.as_str()], read_row).optional())
                .map_err(sql("read a seller"))
        })
    }

    fn update(
        &self,
        merchant: &MerchantId,
        decide: &mut dyn FnMut(Option<&Row>) -> Option<Row>,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            let decided = write_transaction(
                c,
                |tx| {
                    let current = tx
                        .prepare_cached(&format!("SELECT {COLUMNS} FROM sellers WHERE merchant_id = ?1"))
                        .and_then(|mut statement| statement.query_row([merchant.as_str()], read_row).optional())
                        .map_err(sql("read a seller"))?;
                    let Some(next) = decide(current.as_ref()) else { return Ok(None) };
                    if next.record.merchant_id != *merchant {
                        return Err(StoreError::msg("a decision wrote another seller's row"));
                    }
                    let forgettable = current.is_some_and(|current| decide::forgettable(&current.record, &next.record));
                    Ok(Some((next, forgettable)))
                },
                |tx, next| write_row(tx, next).map_err(sql("write a seller")),
            );
            decided.map(drop)
        })
    }

    fn claim_due(
        &self,
        now: Timestamp,
        limit: usize,
        keys: &[String],
        decide: &mut dyn FnMut(&Row) -> Option<Row>,
    ) -> Result<Vec<Row>, StoreError> {
        self.claim(DUE_FOR_KEYS, now, Timestamp::MIN, limit, keys, decide)
    }

    fn claim_leases(&self, claim: &Claim<'_>, limit: usize) -> Result<Vec<Row>, StoreError> {
        lease_through(claim, |decide| self.claim(LEASABLE, claim.now, claim.from, limit, claim.keys, decide))
    }

    fn delete(&self, merchant: &MerchantId) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute("DELETE FROM sellers WHERE merchant_id = ?1", [merchant.as_str()])
                .map(|n| n > 0)
                .map_err(sql("delete a seller"))
        })
    }

    fn records(&self) -> Result<Vec<Record>, StoreError> {
        self.with(|c| {
            let mut statement =
                c.prepare(&format!("SELECT {COLUMNS} FROM sellers ORDER BY merchant_id")).map_err(sql("list"))?;
            let rows = statement.query_map([], read_row).map_err(sql("list"))?;
            rows.map(|row| row.map(|row| row.record)).collect::<Result<_, _>>().map_err(sql("list"))
        })
    }

    fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<MerchantId>, StoreError> {
        self.with(|c| {
            let mut statement =
                c.prepare_cached(&format!("SELECT merchant_id FROM sellers {DUE}")).map_err(sql("due"))?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = statement
                .query_map(params![millis(now), limit, millis(Timestamp::MIN)], |row| {
                    row.get::<_, String>(0).map(MerchantId::new)
                })
                .map_err(sql("due"))?;
            rows.collect::<Result<_, _>>().map_err(sql("due"))
        })
    }

    fn remember_event(&self, event_id: &str, received_at: Timestamp) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO webhook_events (event_id, received_at) VALUES (?1, ?2)",
                params![event_id, millis(received_at)],
            )
            .map(|n| n > 0)
            .map_err(sql("remember a webhook event"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::{GrantMeta, Policy, acquire, grant};

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn store(name: &str) -> SqliteStore {
        let dir = std::env::temp_dir().join(format!("square-oauth-sqlite-unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        SqliteStore::open(&dir.join("vault.db")).unwrap()
    }

    fn synchronous(store: &SqliteStore) -> i64 {
        store.with(|c| c.query_row("PRAGMA synchronous", [], |row| row.get(0)).map_err(sql("synchronous"))).unwrap()
    }

    #[test]
    fn a_claim_leaves_its_connection_synced_for_the_next_write() {
        for (flow, name) in [(Flow::CodeFlow, "code"), (Flow::Pkce, "pkce")] {
            let store = store(name);
            let merchant = MerchantId::new("M");
            let meta = GrantMeta { obtained_at: t(0), expires_at: Some(t(30 * 86_400)), refresh_at: t(7 * 86_400) };
            let tokens = SealedTokens {
                key_id: "k".into(),
                token_meta: "{}".into(),
                access_token: vec![1],
                refresh_token: Some(vec![2]),
            };
            let row = Row { record: grant(None, merchant.clone(), flow, meta, t(0)), tokens };
            store.update(&merchant, &mut |_| Some(row.clone())).unwrap();
            let claimed = store
                .claim_due(t(8 * 86_400), 1, &["k".to_owned()], &mut |current| {
                    let (_, write) = acquire(&current.record, "a", t(8 * 86_400), &Policy::default(), false);
                    write.map(|record| Row { record, tokens: current.tokens.clone() })
                })
                .unwrap();
            assert_eq!(claimed.len(), 1, "{name}");
            assert!(claimed[0].record.lease.is_some(), "{name}");
            // One pooled connection: the one the claim committed on (relaxed for the code
            // flow), now back to FULL (2) for whatever it writes next.
            assert_eq!(store.pool.lock().unwrap().len(), 1);
            assert_eq!(synchronous(&store), 2, "{name}");
            let _ = std::fs::remove_dir_all(store.path().parent().unwrap());
        }
    }
}
