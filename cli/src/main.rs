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
//! ```
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
mod mask;
mod spinner;
mod tokenfile;
mod transport;

use std::process::ExitCode;

use clap::Parser as _;

use crate::args::{Cli, Command};
use crate::context::Context;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let context = Context::new(cli.global);
    let result = match cli.command {
        Command::Demo => commands::demo::run(&context),
        Command::Login(args) => commands::login::run(&context, &args),
        Command::Refresh(args) => commands::refresh::run(&context, &args),
        Command::Status(args) => commands::status::run(&context, &args),
        Command::Revoke(args) => commands::revoke::run(&context, &args),
        Command::Mock(args) => commands::mock::run(&context, &args),
        Command::Sellers(args) => commands::vault::sellers(&context, &args),
        Command::Token(args) => commands::vault::token(&context, &args),
        Command::Refresher(args) => commands::vault::refresher(&context, &args),
        Command::RotateKey(args) => commands::vault::rotate_key(&context, &args),
        Command::Logout(args) => commands::vault::logout(&context, &args),
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
