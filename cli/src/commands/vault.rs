//! The commands over the token vault: `sellers`, `token`, `refresh --merchant | --all-due`,
//! `refresher`, `rotate-key`, `logout`, `migrate`.
//!
//! The vault is a SQLite file or a PostgreSQL database (see [`crate::store`]). Its key comes
//! from `SQUARE_VAULT_KEY`, else the key file `vault.key` beside a SQLite file (in the data
//! directory for a database), created with mode 0600 on first use.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use square_oauth::MerchantId;
use square_oauth_ureq::Calls as _;
use square_oauth_vault::transport::{RefreshFailure, from_call};
use square_oauth_vault::{Key, Round, Settings, Store, Vault, VaultError};

use crate::args::{Logout, Migrate, Refresh, RotateKey, Sellers, Token, VaultRefresher};
use crate::context::{self, Context, env, local};
use crate::failure::{Exit, Failure};
use crate::store::{Location, chain};

/// The vault in `location`, with its key; the application from the flags or the environment.
fn open_at(
    location: &Location,
    client_id: Option<&str>,
    client_secret: Option<&square_oauth::ClientSecret>,
) -> Result<Opened, Failure> {
    let (key, store) = location.key_and_store()?;
    // Listing needs no application; refreshing does, and says so when it is missing.
    let client_id = context::client_id(client_id).unwrap_or_else(|_| square_oauth::ClientId::new("unset"));
    let settings = Settings::new(client_id, context::client_secret(client_secret));
    Ok(Opened::new(Vault::new(store, crate::store::keyring(key)?, settings)))
}

/// A command's vault. New tokens it holds when the command ends (Square answered a refresh and
/// the store failed to take them: [`VaultError::NotYetStored`]) would end with the process, and
/// a PKCE seller's old refresh token is spent by then: so before it goes, the store is tried
/// again every 2 s for up to [`HELD_PATIENCE`].
struct Opened {
    vault: Vault<Arc<dyn Store>>,
    /// Whether the command already waited for the store and gave up (not twice).
    gave_up: std::sync::atomic::AtomicBool,
}

impl Opened {
    fn new(vault: Vault<Arc<dyn Store>>) -> Opened {
        Opened { vault, gave_up: std::sync::atomic::AtomicBool::new(false) }
    }

    /// Stores what the vault holds, trying for up to [`HELD_PATIENCE`]; once it has given up,
    /// the end of the command does not try again.
    fn store_held_now(&self) -> Result<(), VaultError> {
        let stored = store_held_before_exit(&self.vault, HELD_PATIENCE, Duration::from_secs(2));
        self.gave_up.store(stored.is_err(), Ordering::Relaxed);
        stored
    }
}

/// How long a command that ends holding new tokens keeps trying to store them.
const HELD_PATIENCE: Duration = Duration::from_secs(120);

impl std::ops::Deref for Opened {
    type Target = Vault<Arc<dyn Store>>;
    fn deref(&self) -> &Self::Target {
        &self.vault
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        if !self.gave_up.load(Ordering::Relaxed) {
            let _ = self.store_held_now();
        }
    }
}

/// Stores the new tokens `vault` holds, trying every `pause` for up to `patience`, and says on
/// stderr what it does. `Ok` once none is held; the last error when the time is up.
fn store_held_before_exit<S: Store>(vault: &Vault<S>, patience: Duration, pause: Duration) -> Result<(), VaultError> {
    let held = vault.held();
    if held == 0 {
        return Ok(());
    }
    eprintln!(
        "square-oauth: {held} set(s) of new tokens could not be stored; trying again every {} s for up to {} s \
         (they are lost if this process is stopped first)",
        pause.as_secs_f64(),
        patience.as_secs()
    );
    let result = vault.store_held_within(patience, pause);
    match &result {
        Ok(()) => eprintln!("square-oauth: the held tokens are stored"),
        Err(error) => eprintln!(
            "square-oauth: gave up; {} set(s) of new tokens are lost (a refreshed PKCE seller's outcome stays \
             unknown; a new grant's seller must authorize again): {}",
            vault.held(),
            chain(error)
        ),
    }
    result
}

fn open(
    flag: Option<&Location>,
    client_id: Option<&str>,
    client_secret: Option<&square_oauth::ClientSecret>,
) -> Result<Opened, Failure> {
    open_at(&Location::resolve(flag)?, client_id, client_secret)
}

fn failure(error: VaultError) -> Failure {
    let exit = match &error {
        VaultError::Unavailable { .. } | VaultError::Refresh { .. } => Exit::Refused,
        VaultError::WaitTimedOut(_) | VaultError::BackingOff { .. } => Exit::Transport,
        VaultError::UnknownSeller(_) => Exit::Usage,
        _ => Exit::Local,
    };
    Failure::new(exit, chain(&error))
}

/// Where the vault's refreshes and revocations for the application go, as `login` decides it: a
/// `sandbox-` id goes to Square's sandbox unless a flag or the environment chose otherwise, and
/// an id and an environment that disagree are refused before anything is sent.
fn vault_config(cx: &Context, client_id: Option<&str>) -> Result<square_oauth::Config, Failure> {
    match context::client_id(client_id) {
        Ok(id) => crate::paste::config_for(cx, id.as_str()),
        Err(_) => cx.config(),
    }
}

/// Runs `sellers`: every seller in the vault with its health.
pub(crate) fn sellers(cx: &Context, args: &Sellers) -> Result<(), Failure> {
    let vault = open(args.store.as_ref(), None, None)?;
    let sellers = vault.sellers().map_err(failure)?;
    let rows: Vec<_> = sellers
        .iter()
        .map(|s| {
            json!({
                "merchant_id": s.record.merchant_id,
                "flow": s.record.flow,
                "health": s.health.name(),
                "obtained_at": s.record.obtained_at.to_string(),
                "refresh_at": s.record.refresh_at.to_string(),
                "refreshes": s.record.refreshes,
            })
        })
        .collect();
    cx.emit_json(&json!({"ok": true, "sellers": rows}));
    for s in &sellers {
        cx.say(&format!(
            "{:<16} {:<9} {:<16} obtained {}",
            s.record.merchant_id,
            s.record.flow.to_string(),
            s.health.name(),
            s.record.obtained_at
        ));
    }
    if sellers.is_empty() {
        cx.say("no sellers in the vault");
    }
    Ok(())
}

/// Runs `token`: a fresh access token on standard output, for `$(…)`.
pub(crate) fn token(cx: &Context, args: &Token) -> Result<(), Failure> {
    let vault = open(args.store.as_ref(), args.client_id.as_deref(), args.client_secret.as_ref())?;
    let merchant = match &args.merchant {
        Some(merchant) => MerchantId::new(merchant.clone()),
        None => {
            let sellers = vault.sellers().map_err(failure)?;
            match sellers.as_slice() {
                [only] => only.record.merchant_id.clone(),
                [] => return Err(Failure::usage("the vault holds no seller")),
                _ => return Err(Failure::usage("the vault holds several sellers: pass --merchant")),
            }
        }
    };
    let client = cx.client(vault_config(cx, args.client_id.as_deref())?);
    let token = vault
        .access_token(&merchant, &mut |operation| client.obtain_token(operation).map_err(from_call))
        .map_err(failure)?;
    cx.emit_json(&json!({"ok": true, "merchant_id": merchant, "access_token": token.expose_secret()}));
    cx.say(token.expose_secret());
    Ok(())
}

/// Runs `refresher`: the refresher loop in the foreground (or one round with `--once`).
pub(crate) fn refresher(cx: &Context, args: &VaultRefresher) -> Result<(), Failure> {
    let vault = open(args.store.as_ref(), args.client_id.as_deref(), args.client_secret.as_ref())?;
    let config = vault_config(cx, args.client_id.as_deref())?;
    let make_send = || {
        let client = cx.client(config.clone());
        move |operation: &square_oauth::ObtainToken| client.obtain_token(operation).map_err(from_call)
    };
    if args.once {
        let round = vault.refresh_due(usize::MAX, args.concurrency, &make_send).map_err(failure)?;
        return report_round(cx, round);
    }
    let stop = crate::stop_on_interrupt();
    let Some(addr) = args.webhook_listen else {
        cx.say("refreshing due sellers; stop with Ctrl-C");
        vault.run_refresher(args.concurrency, Duration::from_secs(60), stop, &make_send).map_err(failure)?;
        cx.say("stopped");
        return Ok(());
    };
    let key = args
        .webhook_signature_key
        .clone()
        .or_else(|| env("SQUARE_WEBHOOK_SIGNATURE_KEY").map(square_oauth::WebhookSignatureKey::new))
        .ok_or_else(|| {
            Failure::usage("--webhook-listen needs --webhook-signature-key or SQUARE_WEBHOOK_SIGNATURE_KEY")
        })?;
    let listener = std::net::TcpListener::bind(addr).map_err(|e| local(format!("cannot listen on {addr}: {e}")))?;
    let bound = listener.local_addr().map_err(|e| local(e.to_string()))?;
    // Polled, so that the loop sees `stop`.
    listener.set_nonblocking(true).map_err(|e| local(e.to_string()))?;
    let url = args.webhook_url.clone().unwrap_or_else(|| format!("http://{bound}/"));
    cx.say(&format!("refreshing due sellers, and receiving webhooks on {bound} for {url}; stop with Ctrl-C"));
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) if stream.set_nonblocking(false).is_ok() => webhook(&vault, &key, &url, stream),
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        });
        vault.run_refresher(args.concurrency, Duration::from_secs(60), stop, &make_send).map_err(failure)
    })?;
    cx.say("stopped");
    Ok(())
}

/// The largest webhook body taken.
const MAX_WEBHOOK_BODY: usize = 64 * 1024;

/// Reads one webhook request, hands it to the vault, answers. Nothing a peer sends makes it
/// panic: a request it cannot read gets 400, a bad signature 401.
fn webhook(
    vault: &Vault<Arc<dyn Store>>,
    key: &square_oauth::WebhookSignatureKey,
    url: &str,
    stream: std::net::TcpStream,
) {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};

    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.take(MAX_WEBHOOK_BODY as u64 + 16 * 1024));
    let request = (|| -> Option<square_oauth::http::Request<Vec<u8>>> {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let mut parts = line.split_whitespace();
        let mut request = square_oauth::http::Request::builder().method(parts.next()?).uri(parts.next()?);
        let mut length = 0usize;
        for _ in 0..100 {
            line.clear();
            reader.read_line(&mut line).ok()?;
            let header = line.trim_end();
            if header.is_empty() {
                let mut body = vec![0; length];
                reader.read_exact(&mut body).ok()?;
                return request.body(body).ok();
            }
            let (name, value) = header.split_once(':')?;
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok().filter(|n| *n <= MAX_WEBHOOK_BODY)?;
            }
            request = request.header(name.trim(), value.trim());
        }
        None
    })();
    let status = match request {
        None => "400 Bad Request",
        Some(request) => match vault.revocation(key, url, &request) {
            Ok(outcome) => {
                eprintln!("webhook: {outcome:?}");
                "200 OK"
            }
            Err(VaultError::Webhook(error)) => {
                eprintln!("webhook refused: {error}");
                "401 Unauthorized"
            }
            Err(error) => {
                eprintln!("webhook: {error}");
                "500 Internal Server Error"
            }
        },
    };
    let mut stream = reader.into_inner().into_inner();
    let _ = write!(stream, "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
}

/// Runs `rotate-key`: re-seals every row with a new key; the old key opens them meanwhile.
pub(crate) fn rotate_key(cx: &Context, args: &RotateKey) -> Result<(), Failure> {
    let location = Location::resolve(args.store.as_ref())?;
    let (old, store) = location.key_and_store()?;
    let new = Key::from_file_or_create(&args.new_key_file).map_err(|e| local(e.to_string()))?;
    // The older keys too: every row they sealed is re-sealed with the new one.
    let keys = crate::store::keyring(new)?.with_older(old);
    let vault = Vault::new(store, keys, Settings::new(square_oauth::ClientId::new("unset"), None));
    let resealed = vault.rotate_key().map_err(failure)?;
    // The old key no longer opens these rows: say exactly where the new one has to go.
    let new_file = args.new_key_file.display();
    let step = if env(square_oauth_vault::seal::KEY_ENV).is_some() {
        format!("set {} to the key in {new_file} wherever this vault is used", square_oauth_vault::seal::KEY_ENV)
    } else {
        format!(
            "move {new_file} over {} (and give it to every machine that uses this vault)",
            location.key_file()?.display()
        )
    };
    cx.emit_json(&json!({"ok": true, "resealed": resealed, "then": step}));
    cx.say(&format!("re-sealed {resealed} sellers with the new key; the old one no longer opens them: {step}"));
    Ok(())
}

/// Runs `migrate`: the store's schema brought up to date, and its version.
pub(crate) fn migrate(cx: &Context, args: &Migrate) -> Result<(), Failure> {
    let location = Location::resolve(args.store.as_ref())?;
    let version = location.migrate()?;
    let store = location.describe();
    cx.emit_json(&json!({"ok": true, "store": location.kind(), "location": store, "schema_version": version}));
    cx.say(&format!("{store}: the schema is at version {version}"));
    Ok(())
}

/// Runs `refresh --merchant M` (now, due or not) or `refresh --all-due`.
pub(crate) fn refresh(cx: &Context, args: &Refresh) -> Result<(), Failure> {
    let vault = open(args.store.as_ref(), args.client_id.as_deref(), args.client_secret.as_ref())?;
    let config = vault_config(cx, args.client_id.as_deref())?;
    if let Some(merchant) = &args.merchant {
        let client = cx.client(config);
        let merchant = MerchantId::new(merchant.clone());
        let outcome = vault
            .refresh(&merchant, true, &mut |operation| client.obtain_token(operation).map_err(from_call))
            .map_err(failure)?;
        use square_oauth_vault::RefreshOutcome as O;
        // Not refreshed: one failure (one JSON document), its exit code by what to do next.
        let exit = match &outcome {
            O::Refreshed => {
                cx.emit_json(&json!({"ok": true, "merchant_id": merchant, "outcome": "Refreshed"}));
                cx.say(&format!("{merchant}: Refreshed"));
                return Ok(());
            }
            // Square refused, or the seller must authorize again: no retry helps.
            O::MustAuthorize | O::Unavailable(_) | O::Failed(RefreshFailure::Refused { .. }) => Exit::Refused,
            // Another refresher holds it, it is backing off, or the outcome is not known yet:
            // later, or elsewhere.
            _ => Exit::Transport,
        };
        let mut failed = Failure::new(exit, format!("{merchant}: not refreshed: {outcome:?}"));
        failed.data = json!({"merchant_id": merchant, "outcome": format!("{outcome:?}")});
        return Err(failed);
    }
    let make_send = || {
        let client = cx.client(config.clone());
        move |operation: &square_oauth::ObtainToken| client.obtain_token(operation).map_err(from_call)
    };
    let round = vault.refresh_due(usize::MAX, 4, &make_send).map_err(failure)?;
    report_round(cx, round)
}

/// Reports a round of `refresh --all-due` or `refresher --once`, each count in `--json`. A
/// round that left a seller unrefreshed for a reason someone must see fails, so that a cron job
/// or a script notices: exit 3 when someone has to act (a seller must authorize again, or Square
/// refused the application's request), else 4 when the vault tries again by itself (a failed
/// refresh, a PKCE outcome not known yet). Sellers another refresher held, or that were backing
/// off, are not failures.
fn report_round(cx: &Context, round: Round) -> Result<(), Failure> {
    let reasons = [
        ("skipped", round.skipped),
        ("failed", round.failed),
        ("refused", round.refused),
        ("outcome_unknown", round.outcome_unknown),
        ("must_authorize", round.must_authorize),
    ];
    let mut counts = json!({"refreshed": round.refreshed, "not_refreshed": round.not_refreshed()});
    let mut text = format!("refreshed {}, not refreshed {} (", round.refreshed, round.not_refreshed());
    for (index, (name, count)) in reasons.into_iter().enumerate() {
        counts[name] = json!(count);
        let separator = if index == 0 { "" } else { ", " };
        text.push_str(&format!("{separator}{} {count}", name.replace('_', " ")));
    }
    text.push(')');
    let exit = if round.must_authorize + round.refused > 0 {
        Exit::Refused
    } else if round.failed + round.outcome_unknown > 0 {
        Exit::Transport
    } else {
        counts["ok"] = json!(true);
        cx.emit_json(&counts);
        cx.say(&text);
        return Ok(());
    };
    let mut failed = Failure::new(exit, text);
    failed.data = counts;
    failed.hint = Some(match exit {
        Exit::Refused => "`square-oauth sellers` shows which sellers must authorize again (they do so through `login`); a refusal of the application itself is logged with Square's answer",
        _ => "the vault refreshes these again after a backoff; `square-oauth sellers` shows each seller's health",
    }.to_owned());
    Err(failed)
}

/// Runs `logout`: RevokeToken for the seller, then forgets it.
pub(crate) fn logout(cx: &Context, args: &Logout) -> Result<(), Failure> {
    let vault = open(args.store.as_ref(), args.client_id.as_deref(), args.client_secret.as_ref())?;
    let merchant = MerchantId::new(args.merchant.clone());
    vault.record(&merchant).map_err(failure)?;
    let secret = context::client_secret(args.client_secret.as_ref()).ok_or_else(|| {
        Failure::usage("RevokeToken needs the application secret: pass --client-secret or set SQUARE_CLIENT_SECRET")
    })?;
    let revoke =
        square_oauth::RevokeToken::merchant(context::client_id(args.client_id.as_deref())?, secret, merchant.clone());
    cx.client(vault_config(cx, args.client_id.as_deref())?)
        .revoke_token(&revoke)
        .map_err(|e| Failure::from_transport(&e, None))?;
    vault.forget(&merchant).map_err(failure)?;
    cx.emit_json(&json!({"ok": true, "merchant_id": merchant, "revoked": true, "forgotten": true}));
    cx.say(&format!("{merchant}: revoked at Square and forgotten"));
    Ok(())
}

/// What the demo's vault chapter saw.
#[cfg(feature = "mock")]
pub(crate) struct DemoRace {
    /// Refresh requests that reached the fake Square.
    pub(crate) sent: usize,
    /// One line per refresher, then the tally.
    pub(crate) notes: Vec<String>,
}

/// The demo's vault chapter: two refreshers, each with its own connection to one vault file (as
/// two processes would have), race to refresh one PKCE seller whose refresh is due. One takes
/// the lease and sends; the other finds the lease held, or the new tokens already stored.
#[cfg(feature = "mock")]
pub(crate) fn demo_race(
    square: &square_oauth_mock::MockSquare,
    config: &square_oauth::Config,
    client_id: &str,
) -> Result<DemoRace, Failure> {
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use square_oauth::jiff::{SignedDuration, Timestamp};
    use square_oauth_vault::{RefreshOutcome, SqliteStore};

    let reuses_before = square.refused_reuses();
    let dir = std::env::temp_dir().join(format!("square-oauth-demo-vault-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| local(format!("{}: {e}", dir.display())))?;
    let result = (|| {
        let answer = square.mint_grants(client_id, 1, true).map_err(|e| local(e.to_string()))?;
        let answer: square_oauth::ObtainTokenResponse =
            serde_json::from_str(&answer[0]).map_err(|e| local(format!("the fake's grant: {e}")))?;
        let tokens = square_oauth::TokenSet::from_response(
            square_oauth::Flow::Pkce,
            square_oauth::ClientId::new(client_id),
            answer,
            Timestamp::now(),
        )
        .map_err(|e| Failure::from_lifecycle(&e))?;
        let merchant = tokens.merchant_id().clone();
        let keys = square_oauth_vault::Keyring::new(Key::generate());
        let path = dir.join("vault.sqlite");
        let open = || -> Result<Vault<SqliteStore>, Failure> {
            let mut settings = Settings::new(square_oauth::ClientId::new(client_id), None);
            // A week later: the refresh is due.
            settings.clock = std::sync::Arc::new(|| Timestamp::now() + SignedDuration::from_hours(7 * 24));
            let store = SqliteStore::open(&path).map_err(|e| local(e.to_string()))?;
            Ok(Vault::new(store, keys.clone(), settings))
        };
        let (a, b) = (open()?, open()?);
        a.put(&tokens).map_err(failure)?;
        let sent = AtomicUsize::new(0);
        let barrier = Barrier::new(2);
        let outcomes: Vec<Result<RefreshOutcome, VaultError>> = std::thread::scope(|scope| {
            let racers: Vec<_> = [&a, &b]
                .into_iter()
                .map(|vault| {
                    let (sent, barrier, merchant) = (&sent, &barrier, &merchant);
                    scope.spawn(move || {
                        let client = square_oauth_ureq::Client::new(config.clone());
                        barrier.wait();
                        vault.refresh(merchant, false, &mut |operation| {
                            sent.fetch_add(1, Ordering::SeqCst);
                            client.obtain_token(operation).map_err(from_call)
                        })
                    })
                })
                .collect();
            racers
                .into_iter()
                .map(|r| r.join().unwrap_or_else(|_| Err(VaultError::WaitTimedOut(merchant.clone()))))
                .collect()
        });
        let mut notes = Vec::new();
        for (name, outcome) in ["A", "B"].into_iter().zip(outcomes) {
            let said = match outcome.map_err(failure)? {
                RefreshOutcome::Refreshed => "took the lease, sent the refresh, stored the new tokens".to_owned(),
                RefreshOutcome::HeldElsewhere { .. } => "found the lease held by the other: sent nothing".to_owned(),
                RefreshOutcome::NotDue => "found the new tokens already stored: sent nothing".to_owned(),
                other => format!("{other:?}"),
            };
            notes.push(format!("refresher {name}: {said}"));
        }
        let sent = sent.load(Ordering::SeqCst);
        notes.push(format!(
            "{sent} refresh sent; spent refresh tokens presented in the race: {}",
            square.refused_reuses() - reuses_before
        ));
        Ok(DemoRace { sent, notes })
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The vault a login puts its grant in, opened before the code exchange: a key or a store that
/// fails is found before the seller consents and the single-use code is spent.
pub(crate) struct LoginVault {
    location: Location,
    vault: Opened,
}

/// Opens [`LoginVault`] at `flag`, `SQUARE_STORE` or the data directory; `None` (said on
/// stderr) when there is none of them.
pub(crate) fn login_vault(
    flag: Option<&Location>,
    client_id: &square_oauth::ClientId,
) -> Result<Option<LoginVault>, Failure> {
    let location = match Location::resolve(flag) {
        Ok(location) => location,
        Err(_) => {
            eprintln!("Not stored in a vault: no data directory (pass --store, or set SQUARE_STORE or HOME).");
            return Ok(None);
        }
    };
    let vault = open_at(&location, Some(client_id.as_str()), None)?;
    Ok(Some(LoginVault { location, vault }))
}

impl LoginVault {
    /// Puts the grant in, and says so. The code is spent: a store that fails past its own
    /// retries gets more time before the command gives up on it (the grant is held meanwhile).
    pub(crate) fn put(&self, tokens: &square_oauth::TokenSet) -> Result<(), Failure> {
        match self.vault.put(tokens) {
            Ok(()) => {}
            Err(VaultError::NotYetStored { .. }) => self.vault.store_held_now().map_err(failure)?,
            Err(error) => return Err(failure(error)),
        }
        eprintln!("Stored in the vault {} for merchant {}.", self.location.describe(), tokens.merchant_id());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use square_oauth::jiff::Timestamp;
    use square_oauth::{ClientId, Flow, MerchantId, ObtainTokenResponse, TokenSet};
    use square_oauth_vault::decide::Record;
    use square_oauth_vault::{Keyring, Row, SqliteStore, StoreError};

    use super::*;

    /// A real SQLite store whose writes fail while `down` is set: the outage of a store.
    struct Outage {
        inner: SqliteStore,
        down: AtomicBool,
    }

    impl Store for Outage {
        fn get(&self, merchant: &MerchantId) -> Result<Option<Row>, StoreError> {
            self.inner.get(merchant)
        }
        fn update(
            &self,
            merchant: &MerchantId,
            decide: &mut dyn FnMut(Option<&Row>) -> Option<Row>,
        ) -> Result<(), StoreError> {
            if self.down.load(Ordering::SeqCst) {
                return Err(StoreError::msg("the store is down"));
            }
            self.inner.update(merchant, decide)
        }
        fn delete(&self, merchant: &MerchantId) -> Result<bool, StoreError> {
            self.inner.delete(merchant)
        }
        fn records(&self) -> Result<Vec<Record>, StoreError> {
            self.inner.records()
        }
        fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<MerchantId>, StoreError> {
            self.inner.due(now, limit)
        }
        fn remember_event(&self, event_id: &str, received_at: Timestamp) -> Result<bool, StoreError> {
            self.inner.remember_event(event_id, received_at)
        }
    }

    fn answer(access: &str, refresh: &str) -> ObtainTokenResponse {
        serde_json::from_value(serde_json::json!({
            "access_token": access, "token_type": "bearer", "expires_at": "2099-01-01T00:00:00Z",
            "merchant_id": "MLHELD", "refresh_token": refresh,
        }))
        .expect("an ObtainToken answer")
    }

    /// The application's grant of `flow` with these tokens, obtained now.
    fn grant(flow: Flow, access: &str, refresh: &str) -> TokenSet {
        TokenSet::from_response(flow, ClientId::new("sq0idp-held"), answer(access, refresh), Timestamp::now())
            .expect("a token set")
    }

    /// A PKCE seller refreshed while the store is down: its new tokens are held, and
    /// `store_held_before_exit` stores them once the store is back, or gives up after its time.
    fn held(dir: &tempfile::TempDir) -> (Arc<Outage>, Vault<Arc<Outage>>, MerchantId) {
        let store = Arc::new(Outage {
            inner: SqliteStore::open(&dir.path().join("vault.sqlite")).expect("a store"),
            down: AtomicBool::new(false),
        });
        let settings = Settings::new(ClientId::new("sq0idp-held"), None);
        let vault = Vault::new(store.clone(), Keyring::new(Key::generate()), settings);
        let tokens = grant(Flow::Pkce, "EAAAl-old", "EQAAl-old");
        vault.put(&tokens).expect("stored");
        let merchant = tokens.merchant_id().clone();
        let refreshed = vault.refresh(&merchant, true, &mut |_| {
            store.down.store(true, Ordering::SeqCst);
            Ok(answer("EAAAl-new", "EQAAl-new"))
        });
        assert!(matches!(refreshed, Err(VaultError::NotYetStored { .. })), "{refreshed:?}");
        assert_eq!(vault.held(), 1);
        (store, vault, merchant)
    }

    #[test]
    fn held_tokens_are_stored_before_exit_once_the_store_is_back() {
        let dir = tempfile::tempdir().expect("a directory");
        let (store, vault, merchant) = held(&dir);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(300));
                store.down.store(false, Ordering::SeqCst);
            });
            store_held_before_exit(&vault, Duration::from_secs(30), Duration::from_millis(20)).expect("stored");
        });
        assert_eq!(vault.held(), 0);
        let tokens = vault.tokens(&merchant).expect("the tokens");
        assert_eq!(tokens.refresh_token().map(|t| t.expose_secret().to_owned()).as_deref(), Some("EQAAl-new"));
        assert_eq!(vault.record(&merchant).expect("a record").refreshes, 1);
    }

    #[test]
    fn a_login_whose_vault_fails_for_a_while_stores_the_grant_once_it_is_back() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("vault.sqlite");
        let store = Arc::new(Outage { inner: SqliteStore::open(&path).expect("a store"), down: AtomicBool::new(true) });
        let settings = Settings::new(ClientId::new("sq0idp-held"), None);
        let vault = Opened::new(Vault::new(store.clone() as Arc<dyn Store>, Keyring::new(Key::generate()), settings));
        let login = LoginVault { location: Location::Sqlite(path), vault };
        let tokens = grant(Flow::CodeFlow, "EAAAl-granted", "EQAAl-granted");
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(500));
                store.down.store(false, Ordering::SeqCst);
            });
            login.put(&tokens).expect("stored once the store is back");
        });
        assert_eq!(login.vault.held(), 0);
        let stored = login.vault.tokens(tokens.merchant_id()).expect("the grant");
        assert_eq!(stored.access_token().expose_secret(), "EAAAl-granted");
    }

    #[test]
    fn held_tokens_are_given_up_after_the_patience_with_the_store_still_down() {
        let dir = tempfile::tempdir().expect("a directory");
        let (_store, vault, merchant) = held(&dir);
        let error = store_held_before_exit(&vault, Duration::from_millis(100), Duration::from_millis(20))
            .expect_err("the store stays down");
        assert!(error.to_string().contains("the store is down"), "{error}");
        assert_eq!(vault.held(), 1);
        let tokens = vault.tokens(&merchant).expect("the tokens");
        assert_eq!(tokens.refresh_token().map(|t| t.expose_secret().to_owned()).as_deref(), Some("EQAAl-old"));
    }
}
