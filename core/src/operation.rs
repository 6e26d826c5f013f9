//! The one trait every Square OAuth call implements, and the request plumbing they share.

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{HeaderName, HeaderValue, Method, Request};
use serde::Serialize;

use crate::buffer::WipingBuffer;
use crate::config::{Config, SquareVersion};
use crate::error::{Error, InvalidInput, Problem};
use crate::secret::Body;

/// Whether a request may be sent again after it might have reached Square.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Replay {
    /// Sending it twice has the effect of sending it once (token status, revoke, code-flow refresh).
    Safe,
    /// It spends a single-use credential (an authorization code, a PKCE refresh token): a second
    /// copy after the first may have arrived would fail, or worse, burn the credential whose
    /// answer was lost. Retried only when it provably never left.
    SingleUse,
}

/// A Square OAuth call: how to build its request and how to read its answer.
///
/// Adapters need nothing else, so they have one generic `send` and no per-endpoint code:
///
/// ```
/// use square_oauth::{Config, Operation, RetrieveTokenStatus, AccessToken};
///
/// let config = Config::sandbox();
/// let operation = RetrieveTokenStatus::new(AccessToken::new("EAAAexample"));
/// let request = operation.build(&config).unwrap();
/// assert_eq!(request.uri(), "https://connect.squareupsandbox.com/oauth2/token/status");
///
/// // ...an adapter sends `request` and reads the answer, then:
/// let answer = http::Response::builder()
///     .status(200)
///     .header("content-type", "application/json")
///     .body(r#"{"client_id":"sq0idp-a","merchant_id":"MLQW2MYBY81PZ","scopes":["PAYMENTS_READ"]}"#)
///     .unwrap();
/// let status = operation.parse(&config, answer).unwrap();
/// assert_eq!(status.merchant_id.unwrap().as_str(), "MLQW2MYBY81PZ");
/// ```
pub trait Operation {
    /// What a successful answer turns into.
    type Output;

    /// Builds the request. Checks every field first: an error here means nothing was sent.
    fn build(&self, config: &Config) -> Result<Request<Body>, Error>;

    /// Reads Square's answer: any status, any bytes. Never panics.
    fn parse<B: AsRef<[u8]>>(&self, config: &Config, response: http::Response<B>) -> Result<Self::Output, Error>;

    /// Whether the request may be replayed; the retry policy decides from this.
    fn replay(&self) -> Replay;
}

/// The `Square-Version` header's name, as every request sends it and every answer carries it.
///
/// ```
/// assert_eq!(square_oauth::SQUARE_VERSION_HEADER, "square-version");
/// ```
pub const SQUARE_VERSION_HEADER: HeaderName = HeaderName::from_static("square-version");

/// The parts every request has, put together the same way for every operation.
pub(crate) fn request(
    config: &Config,
    version: Option<&SquareVersion>,
    path: &str,
    authorization: Option<HeaderValue>,
    body: Option<Body>,
) -> Result<Request<Body>, Error> {
    // Made directly rather than through `Request::builder()`, whose every step re-wraps a
    // `Result`: a tenth of a request's cost, for parts that are already valid.
    let uri = config.uri(path, None)?;
    let has_body = body.is_some();
    let mut request = Request::new(body.unwrap_or_else(Body::empty));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.reserve(5);
    headers.insert(SQUARE_VERSION_HEADER, version.unwrap_or(config.square_version()).header());
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(USER_AGENT, config.user_agent_header());
    if let Some(authorization) = authorization {
        headers.insert(AUTHORIZATION, authorization);
    }
    if has_body {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(request)
}

/// `Authorization: <scheme> <credential>`, marked sensitive so that HTTP/2 never indexes it and
/// well-behaved loggers skip it.
pub(crate) fn authorization(field: &'static str, scheme: &str, credential: &str) -> Result<HeaderValue, Error> {
    crate::validators::header_credential(field, credential)?;
    let mut text = zeroize::Zeroizing::new(String::with_capacity(scheme.len() + 1 + credential.len()));
    text.push_str(scheme);
    text.push(' ');
    text.push_str(credential);
    let mut value = HeaderValue::from_str(&text)
        .map_err(|_| InvalidInput::new(field, Problem::Format("visible ASCII characters")))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Serializes a request body straight into wiped-on-drop memory. The size is a hint: JSON
/// escaping can make a body longer (a `"` in a secret takes two bytes, a control character six),
/// and the buffer then wipes each storage it outgrows, so no reallocation leaves a copy behind.
pub(crate) fn json_body<T: Serialize>(value: &T, size_hint: usize) -> Result<Body, Error> {
    let mut writer = BodyWriter(WipingBuffer::with_capacity(size_hint + 256));
    match serde_json::to_writer(&mut writer, value) {
        Ok(()) => Ok(Body::from_vec(writer.0.into_vec())),
        Err(_) => Err(InvalidInput::new("body", Problem::Format("serializable as JSON")).into()),
    }
}

/// The writer of a request body: a [`WipingBuffer`] without a cap, so that a write never fails.
/// Its own type rather than `WipingBuffer`'s `io::Write`, whose error boxes a `BodyTooLarge`
/// (and so keeps its `Debug`, `Display` and `Error` in every WebAssembly module) for a failure
/// that cannot happen here.
struct BodyWriter(WipingBuffer);

impl std::io::Write for BodyWriter {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.push(buf).map_err(|_| std::io::ErrorKind::OutOfMemory)?;
        Ok(buf.len())
    }

    // serde_json writes in many small pieces: one call each, not `write_all`'s loop.
    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.write(buf).map(drop)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_longer_than_its_hint_is_written_whole() {
        let secret = "\"\u{1}".repeat(500);
        let body = json_body(&serde_json::json!({ "client_secret": secret }), 0).unwrap();
        let back: serde_json::Value = serde_json::from_slice(body.expose_secret()).unwrap();
        assert_eq!(back["client_secret"], secret.as_str());
        assert!(body.len() > 3000);
    }
}
