//! The vault commands on a PostgreSQL database: `migrate`, then `token`, `sellers`, `refresh
//! --merchant`, `refresher --once` and `logout` against a seller stored by the library, the
//! store chosen by `--store` or `SQUARE_STORE`; the database's password is shown nowhere, and a
//! wrong one is a clear local failure. Run under `scripts/pg-test` (see `common/pg.rs`).
#![cfg(feature = "postgres")]

mod common;

use common::pg::PgDb;
use common::*;
use square_oauth::{ClientId, ClientSecret, MerchantId};
use square_oauth_vault::{Key, Keyring, PostgresStore, Settings, Store as _, Vault};

#[test]
fn the_vault_commands_work_on_a_database_and_never_show_its_password() {
    let Some(db) = PgDb::new("commands") else { return };
    let fx = Fixture::new();
    let mut secrets = vec![SENTINEL.to_owned()];
    secrets.extend(db.password.clone());
    let leaks = |run: &Run| {
        run.leaks_none(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
    };

    let first = fx.cli().args(["--json", "migrate", "--store", &db.url]).run();
    first.code(0);
    leaks(&first);
    let version = first.json()["schema_version"].as_u64().unwrap();
    assert!(version >= 1);
    assert_eq!(first.json()["store"], "postgres");
    let again = fx.cli().args(["migrate"]).env("SQUARE_STORE", &db.url).run();
    again.code(0);
    assert!(again.stdout.contains(&format!("the schema is at version {version}")), "{}", again.stdout);

    // A seller stored by the library, under a key the commands get from the environment.
    let key = Key::generate();
    let tokens = fx.code_flow_tokens();
    let settings = Settings::new(ClientId::new(CLIENT_ID), Some(ClientSecret::new(SENTINEL)));
    let vault = Vault::new(PostgresStore::open(&db.url).unwrap(), Keyring::new(key.clone()), settings);
    vault.put(&tokens).unwrap();
    let cli = || fx.cli().env("SQUARE_STORE", &db.url).env("SQUARE_VAULT_KEY", &key.to_base64());

    let token = cli().args(["token", "--client-id", CLIENT_ID]).run();
    token.code(0);
    assert_eq!(token.stdout.trim(), tokens.access_token().expose_secret());
    let listed = cli().args(["--json", "sellers"]).run();
    listed.code(0);
    leaks(&listed);
    assert_eq!(listed.json()["sellers"][0]["merchant_id"], MERCHANT);
    assert_eq!(listed.json()["sellers"][0]["health"], "fresh");

    let refreshed =
        cli().args(["refresh", "--merchant", MERCHANT, "--client-id", CLIENT_ID, "--client-secret", SENTINEL]).run();
    refreshed.code(0);
    leaks(&refreshed);
    let row = vault.store().get(&MerchantId::new(MERCHANT)).unwrap().expect("the seller's row");
    assert_eq!(row.record.refreshes, 1, "the refresh was stored in the database");
    let token = cli().args(["token", "--client-id", CLIENT_ID]).run();
    assert_ne!(token.stdout.trim(), tokens.access_token().expose_secret(), "the new token is served");
    assert_eq!(token.stdout.trim(), vault.tokens(&MerchantId::new(MERCHANT)).unwrap().access_token().expose_secret());

    let round =
        cli().args(["--json", "refresher", "--once", "--client-id", CLIENT_ID, "--client-secret", SENTINEL]).run();
    round.code(0);
    assert_eq!(round.json()["refreshed"], 0, "nothing is due");

    let logout =
        cli().args(["logout", "--merchant", MERCHANT, "--client-id", CLIENT_ID, "--client-secret", SENTINEL]).run();
    logout.code(0);
    leaks(&logout);
    assert!(vault.store().get(&MerchantId::new(MERCHANT)).unwrap().is_none(), "the seller is forgotten");
}

#[test]
fn a_wrong_database_password_is_a_local_failure_that_never_shows_either_password() {
    let Some(db) = PgDb::new("password") else { return };
    let fx = Fixture::new();
    let wrong = "SENTINEL-not-the-password";
    let run = fx.cli().args(["--json", "sellers", "--store", &db.with_password(wrong)]).run();
    run.leaks_none(&[wrong]);
    if let Some(password) = &db.password {
        run.leaks_none(&[password]);
    }
    // A server that trusts every local connection lets it in; one that checks passwords says no.
    if run.code != Some(0) {
        run.code(1);
        let message = run.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.starts_with("postgres://"), "{message}");
        assert!(message.contains("PostgreSQL: connect"), "{message}");
    }
}
