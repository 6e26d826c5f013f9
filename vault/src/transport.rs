//! How a refresh call ended, in the words the vault decides with; and the glue from every
//! adapter's error (one function for all of them: they share the core's `CallError`).
//!
//! The vault sends through a closure of yours, so any transport fits:
//! blocking `FnMut(&ObtainToken) -> Result<ObtainTokenResponse, RefreshFailure>`, or an async
//! closure returning a future of the same. With `square-oauth-ureq`:
//!
//! ```no_run
//! use square_oauth_ureq::Calls as _;
//! use square_oauth_vault::transport::from_call;
//! # let client = square_oauth_ureq::Client::new(square_oauth::Config::production());
//! let mut send = |operation: &square_oauth::ObtainToken| client.obtain_token(operation).map_err(from_call);
//! # let _ = &mut send;
//! ```

use core::time::Duration;
use std::error::Error as StdError;

use crate::decide::Completion;

/// Why a refresh call brought no tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshFailure {
    /// Square refused. `reauthorize`: the refresh token is dead and the seller must authorize
    /// again; otherwise the refusal is about the request or the application.
    #[error("Square refused the refresh: {error}")]
    Refused {
        /// Whether the seller must authorize again.
        reauthorize: bool,
        /// Square's answer.
        #[source]
        error: square_oauth::Error,
    },
    /// The request never left this machine (refused connection, DNS, invalid input): safe to
    /// send again.
    #[error("the refresh was not sent")]
    NotSent {
        /// Why.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
    /// The request may have reached Square and no usable answer came: for a PKCE refresh the
    /// token may be spent.
    #[error("the refresh may have reached Square; its answer was lost")]
    MaybeSent {
        /// Why.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
    /// Square answered that it did not act (429, 503): try later.
    #[error("Square is busy; try again later")]
    Busy {
        /// Square's `Retry-After`, as a wait.
        retry_after: Option<Duration>,
    },
}

impl RefreshFailure {
    /// What the decisions make of it.
    pub fn completion(&self) -> Completion {
        match self {
            RefreshFailure::Refused { reauthorize, .. } => Completion::Refused { reauthorize: *reauthorize },
            RefreshFailure::NotSent { .. } => Completion::NotSent,
            RefreshFailure::MaybeSent { .. } => Completion::MaybeSent,
            RefreshFailure::Busy { retry_after } => Completion::Busy { retry_after: *retry_after },
        }
    }

    /// Reads the core's error: Square's refusals as
    /// [`Error::refresh_must_authorize_again`](square_oauth::Error::refresh_must_authorize_again)
    /// reads them, 429 and 503 as busy, an answer that could not be understood as "may have been
    /// sent", invalid input as "not sent".
    pub fn from_core(error: square_oauth::Error, now: jiff::Timestamp) -> RefreshFailure {
        let Some(status) = error.status() else {
            return RefreshFailure::NotSent { source: Some(Box::new(error)) };
        };
        let code = status.as_u16();
        if matches!(code, 429 | 503) {
            return RefreshFailure::Busy { retry_after: error.retry_after().map(|after| after.delay_from(now)) };
        }
        if matches!(error, square_oauth::Error::UnexpectedResponse(_)) || status.is_server_error() || code == 408 {
            return RefreshFailure::MaybeSent { source: Some(Box::new(error)) };
        }
        // The core's one reading of a refresh's refusal: a dead refresh token sends the seller
        // back to authorize; the application's own credentials refused do not.
        let reauthorize = error.refresh_must_authorize_again();
        RefreshFailure::Refused { reauthorize, error }
    }
}

/// Any adapter's error as a [`RefreshFailure`]: every adapter's `Error` is the core's
/// [`CallError`](square_oauth::CallError) over its transport's error, which already says whether
/// the request may have reached Square.
impl<E: StdError + Send + Sync + 'static> From<square_oauth::CallError<E>> for RefreshFailure {
    fn from(error: square_oauth::CallError<E>) -> RefreshFailure {
        from_call(error)
    }
}

/// Any adapter's error as a [`RefreshFailure`] (the same as `RefreshFailure::from`, as a function
/// to hand to `map_err`). A refused certificate was never sent, like a refused connection: the
/// vault backs off and tries again later, and an operator fixes the trust store in between.
pub fn from_call<E: StdError + Send + Sync + 'static>(error: square_oauth::CallError<E>) -> RefreshFailure {
    use square_oauth::CallError;
    let reached = error.may_have_reached_square();
    match error {
        CallError::Core(error) => RefreshFailure::from_core(error, jiff::Timestamp::now()),
        other if reached => RefreshFailure::MaybeSent { source: Some(Box::new(other)) },
        other => RefreshFailure::NotSent { source: Some(Box::new(other)) },
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Square's answer with this status and error, as the core reads it.
    pub(crate) fn refusal(status: u16, category: &str, code: &str, retry_after: Option<&str>) -> square_oauth::Error {
        let op = square_oauth::ObtainToken::pkce_refresh(
            square_oauth::ClientId::new("sq0idp-app"),
            square_oauth::RefreshToken::new("EQAAx"),
        );
        let mut response = http::Response::builder().status(status).header("content-type", "application/json");
        if let Some(after) = retry_after {
            response = response.header("retry-after", after);
        }
        let body = format!(r#"{{"errors":[{{"category":"{category}","code":"{code}","detail":"d"}}]}}"#);
        let response = response.body(body.into_bytes()).unwrap();
        square_oauth::Operation::parse(&op, &square_oauth::Config::production(), response).unwrap_err()
    }

    fn now() -> jiff::Timestamp {
        "2026-07-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_dead_refresh_token_sends_the_seller_to_authorize_again() {
        let failure = RefreshFailure::from_core(refusal(400, "AUTHENTICATION_ERROR", "UNAUTHORIZED", None), now());
        assert_eq!(failure.completion(), Completion::Refused { reauthorize: true });
        let failure =
            RefreshFailure::from_core(refusal(401, "AUTHENTICATION_ERROR", "ACCESS_TOKEN_REVOKED", None), now());
        assert_eq!(failure.completion(), Completion::Refused { reauthorize: true });
    }

    #[test]
    fn a_wrong_application_secret_is_not_the_sellers_doing() {
        let failure = RefreshFailure::from_core(refusal(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", None), now());
        assert_eq!(failure.completion(), Completion::Refused { reauthorize: false });
        let failure =
            RefreshFailure::from_core(refusal(400, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER", None), now());
        assert_eq!(failure.completion(), Completion::Refused { reauthorize: false });
    }

    /// Every error code and category in Square's specification, on every status a refusal
    /// comes with: the vault sends the seller back to authorize exactly when the core's reading
    /// of a refresh answer says so, and that is exactly a dead grant.
    #[test]
    fn the_vault_and_the_core_agree_on_every_code_square_documents() {
        let spec: serde_json::Value =
            serde_json::from_str(include_str!("../../spec/square-oauth-openapi-2025-08-20.json")).unwrap();
        let list = |name: &str| -> Vec<String> {
            spec["components"]["schemas"][name]["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        let (codes, categories) = (list("ErrorCode"), list("ErrorCategory"));
        assert!(codes.len() > 150 && categories.len() >= 8, "{} codes, {} categories", codes.len(), categories.len());
        let mut dead = 0;
        for status in [400, 401, 403, 404, 408, 409, 413, 415, 422, 429, 500, 502, 503, 504] {
            for code in &codes {
                for category in &categories {
                    let error = refusal(status, category, code, None);
                    let core = error.refresh_must_authorize_again();
                    let names_the_grant = matches!(code.as_str(), "ACCESS_TOKEN_REVOKED" | "ACCESS_TOKEN_EXPIRED")
                        || (code == "UNAUTHORIZED" && status == 400);
                    let expected = (400..500).contains(&status) && !matches!(status, 408 | 429) && names_the_grant;
                    assert_eq!(core, expected, "{status} {category} {code}");
                    let vault = RefreshFailure::from_core(error, now()).completion();
                    assert_eq!(vault == Completion::Refused { reauthorize: true }, core, "{status} {category} {code}");
                    dead += usize::from(core);
                }
            }
        }
        // 400 UNAUTHORIZED, and both token codes on 400, 401, 403, 404, 409, 413, 415, 422.
        assert_eq!(dead, categories.len() * (1 + 2 * 8));
    }

    #[test]
    fn busy_answers_carry_retry_after_and_server_errors_may_have_acted() {
        let failure = RefreshFailure::from_core(refusal(429, "RATE_LIMIT_ERROR", "RATE_LIMITED", Some("7")), now());
        assert_eq!(failure.completion(), Completion::Busy { retry_after: Some(Duration::from_secs(7)) });
        let failure = RefreshFailure::from_core(refusal(503, "API_ERROR", "SERVICE_UNAVAILABLE", None), now());
        assert_eq!(failure.completion(), Completion::Busy { retry_after: None });
        let failure = RefreshFailure::from_core(refusal(500, "API_ERROR", "INTERNAL_SERVER_ERROR", None), now());
        assert_eq!(failure.completion(), Completion::MaybeSent);
    }

    #[cfg(feature = "ureq")]
    #[test]
    fn a_refused_connection_was_never_sent_and_a_timeout_may_have_been() {
        use square_oauth_ureq::Calls as _;
        let client = square_oauth_ureq::Client::builder(square_oauth::Config::custom("http://127.0.0.1:9").unwrap())
            .retry_policy(square_oauth::RetryPolicy::never())
            .build();
        let op = square_oauth::ObtainToken::pkce_refresh(
            square_oauth::ClientId::new("sq0idp-app"),
            square_oauth::RefreshToken::new("EQAAx"),
        );
        let failure = from_call(client.obtain_token(&op).unwrap_err());
        assert_eq!(failure.completion(), Completion::NotSent, "{failure:?}");
        let timeout = square_oauth_ureq::Error::Timeout { may_have_reached: true };
        assert_eq!(from_call(timeout).completion(), Completion::MaybeSent);
        let connect_timeout = square_oauth_ureq::Error::Timeout { may_have_reached: false };
        assert_eq!(from_call(connect_timeout).completion(), Completion::NotSent);
    }
}
