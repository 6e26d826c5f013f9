//! Every scenario through `square-oauth-reqwest` (async over an application's own `reqwest::Client`, on a
//! tokio runtime).

square_oauth_tests::scenarios!(square_oauth_tests::ReqwestDriver);
