//! `square-oauth demo` (placeholder while the rest lands).

use crate::context::Context;
use crate::failure::Failure;

/// Runs `demo`.
pub(crate) fn run(_cx: &Context) -> Result<(), Failure> {
    Ok(())
}
