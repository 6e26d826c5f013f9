//! # square-oauth-tests
//!
//! One list of scenarios, written once, run through every adapter against the fake Square
//! (`square-oauth-mock`). A scenario only speaks to a [`Driver`]: send an operation, get its
//! output or a [`DriverError`]. Adding an adapter is one driver here (a type implementing
//! [`Driver`]) and one ten-line file in `tests/` calling [`scenarios!`] with it.
//!
//! - [`drivers`]: [`UreqDriver`] (blocking) and [`HyperDriver`] (async, on a tokio runtime).
//! - [`fixture`]: a fake Square with one application and one seller, and the steps every
//!   scenario needs (a code from the consent page, a token pair).
//! - [`scenarios`](mod@scenarios): the scenarios, each a plain generic function.
//!
//! Each scenario starts its own fake Square, so they run in parallel and a fault scripted by
//! one never reaches another.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod drivers;
pub mod fixture;
pub mod scenarios;
pub mod sockets;

pub use drivers::{Driver, DriverError, ErrorKind, Failure, HyperDriver, ReqwestDriver, Settings, UreqDriver};
pub use fixture::Fixture;

/// Runs every scenario of [`scenarios`](mod@scenarios) through one driver: expands to one `#[test]` per
/// scenario, named after it.
///
/// ```no_run
/// // tests/ureq.rs, whole:
/// square_oauth_tests::scenarios!(square_oauth_tests::UreqDriver);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! scenarios {
    ($driver:ty) => {
        $crate::scenarios!(@each $driver;
            full_code_flow,
            full_pkce_flow_with_rotation,
            revoke_by_merchant,
            revoke_only_access_token,
            renew_token,
            migration_token,
            expired_code,
            reused_code,
            wrong_verifier,
            bad_client_secret,
            invalid_input_is_never_sent,
            rate_limited_retry_after_is_honoured,
            unavailable_retried_for_status_not_for_pkce_refresh,
            stall_ends_in_timeout,
            reset_connection,
            truncated_body,
            html_502,
            redirect_not_followed,
            oversize_body_stopped_at_cap,
            single_use_retried_when_never_sent,
            tls_with_private_ca,
            load,
        );
    };
    (@each $driver:ty; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::scenarios::$name::<$driver>();
            }
        )*
    };
}

/// The code blocks of the project's README, compiled and run as doctests so that the README
/// cannot drift from the API.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The code blocks of the crates' own READMEs (their pages on crates.io), compiled as doctests.
#[doc = include_str!("../../core/README.md")]
#[doc = include_str!("../../adapter-hyper/README.md")]
#[doc = include_str!("../../adapter-ureq/README.md")]
#[doc = include_str!("../../adapter-reqwest/README.md")]
#[doc = include_str!("../../mock-server/README.md")]
#[cfg(doctest)]
pub struct CrateReadmeDoctests;
