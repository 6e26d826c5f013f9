//! The blocking vault: the decisions of [`decide`](crate::decide), run against a [`Store`],
//! with the tokens sealed by a [`Keyring`], sending through your transport.

use core::fmt;
use core::time::Duration;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use square_oauth::{
    AccessToken, ClientId, ClientSecret, MerchantId, ObtainToken, ObtainTokenResponse, RefreshRules, TokenSet,
    WebhookSignatureKey,
};
use zeroize::Zeroizing;

use crate::decide::{self, Acquire, Completed, Completion, GrantMeta, Health, Policy, Read, Record, Unavailable};
use crate::seal::{Keyring, SealError};
use crate::store::{Claim, Row, SealedTokens, Store, StoreError};
use crate::transport::RefreshFailure;

/// The clock the vault reads (the wall clock unless a test moves it).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// How the vault refreshes.
#[derive(Clone)]
pub struct Settings {
    /// The application the grants belong to.
    pub client_id: ClientId,
    /// The application secret, for code-flow refreshes (PKCE applications have none).
    pub client_secret: Option<ClientSecret>,
    /// When a token is due (7 days old by default).
    pub rules: RefreshRules,
    /// Leases, deadlines, backoff.
    pub policy: Policy,
    /// Sellers are refreshed up to this long before their 7-day mark, at random, so that
    /// sellers granted together are spread out (default 12 hours).
    pub spread: Duration,
    /// How long a reader waits for another holder's refresh (default 30 s).
    pub wait_timeout: Duration,
    /// How often a waiting reader looks again (default 20 ms).
    pub poll: Duration,
    /// The clock.
    pub clock: Clock,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("rules", &self.rules)
            .field("policy", &self.policy)
            .field("spread", &self.spread)
            .field("wait_timeout", &self.wait_timeout)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// The defaults, for this application.
    pub fn new(client_id: ClientId, client_secret: Option<ClientSecret>) -> Settings {
        Settings {
            client_id,
            client_secret,
            rules: RefreshRules::default(),
            policy: Policy::default(),
            spread: Duration::from_secs(12 * 3600),
            wait_timeout: Duration::from_secs(30),
            poll: Duration::from_millis(20),
            clock: Arc::new(Timestamp::now),
        }
    }
}

/// What went wrong. No variant carries a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed value could not be opened (wrong key, tampered, swapped).
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The vault holds no such seller.
    #[error("the vault holds no seller {0}")]
    UnknownSeller(MerchantId),
    /// The seller's tokens cannot be had.
    #[error("seller {merchant_id}: {reason}")]
    Unavailable {
        /// The seller.
        merchant_id: MerchantId,
        /// Why.
        reason: Unavailable,
    },
    /// Another holder's refresh did not finish in time.
    #[error("seller {0}: the refresh in flight did not finish in time")]
    WaitTimedOut(MerchantId),
    /// The refresh failed and the access token is expired.
    #[error("seller {merchant_id}: {failure}")]
    Refresh {
        /// The seller.
        merchant_id: MerchantId,
        /// How the call ended.
        #[source]
        failure: RefreshFailure,
    },
    /// The refresh is backing off after failures (or as Square asked) and the access token is
    /// expired.
    #[error("seller {merchant_id}: refreshing is backing off until {until}")]
    BackingOff {
        /// The seller.
        merchant_id: MerchantId,
        /// Until when.
        until: Timestamp,
    },
    /// A webhook notification failed verification or could not be read.
    #[error(transparent)]
    Webhook(#[from] square_oauth::WebhookError),
    /// A refresh cannot be built (no client secret for a code-flow seller, no refresh token).
    #[error(transparent)]
    Lifecycle(#[from] square_oauth::LifecycleError),
    /// A row's clear part cannot be read back.
    #[error("seller {0}: the stored row is not readable")]
    CorruptRow(MerchantId),
    /// Square gave new tokens (a refresh's, or a grant given to [`Vault::put`]) and the store
    /// failed to take them (past its own retries). The vault holds them in memory, sealed, and
    /// stores them with [`Vault::store_held`]: [`Vault::refresh_due`] and
    /// [`Vault::run_refresher`] do so before every round, and [`Vault::run_refresher`] does not
    /// end on a store error while it holds any (only when stopped). A PKCE seller's old refresh
    /// token is spent by then, and a grant's code: so these are the only live tokens there are,
    /// lost if the process ends first (the seller's outcome then stays unknown, or the seller
    /// must authorize again).
    #[error(
        "seller {merchant_id}: the new tokens could not be stored, and are held in memory until they can: {source}"
    )]
    NotYetStored {
        /// The seller.
        merchant_id: MerchantId,
        /// Why the store failed.
        #[source]
        source: StoreError,
    },
}

/// What one round of [`Vault::refresh_due`] did: each seller it claimed, counted once, by how
/// its refresh ended.
///
/// ```
/// # use square_oauth_vault::Round;
/// let round = Round::default();
/// if round.must_authorize + round.refused > 0 {
///     // Someone has to act: a seller authorizes again, or the application's credentials are wrong.
/// } else if round.failed + round.outcome_unknown > 0 {
///     // The vault tries these again by itself (a PKCE seller whose outcome is unknown once
///     // its lease has run out).
/// }
/// assert_eq!(round.not_refreshed(), 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Round {
    /// New tokens stored ([`RefreshOutcome::Refreshed`]).
    pub refreshed: usize,
    /// Claimed and not refreshed, with nothing wrong: its answer came after a newer lease, a
    /// revocation or a new grant ([`Stale`](RefreshOutcome::Stale); [`HeldElsewhere`],
    /// [`BackingOff`] and [`NotDue`] count here too, though a round claims only sellers due and
    /// free). Sellers backing off after earlier failures, or leased by another refresher, are
    /// not claimed, so not counted.
    ///
    /// [`HeldElsewhere`]: RefreshOutcome::HeldElsewhere
    /// [`BackingOff`]: RefreshOutcome::BackingOff
    /// [`NotDue`]: RefreshOutcome::NotDue
    pub skipped: usize,
    /// The refresh failed and is tried again after a backoff: not sent, no answer (for a
    /// code-flow seller), Square busy, or new tokens the store did not take yet (held in
    /// memory: [`VaultError::NotYetStored`]). [`RefreshOutcome::Failed`] but for a refusal.
    pub failed: usize,
    /// Square refused the refresh for a reason not the seller's (the application's
    /// credentials, the request): [`RefreshFailure::Refused`] without `reauthorize`. Retrying
    /// does not help until the application is fixed.
    pub refused: usize,
    /// A PKCE refresh may have reached Square and its answer was lost
    /// ([`RefreshOutcome::OutcomeUnknown`]), this round's or a refresher's that went away
    /// holding the seller's lease ([`Unavailable::OutcomeUnknown`]): its refresh token is never
    /// presented again; a late answer is still taken until the state's deadline, and otherwise
    /// the seller must authorize again once its access token expires.
    pub outcome_unknown: usize,
    /// Square refused the seller's refresh token: the seller must authorize again
    /// ([`RefreshOutcome::MustAuthorize`], or found revoked or so marked:
    /// [`RefreshOutcome::Unavailable`]).
    pub must_authorize: usize,
}

impl Round {
    /// Every seller the round claimed and did not refresh.
    pub fn not_refreshed(&self) -> usize {
        self.skipped + self.failed + self.refused + self.outcome_unknown + self.must_authorize
    }

    /// Whether the round claimed no seller at all.
    pub fn is_empty(&self) -> bool {
        self.refreshed + self.not_refreshed() == 0
    }

    /// Adds another round's counts to these.
    pub fn add(&mut self, other: Round) {
        self.refreshed += other.refreshed;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.refused += other.refused;
        self.outcome_unknown += other.outcome_unknown;
        self.must_authorize += other.must_authorize;
    }

    /// Counts one seller's outcome (a store error storing its result is a failure).
    fn count(&mut self, outcome: Result<&RefreshOutcome, &VaultError>) {
        let counter = match outcome {
            Ok(RefreshOutcome::Refreshed) => &mut self.refreshed,
            Ok(RefreshOutcome::NotDue | RefreshOutcome::HeldElsewhere { .. } | RefreshOutcome::BackingOff { .. })
            | Ok(RefreshOutcome::Stale) => &mut self.skipped,
            Ok(RefreshOutcome::MustAuthorize | RefreshOutcome::Unavailable(Unavailable::Revoked))
            | Ok(RefreshOutcome::Unavailable(Unavailable::MustAuthorize))
            | Ok(RefreshOutcome::Failed(RefreshFailure::Refused { reauthorize: true, .. })) => &mut self.must_authorize,
            Ok(RefreshOutcome::Failed(RefreshFailure::Refused { .. })) => &mut self.refused,
            Ok(RefreshOutcome::Failed(_)) | Err(_) => &mut self.failed,
            // A PKCE lease found expired (its refresher gone) is this seller's outcome unknown.
            Ok(RefreshOutcome::OutcomeUnknown | RefreshOutcome::Unavailable(Unavailable::OutcomeUnknown)) => {
                &mut self.outcome_unknown
            }
        };
        *counter += 1;
    }
}

/// How one refresh ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum RefreshOutcome {
    /// New tokens are stored (durably).
    Refreshed,
    /// Nothing was due.
    NotDue,
    /// Someone else holds the lease, until then.
    HeldElsewhere {
        /// The lease's expiry.
        until: Timestamp,
    },
    /// The seller is backing off after failures.
    BackingOff {
        /// Until when.
        until: Timestamp,
    },
    /// The answer came after a newer lease (or a revocation or a new grant): dropped.
    Stale,
    /// The call failed; the tokens stand and the failure is recorded.
    Failed(RefreshFailure),
    /// A PKCE refresh may have spent the token: the seller is marked "outcome unknown".
    OutcomeUnknown,
    /// Square refused the refresh token: the seller must authorize again.
    MustAuthorize,
    /// The seller cannot be refreshed.
    Unavailable(Unavailable),
}

/// A refresh under lease: the request to send, and what [`Vault::finish_refresh`] needs back.
#[derive(Debug)]
pub struct Flight {
    merchant_id: MerchantId,
    fence: u64,
    tokens: TokenSet,
    operation: ObtainToken,
    /// The row as the lease wrote it: the result is stored over it by [`Store::replace`] when
    /// nothing has changed it since, without reading it again under a lock.
    leased: Option<Row>,
}

impl Flight {
    /// The seller whose refresh this is.
    pub fn merchant_id(&self) -> &MerchantId {
        &self.merchant_id
    }

    /// The request to send (a `refresh_token` ObtainToken). Send it at most once.
    pub fn operation(&self) -> &ObtainToken {
        &self.operation
    }

    /// The lease's fencing number.
    pub fn fence(&self) -> u64 {
        self.fence
    }
}

/// What [`Vault::begin_refresh`] decided.
#[derive(Debug)]
pub enum Begin {
    /// The lease is held: send [`Flight::operation`], then call [`Vault::finish_refresh`].
    Send(Box<Flight>),
    /// Nothing to send.
    Done(RefreshOutcome),
}

/// A seller a refresher claimed, and what to do with it.
type Claimed = (MerchantId, Begin);

/// How many sellers are in each [`Health`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HealthReport {
    /// Counts, in the order of [`Health::ALL`].
    pub counts: [usize; 7],
}

impl HealthReport {
    /// The count for one health.
    pub fn count(&self, health: Health) -> usize {
        self.counts[Health::ALL.iter().position(|h| *h == health).unwrap_or(0)]
    }

    /// Every seller.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }
}

/// One seller, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SellerSummary {
    /// The seller's decision record.
    pub record: Record,
    /// Its health now.
    pub health: Health,
}

/// What a revocation webhook did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationOutcome {
    /// The seller is now revoked.
    Revoked(MerchantId),
    /// The event was handled before (same event id), or the seller was revoked already.
    Duplicate(MerchantId),
    /// The revocation is older than the grant held: the seller authorized again since.
    OlderThanGrant(MerchantId),
    /// The vault holds no such seller.
    UnknownSeller(MerchantId),
}

/// Many sellers' tokens, kept in a [`Store`], sealed with a [`Keyring`].
///
/// - Storing: [`put`](Self::put) a new grant, [`forget`](Self::forget) a seller.
/// - Reading: [`access_token`](Self::access_token) (refreshing or joining the refresh in
///   flight when needed), [`tokens`](Self::tokens).
/// - Refreshing: [`refresh`](Self::refresh), or [`begin_refresh`](Self::begin_refresh) and
///   [`finish_refresh`](Self::finish_refresh) around your own send; [`refresh_due`](Self::refresh_due)
///   and [`run_refresher`](Self::run_refresher) for the schedule.
/// - Operating: [`health`](Self::health), [`sellers`](Self::sellers),
///   [`revocation`](Self::revocation), [`rotate_key`](Self::rotate_key).
///
/// The send closure is any transport: `FnMut(&ObtainToken) -> Result<ObtainTokenResponse,
/// RefreshFailure>` (see [`transport`](crate::transport)).
pub struct Vault<S> {
    store: S,
    keys: Keyring,
    /// The ids of `keys` ([`Keyring::ids`]): a round claims only the rows they open.
    key_ids: Vec<String>,
    settings: Settings,
    owner: String,
    leases: AtomicU64,
    /// New tokens the store failed to take, until it does ([`Vault::store_held`]).
    held: Mutex<Vec<Held>>,
}

/// New tokens that the store failed to take, and what their decision needs.
#[derive(Clone)]
struct Held {
    merchant_id: MerchantId,
    kind: HeldKind,
    /// The tokens' times ([`Completion::Refreshed`], [`decide::grant`]).
    meta: GrantMeta,
    sealed: SealedTokens,
}

impl Held {
    /// Whether `other` is the same held tokens (a copy taken to store them).
    fn same(&self, other: &Held) -> bool {
        self.merchant_id == other.merchant_id && self.kind == other.kind
    }
}

/// Where held tokens came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeldKind {
    /// A refresh, under the lease with this fencing number.
    Refresh { fence: u64 },
    /// A grant given to [`Vault::put`] at this time.
    Grant { flow: square_oauth::Flow, at: Timestamp },
}

impl<S> Drop for Vault<S> {
    fn drop(&mut self) {
        for held in self.held.get_mut().unwrap_or_else(PoisonError::into_inner).iter() {
            match held.kind {
                HeldKind::Refresh { fence } => tracing::error!(merchant_id = %held.merchant_id, fence,
                    "new tokens were never stored and are lost; the seller's refresh outcome stays unknown"),
                HeldKind::Grant { .. } => tracing::error!(merchant_id = %held.merchant_id,
                    "a new grant was never stored and is lost; the seller must authorize again"),
            }
        }
    }
}

impl<S> fmt::Debug for Vault<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("owner", &self.owner)
            .field("key_id", &self.keys.primary_id())
            .finish_non_exhaustive()
    }
}

const ACCESS: &str = "access_token";
const REFRESH: &str = "refresh_token";

fn entropy() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    u64::from_le_bytes(bytes)
}

impl<S: Store> Vault<S> {
    /// A vault over `store`, sealing with `keys`. There is no vault without a key: get one from
    /// [`Key::from_env`](crate::seal::Key::from_env) or a key file.
    pub fn new(store: S, keys: Keyring, settings: Settings) -> Vault<S> {
        let owner = format!("{:016x}", entropy());
        let key_ids = keys.ids();
        Vault { store, keys, key_ids, settings, owner, leases: AtomicU64::new(0), held: Mutex::new(Vec::new()) }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn now(&self) -> Timestamp {
        (self.settings.clock)()
    }

    fn seal(&self, tokens: &TokenSet) -> Result<SealedTokens, VaultError> {
        let merchant = tokens.merchant_id().as_str();
        let token_meta =
            serde_json::to_string(tokens).map_err(|_| VaultError::CorruptRow(tokens.merchant_id().clone()))?;
        Ok(SealedTokens {
            key_id: self.keys.primary_id(),
            token_meta,
            access_token: self.keys.seal(merchant, ACCESS, tokens.access_token().expose_secret().as_bytes()),
            refresh_token: tokens
                .refresh_token()
                .map(|t| self.keys.seal(merchant, REFRESH, t.expose_secret().as_bytes())),
        })
    }

    fn open(&self, merchant_id: &MerchantId, sealed: &SealedTokens) -> Result<TokenSet, VaultError> {
        let corrupt = || VaultError::CorruptRow(merchant_id.clone());
        let access = self.keys.open(merchant_id.as_str(), ACCESS, &sealed.access_token)?;
        let refresh = match &sealed.refresh_token {
            Some(refresh) => Some(self.keys.open(merchant_id.as_str(), REFRESH, refresh)?),
            None => None,
        };
        let access = core::str::from_utf8(&access).map_err(|_| corrupt())?;
        let refresh = refresh.as_deref().map(|r| core::str::from_utf8(r)).transpose().map_err(|_| corrupt())?;
        let json = spliced(&sealed.token_meta, access, refresh).ok_or_else(corrupt)?;
        serde_json::from_slice(&json).map_err(|_| corrupt())
    }

    fn meta(&self, tokens: &TokenSet) -> GrantMeta {
        let due = tokens.next_refresh_at(&self.settings.rules).unwrap_or(Timestamp::MAX);
        GrantMeta {
            obtained_at: tokens.obtained_at(),
            expires_at: tokens.expires_at(),
            refresh_at: decide::refresh_at(due, self.settings.spread, entropy()),
        }
    }

    /// Stores a new grant (a code exchange, a re-authorization), replacing whatever the vault
    /// held for the seller: a refresh of the old grant still in flight will be dropped.
    ///
    /// The code behind a grant is spent, so a grant the store fails to take (past its own
    /// retries) is not dropped: the vault holds it in memory, sealed, and returns
    /// [`VaultError::NotYetStored`]; [`store_held`](Self::store_held) stores it later (the
    /// refresher does so before every round), unless the seller was granted again since.
    pub fn put(&self, tokens: &TokenSet) -> Result<(), VaultError> {
        let sealed = self.seal(tokens)?;
        let meta = self.meta(tokens);
        let now = self.now();
        let merchant_id = tokens.merchant_id().clone();
        let stored = self.store.update(&merchant_id, &mut |current| {
            let record = decide::grant(current.map(|row| &row.record), merchant_id.clone(), tokens.flow(), meta, now);
            Some(Row { record, tokens: sealed.clone() })
        });
        if let Err(error) = stored {
            let kind = HeldKind::Grant { flow: tokens.flow(), at: now };
            return Err(self.hold(Held { merchant_id, kind, meta, sealed }, error));
        }
        tracing::info!(merchant_id = %merchant_id, flow = %tokens.flow(), "grant stored");
        Ok(())
    }

    /// The seller's tokens as stored, opened, without any refresh.
    pub fn tokens(&self, merchant_id: &MerchantId) -> Result<TokenSet, VaultError> {
        self.store_held_for(merchant_id);
        let row = self.store.get(merchant_id)?.ok_or_else(|| VaultError::UnknownSeller(merchant_id.clone()))?;
        self.open(merchant_id, &row.tokens)
    }

    /// The seller's decision record.
    pub fn record(&self, merchant_id: &MerchantId) -> Result<Record, VaultError> {
        self.store_held_for(merchant_id);
        let row = self.store.get(merchant_id)?.ok_or_else(|| VaultError::UnknownSeller(merchant_id.clone()))?;
        Ok(row.record)
    }

    /// Forgets a seller (after revoking it at Square, say); whether it was held.
    pub fn forget(&self, merchant_id: &MerchantId) -> Result<bool, VaultError> {
        // Whatever this vault holds for the seller goes too: stored later, it would bring the
        // seller back. Taken out before the delete (a store of it under way sees it gone), and
        // put back if the delete fails (a held PKCE refresh is the only copy of its token).
        let taken: Vec<Held> = {
            let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            let (taken, kept) = std::mem::take(&mut *held).into_iter().partition(|h| h.merchant_id == *merchant_id);
            *held = kept;
            taken
        };
        let deleted = match self.store.delete(merchant_id) {
            Ok(deleted) => deleted,
            Err(error) => {
                self.held.lock().unwrap_or_else(PoisonError::into_inner).extend(taken);
                return Err(error.into());
            }
        };
        tracing::info!(merchant_id = %merchant_id, deleted, "seller forgotten");
        Ok(deleted)
    }

    /// Takes the lease for a refresh, if one is due (or `force`d): the request to send, or why
    /// there is none. One short transaction; nothing is held when it returns.
    pub fn begin_refresh(&self, merchant_id: &MerchantId, force: bool) -> Result<Begin, VaultError> {
        // This seller's held tokens only, so that a reader does not wait for every seller's.
        self.store_held_for(merchant_id);
        let now = self.now();
        let owner = self.lease_owner();
        let mut decided = None;
        self.store.update(merchant_id, &mut |current| {
            let Some(row) = current else {
                decided = None;
                return None;
            };
            let (acquired, write) = decide::acquire(&row.record, &owner, now, &self.settings.policy, force);
            let written = write.map(|record| Row { record, tokens: row.tokens.clone() });
            decided = Some((acquired, row.tokens.clone(), written.clone()));
            written
        })?;
        let (acquired, sealed, leased) = decided.ok_or_else(|| VaultError::UnknownSeller(merchant_id.clone()))?;
        self.begun(merchant_id, acquired, sealed, leased, false)
    }

    /// A name for one lease: this vault's, and a number of its own.
    fn lease_owner(&self) -> String {
        format!("{}-{}", self.owner, self.leases.fetch_add(1, Ordering::Relaxed))
    }

    /// Claims the next due seller not claimed by anyone else, with its lease, in one short
    /// transaction ([`Store::claim_due`]): the seller and what to do, or `None` when nothing
    /// is due.
    ///
    /// The common case takes one statement ([`Store::claim_leases`]): a seller whose only
    /// possible decision is a refresh, leased as [`decide::acquire`] leases it, which is checked
    /// here on the row as it was. Anything else due (an expired PKCE lease, which becomes an
    /// unknown outcome) goes through [`Store::claim_due`] once no leasable seller is left.
    ///
    /// `from` is where this refresher's previous claim was ([`Claim::from`]); it moves to the
    /// seller claimed. When nothing is leasable from there on, the claim is made again from the
    /// start, so that a seller behind it (skipped while another claim held it, or out of its
    /// backoff since) is not left out.
    fn claim_next(&self, from: &mut Timestamp) -> Result<Option<Claimed>, VaultError> {
        let now = self.now();
        let owner = self.lease_owner();
        let taken = self.store.claim_leases(&self.claim_terms(now, &owner, *from), 1)?;
        self.take_claimed(taken, &owner, now, from)
    }

    /// The terms of a claim by `owner` at `now`, from `from` on.
    fn claim_terms<'a>(&'a self, now: Timestamp, owner: &'a str, from: Timestamp) -> Claim<'a> {
        Claim { now, owner, expires_at: decide::lease_until(now, &self.settings.policy), from, keys: &self.key_ids }
    }

    /// What a claim of `owner`'s at `now` from `from` on took (`taken`, as the rows were)
    /// comes to: the seller leased, checked against the lease decision; or, when nothing was
    /// leasable, the claim made again from the start, and once nothing is leasable from the
    /// start, the claim through the lease decision for what is left.
    fn take_claimed(
        &self,
        taken: Vec<Row>,
        owner: &str,
        now: Timestamp,
        from: &mut Timestamp,
    ) -> Result<Option<Claimed>, VaultError> {
        match taken.into_iter().next() {
            Some(before) => self.leased(before, owner, now, from).map(Some),
            None if *from > Timestamp::MIN => {
                *from = Timestamp::MIN;
                self.claim_next(from)
            }
            None => self.claim_any(now, owner),
        }
    }

    /// A seller a store leased by [`Store::claim_leases`] (`before`: its row as it was), checked
    /// against the lease decision: what to do with it.
    /// `from` moves to its `refresh_at`.
    fn leased(&self, before: Row, owner: &str, now: Timestamp, from: &mut Timestamp) -> Result<Claimed, VaultError> {
        let merchant_id = before.record.merchant_id.clone();
        *from = before.record.refresh_at;
        if !self.key_ids.contains(&before.tokens.key_id) {
            // A store that ignores `Claim::keys`: taken again and again, this row would end
            // every round. Undone, and said loudly.
            self.give_back(&before, owner, now);
            return Err(VaultError::Store(StoreError::msg(format!(
                "the store leased seller {merchant_id}, sealed with key {}, which this vault does not hold \
                 (a store must leave such rows out of a claim: Claim::keys)",
                before.tokens.key_id
            ))));
        }
        let (acquired, written) = decide::acquire(&before.record, owner, now, &self.settings.policy, false);
        let Some(record) = written.filter(|_| matches!(acquired, Acquire::Refresh { .. })) else {
            // The store leased a seller the decision would not have: undo it.
            self.give_back(&before, owner, now);
            return Err(VaultError::Store(StoreError::msg(format!(
                "the store leased seller {merchant_id}, which the lease decision would not have ({acquired:?})"
            ))));
        };
        let leased = Row { record, tokens: before.tokens.clone() };
        let begin = self.begun_claimed(&merchant_id, acquired, before.tokens, leased)?;
        Ok((merchant_id, begin))
    }

    /// Undoes a lease a store took with [`Store::claim_leases`] or [`Store::replace_and_claim`]
    /// (`owner`'s, at `now`) on `before`, nothing having been sent with it: the row goes back
    /// to `before` by compare-and-swap, if it is still as the lease left it. Best effort: a
    /// lease that stays expires, and is then treated as a crash.
    fn give_back(&self, before: &Row, owner: &str, now: Timestamp) {
        let expires_at = decide::lease_until(now, &self.settings.policy);
        let leased =
            Row { record: decide::take_lease(&before.record, owner, expires_at), tokens: before.tokens.clone() };
        let merchant_id = &before.record.merchant_id;
        match self.store.replace(&leased, before) {
            Ok(true) => tracing::warn!(merchant_id = %merchant_id, "a lease nothing was sent with, given back"),
            Ok(false) => tracing::warn!(merchant_id = %merchant_id, "a lease to give back had changed; left as it is"),
            Err(error) => tracing::warn!(merchant_id = %merchant_id, error = %error, "a lease could not be given back"),
        }
    }

    /// Claims any due seller through the lease decision ([`Store::claim_due`]), the ones
    /// [`Store::claim_leases`] leaves (an expired PKCE lease) included, but for the rows sealed
    /// with a key this vault lacks (see [`Claim::keys`]).
    fn claim_any(&self, now: Timestamp, owner: &str) -> Result<Option<Claimed>, VaultError> {
        let mut decided = Vec::new();
        let written = self.store.claim_due(now, 1, &self.key_ids, &mut |row| {
            let (acquired, write) = decide::acquire(&row.record, owner, now, &self.settings.policy, false);
            // A refresh needs the tokens opened: not with a key this vault lacks, whatever a
            // store passes on. What needs no tokens (an expired PKCE lease) is decided.
            if matches!(acquired, Acquire::Refresh { .. }) && !self.key_ids.contains(&row.tokens.key_id) {
                return None;
            }
            decided.retain(|(merchant_id, _)| *merchant_id != row.record.merchant_id);
            decided.push((row.record.merchant_id.clone(), acquired));
            write.map(|record| Row { record, tokens: row.tokens.clone() })
        })?;
        let Some(row) = written.into_iter().next() else { return Ok(None) };
        let merchant_id = row.record.merchant_id.clone();
        let acquired = decided
            .into_iter()
            .find_map(|(m, acquired)| (m == merchant_id).then_some(acquired))
            .ok_or_else(|| VaultError::UnknownSeller(merchant_id.clone()))?;
        let begin = self.begun_claimed(&merchant_id, acquired, row.tokens.clone(), row)?;
        Ok(Some((merchant_id, begin)))
    }

    /// [`begun`](Self::begun) for a seller a round claimed: a row damaged for every reader
    /// ([`row_damaged`], which for a claimed row includes a key this vault lacks) is that
    /// seller's failed attempt (it backs off), and the round goes on with the others. Any other
    /// error ends the round.
    fn begun_claimed(
        &self,
        merchant_id: &MerchantId,
        acquired: Acquire,
        sealed: SealedTokens,
        leased: Row,
    ) -> Result<Begin, VaultError> {
        match self.begun(merchant_id, acquired, sealed, Some(leased), true) {
            Err(error) if row_damaged(&error, true) => {
                tracing::warn!(merchant_id = %merchant_id, error = %error, "refresher: a seller cannot be refreshed");
                Ok(Begin::Done(RefreshOutcome::Failed(RefreshFailure::NotSent { source: Some(Box::new(error)) })))
            }
            begun => begun,
        }
    }

    /// What a lease decision comes to: the flight to send (its tokens opened from `sealed`),
    /// or the outcome without one. `leased`: the row as the decision wrote it; `claimed`:
    /// whether a round claimed it, so that its `key_id` names a key this vault holds.
    fn begun(
        &self,
        merchant_id: &MerchantId,
        acquired: Acquire,
        sealed: SealedTokens,
        leased: Option<Row>,
        claimed: bool,
    ) -> Result<Begin, VaultError> {
        let fence = match acquired {
            Acquire::Refresh { fence } => fence,
            Acquire::NotDue => return Ok(Begin::Done(RefreshOutcome::NotDue)),
            Acquire::Wait { until } => return Ok(Begin::Done(RefreshOutcome::HeldElsewhere { until })),
            Acquire::Backoff { until } => return Ok(Begin::Done(RefreshOutcome::BackingOff { until })),
            Acquire::Unavailable(reason) => {
                if reason == Unavailable::OutcomeUnknown {
                    tracing::warn!(merchant_id = %merchant_id, "a PKCE refresh's outcome is unknown; not resending");
                }
                return Ok(Begin::Done(RefreshOutcome::Unavailable(reason)));
            }
        };
        let prepared = self.open(merchant_id, &sealed).and_then(|tokens| {
            let operation = tokens.refresh_operation(self.settings.client_secret.as_ref())?;
            Ok((tokens, operation))
        });
        match prepared {
            Ok((tokens, operation)) => {
                tracing::debug!(merchant_id = %merchant_id, fence, "lease taken");
                Ok(Begin::Send(Box::new(Flight { merchant_id: merchant_id.clone(), fence, tokens, operation, leased })))
            }
            Err(error) => {
                // Nothing was sent: the lease goes back, so that nobody takes it for a crash.
                // A row damaged for everyone counts as a failed attempt, so that no refresher
                // takes it again at once but after a backoff. This vault's own lack (a key it
                // does not hold, no client secret) counts nothing: a process set up wrong must
                // not push sellers into backoff for the processes set up right. A key it lacks
                // on a row a round claimed, whose `key_id` names a key it holds, is the row's own
                // contradiction: damaged.
                let damaged = row_damaged(&error, claimed);
                let now = self.now();
                let policy = &self.settings.policy;
                self.store.update(merchant_id, &mut |current| {
                    let row = current?;
                    let next = match damaged {
                        true => decide::complete(&row.record, fence, Completion::NotSent, now, policy).1,
                        false => decide::release(&row.record, fence),
                    };
                    next.map(|record| Row { record, tokens: row.tokens.clone() })
                })?;
                Err(error)
            }
        }
    }

    /// Takes in how the flight's call ended, and stores the result by compare-and-swap on the
    /// fencing number. New tokens are durable when this returns `Ok`; on
    /// [`VaultError::NotYetStored`] the vault holds them ([`store_held`](Self::store_held)).
    pub fn finish_refresh(
        &self,
        flight: Box<Flight>,
        result: Result<ObtainTokenResponse, RefreshFailure>,
    ) -> Result<RefreshOutcome, VaultError> {
        self.finish(flight, result, None).map(|(outcome, _)| outcome)
    }

    /// [`finish_refresh`](Self::finish_refresh), and with `claim` the refresher's next claim
    /// too, in the same store call where the result goes in by compare-and-swap
    /// ([`Store::replace_and_claim`]): the next seller and what to do, `None` when nothing is
    /// due, or why the claim failed (the result was stored all the same). Without `claim`, the
    /// second value is `Ok(None)`.
    fn finish(
        &self,
        flight: Box<Flight>,
        result: Result<ObtainTokenResponse, RefreshFailure>,
        claim: Option<&mut Timestamp>,
    ) -> Result<(RefreshOutcome, Result<Option<Claimed>, VaultError>), VaultError> {
        let now = self.now();
        let Flight { merchant_id, fence, mut tokens, leased, .. } = *flight;
        let (completion, sealed, failure) = match result {
            Ok(response) => match tokens.apply_refresh(response, now) {
                Ok(()) => (Completion::Refreshed(self.meta(&tokens)), Some(self.seal(&tokens)?), None),
                // An answer without the new PKCE token spent the old one all the same.
                Err(error) => {
                    let failure = RefreshFailure::MaybeSent { source: Some(Box::new(error)) };
                    (failure.completion(), None, Some(failure))
                }
            },
            Err(failure) => (failure.completion(), None, Some(failure)),
        };
        let decided = |row: &Row| self.completed(row, fence, completion, sealed.as_ref(), now);
        let owner = if claim.is_some() { self.lease_owner() } else { String::new() };
        let terms = claim.as_ref().map(|from| self.claim_terms(now, &owner, **from));
        let (completed, claimed) = match self.store_completion(&merchant_id, leased.as_ref(), terms.as_ref(), &decided)
        {
            Ok(stored) => stored,
            // New tokens are the only copy there is (a PKCE refresh token is already spent):
            // held in memory until the store takes them, never dropped.
            Err(error) => {
                let (Completion::Refreshed(meta), Some(sealed)) = (completion, sealed) else {
                    return Err(error.into());
                };
                return Err(self.hold(Held { merchant_id, kind: HeldKind::Refresh { fence }, meta, sealed }, error));
            }
        };
        let outcome = match completed {
            Completed::Stored => RefreshOutcome::Refreshed,
            Completed::Stale => RefreshOutcome::Stale,
            Completed::Failed => RefreshOutcome::Failed(failure.unwrap_or(RefreshFailure::NotSent { source: None })),
            Completed::OutcomeUnknown => RefreshOutcome::OutcomeUnknown,
            Completed::MustAuthorize => RefreshOutcome::MustAuthorize,
        };
        match &outcome {
            RefreshOutcome::Refreshed => tracing::info!(merchant_id = %merchant_id, fence, "refresh stored"),
            RefreshOutcome::Failed(failure) => {
                tracing::warn!(merchant_id = %merchant_id, fence, error = %failure, "refresh failed")
            }
            other => tracing::warn!(merchant_id = %merchant_id, fence, outcome = ?other, "refresh not stored"),
        }
        let Some(from) = claim else { return Ok((outcome, Ok(None))) };
        // The claim made with the result, or one made now; either way a whole claim, the
        // sellers behind `from` and those that only `claim_due` takes included.
        let next = match claimed {
            Some(taken) => self.take_claimed(taken, &owner, now, from),
            None => self.claim_next(from),
        };
        Ok((outcome, next))
    }

    /// What [`decide::complete`] makes of `row` for a refresh under `fence` that ended as
    /// `completion`, with the new tokens `sealed` written when it stores them.
    fn completed(
        &self,
        row: &Row,
        fence: u64,
        completion: Completion,
        sealed: Option<&SealedTokens>,
        now: Timestamp,
    ) -> (Completed, Option<Row>) {
        let (done, write) = decide::complete(&row.record, fence, completion, now, &self.settings.policy);
        let tokens = match (sealed, done) {
            (Some(sealed), Completed::Stored) => sealed.clone(),
            _ => row.tokens.clone(),
        };
        (done, write.map(|record| Row { record, tokens }))
    }

    /// Stores a refresh's result (`decided` over the row as it is), with the next claim on
    /// `terms` when given: first over `leased`, the row as the lease left it, in one
    /// compare-and-swap (on PostgreSQL one statement instead of a locking transaction); if
    /// anything changed it since, the decision is made again on the row as it is now. What the
    /// decision did, and the rows claimed alongside (`None`: no claim was made with it).
    fn store_completion(
        &self,
        merchant_id: &MerchantId,
        leased: Option<&Row>,
        terms: Option<&Claim<'_>>,
        decided: &dyn Fn(&Row) -> (Completed, Option<Row>),
    ) -> Result<(Completed, Option<Vec<Row>>), StoreError> {
        let mut claimed = None;
        if let Some(leased) = leased
            && let (done, Some(next)) = decided(leased)
        {
            let replaced = match terms {
                Some(terms) => {
                    let (replaced, taken) = self.store.replace_and_claim(leased, &next, terms)?;
                    claimed = Some(taken);
                    replaced
                }
                None => self.store.replace(leased, &next)?,
            };
            if replaced {
                return Ok((done, claimed));
            }
        }
        let mut completed = Completed::Stale;
        let stored = self.store.update(merchant_id, &mut |current| {
            let (done, next) = decided(current?);
            completed = done;
            next
        });
        if let Err(error) = stored {
            // Nothing will be sent with a lease claimed alongside: give it back, so that
            // nobody takes it for a crash (a PKCE seller's outcome unknown).
            if let Some(terms) = terms {
                for before in claimed.iter().flatten() {
                    self.give_back(before, terms.owner, terms.now);
                }
            }
            return Err(error);
        }
        Ok((completed, claimed))
    }

    /// The error for new tokens the store did not take (`error`): they are kept in memory for
    /// [`store_held`](Self::store_held).
    fn hold(&self, held: Held, error: StoreError) -> VaultError {
        let merchant_id = held.merchant_id.clone();
        tracing::error!(merchant_id = %merchant_id, kind = ?held.kind, error = %error,
            "new tokens could not be stored; held in memory until the store takes them");
        self.held.lock().unwrap_or_else(PoisonError::into_inner).push(held);
        VaultError::NotYetStored { merchant_id, source: error }
    }

    /// How many sets of new tokens (a refresh's or a grant's; a seller may have one of each)
    /// this vault holds in memory because the store failed to take them (see
    /// [`VaultError::NotYetStored`]). They are lost if the process ends first.
    pub fn held(&self) -> usize {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Stores the new tokens the vault holds in memory because the store failed to take them
    /// ([`VaultError::NotYetStored`]). A refresh's, by the decision its answer gets: stored if
    /// the seller's lease is the one they were obtained under (even expired, even after
    /// another refresher marked the outcome unknown), dropped if the seller was granted again,
    /// revoked or forgotten since. A grant's, as [`put`](Self::put) stores it, at the time it
    /// was given, unless the seller was granted again after it ([`decide::late_grant`]). [`refresh_due`](Self::refresh_due) and
    /// [`run_refresher`](Self::run_refresher) call it before every round; call it yourself
    /// when you drive refreshes with [`refresh`](Self::refresh) or
    /// [`finish_refresh`](Self::finish_refresh).
    ///
    /// `Ok(0)` when nothing is left held; the store's error when it still fails (what is
    /// left stays held).
    ///
    /// ```
    /// # fn run(vault: &square_oauth_vault::Vault<square_oauth_vault::SqliteStore>) -> Result<(), square_oauth_vault::VaultError> {
    /// if vault.held() > 0 {
    ///     vault.store_held()?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn store_held(&self) -> Result<usize, VaultError> {
        self.store_held_of(None)
    }

    /// [`store_held`](Self::store_held) again every `pause` until nothing is held or
    /// `patience` has passed: what a process does before it exits, since held tokens die
    /// with it. `Ok` once nothing is held (at once when nothing was); when the time is up,
    /// [`VaultError::NotYetStored`] naming a seller still held, with the store's last error.
    /// A store call under way when the time runs out finishes first, so the wait can pass
    /// `patience` by one call (a PostgreSQL store keeps reconnecting for its
    /// [`reconnect_for`](crate::PostgresStore::reconnect_for) window).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # fn run(vault: &square_oauth_vault::Vault<square_oauth_vault::SqliteStore>) {
    /// // At shutdown, after the refresher has stopped:
    /// if let Err(error) = vault.store_held_within(Duration::from_secs(120), Duration::from_secs(2)) {
    ///     eprintln!("new tokens of {} seller(s) are lost: {error}", vault.held());
    /// }
    /// # }
    /// ```
    pub fn store_held_within(&self, patience: Duration, pause: Duration) -> Result<(), VaultError> {
        let started = Instant::now();
        loop {
            let result = self.store_held();
            if let Ok(0) = result {
                return Ok(());
            }
            let left = patience.saturating_sub(started.elapsed());
            if left.is_zero() {
                return self.still_held(result, "more were held meanwhile");
            }
            std::thread::sleep(pause.min(left));
        }
    }

    /// `Ok` when `result` (of [`store_held`](Self::store_held)) left nothing held; else
    /// [`VaultError::NotYetStored`] for the first seller still held, with the store's error (or
    /// `more`, when the last try stored what it had and more came meanwhile).
    fn still_held(&self, result: Result<usize, VaultError>, more: &str) -> Result<(), VaultError> {
        let source = match result {
            Ok(0) => return Ok(()),
            Ok(_) => StoreError::msg(more),
            Err(VaultError::Store(source)) => source,
            Err(other) => return Err(other),
        };
        let first = self.held.lock().unwrap_or_else(PoisonError::into_inner).first().map(|h| h.merchant_id.clone());
        first.map_or(Ok(()), |merchant_id| Err(VaultError::NotYetStored { merchant_id, source }))
    }

    /// Before reading a seller: what this vault holds for it, stored first (best effort: a
    /// store still failing fails the read all the same), so that a grant or a refresh held
    /// through an outage is what the reader gets once the store is back.
    fn store_held_for(&self, merchant_id: &MerchantId) {
        let _ = self.store_held_of(Some(merchant_id));
    }

    /// [`store_held`](Self::store_held) for one seller's held tokens, or (`None`) everyone's.
    /// They stay in the list (counted by [`held`](Self::held)) until stored or dropped; two
    /// calls at once may both try one, and the second finds it stored.
    fn store_held_of(&self, only: Option<&MerchantId>) -> Result<usize, VaultError> {
        let lock = || self.held.lock().unwrap_or_else(PoisonError::into_inner);
        // One look at the list: a reader (`store_held_for`) with nothing held pays one lock.
        let (waiting, total) = {
            let held = lock();
            let waiting: Vec<Held> =
                held.iter().filter(|h| only.is_none_or(|m| *m == h.merchant_id)).cloned().collect();
            (waiting, held.len())
        };
        if waiting.is_empty() {
            return Ok(total);
        }
        let now = self.now();
        let mut done = Vec::new();
        let mut failed = None;
        for held in &waiting {
            let mut completed = Completed::Stale;
            let stored = self.store.update(&held.merchant_id, &mut |current| match held.kind {
                HeldKind::Refresh { fence } => {
                    let row = current?;
                    if already_stored(&row.record, fence, held.meta) {
                        // A commit whose answer was lost had landed after all.
                        completed = Completed::Stored;
                        return None;
                    }
                    let (outcome, write) =
                        self.completed(row, fence, Completion::Refreshed(held.meta), Some(&held.sealed), now);
                    completed = outcome;
                    write
                }
                HeldKind::Grant { flow, at } => {
                    // Forgotten meanwhile (`forget` drops it from the list before it deletes
                    // the row): not brought back.
                    if !lock().iter().any(|h| h.same(held)) {
                        return None;
                    }
                    let existing = current.map(|row| &row.record);
                    match decide::late_grant(existing, at, held.meta) {
                        decide::LateGrant::Superseded | decide::LateGrant::Revoked => None,
                        decide::LateGrant::AlreadyStored => {
                            completed = Completed::Stored;
                            None
                        }
                        decide::LateGrant::Store => {
                            completed = Completed::Stored;
                            let record = decide::grant(existing, held.merchant_id.clone(), flow, held.meta, at);
                            Some(Row { record, tokens: held.sealed.clone() })
                        }
                    }
                }
            });
            if let Err(error) = stored {
                failed = Some(error);
                break;
            }
            match (completed, held.kind) {
                (Completed::Stored, _) => tracing::info!(merchant_id = %held.merchant_id, "held tokens stored"),
                (_, HeldKind::Refresh { .. }) => tracing::warn!(merchant_id = %held.merchant_id,
                    "held tokens dropped: the seller was leased again, granted again, revoked or forgotten since"),
                (_, HeldKind::Grant { .. }) => tracing::warn!(merchant_id = %held.merchant_id,
                    "held grant dropped: the seller was granted again since, or is marked revoked"),
            }
            done.push(held);
        }
        let mut held = lock();
        held.retain(|h| !done.iter().any(|d| d.same(h)));
        match failed {
            Some(error) => Err(error.into()),
            None => Ok(held.len()),
        }
    }

    /// Refreshes one seller if due (or `force`d): lease, send, store.
    pub fn refresh(
        &self,
        merchant_id: &MerchantId,
        force: bool,
        send: &mut dyn FnMut(&ObtainToken) -> Result<ObtainTokenResponse, RefreshFailure>,
    ) -> Result<RefreshOutcome, VaultError> {
        match self.begin_refresh(merchant_id, force)? {
            Begin::Done(outcome) => Ok(outcome),
            Begin::Send(flight) => {
                let result = send(&flight.operation);
                self.finish_refresh(flight, result)
            }
        }
    }

    /// What a reader does after one look at the row: the token, or what to do next.
    pub(crate) fn read_step(&self, merchant_id: &MerchantId) -> Result<Result<AccessToken, ()>, VaultError> {
        self.store_held_for(merchant_id);
        let row = self.store.get(merchant_id)?.ok_or_else(|| VaultError::UnknownSeller(merchant_id.clone()))?;
        match decide::read(&row.record, self.now(), &self.settings.policy) {
            Read::Use => Ok(Ok(self.open(merchant_id, &row.tokens)?.access_token().clone())),
            Read::Unavailable(reason) => Err(VaultError::Unavailable { merchant_id: merchant_id.clone(), reason }),
            Read::Refresh => Ok(Err(())),
        }
    }

    /// After a refresh that brought nothing: the old token if it still works, else the error.
    pub(crate) fn fallback(&self, merchant_id: &MerchantId, error: VaultError) -> Result<AccessToken, VaultError> {
        let tokens = self.tokens(merchant_id)?;
        let record = self.record(merchant_id)?;
        if matches!(record.state, decide::SellerState::Revoked | decide::SellerState::MustAuthorize) {
            return Err(error);
        }
        if tokens.is_expired(self.now()) { Err(error) } else { Ok(tokens.access_token().clone()) }
    }

    /// The seller's access token: the stored one at once while it is valid; when it is
    /// expired or about to be, a refresh (or a wait for the one in flight, up to
    /// [`Settings::wait_timeout`]).
    pub fn access_token(
        &self,
        merchant_id: &MerchantId,
        send: &mut dyn FnMut(&ObtainToken) -> Result<ObtainTokenResponse, RefreshFailure>,
    ) -> Result<AccessToken, VaultError> {
        let deadline = Instant::now() + self.settings.wait_timeout;
        loop {
            if let Ok(token) = self.read_step(merchant_id)? {
                return Ok(token);
            }
            match self.refresh(merchant_id, false, send)? {
                // The newest token Square gave, even if a skewed clock finds it expiring already.
                RefreshOutcome::Refreshed => return Ok(self.tokens(merchant_id)?.access_token().clone()),
                RefreshOutcome::NotDue | RefreshOutcome::Stale if Instant::now() < deadline => {}
                RefreshOutcome::NotDue | RefreshOutcome::Stale => {
                    return self.fallback(merchant_id, VaultError::WaitTimedOut(merchant_id.clone()));
                }
                RefreshOutcome::HeldElsewhere { .. } => {
                    if Instant::now() >= deadline {
                        return self.fallback(merchant_id, VaultError::WaitTimedOut(merchant_id.clone()));
                    }
                    std::thread::sleep(self.settings.poll);
                }
                RefreshOutcome::BackingOff { until } => {
                    return self
                        .fallback(merchant_id, VaultError::BackingOff { merchant_id: merchant_id.clone(), until });
                }
                RefreshOutcome::Failed(failure) => {
                    return self
                        .fallback(merchant_id, VaultError::Refresh { merchant_id: merchant_id.clone(), failure });
                }
                RefreshOutcome::OutcomeUnknown => {
                    let reason = Unavailable::OutcomeUnknown;
                    return self
                        .fallback(merchant_id, VaultError::Unavailable { merchant_id: merchant_id.clone(), reason });
                }
                RefreshOutcome::MustAuthorize => {
                    let reason = Unavailable::MustAuthorize;
                    return Err(VaultError::Unavailable { merchant_id: merchant_id.clone(), reason });
                }
                RefreshOutcome::Unavailable(reason) => {
                    return self
                        .fallback(merchant_id, VaultError::Unavailable { merchant_id: merchant_id.clone(), reason });
                }
            }
        }
    }

    /// Every seller with its health now.
    pub fn sellers(&self) -> Result<Vec<SellerSummary>, VaultError> {
        let now = self.now();
        Ok(self
            .store
            .records()?
            .into_iter()
            .map(|record| SellerSummary { health: decide::health(&record, now), record })
            .collect())
    }

    /// How many sellers are in each health now.
    pub fn health(&self) -> Result<HealthReport, VaultError> {
        let mut report = HealthReport::default();
        for seller in self.sellers()? {
            report.counts[Health::ALL.iter().position(|h| *h == seller.health).unwrap_or(0)] += 1;
        }
        Ok(report)
    }

    /// Handles Square's `oauth.authorization.revoked` webhook from the raw request: verifies
    /// its signature against `notification_url` (as registered with Square), marks the seller
    /// revoked, ignores a revocation older than the grant held, and deduplicates on the event
    /// id.
    pub fn revocation<B: AsRef<[u8]>>(
        &self,
        signature_key: &WebhookSignatureKey,
        notification_url: &str,
        request: &http::Request<B>,
    ) -> Result<RevocationOutcome, VaultError> {
        square_oauth::verify_request(signature_key, notification_url, request)?;
        let event = square_oauth::parse_revocation(request.body().as_ref())?;
        let merchant_id = event.merchant_id.clone();
        let revoked_at = event.revoked_at.unwrap_or(event.created_at);
        self.revoke_held(&merchant_id, revoked_at);
        let mut result = None;
        // Marked first, remembered after: a crash in between redoes an idempotent mark rather
        // than forgetting the revocation.
        self.store.update(&merchant_id, &mut |current| {
            let row = current?;
            let (revocation, write) = decide::revoke(&row.record, revoked_at);
            result = Some(revocation);
            write.map(|record| Row { record, tokens: row.tokens.clone() })
        })?;
        let first_time = self.store.remember_event(&event.event_id, self.now())?;
        let outcome = match result {
            None => RevocationOutcome::UnknownSeller(merchant_id),
            Some(_) if !first_time => RevocationOutcome::Duplicate(merchant_id),
            Some(decide::Revocation::Revoked) => RevocationOutcome::Revoked(merchant_id),
            Some(decide::Revocation::AlreadyRevoked) => RevocationOutcome::Duplicate(merchant_id),
            Some(decide::Revocation::OlderThanGrant) => RevocationOutcome::OlderThanGrant(merchant_id),
        };
        tracing::info!(event_id = %event.event_id, outcome = ?outcome, "revocation webhook");
        Ok(outcome)
    }

    /// A revocation reaches the grants this vault holds for the seller: one given before it is
    /// revoked with it, and dropped, even when the store cannot be told (no record to mark, or
    /// the store away). (One given after it is kept, and stored unless the record is marked
    /// revoked by then: see [`decide::late_grant`].)
    fn revoke_held(&self, merchant_id: &MerchantId, revoked_at: Timestamp) {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).retain(|held| match held.kind {
            HeldKind::Grant { at, .. } if held.merchant_id == *merchant_id && at <= revoked_at => {
                tracing::warn!(merchant_id = %merchant_id, "held grant dropped: the seller revoked it");
                false
            }
            _ => true,
        });
    }

    /// Re-seals every seller's tokens with the keyring's primary key (after adding the old key
    /// with [`Keyring::with_older`]); how many rows were re-sealed.
    pub fn rotate_key(&self) -> Result<usize, VaultError> {
        let primary = self.keys.primary_id();
        let mut resealed = 0;
        for record in self.store.records()? {
            let merchant_id = record.merchant_id;
            let mut failure = None;
            let mut changed = false;
            self.store.update(&merchant_id, &mut |current| {
                let row = current?;
                if row.tokens.key_id == primary {
                    return None;
                }
                match self.open(&merchant_id, &row.tokens).and_then(|tokens| self.seal(&tokens)) {
                    Ok(tokens) => {
                        changed = true;
                        Some(Row { record: row.record.clone(), tokens })
                    }
                    Err(error) => {
                        failure = Some(error);
                        None
                    }
                }
            })?;
            if let Some(error) = failure {
                return Err(error);
            }
            resealed += usize::from(changed);
        }
        tracing::info!(resealed, key_id = %primary, "vault re-sealed");
        Ok(resealed)
    }

    /// One round of the refresher: up to `limit` due sellers, refreshed by `concurrency`
    /// threads, each with its own sender from `make_send`. Returns what became of each seller it
    /// claimed ([`Round`]).
    ///
    /// Each thread claims one due seller at a time (the seller and its lease in one short
    /// transaction: [`Store::claim_leases`], or [`Store::claim_due`] for what that leaves),
    /// sends, then stores the result and claims the next seller in one store call
    /// ([`Store::replace_and_claim`]), until `limit` sellers are claimed or none is due.
    /// Refreshers running at once on other threads, processes or machines claim different
    /// sellers. A store error on a claim ends the round (after the threads finish the flights
    /// they hold) and is returned; one storing a result is counted as failed and logged (its
    /// new tokens held: [`VaultError::NotYetStored`]). A seller whose row is damaged (tampered
    /// with, copied from another row) is counted as failed and backs off, and the round goes on
    /// with the others; a refresh this vault cannot build for want of the client secret ends
    /// the round with that error.
    ///
    /// A round claims only the sellers whose tokens one of this vault's keys sealed
    /// ([`Claim::keys`]), and leaves the others to the vaults that hold their key: a process
    /// not yet given a new key, a row restored from an old backup, an old key dropped before
    /// [`rotate_key`](Self::rotate_key) finished. Such a seller is refreshed by none of this
    /// vault's rounds (it stays due, then overdue, in [`sellers`](Self::sellers)); a vault given
    /// its key as an older one ([`Keyring::with_older`]) refreshes it, and its `rotate_key`
    /// seals it with the new key.
    ///
    /// A panic in `make_send`'s senders reaches the caller once every thread has ended. New
    /// tokens held since a store failure ([`store_held`](Self::store_held)) are stored first;
    /// while that fails, no round starts.
    pub fn refresh_due<F>(
        &self,
        limit: usize,
        concurrency: usize,
        make_send: &(dyn Fn() -> F + Sync),
    ) -> Result<Round, VaultError>
    where
        S: Sync,
        F: FnMut(&ObtainToken) -> Result<ObtainTokenResponse, RefreshFailure>,
    {
        self.store_held()?;
        let claimed = AtomicU64::new(0);
        let failure = Mutex::new(None);
        let stop = AtomicBool::new(false);
        let mut round = Round::default();
        std::thread::scope(|scope| {
            let threads: Vec<_> = (0..concurrency.max(1))
                .map(|_| {
                    scope.spawn(|| {
                        let mut round = Round::default();
                        let mut send = make_send();
                        let fail = |error: VaultError| {
                            stop.store(true, Ordering::Relaxed);
                            failure.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(error);
                        };
                        // Takes one place under `limit` for a claim; false when the round is over.
                        let room =
                            || !stop.load(Ordering::Relaxed) && claimed.fetch_add(1, Ordering::Relaxed) < limit as u64;
                        // A seller claimed together with the previous result, and what to do; and
                        // where this thread's last claim was.
                        let (mut held, mut from) = (None, Timestamp::MIN);
                        loop {
                            let (merchant_id, begin) = match held.take() {
                                Some(claim) => claim,
                                None if !room() => break,
                                None => match self.claim_next(&mut from) {
                                    Ok(Some(claim)) => claim,
                                    Ok(None) => break,
                                    Err(error) => break fail(error),
                                },
                            };
                            let mut nothing_due = false;
                            let outcome = match begin {
                                Begin::Done(outcome) => Ok(outcome),
                                Begin::Send(flight) => {
                                    let result = send(&flight.operation);
                                    // The next claim goes with this result when there is room for it.
                                    match self.finish(flight, result, room().then_some(&mut from)) {
                                        Ok((outcome, next)) => {
                                            match next {
                                                Ok(Some(claim)) => held = Some(claim),
                                                Ok(None) => nothing_due = true,
                                                Err(error) => fail(error),
                                            }
                                            Ok(outcome)
                                        }
                                        Err(error) => Err(error),
                                    }
                                }
                            };
                            if let Err(error) = &outcome {
                                tracing::warn!(merchant_id = %merchant_id, error = %error, "refresher");
                            }
                            round.count(outcome.as_ref());
                            if nothing_due && held.is_none() {
                                break;
                            }
                        }
                        round
                    })
                })
                .collect();
            // Every thread joined, then the first panic (a sender's, say) goes on: joining a
            // scoped thread takes its panic, which would otherwise read as an empty round.
            let mut panicked = None;
            for thread in threads {
                match thread.join() {
                    Ok(counted) => round.add(counted),
                    Err(panic) => {
                        panicked.get_or_insert(panic);
                    }
                }
            }
            if let Some(panic) = panicked {
                std::panic::resume_unwind(panic);
            }
        });
        if let Some(error) = failure.into_inner().unwrap_or_else(PoisonError::into_inner) {
            return Err(error);
        }
        Ok(round)
    }

    /// How many sellers each of [`run_refresher`](Self::run_refresher)'s threads claims in one
    /// round of [`refresh_due`](Self::refresh_due) at most. A round starts its threads and their
    /// senders (a connection to Square each) afresh, and each thread's first claim starts from
    /// the earliest due seller: 256 makes those a small part of a busy round's work (`stop` is
    /// heeded between any two claims whatever the size).
    pub const ROUND_PER_THREAD: usize = 256;

    /// The refresher loop, until `stop` is set: rounds of [`refresh_due`](Self::refresh_due)
    /// ([`ROUND_PER_THREAD`](Self::ROUND_PER_THREAD) sellers per thread at most), and when
    /// nothing is due a sleep of about `idle` (with jitter, so that many refreshers do not wake
    /// together).
    ///
    /// A store error ends the loop, unless the vault holds new tokens the store failed to take
    /// ([`VaultError::NotYetStored`]): the loop then goes on trying to store them, every
    /// second or so, since ending it would lose them. If `stop` is set while some are still
    /// held, the loop tries them once more and returns [`VaultError::NotYetStored`] for one of
    /// them (every one is logged).
    pub fn run_refresher<F>(
        &self,
        concurrency: usize,
        idle: Duration,
        stop: &AtomicBool,
        make_send: &(dyn Fn() -> F + Sync),
    ) -> Result<(), VaultError>
    where
        S: Sync,
        F: FnMut(&ObtainToken) -> Result<ObtainTokenResponse, RefreshFailure>,
    {
        let nap = |length: Duration| {
            let until = Instant::now() + length;
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20).min(length));
            }
        };
        while !stop.load(Ordering::Relaxed) {
            let limit = concurrency.max(1) * Self::ROUND_PER_THREAD;
            match self.refresh_due(limit, concurrency, make_send) {
                Ok(round) => {
                    if round.is_empty() {
                        let jitter = SignedDuration::from_millis((entropy() % 1000) as i64);
                        nap(idle.mul_f64(0.75) + idle.mul_f64(0.5).mul_f64(jitter.as_secs_f64()));
                    }
                }
                Err(error) if self.held() > 0 => {
                    tracing::error!(held = self.held(), error = %error,
                        "the store fails while new tokens are held in memory; trying again");
                    nap(Duration::from_secs(1));
                }
                Err(error) => return Err(error),
            }
        }
        // Stopped: one last try, and an error naming a seller if anything is still held.
        self.still_held(self.store_held(), "more were held while the refresher stopped")
    }
}

/// Whether `error` is one seller's row damaged for every reader (tampered, copied from
/// another row, its clear part unreadable): that seller backs off like any failed attempt, and a
/// round goes on with the others ([`Vault::begun_claimed`]). A key this vault does not hold is
/// damage on a row a round `claimed`, whose `key_id` names a key it holds ([`Claim::keys`]);
/// elsewhere it is this vault's own setup, as a refresh it cannot build (no client secret) is,
/// and neither backs anyone off.
fn row_damaged(error: &VaultError, claimed: bool) -> bool {
    use crate::seal::SealError;
    match error {
        VaultError::Seal(SealError::Tampered { .. } | SealError::SwappedRow { .. }) | VaultError::CorruptRow(_) => true,
        VaultError::Seal(SealError::UnknownKey { .. }) => claimed,
        _ => false,
    }
}

/// Whether `record` is already what storing held refreshed tokens writes: their fencing
/// number, no lease, active, and their times (`meta`). (Not the sealed bytes: `rotate_key`
/// seals again.)
fn already_stored(record: &Record, fence: u64, meta: GrantMeta) -> bool {
    let meta = meta.to_ms();
    record.fence == fence
        && record.lease.is_none()
        && record.state == decide::SellerState::Active
        && record.obtained_at == meta.obtained_at
        && record.expires_at == meta.expires_at
        && record.refresh_at == meta.refresh_at
}

/// The stored form of a token set: the public fields as sealed beside the tokens, with the
/// opened tokens spliced in, in one buffer wiped on drop. Deserializing it puts the tokens
/// straight into their secret types; no parsed copy of them is left behind (a
/// `serde_json::Value` would hold its own, dropped unwiped). `None` when `meta` is not a JSON
/// object.
fn spliced(meta: &str, access: &str, refresh: Option<&str>) -> Option<Zeroizing<Vec<u8>>> {
    let rest = meta.trim_start().strip_prefix('{')?;
    // Room for the worst escaping (six bytes a character) so the buffer never grows: growing
    // would leave the old allocation's copy of the tokens unwiped.
    let room = |secret: &str| 24 + 6 * secret.len();
    let mut json = Zeroizing::new(Vec::with_capacity(meta.len() + room(access) + refresh.map_or(0, room)));
    json.extend_from_slice(b"{\"access_token\":");
    serde_json::to_writer(&mut *json, access).ok()?;
    if let Some(refresh) = refresh {
        json.extend_from_slice(b",\"refresh_token\":");
        serde_json::to_writer(&mut *json, refresh).ok()?;
    }
    if !rest.trim_start().starts_with('}') {
        json.push(b',');
    }
    json.extend_from_slice(rest.as_bytes());
    Some(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(access: &str, refresh: &str) -> TokenSet {
        let stored = serde_json::json!({
            "flow": "pkce",
            "client_id": "sq0idp-Test",
            "merchant_id": "MLTEST",
            "access_token": access,
            "refresh_token": refresh,
            "obtained_at": "2026-01-01T00:00:00Z",
        });
        serde_json::from_value(stored).unwrap()
    }

    #[test]
    fn spliced_tokens_load_back_exactly_whatever_characters_they_hold() {
        for (access, refresh) in [("EAAAplain", "EQAAplain"), ("EAAA\"quoted\\", "EQAA\u{7}é\n😀")] {
            let set = tokens(access, refresh);
            let meta = serde_json::to_string(&set).unwrap();
            assert!(!meta.contains("EAAA") && !meta.contains("EQAA"), "the meta holds no token");
            let json = spliced(&meta, access, Some(refresh)).unwrap();
            let loaded: TokenSet = serde_json::from_slice(&json).unwrap();
            assert_eq!(loaded, set);
        }
    }

    #[test]
    fn a_round_counts_each_outcome_once_under_what_it_asks_of_its_reader() {
        use crate::transport::tests::refusal;
        let refused = |code: &str| {
            RefreshFailure::from_core(refusal(401, "AUTHENTICATION_ERROR", code, None), Timestamp::UNIX_EPOCH)
        };
        let until = Timestamp::UNIX_EPOCH;
        let store_error =
            VaultError::NotYetStored { merchant_id: MerchantId::new("M"), source: StoreError::msg("down") };
        // Each outcome, and the counter it must land in (refreshed, skipped, failed, refused,
        // outcome unknown, must authorize).
        let cases: Vec<(Result<RefreshOutcome, VaultError>, [usize; 6])> = vec![
            (Ok(RefreshOutcome::Refreshed), [1, 0, 0, 0, 0, 0]),
            (Ok(RefreshOutcome::NotDue), [0, 1, 0, 0, 0, 0]),
            (Ok(RefreshOutcome::HeldElsewhere { until }), [0, 1, 0, 0, 0, 0]),
            (Ok(RefreshOutcome::BackingOff { until }), [0, 1, 0, 0, 0, 0]),
            (Ok(RefreshOutcome::Stale), [0, 1, 0, 0, 0, 0]),
            (Ok(RefreshOutcome::Failed(RefreshFailure::NotSent { source: None })), [0, 0, 1, 0, 0, 0]),
            (Ok(RefreshOutcome::Failed(RefreshFailure::MaybeSent { source: None })), [0, 0, 1, 0, 0, 0]),
            (Err(store_error), [0, 0, 1, 0, 0, 0]),
            (Ok(RefreshOutcome::Failed(refused("UNAUTHORIZED"))), [0, 0, 0, 1, 0, 0]),
            (Ok(RefreshOutcome::OutcomeUnknown), [0, 0, 0, 0, 1, 0]),
            (Ok(RefreshOutcome::Unavailable(Unavailable::OutcomeUnknown)), [0, 0, 0, 0, 1, 0]),
            (Ok(RefreshOutcome::MustAuthorize), [0, 0, 0, 0, 0, 1]),
            (Ok(RefreshOutcome::Unavailable(Unavailable::Revoked)), [0, 0, 0, 0, 0, 1]),
            (Ok(RefreshOutcome::Unavailable(Unavailable::MustAuthorize)), [0, 0, 0, 0, 0, 1]),
            (Ok(RefreshOutcome::Failed(refused("ACCESS_TOKEN_REVOKED"))), [0, 0, 0, 0, 0, 1]),
        ];
        let mut total = Round::default();
        for (outcome, expected) in &cases {
            let mut round = Round::default();
            round.count(outcome.as_ref());
            let got = [
                round.refreshed,
                round.skipped,
                round.failed,
                round.refused,
                round.outcome_unknown,
                round.must_authorize,
            ];
            assert_eq!(got, *expected, "{outcome:?}");
            assert_eq!(round.not_refreshed(), 1 - round.refreshed, "{outcome:?}");
            assert!(!round.is_empty());
            total.add(round);
        }
        assert_eq!((total.refreshed, total.not_refreshed()), (1, cases.len() - 1));
        assert_eq!((total.skipped, total.failed, total.outcome_unknown, total.must_authorize), (4, 3, 2, 4));
    }

    #[test]
    fn spliced_never_grows_its_buffer() {
        // Control characters escape to six bytes each: the worst case must still fit.
        let access = "\u{1}".repeat(50);
        let refresh = "\u{2}".repeat(70);
        let meta = serde_json::to_string(&tokens(&access, &refresh)).unwrap();
        let expected = meta.len() + 24 + 6 * access.len() + 24 + 6 * refresh.len();
        let json = spliced(&meta, &access, Some(&refresh)).unwrap();
        assert_eq!(json.capacity(), expected, "the buffer was reallocated");
        let loaded: TokenSet = serde_json::from_slice(&json).unwrap();
        assert_eq!(loaded.access_token().expose_secret(), access);
    }

    #[test]
    fn a_meta_that_is_not_an_object_or_already_holds_a_token_is_refused() {
        assert!(spliced("[1]", "EAAA", None).is_none());
        let mut meta: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&serde_json::to_string(&tokens("EAAA", "EQAA")).unwrap()).unwrap();
        meta.insert("access_token".into(), "EAAAplanted".into());
        let json = spliced(&serde_json::to_string(&meta).unwrap(), "EAAA", None).unwrap();
        assert!(serde_json::from_slice::<TokenSet>(&json).is_err(), "a second access_token is not taken");
    }
}
