//! `square-oauth completions SHELL` and `square-oauth man`: generated from the same clap
//! definitions that parse the command line, so they cannot drift from it.

use std::io::Write as _;

use clap::CommandFactory as _;

use crate::args::Cli;
use crate::context::local;
use crate::failure::Failure;

/// Writes the completion script for `shell` on standard output.
pub(crate) fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    // Generated into memory first: clap_complete panics when its writer fails (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "square-oauth", &mut script);
    std::io::stdout().write_all(&script).map_err(|e| local(format!("cannot write the completion script: {e}")))
}

/// Writes the man page, in roff, on standard output.
pub(crate) fn man() -> Result<(), Failure> {
    clap_mangen::Man::new(Cli::command())
        .render(&mut std::io::stdout())
        .map_err(|e| local(format!("cannot write the man page: {e}")))
}
