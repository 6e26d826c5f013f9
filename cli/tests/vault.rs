//! The vault commands: `sellers`, `token`, `refresher --once`, `rotate-key`, `migrate`, on a
//! vault file whose key file is created beside it on first use, and a PostgreSQL URL that
//! cannot connect (its password shown nowhere).

mod common;

use common::*;
use square_oauth::{ClientId, ClientSecret};
use square_oauth_vault::{Key, Keyring, Settings, SqliteStore, Vault};

fn put(fx: &Fixture, tokens: &square_oauth::TokenSet) {
    put_in(&fx.path("vault.sqlite"), tokens);
}

/// Puts `tokens` in the vault file `store`, its key file beside it.
fn put_in(store: &std::path::Path, tokens: &square_oauth::TokenSet) {
    std::fs::create_dir_all(store.parent().unwrap()).unwrap();
    let key = Key::from_file_or_create(&store.with_file_name("vault.key")).unwrap();
    let settings = Settings::new(ClientId::new(CLIENT_ID), Some(ClientSecret::new(SENTINEL)));
    Vault::new(SqliteStore::open(store).unwrap(), Keyring::new(key), settings).put(tokens).unwrap();
}

#[test]
fn token_prints_the_stored_access_token_and_sellers_lists_its_health() {
    let fx = Fixture::new();
    let tokens = fx.pkce_tokens();
    put(&fx, &tokens);
    assert_eq!(mode(&fx.path("vault.key")) & 0o777, 0o600);
    let store = fx.path("vault.sqlite");
    let run = fx.cli().args(["token", "--client-id", CLIENT_ID, "--store"]).arg(&store).run();
    run.code(0);
    assert_eq!(run.stdout.trim(), tokens.access_token().expose_secret());
    let run = fx.cli().args(["--json", "sellers", "--store"]).arg(&store).run();
    run.code(0).leaks_none(&[tokens.access_token().expose_secret(), tokens.refresh_token().unwrap().expose_secret()]);
    let listed = run.json();
    assert_eq!(listed["sellers"][0]["merchant_id"], MERCHANT);
    assert_eq!(listed["sellers"][0]["health"], "fresh");
    assert_eq!(listed["sellers"][0]["flow"], "pkce");
}

#[test]
fn an_unknown_seller_is_a_usage_error_and_a_store_without_its_key_gets_no_new_one() {
    let fx = Fixture::new();
    put(&fx, &fx.code_flow_tokens());
    let store = fx.path("vault.sqlite");
    fx.cli()
        .args(["token", "--client-id", CLIENT_ID, "--merchant", "NOSUCHSELLER", "--store"])
        .arg(&store)
        .run()
        .code(2);
    let key = fx.path("vault.key");
    std::fs::remove_file(&key).unwrap();
    // A vault that holds sellers gets no new key: it would seal the next rows with a key the
    // old ones lack.
    let run = fx.cli().args(["token", "--client-id", CLIENT_ID, "--store"]).arg(&store).run();
    run.code(2);
    assert!(run.stderr.contains("no key for it here"), "{}", run.stderr);
    assert!(!key.exists(), "no key file was made");
    // Another key does not open the old rows.
    square_oauth_vault::Key::from_file_or_create(&key).unwrap();
    let run = fx.cli().args(["token", "--client-id", CLIENT_ID, "--store"]).arg(&store).run();
    run.code(1);
    assert!(run.stderr.contains("wrong key"), "{}", run.stderr);
}

#[test]
fn a_new_key_with_the_old_one_as_older_reads_and_reseals_the_old_rows() {
    let fx = Fixture::new();
    let tokens = fx.pkce_tokens();
    put(&fx, &tokens);
    let store = fx.path("vault.sqlite");
    let old = Key::from_file(&fx.path("vault.key")).unwrap().to_base64();
    let new = Key::generate().to_base64();
    // The fleet is given the new key: alone, it cannot open the old rows.
    let token =
        || fx.cli().args(["token", "--client-id", CLIENT_ID, "--store"]).arg(&store).env("SQUARE_VAULT_KEY", &new);
    token().run().code(1);
    // With the old key as an older one, it reads them.
    let run = token().env("SQUARE_VAULT_OLDER_KEYS", &format!(" {} ,", *old)).run();
    run.code(0);
    assert_eq!(run.stdout.trim(), tokens.access_token().expose_secret());
    // A malformed older key is a usage error that does not echo the value.
    let run = token().env("SQUARE_VAULT_OLDER_KEYS", "not-a-key-SECRETISH").run();
    run.code(2);
    assert!(run.stderr.contains("SQUARE_VAULT_OLDER_KEYS") && !run.stderr.contains("SECRETISH"), "{}", run.stderr);
    // rotate-key under the new key re-seals the rows of the older ones; then the new key alone
    // opens them.
    let new_file = fx.path("new.key");
    std::fs::write(&new_file, &*Key::generate().to_base64()).unwrap();
    fx.cli()
        .args(["rotate-key", "--store"])
        .arg(&store)
        .arg("--new-key-file")
        .arg(&new_file)
        .env("SQUARE_VAULT_KEY", &new)
        .env("SQUARE_VAULT_OLDER_KEYS", &old)
        .run()
        .code(0);
    let newest = std::fs::read_to_string(&new_file).unwrap();
    let run = fx
        .cli()
        .args(["token", "--client-id", CLIENT_ID, "--store"])
        .arg(&store)
        .env("SQUARE_VAULT_KEY", newest.trim())
        .run();
    run.code(0);
    assert_eq!(run.stdout.trim(), tokens.access_token().expose_secret());
}

#[test]
fn rotate_key_reseals_and_a_refresher_round_leaves_fresh_sellers_alone() {
    let fx = Fixture::new();
    put(&fx, &fx.code_flow_tokens());
    let store = fx.path("vault.sqlite");
    let run = fx
        .cli()
        .args(["--json", "rotate-key", "--store"])
        .arg(&store)
        .arg("--new-key-file")
        .arg(fx.path("new.key"))
        .run();
    run.code(0);
    assert_eq!(run.json()["resealed"], 1);
    let then = run.json()["then"].as_str().unwrap().to_owned();
    assert!(then.contains(&format!("over {}", fx.path("vault.key").display())), "{then}");
    std::fs::rename(fx.path("new.key"), fx.path("vault.key")).unwrap();
    let run = fx
        .cli()
        .args(["--json", "refresher", "--once", "--client-id", CLIENT_ID, "--client-secret", SENTINEL, "--store"])
        .arg(&store)
        .run();
    run.code(0);
    assert_eq!(run.json()["refreshed"], 0, "nothing is due yet");
    let run = fx.cli().args(["sellers", "--store"]).arg(&store).run();
    run.code(0);
    assert!(run.stdout.contains("fresh"), "{}", run.stdout);
}

#[test]
fn refresh_merchant_refreshes_through_the_vault_and_logout_revokes_and_forgets() {
    let fx = Fixture::new();
    let tokens = fx.code_flow_tokens();
    put(&fx, &tokens);
    let store = fx.path("vault.sqlite");
    fx.cli()
        .args(["refresh", "--merchant", MERCHANT, "--client-id", CLIENT_ID, "--client-secret", SENTINEL, "--store"])
        .arg(&store)
        .run()
        .code(0);
    let run = fx.cli().args(["token", "--client-id", CLIENT_ID, "--store"]).arg(&store).run();
    run.code(0);
    assert_ne!(run.stdout.trim(), tokens.access_token().expose_secret(), "the token was refreshed");
    let run = fx.cli().args(["--json", "refresh", "--all-due", "--client-id", CLIENT_ID, "--store"]).arg(&store).run();
    run.code(0);
    assert_eq!(run.json()["refreshed"], 0);
    fx.cli()
        .args(["logout", "--merchant", MERCHANT, "--client-id", CLIENT_ID, "--client-secret", SENTINEL, "--store"])
        .arg(&store)
        .run()
        .code(0)
        .leaks_none(&[SENTINEL]);
    let run = fx.cli().args(["--json", "sellers", "--store"]).arg(&store).run();
    assert_eq!(run.json()["sellers"].as_array().unwrap().len(), 0);
    // Square no longer takes the old refresh token.
    let refresh = square_oauth::ObtainToken::refresh(
        ClientId::new(CLIENT_ID),
        ClientSecret::new(SENTINEL),
        tokens.refresh_token().unwrap().clone(),
    );
    assert!(send(&square_oauth::Config::custom(&fx.base_url()).unwrap(), &refresh).is_err());
}

#[test]
fn the_refresher_receives_the_revocation_webhook_and_marks_the_seller_revoked() {
    let fx = Fixture::new();
    put(&fx, &fx.code_flow_tokens());
    let store = fx.path("vault.sqlite");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/square/webhooks");
    let mut refresher = std::process::Command::new(env!("CARGO_BIN_EXE_square-oauth"))
        .args(["--base-url", &fx.base_url(), "refresher", "--client-id", CLIENT_ID, "--client-secret", SENTINEL])
        .args(["--webhook-listen", &format!("127.0.0.1:{port}"), "--webhook-url", &url])
        .args(["--webhook-signature-key", "cli-webhook-key", "--store"])
        .arg(&store)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the listener, then revoke at the fake, which sends the signed webhook.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "the refresher does not listen");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    fx.square.webhook(&url, "cli-webhook-key");
    let revoke = square_oauth::RevokeToken::merchant(
        ClientId::new(CLIENT_ID),
        ClientSecret::new(SENTINEL),
        square_oauth::MerchantId::new(MERCHANT),
    );
    send(&square_oauth::Config::custom(&fx.base_url()).unwrap(), &revoke).unwrap();
    let mut health = String::new();
    while std::time::Instant::now() < deadline {
        let run = fx.cli().args(["--json", "sellers", "--store"]).arg(&store).run();
        health = run.json()["sellers"][0]["health"].as_str().unwrap_or_default().to_owned();
        if health == "revoked" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    refresher.kill().unwrap();
    refresher.wait().unwrap();
    assert_eq!(health, "revoked");
}

#[test]
fn login_with_a_store_puts_the_grant_in_the_vault() {
    let fx = Fixture::new();
    let store = fx.path("vault.sqlite");
    let run = fx
        .cli()
        .args(["login", "--client-id", CLIENT_ID, "--no-browser", "--wait", "60s"])
        .args(["--redirect-port", &fx.redirect_port.to_string(), "--store"])
        .arg(&store)
        .run_with_browser(|url| {
            approve_and_follow(&fx.square, url);
        });
    run.code(0);
    let listed = fx.cli().args(["--json", "sellers", "--store"]).arg(&store).run();
    assert_eq!(listed.json()["sellers"][0]["merchant_id"], MERCHANT);
    assert_eq!(listed.json()["sellers"][0]["flow"], "pkce");
    let token = fx.cli().args(["token", "--client-id", CLIENT_ID, "--store"]).arg(&store).run();
    token.code(0);
    assert!(token.stdout.trim().starts_with("EAAA"), "{}", token.stdout);
    run.leaks_none(&[token.stdout.trim()]);
}

#[test]
fn a_plain_code_flow_login_lands_in_the_default_vault_and_out_still_writes_the_token_file() {
    let fx = Fixture::new();
    let out = fx.path("tokens.json");
    let run = fx
        .cli()
        .env("SQUARE_CLIENT_SECRET", SENTINEL)
        .args(["login", "--client-id", CLIENT_ID, "--no-browser", "--wait", "60s"])
        .args(["--redirect-port", &fx.redirect_port.to_string(), "--out"])
        .arg(&out)
        .run_with_browser(|url| {
            approve_and_follow(&fx.square, url);
        });
    run.code(0);
    let store = fx.default_store();
    assert!(store.is_file(), "no vault at {}", store.display());
    assert_eq!(mode(&store.with_file_name("vault.key")), 0o600);
    let listed = fx.cli().args(["--json", "sellers"]).run();
    listed.code(0);
    assert_eq!(listed.json()["sellers"][0]["merchant_id"], MERCHANT);
    assert_eq!(listed.json()["sellers"][0]["flow"], "code_flow");
    let token = fx.cli().args(["token", "--client-id", CLIENT_ID]).run();
    token.code(0);
    let access = token.stdout.trim();
    let file: square_oauth::TokenSet = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(access, file.access_token().expose_secret(), "the vault and the token file hold the same grant");
    let status = send(
        &square_oauth::Config::custom(&fx.base_url()).unwrap(),
        &square_oauth::RetrieveTokenStatus::new(square_oauth::AccessToken::new(access)),
    )
    .expect("the fake accepts the vault's token");
    assert_eq!(status.merchant_id.as_ref().map(|m| m.as_str()), Some(MERCHANT));
}

/// A PKCE refresh token is single-use: two copies cannot both stay valid, so a PKCE login with
/// `--out` keeps its grant in the token file alone, and asking for a vault too is refused
/// before anything is sent.
#[test]
fn a_pkce_login_keeps_its_single_use_refresh_token_in_one_place() {
    let fx = Fixture::new();
    let out = fx.path("tokens.json");
    let login = || {
        fx.cli()
            .args(["login", "--client-id", CLIENT_ID, "--no-browser", "--wait", "60s"])
            .args(["--redirect-port", &fx.redirect_port.to_string(), "--out"])
            .arg(&out)
    };
    let both = login().arg("--store").arg(fx.path("vault.sqlite")).run();
    both.code(2);
    assert!(both.stderr.contains("single-use"), "{}", both.stderr);
    assert!(fx.square.requests().is_empty(), "nothing sent");
    assert!(!out.exists() && !fx.path("vault.sqlite").exists());

    let run = login().run_with_browser(|url| {
        approve_and_follow(&fx.square, url);
    });
    run.code(0);
    assert!(run.stderr.contains("Not stored in the vault"), "{}", run.stderr);
    assert!(!fx.default_store().exists(), "no second copy in the default vault");
    let file: square_oauth::TokenSet = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(file.flow(), square_oauth::Flow::Pkce);
}

#[test]
fn migrate_on_a_sqlite_file_creates_its_schema_and_says_its_version() {
    let fx = Fixture::new();
    let store = fx.path("fresh/vault.sqlite");
    let run = fx.cli().args(["--json", "migrate", "--store"]).arg(&store).run();
    run.code(0);
    let said = run.json();
    assert_eq!(said["store"], "sqlite");
    assert_eq!(said["schema_version"], 1);
    assert!(store.is_file(), "no vault at {}", store.display());
    // The file is a vault: the other commands open it.
    let listed = fx.cli().args(["--json", "sellers"]).env("SQUARE_STORE", store.to_str().unwrap()).run();
    listed.code(0);
    assert_eq!(listed.json()["sellers"].as_array().unwrap().len(), 0);
}

/// A database URL with a password in both places one may be, pointing at a loopback port where
/// nothing listens.
fn unreachable_database(password: &str) -> [String; 2] {
    let port = free_port();
    [
        format!("postgres://vault:{password}@127.0.0.1:{port}/market"),
        format!("postgresql://vault@127.0.0.1:{port}/market?connect_timeout=5&password={password}"),
    ]
}

#[cfg(feature = "postgres")]
#[test]
fn a_database_that_does_not_answer_is_a_local_failure_that_never_shows_the_password() {
    let fx = Fixture::new();
    let password = "SENTINEL-database-password";
    for url in unreachable_database(password) {
        for command in [&["sellers"][..], &["migrate"], &["token", "--client-id", CLIENT_ID]] {
            let by_flag = fx.cli().arg("--json").args(command).args(["--store", &url]).run();
            let by_env = fx.cli().args(command).env("SQUARE_STORE", &url).run();
            for run in [&by_flag, &by_env] {
                run.code(1).leaks_none(&[password]);
                assert!(run.stderr.contains("postgres://vault@127.0.0.1:"), "{}", run.stderr);
            }
            let error = &by_flag.json()["error"];
            assert!(error["message"].as_str().unwrap().contains("PostgreSQL: connect"), "{error}");
        }
    }
}

#[cfg(not(feature = "postgres"))]
#[test]
fn without_the_postgres_feature_a_database_url_is_a_usage_error_that_never_shows_the_password() {
    let fx = Fixture::new();
    let password = "SENTINEL-database-password";
    for url in unreachable_database(password) {
        let run = fx.cli().args(["--json", "sellers", "--store", &url]).run();
        run.code(2).leaks_none(&[password]);
        assert!(run.stderr.contains("without PostgreSQL support"), "{}", run.stderr);
    }
}

#[test]
fn a_refresh_square_refuses_is_one_json_document_and_exit_3() {
    let fx = Fixture::new();
    let tokens = fx.code_flow_tokens();
    put(&fx, &tokens);
    let store = fx.path("vault.sqlite");
    // The seller revoked the application at Square: its refresh token is dead.
    let revoke = square_oauth::RevokeToken::merchant(
        ClientId::new(CLIENT_ID),
        ClientSecret::new(SENTINEL),
        square_oauth::MerchantId::new(MERCHANT),
    );
    send(&square_oauth::Config::custom(&fx.base_url()).unwrap(), &revoke).unwrap();
    let run = fx
        .cli()
        .args(["--json", "refresh", "--merchant", MERCHANT, "--client-id", CLIENT_ID, "--client-secret", SENTINEL])
        .arg("--store")
        .arg(&store)
        .run();
    run.code(3);
    let doc = run.json();
    assert_eq!(doc["ok"], false, "{doc}");
    assert_eq!(doc["error"]["merchant_id"], MERCHANT, "{doc}");
    assert_eq!(doc["error"]["outcome"], "MustAuthorize", "{doc}");
}

/// The vault commands choose Square's environment from the application id as `login` does: a
/// `sandbox-` id with `--production` is refused before anything is sent.
#[test]
fn a_sandbox_application_id_is_refused_against_production_before_anything_is_sent() {
    let fx = Fixture::new();
    put(&fx, &fx.code_flow_tokens());
    let store = fx.path("vault.sqlite");
    for command in
        [&["refresh", "--merchant", MERCHANT][..], &["token", "--merchant", MERCHANT], &["refresher", "--once"]]
    {
        let run = Cli::new()
            .home(fx.home.path())
            .arg("--production")
            .args(command)
            .args(["--client-id", "sandbox-sq0idb-vault-test", "--store"])
            .arg(&store)
            .run();
        run.code(2);
        assert!(run.stderr.contains("sandbox"), "{command:?}: {}", run.stderr);
    }
}

/// `revoke` changes no vault, but says when the default one still lists the seller it revoked.
#[test]
fn revoke_says_when_the_default_vault_still_holds_the_seller() {
    let fx = Fixture::new();
    put_in(&fx.default_store(), &fx.code_flow_tokens());
    let revoke = |only_access: bool| {
        let cli = fx.cli().env("SQUARE_CLIENT_SECRET", SENTINEL);
        let cli = cli.args(["revoke", "--client-id", CLIENT_ID, "--merchant-id", MERCHANT]);
        if only_access { cli.arg("--only-access-token").run() } else { cli.run() }
    };
    let run = revoke(true);
    run.code(0);
    assert!(!run.stderr.contains("still holds"), "the authorization stands: {}", run.stderr);
    let run = revoke(false);
    run.code(0);
    assert!(run.stderr.contains(&format!("still holds merchant {MERCHANT}")), "{}", run.stderr);
    assert!(run.stderr.contains("logout"), "{}", run.stderr);
    let listed = fx.cli().args(["--json", "sellers"]).run();
    assert_eq!(listed.json()["sellers"].as_array().unwrap().len(), 1, "revoke changed no vault");
}

#[test]
fn refresh_all_due_fails_when_a_seller_was_not_refreshed_and_says_what_to_do() {
    let due = |fx: &Fixture| {
        let tokens = fx.pkce_tokens_obtained(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 8));
        put(fx, &tokens);
        fx.path("vault.sqlite")
    };
    let refresh_all_due = |fx: &Fixture, store: &std::path::Path| {
        fx.cli().args(["--json", "refresh", "--all-due", "--client-id", CLIENT_ID, "--store"]).arg(store).run()
    };
    // Square busy throughout: the vault tries again later (exit 4).
    let fx = Fixture::new();
    let store = due(&fx);
    fx.square.fault("/oauth2/token", square_oauth_mock::Fault::Status { status: 503, retry_after: None }, 10);
    let run = refresh_all_due(&fx, &store);
    run.code(4);
    let error = &run.json()["error"];
    assert_eq!((error["refreshed"].as_u64(), error["failed"].as_u64()), (Some(0), Some(1)), "{}", run.stdout);
    assert_eq!(error["must_authorize"], 0);
    // Why, from the vault, on standard error: the operator's log says what Square answered.
    assert!(run.stderr.contains("refresh failed") && run.stderr.contains("Square is busy"), "{}", run.stderr);
    assert!(run.stderr.contains(MERCHANT), "{}", run.stderr);
    // The seller revoked the application: someone has to act (exit 3), and the text says so.
    let fx = Fixture::new();
    let store = due(&fx);
    fx.square.seller_revokes(CLIENT_ID, MERCHANT).unwrap();
    let run = refresh_all_due(&fx, &store);
    run.code(3);
    assert_eq!(run.json()["error"]["must_authorize"], 1, "{}", run.stdout);
    let run = fx.cli().args(["refresh", "--all-due", "--client-id", CLIENT_ID, "--store"]).arg(&store).run();
    run.code(0);
    assert!(run.stdout.contains("refreshed 0, not refreshed 0"), "nothing is due now: {}", run.stdout);
    // A seller refreshed: exit 0, every count in the document.
    let fx = Fixture::new();
    let store = due(&fx);
    let run = refresh_all_due(&fx, &store);
    run.code(0);
    let report = run.json();
    assert_eq!((report["ok"].as_bool(), report["refreshed"].as_u64()), (Some(true), Some(1)), "{}", run.stdout);
    assert_eq!(report["not_refreshed"], 0);
}
