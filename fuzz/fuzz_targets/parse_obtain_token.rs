//! `ObtainToken::parse` over any status, headers and body.
#![no_main]

use square_oauth::{AuthorizationCode, ClientId, ClientSecret, ObtainToken};

square_oauth_fuzz::fuzz_parse!(ObtainToken::authorization_code(
    ClientId::new("sq0idp-fuzz"),
    ClientSecret::new("sq0csp-fuzz"),
    AuthorizationCode::new("sq0cgb-fuzz"),
));
