//! A sentinel client secret, and every token the fake issues, never appear in any output of
//! any command unless `--show-secrets` is given; with it, they do.

mod common;

use common::*;

#[test]
fn nothing_leaks_without_show_secrets_across_every_command() {
    let fx = Fixture::new();
    let code = fx.code_flow_tokens();
    let pkce = fx.pkce_tokens();
    let code_file = fx.token_file("code.json", &code);
    let pkce_file = fx.token_file("pkce.json", &pkce);
    let mut secrets: Vec<String> = vec![
        SENTINEL.to_owned(),
        code.access_token().expose_secret().to_owned(),
        code.refresh_token().unwrap().expose_secret().to_owned(),
        pkce.access_token().expose_secret().to_owned(),
        pkce.refresh_token().unwrap().expose_secret().to_owned(),
    ];
    let mut runs = Vec::new();
    for json in [false, true] {
        let j = if json { vec!["--json"] } else { vec![] };
        runs.push(fx.cli().args(&j).args(["status", "--token-file"]).arg(&code_file).run());
        runs.push(fx.cli().args(&j).args(["status", "--access-token", code.access_token().expose_secret()]).run());
        runs.push(
            fx.cli().args(&j).args(["refresh", "--client-secret", SENTINEL, "--token-file"]).arg(&code_file).run(),
        );
        runs.push(fx.cli().args(&j).args(["refresh", "--token-file"]).arg(&pkce_file).run());
    }
    // Failures too: a spent PKCE refresh token, a wrong request, a revoked token.
    let stale = fx.token_file("stale.json", &pkce);
    runs.push(fx.cli().args(["refresh", "--token-file"]).arg(&stale).run());
    runs.push(fx.cli().args(["--json", "refresh", "--token-file"]).arg(&stale).run());
    runs.push(
        fx.cli()
            .args(["revoke", "--client-id", CLIENT_ID, "--client-secret", SENTINEL, "--token-file"])
            .arg(&code_file)
            .run(),
    );
    runs.push(fx.cli().args(["--json", "status", "--token-file"]).arg(&code_file).run());
    runs.push(
        fx.cli()
            .args(["revoke", "--client-id", CLIENT_ID, "--client-secret", SENTINEL, "--merchant-id", "MLNOBODY00000"])
            .run(),
    );
    // Every token the files held since.
    for path in [&code_file, &pkce_file] {
        let set: square_oauth::TokenSet = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        secrets.push(set.access_token().expose_secret().to_owned());
        secrets.push(set.refresh_token().unwrap().expose_secret().to_owned());
    }
    // A login, the exchange and its tokens included.
    let login = fx
        .cli()
        .args(["login", "--client-id", CLIENT_ID, "--client-secret", SENTINEL, "--no-browser", "--redirect-port"])
        .arg(fx.redirect_port.to_string())
        .run_with_browser(|url| assert_eq!(approve_and_follow(&fx.square, url), 200));
    login.code(0);
    runs.push(login);

    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    for run in &runs {
        run.leaks_none(&secrets);
    }
    let codes: Vec<Option<i32>> = runs.iter().map(|r| r.code).collect();
    assert_eq!(codes, [0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 0, 3, 3, 0].map(Some));
}

#[test]
fn show_secrets_shows_them() {
    let fx = Fixture::new();
    let code = fx.code_flow_tokens();
    let file = fx.token_file("code.json", &code);
    let status = fx.cli().args(["--show-secrets", "status", "--token-file"]).arg(&file).run();
    status.code(0);
    assert!(status.stdout.contains(code.access_token().expose_secret()));

    let refresh = fx
        .cli()
        .args(["--show-secrets", "--json", "refresh", "--client-secret", SENTINEL, "--token-file"])
        .arg(&file)
        .run();
    refresh.code(0);
    let set: square_oauth::TokenSet = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(refresh.json()["tokens"]["access_token"], set.access_token().expose_secret());
    assert_eq!(refresh.json()["tokens"]["refresh_token"], set.refresh_token().unwrap().expose_secret());

    let port = free_port();
    let (mut child, base) = {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_square-oauth"));
        let mut child = command
            .args(["--show-secrets", "mock", "--listen", "127.0.0.1:0", "--app"])
            .arg(format!("{CLIENT_ID}:{SENTINEL}:http://localhost:{port}/callback"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        (child, line)
    };
    let mut err = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stderr.take().unwrap()), &mut err).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(base.starts_with("http://127.0.0.1:"));
    assert!(err.contains(SENTINEL), "{err}");
}
