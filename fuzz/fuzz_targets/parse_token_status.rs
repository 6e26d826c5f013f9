//! `RetrieveTokenStatus::parse` over any status, headers and body.
#![no_main]

use square_oauth::{AccessToken, RetrieveTokenStatus};

square_oauth_fuzz::fuzz_parse!(RetrieveTokenStatus::new(AccessToken::new("EAAAfuzz")));
