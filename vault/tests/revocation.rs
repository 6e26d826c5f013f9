//! Guarantee 7: the revocation webhook, as the fake Square sends it on a real socket, marks the
//! seller revoked; redeliveries are deduplicated; a forged or altered one is refused; a
//! revocation older than the grant held is ignored; a revoked seller is neither refreshed nor
//! served. And grants: one the store could not take is held and stored later, unless the
//! seller was granted again since.

mod common;

use square_oauth_ureq::Calls as _;
use std::io::{BufRead as _, BufReader, Read as _};
use std::net::TcpListener;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use hmac::{Hmac, Mac as _};
use square_oauth::{ClientId, ClientSecret, Flow, ObtainToken, ObtainTokenResponse, RevokeToken, WebhookSignatureKey};
use square_oauth_vault::decide::Unavailable;
use square_oauth_vault::{RefreshFailure, RefreshOutcome, RevocationOutcome, VaultError};

const SIGNATURE_KEY: &str = "vault-test-signature-key";

/// Receives one HTTP request on `listener`, as a server would hand it to the application.
fn receive(listener: &TcpListener) -> http::Request<Vec<u8>> {
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut parts = line.split_whitespace();
    let mut request = http::Request::builder().method(parts.next().unwrap()).uri(parts.next().unwrap());
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().unwrap();
        }
        request = request.header(name.trim(), value.trim());
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let mut stream = reader.into_inner();
    std::io::Write::write_all(&mut stream, b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .unwrap();
    request.body(body).unwrap()
}

fn signed(url: &str, body: &str) -> http::Request<Vec<u8>> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SIGNATURE_KEY.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    mac.update(body.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    http::Request::post(url).header("x-square-hmacsha256-signature", signature).body(body.as_bytes().to_vec()).unwrap()
}

fn never_send(_: &ObtainToken) -> Result<ObtainTokenResponse, RefreshFailure> {
    panic!("a revoked seller was refreshed")
}

#[test]
fn the_fakes_revocation_webhook_revokes_the_seller_once() {
    let square = fake();
    let dir = Dir::new("revocation", false);
    let vault = vault(&dir);
    let merchant = grant(&square, &vault, 1, Flow::CodeFlow).remove(0);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/square/webhooks", listener.local_addr().unwrap());
    square.webhook(&url, SIGNATURE_KEY);
    let revoke = RevokeToken::merchant(ClientId::new(CLIENT_ID), ClientSecret::new(SECRET), merchant.clone());
    client(&square).revoke_token(&revoke).unwrap();
    let request = receive(&listener);
    let key = WebhookSignatureKey::new(SIGNATURE_KEY);

    let mut altered = request.clone();
    altered.body_mut().extend_from_slice(b" ");
    assert!(matches!(vault.revocation(&key, &url, &altered), Err(VaultError::Webhook(_))));
    assert!(matches!(vault.revocation(&key, "http://elsewhere/", &request), Err(VaultError::Webhook(_))));
    assert!(vault.access_token(&merchant, &mut never_send).is_ok(), "not revoked by a refused webhook");

    assert_eq!(vault.revocation(&key, &url, &request).unwrap(), RevocationOutcome::Revoked(merchant.clone()));
    assert_eq!(vault.revocation(&key, &url, &request).unwrap(), RevocationOutcome::Duplicate(merchant.clone()));
    let error = vault.access_token(&merchant, &mut never_send).unwrap_err();
    assert!(matches!(error, VaultError::Unavailable { reason: Unavailable::Revoked, .. }), "{error}");
    let outcome = vault.refresh(&merchant, true, &mut never_send).unwrap();
    assert!(matches!(outcome, RefreshOutcome::Unavailable(Unavailable::Revoked)));
    assert_eq!(vault.health().unwrap().count(square_oauth_vault::decide::Health::Revoked), 1);
}

#[test]
fn a_revocation_older_than_the_grant_held_is_ignored() {
    let square = fake();
    let dir = Dir::new("revocation-old", false);
    let vault = vault(&dir);
    let merchant = grant(&square, &vault, 1, Flow::Pkce).remove(0);
    let url = "https://example.com/square/webhooks";
    let key = WebhookSignatureKey::new(SIGNATURE_KEY);
    let event = |id: &str, at: &str| {
        format!(
            r#"{{"merchant_id":"{merchant}","type":"oauth.authorization.revoked","event_id":"{id}","created_at":"{at}","data":{{"type":"revocation","id":"r","object":{{"revocation":{{"revoked_at":"{at}","revoker_type":"MERCHANT"}}}}}}}}"#
        )
    };
    let before = "2020-01-01T00:00:00Z";
    assert_eq!(
        vault.revocation(&key, url, &signed(url, &event("e-old", before))).unwrap(),
        RevocationOutcome::OlderThanGrant(merchant.clone())
    );
    assert!(vault.access_token(&merchant, &mut never_send).is_ok());
    let now = square_oauth::jiff::Timestamp::now().to_string();
    assert_eq!(
        vault.revocation(&key, url, &signed(url, &event("e-new", &now))).unwrap(),
        RevocationOutcome::Revoked(merchant.clone())
    );
    let unknown = signed(url, &event("e-other", &now).replace(merchant.as_str(), "NOSUCHSELLER"));
    assert!(matches!(vault.revocation(&key, url, &unknown).unwrap(), RevocationOutcome::UnknownSeller(_)));
}

/// A vault in `dir` whose store is down (its `update`s fail) until the test says otherwise.
fn vault_with_store_down(dir: &Dir) -> square_oauth_vault::Vault<Counting<square_oauth_vault::SqliteStore>> {
    let store = Counting::new(square_oauth_vault::SqliteStore::open(&dir.db()).unwrap());
    store.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let key = square_oauth_vault::Key::from_file_or_create(&dir.key_file()).unwrap();
    square_oauth_vault::Vault::new(store, square_oauth_vault::Keyring::new(key), settings())
}

#[test]
fn a_grant_the_store_fails_to_take_is_held_and_stored_later_unless_granted_again() {
    use std::sync::atomic::Ordering;
    let square = fake();
    let dir = Dir::new("late-grant", false);
    let vault = vault_with_store_down(&dir);
    let first = grants(&square, 1, Flow::CodeFlow).remove(0);
    let merchant = first.merchant_id().clone();
    let put = vault.put(&first);
    assert!(matches!(&put, Err(VaultError::NotYetStored { merchant_id, .. }) if *merchant_id == merchant), "{put:?}");
    assert_eq!(vault.held(), 1);
    assert!(matches!(vault.tokens(&merchant), Err(VaultError::UnknownSeller(_))), "not stored yet");
    // Still down: held, and said so.
    assert!(vault.store_held().is_err());
    assert_eq!(vault.held(), 1);
    vault.store().down.store(false, Ordering::SeqCst);
    // A reader of the seller gets the held grant, stored first.
    let stored = vault.tokens(&merchant).unwrap();
    assert_eq!(stored.access_token().expose_secret(), first.access_token().expose_secret());
    assert_eq!(vault.held(), 0);
    let granted_at = vault.record(&merchant).unwrap().granted_at;
    assert_eq!(vault.store_held().unwrap(), 0, "stored once");
    assert_eq!(vault.record(&merchant).unwrap().granted_at, granted_at);

    // A grant held while the seller authorizes again and that one is stored: the newer wins.
    let answer = |access: &str| -> ObtainTokenResponse {
        serde_json::from_value(serde_json::json!({
            "access_token": access, "token_type": "bearer", "expires_at": "2099-01-01T00:00:00Z",
            "merchant_id": merchant.as_str(), "refresh_token": format!("EQAA-{access}"),
        }))
        .unwrap()
    };
    let set = |access: &str| {
        let now = square_oauth::jiff::Timestamp::now();
        square_oauth::TokenSet::from_response(Flow::CodeFlow, ClientId::new(CLIENT_ID), answer(access), now).unwrap()
    };
    vault.store().down.store(true, Ordering::SeqCst);
    assert!(vault.put(&set("EAAA-second")).is_err());
    vault.store().down.store(false, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(2));
    vault.put(&set("EAAA-third")).unwrap();
    assert_eq!(vault.store_held().unwrap(), 0, "the older grant is dropped, not kept");
    assert_eq!(vault.tokens(&merchant).unwrap().access_token().expose_secret(), "EAAA-third");

    // The seller revokes while a grant is held: one given before the revocation is revoked
    // with it, even while the store is away.
    let url = "https://example.com/square/webhooks";
    let key = WebhookSignatureKey::new(SIGNATURE_KEY);
    let revocation = |id: &str, at: square_oauth::jiff::Timestamp| {
        let body = format!(
            r#"{{"merchant_id":"{merchant}","type":"oauth.authorization.revoked","event_id":"{id}","created_at":"{at}","data":{{"type":"revocation","id":"r","object":{{"revocation":{{"revoked_at":"{at}","revoker_type":"MERCHANT"}}}}}}}}"#
        );
        signed(url, &body)
    };
    vault.store().down.store(true, Ordering::SeqCst);
    assert!(vault.put(&set("EAAA-revoked-with-it")).is_err());
    let after = square_oauth::jiff::Timestamp::now() + square_oauth::jiff::SignedDuration::from_secs(1);
    assert!(vault.revocation(&key, url, &revocation("e1", after)).is_err(), "the store is away: Square sends it again");
    assert_eq!(vault.held(), 0, "the held grant went with the revocation");
    vault.store().down.store(false, Ordering::SeqCst);
    assert_eq!(
        vault.revocation(&key, url, &revocation("e1", after)).unwrap(),
        RevocationOutcome::Revoked(merchant.clone())
    );
    assert!(vault.access_token(&merchant, &mut never_send).is_err(), "revoked, and never served");
    // A grant held over a seller marked revoked is not stored: when the revocation happened
    // is not recorded, so it may be of this very grant. The seller authorizes again.
    vault.store().down.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(2));
    assert!(vault.put(&set("EAAA-after-the-revocation")).is_err());
    vault.store().down.store(false, Ordering::SeqCst);
    assert_eq!(vault.store_held().unwrap(), 0, "dropped, not kept");
    assert!(vault.access_token(&merchant, &mut never_send).is_err(), "still revoked");
    // A grant held when the seller is forgotten (a logout) is forgotten with it.
    vault.store().down.store(true, Ordering::SeqCst);
    assert!(vault.put(&set("EAAA-logged-out")).is_err());
    vault.store().down.store(false, Ordering::SeqCst);
    assert!(vault.forget(&merchant).unwrap());
    assert_eq!(vault.held(), 0);
    assert!(matches!(vault.tokens(&merchant), Err(VaultError::UnknownSeller(_))));
}

#[test]
fn a_seller_forgotten_while_its_held_grant_is_being_stored_stays_forgotten() {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    let square = fake();
    let dir = Dir::new("forget-race", false);
    let vault = Arc::new(vault_with_store_down(&dir));
    let grant = grants(&square, 1, Flow::CodeFlow).remove(0);
    let merchant = grant.merchant_id().clone();
    assert!(matches!(vault.put(&grant), Err(VaultError::NotYetStored { .. })));
    vault.store().down.store(false, Ordering::SeqCst);
    // The logout lands between the held grant's copy and its write.
    let (forgetting, seller) = (Arc::downgrade(&vault), merchant.clone());
    *vault.store().before_update.lock().unwrap() = Some(Box::new(move || {
        let vault = forgetting.upgrade().unwrap();
        assert!(!vault.forget(&seller).unwrap(), "nothing stored yet");
    }));
    vault.store_held().unwrap();
    assert_eq!(vault.held(), 0);
    assert!(matches!(vault.tokens(&merchant), Err(VaultError::UnknownSeller(_))), "not brought back");
}
