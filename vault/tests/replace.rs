//! Guarantee 2 at the store: the compare-and-swap the vault stores a refresh's result with
//! (`Store::replace`) writes over the row its lease left and over no other, on SQLite (the
//! trait's default, through `update`). The PostgreSQL store's one-statement form runs the same
//! contract in `pg_store.rs`.

mod common;

use common::*;
use square_oauth::Flow;

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
    let code = grant(&square, &vault, 5, Flow::CodeFlow);
    let pkce = grant(&square, &vault, 4, Flow::Pkce);
    claims_lease_exactly_the_leasable(vault.store(), &code, &pkce);
}
