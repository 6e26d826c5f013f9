//! # square-oauth-vault
//!
//! Many sellers' Square tokens, kept by many worker processes at once: sealed at rest,
//! refreshed by one holder at a time, never a single-use refresh token presented twice, never
//! a refresh result lost to a crash.
//!
//! ```no_run
//! use square_oauth::{ClientId, ClientSecret, Config, MerchantId};
//! use square_oauth_ureq::Calls as _;
//! use square_oauth_vault::{Key, Keyring, Settings, SqliteStore, Vault, transport::from_call};
//!
//! let store = SqliteStore::open("vault.sqlite".as_ref())?;
//! let keys = Keyring::new(Key::from_env("SQUARE_VAULT_KEY")?);
//! let settings = Settings::new(ClientId::new("sq0idp-app"), Some(ClientSecret::new("sq0csp-secret")));
//! let vault = Vault::new(store, keys, settings);
//!
//! let client = square_oauth_ureq::Client::new(Config::production());
//! let mut send = |operation: &square_oauth::ObtainToken| client.obtain_token(operation).map_err(from_call);
//! // Valid: at once. Expiring: refreshed here, or by whoever holds the lease.
//! let token = vault.access_token(&MerchantId::new("MLQW2MYBY81PZ"), &mut send)?;
//! # let _ = token;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The guarantees
//!
//! | guarantee | how |
//! | --- | --- |
//! | one refresh in flight per seller, across threads and processes | a lease (owner, fencing number, expiry) taken in one short transaction; nothing held across the call to Square |
//! | no stale write | a result is stored by compare-and-swap on the fencing number |
//! | a single-use (PKCE) refresh token is never presented twice | an expired PKCE lease marks the seller "outcome unknown" instead of being taken over; a late answer is still accepted; after [`Policy::unknown_deadline`](decide::Policy::unknown_deadline), "must authorize again" |
//! | nothing lost on a crash | the result is committed (SQLite `synchronous=FULL`) before the call returns |
//! | readers do not wait for a valid token | [`Vault::access_token`] reads without a lock; only an expiring token joins the single flight, with a timeout |
//! | sealed at rest | XChaCha20-Poly1305, a key id beside each value, the seller and column bound in ([`seal`]) |
//! | revocations | [`Vault::revocation`] verifies Square's webhook, deduplicates on the event id, ignores one older than the grant |
//! | scheduling | [`Vault::run_refresher`]: due at 7 days less a random spread, bounded concurrency, backoff, `Retry-After`; [`Vault::health`] |
//!
//! ## Layout
//!
//! - [`decide`]: the decisions, pure (a seller's record, the time, the policy in; what to do
//!   and what to write out).
//! - [`store`]: the [`Store`] trait; [`SqliteStore`] implements it, and `PostgresStore`
//!   (feature `postgres`) for a database shared by many machines.
//! - [`seal`]: keys and sealing.
//! - [`transport`]: [`RefreshFailure`], and the glue from the adapters' errors.
//! - [`Vault`] (blocking) and [`AsyncVault`].
//!
//! ## Out of scope
//!
//! Sending (your adapter does it), the code exchange (store its result with [`Vault::put`]),
//! and machines that do not share the store.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod asynchronous;
#[cfg(feature = "postgres")]
mod conninfo;
pub mod decide;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod seal;
pub mod sqlite;
pub mod store;
pub mod transport;
mod vault;

pub use asynchronous::AsyncVault;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use seal::{Key, Keyring, SealError};
pub use sqlite::SqliteStore;
pub use store::{Claim, Row, SealedTokens, Store, StoreError};
pub use transport::RefreshFailure;
pub use vault::{
    Begin, Clock, Flight, HealthReport, RefreshOutcome, RevocationOutcome, Round, SellerSummary, Settings, Vault,
    VaultError,
};

/// The code block of the crate's README (its page on crates.io), compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
