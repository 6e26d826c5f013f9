//! Every scenario through `square-oauth-ureq` (blocking).

square_oauth_tests::scenarios!(square_oauth_tests::UreqDriver);
