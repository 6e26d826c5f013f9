//! Global options and the environment: flags win, the environment fills in, usage errors exit 2.

mod common;

use common::*;

fn token(fx: &Fixture) -> String {
    fx.code_flow_tokens().access_token().expose_secret().to_owned()
}

#[test]
fn square_base_url_from_the_environment() {
    let fx = Fixture::new();
    let token = token(&fx);
    Cli::new().args(["status", "--access-token", &token]).env("SQUARE_BASE_URL", &fx.base_url()).run().code(0);
}

#[test]
fn the_base_url_flag_wins_over_the_environment() {
    let fx = Fixture::new();
    let token = token(&fx);
    let closed = format!("http://127.0.0.1:{}", free_port());
    fx.cli().args(["status", "--access-token", &token]).env("SQUARE_BASE_URL", &closed).run().code(0);
    Cli::new()
        .args(["--base-url", &closed, "status", "--access-token", &token])
        .env("SQUARE_BASE_URL", &fx.base_url())
        .run()
        .code(4);
}

#[test]
fn a_bad_square_environment_is_a_usage_error() {
    let run =
        Cli::new().args(["status", "--access-token", "EAAAx0000000000000"]).env("SQUARE_ENVIRONMENT", "staging").run();
    run.code(2);
    assert!(run.stderr.contains("SQUARE_ENVIRONMENT"), "{}", run.stderr);
}

#[test]
fn environments_conflict() {
    let fx = Fixture::new();
    let token = token(&fx);
    // The same call without the second environment succeeds, so only the conflict can fail it.
    fx.cli().args(["status", "--access-token", &token]).run().code(0);
    let run = fx.cli().args(["--sandbox", "status", "--access-token", &token]).run();
    run.code(2);
    assert!(run.stderr.contains("--sandbox") && run.stderr.contains("--base-url"), "{}", run.stderr);
    let run = fx.cli().args(["--production", "status", "--access-token", &token]).run();
    run.code(2);
    assert!(run.stderr.contains("--production") && run.stderr.contains("--base-url"), "{}", run.stderr);
    let run =
        Cli::new().args(["--timeout", "2s", "--sandbox", "--production", "status", "--access-token", &token]).run();
    run.code(2);
    assert!(run.stderr.contains("--sandbox") && run.stderr.contains("--production"), "{}", run.stderr);
    let statuses = fx.square.requests().into_iter().filter(|r| r.path == "/oauth2/token/status").count();
    assert_eq!(statuses, 1, "a conflicting call reached Square");
}

#[test]
fn plain_http_to_another_host_is_refused() {
    let run =
        Cli::new().args(["--base-url", "http://example.com", "status", "--access-token", "EAAAx0000000000000"]).run();
    run.code(2);
    assert!(run.stderr.contains("base_url"), "{}", run.stderr);
}

#[test]
fn square_version_flag_and_environment() {
    let fx = Fixture::new();
    let token = token(&fx);
    fx.cli()
        .args(["--square-version", "2025-01-23", "status", "--access-token", &token])
        .env("SQUARE_VERSION", "2024-01-01")
        .run()
        .code(0);
    fx.cli().args(["status", "--access-token", &token]).env("SQUARE_VERSION", "2024-01-01").run().code(0);
    let versions: Vec<String> = fx
        .square
        .requests()
        .into_iter()
        .filter(|r| r.path == "/oauth2/token/status")
        .map(|r| r.header("square-version").unwrap().to_owned())
        .collect();
    assert_eq!(versions, ["2025-01-23", "2024-01-01"]);
    fx.cli().args(["--square-version", "2025-1-2", "status", "--access-token", &token]).run().code(2);
}

#[test]
fn a_bad_timeout_is_a_usage_error() {
    let fx = Fixture::new();
    let token = token(&fx);
    fx.cli().args(["--timeout", "5s", "status", "--access-token", &token]).run().code(0);
    for (duration, complaint) in [("soon", "is not a duration"), ("0s", "more than zero"), ("200h", "at most a week")] {
        let run = fx.cli().args(["--timeout", duration, "status", "--access-token", &token]).run();
        run.code(2);
        assert!(run.stderr.contains("--timeout"), "{duration}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("`{duration}`")) && run.stderr.contains(complaint),
            "{duration}: {}",
            run.stderr
        );
    }
}

#[test]
fn help_and_version() {
    let help = Cli::new().arg("--help").run();
    help.code(0);
    for command in ["demo", "login", "refresh", "status", "revoke", "mock", "SQUARE_CLIENT_SECRET", "Exit codes"] {
        assert!(help.stdout.contains(command), "{command} in --help:\n{}", help.stdout);
    }
    Cli::new().arg("--version").run().code(0);
    Cli::new().arg("frobnicate").run().code(2);
}

#[test]
fn completions_and_the_man_page_come_from_the_same_definitions() {
    let run = Cli::new().args(["completions", "bash"]).run();
    run.code(0);
    // Every subcommand and a login option are offered.
    for word in ["login", "refresh", "status", "revoke", "--redirect-url", "--client-secret-file"] {
        assert!(run.stdout.contains(word), "the bash completion lacks {word}");
    }
    let run = Cli::new().args(["completions", "zsh"]).run();
    run.code(0);
    assert!(run.stdout.starts_with("#compdef square-oauth"), "{}", &run.stdout[..run.stdout.len().min(80)]);
    let run = Cli::new().arg("man").run();
    run.code(0);
    assert!(run.stdout.contains(".TH square-oauth 1"), "{}", &run.stdout[..run.stdout.len().min(200)]);
    assert!(run.stdout.contains("\\-\\-base\\-url"), "the man page documents --base-url");
    assert!(run.stdout.contains("square\\-oauth\\-login(1)"), "the man page names the login command");
    Cli::new().args(["completions", "tcsh"]).run().code(2);
}

#[test]
fn json_mode_reports_an_argument_error_as_one_document_with_exit_2() {
    let run = Cli::new().args(["--json", "login", "--no-such-option"]).run();
    run.code(2);
    let document = run.json();
    assert_eq!(document["ok"], false);
    assert_eq!(document["error"]["kind"], "usage");
    assert_eq!(document["error"]["exit_code"], 2);
    assert!(document["error"]["message"].as_str().unwrap().contains("--no-such-option"), "{document}");
    // Without --json, standard output stays empty.
    let run = Cli::new().args(["login", "--no-such-option"]).run();
    run.code(2);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}
