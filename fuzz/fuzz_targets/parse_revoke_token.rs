//! `RevokeToken::parse` over any status, headers and body.
#![no_main]

use square_oauth::{AccessToken, ClientId, ClientSecret, RevokeToken};

square_oauth_fuzz::fuzz_parse!(RevokeToken::access_token(
    ClientId::new("sq0idp-fuzz"),
    ClientSecret::new("sq0csp-fuzz"),
    AccessToken::new("EAAAfuzz"),
));
