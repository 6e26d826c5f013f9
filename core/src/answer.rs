//! Turning Square's answer bytes into a typed value or a typed error.
//!
//! The same steps for every operation: the size cap, the content type, then either the success
//! shape (whose `errors`, if any, still make it a refusal) or one of the two error shapes.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::config::Config;
use crate::enums::{ErrorCategory, ErrorCode};
use crate::error::{Error, RetryAfter, SquareError, SquareRefusal, UnexpectedKind, UnexpectedResponse, error_headers};
use crate::redact::{excerpt, masked};

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
        let Some(legacy_type) = self.legacy_type else { return self.errors.unwrap_or_default() };
        let legacy = SquareError {
            category: ErrorCategory::V1Error,
            code: ErrorCode::from(legacy_type),
            detail: self.message.map(masked),
            field: self.field,
        };
        // A legacy answer alone (the usual case) gets room for its one error, not four.
        match self.errors {
            Some(mut errors) => {
                errors.push(legacy);
                errors
            }
            None => vec![legacy],
        }
    }

    /// The errors of a failure answer. A gateway in front of Square may answer
    /// `{"message": "…"}` with neither `errors` nor `type`; its message is kept as a `V1_ERROR`
    /// whose code is the generic one for the status (`RATE_LIMITED` for 429, …) rather than lost.
    fn into_failure_errors(mut self, status: http::StatusCode) -> Vec<SquareError> {
        let has_errors = self.errors.as_ref().is_some_and(|e| !e.is_empty()) || self.legacy_type.is_some();
        let stray_message = if has_errors { None } else { self.message.take() };
        let Some(message) = stray_message else { return self.into_errors() };
        let field = self.field.take();
        let mut errors = self.into_errors();
        errors.push(SquareError {
            category: ErrorCategory::V1Error,
            code: status_code(status),
            detail: Some(masked(message)),
            field,
        });
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
    response: &http::Response<B>,
) -> Result<T::Answer, Error> {
    let bytes = response.body().as_ref();
    let status = response.status();
    let headers = response.headers();
    // The headers an error keeps are read only for an error: an answer that parses needs none
    // but its content type. A failure status is an error whatever the body, so its headers are
    // read in one walk up front, content type included, rather than looked up twice.
    let failure = !status.is_success();
    let known = failure.then(|| error_headers(headers));
    let content_type = match &known {
        Some((_, _, content_type)) => *content_type,
        None => headers.get(http::header::CONTENT_TYPE),
    };
    // Only what depends on the answer type is here, once for each; the rest is shared.
    let found = match check(config, bytes, content_type) {
        Err(kind) => Err(kind),
        Ok(()) if failure => failure_errors(bytes, status),
        Ok(()) => match from_slice::<T>(bytes) {
            Err(kind) => Err(kind),
            Ok(raw) => {
                let (answer, fields) = raw.split();
                let errors = fields.into_errors();
                if errors.is_empty() {
                    return Ok(answer);
                }
                Ok(errors)
            }
        },
    };
    Err(answer_error(status, headers, bytes, known, found))
}

/// The checks made before a body is read: its size, that it holds something, its content type.
fn check(config: &Config, bytes: &[u8], content_type: Option<&http::HeaderValue>) -> Result<(), UnexpectedKind> {
    if bytes.len() > config.max_response_bytes() {
        return Err(UnexpectedKind::TooLarge { limit: config.max_response_bytes(), actual: bytes.len() });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(UnexpectedKind::Empty);
    }
    if content_type.is_some_and(|value| !is_json_value(value)) {
        return Err(UnexpectedKind::NotJson);
    }
    Ok(())
}

/// The errors of an answer with a failure status.
fn failure_errors(bytes: &[u8], status: http::StatusCode) -> Result<Vec<SquareError>, UnexpectedKind> {
    let fields: ErrorFields = from_slice(bytes)?;
    Ok(fields.into_failure_errors(status))
}

/// The error of an answer: Square's refusal when its errors were read, otherwise an answer that
/// could not be understood. `known` holds the error headers if they were read already.
fn answer_error(
    status: http::StatusCode,
    headers: &http::HeaderMap,
    bytes: &[u8],
    known: Option<(Option<RetryAfter>, Option<String>, Option<&http::HeaderValue>)>,
    found: Result<Vec<SquareError>, UnexpectedKind>,
) -> Error {
    let (retry_after, square_version, content_type) = known.unwrap_or_else(|| error_headers(headers));
    match found {
        Ok(errors) => Error::Square(Box::new(SquareRefusal { status, errors, retry_after, square_version })),
        Err(kind) => Error::UnexpectedResponse(Box::new(UnexpectedResponse {
            status,
            content_type: content_type.and_then(|value| value.to_str().ok()).map(str::to_owned),
            kind,
            excerpt: excerpt(bytes),
            retry_after,
            square_version,
        })),
    }
}

/// Whether a `Content-Type` value names JSON; one that is not text is taken as absent.
fn is_json_value(value: &http::HeaderValue) -> bool {
    // Nearly always exactly this: one comparison, rather than a text check and a split.
    value.as_bytes() == b"application/json" || value.to_str().map_or(true, is_json)
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
    // Plain serde_json, with the path of a failure found from where it stopped: a second,
    // path-tracking deserialization would double every answer type's code.
    read_json(bytes).map_err(|error| UnexpectedKind::Malformed {
        path: crate::json_path::path_of(bytes, &error),
        message: crate::redact::without_quoted_values(&error.to_string()),
        line: error.line(),
        column: error.column(),
    })
}

/// serde_json over `bytes`, as `serde_json::from_slice` reads them. Natively, a body that is
/// UTF-8 throughout (every answer Square sends) is checked once, whole, and read as text, rather
/// than each of its strings checked on its own: that check was a tenth of reading an answer. A
/// body that is not is read by `from_slice`, for the same error. The WebAssembly build keeps the
/// one reader: a second would double the code of every answer type.
#[cfg(not(target_arch = "wasm32"))]
fn read_json<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    match core::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// serde_json over `bytes` (see the native version).
#[cfg(target_arch = "wasm32")]
fn read_json<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    serde_json::from_slice(bytes)
}

/// Reads an RFC 3339 timestamp; an absent, `null` or empty value is `None`.
pub(crate) fn timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<jiff::Timestamp>, D::Error> {
    let text: Option<String> = Option::deserialize(deserializer)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => crate::time::parse_rfc3339(text)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 timestamp")),
    }
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
    fn square_details_never_echo_a_credential() {
        let body = br#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED",
            "detail":"Access token EAAAl3ikZIe18J-2-cHlV2bL4-EaZHGoJUhtEBT7QA6 is revoked"}],
            "message":"client_secret sandbox-sq0csb-abcdefghijklmnop0123456789 refused","type":"service.not_authorized"}"#;
        let fields: ErrorFields = serde_json::from_slice(body).unwrap();
        let errors = fields.into_errors();
        let shown: Vec<String> = errors.iter().map(|e| format!("{e} {e:?}")).collect();
        let shown = shown.join(" | ");
        for secret in ["l3ikZIe18J", "abcdefghijklmnop"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("Access token EAAA[REDACTED] is revoked"), "{shown}");
    }
}
