//! The token lifecycle against the fake Square, as a state machine.
//!
//! proptest runs random sequences of "time passes", "refresh", "revoke", … through the ureq
//! adapter against `square-oauth-mock`, and checks after every step that three parties agree:
//!
//! - **the model**: Square's rules written out in whole hours, with no reference to the library
//!   (access tokens live 720 h, a code-flow refresh token never expires, and a refresh 360 h or more
//!   after the access token's expiry is overdue but still sent, a PKCE refresh token lives 2160 h,
//!   is single-use and rotated, a full revocation kills everything);
//! - **the library**: what `TokenSet` answers from the fake's clock (`is_expired`,
//!   `refresh_due`, `can_refresh`, `next_refresh_at`, `refresh_operation_if_due`);
//! - **the fake**: whether it accepts the refresh, the status call, the replayed token.
//!
//! Time moves in whole hours so that the few milliseconds of real time that pass between two
//! calls (the fake's clock is real time plus the test's advances) never cross a boundary: at an
//! exact boundary hour the fake has always moved a little past it, which is the library's
//! "the instant itself is past" rule.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use square_oauth::Calls as _;
use square_oauth::jiff::{SignedDuration, Timestamp};
use square_oauth::{
    AuthorizeUrl, ClientId, ClientSecret, CodeVerifier, Config, ErrorCategory, Flow, LifecycleError, MerchantId,
    ObtainToken, RefreshRules, RefreshToken, RetrieveTokenStatus, RevokeToken, RevokerType, Scope, State, TokenSet,
    WebhookSignatureKey, parse_callback, parse_revocation, verify_request,
};
use square_oauth_mock::{App, MockConfig, MockSquare};

const CLIENT_ID: &str = "sq0idp-lifecycle-model";
const CLIENT_SECRET: &str = "sq0csp-lifecycle-model-secret";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const MERCHANT: &str = "MERCHANT1";

/// Square's lifetimes, in hours.
const ACCESS_HOURS: i64 = 30 * 24;
const GRACE_HOURS: i64 = 15 * 24;
const PKCE_REFRESH_HOURS: i64 = 90 * 24;

/// Square's rules and the refresh policy, on a clock of whole hours since the test began.
#[derive(Clone, Debug)]
struct Model {
    flow: Flow,
    hour: i64,
    /// When the current access token was minted.
    obtained: i64,
    /// PKCE: when the current refresh token dies.
    refresh_expires: Option<i64>,
    /// The authorization was revoked: every token is dead.
    revoked: bool,
    /// Only the access tokens were revoked (`revoke_only_access_token`): refreshing still works.
    access_revoked: bool,
    /// A PKCE refresh token spent by a successful refresh.
    spent: bool,
    refresh_after: i64,
    margin: i64,
}

impl Model {
    fn new(flow: Flow, hour: i64, rules: (i64, i64)) -> Self {
        Model {
            flow,
            hour,
            obtained: hour,
            refresh_expires: (flow == Flow::Pkce).then_some(hour + PKCE_REFRESH_HOURS),
            revoked: false,
            access_revoked: false,
            spent: false,
            refresh_after: rules.0,
            margin: rules.1,
        }
    }

    fn access_expires(&self) -> i64 {
        self.obtained + ACCESS_HOURS
    }

    fn expired(&self) -> bool {
        self.hour >= self.access_expires()
    }

    /// The instant the PKCE refresh token dies; in the code flow, when a refresh becomes
    /// overdue (a warning only: the window never closes).
    fn window_closes(&self) -> i64 {
        match self.flow {
            Flow::CodeFlow => self.access_expires() + GRACE_HOURS,
            Flow::Pkce => self.refresh_expires.expect("PKCE has a refresh expiry"),
        }
    }

    /// What the library can know: the window is open (revocation is Square's secret). Code-flow
    /// refresh tokens do not expire.
    fn refreshable(&self) -> bool {
        self.flow == Flow::CodeFlow || self.hour < self.window_closes()
    }

    fn overdue(&self) -> bool {
        self.flow == Flow::CodeFlow && self.hour >= self.window_closes()
    }

    fn square_accepts_refresh(&self) -> bool {
        !self.revoked && self.refreshable()
    }

    fn square_accepts_status(&self) -> bool {
        !self.revoked && !self.access_revoked && !self.expired()
    }

    /// The refresh policy: 7 days old (or as configured), never later than a margin (capped at
    /// half the lifetime) before the access token or the PKCE refresh token expires.
    fn due_at(&self) -> i64 {
        let margin = self.margin.min(ACCESS_HOURS / 2);
        let mut due = (self.obtained + self.refresh_after).min(self.access_expires() - margin);
        if let Some(refresh_expires) = self.refresh_expires {
            due = due.min(refresh_expires - margin);
        }
        due
    }

    fn due(&self) -> bool {
        self.hour >= self.due_at()
    }

    fn refreshed(&mut self) {
        self.obtained = self.hour;
        self.access_revoked = false;
        if self.flow == Flow::Pkce {
            self.refresh_expires = Some(self.hour + PKCE_REFRESH_HOURS);
            self.spent = true;
        }
    }
}

/// What a step came to, for the scripted walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Time,
    Refreshed,
    Refused,
    NotDue,
    WindowClosed,
    Revoked,
    Live,
    Dead,
    Authorized,
    Nothing,
}

#[derive(Clone, Copy, Debug)]
enum Boundary {
    Due,
    Expiry,
    WindowCloses,
}

#[derive(Clone, Debug)]
enum Action {
    /// Time passes.
    Advance { hours: i64 },
    /// Time passes to just before, at, or just after an instant that matters.
    AdvanceTo { boundary: Boundary, offset: i64 },
    /// Refresh now, due or not, window open or not: Square must answer as the model says.
    Refresh,
    /// What a scheduler does: refresh only if due, refuse if the window has closed.
    RefreshIfDue,
    /// RevokeToken, by merchant or by access token, full or access-only.
    Revoke { by_merchant: bool, only_access: bool },
    /// RetrieveTokenStatus with the current access token.
    Status,
    /// Send the PKCE refresh token that the last refresh spent: Square must refuse it.
    ReplaySpent,
    /// The seller authorizes again (after a revocation, or just because).
    Reauthorize { pkce: bool },
}

fn action() -> impl Strategy<Value = Action> {
    let boundary = prop_oneof![Just(Boundary::Due), Just(Boundary::Expiry), Just(Boundary::WindowCloses)];
    prop_oneof![
        3 => (1i64..=50 * 24).prop_map(|hours| Action::Advance { hours }),
        6 => (boundary, -1i64..=1).prop_map(|(boundary, offset)| Action::AdvanceTo { boundary, offset }),
        2 => Just(Action::Refresh),
        3 => Just(Action::RefreshIfDue),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(by_merchant, only_access)| Action::Revoke { by_merchant, only_access }),
        2 => Just(Action::Status),
        1 => Just(Action::ReplaySpent),
        1 => any::<bool>().prop_map(|pkce| Action::Reauthorize { pkce }),
    ]
}

/// (refresh_after, margin) in hours: Square's guidance, or anything from 1 hour to 40 days.
fn rules() -> impl Strategy<Value = (i64, i64)> {
    prop_oneof![Just((7 * 24, 24)), (1i64..=40 * 24, 0i64..=5 * 24)]
}

struct Harness {
    mock: MockSquare,
    client: square_oauth_ureq::Client,
    config: Config,
    /// The fake's clock when the test began: hour 0 of the model.
    start: Timestamp,
    rules: RefreshRules,
    tokens: TokenSet,
    model: Model,
    /// The last PKCE refresh token spent by a refresh.
    spent: Option<RefreshToken>,
    grants: u8,
}

fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

impl Harness {
    fn start(pkce: bool, (refresh_after, margin): (i64, i64)) -> Harness {
        let mock =
            MockSquare::start(MockConfig::new().app(App::new(CLIENT_ID, CLIENT_SECRET, &[REDIRECT])).seller(MERCHANT))
                .expect("the fake Square starts");
        let config = Config::custom(&mock.base_url()).expect("a loopback base URL");
        let client = square_oauth_ureq::Client::new(config.clone());
        let start = now(&mock);
        let rules = RefreshRules { refresh_after: hours(refresh_after), margin_before_expiry: hours(margin) };
        let flow = if pkce { Flow::Pkce } else { Flow::CodeFlow };
        let model = Model::new(flow, 0, (refresh_after, margin));
        let tokens = authorize(&mock, &client, &config, flow, 0);
        Harness { mock, client, config, start, rules, tokens, model, spent: None, grants: 1 }
    }

    fn now(&self) -> Timestamp {
        now(&self.mock)
    }

    fn advance(&mut self, by: i64) {
        if by > 0 {
            self.mock.advance(Duration::from_secs(by as u64 * 3600));
            self.model.hour += by;
        }
    }

    /// Sends a refresh and, if Square accepted it, applies the answer; `true` if accepted.
    fn send_refresh(&mut self, operation: &ObtainToken) -> bool {
        let before = self.tokens.clone();
        match self.client.send(operation) {
            Ok(response) => {
                let now = self.now();
                self.tokens.apply_refresh(response, now).expect("Square's answer applies");
                let old = before.refresh_token().cloned();
                if self.tokens.flow() == Flow::Pkce {
                    assert_ne!(self.tokens.refresh_token().cloned(), old, "PKCE rotates the refresh token");
                    self.spent = old;
                } else {
                    assert_eq!(self.tokens.refresh_token().cloned(), old, "the code flow keeps the refresh token");
                }
                assert_ne!(self.tokens.access_token(), before.access_token(), "a new access token");
                self.model.refreshed();
                true
            }
            Err(error) => {
                assert_refusal(&error);
                assert_eq!(self.tokens, before);
                false
            }
        }
    }

    fn step(&mut self, action: &Action) -> Outcome {
        match *action {
            Action::Advance { hours } => {
                self.advance(hours);
                Outcome::Time
            }
            Action::AdvanceTo { boundary, offset } => {
                let target = match boundary {
                    Boundary::Due => self.model.due_at(),
                    Boundary::Expiry => self.model.access_expires(),
                    Boundary::WindowCloses => self.model.window_closes(),
                } + offset;
                self.advance(target - self.model.hour);
                Outcome::Time
            }
            Action::Refresh => {
                let expected = self.model.square_accepts_refresh();
                let operation = self.tokens.refresh_operation(Some(&secret())).expect("a refresh operation");
                let accepted = self.send_refresh(&operation);
                assert_eq!(accepted, expected, "Square accepted the refresh: {accepted}; the model says {expected}");
                if accepted { Outcome::Refreshed } else { Outcome::Refused }
            }
            Action::RefreshIfDue => {
                let now = self.now();
                match self.tokens.refresh_operation_if_due(now, &self.rules, Some(&secret())) {
                    Ok(None) => {
                        assert!(!self.model.due(), "the library says not due; the model says due");
                        Outcome::NotDue
                    }
                    Ok(Some(operation)) => {
                        assert!(self.model.due() && self.model.refreshable(), "the library asked for a refresh");
                        let expected = !self.model.revoked;
                        let accepted = self.send_refresh(&operation);
                        assert_eq!(accepted, expected, "a refresh inside the window fails only if revoked");
                        if accepted { Outcome::Refreshed } else { Outcome::Refused }
                    }
                    Err(LifecycleError::RefreshWindowClosed { flow, closed_at }) => {
                        assert_eq!(flow, self.model.flow);
                        assert_eq!(self.hour_of(closed_at), self.model.window_closes());
                        assert!(self.model.due() && !self.model.refreshable(), "the library gave up too soon");
                        Outcome::WindowClosed
                    }
                    Err(other) => panic!("unexpected error: {other}"),
                }
            }
            Action::Revoke { by_merchant, only_access } => {
                let revoke = if by_merchant {
                    RevokeToken::merchant(ClientId::new(CLIENT_ID), secret(), MerchantId::new(MERCHANT))
                } else {
                    RevokeToken::access_token(ClientId::new(CLIENT_ID), secret(), self.tokens.access_token().clone())
                };
                let answer = self.client.send(&revoke.revoke_only_access_token(only_access));
                assert!(answer.is_ok(), "RevokeToken: {answer:?}");
                if only_access {
                    self.model.access_revoked = true;
                } else {
                    self.model.revoked = true;
                }
                Outcome::Revoked
            }
            Action::Status => {
                let answer = self.client.send(&RetrieveTokenStatus::new(self.tokens.access_token().clone()));
                assert_eq!(answer.is_ok(), self.model.square_accepts_status(), "RetrieveTokenStatus: {answer:?}");
                match answer {
                    Ok(status) => {
                        assert_eq!(status.merchant_id.as_ref(), Some(self.tokens.merchant_id()));
                        assert_eq!(status.expires_at, self.tokens.expires_at(), "status and token set agree on expiry");
                        Outcome::Live
                    }
                    Err(error) => {
                        assert_refusal(&error);
                        Outcome::Dead
                    }
                }
            }
            Action::ReplaySpent => match self.spent.clone() {
                _ if self.spent.is_some() != self.model.spent => {
                    panic!("the model and the harness disagree on a spent token")
                }
                Some(spent) => {
                    let answer = self.client.send(&ObtainToken::pkce_refresh(ClientId::new(CLIENT_ID), spent));
                    let error = answer.expect_err("a spent PKCE refresh token was accepted");
                    assert_refusal(&error);
                    Outcome::Refused
                }
                None => Outcome::Nothing,
            },
            Action::Reauthorize { pkce } => {
                let flow = if pkce { Flow::Pkce } else { Flow::CodeFlow };
                self.tokens = authorize(&self.mock, &self.client, &self.config, flow, self.grants);
                self.grants = self.grants.wrapping_add(1);
                self.model = Model::new(flow, self.model.hour, (self.model.refresh_after, self.model.margin));
                self.spent = None;
                Outcome::Authorized
            }
        }
    }

    /// After every step: the library's answers from the fake's clock equal the model's.
    fn check(&self, step: usize) {
        let now = self.now();
        let (tokens, model) = (&self.tokens, &self.model);
        let at = |what: &str| format!("step {step}, hour {}: {what}", model.hour);
        assert_eq!(tokens.flow(), model.flow, "{}", at("flow"));
        assert_eq!(tokens.is_expired(now), model.expired(), "{}", at("is_expired"));
        assert_eq!(tokens.refresh_due(now, &self.rules), model.due(), "{}", at("refresh_due"));
        assert_eq!(tokens.can_refresh(now), model.refreshable(), "{}", at("can_refresh"));
        assert_eq!(tokens.refresh_overdue(now), model.overdue(), "{}", at("refresh_overdue"));
        let next = tokens.next_refresh_at(&self.rules).expect("a refresh token");
        assert_eq!(self.hour_of(next), model.due_at(), "{}", at("next_refresh_at"));
        assert_eq!(self.hour_of(tokens.obtained_at()), model.obtained, "{}", at("obtained_at"));
        assert_eq!(tokens.expires_at().map(|t| self.hour_of(t)), Some(model.access_expires()), "{}", at("expires_at"));
        assert_eq!(
            tokens.refresh_token_expires_at().map(|t| self.hour_of(t)),
            model.refresh_expires,
            "{}",
            at("refresh_token_expires_at")
        );
        assert_eq!(tokens.merchant_id().as_str(), MERCHANT);
    }

    /// The model hour nearest to an instant (real time adds milliseconds, the fake's whole-second
    /// timestamps take less than a second off).
    fn hour_of(&self, t: Timestamp) -> i64 {
        let seconds = t.duration_since(self.start).as_secs();
        (seconds + 1800).div_euclid(3600)
    }
}

fn secret() -> ClientSecret {
    ClientSecret::new(CLIENT_SECRET)
}

/// A refused call is Square's refusal (`AUTHENTICATION_ERROR`), not a transport failure.
fn assert_refusal(error: &square_oauth_ureq::Error) {
    let errors = error.square_errors();
    assert!(
        errors.first().is_some_and(|e| e.category == ErrorCategory::AuthenticationError),
        "not Square's refusal: {error:?}"
    );
}

fn now(mock: &MockSquare) -> Timestamp {
    Timestamp::try_from(mock.now()).expect("the fake's clock is a valid timestamp")
}

/// The whole authorization through the library and the adapter: authorize URL, the seller
/// approves, the callback, the code exchange.
fn authorize(
    mock: &MockSquare,
    client: &square_oauth_ureq::Client,
    config: &Config,
    flow: Flow,
    grant: u8,
) -> TokenSet {
    let client_id = ClientId::new(CLIENT_ID);
    let state = State::from_entropy([grant; 32]);
    let verifier = CodeVerifier::from_entropy([grant ^ 0xa5; 32]);
    let mut url =
        AuthorizeUrl::new(client_id.clone()).scopes([Scope::MerchantProfileRead, Scope::PaymentsRead]).state(&state);
    if flow == Flow::Pkce {
        url = url.code_challenge(&verifier.challenge());
    }
    let url = url.build(config).expect("an authorize URL");
    let redirect = mock.approve(&url, None).expect("the seller approves");
    let code = parse_callback(&redirect, &state).expect("a code");
    let exchange = match flow {
        Flow::Pkce => ObtainToken::pkce(client_id.clone(), code, verifier),
        Flow::CodeFlow => ObtainToken::authorization_code(client_id.clone(), ClientSecret::new(CLIENT_SECRET), code),
    };
    let answer = client.send(&exchange).expect("the code exchange");
    TokenSet::from_response(flow, client_id, answer, now(mock))
        .expect("a token set")
        .with_scopes([Scope::MerchantProfileRead, Scope::PaymentsRead])
}

fn run(pkce: bool, rules: (i64, i64), actions: &[Action]) -> Vec<Outcome> {
    let mut harness = Harness::start(pkce, rules);
    harness.check(0);
    let mut outcomes = Vec::with_capacity(actions.len());
    for (i, action) in actions.iter().enumerate() {
        outcomes.push(harness.step(action));
        harness.check(i + 1);
    }
    outcomes
}

const DEFAULT_RULES: (i64, i64) = (7 * 24, 24);
const fn advance(days: i64, hours: i64) -> Action {
    Action::Advance { hours: days * 24 + hours }
}

/// Runs a scripted walk, checking each step's outcome as well as the model.
fn walk(pkce: bool, rules: (i64, i64), script: &[(Action, Outcome)]) {
    let actions: Vec<Action> = script.iter().map(|(action, _)| action.clone()).collect();
    let outcomes = run(pkce, rules, &actions);
    for (i, ((action, expected), outcome)) in script.iter().zip(outcomes).enumerate() {
        assert_eq!(outcome, *expected, "step {}: {action:?}", i + 1);
    }
}

/// The code flow through days 6, 7, 29, 30 and 30 + 15, with the scheduler's view and Square's.
#[test]
fn code_flow_walk_through_the_boundaries() {
    use Action::*;
    use Outcome::*;
    walk(
        false,
        DEFAULT_RULES,
        &[
            (advance(6, 0), Time),
            (RefreshIfDue, NotDue), // day 6
            (Status, Live),
            (advance(1, -1), Time),
            (RefreshIfDue, NotDue), // day 7 - 1 h
            (advance(0, 1), Time),
            (RefreshIfDue, Refreshed), // day 7: due
            (Status, Live),
            (advance(29, 23), Time),
            (Status, Live), // 29 d 23 h after the refresh
            (advance(0, 1), Time),
            (Status, Dead), // 30 days: expired
            (advance(14, 23), Time),
            (RefreshIfDue, Refreshed), // 30 + 15 days - 1 h
            (advance(30, 0), Time),
            (Status, Dead),
            (advance(15, 0), Time),    // 30 + 15 days after that refresh: overdue...
            (RefreshIfDue, Refreshed), // ...but still sent, and Square takes it
            (advance(200, 0), Time),
            (RefreshIfDue, Refreshed), // a code-flow refresh token does not expire
            (Status, Live),
            (Reauthorize { pkce: false }, Authorized),
            (Status, Live),
            (Revoke { by_merchant: true, only_access: false }, Revoked),
            (Status, Dead),
            (Refresh, Refused),
        ],
    );
}

/// PKCE: rotation, the spent token refused, no 15-day grace, the refresh token's own expiry.
#[test]
fn pkce_walk_through_the_boundaries() {
    use Action::*;
    use Outcome::*;
    walk(
        true,
        DEFAULT_RULES,
        &[
            (advance(7, 0), Time),
            (RefreshIfDue, Refreshed),
            (ReplaySpent, Refused), // the rotated-out token is dead
            (Status, Live),
            (advance(60, 0), Time),
            (Status, Dead),
            (RefreshIfDue, Refreshed), // expired 30 days ago, still refreshable: no 15-day rule in PKCE
            (advance(89, 23), Time),
            (Refresh, Refreshed), // an hour before the refresh token dies
            (advance(90, 0), Time),
            (RefreshIfDue, WindowClosed), // at its expiry
            (Refresh, Refused),
            (Reauthorize { pkce: true }, Authorized),
            (Revoke { by_merchant: false, only_access: true }, Revoked),
            (Status, Dead),
            (Refresh, Refreshed), // an access-only revocation leaves the refresh token alive
            (Status, Live),
            (Revoke { by_merchant: false, only_access: false }, Revoked),
            (Refresh, Refused),
        ],
    );
}

/// A policy later than Square's expiry allows is pulled forward to the margin before it.
#[test]
fn a_late_policy_still_refreshes_before_expiry() {
    use Action::*;
    use Outcome::*;
    walk(
        false,
        (40 * 24, 24),
        &[
            (advance(29, -1), Time),
            (RefreshIfDue, NotDue),
            (advance(0, 1), Time),
            (RefreshIfDue, Refreshed),
            (Status, Live),
        ],
    );
}

/// Receives one HTTP request on `listener` within `wait`, answers 200, and returns it.
fn receive_one(listener: &TcpListener, wait: Duration) -> Option<http::Request<Vec<u8>>> {
    listener.set_nonblocking(true).expect("a non-blocking listener");
    let deadline = Instant::now() + wait;
    let (stream, _) = loop {
        match listener.accept() {
            Ok(accepted) => break accepted,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => return None,
        }
    };
    stream.set_nonblocking(false).expect("a blocking stream");
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("a read timeout");
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).expect("a request line");
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().expect("a method").to_owned(), parts.next().expect("a target").to_owned());
    let mut builder = http::Request::builder().method(method.as_str()).uri(target);
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).expect("a header line");
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').expect("a header");
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().expect("a length");
        }
        builder = builder.header(name, value.trim());
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("the body");
    let mut stream = reader.into_inner();
    stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").expect("an answer");
    Some(builder.body(body).expect("a request"))
}

/// The fake signs its revocation webhook with its own HMAC code; the library verifies it and
/// reads the event. An access-only revocation sends none.
#[test]
fn a_full_revocation_sends_a_webhook_the_library_verifies() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a webhook listener");
    let url = format!("http://{}/square/webhooks?tenant=1", listener.local_addr().expect("an address"));
    let key = "webhook-signature-key-for-the-model";
    let mut harness = Harness::start(true, DEFAULT_RULES);
    harness.mock.webhook(&url, key);

    assert_eq!(harness.step(&Action::Revoke { by_merchant: true, only_access: true }), Outcome::Revoked);
    assert_eq!(harness.step(&Action::Revoke { by_merchant: false, only_access: false }), Outcome::Revoked);
    let request = receive_one(&listener, Duration::from_secs(5)).expect("the revocation webhook");

    verify_request(&WebhookSignatureKey::new(key), &url, &request).expect("the fake's signature verifies");
    let wrong_key = verify_request(&WebhookSignatureKey::new("another-key"), &url, &request);
    assert!(wrong_key.is_err());
    let event = parse_revocation(request.body()).expect("the event parses");
    assert_eq!(event.merchant_id.as_str(), MERCHANT);
    assert_eq!(event.revoker_type, Some(RevokerType::Application));
    // The access-only revocation came first and sent nothing: this is the only event.
    assert!(receive_one(&listener, Duration::from_millis(300)).is_none(), "an access-only revocation sent a webhook");
    harness.check(2);
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64)
}

proptest! {
    // 64 sequences by default (each starts its own fake Square); PROPTEST_CASES overrides.
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_library_the_model_and_the_fake_agree(
        pkce in any::<bool>(),
        rules in rules(),
        actions in proptest::collection::vec(action(), 1..32),
    ) {
        run(pkce, rules, &actions);
    }
}
