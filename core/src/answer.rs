//! Turning Square's answer bytes into a typed value or a typed error.
//!
//! The same steps for every operation: the size cap, the content type, then either the success
//! shape (whose `errors`, if any, still make it a refusal) or one of the two error shapes.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::config::Config;
use crate::enums::{ErrorCategory, ErrorCode};
use crate::error::{
    EXCERPT_BYTES, Error, SquareError, SquareRefusal, UnexpectedKind, UnexpectedResponse, answer_metadata,
};

/// The error fields every Square answer may carry: the current `errors` array and the legacy
/// ("V1") `{message, type, field}` shape.
#[derive(Deserialize)]
pub(crate) struct ErrorFields {
    #[serde(default)]
    errors: Option<Vec<SquareError>>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    legacy_type: Option<String>,
    #[serde(default)]
    field: Option<String>,
}

impl ErrorFields {
    /// Every error, the legacy shape folded in as Square's SDKs do (`V1_ERROR`, code = `type`).
    fn into_errors(self) -> Vec<SquareError> {
        let mut errors = self.errors.unwrap_or_default();
        if let Some(legacy_type) = self.legacy_type {
            errors.push(SquareError {
                category: ErrorCategory::V1Error,
                code: ErrorCode::from(legacy_type),
                detail: self.message.as_deref().map(mask_credentials),
                field: self.field,
            });
        }
        errors
    }

    /// The errors of a failure answer. A gateway in front of Square may answer
    /// `{"message": "…"}` with neither `errors` nor `type`; its message is kept as a `V1_ERROR`
    /// whose code is the generic one for the status (`RATE_LIMITED` for 429, …) rather than lost.
    fn into_failure_errors(self, status: http::StatusCode) -> Vec<SquareError> {
        let has_errors = self.errors.as_ref().is_some_and(|e| !e.is_empty()) || self.legacy_type.is_some();
        let stray_message = if has_errors { None } else { self.message.clone() };
        let field = self.field.clone();
        let mut errors = self.into_errors();
        if let Some(message) = stray_message {
            errors.push(SquareError {
                category: ErrorCategory::V1Error,
                code: status_code(status),
                detail: Some(mask_credentials(&message)),
                field,
            });
        }
        errors
    }
}

/// Square's generic error code for an HTTP status.
fn status_code(status: http::StatusCode) -> ErrorCode {
    match status.as_u16() {
        400 => ErrorCode::BadRequest,
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        406 => ErrorCode::NotAcceptable,
        408 => ErrorCode::RequestTimeout,
        409 => ErrorCode::Conflict,
        410 => ErrorCode::Gone,
        413 => ErrorCode::RequestEntityTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        422 => ErrorCode::UnprocessableEntity,
        429 => ErrorCode::RateLimited,
        501 => ErrorCode::NotImplemented,
        502 => ErrorCode::BadGateway,
        503 => ErrorCode::ServiceUnavailable,
        504 => ErrorCode::GatewayTimeout,
        _ if status.is_server_error() => ErrorCode::InternalServerError,
        _ => ErrorCode::BadRequest,
    }
}

/// A success shape that also carries the error fields.
pub(crate) trait WithErrors: DeserializeOwned {
    type Answer;
    fn split(self) -> (Self::Answer, ErrorFields);
}

impl ErrorFields {
    pub(crate) fn new(
        errors: Option<Vec<SquareError>>,
        message: Option<String>,
        legacy_type: Option<String>,
        field: Option<String>,
    ) -> Self {
        Self { errors, message, legacy_type, field }
    }
}

/// The whole parse: size cap, content type, shape, `errors` on any status.
pub(crate) fn parse_answer<T: WithErrors, B: AsRef<[u8]>>(
    config: &Config,
    response: http::Response<B>,
) -> Result<T::Answer, Error> {
    let (parts, body) = response.into_parts();
    let bytes = body.as_ref();
    let status = parts.status;
    let (retry_after, square_version, content_type) = answer_metadata(&parts.headers);

    let unexpected = |kind: UnexpectedKind| {
        Error::UnexpectedResponse(Box::new(UnexpectedResponse {
            status,
            content_type: content_type.clone(),
            kind,
            excerpt: excerpt(bytes),
            retry_after,
            square_version: square_version.clone(),
        }))
    };
    if bytes.len() > config.max_response_bytes() {
        return Err(unexpected(UnexpectedKind::TooLarge { limit: config.max_response_bytes(), actual: bytes.len() }));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(unexpected(UnexpectedKind::Empty));
    }
    if content_type.as_deref().is_some_and(|ct| !is_json(ct)) {
        return Err(unexpected(UnexpectedKind::NotJson));
    }
    let refusal = |errors: Vec<SquareError>| {
        Error::Square(Box::new(SquareRefusal { status, errors, retry_after, square_version: square_version.clone() }))
    };

    if status.is_success() {
        let raw: T = from_slice(bytes).map_err(unexpected)?;
        let (answer, fields) = raw.split();
        let errors = fields.into_errors();
        if errors.is_empty() { Ok(answer) } else { Err(refusal(errors)) }
    } else {
        let fields: ErrorFields = from_slice(bytes).map_err(unexpected)?;
        Err(refusal(fields.into_failure_errors(status)))
    }
}

/// `application/json`, with or without parameters, or any `+json` type.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.len() > 5 && essence[essence.len() - 5..].eq_ignore_ascii_case("+json")
}

/// Deserializes, keeping the serde path of a failure and none of the values.
fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, UnexpectedKind> {
    // serde's derived structs also accept a JSON array, field by field in order, so `[]` would
    // read as an answer with nothing in it and `["EAAA…"]` as an access token. Square only ever
    // answers with an object.
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    if bytes.get(start) != Some(&b'{') {
        let before = &bytes[..start];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let column = 1 + before.iter().rev().take_while(|&&b| b != b'\n').count();
        return Err(UnexpectedKind::Malformed {
            path: ".".to_owned(),
            message: "expected a JSON object".to_owned(),
            line,
            column,
        });
    }
    // The fast path: plain serde_json. Only a failure is read again, through
    // serde_path_to_error, to name the field; tracking the path on every answer doubled the
    // cost of a successful parse (benches/README.md).
    let first_error = match serde_json::from_slice(bytes) {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let error = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Err(error) => return Err(malformed(&error)),
        // The value read; what failed is what follows it (trailing characters).
        Ok(_) => deserializer.end().err().unwrap_or(first_error),
    };
    Err(UnexpectedKind::Malformed {
        path: ".".to_owned(),
        message: strip_quoted(&error.to_string()),
        line: error.line(),
        column: error.column(),
    })
}

fn malformed(error: &serde_path_to_error::Error<serde_json::Error>) -> UnexpectedKind {
    let inner = error.inner();
    UnexpectedKind::Malformed {
        path: error.path().to_string(),
        message: strip_quoted(&inner.to_string()),
        line: inner.line(),
        column: inner.column(),
    }
}

/// serde quotes the offending value in its messages (`invalid type: string "EAAA…"`); a value
/// may be a token, so every quoted run is cut out.
fn strip_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    for c in message.chars() {
        match (c, inside) {
            ('"', false) => {
                inside = true;
                out.push_str("\"…");
            }
            ('"', true) => {
                inside = false;
                out.push('"');
            }
            (_, false) => out.push(c),
            (_, true) => {}
        }
    }
    out
}

/// Reads an RFC 3339 timestamp; an absent, `null` or empty value is `None`.
pub(crate) fn timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<jiff::Timestamp>, D::Error> {
    let text: Option<String> = Option::deserialize(deserializer)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse::<jiff::Timestamp>()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("expected an RFC 3339 timestamp")),
    }
}

/// Keys whose string values are masked in excerpts.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key == "code"
        || key.ends_with("token")
        || key.contains("secret")
        || key.contains("verifier")
        || key == "authorization"
}

/// Prefixes of Square's secrets, masked wherever they appear (HTML pages included). A sandbox
/// secret (`sandbox-sq0csb-…`) is caught by its `sq0csb-`.
const SECRET_PREFIXES: [&str; 9] =
    ["EAAA", "EQAA", "sq0csp-", "sq0csb-", "sq0atp-", "sq0cgb-", "sq0cgp-", "Bearer ", "Client "];

/// Shortest run of token characters (letters, digits, `-`, `_`) with both letters and digits
/// that is masked as credential-shaped wherever it appears in Square's free text.
const CREDENTIAL_RUN: usize = 24;

/// Square's free text (an error's `detail`, a gateway's `message`) with every credential-shaped
/// value masked: one of Square's secret prefixes, or a long run of token characters mixing
/// letters and digits. Square may echo a value it refused; the text is kept, the value is not.
pub(crate) fn mask_credentials(text: &str) -> String {
    let text = mask_prefixed(text);
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(c) = rest.chars().next() {
        let run = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).unwrap_or(rest.len());
        if run == 0 {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let word = &rest[..run];
        let shaped = run >= CREDENTIAL_RUN
            && word.bytes().any(|b| b.is_ascii_digit())
            && word.bytes().any(|b| b.is_ascii_alphabetic());
        out.push_str(if shaped { "[REDACTED]" } else { word });
        rest = &rest[run..];
    }
    out
}

/// The start of a body, safe to keep in an error: token-like values masked, control characters
/// replaced, at most [`EXCERPT_BYTES`] bytes.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    // Bounded work: look at a little more than is kept, since masking shortens the text.
    let window = &bytes[..bytes.len().min(EXCERPT_BYTES * 4)];
    let text = String::from_utf8_lossy(window);
    let masked = mask_credentials(&mask_after_secret_keys(&mask_json_secrets(&text)));
    let mut out = String::with_capacity(EXCERPT_BYTES);
    for c in masked.chars() {
        if out.len() + c.len_utf8() > EXCERPT_BYTES {
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

/// Masks the value of every secret-looking key, even in a truncated document: a JSON string, or
/// everything inside a JSON array or object (`"access_token":["…"]`).
fn mask_json_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // A secret key and its `:` have been seen; the value comes next.
    let mut pending = false;
    // Brackets open outside strings, and the depth at which a secret array or object began.
    let mut depth = 0usize;
    let mut masked_from: Option<usize> = None;
    // In a document that claims to be JSON, a string must be followed by `:`, `,`, `]` or `}`.
    // Anything else means the lexer has lost step with the text (a stray quote, a raw newline in a
    // string), so it can no longer tell keys from values: from there on, nothing is shown.
    let json_like = text.trim_start().starts_with(['{', '[']);
    while let Some(c) = rest.chars().next() {
        if c != '"' {
            rest = &rest[c.len_utf8()..];
            match c {
                '[' | '{' => {
                    depth += 1;
                    if pending && masked_from.is_none() {
                        masked_from = Some(depth);
                    }
                    pending = false;
                }
                ']' | '}' => {
                    if masked_from == Some(depth) {
                        masked_from = None;
                    }
                    depth = depth.saturating_sub(1);
                    pending = false;
                }
                c if c.is_whitespace() || c == ':' => {}
                _ => {
                    pending = false;
                    // Bare text inside a secret array or object is part of the secret too.
                    if masked_from.is_some() && c != ',' {
                        continue;
                    }
                }
            }
            out.push(c);
            continue;
        }
        // A string: find its unescaped end, if the text has one.
        let body = &rest[1..];
        let mut end = None;
        let mut escaped = false;
        for (i, b) in body.bytes().enumerate() {
            match (b, escaped) {
                (b'\\', false) => escaped = true,
                (b'"', false) => {
                    end = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let content = &body[..end.unwrap_or(body.len())];
        out.push('"');
        if pending || masked_from.is_some() {
            out.push_str("[REDACTED]");
            pending = false;
        } else {
            out.push_str(content);
        }
        match end {
            Some(i) => {
                out.push('"');
                rest = &body[i + 1..];
                let next = rest.trim_start().chars().next();
                if json_like && next.is_some_and(|n| !matches!(n, ':' | ',' | ']' | '}')) {
                    out.push_str("[REDACTED: not JSON from here]");
                    return out;
                }
                if masked_from.is_none() && rest.trim_start().starts_with(':') && is_secret_key(&unescape(content)) {
                    pending = true;
                }
            }
            None => rest = "",
        }
    }
    out
}

/// A JSON string's content with its escapes undone (`access\u005ftoken` is `access_token`).
fn unescape(content: &str) -> std::borrow::Cow<'_, str> {
    if !content.contains('\\') {
        return content.into();
    }
    serde_json::from_str::<String>(&format!("\"{content}\"")).map_or(content.into(), Into::into)
}

/// Masks the value after every secret-looking key name, wherever it stands and however it is
/// quoted: a form or a query (`access_token=…`, `?code=…`), a JSON member (`"refresh_token":"…"`),
/// or the same inside a body this lexer cannot follow (a body cut in the middle of a string, an
/// HTML page quoting JSON). It does not depend on telling keys from values by quote parity, which
/// a stray quote upsets.
fn mask_after_secret_keys(text: &str) -> String {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // What was just consumed names a secret (`None`: it does not); `Some(true)` for
    // `Authorization`, whose value is a scheme and a credential.
    let mut after_key: Option<bool> = None;
    loop {
        if let Some(authorization) = after_key.take()
            && let Some((lead, run)) = secret_value(rest, authorization)
        {
            out.push_str(&rest[..lead]);
            out.push_str("[REDACTED]");
            let value = &rest[lead..lead + run];
            rest = &rest[lead + run..];
            // A value that reads as a key with its own separator (`_secret":"access_token":"…`)
            // was masked; its own value is masked too.
            if is_secret_key(value) {
                after_key = Some(false);
            }
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        if !is_word(c) {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let word_len = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
        let (word, after) = rest.split_at(word_len);
        out.push_str(word);
        rest = after;
        if is_secret_key(word) {
            after_key = Some(word.eq_ignore_ascii_case("authorization"));
        }
    }
    out
}

/// After a secret key name: optional closing quotes, `:` or `=`, optional opening quotes, then
/// the value. Gives the length of what leads to the value and the value's length.
fn secret_value(rest: &str, authorization: bool) -> Option<(usize, usize)> {
    const QUOTES: [char; 5] = ['"', '\\', '\'', ' ', '\t'];
    let closing = rest.len() - rest.trim_start_matches(QUOTES).len();
    let Some(':' | '=') = rest[closing..].chars().next() else { return None };
    let value_at = closing + 1;
    let lead = value_at + (rest[value_at..].len() - rest[value_at..].trim_start_matches(QUOTES).len());
    let value = &rest[lead..];
    let ends =
        |c: char| matches!(c, '&' | '"' | '\'' | '\\' | '<' | '>' | ';' | ',' | '#' | '}' | ']') || c.is_whitespace();
    let mut run = match value.chars().next() {
        Some('[') => value.find(']').map_or(value.len(), |i| i + 1),
        Some('{') => value.find('}').map_or(value.len(), |i| i + 1),
        _ => value.find(ends).unwrap_or(value.len()),
    };
    // `Authorization: Bearer <token>`: the scheme and the credential after it.
    if authorization && value[run..].starts_with(' ') {
        let credential = &value[run + 1..];
        run += 1 + credential
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | ','))
            .unwrap_or(credential.len());
    }
    (run > 0).then_some((lead, run))
}

/// Masks every run that starts with one of Square's secret prefixes.
fn mask_prefixed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for prefix in SECRET_PREFIXES {
            if rest.starts_with(prefix) {
                out.push_str(prefix);
                out.push_str("[REDACTED]");
                let run = rest[prefix.len()..]
                    .find(|c: char| {
                        !(c.is_ascii_alphanumeric()
                            || c == '-'
                            || c == '_'
                            || c == '.'
                            || c == '~'
                            || c == '+'
                            || c == '/'
                            || c == '=')
                    })
                    .unwrap_or(rest.len() - prefix.len());
                rest = &rest[prefix.len() + run..];
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("rest is not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Declares an answer type and, beside it, a private twin that also reads the error fields, so
/// that one pass over the bytes gives both (serde's `flatten` would buffer every value, secrets
/// included, in memory this crate cannot wipe).
macro_rules! answer_type {
    (
        $(#[$meta:meta])*
        pub struct $name:ident / $raw:ident {
            $( $(#[$field_meta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
        #[non_exhaustive]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        #[derive(serde::Deserialize)]
        struct $raw {
            $( $(#[$field_meta])* $field: $ty, )*
            #[serde(default)]
            errors: Option<Vec<$crate::error::SquareError>>,
            #[serde(default)]
            message: Option<String>,
            #[serde(default, rename = "type")]
            legacy_type: Option<String>,
            #[serde(default)]
            field: Option<String>,
        }

        impl $crate::answer::WithErrors for $raw {
            type Answer = $name;
            fn split(self) -> ($name, $crate::answer::ErrorFields) {
                (
                    $name { $( $field: self.$field, )* },
                    $crate::answer::ErrorFields::new(self.errors, self.message, self.legacy_type, self.field),
                )
            }
        }
    };
}

pub(crate) use answer_type;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_secrets_and_credentials_in_free_text_are_masked() {
        let secret = "sandbox-sq0csb-9XqY2kLmN0pQrStUvWxYz1234567890abcdEF";
        let html = format!("<html><body>Bad gateway for {secret}</body></html>");
        let shown = excerpt(html.as_bytes());
        assert!(!shown.contains("9XqY2kLmN0pQ"), "{shown}");
        assert!(shown.contains("Bad gateway for sandbox-sq0csb-[REDACTED]"), "{shown}");

        let opaque = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg";
        let detail = format!("The token {opaque} is not valid for merchant MLQW2MYBY81PZ (see {secret}).");
        let masked = mask_credentials(&detail);
        assert_eq!(
            masked,
            "The token [REDACTED] is not valid for merchant MLQW2MYBY81PZ (see sandbox-sq0csb-[REDACTED])."
        );
    }

    #[test]
    fn square_details_never_echo_a_credential() {
        let body = br#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED",
            "detail":"Access token EAAAl3ikZIe18J-2-cHlV2bL4-EaZHGoJUhtEBT7QA6 is revoked"}],
            "message":"client_secret sandbox-sq0csb-abcdefghijklmnop0123456789 refused","type":"service.not_authorized"}"#;
        let fields: ErrorFields = serde_json::from_slice(body).unwrap();
        let shown: Vec<String> = fields.into_errors().iter().map(ToString::to_string).collect();
        let shown = shown.join(" | ");
        assert!(!shown.contains("l3ikZIe18J") && !shown.contains("abcdefghijklmnop"), "{shown}");
        assert!(shown.contains("Access token EAAA[REDACTED] is revoked"), "{shown}");
    }

    #[test]
    fn excerpt_masks_token_values_even_when_truncated() {
        let body = br#"{"access_token":"abc-secret-1","token_type":"bearer","refresh_token":"xyz"#;
        let text = excerpt(body);
        assert!(!text.contains("abc-secret-1"), "{text}");
        assert!(!text.contains("xyz"), "{text}");
        assert!(text.contains("bearer"), "{text}");
    }

    #[test]
    fn excerpt_masks_square_prefixes_in_html() {
        let text = excerpt(b"<html>Authorization: Bearer s3cr3t EAAAl3ik-zz sq0csp-abc</html>");
        assert!(!text.contains("s3cr3t") && !text.contains("l3ik") && !text.contains("abc"), "{text}");
    }

    #[test]
    fn excerpt_masks_arrays_and_objects_under_secret_keys() {
        let text = excerpt(br#"{"access_token":["s3cr3t",{"k":"v1"}],"merchant_id":"M1","code":{"a":"s4"}}"#);
        assert!(!text.contains("s3cr3t") && !text.contains("v1") && !text.contains("s4"), "{text}");
        assert!(text.contains("M1"), "{text}");
    }

    #[test]
    fn excerpt_masks_escaped_keys_and_form_values() {
        let text = excerpt(br#"{"access\u005ftoken":"s3cr3t"}"#);
        assert!(!text.contains("s3cr3t"), "{text}");
        let text = excerpt(b"access_token=s3cr3t&token_type=bearer <a href='/cb?code=s4cr3t&state=st'>");
        assert!(!text.contains("s3cr3t") && !text.contains("s4cr3t"), "{text}");
        assert!(text.contains("token_type=bearer") && text.contains("state=st"), "{text}");
    }

    #[test]
    fn excerpt_is_bounded_and_free_of_control_characters() {
        let text = excerpt(&[b'a'; 10_000]);
        assert_eq!(text.len(), EXCERPT_BYTES);
        assert_eq!(excerpt(b"a\nb\x00c"), "a b c");
    }

    #[test]
    fn quoted_values_are_cut_from_serde_messages() {
        assert_eq!(
            strip_quoted(r#"invalid type: string "EAAAx", expected a boolean"#),
            "invalid type: string \"…\", expected a boolean"
        );
    }
}
