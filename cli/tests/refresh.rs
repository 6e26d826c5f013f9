//! `square-oauth refresh`: the right grant per flow, atomic write-back, and the old file kept
//! whenever the refresh fails.

mod common;

use common::*;
use square_oauth::TokenSet;
use square_oauth_mock::Fault;

fn load(path: &std::path::Path) -> TokenSet {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn code_flow_refresh_keeps_the_refresh_token_and_replaces_the_access_token() {
    let fx = Fixture::new();
    let before = fx.code_flow_tokens();
    let path = fx.token_file("tokens.json", &before);
    let run = fx.cli().args(["refresh", "--token-file"]).arg(&path).env("SQUARE_CLIENT_SECRET", SENTINEL).run();
    run.code(0).leaks_none(&[
        SENTINEL,
        before.access_token().expose_secret(),
        before.refresh_token().unwrap().expose_secret(),
    ]);
    let after = load(&path);
    assert_ne!(after.access_token(), before.access_token());
    assert_eq!(after.refresh_token(), before.refresh_token());
    assert!(run.stdout.contains("unchanged"), "{}", run.stdout);
    run.leaks_none(&[after.access_token().expose_secret()]);
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    let sent = fx.square.requests().into_iter().rfind(|r| r.path == "/oauth2/token").unwrap();
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["grant_type"], "refresh_token");
    assert_eq!(body["client_secret"], SENTINEL);
}

#[test]
fn pkce_refresh_rotates_and_the_old_copy_is_refused_with_a_hint() {
    let fx = Fixture::new();
    let before = fx.pkce_tokens();
    let path = fx.token_file("tokens.json", &before);
    let copy = fx.token_file("copy.json", &before);
    let run = fx.cli().args(["--json", "refresh", "--token-file"]).arg(&path).run();
    run.code(0);
    let doc = run.json();
    assert_eq!(doc["rotated_refresh_token"], true);
    assert_eq!(doc["tokens"]["refresh_token"], "EQAA…[masked]");
    let after = load(&path);
    assert_ne!(after.refresh_token(), before.refresh_token());
    let sent = fx.square.requests().into_iter().rfind(|r| r.path == "/oauth2/token").unwrap();
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert!(body.get("client_secret").is_none(), "PKCE sends no secret");

    // The stale copy still holds the spent refresh token.
    let copy_bytes = std::fs::read(&copy).unwrap();
    let stale = fx.cli().args(["refresh", "--token-file"]).arg(&copy).run();
    stale.code(3);
    assert!(stale.stderr.contains("AUTHENTICATION_ERROR UNAUTHORIZED"), "{}", stale.stderr);
    assert!(stale.stderr.contains("single-use"), "{}", stale.stderr);
    assert_eq!(std::fs::read(&copy).unwrap(), copy_bytes);
}

#[test]
fn a_503_leaves_the_token_file_byte_for_byte() {
    let fx = Fixture::new();
    for (name, set) in [("pkce.json", fx.pkce_tokens()), ("code.json", fx.code_flow_tokens())] {
        let path = fx.token_file(name, &set);
        let bytes = std::fs::read(&path).unwrap();
        fx.square.fault("/oauth2/token", Fault::Status { status: 503, retry_after: None }, 10);
        let run =
            fx.cli().args(["--json", "refresh", "--token-file"]).arg(&path).env("SQUARE_CLIENT_SECRET", SENTINEL).run();
        run.code(3).leaks_none(&[SENTINEL, set.access_token().expose_secret()]);
        assert_eq!(run.json()["error"]["status"], 503);
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} untouched");
        let entries: Vec<_> = std::fs::read_dir(fx.dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(entries.iter().all(|n| !n.to_string_lossy().contains(".tmp")), "no temporary file: {entries:?}");
    }
}

#[test]
fn an_html_502_is_an_answer_not_understood() {
    let fx = Fixture::new();
    let path = fx.token_file("tokens.json", &fx.pkce_tokens());
    let bytes = std::fs::read(&path).unwrap();
    fx.square.fault("/oauth2/token", Fault::Html502, 1);
    let run = fx.cli().args(["refresh", "--token-file"]).arg(&path).run();
    run.code(5);
    assert!(run.stderr.contains("could not be understood"), "{}", run.stderr);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_slow_answer_times_out_with_exit_4() {
    let fx = Fixture::new();
    let path = fx.token_file("tokens.json", &fx.pkce_tokens());
    let bytes = std::fs::read(&path).unwrap();
    fx.square.fault("/oauth2/token", Fault::Delay(std::time::Duration::from_secs(5)), 1);
    let run = fx.cli().args(["--timeout", "300ms", "refresh", "--token-file"]).arg(&path).run();
    run.code(4);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn an_unreachable_square_is_exit_4() {
    let fx = Fixture::new();
    let path = fx.token_file("tokens.json", &fx.pkce_tokens());
    let closed = format!("http://127.0.0.1:{}", free_port());
    let run = Cli::new().args(["--base-url", &closed, "--timeout", "5s", "refresh", "--token-file"]).arg(&path).run();
    run.code(4);
}

#[test]
fn code_flow_without_the_secret_is_a_usage_error() {
    let fx = Fixture::new();
    let path = fx.token_file("tokens.json", &fx.code_flow_tokens());
    let bytes = std::fs::read(&path).unwrap();
    let run = fx.cli().args(["refresh", "--token-file"]).arg(&path).run();
    run.code(2);
    assert!(run.stderr.contains("SQUARE_CLIENT_SECRET"), "{}", run.stderr);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert!(
        fx.square.requests().iter().filter(|r| r.path == "/oauth2/token").count() == 1,
        "only the exchange that made the file"
    );
}

#[test]
fn a_missing_or_foreign_token_file_is_a_usage_error() {
    let fx = Fixture::new();
    let missing = fx.cli().args(["refresh", "--token-file"]).arg(fx.path("nope.json")).run();
    missing.code(2);
    let foreign = fx.path("foreign.json");
    std::fs::write(&foreign, br#"{"access_token": "EAAAsomething"}"#).unwrap();
    let run = fx.cli().args(["refresh", "--token-file"]).arg(&foreign).run();
    run.code(2).leaks_none(&["EAAAsomething"]);
    // A token in a field where serde would quote it back.
    std::fs::write(&foreign, br#"{"flow": "EAAA-token-in-the-wrong-field"}"#).unwrap();
    let run = fx.cli().args(["refresh", "--token-file"]).arg(&foreign).run();
    run.code(2).leaks_none(&["EAAA-token-in-the-wrong-field"]);
    assert!(run.stderr.contains("not shaped like a token set"), "{}", run.stderr);
}

/// A token file whose name is not UTF-8: refreshed and written back, and `--json` names it as
/// best it can rather than failing after the refresh token was already rotated.
#[cfg(unix)]
#[test]
fn a_token_file_whose_name_is_not_utf8_is_refreshed_without_a_panic() {
    use std::os::unix::ffi::OsStrExt as _;
    let fx = Fixture::new();
    let before = fx.pkce_tokens();
    let named = fx.token_file("tokens.json", &before);
    let path = fx.dir.path().join(std::ffi::OsStr::from_bytes(b"tok\xffens.json"));
    std::fs::rename(&named, &path).unwrap();
    for json in [false, true] {
        let cli = if json { fx.cli().arg("--json") } else { fx.cli() };
        let run = cli.args(["refresh", "--token-file"]).arg(&path).run();
        run.code(0);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        if json {
            assert_eq!(run.json()["token_file"], path.to_string_lossy().as_ref());
        }
    }
    assert_ne!(load(&path).refresh_token(), before.refresh_token(), "rotated and written back");
}
