//! Square's two error shapes, and the statuses this fake answers them with.

use serde_json::{Value, json};

/// `errors[].category` values used by this fake.
pub(crate) const AUTHENTICATION_ERROR: &str = "AUTHENTICATION_ERROR";
/// `errors[].category` for a request Square refuses to read.
pub(crate) const INVALID_REQUEST_ERROR: &str = "INVALID_REQUEST_ERROR";
/// `errors[].category` for Square's own faults.
pub(crate) const API_ERROR: &str = "API_ERROR";
/// `errors[].category` for 429.
pub(crate) const RATE_LIMIT_ERROR: &str = "RATE_LIMIT_ERROR";

/// A refusal, ready to be written as an HTTP answer.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

impl ApiError {
    /// One error in the current `{"errors":[...]}` shape.
    pub(crate) fn new(status: u16, category: &str, code: &str, detail: impl Into<String>) -> Self {
        ApiError { status, body: json!({"errors": [{"category": category, "code": code, "detail": detail.into()}]}) }
    }

    /// Names the request field the error is about.
    pub(crate) fn field(mut self, field: &str) -> Self {
        if let Some(e) = self.body["errors"].get_mut(0) {
            e["field"] = Value::String(field.to_owned());
        }
        self
    }

    /// The legacy ("V1") shape Square still uses for a malformed `Authorization: Client` header.
    pub(crate) fn bad_authorization_header() -> Self {
        ApiError {
            status: 400,
            body: json!({"message": "bad authorization header", "type": "bad_request.invalid_parameter"}),
        }
    }

    /// 401 `UNAUTHORIZED`: wrong credentials or an unusable access token.
    pub(crate) fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, AUTHENTICATION_ERROR, "UNAUTHORIZED", detail)
    }

    /// 400 `UNAUTHORIZED`: a grant (code, refresh or migration token, PKCE verifier) Square won't honour.
    pub(crate) fn bad_grant(detail: impl Into<String>) -> Self {
        Self::new(400, AUTHENTICATION_ERROR, "UNAUTHORIZED", detail)
    }

    /// 400 `MISSING_REQUIRED_PARAMETER` for `field`.
    pub(crate) fn missing(field: &str) -> Self {
        Self::new(
            400,
            INVALID_REQUEST_ERROR,
            "MISSING_REQUIRED_PARAMETER",
            format!("Missing required parameter: {field}"),
        )
        .field(field)
    }

    /// 400 in `INVALID_REQUEST_ERROR` with the given code, about `field`.
    pub(crate) fn invalid(code: &str, field: &str, detail: impl Into<String>) -> Self {
        Self::new(400, INVALID_REQUEST_ERROR, code, detail).field(field)
    }
}
