//! The token lifecycle at Square's boundaries: day 6, 7, 29, 30, 30 + 15, the PKCE refresh
//! token's expiry, one nanosecond either side of each, and storage without leaks.

use proptest::prelude::*;
use square_oauth::jiff::{SignedDuration, Timestamp};
use square_oauth::{
    CODE_FLOW_GRACE, ClientId, ClientSecret, Config, Flow, Grant, LifecycleError, MerchantId, ObtainTokenResponse,
    Operation, RefreshRules, Scope, TokenSet,
};

// Sentinels: if any of these shows up in a Debug, Display, error or public JSON, a secret leaked.
const ACCESS: &str = "EAAA-sentinel-access-7f3a";
const REFRESH: &str = "EQAA-sentinel-refresh-91bc";
const NEW_ACCESS: &str = "EAAA-sentinel-access-2-c0de";
const NEW_REFRESH: &str = "EQAA-sentinel-refresh-2-beef";
const SECRET: &str = "sq0csp-sentinel-secret-5eed";
const MERCHANT: &str = "MLQW2MYBY81PZ";

fn day() -> SignedDuration {
    SignedDuration::from_hours(24)
}

fn ns() -> SignedDuration {
    SignedDuration::from_nanos(1)
}

fn t0() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

fn at_day(days: i32) -> Timestamp {
    t0() + day() * days
}

fn response(fields: serde_json::Value) -> ObtainTokenResponse {
    serde_json::from_value(fields).unwrap()
}

/// A code-flow grant obtained at `t0`, expiring 30 days later.
fn code_flow() -> TokenSet {
    let answer = response(serde_json::json!({
        "access_token": ACCESS, "token_type": "bearer", "expires_at": at_day(30).to_string(),
        "merchant_id": MERCHANT, "refresh_token": REFRESH, "short_lived": false,
    }));
    TokenSet::from_response(Flow::CodeFlow, ClientId::new("sq0idp-app"), answer, t0()).unwrap()
}

/// A PKCE grant obtained at `t0`: the access token expires after 30 days, the refresh token after 90.
fn pkce() -> TokenSet {
    pkce_with_refresh_expiry(at_day(90))
}

fn pkce_with_refresh_expiry(refresh_expires_at: Timestamp) -> TokenSet {
    let answer = response(serde_json::json!({
        "access_token": ACCESS, "token_type": "bearer", "expires_at": at_day(30).to_string(),
        "merchant_id": MERCHANT, "refresh_token": REFRESH, "short_lived": false,
        "refresh_token_expires_at": refresh_expires_at.to_string(),
    }));
    TokenSet::from_response(Flow::Pkce, ClientId::new("sq0idp-app"), answer, t0()).unwrap()
}

fn lifecycle_error(result: Result<impl std::fmt::Debug, LifecycleError>) -> LifecycleError {
    result.expect_err("a lifecycle error")
}

/// (when, is_expired, refresh_due with the default rules, can_refresh)
type Row = (Timestamp, bool, bool, bool);

fn check_table(set: &TokenSet, rows: &[(&str, Row)]) {
    let rules = RefreshRules::default();
    for (name, (now, expired, due, refreshable)) in rows {
        assert_eq!(set.is_expired(*now), *expired, "{name}: is_expired");
        assert_eq!(set.refresh_due(*now, &rules), *due, "{name}: refresh_due");
        assert_eq!(set.can_refresh(*now), *refreshable, "{name}: can_refresh");
    }
}

#[test]
fn code_flow_boundaries() {
    check_table(
        &code_flow(),
        &[
            ("obtained", (t0(), false, false, true)),
            ("day 6", (at_day(6), false, false, true)),
            ("just before day 7", (at_day(7) - ns(), false, false, true)),
            ("day 7: 7 days old is due", (at_day(7), false, true, true)),
            ("day 29", (at_day(29), false, true, true)),
            ("just before day 30", (at_day(30) - ns(), false, true, true)),
            ("day 30: the expiry instant is expired", (at_day(30), true, true, true)),
            ("day 31", (at_day(31), true, true, true)),
            ("just before day 30 + 15", (at_day(45) - ns(), true, true, true)),
            ("day 30 + 15: overdue, still sent to Square", (at_day(45), true, true, true)),
            ("day 90", (at_day(90), true, true, true)),
            ("before it was obtained", (t0() - day(), false, false, true)),
        ],
    );
    assert_eq!(code_flow().next_refresh_at(&RefreshRules::default()), Some(at_day(7)));
    assert_eq!(code_flow().age(at_day(8)), day() * 8);
    assert_eq!(code_flow().age(t0() - day()), -day());
    assert_eq!(CODE_FLOW_GRACE, day() * 15);
    assert_eq!(code_flow().refresh_window_closes_at(), None);
    assert!(!code_flow().refresh_overdue(at_day(45) - ns()));
    assert!(code_flow().refresh_overdue(at_day(45)));
    assert!(!pkce().refresh_overdue(at_day(89)));
}

#[test]
fn pkce_boundaries() {
    // PKCE has no 15-day grace: the refresh token's own expiry (90 days) decides.
    check_table(
        &pkce(),
        &[
            ("day 6", (at_day(6), false, false, true)),
            ("day 7", (at_day(7), false, true, true)),
            ("day 30", (at_day(30), true, true, true)),
            ("day 30 + 15", (at_day(45), true, true, true)),
            ("just before the refresh token expires", (at_day(90) - ns(), true, true, true)),
            ("the refresh token's expiry instant", (at_day(90), true, true, false)),
        ],
    );
    assert_eq!(pkce().refresh_window_closes_at(), Some(at_day(90)));
}

#[test]
fn a_pkce_refresh_token_that_expires_first_brings_the_refresh_forward() {
    let rules = RefreshRules { refresh_after: day() * 60, ..RefreshRules::default() };
    let set = pkce_with_refresh_expiry(at_day(20));
    // The earliest of: day 60 (age), day 29 (access expiry - 1 day), day 19 (refresh expiry - 1 day).
    assert_eq!(set.next_refresh_at(&rules), Some(at_day(19)));
    assert!(!set.refresh_due(at_day(19) - ns(), &rules));
    assert!(set.refresh_due(at_day(19), &rules));
    assert!(set.can_refresh(at_day(20) - ns()));
    assert!(!set.can_refresh(at_day(20)));
}

#[test]
fn refresh_after_is_configurable_but_never_later_than_the_margin() {
    let set = code_flow();
    let sooner = RefreshRules { refresh_after: day() * 3, ..RefreshRules::default() };
    assert_eq!(set.next_refresh_at(&sooner), Some(at_day(3)));
    assert!(set.refresh_due(at_day(3), &sooner));
    assert!(!set.refresh_due(at_day(3) - ns(), &sooner));

    // Asking for day 40 still refreshes a margin before the day-30 expiry.
    let late = RefreshRules { refresh_after: day() * 40, ..RefreshRules::default() };
    assert_eq!(set.next_refresh_at(&late), Some(at_day(29)));
    assert!(!set.refresh_due(at_day(29) - ns(), &late));
    assert!(set.refresh_due(at_day(29), &late));

    let wide = RefreshRules { refresh_after: day() * 40, margin_before_expiry: day() * 5 };
    assert_eq!(set.next_refresh_at(&wide), Some(at_day(25)));
}

#[test]
fn a_short_lived_token_is_refreshed_halfway_not_at_once() {
    let answer = response(serde_json::json!({
        "access_token": ACCESS, "expires_at": (t0() + SignedDuration::from_hours(24)).to_string(),
        "merchant_id": MERCHANT, "refresh_token": REFRESH, "short_lived": true,
    }));
    let set = TokenSet::from_response(Flow::CodeFlow, ClientId::new("sq0idp-app"), answer, t0()).unwrap();
    assert!(set.short_lived());
    let rules = RefreshRules::default();
    // The one-day margin is capped at half the 24-hour lifetime.
    assert_eq!(set.next_refresh_at(&rules), Some(t0() + SignedDuration::from_hours(12)));
    assert!(!set.refresh_due(t0(), &rules));
    assert!(set.refresh_due(t0() + SignedDuration::from_hours(12), &rules));
    assert!(set.is_expired(t0() + SignedDuration::from_hours(24)));
    // Code flow: the 15-day warning runs from the 24-hour expiry; the refresh stays possible.
    assert!(!set.refresh_overdue(t0() + SignedDuration::from_hours(24) + day() * 15 - ns()));
    assert!(set.refresh_overdue(t0() + SignedDuration::from_hours(24) + day() * 15));
    assert!(set.can_refresh(t0() + SignedDuration::from_hours(24) + day() * 15));
}

#[test]
fn without_an_expiry_nothing_expires_and_age_alone_decides() {
    let answer =
        response(serde_json::json!({"access_token": ACCESS, "merchant_id": MERCHANT, "refresh_token": REFRESH}));
    let set = TokenSet::from_response(Flow::CodeFlow, ClientId::new("sq0idp-app"), answer, t0()).unwrap();
    assert_eq!(set.expires_at(), None);
    assert!(!set.is_expired(at_day(10_000)));
    assert!(set.can_refresh(at_day(10_000)));
    assert_eq!(set.refresh_window_closes_at(), None);
    assert_eq!(set.next_refresh_at(&RefreshRules::default()), Some(at_day(7)));
}

#[test]
fn without_a_refresh_token_there_is_nothing_to_schedule() {
    let answer = response(serde_json::json!({
        "access_token": ACCESS, "expires_at": at_day(30).to_string(), "merchant_id": MERCHANT,
    }));
    let set = TokenSet::from_response(Flow::CodeFlow, ClientId::new("sq0idp-app"), answer, t0()).unwrap();
    let rules = RefreshRules::default();
    assert_eq!(set.refresh_token(), None);
    assert_eq!(set.next_refresh_at(&rules), None);
    assert!(!set.refresh_due(at_day(29), &rules));
    assert!(!set.can_refresh(t0()));
    let secret = ClientSecret::new(SECRET);
    assert_eq!(lifecycle_error(set.refresh_operation(Some(&secret))), LifecycleError::NoRefreshToken);
    assert!(set.refresh_operation_if_due(at_day(29), &rules, Some(&secret)).unwrap().is_none());
}

#[test]
fn extreme_rules_and_instants_saturate_instead_of_panicking() {
    let set = code_flow();
    let rules = RefreshRules { refresh_after: SignedDuration::MAX, margin_before_expiry: SignedDuration::MAX };
    // The margin is capped at half the lifetime: day 15.
    assert_eq!(set.next_refresh_at(&rules), Some(at_day(15)));
    let negative = RefreshRules { refresh_after: SignedDuration::MIN, margin_before_expiry: SignedDuration::MIN };
    // Negative rules count as zero: refresh at once, and never after the expiry.
    assert_eq!(set.next_refresh_at(&negative), Some(t0()));
    for now in [Timestamp::MIN, Timestamp::MAX] {
        let _ = (set.is_expired(now), set.refresh_due(now, &rules), set.can_refresh(now));
    }
    let far = response(serde_json::json!({
        "access_token": ACCESS, "expires_at": "9999-12-30T00:00:00Z", "merchant_id": MERCHANT, "refresh_token": REFRESH,
    }));
    let far = TokenSet::from_response(Flow::CodeFlow, ClientId::new("sq0idp-app"), far, t0()).unwrap();
    assert_eq!(far.refresh_window_closes_at(), None);
    assert!(!far.refresh_overdue(at_day(10_000)));
    assert!(far.refresh_overdue(Timestamp::MAX));
}

#[test]
fn from_response_requires_what_a_token_set_cannot_do_without() {
    let id = || ClientId::new("sq0idp-app");
    let cases = [
        (Flow::CodeFlow, serde_json::json!({"merchant_id": MERCHANT, "refresh_token": REFRESH}), "access_token"),
        (Flow::CodeFlow, serde_json::json!({"access_token": ACCESS, "refresh_token": REFRESH}), "merchant_id"),
    ];
    for (flow, fields, missing) in cases {
        let error = lifecycle_error(TokenSet::from_response(flow, id(), response(fields), t0()));
        assert_eq!(error, LifecycleError::MissingField(missing));
        assert_eq!(error.to_string(), format!("Square's answer has no `{missing}`"));
    }
}

#[test]
fn from_response_keeps_what_square_said() {
    let set = pkce().with_scopes([Scope::PaymentsRead, Scope::from("NEW_SCOPE")]);
    assert_eq!(set.flow(), Flow::Pkce);
    assert_eq!(set.client_id().as_str(), "sq0idp-app");
    assert_eq!(set.merchant_id().as_str(), MERCHANT);
    assert_eq!(set.access_token().expose_secret(), ACCESS);
    assert_eq!(set.refresh_token().unwrap().expose_secret(), REFRESH);
    assert_eq!(set.expires_at(), Some(at_day(30)));
    assert_eq!(set.refresh_token_expires_at(), Some(at_day(90)));
    assert_eq!(set.obtained_at(), t0());
    assert!(!set.short_lived());
    assert_eq!(set.scopes(), &[Scope::PaymentsRead, Scope::Other("NEW_SCOPE".into())]);
    assert_eq!(set.clone().with_scopes([]).scopes(), &[]);
}

fn body_of(operation: &square_oauth::ObtainToken) -> serde_json::Value {
    let request = operation.build(&Config::production()).unwrap();
    serde_json::from_slice(request.body().expose_secret()).unwrap()
}

#[test]
fn the_code_flow_refreshes_with_the_secret() {
    let set = code_flow();
    assert_eq!(lifecycle_error(set.refresh_operation(None)), LifecycleError::ClientSecretRequired);
    let secret = ClientSecret::new(SECRET);
    let operation = set.refresh_operation(Some(&secret)).unwrap();
    assert!(matches!(operation.grant(), Grant::Refresh { .. }));
    assert_eq!(
        body_of(&operation),
        serde_json::json!({"client_id": "sq0idp-app", "client_secret": SECRET, "grant_type": "refresh_token", "refresh_token": REFRESH})
    );
}

#[test]
fn a_short_lived_code_flow_set_asks_for_a_short_lived_token_again() {
    let answer = response(serde_json::json!({
        "access_token": ACCESS, "expires_at": (t0() + day()).to_string(), "merchant_id": MERCHANT,
        "refresh_token": REFRESH, "short_lived": true,
    }));
    let set = TokenSet::from_response(Flow::CodeFlow, ClientId::new("sq0idp-app"), answer, t0()).unwrap();
    let operation = set.refresh_operation(Some(&ClientSecret::new(SECRET))).unwrap();
    assert_eq!(body_of(&operation)["short_lived"], true);
}

#[test]
fn pkce_refreshes_without_a_secret_even_if_given_one() {
    let set = pkce();
    for secret in [None, Some(ClientSecret::new(SECRET))] {
        let operation = set.refresh_operation(secret.as_ref()).unwrap();
        assert!(matches!(operation.grant(), Grant::PkceRefresh { .. }));
        assert_eq!(
            body_of(&operation),
            serde_json::json!({"client_id": "sq0idp-app", "grant_type": "refresh_token", "refresh_token": REFRESH})
        );
    }
}

#[test]
fn refresh_operation_if_due_is_none_then_the_request_then_a_closed_window() {
    let rules = RefreshRules::default();
    let secret = ClientSecret::new(SECRET);
    let set = code_flow();
    assert!(set.refresh_operation_if_due(at_day(7) - ns(), &rules, Some(&secret)).unwrap().is_none());
    assert!(set.refresh_operation_if_due(at_day(7), &rules, Some(&secret)).unwrap().is_some());
    assert!(set.refresh_operation_if_due(at_day(45) - ns(), &rules, Some(&secret)).unwrap().is_some());
    // Due, refreshable, but no secret: the caller's mistake is named.
    assert_eq!(
        lifecycle_error(set.refresh_operation_if_due(at_day(7), &rules, None)),
        LifecycleError::ClientSecretRequired
    );

    let set = pkce();
    assert!(set.refresh_operation_if_due(at_day(90) - ns(), &rules, None).unwrap().is_some());
    let closed = lifecycle_error(set.refresh_operation_if_due(at_day(90), &rules, None));
    assert_eq!(closed, LifecycleError::RefreshWindowClosed { flow: Flow::Pkce, closed_at: at_day(90) });
    assert_eq!(
        closed.to_string(),
        "the PKCE refresh window closed at 2026-05-30T12:00:00Z; the seller must authorize again"
    );
}

#[test]
fn a_code_flow_refresh_is_never_refused_locally_however_late() {
    // Square's documents say code-flow refresh tokens do not expire: only Square's answer may
    // end the grant, so a refresh 15 days, or a year, after the expiry is still built and sent.
    let rules = RefreshRules::default();
    let secret = ClientSecret::new(SECRET);
    let set = code_flow();
    for now in [at_day(45), at_day(46), at_day(400)] {
        assert!(set.refresh_overdue(now));
        assert!(set.can_refresh(now));
        let operation = set.refresh_operation_if_due(now, &rules, Some(&secret)).unwrap().expect("a refresh");
        assert!(matches!(operation.grant(), Grant::Refresh { .. }));
    }
}

fn refresh_answer(fields: serde_json::Value) -> ObtainTokenResponse {
    response(fields)
}

#[test]
fn a_pkce_refresh_rotates_the_refresh_token() {
    let mut set = pkce();
    let now = at_day(7);
    set.apply_refresh(
        refresh_answer(serde_json::json!({
            "access_token": NEW_ACCESS, "expires_at": at_day(37).to_string(), "merchant_id": MERCHANT,
            "refresh_token": NEW_REFRESH, "refresh_token_expires_at": at_day(97).to_string(),
        })),
        now,
    )
    .unwrap();
    assert_eq!(set.access_token().expose_secret(), NEW_ACCESS);
    assert_eq!(set.refresh_token().unwrap().expose_secret(), NEW_REFRESH);
    assert_eq!(set.expires_at(), Some(at_day(37)));
    assert_eq!(set.refresh_token_expires_at(), Some(at_day(97)));
    assert_eq!(set.obtained_at(), now);
    // The clock restarts: the next refresh is 7 days after this one.
    assert_eq!(set.next_refresh_at(&RefreshRules::default()), Some(at_day(14)));
    assert!(!set.refresh_due(at_day(14) - ns(), &RefreshRules::default()));
    // And the spent token is not what the next refresh sends.
    assert_eq!(body_of(&set.refresh_operation(None).unwrap())["refresh_token"], NEW_REFRESH);
}

#[test]
fn a_pkce_refresh_answer_without_a_new_refresh_token_keeps_the_new_access_token() {
    // The old refresh token is spent: dropping the answer would lose the one working token.
    let mut set = pkce();
    set.apply_refresh(
        refresh_answer(serde_json::json!({
            "access_token": NEW_ACCESS, "expires_at": at_day(37).to_string(), "merchant_id": MERCHANT,
        })),
        at_day(7),
    )
    .unwrap();
    assert_eq!(set.access_token().expose_secret(), NEW_ACCESS);
    assert_eq!(set.expires_at(), Some(at_day(37)));
    // Reported: no refresh token, nothing to schedule, the seller must authorize again.
    assert_eq!(set.refresh_token(), None);
    assert!(!set.can_refresh(at_day(8)));
    assert_eq!(set.next_refresh_at(&RefreshRules::default()), None);
    assert_eq!(lifecycle_error(set.refresh_operation(None)), LifecycleError::NoRefreshToken);
}

#[test]
fn a_pkce_grant_without_a_refresh_token_keeps_its_access_token() {
    let answer = response(serde_json::json!({
        "access_token": ACCESS, "expires_at": at_day(30).to_string(), "merchant_id": MERCHANT,
    }));
    let set = TokenSet::from_response(Flow::Pkce, ClientId::new("sq0idp-app"), answer, t0()).unwrap();
    assert_eq!(set.access_token().expose_secret(), ACCESS);
    assert_eq!(set.refresh_token(), None);
    assert!(!set.can_refresh(t0()));
    assert_eq!(lifecycle_error(set.refresh_operation(None)), LifecycleError::NoRefreshToken);
    // It can be stored and loaded like any other set.
    let loaded: TokenSet = serde_json::from_str(&serde_json::to_string(&set.with_secrets()).unwrap()).unwrap();
    assert_eq!(loaded, set);
}

#[test]
fn a_pkce_refresh_token_without_an_expiry_gets_square_s_90_days() {
    let answer = response(serde_json::json!({
        "access_token": ACCESS, "expires_at": at_day(30).to_string(), "merchant_id": MERCHANT,
        "refresh_token": REFRESH,
    }));
    let mut set = TokenSet::from_response(Flow::Pkce, ClientId::new("sq0idp-app"), answer, t0()).unwrap();
    assert_eq!(set.refresh_token_expires_at(), Some(at_day(90)));
    assert!(set.can_refresh(at_day(90) - ns()));
    assert!(!set.can_refresh(at_day(90)));
    assert!(!set.can_refresh(at_day(10_000)));

    set.apply_refresh(
        refresh_answer(
            serde_json::json!({"access_token": NEW_ACCESS, "merchant_id": MERCHANT, "refresh_token": NEW_REFRESH}),
        ),
        at_day(7),
    )
    .unwrap();
    assert_eq!(set.refresh_token_expires_at(), Some(at_day(97)));
    assert!(!set.can_refresh(at_day(97)));
}

#[test]
fn a_code_flow_refresh_keeps_the_refresh_token() {
    let mut set = code_flow();
    set.apply_refresh(
        refresh_answer(serde_json::json!({"access_token": NEW_ACCESS, "expires_at": at_day(38).to_string(), "merchant_id": MERCHANT})),
        at_day(8),
    )
    .unwrap();
    assert_eq!(set.access_token().expose_secret(), NEW_ACCESS);
    assert_eq!(set.refresh_token().unwrap().expose_secret(), REFRESH);
    assert_eq!(set.expires_at(), Some(at_day(38)));
    assert_eq!(set.obtained_at(), at_day(8));
    assert_eq!(set.refresh_window_closes_at(), None);
    assert!(set.refresh_overdue(at_day(53)));

    // Square returns the same token; if it ever returned another, Square's word wins.
    set.apply_refresh(
        refresh_answer(serde_json::json!({"access_token": ACCESS, "merchant_id": MERCHANT, "refresh_token": NEW_REFRESH, "short_lived": true})),
        at_day(9),
    )
    .unwrap();
    assert_eq!(set.refresh_token().unwrap().expose_secret(), NEW_REFRESH);
    assert!(set.short_lived());
    assert_eq!(set.expires_at(), None);
}

#[test]
fn an_answer_for_another_merchant_is_refused_and_changes_nothing() {
    for mut set in [code_flow(), pkce()] {
        let before = set.clone();
        let error = lifecycle_error(set.apply_refresh(
            refresh_answer(serde_json::json!({
                "access_token": NEW_ACCESS, "merchant_id": "OTHERMERCHANT", "refresh_token": NEW_REFRESH,
            })),
            at_day(7),
        ));
        assert_eq!(
            error,
            LifecycleError::MerchantMismatch {
                expected: MerchantId::new(MERCHANT),
                actual: MerchantId::new("OTHERMERCHANT")
            }
        );
        assert_eq!(set, before);
    }
}

#[test]
fn an_answer_without_an_access_token_is_refused() {
    let mut set = code_flow();
    let error =
        lifecycle_error(set.apply_refresh(refresh_answer(serde_json::json!({"merchant_id": MERCHANT})), at_day(7)));
    assert_eq!(error, LifecycleError::MissingField("access_token"));
    assert_eq!(set, code_flow());
}

#[test]
fn an_answer_without_merchant_id_is_taken_as_this_seller_s() {
    let mut set = pkce();
    set.apply_refresh(
        refresh_answer(serde_json::json!({"access_token": NEW_ACCESS, "refresh_token": NEW_REFRESH})),
        at_day(7),
    )
    .unwrap();
    assert_eq!(set.merchant_id().as_str(), MERCHANT);
    // PKCE: the old refresh token's expiry went with it; the new one gets Square's 90 days.
    assert_eq!(set.refresh_token_expires_at(), Some(at_day(97)));
}

#[test]
fn plain_serialization_writes_everything_but_the_secrets() {
    let set = pkce().with_scopes([Scope::PaymentsRead]);
    let json: serde_json::Value = serde_json::to_value(&set).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "flow": "pkce",
            "client_id": "sq0idp-app",
            "merchant_id": MERCHANT,
            "expires_at": "2026-03-31T12:00:00Z",
            "refresh_token_expires_at": "2026-05-30T12:00:00Z",
            "obtained_at": "2026-03-01T12:00:00Z",
            "short_lived": false,
            "scopes": ["PAYMENTS_READ"],
        })
    );
    let text = serde_json::to_string(&set).unwrap();
    assert!(!text.contains(ACCESS) && !text.contains(REFRESH), "{text}");
    // It cannot be loaded back as a token set, by design.
    let error = serde_json::from_str::<TokenSet>(&text).unwrap_err().to_string();
    assert!(error.contains("with_secrets"), "{error}");
}

#[test]
fn with_secrets_writes_the_tokens_and_loads_back_equal() {
    for set in [code_flow(), pkce().with_scopes([Scope::MerchantProfileRead, Scope::from("FUTURE_SCOPE")])] {
        let json: serde_json::Value = serde_json::to_value(set.with_secrets()).unwrap();
        assert_eq!(json["access_token"], ACCESS);
        assert_eq!(json["refresh_token"], REFRESH);
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        for key in keys {
            assert!(
                [
                    "flow",
                    "client_id",
                    "merchant_id",
                    "access_token",
                    "expires_at",
                    "refresh_token",
                    "refresh_token_expires_at",
                    "obtained_at",
                    "short_lived",
                    "scopes"
                ]
                .contains(&key.as_str()),
                "{key}"
            );
        }
        let loaded: TokenSet = serde_json::from_value(json).unwrap();
        assert_eq!(loaded, set);
    }
    assert_eq!(serde_json::to_value(code_flow().with_secrets()).unwrap()["flow"], "code_flow");
}

#[test]
fn loading_accepts_a_minimal_file_and_refuses_an_inconsistent_one() {
    let minimal = serde_json::json!({
        "flow": "code_flow", "client_id": "sq0idp-app", "merchant_id": MERCHANT,
        "access_token": ACCESS, "obtained_at": "2026-03-01T12:00:00Z",
    });
    let set: TokenSet = serde_json::from_value(minimal).unwrap();
    assert_eq!((set.refresh_token(), set.expires_at(), set.short_lived(), set.scopes()), (None, None, false, &[][..]));

    let unknown_flow = serde_json::json!({
        "flow": "implicit", "client_id": "sq0idp-app", "merchant_id": MERCHANT,
        "access_token": ACCESS, "obtained_at": "2026-03-01T12:00:00Z",
    });
    assert!(serde_json::from_value::<TokenSet>(unknown_flow).is_err());
}

#[test]
fn no_secret_in_debug_or_errors() {
    let set = pkce();
    for text in [format!("{set:?}"), format!("{:?}", set.with_secrets())] {
        assert!(!text.contains(ACCESS) && !text.contains(REFRESH), "{text}");
        assert!(text.contains("REDACTED"), "{text}");
    }
    let secret = ClientSecret::new(SECRET);
    let operation = code_flow().refresh_operation(Some(&secret)).unwrap();
    let debug = format!("{operation:?} {:?}", operation.build(&Config::production()).unwrap());
    for sentinel in [ACCESS, REFRESH, SECRET] {
        assert!(!debug.contains(sentinel), "{debug}");
    }
    let errors: Vec<LifecycleError> = vec![
        code_flow().refresh_operation(None).unwrap_err(),
        pkce().refresh_operation_if_due(at_day(95), &RefreshRules::default(), Some(&secret)).unwrap_err(),
        pkce()
            .apply_refresh(refresh_answer(serde_json::json!({"access_token": NEW_ACCESS, "merchant_id": "X"})), t0())
            .unwrap_err(),
    ];
    for error in errors {
        let text = format!("{error} {error:?}");
        for sentinel in [ACCESS, REFRESH, NEW_ACCESS, SECRET] {
            assert!(!text.contains(sentinel), "{text}");
        }
    }
}

proptest! {
    /// For any grant, any rules and any instant: the scheduled instant is when `refresh_due`
    /// turns true, never later than the age rule, and never in the last part of the token's life.
    #[test]
    fn next_refresh_at_is_when_refresh_due_turns_true(
        lifetime_s in 60i64..(60 * 86_400),
        refresh_after_s in 0i64..(40 * 86_400),
        margin_s in 0i64..(5 * 86_400),
        offset_s in -86_400i64..(60 * 86_400),
        pkce_refresh_lifetime_s in proptest::option::of(60i64..(100 * 86_400)),
    ) {
        let seconds = SignedDuration::from_secs;
        let mut fields = serde_json::json!({
            "access_token": ACCESS, "merchant_id": MERCHANT, "refresh_token": REFRESH,
            "expires_at": (t0() + seconds(lifetime_s)).to_string(),
        });
        let flow = match pkce_refresh_lifetime_s {
            Some(s) => {
                fields["refresh_token_expires_at"] = (t0() + seconds(s)).to_string().into();
                Flow::Pkce
            }
            None => Flow::CodeFlow,
        };
        let set = TokenSet::from_response(flow, ClientId::new("sq0idp-app"), response(fields), t0()).unwrap();
        let rules = RefreshRules { refresh_after: seconds(refresh_after_s), margin_before_expiry: seconds(margin_s) };
        let due = set.next_refresh_at(&rules).unwrap();
        let now = t0() + seconds(offset_s);

        prop_assert_eq!(set.refresh_due(now, &rules), now >= due);
        prop_assert!(due <= t0() + rules.refresh_after);
        prop_assert!(due >= t0() || pkce_refresh_lifetime_s.is_some());
        let margin = rules.margin_before_expiry.min(seconds(lifetime_s) / 2);
        prop_assert!(due <= set.expires_at().unwrap() - margin);
        if let Some(refresh_expires_at) = set.refresh_token_expires_at() {
            prop_assert!(due <= refresh_expires_at - margin);
        }
        // A due refresh is refreshable unless the window has closed, and the window closes
        // after the access token expires in the code flow.
        if flow == Flow::CodeFlow {
            prop_assert!(set.can_refresh(now));
            prop_assert!(set.refresh_overdue(now) == (now >= set.expires_at().unwrap() + CODE_FLOW_GRACE));
        }
        prop_assert_eq!(set.is_expired(now), now >= set.expires_at().unwrap());
    }

    /// What `with_secrets` writes loads back equal, for any scopes and instants.
    #[test]
    fn storage_round_trips(
        offset_s in -1_000_000_000i64..1_000_000_000,
        nanos in 0i32..1_000_000_000,
        scopes in proptest::collection::vec("[A-Z_]{1,24}", 0..6),
        short_lived in any::<bool>(),
        pkce in any::<bool>(),
    ) {
        let obtained = t0() + SignedDuration::new(offset_s, nanos);
        let mut fields = serde_json::json!({
            "access_token": ACCESS, "merchant_id": MERCHANT, "refresh_token": REFRESH, "short_lived": short_lived,
            "expires_at": (obtained + day() * 30).to_string(),
        });
        if pkce {
            fields["refresh_token_expires_at"] = (obtained + day() * 90).to_string().into();
        }
        let flow = if pkce { Flow::Pkce } else { Flow::CodeFlow };
        let set = TokenSet::from_response(flow, ClientId::new("sq0idp-app"), response(fields), obtained)
            .unwrap()
            .with_scopes(scopes.iter().map(|s| Scope::from(s.as_str())));
        let text = serde_json::to_string(&set.with_secrets()).unwrap();
        let loaded: TokenSet = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&loaded, &set);
        let public = serde_json::to_string(&set).unwrap();
        prop_assert!(!public.contains(ACCESS) && !public.contains(REFRESH));
    }
}

#[test]
fn only_an_error_read_from_square_s_answer_says_the_request_reached_square() {
    use square_oauth::CallError;
    type Failed = CallError<std::io::Error>;
    // From an answer: the request reached Square (after a PKCE refresh, the token is spent).
    let mismatch = lifecycle_error(code_flow().apply_refresh(
        refresh_answer(serde_json::json!({"access_token": NEW_ACCESS, "merchant_id": "OTHERMERCHANT"})),
        at_day(7),
    ));
    let missing =
        lifecycle_error(pkce().apply_refresh(refresh_answer(serde_json::json!({"merchant_id": MERCHANT})), at_day(7)));
    // From the set alone, before anything was sent.
    let without_refresh = TokenSet::from_response(
        Flow::CodeFlow,
        ClientId::new("sq0idp-app"),
        response(serde_json::json!({"access_token": ACCESS, "merchant_id": MERCHANT})),
        t0(),
    )
    .unwrap();
    let no_refresh_token = lifecycle_error(without_refresh.refresh_operation(Some(&ClientSecret::new(SECRET))));
    let no_secret = lifecycle_error(code_flow().refresh_operation(None));
    let closed = lifecycle_error(pkce().refresh_operation_if_due(at_day(91), &RefreshRules::default(), None));
    for (error, from_answer) in
        [(mismatch, true), (missing, true), (no_refresh_token, false), (no_secret, false), (closed, false)]
    {
        assert_eq!(error.from_answer(), from_answer, "{error:?}");
        assert_eq!(Failed::Lifecycle(error.clone()).may_have_reached_square(), from_answer, "{error:?}");
    }
}
