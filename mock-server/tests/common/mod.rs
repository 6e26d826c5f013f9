//! The harness every test file shares: a started fake, a plain HTTP client (ureq, not the
//! core crate), Square's schemas from the repository's `spec/`, and small protocol helpers.
#![allow(dead_code, unreachable_pub)]

use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use sha2::Digest as _;
use square_oauth_mock::{App, MockConfig, MockSquare};

pub const CLIENT_ID: &str = "sq0idp-TestApplication01";
pub const SECRET: &str = "sq0csp-TestSecret-0123456789";
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub const REDIRECT_2: &str = "http://127.0.0.1:9/other?x=1";
pub const OTHER_CLIENT: &str = "sq0idp-OtherApplication2";
pub const OTHER_SECRET: &str = "sq0csp-OtherSecret-98765";
pub const SELLER: &str = "MLR0X4N3A6XK9";
pub const SELLER_2: &str = "ZZ3NPB7WQ1D2A";
/// RFC 7636 appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub fn config() -> MockConfig {
    MockConfig::new()
        .app(App::new(CLIENT_ID, SECRET, &[REDIRECT, REDIRECT_2]))
        .app(App::new(OTHER_CLIENT, OTHER_SECRET, &["http://127.0.0.1:9/other-app"]))
        .seller(SELLER)
        .seller(SELLER_2)
}

pub fn start() -> MockSquare {
    MockSquare::start(config()).expect("the fake starts")
}

/// What came back over the wire.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The single error's (category, code).
    pub fn error(&self) -> (String, String) {
        let v = self.json();
        let e = &v["errors"][0];
        (e["category"].as_str().unwrap_or_default().to_owned(), e["code"].as_str().unwrap_or_default().to_owned())
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut r = r.expect("the request reaches the fake");
    let headers =
        r.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect();
    Answer {
        status: r.status().as_u16(),
        headers,
        body: r.body_mut().with_config().limit(16 * 1024 * 1024).read_to_string().expect("a readable body"),
    }
}

/// Every JSON answer is checked against Square's schema for the endpoint that gave it, so no
/// test can pass on an answer a real client would choke on. (Only a scripted `Oversize` body
/// is exempt: it is out of spec on purpose.)
fn validated(path: &str, a: Answer) -> Answer {
    let is_json = a.header("content-type").is_some_and(|ct| ct.starts_with("application/json"));
    if !is_json || a.body.len() > 64 * 1024 {
        return a;
    }
    let v: Value = serde_json::from_str(&a.body)
        .unwrap_or_else(|e| panic!("{path}: JSON content type, body not JSON ({e}): {:?}", a.body));
    let is_legacy = v.get("message").is_some() && v.get("type").is_some();
    if is_legacy {
        assert_eq!(a.status, 400, "the legacy shape comes with 400");
        assert_eq!(v.as_object().map(|o| o.len()), Some(2), "{v}");
    } else if path == "/oauth2/token" {
        assert_schema("ObtainTokenResponse", &v);
    } else if path == "/oauth2/revoke" {
        assert_schema("RevokeTokenResponse", &v);
    } else if path == "/oauth2/token/status" {
        assert_schema("RetrieveTokenStatusResponse", &v);
    } else if path.ends_with("/access-token/renew") {
        assert_schema_2024("RenewTokenResponse", &v);
    }
    if !is_legacy {
        // Failures always carry a non-empty `errors` of valid `Error`s; successes none.
        let errors = v.get("errors").and_then(Value::as_array);
        if a.status >= 400 {
            let errors = errors.unwrap_or_else(|| panic!("{path}: {} without errors: {v}", a.status));
            assert!(!errors.is_empty(), "{v}");
            for e in errors {
                assert_schema("Error", e);
            }
        } else {
            assert!(errors.is_none(), "{path}: 2xx with errors: {v}");
        }
    }
    a
}

/// POST `body` as JSON with optional extra headers.
pub fn post_json(base: &str, path: &str, body: &Value, headers: &[(&str, &str)]) -> Answer {
    post_raw(base, path, &body.to_string(), "application/json", headers)
}

pub fn post_raw(base: &str, path: &str, body: &str, content_type: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = agent().post(format!("{base}{path}")).header("content-type", content_type);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    validated(path, answer(req.send(body)))
}

pub fn post_empty(base: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = agent().post(format!("{base}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    validated(path, answer(req.send_empty()))
}

pub fn get(url: &str) -> Answer {
    let path = url.split("://").nth(1).and_then(|r| r.find('/').map(|i| &r[i..])).unwrap_or("/");
    let path = path.split('?').next().unwrap_or(path).to_owned();
    validated(&path, answer(agent().get(url).call()))
}

pub fn post_form(base: &str, path: &str, fields: &[(&str, &str)]) -> Answer {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        ser.append_pair(k, v);
    }
    post_raw(base, path, &ser.finish(), "application/x-www-form-urlencoded", &[])
}

// ---- Square's schemas ---------------------------------------------------------------------

fn spec(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the specification is JSON")
}

fn spec_2025() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| spec("square-oauth-openapi-2025-08-20.json"))
}

fn spec_2024() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| spec("square-oauth-swagger-2024-03-20.json"))
}

fn check(schema: Value, name: &str, instance: &Value) {
    let validator = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("schema {name} compiles: {e}"));
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{instance} does not match {name}: {errors:?}");
}

/// Validates against `#/components/schemas/{name}` of the 2025-08-20 OpenAPI specification.
pub fn assert_schema(name: &str, instance: &Value) {
    let schema = serde_json::json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": spec_2025()["components"].clone(),
    });
    check(schema, name, instance);
}

/// Validates against `#/definitions/{name}` of the 2024-03-20 Swagger specification.
pub fn assert_schema_2024(name: &str, instance: &Value) {
    let schema = serde_json::json!({
        "$ref": format!("#/definitions/{name}"),
        "definitions": spec_2024()["definitions"].clone(),
    });
    check(schema, name, instance);
}

/// An error answer: the status, Square's `errors` shape (schema-checked), the category and code.
pub fn assert_error(a: &Answer, status: u16, category: &str, code: &str) {
    assert_eq!(a.status, status, "status of {:?}", a.body);
    let v = a.json();
    assert_schema("RevokeTokenResponse", &v); // any response schema: `errors` items are `Error`
    let errors = v["errors"].as_array().expect("an errors array");
    assert_eq!(errors.len(), 1, "{v}");
    for e in errors {
        assert_schema("Error", e);
    }
    assert_eq!(a.error(), (category.to_owned(), code.to_owned()), "{v}");
}

// ---- protocol helpers ---------------------------------------------------------------------

pub fn authorize_url(base: &str, extra: &[(&str, &str)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    ser.append_pair("client_id", CLIENT_ID);
    for (k, v) in extra {
        ser.append_pair(k, v);
    }
    format!("{base}/oauth2/authorize?{}", ser.finish())
}

/// The query parameters of a URL.
pub fn query_params(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

pub fn param(url: &str, name: &str) -> Option<String> {
    query_params(url).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// Approves a code-flow authorization for `scope` and returns the code.
pub fn code_flow_code(square: &MockSquare, scope: &str) -> String {
    let url = authorize_url(&square.base_url(), &[("scope", scope), ("state", "s1")]);
    let redirect = square.approve(&url, None).expect("approved");
    param(&redirect, "code").expect("a code")
}

/// Approves a PKCE authorization (challenge of [`VERIFIER`]) and returns the code.
pub fn pkce_code(square: &MockSquare, scope: &str) -> String {
    let url = authorize_url(
        &square.base_url(),
        &[("scope", scope), ("state", "s2"), ("code_challenge", CHALLENGE), ("code_challenge_method", "S256")],
    );
    let redirect = square.approve(&url, None).expect("approved");
    param(&redirect, "code").expect("a code")
}

pub fn exchange_code(base: &str, code: &str) -> Answer {
    post_json(
        base,
        "/oauth2/token",
        &serde_json::json!({"client_id": CLIENT_ID, "client_secret": SECRET, "code": code, "grant_type": "authorization_code"}),
        &[],
    )
}

pub fn exchange_pkce(base: &str, code: &str, verifier: &str) -> Answer {
    post_json(
        base,
        "/oauth2/token",
        &serde_json::json!({"client_id": CLIENT_ID, "code": code, "code_verifier": verifier, "grant_type": "authorization_code"}),
        &[],
    )
}

pub fn refresh(base: &str, refresh_token: &str, secret: Option<&str>) -> Answer {
    let mut body =
        serde_json::json!({"client_id": CLIENT_ID, "refresh_token": refresh_token, "grant_type": "refresh_token"});
    if let Some(s) = secret {
        body["client_secret"] = Value::from(s);
    }
    post_json(base, "/oauth2/token", &body, &[])
}

/// A successful ObtainToken answer, schema-checked; returns its JSON.
pub fn token_ok(a: &Answer) -> Value {
    assert_eq!(a.status, 200, "{}", a.body);
    let v = a.json();
    assert_schema("ObtainTokenResponse", &v);
    assert!(v.get("errors").is_none(), "{v}");
    v
}

pub fn status_of(base: &str, token: &str) -> Answer {
    post_empty(base, "/oauth2/token/status", &[("authorization", &format!("Bearer {token}"))])
}

/// Parses Square's `expires_at` (`YYYY-MM-DDTHH:MM:SSZ`) into seconds since the epoch.
pub fn epoch_secs(ts: &str) -> u64 {
    let b = ts.as_bytes();
    assert!(ts.len() == 20 && b[10] == b'T' && ts.ends_with('Z'), "timestamp {ts}");
    let n = |r: std::ops::Range<usize>| ts[r].parse::<i64>().expect("digits");
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from civil (Howard Hinnant), independent of the fake's own formatting code path.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)) as u64
}

pub fn fake_now_secs(square: &MockSquare) -> u64 {
    square.now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs()
}

/// base64url(SHA-256(verifier)), computed here rather than by the fake.
pub fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

pub const DAY: Duration = Duration::from_secs(86_400);
