//! `AuthorizeUrl::build` from arbitrary fields: never panics, and whatever it builds reads back.
//!
//! A built URL is a valid URI on the configuration's host whose query holds each field exactly as
//! given; the callback parser reads its `state` (and a `code` appended the way Square's redirect
//! carries one) back unchanged.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use square_oauth::{AuthorizeUrl, CallbackError, ClientId, CodeVerifier, Config, Error, Scope, State, parse_callback};

#[derive(Arbitrary, Debug)]
struct Input {
    host: u8,
    client_id: String,
    scopes: Vec<String>,
    locale: Option<String>,
    session: Option<bool>,
    state: Option<String>,
    verifier: Option<[u8; 32]>,
    redirect_uri: Option<String>,
    code: String,
}

fuzz_target!(|input: Input| {
    let config = match input.host % 3 {
        0 => Config::production(),
        1 => Config::sandbox(),
        _ => Config::custom("http://127.0.0.1:8080/prefix").expect("a loopback base URL"),
    };
    let scopes: Vec<Scope> = input.scopes.iter().map(|s| Scope::from(s.as_str())).collect();
    let state = input.state.as_deref().map(State::new);
    let challenge = input.verifier.map(|entropy| CodeVerifier::from_entropy(entropy).challenge());

    let mut builder = AuthorizeUrl::new(ClientId::new(input.client_id.as_str())).scopes(scopes.clone());
    if let Some(locale) = &input.locale {
        builder = builder.locale(locale.as_str());
    }
    if let Some(session) = input.session {
        builder = builder.session(session);
    }
    if let Some(state) = &state {
        builder = builder.state(state);
    }
    if let Some(challenge) = &challenge {
        builder = builder.code_challenge(challenge);
    }
    if let Some(uri) = &input.redirect_uri {
        builder = builder.redirect_uri(uri.as_str());
    }
    let _ = format!("{builder:?}");
    let url = match builder.build(&config) {
        Ok(url) => url,
        Err(error) => {
            let _ = format!("{error} {error:?}");
            return;
        }
    };

    // A valid URI on the configured host.
    let uri: http::Uri = url.parse().unwrap_or_else(|e| panic!("built an invalid URI {url:?}: {e}"));
    assert!(url.starts_with(&format!("{}/oauth2/authorize?", config.base_url())), "{url}");
    let query = uri.query().expect("a query");

    // Every field reads back as given.
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let get = |key: &str| {
        let values: Vec<&str> = pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect();
        assert!(values.len() <= 1, "{key} twice in {url}");
        values.first().map(|v| (*v).to_owned())
    };
    assert_eq!(get("client_id").as_deref(), Some(input.client_id.as_str()));
    let joined = scopes.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ");
    assert_eq!(get("scope"), (!scopes.is_empty()).then_some(joined));
    assert_eq!(get("locale"), input.locale.clone());
    assert_eq!(get("session"), input.session.map(|s| s.to_string()));
    assert_eq!(get("state"), input.state.clone());
    assert_eq!(get("code_challenge"), challenge.as_ref().map(|c| c.as_str().to_owned()));
    assert_eq!(get("redirect_uri"), input.redirect_uri.clone());
    assert_eq!(get("response_type").as_deref(), Some("code"));

    // The callback parser reads the built URL: the state is found and matches.
    let expected = state.clone().unwrap_or_else(|| State::new("no-state-was-sent"));
    match parse_callback(&url, &expected) {
        Err(Error::Callback(CallbackError::CodeMissing)) => assert!(state.is_some()),
        Err(Error::Callback(CallbackError::StateMissing)) => assert!(state.is_none()),
        other => panic!("the authorize URL read as a callback gave {other:?}"),
    }

    // With a code appended as a redirect would carry it, the same code comes back.
    if let Some(state) = &state {
        let code: String = form_urlencoded::byte_serialize(input.code.as_bytes()).collect();
        let redirect = format!("{url}&code={code}");
        match parse_callback(&redirect, state) {
            Ok(read) => assert_eq!(read.expose_secret(), input.code),
            Err(Error::Callback(CallbackError::CodeMissing)) => assert!(input.code.is_empty()),
            other => panic!("the redirect gave {other:?}"),
        }
    }
});
