//! `square-oauth`: the Square OAuth API from the command line.
//!
//! ```text
//! square-oauth demo                                   # every flow against a fake Square, explained
//! square-oauth login --client-id ID --out tokens.json # browser consent, PKCE without a secret
//! square-oauth refresh --token-file tokens.json       # the right grant for the file's flow
//! square-oauth status --token-file tokens.json        # scopes, seller, expiry
//! square-oauth revoke --merchant-id M --client-secret S
//! square-oauth mock --app ID:SECRET:http://localhost:8000/callback
//! square-oauth sellers                                # the token vault's sellers, with health
//! square-oauth token --merchant M                     # a fresh access token from the vault
//! square-oauth refresh --merchant M | --all-due       # refresh through the vault
//! square-oauth refresher [--webhook-listen ADDR]      # the refresher loop (and revocations)
//! square-oauth rotate-key --new-key-file FILE         # re-seal the vault with a new key
//! square-oauth logout --merchant M                    # revoke at Square and forget
//! square-oauth migrate --store postgres://…           # bring the vault's schema up to date
//! ```
//!
//! The vault commands take `--store FILE|URL` (else `SQUARE_STORE`, else a SQLite file in the
//! data directory): a `postgres://` URL selects a PostgreSQL database shared by many machines.
//!
//! Built on the sans-IO core (`square-oauth`) and the blocking adapter (`square-oauth-ureq`);
//! `demo` and `mock` run the fake Square (`square-oauth-mock`) in this process. Standard output
//! carries results (one JSON document with `--json`), standard error carries progress and
//! errors. Secrets are masked everywhere unless `--show-secrets` is given.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod args;
mod atomic;
mod callback;
mod commands;
mod context;
mod failure;
// Masking whole JSON documents and URLs serves the demo, which needs the embedded fake.
#[cfg_attr(not(feature = "mock"), allow(dead_code))]
mod mask;
mod paste;
mod spinner;
mod store;
mod tokenfile;
mod transport;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser as _;
use clap::error::ErrorKind;

use crate::args::{Cli, Command};
use crate::context::Context;

/// Set by the first Ctrl-C (SIGINT, SIGTERM) while a command that stops between refreshes runs
/// (`refresher`, see [`stop_on_interrupt`]).
static STOP: AtomicBool = AtomicBool::new(false);
/// Whether the running command watches [`STOP`] rather than being ended at once.
static GRACEFUL: AtomicBool = AtomicBool::new(false);

/// For a command that stops cleanly on Ctrl-C or SIGTERM (a `systemctl stop`, a container's
/// end): the flag they set. The refreshes in flight then finish and are stored, since exiting
/// mid-refresh would lose a rotated PKCE token that Square has already issued. A second
/// Ctrl-C still ends the process at once.
pub(crate) fn stop_on_interrupt() -> &'static AtomicBool {
    GRACEFUL.store(true, Ordering::SeqCst);
    &STOP
}

fn main() -> ExitCode {
    // Ctrl-C (SIGINT, SIGTERM) during login or refresh: no temporary file is left behind, and the
    // exit code is the shell's usual 130.
    let _ = ctrlc::set_handler(|| {
        if GRACEFUL.load(Ordering::SeqCst) && !STOP.swap(true, Ordering::SeqCst) {
            eprintln!("square-oauth: stopping once the refreshes in flight are stored (Ctrl-C again to end now)");
            return;
        }
        atomic::remove_pending();
        std::process::exit(130);
    });
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return argument_error(&error),
    };
    // The vault's warnings and errors on standard error, where the rest of the command's
    // messages go: a refresh that failed and why, a lease given back, new tokens held while the
    // store is away. A refresher under a service manager keeps them in its log.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .with_target(false)
        .without_time()
        .init();
    let context = Context::new(cli.global);
    let result = match cli.command {
        #[cfg(feature = "mock")]
        Command::Demo => commands::demo::run(&context),
        Command::Login(args) => commands::login::run(&context, &args),
        Command::Refresh(args) => commands::refresh::run(&context, &args),
        Command::Status(args) => commands::status::run(&context, &args),
        Command::Revoke(args) => commands::revoke::run(&context, &args),
        #[cfg(feature = "mock")]
        Command::Mock(args) => commands::mock::run(&context, &args),
        Command::Completions { shell } => commands::completions::completions(shell),
        Command::Man => commands::completions::man(),
        Command::Sellers(args) => commands::vault::sellers(&context, &args),
        Command::Token(args) => commands::vault::token(&context, &args),
        Command::Refresher(args) => commands::vault::refresher(&context, &args),
        Command::RotateKey(args) => commands::vault::rotate_key(&context, &args),
        Command::Logout(args) => commands::vault::logout(&context, &args),
        Command::Migrate(args) => commands::vault::migrate(&context, &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprint!("{}", failure.render());
            context.emit_json(&failure.to_json());
            failure.exit.into()
        }
    }
}

/// A command line clap refused (or `--help`, `--version`). With `--json` anywhere before `--`,
/// the refusal is also one JSON document on standard output, like every other failure.
fn argument_error(error: &clap::Error) -> ExitCode {
    if matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    let json = std::env::args_os().skip(1).take_while(|arg| arg != "--").any(|arg| arg == "--json");
    if json {
        let rendered = error.render().to_string();
        let message = rendered.lines().next().unwrap_or_default().trim_start_matches("error: ").to_owned();
        let failure = failure::Failure::usage(message);
        let _ = serde_json::to_writer_pretty(std::io::stdout().lock(), &failure.to_json());
        println!();
    }
    let _ = error.print();
    ExitCode::from(2)
}
