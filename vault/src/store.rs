//! The one trait every store implements, and the row it keeps.
//!
//! A store is a thin adapter: it reads and writes rows, and runs a caller's decision inside
//! one short transaction ([`Store::update`]). It makes no decision of its own, holds nothing
//! between calls, and never sees a token in clear. Nothing in the trait is particular to one
//! database: SQLite runs [`Store::update`] as `BEGIN IMMEDIATE … COMMIT`, a server database as
//! `SELECT … FOR UPDATE` in a transaction.

use jiff::Timestamp;
use square_oauth::MerchantId;

use crate::decide::{self, Record};

/// A seller's tokens as stored: sealed, with what is not secret beside them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedTokens {
    /// The id of the key that sealed them.
    pub key_id: String,
    /// The token set without its secrets (what `TokenSet`'s `Serialize` writes), as JSON.
    pub token_meta: String,
    /// The sealed access token.
    pub access_token: Vec<u8>,
    /// The sealed refresh token, if the grant had one.
    pub refresh_token: Option<Vec<u8>>,
}

/// One seller's row: the decision record and the sealed tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// What the decisions read and write.
    pub record: Record,
    /// The tokens.
    pub tokens: SealedTokens,
}

impl Row {
    /// The row as a store keeps it and reads it back: every time to the millisecond, the
    /// precision both stores write (milliseconds since the epoch). The [`decide`]
    /// functions write only such times, so the vault's own rows need no conversion; a store
    /// compares a row from any other caller (whose times may carry a clock's nanoseconds) with
    /// what it holds as this.
    ///
    /// ```
    /// # use square_oauth_vault::{Row, SealedTokens};
    /// # use square_oauth_vault::decide::{self, GrantMeta};
    /// # use square_oauth::{Flow, MerchantId};
    /// use square_oauth::jiff::Timestamp;
    ///
    /// let now: Timestamp = "2026-07-01T00:00:00.123456789Z".parse()?;
    /// let meta = GrantMeta { obtained_at: now, expires_at: None, refresh_at: now };
    /// let record = decide::grant(None, MerchantId::new("M1"), Flow::Pkce, meta, now);
    /// let tokens = SealedTokens { key_id: "k1".into(), token_meta: "{}".into(), access_token: vec![1], refresh_token: None };
    /// let row = Row { record, tokens };
    /// assert_eq!(row.as_stored().record.obtained_at.to_string(), "2026-07-01T00:00:00.123Z");
    /// assert_eq!(row.as_stored().as_stored(), row.as_stored());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_stored(&self) -> Row {
        use crate::decide::SellerState;
        let ms = crate::decide::ms;
        let mut row = self.clone();
        let r = &mut row.record;
        if let SellerState::OutcomeUnknown { deadline } = &mut r.state {
            *deadline = ms(*deadline);
        }
        if let Some(lease) = &mut r.lease {
            lease.expires_at = ms(lease.expires_at);
        }
        r.obtained_at = ms(r.obtained_at);
        r.expires_at = r.expires_at.map(ms);
        r.refresh_at = ms(r.refresh_at);
        r.granted_at = ms(r.granted_at);
        r.retry_at = r.retry_at.map(ms);
        row
    }
}

/// A failure of the store itself (the database, its file, its schema).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// A store error with a message and its cause.
    pub fn new(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError { message: message.into(), source: Some(Box::new(source)) }
    }

    /// A store error with a message alone (a row the store cannot read back, say).
    pub fn msg(message: impl Into<String>) -> StoreError {
        StoreError { message: message.into(), source: None }
    }
}

/// The terms of a lease claim ([`Store::claim_leases`], [`Store::replace_and_claim`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim<'a> {
    /// The time the claim is made at: the sellers due then.
    pub now: Timestamp,
    /// The name of this claim's leases (one claim's own: a lost claim's leases are found by it).
    pub owner: &'a str,
    /// When the leases expire ([`decide::lease_until`]).
    pub expires_at: Timestamp,
    /// Leave out the sellers whose `refresh_at` is before this: where a refresher's previous
    /// claim was, so that a store need not step again over every seller refreshed since the
    /// round began. A store may ignore it; [`Timestamp::MIN`] leaves out none.
    pub from: Timestamp,
    /// The ids of the keys the claiming vault holds ([`Keyring::ids`](crate::Keyring::ids)):
    /// a store leaves out every row whose tokens another key sealed. A vault cannot refresh
    /// such a seller, and another may (a process not yet given a new key, an old key dropped
    /// before `rotate_key` finished, a row restored from an old backup): leasing it would hold
    /// it back from the others, or, leased again round after round, stop the rounds.
    pub keys: &'a [String],
}

/// How many due sellers past the ones it claims the default [`Store::claim_due`] reads: the
/// due rows it must leave (sealed with a key the claiming vault lacks) come first when nobody
/// refreshes them, and would otherwise hide every seller behind them.
const CLAIM_LOOKAHEAD: usize = 64;

/// Whether [`Store::claim_due`] for a vault holding `keys` passes `row` on: one of `keys`
/// sealed it, or it is a PKCE seller's lease (an expired one, in a due row), whose decision
/// needs no tokens.
pub(crate) fn claimable_with(row: &Row, keys: &[String]) -> bool {
    keys.contains(&row.tokens.key_id) || (row.record.flow == square_oauth::Flow::Pkce && row.record.lease.is_some())
}

/// [`Store::claim_leases`] through a claim that shows each row it picks to a decision and writes
/// what that returns (`claim_with`, given the decision): every [`decide::leasable`] row gets
/// [`decide::take_lease`]; returns the rows written, as they were before. `claim_with` leaves
/// out the rows another key sealed (a leasable row has no PKCE lease, so
/// [`claimable_with`] passes on only those sealed with the claim's keys).
pub(crate) fn lease_through(
    claim: &Claim<'_>,
    claim_with: impl FnOnce(&mut dyn FnMut(&Row) -> Option<Row>) -> Result<Vec<Row>, StoreError>,
) -> Result<Vec<Row>, StoreError> {
    let mut before: Vec<Row> = Vec::new();
    let written = claim_with(&mut |row| {
        if !decide::leasable(&row.record, claim.now) {
            return None;
        }
        // A retried transaction sees the row again: keep the last look at it.
        before.retain(|seen| seen.record.merchant_id != row.record.merchant_id);
        before.push(row.clone());
        let record = decide::take_lease(&row.record, claim.owner, claim.expires_at);
        Some(Row { record, tokens: row.tokens.clone() })
    })?;
    before.retain(|seen| written.iter().any(|w| w.record.merchant_id == seen.record.merchant_id));
    Ok(before)
}

/// Where the vault keeps its rows. Every method is one short transaction (or one statement);
/// none is held across a call to Square.
pub trait Store: Send + Sync {
    /// One seller's row, read without taking any lock.
    fn get(&self, merchant: &MerchantId) -> Result<Option<Row>, StoreError>;

    /// Reads `merchant`'s row, calls `decide` with it, and writes the row `decide` returns (if
    /// any), all in one transaction that no other writer can interleave with; the write is
    /// durable when this returns. `decide` may be called more than once if the store retries
    /// the transaction, so it must only compute.
    fn update(
        &self,
        merchant: &MerchantId,
        decide: &mut dyn FnMut(Option<&Row>) -> Option<Row>,
    ) -> Result<(), StoreError>;

    /// Writes `next` over the seller's row only if the row is still exactly `expected` (a
    /// compare-and-swap on the whole row, times to the store's millisecond: see
    /// [`Row::as_stored`]), durably when this returns `true`; `false` when the
    /// row has changed (or is gone) and nothing was written. A store that can do it in one
    /// statement should (PostgreSQL does); the default runs [`update`](Self::update).
    ///
    /// The vault stores a refresh's result with it over the row its lease wrote, and makes the
    /// decision again under [`update`](Self::update) when this returns `false`.
    fn replace(&self, expected: &Row, next: &Row) -> Result<bool, StoreError> {
        if expected.record.merchant_id != next.record.merchant_id {
            return Err(StoreError::msg("a replacement for another seller's row"));
        }
        let (expected, mut replaced) = (expected.as_stored(), false);
        self.update(&expected.record.merchant_id, &mut |current| {
            replaced = current == Some(&expected);
            replaced.then(|| next.clone())
        })?;
        Ok(replaced)
    }

    /// Deletes a seller's row; whether there was one.
    fn delete(&self, merchant: &MerchantId) -> Result<bool, StoreError>;

    /// Every seller's decision record (no tokens), for the health query and listings.
    fn records(&self) -> Result<Vec<Record>, StoreError>;

    /// Up to `limit` sellers that are active, unleased (or whose lease has expired), not backing
    /// off, and whose `refresh_at` is at or before `now`, earliest first.
    fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<MerchantId>, StoreError>;

    /// Records a webhook event id; `false` if it was recorded before.
    fn remember_event(&self, event_id: &str, received_at: Timestamp) -> Result<bool, StoreError>;

    /// Claims up to `limit` of the sellers [`due`](Self::due) would name, in one short
    /// transaction: each due row is passed to `decide`, and the row it returns (if any) is
    /// written, durably when this returns. Returns the rows written, as written.
    ///
    /// A store shared by many machines skips a row another transaction holds at that moment
    /// rather than waiting for it (PostgreSQL: `FOR UPDATE SKIP LOCKED`), so that refreshers
    /// started together claim different sellers instead of all racing for the first ones.
    /// `decide` may be called again for a row if the store retries the transaction, so it must
    /// only compute.
    ///
    /// It leaves out the due rows a vault holding `keys` could only refresh while another key
    /// sealed them ([`Claim::keys`]): a row is passed to `decide` if one of `keys` sealed it, or
    /// if it is a PKCE seller's expired lease (whose decision needs no tokens). The default
    /// takes [`due`](Self::due)'s list, 64 sellers longer than `limit` since it leaves those
    /// rows out only once it has read them, and runs [`update`](Self::update) on each seller in
    /// turn until `limit` are written.
    fn claim_due(
        &self,
        now: Timestamp,
        limit: usize,
        keys: &[String],
        decide: &mut dyn FnMut(&Row) -> Option<Row>,
    ) -> Result<Vec<Row>, StoreError> {
        let mut claimed = Vec::new();
        for merchant in self.due(now, limit.saturating_add(CLAIM_LOOKAHEAD))? {
            if claimed.len() >= limit {
                break;
            }
            let mut written = None;
            self.update(&merchant, &mut |current| {
                written = current.filter(|row| claimable_with(row, keys)).and_then(&mut *decide);
                written.clone()
            })?;
            claimed.extend(written);
        }
        Ok(claimed)
    }

    /// Takes a lease on up to `limit` of the sellers [`decide::leasable`] at `claim.now` (the
    /// due sellers whose only possible decision is a refresh) and sealed with one of
    /// `claim.keys`, earliest `refresh_at` first and none due before `claim.from`, writing on
    /// each exactly
    /// [`decide::take_lease`]`(row, claim.owner, claim.expires_at)`, durably when this returns.
    /// Returns the rows taken **as they were before**, for the vault to make the lease decision
    /// on them ([`decide::acquire`]) and check that it is the one written.
    ///
    /// This is the refresher's hot path. A store that can pick and lease in one statement should
    /// (PostgreSQL: one `UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED)`, one round trip and one
    /// commit where [`claim_due`](Self::claim_due) takes four round trips; SQLite one
    /// transaction with its own query). The default runs [`claim_due`](Self::claim_due) with
    /// that decision and ignores `from`; it may return fewer sellers than are leasable when due
    /// sellers that are not come first. Due sellers that are not leasable (an expired PKCE lease,
    /// a row another key sealed) are left to [`claim_due`](Self::claim_due): the vault claims
    /// through it, looking past the ones it must leave, when this returns none.
    fn claim_leases(&self, claim: &Claim<'_>, limit: usize) -> Result<Vec<Row>, StoreError> {
        lease_through(claim, |decide| self.claim_due(claim.now, limit, claim.keys, decide))
    }

    /// [`replace`](Self::replace) `expected` with `next`, then
    /// [`claim_leases`](Self::claim_leases) for one seller: what a refresher does between two
    /// calls to Square (store one result, lease the next seller). A store doing both in one
    /// statement leaves `next`'s seller out of the claim (one statement cannot write a row
    /// twice); the vault claims it another time if it is leasable then. Returns
    /// whether the row was replaced, and the rows leased as they were before; both are durable
    /// when this returns.
    ///
    /// A store that can do both in one transaction should (PostgreSQL: one statement, so one
    /// round trip and one commit per refresh); the default makes the two calls.
    fn replace_and_claim(&self, expected: &Row, next: &Row, claim: &Claim<'_>) -> Result<(bool, Vec<Row>), StoreError> {
        let replaced = self.replace(expected, next)?;
        Ok((replaced, self.claim_leases(claim, 1)?))
    }
}

impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn get(&self, merchant: &MerchantId) -> Result<Option<Row>, StoreError> {
        (**self).get(merchant)
    }
    fn update(
        &self,
        merchant: &MerchantId,
        decide: &mut dyn FnMut(Option<&Row>) -> Option<Row>,
    ) -> Result<(), StoreError> {
        (**self).update(merchant, decide)
    }
    fn replace(&self, expected: &Row, next: &Row) -> Result<bool, StoreError> {
        (**self).replace(expected, next)
    }
    fn delete(&self, merchant: &MerchantId) -> Result<bool, StoreError> {
        (**self).delete(merchant)
    }
    fn records(&self) -> Result<Vec<Record>, StoreError> {
        (**self).records()
    }
    fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<MerchantId>, StoreError> {
        (**self).due(now, limit)
    }
    fn remember_event(&self, event_id: &str, received_at: Timestamp) -> Result<bool, StoreError> {
        (**self).remember_event(event_id, received_at)
    }
    fn claim_due(
        &self,
        now: Timestamp,
        limit: usize,
        keys: &[String],
        decide: &mut dyn FnMut(&Row) -> Option<Row>,
    ) -> Result<Vec<Row>, StoreError> {
        (**self).claim_due(now, limit, keys, decide)
    }
    fn claim_leases(&self, claim: &Claim<'_>, limit: usize) -> Result<Vec<Row>, StoreError> {
        (**self).claim_leases(claim, limit)
    }
    fn replace_and_claim(&self, expected: &Row, next: &Row, claim: &Claim<'_>) -> Result<(bool, Vec<Row>), StoreError> {
        (**self).replace_and_claim(expected, next, claim)
    }
}
