//! The workloads of the benchmarks, written once and run both by `cargo bench` (divan, in
//! `benches/`) and by the `bench-report` binary (interleaved pairs, one JSON line each).
//!
//! Every workload comes in pairs that do the same job on the same bytes:
//!
//! - [`ours`]: this library, as a caller uses it.
//! - [`floor`]: the least code that does the same job by hand: the body serialized with bare
//!   `serde_json` into a `Vec`, an `http::Request` with the same headers, Square's answer
//!   deserialized into a plain struct of `String`s. No checks, no secrets wiped, no typed
//!   timestamps: the cost of the bytes alone.
//! - [`peer`]: `oauth2` 5 doing the same code exchange through an in-memory HTTP client that
//!   returns the same canned answer.
//! - [`loopback`]: a minimal keep-alive HTTP server on 127.0.0.1 for the adapters and their raw
//!   clients.
//! - [`vault`]: the token vault on SQLite against the adapter plus one bare `UPDATE`, and a
//!   refresher round over many due sellers.
//!
//! Each workload returns what it produced so that callers can `black_box` it and the optimizer
//! cannot drop the work.

pub mod alloc;
pub mod floor;
pub mod loopback;
pub mod mock;
pub mod ours;
pub mod peer;
pub mod vault;

/// The application, seller and credentials every workload uses (Square's documentation
/// examples, so the lengths are realistic).
pub mod fixture {
    /// Application id.
    pub const CLIENT_ID: &str = "sq0idp-uaPHILoPzWZk3tlJqlML0g";
    /// Application secret.
    pub const CLIENT_SECRET: &str = "sq0csp-30a-4C_tVOnTh14Piza2BfTPBXyLafLPWSzY1qAjeBfM";
    /// An authorization code from the redirect.
    pub const CODE: &str = "sq0cgb-l0SBqxs4uwxErTVyYOdemg";
    /// The registered redirect URL.
    pub const REDIRECT_URI: &str = "https://example.com/square/callback";
    /// An access token.
    pub const ACCESS_TOKEN: &str = "EAAAl3ikZIe18J-2-cHlV2bL4-EaZHGoJUhtEBT7QA6-7AgwIHw8Xe1IoUvGsNxA";
    /// A PKCE refresh token.
    pub const REFRESH_TOKEN: &str = "EQAAl0OcByu3IYJYScGGg-8E5YNf0r0b6jCTCMy5nOcRZ4ok0wbWAL8vY3tZWNcc";
    /// The `state` of the authorize URL.
    pub const STATE: &str = "Qm9vbS1zdGF0ZS0wMTIzNDU2Nzg5YWJjZGVmZ2hpams";
    /// 32 bytes of entropy for PKCE (RFC 7636, appendix B).
    pub const ENTROPY: [u8; 32] = [
        116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191,
        240, 91, 88, 5, 88, 83, 132, 141, 121,
    ];
    /// The redirect Square sends the seller back to.
    pub const CALLBACK: &str = "https://example.com/square/callback?code=sq0cgb-l0SBqxs4uwxErTVyYOdemg&response_type=code&state=Qm9vbS1zdGF0ZS0wMTIzNDU2Nzg5YWJjZGVmZ2hpams";

    /// ObtainToken's answer to a code exchange (Square's example of 2025-08-20).
    pub const CODE_ANSWER: &str = r#"{"access_token":"EAAAl3ikZIe18J-2-cHlV2bL4-EaZHGoJUhtEBT7QA6-7AgwIHw8Xe1IoUvGsNxA","token_type":"bearer","expires_at":"2025-04-03T18:31:06Z","merchant_id":"MLQW2MYBY81PZ","refresh_token":"EQAAl0OcByu3IYJYScGGg-8E5YNf0r0b6jCTCMy5nOcRZ4ok0wbWAL8vY3tZWNcc","short_lived":false}"#;
    /// ObtainToken's answer to a PKCE refresh: a new single-use refresh token with its expiry.
    pub const PKCE_ANSWER: &str = r#"{"access_token":"EAAAl3ikZIe18J-2-cHlV2bL4-EaZHGoJUhtEBT7QA6-7AgwIHw8Xe1IoUvGsNxB","token_type":"bearer","expires_at":"2025-04-03T18:31:06Z","merchant_id":"MLQW2MYBY81PZ","refresh_token":"EQAAl0OcByu3IYJYScGGg-8E5YNf0r0b6jCTCMy5nOcRZ4ok0wbWAL8vY3tZWNcd","short_lived":false,"refresh_token_expires_at":"2025-07-02T18:31:06Z"}"#;
    /// RetrieveTokenStatus's answer.
    pub const STATUS_ANSWER: &str = r#"{"scopes":["PAYMENTS_READ","PAYMENTS_WRITE"],"expires_at":"2022-10-14T14:44:00Z","client_id":"sq0idp-uaPHILoPzWZk3tlJqlML0g","merchant_id":"MLQW2MYBY81PZ"}"#;
    /// RevokeToken's answer.
    pub const REVOKE_ANSWER: &str = r#"{"success":true}"#;
    /// The current error shape, as Square sends it with a 401.
    pub const ERROR_ANSWER: &str = r#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED","detail":"Authorization code is already claimed"}]}"#;
    /// The legacy ("V1") error shape some OAuth endpoints still send.
    pub const LEGACY_ERROR_ANSWER: &str =
        r#"{"message":"Not Authorized","type":"service.not_authorized","field":"authorization_code"}"#;
}

/// An answer as an adapter hands it to `parse`: status, `content-type` and the body's bytes.
pub fn answer(status: u16, body: &'static str) -> http::Response<&'static [u8]> {
    let mut response = http::Response::new(body.as_bytes());
    *response.status_mut() = http::StatusCode::from_u16(status).expect("a valid status");
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

/// The pairs whose two sides do not send the same request: method, URI, headers and body (as
/// JSON, so that key order does not count). Empty when every pair does the same job; both the
/// tests and `bench-report --quick` check it.
pub fn mismatched_requests() -> Vec<String> {
    use square_oauth::{Config, Operation};
    fn compare<O: Operation>(name: &str, ours: &O, floor: &http::Request<Vec<u8>>) -> Option<String> {
        let built = match ours.build(&Config::production()) {
            Ok(built) => built,
            Err(error) => return Some(format!("{name}: ours does not build: {error}")),
        };
        let json = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes).ok();
        let (ours_body, floor_body) = (built.body().expose_secret(), floor.body().as_slice());
        let same = built.method() == floor.method()
            && built.uri() == floor.uri()
            && built.headers() == floor.headers()
            && (ours_body == floor_body || json(ours_body).is_some_and(|o| Some(o) == json(floor_body)));
        (!same).then(|| format!("{name}: {:?} {} != {:?} {}", built.method(), built.uri(), floor.method(), floor.uri()))
    }
    let ours = ours::Ours::default();
    [
        compare("code exchange", &ours.code_exchange, &floor::code_exchange().0),
        compare("PKCE refresh", &ours.pkce_refresh, &floor::pkce_refresh().0),
        compare("token status", &ours.token_status, &floor::token_status().0),
        compare("revoke", &ours.revoke, &floor::revoke().0),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    //! The sides of each pair must do the same job: same answers read, same request sent.
    use super::*;

    #[test]
    fn ours_floor_and_oauth2_read_the_same_token() {
        let ours = ours::Ours::default().code_exchange();
        let (request, floor) = floor::code_exchange();
        let peer = peer::Peer::default().code_exchange();
        let access = ours.access_token.as_ref().map(|t| t.expose_secret().to_owned());
        assert_eq!(access, floor.access_token);
        assert_eq!(access.as_deref(), Some(oauth2::TokenResponse::access_token(&peer).secret().as_str()));
        assert_eq!(ours.merchant_id.map(|m| m.as_str().to_owned()), floor.merchant_id);
        assert_eq!(peer.extra_fields().merchant_id, floor.merchant_id);
        assert_eq!(ours.expires_at.map(|t| t.to_string()), floor.expires_at);

        let built =
            square_oauth::Operation::build(&ours::Ours::default().code_exchange, &square_oauth::Config::production())
                .unwrap();
        assert_eq!(built.uri(), request.uri());
        assert_eq!(built.headers(), request.headers());
        let ours_body: serde_json::Value = serde_json::from_slice(built.body().expose_secret()).unwrap();
        let floor_body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
        assert_eq!(ours_body, floor_body);
    }

    #[test]
    fn every_pair_sends_the_same_request() {
        assert_eq!(mismatched_requests(), Vec::<String>::new());
    }

    #[test]
    fn every_pair_gives_the_same_answer() {
        let ours = ours::Ours::default();
        assert_eq!(
            ours.pkce_refresh().refresh_token_expires_at.map(|t| t.to_string()),
            floor::pkce_refresh().1.refresh_token_expires_at
        );
        assert_eq!(ours.token_status().merchant_id.map(|m| m.as_str().to_owned()), floor::token_status().1.merchant_id);
        assert_eq!(ours.revoke().success, floor::revoke().1.success);
        assert_eq!(ours.error_current().square_errors().len(), floor::error_current().errors.map_or(0, |e| e.len()));
        assert_eq!(ours.error_legacy().square_errors().len(), 1);
        let (url, code) = ours.authorize_and_callback();
        let (floor_url, floor_code) = floor::authorize_and_callback();
        assert_eq!(url, floor_url);
        assert_eq!(Some(code.expose_secret().to_owned()), floor_code);
        let (verifier, challenge) = ours.pkce();
        assert_eq!((verifier.expose_secret().to_owned(), challenge.as_str().to_owned()), floor::pkce());
    }

    #[test]
    fn both_adapters_and_raw_clients_round_trip_over_one_connection_each() {
        let server = loopback::Server::start();
        let hyper = loopback::HyperPair::new(&server);
        let ureq = loopback::UreqPair::new(&server);
        let opened = server.connections();
        hyper.runtime.block_on(async {
            assert_eq!(hyper.ours().await, hyper.base().await);
        });
        assert_eq!(ureq.ours(), ureq.base());
        assert_eq!(ureq.base(), ureq.base_with_timeouts());
        assert_eq!(server.connections(), opened, "a client opened a new connection: keep-alive is off");
    }
}
