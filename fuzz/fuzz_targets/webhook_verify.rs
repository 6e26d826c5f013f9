//! `verify_signature` and `verify_request` with any key, URL, body and header: never panic, never
//! accept a wrong signature, always accept the right one.
#![no_main]

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use square_oauth::WebhookSignatureKey;
use square_oauth::{SIGNATURE_HEADER, verify_request, verify_signature};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    key: &'a str,
    url: &'a str,
    body: &'a [u8],
    header: &'a str,
    sign: bool,
}

fn sign(key: &str, url: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(url.as_bytes());
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

fuzz_target!(|input: Input<'_>| {
    let key = WebhookSignatureKey::new(input.key);
    let right = sign(input.key, input.url, input.body);
    let header = if input.sign { right.clone() } else { input.header.to_owned() };

    let result = verify_signature(&key, input.url, input.body, &header);
    if let Err(error) = &result {
        let _ = format!("{error} {error:?}");
    }
    if input.key.is_empty() {
        assert!(result.is_err(), "an empty key verified a signature");
    } else if header.trim() == right {
        assert!(result.is_ok(), "the right signature was refused: {result:?}");
    } else if let Ok(given) = STANDARD.decode(header.trim()) {
        let expected = STANDARD.decode(&right).expect("our own base64");
        assert_eq!(result.is_ok(), given == expected, "accepted a wrong signature");
    } else {
        assert!(result.is_err(), "accepted an undecodable signature");
    }

    // The same through an `http::Request`, when the header can be one.
    if let Ok(value) = http::HeaderValue::from_str(&header) {
        let request = http::Request::builder().header(SIGNATURE_HEADER, value).body(input.body).expect("a request");
        let through_request = verify_request(&key, input.url, &request);
        assert_eq!(through_request.is_ok(), result.is_ok());
    }
});
