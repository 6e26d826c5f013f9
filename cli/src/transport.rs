//! The transport every command but `demo` uses: the blocking adapter, `square-oauth-ureq`, with
//! its defaults (the core's retry policy, a 1 MiB answer cap, no redirects) and `--timeout`.

pub(crate) use square_oauth_ureq::{Client, Error};
