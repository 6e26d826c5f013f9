//! `square-oauth status` and `square-oauth revoke`.

mod common;

use common::*;
use square_oauth_mock::Behaviour;

#[test]
fn status_of_a_token_given_on_the_command_line() {
    let fx = Fixture::new();
    let set = fx.code_flow_tokens();
    let token = set.access_token().expose_secret();
    let run = fx.cli().args(["status", "--access-token", token]).run();
    run.code(0).leaks_none(&[token, SENTINEL]);
    assert!(run.stdout.contains(&format!("merchant_id   {MERCHANT}")), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("client_id     {CLIENT_ID}")), "{}", run.stdout);
    assert!(run.stdout.contains("(in 29 days)") || run.stdout.contains("(in 30 days)"), "{}", run.stdout);
    let sent = fx.square.requests().into_iter().find(|r| r.path == "/oauth2/token/status").unwrap();
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {token}").as_str()));
}

#[test]
fn status_from_a_token_file_as_json() {
    let fx = Fixture::new();
    let set = fx.pkce_tokens();
    let path = fx.token_file("tokens.json", &set);
    let run = fx.cli().args(["status", "--json", "--token-file"]).arg(&path).run();
    run.code(0).leaks_none(&[set.access_token().expose_secret()]);
    let doc = run.json();
    assert_eq!(doc["merchant_id"], MERCHANT);
    assert_eq!(doc["access_token"], "EAAA…[masked]");
    assert_eq!(doc["expired"], false);
    assert!(doc["scopes"].as_array().is_some_and(|s| !s.is_empty()));
}

#[test]
fn status_reads_the_token_from_the_environment_and_the_flag_wins() {
    let fx = Fixture::new();
    let token = fx.code_flow_tokens().access_token().expose_secret().to_owned();
    fx.cli().arg("status").env("SQUARE_ACCESS_TOKEN", &token).run().code(0);
    let run = fx
        .cli()
        .args(["status", "--access-token", "EAAA-not-a-real-token-0000"])
        .env("SQUARE_ACCESS_TOKEN", &token)
        .run();
    run.code(3).leaks_none(&[&token, "EAAA-not-a-real-token-0000"]);
    assert!(run.stderr.contains("UNAUTHORIZED"), "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
}

#[test]
fn status_without_a_token_is_a_usage_error() {
    let fx = Fixture::new();
    let run = fx.cli().args(["status", "--json"]).run();
    run.code(2);
    assert_eq!(run.json()["error"]["kind"], "usage");
}

#[test]
fn revoke_by_access_token_then_status_says_revoked() {
    let fx = Fixture::new();
    let set = fx.code_flow_tokens();
    let token = set.access_token().expose_secret();
    let run =
        fx.cli().args(["revoke", "--client-id", CLIENT_ID, "--client-secret", SENTINEL, "--access-token", token]).run();
    run.code(0).leaks_none(&[token, SENTINEL]);
    assert!(run.stdout.contains("Revoked the authorization"), "{}", run.stdout);
    let sent = fx.square.requests().into_iter().find(|r| r.path == "/oauth2/revoke").unwrap();
    assert_eq!(sent.header("authorization"), Some(format!("Client {SENTINEL}").as_str()));

    // Square's specification: UNAUTHORIZED for a token that no longer works.
    let after = fx.cli().args(["status", "--json", "--access-token", token]).run();
    after.code(3).leaks_none(&[token]);
    let doc = after.json();
    assert_eq!(doc["error"]["errors"][0]["code"], "UNAUTHORIZED");
    let hint = doc["error"]["hint"].as_str().unwrap();
    assert!(hint.contains("revoked") && hint.contains("square-oauth login"), "{hint}");
    assert!(after.stderr.contains("AUTHENTICATION_ERROR UNAUTHORIZED"), "{}", after.stderr);

    // The specific code, where Square sends it.
    fx.square.set_behaviour(Behaviour { specific_token_errors: true, ..Behaviour::default() });
    let after = fx.cli().args(["status", "--json", "--access-token", token]).run();
    after.code(3).leaks_none(&[token]);
    let doc = after.json();
    assert_eq!(doc["error"]["errors"][0]["code"], "ACCESS_TOKEN_REVOKED");
    assert!(doc["error"]["hint"].as_str().unwrap().contains("revoked"));
    assert!(after.stderr.contains("AUTHENTICATION_ERROR ACCESS_TOKEN_REVOKED"), "{}", after.stderr);
}

#[test]
fn revoke_by_merchant_with_credentials_from_the_environment() {
    let fx = Fixture::new();
    let set = fx.pkce_tokens();
    let run = fx
        .cli()
        .args(["--json", "revoke", "--merchant-id", MERCHANT])
        .env("SQUARE_CLIENT_ID", CLIENT_ID)
        .env("SQUARE_CLIENT_SECRET", SENTINEL)
        .run();
    run.code(0).leaks_none(&[SENTINEL]);
    assert_eq!(run.json()["success"], true);
    // The refresh token died with the authorization.
    let path = fx.token_file("tokens.json", &set);
    fx.cli().args(["refresh", "--token-file"]).arg(&path).run().code(3);
}

#[test]
fn revoke_only_the_access_token_keeps_the_authorization() {
    let fx = Fixture::new();
    let set = fx.code_flow_tokens();
    let path = fx.token_file("tokens.json", &set);
    let run =
        fx.cli().args(["revoke", "--only-access-token", "--client-secret", SENTINEL, "--token-file"]).arg(&path).run();
    run.code(0);
    let sent = fx.square.requests().into_iter().find(|r| r.path == "/oauth2/revoke").unwrap();
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["revoke_only_access_token"], true);
    assert_eq!(body["client_id"], CLIENT_ID, "taken from the token file");
    // The refresh token still works.
    fx.cli().args(["refresh", "--client-secret", SENTINEL, "--token-file"]).arg(&path).run().code(0);
}

#[test]
fn revoke_without_the_secret_is_a_usage_error_with_a_hint() {
    let fx = Fixture::new();
    let run = fx.cli().args(["revoke", "--client-id", CLIENT_ID, "--merchant-id", MERCHANT]).run();
    run.code(2);
    assert!(run.stderr.contains("SQUARE_CLIENT_SECRET"), "{}", run.stderr);
    assert!(run.stderr.contains("`Client `"), "{}", run.stderr);
    assert!(fx.square.requests().is_empty(), "nothing sent");
}

#[test]
fn revoke_with_a_wrong_secret_is_refused() {
    let fx = Fixture::new();
    let wrong = "sq0csp-WRONG-0123456789abcdef";
    let run =
        fx.cli().args(["revoke", "--client-id", CLIENT_ID, "--client-secret", wrong, "--merchant-id", MERCHANT]).run();
    run.code(3).leaks_none(&[wrong, SENTINEL]);
    assert!(run.stderr.contains("UNAUTHORIZED"), "{}", run.stderr);
}

#[test]
fn revoke_of_an_unknown_seller_is_not_found() {
    let fx = Fixture::new();
    let run = fx
        .cli()
        .args(["revoke", "--client-id", CLIENT_ID, "--client-secret", SENTINEL, "--merchant-id", "MLNOBODY00000"])
        .run();
    run.code(3);
    assert!(run.stderr.contains("NOT_FOUND"), "{}", run.stderr);
}

#[test]
fn revoke_by_token_and_by_merchant_at_once_is_refused_by_the_parser() {
    let fx = Fixture::new();
    let run = fx
        .cli()
        .args([
            "revoke",
            "--client-secret",
            SENTINEL,
            "--access-token",
            "EAAAx0000000000000",
            "--merchant-id",
            MERCHANT,
        ])
        .run();
    run.code(2).leaks_none(&[SENTINEL]);
}

#[test]
fn a_repeated_revoke_that_square_refuses_as_already_revoked_is_reported_as_done() {
    let fx = Fixture::new();
    fx.code_flow_tokens();
    let revoke = || {
        fx.cli()
            .args(["--json", "revoke", "--merchant-id", MERCHANT])
            .env("SQUARE_CLIENT_ID", CLIENT_ID)
            .env("SQUARE_CLIENT_SECRET", SENTINEL)
            .run()
    };
    let first = revoke();
    first.code(0);
    assert_eq!(first.json()["already_revoked"], false);
    // The first answer was lost, say; Square refuses the repeat as already revoked.
    fx.square.set_behaviour(Behaviour { refuse_repeated_revoke: true, ..Behaviour::default() });
    let again = revoke();
    again.code(0).leaks_none(&[SENTINEL]);
    assert_eq!(again.json()["already_revoked"], true, "{}", again.stdout);
    let said = fx
        .cli()
        .args(["revoke", "--merchant-id", MERCHANT])
        .env("SQUARE_CLIENT_ID", CLIENT_ID)
        .env("SQUARE_CLIENT_SECRET", SENTINEL)
        .run();
    said.code(0);
    assert!(said.stdout.contains("Already revoked"), "{}", said.stdout);
}

#[test]
fn a_revoke_answer_without_success_true_is_a_failure() {
    use std::io::{Read as _, Write as _};
    for body in [r#"{"success":false}"#, "{}"] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then the JSON body (small enough to arrive by the closing brace).
            while !seen.ends_with(b"}") {
                let n = stream.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        });
        let run = Cli::new()
            .args(["--json", "--base-url", &format!("http://127.0.0.1:{port}"), "revoke", "--merchant-id", MERCHANT])
            .env("SQUARE_CLIENT_ID", CLIENT_ID)
            .env("SQUARE_CLIENT_SECRET", SENTINEL)
            .run();
        // Should the command have failed before connecting, this releases the server's accept.
        let _ = std::net::TcpStream::connect(("127.0.0.1", port));
        server.join().unwrap();
        run.code(5).leaks_none(&[SENTINEL]);
        let doc = run.json();
        assert_eq!(doc["ok"], false, "{body}: {}", run.stdout);
        assert!(doc["error"]["message"].as_str().unwrap().contains("`success` is not true"), "{}", run.stdout);
    }
}

#[test]
fn revoke_reads_the_client_secret_from_a_file_and_from_standard_input() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    let fx = Fixture::new();
    let secret_file = fx.path("secret");
    std::fs::write(&secret_file, format!("{SENTINEL}\n")).unwrap();
    fx.code_flow_tokens();
    let run = fx
        .cli()
        .args(["--json", "revoke", "--merchant-id", MERCHANT, "--client-id", CLIENT_ID, "--client-secret-file"])
        .arg(&secret_file)
        .run();
    run.code(0).leaks_none(&[SENTINEL]);
    assert_eq!(run.json()["success"], true);
    let sent = fx.square.requests().into_iter().rfind(|r| r.path == "/oauth2/revoke").unwrap();
    assert_eq!(sent.header("authorization"), Some(format!("Client {SENTINEL}").as_str()));

    fx.code_flow_tokens();
    let mut child = Command::new(env!("CARGO_BIN_EXE_square-oauth"))
        .env_clear()
        .env("HOME", fx.home.path())
        .args(["--base-url", &fx.base_url(), "--json", "revoke", "--merchant-id", MERCHANT])
        .args(["--client-id", CLIENT_ID, "--client-secret-file", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{SENTINEL}").unwrap();
    let run = Run::from(child.wait_with_output().unwrap());
    run.code(0).leaks_none(&[SENTINEL]);
    assert_eq!(run.json()["success"], true);
    let sent = fx.square.requests().into_iter().rfind(|r| r.path == "/oauth2/revoke").unwrap();
    assert_eq!(sent.header("authorization"), Some(format!("Client {SENTINEL}").as_str()));
}

#[test]
fn revoke_and_status_refuse_an_application_id_of_the_other_environment_before_sending() {
    let fx = Fixture::new();
    let run = Cli::new()
        .args(["--production", "revoke", "--merchant-id", MERCHANT, "--client-id", "sandbox-sq0idb-Example"])
        .args(["--client-secret", SENTINEL])
        .run();
    run.code(2).leaks_none(&[SENTINEL]);
    assert!(run.stderr.contains("sandbox application id"), "{}", run.stderr);
    let run = Cli::new()
        .args(["--sandbox", "revoke", "--merchant-id", MERCHANT, "--client-id", CLIENT_ID])
        .args(["--client-secret", SENTINEL])
        .run();
    run.code(2);
    assert!(run.stderr.contains("production application id"), "{}", run.stderr);

    // A token file names its application.
    let sandbox_set: square_oauth::TokenSet = serde_json::from_value(serde_json::json!({
        "flow": "code_flow",
        "client_id": "sandbox-sq0idb-Example",
        "merchant_id": MERCHANT,
        "access_token": "EAAAsandboxExample",
        "obtained_at": "2026-01-01T00:00:00Z",
    }))
    .unwrap();
    let path = fx.token_file("sandbox.json", &sandbox_set);
    let run = Cli::new().args(["--production", "status", "--token-file"]).arg(&path).run();
    run.code(2).leaks_none(&["EAAAsandboxExample"]);
    assert!(run.stderr.contains("sandbox application id"), "{}", run.stderr);
    let path = fx.token_file("production.json", &fx.code_flow_tokens());
    let run = Cli::new().args(["--sandbox", "status", "--token-file"]).arg(&path).run();
    run.code(2);
    assert!(run.stderr.contains("production application id"), "{}", run.stderr);
}
