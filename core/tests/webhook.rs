//! Webhook signatures and the revocation event.
//!
//! Every signature below was computed outside this crate, with Python's standard library:
//!
//! ```text
//! python3 -c 'import hmac,hashlib,base64
//! def sig(k,u,b): return base64.b64encode(hmac.new(k.encode(),u.encode()+b,hashlib.sha256).digest()).decode()
//! b=open("square_example.json","rb").read()   # SQUARE_EXAMPLE below, 418 bytes, trailing newline
//! print(sig("Tm9ZU2VjcmV0S2V5MTIzNA","https://example.com/webhooks/square",b))
//! print(sig("Tm9ZU2VjcmV0S2V5MTIzNA","https://example.com/webhooks/square?tenant=42",b))
//! print(sig("asdf1234","https://example.com/webhook",b""))
//! print(sig("clé-ñ-🔑","https://example.com/hook","{\"note\":\"café ☕\"}".encode()))'
//! ```
//!
//! and the first one again with OpenSSL, which gave the same value:
//!
//! ```text
//! printf '%s' "https://example.com/webhooks/square" | cat - square_example.json \
//!   | openssl dgst -sha256 -hmac "Tm9ZU2VjcmV0S2V5MTIzNA" -binary | base64
//! ```

use square_oauth::webhook::{AUTHORIZATION_REVOKED, SIGNATURE_HEADER};
use square_oauth::{
    Error, InvalidInput, Problem, RevokerType, WebhookError, WebhookSignatureKey, parse_revocation, verify_request,
    verify_signature,
};

/// Square's example of `oauth.authorization.revoked` (`OauthAuthorizationRevokedEvent` in
/// `spec/square-oauth-openapi-2025-08-20.json`), pretty-printed in Square's field order, with a
/// trailing newline: the bytes the vectors were computed over.
const SQUARE_EXAMPLE: &str = r#"{
  "merchant_id": "J9Z30SF99NPFJ",
  "type": "oauth.authorization.revoked",
  "event_id": "e1d6ae37-5aa9-45a5-b525-b12caf819fdb",
  "created_at": "2020-08-14T15:51:04.246373287Z",
  "data": {
    "type": "revocation",
    "id": "415641cf-eba2-4dfa-88cc-c4be1301fdc6",
    "object": {
      "revocation": {
        "revoked_at": "2020-08-14T15:51:00.246373287Z",
        "revoker_type": "MERCHANT"
      }
    }
  }
}
"#;

const KEY: &str = "Tm9ZU2VjcmV0S2V5MTIzNA";
const URL: &str = "https://example.com/webhooks/square";
const SIGNATURE: &str = "tQJV2H29gLZaTlFkxG4dtnrhUXELfTTecziqPDj6lPY=";

struct Vector {
    key: &'static str,
    url: &'static str,
    body: &'static [u8],
    signature: &'static str,
}

const VECTORS: &[Vector] = &[
    Vector { key: KEY, url: URL, body: SQUARE_EXAMPLE.as_bytes(), signature: SIGNATURE },
    Vector {
        key: KEY,
        url: "https://example.com/webhooks/square?tenant=42",
        body: SQUARE_EXAMPLE.as_bytes(),
        signature: "u+93bQa1GnOgYraP1HZ1y04Xa5micG3k5pcgTdIr7zs=",
    },
    Vector {
        key: "asdf1234",
        url: "https://example.com/webhook",
        body: b"",
        signature: "ynbHtv7mmd+3xVChP9MsT9iQ4vULFz7Gx8Sq9SZy4QM=",
    },
    Vector {
        key: "clé-ñ-🔑",
        url: "https://example.com/hook",
        body: "{\"note\":\"café ☕\"}".as_bytes(),
        signature: "i9iPvdQtH2uvxYPqNnftSlSMXSMH1yjenOdXRa+EFrM=",
    },
];

fn key(text: &str) -> WebhookSignatureKey {
    WebhookSignatureKey::new(text)
}

fn webhook_error(result: Result<(), Error>) -> WebhookError {
    match result {
        Err(Error::Webhook(error)) => error,
        other => panic!("expected a webhook error, got {other:?}"),
    }
}

#[test]
fn the_example_is_the_bytes_the_vectors_were_computed_over() {
    assert_eq!(SQUARE_EXAMPLE.len(), 418);
    assert!(SQUARE_EXAMPLE.ends_with("}\n"));
}

#[test]
fn independently_computed_signatures_verify() {
    for (i, v) in VECTORS.iter().enumerate() {
        verify_signature(&key(v.key), v.url, v.body, v.signature).unwrap_or_else(|e| panic!("vector {i}: {e}"));
    }
}

#[test]
fn surrounding_whitespace_in_the_header_is_ignored() {
    verify_signature(&key(KEY), URL, SQUARE_EXAMPLE.as_bytes(), &format!("  {SIGNATURE}\t")).unwrap();
}

#[test]
fn a_tampered_body_is_refused() {
    let tampered = SQUARE_EXAMPLE.replace("J9Z30SF99NPFJ", "J9Z30SF99NPFK");
    let error = webhook_error(verify_signature(&key(KEY), URL, tampered.as_bytes(), SIGNATURE));
    assert_eq!(error, WebhookError::SignatureMismatch);
    // One byte less (the trailing newline) is a different body too.
    let trimmed = SQUARE_EXAMPLE.trim_end().as_bytes();
    assert_eq!(webhook_error(verify_signature(&key(KEY), URL, trimmed, SIGNATURE)), WebhookError::SignatureMismatch);
}

#[test]
fn every_single_bit_flip_of_the_body_is_refused() {
    let mut body = SQUARE_EXAMPLE.as_bytes().to_vec();
    for i in 0..body.len() {
        for bit in [0x01, 0x80] {
            body[i] ^= bit;
            assert!(verify_signature(&key(KEY), URL, &body, SIGNATURE).is_err(), "byte {i} bit {bit:#x}");
            body[i] ^= bit;
        }
    }
}

#[test]
fn a_different_url_is_refused() {
    for url in [
        "https://example.com/webhooks/square/",
        "http://example.com/webhooks/square",
        "https://EXAMPLE.com/webhooks/square",
        "https://example.com/webhooks/square?tenant=42",
        "",
    ] {
        let error = webhook_error(verify_signature(&key(KEY), url, SQUARE_EXAMPLE.as_bytes(), SIGNATURE));
        assert_eq!(error, WebhookError::SignatureMismatch, "{url}");
    }
}

#[test]
fn moving_bytes_between_url_and_body_is_refused_only_if_the_concatenation_changes() {
    // The signature covers URL ‖ body, so splitting the same bytes differently verifies: the
    // caller passes the registered URL, which is what makes this safe.
    let whole = format!("{URL}{SQUARE_EXAMPLE}");
    let (url, body) = whole.split_at(URL.len() - 6);
    verify_signature(&key(KEY), url, body.as_bytes(), SIGNATURE).unwrap();
}

#[test]
fn a_wrong_key_is_refused() {
    for wrong in ["Tm9ZU2VjcmV0S2V5MTIzNB", "tm9ZU2VjcmV0S2V5MTIzNA", "Tm9ZU2VjcmV0S2V5MTIzNA ", "x"] {
        let error = webhook_error(verify_signature(&key(wrong), URL, SQUARE_EXAMPLE.as_bytes(), SIGNATURE));
        assert_eq!(error, WebhookError::SignatureMismatch, "{wrong:?}");
    }
}

#[test]
fn an_empty_key_is_the_callers_mistake() {
    match verify_signature(&key(""), URL, SQUARE_EXAMPLE.as_bytes(), SIGNATURE) {
        Err(Error::InvalidInput(InvalidInput { field: "signature_key", problem: Problem::Empty })) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_truncated_signature_is_refused() {
    // Every prefix, valid base64 or not: never accepted.
    for end in 0..SIGNATURE.len() {
        let error = webhook_error(verify_signature(&key(KEY), URL, SQUARE_EXAMPLE.as_bytes(), &SIGNATURE[..end]));
        assert!(
            matches!(error, WebhookError::MalformedSignature | WebhookError::SignatureMismatch),
            "{end}: {error:?}"
        );
    }
    // A well-formed base64 of the first 30 bytes: decodes, but is not an HMAC-SHA256.
    let error = webhook_error(verify_signature(
        &key(KEY),
        URL,
        SQUARE_EXAMPLE.as_bytes(),
        "tQJV2H29gLZaTlFkxG4dtnrhUXELfTTecziqPDj6",
    ));
    assert_eq!(error, WebhookError::MalformedSignature);
}

#[test]
fn a_malformed_or_altered_signature_is_refused() {
    let cases = [
        ("", WebhookError::MalformedSignature),
        ("not base64!", WebhookError::MalformedSignature),
        ("tQJV2H29gLZaTlFkxG4dtnrhUXELfTTecziqPDj6lPY", WebhookError::MalformedSignature), // padding dropped
        ("tQJV2H29gLZaTlFkxG4dtnrhUXELfTTecziqPDj6lPY=tQ==", WebhookError::MalformedSignature),
        ("tQJV2H29gLZaTlFkxG4dtnrhUXELfTTecziqPDj6lPQ=", WebhookError::SignatureMismatch), // last byte differs
        ("uQJV2H29gLZaTlFkxG4dtnrhUXELfTTecziqPDj6lPY=", WebhookError::SignatureMismatch), // first byte differs
        ("tQJV2H29gLZaTlFkxG4dtnrhUXELfTTecziqPDj6lPY=tQJV", WebhookError::MalformedSignature), // trailing data
    ];
    for (header, expected) in cases {
        let error = webhook_error(verify_signature(&key(KEY), URL, SQUARE_EXAMPLE.as_bytes(), header));
        assert_eq!(error, expected, "{header:?}");
    }
}

#[test]
fn the_url_safe_alphabet_is_not_square_s() {
    // Vector 2's signature holds `+`; the URL-safe spelling of the same bytes is refused.
    let url_safe = "u-93bQa1GnOgYraP1HZ1y04Xa5micG3k5pcgTdIr7zs=";
    let error = webhook_error(verify_signature(
        &key(KEY),
        "https://example.com/webhooks/square?tenant=42",
        SQUARE_EXAMPLE.as_bytes(),
        url_safe,
    ));
    assert_eq!(error, WebhookError::MalformedSignature);
}

fn request(signatures: &[&str], body: &'static str) -> http::Request<&'static [u8]> {
    let mut builder = http::Request::post("/webhooks/square").header("content-type", "application/json");
    for signature in signatures {
        builder = builder.header(SIGNATURE_HEADER, *signature);
    }
    builder.body(body.as_bytes()).unwrap()
}

#[test]
fn a_request_verifies_from_its_header_and_body() {
    verify_request(&key(KEY), URL, &request(&[SIGNATURE], SQUARE_EXAMPLE)).unwrap();
    // Header names are case-insensitive; http normalizes them.
    let upper = http::Request::post("/")
        .header("X-Square-HmacSha256-Signature", SIGNATURE)
        .body(SQUARE_EXAMPLE.as_bytes().to_vec())
        .unwrap();
    verify_request(&key(KEY), URL, &upper).unwrap();
    // Any body type that is bytes.
    let string_body = http::Request::post("/").header(SIGNATURE_HEADER, SIGNATURE).body(SQUARE_EXAMPLE).unwrap();
    verify_request(&key(KEY), URL, &string_body).unwrap();
}

#[test]
fn a_request_without_exactly_one_valid_header_is_refused() {
    assert_eq!(
        webhook_error(verify_request(&key(KEY), URL, &request(&[], SQUARE_EXAMPLE))),
        WebhookError::MissingSignature
    );
    assert_eq!(
        webhook_error(verify_request(&key(KEY), URL, &request(&[SIGNATURE, SIGNATURE], SQUARE_EXAMPLE))),
        WebhookError::MalformedSignature
    );
    let opaque = http::Request::post("/")
        .header(SIGNATURE_HEADER, http::HeaderValue::from_bytes(b"\xfftQJV").unwrap())
        .body(SQUARE_EXAMPLE)
        .unwrap();
    assert_eq!(webhook_error(verify_request(&key(KEY), URL, &opaque)), WebhookError::MalformedSignature);
    assert_eq!(
        webhook_error(verify_request(&key(KEY), URL, &request(&[SIGNATURE], "{}"))),
        WebhookError::SignatureMismatch
    );
    // The legacy HMAC-SHA1 header alone is not accepted.
    let legacy = http::Request::post("/")
        .header("x-square-signature", "2kRE5qRU2tR+tBGlDwMEw2avJ7Q=")
        .body(SQUARE_EXAMPLE)
        .unwrap();
    assert_eq!(webhook_error(verify_request(&key(KEY), URL, &legacy)), WebhookError::MissingSignature);
}

#[test]
fn errors_carry_no_key_signature_or_body() {
    let results = [
        verify_signature(&key(KEY), URL, b"{\"secret\":1}", SIGNATURE),
        verify_signature(&key(KEY), URL, SQUARE_EXAMPLE.as_bytes(), "tQJV2H29"),
        verify_request(&key(KEY), URL, &request(&[], SQUARE_EXAMPLE)),
    ];
    for result in results {
        let error = result.unwrap_err();
        for text in [error.to_string(), format!("{error:?}")] {
            for forbidden in [KEY, "tQJV2H29", "secret", "J9Z30SF99NPFJ"] {
                assert!(!text.contains(forbidden), "{text}");
            }
        }
    }
    assert_eq!(format!("{:?}", key(KEY)), "WebhookSignatureKey([REDACTED])");
}

#[test]
fn square_s_revocation_example_parses() {
    let event = parse_revocation(SQUARE_EXAMPLE.as_bytes()).unwrap();
    assert_eq!(event.merchant_id.as_str(), "J9Z30SF99NPFJ");
    assert_eq!(event.event_id, "e1d6ae37-5aa9-45a5-b525-b12caf819fdb");
    assert_eq!(event.created_at, "2020-08-14T15:51:04.246373287Z".parse().unwrap());
    assert_eq!(event.revocation_id.as_deref(), Some("415641cf-eba2-4dfa-88cc-c4be1301fdc6"));
    assert_eq!(event.revoked_at, Some("2020-08-14T15:51:00.246373287Z".parse().unwrap()));
    assert_eq!(event.revoker_type, Some(RevokerType::Merchant));
    assert_eq!(AUTHORIZATION_REVOKED, "oauth.authorization.revoked");
}

#[test]
fn the_example_in_the_specification_parses() {
    let spec: serde_json::Value =
        serde_json::from_str(include_str!("../../spec/square-oauth-openapi-2025-08-20.json")).unwrap();
    let example = &spec["components"]["schemas"]["OauthAuthorizationRevokedEvent"]["example"];
    let event = parse_revocation(example.to_string().as_bytes()).unwrap();
    assert_eq!(event.merchant_id.as_str(), "J9Z30SF99NPFJ");
    assert_eq!(event.revoker_type, Some(RevokerType::Merchant));
    let known: Vec<_> = spec["components"]["schemas"]["OauthAuthorizationRevokedEventRevokerType"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| RevokerType::from(v.as_str().unwrap()))
        .collect();
    assert_eq!(known, RevokerType::KNOWN);
}

fn with_revoker(revoker: &str) -> String {
    SQUARE_EXAMPLE.replace("\"MERCHANT\"", revoker)
}

#[test]
fn every_revoker_type_parses_and_unknown_ones_are_kept() {
    for (text, expected) in [
        ("\"APPLICATION\"", Some(RevokerType::Application)),
        ("\"MERCHANT\"", Some(RevokerType::Merchant)),
        ("\"SQUARE\"", Some(RevokerType::Square)),
        ("\"SUPPORT_AGENT\"", Some(RevokerType::Other("SUPPORT_AGENT".into()))),
        ("null", None),
    ] {
        let event = parse_revocation(with_revoker(text).as_bytes()).unwrap();
        assert_eq!(event.revoker_type, expected, "{text}");
    }
    assert!(!RevokerType::from("SUPPORT_AGENT").is_known());
    assert_eq!(RevokerType::Other("X".into()).to_string(), "X");
}

#[test]
fn nullable_details_do_not_lose_a_revocation() {
    // The specification marks `data`, `object`, `revocation`, `revoked_at` nullable; the seller
    // is still known, so the event still parses.
    for body in [
        r#"{"merchant_id":"M1","type":"oauth.authorization.revoked","event_id":"e","created_at":"2020-08-14T15:51:04Z"}"#,
        r#"{"merchant_id":"M1","type":"oauth.authorization.revoked","event_id":"e","created_at":"2020-08-14T15:51:04Z","data":null}"#,
        r#"{"merchant_id":"M1","type":"oauth.authorization.revoked","event_id":"e","created_at":"2020-08-14T15:51:04Z","data":{"type":"revocation","object":{"revocation":null}}}"#,
        r#"{"merchant_id":"M1","type":"oauth.authorization.revoked","event_id":"e","created_at":"2020-08-14T15:51:04Z","data":{"object":{"revocation":{"revoked_at":null}}}}"#,
    ] {
        let event = parse_revocation(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(event.merchant_id.as_str(), "M1");
        assert_eq!(event.revoked_at, None);
        assert_eq!(event.revoker_type, None);
    }
}

#[test]
fn another_event_type_is_named_not_parsed() {
    let body = SQUARE_EXAMPLE.replace("oauth.authorization.revoked", "payment.created");
    match parse_revocation(body.as_bytes()) {
        Err(Error::Webhook(WebhookError::UnexpectedEventType { event_type })) => {
            assert_eq!(event_type, "payment.created")
        }
        other => panic!("{other:?}"),
    }
    match parse_revocation(br#"{"merchant_id":"M1"}"#) {
        Err(Error::Webhook(WebhookError::Malformed { path, message })) => {
            assert_eq!((path.as_str(), message.as_str()), (".", "missing field `type` at line 1 column 20"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_events_say_where_without_values() {
    let cases = [
        (SQUARE_EXAMPLE.replace("\"merchant_id\": \"J9Z30SF99NPFJ\",", ""), "."),
        (SQUARE_EXAMPLE.replace("\"2020-08-14T15:51:04.246373287Z\"", "\"yesterday-J9Z\""), "created_at"),
        (SQUARE_EXAMPLE.replace("\"2020-08-14T15:51:00.246373287Z\"", "42"), "data.object.revocation.revoked_at"),
        (SQUARE_EXAMPLE.replace("\"MERCHANT\"", "7"), "data.object.revocation.revoker_type"),
        (format!("{SQUARE_EXAMPLE} trailing"), "."),
        (SQUARE_EXAMPLE[..200].to_owned(), "data"),
        ("[]".to_owned(), "."),
        ("".to_owned(), "."),
    ];
    for (body, expected_path) in cases {
        match parse_revocation(body.as_bytes()) {
            Err(Error::Webhook(WebhookError::Malformed { path, message })) => {
                assert_eq!(path, expected_path, "{message}");
                assert!(!message.contains("J9Z") && !message.contains("yesterday"), "{message}");
            }
            other => panic!("{expected_path}: {other:?}"),
        }
    }
}

#[test]
fn hostile_bodies_never_panic() {
    let bytes = SQUARE_EXAMPLE.as_bytes();
    for end in 0..bytes.len() {
        let _ = parse_revocation(&bytes[..end]);
    }
    let _ = parse_revocation(&[0xff, 0xfe, 0x00]);
    let deep = "[".repeat(10_000);
    assert!(parse_revocation(deep.as_bytes()).is_err());
}
