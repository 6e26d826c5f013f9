//! Guarantee 2 at the store: the compare-and-swap the vault stores a refresh's result with
//! (`Store::replace`) writes over the row its lease left and over no other, on SQLite (the
//! trait's default, through `update`). The PostgreSQL store's one-statement form runs the same
//! contract in `pg_store.rs`.

mod common;

use common::*;
use square_oauth::Flow;
use square_oauth::jiff::Timestamp;
use square_oauth_vault::{Key, Keyring, RefreshFailure, Row, SqliteStore, Store as _, Vault};

#[test]
fn replace_swaps_only_the_expected_row_on_sqlite() {
    let square = fake();
    let dir = Dir::new("replace", false);
    let vault = vault(&dir);
    for flow in [Flow::CodeFlow, Flow::Pkce] {
        let sellers = grant(&square, &vault, 1, flow);
        replace_swaps_only_the_expected_row(vault.store(), &sellers[0]);
    }
}

#[test]
fn claims_lease_exactly_the_leasable_on_sqlite() {
    let square = fake();
    let dir = Dir::new("claims", false);
    let vault = vault(&dir);
    let code = grant(&square, &vault, 6, Flow::CodeFlow);
    let pkce = grant(&square, &vault, 4, Flow::Pkce);
    claims_lease_exactly_the_leasable(vault.store(), &code, &pkce);
}

#[test]
fn a_lease_the_decision_would_not_take_is_refused_undone_and_nothing_is_sent() {
    use square_oauth::jiff::SignedDuration;
    use square_oauth_vault::decide::{Lease, SellerState};
    let square = fake();
    let dir = Dir::new("careless", false);
    let vault = vault(&dir);
    let make_send = || {
        |_: &square_oauth::ObtainToken| -> Result<square_oauth::ObtainTokenResponse, RefreshFailure> {
            panic!("nothing is sent for a seller the lease decision refuses")
        }
    };
    // A revoked seller (the decision writes nothing), and a PKCE seller whose earlier lease
    // expired (the decision writes an unknown outcome, not a lease).
    let long_ago = Timestamp::now() - SignedDuration::from_hours(1);
    type Shape<'a> = (&'a str, &'a dyn Fn(&mut Row));
    let shapes: [Shape<'_>; 2] = [
        ("revoked", &|row| row.record.state = SellerState::Revoked),
        ("expired PKCE lease", &|row| {
            row.record.lease = Some(Lease { owner: "gone".into(), fence: row.record.fence, expires_at: long_ago })
        }),
    ];
    for (what, shape) in shapes {
        let seller = grant(&square, &vault, 1, Flow::Pkce).remove(0);
        vault
            .store()
            .update(&seller, &mut |current| {
                let mut row = current.unwrap().clone();
                shape(&mut row);
                row.record.refresh_at = long_ago;
                Some(row)
            })
            .unwrap();
        let before = vault.store().get(&seller).unwrap().unwrap();
        // A store that leases what it should not: every claim takes this seller, whatever its state.
        let store = Counting { careless: Some(seller.clone()), ..Counting::new(SqliteStore::open(&dir.db()).unwrap()) };
        let careless = Vault::new(store, Keyring::new(Key::from_file(&dir.key_file()).unwrap()), settings());
        let error = careless.refresh_due(1, 1, &make_send).expect_err("the round stops on the store's lease");
        assert!(error.to_string().contains("would not have"), "{what}: {error}");
        // Undone: the row is as it was before the careless lease.
        assert_eq!(vault.store().get(&seller).unwrap().unwrap(), before, "{what}");
    }
}
