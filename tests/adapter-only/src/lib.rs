//! # square-oauth-adapter-only
//!
//! An application as the README tells a user to write it: `square-oauth-ureq` with its
//! `getrandom` feature as the only dependency, the core reached through the adapter's
//! re-export. The README's PKCE example is this crate's doctest (`cargo test -p
//! square-oauth-adapter-only --doc`), so it compiles only if the adapter forwards the core's
//! `getrandom` feature and re-exports everything the example names.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The README's PKCE example, copied by the build script.
#[doc = include_str!(concat!(env!("OUT_DIR"), "/pkce.md"))]
#[cfg(doctest)]
pub struct ReadmePkceExample;
