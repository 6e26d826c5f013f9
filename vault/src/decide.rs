//! The decisions, sans-IO: from one seller's [`Record`], the time now and the [`Policy`], what
//! a caller must do, and what to write back for each outcome of a refresh.
//!
//! Nothing here reads a clock, draws a random number, touches a store or sends a request. A
//! store runs each function inside one short transaction (read the row, decide, write what the
//! decision says), so every decision is atomic with respect to every other process; the HTTP
//! call to Square happens between two such transactions, with nothing held.
//!
//! Every time a decision writes is whole milliseconds, the precision both stores keep, so a
//! record decided here is equal to the same record read back from a store.
//!
//! # A seller's states
//!
//! | state | meaning | readers | refreshers |
//! | --- | --- | --- | --- |
//! | [`SellerState::Active`] | the stored tokens are the newest Square gave | use the access token while valid | take the lease when due |
//! | [`SellerState::OutcomeUnknown`] | a PKCE refresh may have spent the stored refresh token and its answer was lost | use the access token while valid | never resend; wait for a late answer until the deadline |
//! | [`SellerState::MustAuthorize`] | Square refused the refresh token, or the deadline passed | refused | refused |
//! | [`SellerState::Revoked`] | a verified webhook said the seller revoked the application | refused | refused |
//!
//! # The lease and the fencing number
//!
//! [`acquire`] hands out a lease ([`Lease`]: owner, fencing number, expiry) and raises the
//! record's fencing number. [`complete`] stores a result only if the record's fencing number is
//! still the one the lease carried (a compare-and-swap): a holder that was paused past its
//! lease while someone else took a newer one cannot overwrite what that one stored.
//!
//! When a lease expires, what happens depends on the flow:
//! - **code flow**: refresh tokens are reusable, so the next caller takes a new lease (a higher
//!   fencing number) and refreshes; the old holder's answer, if it ever comes, is stale.
//! - **PKCE**: the old holder may have presented the single-use refresh token. Presenting it
//!   again would be refused by Square and lose the seller, so nobody does: the seller becomes
//!   [`SellerState::OutcomeUnknown`] with the fencing number unchanged, so that the old holder's
//!   late answer is still accepted. After [`Policy::unknown_deadline`] it becomes
//!   [`SellerState::MustAuthorize`].
//!
//! ```
//! use square_oauth::{Flow, MerchantId};
//! use square_oauth::jiff::{SignedDuration, Timestamp};
//! use square_oauth_vault::decide::{self, Acquire, Completion, Completed, GrantMeta, Policy};
//!
//! let policy = Policy::default();
//! let now: Timestamp = "2026-07-01T00:00:00Z".parse()?;
//! let meta = GrantMeta { obtained_at: now, expires_at: Some(now + SignedDuration::from_hours(720)), refresh_at: now };
//! let record = decide::grant(None, MerchantId::new("M1"), Flow::Pkce, meta, now);
//!
//! // Worker A takes the lease (the refresh is due at once here).
//! let (Acquire::Refresh { fence }, Some(leased)) = decide::acquire(&record, "A", now, &policy, false) else { panic!() };
//! // Worker B finds it held and waits.
//! assert!(matches!(decide::acquire(&leased, "B", now, &policy, false).0, Acquire::Wait { .. }));
//! // A's lease runs out with no answer: B marks the seller, and sends nothing.
//! let later = now + policy.lease + SignedDuration::from_secs(1);
//! let (acquired, Some(unknown)) = decide::acquire(&leased, "B", later, &policy, false) else { panic!() };
//! assert!(matches!(acquired, Acquire::Unavailable(_)));
//! // A's late answer is still taken.
//! let (done, stored) = decide::complete(&unknown, fence, Completion::Refreshed(meta), later, &policy);
//! assert_eq!(done, Completed::Stored);
//! assert!(stored.is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;
use core::time::Duration;

use jiff::{SignedDuration, Timestamp};
use square_oauth::{Flow, MerchantId};

/// The knobs of every decision. The defaults suit a refresher running every few minutes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// How long a lease lasts (default 60 s): longer than the HTTP call with its timeouts.
    pub lease: SignedDuration,
    /// How long a PKCE seller stays [`SellerState::OutcomeUnknown`] waiting for a late answer
    /// before it becomes [`SellerState::MustAuthorize`] (default 1 hour).
    pub unknown_deadline: SignedDuration,
    /// Readers refresh (or join the refresh in flight) when the access token expires within
    /// this margin (default 5 minutes).
    pub read_margin: SignedDuration,
    /// The first wait after a failed refresh (default 1 minute), doubled after each further
    /// failure up to [`max_backoff`](Self::max_backoff).
    pub initial_backoff: SignedDuration,
    /// The longest wait between failed attempts (default 1 hour).
    pub max_backoff: SignedDuration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            lease: SignedDuration::from_secs(60),
            unknown_deadline: SignedDuration::from_hours(1),
            read_margin: SignedDuration::from_mins(5),
            initial_backoff: SignedDuration::from_mins(1),
            max_backoff: SignedDuration::from_hours(1),
        }
    }
}

/// Where a seller stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SellerState {
    /// The stored tokens are the newest Square gave.
    Active,
    /// A PKCE refresh may have spent the stored refresh token and its answer is missing. The
    /// token is never presented again; a late answer is accepted until `deadline`.
    OutcomeUnknown {
        /// When the seller becomes [`SellerState::MustAuthorize`].
        deadline: Timestamp,
    },
    /// The seller has to authorize the application again.
    MustAuthorize,
    /// The seller revoked the application.
    Revoked,
}

impl SellerState {
    /// The name stored in a database column: `active`, `outcome_unknown`, `must_authorize`,
    /// `revoked`.
    pub fn name(&self) -> &'static str {
        match self {
            SellerState::Active => "active",
            SellerState::OutcomeUnknown { .. } => "outcome_unknown",
            SellerState::MustAuthorize => "must_authorize",
            SellerState::Revoked => "revoked",
        }
    }
}

/// Who holds the right to refresh a seller, until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The holder's name. The vault names one per claim (a random id and a counter); a caller
    /// may name one per process or thread instead: [`acquire`] never takes a lease over because
    /// of its name, so a holder that sent under its lease and asks again waits like anyone else.
    pub owner: String,
    /// The fencing number handed out with the lease.
    pub fence: u64,
    /// When the lease stops counting.
    pub expires_at: Timestamp,
}

/// What the vault knows about one seller, secrets aside (a store keeps the sealed tokens
/// beside it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The seller.
    pub merchant_id: MerchantId,
    /// How the tokens are refreshed.
    pub flow: Flow,
    /// Where the seller stands.
    pub state: SellerState,
    /// The highest fencing number handed out for this seller; a result is stored only with it.
    pub fence: u64,
    /// The lease, while someone holds one.
    pub lease: Option<Lease>,
    /// When the stored access token was obtained.
    pub obtained_at: Timestamp,
    /// When the stored access token expires, if Square said.
    pub expires_at: Option<Timestamp>,
    /// When the refresher should refresh (7 days old, less some jitter).
    pub refresh_at: Timestamp,
    /// When the current grant was stored: a revocation older than this is for an earlier grant.
    pub granted_at: Timestamp,
    /// Failed refreshes in a row.
    pub failures: u32,
    /// No refresh attempt before this (after a failure, or as Square's `Retry-After` asked).
    pub retry_at: Option<Timestamp>,
    /// Refreshes stored since the grant.
    pub refreshes: u64,
}

/// What a new grant or a refresh answer tells the record (the tokens go to the store).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantMeta {
    /// When the access token was obtained.
    pub obtained_at: Timestamp,
    /// When it expires.
    pub expires_at: Option<Timestamp>,
    /// When to refresh it (see [`refresh_at`]).
    pub refresh_at: Timestamp,
}

/// When to refresh a token whose lifecycle says `due` (from
/// [`TokenSet::next_refresh_at`](square_oauth::TokenSet::next_refresh_at)): up to `spread`
/// earlier, chosen by `entropy`, so that sellers granted together are not all refreshed in the
/// same minute.
pub fn refresh_at(due: Timestamp, spread: Duration, entropy: u64) -> Timestamp {
    let spread_secs = spread.as_secs();
    let early = if spread_secs == 0 { 0 } else { entropy % (spread_secs + 1) };
    let early = SignedDuration::from_secs(i64::try_from(early).unwrap_or(i64::MAX));
    due.saturating_sub(early).unwrap_or(due)
}

/// Why a seller's tokens cannot be had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// The seller revoked the application.
    Revoked,
    /// The seller must authorize again.
    MustAuthorize,
    /// A PKCE refresh's outcome is unknown and the access token is expired or about to be.
    OutcomeUnknown,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unavailable::Revoked => "the seller revoked the application",
            Unavailable::MustAuthorize => "the seller must authorize the application again",
            Unavailable::OutcomeUnknown => {
                "a PKCE refresh's outcome is unknown and the access token is expiring; it will not be resent"
            }
        })
    }
}

/// What a reader does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// Use the stored access token as it is.
    Use,
    /// The access token is expired or about to be: refresh, or join the refresh in flight.
    Refresh,
    /// Give up.
    Unavailable(Unavailable),
}

/// What a reader does with `record` at `now`.
pub fn read(record: &Record, now: Timestamp, policy: &Policy) -> Read {
    let fresh =
        record.expires_at.is_none_or(|expires_at| now.saturating_add(policy.read_margin).unwrap_or(now) < expires_at);
    match record.state {
        SellerState::Revoked => Read::Unavailable(Unavailable::Revoked),
        SellerState::MustAuthorize => Read::Unavailable(Unavailable::MustAuthorize),
        _ if fresh => Read::Use,
        SellerState::OutcomeUnknown { .. } => Read::Unavailable(Unavailable::OutcomeUnknown),
        SellerState::Active => Read::Refresh,
    }
}

/// What [`acquire`] decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acquire {
    /// The lease is taken: send the refresh, then call [`complete`] with this fencing number.
    Refresh {
        /// The lease's fencing number.
        fence: u64,
    },
    /// No refresh is due (and none was forced).
    NotDue,
    /// Another holder is refreshing: wait for its result, at most until `until`.
    Wait {
        /// When the holder's lease expires.
        until: Timestamp,
    },
    /// A refresh failed lately: not before `until`.
    Backoff {
        /// When the next attempt may start.
        until: Timestamp,
    },
    /// The seller cannot be refreshed.
    Unavailable(Unavailable),
}

/// `t + d`, to the millisecond (see the module's docs).
fn plus(t: Timestamp, d: SignedDuration) -> Timestamp {
    ms(t.saturating_add(d).unwrap_or(Timestamp::MAX))
}

/// `t` to the millisecond, rounded down: the precision of every time a decision writes.
pub(crate) fn ms(t: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}

impl GrantMeta {
    pub(crate) fn to_ms(self) -> GrantMeta {
        GrantMeta {
            obtained_at: ms(self.obtained_at),
            expires_at: self.expires_at.map(ms),
            refresh_at: ms(self.refresh_at),
        }
    }
}

/// Whether `record` is due for a refresh at `now`: the refresher's schedule, or an access token
/// readers can no longer use.
pub fn is_due(record: &Record, now: Timestamp, policy: &Policy) -> bool {
    now >= record.refresh_at || read(record, now, policy) == Read::Refresh
}

/// Asks for the lease on `record` for `owner` at `now`: what to do, and the record to write
/// (in the same transaction that read `record`), if it changed.
///
/// `force` refreshes even when no refresh is due and ignores a failure's backoff (an operator's
/// `refresh --merchant`); it never overrides a lease, a revocation or an unknown outcome.
pub fn acquire(
    record: &Record,
    owner: &str,
    now: Timestamp,
    policy: &Policy,
    force: bool,
) -> (Acquire, Option<Record>) {
    match record.state {
        SellerState::Revoked => return (Acquire::Unavailable(Unavailable::Revoked), None),
        SellerState::MustAuthorize => return (Acquire::Unavailable(Unavailable::MustAuthorize), None),
        SellerState::OutcomeUnknown { deadline } => {
            if now >= deadline {
                let mut next = record.clone();
                next.state = SellerState::MustAuthorize;
                next.lease = None;
                return (Acquire::Unavailable(Unavailable::MustAuthorize), Some(next));
            }
            return (Acquire::Unavailable(Unavailable::OutcomeUnknown), None);
        }
        SellerState::Active => {}
    }
    if let Some(lease) = &record.lease {
        if now < lease.expires_at {
            return (Acquire::Wait { until: lease.expires_at }, None);
        }
        if record.flow == Flow::Pkce {
            // The holder may have presented the single-use token; its answer may still come.
            let mut next = record.clone();
            next.state = SellerState::OutcomeUnknown { deadline: plus(lease.expires_at, policy.unknown_deadline) };
            next.lease = None;
            return (Acquire::Unavailable(Unavailable::OutcomeUnknown), Some(next));
        }
    }
    if !force {
        if !is_due(record, now, policy) {
            return (Acquire::NotDue, None);
        }
        if let Some(until) = record.retry_at.filter(|until| now < *until) {
            // A reader whose token is already unusable still waits: Square asked for it.
            return (Acquire::Backoff { until }, None);
        }
    }
    let next = take_lease(record, owner, lease_until(now, policy));
    (Acquire::Refresh { fence: next.fence }, Some(next))
}

/// Whether [`acquire`] (without `force`) can only answer [`Acquire::Refresh`] for `record` at
/// `now`: an active seller whose `refresh_at` has come, not backing off, holding no lease or a
/// code-flow lease that has expired. For such a record it writes [`take_lease`], and nothing
/// else can be decided, so a store may write that lease in the same statement that picks the
/// row ([`Store::claim_leases`](crate::Store::claim_leases)); every other due record (an expired
/// PKCE lease, which turns into an unknown outcome) goes through [`acquire`].
///
/// ```
/// use square_oauth::{Flow, MerchantId};
/// use square_oauth::jiff::Timestamp;
/// use square_oauth_vault::decide::{self, Acquire, GrantMeta, Policy};
///
/// let now: Timestamp = "2026-07-01T00:00:00Z".parse()?;
/// let meta = GrantMeta { obtained_at: now, expires_at: None, refresh_at: now };
/// let record = decide::grant(None, MerchantId::new("M1"), Flow::Pkce, meta, now);
/// assert!(decide::leasable(&record, now));
/// let (acquired, written) = decide::acquire(&record, "A", now, &Policy::default(), false);
/// assert_eq!(acquired, Acquire::Refresh { fence: record.fence + 1 });
/// let until = decide::lease_until(now, &Policy::default());
/// assert_eq!(written, Some(decide::take_lease(&record, "A", until)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn leasable(record: &Record, now: Timestamp) -> bool {
    record.state == SellerState::Active
        && record.refresh_at <= now
        && record.retry_at.is_none_or(|until| until <= now)
        && record.lease.as_ref().is_none_or(|lease| lease.expires_at <= now && record.flow == Flow::CodeFlow)
}

/// When a lease taken at `now` expires: `now` plus the policy's lease, to the millisecond.
pub fn lease_until(now: Timestamp, policy: &Policy) -> Timestamp {
    plus(now, policy.lease)
}

/// `record` with a new lease for `owner` until `expires_at`: the fencing number one higher, and
/// the lease carrying it. What [`acquire`] writes when it answers [`Acquire::Refresh`].
pub fn take_lease(record: &Record, owner: &str, expires_at: Timestamp) -> Record {
    let fence = record.fence + 1;
    let mut next = record.clone();
    next.fence = fence;
    next.lease = Some(Lease { owner: owner.to_owned(), fence, expires_at });
    next
}

/// Whether `next`, written over `current`, may be forgotten by a crash of the whole machine (a
/// power cut, a kernel panic) without breaking any guarantee: true only for a write that takes
/// a lease on a code-flow seller and changes nothing else.
///
/// Such a write needs to survive the crash of any process, not of the machine. If the machine
/// goes down, every process on it goes with it, the lease's holder included; the lease is then
/// forgotten as if it had never been taken, and the next holder presents the same refresh
/// token again, which code-flow refresh tokens allow. A PKCE lease is never forgettable: it is
/// what stops a single-use refresh token from being presented twice, so it is on disk before
/// the token leaves. Stores whose writers all run on one machine (SQLite, whose WAL works only
/// there) commit a forgettable write without waiting for the disk; a store shared by several
/// machines must not, since a lease forgotten there may still have a live holder elsewhere.
///
/// ```
/// use square_oauth::{Flow, MerchantId};
/// use square_oauth::jiff::Timestamp;
/// use square_oauth_vault::decide::{self, GrantMeta, Policy};
///
/// let now: Timestamp = "2026-07-01T00:00:00Z".parse()?;
/// let meta = GrantMeta { obtained_at: now, expires_at: None, refresh_at: now };
/// let policy = Policy::default();
/// for (flow, forgettable) in [(Flow::CodeFlow, true), (Flow::Pkce, false)] {
///     let record = decide::grant(None, MerchantId::new("M1"), flow, meta, now);
///     let (_, Some(leased)) = decide::acquire(&record, "A", now, &policy, false) else { panic!() };
///     assert_eq!(decide::forgettable(&record, &leased), forgettable);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn forgettable(current: &Record, next: &Record) -> bool {
    let Some(lease) = &next.lease else { return false };
    current.flow == Flow::CodeFlow
        && current.lease.as_ref() != Some(lease)
        && *next == Record { fence: next.fence, lease: next.lease.clone(), ..current.clone() }
}

/// How a refresh call ended, as the transport saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Square answered with new tokens.
    Refreshed(GrantMeta),
    /// Square refused. `reauthorize`: the refresh token is dead (revoked, spent, expired), so
    /// the seller must authorize again; otherwise the refusal is about the request or the
    /// application, and the seller's tokens still stand.
    Refused {
        /// Whether the seller must authorize again.
        reauthorize: bool,
    },
    /// The request never left this machine.
    NotSent,
    /// The request may have reached Square, and no answer came.
    MaybeSent,
    /// Square answered that it did not act (429, 503): try again later, after `retry_after`
    /// if it said.
    Busy {
        /// Square's `Retry-After`.
        retry_after: Option<Duration>,
    },
}

/// What [`complete`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completed {
    /// The new tokens are to be stored.
    Stored,
    /// The lease was superseded (or the seller revoked or granted again): nothing is written
    /// and the answer is dropped.
    Stale,
    /// The lease is released and the failure recorded; the tokens stand.
    Failed,
    /// A PKCE token may have been spent: the seller is now [`SellerState::OutcomeUnknown`].
    OutcomeUnknown,
    /// The seller must authorize again.
    MustAuthorize,
}

fn backoff(failures: u32, policy: &Policy) -> SignedDuration {
    let exponent = failures.saturating_sub(1).min(30);
    let step = policy.initial_backoff.checked_mul(1 << exponent).unwrap_or(policy.max_backoff);
    step.min(policy.max_backoff)
}

/// Takes in how the refresh under lease `fence` ended: the decision, and the record to write
/// (with the new tokens, for [`Completed::Stored`]) in the same transaction that read `record`.
///
/// The compare-and-swap: anything is written only if `record.fence == fence`.
pub fn complete(
    record: &Record,
    fence: u64,
    completion: Completion,
    now: Timestamp,
    policy: &Policy,
) -> (Completed, Option<Record>) {
    if record.fence != fence || record.state == SellerState::Revoked {
        return (Completed::Stale, None);
    }
    let mut next = record.clone();
    next.lease = None;
    let completed = match completion {
        Completion::Refreshed(meta) => {
            let meta = meta.to_ms();
            // Accepted in OutcomeUnknown (the late answer) and even past the deadline: with the
            // fencing number unchanged nobody has refreshed since, and these tokens are live.
            next.state = SellerState::Active;
            next.obtained_at = meta.obtained_at;
            next.expires_at = meta.expires_at;
            next.refresh_at = meta.refresh_at;
            next.failures = 0;
            next.retry_at = None;
            next.refreshes += 1;
            Completed::Stored
        }
        Completion::Refused { reauthorize: true } => {
            next.state = SellerState::MustAuthorize;
            Completed::MustAuthorize
        }
        Completion::MaybeSent if record.flow == Flow::Pkce => {
            if record.state == SellerState::Active {
                next.state = SellerState::OutcomeUnknown { deadline: plus(now, policy.unknown_deadline) };
            }
            Completed::OutcomeUnknown
        }
        Completion::Refused { reauthorize: false } | Completion::NotSent | Completion::MaybeSent => {
            next.failures = next.failures.saturating_add(1);
            next.retry_at = Some(plus(now, backoff(next.failures, policy)));
            Completed::Failed
        }
        Completion::Busy { retry_after } => {
            next.failures = next.failures.saturating_add(1);
            let asked = retry_after.and_then(|d| SignedDuration::try_from(d).ok());
            next.retry_at = Some(plus(now, asked.unwrap_or_else(|| backoff(next.failures, policy))));
            Completed::Failed
        }
    };
    if completed == Completed::Failed {
        // With the fencing number unchanged, an unknown outcome was this holder's call; a call
        // that never reached Square, or that Square refused without acting, spent nothing.
        next.state = SellerState::Active;
    }
    (completed, Some(next))
}

/// Gives up a lease without sending anything (the holder found nothing to do).
pub fn release(record: &Record, fence: u64) -> Option<Record> {
    if record.fence != fence || record.lease.is_none() {
        return None;
    }
    let mut next = record.clone();
    next.lease = None;
    Some(next)
}

/// The record for a new grant (a code exchange, a re-authorization), replacing `existing`.
/// The fencing number goes up, so that an answer to a refresh of the old grant is stale.
pub fn grant(
    existing: Option<&Record>,
    merchant_id: MerchantId,
    flow: Flow,
    meta: GrantMeta,
    now: Timestamp,
) -> Record {
    let meta = meta.to_ms();
    Record {
        merchant_id,
        flow,
        state: SellerState::Active,
        fence: existing.map_or(0, |record| record.fence + 1),
        lease: None,
        obtained_at: meta.obtained_at,
        expires_at: meta.expires_at,
        refresh_at: meta.refresh_at,
        granted_at: ms(now),
        failures: 0,
        retry_at: None,
        refreshes: 0,
    }
}

/// What becomes of a grant [`Vault::put`](crate::Vault::put) could not store when it was
/// given (`granted_at`), stored later over the seller's record as it is then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LateGrant {
    /// Stored, as [`grant`] writes it with `granted_at` as its time.
    Store,
    /// Already there: a write whose answer was lost had landed after all.
    AlreadyStored,
    /// Dropped: the seller was granted again after it.
    Superseded,
    /// Dropped: the seller is marked revoked, and when is not recorded, so the revocation may
    /// be of this grant (the seller authorizes again).
    Revoked,
}

/// Decides a late grant: stored unless the seller is marked revoked (the record keeps no
/// revocation time, so a revocation after the grant cannot be told from one before it, and a
/// revoked seller must never be served: the seller authorizes again), or was granted again
/// after `granted_at` (a newer authorization wins, whichever process stored it first).
///
/// Grants are ordered by the clocks of the machines that stored them: a machine's clock ahead
/// of another's by more than the time between two grants orders them wrongly (both are valid
/// grants of the seller's).
pub fn late_grant(existing: Option<&Record>, granted_at: Timestamp, meta: GrantMeta) -> LateGrant {
    let Some(record) = existing else { return LateGrant::Store };
    let (granted_at, meta) = (ms(granted_at), meta.to_ms());
    if record.state == SellerState::Revoked {
        LateGrant::Revoked
    } else if record.granted_at == granted_at
        && record.obtained_at == meta.obtained_at
        && record.expires_at == meta.expires_at
    {
        LateGrant::AlreadyStored
    } else if record.granted_at >= granted_at {
        LateGrant::Superseded
    } else {
        LateGrant::Store
    }
}

/// What a verified revocation does to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// The seller is now revoked.
    Revoked,
    /// The seller was revoked already.
    AlreadyRevoked,
    /// The revocation is older than the grant held (the seller authorized again since).
    OlderThanGrant,
}

/// Applies a revocation that happened at `revoked_at` (the event's `revoked_at`, else its
/// `created_at`). The fencing number goes up, so an answer in flight is never stored.
pub fn revoke(record: &Record, revoked_at: Timestamp) -> (Revocation, Option<Record>) {
    if record.state == SellerState::Revoked {
        return (Revocation::AlreadyRevoked, None);
    }
    if revoked_at < record.granted_at {
        return (Revocation::OlderThanGrant, None);
    }
    let mut next = record.clone();
    next.state = SellerState::Revoked;
    next.lease = None;
    next.fence += 1;
    (Revocation::Revoked, Some(next))
}

/// A seller's health, for the health query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Health {
    /// Active and not yet due.
    Fresh,
    /// Due for its refresh, and younger than 8 days.
    Due,
    /// The access token is older than 8 days: the refresher is not keeping up (Square's alert
    /// threshold).
    Overdue,
    /// The last refresh failed and will be tried again.
    Failing,
    /// A PKCE refresh's outcome is unknown.
    OutcomeUnknown,
    /// The seller must authorize again.
    MustAuthorize,
    /// The seller revoked the application.
    Revoked,
}

impl Health {
    /// Every health, in the order the health query lists them.
    pub const ALL: [Health; 7] = [
        Health::Fresh,
        Health::Due,
        Health::Overdue,
        Health::Failing,
        Health::OutcomeUnknown,
        Health::MustAuthorize,
        Health::Revoked,
    ];

    /// The name shown by tools: `fresh`, `due`, `overdue`, `failing`, `outcome_unknown`,
    /// `must_authorize`, `revoked`.
    pub fn name(&self) -> &'static str {
        match self {
            Health::Fresh => "fresh",
            Health::Due => "due",
            Health::Overdue => "overdue",
            Health::Failing => "failing",
            Health::OutcomeUnknown => "outcome_unknown",
            Health::MustAuthorize => "must_authorize",
            Health::Revoked => "revoked",
        }
    }
}

/// The age past which a stored token means the refresher is failing (8 days).
pub const OVERDUE_AGE: SignedDuration = SignedDuration::from_hours(8 * 24);

/// A seller's health at `now`. An unknown outcome past its deadline counts as
/// [`Health::MustAuthorize`], as the next [`acquire`] would record.
pub fn health(record: &Record, now: Timestamp) -> Health {
    match record.state {
        SellerState::Revoked => Health::Revoked,
        SellerState::MustAuthorize => Health::MustAuthorize,
        SellerState::OutcomeUnknown { deadline } if now >= deadline => Health::MustAuthorize,
        SellerState::OutcomeUnknown { .. } => Health::OutcomeUnknown,
        SellerState::Active if record.failures > 0 => Health::Failing,
        SellerState::Active if now.duration_since(record.obtained_at) > OVERDUE_AGE => Health::Overdue,
        SellerState::Active if now >= record.refresh_at => Health::Due,
        SellerState::Active => Health::Fresh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn record(flow: Flow) -> Record {
        let meta = GrantMeta { obtained_at: t(0), expires_at: Some(t(30 * 86_400)), refresh_at: t(7 * 86_400) };
        grant(None, MerchantId::new("M"), flow, meta, t(0))
    }

    #[test]
    fn a_late_grant_is_stored_unless_the_seller_was_granted_again_after_it() {
        let meta = |at: i64| GrantMeta {
            obtained_at: t(at),
            expires_at: Some(t(at + 30 * 86_400)),
            refresh_at: t(at + 7 * 86_400),
        };
        // Put at t(100), when the store failed; stored later over what is there then.
        let late = |existing: Option<&Record>| late_grant(existing, t(100), meta(100));
        assert_eq!(late(None), LateGrant::Store, "a new seller");
        let older = record(Flow::CodeFlow);
        assert_eq!(late(Some(&older)), LateGrant::Store, "a grant before it");
        // Revoked, when unknown: maybe this very grant.
        let revoked = revoke(&older, t(50)).1.unwrap();
        assert_eq!(late(Some(&revoked)), LateGrant::Revoked);
        let refreshed = Record { obtained_at: ms(t(200)), ..older.clone() };
        assert_eq!(late(Some(&refreshed)), LateGrant::Store, "the older grant refreshed since: still older");
        let newer = grant(Some(&older), MerchantId::new("M"), Flow::CodeFlow, meta(300), t(300));
        assert_eq!(late(Some(&newer)), LateGrant::Superseded, "granted again after it");
        // Its own write, whose answer was lost: there already, not written twice.
        let itself = grant(Some(&older), MerchantId::new("M"), Flow::CodeFlow, meta(100), t(100));
        assert_eq!(late(Some(&itself)), LateGrant::AlreadyStored);
        // ... unless revoked since: then not reported as stored.
        assert_eq!(late(Some(&revoke(&itself, t(150)).1.unwrap())), LateGrant::Revoked);
        let same_time_other_tokens = grant(Some(&older), MerchantId::new("M"), Flow::CodeFlow, meta(90), t(100));
        assert_eq!(late(Some(&same_time_other_tokens)), LateGrant::Superseded, "another grant at the same instant");
    }

    #[test]
    fn a_token_younger_than_its_refresh_time_is_not_refreshed() {
        let policy = Policy::default();
        let r = record(Flow::CodeFlow);
        assert_eq!(acquire(&r, "a", t(86_400), &policy, false), (Acquire::NotDue, None));
        assert!(matches!(acquire(&r, "a", t(7 * 86_400), &policy, false).0, Acquire::Refresh { fence: 1 }));
        assert!(matches!(acquire(&r, "a", t(86_400), &policy, true).0, Acquire::Refresh { fence: 1 }));
    }

    /// Every combination of state, flow, lease, refresh time and backoff around `now`.
    fn every_shape(now: Timestamp) -> Vec<Record> {
        let (before, after) = (now - SignedDuration::from_secs(1), now + SignedDuration::from_secs(1));
        let states = [
            SellerState::Active,
            SellerState::Revoked,
            SellerState::MustAuthorize,
            SellerState::OutcomeUnknown { deadline: before },
            SellerState::OutcomeUnknown { deadline: after },
        ];
        let mut shapes = Vec::new();
        for flow in [Flow::CodeFlow, Flow::Pkce] {
            for state in states {
                for lease in [None, Some(before), Some(now), Some(after)] {
                    for refresh_at in [before, now, after] {
                        for retry_at in [None, Some(before), Some(now), Some(after)] {
                            let mut r = record(flow);
                            r.state = state;
                            r.fence = 4;
                            r.lease = lease.map(|expires_at| Lease { owner: "old".into(), fence: 4, expires_at });
                            r.refresh_at = refresh_at;
                            r.retry_at = retry_at;
                            shapes.push(r);
                        }
                    }
                }
            }
        }
        shapes
    }

    #[test]
    fn a_leasable_record_is_one_acquire_can_only_lease_and_the_lease_is_take_lease() {
        let now = t(8 * 86_400) + SignedDuration::from_nanos(123_456_789);
        let policy = Policy::default();
        let (mut leasable_seen, mut due_but_not) = (0, 0);
        for r in every_shape(now) {
            let decided = acquire(&r, "new", now, &policy, false);
            if leasable(&r, now) {
                leasable_seen += 1;
                let leased = take_lease(&r, "new", lease_until(now, &policy));
                assert_eq!(decided, (Acquire::Refresh { fence: 5 }, Some(leased.clone())), "{r:?}");
                assert_eq!(leased.lease.as_ref().map(|l| (l.fence, l.owner.as_str())), Some((5, "new")));
                continue;
            }
            // What a store's due query picks that is not leasable: only an expired PKCE lease,
            // which acquire turns into an unknown outcome.
            let due = r.state == SellerState::Active
                && r.refresh_at <= now
                && r.retry_at.is_none_or(|until| until <= now)
                && r.lease.as_ref().is_none_or(|lease| lease.expires_at <= now);
            if due {
                due_but_not += 1;
                assert_eq!(r.flow, Flow::Pkce, "{r:?}");
                assert!(matches!(decided, (Acquire::Unavailable(Unavailable::OutcomeUnknown), Some(_))), "{r:?}");
            } else {
                assert!(!matches!(decided.0, Acquire::Refresh { .. }) || r.refresh_at > now, "{r:?}");
            }
        }
        // Each side of the predicate was reached as counted by hand: leasable are the active
        // records due (2 refresh times) and not backing off (3 backoffs) with no lease (2 flows)
        // or an expired code-flow lease (2 expiries); due but not leasable, the same with an
        // expired PKCE lease.
        assert_eq!((leasable_seen, due_but_not), (2 * 3 * 2 + 2 * 3 * 2, 2 * 3 * 2));
    }

    /// Every time in `r`, for the precision test.
    fn times(r: &Record) -> Vec<Timestamp> {
        let deadline = match r.state {
            SellerState::OutcomeUnknown { deadline } => Some(deadline),
            _ => None,
        };
        [Some(r.obtained_at), r.expires_at, Some(r.refresh_at), Some(r.granted_at), r.retry_at, deadline]
            .into_iter()
            .flatten()
            .chain(r.lease.as_ref().map(|lease| lease.expires_at))
            .collect()
    }

    #[test]
    fn every_time_a_decision_writes_is_whole_milliseconds() {
        // Inputs with nanoseconds, as a clock and a user's policy give them.
        let ns = |secs: i64| t(secs) + SignedDuration::from_nanos(123_456_789);
        let policy = Policy {
            lease: SignedDuration::from_nanos(60_000_000_001),
            unknown_deadline: SignedDuration::from_nanos(3_600_000_000_007),
            initial_backoff: SignedDuration::from_nanos(1_000_003),
            ..Policy::default()
        };
        let meta = GrantMeta { obtained_at: ns(0), expires_at: Some(ns(30 * 86_400)), refresh_at: ns(7 * 86_400) };
        let whole = |r: &Record| times(r).iter().all(|t| t.subsec_nanosecond() % 1_000_000 == 0);
        let mut written = Vec::new();
        for flow in [Flow::CodeFlow, Flow::Pkce] {
            let granted = grant(None, MerchantId::new("M"), flow, meta, ns(0));
            let (_, Some(leased)) = acquire(&granted, "a", ns(1), &policy, true) else { panic!() };
            // A lease left to expire: taken over (code flow), or the unknown outcome's deadline (PKCE).
            let (_, Some(expired)) = acquire(&leased, "b", ns(200), &policy, true) else { panic!() };
            let completions = [
                Completion::Refreshed(meta),
                Completion::MaybeSent,
                Completion::NotSent,
                Completion::Busy { retry_after: Some(Duration::from_nanos(7_000_000_009)) },
                Completion::Busy { retry_after: None },
            ];
            for completion in completions {
                written.extend(complete(&leased, 1, completion, ns(2), &policy).1);
            }
            written.extend([granted, leased, expired]);
        }
        assert!(written.len() >= 13);
        for r in &written {
            assert!(whole(r), "{:?}", times(r));
        }
        // The inputs did carry nanoseconds, and the times moved by less than a millisecond.
        assert_eq!(written[0].obtained_at.subsec_nanosecond(), 123_000_000);
        assert!(ns(0) - written[0].obtained_at < SignedDuration::from_millis(1));
        assert!(ns(0) > written[0].obtained_at);
    }

    #[test]
    fn a_reader_stops_using_a_token_once_it_is_within_the_margin_of_its_expiry() {
        let policy = Policy::default();
        let r = record(Flow::CodeFlow);
        let expires_at = r.expires_at.unwrap();
        let edge = expires_at - policy.read_margin;
        assert_eq!(read(&r, edge - SignedDuration::from_millis(1), &policy), Read::Use);
        // At the margin's very start the token is no longer handed out.
        assert_eq!(read(&r, edge, &policy), Read::Refresh);
    }

    #[test]
    fn a_lease_is_released_only_by_its_own_holder_and_only_once() {
        let policy = Policy::default();
        let (_, Some(held)) = acquire(&record(Flow::CodeFlow), "a", t(0), &policy, true) else { panic!() };
        // Another fencing number: not this holder's lease.
        assert_eq!(release(&held, held.fence + 1), None);
        let released = release(&held, held.fence).expect("released");
        assert_eq!(released.lease, None);
        assert_eq!(released.fence, held.fence);
        // Nothing left to release.
        assert_eq!(release(&released, held.fence), None);
    }

    #[test]
    fn a_new_grant_raises_the_fencing_number_over_the_old_one() {
        let policy = Policy::default();
        let mut r = record(Flow::Pkce);
        assert_eq!(r.fence, 0);
        for _ in 0..5 {
            let (_, Some(held)) = acquire(&r, "a", t(0), &policy, true) else { panic!() };
            r = release(&held, held.fence).expect("released");
        }
        assert_eq!(r.fence, 5);
        let meta = GrantMeta { obtained_at: t(1), expires_at: None, refresh_at: t(2) };
        let again = grant(Some(&r), MerchantId::new("M"), Flow::Pkce, meta, t(1));
        assert_eq!(again.fence, 6);
        assert_eq!(again.lease, None);
    }

    #[test]
    fn every_health_has_the_name_tools_show() {
        let names: Vec<&str> = Health::ALL.iter().map(Health::name).collect();
        assert_eq!(names, ["fresh", "due", "overdue", "failing", "outcome_unknown", "must_authorize", "revoked"]);
    }

    #[test]
    fn the_refresh_is_brought_forward_by_up_to_the_whole_spread() {
        let due = t(7 * 86_400);
        let spread = Duration::from_secs(10);
        // The entropy picks 0 to 10 seconds early, both ends included.
        assert_eq!(refresh_at(due, spread, 10), due - SignedDuration::from_secs(10));
        assert_eq!(refresh_at(due, spread, 11), due);
        assert_eq!(refresh_at(due, spread, 3), due - SignedDuration::from_secs(3));
        assert_eq!(refresh_at(due, spread, 25), due - SignedDuration::from_secs(3));
        assert_eq!(refresh_at(due, Duration::ZERO, 12_345), due);
    }

    #[test]
    fn why_a_seller_is_unavailable_is_said_in_words() {
        assert_eq!(Unavailable::Revoked.to_string(), "the seller revoked the application");
        assert_eq!(Unavailable::MustAuthorize.to_string(), "the seller must authorize the application again");
        assert!(Unavailable::OutcomeUnknown.to_string().contains("will not be resent"));
    }

    #[test]
    fn only_a_code_flow_lease_is_forgettable() {
        let policy = Policy::default();
        let code = record(Flow::CodeFlow);
        let (_, Some(leased)) = acquire(&code, "a", t(0), &policy, true) else { panic!() };
        assert!(forgettable(&code, &leased));
        // An expired lease taken over is a new lease too.
        let (_, Some(taken)) = acquire(&leased, "b", t(61), &policy, true) else { panic!() };
        assert!(forgettable(&leased, &taken));
        // Writing the same lease again takes nothing.
        assert!(!forgettable(&leased, &leased));
        // A PKCE lease guards a single-use token.
        let pkce = record(Flow::Pkce);
        let (_, Some(pkce_leased)) = acquire(&pkce, "a", t(0), &policy, true) else { panic!() };
        assert!(!forgettable(&pkce, &pkce_leased));
        // A result, a release, a failure: never.
        let meta = GrantMeta { obtained_at: t(1), expires_at: None, refresh_at: t(2) };
        let (_, Some(stored)) = complete(&leased, 1, Completion::Refreshed(meta), t(1), &policy) else { panic!() };
        assert!(!forgettable(&leased, &stored));
        let released = release(&leased, 1).unwrap();
        assert!(!forgettable(&leased, &released));
        // A lease that changes anything else besides.
        let mut more = leased.clone();
        more.failures += 1;
        assert!(!forgettable(&code, &more));
        let mut revoked = leased.clone();
        revoked.state = SellerState::Revoked;
        assert!(!forgettable(&code, &revoked));
    }

    #[test]
    fn an_expired_code_flow_lease_is_taken_over_with_a_higher_fence() {
        let policy = Policy::default();
        let (_, Some(held)) = acquire(&record(Flow::CodeFlow), "a", t(0), &policy, true) else { panic!() };
        // Held until the lease's expiry, and not at that instant.
        let expiry = t(0) + policy.lease;
        let just_before = expiry - SignedDuration::from_millis(1);
        assert_eq!(acquire(&held, "b", just_before, &policy, true).0, Acquire::Wait { until: expiry });
        assert_eq!(acquire(&held, "b", expiry, &policy, true).0, Acquire::Refresh { fence: 2 });
        let later = t(61);
        let (acquired, Some(taken)) = acquire(&held, "b", later, &policy, true) else { panic!() };
        assert_eq!(acquired, Acquire::Refresh { fence: 2 });
        let meta = GrantMeta { obtained_at: later, expires_at: None, refresh_at: later };
        // The first holder's answer is stale now.
        assert_eq!(complete(&taken, 1, Completion::Refreshed(meta), later, &policy), (Completed::Stale, None));
        assert_eq!(complete(&taken, 2, Completion::Refreshed(meta), later, &policy).0, Completed::Stored);
    }

    #[test]
    fn an_unknown_outcome_becomes_must_authorize_at_its_deadline() {
        let policy = Policy::default();
        let (_, Some(held)) = acquire(&record(Flow::Pkce), "a", t(0), &policy, true) else { panic!() };
        let (_, Some(unknown)) = complete(&held, 1, Completion::MaybeSent, t(1), &policy) else { panic!() };
        assert!(matches!(unknown.state, SellerState::OutcomeUnknown { .. }));
        assert_eq!(health(&unknown, t(2)), Health::OutcomeUnknown);
        assert_eq!(
            acquire(&unknown, "b", t(2), &policy, true),
            (Acquire::Unavailable(Unavailable::OutcomeUnknown), None)
        );
        let deadline = t(1) + policy.unknown_deadline;
        let (acquired, Some(gone)) = acquire(&unknown, "b", deadline, &policy, true) else { panic!() };
        assert_eq!(acquired, Acquire::Unavailable(Unavailable::MustAuthorize));
        assert_eq!(gone.state, SellerState::MustAuthorize);
    }

    #[test]
    fn failures_back_off_and_honour_retry_after() {
        let policy = Policy::default();
        let mut r = record(Flow::CodeFlow);
        for (n, expected) in [(1, 60), (2, 120), (3, 240)] {
            let (_, Some(held)) = acquire(&r, "a", t(8 * 86_400), &policy, true) else { panic!() };
            let (done, Some(next)) = complete(&held, held.fence, Completion::NotSent, t(8 * 86_400), &policy) else {
                panic!()
            };
            assert_eq!(done, Completed::Failed);
            assert_eq!(next.failures, n);
            assert_eq!(next.retry_at, Some(t(8 * 86_400 + expected)));
            r = next;
        }
        assert_eq!(
            acquire(&r, "a", t(8 * 86_400 + 10), &policy, false).0,
            Acquire::Backoff { until: t(8 * 86_400 + 240) }
        );
        // The back-off ends at `retry_at` itself, not a moment later.
        let just_before = t(8 * 86_400 + 240) - SignedDuration::from_millis(1);
        assert!(matches!(acquire(&r, "a", just_before, &policy, false).0, Acquire::Backoff { .. }));
        assert!(matches!(acquire(&r, "a", t(8 * 86_400 + 240), &policy, false).0, Acquire::Refresh { .. }));
        let (_, Some(held)) = acquire(&r, "a", t(9 * 86_400), &policy, false) else { panic!() };
        let busy = Completion::Busy { retry_after: Some(Duration::from_secs(7)) };
        let (_, Some(next)) = complete(&held, held.fence, busy, t(9 * 86_400), &policy) else { panic!() };
        assert_eq!(next.retry_at, Some(t(9 * 86_400 + 7)));
        assert_eq!(health(&next, t(9 * 86_400)), Health::Failing);
    }

    #[test]
    fn a_revocation_older_than_the_grant_is_ignored() {
        let r = record(Flow::Pkce);
        assert_eq!(revoke(&r, t(-1)), (Revocation::OlderThanGrant, None));
        let (done, Some(revoked)) = revoke(&r, t(0)) else { panic!() };
        assert_eq!(done, Revocation::Revoked);
        // The fencing number goes up, so that an answer in flight is stale.
        assert_eq!(revoked.fence, r.fence + 1);
        assert_eq!(read(&revoked, t(1), &Policy::default()), Read::Unavailable(Unavailable::Revoked));
        assert_eq!(revoke(&revoked, t(2)), (Revocation::AlreadyRevoked, None));
    }

    #[test]
    fn health_follows_age() {
        let r = record(Flow::CodeFlow);
        assert_eq!(health(&r, t(86_400)), Health::Fresh);
        assert_eq!(health(&r, t(7 * 86_400)), Health::Due);
        assert_eq!(health(&r, t(8 * 86_400)), Health::Due);
        assert_eq!(health(&r, t(8 * 86_400 + 1)), Health::Overdue);
    }

    #[test]
    fn jitter_only_brings_a_refresh_earlier() {
        let due = t(100);
        assert_eq!(refresh_at(due, Duration::ZERO, 12345), due);
        for entropy in [0, 1, 59, 60, 61, u64::MAX] {
            let at = refresh_at(due, Duration::from_secs(60), entropy);
            assert!(at <= due && at >= t(40), "{at}");
        }
    }
}
