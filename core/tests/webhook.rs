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

use square_oauth::{
    AUTHORIZATION_REVOKED, InvalidInput, Problem, RevokerType, SIGNATURE_HEADER, WebhookError, WebhookSignatureKey,
    parse_revocation, verify_request, verify_signature,
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

fn webhook_error(result: Result<(), WebhookError>) -> WebhookError {
    result.expect_err("a webhook error")
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

    // Any change to the concatenated bytes is refused, however small or wherever it falls.
    let mut changed: Vec<(String, String)> = vec![
        (format!("{URL}/"), SQUARE_EXAMPLE.to_owned()),
        (URL[..URL.len() - 1].to_owned(), SQUARE_EXAMPLE.to_owned()),
        (URL.to_owned(), format!("{SQUARE_EXAMPLE}\n")),
        (URL.to_owned(), format!(" {SQUARE_EXAMPLE}")),
        (format!(" {URL}"), SQUARE_EXAMPLE.to_owned()),
        (URL.to_uppercase(), SQUARE_EXAMPLE.to_owned()),
        (SQUARE_EXAMPLE.to_owned(), URL.to_owned()),
        (URL.to_owned(), SQUARE_EXAMPLE.replacen(' ', "", 1)),
    ];
    // The same split with one byte dropped at the seam, on either side.
    changed.push((url[..url.len() - 1].to_owned(), body.to_owned()));
    changed.push((url.to_owned(), body[1..].to_owned()));
    for (url, body) in changed {
        assert_ne!(format!("{url}{body}"), whole);
        let error = webhook_error(verify_signature(&key(KEY), &url, body.as_bytes(), SIGNATURE));
        assert_eq!(error, WebhookError::SignatureMismatch, "{url:?} ‖ {body:?}");
    }
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
        Err(WebhookError::InvalidInput(InvalidInput { field: "signature_key", problem: Problem::Empty })) => {}
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
fn a_malformed_notification_s_error_keeps_the_message_and_drops_the_values() {
    // serde quotes the value it found ("invalid type: string \"…\", expected …"): the value is
    // whatever the sender put there, so the error keeps the message and replaces the value.
    let mut event: serde_json::Value = serde_json::from_str(SQUARE_EXAMPLE).unwrap();
    event["data"]["object"]["revocation"] = "sq0csp-planted-value".into();
    let body = event.to_string();
    let WebhookError::Malformed { path, message } = parse_revocation(body.as_bytes()).unwrap_err() else {
        panic!("a malformed notification")
    };
    assert_eq!(path, "data.object.revocation");
    assert!(message.contains("invalid type: string \"…\""), "{message}");
    let error = parse_revocation(body.as_bytes()).unwrap_err();
    for text in [message, error.to_string(), format!("{error:?}")] {
        assert!(!text.contains("planted"), "{text}");
    }
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
        Err(WebhookError::UnexpectedEventType { event_type }) => {
            assert_eq!(event_type, "payment.created")
        }
        other => panic!("{other:?}"),
    }
    match parse_revocation(br#"{"merchant_id":"M1"}"#) {
        Err(WebhookError::Malformed { path, message }) => {
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
            Err(WebhookError::Malformed { path, message }) => {
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

// ---- Square's own vector, from its SDKs ----------------------------------------------------

/// The vector in Square's Python SDK (`tests/utilities/test_webhooks_helper.py` of
/// square/square-python-sdk): a `webhooks.test_notification` event, its key, URL and signature.
const SDK_BODY: &str = r#"{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}"#;
const SDK_SIGNATURE: &str = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=";
const SDK_KEY: &str = "Ibxx_5AKakO-3qeNVR61Dw";
const SDK_URL: &str = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9";

#[test]
fn square_s_sdk_vector_verifies() {
    verify_signature(&key(SDK_KEY), SDK_URL, SDK_BODY.as_bytes(), SDK_SIGNATURE).unwrap();
}

#[test]
fn square_s_sdk_vector_refuses_what_the_sdk_refuses() {
    let mismatch = |url: &str, body: &str, key_text: &str| {
        webhook_error(verify_signature(&key(key_text), url, body.as_bytes(), SDK_SIGNATURE))
    };
    // A URL one character short, another key, a body with another date, the body reformatted.
    let url = "https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9";
    assert_eq!(mismatch(url, SDK_BODY, SDK_KEY), WebhookError::SignatureMismatch);
    assert_eq!(mismatch(SDK_URL, SDK_BODY, "MCmhFRxGX82xMwg5FsaoQA"), WebhookError::SignatureMismatch);
    let other_date = SDK_BODY.replace("2022-07-13", "2022-06-13");
    assert_eq!(mismatch(SDK_URL, &other_date, SDK_KEY), WebhookError::SignatureMismatch);
    let reformatted = SDK_BODY.replace(",", ", ");
    assert_eq!(mismatch(SDK_URL, &reformatted, SDK_KEY), WebhookError::SignatureMismatch);
    // The SDK's "invalid signature header" is a 20-byte value: not an HMAC-SHA256 at all.
    let short = verify_signature(&key(SDK_KEY), SDK_URL, SDK_BODY.as_bytes(), "1z2n3DEJJiUPKcPzQo1ftvbxGdw=");
    assert_eq!(webhook_error(short), WebhookError::MalformedSignature);
}

// ---- replays -------------------------------------------------------------------------------

fn revocation(revoked_at: Option<&str>, created_at: &str) -> square_oauth::AuthorizationRevoked {
    let revocation = match revoked_at {
        Some(at) => format!(r#","object":{{"revocation":{{"revoked_at":"{at}","revoker_type":"MERCHANT"}}}}"#),
        None => String::new(),
    };
    let body = format!(
        r#"{{"merchant_id":"MLQW2MYBY81PZ","type":"oauth.authorization.revoked","event_id":"ev-1","created_at":"{created_at}","data":{{"type":"revocation","id":"r1"{revocation}}}}}"#
    );
    parse_revocation(body.as_bytes()).unwrap()
}

fn tokens_obtained_at(at: &str, merchant: &str) -> square_oauth::TokenSet {
    let answer = serde_json::from_value(serde_json::json!({
        "access_token": "EAAAx", "merchant_id": merchant, "refresh_token": "EQAAx",
    }))
    .unwrap();
    square_oauth::TokenSet::from_response(
        square_oauth::Flow::CodeFlow,
        square_oauth::ClientId::new("sq0idp-app"),
        answer,
        at.parse().unwrap(),
    )
    .unwrap()
}

#[test]
fn a_revocation_older_than_the_grant_held_is_recognised() {
    let revoked = revocation(Some("2026-03-01T12:00:00Z"), "2026-03-01T12:00:05Z");
    assert_eq!(revoked.event_id, "ev-1");
    let at = |t: &str| t.parse::<square_oauth::jiff::Timestamp>().unwrap();
    assert!(revoked.is_older_than(at("2026-03-01T12:00:00.000000001Z")));
    assert!(!revoked.is_older_than(at("2026-03-01T12:00:00Z")), "the same instant applies");
    assert!(!revoked.is_older_than(at("2026-02-01T00:00:00Z")));

    // A grant obtained after the revocation is not ended by it (a replay); one before is.
    assert!(!revoked.applies_to(&tokens_obtained_at("2026-03-02T00:00:00Z", "MLQW2MYBY81PZ")));
    assert!(revoked.applies_to(&tokens_obtained_at("2026-02-28T00:00:00Z", "MLQW2MYBY81PZ")));
    // Another seller's grant never is.
    assert!(!revoked.applies_to(&tokens_obtained_at("2026-02-28T00:00:00Z", "OTHERSELLER")));
}

#[test]
fn without_revoked_at_the_notification_time_is_used() {
    let revoked = revocation(None, "2026-03-01T12:00:05Z");
    assert_eq!(revoked.revoked_at, None);
    assert_eq!(
        revoked.revoked_or_created_at(),
        "2026-03-01T12:00:05Z".parse::<square_oauth::jiff::Timestamp>().unwrap()
    );
    assert!(revoked.applies_to(&tokens_obtained_at("2026-03-01T12:00:04Z", "MLQW2MYBY81PZ")));
    assert!(!revoked.applies_to(&tokens_obtained_at("2026-03-01T12:00:06Z", "MLQW2MYBY81PZ")));
}
