//! No sequence of faults makes a single-use call (a PKCE refresh, a code exchange) be sent again
//! after it may have reached Square, end to end through each adapter against the fake Square
//! scripted with random faults. (The same rule against the core's call state machine alone, over
//! 10,000 random scripts, is in `core/tests/call_scenarios.rs`.)

use std::time::Duration;

use proptest::prelude::*;
use square_oauth::{ObtainToken, RetryPolicy};
use square_oauth_mock::Fault;
use square_oauth_tests::fixture::TOKEN;
use square_oauth_tests::{Driver, Fixture, HyperDriver, ReqwestDriver, Settings, UreqDriver};

/// A fault the fake can script on `/oauth2/token`.
fn fault() -> impl Strategy<Value = Fault> {
    let status = (
        prop_oneof![Just(408u16), Just(429), Just(500), Just(502), Just(503), Just(504)],
        proptest::option::of(Just("0".to_owned())),
    )
        .prop_map(|(status, retry_after)| Fault::Status { status, retry_after });
    prop_oneof![status, Just(Fault::Reset), Just(Fault::Truncate), Just(Fault::Html502)]
}

/// Scripts `faults` on the PKCE refresh, sends it with a policy eager to retry, and counts what
/// reached the fake.
fn pkce_refresh_under_faults<D: Driver>(faults: Vec<Fault>) -> Result<(), TestCaseError> {
    let fixture = Fixture::start();
    let policy = RetryPolicy::default().max_retries(8).initial_backoff(Duration::from_millis(1));
    let driver: D = fixture.driver_with(&Settings::default().retry_policy(policy));
    let refresh = fixture.pkce_tokens(&driver).refresh_token.expect("a PKCE refresh token");
    fixture.mock.clear_requests();
    for fault in &faults {
        fixture.mock.fault(TOKEN, fault.clone(), 1);
    }
    let result = driver.send(&ObtainToken::pkce_refresh(Fixture::client_id(), refresh));
    prop_assert!(result.is_err(), "{}: the first attempt was faulted, yet it succeeded", driver.name());
    prop_assert_eq!(fixture.requests_to(TOKEN).len(), 1, "{}: sent more than once under {:?}", driver.name(), faults);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn a_pkce_refresh_is_sent_once_through_ureq(faults in proptest::collection::vec(fault(), 1..4)) {
        pkce_refresh_under_faults::<UreqDriver>(faults)?;
    }

    #[test]
    fn a_pkce_refresh_is_sent_once_through_reqwest(faults in proptest::collection::vec(fault(), 1..4)) {
        pkce_refresh_under_faults::<ReqwestDriver>(faults)?;
    }

    #[test]
    fn a_pkce_refresh_is_sent_once_through_hyper(faults in proptest::collection::vec(fault(), 1..4)) {
        pkce_refresh_under_faults::<HyperDriver>(faults)?;
    }
}
