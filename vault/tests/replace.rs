//! Guarantee 2 at the store: the compare-and-swap the vault stores a refresh's result with
//! (`Store::replace`) writes over the row its lease left and over no other, on SQLite (the
//! trait's default, through `update`). The PostgreSQL store's one-statement form runs the same
//! contract in `pg_store.rs`.

mod common;

use common::*;
use square_oauth::Flow;
use square_oauth::jiff::Timestamp;
use square_oauth_vault::{Claim, Key, Keyring, RefreshFailure, Row, SqliteStore, Store as _, StoreError, Vault};

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

/// A store that leases what it should not: every `claim_leases` takes the one seller it was
/// given, whatever its state. Everything else is the SQLite store's.
struct Careless {
    inner: square_oauth_vault::SqliteStore,
    seller: square_oauth::MerchantId,
}

impl square_oauth_vault::Store for Careless {
    fn get(&self, m: &square_oauth::MerchantId) -> Result<Option<Row>, StoreError> {
        self.inner.get(m)
    }
    fn update(
        &self,
        m: &square_oauth::MerchantId,
        decide: &mut dyn FnMut(Option<&Row>) -> Option<Row>,
    ) -> Result<(), StoreError> {
        self.inner.update(m, decide)
    }
    fn delete(&self, m: &square_oauth::MerchantId) -> Result<bool, StoreError> {
        self.inner.delete(m)
    }
    fn records(&self) -> Result<Vec<square_oauth_vault::decide::Record>, StoreError> {
        self.inner.records()
    }
    fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<square_oauth::MerchantId>, StoreError> {
        self.inner.due(now, limit)
    }
    fn remember_event(&self, id: &str, at: Timestamp) -> Result<bool, StoreError> {
        self.inner.remember_event(id, at)
    }
    fn claim_leases(&self, claim: &Claim<'_>, _: usize) -> Result<Vec<Row>, StoreError> {
        let before = self.inner.get(&self.seller)?.expect("the seller");
        let leased = Row {
            record: square_oauth_vault::decide::take_lease(&before.record, claim.owner, claim.expires_at),
            tokens: before.tokens.clone(),
        };
        self.inner.update(&self.seller, &mut |_| Some(leased.clone()))?;
        Ok(vec![before])
    }
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
        let store = Careless { inner: SqliteStore::open(&dir.db()).unwrap(), seller: seller.clone() };
        let careless = Vault::new(store, Keyring::new(Key::from_file(&dir.key_file()).unwrap()), settings());
        let error = careless.refresh_due(1, 1, &make_send).expect_err("the round stops on the store's lease");
        assert!(error.to_string().contains("would not have"), "{what}: {error}");
        // Undone: the row is as it was before the careless lease.
        assert_eq!(vault.store().get(&seller).unwrap().unwrap(), before, "{what}");
    }
}
