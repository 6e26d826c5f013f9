//! `RenewToken::parse` (deprecated by Square, still parsed) over any status, headers and body.
#![no_main]
#![allow(deprecated)]

use square_oauth::{AccessToken, ClientId, ClientSecret, RenewToken};

square_oauth_fuzz::fuzz_parse!(RenewToken::new(
    ClientId::new("sq0idp-fuzz"),
    ClientSecret::new("sq0csp-fuzz"),
    AccessToken::new("EAAAfuzz"),
));
