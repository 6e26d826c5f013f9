//! `square-oauth login` with a scripted browser against the fake Square.

mod common;

use common::*;
use square_oauth::{Flow, TokenSet};

fn login(fx: &Fixture) -> Cli {
    fx.cli()
        .args(["login", "--client-id", CLIENT_ID, "--no-browser", "--wait", "60s"])
        .args(["--redirect-port", &fx.redirect_port.to_string()])
}

#[test]
fn pkce_login_writes_a_private_token_file() {
    let fx = Fixture::new();
    let out = fx.path("tokens.json");
    let mut callback_status = 0;
    let run =
        login(&fx).args(["--scope", "MERCHANT_PROFILE_READ,PAYMENTS_READ"]).arg("--out").arg(&out).run_with_browser(
            |url| {
                assert!(url.contains("code_challenge="), "PKCE without a secret: {url}");
                assert!(url.contains("scope=MERCHANT_PROFILE_READ+PAYMENTS_READ"));
                assert_eq!(
                    query_param(url, "redirect_uri").as_deref(),
                    Some(format!("http://localhost:{}/callback", fx.redirect_port).as_str())
                );
                callback_status = approve_and_follow(&fx.square, url);
            },
        );
    run.code(0);
    assert_eq!(callback_status, 200);
    assert!(run.stdout.contains(&format!("Logged in: merchant {MERCHANT}")), "{}", run.stdout);
    #[cfg(unix)]
    assert_eq!(mode(&out), 0o600);
    let set: TokenSet = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(set.flow(), Flow::Pkce);
    assert_eq!(set.merchant_id().as_str(), MERCHANT);
    assert_eq!(set.scopes().len(), 2);
    assert!(set.refresh_token_expires_at().is_some());
    run.leaks_none(&[set.access_token().expose_secret(), set.refresh_token().unwrap().expose_secret()]);
    // No temporary file is left beside the token file.
    assert_eq!(std::fs::read_dir(fx.dir.path()).unwrap().count(), 1);
}

#[test]
fn code_flow_login_prints_masked_tokens_to_stdout() {
    let fx = Fixture::new();
    let run = login(&fx).args(["--client-secret", SENTINEL]).run_with_browser(|url| {
        assert!(!url.contains("code_challenge"), "the code flow sends no challenge: {url}");
        assert_eq!(approve_and_follow(&fx.square, url), 200);
    });
    run.code(0).leaks_none(&[SENTINEL]);
    let printed = run.json();
    assert_eq!(printed["flow"], "code_flow");
    assert_eq!(printed["merchant_id"], MERCHANT);
    assert_eq!(printed["access_token"], "EAAA…[masked]");
    assert_eq!(printed["refresh_token"], "EQAA…[masked]");
    assert!(run.stderr.contains("masked"), "{}", run.stderr);
    // The exchange carried the secret in the body and the registered redirect URL.
    let exchange = fx.square.requests().into_iter().find(|r| r.path == "/oauth2/token").unwrap();
    let body: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap();
    assert_eq!(body["grant_type"], "authorization_code");
    assert_eq!(body["client_secret"], SENTINEL);
    assert_eq!(body["client_id"], CLIENT_ID);
    assert_eq!(body["redirect_uri"], format!("http://localhost:{}/callback", fx.redirect_port));
    assert!(body.get("code_verifier").is_none());
}

#[test]
fn show_secrets_prints_a_loadable_token_set() {
    let fx = Fixture::new();
    let run = login(&fx)
        .env("SQUARE_CLIENT_SECRET", SENTINEL)
        .arg("--show-secrets")
        .run_with_browser(|url| assert_eq!(approve_and_follow(&fx.square, url), 200));
    run.code(0);
    let set: TokenSet = serde_json::from_str(&run.stdout).expect("the printed set loads as a token file");
    assert_eq!(set.flow(), Flow::CodeFlow);
    assert!(set.access_token().expose_secret().starts_with("EAAA"));
}

#[test]
fn json_mode_puts_one_document_on_stdout() {
    let fx = Fixture::new();
    let out = fx.path("tokens.json");
    let run = login(&fx)
        .arg("--json")
        .arg("--out")
        .arg(&out)
        .run_with_browser(|url| assert_eq!(approve_and_follow(&fx.square, url), 200));
    run.code(0);
    let doc = run.json();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["tokens"]["merchant_id"], MERCHANT);
    assert_eq!(doc["tokens"]["access_token"], "EAAA…[masked]");
    assert!(out.exists());
}

#[test]
fn a_redirect_with_a_wrong_state_is_refused_and_the_login_keeps_waiting() {
    // Any web page can send the browser to the callback: such a request gets an error page and
    // the real redirect, arriving after it, still completes the login.
    let fx = Fixture::new();
    let out = fx.path("tokens.json");
    let (mut forged_status, mut missing_status, mut real_status) = (0, 0, 0);
    let run = login(&fx).arg("--out").arg(&out).run_with_browser(|url| {
        let redirect = fx.square.approve(url, None).unwrap();
        let code = query_param(&redirect, "code").unwrap();
        let forged = format!("http://127.0.0.1:{}/callback?code={code}&state=forged-state", fx.redirect_port);
        forged_status = get(&forged);
        missing_status = get(&format!("http://127.0.0.1:{}/callback?code=sq0cgb-forged", fx.redirect_port));
        assert!(fx.square.requests().iter().all(|r| r.path != "/oauth2/token"), "no exchange of a forged redirect");
        real_status = get(&redirect.replace("localhost", "127.0.0.1"));
    });
    run.code(0);
    assert_eq!((forged_status, missing_status, real_status), (400, 400, 200));
    assert!(run.stderr.contains("`state` does not match"), "{}", run.stderr);
    assert!(out.exists());
    assert_eq!(fx.square.requests().iter().filter(|r| r.path == "/oauth2/token").count(), 1);
}

#[test]
fn only_wrong_state_redirects_end_in_the_wait_running_out_with_nothing_exchanged() {
    let fx = Fixture::new();
    let out = fx.path("tokens.json");
    let mut callback_status = 0;
    let run = fx
        .cli()
        .args(["login", "--client-id", CLIENT_ID, "--no-browser", "--wait", "2s"])
        .args(["--redirect-port", &fx.redirect_port.to_string()])
        .arg("--out")
        .arg(&out)
        .run_with_browser(|url| {
            let redirect = fx.square.approve(url, None).unwrap();
            let code = query_param(&redirect, "code").unwrap();
            callback_status = get(&format!("http://127.0.0.1:{}/callback?code={code}&state=forged", fx.redirect_port));
        });
    run.code(4);
    assert_eq!(callback_status, 400);
    assert!(!out.exists());
    assert!(fx.square.requests().iter().all(|r| r.path != "/oauth2/token"), "no exchange after a forged redirect");
    assert_eq!(std::fs::read_dir(fx.dir.path()).unwrap().count(), 0, "no temporary file left");
}

#[test]
fn a_seller_who_denies_gives_exit_3() {
    let fx = Fixture::new();
    let run = login(&fx).run_with_browser(|url| {
        let redirect = fx.square.deny(url).unwrap();
        assert_eq!(get(&redirect), 400);
    });
    run.code(3);
    assert!(run.stderr.contains("access_denied"), "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
}

#[test]
fn a_wrong_client_secret_is_square_refusing() {
    let fx = Fixture::new();
    let wrong = "sq0csp-WRONG-SECRET-0123456789abcdef";
    let run = login(&fx)
        .args(["--client-secret", wrong])
        .run_with_browser(|url| assert_eq!(approve_and_follow(&fx.square, url), 502));
    run.code(3).leaks_none(&[wrong, SENTINEL]);
    assert!(run.stderr.contains("AUTHENTICATION_ERROR UNAUTHORIZED"), "{}", run.stderr);
}

#[test]
fn no_callback_before_the_wait_ends_is_a_timeout() {
    let fx = Fixture::new();
    let run = fx
        .cli()
        .args(["login", "--client-id", CLIENT_ID, "--no-browser", "--wait", "1s", "--redirect-port"])
        .arg(fx.redirect_port.to_string())
        .run();
    run.code(4);
    assert!(run.stderr.contains("no redirect came back"), "{}", run.stderr);
}

#[test]
fn other_paths_on_the_callback_port_are_ignored() {
    let fx = Fixture::new();
    let run = login(&fx).run_with_browser(|url| {
        assert_eq!(get(&format!("http://127.0.0.1:{}/favicon.ico", fx.redirect_port)), 404);
        assert_eq!(approve_and_follow(&fx.square, url), 200);
    });
    run.code(0);
}

#[test]
fn a_missing_client_id_is_a_usage_error() {
    let fx = Fixture::new();
    let run = fx.cli().args(["login", "--no-browser"]).run();
    run.code(2);
    assert!(run.stderr.contains("SQUARE_CLIENT_ID"), "{}", run.stderr);
}

#[test]
fn a_loopback_http_redirect_url_is_listened_on_not_pasted() {
    // `--redirect-url` with a loopback http URL (the one registered with the fake) listens on its
    // port like `--redirect-port`; nothing is read from standard input, which stays closed.
    let fx = Fixture::new();
    let registered = format!("http://localhost:{}/callback", fx.redirect_port);
    let mut callback_status = 0;
    let run = fx
        .cli()
        .args(["login", "--client-id", CLIENT_ID, "--no-browser", "--wait", "60s", "--json"])
        .args(["--redirect-url", &registered])
        .run_with_browser(|url| {
            assert_eq!(query_param(url, "redirect_uri").as_deref(), Some(registered.as_str()));
            callback_status = approve_and_follow(&fx.square, url);
        });
    run.code(0);
    assert_eq!(callback_status, 200, "the CLI answered the browser on the URL's own port");
    let exchange = fx.square.requests().into_iter().find(|r| r.path == "/oauth2/token").expect("an exchange");
    let body: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap();
    assert_eq!(body["redirect_uri"], registered.as_str());
    assert_eq!(run.json()["merchant_id"], MERCHANT);
}
