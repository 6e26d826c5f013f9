//! A marketplace application to copy: sellers connect their Square accounts with a button, the
//! vault keeps their tokens sealed, a refresher keeps them fresh, Square's revocation webhook
//! marks the sellers who remove the application, and a page lists every seller with its health.
//!
//! ```text
//! cargo run -p square-oauth-vault --example marketplace
//! ```
//!
//! With no configuration it runs offline, against a fake Square started in this process (the
//! `square-oauth-mock` crate, with this application registered and subscribed to revocations),
//! and keeps the vault in a SQLite file in a new temporary directory. It prints the page to open.
//!
//! # Configuration (environment)
//!
//! | variable | meaning |
//! | --- | --- |
//! | `SQUARE_CLIENT_ID` | your application id (`sq0idp-…`, or `sandbox-sq0idb-…` for the sandbox). Setting it switches from the fake to Square; the three below are then required |
//! | `SQUARE_CLIENT_SECRET` | the application secret (Developer Dashboard, OAuth page) |
//! | `SQUARE_REDIRECT_URL` | the redirect URL registered for the application, ending in `/callback` (`http://localhost:8080/callback`); the page listens on its port |
//! | `SQUARE_WEBHOOK_SIGNATURE_KEY` | the signature key of your webhook subscription to `oauth.authorization.revoked` |
//! | `SQUARE_WEBHOOK_URL` | that subscription's notification URL exactly as registered (default: the redirect URL's origin + `/webhooks/square`). Square only calls public `https` URLs: put a tunnel or proxy in front |
//! | `DATABASE_URL` | `postgres://…`: keep the vault in PostgreSQL (build with `--features postgres`); default: a SQLite file |
//! | `MARKETPLACE_DATA_DIR` | where the SQLite file and the key file go (default: a new temporary directory with the fake, `$XDG_DATA_HOME/square-oauth-marketplace` with Square) |
//! | `SQUARE_VAULT_KEY` | the vault key, base64 of 32 bytes (default: a key file in the data directory, made on first use) |
//! | `MARKETPLACE_LISTEN` | the address to listen on (default `127.0.0.1:0` with the fake, `127.0.0.1:` + the redirect URL's port with Square) |
//!
//! # Why the code flow
//!
//! This is a web server: it can keep the application secret, so it uses the code flow (Square's
//! advice for server-side applications). Its refresh tokens are multi-use and never expire, so a
//! refresh whose answer is lost costs nothing: the next one sends the same token again. PKCE is
//! for clients that cannot keep a secret (a mobile or single-page app); its refresh tokens are
//! single-use, and although the vault never presents one twice, a lost answer leaves that seller
//! "outcome unknown" and, past a deadline, "must authorize again". `state` is checked all the
//! same: it ties the redirect back to the browser that pressed the button, so nobody can make a
//! seller connect someone else's account. The browser keeps it, in an `HttpOnly` cookie that only
//! this site's `/callback` receives (`__Host-` on https, which a sibling domain cannot set), for
//! 10 minutes; the server keeps nothing between the two steps, so any instance behind a load
//! balancer can take the seller's return, and a restart loses no connection in progress. A
//! redirect without this browser's `state` (none, another, two) leaves the cookie in place: a
//! forged one sent to the browser while the seller is on Square's page does not spoil the real
//! return. Only Square's answer with the right `state`, a code or a Deny, ends the connection.
//!
//! # Before production
//!
//! - The sellers page (`GET /`) is the operator's: it lists every seller and says where the
//!   vault is. Put it behind your own login, and keep only the button public.
//! - Serve it over https (a proxy in front, `MARKETPLACE_LISTEN` the address the proxy reaches).
//! - The vault key comes from your secret store (`SQUARE_VAULT_KEY`), not from a file beside the
//!   database a backup copies with it.
//! - The vault logs through `tracing` (refreshes that fail, tokens it could not store): this
//!   example prints them on stderr; send them where you watch.
//!
//! # Routes
//!
//! | route | what it does |
//! | --- | --- |
//! | `GET /` | the sellers with their health, and the "Connect with Square" button |
//! | `POST /connect` | a new `state`, then a redirect to Square's authorize page |
//! | `GET /callback` | checks `state`, exchanges the code, stores the grant in the vault |
//! | `POST /webhooks/square` | verifies Square's signature; `oauth.authorization.revoked` marks the seller revoked |
//!
//! Beside them, the vault's refresher refreshes sellers as their tokens reach 7 days old.

use std::collections::HashMap;
use std::error::Error;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, Request, State as AppState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use square_oauth::{
    AuthorizeUrl, ClientId, ClientSecret, Config, Flow, ObtainToken, Scope, State, TokenSet, WebhookSignatureKey,
};
use square_oauth_ureq::Calls as _;
use square_oauth_vault::decide::Health;
use square_oauth_vault::transport::from_call;
use square_oauth_vault::{AsyncVault, Key, Keyring, RevocationOutcome, Settings, SqliteStore, Store, VaultError};

/// The vault over whichever store was chosen.
type Vault = AsyncVault<Arc<dyn Store>>;

/// The permissions asked of each seller.
const SCOPES: [Scope; 2] = [Scope::MerchantProfileRead, Scope::PaymentsRead];
/// How long a seller has to come back from Square's authorize page, in seconds (the cookie's
/// `Max-Age`; Square's authorization codes themselves last 5 minutes).
const CONNECT_WINDOW_SECONDS: u32 = 10 * 60;
/// Square's notifications are small; anything larger is not one.
const MAX_WEBHOOK_BYTES: usize = 64 * 1024;
/// How long a stopping server keeps trying to store new tokens the store could not take.
const HELD_PATIENCE: Duration = Duration::from_secs(60);

/// Square, real or fake, as this application talks to it.
struct Square {
    config: Config,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect_url: String,
    webhook_url: String,
    webhook_key: WebhookSignatureKey,
    /// What the page says it runs against.
    description: String,
}

struct App {
    vault: Vault,
    square: Square,
    client: square_oauth_ureq::Client,
    /// The cookie that carries `state` from the button to the callback.
    cookie: StateCookie,
    /// Where the vault is, for the page's footer.
    store_description: String,
    /// Cleared when the refresher thread ends before the server stops.
    refresher_running: Arc<AtomicBool>,
    /// The `state` of each connection whose code is being exchanged now.
    exchanging: std::sync::Mutex<std::collections::HashSet<String>>,
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("marketplace: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    // The vault reports through `tracing`: refreshes that failed, tokens it could not store.
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // Bound first: with the fake, the redirect URL registered for the application names the port.
    let real = std::env::var_os("SQUARE_CLIENT_ID").is_some();
    let listen = match std::env::var("MARKETPLACE_LISTEN") {
        Ok(addr) => addr.parse::<SocketAddr>().map_err(|e| format!("MARKETPLACE_LISTEN `{addr}`: {e}"))?,
        Err(_) if real => SocketAddr::from(([127, 0, 0, 1], listen_port(&required("SQUARE_REDIRECT_URL")?)?)),
        Err(_) => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let listener = runtime.block_on(tokio::net::TcpListener::bind(listen))?;
    let origin = format!("http://{}", listener.local_addr()?);

    // The fake lives as long as `fake`: to the end of `main`.
    let (square, fake) = if real { (real_square()?, None) } else { fake_square(&origin)? };
    let data_dir = data_dir(real)?;
    let (store, store_description) = open_store(&data_dir)?;
    let key = match std::env::var("SQUARE_VAULT_KEY") {
        Ok(_) => Key::from_env("SQUARE_VAULT_KEY")?,
        Err(_) => Key::from_file_or_create(&data_dir.join("marketplace.key"))?,
    };
    let settings = Settings::new(square.client_id.clone(), Some(square.client_secret.clone()));
    let vault = AsyncVault::new(square_oauth_vault::Vault::new(store, Keyring::new(key), settings));
    let client = square_oauth_ureq::Client::new(square.config.clone());

    println!("vault: {store_description}");
    println!("square: {}", square.description);
    println!("webhook: {} (oauth.authorization.revoked)", square.webhook_url);

    // The refresher: the vault's own loop, on threads of its own (it sends with the blocking
    // ureq client), stopped when the server stops.
    let stop = Arc::new(AtomicBool::new(false));
    let refresher_running = Arc::new(AtomicBool::new(true));
    let refresher = {
        let vault = vault.blocking().clone();
        let client = client.clone();
        let stop = stop.clone();
        let running = refresher_running.clone();
        std::thread::Builder::new().name("refresher".to_owned()).spawn(move || {
            let make_send = || {
                let client = client.clone();
                move |operation: &ObtainToken| client.obtain_token(operation).map_err(from_call)
            };
            while !stop.load(Ordering::Relaxed) {
                // `Ok` once stopped. An error is the store's (a database restart, say): the
                // loop starts again after a pause, still watching `stop`.
                if let Err(error) = vault.run_refresher(4, Duration::from_secs(30), &stop, &make_send) {
                    eprintln!("refresher: {error}; starting again in 5 s");
                    for _ in 0..50 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
            running.store(false, Ordering::Relaxed);
        })?
    };
    println!("refresher: running (4 sellers at a time, looks for due sellers every 30 s)");

    let app_client_id = square.client_id.as_str().to_owned();
    let redirect_url = square.redirect_url.clone();
    let cookie = StateCookie::for_redirect(&square.redirect_url);
    let held_by = vault.blocking().clone();
    let exchanging = std::sync::Mutex::new(std::collections::HashSet::new());
    let app = Arc::new(App { vault, square, client, cookie, store_description, refresher_running, exchanging });
    let router = Router::new()
        .route("/", get(sellers_page))
        .route("/connect", post(connect))
        .route("/callback", get(callback))
        .route("/webhooks/square", post(webhook))
        .with_state(app);
    if let Some(fake) = &fake {
        println!(
            "square: to play a seller removing the application: curl -d '{{\"client_id\":\"{}\",\"merchant_id\":\"…\"}}' {}/__mock/seller-revokes",
            app_client_id,
            fake.base_url()
        );
    }
    // With Square, the page is opened where sellers come back to (the redirect URL's origin,
    // behind whatever proxy serves it), so that the connection cookie is there on their return.
    let page_url = if real { origin_of(&redirect_url)? } else { origin };
    println!("open {page_url}/");
    let served =
        runtime.block_on(async { axum::serve(listener, router).with_graceful_shutdown(shutdown_signal()).await });
    stop.store(true, Ordering::Relaxed);
    let joined = refresher.join();
    // New tokens the store could not take (a database away) live only in this process: they
    // are lost with it, so it waits a while for the store to take them.
    let held = held_by.held();
    if held > 0 {
        eprintln!("marketplace: storing the new tokens of {held} seller(s) held in memory (up to {HELD_PATIENCE:?})");
    }
    let stored = held_by.store_held_within(HELD_PATIENCE, Duration::from_secs(1));
    served?;
    if joined.is_err() {
        return Err("the refresher thread panicked".into());
    }
    stored.map_err(|error| format!("new tokens of {} seller(s) are lost: {error}", held_by.held()))?;
    Ok(())
}

/// Ctrl-C, or the SIGTERM a service manager or container runtime sends.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn required(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(format!("{name} is required with SQUARE_CLIENT_ID (see the top of examples/marketplace.rs)")),
    }
}

/// Where to listen when `MARKETPLACE_LISTEN` is not set: the port of an `http://` redirect URL
/// (`http://localhost:8080/callback`). An `https://` one is served by a proxy in front, whose
/// address this cannot guess.
fn listen_port(url: &str) -> Result<u16, String> {
    let uri: axum::http::Uri = url.parse().map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    match (uri.scheme_str(), uri.port_u16()) {
        (Some("http"), Some(port)) => Ok(port),
        (Some("http"), None) => Ok(80),
        (Some("https"), _) => Err(format!(
            "SQUARE_REDIRECT_URL `{url}` is https: set MARKETPLACE_LISTEN to the address the https proxy in front reaches"
        )),
        _ => Err(format!("`{url}` is not an http(s) URL")),
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Result<String, String> {
    let uri: axum::http::Uri = url.parse().map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => Ok(format!("{scheme}://{authority}")),
        _ => Err(format!("`{url}` is not an absolute URL")),
    }
}

fn real_square() -> Result<Square, Box<dyn Error>> {
    let client_id = required("SQUARE_CLIENT_ID")?;
    let redirect_url = required("SQUARE_REDIRECT_URL")?;
    // This application answers the redirect at `/callback` and nowhere else.
    let path = redirect_url.parse::<axum::http::Uri>().map(|uri| uri.path().to_owned()).unwrap_or_default();
    if path != "/callback" {
        return Err(
            format!("SQUARE_REDIRECT_URL `{redirect_url}` must end in /callback (this application's route)").into()
        );
    }
    let webhook_url = match std::env::var("SQUARE_WEBHOOK_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => format!("{}/webhooks/square", origin_of(&redirect_url)?),
    };
    let (config, environment) = if client_id.starts_with("sandbox-") {
        (Config::sandbox(), "the Square sandbox")
    } else {
        (Config::production(), "Square (production)")
    };
    Ok(Square {
        config,
        description: format!("{environment}, application {client_id}"),
        client_id: ClientId::new(client_id),
        client_secret: ClientSecret::new(required("SQUARE_CLIENT_SECRET")?),
        redirect_url,
        webhook_url,
        webhook_key: WebhookSignatureKey::new(required("SQUARE_WEBHOOK_SIGNATURE_KEY")?),
    })
}

/// The embedded fake: this application registered with its redirect URL, two sellers to choose
/// from on the consent page, the revocation webhook subscribed, and the control API on so that
/// a seller's revocation can be played (`POST /__mock/seller-revokes`).
fn fake_square(origin: &str) -> Result<(Square, Option<square_oauth_mock::MockSquare>), Box<dyn Error>> {
    use square_oauth_mock::{App as MockApp, MockConfig, MockSquare};
    let client_id = "sq0idp-MarketplaceExample0001";
    let client_secret = format!("sq0csp-{}", random_text());
    let redirect_url = format!("{origin}/callback");
    let webhook_url = format!("{origin}/webhooks/square");
    let webhook_key = random_text();
    let fake = MockSquare::start(
        MockConfig::new()
            .app(MockApp::new(client_id, &client_secret, &[&redirect_url]))
            .seller("ML7BA3NQ6XWZ1")
            .seller("MLK2HR9PZT4C8")
            .control(true),
    )?;
    fake.subscribe_webhook(client_id, &webhook_url, &webhook_key)?;
    let base = fake.base_url();
    let square = Square {
        config: Config::custom(&base)?,
        client_id: ClientId::new(client_id),
        client_secret: ClientSecret::new(client_secret),
        redirect_url,
        webhook_url,
        webhook_key: WebhookSignatureKey::new(webhook_key),
        description: format!("embedded fake at {base} (control API on), application {client_id}"),
    };
    Ok((square, Some(fake)))
}

fn data_dir(real: bool) -> Result<PathBuf, Box<dyn Error>> {
    let dir = match std::env::var_os("MARKETPLACE_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        // A new fake knows none of an earlier run's tokens: a new vault each run.
        None if !real => std::env::temp_dir().join(format!("square-oauth-marketplace-{}", std::process::id())),
        None => {
            let base = std::env::var_os("XDG_DATA_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
                .ok_or("neither XDG_DATA_HOME nor HOME is set: set MARKETPLACE_DATA_DIR")?;
            base.join("square-oauth-marketplace")
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// SQLite in the data directory, or PostgreSQL when `DATABASE_URL` names one.
fn open_store(data_dir: &std::path::Path) -> Result<(Arc<dyn Store>, String), Box<dyn Error>> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            #[cfg(feature = "postgres")]
            {
                let store = square_oauth_vault::PostgresStore::open(&url)?;
                // The URL may hold a password: only where it points is printed.
                let at = url.rsplit_once('@').map_or(url.as_str(), |(_, host)| host);
                let at = at.split('?').next().unwrap_or_default();
                Ok((Arc::new(store), format!("PostgreSQL at {at} (DATABASE_URL)")))
            }
            #[cfg(not(feature = "postgres"))]
            {
                let _ = url;
                Err("DATABASE_URL names PostgreSQL, but this example was built without the `postgres` feature: \
                     cargo run -p square-oauth-vault --features postgres --example marketplace"
                    .into())
            }
        }
        Ok(url) if !url.is_empty() => Err("DATABASE_URL must start with postgres:// (unset it for SQLite)".into()),
        _ => {
            let path = data_dir.join("marketplace.sqlite");
            let store = SqliteStore::open(&path)?;
            Ok((Arc::new(store), format!("SQLite file {}", path.display())))
        }
    }
}

/// 32 random bytes as URL-safe text: cookie values, the fake's secrets.
fn random_text() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Work on the store (and the blocking HTTP client) goes to tokio's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(value) => value,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

// ---- the page ------------------------------------------------------------------------------

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// What the page calls each health, and its badge colour.
fn label(health: Health) -> (&'static str, &'static str) {
    match health {
        Health::Fresh => ("fresh", "#0a7d32"),
        Health::Due => ("due", "#a15c00"),
        Health::Overdue => ("overdue", "#b3261e"),
        Health::Failing => ("failing", "#b3261e"),
        Health::OutcomeUnknown => ("outcome unknown", "#b3261e"),
        Health::MustAuthorize => ("must authorize again", "#6b3fa0"),
        Health::Revoked => ("revoked", "#555"),
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}\
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #ddd}\
th{font-weight:600;background:#f5f5f5}code{font-size:.95em}.badge{color:#fff;border-radius:999px;padding:.15rem .7rem;font-size:.9em;white-space:nowrap}\
#connect{background:#006aff;color:#fff;border:0;border-radius:6px;font-size:1rem;padding:.7rem 1.4rem;cursor:pointer}\
.note{background:#eef6ee;border:1px solid #9c9;padding:.6rem 1rem;border-radius:6px}.error{background:#fbeeee;border-color:#d99}\
footer{color:#666;font-size:.85em;margin-top:2rem}.counts span{margin-right:1rem}";

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title>\
<style>{STYLE}</style></head><body>{body}</body></html>\n",
        escape(title)
    ))
}

fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<h1>Connecting did not work</h1><p class=\"note error\" id=\"error\">{}</p><p><a href=\"/\">Back to the sellers</a></p>",
        escape(message)
    );
    (status, page("Marketplace: error", &body)).into_response()
}

async fn sellers_page(AppState(app): AppState<Arc<App>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let vault = app.vault.blocking().clone();
    let sellers = match blocking(move || vault.sellers()).await {
        Ok(sellers) => sellers,
        Err(error) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &format!("The vault failed: {error}")),
    };
    let mut sellers = sellers;
    sellers.sort_by_key(|seller| std::cmp::Reverse(seller.record.granted_at));
    let mut counts: Vec<(Health, usize)> = Health::ALL.iter().map(|h| (*h, 0)).collect();
    let time = |t: jiff::Timestamp| t.strftime("%Y-%m-%d %H:%M UTC").to_string();
    let mut rows = String::new();
    for seller in &sellers {
        if let Some(count) = counts.iter_mut().find(|(h, _)| *h == seller.health) {
            count.1 += 1;
        }
        let record = &seller.record;
        let (name, colour) = label(seller.health);
        let merchant = escape(record.merchant_id.as_str());
        rows.push_str(&format!(
            "<tr id=\"seller-{merchant}\" data-merchant=\"{merchant}\" data-health=\"{health}\">\
<td><code>{merchant}</code></td><td class=\"health\"><span class=\"badge\" style=\"background:{colour}\">{name}</span></td>\
<td>{flow}</td><td>{obtained}</td><td>{refresh}</td><td>{expires}</td><td>{refreshes}</td></tr>",
            health = seller.health.name(),
            flow = escape(&record.flow.to_string()),
            obtained = time(record.obtained_at),
            // A revoked seller, or one who must authorize again, is never refreshed.
            refresh = match seller.health {
                Health::Revoked | Health::MustAuthorize => "no".to_owned(),
                _ if record.refresh_at == jiff::Timestamp::MAX => "never".to_owned(),
                _ => time(record.refresh_at),
            },
            expires = record.expires_at.map_or("never".to_owned(), time),
            refreshes = record.refreshes,
        ));
    }
    let table = if sellers.is_empty() {
        "<p id=\"no-sellers\">No seller has connected yet.</p>".to_owned()
    } else {
        format!(
            "<table id=\"sellers\"><thead><tr><th>Seller</th><th>Health</th><th>Flow</th><th>Token obtained</th>\
<th>Refresh from</th><th>Token expires</th><th>Refreshes</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    let counts: String = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(h, n)| format!("<span data-health=\"{}\">{}: <b>{n}</b></span>", h.name(), label(*h).0))
        .collect();
    let note = match query.get("connected") {
        Some(merchant) => {
            format!("<p class=\"note\" id=\"connected\">Connected seller <code>{}</code>.</p>", escape(merchant))
        }
        None => String::new(),
    };
    let body = format!(
        "<h1>Marketplace sellers</h1>{note}\
<form method=\"post\" action=\"/connect\"><button id=\"connect\" type=\"submit\">Connect with Square</button></form>\
<p class=\"counts\" id=\"counts\"><span>sellers: <b>{total}</b></span>{counts}</p>{table}\
<footer><p>Square: {square}<br>Vault: {store}<br>Refresher: {refresher}; webhook at <code>{webhook}</code></p></footer>",
        total = sellers.len(),
        refresher = if app.refresher_running.load(Ordering::Relaxed) {
            "running beside this page"
        } else {
            "<b>stopped</b> (see the server's log)"
        },
        square = escape(&app.square.description),
        store = escape(&app.store_description),
        webhook = escape(&app.square.webhook_url),
    );
    page("Marketplace sellers", &body).into_response()
}

// ---- connecting ----------------------------------------------------------------------------

async fn connect(AppState(app): AppState<Arc<App>>) -> Response {
    let mut entropy = [0u8; 32];
    getrandom::fill(&mut entropy).expect("the operating system's random source failed");
    let state = State::from_entropy(entropy);
    let url = AuthorizeUrl::new(app.square.client_id.clone())
        .scopes(SCOPES)
        .state(&state)
        .redirect_uri(app.square.redirect_url.clone())
        .build(&app.square.config);
    let url = match url {
        Ok(url) => url,
        Err(error) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &format!("The authorize URL: {error}")),
    };
    // The browser keeps `state` until it comes back: nothing is kept here between the two steps.
    let set = app.cookie.set(state.expose_secret());
    (StatusCode::SEE_OTHER, [(header::LOCATION, url), (header::SET_COOKIE, set)]).into_response()
}

/// A connection whose code is being exchanged, by its `state`; forgotten when dropped.
struct Exchanging<'a> {
    app: &'a App,
    state: String,
}

impl<'a> Exchanging<'a> {
    /// `None` when the same connection is being exchanged already.
    fn start(app: &'a App, state: &str) -> Option<Exchanging<'a>> {
        let mut exchanging = app.exchanging.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        exchanging.insert(state.to_owned()).then(|| Exchanging { app, state: state.to_owned() })
    }
}

impl Drop for Exchanging<'_> {
    fn drop(&mut self) {
        let mut exchanging = self.app.exchanging.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        exchanging.remove(&self.state);
    }
}

/// The cookie that carries `state` from the button to the callback: `HttpOnly` (no script
/// reads it), `SameSite=Lax` (sent on the top-level redirect back from Square, on nothing
/// another site could make the browser send), for 10 minutes. On https it is a `__Host-`
/// cookie (`Secure`, `Path=/`, no `Domain`): a sibling domain cannot plant one of its own. On
/// http (the fake, local development) it is sent to `/callback` only.
struct StateCookie {
    name: &'static str,
    attributes: &'static str,
}

impl StateCookie {
    fn for_redirect(redirect_url: &str) -> StateCookie {
        if redirect_url.starts_with("https://") {
            StateCookie { name: "__Host-marketplace_state", attributes: "Path=/; Secure; HttpOnly; SameSite=Lax" }
        } else {
            StateCookie { name: "marketplace_state", attributes: "Path=/callback; HttpOnly; SameSite=Lax" }
        }
    }

    fn set(&self, state: &str) -> String {
        format!("{}={state}; {}; Max-Age={CONNECT_WINDOW_SECONDS}", self.name, self.attributes)
    }

    fn clear(&self) -> String {
        format!("{}=; {}; Max-Age=0", self.name, self.attributes)
    }

    /// The `state` this browser was sent with, if it still has it.
    fn read(&self, headers: &HeaderMap) -> Option<State> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, value)| *key == self.name && !value.is_empty())
            .map(|(_, value)| State::new(value))
    }
}

async fn callback(AppState(app): AppState<Arc<App>>, request: Request) -> Response {
    let Some(state) = app.cookie.read(request.headers()) else {
        let message = "This browser did not start a connection here, or it expired (10 minutes): press Connect again.";
        return error_page(StatusCode::BAD_REQUEST, message);
    };
    let query = request.uri().query().unwrap_or_default();
    let code = match square_oauth::parse_callback(query, &state) {
        Ok(code) => code,
        // The seller pressed Deny on Square's page (`state` matched): this connection is over.
        Err(error @ square_oauth::Error::Callback(square_oauth::CallbackError::Denied { .. })) => {
            return (
                [(header::SET_COOKIE, app.cookie.clear())],
                error_page(StatusCode::BAD_REQUEST, &error.to_string()),
            )
                .into_response();
        }
        // Anything else may not be this browser's redirect (another site can send the browser
        // here with no `state`, a wrong one, or two): the cookie stays for the real one.
        Err(error) => return error_page(StatusCode::BAD_REQUEST, &error.to_string()),
    };
    // One exchange per connection in this process: a reload or a repeated navigation while the
    // first is under way would send the single-use code again, and Square would refuse it.
    // (Another instance behind a load balancer gets Square's refusal, "already used", while the
    // first request stores the grant.)
    let Some(_exchanging) = Exchanging::start(&app, state.expose_secret()) else {
        return error_page(
            StatusCode::CONFLICT,
            "This connection is already being completed in another request: the sellers list shows it once done.",
        );
    };
    let forget = app.cookie.clear();
    let exchange =
        ObtainToken::authorization_code(app.square.client_id.clone(), app.square.client_secret.clone(), code)
            .redirect_uri(app.square.redirect_url.clone());
    let stored = {
        let app = app.clone();
        blocking(move || -> Result<TokenSet, String> {
            // Sent once: a code is single-use, and the adapter never resends an exchange.
            let answer = app.client.obtain_token(&exchange).map_err(|e| format!("Square refused the code: {e}"))?;
            let tokens =
                TokenSet::from_response(Flow::CodeFlow, app.square.client_id.clone(), answer, jiff::Timestamp::now())
                    .map_err(|e| format!("Square's answer: {e}"))?
                    .with_scopes(SCOPES);
            // The code is spent: a store that fails past its own retries must not cost the seller
            // a second authorization. The vault then holds the grant in memory, sealed, and the
            // refresher beside this app stores it once the database is back (so does shutdown).
            match app.vault.blocking().put(&tokens) {
                Ok(()) => Ok(tokens),
                Err(error @ VaultError::NotYetStored { .. }) => {
                    eprintln!("callback: {error}");
                    Ok(tokens)
                }
                Err(error) => Err(format!("The vault failed: {error}")),
            }
        })
        .await
    };
    match stored {
        Ok(tokens) => {
            // A merchant id is Square's text: encoded, it cannot change the URL it goes into.
            let merchant: String = form_urlencoded::byte_serialize(tokens.merchant_id().as_str().as_bytes()).collect();
            let location = format!("/?connected={merchant}");
            (StatusCode::SEE_OTHER, [(header::LOCATION, location), (header::SET_COOKIE, forget)]).into_response()
        }
        Err(message) => ([(header::SET_COOKIE, forget)], error_page(StatusCode::BAD_GATEWAY, &message)).into_response(),
    }
}

// ---- the revocation webhook ----------------------------------------------------------------

async fn webhook(AppState(app): AppState<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_WEBHOOK_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "not a Square notification\n").into_response();
    };
    let request = axum::http::Request::from_parts(parts, body);
    let vault = app.vault.blocking().clone();
    let key = app.square.webhook_key.clone();
    let url = app.square.webhook_url.clone();
    let outcome = blocking(move || vault.revocation(&key, &url, &request)).await;
    match outcome {
        Ok(outcome) => {
            let said = match &outcome {
                RevocationOutcome::Revoked(merchant) => format!("seller {merchant} revoked"),
                RevocationOutcome::Duplicate(merchant) => format!("seller {merchant}: already handled"),
                RevocationOutcome::OlderThanGrant(merchant) => {
                    format!("seller {merchant}: older than the grant held, ignored")
                }
                RevocationOutcome::UnknownSeller(merchant) => format!("seller {merchant}: not in the vault"),
                other => format!("{other:?}"),
            };
            println!("webhook: {said}");
            (StatusCode::OK, format!("{said}\n")).into_response()
        }
        Err(VaultError::Webhook(error)) => {
            use square_oauth::WebhookError;
            match error {
                // Signed by Square, but not an event this endpoint handles: acknowledged, so
                // Square does not send it again.
                WebhookError::UnexpectedEventType { .. } => (StatusCode::OK, "ignored\n").into_response(),
                WebhookError::MissingSignature | WebhookError::MalformedSignature | WebhookError::SignatureMismatch => {
                    eprintln!("webhook: refused: {error}");
                    (StatusCode::UNAUTHORIZED, "signature refused\n").into_response()
                }
                other => (StatusCode::BAD_REQUEST, format!("{other}\n")).into_response(),
            }
        }
        Err(VaultError::Lifecycle(error)) => (StatusCode::BAD_REQUEST, format!("{error}\n")).into_response(),
        // The store failed: Square sends the notification again later.
        Err(error) => {
            eprintln!("webhook: {error}");
            (StatusCode::SERVICE_UNAVAILABLE, "try again later\n").into_response()
        }
    }
}
