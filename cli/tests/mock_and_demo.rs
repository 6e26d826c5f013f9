//! `square-oauth mock` (the fake in the foreground) and `square-oauth demo`.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;

/// Stops the fake's process when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_mock(extra: &[&str]) -> (Running, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_square-oauth"));
    for var in SQUARE_VARS {
        command.env_remove(var);
    }
    let mut child = command
        .args(["mock", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    (Running(child), first.trim().to_owned())
}

#[test]
fn mock_serves_a_login_through_its_consent_page() {
    let port = free_port();
    let app = format!("{CLIENT_ID}:{SENTINEL}:http://localhost:{port}/callback");
    let (mut running, base_url) = start_mock(&["--app", &app, "--seller", MERCHANT]);
    assert!(base_url.starts_with("http://127.0.0.1:"), "first line is the base URL: {base_url}");
    let stderr = running.0.stderr.take().unwrap();
    let mut first_lines = String::new();
    let mut reader = BufReader::new(stderr);
    reader.read_line(&mut first_lines).unwrap();
    assert!(first_lines.contains(CLIENT_ID) && !first_lines.contains(SENTINEL), "{first_lines}");

    let run = Cli::new()
        .args(["--base-url", &base_url, "login", "--client-id", CLIENT_ID, "--no-browser", "--wait", "60s"])
        .args(["--redirect-port", &port.to_string()])
        .run_with_browser(|url| {
            // A browser: load the consent page, press Allow (the form's POST), follow the 302.
            let agent: ureq::Agent =
                ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
            let page = agent.get(url).call().unwrap().body_mut().read_to_string().unwrap();
            assert!(page.contains("<form"), "{page}");
            let query = url.split_once('?').unwrap().1;
            let form = form_urlencoded::Serializer::new(String::new())
                .append_pair("query", query)
                .append_pair("decision", "allow")
                .finish();
            let answer = agent
                .post(format!("{base_url}/oauth2/authorize"))
                .header("content-type", "application/x-www-form-urlencoded")
                .send(form.as_bytes())
                .unwrap();
            assert_eq!(answer.status().as_u16(), 302);
            let location = answer.headers()["location"].to_str().unwrap().to_owned();
            assert_eq!(get(&location), 200);
        });
    run.code(0).leaks_none(&[SENTINEL]);
    assert_eq!(run.json()["merchant_id"], MERCHANT);
}

#[test]
fn mock_with_json_prints_its_address_as_json() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_square-oauth"));
    let child = command
        .args(["--json", "mock", "--listen", "127.0.0.1:0", "--app"])
        .arg(format!("{CLIENT_ID}:{SENTINEL}:https://app.example/cb"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let mut document = String::new();
    let mut reader = BufReader::new(running.0.stdout.take().unwrap());
    // One pretty document: it ends at the line that closes the top-level object.
    loop {
        let mut line = String::new();
        assert_ne!(reader.read_line(&mut line).unwrap(), 0, "stdout ended: {document}");
        document.push_str(&line);
        if line == "}\n" {
            break;
        }
    }
    let doc: serde_json::Value = serde_json::from_str(&document).unwrap();
    assert!(doc["base_url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    assert_eq!(doc["apps"][0]["client_id"], CLIENT_ID);
    assert_eq!(doc["apps"][0]["client_secret"], "sq0c…[masked]");
}

#[test]
fn mock_with_a_malformed_app_is_a_usage_error_that_hides_the_secret() {
    let run = Cli::new().args(["mock", "--listen", "127.0.0.1:0", "--app", &format!("{CLIENT_ID}:{SENTINEL}")]).run();
    run.code(2).leaks_none(&[SENTINEL]);
    assert!(run.stderr.contains("CLIENT_ID:SECRET:REDIRECT_URL"), "{}", run.stderr);
}

#[test]
fn mock_on_a_taken_port_fails_locally() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    Cli::new().args(["mock", "--listen", &addr]).run().code(1);
}

/// Every token in the text is masked (`EAAA…[masked]`), and no secret or code appears whole.
fn all_masked(text: &str) -> bool {
    let tokens_masked = ["EAAA", "EQAA"]
        .iter()
        .all(|prefix| text.match_indices(prefix).all(|(at, _)| text[at + prefix.len()..].starts_with("…[masked]")));
    tokens_masked && !text.contains("sq0csp-") && !text.contains("sq0cgb-")
}

#[test]
fn demo_walks_every_flow_and_masks_every_secret() {
    let run = Cli::new().arg("demo").run();
    run.code(0);
    let out = &run.stdout;
    for step in [
        "1. Build the authorize URL  →  http://127.0.0.1:",
        "The seller opens it, signs in and presses Allow",
        "Exchange the code for tokens",
        "POST http://127.0.0.1:",
        "/oauth2/token/status",
        "grant_type refresh_token, with the client secret",
        "code_challenge_method=S256",
        "Exchange the code with the verifier",
        "Try the old refresh token again",
        "received  400 Bad Request",
        "Refused (AUTHENTICATION_ERROR UNAUTHORIZED)",
        "authorization: Client sq0c…[masked]",
        "authorization: Bearer EAAA…[masked]",
        "Refused with UNAUTHORIZED (the token is revoked)",
        "Two refreshers race on one PKCE seller",
        "1 refresh sent; spent refresh tokens presented in the race: 0",
        "Done: 15 steps",
    ] {
        assert!(out.contains(step), "missing `{step}` in:\n{out}");
    }
    assert!(all_masked(out), "an unmasked secret in:\n{out}");
    assert!(!out.contains("sq0csp-demo-application-secret"), "the demo app's secret leaked");
}

#[test]
fn demo_with_show_secrets_shows_them() {
    let run = Cli::new().args(["demo", "--show-secrets"]).run();
    run.code(0);
    assert!(run.stdout.contains("sq0csp-demo-application-secret-not-for-production"));
    assert!(!all_masked(&run.stdout));
}

#[test]
fn demo_with_json_keeps_stdout_for_the_summary() {
    let run = Cli::new().args(["demo", "--json"]).run();
    run.code(0);
    let doc = run.json();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["steps"], 15);
    assert!(run.stderr.contains("Try the old refresh token again"));
}

/// The demo talks to its own fake on this machine: a proxy named by the environment (here one
/// that nobody answers) is not used.
#[test]
fn demo_ignores_a_proxy_the_environment_names() {
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let run = Cli::new()
        .env("HTTP_PROXY", &nobody)
        .env("http_proxy", &nobody)
        .env("ALL_PROXY", &nobody)
        .env("NO_PROXY", "")
        .args(["demo", "--json"])
        .run();
    run.code(0);
    assert_eq!(run.json()["ok"], true);
}
