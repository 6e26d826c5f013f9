//! The caller's mistakes, caught before anything is sent: Square's length limits from the
//! specification, PKCE verifiers, scopes and header-unsafe credentials.
#![allow(deprecated)]

use square_oauth::{
    AccessToken, AuthorizationCode, Body, ClientId, ClientSecret, CodeVerifier, Config, Error, MerchantId,
    MigrationToken, ObtainToken, Operation, Problem, RefreshToken, RenewToken, RetrieveTokenStatus, RevokeToken, Scope,
};

type Built = Result<http::Request<Body>, Error>;

fn problem(result: Built) -> (&'static str, Problem) {
    match result {
        Err(Error::InvalidInput(invalid)) => (invalid.field, invalid.problem),
        Ok(request) => panic!("expected a refusal, built {request:?}"),
        Err(other) => panic!("expected invalid input, got {other:?}"),
    }
}

fn ok(result: Built) {
    if let Err(error) = result {
        panic!("expected a request, got {error:?}");
    }
}

fn config() -> Config {
    Config::production()
}
fn id() -> ClientId {
    ClientId::new("sq0idp-app")
}
fn secret() -> ClientSecret {
    ClientSecret::new("sq0csp-secret")
}
fn code(text: &str) -> Built {
    ObtainToken::authorization_code(id(), secret(), AuthorizationCode::new(text)).build(&config())
}

#[test]
fn client_id_is_1_to_191_characters_in_every_operation() {
    let with_id = |client_id: &str| -> Vec<Built> {
        let client_id = ClientId::new(client_id);
        vec![
            ObtainToken::pkce_refresh(client_id.clone(), RefreshToken::new("EQAAx")).build(&config()),
            RevokeToken::merchant(client_id.clone(), secret(), MerchantId::new("M")).build(&config()),
            RenewToken::new(client_id, secret(), AccessToken::new("EAAAx")).build(&config()),
        ]
    };
    for result in with_id(&"i".repeat(191)) {
        ok(result);
    }
    // Counted in characters, as the specification counts.
    for result in with_id(&"é".repeat(191)) {
        ok(result);
    }
    for result in with_id(&"i".repeat(192)) {
        assert_eq!(problem(result), ("client_id", Problem::TooLong { max: 191, actual: 192 }));
    }
    for result in with_id("") {
        assert_eq!(problem(result), ("client_id", Problem::Empty));
    }
}

#[test]
fn client_secret_is_2_to_1024_characters() {
    let with_secret = |text: &str| -> Vec<Built> {
        vec![
            ObtainToken::authorization_code(id(), ClientSecret::new(text), AuthorizationCode::new("c"))
                .build(&config()),
            ObtainToken::refresh(id(), ClientSecret::new(text), RefreshToken::new("EQAAx")).build(&config()),
            ObtainToken::migration(id(), ClientSecret::new(text), MigrationToken::new("sq0atp-x")).build(&config()),
            RevokeToken::merchant(id(), ClientSecret::new(text), MerchantId::new("M")).build(&config()),
            RenewToken::new(id(), ClientSecret::new(text), AccessToken::new("EAAAx")).build(&config()),
        ]
    };
    for text in ["ab".to_owned(), "s".repeat(1024)] {
        for result in with_secret(&text) {
            ok(result);
        }
    }
    for (text, expected) in [
        (String::new(), Problem::Empty),
        ("a".to_owned(), Problem::TooShort { min: 2, actual: 1 }),
        ("s".repeat(1025), Problem::TooLong { max: 1024, actual: 1025 }),
    ] {
        for result in with_secret(&text) {
            assert_eq!(problem(result), ("client_secret", expected.clone()));
        }
    }
}

#[test]
fn code_is_at_most_191_characters() {
    ok(code("c"));
    ok(code(&"c".repeat(191)));
    assert_eq!(problem(code(&"c".repeat(192))), ("code", Problem::TooLong { max: 191, actual: 192 }));
    assert_eq!(problem(code("")), ("code", Problem::Empty));
    let pkce = |text: &str| {
        ObtainToken::pkce(id(), AuthorizationCode::new(text), CodeVerifier::from_entropy([1; 32])).build(&config())
    };
    ok(pkce(&"c".repeat(191)));
    assert_eq!(problem(pkce(&"c".repeat(192))), ("code", Problem::TooLong { max: 191, actual: 192 }));
}

#[test]
fn redirect_uri_is_at_most_2048_characters() {
    let with_uri = |uri: String| {
        ObtainToken::authorization_code(id(), secret(), AuthorizationCode::new("c")).redirect_uri(uri).build(&config())
    };
    ok(with_uri(format!("https://e.com/{}", "p".repeat(2048 - 14))));
    assert_eq!(
        problem(with_uri(format!("https://e.com/{}", "p".repeat(2049 - 14)))),
        ("redirect_uri", Problem::TooLong { max: 2048, actual: 2049 })
    );
    assert_eq!(problem(with_uri(String::new())), ("redirect_uri", Problem::Empty));
}

#[test]
fn refresh_migration_and_access_tokens_are_2_to_1024_characters() {
    type Make = fn(&str) -> Built;
    let makers: [(&str, Make); 6] = [
        ("refresh_token", |t| ObtainToken::refresh(id(), secret(), RefreshToken::new(t)).build(&config())),
        ("refresh_token", |t| ObtainToken::pkce_refresh(id(), RefreshToken::new(t)).build(&config())),
        ("migration_token", |t| ObtainToken::migration(id(), secret(), MigrationToken::new(t)).build(&config())),
        ("access_token", |t| RevokeToken::access_token(id(), secret(), AccessToken::new(t)).build(&config())),
        ("access_token", |t| RetrieveTokenStatus::new(AccessToken::new(t)).build(&config())),
        ("access_token", |t| RenewToken::new(id(), secret(), AccessToken::new(t)).build(&config())),
    ];
    for (field, make) in makers {
        ok(make("ab"));
        ok(make(&"t".repeat(1024)));
        assert_eq!(problem(make("")), (field, Problem::Empty));
        assert_eq!(problem(make("t")), (field, Problem::TooShort { min: 2, actual: 1 }));
        assert_eq!(problem(make(&"t".repeat(1025))), (field, Problem::TooLong { max: 1024, actual: 1025 }));
    }
}

#[test]
fn merchant_id_must_not_be_empty_nor_over_191() {
    let revoke = |m: &str| RevokeToken::merchant(id(), secret(), MerchantId::new(m)).build(&config());
    ok(revoke(&"M".repeat(191)));
    assert_eq!(problem(revoke("")), ("merchant_id", Problem::Empty));
    assert_eq!(problem(revoke(&"M".repeat(192))), ("merchant_id", Problem::TooLong { max: 191, actual: 192 }));
}

#[test]
fn code_verifier_is_43_to_128_unreserved_characters() {
    let pkce = |verifier: &str| {
        ObtainToken::pkce(id(), AuthorizationCode::new("c"), CodeVerifier::new(verifier)).build(&config())
    };
    ok(pkce(&"v".repeat(43)));
    ok(pkce(&"v".repeat(128)));
    ok(pkce(&format!("{}-._~AZaz09", "v".repeat(40))));
    assert_eq!(problem(pkce(&"v".repeat(42))), ("code_verifier", Problem::TooShort { min: 43, actual: 42 }));
    assert_eq!(problem(pkce(&"v".repeat(129))), ("code_verifier", Problem::TooLong { max: 128, actual: 129 }));
    assert_eq!(problem(pkce("")), ("code_verifier", Problem::Empty));
    for bad in ['+', '/', '=', ' ', '%', 'é', '\n', '!', '*'] {
        let verifier = format!("{}{bad}", "v".repeat(50));
        let (field, problem) = problem(pkce(&verifier));
        assert_eq!(field, "code_verifier", "{bad:?}");
        assert!(matches!(problem, Problem::Format(_)), "{bad:?}: {problem:?}");
    }
}

#[test]
fn scopes_must_be_named_and_not_empty() {
    let refresh = |scopes: Vec<Scope>| {
        ObtainToken::refresh(id(), secret(), RefreshToken::new("EQAAx")).scopes(scopes).build(&config())
    };
    assert_eq!(problem(refresh(vec![])), ("scopes", Problem::Empty));
    assert_eq!(problem(refresh(vec![Scope::PaymentsRead, Scope::from("A B")])).0, "scopes");
    assert_eq!(problem(refresh(vec![Scope::from("")])).0, "scopes");
    assert_eq!(problem(refresh(vec![Scope::from("NEW\tSCOPE")])).0, "scopes");
    ok(refresh(vec![Scope::from("NEW_SCOPE_2030")]));
}

#[test]
fn credentials_that_cannot_travel_in_a_header_are_refused() {
    for bad in ["sec\nret", "sec\rret", "sec\0ret", "sécret", "sec ret", " secret", "secret\t", "sec\u{7f}ret"] {
        let (field, problem) =
            problem(RevokeToken::merchant(id(), ClientSecret::new(bad), MerchantId::new("M")).build(&config()));
        assert_eq!(field, "client_secret", "{bad:?}");
        assert!(matches!(problem, Problem::Format(_)));
        let (field, _) = problem_of_status(bad);
        assert_eq!(field, "access_token", "{bad:?}");
    }
    // In a JSON body the same secret is fine: it is escaped.
    ok(ObtainToken::authorization_code(id(), ClientSecret::new("sécret\n\"quoted\""), AuthorizationCode::new("c"))
        .build(&config()));
}

fn problem_of_status(token: &str) -> (&'static str, Problem) {
    problem(RetrieveTokenStatus::new(AccessToken::new(token)).build(&config()))
}

#[test]
fn errors_say_which_field_and_what_is_wrong() {
    let error = code(&"c".repeat(192)).unwrap_err();
    assert_eq!(error.to_string(), "invalid input: `code` must be at most 191 characters, got 192");
    assert_eq!(error.status(), None);
    assert!(error.square_errors().is_empty());
    assert!(error.retry_after().is_none());
    let error =
        ObtainToken::pkce(id(), AuthorizationCode::new("c"), CodeVerifier::new("short")).build(&config()).unwrap_err();
    assert_eq!(error.to_string(), "invalid input: `code_verifier` must be at least 43 characters, got 5");
    let error = ObtainToken::pkce_refresh(ClientId::new(""), RefreshToken::new("EQAAx")).build(&config()).unwrap_err();
    assert_eq!(error.to_string(), "invalid input: `client_id` must not be empty");
}
