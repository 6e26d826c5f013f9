//! Every scenario through `square-oauth-hyper` (async, on a tokio runtime).

square_oauth_tests::scenarios!(square_oauth_tests::HyperDriver);
