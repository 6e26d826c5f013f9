//! The test-only control API (`MockConfig::control`, `--control`): each endpoint does what the
//! handle's method does, is off by default, answers CORS, and stays out of faults and the log.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use common::*;
use serde_json::{Value, json};
use square_oauth_mock::{Cors, MockSquare};

/// A control call's answer: never schema-checked (it is not Square's), so sent here directly.
fn control(base: &str, method: &str, path: &str, body: Option<&Value>) -> Answer {
    let url = format!("{base}{path}");
    let result = match (method, body) {
        ("GET", _) => agent().get(&url).header("origin", "http://127.0.0.1:9").call(),
        (_, Some(body)) => agent()
            .post(&url)
            .header("origin", "http://127.0.0.1:9")
            .header("content-type", "application/json")
            .send(body.to_string()),
        (_, None) => agent().post(&url).header("origin", "http://127.0.0.1:9").send_empty(),
    };
    let mut r = result.expect("the control request reaches the fake");
    let headers =
        r.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect();
    Answer { status: r.status().as_u16(), headers, body: r.body_mut().read_to_string().expect("a readable body") }
}

fn start_with_control() -> MockSquare {
    // The origin the control calls below send: a page on another origin, as in the wasm tests.
    MockSquare::start(config().control(true).cors(Cors::default().allow_origin("http://127.0.0.1:9")))
        .expect("the fake starts")
}

fn pkce_authorize(base: &str) -> String {
    authorize_url(
        base,
        &[
            ("scope", "PAYMENTS_READ"),
            ("state", "st"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
}

#[test]
fn off_by_default_control_paths_are_unknown() {
    let square = start();
    let a = control(&square.base_url(), "POST", "/__mock/advance", Some(&json!({"seconds": 60})));
    assert_eq!(a.status, 404);
    assert_eq!(a.error(), ("INVALID_REQUEST_ERROR".to_owned(), "NOT_FOUND".to_owned()));
    assert_eq!(control(&square.base_url(), "GET", "/__mock/now", None).status, 404);
}

#[test]
fn approve_gives_a_redirect_whose_code_exchanges() {
    let square = start_with_control();
    let base = square.base_url();
    let a = control(
        &base,
        "POST",
        "/__mock/approve",
        Some(&json!({"authorize_url": pkce_authorize(&base), "merchant_id": SELLER_2})),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let redirect = a.json()["redirect_url"].as_str().expect("redirect_url").to_owned();
    assert!(redirect.starts_with(REDIRECT), "{redirect}");
    assert_eq!(param(&redirect, "state").as_deref(), Some("st"));
    let code = param(&redirect, "code").expect("a code");
    let token = token_ok(&exchange_pkce(&base, &code, VERIFIER));
    assert_eq!(token["merchant_id"], SELLER_2);
}

#[test]
fn approve_refuses_what_the_consent_page_refuses() {
    let square = start_with_control();
    let base = square.base_url();
    let bad = format!("{base}/oauth2/authorize?client_id=sq0idp-nobody&state=s");
    let a = control(&base, "POST", "/__mock/approve", Some(&json!({"authorize_url": bad})));
    assert_eq!(a.status, 400);
    assert!(a.json()["error"].as_str().unwrap().contains("unknown client_id"), "{}", a.body);
    let a = control(&base, "POST", "/__mock/approve", Some(&json!({"url": "x"})));
    assert_eq!(a.status, 400);
    assert!(a.body.contains("authorize_url"), "{}", a.body);
    let a = control(&base, "POST", "/__mock/approve", Some(&json!([1, 2])));
    assert_eq!(a.status, 400);
    let a = control(
        &base,
        "POST",
        "/__mock/approve",
        Some(&json!({"authorize_url": pkce_authorize(&base), "merchant_id": "NOBODY"})),
    );
    assert_eq!(a.status, 400);
    assert!(a.body.contains("unknown merchant"), "{}", a.body);
}

#[test]
fn app_registers_an_application_at_run_time() {
    let square = start_with_control();
    let base = square.base_url();
    let app = json!({"client_id": "sq0idp-Late", "client_secret": "sq0csp-late", "redirect_urls": ["http://127.0.0.1:9/late"]});
    let a = control(&base, "POST", "/__mock/app", Some(&app));
    assert_eq!(a.status, 200, "{}", a.body);
    // A second redirect URL for the same application; a different secret is refused.
    let more = json!({"client_id": "sq0idp-Late", "client_secret": "sq0csp-late", "redirect_urls": ["http://127.0.0.1:9/later"]});
    assert_eq!(control(&base, "POST", "/__mock/app", Some(&more)).status, 200);
    let clash =
        json!({"client_id": "sq0idp-Late", "client_secret": "other", "redirect_urls": ["http://127.0.0.1:9/x"]});
    assert_eq!(control(&base, "POST", "/__mock/app", Some(&clash)).status, 400);
    for bad in [
        json!({"client_id": "a", "client_secret": "b"}),
        json!({"client_id": "a", "client_secret": "b", "redirect_urls": [1]}),
    ] {
        assert_eq!(control(&base, "POST", "/__mock/app", Some(&bad)).status, 400, "{bad}");
    }
    let url = format!(
        "{base}/oauth2/authorize?client_id=sq0idp-Late&state=s&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Flater"
    );
    let redirect = square.approve(&url, None).expect("the late application is known");
    let code = param(&redirect, "code").unwrap();
    let a = post_json(
        &base,
        "/oauth2/token",
        &json!({"client_id": "sq0idp-Late", "client_secret": "sq0csp-late", "code": code,
                "grant_type": "authorization_code", "redirect_uri": "http://127.0.0.1:9/later"}),
        &[],
    );
    token_ok(&a);
}

#[test]
fn deny_gives_access_denied() {
    let square = start_with_control();
    let base = square.base_url();
    let a = control(&base, "POST", "/__mock/deny", Some(&json!({"authorize_url": pkce_authorize(&base)})));
    assert_eq!(a.status, 200, "{}", a.body);
    let redirect = a.json()["redirect_url"].as_str().unwrap().to_owned();
    assert_eq!(param(&redirect, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&redirect, "error_description").as_deref(), Some("user_denied"));
    assert_eq!(param(&redirect, "state").as_deref(), Some("st"));
}

#[test]
fn fault_queues_each_mode_for_its_path() {
    let square = start_with_control();
    let base = square.base_url();
    let a = control(
        &base,
        "POST",
        "/__mock/fault",
        Some(&json!({"path": "/oauth2/token/status", "kind": "status", "status": 429, "retry_after": "3", "times": 2})),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["queued"], 2);
    for _ in 0..2 {
        let a = status_of(&base, "EAAAx");
        assert_error(&a, 429, "RATE_LIMIT_ERROR", "RATE_LIMITED");
        assert_eq!(a.header("retry-after"), Some("3"));
    }
    assert_eq!(status_of(&base, "EAAAx").status, 401);

    // A numeric Retry-After is sent as its digits.
    control(
        &base,
        "POST",
        "/__mock/fault",
        Some(&json!({"path": "/oauth2/token/status", "kind": "status", "status": 503, "retry_after": 1})),
    );
    let a = status_of(&base, "EAAAx");
    assert_eq!((a.status, a.header("retry-after")), (503, Some("1")));

    control(&base, "POST", "/__mock/fault", Some(&json!({"path": "/oauth2/token/status", "kind": "html502"})));
    let a = status_of(&base, "EAAAx");
    assert_eq!(a.status, 502);
    assert!(a.header("content-type").unwrap().starts_with("text/html"));

    control(
        &base,
        "POST",
        "/__mock/fault",
        Some(&json!({"path": "/oauth2/token/status", "kind": "oversize", "bytes": 5000})),
    );
    let a = status_of(&base, "EAAAx");
    assert_eq!((a.status, a.body.len()), (200, 5000));

    control(
        &base,
        "POST",
        "/__mock/fault",
        Some(&json!({"path": "/oauth2/token/status", "kind": "redirect", "location": "http://127.0.0.1:9/x"})),
    );
    let a = status_of(&base, "EAAAx");
    assert_eq!((a.status, a.header("location")), (302, Some("http://127.0.0.1:9/x")));

    control(&base, "POST", "/__mock/fault", Some(&json!({"path": "/oauth2/token/status", "kind": "reset"})));
    let reset =
        agent().post(format!("{base}/oauth2/token/status")).header("authorization", "Bearer EAAAx").send_empty();
    assert!(reset.is_err(), "{reset:?}");

    control(
        &base,
        "POST",
        "/__mock/fault",
        Some(&json!({"path": "/oauth2/token/status", "kind": "delay", "millis": 1})),
    );
    assert_eq!(status_of(&base, "EAAAx").status, 401);

    // Truncate acts on the request, then cuts the answer short.
    let code = pkce_code(&square, "PAYMENTS_READ");
    control(&base, "POST", "/__mock/fault", Some(&json!({"path": "/oauth2/token", "kind": "truncate"})));
    let cut = agent().post(format!("{base}/oauth2/token")).header("content-type", "application/json").send(
        json!({"client_id": CLIENT_ID, "code": code, "code_verifier": VERIFIER, "grant_type": "authorization_code"})
            .to_string(),
    );
    let whole = cut.and_then(|mut r| r.body_mut().read_to_string());
    assert!(whole.is_err(), "{whole:?}");
}

#[test]
fn fault_refuses_what_it_cannot_use() {
    let square = start_with_control();
    let base = square.base_url();
    for (body, needle) in [
        (json!({"kind": "reset"}), "`path`"),
        (json!({"path": "oauth2/token", "kind": "reset"}), "start with"),
        (json!({"path": "/oauth2/token", "kind": "explode"}), "unknown fault kind"),
        (json!({"path": "/oauth2/token", "kind": "status", "status": 99}), "HTTP status"),
        (json!({"path": "/oauth2/token", "kind": "status"}), "`status`"),
        (json!({"path": "/oauth2/token", "kind": "delay", "millis": -1}), "`millis`"),
        (json!({"path": "/oauth2/token", "kind": "reset", "times": "2"}), "`times`"),
    ] {
        let a = control(&base, "POST", "/__mock/fault", Some(&body));
        assert_eq!(a.status, 400, "{body}: {}", a.body);
        assert!(a.json()["error"].as_str().unwrap().contains(needle), "{body}: {}", a.body);
    }
    // Nothing was queued by the refused calls.
    assert_eq!(status_of(&base, "EAAAx").status, 401);
}

#[test]
fn clear_faults_drops_every_queued_fault() {
    let square = start_with_control();
    let base = square.base_url();
    control(
        &base,
        "POST",
        "/__mock/fault",
        Some(&json!({"path": "/oauth2/token/status", "kind": "reset", "times": 3})),
    );
    control(&base, "POST", "/__mock/fault", Some(&json!({"path": "/oauth2/revoke", "kind": "html502"})));
    let a = control(&base, "POST", "/__mock/clear-faults", None);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["cleared"], 4);
    assert_eq!(status_of(&base, "EAAAx").status, 401);
}

#[test]
fn advance_moves_the_clock_tokens_follow() {
    let square = start_with_control();
    let base = square.base_url();
    let token = token_ok(&exchange_pkce(&base, &pkce_code(&square, "PAYMENTS_READ"), VERIFIER));
    let access = token["access_token"].as_str().unwrap();
    let before = fake_now_secs(&square);
    let a = control(&base, "POST", "/__mock/advance", Some(&json!({"seconds": 31 * 86_400})));
    assert_eq!(a.status, 200, "{}", a.body);
    let now = epoch_secs(a.json()["now"].as_str().unwrap());
    assert!(now >= before + 31 * 86_400, "{now} {before}");
    assert_eq!(epoch_secs(control(&base, "GET", "/__mock/now", None).json()["now"].as_str().unwrap()) / 60, now / 60);
    assert_error(&status_of(&base, access), 401, "AUTHENTICATION_ERROR", "UNAUTHORIZED");
    assert_eq!(control(&base, "POST", "/__mock/advance", Some(&json!({"seconds": "1"}))).status, 400);
}

#[test]
fn behaviour_switches_one_behaviour_at_a_time() {
    let square = start_with_control();
    let base = square.base_url();
    let a = control(&base, "POST", "/__mock/behaviour", Some(&json!({"specific_token_errors": true})));
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.json(),
        json!({"specific_token_errors": true, "code_flow_refresh_grace": false, "refuse_repeated_revoke": false})
    );
    assert!(square.behaviour().specific_token_errors);
    let b = control(&base, "POST", "/__mock/behaviour", Some(&json!({"refuse_repeated_revoke": true})));
    assert_eq!(b.json()["specific_token_errors"], true, "{}", b.body);
    assert_eq!(b.json()["refuse_repeated_revoke"], true, "{}", b.body);
    assert_eq!(control(&base, "POST", "/__mock/behaviour", Some(&json!({"nonsense": true}))).status, 400);
    assert_eq!(control(&base, "POST", "/__mock/behaviour", Some(&json!({"specific_token_errors": 1}))).status, 400);
}

#[test]
fn requests_lists_the_log_without_control_calls() {
    let square = start_with_control();
    let base = square.base_url();
    status_of(&base, "EAAAsentinel");
    control(&base, "POST", "/__mock/advance", Some(&json!({"seconds": 1})));
    let log = control(&base, "GET", "/__mock/requests", None).json();
    let log = log.as_array().expect("an array");
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["path"], "/oauth2/token/status");
    let authorization = log[0]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "authorization")
        .map(|h| h[1].as_str().unwrap().to_owned());
    assert_eq!(authorization.as_deref(), Some("Bearer EAAAsentinel"));
    assert_eq!(square.requests().len(), 1, "the handle's log holds no control call either");
    assert_eq!(control(&base, "POST", "/__mock/clear-requests", None).json()["cleared"], 1);
    assert_eq!(control(&base, "GET", "/__mock/requests", None).json(), json!([]));
}

#[test]
fn control_answers_cors_and_checks_methods() {
    let square = start_with_control();
    let base = square.base_url();
    let a = control(&base, "GET", "/__mock/now", None);
    assert_eq!(a.header("access-control-allow-origin"), Some("http://127.0.0.1:9"));
    assert_eq!(raw_preflight(&square), 204);
    assert!(square.requests().is_empty(), "a control preflight is not recorded");
    assert_eq!(control(&base, "GET", "/__mock/approve", None).status, 405);
    assert_eq!(control(&base, "POST", "/__mock/now", None).status, 405);
    assert_eq!(control(&base, "POST", "/__mock/nothing", None).status, 404);
}

fn raw_preflight(square: &MockSquare) -> u16 {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(square.addr()).unwrap();
    write!(
        stream,
        "OPTIONS /__mock/approve HTTP/1.1\r\nhost: 127.0.0.1\r\norigin: http://127.0.0.1:9\r\n\
         access-control-request-method: POST\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

// The binary exists only with the `cli` feature (a default one).
#[cfg(feature = "cli")]
#[test]
fn the_binary_offers_control_with_the_flag() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_square-oauth-mock"))
        .args(["--listen", "127.0.0.1:0", "--control", "--app", &format!("{CLIENT_ID}:{SECRET}:{REDIRECT}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().to_owned();
    let result = std::panic::catch_unwind(|| {
        let a = control(&base, "POST", "/__mock/approve", Some(&json!({"authorize_url": pkce_authorize(&base)})));
        assert_eq!(a.status, 200, "{}", a.body);
        let code = param(a.json()["redirect_url"].as_str().unwrap(), "code").unwrap();
        token_ok(&exchange_pkce(&base, &code, VERIFIER));
    });
    let _ = child.kill();
    let _ = child.wait();
    result.unwrap();
}
