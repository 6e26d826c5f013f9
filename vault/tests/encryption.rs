//! Guarantee 6: sealed at rest. A wrong key, a tampered byte and rows swapped each give their
//! own typed error; `rotate_key` re-seals every row; no token is in the file in clear.

mod common;

use common::*;
use rusqlite::Connection;
use square_oauth::{Flow, MerchantId, ObtainToken, ObtainTokenResponse};
use square_oauth_ureq::Calls as _;
use square_oauth_vault::{Key, Keyring, RefreshFailure, RefreshOutcome, SealError, SqliteStore, Vault, VaultError};

fn blob(dir: &Dir, merchant: &MerchantId, column: &str) -> Vec<u8> {
    let c = Connection::open(dir.db()).unwrap();
    c.query_row(&format!("SELECT {column} FROM sellers WHERE merchant_id = ?1"), [merchant.as_str()], |r| r.get(0))
        .unwrap()
}

fn set_blob(dir: &Dir, merchant: &MerchantId, column: &str, value: &[u8]) {
    let c = Connection::open(dir.db()).unwrap();
    c.execute(
        &format!("UPDATE sellers SET {column} = ?1 WHERE merchant_id = ?2"),
        rusqlite::params![value, merchant.as_str()],
    )
    .unwrap();
}

#[test]
fn a_wrong_key_is_refused_by_name() {
    let square = fake();
    let dir = Dir::new("wrong-key", false);
    let merchant = grant(&square, &vault(&dir), 1, Flow::CodeFlow).remove(0);
    let stranger = Vault::new(SqliteStore::open(&dir.db()).unwrap(), Keyring::new(Key::generate()), settings());
    let error = stranger.tokens(&merchant).unwrap_err();
    assert!(matches!(error, VaultError::Seal(SealError::UnknownKey { .. })), "{error}");
}

#[test]
fn a_tampered_byte_is_refused() {
    let square = fake();
    let dir = Dir::new("tampered", false);
    let vault = vault(&dir);
    let merchant = grant(&square, &vault, 1, Flow::Pkce).remove(0);
    let mut sealed = blob(&dir, &merchant, "refresh_token");
    let last = sealed.len() - 1;
    sealed[last] ^= 0x40;
    set_blob(&dir, &merchant, "refresh_token", &sealed);
    let error = vault.tokens(&merchant).unwrap_err();
    assert!(matches!(error, VaultError::Seal(SealError::Tampered { .. })), "{error}");
    // A refresh of a row that does not open sends nothing and leaves no lease behind.
    let mut send = |_: &ObtainToken| -> Result<ObtainTokenResponse, RefreshFailure> { panic!("sent") };
    assert!(vault.refresh(&merchant, true, &mut send).is_err());
    assert!(vault.record(&merchant).unwrap().lease.is_none());
}

#[test]
fn a_ciphertext_copied_to_another_row_does_not_open() {
    let square = fake();
    let dir = Dir::new("swapped", false);
    let vault = vault(&dir);
    let sellers = grant(&square, &vault, 2, Flow::CodeFlow);
    let theirs = blob(&dir, &sellers[0], "access_token");
    set_blob(&dir, &sellers[1], "access_token", &theirs);
    let error = vault.tokens(&sellers[1]).unwrap_err();
    assert!(
        matches!(&error, VaultError::Seal(SealError::SwappedRow { found_merchant, .. }) if found_merchant == sellers[0].as_str()),
        "{error}"
    );
    assert!(vault.tokens(&sellers[0]).is_ok());
}

#[test]
fn rotate_key_reseals_every_row_under_the_new_key() {
    let square = fake();
    let dir = Dir::new("rotate", false);
    let old = Key::from_file_or_create(&dir.key_file()).unwrap();
    let sellers = grant(&square, &vault(&dir), 5, Flow::Pkce);
    let new = Key::generate();
    let rotating = Vault::new(
        SqliteStore::open(&dir.db()).unwrap(),
        Keyring::new(new.clone()).with_older(old.clone()),
        settings(),
    );
    assert_eq!(rotating.rotate_key().unwrap(), 5);
    assert_eq!(rotating.rotate_key().unwrap(), 0, "a second rotation has nothing to do");
    let only_new = Vault::new(SqliteStore::open(&dir.db()).unwrap(), Keyring::new(new), settings());
    let only_old = Vault::new(SqliteStore::open(&dir.db()).unwrap(), Keyring::new(old), settings());
    for merchant in &sellers {
        assert!(only_new.tokens(merchant).is_ok());
        assert!(matches!(only_old.tokens(merchant), Err(VaultError::Seal(SealError::UnknownKey { .. }))));
    }
}

#[test]
fn the_vault_does_not_start_without_a_key() {
    assert!(matches!(Key::from_env("SQUARE_VAULT_KEY_THAT_IS_NOT_SET"), Err(SealError::NoKey)));
    assert!(matches!(Key::from_base64("bm90IGEga2V5"), Err(SealError::MalformedKey)));
    let dir = Dir::new("no-key", false);
    assert!(matches!(Key::from_file(&dir.key_file()), Err(SealError::KeyFile { .. })));
    let created = Key::from_file_or_create(&dir.key_file()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(dir.key_file()).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(Key::from_file_or_create(&dir.key_file()).unwrap().id_hex(), created.id_hex());
}

/// Processes starting together each make the key when there is none: every one must end with
/// the same key, none may read a key file half written, and no temporary file stays behind.
#[test]
fn machines_starting_together_share_one_whole_key() {
    let dir = Dir::new("key-race", false);
    for round in 0..40 {
        let path = dir.key_file().with_file_name(format!("vault-{round}.key"));
        let barrier = std::sync::Barrier::new(8);
        let ids: Vec<String> = std::thread::scope(|scope| {
            let started: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        Key::from_file_or_create(&path).expect("the key, made or read whole").id_hex()
                    })
                })
                .collect();
            started.into_iter().map(|thread| thread.join().unwrap()).collect()
        });
        assert!(ids.iter().all(|id| *id == ids[0]), "round {round}: {ids:?}");
        assert_eq!(Key::from_file(&path).unwrap().id_hex(), ids[0]);
    }
    let left: Vec<_> = std::fs::read_dir(&dir.0).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 40, "only the keys remain: {left:?}");
}

#[test]
fn no_token_issued_is_in_the_file_or_its_wal_in_clear() {
    let square = fake();
    let dir = Dir::new("clear", false);
    let vault = vault(&dir);
    let mut sellers = grant(&square, &vault, 5, Flow::Pkce);
    sellers.extend(grant(&square, &vault, 5, Flow::CodeFlow));
    let client = client(&square);
    let mut issued: Vec<String> = Vec::new();
    for merchant in &sellers {
        let tokens = vault.tokens(merchant).unwrap();
        issued.push(tokens.access_token().expose_secret().to_owned());
        issued.extend(tokens.refresh_token().map(|t| t.expose_secret().to_owned()));
    }
    for _ in 0..3 {
        for merchant in &sellers {
            let mut send = |operation: &ObtainToken| {
                let answer = client.obtain_token(operation).map_err(square_oauth_vault::transport::from_call)?;
                issued.extend(answer.access_token.as_ref().map(|t| t.expose_secret().to_owned()));
                issued.extend(answer.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()));
                Ok(answer)
            };
            assert!(matches!(vault.refresh(merchant, true, &mut send).unwrap(), RefreshOutcome::Refreshed));
        }
    }
    let mut bytes = std::fs::read(dir.db()).unwrap();
    let wal = dir.0.join("vault.sqlite-wal");
    bytes.extend(std::fs::read(&wal).unwrap_or_default());
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    // The search sees what is in clear: merchant ids are.
    assert!(contains(sellers[0].as_str().as_bytes()));
    assert_eq!(issued.len(), 20 + 3 * 10 * 2);
    let found: Vec<_> = issued.iter().filter(|token| contains(token.as_bytes())).collect();
    assert!(found.is_empty(), "{} tokens in clear", found.len());
}
