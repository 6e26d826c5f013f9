//! The excerpt of an answer that could not be understood: whatever the body holds, no value
//! outside Square's error keys reaches the error, and the body's shape does.

use proptest::prelude::*;
use serde_json::Value;
use square_oauth::{
    AccessToken, Config, ERROR_TEXT_KEYS, EXCERPT_BYTES, Error, Operation, RetrieveTokenStatus, redact_json,
};

/// A secret-looking value, unique enough to be found again in any text.
fn secret() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_~.+/=-]{6,40}".prop_map(|tail| format!("SENTINEL{tail}"))
}

/// Keys: Square's own field names, its error keys, and anything else.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["access_token", "refresh_token", "client_secret", "merchant_id", "errors", "data"])
            .prop_map(str::to_owned),
        prop::sample::select(ERROR_TEXT_KEYS.to_vec()).prop_map(str::to_owned),
        "[a-z_]{1,12}",
        ".{0,12}",
    ]
}

/// A JSON document whose every string and number outside the error keys is a secret (the
/// error keys hold plain text), nested arbitrarily.
fn document() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        secret().prop_map(Value::String),
        (1_000_000_000u64..u64::MAX).prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner, "[A-Z_ ]{0,20}"), 0..6).prop_map(|fields| {
                let mut map = serde_json::Map::new();
                for (key, value, text) in fields {
                    // Under an error key, only harmless text: what may be shown is shown.
                    let value = if ERROR_TEXT_KEYS.contains(&key.as_str()) && !value.is_object() && !value.is_array() {
                        Value::String(text)
                    } else {
                        value
                    };
                    map.insert(key, value);
                }
                Value::Object(map)
            }),
        ]
    })
}

/// Every string and number in `value`: the values that must not be shown.
fn secrets(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) if text.starts_with("SENTINEL") => out.push(text.clone()),
        Value::Number(number) => out.push(number.to_string()),
        Value::Array(items) => items.iter().for_each(|item| secrets(item, out)),
        Value::Object(map) => map.values().for_each(|item| secrets(item, out)),
        _ => {}
    }
}

/// The shape of a document: keys that read as field names, nesting and types, with values gone.
fn shape(value: &Value) -> Value {
    match value {
        Value::String(_) => Value::String("…".into()),
        Value::Number(_) => Value::from(0),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let name = !key.is_empty()
                        && key.len() <= 40
                        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                    (if name { key.clone() } else { "…".to_owned() }, shape(value))
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn excerpt_of(body: &[u8]) -> String {
    let answer = http::Response::builder().status(502).header("content-type", "application/json").body(body).unwrap();
    match RetrieveTokenStatus::new(AccessToken::new("EAAAx")).parse(&Config::production(), answer) {
        Err(Error::UnexpectedResponse(unexpected)) => unexpected.excerpt,
        Err(Error::Square(_)) => String::new(),
        other => panic!("an error, got {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// No secret value, wherever it stands, survives into the redaction or the excerpt, nor
    /// into a prefix of the body cut anywhere.
    #[test]
    fn no_value_outside_the_allow_list_survives(document in document(), cut in any::<prop::sample::Index>()) {
        let body = serde_json::to_vec(&document).unwrap();
        let mut hidden = Vec::new();
        secrets(&document, &mut hidden);
        let whole = redact_json(&body, |_| false);
        // An excerpt of a body Square's parser refuses as a whole, and of a body cut short.
        let broken = [&body[..], &b" ]"[..]].concat();
        let cut = &body[..cut.index(body.len() + 1)];
        let excerpts = [excerpt_of(&broken), excerpt_of(cut)];
        for excerpt in &excerpts {
            prop_assert!(excerpt.len() <= EXCERPT_BYTES, "{} bytes", excerpt.len());
        }
        for shown in excerpts.into_iter().chain([whole, redact_json(cut, |_| false)]) {
            for secret in &hidden {
                // A hidden number reads `0`; a value of a few digits could appear by chance.
                if secret.len() >= 6 {
                    prop_assert!(!shown.contains(secret.as_str()), "{secret} in {shown}");
                }
            }
        }
    }

    /// The redaction keeps the document's structure: the same keys, nesting and types.
    #[test]
    fn the_shape_of_the_body_is_kept(document in document()) {
        let body = serde_json::to_vec(&document).unwrap();
        let shown: Value = serde_json::from_str(&redact_json(&body, |_| false)).unwrap();
        prop_assert_eq!(shape(&shown), shape(&document));
    }
}

#[test]
fn square_error_text_is_kept_and_everything_else_hidden() {
    let body = br#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED","detail":"Bad refresh token",
        "field":"refresh_token"}],"refresh_token":"EQAAsentinel","expires_at":17}"#;
    assert_eq!(
        excerpt_of(&[&body[..], &b"]"[..]].concat()),
        r#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED","detail":"Bad refresh token","field":"refresh_token"}],"refresh_token":"…","expires_at":0}[not JSON from here]"#
    );
}

#[test]
fn a_body_that_is_not_json_is_described_by_its_length() {
    let page = b"<html><body>502 Bad Gateway: access_token=EAAAsentinel</body></html>";
    let answer = http::Response::builder().status(502).header("content-type", "text/html").body(&page[..]).unwrap();
    let Err(Error::UnexpectedResponse(unexpected)) =
        RetrieveTokenStatus::new(AccessToken::new("EAAAx")).parse(&Config::production(), answer)
    else {
        panic!("an unexpected answer")
    };
    assert_eq!(unexpected.excerpt, format!("[{} bytes, not JSON]", page.len()));
    assert_eq!(unexpected.content_type.as_deref(), Some("text/html"));
}
