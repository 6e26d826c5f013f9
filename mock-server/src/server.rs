//! The HTTP side: accept loop, routing, Square's error shapes on the wire, CORS, faults,
//! the request log and the webhook sender.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::errors::{API_ERROR, AUTHENTICATION_ERROR, ApiError, INVALID_REQUEST_ERROR, RATE_LIMIT_ERROR};
use crate::state::{self, Revocation, State};
use crate::{Fault, MockError, RecordedRequest, util};
use crate::{consent, control};

pub(crate) type RespBody = BoxBody<Bytes, io::Error>;

/// Everything the server thread and the handle share. Each lock is held only for a few
/// statements and never across an `.await`.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) log: Mutex<Vec<RecordedRequest>>,
    pub(crate) faults: Mutex<HashMap<String, VecDeque<Fault>>>,
    pub(crate) webhook: Mutex<Option<(String, String)>>,
    /// Webhook subscriptions: (client_id, notification URL, signature key).
    pub(crate) subscriptions: Mutex<Vec<(String, String, String)>>,
    pub(crate) square_version: String,
    pub(crate) max_body: usize,
    /// Whether `/__mock/…` answers (see [`crate::control`]).
    pub(crate) control: bool,
    /// Which pages may read the answers.
    pub(crate) cors: crate::Cors,
    /// Bytes of scripted oversize answers handed to hyper so far: what tells a client that
    /// stopped at its cap from one that read the whole answer, which the request log cannot.
    pub(crate) oversize_sent: AtomicU64,
    /// When the fake started, on the monotonic clock: the request log's `elapsed_ms` counts from it.
    pub(crate) started: Instant,
}

/// Locks, recovering the data if a thread panicked while holding the lock: a panicking test
/// must not turn every later request into a second panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn now(&self) -> SystemTime {
        SystemTime::now() + lock(&self.state).offset
    }
}

/// The service's error: hyper closes the connection without answering (fault `Reset`).
#[derive(Debug)]
pub(crate) struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by a scripted fault")
    }
}

impl std::error::Error for Reset {}

fn full(b: impl Into<Bytes>) -> RespBody {
    Full::new(b.into()).map_err(|never: Infallible| match never {}).boxed()
}

fn respond(status: u16, content_type: Option<&str>, body: impl Into<Bytes>) -> Response<RespBody> {
    let mut r = Response::new(full(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(ct) = content_type {
        r.headers_mut().insert(
            "content-type",
            HeaderValue::from_str(ct).unwrap_or(HeaderValue::from_static("application/octet-stream")),
        );
    }
    r
}

fn json_response(status: u16, body: &Value) -> Response<RespBody> {
    respond(status, Some("application/json"), body.to_string())
}

fn error_response(e: ApiError) -> Response<RespBody> {
    json_response(e.status, &e.body)
}

fn html_response(status: u16, html: String) -> Response<RespBody> {
    respond(status, Some("text/html; charset=utf-8"), html)
}

fn redirect(location: &str) -> Response<RespBody> {
    let mut r = respond(302, None, Bytes::new());
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert("location", v);
    }
    r.headers_mut().insert("cache-control", HeaderValue::from_static("no-store"));
    r
}

/// A body that delivers its first half and then fails, so hyper closes the connection short
/// of the `Content-Length` it announced. The pause in between lets hyper flush the headers
/// and the half before the failure makes it drop the connection (and its write buffer).
struct Truncated {
    first: Option<Bytes>,
    pause: Pin<Box<tokio::time::Sleep>>,
    failed: bool,
    full_len: u64,
}

impl hyper::body::Body for Truncated {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if let Some(b) = this.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(b))));
        }
        if !this.failed {
            if this.pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.failed = true;
            return Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "body truncated by a scripted fault",
            ))));
        }
        Poll::Ready(None)
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.full_len)
    }
}

fn truncate(resp: Response<RespBody>, body: Bytes) -> Response<RespBody> {
    let (mut parts, _) = resp.into_parts();
    let full_len = body.len() as u64;
    let half = body.slice(..body.len() / 2);
    parts.headers.insert("content-length", HeaderValue::from(full_len));
    Response::from_parts(
        parts,
        Truncated {
            first: Some(half),
            pause: Box::pin(tokio::time::sleep(std::time::Duration::from_millis(50))),
            failed: false,
            full_len,
        }
        .boxed(),
    )
}

/// The error code and category Square would use for a bare status.
fn status_error(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => (INVALID_REQUEST_ERROR, "BAD_REQUEST"),
        401 => (AUTHENTICATION_ERROR, "UNAUTHORIZED"),
        403 => (AUTHENTICATION_ERROR, "FORBIDDEN"),
        404 => (INVALID_REQUEST_ERROR, "NOT_FOUND"),
        405 => (INVALID_REQUEST_ERROR, "METHOD_NOT_ALLOWED"),
        408 => (INVALID_REQUEST_ERROR, "REQUEST_TIMEOUT"),
        409 => (INVALID_REQUEST_ERROR, "CONFLICT"),
        413 => (INVALID_REQUEST_ERROR, "REQUEST_ENTITY_TOO_LARGE"),
        415 => (INVALID_REQUEST_ERROR, "UNSUPPORTED_MEDIA_TYPE"),
        429 => (RATE_LIMIT_ERROR, "RATE_LIMITED"),
        501 => (API_ERROR, "NOT_IMPLEMENTED"),
        502 => (API_ERROR, "BAD_GATEWAY"),
        503 => (API_ERROR, "SERVICE_UNAVAILABLE"),
        504 => (API_ERROR, "GATEWAY_TIMEOUT"),
        s if s >= 500 => (API_ERROR, "INTERNAL_SERVER_ERROR"),
        _ => (INVALID_REQUEST_ERROR, "BAD_REQUEST"),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn valid_version(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 10 && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
}

const KNOWN_PATHS: &[&str] = &["/oauth2/authorize", "/oauth2/token", "/oauth2/revoke", "/oauth2/token/status"];

/// `Some(client_id)` for `/oauth2/clients/{client_id}/access-token/renew`.
fn renew_client_id(path: &str) -> Option<&str> {
    path.strip_prefix("/oauth2/clients/")?
        .strip_suffix("/access-token/renew")
        .filter(|c| !c.is_empty() && !c.contains('/'))
}

fn is_json(headers: &HeaderMap) -> bool {
    header(headers, "content-type")
        .is_some_and(|ct| ct.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")))
}

/// One request, start to finish.
pub(crate) async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<RespBody>, Reset> {
    let (parts, body) = req.into_parts();
    let (at, arrived) = (SystemTime::now(), Instant::now());
    let (body, too_large) = match Limited::new(body, shared.max_body).collect().await {
        Ok(c) => (c.to_bytes(), false),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => (Bytes::new(), true),
        // The client went away mid-body: there is no one to answer.
        Err(_) => return Err(Reset),
    };
    let path = parts.uri.path().to_owned();
    let origin = header(&parts.headers, "origin").map(str::to_owned);
    if shared.control && path.starts_with(control::PREFIX) {
        // Never faulted, never recorded: control calls must not disturb what a test observes.
        let mut resp = if parts.method == Method::OPTIONS {
            preflight()
        } else {
            let (status, value) = control::answer(&shared, parts.method.as_str(), &path, &body).await;
            json_response(status, &value)
        };
        cors(resp.headers_mut(), origin.as_deref(), &shared.cors);
        return Ok(resp);
    }
    lock(&shared.log).push(RecordedRequest {
        method: parts.method.to_string(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: body.to_vec(),
        at,
        arrived,
    });

    let asked_version = header(&parts.headers, "square-version").map(str::to_owned);
    let version = asked_version.clone().filter(|v| valid_version(v)).unwrap_or_else(|| shared.square_version.clone());

    // Preflights never consume faults: a browser sends one before the request a test aimed at.
    let fault = if parts.method == Method::OPTIONS {
        None
    } else {
        lock(&shared.faults).get_mut(&path).and_then(VecDeque::pop_front)
    };
    let mut truncate_answer = false;
    let resp = match fault {
        Some(Fault::Reset) => return Err(Reset),
        Some(Fault::Status { status, retry_after }) => {
            let (category, code) = status_error(status);
            let mut r = error_response(ApiError::new(status, category, code, format!("Scripted fault: HTTP {status}")));
            if let Some(ra) = retry_after.and_then(|ra| HeaderValue::from_str(&ra).ok()) {
                r.headers_mut().insert("retry-after", ra);
            }
            Some(r)
        }
        Some(Fault::Html502) => Some(html_response(502, consent::BAD_GATEWAY_PAGE.to_owned())),
        Some(Fault::Redirect(location)) => Some(redirect(&location)),
        Some(Fault::Oversize(n)) => Some(oversize(&shared, n)),
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        Some(Fault::Truncate) => {
            truncate_answer = true;
            None
        }
        None => None,
    };
    let mut resp = match resp {
        Some(r) => r,
        None => {
            let mut resp = route(
                &shared,
                &parts.method,
                &path,
                parts.uri.query().unwrap_or(""),
                &parts.headers,
                &body,
                too_large,
                asked_version.as_deref(),
            );
            if truncate_answer {
                let (p, b) = resp.into_parts();
                let bytes = match b.collect().await {
                    Ok(c) => c.to_bytes(),
                    Err(_) => Bytes::new(),
                };
                resp = truncate(Response::from_parts(p, full(Bytes::new())), bytes);
            }
            resp
        }
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&version) {
        h.insert("square-version", v);
    }
    cors(h, origin.as_deref(), &shared.cors);
    Ok(resp)
}

/// The CORS headers of an answer, control answers included: an allowed `Origin` is named back
/// (with the configured exposed headers); any other gets none, so a browser keeps the answer
/// from the page.
fn cors(h: &mut HeaderMap, origin: Option<&str>, config: &crate::Cors) {
    h.insert("vary", HeaderValue::from_static("Origin"));
    let Some(origin) = origin.filter(|o| config.allows(o)) else { return };
    let Ok(allow_origin) = HeaderValue::from_str(origin) else { return };
    h.insert("access-control-allow-origin", allow_origin);
    if !config.expose_headers.is_empty()
        && let Ok(exposed) = HeaderValue::from_str(&config.expose_headers.join(", "))
    {
        h.insert("access-control-expose-headers", exposed);
    }
}

/// A 200 body of exactly `n` bytes that starts like a token answer, made as hyper asks for it
/// (a fault of a gigabyte allocates nothing) and counted in [`Shared::oversize_sent`].
struct Oversize {
    shared: Arc<Shared>,
    len: usize,
    sent: usize,
}

impl Oversize {
    const CHUNK: usize = 64 * 1024;
    const HEAD: &'static [u8] = b"{\"access_token\":\"EAAA";
    const TAIL: &'static [u8] = b"\"}";

    fn byte(&self, at: usize) -> u8 {
        if self.len < Self::HEAD.len() + Self::TAIL.len() {
            b' '
        } else if at < Self::HEAD.len() {
            Self::HEAD[at]
        } else if at >= self.len - Self::TAIL.len() {
            Self::TAIL[at - (self.len - Self::TAIL.len())]
        } else {
            b'x'
        }
    }
}

impl hyper::body::Body for Oversize {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.sent >= this.len {
            return Poll::Ready(None);
        }
        let end = this.len.min(this.sent + Self::CHUNK);
        let chunk: Vec<u8> = (this.sent..end).map(|at| this.byte(at)).collect();
        this.shared.oversize_sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        this.sent = end;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.sent >= self.len
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact((self.len - self.sent) as u64)
    }
}

fn oversize(shared: &Arc<Shared>, len: usize) -> Response<RespBody> {
    let (mut parts, _) = respond(200, Some("application/json"), Bytes::new()).into_parts();
    parts.headers.insert("content-length", HeaderValue::from(len as u64));
    Response::from_parts(parts, Oversize { shared: shared.clone(), len, sent: 0 }.boxed())
}

#[allow(clippy::too_many_arguments)]
fn route(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &Bytes,
    too_large: bool,
    asked_version: Option<&str>,
) -> Response<RespBody> {
    if method == Method::OPTIONS {
        return preflight();
    }
    if too_large {
        return error_response(ApiError::new(
            413,
            INVALID_REQUEST_ERROR,
            "REQUEST_ENTITY_TOO_LARGE",
            format!("The request body exceeds the limit of {} bytes", shared.max_body),
        ));
    }
    if path == "/oauth2/authorize" {
        return match *method {
            Method::GET => authorize_page(shared, query),
            Method::POST => authorize_decision(shared, body),
            _ => method_not_allowed("GET, POST"),
        };
    }
    let renew = renew_client_id(path);
    if !KNOWN_PATHS.contains(&path) && renew.is_none() {
        return error_response(ApiError::new(
            404,
            INVALID_REQUEST_ERROR,
            "NOT_FOUND",
            format!("No endpoint at {path}"),
        ));
    }
    if method != Method::POST {
        return method_not_allowed("POST");
    }
    if let Some(v) = asked_version.filter(|v| !valid_version(v)) {
        return error_response(ApiError::new(
            400,
            INVALID_REQUEST_ERROR,
            "INVALID_SQUARE_VERSION_FORMAT",
            format!("Square-Version `{v}` is not of the form YYYY-MM-DD"),
        ));
    }
    let authorization = header(headers, "authorization");
    if path == "/oauth2/token/status" {
        // No body: nothing to check but the bearer token.
        let st = lock(&shared.state);
        let now = SystemTime::now() + st.offset;
        return match st.token_status(authorization, now) {
            Ok(v) => json_response(200, &v),
            Err(e) => error_response(e),
        };
    }
    if !is_json(headers) {
        return error_response(ApiError::new(
            400,
            INVALID_REQUEST_ERROR,
            "INVALID_CONTENT_TYPE",
            "The Content-Type must be application/json",
        ));
    }
    let object = match state::json_object(body) {
        Ok(o) => o,
        Err(e) => return error_response(e),
    };
    let result = {
        let mut st = lock(&shared.state);
        let now = SystemTime::now() + st.offset;
        match (path, renew) {
            (_, Some(client_id)) => st.renew(client_id, authorization, &object, now),
            ("/oauth2/token", _) => st.obtain_token(&object, now),
            _ => st.revoke(authorization, &object, now).map(|(v, rev)| {
                if let Some(rev) = rev {
                    fire_webhook(shared, rev);
                }
                v
            }),
        }
    };
    match result {
        Ok(v) => json_response(200, &v),
        Err(e) => error_response(e),
    }
}

/// The answer to a CORS preflight.
fn preflight() -> Response<RespBody> {
    let mut r = respond(204, None, Bytes::new());
    let h = r.headers_mut();
    h.insert("access-control-allow-methods", HeaderValue::from_static("GET, POST, OPTIONS"));
    h.insert("access-control-allow-headers", HeaderValue::from_static("content-type, authorization, square-version"));
    h.insert("access-control-max-age", HeaderValue::from_static("600"));
    r
}

fn method_not_allowed(allow: &'static str) -> Response<RespBody> {
    let mut r = error_response(ApiError::new(
        405,
        INVALID_REQUEST_ERROR,
        "METHOD_NOT_ALLOWED",
        format!("Allowed methods: {allow}"),
    ));
    r.headers_mut().insert("allow", HeaderValue::from_static(allow));
    r
}

fn authorize_page(shared: &Arc<Shared>, query: &str) -> Response<RespBody> {
    let st = lock(&shared.state);
    match st.parse_authorize(query) {
        Ok(req) => {
            let page = consent::consent_page(&req, query, &req.client_id, &st.sellers);
            html_response(200, page)
        }
        Err(e) => html_response(400, consent::error_page(&e.to_string())),
    }
}

/// The consent form's POST: re-validates the original query, then redirects like Square.
fn authorize_decision(shared: &Arc<Shared>, body: &Bytes) -> Response<RespBody> {
    let mut query = None;
    let mut merchant = None;
    let mut decision = None;
    for (k, v) in form_urlencoded::parse(body) {
        match &*k {
            "query" => query = Some(v.into_owned()),
            "merchant_id" => merchant = Some(v.into_owned()),
            "decision" => decision = Some(v.into_owned()),
            _ => {}
        }
    }
    let Some(query) = query else {
        return html_response(400, consent::error_page("The consent form is missing `query`"));
    };
    let result = match decision.as_deref() {
        Some("allow") => {
            let mut st = lock(&shared.state);
            let now = SystemTime::now() + st.offset;
            st.parse_authorize(&query).and_then(|req| st.approve(&req, merchant.as_deref(), now))
        }
        Some("deny") => lock(&shared.state).parse_authorize(&query).map(|req| deny_url(&req)),
        _ => Err(MockError::InvalidAuthorizeUrl("the consent form's `decision` must be allow or deny".to_owned())),
    };
    match result {
        Ok(location) => redirect(&location),
        Err(e) => html_response(400, consent::error_page(&e.to_string())),
    }
}

/// Where the browser goes when the seller presses Deny.
pub(crate) fn deny_url(req: &state::AuthorizeRequest) -> String {
    let mut params = vec![("error", "access_denied"), ("error_description", "user_denied")];
    if let Some(s) = &req.state {
        params.push(("state", s));
    }
    state::redirect_with(&req.redirect_to, &params)
}

/// How long a webhook receiver has to answer.
const DELIVERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn fire_webhook(shared: &Arc<Shared>, rev: Revocation) {
    let targets = webhook_targets(shared, &rev.client_id);
    if targets.is_empty() {
        return;
    }
    let (_, body) = revocation_event(&rev);
    // Delivery failures are the receiving test's to notice; the fake carries on.
    tokio::spawn(deliver(targets, body));
}

/// Adds (or re-keys) a webhook subscription of `client_id`.
pub(crate) fn subscribe(shared: &Shared, client_id: &str, url: &str, key: &str) -> Result<(), MockError> {
    if lock(&shared.state).app(client_id).is_none() {
        return Err(MockError::UnknownClient(client_id.to_owned()));
    }
    let uri: hyper::Uri = url.parse().map_err(|_| MockError::InvalidSubscription(format!("`{url}` is not a URL")))?;
    if uri.scheme_str() != Some("http") || uri.host().is_none_or(str::is_empty) {
        return Err(MockError::InvalidSubscription(format!("`{url}` is not a plain http:// URL")));
    }
    if key.is_empty() {
        return Err(MockError::InvalidSubscription("the signature key is empty".to_owned()));
    }
    let mut subscriptions = lock(&shared.subscriptions);
    subscriptions.retain(|(app, known, _)| !(app == client_id && known == url));
    subscriptions.push((client_id.to_owned(), url.to_owned(), key.to_owned()));
    Ok(())
}

/// Where a revocation of `client_id`'s grant is sent: its subscriptions, then the catch-all
/// [`MockSquare::webhook`](crate::MockSquare::webhook) URL; (URL, key) each.
pub(crate) fn webhook_targets(shared: &Shared, client_id: &str) -> Vec<(String, String)> {
    let mut targets: Vec<(String, String)> = lock(&shared.subscriptions)
        .iter()
        .filter(|(app, _, _)| app == client_id)
        .map(|(_, url, key)| (url.clone(), key.clone()))
        .collect();
    targets.extend(lock(&shared.webhook).clone());
    targets
}

/// The `oauth.authorization.revoked` event for a revocation: its event id and its JSON body.
pub(crate) fn revocation_event(rev: &Revocation) -> (String, String) {
    let event_id = util::new_uuid();
    let event = json!({
        "merchant_id": rev.merchant_id,
        "type": "oauth.authorization.revoked",
        "event_id": event_id,
        // The event is made when the revocation is, on the fake's clock (which tests move):
        // the real clock would date it before a grant a test made "days later".
        "created_at": util::rfc3339_nanos(rev.revoked_at),
        "data": {
            "type": "revocation",
            "id": util::new_uuid(),
            "object": {"revocation": {
                "revoked_at": util::rfc3339_nanos(rev.revoked_at),
                "revoker_type": rev.revoker_type,
            }},
        },
    });
    (event_id, event.to_string())
}

/// Sends `body` to every target at once, each signed with its own key; what each answered.
pub(crate) async fn deliver(targets: Vec<(String, String)>, body: String) -> Vec<crate::WebhookDelivery> {
    let sends = targets.into_iter().map(|(url, key)| {
        let body = body.clone();
        tokio::spawn(async move {
            let outcome = match tokio::time::timeout(DELIVERY_TIMEOUT, send_webhook(&url, &key, body)).await {
                Ok(Ok(status)) => Ok(status),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no answer within {} s", DELIVERY_TIMEOUT.as_secs())),
            };
            crate::WebhookDelivery { notification_url: url, outcome }
        })
    });
    let mut deliveries = Vec::new();
    for send in sends.collect::<Vec<_>>() {
        if let Ok(delivery) = send.await {
            deliveries.push(delivery);
        }
    }
    deliveries
}

async fn send_webhook(url: &str, key: &str, body: String) -> io::Result<u16> {
    let other = |m: String| io::Error::other(m);
    let uri: hyper::Uri = url.parse().map_err(|e| other(format!("webhook URL {url}: {e}")))?;
    let authority = match (uri.scheme_str(), uri.authority()) {
        (Some("http"), Some(authority)) => authority.as_str(),
        _ => return Err(other(format!("webhook URL must be plain http: {url}"))),
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
    let target = match uri.port_u16() {
        Some(_) => authority.to_owned(),
        None => format!("{authority}:80"),
    };
    let stream = tokio::net::TcpStream::connect(&target).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| other(e.to_string()))?;
    tokio::spawn(conn);
    let signature = util::webhook_signature(key, url, body.as_bytes());
    let req = Request::post(path)
        .header("host", authority)
        .header("content-type", "application/json")
        .header("user-agent", "Square Connect v2")
        .header("x-square-hmacsha256-signature", signature)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| other(e.to_string()))?;
    let resp = sender.send_request(req).await.map_err(|e| other(e.to_string()))?;
    let status = resp.status().as_u16();
    let _ = resp.into_body().collect().await;
    Ok(status)
}

/// Serves one accepted connection (plain or TLS) until the client closes it.
async fn serve_connection<I>(io: I, shared: Arc<Shared>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| handle(shared.clone(), req));
    // Errors here are the client's or a scripted fault's; either way the connection is over.
    let _ =
        hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(io), service).await;
}

/// Accepts until `shutdown` fires.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            a = listener.accept() => a,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        match &tls {
            None => {
                tokio::spawn(serve_connection(stream, shared));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(tls_stream) = acceptor.accept(stream).await {
                        serve_connection(tls_stream, shared).await;
                    }
                });
            }
        }
    }
}
