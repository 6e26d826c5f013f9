//! The harness the vault's tests share: a fake Square with many sellers, a vault file with its
//! key, and the refresher processes.
#![allow(dead_code, unreachable_pub)]

use square_oauth_ureq::Calls as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use square_oauth::{ClientId, ClientSecret, Config, Flow, MerchantId, ObtainToken, ObtainTokenResponse, TokenSet};
use square_oauth_mock::{App, MockConfig, MockSquare};
use square_oauth_vault::transport::from_call;
use square_oauth_vault::{Key, Keyring, RefreshFailure, Settings, SqliteStore, Store, Vault};

#[cfg(feature = "postgres")]
pub mod pg;

pub const CLIENT_ID: &str = "sq0idp-VaultTestApplication";
pub const SECRET: &str = "sq0csp-VaultTestSecret-0123456789";

pub fn fake() -> MockSquare {
    MockSquare::start(MockConfig::new().app(App::new(CLIENT_ID, SECRET, &["http://127.0.0.1:9/callback"])))
        .expect("the fake starts")
}

/// A directory for one test's vault. Multi-process tests put it in memory (`/dev/shm`) when
/// there is one: the file is still a real SQLite file shared by real processes, but a commit
/// does not wait for the disk, which would turn a minute of refreshing into ten.
pub struct Dir(pub PathBuf);

impl Dir {
    pub fn new(name: &str, in_memory: bool) -> Dir {
        let base =
            if in_memory && Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
        let dir = base.join(format!("square-oauth-vault-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a test directory");
        Dir(dir)
    }
    pub fn db(&self) -> PathBuf {
        self.0.join("vault.sqlite")
    }
    pub fn key_file(&self) -> PathBuf {
        self.0.join("vault.key")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn settings() -> Settings {
    Settings::new(ClientId::new(CLIENT_ID), Some(ClientSecret::new(SECRET)))
}

pub fn vault(dir: &Dir) -> Vault<SqliteStore> {
    let key = Key::from_file_or_create(&dir.key_file()).expect("a key");
    Vault::new(SqliteStore::open(&dir.db()).expect("the store opens"), Keyring::new(key), settings())
}

/// `count` sellers of `flow`, minted by the fake and stored in the vault; their merchant ids.
pub fn grant<S: Store>(square: &MockSquare, vault: &Vault<S>, count: usize, flow: Flow) -> Vec<MerchantId> {
    grants(square, count, flow)
        .iter()
        .map(|tokens| {
            vault.put(tokens).expect("stored");
            tokens.merchant_id().clone()
        })
        .collect()
}

/// `count` new sellers' grants from the fake Square, not stored anywhere.
pub fn grants(square: &MockSquare, count: usize, flow: Flow) -> Vec<TokenSet> {
    let now = square_oauth::jiff::Timestamp::now();
    let answers = square.mint_grants(CLIENT_ID, count, flow == Flow::Pkce).expect("grants");
    answers
        .iter()
        .map(|answer| {
            let answer: ObtainTokenResponse = serde_json::from_str(answer).expect("an ObtainToken answer");
            TokenSet::from_response(flow, ClientId::new(CLIENT_ID), answer, now).expect("a token set")
        })
        .collect()
}

pub fn client(square: &MockSquare) -> square_oauth_ureq::Client {
    square_oauth_ureq::Client::new(Config::custom(&square.base_url()).expect("a config"))
}

pub fn sender(
    client: &square_oauth_ureq::Client,
) -> impl FnMut(&ObtainToken) -> Result<ObtainTokenResponse, RefreshFailure> + '_ {
    move |operation| client.obtain_token(operation).map_err(from_call)
}

/// A refresher process on the vault in `dir`.
pub fn refresher(square: &MockSquare, dir: &Dir, extra: &[&str]) -> Child {
    refresher_on(square, dir.db().to_str().unwrap(), &dir.key_file(), extra)
}

/// A refresher process on the vault in `db` (a file, or a PostgreSQL connection string).
pub fn refresher_on(square: &MockSquare, db: &str, key_file: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vault-stress"))
        .args(["--db", db, "--key-file", key_file.to_str().unwrap()])
        .args(["--base-url", &square.base_url(), "--client-id", CLIENT_ID, "--client-secret", SECRET])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the refresher starts")
}

/// Every PKCE refresh token presented to the fake, and whether one was presented twice.
pub fn pkce_presented_twice(square: &MockSquare, pkce_tokens_seen: &mut std::collections::HashSet<String>) -> usize {
    let mut twice = 0;
    for request in square.requests() {
        if request.path != "/oauth2/token" {
            continue;
        }
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(&request.body) else { continue };
        if body["grant_type"] == "refresh_token" && body.get("client_secret").is_none() {
            let token = body["refresh_token"].as_str().unwrap_or_default().to_owned();
            if !pkce_tokens_seen.insert(token) {
                twice += 1;
            }
        }
    }
    twice
}

/// Whether the fake takes the seller's tokens: the access token's status, then one more
/// refresh through the vault (which spends a PKCE refresh token, so it is the last check).
pub fn accepted_by_fake<S: Store>(vault: &Vault<S>, client: &square_oauth_ureq::Client, merchant: &MerchantId) -> bool {
    let Ok(tokens) = vault.tokens(merchant) else { return false };
    let status = client.token_status(&square_oauth::RetrieveTokenStatus::new(tokens.access_token().clone()));
    if status.is_err() {
        return false;
    }
    matches!(vault.refresh(merchant, true, &mut sender(client)), Ok(square_oauth_vault::RefreshOutcome::Refreshed))
}

/// [`Store::replace`]'s contract, on `merchant`'s row in `store`: a compare-and-swap on the
/// whole row. It writes over exactly the row it expects (NULL columns included) and over no
/// other, whichever column differs: the record, a column that may be NULL, the sealed tokens.
pub fn replace_swaps_only_the_expected_row<S: Store>(store: &S, merchant: &MerchantId) {
    use square_oauth_vault::decide::Lease;
    let stored = || store.get(merchant).expect("a read").expect("the row");
    let unleased = stored();
    assert!(unleased.record.lease.is_none(), "the contract starts from a row without a lease");
    let mut leased = unleased.clone();
    leased.record.fence += 1;
    leased.record.lease = Some(Lease {
        owner: "contract".to_owned(),
        fence: leased.record.fence,
        // A time with nanoseconds, as a clock gives it: the store keeps milliseconds.
        expires_at: square_oauth::jiff::Timestamp::from_second(2_000_000_000).unwrap()
            + square_oauth::jiff::SignedDuration::from_nanos(123_456_789),
    });
    assert!(store.replace(&unleased, &leased).expect("a replace"), "the expected row is replaced");
    assert_eq!(stored(), leased.as_stored());
    assert_ne!(leased.as_stored(), leased, "the nanoseconds are not stored");

    let mut other = leased.clone();
    other.record.refreshes += 7;
    let mut resealed = leased.clone();
    resealed.tokens.access_token.push(0);
    let mut elsewhere = leased.clone();
    elsewhere.record.lease.as_mut().unwrap().owner = "someone else".to_owned();
    for (what, expected) in
        [("the old row", &unleased), ("other sealed tokens", &resealed), ("another lease holder", &elsewhere)]
    {
        assert!(!store.replace(expected, &other).expect("a replace"), "{what}: nothing written");
        assert_eq!(stored(), leased.as_stored(), "{what}: the row is as it was");
    }
    // And back, expecting the row as decided in memory (its nanoseconds read back as
    // milliseconds): NULL columns in the new row are written as NULL.
    assert!(store.replace(&leased, &unleased).expect("a replace"), "the row decided in memory is the one stored");
    assert_eq!(stored(), unleased);
    // A row for another seller is refused outright.
    let mut foreign = unleased.clone();
    foreign.record.merchant_id = MerchantId::new("SOMEONE-ELSE");
    assert!(store.replace(&unleased, &foreign).is_err());
}

/// Makes `seller` due an hour before the earliest of `others`: first in every claim's order.
pub fn due_first<S: Store>(vault: &Vault<S>, seller: &MerchantId, others: &[MerchantId]) {
    let earliest = others.iter().map(|m| vault.record(m).unwrap().refresh_at).min().unwrap();
    vault
        .store()
        .update(seller, &mut |row| {
            let mut row = row.unwrap().clone();
            row.record.refresh_at = earliest - square_oauth::jiff::SignedDuration::from_hours(1);
            Some(row)
        })
        .unwrap();
}

/// [`Store::claim_leases`] and [`Store::replace_and_claim`]'s contract, on a store holding no
/// other seller than `code` (6 code-flow sellers) and `pkce` (4 PKCE sellers), sealed with one
/// key: a claim takes exactly the sellers
/// [`decide::leasable`](square_oauth_vault::decide::leasable) names among those sealed with a key
/// it names ([`Claim::keys`](square_oauth_vault::Claim::keys)), writes
/// on each exactly [`decide::take_lease`](square_oauth_vault::decide::take_lease), returns them
/// as they were, and leaves every other row as it was; a replacement with a claim does both.
pub fn claims_lease_exactly_the_leasable<S: Store>(store: &S, code: &[MerchantId], pkce: &[MerchantId]) {
    use square_oauth::jiff::{SignedDuration, Timestamp};
    use square_oauth_vault::Claim;
    use square_oauth_vault::decide::{self, Lease, SellerState};
    assert!(code.len() >= 6 && pkce.len() >= 4);
    // Every seller due: a month on, with milliseconds only, as the store keeps them.
    let now =
        Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap() + SignedDuration::from_hours(24 * 30);
    let (past, future) = (now - SignedDuration::from_secs(1), now + SignedDuration::from_hours(1));
    let lease = |expires_at| Some(Lease { owner: "earlier".to_owned(), fence: 1, expires_at });
    let set = |merchant: &MerchantId, change: &dyn Fn(&mut decide::Record)| {
        store
            .update(merchant, &mut |current| {
                let mut row = current.expect("the seller").clone();
                change(&mut row.record);
                Some(row)
            })
            .expect("a write");
    };
    // One seller of each shape around `now`: 4 leasable, 5 not.
    set(&code[1], &|r| r.lease = lease(past));
    set(&pkce[1], &|r| r.lease = lease(past));
    set(&code[2], &|r| r.lease = lease(future));
    set(&pkce[2], &|r| r.retry_at = Some(future));
    set(&code[3], &|r| r.retry_at = Some(past));
    set(&pkce[3], &|r| r.refresh_at = future);
    set(&code[4], &|r| r.state = SellerState::Revoked);
    // Leasable, but sealed with a key the claims below do not name.
    let keys = [store.get(&code[0]).unwrap().unwrap().tokens.key_id];
    let other_key = "00".repeat(8);
    assert_ne!(keys[0], other_key);
    // And an expired PKCE lease under the other key, which a claim through the lease decision
    // passes on all the same: its decision needs no tokens.
    for seller in [&code[5], &pkce[1]] {
        store
            .update(seller, &mut |current| {
                let mut row = current.expect("the seller").clone();
                row.tokens.key_id = other_key.clone();
                Some(row)
            })
            .expect("a write");
    }
    let all: Vec<_> = code.iter().chain(pkce).collect();
    let before: Vec<_> = all.iter().map(|m| store.get(m).unwrap().unwrap()).collect();
    let mut leasable: Vec<_> = before
        .iter()
        .filter(|row| decide::leasable(&row.record, now) && row.tokens.key_id == keys[0])
        .map(|row| row.record.merchant_id.clone())
        .collect();
    leasable.sort();
    let mut by_hand = vec![code[0].clone(), pkce[0].clone(), code[1].clone(), code[3].clone()];
    by_hand.sort();
    assert_eq!(leasable, by_hand, "the shapes are as meant");

    let expires_at = now + SignedDuration::from_mins(5);
    let claim = Claim { now, owner: "claimer", expires_at, from: Timestamp::MIN, keys: &keys };
    let taken = store.claim_leases(&claim, 100).expect("a claim");
    let mut names: Vec<_> = taken.iter().map(|row| row.record.merchant_id.clone()).collect();
    names.sort();
    assert_eq!(names, leasable, "exactly the leasable sellers are taken");
    for (merchant, was) in all.iter().zip(&before) {
        let now_stored = store.get(merchant).unwrap().unwrap();
        match taken.iter().find(|row| row.record.merchant_id == **merchant) {
            Some(returned) => {
                assert_eq!(returned, was, "returned as it was before");
                let leased = decide::take_lease(&was.record, "claimer", expires_at);
                assert_eq!(now_stored.record, leased, "leased as the decision leases");
                assert_eq!(now_stored.tokens, was.tokens);
            }
            None => assert_eq!(&now_stored, was, "left as it was"),
        }
    }
    assert!(store.claim_leases(&claim, 100).expect("a claim").is_empty(), "nothing is leasable twice");
    // The claim through the lease decision: every due row but the leasable one under the
    // other key (`decide` writing nothing).
    let mut seen = Vec::new();
    store
        .claim_due(now, 100, &keys, &mut |row| {
            seen.push(row.record.merchant_id.clone());
            None
        })
        .expect("a claim");
    assert!(seen.contains(&pkce[1]) && !seen.contains(&code[5]), "{seen:?}");

    // A result stored with the next claim: code[0]'s lease given back with its refresh time
    // moved on, and a seller made leasable again (pkce[3], due now) claimed with it.
    let held = store.get(&code[0]).unwrap().unwrap();
    let mut next = held.clone();
    next.record.lease = None;
    next.record.refresh_at = future;
    set(&pkce[3], &|r| r.refresh_at = past);
    let claim = Claim { owner: "second", ..claim };
    let (replaced, taken) = store.replace_and_claim(&held, &next, &claim).expect("a replacement and a claim");
    assert!(replaced);
    assert_eq!(store.get(&code[0]).unwrap().unwrap(), next);
    assert_eq!(taken.len(), 1, "one seller claimed: {taken:?}");
    assert_eq!(taken[0].record.merchant_id, pkce[3]);
    assert_eq!(store.get(&pkce[3]).unwrap().unwrap().record.lease.map(|l| l.owner), Some("second".to_owned()));
    // Expecting a row that is not there any more: nothing replaced, and nothing left to claim.
    let claim = Claim { owner: "third", ..claim };
    let (replaced, taken) = store.replace_and_claim(&held, &next, &claim).expect("a replacement and a claim");
    assert!(!replaced && taken.is_empty(), "{replaced} {taken:?}");
    assert_eq!(store.get(&code[0]).unwrap().unwrap(), next);
    // A claim that names the other key too takes the seller it sealed, and only that one.
    let both = [keys[0].clone(), other_key];
    let taken = store.claim_leases(&Claim { owner: "fourth", keys: &both, ..claim }, 100).expect("a claim");
    let names: Vec<_> = taken.iter().map(|row| row.record.merchant_id.clone()).collect();
    assert_eq!(names, [code[5].clone()]);
}

/// A store that counts the calls to the methods a refresher falls back to, and hands every
/// call to `inner`: whether the refresher stayed on its one-statement path. With `careless`,
/// every `claim_leases` takes that seller whatever its state, as a faulty store would; while
/// `down` is set, every `update` fails, as a store that is away would.
pub struct Counting<S> {
    /// Whether `update` fails.
    pub down: std::sync::atomic::AtomicBool,
    /// Run at the start of the next `update` (once), before the store is touched.
    pub before_update: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>,
    pub inner: S,
    /// Calls to `update` (a decision under a row lock: the fallback of a failed compare-and-swap).
    pub updates: std::sync::atomic::AtomicUsize,
    /// Calls to `claim_due` (a claim through the lease decision).
    pub claims_due: std::sync::atomic::AtomicUsize,
    /// The seller every `claim_leases` leases, leasable or not.
    pub careless: Option<MerchantId>,
}

impl<S> Counting<S> {
    pub fn new(inner: S) -> Counting<S> {
        Counting {
            inner,
            down: Default::default(),
            before_update: Default::default(),
            updates: Default::default(),
            claims_due: Default::default(),
            careless: None,
        }
    }
}

impl<S: Store> Store for Counting<S> {
    fn get(&self, m: &MerchantId) -> Result<Option<square_oauth_vault::Row>, square_oauth_vault::StoreError> {
        self.inner.get(m)
    }
    fn update(
        &self,
        m: &MerchantId,
        decide: &mut dyn FnMut(Option<&square_oauth_vault::Row>) -> Option<square_oauth_vault::Row>,
    ) -> Result<(), square_oauth_vault::StoreError> {
        self.updates.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let before = self.before_update.lock().unwrap().take();
        if let Some(before) = before {
            before();
        }
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(square_oauth_vault::StoreError::msg("the store is down"));
        }
        self.inner.update(m, decide)
    }
    fn replace(
        &self,
        expected: &square_oauth_vault::Row,
        next: &square_oauth_vault::Row,
    ) -> Result<bool, square_oauth_vault::StoreError> {
        self.inner.replace(expected, next)
    }
    fn delete(&self, m: &MerchantId) -> Result<bool, square_oauth_vault::StoreError> {
        self.inner.delete(m)
    }
    fn records(&self) -> Result<Vec<square_oauth_vault::decide::Record>, square_oauth_vault::StoreError> {
        self.inner.records()
    }
    fn due(
        &self,
        now: square_oauth::jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<MerchantId>, square_oauth_vault::StoreError> {
        self.inner.due(now, limit)
    }
    fn remember_event(
        &self,
        id: &str,
        at: square_oauth::jiff::Timestamp,
    ) -> Result<bool, square_oauth_vault::StoreError> {
        self.inner.remember_event(id, at)
    }
    fn claim_due(
        &self,
        now: square_oauth::jiff::Timestamp,
        limit: usize,
        keys: &[String],
        decide: &mut dyn FnMut(&square_oauth_vault::Row) -> Option<square_oauth_vault::Row>,
    ) -> Result<Vec<square_oauth_vault::Row>, square_oauth_vault::StoreError> {
        self.claims_due.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.claim_due(now, limit, keys, decide)
    }
    fn claim_leases(
        &self,
        claim: &square_oauth_vault::Claim<'_>,
        limit: usize,
    ) -> Result<Vec<square_oauth_vault::Row>, square_oauth_vault::StoreError> {
        let Some(seller) = &self.careless else { return self.inner.claim_leases(claim, limit) };
        let before = self.inner.get(seller)?.expect("the seller");
        let record = square_oauth_vault::decide::take_lease(&before.record, claim.owner, claim.expires_at);
        let leased = square_oauth_vault::Row { record, tokens: before.tokens.clone() };
        self.inner.update(seller, &mut |_| Some(leased.clone()))?;
        Ok(vec![before])
    }
    fn replace_and_claim(
        &self,
        expected: &square_oauth_vault::Row,
        next: &square_oauth_vault::Row,
        claim: &square_oauth_vault::Claim<'_>,
    ) -> Result<(bool, Vec<square_oauth_vault::Row>), square_oauth_vault::StoreError> {
        self.inner.replace_and_claim(expected, next, claim)
    }
}
