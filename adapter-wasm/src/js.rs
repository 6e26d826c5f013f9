//! The JavaScript side: the global `fetch` and timers, one attempt with its timeout and cap.

use core::time::Duration;

use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, ReadableStreamDefaultReader, ReadableStreamReadResult, RequestInit, ResponseType};

use square_oauth::{Body, Failure, WipingBuffer};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`: the same binding in a page, a worker and Node, where `window` may not
    /// exist.
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &web_sys::Request) -> Promise;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, millis: i32) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// Milliseconds for `setTimeout`, rounded up and capped at its largest delay (about 24.8 days).
fn millis(duration: Duration) -> i32 {
    // Whole microseconds rounded up to milliseconds, in 64 bits: `as_micros()` is a `u128`,
    // whose arithmetic is a routine of its own in WebAssembly.
    let rounded =
        duration.as_secs().saturating_mul(1000).saturating_add(u64::from(duration.subsec_micros().div_ceil(1000)));
    i32::try_from(rounded).unwrap_or(i32::MAX)
}

/// Waits with `setTimeout`, whatever the global scope.
pub(crate) async fn sleep(duration: Duration) {
    let ms = millis(duration);
    // The promise only ever resolves.
    let _ = JsFuture::from(Promise::new(&mut |resolve, _| drop(set_timeout(&resolve, ms)))).await;
}

/// What the JavaScript runtime reported: `name: message`, then the cause if the runtime gives
/// one (Node: `ECONNREFUSED`, `unexpected redirect`, …; browsers give one message for every
/// network failure, the reason only in the developer console).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JsError {
    message: String,
}

type Failed = Failure<JsError>;

/// One attempt's hold on its `fetch`: a timer that aborts it (and its body stream) when it
/// fires, and, when the attempt ends however it ends, the timer cleared (so that it cannot keep
/// Node's event loop alive), the `fetch` aborted and the copy of the request body handed to it
/// wiped. An attempt whose future is dropped before the answer is read (the application's own
/// timeout, a `select`, a page that moves on) so stops its request rather than leaving it to
/// run, with Square's answer read into memory this crate never sees; aborting after the whole
/// answer is read does nothing.
struct Deadline {
    controller: AbortController,
    timer: Option<JsValue>,
    /// The request body as handed to `fetch` (which copied it when the request was made).
    body: Option<Uint8Array>,
}

impl Deadline {
    fn start(timeout: Option<Duration>) -> Result<Self, Failed> {
        let controller = AbortController::new().map_err(|e| Failure::Refused(transport(&e)))?;
        // `controller.abort` bound to its controller: a plain JavaScript function, so no Rust
        // closure has to outlive the attempt.
        let timer = timeout.and_then(|timeout| {
            let abort = js_sys::Reflect::get(&controller, &JsValue::from_str("abort")).ok()?;
            Some(set_timeout(&abort.dyn_into::<js_sys::Function>().ok()?.bind0(&controller), millis(timeout)))
        });
        Ok(Self { controller, timer, body: None })
    }

    /// What a rejected promise means: the timer fired, or the transport failed. JavaScript
    /// cannot say whether the request left, so either may have reached Square.
    fn failure(&self, error: &JsValue) -> Failed {
        let timed_out = self.controller.signal().aborted().then_some(Failure::TimedOut { may_have_reached: true });
        timed_out.unwrap_or_else(|| Failure::MaybeSent(transport(error)))
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.timer.iter().for_each(clear_timeout);
        self.controller.abort();
        if let Some(body) = &self.body {
            body.fill(0, 0, body.length());
        }
    }
}

/// The runtime's description of a rejection: `name: message`, then the cause Node gives
/// (`ECONNREFUSED`, `unexpected redirect`, …).
fn transport(error: &JsValue) -> JsError {
    let describe = |value: &JsValue| match value.dyn_ref::<js_sys::Error>() {
        Some(error) => format!("{}: {}", String::from(error.name()), String::from(error.message())),
        None => value.as_string().unwrap_or_else(|| "a non-Error value was thrown".to_owned()),
    };
    let field = |value: &JsValue, name: &str| {
        js_sys::Reflect::get(value, &JsValue::from_str(name)).ok().filter(|v| !v.is_undefined() && !v.is_null())
    };
    let message = match field(error, "cause") {
        Some(cause) => match field(&cause, "code").and_then(|code| code.as_string()) {
            Some(code) => format!("{} ({}, {code})", describe(error), describe(&cause)),
            None => format!("{} ({})", describe(error), describe(&cause)),
        },
        None => describe(error),
    };
    JsError { message }
}

/// The headers of Square's answer that the core reads; the rest are not copied.
const KEPT_HEADERS: [HeaderName; 3] = [CONTENT_TYPE, RETRY_AFTER, square_oauth::SQUARE_VERSION_HEADER];

/// One attempt: send, then read the answer up to `limit` bytes, all within `timeout`.
pub(crate) async fn attempt(
    request: &Request<Body>,
    timeout: Option<Duration>,
    limit: usize,
) -> Result<Response<WipingBuffer>, Failed> {
    let mut deadline = Deadline::start(timeout)?;
    let init = RequestInit::new();
    init.set_method(request.method().as_str());
    init.set_redirect(web_sys::RequestRedirect::Manual);
    init.set_credentials(web_sys::RequestCredentials::Omit);
    init.set_signal(Some(&deadline.controller.signal()));
    let headers = web_sys::Headers::new().map_err(|e| Failure::Refused(transport(&e)))?;
    for (name, value) in request.headers().iter().filter(|(name, _)| *name != http::header::USER_AGENT) {
        // The core only builds visible-ASCII headers.
        let Ok(value) = value.to_str() else { continue };
        headers.append(name.as_str(), value).map_err(|e| Failure::Refused(transport(&e)))?;
    }
    init.set_headers(&headers);
    let body = request.body().expose_secret();
    // Wiped by the deadline when the attempt ends, even when its future is dropped mid-flight.
    deadline.body = (!body.is_empty()).then(|| Uint8Array::from(body));
    if let Some(js_body) = &deadline.body {
        init.set_body(js_body);
    }
    send(request, &init, &deadline, limit).await
}

async fn send(
    request: &Request<Body>,
    init: &RequestInit,
    deadline: &Deadline,
    limit: usize,
) -> Result<Response<WipingBuffer>, Failed> {
    let js_request = web_sys::Request::new_with_str_and_init(&request.uri().to_string(), init)
        .map_err(|e| Failure::Refused(transport(&e)))?;
    let response = JsFuture::from(global_fetch(&js_request)).await.map_err(|e| deadline.failure(&e))?;
    let response: web_sys::Response = response.unchecked_into();
    // A browser gives an opaque redirect (status 0); Node gives the 3xx itself.
    let status = response.status();
    if response.type_() == ResponseType::Opaqueredirect {
        return Err(Failure::Redirect { status: None });
    }
    let impossible =
        |_| Failure::MaybeSent(JsError { message: format!("the runtime gave the impossible status {status}") });
    let status = StatusCode::from_u16(status).map_err(impossible)?;
    let js_headers = response.headers();
    let announced = js_headers.get("content-length").ok().flatten().and_then(|v| v.trim().parse::<u64>().ok());
    let body = read_capped(&response, announced, limit, deadline).await?;
    // Put together in place rather than through `Response::builder()`, whose every step
    // re-wraps a `Result`: the parts are already valid.
    let mut answer = Response::new(body);
    *answer.status_mut() = status;
    for name in KEPT_HEADERS {
        if let Ok(Some(value)) = js_headers.get(name.as_str())
            && let Ok(value) = HeaderValue::from_str(&value)
        {
            answer.headers_mut().insert(name, value);
        }
    }
    Ok(answer)
}

/// Reads the body into the core's wiping buffer, stopping as soon as it passes `limit` (before
/// reading anything when `Content-Length` already does).
async fn read_capped(
    response: &web_sys::Response,
    announced: Option<u64>,
    limit: usize,
    deadline: &Deadline,
) -> Result<WipingBuffer, Failed> {
    let Some(stream) = response.body() else {
        return Ok(WipingBuffer::with_capacity(0));
    };
    let Ok(mut buffer) = WipingBuffer::capped(limit, announced) else {
        let _ = stream.cancel();
        return Err(Failure::BodyTooLarge);
    };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| deadline.failure(&e))?;
        let chunk: ReadableStreamReadResult = chunk.unchecked_into();
        if chunk.get_done().unwrap_or(false) {
            return Ok(buffer);
        }
        let Some(data) = chunk.get_value().dyn_into::<Uint8Array>().ok() else { continue };
        let Ok(room) = buffer.push_zeroed(data.length() as usize) else {
            let _ = reader.cancel();
            return Err(Failure::BodyTooLarge);
        };
        data.copy_to(room);
        // The chunk is JavaScript's own buffer, handed to us alone: wipe it too.
        data.fill(0, 0, data.length());
    }
}
