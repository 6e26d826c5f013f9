//! The test-only control API: what [`MockSquare`](crate::MockSquare)'s methods do, over HTTP,
//! for tests that cannot hold the handle (WebAssembly tests in Node or a browser, tests in
//! another language, a shell script).
//!
//! Off unless [`MockConfig::control`](crate::MockConfig::control) (or the binary's `--control`)
//! turns it on; when off, `/__mock/…` is an unknown path like any other. Control requests are
//! never faulted and never recorded, so they do not disturb what a test observes. Every answer
//! carries the same CORS headers as Square's endpoints, so a page on another origin can call it.
//!
//! | method and path | body | answer |
//! | --- | --- | --- |
//! | `POST /__mock/app` | `{"client_id", "client_secret", "redirect_urls": [..]}` | `{"client_id"}`: registers an application (or more redirect URLs for it) |
//! | `POST /__mock/approve` | `{"authorize_url", "merchant_id"?}` | `{"redirect_url"}`: what Allow does |
//! | `POST /__mock/deny` | `{"authorize_url"}` | `{"redirect_url"}`: what Deny does |
//! | `POST /__mock/fault` | `{"path", "kind", "times"?, …}` (see below) | `{"queued": times}` |
//! | `POST /__mock/clear-faults` | none | `{"cleared": n}`: drops every queued fault |
//! | `POST /__mock/advance` | `{"seconds"}` | `{"now"}`: the fake's clock after the move (RFC 3339) |
//! | `GET /__mock/now` | none | `{"now"}` |
//! | `GET /__mock/requests` | none | `[{"method","path","query","headers","body","at_ms","elapsed_ms"}]`: the request log, secrets included; `at_ms` is the arrival on the real clock (not the fake's), milliseconds since the Unix epoch; `elapsed_ms` the arrival on the monotonic clock, milliseconds (with a fraction) since the fake started, which is what a delay check subtracts |
//! | `POST /__mock/clear-requests` | none | `{"cleared": n}` |
//! | `POST /__mock/behaviour` | `{"specific_token_errors"?, "code_flow_refresh_grace"?, "refuse_repeated_revoke"?}` | the whole [`Behaviour`](crate::Behaviour) after the change; absent fields are left as they are |
//! | `POST /__mock/grants` | `{"client_id", "count", "pkce"?}` | `{"grants": [..]}`: ObtainToken's answers for `count` new sellers (at most 100 000) |
//! | `GET /__mock/stats` | none | `{"refused_reuses": n, "oversize_bytes_sent": n}`: refreshes refused for presenting a spent PKCE refresh token; bytes of `oversize` answers handed to the connection so far (a client that stops at its cap leaves most of the answer unsent) |
//! | `POST /__mock/webhook` | `{"client_id", "notification_url", "signature_key"}` | `{"client_id", "notification_url"}`: subscribes the URL to the application's revocations, as [`MockSquare::subscribe_webhook`](crate::MockSquare::subscribe_webhook) |
//! | `POST /__mock/seller-revokes` | `{"client_id", "merchant_id"}` | `{"merchant_id", "event_id", "deliveries": [{"notification_url", "status"} or {"notification_url", "error"}]}`: the seller removes the application; answers once every signed event is delivered, as [`MockSquare::seller_revokes`](crate::MockSquare::seller_revokes) |
//!
//! Fault kinds, as [`Fault`](crate::Fault): `{"kind":"status","status":429,"retry_after":"2"}`,
//! `{"kind":"delay","millis":500}`, `{"kind":"reset"}`, `{"kind":"truncate"}`,
//! `{"kind":"html502"}`, `{"kind":"redirect","location":"http://…"}`,
//! `{"kind":"oversize","bytes":2000000}`. `times` defaults to 1.
//!
//! A request the control API cannot use gets 400 with `{"error": "…"}`; an unknown control path
//! gets 404, a wrong method 405.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::server::{Shared, lock};
use crate::{Fault, util};

/// The prefix of every control path.
pub(crate) const PREFIX: &str = "/__mock/";

/// Answers one control request: (status, JSON body). Only `seller-revokes` waits (for its
/// webhook deliveries); every other action is done at once under the state's lock.
pub(crate) async fn answer(shared: &Arc<Shared>, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    if path.strip_prefix(PREFIX) == Some("seller-revokes") && method == "POST" {
        return match parsed(body).and_then(|body| seller_revokes(shared, &body)) {
            Ok(revocation) => {
                let (event_id, event) = crate::server::revocation_event(&revocation);
                let targets = crate::server::webhook_targets(shared, &revocation.client_id);
                let deliveries = crate::server::deliver(targets, event).await;
                let deliveries: Vec<Value> = deliveries
                    .into_iter()
                    .map(|d| match d.outcome {
                        Ok(status) => json!({"notification_url": d.notification_url, "status": status}),
                        Err(error) => json!({"notification_url": d.notification_url, "error": error}),
                    })
                    .collect();
                (200, json!({"merchant_id": revocation.merchant_id, "event_id": event_id, "deliveries": deliveries}))
            }
            Err(message) => (400, json!({"error": message})),
        };
    }
    handle(shared, method, path, body)
}

fn parsed(body: &[u8]) -> Result<Value, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| "the body must be a JSON object".to_owned())
}

fn handle(shared: &Shared, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let name = path.strip_prefix(PREFIX).unwrap_or_default();
    let expected = match name {
        "now" | "requests" | "stats" => "GET",
        "app" | "approve" | "deny" | "fault" | "clear-faults" | "advance" | "clear-requests" | "behaviour"
        | "grants" | "webhook" | "seller-revokes" => "POST",
        _ => return (404, json!({"error": format!("no control endpoint at {path}")})),
    };
    if method != expected {
        return (405, json!({"error": format!("{path} takes {expected}")}));
    }
    let result = parsed(body).and_then(|body| match name {
        "app" => register_app(shared, &body),
        "approve" => approve(shared, &body),
        "deny" => deny(shared, &body),
        "fault" => fault(shared, &body),
        "clear-faults" => {
            let mut faults = lock(&shared.faults);
            let cleared: usize = faults.values().map(std::collections::VecDeque::len).sum();
            faults.clear();
            Ok(json!({"cleared": cleared}))
        }
        "advance" => advance(shared, &body),
        "behaviour" => behaviour(shared, &body),
        "now" => Ok(json!({"now": util::rfc3339(shared.now())})),
        "requests" => Ok(requests(shared)),
        "grants" => grants(shared, &body),
        "stats" => Ok(json!({
            "refused_reuses": lock(&shared.state).refused_reuses,
            "oversize_bytes_sent": shared.oversize_sent.load(std::sync::atomic::Ordering::Relaxed),
        })),
        "webhook" => subscribe(shared, &body),
        _ => {
            let mut log = lock(&shared.log);
            let cleared = log.len();
            log.clear();
            Ok(json!({"cleared": cleared}))
        }
    });
    match result {
        Ok(value) => (200, value),
        Err(message) => (400, json!({"error": message})),
    }
}

fn text<'a>(body: &'a Value, field: &str) -> Result<&'a str, String> {
    body.get(field).and_then(Value::as_str).ok_or_else(|| format!("`{field}` must be a string"))
}

fn number(body: &Value, field: &str) -> Result<u64, String> {
    body.get(field).and_then(Value::as_u64).ok_or_else(|| format!("`{field}` must be a non-negative integer"))
}

/// Registers an application at run time, for a test that learns its redirect URL only after the
/// fake has started (a page served on an ephemeral port). The same `client_id` again adds
/// redirect URLs, if the secret is the same.
fn register_app(shared: &Shared, body: &Value) -> Result<Value, String> {
    let client_id = text(body, "client_id")?;
    let client_secret = text(body, "client_secret")?;
    let urls = body.get("redirect_urls").and_then(Value::as_array).filter(|urls| !urls.is_empty());
    let urls = urls.ok_or_else(|| "`redirect_urls` must be a non-empty array of strings".to_owned())?;
    let urls: Vec<&str> = urls.iter().filter_map(Value::as_str).filter(|url| !url.is_empty()).collect();
    if urls.len() != body["redirect_urls"].as_array().map_or(0, Vec::len) {
        return Err("`redirect_urls` must be a non-empty array of strings".to_owned());
    }
    if client_id.is_empty() || client_secret.is_empty() {
        return Err("`client_id` and `client_secret` must not be empty".to_owned());
    }
    let mut st = lock(&shared.state);
    match st.apps.iter_mut().find(|app| app.client_id == client_id) {
        Some(app) if app.client_secret != client_secret => {
            return Err(format!("application `{client_id}` is registered with another secret"));
        }
        Some(app) => {
            for url in urls {
                if !app.redirect_urls.iter().any(|known| known == url) {
                    app.redirect_urls.push(url.to_owned());
                }
            }
        }
        None => st.apps.push(crate::App::new(client_id, client_secret, &urls)),
    }
    Ok(json!({"client_id": client_id}))
}

fn approve(shared: &Shared, body: &Value) -> Result<Value, String> {
    let url = text(body, "authorize_url")?;
    let merchant = match body.get("merchant_id") {
        None | Some(Value::Null) => None,
        Some(_) => Some(text(body, "merchant_id")?),
    };
    let query = crate::query_of(url).map_err(|e| e.to_string())?;
    let mut st = lock(&shared.state);
    let now = SystemTime::now() + st.offset;
    let request = st.parse_authorize(&query).map_err(|e| e.to_string())?;
    let redirect = st.approve(&request, merchant, now).map_err(|e| e.to_string())?;
    Ok(json!({"redirect_url": redirect}))
}

fn deny(shared: &Shared, body: &Value) -> Result<Value, String> {
    let query = crate::query_of(text(body, "authorize_url")?).map_err(|e| e.to_string())?;
    let request = lock(&shared.state).parse_authorize(&query).map_err(|e| e.to_string())?;
    Ok(json!({"redirect_url": crate::server::deny_url(&request)}))
}

/// Reads a fault from its JSON form (see the module's table).
fn parse_fault(body: &Value) -> Result<Fault, String> {
    Ok(match text(body, "kind")? {
        "status" => {
            let status = number(body, "status")?;
            let status = u16::try_from(status).ok().filter(|s| (100..=599).contains(s));
            let status = status.ok_or_else(|| "`status` must be an HTTP status (100-599)".to_owned())?;
            let retry_after = match body.get("retry_after") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(_) => Some(text(body, "retry_after")?.to_owned()),
            };
            Fault::Status { status, retry_after }
        }
        "delay" => Fault::Delay(Duration::from_millis(number(body, "millis")?)),
        "reset" => Fault::Reset,
        "truncate" => Fault::Truncate,
        "html502" => Fault::Html502,
        "redirect" => Fault::Redirect(text(body, "location")?.to_owned()),
        "oversize" => {
            Fault::Oversize(usize::try_from(number(body, "bytes")?).map_err(|_| "`bytes` is too large".to_owned())?)
        }
        other => {
            return Err(format!(
                "unknown fault kind `{other}` (status, delay, reset, truncate, html502, redirect, oversize)"
            ));
        }
    })
}

fn fault(shared: &Shared, body: &Value) -> Result<Value, String> {
    let path = text(body, "path")?;
    if !path.starts_with('/') {
        return Err("`path` must start with `/`".to_owned());
    }
    let times = match body.get("times") {
        None | Some(Value::Null) => 1,
        Some(_) => usize::try_from(number(body, "times")?).map_err(|_| "`times` is too large".to_owned())?,
    };
    let fault = parse_fault(body)?;
    crate::queue_fault(shared, path, fault, times);
    Ok(json!({"queued": times}))
}

fn grants(shared: &Shared, body: &Value) -> Result<Value, String> {
    let client_id = text(body, "client_id")?;
    let count = number(body, "count")?;
    if count > 100_000 {
        return Err("`count` is at most 100000".to_owned());
    }
    let pkce = match body.get("pkce") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(pkce)) => *pkce,
        Some(_) => return Err("`pkce` must be a boolean".to_owned()),
    };
    let mut st = lock(&shared.state);
    let now = SystemTime::now() + st.offset;
    let grants = (0..count).map(|_| st.mint_grant(client_id, pkce, now)).collect::<Result<Vec<_>, _>>();
    Ok(json!({"grants": grants.map_err(|e| e.to_string())?}))
}

fn subscribe(shared: &Shared, body: &Value) -> Result<Value, String> {
    let client_id = text(body, "client_id")?;
    let url = text(body, "notification_url")?;
    crate::server::subscribe(shared, client_id, url, text(body, "signature_key")?).map_err(|e| e.to_string())?;
    Ok(json!({"client_id": client_id, "notification_url": url}))
}

/// Revokes the seller's grant of the application in the state; the caller delivers the event.
fn seller_revokes(shared: &Shared, body: &Value) -> Result<crate::state::Revocation, String> {
    let client_id = text(body, "client_id")?;
    let merchant_id = text(body, "merchant_id")?;
    let mut st = lock(&shared.state);
    let now = SystemTime::now() + st.offset;
    st.seller_revokes(client_id, merchant_id, now).map_err(|e| e.to_string())
}

fn advance(shared: &Shared, body: &Value) -> Result<Value, String> {
    let seconds = number(body, "seconds")?;
    lock(&shared.state).offset += Duration::from_secs(seconds);
    Ok(json!({"now": util::rfc3339(shared.now())}))
}

fn requests(shared: &Shared) -> Value {
    let log = lock(&shared.log);
    Value::Array(
        log.iter()
            .map(|r| {
                json!({
                    "method": r.method,
                    "path": r.path,
                    "query": r.query,
                    "headers": r.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                    "body": String::from_utf8_lossy(&r.body),
                    "at_ms": r.at.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis()),
                    "elapsed_ms": r.arrived.duration_since(shared.started).as_secs_f64() * 1000.0,
                })
            })
            .collect(),
    )
}

/// `POST /__mock/behaviour`: switches the named behaviours, leaves the others.
fn behaviour(shared: &Shared, body: &Value) -> Result<Value, String> {
    let mut state = lock(&shared.state);
    let mut next = state.behaviour;
    for (name, value) in body.as_object().into_iter().flatten() {
        let flag = match name.as_str() {
            "specific_token_errors" => &mut next.specific_token_errors,
            "code_flow_refresh_grace" => &mut next.code_flow_refresh_grace,
            "refuse_repeated_revoke" => &mut next.refuse_repeated_revoke,
            other => return Err(format!("unknown behaviour `{other}`")),
        };
        *flag = value.as_bool().ok_or_else(|| format!("`{name}` must be a boolean"))?;
    }
    state.behaviour = next;
    Ok(json!({
        "specific_token_errors": next.specific_token_errors,
        "code_flow_refresh_grace": next.code_flow_refresh_grace,
        "refuse_repeated_revoke": next.refuse_repeated_revoke,
    }))
}
