//! One module per subcommand.

pub(crate) mod completions;
#[cfg(feature = "mock")]
pub(crate) mod demo;
pub(crate) mod login;
#[cfg(feature = "mock")]
pub(crate) mod mock;
pub(crate) mod refresh;
pub(crate) mod revoke;
pub(crate) mod status;
pub(crate) mod vault;
