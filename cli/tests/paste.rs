//! `square-oauth login --redirect-url https://…`: the browser lands on the application's https
//! page, and the user pastes that address into the CLI, against the fake Square.

mod common;

use common::*;
use square_oauth::{Flow, TokenSet};

const HTTPS_REDIRECT: &str = "https://app.example/callback";

fn paste_login(fx: &Fixture) -> Cli {
    fx.cli().args(["login", "--client-id", CLIENT_ID, "--no-browser", "--redirect-url", HTTPS_REDIRECT])
}

#[test]
fn pkce_login_with_an_https_redirect_reads_the_landed_url_from_stdin() {
    let fx = Fixture::new();
    let out = fx.path("tokens.json");
    let run = paste_login(&fx).arg("--out").arg(&out).run_pasting(|url| {
        assert_eq!(query_param(url, "redirect_uri").as_deref(), Some(HTTPS_REDIRECT));
        // Pressing Allow: the browser lands on the application's page, code and state in the address.
        let landed = fx.square.approve(url, None).expect("the fake approves");
        assert!(landed.starts_with(HTTPS_REDIRECT), "{landed}");
        landed
    });
    run.code(0);
    assert!(run.stderr.contains("copy the whole address"), "{}", run.stderr);
    let set: TokenSet = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(set.flow(), Flow::Pkce);
    assert_eq!(set.merchant_id().as_str(), MERCHANT);
    run.leaks_none(&[set.access_token().expose_secret(), set.refresh_token().unwrap().expose_secret()]);
}

#[test]
fn code_flow_with_the_secret_from_a_file_and_the_redirect_from_the_environment() {
    let fx = Fixture::new();
    let secret_file = fx.path("secret");
    std::fs::write(&secret_file, format!("{SENTINEL}\n")).unwrap();
    let run = fx
        .cli()
        .args(["login", "--client-id", CLIENT_ID, "--no-browser", "--client-secret-file"])
        .arg(&secret_file)
        .env("SQUARE_REDIRECT_URL", HTTPS_REDIRECT)
        .run_pasting(|url| {
            assert!(!url.contains("code_challenge"), "the code flow sends no challenge: {url}");
            fx.square.approve(url, None).expect("the fake approves")
        });
    run.code(0).leaks_none(&[SENTINEL]);
    assert_eq!(run.json()["flow"], "code_flow");
}

#[test]
fn a_pasted_url_with_another_state_is_refused_and_nothing_is_written() {
    let fx = Fixture::new();
    let out = fx.path("tokens.json");
    let run = paste_login(&fx).arg("--out").arg(&out).run_pasting(|url| {
        let landed = fx.square.approve(url, None).expect("the fake approves");
        let state = query_param(&landed, "state").expect("the redirect carries the state");
        landed.replace(&format!("state={state}"), "state=forged-by-someone-else")
    });
    run.code(5);
    assert!(run.stderr.contains("state"), "{}", run.stderr);
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(fx.dir.path()).unwrap().count(), 0, "no temporary file is left");
    // The code was never sent: the fake saw no exchange.
    assert!(!fx.square.requests().iter().any(|r| r.path == "/oauth2/token"));
}

#[test]
fn nothing_pasted_is_a_usage_error() {
    let fx = Fixture::new();
    let run = paste_login(&fx).run_pasting(|_| String::new());
    run.code(2);
    assert!(run.stderr.contains("no URL was pasted"), "{}", run.stderr);
}

#[test]
fn a_sandbox_id_selects_the_sandbox_and_refuses_production() {
    let run = Cli::new()
        .args(["--production", "login", "--client-id", "sandbox-sq0idb-Example", "--no-browser"])
        .args(["--redirect-url", HTTPS_REDIRECT])
        .run();
    run.code(2);
    assert!(run.stderr.contains("sandbox application id"), "{}", run.stderr);
    let run = Cli::new()
        .args(["--sandbox", "login", "--client-id", "sq0idp-Example", "--no-browser"])
        .args(["--redirect-url", HTTPS_REDIRECT])
        .run();
    run.code(2);
    assert!(run.stderr.contains("production application id"), "{}", run.stderr);
    // No flag: the id picks the sandbox, and says so (stdin is empty, so it stops at the paste).
    let run = Cli::new()
        .args(["login", "--client-id", "sandbox-sq0idb-Example", "--no-browser"])
        .args(["--redirect-url", HTTPS_REDIRECT]);
    let run = run.run();
    run.code(2);
    assert!(run.stderr.contains("using Square's sandbox"), "{}", run.stderr);
    assert!(run.stderr.contains("https://connect.squareupsandbox.com/oauth2/authorize?"), "{}", run.stderr);
}

#[test]
fn refresh_reads_the_client_secret_from_standard_input() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    let fx = Fixture::new();
    let path = fx.token_file("tokens.json", &fx.code_flow_tokens());
    let mut child = Command::new(env!("CARGO_BIN_EXE_square-oauth"))
        .env_clear()
        .args(["--base-url", &fx.base_url(), "refresh", "--client-secret-file", "-", "--token-file"])
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{SENTINEL}").unwrap();
    let output = child.wait_with_output().unwrap();
    let run = Run::from(output);
    run.code(0).leaks_none(&[SENTINEL]);
    let sent = fx.square.requests().into_iter().rfind(|r| r.path == "/oauth2/token").unwrap();
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["client_secret"], SENTINEL);
}

#[test]
fn tokens_of_a_sandbox_application_are_not_refreshed_in_production() {
    let fx = Fixture::new();
    let mut json: serde_json::Value = serde_json::to_value(fx.pkce_tokens().with_secrets()).unwrap();
    assert_eq!(json["client_id"], CLIENT_ID);
    json["client_id"] = "sandbox-sq0idb-CliTestApplication".into();
    let path = fx.path("tokens.json");
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    let before = std::fs::read(&path).unwrap();
    let run = Cli::new().args(["--production", "refresh", "--token-file"]).arg(&path).run();
    run.code(2);
    assert!(run.stderr.contains("sandbox application id"), "{}", run.stderr);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(std::fs::read_dir(fx.dir.path()).unwrap().count(), 1, "no temporary file is left");
}
