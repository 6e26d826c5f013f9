//! Guarantee 2 with a real pause: a refresher stopped with SIGSTOP between Square's answer and
//! its store, past its lease, then resumed, cannot overwrite what a later holder stored; and a
//! PKCE holder's late answer is still taken, its token never presented by anyone else.

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Command};
use std::time::Duration;

use common::*;
use square_oauth::Flow;
use square_oauth_vault::RefreshOutcome;
use square_oauth_vault::decide::SellerState;

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args([name, &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
}

/// Starts a holder that refreshes `merchant` with a 300 ms lease, stops it with SIGSTOP once
/// Square has answered it, waits past the lease, runs `meanwhile`, resumes it and returns
/// what it reports.
fn paused_holder(
    square: &square_oauth_mock::MockSquare,
    dir: &Dir,
    merchant: &str,
    meanwhile: impl FnOnce(),
) -> String {
    let mut holder = refresher(square, dir, &["--pause-after-send", merchant, "--lease-ms", "300"]);
    let mut out = BufReader::new(holder.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "answered ok=true");
    signal(&holder, "-STOP");
    std::thread::sleep(Duration::from_millis(400));
    meanwhile();
    holder.stdin.take().unwrap().write_all(b"go\n").unwrap();
    signal(&holder, "-CONT");
    line.clear();
    out.read_line(&mut line).unwrap();
    assert!(holder.wait().unwrap().success());
    line.trim().to_owned()
}

#[test]
fn a_code_flow_holder_paused_past_its_lease_cannot_overwrite_newer_tokens() {
    let square = fake();
    let dir = Dir::new("pause-code", false);
    let vault = vault(&dir);
    let merchant = grant(&square, &vault, 1, Flow::CodeFlow).remove(0);
    let client = client(&square);
    let mut newer = None;
    let reported = paused_holder(&square, &dir, merchant.as_str(), || {
        assert!(matches!(vault.refresh(&merchant, true, &mut sender(&client)).unwrap(), RefreshOutcome::Refreshed));
        newer = Some(vault.tokens(&merchant).unwrap().access_token().expose_secret().to_owned());
    });
    assert_eq!(reported, "finished stale");
    let stored = vault.tokens(&merchant).unwrap();
    assert_eq!(Some(stored.access_token().expose_secret()), newer.as_deref());
    assert_eq!(vault.record(&merchant).unwrap().refreshes, 1);
}

#[test]
fn a_pkce_holder_paused_past_its_lease_is_waited_for_and_its_late_answer_kept() {
    let square = fake();
    let dir = Dir::new("pause-pkce", false);
    let vault = vault(&dir);
    let merchant = grant(&square, &vault, 1, Flow::Pkce).remove(0);
    let client = client(&square);
    let reported = paused_holder(&square, &dir, merchant.as_str(), || {
        // Someone else wants to refresh: the token may be spent, so nothing is sent.
        let outcome = vault.refresh(&merchant, true, &mut |_: &square_oauth::ObtainToken| -> Result<_, _> {
            panic!("a PKCE refresh token whose outcome is unknown was about to be presented")
        });
        assert!(matches!(outcome.unwrap(), RefreshOutcome::Unavailable(_)));
        assert!(matches!(vault.record(&merchant).unwrap().state, SellerState::OutcomeUnknown { .. }));
    });
    assert_eq!(reported, "finished refreshed");
    assert_eq!(vault.record(&merchant).unwrap().state, SellerState::Active);
    assert!(accepted_by_fake(&vault, &client, &merchant));
    assert_eq!(square.refused_reuses(), 0);
}
