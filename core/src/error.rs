//! What can go wrong, kept apart by whose doing it was.
//!
//! - [`Error::InvalidInput`]: the caller's mistake, caught before anything is sent.
//! - [`Error::Square`]: Square understood the request and said no.
//! - [`Error::UnexpectedResponse`]: the answer could not be understood (a proxy's HTML page, a
//!   truncated body, a body over the size cap, a field of the wrong type).
//! - [`Error::Callback`]: the seller's browser came back without a usable code.
//!
//! No error carries a secret: messages name fields, never their values, and body excerpts are
//! redacted before they are stored.

use core::fmt;
use core::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;

use crate::enums::{ErrorCategory, ErrorCode};

/// The error of building a request and reading Square's answer ([`Operation`](crate::Operation)'s
/// `build` and `parse`, [`AuthorizeUrl::build`](crate::AuthorizeUrl::build), [`parse_callback`](crate::parse_callback)).
/// A token set's refusals are [`LifecycleError`](crate::LifecycleError)s, a webhook's
/// [`WebhookError`](crate::WebhookError)s.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller passed something Square would refuse; nothing was sent.
    #[error("invalid input: {0}")]
    InvalidInput(#[from] InvalidInput),
    /// Square answered with one or more errors.
    #[error("{0}")]
    Square(Box<SquareRefusal>),
    /// Square's answer (or whatever answered in its place) could not be understood.
    #[error("{0}")]
    UnexpectedResponse(Box<UnexpectedResponse>),
    /// The redirect back from Square's authorize page carried no usable code.
    #[error("{0}")]
    Callback(#[from] CallbackError),
}

impl Error {
    /// The HTTP status of the answer this error came from, if it came from an answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Square(refusal) => Some(refusal.status),
            Error::UnexpectedResponse(unexpected) => Some(unexpected.status),
            _ => None,
        }
    }

    /// Square's errors, if Square refused; empty otherwise.
    pub fn square_errors(&self) -> &[SquareError] {
        match self {
            Error::Square(refusal) => &refusal.errors,
            _ => &[],
        }
    }

    /// Whether Square's answer holds an error with this code.
    ///
    /// ```
    /// # use square_oauth::{Error, ErrorCode};
    /// # fn check(error: &Error) {
    /// if error.has_code(&ErrorCode::AccessTokenExpired) {
    ///     // refresh, then try again
    /// }
    /// # }
    /// ```
    pub fn has_code(&self, code: &ErrorCode) -> bool {
        self.square_errors().iter().any(|e| &e.code == code)
    }

    /// What this error tells the [`RetryPolicy`](crate::RetryPolicy) about the attempt: the
    /// answer's status and its `Retry-After` as a wait from `now`, or `None` when no answer came
    /// (invalid input, a callback error) and there is nothing to retry.
    ///
    /// ```
    /// # use square_oauth::{Error, Outcome};
    /// # fn after(error: &Error) -> Option<Outcome> {
    /// error.retry_outcome(square_oauth::jiff::Timestamp::now())
    /// # }
    /// ```
    pub fn retry_outcome(&self, now: jiff::Timestamp) -> Option<crate::Outcome> {
        self.status().map(|status| crate::Outcome::Answer {
            status,
            retry_after: self.retry_after().map(|after| after.delay_from(now)),
        })
    }

    /// Whether this error means the seller must authorize the application again: nothing a
    /// retry or a wait can mend. Every other error (a 429 or 408, Square's 5xx, an answer that
    /// could not be read, a malformed request) is worth trying again later. A token set's own
    /// refusals answer the same question with
    /// [`LifecycleError::must_authorize_again`](crate::LifecycleError::must_authorize_again).
    ///
    /// `true` for Square refusing with 400, 401 or 403 and `UNAUTHORIZED`, `ACCESS_TOKEN_REVOKED`
    /// or `ACCESS_TOKEN_EXPIRED`: the grant or token is revoked, spent or expired. Square gives
    /// `UNAUTHORIZED` for a wrong client secret too, which this cannot tell apart: check the
    /// secret before asking the seller. For the answer to a refresh, where the status tells
    /// those apart, use [`refresh_must_authorize_again`](Self::refresh_must_authorize_again).
    ///
    /// ```
    /// use square_oauth::{Config, Operation, RetrieveTokenStatus, AccessToken};
    ///
    /// let status = RetrieveTokenStatus::new(AccessToken::new("EAAAexample"));
    /// let answer = |code: u16, body: &'static str| {
    ///     http::Response::builder().status(code).header("content-type", "application/json").body(body).unwrap()
    /// };
    /// let busy = status.parse(&Config::production(), answer(429, r#"{"errors":[{"category":"RATE_LIMIT_ERROR","code":"RATE_LIMITED"}]}"#));
    /// assert!(!busy.unwrap_err().must_authorize_again());
    /// let revoked = status.parse(&Config::production(), answer(401, r#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED"}]}"#));
    /// assert!(revoked.unwrap_err().must_authorize_again());
    /// ```
    pub fn must_authorize_again(&self) -> bool {
        match self {
            Error::Square(refusal) => {
                matches!(refusal.status.as_u16(), 400 | 401 | 403)
                    && refusal.errors.iter().any(|e| {
                        matches!(
                            e.code,
                            ErrorCode::Unauthorized | ErrorCode::AccessTokenRevoked | ErrorCode::AccessTokenExpired
                        )
                    })
            }
            _ => false,
        }
    }

    /// Whether this error, the answer to a refresh (ObtainToken with a refresh token, either
    /// flow), means the refresh token is dead and the seller must authorize again. What a
    /// refresh job stops on; [`must_authorize_again`](Self::must_authorize_again) is for answers
    /// to calls made with an access token.
    ///
    /// On ObtainToken Square's `UNAUTHORIZED` has two meanings, told apart by the status:
    /// - `400` with `UNAUTHORIZED`: Square refused the grant itself, the refresh token is
    ///   unknown, revoked, already used (PKCE) or expired: `true`;
    /// - `401` or `403` with `UNAUTHORIZED`: the application's own credentials (`client_id`,
    ///   `client_secret`) were refused. Asking every seller to authorize again would not mend a
    ///   wrong or rotated secret: `false`;
    /// - `ACCESS_TOKEN_REVOKED` or `ACCESS_TOKEN_EXPIRED` with any 4xx status (408 and 429
    ///   aside) names the grant's token: `true`.
    ///
    /// Every other code Square lists (`INVALID_REQUEST_ERROR`s such as
    /// `MISSING_REQUIRED_PARAMETER`, `RATE_LIMITED`, the 5xx `API_ERROR`s, …), an answer that
    /// could not be read and invalid input are `false`: worth trying again, or the
    /// application's to fix.
    ///
    /// ```
    /// use square_oauth::{ClientId, Config, ObtainToken, Operation, RefreshToken};
    ///
    /// let refresh = ObtainToken::pkce_refresh(ClientId::new("sq0idp-app"), RefreshToken::new("EQAAx"));
    /// let answer = |status: u16| {
    ///     let body = r#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED"}]}"#;
    ///     http::Response::builder().status(status).header("content-type", "application/json").body(body).unwrap()
    /// };
    /// let spent = refresh.parse(&Config::production(), answer(400)).unwrap_err();
    /// assert!(spent.refresh_must_authorize_again());
    /// let wrong_application = refresh.parse(&Config::production(), answer(401)).unwrap_err();
    /// assert!(!wrong_application.refresh_must_authorize_again());
    /// ```
    pub fn refresh_must_authorize_again(&self) -> bool {
        let Error::Square(refusal) = self else { return false };
        let status = refusal.status.as_u16();
        if !(400..500).contains(&status) || matches!(status, 408 | 429) {
            return false;
        }
        refusal.errors.iter().any(|e| match e.code {
            ErrorCode::AccessTokenRevoked | ErrorCode::AccessTokenExpired => true,
            ErrorCode::Unauthorized => status == 400,
            _ => false,
        })
    }

    /// The answer's `Retry-After`, if it had one.
    pub fn retry_after(&self) -> Option<&RetryAfter> {
        match self {
            Error::Square(refusal) => refusal.retry_after.as_ref(),
            Error::UnexpectedResponse(unexpected) => unexpected.retry_after.as_ref(),
            _ => None,
        }
    }
}

/// What is wrong with a value the caller passed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// It is empty.
    Empty,
    /// It is shorter than Square accepts.
    TooShort {
        /// The least Square accepts.
        min: usize,
        /// What was given.
        actual: usize,
    },
    /// It is longer than Square accepts.
    TooLong {
        /// The most Square accepts.
        max: usize,
        /// What was given.
        actual: usize,
    },
    /// It is not of the form Square expects; the text says what that form is.
    Format(&'static str),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Empty => f.write_str("must not be empty"),
            Problem::TooShort { min, actual } => write!(f, "must be at least {min} characters, got {actual}"),
            Problem::TooLong { max, actual } => write!(f, "must be at most {max} characters, got {actual}"),
            Problem::Format(expected) => write!(f, "must be {expected}"),
        }
    }
}

/// A caller's mistake: which field, and what is wrong with it (never its value).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {problem}")]
pub struct InvalidInput {
    /// The field, in Square's words (`client_secret`, `redirect_uri`, …).
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: Problem,
}

impl InvalidInput {
    pub(crate) fn new(field: &'static str, problem: Problem) -> Self {
        Self { field, problem }
    }
}

/// One error as Square reports it (`Error` in the specification).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SquareError {
    /// The broad class of the error; an empty [`ErrorCategory::Other`] when Square's error object
    /// had none (the code and detail are what matter, so such an error is still read).
    pub category: ErrorCategory,
    /// The specific error.
    pub code: ErrorCode,
    /// Square's human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request field the error is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl<'de> Deserialize<'de> for SquareError {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{Error as _, IgnoredAny, MapAccess, Visitor};

        /// A key of the error object; any other is skipped.
        enum Key {
            Category,
            Code,
            Detail,
            Field,
            Other,
        }
        impl<'de> Deserialize<'de> for Key {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct KeyVisitor;
                impl Visitor<'_> for KeyVisitor {
                    type Value = Key;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("field identifier")
                    }
                    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Key, E> {
                        Ok(match key {
                            "category" => Key::Category,
                            "code" => Key::Code,
                            "detail" => Key::Detail,
                            "field" => Key::Field,
                            _ => Key::Other,
                        })
                    }
                }
                deserializer.deserialize_identifier(KeyVisitor)
            }
        }

        // Written out rather than derived, with the derive's rules (unknown keys skipped, a
        // repeated key refused before its value is read, `code` required, `null` read as absent
        // for the others): the derived struct had to be reached through a wrapper that takes an
        // object only (serde's derived structs also take an array, field by field in order, and
        // Square never sends one), which cost a tenth of reading an error answer.
        struct ErrorVisitor;
        impl<'de> Visitor<'de> for ErrorVisitor {
            type Value = SquareError;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an error object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SquareError, A::Error> {
                let mut category: Option<Option<ErrorCategory>> = None;
                let mut code: Option<ErrorCode> = None;
                let mut detail: Option<Option<String>> = None;
                let mut field: Option<Option<String>> = None;
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Category if category.is_some() => return Err(A::Error::duplicate_field("category")),
                        Key::Category => category = Some(map.next_value()?),
                        Key::Code if code.is_some() => return Err(A::Error::duplicate_field("code")),
                        Key::Code => code = Some(map.next_value()?),
                        Key::Detail if detail.is_some() => return Err(A::Error::duplicate_field("detail")),
                        Key::Detail => detail = Some(map.next_value()?),
                        Key::Field if field.is_some() => return Err(A::Error::duplicate_field("field")),
                        Key::Field => field = Some(map.next_value()?),
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let code = code.ok_or_else(|| A::Error::missing_field("code"))?;
                Ok(SquareError {
                    category: category.flatten().unwrap_or_else(|| ErrorCategory::Other(String::new())),
                    code,
                    detail: detail.flatten().map(crate::redact::masked),
                    field: field.flatten(),
                })
            }
        }

        deserializer.deserialize_map(ErrorVisitor)
    }
}

impl fmt::Display for SquareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.category.as_str().is_empty() {
            write!(f, "{}", self.code)?;
        } else {
            write!(f, "{}/{}", self.category, self.code)?;
        }
        if let Some(field) = &self.field {
            write!(f, " (field `{field}`)")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

/// How long Square asked the client to wait before trying again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: 120`.
    Delay(Duration),
    /// `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`, or the same date in RFC 9110's obsolete
    /// forms (`Wednesday, 21-Oct-26 07:28:00 GMT`, `Wed Oct 21 07:28:00 2026`), which a
    /// recipient must read too.
    At(jiff::Timestamp),
}

impl RetryAfter {
    /// Reads a `Retry-After` header value; `None` when it is neither form.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(RetryAfter::Delay(Duration::from_secs(seconds)));
        }
        crate::time::parse_http_date(value).map(RetryAfter::At)
    }

    /// The wait from `now` (a date in the past means no wait).
    pub fn delay_from(&self, now: jiff::Timestamp) -> Duration {
        match self {
            RetryAfter::Delay(delay) => *delay,
            RetryAfter::At(at) => Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO),
        }
    }
}

/// Square refused: the status, every error it gave, and what it said about retrying.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SquareRefusal {
    /// The HTTP status (200 when Square put `errors` in a success answer).
    pub status: StatusCode,
    /// Every error, legacy ones folded into category `V1_ERROR` as Square's SDKs do.
    pub errors: Vec<SquareError>,
    /// The answer's `Retry-After`.
    pub retry_after: Option<RetryAfter>,
    /// The `Square-Version` that answered.
    pub square_version: Option<String>,
}

impl fmt::Display for SquareRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The number alone: a reason phrase would ship http's table of them (2 KB) in every
        // WebAssembly module.
        write!(f, "Square refused the request (HTTP {})", self.status.as_u16())?;
        for (i, error) in self.errors.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            fmt::Display::fmt(error, f)?;
        }
        Ok(())
    }
}

/// Why an answer could not be understood.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnexpectedKind {
    /// The body is longer than the configured cap.
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
        /// The body's length, or the first length seen over the cap.
        actual: usize,
    },
    /// The body is empty.
    Empty,
    /// The `Content-Type` is not JSON.
    NotJson,
    /// The answer reads, but does not confirm what was asked: this field is absent or `false`
    /// (RevokeToken's `success`). The request may or may not have taken effect.
    Unconfirmed {
        /// The field that should have confirmed it.
        field: &'static str,
    },
    /// The body is not the JSON Square sends.
    Malformed {
        /// Where in the document it failed, as a serde path (`errors[0].code`, `.`).
        path: String,
        /// serde's message, with any quoted value removed.
        message: String,
        /// The line of the failure (1-based; 0 when unknown).
        line: usize,
        /// The column of the failure (1-based; 0 when unknown).
        column: usize,
    },
}

impl fmt::Display for UnexpectedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnexpectedKind::TooLarge { limit, actual } => {
                write!(f, "body of {actual} bytes is over the {limit}-byte cap")
            }
            UnexpectedKind::Empty => f.write_str("empty body"),
            UnexpectedKind::NotJson => f.write_str("body is not JSON"),
            UnexpectedKind::Unconfirmed { field } => write!(f, "`{field}` is not true: nothing confirms it was done"),
            UnexpectedKind::Malformed { path, message, line, column } => {
                write!(f, "malformed JSON at `{path}` (line {line}, column {column}): {message}")
            }
        }
    }
}

/// An answer that could not be understood, with what is needed to find out why.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnexpectedResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// What was wrong.
    pub kind: UnexpectedKind,
    /// The start of the body (at most [`EXCERPT_BYTES`](crate::EXCERPT_BYTES) bytes) as
    /// [`redact_json`](crate::redact_json) shows it: its structure, and the values of Square's
    /// error keys ([`ERROR_TEXT_KEYS`](crate::ERROR_TEXT_KEYS)) alone; a body that is not JSON as
    /// `[N bytes, not JSON]`.
    pub excerpt: String,
    /// The answer's `Retry-After`.
    pub retry_after: Option<RetryAfter>,
    /// The `Square-Version` that answered.
    pub square_version: Option<String>,
}

impl fmt::Display for UnexpectedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unexpected answer (HTTP {}", self.status.as_u16())?;
        if let Some(content_type) = &self.content_type {
            write!(f, ", {content_type}")?;
        }
        write!(f, "): {}", self.kind)
    }
}

/// Why the redirect back from Square's authorize page gave no code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// Square sent `error` instead of a code: the seller declined (`access_denied` /
    /// `user_denied`) or the request was refused.
    #[error("authorization refused: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Denied {
        /// Square's `error`.
        error: String,
        /// Square's `error_description`.
        description: Option<String>,
    },
    /// No `state` came back, so the redirect cannot be tied to a request this application made.
    #[error("the redirect carries no `state`")]
    StateMissing,
    /// The `state` that came back is not the one sent: a forged or crossed redirect.
    #[error("the redirect's `state` does not match the one sent")]
    StateMismatch,
    /// Neither a `code` nor an `error` came back.
    #[error("the redirect carries neither `code` nor `error`")]
    CodeMissing,
    /// A parameter appears more than once, so the redirect is ambiguous.
    #[error("the redirect repeats the parameter `{0}`")]
    Repeated(&'static str),
}

/// Reads the headers every error keeps: `Retry-After`, `Square-Version` and the content type
/// (borrowed: a refusal does not keep it).
pub(crate) fn answer_metadata(headers: &HeaderMap) -> (Option<RetryAfter>, Option<String>, Option<&str>) {
    let (retry_after, version, content_type) = error_headers(headers);
    (retry_after, version, content_type.and_then(|value| value.to_str().ok()))
}

/// [`answer_metadata`] with the content type as it came: checking that it is text costs a pass
/// over its bytes, which only an error that keeps it needs.
pub(crate) fn error_headers(headers: &HeaderMap) -> (Option<RetryAfter>, Option<String>, Option<&HeaderValue>) {
    // One walk over the few headers of an answer costs less than three hashed lookups; the
    // first value of each name counts, as `HeaderMap::get` would give it.
    use crate::operation::SQUARE_VERSION_HEADER;
    use http::header::{CONTENT_TYPE, RETRY_AFTER};
    // Each `Some` once its name has been seen, holding what its first value gave.
    let (mut retry_after, mut version, mut content_type) = (None, None, None);
    for (name, value) in headers {
        let text = || value.to_str().ok();
        if *name == RETRY_AFTER {
            retry_after.get_or_insert_with(|| text().and_then(RetryAfter::parse));
        } else if *name == SQUARE_VERSION_HEADER {
            version.get_or_insert_with(|| text().map(str::to_owned));
        } else if *name == CONTENT_TYPE {
            content_type.get_or_insert(value);
        }
    }
    (retry_after.flatten(), version.flatten(), content_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `SquareError` as it was read before its visitor was written out: a derived struct behind
    /// a wrapper that takes an object only. The two must agree on every input, errors included.
    fn derived(json: &str) -> Result<SquareError, String> {
        #[derive(Deserialize)]
        struct Fields {
            #[serde(default)]
            category: Option<ErrorCategory>,
            code: ErrorCode,
            #[serde(default)]
            detail: Option<String>,
            #[serde(default)]
            field: Option<String>,
        }
        struct ObjectOnly;
        impl<'de> serde::de::Visitor<'de> for ObjectOnly {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an error object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Fields, A::Error> {
                Fields::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let Fields { category, code, detail, field } =
            serde::Deserializer::deserialize_map(&mut deserializer, ObjectOnly).map_err(|e| e.to_string())?;
        deserializer.end().map_err(|e| e.to_string())?;
        Ok(SquareError {
            category: category.unwrap_or_else(|| ErrorCategory::Other(String::new())),
            code,
            detail: detail.map(crate::redact::masked),
            field,
        })
    }

    #[test]
    fn square_errors_are_read_as_the_derived_struct_read_them() {
        let cases = [
            r#"{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED","detail":"Bad","field":"code"}"#,
            r#"{"code":"UNAUTHORIZED"}"#,
            r#"{"code":"NEW_CODE","category":"NEW_CATEGORY"}"#,
            r#"{"category":null,"code":"X","detail":null,"field":null}"#,
            r#"{"extra":[1,{"a":"b"}],"code":"X","more":null}"#,
            r#"{"c\u006fde":"X","det\u0061il":"token EAAAsecret"}"#,
            r#"{"code":"A","code":"B"}"#,
            r#"{"category":null,"category":"X","code":"Y"}"#,
            r#"{"code":"X","detail":"a","detail":"b"}"#,
            r#"{"code":"X","field":null,"field":"b"}"#,
            r#"{"category":"X"}"#,
            r#"{}"#,
            r#"{"code":null}"#,
            r#"{"code":7}"#,
            r#"{"code":"X","detail":7}"#,
            r#"{"code":"X","category":[]}"#,
            r#"["AUTHENTICATION_ERROR","UNAUTHORIZED"]"#,
            r#""UNAUTHORIZED""#,
            r#"null"#,
            r#"{"code":"X""#,
        ];
        for json in cases {
            let written_out = serde_json::from_str::<SquareError>(json).map_err(|e| e.to_string());
            assert_eq!(written_out, derived(json), "{json}");
        }
    }
}
