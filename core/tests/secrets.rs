//! A sentinel secret put into every input that carries one never shows in the `Debug` or
//! `Display` of any request, configuration, answer or error.
#![allow(deprecated)]

mod common;

use common::{answer, json, operations, parse_everywhere};
use proptest::prelude::*;
use square_oauth::{
    AccessToken, AuthorizationCode, AuthorizeUrl, Body, ClientId, ClientSecret, CodeVerifier, Config, Error, Grant,
    IdToken, MerchantId, MigrationToken, ObtainToken, Operation, RefreshToken, RenewToken, RetrieveTokenStatus,
    RevokeTarget, RevokeToken, Scope, State, WebhookSignatureKey, parse_callback,
};

/// No Square prefix: the redaction must not depend on recognising Square's token formats.
const SENTINEL: &str = "S3NT1NEL-x9q7Zk2Lw";

fn verifier() -> CodeVerifier {
    CodeVerifier::new(format!("{SENTINEL}{}", "a".repeat(43 - SENTINEL.len() + 5)))
}

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(SENTINEL), "{what} shows the secret: {text}");
    // Nor a piece long enough to matter, from anywhere in it: a mask that keeps the tail (as
    // card numbers do) leaks as much as one that keeps the head.
    for piece in SENTINEL.as_bytes().windows(5) {
        let piece = std::str::from_utf8(piece).unwrap();
        assert!(!text.contains(piece), "{what} shows {piece:?}, part of the secret: {text}");
    }
}

fn assert_debug_display_hidden<T: std::fmt::Debug + std::fmt::Display>(what: &str, value: &T) {
    assert_hidden(what, &format!("{value:?}"));
    assert_hidden(what, &format!("{value:#?}"));
    assert_hidden(what, &format!("{value}"));
}

/// An operation's `Debug`, and its request built for a configuration.
type Build = Box<dyn Fn(&Config) -> (String, Result<http::Request<Body>, Error>)>;

fn secret_operations() -> Vec<(&'static str, Build)> {
    fn entry<O: Operation + std::fmt::Debug + 'static>(op: O) -> Build {
        Box::new(move |config| (format!("{op:?} {op:#?}"), op.build(config)))
    }
    let id = || ClientId::new("sq0idp-app");
    vec![
        (
            "authorization_code",
            entry(
                ObtainToken::authorization_code(id(), ClientSecret::new(SENTINEL), AuthorizationCode::new(SENTINEL))
                    .redirect_uri("https://example.com/cb"),
            ),
        ),
        ("pkce", entry(ObtainToken::pkce(id(), AuthorizationCode::new(SENTINEL), verifier()))),
        (
            "refresh",
            entry(
                ObtainToken::refresh(id(), ClientSecret::new(SENTINEL), RefreshToken::new(SENTINEL))
                    .scopes([Scope::PaymentsRead]),
            ),
        ),
        ("pkce_refresh", entry(ObtainToken::pkce_refresh(id(), RefreshToken::new(SENTINEL)))),
        ("migration", entry(ObtainToken::migration(id(), ClientSecret::new(SENTINEL), MigrationToken::new(SENTINEL)))),
        (
            "revoke by token",
            entry(
                RevokeToken::access_token(id(), ClientSecret::new(SENTINEL), AccessToken::new(SENTINEL))
                    .revoke_only_access_token(true),
            ),
        ),
        ("revoke by merchant", entry(RevokeToken::merchant(id(), ClientSecret::new(SENTINEL), MerchantId::new("M1")))),
        ("token status", entry(RetrieveTokenStatus::new(AccessToken::new(SENTINEL)))),
        ("renew", entry(RenewToken::new(id(), ClientSecret::new(SENTINEL), AccessToken::new(SENTINEL)))),
    ]
}

#[test]
fn requests_and_the_operations_that_build_them_hide_every_secret() {
    for config in [Config::production(), Config::custom("http://localhost:1/x").unwrap()] {
        assert_hidden("config", &format!("{config:?}"));
        for (name, build) in secret_operations() {
            let (debug, request) = build(&config);
            assert_hidden(name, &debug);
            let request = request.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_hidden(name, &format!("{request:?}"));
            assert_hidden(name, &format!("{request:#?}"));
            assert_hidden(name, &format!("{:?}", request.headers()));
            assert_hidden(name, &format!("{:?}", request.body()));
            // The secret is really in there, so the checks above are not vacuous.
            let sent = [
                String::from_utf8_lossy(request.body().expose_secret()).into_owned(),
                request.headers().get("authorization").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default(),
            ];
            assert!(sent.iter().any(|s| s.contains(SENTINEL)), "{name} does not carry the secret");
        }
    }
}

#[test]
fn grants_targets_and_secret_types_hide_their_values() {
    let grants = [
        Grant::AuthorizationCode { client_secret: ClientSecret::new(SENTINEL), code: AuthorizationCode::new(SENTINEL) },
        Grant::Pkce { code: AuthorizationCode::new(SENTINEL), code_verifier: verifier() },
        Grant::Refresh { client_secret: ClientSecret::new(SENTINEL), refresh_token: RefreshToken::new(SENTINEL) },
        Grant::PkceRefresh { refresh_token: RefreshToken::new(SENTINEL) },
        Grant::Migration { client_secret: ClientSecret::new(SENTINEL), migration_token: MigrationToken::new(SENTINEL) },
    ];
    for grant in &grants {
        assert_hidden("grant", &format!("{grant:?}"));
    }
    assert_hidden("target", &format!("{:?}", RevokeTarget::AccessToken(AccessToken::new(SENTINEL))));
    assert_debug_display_hidden("ClientSecret", &ClientSecret::new(SENTINEL));
    assert_debug_display_hidden("AccessToken", &AccessToken::new(SENTINEL));
    assert_debug_display_hidden("RefreshToken", &RefreshToken::new(SENTINEL));
    assert_debug_display_hidden("AuthorizationCode", &AuthorizationCode::new(SENTINEL));
    assert_debug_display_hidden("MigrationToken", &MigrationToken::new(SENTINEL));
    assert_debug_display_hidden("IdToken", &IdToken::new(SENTINEL));
    assert_debug_display_hidden("WebhookSignatureKey", &WebhookSignatureKey::new(SENTINEL));
    assert_debug_display_hidden("CodeVerifier", &verifier());
    assert_debug_display_hidden("State", &State::new(SENTINEL));
    assert_eq!(format!("{:?}", AccessToken::new(SENTINEL)), "AccessToken([REDACTED])");
    assert_eq!(AccessToken::new(SENTINEL).to_string(), "[REDACTED]");
    // The one way in is explicit.
    assert_eq!(AccessToken::new(SENTINEL).expose_secret(), SENTINEL);
}

#[test]
fn the_authorize_url_builder_hides_its_state() {
    let builder = AuthorizeUrl::new(ClientId::new("sq0idp-app"))
        .state(&State::new(SENTINEL))
        .code_challenge(&verifier().challenge());
    assert_hidden("AuthorizeUrl", &format!("{builder:?}"));
    assert_hidden("AuthorizeUrl", &format!("{builder:#?}"));
    // The URL itself must carry the state: it is for the seller's browser, not for logs.
    assert!(builder.build(&Config::production()).unwrap().contains(SENTINEL));
    assert!(!format!("{:?}", verifier().challenge()).contains(SENTINEL));
}

#[test]
fn answers_hide_the_tokens_they_carry() {
    let body = format!(
        r#"{{"access_token":"{SENTINEL}","refresh_token":"{SENTINEL}","id_token":"{SENTINEL}","token_type":"bearer"}}"#
    );
    let token = operations().obtain.parse(&Config::production(), json(200, &body)).unwrap();
    assert_hidden("ObtainTokenResponse", &format!("{token:?} {token:#?}"));
    assert_eq!(token.access_token.as_ref().unwrap().expose_secret(), SENTINEL);
    let renewed = operations().renew.parse(&Config::production(), json(200, &body)).unwrap();
    assert_hidden("RenewTokenResponse", &format!("{renewed:?}"));
}

#[test]
fn build_errors_name_the_field_never_the_value() {
    let id = || ClientId::new("sq0idp-app");
    let long = format!("{SENTINEL}{}", "x".repeat(1100));
    let results: Vec<Result<http::Request<Body>, Error>> = vec![
        ObtainToken::authorization_code(id(), ClientSecret::new(long.clone()), AuthorizationCode::new("c"))
            .build(&Config::production()),
        ObtainToken::authorization_code(id(), ClientSecret::new("ok-secret"), AuthorizationCode::new(long.clone()))
            .build(&Config::production()),
        ObtainToken::refresh(id(), ClientSecret::new("ok-secret"), RefreshToken::new(long.clone()))
            .build(&Config::production()),
        ObtainToken::migration(id(), ClientSecret::new("ok-secret"), MigrationToken::new(long.clone()))
            .build(&Config::production()),
        ObtainToken::pkce(
            id(),
            AuthorizationCode::new("c"),
            CodeVerifier::new(format!("{SENTINEL}!{}", "a".repeat(40))),
        )
        .build(&Config::production()),
        ObtainToken::pkce(id(), AuthorizationCode::new("c"), CodeVerifier::new(SENTINEL)).build(&Config::production()),
        RevokeToken::merchant(id(), ClientSecret::new(format!("{SENTINEL}\n")), MerchantId::new("M"))
            .build(&Config::production()),
        RevokeToken::access_token(id(), ClientSecret::new("ok-secret"), AccessToken::new(long.clone()))
            .build(&Config::production()),
        RetrieveTokenStatus::new(AccessToken::new(format!("{SENTINEL}\r\nX-Injected: 1"))).build(&Config::production()),
        RetrieveTokenStatus::new(AccessToken::new(long.clone())).build(&Config::production()),
        RenewToken::new(id(), ClientSecret::new(format!("{SENTINEL}\u{7f}")), AccessToken::new("tok"))
            .build(&Config::production()),
    ];
    for result in results {
        let error = result.expect_err("invalid input");
        assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
        assert_debug_display_hidden("build error", &error);
    }
}

#[test]
fn answer_errors_hide_tokens_in_the_body() {
    let bodies = [
        // Malformed after the token (each operation fails at one of its own fields).
        format!(r#"{{"access_token":"{SENTINEL}","expires_at":7,"success":"x","scopes":1}}"#),
        format!(
            r#"{{"refresh_token" : "{SENTINEL}","id_token":"{SENTINEL}","expires_at":"never","success":2,"scopes":2}}"#
        ),
        // Malformed in the token itself: a token of the wrong type.
        format!(
            r#"{{"access_token":["{SENTINEL}"],"refresh_token":["{SENTINEL}"],"success":[1],"scopes":"x","expires_at":[1]}}"#
        ),
        format!(
            r#"{{"access_token":{{"{SENTINEL}":1,"a":["{SENTINEL}"]}},"success":{{}},"scopes":{{}},"expires_at":{{}}}}"#
        ),
        // Secret-looking keys inside an unknown object, then a failure.
        format!(
            r#"{{"debug":{{"client_secret":"{SENTINEL}","code":"{SENTINEL}","code_verifier":"{SENTINEL}","authorization":"{SENTINEL}"}},"errors":7}}"#
        ),
        // An escaped key, and a form value inside a string.
        format!(r#"{{"access\u005ftoken":"{SENTINEL}","note":"refresh_token={SENTINEL}&x=1","errors":7}}"#),
        // A string where another type belongs, quoting (escaped) a request it echoes: serde's
        // message quotes the string with its escapes, `"rejected {\"client_secret\":…`.
        format!(r#"{{"errors":"rejected {{\"client_secret\":\"{SENTINEL}\",\"code\":\"{SENTINEL}\"}}"}}"#),
        format!(
            r#"{{"success":"a \"b\" {SENTINEL} \\\" {SENTINEL}","scopes":"\"{SENTINEL}","errors":"\\\"{SENTINEL}"}}"#
        ),
    ];
    for body in &bodies {
        for (operation, result) in
            parse_everywhere(&Config::production(), 200, &[("content-type", "application/json")], body.as_bytes())
        {
            // ObtainToken keeps what it could read when only optional fields are bad; what it
            // shows of it hides the tokens all the same.
            if operation == "ObtainToken"
                && let Ok(output) = &result
            {
                assert!(output.contains("malformed_fields: [\""), "{output}");
                assert_hidden(operation, output);
                continue;
            }
            let error = result.expect_err("malformed");
            assert!(matches!(error, Error::UnexpectedResponse(_)), "{operation}: {error:?}");
            assert_debug_display_hidden(operation, &error);
        }
        // Truncated at every byte, too.
        for cut in 0..body.len() {
            for (operation, result) in parse_everywhere(&Config::production(), 200, &[], &body.as_bytes()[..cut]) {
                let error = result.expect_err("truncated");
                assert_hidden(operation, &format!("{error:?}"));
            }
        }
    }
}

#[test]
fn pages_in_square_s_place_hide_bearer_and_client_credentials() {
    let pages = [
        format!("<html><pre>Authorization: Bearer {SENTINEL}</pre></html>"),
        format!("<html><pre>Authorization: Client {SENTINEL}</pre></html>"),
        format!("{{\"access_token\": \"{SENTINEL}\"}} <- echoed by a proxy"),
        format!("access_token={SENTINEL}&token_type=bearer&refresh_token={SENTINEL}"),
        format!("<a href=\"https://example.com/cb?code={SENTINEL}&amp;state=x\">back</a>"),
        format!("{{\"access\\u005ftoken\":\"{SENTINEL}\"}}"),
    ];
    for page in &pages {
        for status in [200, 502] {
            let headers = [("content-type", "text/html")];
            for (operation, result) in parse_everywhere(&Config::production(), status, &headers, page.as_bytes()) {
                assert_debug_display_hidden(operation, &result.expect_err("not JSON"));
            }
        }
    }
}

#[test]
fn callback_errors_hide_the_code_and_the_states() {
    let expected = State::new(SENTINEL);
    let redirects = [
        format!("https://example.com/cb?code={SENTINEL}&state=wrong"),
        format!("https://example.com/cb?code={SENTINEL}&state={SENTINEL}x"),
        format!("?code={SENTINEL}"),
        format!("code={SENTINEL}&code={SENTINEL}&state={SENTINEL}"),
        format!("state={SENTINEL}&state={SENTINEL}"),
        format!("state={SENTINEL}&response_type=code"),
    ];
    for redirect in &redirects {
        let error = parse_callback(redirect, &expected).expect_err("no usable code");
        assert!(matches!(error, Error::Callback(_)), "{error:?}");
        assert_debug_display_hidden("callback error", &error);
    }
    let code = parse_callback(&format!("code={SENTINEL}&state={SENTINEL}"), &expected).unwrap();
    assert_hidden("code", &format!("{code:?}"));
}

#[test]
fn refusals_hide_nothing_of_the_request() {
    // A refusal keeps Square's words and the status, and no part of the request.
    let (config, ops) = (Config::production(), operations());
    let error = ops
        .obtain
        .parse(
            &config,
            answer(
                401,
                &[("www-authenticate", "Bearer")],
                br#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED"}]}"#,
            ),
        )
        .unwrap_err();
    assert!(!format!("{error:?}").contains("sq0csp-30a"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_secret_stays_hidden(secret in "[A-Za-z0-9]{12,40}", code in "[A-Za-z0-9]{12,40}") {
        let id = ClientId::new("sq0idp-app");
        let built = [
            ObtainToken::authorization_code(id.clone(), ClientSecret::new(secret.clone()), AuthorizationCode::new(code.clone())).build(&Config::production()),
            RevokeToken::access_token(id.clone(), ClientSecret::new(secret.clone()), AccessToken::new(code.clone())).build(&Config::production()),
            RetrieveTokenStatus::new(AccessToken::new(secret.clone())).build(&Config::production()),
            RenewToken::new(id, ClientSecret::new(secret.clone()), AccessToken::new(code.clone())).build(&Config::production()),
        ];
        for request in built {
            let debug = format!("{:?}", request.unwrap());
            prop_assert!(!debug.contains(&secret) && !debug.contains(&code), "{}", debug);
        }
        let body = format!(r#"{{"access_token":"{code}","refresh_token":"{secret}","expires_at":false}}"#);
        for (_, result) in parse_everywhere(&Config::production(), 200, &[], body.as_bytes()) {
            let debug = format!("{result:?}");
            prop_assert!(!debug.contains(&secret) && !debug.contains(&code), "{}", debug);
        }
    }
}
