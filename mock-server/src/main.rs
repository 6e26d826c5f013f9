//! `square-oauth-mock`: runs the fake Square OAuth server until stopped.
//!
//! ```text
//! square-oauth-mock --listen 127.0.0.1:8080 --app CLIENT_ID:SECRET:REDIRECT_URL --seller MERCHANT_ID
//! ```
//! The first line on standard output is the base URL (scripts read it); the registered
//! applications and sellers follow on standard error.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use square_oauth_mock::{App, Behaviour, Cors, MockConfig, MockSquare};

/// A fake of Square's OAuth server, for offline tests and demos.
#[derive(Debug, Parser)]
#[command(name = "square-oauth-mock", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// An application as CLIENT_ID:SECRET:REDIRECT_URL; repeat the same CLIENT_ID to add
    /// more redirect URLs (the first is the default).
    #[arg(long = "app", value_name = "CLIENT_ID:SECRET:REDIRECT_URL")]
    apps: Vec<String>,
    /// A seller (merchant id) who can approve; the first is the default. One is made up if none.
    #[arg(long = "seller", value_name = "MERCHANT_ID")]
    sellers: Vec<String>,
    /// Square-Version to echo when a request sends none.
    #[arg(long, default_value = "2026-08-19")]
    square_version: String,
    /// Largest request body accepted (larger gets 413).
    #[arg(long, default_value_t = 64 * 1024)]
    max_body_bytes: usize,
    /// Offer the test-only control API under /__mock/ (approve, deny, faults, clock, request
    /// log) to tests that cannot hold the library handle, such as WebAssembly tests.
    #[arg(long)]
    control: bool,
    /// Answer RetrieveTokenStatus and RenewToken of an expired or revoked token with
    /// ACCESS_TOKEN_EXPIRED / ACCESS_TOKEN_REVOKED instead of the specification's UNAUTHORIZED.
    #[arg(long)]
    specific_token_errors: bool,
    /// Refuse a code-flow refresh once the access token has been expired for more than 15 days
    /// (by default code-flow refresh tokens never expire, as Square's documents say).
    #[arg(long)]
    code_flow_refresh_grace: bool,
    /// Refuse a repeated RevokeToken (401 ACCESS_TOKEN_REVOKED) instead of answering success again.
    #[arg(long)]
    refuse_repeated_revoke: bool,
    /// Let pages of this origin call the fake from a browser (repeat; `*` for any). None by default.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Let allowed pages read this response header, such as retry-after (repeat). None by default.
    #[arg(long = "expose-header", value_name = "NAME")]
    expose_headers: Vec<String>,
    /// PEM certificate chain: serve https (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

fn parse_app(spec: &str) -> Result<(String, String, String), String> {
    let mut parts = spec.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(id), Some(secret), Some(url)) if !id.is_empty() && !secret.is_empty() && !url.is_empty() => {
            Ok((id.to_owned(), secret.to_owned(), url.to_owned()))
        }
        _ => Err(format!("--app `{spec}`: expected CLIENT_ID:SECRET:REDIRECT_URL")),
    }
}

fn run(args: Args) -> Result<(), String> {
    let mut apps: Vec<App> = Vec::new();
    for spec in &args.apps {
        let (id, secret, url) = parse_app(spec)?;
        match apps.iter_mut().find(|a| a.client_id == id) {
            Some(app) if app.client_secret == secret => app.redirect_urls.push(url),
            Some(_) => return Err(format!("--app `{id}` given twice with different secrets")),
            None => apps.push(App::new(&id, &secret, &[&url])),
        }
    }
    let mut config = MockConfig::new()
        .listen(args.listen)
        .max_body_bytes(args.max_body_bytes)
        .square_version(&args.square_version)
        .control(args.control)
        .behaviour(Behaviour {
            specific_token_errors: args.specific_token_errors,
            code_flow_refresh_grace: args.code_flow_refresh_grace,
            refuse_repeated_revoke: args.refuse_repeated_revoke,
        })
        .cors(Cors { allow_origins: args.allow_origins.clone(), expose_headers: args.expose_headers.clone() });
    for app in &apps {
        config = config.app(app.clone());
    }
    for seller in &args.sellers {
        config = config.seller(seller);
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let read = |p: &PathBuf| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
        config = config.tls(&read(cert)?, &read(key)?);
    }
    let square = MockSquare::start(config).map_err(|e| format!("cannot start on {}: {e}", args.listen))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", square.base_url()).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    drop(out);
    for app in &apps {
        eprintln!("app {} redirect {}", app.client_id, app.redirect_urls.join(" "));
    }
    let example = apps.first().map_or("CLIENT_ID", |a| a.client_id.as_str());
    eprintln!(
        "authorize at {}/oauth2/authorize?client_id={example}&scope=MERCHANT_PROFILE_READ&state=STATE",
        square.base_url()
    );
    // Serve until the process is stopped (Ctrl-C, SIGTERM): the server runs on its own thread.
    loop {
        std::thread::park();
    }
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("square-oauth-mock: {e}");
            ExitCode::FAILURE
        }
    }
}
