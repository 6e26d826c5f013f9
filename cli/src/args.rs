//! The command line, as clap reads it.
//!
//! The doc comments here are the `--help` text, so URLs stay bare: `<…>` would show in the terminal.
#![allow(rustdoc::bare_urls)]

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use square_oauth::{AccessToken, ClientSecret, WebhookSignatureKey};

use crate::store::Location;

/// Get, refresh, check and revoke Square OAuth tokens, or try it all against a fake Square.
///
/// Environment: SQUARE_CLIENT_ID, SQUARE_CLIENT_SECRET, SQUARE_ACCESS_TOKEN,
/// SQUARE_ENVIRONMENT (production|sandbox), SQUARE_BASE_URL, SQUARE_VERSION; flags win over
/// the environment. Secrets are masked in every output unless --show-secrets is given.
///
/// Exit codes: 0 success, 1 local failure, 2 usage, 3 Square refused, 4 network failure or
/// timeout, 5 an answer that could not be understood.
#[derive(Debug, Parser)]
#[command(name = "square-oauth", version, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Talk to Square's sandbox (https://connect.squareupsandbox.com).
    #[arg(long, global = true, conflicts_with_all = ["production", "base_url"])]
    pub(crate) sandbox: bool,
    /// Talk to Square's production host (https://connect.squareup.com), the default.
    #[arg(long, global = true, conflicts_with = "base_url")]
    pub(crate) production: bool,
    /// Talk to another base URL: https, or http to this machine [env: SQUARE_BASE_URL].
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) base_url: Option<String>,
    /// The Square-Version to send [env: SQUARE_VERSION] [default: the library's].
    #[arg(long, global = true, value_name = "YYYY-MM-DD")]
    pub(crate) square_version: Option<String>,
    /// Machine output: one JSON document on standard output and nothing else there.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// How long one request to Square may take (30s, 2m, 500ms; a bare number is seconds).
    #[arg(long, global = true, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,
    /// Print secrets (tokens, client secrets, codes) in full instead of masked.
    #[arg(long, global = true)]
    pub(crate) show_secrets: bool,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Walk through every flow against a fake Square started in this process, explaining each step.
    #[cfg(feature = "mock")]
    Demo,
    /// Authorize in the browser and exchange the code for tokens.
    Login(Login),
    /// Refresh the tokens in a token file, with the grant its flow needs.
    Refresh(Refresh),
    /// Show what an access token may do, for whom, and until when.
    Status(Status),
    /// Revoke an authorization, or only one access token of it.
    Revoke(Revoke),
    /// Run the fake Square in the foreground, for trying an application against it.
    #[cfg(feature = "mock")]
    Mock(Mock),
    /// Print a shell completion script (bash, elvish, fish, powershell, zsh) on standard output.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on standard output: `square-oauth man > square-oauth.1`.
    Man,
    /// List the sellers in the token vault, with their health.
    Sellers(Sellers),
    /// Print a fresh access token from the vault (refreshing it if needed), for `$(…)`.
    Token(Token),
    /// Refresh the vault's due sellers, in the foreground. Ctrl-C or SIGTERM stops it once the
    /// refreshes in flight are stored (exit 0); a second Ctrl-C ends it at once.
    Refresher(VaultRefresher),
    /// Re-seal every token in the vault with a new key.
    RotateKey(RotateKey),
    /// Revoke a seller's authorization at Square and forget it in the vault.
    Logout(Logout),
    /// Bring the vault's schema up to date (PostgreSQL: the versioned migrations) and print its version.
    Migrate(Migrate),
}

/// `migrate`.
#[derive(Debug, Args)]
pub(crate) struct Migrate {
    /// The vault: a SQLite file, or a postgres:// URL (default: `SQUARE_STORE`, else
    /// `vault.sqlite` in the data directory).
    #[arg(long, value_name = "FILE|URL", value_parser = store_location())]
    pub(crate) store: Option<Location>,
}

/// `logout`.
#[derive(Debug, Args)]
pub(crate) struct Logout {
    /// The vault: a SQLite file, or a postgres:// URL (default: `SQUARE_STORE`, else
    /// `vault.sqlite` in the data directory).
    #[arg(long, value_name = "FILE|URL", value_parser = store_location())]
    pub(crate) store: Option<Location>,
    /// The seller.
    #[arg(long, value_name = "MERCHANT_ID")]
    pub(crate) merchant: String,
    /// The application id (default: `SQUARE_CLIENT_ID`).
    #[arg(long, value_name = "ID")]
    pub(crate) client_id: Option<String>,
    /// The application secret, which RevokeToken needs (default: `SQUARE_CLIENT_SECRET`).
    #[arg(long, value_name = "SECRET", value_parser = secret::<ClientSecret>)]
    pub(crate) client_secret: Option<ClientSecret>,
}

/// `sellers`.
#[derive(Debug, Args)]
pub(crate) struct Sellers {
    /// The vault: a SQLite file, or a postgres:// URL (default: `SQUARE_STORE`, else
    /// `vault.sqlite` in the data directory).
    #[arg(long, value_name = "FILE|URL", value_parser = store_location())]
    pub(crate) store: Option<Location>,
}

/// `token`.
#[derive(Debug, Args)]
pub(crate) struct Token {
    /// The vault: a SQLite file, or a postgres:// URL (default: `SQUARE_STORE`, else
    /// `vault.sqlite` in the data directory).
    #[arg(long, value_name = "FILE|URL", value_parser = store_location())]
    pub(crate) store: Option<Location>,
    /// The seller (required when the vault holds several).
    #[arg(long, value_name = "MERCHANT_ID")]
    pub(crate) merchant: Option<String>,
    /// The application id (default: `SQUARE_CLIENT_ID`).
    #[arg(long, value_name = "ID")]
    pub(crate) client_id: Option<String>,
    /// The application secret, for code-flow sellers (default: `SQUARE_CLIENT_SECRET`).
    #[arg(long, value_name = "SECRET", value_parser = secret::<ClientSecret>)]
    pub(crate) client_secret: Option<ClientSecret>,
}

/// `refresher`.
#[derive(Debug, Args)]
pub(crate) struct VaultRefresher {
    /// The vault: a SQLite file, or a postgres:// URL (default: `SQUARE_STORE`, else
    /// `vault.sqlite` in the data directory).
    #[arg(long, value_name = "FILE|URL", value_parser = store_location())]
    pub(crate) store: Option<Location>,
    /// The application id (default: `SQUARE_CLIENT_ID`).
    #[arg(long, value_name = "ID")]
    pub(crate) client_id: Option<String>,
    /// The application secret, for code-flow sellers (default: `SQUARE_CLIENT_SECRET`).
    #[arg(long, value_name = "SECRET", value_parser = secret::<ClientSecret>)]
    pub(crate) client_secret: Option<ClientSecret>,
    /// Refreshes at the same time.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub(crate) concurrency: usize,
    /// One round, then exit: 3 when the round found a seller who must authorize again or
    /// Square refused, 4 when a refresh failed or its outcome is unknown (as `refresh --all-due`).
    #[arg(long)]
    pub(crate) once: bool,
    /// Also receive Square's `oauth.authorization.revoked` webhook on this address (plain
    /// http; put TLS in front of it).
    #[arg(long, value_name = "ADDR", conflicts_with = "once")]
    pub(crate) webhook_listen: Option<std::net::SocketAddr>,
    /// The notification URL exactly as registered with Square, which the signature covers
    /// (default: `http://ADDR/`).
    #[arg(long, value_name = "URL", requires = "webhook_listen")]
    pub(crate) webhook_url: Option<String>,
    /// The subscription's signature key (default: `SQUARE_WEBHOOK_SIGNATURE_KEY`).
    #[arg(long, value_name = "KEY", requires = "webhook_listen", value_parser = secret::<WebhookSignatureKey>)]
    pub(crate) webhook_signature_key: Option<WebhookSignatureKey>,
}

/// `rotate-key`.
#[derive(Debug, Args)]
pub(crate) struct RotateKey {
    /// The vault: a SQLite file, or a postgres:// URL (default: `SQUARE_STORE`, else
    /// `vault.sqlite` in the data directory).
    #[arg(long, value_name = "FILE|URL", value_parser = store_location())]
    pub(crate) store: Option<Location>,
    /// The new key's file (created, mode 0600, if missing); the current key stays readable
    /// until every row is re-sealed. Rows sealed with the keys in `SQUARE_VAULT_OLDER_KEYS`
    /// (base64, separated by commas) are re-sealed too.
    #[arg(long, value_name = "FILE")]
    pub(crate) new_key_file: PathBuf,
}

/// `login`.
#[derive(Debug, Args)]
pub(crate) struct Login {
    /// The application id [env: SQUARE_CLIENT_ID].
    #[arg(long, value_name = "ID")]
    pub(crate) client_id: Option<String>,
    /// The application secret: code flow. Absent: PKCE flow [env: SQUARE_CLIENT_SECRET]. Prefer
    /// the environment: other users can read command lines.
    #[arg(long, value_name = "SECRET", value_parser = secret::<ClientSecret>)]
    pub(crate) client_secret: Option<ClientSecret>,
    /// A permission to ask for (repeat, or separate with commas) [default: Square's defaults].
    #[arg(long = "scope", value_name = "SCOPE", value_delimiter = ',')]
    pub(crate) scopes: Vec<String>,
    /// Read the application secret from this file (its first line), or from standard input for
    /// `-`, instead of the command line or the environment.
    #[arg(long, value_name = "PATH", conflicts_with = "client_secret")]
    pub(crate) client_secret_file: Option<PathBuf>,
    /// Listen on http://localhost:PORT/callback, which must be the app's registered redirect URL.
    #[arg(long, value_name = "PORT", default_value_t = 8000, conflicts_with = "redirect_url")]
    pub(crate) redirect_port: u16,
    /// The app's registered redirect URL [env: SQUARE_REDIRECT_URL]. A loopback http URL
    /// (http://localhost:PORT/callback) is listened on; any other (https, as Square requires)
    /// is pasted: the browser lands there, and you paste the address it shows.
    #[arg(long, value_name = "URL")]
    pub(crate) redirect_url: Option<String>,
    /// The language of the authorize page (en-US, en-CA, en-IE, es-US, fr-CA, ja-JP).
    #[arg(long, value_name = "LOCALE")]
    pub(crate) locale: Option<String>,
    /// Only print the authorize URL; don't try to open a browser.
    #[arg(long)]
    pub(crate) no_browser: bool,
    /// How long to wait for the browser to come back.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub(crate) wait: Duration,
    /// Write the token set here (mode 0600, atomically) instead of to standard output.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// The vault: a SQLite file, or a postgres:// URL (default: `SQUARE_STORE`, else
    /// `vault.sqlite` in the data directory).
    #[arg(long, value_name = "FILE|URL", value_parser = store_location())]
    pub(crate) store: Option<Location>,
}

/// `refresh`.
#[derive(Debug, Args)]
pub(crate) struct Refresh {
    /// The token file to refresh and write back.
    #[arg(long, value_name = "FILE", required_unless_present_any = ["merchant", "all_due"], conflicts_with_all = ["merchant", "all_due"])]
    pub(crate) token_file: Option<PathBuf>,
    /// The application secret, needed for code-flow tokens [env: SQUARE_CLIENT_SECRET].
    #[arg(long, value_name = "SECRET", value_parser = secret::<ClientSecret>)]
    pub(crate) client_secret: Option<ClientSecret>,
    /// Refresh this seller in the vault now, due or not.
    #[arg(long, value_name = "MERCHANT_ID", conflicts_with = "all_due")]
    pub(crate) merchant: Option<String>,
    /// Refresh every seller in the vault whose refresh is due. Exits 3 when this round found a
    /// seller who must authorize again or Square refused, 4 when a refresh failed or its
    /// outcome is unknown, with each count in `--json` (under `error` when it fails). A seller
    /// found so by an earlier round is not claimed again: `sellers` shows every seller's state.
    #[arg(long)]
    pub(crate) all_due: bool,
    /// The vault: a SQLite file, or a postgres:// URL (default: `SQUARE_STORE`, else
    /// `vault.sqlite` in the data directory).
    #[arg(long, value_name = "FILE|URL", value_parser = store_location())]
    pub(crate) store: Option<Location>,
    /// The application id, for the vault (default: `SQUARE_CLIENT_ID`).
    #[arg(long, value_name = "ID")]
    pub(crate) client_id: Option<String>,
    /// Read the application secret from this file (its first line), or from standard input for `-`.
    #[arg(long, value_name = "PATH", conflicts_with = "client_secret")]
    pub(crate) client_secret_file: Option<PathBuf>,
}

/// `status`.
#[derive(Debug, Args)]
pub(crate) struct Status {
    /// The access token to inspect [env: SQUARE_ACCESS_TOKEN].
    #[arg(long, value_name = "TOKEN", conflicts_with = "token_file", value_parser = secret::<AccessToken>)]
    pub(crate) access_token: Option<AccessToken>,
    /// Inspect the access token of this token file.
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,
}

/// `revoke`.
#[derive(Debug, Args)]
pub(crate) struct Revoke {
    /// Revoke the authorization of this access token [env: SQUARE_ACCESS_TOKEN].
    #[arg(long, value_name = "TOKEN", conflicts_with_all = ["merchant_id", "token_file"], value_parser = secret::<AccessToken>)]
    pub(crate) access_token: Option<AccessToken>,
    /// Revoke the application's authorization for this seller.
    #[arg(long, value_name = "MERCHANT_ID", conflicts_with = "token_file")]
    pub(crate) merchant_id: Option<String>,
    /// Revoke the authorization of this token file's access token.
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,
    /// End only the access token, keeping the authorization and its refresh token.
    #[arg(long)]
    pub(crate) only_access_token: bool,
    /// The application id [env: SQUARE_CLIENT_ID].
    #[arg(long, value_name = "ID")]
    pub(crate) client_id: Option<String>,
    /// The application secret, which RevokeToken requires [env: SQUARE_CLIENT_SECRET]. Prefer
    /// the environment: other users can read command lines.
    #[arg(long, value_name = "SECRET", value_parser = secret::<ClientSecret>)]
    pub(crate) client_secret: Option<ClientSecret>,
    /// Read the application secret from this file (its first line), or from standard input for `-`.
    #[arg(long, value_name = "PATH", conflicts_with = "client_secret")]
    pub(crate) client_secret_file: Option<PathBuf>,
}

/// `mock`.
#[cfg(feature = "mock")]
#[derive(Debug, Args)]
pub(crate) struct Mock {
    /// The address to listen on (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) listen: std::net::SocketAddr,
    /// Register an application as CLIENT_ID:SECRET:REDIRECT_URL (repeat the id to add redirect URLs).
    #[arg(long = "app", value_name = "CLIENT_ID:SECRET:REDIRECT_URL")]
    pub(crate) apps: Vec<String>,
    /// Register a seller who can approve (the first is the default; one is made up if none).
    #[arg(long = "seller", value_name = "MERCHANT_ID")]
    pub(crate) sellers: Vec<String>,
    /// Offer the test-only control API under /__mock/ (approve, faults, clock, behaviours).
    #[arg(long)]
    pub(crate) control: bool,
    /// Answer RetrieveTokenStatus and RenewToken of an expired or revoked token with
    /// ACCESS_TOKEN_EXPIRED / ACCESS_TOKEN_REVOKED instead of the specification's UNAUTHORIZED.
    #[arg(long)]
    pub(crate) specific_token_errors: bool,
    /// Refuse a code-flow refresh once the access token has been expired for more than 15 days
    /// (by default code-flow refresh tokens never expire, as Square's documents say).
    #[arg(long)]
    pub(crate) code_flow_refresh_grace: bool,
    /// Refuse a repeated RevokeToken (401 ACCESS_TOKEN_REVOKED) instead of answering success again.
    #[arg(long)]
    pub(crate) refuse_repeated_revoke: bool,
    /// Let pages of this origin call the fake from a browser (repeat; `*` for any). None by default.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub(crate) allow_origins: Vec<String>,
    /// Let allowed pages read this response header, such as retry-after (repeat). None by default.
    #[arg(long = "expose-header", value_name = "NAME")]
    pub(crate) expose_headers: Vec<String>,
}

/// `--store`: a `postgres://` URL (whose password is then kept out of `Debug`), else a path,
/// which need not be UTF-8.
fn store_location() -> impl clap::builder::TypedValueParser<Value = Location> {
    use clap::builder::TypedValueParser as _;
    clap::builder::OsStringValueParser::new().try_map(Location::parse)
}

/// A secret flag, wrapped the moment it is read, so that the argument structs' `Debug` (and
/// anything that logs them) prints a redaction.
fn secret<T: From<String>>(text: &str) -> Result<T, String> {
    Ok(T::from(text.to_owned()))
}

/// `30s`, `5m`, `1h 30m`, `250ms` (jiff's friendly format, or ISO 8601 such as `PT1M`), or a
/// bare number of seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let parsed = match text.parse::<f64>() {
        Ok(seconds) => jiff::SignedDuration::try_from_secs_f64(seconds).map_err(|e| e.to_string()),
        Err(_) => text.parse::<jiff::SignedDuration>().map_err(|e| e.to_string()),
    };
    let duration = parsed.map_err(|e| format!("`{text}` is not a duration such as 30s, 1h 30m or 500ms ({e})"))?;
    match Duration::try_from(duration) {
        Ok(d) if !d.is_zero() && d <= Duration::from_secs(7 * 24 * 3600) => Ok(d),
        _ => Err(format!("`{text}` must be more than zero and at most a week")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("8 days").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn secrets_on_the_command_line_never_show_in_debug() {
        let secret = "sq0csp-SENTINEL-debug";
        let token = "EAAA-SENTINEL-debug";
        for line in [
            vec!["square-oauth", "login", "--client-id", "sq0idp-a", "--client-secret", secret],
            vec!["square-oauth", "refresh", "--token-file", "f", "--client-secret", secret],
            vec!["square-oauth", "status", "--access-token", token],
            vec!["square-oauth", "revoke", "--access-token", token, "--client-secret", secret],
        ] {
            let cli = Cli::try_parse_from(&line).expect("a valid command line");
            let debug = format!("{cli:?}");
            assert!(!debug.contains("SENTINEL"), "{debug}");
            assert!(debug.contains("REDACTED"), "{debug}");
        }
        let Command::Revoke(revoke) =
            Cli::try_parse_from(["square-oauth", "revoke", "--access-token", token, "--client-secret", secret])
                .unwrap()
                .command
        else {
            panic!("revoke")
        };
        assert_eq!(revoke.access_token.unwrap().expose_secret(), token);
        assert_eq!(revoke.client_secret.unwrap().expose_secret(), secret);
    }

    #[test]
    fn a_store_url_on_the_command_line_never_shows_its_password_in_debug() {
        for line in [
            ["square-oauth", "sellers", "--store", "postgres://vault:SENTINEL-pw@db/market"],
            ["square-oauth", "migrate", "--store", "postgresql://vault@db/market?password=SENTINEL-pw"],
        ] {
            let cli = Cli::try_parse_from(line).expect("a valid command line");
            let debug = format!("{cli:?}");
            assert!(!debug.contains("SENTINEL"), "{debug}");
            assert!(debug.contains("Postgres(PgUrl(postgres://"), "{debug}");
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
