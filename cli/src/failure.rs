//! Exit codes, and turning every failure into a message a person can act on.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | a local failure: a file could not be written, the fake Square could not start |
//! | 2 | usage: a missing or invalid argument, an unreadable token file, input Square would refuse |
//! | 3 | Square refused (or the seller declined on the authorize page) |
//! | 4 | the network failed or timed out (including waiting for the browser) |
//! | 5 | an answer that could not be understood (including a redirect whose `state` doesn't match) |

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::{Value, json};
use square_oauth::{CallbackError, Error, ErrorCode, LifecycleError};

use crate::transport;

/// The process's exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 1: something on this machine failed.
    Local = 1,
    /// 2: the command line or its inputs are wrong.
    Usage = 2,
    /// 3: Square said no.
    Refused = 3,
    /// 4: the network failed or a wait timed out.
    Transport = 4,
    /// 5: an answer made no sense.
    Unexpected = 5,
}

impl Exit {
    fn kind(self) -> &'static str {
        match self {
            Exit::Local => "local",
            Exit::Usage => "usage",
            Exit::Refused => "square_refused",
            Exit::Transport => "transport",
            Exit::Unexpected => "unexpected_response",
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// What the call was, so a hint can say what to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    /// Exchanging the authorization code.
    Exchange {
        /// PKCE or code flow.
        pkce: bool,
    },
    /// Refreshing a token set.
    Refresh {
        /// PKCE or code flow.
        pkce: bool,
    },
    /// RevokeToken.
    Revoke,
    /// RetrieveTokenStatus.
    Status,
}

/// A failed command: exit code, message, details and a hint. Holds no secret: every part is
/// built from errors that carry none.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) exit: Exit,
    pub(crate) message: String,
    pub(crate) details: Vec<String>,
    pub(crate) hint: Option<String>,
    /// Extra machine-readable fields for `--json` (Square's errors, the status, …).
    pub(crate) data: Value,
}

impl Failure {
    /// A failure with just a message.
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self { exit, message: message.into(), details: Vec::new(), hint: None, data: json!({}) }
    }

    /// A usage error.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// Adds a hint.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// From the core's error, with what the call was.
    pub(crate) fn from_core(error: &Error, context: Option<Context>) -> Self {
        match error {
            Error::InvalidInput(invalid) => Self::usage(format!("invalid input: {invalid}")),
            Error::Square(refusal) => {
                let mut failure = Self::new(Exit::Refused, format!("Square refused the request (HTTP {})", refusal.status));
                for e in &refusal.errors {
                    let mut line = format!("{} {}", e.category, e.code);
                    if let Some(field) = &e.field {
                        let _ = write!(line, " (field `{field}`)");
                    }
                    if let Some(detail) = &e.detail {
                        let _ = write!(line, ": {detail}");
                    }
                    failure.details.push(line);
                }
                failure.hint = hint(error, context);
                failure.data = json!({
                    "status": refusal.status.as_u16(),
                    "errors": refusal.errors,
                    "square_version": refusal.square_version,
                });
                failure
            }
            Error::UnexpectedResponse(unexpected) => {
                let mut failure = Self::new(
                    Exit::Unexpected,
                    format!("the answer could not be understood (HTTP {}): {}", unexpected.status, unexpected.kind),
                );
                if let Some(content_type) = &unexpected.content_type {
                    failure.details.push(format!("content type: {content_type}"));
                }
                if !unexpected.excerpt.is_empty() {
                    failure.details.push(format!("body starts: {}", unexpected.excerpt));
                }
                failure.data = json!({
                    "status": unexpected.status.as_u16(),
                    "content_type": unexpected.content_type,
                    "excerpt": unexpected.excerpt,
                });
                failure
            }
            Error::Callback(CallbackError::Denied { error, description }) => {
                let mut failure = Self::new(Exit::Refused, format!("authorization refused on the authorize page: {error}"));
                if let Some(description) = description {
                    failure.details.push(format!("error_description: {description}"));
                }
                if error == "access_denied" {
                    failure.hint = Some("the seller pressed Deny; run `square-oauth login` again to ask once more".into());
                }
                failure.data = json!({"error": error, "error_description": description});
                failure
            }
            Error::Callback(callback) => Self::new(Exit::Unexpected, format!("the redirect was refused: {callback}"))
                .hint("the redirect did not come from the authorize URL this command printed; run `square-oauth login` again"),
            other => Self::new(Exit::Unexpected, other.to_string()),
        }
    }

    /// From a token set's refusal.
    pub(crate) fn from_lifecycle(lifecycle: &LifecycleError) -> Self {
        match lifecycle {
            LifecycleError::ClientSecretRequired => Self::usage(lifecycle.to_string())
                .hint("code-flow tokens are refreshed with the application secret: pass --client-secret or set SQUARE_CLIENT_SECRET"),
            _ if lifecycle.must_authorize_again() => Self::usage(lifecycle.to_string()).hint("run `square-oauth login` again"),
            _ => Self::new(Exit::Unexpected, format!("Square's answer cannot be used: {lifecycle}")),
        }
    }

    /// From the transport's error.
    pub(crate) fn from_transport(error: &transport::Error, context: Option<Context>) -> Self {
        match error {
            transport::Error::Core(core) => Self::from_core(core, context),
            transport::Error::Lifecycle(lifecycle) => Self::from_lifecycle(lifecycle),
            transport::Error::Timeout { .. } => Self::new(Exit::Transport, "the request timed out")
                .hint("raise --timeout, or check that the base URL is reachable"),
            transport::Error::Transport { source, .. } | transport::Error::CertificateRefused { source } => {
                // The whole chain: "connection refused", "certificate not valid for name", …
                let mut message = format!("the request failed in transport: {source}");
                let mut cause = std::error::Error::source(source);
                while let Some(inner) = cause {
                    let _ = write!(message, ": {inner}");
                    cause = inner.source();
                }
                Self::new(Exit::Transport, message)
                    .hint("check the network and the base URL (--base-url, --sandbox, --production)")
            }
            transport::Error::BodyTooLarge { limit } => {
                Self::new(Exit::Unexpected, format!("the answer was larger than {limit} bytes"))
            }
            transport::Error::Redirect { status } => Self::new(
                Exit::Unexpected,
                format!(
                    "the answer was a redirect (HTTP {}), which is never followed",
                    status.map_or(0, |status| status.as_u16())
                ),
            )
            .hint("a redirect could carry a token to another host; check the base URL"),
            #[allow(unreachable_patterns)]
            other => Self::new(Exit::Transport, other.to_string()),
        }
    }

    /// The message for standard error. Text that came from the network (Square's `detail`, a
    /// redirect's `error_description`) is printed with its control characters replaced, so an
    /// answer cannot drive the terminal.
    pub(crate) fn render(&self) -> String {
        printable(&self.render_raw())
    }

    fn render_raw(&self) -> String {
        let mut out = format!("error: {}\n", self.message);
        for detail in &self.details {
            let _ = writeln!(out, "  {detail}");
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "hint: {hint}");
        }
        out
    }

    /// The `--json` document for standard output.
    pub(crate) fn to_json(&self) -> Value {
        let mut error = json!({
            "exit_code": self.exit as u8,
            "kind": self.exit.kind(),
            "message": self.message,
            "details": self.details,
            "hint": self.hint,
        });
        if let (Value::Object(target), Value::Object(extra)) = (&mut error, &self.data) {
            for (key, value) in extra {
                target.insert(key.clone(), value.clone());
            }
        }
        json!({ "ok": false, "error": error })
    }
}

/// `text` with every control character but the newline shown as `?`.
fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() && c != '\n' { '?' } else { c }).collect()
}

/// A hint for the refusals people meet most.
fn hint(error: &Error, context: Option<Context>) -> Option<String> {
    let errors = error.square_errors();
    let detail_has = |needle: &str| {
        errors.iter().any(|e| e.detail.as_deref().is_some_and(|d| d.to_ascii_lowercase().contains(needle)))
    };
    let field_is = |name: &str| errors.iter().any(|e| e.field.as_deref() == Some(name));
    let code_is = |code: &str| errors.iter().any(|e| e.code.as_str() == code);

    if error.has_code(&ErrorCode::AccessTokenRevoked) {
        return Some("this access token was revoked; the seller must authorize again (`square-oauth login`)".into());
    }
    if error.has_code(&ErrorCode::AccessTokenExpired) {
        return Some("this access token has expired; refresh it (`square-oauth refresh --token-file FILE`)".into());
    }
    if code_is("bad_request.invalid_parameter") || detail_has("authorization header") || field_is("client_secret") {
        return Some(
            "this call needs the application secret: pass --client-secret or set SQUARE_CLIENT_SECRET \
             (the `Client ` prefix of the header is added for you)"
                .into(),
        );
    }
    match context {
        Some(Context::Exchange { .. }) if detail_has("code") => Some(
            "authorization codes are single-use and expire minutes after consent; run `square-oauth login` again"
                .into(),
        ),
        Some(Context::Refresh { pkce: true }) if error.has_code(&ErrorCode::Unauthorized) => Some(
            "PKCE refresh tokens are single-use: this one was already spent (or expired, or revoked); \
             if another copy of the token file refreshed first, use that copy, otherwise run `square-oauth login` again"
                .into(),
        ),
        Some(Context::Refresh { pkce: false }) if error.has_code(&ErrorCode::Unauthorized) => Some(
            "the refresh token was refused: the authorization was revoked, or the client secret is wrong; \
             check the secret, otherwise run `square-oauth login` again"
                .into(),
        ),
        Some(Context::Revoke) if error.has_code(&ErrorCode::Unauthorized) => {
            Some("the client id or client secret is wrong for this application".into())
        }
        // Square's specification answers UNAUTHORIZED for an expired or revoked token too, so
        // this one hint covers all of them.
        Some(Context::Status) if error.has_code(&ErrorCode::Unauthorized) => Some(
            "the access token is not valid: expired, revoked, mistyped, or issued by another environment; \
             refresh it (`square-oauth refresh --token-file FILE`), and if that is refused too, the seller must \
             authorize again (`square-oauth login`)"
                .into(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use square_oauth::http::Response;
    use square_oauth::{
        AccessToken, AuthorizationCode, ClientId, ClientSecret, Config, MerchantId, ObtainToken, Operation,
        RefreshToken, RetrieveTokenStatus, RevokeToken,
    };

    use super::*;

    fn answer(status: u16, body: &str) -> Response<Vec<u8>> {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    fn refused<O: Operation>(operation: &O, status: u16, body: &str) -> Error {
        operation.parse(&Config::production(), answer(status, body)).err().expect("a refusal")
    }

    const UNAUTHORIZED: &str = r#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED","detail":"Authorization code is already used"}]}"#;

    #[test]
    fn a_used_code_says_to_log_in_again() {
        let exchange = ObtainToken::authorization_code(
            ClientId::new("sq0idp-a"),
            ClientSecret::new("sq0csp-secret"),
            AuthorizationCode::new("sq0cgb-code"),
        );
        let failure =
            Failure::from_core(&refused(&exchange, 400, UNAUTHORIZED), Some(Context::Exchange { pkce: false }));
        assert_eq!(failure.exit, Exit::Refused);
        assert!(failure.details[0].starts_with("AUTHENTICATION_ERROR UNAUTHORIZED: Authorization code"));
        assert!(failure.hint.unwrap().contains("single-use"));
    }

    #[test]
    fn a_spent_pkce_refresh_token_says_single_use() {
        let refresh = ObtainToken::pkce_refresh(ClientId::new("sq0idp-a"), RefreshToken::new("EQAAtoken"));
        let body = r#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED","detail":"Refresh token is already used"}]}"#;
        let failure = Failure::from_core(&refused(&refresh, 400, body), Some(Context::Refresh { pkce: true }));
        assert!(failure.hint.unwrap().contains("PKCE refresh tokens are single-use"));
    }

    #[test]
    fn a_bad_authorization_header_says_the_secret_is_needed() {
        let revoke =
            RevokeToken::merchant(ClientId::new("sq0idp-a"), ClientSecret::new("sq0csp-x"), MerchantId::new("M"));
        let body = r#"{"message":"bad authorization header","type":"bad_request.invalid_parameter"}"#;
        let failure = Failure::from_core(&refused(&revoke, 400, body), Some(Context::Revoke));
        assert_eq!(failure.exit, Exit::Refused);
        assert!(failure.details[0].starts_with("V1_ERROR bad_request.invalid_parameter"));
        assert!(failure.hint.unwrap().contains("`Client `"));
    }

    #[test]
    fn a_revoked_token_says_to_authorize_again() {
        let status = RetrieveTokenStatus::new(AccessToken::new("EAAAtoken"));
        let body = r#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"ACCESS_TOKEN_REVOKED"}]}"#;
        let failure = Failure::from_core(&refused(&status, 401, body), Some(Context::Status));
        assert!(failure.hint.as_deref().unwrap().contains("revoked"));
        let json = failure.to_json();
        assert_eq!(json["error"]["exit_code"], 3);
        assert_eq!(json["error"]["errors"][0]["code"], "ACCESS_TOKEN_REVOKED");
    }

    #[test]
    fn network_text_cannot_drive_the_terminal() {
        let failure = Failure::new(Exit::Refused, "refused").hint("a\x1b[2Jb");
        assert_eq!(failure.render(), "error: refused\nhint: a?[2Jb\n");
    }

    #[test]
    fn an_html_page_is_exit_5() {
        let status = RetrieveTokenStatus::new(AccessToken::new("EAAAtoken"));
        let error = status
            .parse(
                &Config::production(),
                Response::builder().status(502).header("content-type", "text/html").body(b"<html>".to_vec()).unwrap(),
            )
            .unwrap_err();
        assert_eq!(Failure::from_core(&error, None).exit, Exit::Unexpected);
    }
}
