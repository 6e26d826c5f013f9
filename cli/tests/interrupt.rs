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
