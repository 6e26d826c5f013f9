//! # square-oauth-vault
//!
//! Many sellers' Square tokens, kept by many worker processes at once.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod decide;
