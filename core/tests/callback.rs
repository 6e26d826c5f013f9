//! The way back from Square's authorize page: the redirect's code or refusal, the `state`
//! check, and the PKCE verifier and challenge.

use square_oauth::{
    AuthorizeUrl, CallbackError, ClientId, CodeVerifier, Config, Error, Problem, Scope, State, parse_callback,
};

const STATE: &str = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5";

fn state() -> State {
    State::new(STATE)
}

fn code_of(redirect: &str) -> String {
    parse_callback(redirect, &state()).unwrap_or_else(|e| panic!("{redirect}: {e:?}")).expose_secret().to_owned()
}

fn refusal_of(redirect: &str) -> CallbackError {
    match parse_callback(redirect, &state()) {
        Err(Error::Callback(error)) => error,
        other => panic!("{redirect}: expected a callback error, got {other:?}"),
    }
}

#[test]
fn the_code_comes_from_a_full_url_a_bare_query_or_a_query_with_its_question_mark() {
    let forms = [
        format!("https://example.com/oauth/callback?code=sq0cgb-abc&response_type=code&state={STATE}"),
        format!("http://localhost:8000/cb?state={STATE}&code=sq0cgb-abc"),
        format!("code=sq0cgb-abc&response_type=code&state={STATE}"),
        format!("?code=sq0cgb-abc&response_type=code&state={STATE}"),
        format!("/oauth/callback?code=sq0cgb-abc&state={STATE}"),
        // Facebook-style and other fragments are not part of the query.
        format!("https://example.com/cb?code=sq0cgb-abc&state={STATE}#_=_"),
        format!("https://example.com/cb?code=sq0cgb-abc&state={STATE}#code=other&state=other"),
        // Unknown parameters are ignored.
        format!("https://example.com/cb?utm_source=x&code=sq0cgb-abc&state={STATE}&extra"),
    ];
    for redirect in &forms {
        assert_eq!(code_of(redirect), "sq0cgb-abc", "{redirect}");
    }
}

#[test]
fn values_are_percent_decoded() {
    let state = State::new("a b+c/d=é");
    let redirect = "https://example.com/cb?code=sq0cgb-a%2Bb%3D&state=a+b%2Bc%2Fd%3D%C3%A9";
    assert_eq!(parse_callback(redirect, &state).unwrap().expose_secret(), "sq0cgb-a+b=");
}

#[test]
fn a_state_that_holds_a_url_is_still_found_in_a_bare_query() {
    let state = State::new("https://example.com/next");
    let code = parse_callback("code=sq0cgb-abc&state=https://example.com/next", &state).unwrap();
    assert_eq!(code.expose_secret(), "sq0cgb-abc");
    let code =
        parse_callback("https://app.example.com/cb?code=sq0cgb-abc&state=https://example.com/next", &state).unwrap();
    assert_eq!(code.expose_secret(), "sq0cgb-abc");
    // A `?` inside a value of a bare query, and a relative URL.
    let state = State::new("a?b");
    assert_eq!(parse_callback("code=c1&state=a?b", &state).unwrap().expose_secret(), "c1");
    assert_eq!(parse_callback("cb?code=c2&state=a%3Fb", &state).unwrap().expose_secret(), "c2");
    assert_eq!(parse_callback("https://x.example/p=q?code=c3&state=a?b", &state).unwrap().expose_secret(), "c3");
}

#[test]
fn a_seller_who_declines_gives_square_s_error() {
    let denied =
        refusal_of(&format!("https://example.com/cb?error=access_denied&error_description=user_denied&state={STATE}"));
    assert_eq!(
        denied,
        CallbackError::Denied { error: "access_denied".into(), description: Some("user_denied".into()) }
    );
    assert_eq!(denied.to_string(), "authorization refused: access_denied (user_denied)");
    let bare = refusal_of(&format!("error=invalid_request&state={STATE}"));
    assert_eq!(bare, CallbackError::Denied { error: "invalid_request".into(), description: None });
    assert_eq!(bare.to_string(), "authorization refused: invalid_request");
    // An error wins over a code that came with it.
    let both = refusal_of(&format!("code=sq0cgb-abc&error=server_error&state={STATE}"));
    assert!(matches!(both, CallbackError::Denied { .. }));
    // Descriptions are decoded.
    let spaced = refusal_of(&format!("error=access_denied&error_description=The+seller+said+no&state={STATE}"));
    assert_eq!(
        spaced,
        CallbackError::Denied { error: "access_denied".into(), description: Some("The seller said no".into()) }
    );
}

#[test]
fn the_state_is_checked_before_anything_else() {
    assert_eq!(refusal_of("https://example.com/cb?code=sq0cgb-abc"), CallbackError::StateMissing);
    assert_eq!(refusal_of("https://example.com/cb"), CallbackError::StateMissing);
    assert_eq!(refusal_of(""), CallbackError::StateMissing);
    assert_eq!(refusal_of("?"), CallbackError::StateMissing);
    assert_eq!(refusal_of("error=access_denied"), CallbackError::StateMissing);
    assert_eq!(refusal_of("code=sq0cgb-abc&state=forged"), CallbackError::StateMismatch);
    // A forged redirect carrying a refusal is a forgery first.
    assert_eq!(refusal_of("error=access_denied&state=forged"), CallbackError::StateMismatch);
    // Near misses of the state.
    for near in [&STATE[1..], &STATE[..STATE.len() - 1], &format!("{STATE}x"), &STATE.to_lowercase(), ""] {
        assert_eq!(refusal_of(&format!("code=c&state={near}")), CallbackError::StateMismatch, "{near}");
    }
    // A state only in the fragment is no state.
    assert_eq!(refusal_of(&format!("https://example.com/cb?code=c#state={STATE}")), CallbackError::StateMissing);
}

#[test]
fn repeated_parameters_make_the_redirect_ambiguous() {
    assert_eq!(refusal_of(&format!("code=a&code=b&state={STATE}")), CallbackError::Repeated("code"));
    assert_eq!(refusal_of(&format!("code=a&state={STATE}&state={STATE}")), CallbackError::Repeated("state"));
    assert_eq!(refusal_of(&format!("error=a&error=b&state={STATE}")), CallbackError::Repeated("error"));
    assert_eq!(
        refusal_of(&format!("error=a&error_description=b&error_description=c&state={STATE}")),
        CallbackError::Repeated("error_description")
    );
    // Even the same value twice: a smuggled second copy is never chosen between.
    assert_eq!(refusal_of(&format!("code=a&code=a&state={STATE}")), CallbackError::Repeated("code"));
    assert_eq!(CallbackError::Repeated("code").to_string(), "the redirect repeats the parameter `code`");
}

#[test]
fn a_redirect_without_a_code_is_refused() {
    assert_eq!(refusal_of(&format!("state={STATE}")), CallbackError::CodeMissing);
    assert_eq!(refusal_of(&format!("code=&state={STATE}")), CallbackError::CodeMissing);
    assert_eq!(refusal_of(&format!("response_type=code&state={STATE}")), CallbackError::CodeMissing);
}

#[test]
fn state_matching() {
    let state = state();
    assert!(state.matches(STATE));
    assert!(!state.matches(&STATE[..10]));
    assert!(!state.matches(""));
    assert!(!state.matches(&format!("{STATE} ")));
    assert!(!State::new("a").matches("b"));
    assert!(State::new("").matches(""));
    // Equality of secrets is the same comparison.
    assert_eq!(State::new("x"), State::new("x"));
    assert_ne!(State::new("x"), State::new("y"));
}

#[test]
fn pkce_rfc_7636_appendix_b() {
    let entropy = [
        116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191,
        240, 91, 88, 5, 88, 83, 132, 141, 121,
    ];
    let verifier = CodeVerifier::from_entropy(entropy);
    assert_eq!(verifier.expose_secret(), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    let challenge = verifier.challenge();
    assert_eq!(challenge.as_str(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    assert_eq!(challenge.method(), "S256");
    // The challenge depends on the verifier text alone.
    assert_eq!(CodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").challenge(), challenge);
}

#[test]
fn verifiers_and_states_from_entropy_are_43_unreserved_characters() {
    for seed in [[0u8; 32], [255u8; 32], [62u8; 32], [63u8; 32]] {
        for text in [
            CodeVerifier::from_entropy(seed).expose_secret().to_owned(),
            State::from_entropy(seed).expose_secret().to_owned(),
        ] {
            assert_eq!(text.len(), 43);
            assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)), "{text}");
        }
    }
    assert_ne!(CodeVerifier::from_entropy([1; 32]), CodeVerifier::from_entropy([2; 32]));
    assert_ne!(State::from_entropy([1; 32]).expose_secret(), State::from_entropy([2; 32]).expose_secret());
    // The challenge is base64url without padding of a SHA-256: 43 characters.
    let challenge = CodeVerifier::from_entropy([9; 32]).challenge();
    assert_eq!(challenge.as_str().len(), 43);
    assert!(!challenge.as_str().contains(['=', '+', '/']));
}

#[test]
fn the_authorize_url_and_its_callback_agree() {
    let verifier = CodeVerifier::from_entropy([3; 32]);
    let state = State::from_entropy([4; 32]);
    let url = AuthorizeUrl::new(ClientId::new("sq0idp-app"))
        .scopes([Scope::PaymentsRead])
        .state(&state)
        .code_challenge(&verifier.challenge())
        .redirect_uri("https://example.com/cb")
        .build(&Config::production())
        .unwrap();
    let query = url.split_once('?').unwrap().1;
    let sent_state = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "state").unwrap().1.into_owned();
    let redirect = format!("https://example.com/cb?code=sq0cgb-xyz&response_type=code&state={sent_state}");
    assert_eq!(parse_callback(&redirect, &state).unwrap().expose_secret(), "sq0cgb-xyz");
    // A redirect answering another authorize URL is refused.
    let other = State::from_entropy([5; 32]);
    assert!(matches!(parse_callback(&redirect, &other), Err(Error::Callback(CallbackError::StateMismatch))));
}

#[test]
fn authorize_url_inputs_are_checked() {
    let base = || AuthorizeUrl::new(ClientId::new("sq0idp-app"));
    let config = Config::production();
    let field = |result: Result<String, Error>| match result {
        Err(Error::InvalidInput(invalid)) => (invalid.field, invalid.problem),
        other => panic!("{other:?}"),
    };
    assert_eq!(field(AuthorizeUrl::new(ClientId::new("")).build(&config)), ("client_id", Problem::Empty));
    assert_eq!(
        field(AuthorizeUrl::new(ClientId::new("x".repeat(192))).build(&config)),
        ("client_id", Problem::TooLong { max: 191, actual: 192 })
    );
    assert_eq!(field(base().scopes([Scope::from("TWO WORDS")]).build(&config)).0, "scopes");
    assert_eq!(field(base().scopes([Scope::from("")]).build(&config)).0, "scopes");
    for locale in ["", "en US", "en_US/../x", "abcdefghijklmnopq"] {
        assert_eq!(field(base().locale(locale).build(&config)).0, "locale", "{locale:?}");
    }
    for locale in ["en-IE", "en-US", "en-CA", "es-US", "fr-CA", "ja-JP"] {
        assert!(base().locale(locale).build(&config).unwrap().contains(&format!("locale={locale}")));
    }
    assert_eq!(field(base().state(&State::new("")).build(&config)), ("state", Problem::Empty));
    assert_eq!(
        field(base().state(&State::new("s".repeat(1025))).build(&config)),
        ("state", Problem::TooLong { max: 1024, actual: 1025 })
    );
    assert_eq!(field(base().redirect_uri("").build(&config)), ("redirect_uri", Problem::Empty));
    assert_eq!(
        field(base().redirect_uri(format!("https://e.com/{}", "p".repeat(2049 - 14))).build(&config)),
        ("redirect_uri", Problem::TooLong { max: 2048, actual: 2049 })
    );
    assert!(base().redirect_uri(format!("https://e.com/{}", "p".repeat(2048 - 14))).build(&config).is_ok());
}

#[cfg(feature = "getrandom")]
#[test]
fn generated_verifiers_and_states_are_43_fresh_url_safe_characters() {
    use square_oauth::{CodeVerifier, State};
    let url_safe = |s: &str| s.len() == 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let (a, b) = (CodeVerifier::generate().unwrap(), CodeVerifier::generate().unwrap());
    assert!(url_safe(a.expose_secret()) && url_safe(b.expose_secret()));
    assert_ne!(a.expose_secret(), b.expose_secret(), "two verifiers from the system's entropy differ");
    let (a, b) = (State::generate().unwrap(), State::generate().unwrap());
    assert!(url_safe(a.expose_secret()) && url_safe(b.expose_secret()));
    assert_ne!(a.expose_secret(), b.expose_secret(), "two states from the system's entropy differ");
}
