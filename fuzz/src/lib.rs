//! What the fuzz targets share: turning the fuzzer's bytes into an HTTP answer, and the checks
//! every parse result must pass whatever it is.
//!
//! The answer format is a tiny HTTP/1 look-alike, so that the seed corpus (Square's own answers
//! from the core's tests) stays readable and the fuzzer can mutate each part separately:
//!
//! ```text
//! 200\n                                 status line: 100..=999, otherwise from the first byte
//! content-type: application/json\n      zero or more `name: value` lines (invalid ones skipped)
//! retry-after: 30\n
//! \n                                    a blank line, then the body: every remaining byte
//! {"access_token": ...}
//! ```
//!
//! Without a blank line there are no headers and everything after the status line is the body.

use http::{HeaderName, HeaderValue, Response, StatusCode};
use square_oauth::{Config, EXCERPT_BYTES, Error};

/// The fuzzer's bytes as an answer with a status, headers and a body borrowed from `data`.
pub fn answer(data: &[u8]) -> Response<&[u8]> {
    let (status_line, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let status = std::str::from_utf8(status_line)
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or_else(|| {
            let first = status_line.first().copied().unwrap_or(0);
            StatusCode::from_u16(100 + u16::from(first) * 3).expect("100..=865 is a valid status")
        });

    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (&[][..], rest),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let name = &line[..colon];
        let value = line[colon + 1..].strip_prefix(b" ").unwrap_or(&line[colon + 1..]);
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// The default configuration, or for one input in eight one with a tiny size cap, so that the
/// `TooLarge` path is fuzzed as well.
pub fn config(data: &[u8]) -> Config {
    if data.len() % 8 == 7 {
        Config::builder().max_response_bytes(64).build().expect("a valid configuration")
    } else {
        Config::production()
    }
}

/// What any outcome of a parse must satisfy: it can be printed both ways without panicking, an
/// excerpt stays within its bound, and an error about a success body never claims a 2xx status
/// was a refusal without a reason.
pub fn check<T: std::fmt::Debug>(result: &Result<T, Error>) {
    match result {
        Ok(value) => {
            let _ = format!("{value:?}");
        }
        Err(error) => {
            let _ = format!("{error} {error:?}");
            if let Error::UnexpectedResponse(unexpected) = error {
                assert!(unexpected.excerpt.len() <= EXCERPT_BYTES, "excerpt of {} bytes", unexpected.excerpt.len());
                assert!(!unexpected.excerpt.chars().any(char::is_control), "control character in the excerpt");
            }
            if let Error::Square(refusal) = error {
                assert!(
                    !refusal.status.is_success() || !refusal.errors.is_empty(),
                    "a 2xx answer refused without any error"
                );
            }
            let _ = error.status();
            let _ = error.retry_after();
        }
    }
}

/// Keys whose values are secrets in Square's answers.
const SECRET_KEYS: [&str; 4] = ["access_token", "refresh_token", "id_token", "client_secret"];

/// The secret values in a body, found the plain way: `"key":"value` with no escapes, up to the
/// closing quote or the end of a truncated body, whatever comes before and whether or not the
/// body is valid JSON. Only values that cannot turn up in a message by coincidence are kept: 12
/// bytes or more, letters and digits, present once in the whole input.
pub fn secrets_in(data: &[u8], body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    let mut found = Vec::new();
    for key in SECRET_KEYS {
        let pattern = format!("\"{key}\":\"");
        let mut rest = text.as_ref();
        while let Some(at) = rest.find(&pattern) {
            rest = &rest[at + pattern.len()..];
            let end = rest.find(['"', '\\']).unwrap_or(rest.len());
            let value = &rest[..end];
            let distinctive = value.len() >= 12
                && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && value.bytes().any(|b| b.is_ascii_digit())
                && value.bytes().any(|b| b.is_ascii_alphabetic());
            if distinctive && count(data, value.as_bytes()) == 1 {
                found.push(value.to_owned());
            }
        }
    }
    found
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

/// A secret of the body must not show in anything printed from the result.
pub fn check_no_leak<T: std::fmt::Debug>(secrets: &[String], result: &Result<T, Error>) {
    if secrets.is_empty() {
        return;
    }
    let printed = match result {
        Ok(value) => format!("{value:?}"),
        Err(error) => format!("{error}\n{error:?}"),
    };
    for secret in secrets {
        assert!(!printed.contains(secret.as_str()), "a secret of the body was printed: {printed}");
    }
}

/// Everything a parse target does with one input and one operation.
#[macro_export]
macro_rules! fuzz_parse {
    ($operation:expr) => {
        libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            use square_oauth::Operation as _;
            let operation = $operation;
            let secrets = $crate::secrets_in(data, $crate::answer(data).body());
            let result = operation.parse(&$crate::config(data), $crate::answer(data));
            $crate::check(&result);
            $crate::check_no_leak(&secrets, &result);
        });
    };
}
