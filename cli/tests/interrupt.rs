//! Ctrl-C while a command holds a temporary token file: the file is removed and the exit code
//! is 130, with a real process and a real SIGINT.
#![cfg(unix)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use square_oauth_mock::Fault;

#[test]
fn ctrl_c_during_a_refresh_leaves_the_token_file_and_no_temporary_file() {
    let fx = Fixture::new();
    let path = fx.token_file("tokens.json", &fx.pkce_tokens());
    let before = std::fs::read(&path).unwrap();
    // Square takes its time: the refresh is in flight, its replacement file staged.
    fx.square.fault("/oauth2/token", Fault::Delay(Duration::from_secs(30)), 1);
    let mut child = Command::new(env!("CARGO_BIN_EXE_square-oauth"))
        .env_clear()
        .env("NO_COLOR", "1")
        .args(["--base-url", &fx.base_url(), "refresh", "--token-file"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_dir(fx.dir.path()).unwrap().count() < 2 {
        assert!(Instant::now() < deadline, "no temporary file appeared beside the token file");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let left: Vec<_> = std::fs::read_dir(fx.dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["tokens.json"], "only the token file is left");
    assert_eq!(std::fs::read(&path).unwrap(), before, "the token file is untouched");
}

#[test]
fn ctrl_c_during_a_login_leaves_no_token_file_and_no_temporary_file() {
    use std::io::{BufRead as _, BufReader};

    let fx = Fixture::new();
    let out = fx.path("tokens.json");
    // Square takes its time over the code exchange: the token file is staged meanwhile.
    fx.square.fault("/oauth2/token", Fault::Delay(Duration::from_secs(30)), 1);
    let mut child = Command::new(env!("CARGO_BIN_EXE_square-oauth"))
        .env_clear()
        .env("NO_COLOR", "1")
        .env("HOME", fx.home.path())
        .env("XDG_DATA_HOME", fx.home.path())
        .args(["--base-url", &fx.base_url(), "login", "--client-id", CLIENT_ID, "--no-browser"])
        .args(["--redirect-port", &fx.redirect_port.to_string(), "--out"])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Standard error is read to its end, so that the CLI never writes to a closed pipe.
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if line.trim().contains("/oauth2/authorize?") {
                let _ = tx.send(line.trim().to_owned());
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(30)).expect("the CLI prints the authorize URL");
    // The browser's request waits on the CLI, which waits on Square.
    let square = &fx.square;
    let browser = std::thread::scope(|scope| {
        let browser = scope.spawn(move || approve_and_follow(square, &url));
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::fs::read_dir(fx.dir.path()).unwrap().count() < 1 {
            assert!(Instant::now() < deadline, "no temporary file appeared beside the token file");
            std::thread::sleep(Duration::from_millis(20));
        }
        let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130));
        browser.join().unwrap()
    });
    reader.join().unwrap();
    assert_ne!(browser, 200, "the login did not finish");
    let left: Vec<_> = std::fs::read_dir(fx.dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!fx.default_store().exists(), "nothing was stored in the vault");
}

#[test]
fn sigterm_lets_the_refresher_store_the_refresh_in_flight_and_exit_cleanly() {
    use square_oauth_vault::{Key, Keyring, Settings, SqliteStore, Vault};

    let fx = Fixture::new();
    let store = fx.path("vault.sqlite");
    let vault = || {
        let key = Key::from_file_or_create(&fx.path("vault.key")).unwrap();
        let settings = Settings::new(square_oauth::ClientId::new(CLIENT_ID), None);
        Vault::new(SqliteStore::open(&store).unwrap(), Keyring::new(key), settings)
    };
    // A PKCE seller obtained 8 days ago: due, and its refresh token single-use.
    let eight_days = square_oauth::jiff::SignedDuration::from_hours(8 * 24);
    let old = fx.pkce_tokens_obtained(square_oauth::jiff::Timestamp::now() - eight_days);
    vault().put(&old).unwrap();
    let merchant = old.merchant_id().clone();
    fx.square.clear_requests();
    // Square takes its time: the refresh is in flight when the service manager stops the refresher.
    fx.square.fault("/oauth2/token", Fault::Delay(Duration::from_secs(2)), 1);
    let child = Command::new(env!("CARGO_BIN_EXE_square-oauth"))
        .env_clear()
        .env("NO_COLOR", "1")
        .args(["--base-url", &fx.base_url(), "refresher", "--client-id", CLIENT_ID, "--store"])
        .arg(&store)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !fx.square.requests().iter().any(|r| r.path == "/oauth2/token") {
        assert!(Instant::now() < deadline, "the refresher sent no refresh");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();

    assert_eq!(output.status.code(), Some(0), "a clean stop");
    assert!(String::from_utf8_lossy(&output.stdout).contains("stopped"), "{output:?}");
    let record = vault().record(&merchant).unwrap();
    assert_eq!(record.refreshes, 1, "the refresh in flight was stored: {record:?}");
    assert!(record.lease.is_none(), "{record:?}");
    let stored = vault().tokens(&merchant).unwrap();
    let (new, spent) = (stored.refresh_token().unwrap().expose_secret(), old.refresh_token().unwrap().expose_secret());
    assert_ne!(new, spent, "the rotated refresh token is the one kept");
    assert_eq!(fx.square.requests().iter().filter(|r| r.path == "/oauth2/token").count(), 1);
}
