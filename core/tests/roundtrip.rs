//! Round trips, for any values: every request carries exactly the fields it was built from;
//! every answer Square could send parses into exactly what it says; an authorize URL's state
//! and a code come back through a simulated redirect unchanged.
#![allow(deprecated)]

mod common;

use common::{assert_schema, body_json, json};
use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::{Map, Value};
use square_oauth::{
    AccessToken, AuthorizationCode, AuthorizeUrl, CallbackError, ClientId, ClientSecret, CodeVerifier, Config, Error,
    ErrorCategory, ErrorCode, MerchantId, MigrationToken, ObtainToken, Operation, RefreshToken, RenewToken,
    RetrieveTokenStatus, RevokeToken, Scope, SquareError, State, parse_callback,
};

const CASES: u32 = 96;

/// Any text, controls, quotes, backslashes and astral characters included.
fn text(min: usize, max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<char>(), min..=max).prop_map(String::from_iter),
        prop::collection::vec(
            prop::sample::select(vec!['"', '\\', '\n', '\u{0}', 'é', '😀', '/', '<', 'a', ' ']),
            min..=max
        )
        .prop_map(String::from_iter),
    ]
}

/// What can travel in an `Authorization` header.
fn visible(min: usize, max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[!-~]{{{min},{max}}}")).unwrap()
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![prop::sample::select(Scope::KNOWN.to_vec()), "[a-z_]{1,16}".prop_map(Scope::from)]
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0i64..4_102_444_800, prop_oneof![Just(0i32), 0i32..1_000_000_000]).prop_map(|(s, n)| Timestamp::new(s, n).unwrap())
}

#[derive(Debug, Clone)]
enum GrantModel {
    Code { secret: String, code: String },
    Pkce { code: String, verifier: String },
    Refresh { secret: String, token: String },
    PkceRefresh { token: String },
    Migration { secret: String, token: String },
}

fn grant() -> impl Strategy<Value = GrantModel> {
    prop_oneof![
        (text(2, 120), text(1, 191)).prop_map(|(secret, code)| GrantModel::Code { secret, code }),
        (text(1, 191), "[A-Za-z0-9._~-]{43,128}").prop_map(|(code, verifier)| GrantModel::Pkce { code, verifier }),
        (text(2, 120), text(2, 300)).prop_map(|(secret, token)| GrantModel::Refresh { secret, token }),
        text(2, 300).prop_map(|token| GrantModel::PkceRefresh { token }),
        (text(2, 120), text(2, 300)).prop_map(|(secret, token)| GrantModel::Migration { secret, token }),
    ]
}

/// The JSON object of an answer: `None` fields left out or sent as `null`, as `nulls` says.
fn object(fields: Vec<(&str, Option<Value>)>, nulls: bool) -> String {
    let mut map = Map::new();
    for (key, value) in fields {
        match value {
            Some(value) => {
                map.insert(key.to_owned(), value);
            }
            None if nulls => {
                map.insert(key.to_owned(), Value::Null);
            }
            None => {}
        }
    }
    Value::Object(map).to_string()
}

fn string(value: &Option<String>) -> Option<Value> {
    value.clone().map(Value::String)
}

fn time(value: &Option<Timestamp>) -> Option<Value> {
    value.map(|t| Value::String(t.to_string()))
}

fn square_error() -> impl Strategy<Value = SquareError> {
    (
        prop_oneof![prop::sample::select(ErrorCategory::KNOWN.to_vec()), "[a-z_]{1,16}".prop_map(ErrorCategory::from)],
        prop_oneof![prop::sample::select(ErrorCode::KNOWN.to_vec()), "[a-z_.]{1,24}".prop_map(ErrorCode::from)],
        prop::option::of(text(0, 80)),
        prop::option::of(text(0, 30)),
    )
        .prop_map(|(category, code, detail, field)| SquareError { category, code, detail, field })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn obtain_token_body_carries_exactly_its_fields(
        client_id in text(1, 191),
        grant in grant(),
        redirect_uri in prop::option::of(text(1, 200)),
        scopes in prop::option::of(prop::collection::vec(scope(), 1..6)),
        short_lived in prop::option::of(any::<bool>()),
        use_jwt in prop::option::of(any::<bool>()),
    ) {
        let id = ClientId::new(client_id.clone());
        let mut operation = match &grant {
            GrantModel::Code { secret, code } => ObtainToken::authorization_code(id, ClientSecret::new(secret.clone()), AuthorizationCode::new(code.clone())),
            GrantModel::Pkce { code, verifier } => ObtainToken::pkce(id, AuthorizationCode::new(code.clone()), CodeVerifier::new(verifier.clone())),
            GrantModel::Refresh { secret, token } => ObtainToken::refresh(id, ClientSecret::new(secret.clone()), RefreshToken::new(token.clone())),
            GrantModel::PkceRefresh { token } => ObtainToken::pkce_refresh(id, RefreshToken::new(token.clone())),
            GrantModel::Migration { secret, token } => ObtainToken::migration(id, ClientSecret::new(secret.clone()), MigrationToken::new(token.clone())),
        };
        if let Some(uri) = &redirect_uri { operation = operation.redirect_uri(uri.clone()); }
        if let Some(scopes) = &scopes { operation = operation.scopes(scopes.clone()); }
        if let Some(short) = short_lived { operation = operation.short_lived(short); }
        if let Some(jwt) = use_jwt { operation = operation.use_jwt(jwt); }
        let request = operation.build(&Config::production()).unwrap();
        let mut sent = body_json(&request);

        let mut expected = Map::new();
        expected.insert("client_id".into(), Value::String(client_id));
        let s = |v: &String| Value::String(v.clone());
        let grant_type = match &grant {
            GrantModel::Code { secret, code } => { expected.insert("client_secret".into(), s(secret)); expected.insert("code".into(), s(code)); "authorization_code" }
            GrantModel::Pkce { code, verifier } => { expected.insert("code".into(), s(code)); expected.insert("code_verifier".into(), s(verifier)); "authorization_code" }
            GrantModel::Refresh { secret, token } => { expected.insert("client_secret".into(), s(secret)); expected.insert("refresh_token".into(), s(token)); "refresh_token" }
            GrantModel::PkceRefresh { token } => { expected.insert("refresh_token".into(), s(token)); "refresh_token" }
            GrantModel::Migration { secret, token } => { expected.insert("client_secret".into(), s(secret)); expected.insert("migration_token".into(), s(token)); "migration_token" }
        };
        expected.insert("grant_type".into(), Value::String(grant_type.into()));
        if let Some(uri) = redirect_uri { expected.insert("redirect_uri".into(), Value::String(uri)); }
        if let Some(scopes) = scopes { expected.insert("scopes".into(), scopes.iter().map(|s| Value::String(s.as_str().into())).collect()); }
        if let Some(short) = short_lived { expected.insert("short_lived".into(), Value::Bool(short)); }
        if let Some(jwt) = use_jwt { expected.insert("use_jwt".into(), Value::Bool(jwt)); }
        prop_assert_eq!(&sent, &Value::Object(expected));

        // `use_jwt` is not in the specification yet: validate the rest.
        sent.as_object_mut().unwrap().remove("use_jwt");
        assert_schema("ObtainTokenRequest", &sent);
    }

    #[test]
    fn revoke_token_carries_exactly_its_fields(
        client_id in text(1, 191),
        secret in visible(2, 200),
        by_token in any::<bool>(),
        token in visible(2, 300),
        merchant in text(1, 191),
        only in prop::option::of(any::<bool>()),
    ) {
        let id = ClientId::new(client_id.clone());
        let mut operation = if by_token {
            RevokeToken::access_token(id, ClientSecret::new(secret.clone()), AccessToken::new(token.clone()))
        } else {
            RevokeToken::merchant(id, ClientSecret::new(secret.clone()), MerchantId::new(merchant.clone()))
        };
        if let Some(only) = only { operation = operation.revoke_only_access_token(only); }
        let request = operation.build(&Config::production()).unwrap();
        prop_assert_eq!(request.headers()["authorization"].to_str().unwrap(), format!("Client {secret}"));
        let mut expected = Map::new();
        expected.insert("client_id".into(), Value::String(client_id));
        if by_token { expected.insert("access_token".into(), Value::String(token)); } else { expected.insert("merchant_id".into(), Value::String(merchant)); }
        if let Some(only) = only { expected.insert("revoke_only_access_token".into(), Value::Bool(only)); }
        let sent = body_json(&request);
        prop_assert_eq!(&sent, &Value::Object(expected));
        assert_schema("RevokeTokenRequest", &sent);
    }

    #[test]
    fn token_status_and_renew_carry_exactly_their_fields(client_id in text(1, 191), secret in visible(2, 200), token in visible(2, 300), renewed in text(2, 300)) {
        let request = RetrieveTokenStatus::new(AccessToken::new(token.clone())).build(&Config::production()).unwrap();
        prop_assert_eq!(request.headers()["authorization"].to_str().unwrap(), format!("Bearer {token}"));
        prop_assert!(request.body().is_empty());

        let request = RenewToken::new(ClientId::new(client_id.clone()), ClientSecret::new(secret.clone()), AccessToken::new(renewed.clone()))
            .build(&Config::production())
            .unwrap();
        prop_assert_eq!(request.headers()["authorization"].to_str().unwrap(), format!("Client {secret}"));
        let segment = request.uri().path().strip_prefix("/oauth2/clients/").unwrap().strip_suffix("/access-token/renew").unwrap();
        prop_assert!(!segment.contains('/'));
        let decoded: Vec<u8> = percent_decode(segment);
        prop_assert_eq!(String::from_utf8(decoded).unwrap(), client_id);
        let sent = body_json(&request);
        prop_assert_eq!(&sent, &serde_json::json!({ "access_token": renewed }));
        common::assert_schema_2024("RenewTokenRequest", &sent);
    }

    #[test]
    fn obtain_token_answers_parse_into_what_they_say(
        access_token in prop::option::of(text(2, 100)),
        token_type in prop::option::of(text(0, 10)),
        expires_at in prop::option::of(timestamp()),
        merchant_id in prop::option::of(text(0, 40)),
        subscription_id in prop::option::of(text(0, 40)),
        plan_id in prop::option::of(text(0, 40)),
        id_token in prop::option::of(text(0, 100)),
        refresh_token in prop::option::of(text(2, 100)),
        short_lived in prop::option::of(any::<bool>()),
        refresh_token_expires_at in prop::option::of(timestamp()),
        nulls in any::<bool>(),
    ) {
        let body = object(vec![
            ("access_token", string(&access_token)),
            ("token_type", string(&token_type)),
            ("expires_at", time(&expires_at)),
            ("merchant_id", string(&merchant_id)),
            ("subscription_id", string(&subscription_id)),
            ("plan_id", string(&plan_id)),
            ("id_token", string(&id_token)),
            ("refresh_token", string(&refresh_token)),
            ("short_lived", short_lived.map(Value::Bool)),
            ("refresh_token_expires_at", time(&refresh_token_expires_at)),
        ], nulls);
        let token = common::operations().obtain.parse(&Config::production(), json(200, &body)).unwrap();
        prop_assert_eq!(token.access_token.as_ref().map(|t| t.expose_secret().to_owned()), access_token);
        prop_assert_eq!(token.token_type, token_type);
        prop_assert_eq!(token.expires_at, expires_at);
        prop_assert_eq!(token.merchant_id.map(|m| m.as_str().to_owned()), merchant_id);
        prop_assert_eq!(token.subscription_id, subscription_id);
        prop_assert_eq!(token.plan_id, plan_id);
        prop_assert_eq!(token.id_token.as_ref().map(|t| t.expose_secret().to_owned()), id_token);
        prop_assert_eq!(token.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()), refresh_token);
        prop_assert_eq!(token.short_lived, short_lived);
        prop_assert_eq!(token.refresh_token_expires_at, refresh_token_expires_at);
    }

    #[test]
    fn token_status_revoke_and_renew_answers_parse_into_what_they_say(
        scopes in prop::option::of(prop::collection::vec(scope(), 0..8)),
        expires_at in prop::option::of(timestamp()),
        empty_expiry in any::<bool>(),
        client_id in prop::option::of(text(0, 40)),
        merchant_id in prop::option::of(text(0, 40)),
        success in prop::option::of(any::<bool>()),
        access_token in prop::option::of(text(2, 100)),
        nulls in any::<bool>(),
    ) {
        let expiry = match (expires_at, empty_expiry) {
            (Some(t), _) => Some(Value::String(t.to_string())),
            (None, true) => Some(Value::String(String::new())),
            (None, false) => None,
        };
        let body = object(vec![
            ("scopes", scopes.as_ref().map(|s| s.iter().map(|s| Value::String(s.as_str().into())).collect())),
            ("expires_at", expiry.clone()),
            ("client_id", string(&client_id)),
            ("merchant_id", string(&merchant_id)),
        ], nulls);
        let status = common::operations().status.parse(&Config::production(), json(200, &body)).unwrap();
        prop_assert_eq!(&status.scopes, &scopes);
        prop_assert_eq!(status.expires_at, expires_at);
        prop_assert_eq!(status.client_id.map(|c| c.as_str().to_owned()), client_id.clone());
        prop_assert_eq!(status.merchant_id.map(|m| m.as_str().to_owned()), merchant_id.clone());

        let body = object(vec![("success", success.map(Value::Bool))], nulls);
        let revoked = common::operations().revoke.parse(&Config::production(), json(200, &body));
        // Only `success: true` is a revocation; anything else is unconfirmed.
        if success == Some(true) {
            prop_assert_eq!(revoked.unwrap().success, Some(true));
        } else {
            prop_assert!(matches!(revoked, Err(square_oauth::Error::UnexpectedResponse(_))), "{revoked:?}");
        }

        let body = object(vec![
            ("access_token", string(&access_token)),
            ("expires_at", expiry),
            ("merchant_id", string(&merchant_id)),
            ("subscription_id", string(&client_id)),
        ], nulls);
        let renewed = common::operations().renew.parse(&Config::production(), json(200, &body)).unwrap();
        prop_assert_eq!(renewed.access_token.as_ref().map(|t| t.expose_secret().to_owned()), access_token);
        prop_assert_eq!(renewed.expires_at, expires_at);
        prop_assert_eq!(renewed.merchant_id.map(|m| m.as_str().to_owned()), merchant_id);
        prop_assert_eq!(renewed.subscription_id, client_id);
    }

    #[test]
    fn errors_serialize_and_parse_back_equal(
        errors in prop::collection::vec(square_error(), 1..5),
        status in prop_oneof![Just(200u16), 400u16..600],
        legacy in prop::option::of((text(0, 60), "[a-z_.]{1,30}", prop::option::of(text(0, 20)))),
    ) {
        let mut body = serde_json::json!({ "errors": errors });
        let mut expected = errors.clone();
        if let Some((message, kind, field)) = &legacy {
            body["message"] = Value::String(message.clone());
            body["type"] = Value::String(kind.clone());
            if let Some(field) = field { body["field"] = Value::String(field.clone()); }
            expected.push(SquareError { category: ErrorCategory::V1Error, code: ErrorCode::from(kind.as_str()), detail: Some(message.clone()), field: field.clone() });
        }
        for error in &errors {
            // What this crate writes is what Square's schema describes.
            let value = serde_json::to_value(error).unwrap();
            prop_assert!(value.as_object().unwrap().values().all(|v| !v.is_null()));
            let in_spec = |name: &str, text: &str| common::schema_2025(name)["enum"].as_array().unwrap().iter().any(|v| v == text);
            let described = in_spec("ErrorCategory", error.category.as_str()) && in_spec("ErrorCode", error.code.as_str());
            prop_assert_eq!(common::matches_schema("Error", &value), described, "{}", value);
        }
        let body = body.to_string();
        // RevokeToken reads "the token is revoked already" as done (a repeated revoke).
        let already_revoked = expected.iter().all(|e| e.code == ErrorCode::AccessTokenRevoked);
        for (operation, result) in common::parse_everywhere(&Config::production(), status, &[("content-type", "application/json")], body.as_bytes()) {
            match result {
                Ok(answer) if operation == "RevokeToken" && already_revoked => {
                    prop_assert!(answer.contains("already_revoked: true"), "{}", answer);
                }
                Err(Error::Square(refusal)) => {
                    prop_assert_eq!(refusal.status.as_u16(), status);
                    prop_assert_eq!(&refusal.errors, &expected, "{}", operation);
                }
                other => prop_assert!(false, "{}: {:?}", operation, other),
            }
        }
    }

    #[test]
    fn authorize_url_and_a_simulated_callback_give_back_the_same_code_and_state(
        client_id in text(1, 100),
        scopes in prop::collection::vec(scope(), 0..6),
        entropy in any::<[u8; 32]>(),
        custom_state in prop::option::of(text(1, 80)),
        path in "[a-z0-9/._~-]{0,30}",
        code in text(1, 191),
        locale in prop::option::of(prop::sample::select(vec!["en-IE", "en-US", "en-CA", "es-US", "fr-CA", "ja-JP"])),
        session in prop::option::of(any::<bool>()),
        fragment in any::<bool>(),
    ) {
        let state = custom_state.clone().map_or_else(|| State::from_entropy(entropy), State::new);
        let verifier = CodeVerifier::from_entropy(entropy);
        let redirect_uri = format!("https://app.example.com/{path}");
        let mut builder = AuthorizeUrl::new(ClientId::new(client_id.clone()))
            .scopes(scopes.clone())
            .state(&state)
            .code_challenge(&verifier.challenge())
            .redirect_uri(redirect_uri.clone());
        if let Some(locale) = locale { builder = builder.locale(locale); }
        if let Some(session) = session { builder = builder.session(session); }
        let url = builder.build(&Config::production()).unwrap();
        let uri: http::Uri = url.parse().unwrap();
        prop_assert_eq!(uri.host(), Some("connect.squareup.com"));
        prop_assert_eq!(uri.path(), "/oauth2/authorize");

        let pairs: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap().as_bytes()).into_owned().collect();
        let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        prop_assert_eq!(get("client_id"), Some(client_id));
        let joined = scopes.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ");
        prop_assert_eq!(get("scope"), if scopes.is_empty() { None } else { Some(joined) });
        prop_assert_eq!(get("state"), Some(state.expose_secret().to_owned()));
        prop_assert_eq!(get("code_challenge"), Some(verifier.challenge().as_str().to_owned()));
        prop_assert_eq!(get("code_challenge_method"), Some("S256".to_owned()));
        prop_assert_eq!(get("redirect_uri"), Some(redirect_uri.clone()));
        prop_assert_eq!(get("locale"), locale.map(str::to_owned));
        prop_assert_eq!(get("session"), session.map(|s| s.to_string()));
        prop_assert_eq!(get("response_type"), Some("code".to_owned()));
        let mut keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        let count = keys.len();
        keys.sort_unstable();
        keys.dedup();
        prop_assert_eq!(keys.len(), count, "a parameter is repeated");

        // Square sends the browser back with the code and the state it was given.
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("response_type", "code")
            .append_pair("state", &get("state").unwrap())
            .finish();
        let redirect = format!("{redirect_uri}?{query}{}", if fragment { "#_=_" } else { "" });
        let returned = parse_callback(&redirect, &state).unwrap();
        prop_assert_eq!(returned.expose_secret(), code.as_str());
        // The bare query works the same.
        let bare = parse_callback(&query, &state).unwrap();
        prop_assert_eq!(bare.expose_secret(), code.as_str());
        // And another request's state never matches.
        let other = State::from_entropy(entropy.map(|b| b ^ 1));
        if custom_state.is_none() {
            let mismatch = matches!(parse_callback(&redirect, &other), Err(Error::Callback(CallbackError::StateMismatch)));
            prop_assert!(mismatch);
        }
    }

    #[test]
    fn a_refusal_comes_back_through_the_callback_unchanged(error in text(1, 40), description in prop::option::of(text(0, 80)), entropy in any::<[u8; 32]>()) {
        let state = State::from_entropy(entropy);
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("error", &error);
        if let Some(description) = &description { query.append_pair("error_description", description); }
        query.append_pair("state", state.expose_secret());
        let redirect = format!("https://app.example.com/cb?{}", query.finish());
        let result = parse_callback(&redirect, &state);
        let denied = matches!(result, Err(Error::Callback(CallbackError::Denied { error: ref e, description: ref d })) if *e == error && *d == description);
        prop_assert!(denied, "{:?}", result);
    }
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}
