//! The call state machine, in memory: a script of answers and failures per attempt, run through
//! [`Call`] with a simulated clock, for every operation and every fault the fake Square can
//! script (a status with `Retry-After`, a delay, a reset, a truncated body, a proxy's HTML 502,
//! a redirect, an oversize body), plus what only a client sees (a refused connection, a refused
//! certificate). Then the single-use rule as a property over 10,000 random scripts.

use std::time::Duration;

use proptest::prelude::*;
use square_oauth::jiff::{SignedDuration, Timestamp};
use square_oauth::{
    AccessToken, AuthorizationCode, Call, CallError, ClientId, ClientSecret, CodeVerifier, Config, ErrorCode, Failure,
    MerchantId, MigrationToken, ObtainToken, Operation, Replay, RetrieveTokenStatus, RetryPolicy, RevokeToken, Step,
    UnexpectedKind,
};

// ---------------------------------------------------------------------------------------------
// The scenario builder

/// What one attempt meets.
#[derive(Clone, Debug)]
enum Reply {
    /// Square's (or a proxy's) answer.
    Answer { status: u16, headers: Vec<(&'static str, String)>, body: String },
    /// The operation's own success answer.
    Success,
    /// A failure the transport classified.
    Fail(Fault),
}

/// How a transport reports an attempt that brought back nothing usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// Connection refused: never sent.
    Refused,
    /// The fake's `Reset`: closed after reading the request.
    Reset,
    /// The fake's `Truncate`: the body cut short.
    Truncated,
    /// The fake's `Delay` past the timeout.
    Stalled,
    /// The connect timed out.
    ConnectTimeout,
    /// The fake's `Oversize`.
    Oversize,
    /// A certificate the client does not trust.
    Certificate,
    /// A browser's opaque redirect (no status).
    OpaqueRedirect,
}

impl Fault {
    const ALL: [Fault; 8] = [
        Fault::Refused,
        Fault::Reset,
        Fault::Truncated,
        Fault::Stalled,
        Fault::ConnectTimeout,
        Fault::Oversize,
        Fault::Certificate,
        Fault::OpaqueRedirect,
    ];

    fn failure(self) -> Failure<std::io::Error> {
        use std::io::ErrorKind as K;
        match self {
            Fault::Refused => Failure::NotSent(K::ConnectionRefused.into()),
            Fault::Reset => Failure::MaybeSent(K::ConnectionReset.into()),
            Fault::Truncated => Failure::MaybeSent(K::UnexpectedEof.into()),
            Fault::Stalled => Failure::TimedOut { may_have_reached: true },
            Fault::ConnectTimeout => Failure::TimedOut { may_have_reached: false },
            Fault::Oversize => Failure::BodyTooLarge,
            Fault::Certificate => Failure::CertificateRefused(K::InvalidData.into()),
            Fault::OpaqueRedirect => Failure::Redirect { status: None },
        }
    }

    /// Whether the request may have reached Square.
    fn may_have_reached(self) -> bool {
        !matches!(self, Fault::Refused | Fault::ConnectTimeout | Fault::Certificate)
    }

    /// Whether a retry could help (a redirect, a body over the cap, a bad certificate: never).
    fn transient(self) -> bool {
        !matches!(self, Fault::Oversize | Fault::Certificate | Fault::OpaqueRedirect)
    }
}

fn json_error(status: u16, retry_after: Option<&str>) -> Reply {
    let (category, code) = match status {
        429 => ("RATE_LIMIT_ERROR", "RATE_LIMITED"),
        400 => ("INVALID_REQUEST_ERROR", "UNAUTHORIZED"),
        _ => ("API_ERROR", "SERVICE_UNAVAILABLE"),
    };
    let mut headers = vec![("content-type", "application/json".to_owned())];
    if let Some(after) = retry_after {
        headers.push(("retry-after", after.to_owned()));
    }
    let body = format!(r#"{{"errors":[{{"category":"{category}","code":"{code}","detail":"scripted"}}]}}"#);
    Reply::Answer { status, headers, body }
}

fn html_502() -> Reply {
    let headers = vec![("content-type", "text/html; charset=utf-8".to_owned())];
    Reply::Answer { status: 502, headers, body: "<html><body>Bad gateway</body></html>".to_owned() }
}

fn redirect() -> Reply {
    let headers = vec![("location", "https://elsewhere.example/oauth2/token".to_owned())];
    Reply::Answer { status: 302, headers, body: String::new() }
}

/// One operation with the body Square answers it with.
struct Subject<O> {
    operation: O,
    success: &'static str,
}

/// A script run through the state machine with a simulated clock.
struct Scenario<O> {
    subject: Subject<O>,
    policy: RetryPolicy,
    config: Config,
    replies: Vec<Reply>,
    entropy: u64,
}

/// What the run saw.
struct Run<T> {
    result: Result<T, CallError<std::io::Error>>,
    /// When each attempt was sent, from the start.
    sent_at: Vec<Duration>,
    /// Whether each attempt's reply may have reached Square.
    reached: Vec<bool>,
    attempts: u32,
    may_have_reached: bool,
}

const START: Timestamp = Timestamp::constant(1_780_000_000, 0);

impl<O: Operation> Scenario<O> {
    fn new(subject: Subject<O>) -> Self {
        Scenario { subject, policy: RetryPolicy::default(), config: Config::sandbox(), replies: Vec::new(), entropy: 7 }
    }

    fn policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    fn entropy(mut self, entropy: u64) -> Self {
        self.entropy = entropy;
        self
    }

    fn then(mut self, reply: Reply) -> Self {
        self.replies.push(reply);
        self
    }

    fn fail(self, fault: Fault) -> Self {
        self.then(Reply::Fail(fault))
    }

    fn run(self) -> Run<O::Output> {
        let mut call = Call::new(&self.subject.operation, &self.config, &self.policy).expect("a valid request");
        let mut replies = self.replies.iter();
        let mut now = START;
        let mut sent_at = Vec::new();
        let mut reached = Vec::new();
        let result = loop {
            match call.poll(now, self.entropy) {
                Step::Send(request) => {
                    assert_eq!(request.method(), "POST");
                    sent_at.push(Duration::try_from(now.duration_since(START)).expect("time runs forward"));
                    match replies.next().expect("the script has a reply for every attempt") {
                        Reply::Fail(fault) => {
                            reached.push(fault.may_have_reached());
                            call.failed(fault.failure());
                        }
                        reply => {
                            reached.push(true);
                            call.answer(self.answer(reply));
                        }
                    }
                }
                Step::Wait(until) => {
                    assert!(until >= now, "a wait into the past");
                    now = until;
                }
                Step::Done(result) => break result,
            }
        };
        Run { result, sent_at, reached, attempts: call.attempts(), may_have_reached: call.may_have_reached_square() }
    }

    fn answer(&self, reply: &Reply) -> http::Response<Vec<u8>> {
        let (status, headers, body) = match reply {
            Reply::Success => {
                (200, vec![("content-type", "application/json".to_owned())], self.subject.success.to_owned())
            }
            Reply::Answer { status, headers, body } => (*status, headers.clone(), body.clone()),
            Reply::Fail(_) => unreachable!("failures are not answers"),
        };
        let mut builder = http::Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        builder.body(body.into_bytes()).expect("a scripted answer")
    }
}

// ---------------------------------------------------------------------------------------------
// The operations

const TOKEN_ANSWER: &str = r#"{"access_token":"EAAAl3ikZIe18J-2-cHlV2bL4-EaZHGoJUhtEBT7QA6","token_type":"bearer",
    "expires_at":"2026-12-31T00:00:00Z","merchant_id":"MLQW2MYBY81PZ","short_lived":false,
    "refresh_token":"EQAAl0OcByu3IYJYScGGg-8E5YNf0r0b6jCTCMy5nOcRZ4ok",
    "refresh_token_expires_at":"2027-03-01T00:00:00Z"}"#;
const STATUS_ANSWER: &str = r#"{"client_id":"sq0idp-a","merchant_id":"MLQW2MYBY81PZ","scopes":["PAYMENTS_READ"]}"#;
const REVOKE_ANSWER: &str = r#"{"success":true}"#;
const RENEW_ANSWER: &str = r#"{"access_token":"EAAAl3ikZIe18J-2-cHlV2bL4-EaZHGoJUhtEBT7QA6","token_type":"bearer",
    "expires_at":"2026-12-31T00:00:00Z","merchant_id":"MLQW2MYBY81PZ"}"#;

fn id() -> ClientId {
    ClientId::new("sq0idp-uaPHILoPzWZk3tlJqlML0g")
}

fn secret() -> ClientSecret {
    ClientSecret::new("sq0csp-30a-4C_tVOnTh14Piza2BfTPBXyLafLPWSzY1qAjeBfM")
}

fn access() -> AccessToken {
    AccessToken::new("EAAAl3ikZIe18J-2-cHlV2bL4-EaZHGoJUhtEBT7QA6")
}

fn code_exchange() -> Subject<ObtainToken> {
    let code = AuthorizationCode::new("sq0cgb-l0SBqxs4uwxErTVyYOdemg");
    Subject { operation: ObtainToken::authorization_code(id(), secret(), code), success: TOKEN_ANSWER }
}

fn pkce_exchange() -> Subject<ObtainToken> {
    let code = AuthorizationCode::new("sq0cgp-l0SBqxs4uwxErTVyYOdemg");
    let operation = ObtainToken::pkce(id(), code, CodeVerifier::from_entropy([9; 32]));
    Subject { operation, success: TOKEN_ANSWER }
}

fn pkce_refresh() -> Subject<ObtainToken> {
    let refresh = square_oauth::RefreshToken::new("EQAAl0OcByu3IYJYScGGg-8E5YNf0r0b6jCTCMy5nOcRZ4ok");
    Subject { operation: ObtainToken::pkce_refresh(id(), refresh), success: TOKEN_ANSWER }
}

fn code_refresh() -> Subject<ObtainToken> {
    let refresh = square_oauth::RefreshToken::new("EQAAl0OcByu3IYJYScGGg-8E5YNf0r0b6jCTCMy5nOcRZ4ok");
    Subject { operation: ObtainToken::refresh(id(), secret(), refresh), success: TOKEN_ANSWER }
}

fn migration() -> Subject<ObtainToken> {
    let legacy = MigrationToken::new("sq0atb-legacy-token-value-0123456789");
    Subject { operation: ObtainToken::migration(id(), secret(), legacy), success: TOKEN_ANSWER }
}

fn revoke() -> Subject<RevokeToken> {
    Subject {
        operation: RevokeToken::merchant(id(), secret(), MerchantId::new("MLQW2MYBY81PZ")),
        success: REVOKE_ANSWER,
    }
}

fn status() -> Subject<RetrieveTokenStatus> {
    Subject { operation: RetrieveTokenStatus::new(access()), success: STATUS_ANSWER }
}

#[allow(deprecated)]
fn renew() -> Subject<square_oauth::RenewToken> {
    Subject { operation: square_oauth::RenewToken::new(id(), secret(), access()), success: RENEW_ANSWER }
}

/// Runs `check` for every operation Square has.
macro_rules! for_every_operation {
    ($check:expr) => {{
        $check("code exchange", code_exchange);
        $check("PKCE exchange", pkce_exchange);
        $check("PKCE refresh", pkce_refresh);
        $check("code-flow refresh", code_refresh);
        $check("migration", migration);
        $check("revoke", revoke);
        $check("token status", status);
        $check("renew", renew);
    }};
}

// ---------------------------------------------------------------------------------------------
// Every fault, every operation

/// A fault, then Square's success: retried when the rules allow (a replayable request after a
/// transient fault, any request that never left), otherwise the fault is the result and the
/// request was sent once.
fn each_fault_then_success<O: Operation>(name: &str, subject: fn() -> Subject<O>) {
    for fault in Fault::ALL {
        let replay = subject().operation.replay();
        let run = Scenario::new(subject()).fail(fault).then(Reply::Success).run();
        let retried = fault.transient() && (replay == Replay::Safe || !fault.may_have_reached());
        assert_eq!(run.attempts, if retried { 2 } else { 1 }, "{name} after {fault:?}");
        assert_eq!(run.result.is_ok(), retried, "{name} after {fault:?}");
        if let Err(error) = &run.result {
            assert_eq!(error.may_have_reached_square(), fault.may_have_reached(), "{name} after {fault:?}: {error}");
            let expected = match fault {
                Fault::Oversize => matches!(error, CallError::BodyTooLarge { limit } if *limit == 1024 * 1024),
                Fault::Certificate => matches!(error, CallError::CertificateRefused { .. }),
                Fault::OpaqueRedirect => matches!(error, CallError::Redirect { status: None }),
                Fault::Stalled => matches!(error, CallError::Timeout { may_have_reached: true }),
                Fault::Reset | Fault::Truncated => {
                    matches!(error, CallError::Transport { may_have_reached: true, .. })
                }
                Fault::Refused | Fault::ConnectTimeout => false,
            };
            assert!(expected, "{name} after {fault:?}: {error:?}");
        }
        assert_eq!(run.may_have_reached, run.reached.iter().any(|r| *r), "{name} after {fault:?}");
    }
}

#[test]
fn every_operation_under_every_transport_fault() {
    for_every_operation!(each_fault_then_success);
}

/// The fake's answering faults (a status with or without `Retry-After`, a proxy's HTML 502, a
/// redirect), then success.
fn each_answer_fault_then_success<O: Operation>(name: &str, subject: fn() -> Subject<O>) {
    let single_use = subject().operation.replay() == Replay::SingleUse;
    for (fault, transient, status) in [
        (json_error(429, Some("1")), true, 429),
        (json_error(503, None), true, 503),
        (html_502(), true, 502),
        (redirect(), false, 302),
        (json_error(400, None), false, 400),
    ] {
        let run = Scenario::new(subject()).then(fault.clone()).then(Reply::Success).run();
        let retried = transient && !single_use;
        assert_eq!(run.attempts, if retried { 2 } else { 1 }, "{name} after {fault:?}");
        match &run.result {
            Ok(_) => assert!(retried, "{name} after {fault:?}"),
            Err(error) => {
                assert!(!retried, "{name} after {fault:?}: {error}");
                assert_eq!(error.status().map(|s| s.as_u16()), Some(status), "{name}: {error:?}");
                assert!(error.may_have_reached_square());
            }
        }
    }
}

#[test]
fn every_operation_under_every_answering_fault() {
    for_every_operation!(each_answer_fault_then_success);
}

#[test]
fn a_proxy_page_is_an_unexpected_answer_with_its_status() {
    let run = Scenario::new(status()).policy(RetryPolicy::never()).then(html_502()).run();
    let Err(CallError::Core(square_oauth::Error::UnexpectedResponse(unexpected))) = &run.result else {
        panic!("an unexpected answer, got {:?}", run.result.err())
    };
    assert_eq!(unexpected.kind, UnexpectedKind::NotJson);
    assert_eq!(unexpected.status, 502);
}

#[test]
fn a_redirect_is_refused_with_its_status_and_never_followed() {
    let run = Scenario::new(status()).then(redirect()).then(Reply::Success).run();
    assert!(matches!(run.result, Err(CallError::Redirect { status: Some(s) }) if s == 302), "{:?}", run.result.err());
    assert_eq!(run.attempts, 1);
}

#[test]
fn an_unreadable_success_is_not_retried() {
    let garbage =
        Reply::Answer { status: 200, headers: vec![("content-type", "application/json".into())], body: "{".into() };
    let run = Scenario::new(status()).then(garbage).then(Reply::Success).run();
    let Err(error) = run.result else { panic!("a malformed answer fails") };
    assert!(matches!(error.core(), Some(square_oauth::Error::UnexpectedResponse(_))), "{error:?}");
    assert_eq!(run.attempts, 1, "a 200 is not a status that asks for a retry");
}

// ---------------------------------------------------------------------------------------------
// Waits

#[test]
fn retry_after_in_seconds_is_waited_exactly() {
    let run = Scenario::new(status()).then(json_error(429, Some("7"))).then(Reply::Success).run();
    assert!(run.result.is_ok());
    assert_eq!(run.sent_at, [Duration::ZERO, Duration::from_secs(7)]);
}

#[test]
fn retry_after_as_a_date_is_read_against_the_drivers_clock() {
    let at = START + SignedDuration::from_secs(12);
    let date = square_oauth::jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&at).unwrap();
    let run = Scenario::new(status()).then(json_error(503, Some(&date))).then(Reply::Success).run();
    assert!(run.result.is_ok());
    assert_eq!(run.sent_at, [Duration::ZERO, Duration::from_secs(12)]);

    let past = START - SignedDuration::from_secs(60);
    let date = square_oauth::jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&past).unwrap();
    let run = Scenario::new(status()).then(json_error(503, Some(&date))).then(Reply::Success).run();
    assert_eq!(run.sent_at, [Duration::ZERO, Duration::ZERO], "a date in the past means no wait");
}

#[test]
fn retry_after_over_the_cap_stops_the_call() {
    let policy = RetryPolicy::default().max_backoff(Duration::from_secs(30));
    let run =
        Scenario::new(status()).policy(policy.clone()).then(json_error(429, Some("30"))).then(Reply::Success).run();
    assert_eq!(run.sent_at, [Duration::ZERO, Duration::from_secs(30)], "at the cap: waited");
    let run = Scenario::new(status()).policy(policy).then(json_error(429, Some("31"))).then(Reply::Success).run();
    let Err(error) = run.result else { panic!("over the cap: stopped") };
    assert!(error.has_code(&ErrorCode::RateLimited), "{error:?}");
    assert_eq!(run.attempts, 1);
}

#[test]
fn backoff_doubles_with_jitter_inside_its_bounds() {
    let policy = RetryPolicy::default().max_retries(4).initial_backoff(Duration::from_millis(400));
    for entropy in [0, 1, 12_345, u64::MAX / 3, u64::MAX] {
        let mut scenario = Scenario::new(status()).policy(policy.clone()).entropy(entropy);
        for _ in 0..4 {
            scenario = scenario.then(json_error(503, None));
        }
        let run = scenario.then(Reply::Success).run();
        assert!(run.result.is_ok());
        let gaps: Vec<Duration> = run.sent_at.windows(2).map(|w| w[1] - w[0]).collect();
        for (i, gap) in gaps.iter().enumerate() {
            let step = Duration::from_millis(400) * (1 << i);
            assert!(
                *gap >= step / 2 && *gap <= step,
                "entropy {entropy}, retry {}: {gap:?} outside [{:?}, {step:?}]",
                i + 1,
                step / 2
            );
        }
    }
    let low = Scenario::new(status())
        .policy(policy.clone())
        .entropy(0)
        .then(json_error(503, None))
        .then(Reply::Success)
        .run();
    assert_eq!(low.sent_at[1], Duration::from_millis(200), "no jitter is half the step");
}

#[test]
fn retries_stop_at_the_policys_count() {
    let mut scenario = Scenario::new(status());
    for _ in 0..5 {
        scenario = scenario.fail(Fault::Reset);
    }
    let run = scenario.run();
    assert_eq!(run.attempts, 3, "the first attempt and two retries");
    assert!(matches!(run.result, Err(CallError::Transport { may_have_reached: true, .. })));
    let run = Scenario::new(status()).policy(RetryPolicy::never()).fail(Fault::Refused).run();
    assert_eq!(run.attempts, 1);
}

// ---------------------------------------------------------------------------------------------
// The single-use rule

/// A single-use request under every failure kind, each followed by every other: it goes again
/// only after failures that prove it never left, and never once it may have arrived.
fn single_use_under_every_pair<O: Operation>(name: &str, subject: fn() -> Subject<O>) {
    assert_eq!(subject().operation.replay(), Replay::SingleUse, "{name}");
    let policy = RetryPolicy::default().max_retries(8);
    let mut replies: Vec<Reply> = Fault::ALL.iter().map(|f| Reply::Fail(*f)).collect();
    replies.extend([json_error(429, Some("0")), json_error(503, None), html_502(), redirect()]);
    for first in &replies {
        for second in &replies {
            let run = Scenario::new(subject())
                .policy(policy.clone())
                .then(first.clone())
                .then(second.clone())
                .then(Reply::Success)
                .run();
            let before_last = &run.reached[..run.reached.len() - 1];
            assert!(!before_last.iter().any(|r| *r), "{name}: sent again after {first:?} then {second:?}");
        }
    }
}

#[test]
fn a_code_exchange_is_never_sent_twice_after_it_may_have_arrived() {
    single_use_under_every_pair("code exchange", code_exchange);
    single_use_under_every_pair("PKCE exchange", pkce_exchange);
}

#[test]
fn a_pkce_refresh_is_never_sent_twice_after_it_may_have_arrived() {
    single_use_under_every_pair("PKCE refresh", pkce_refresh);
}

#[test]
fn a_single_use_request_goes_again_when_it_never_left() {
    let run = Scenario::new(pkce_refresh()).fail(Fault::Refused).fail(Fault::ConnectTimeout).then(Reply::Success).run();
    assert!(run.result.is_ok(), "{:?}", run.result.err());
    assert_eq!(run.attempts, 3);
}

// ---------------------------------------------------------------------------------------------
// The contract

#[test]
fn invalid_input_fails_before_any_step() {
    let operation = RetrieveTokenStatus::new(AccessToken::new(""));
    let config = Config::sandbox();
    let policy = RetryPolicy::default();
    let error = Call::<_, std::io::Error>::new(&operation, &config, &policy).expect_err("an empty token");
    assert!(matches!(error, square_oauth::Error::InvalidInput(_)));
}

#[test]
fn a_wait_that_has_not_passed_is_repeated() {
    let config = Config::sandbox();
    let policy = RetryPolicy::default();
    let operation = status().operation;
    let mut call = Call::<_, std::io::Error>::new(&operation, &config, &policy).unwrap();
    assert!(matches!(call.poll(START, 0), Step::Send(_)));
    call.failed(Failure::NotSent(std::io::ErrorKind::ConnectionRefused.into()));
    let Step::Wait(until) = call.poll(START, 0) else { panic!("a backoff") };
    assert!(until > START);
    assert!(matches!(call.poll(START, 0), Step::Wait(again) if again == until), "polled early: the same wait");
    assert!(matches!(call.poll(until, 0), Step::Send(_)));
    assert_eq!(format!("{call:?}"), r#"Call { attempts: 2, may_have_reached_square: false, state: "in flight", .. }"#);
}

#[test]
#[should_panic(expected = "in flight")]
fn polling_with_an_attempt_in_flight_is_a_broken_contract() {
    with_fresh_call(|call| {
        let _ = call.poll(START, 0);
        let _ = call.poll(START, 0);
    });
}

/// Runs `f` on a status call just made, nothing sent yet: for the tests of what a driver must
/// never do.
fn with_fresh_call(f: impl FnOnce(&mut Call<'_, RetrieveTokenStatus, std::io::Error>)) {
    let (operation, config, policy) = (status().operation, Config::production(), RetryPolicy::default());
    f(&mut Call::new(&operation, &config, &policy).unwrap());
}

// ---------------------------------------------------------------------------------------------
// The property

fn reply() -> impl Strategy<Value = Reply> {
    let answer = (
        100u16..600,
        proptest::option::of(prop_oneof![
            (0u64..120).prop_map(|s| s.to_string()),
            (-60i64..120).prop_map(|s| {
                let at = START + SignedDuration::from_secs(s);
                square_oauth::jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&at).unwrap()
            }),
        ]),
    )
        .prop_map(|(status, after)| match status {
            200..=299 => Reply::Success,
            _ => json_error(status, after.as_deref()),
        });
    prop_oneof![
        answer,
        Just(html_502()),
        Just(redirect()),
        proptest::sample::select(Fault::ALL.to_vec()).prop_map(Reply::Fail),
    ]
}

/// A policy, and the most retries it allows.
fn policy() -> impl Strategy<Value = (RetryPolicy, u32)> {
    (0u32..12, 0u64..5_000, 0u64..120_000).prop_map(|(retries, initial, max)| {
        let policy = RetryPolicy::default()
            .max_retries(retries)
            .initial_backoff(Duration::from_millis(initial))
            .max_backoff(Duration::from_millis(max));
        (policy, retries)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// No sequence of answers and failures makes a single-use request (a code exchange, a PKCE
    /// refresh) be sent again after it may have reached Square; and no call sends more than its
    /// policy allows.
    #[test]
    fn a_single_use_request_reaches_square_at_most_once(
        (policy, retries) in policy(),
        mut replies in proptest::collection::vec(reply(), 1..16),
        entropy in any::<u64>(),
        pkce in any::<bool>(),
    ) {
        replies.resize(13, Reply::Success);
        let subject = if pkce { pkce_refresh() } else { code_exchange() };
        let mut scenario = Scenario::new(subject).policy(policy.clone()).entropy(entropy);
        for reply in replies {
            scenario = scenario.then(reply);
        }
        let run = scenario.run();
        let before_last = &run.reached[..run.reached.len() - 1];
        prop_assert!(!before_last.iter().any(|r| *r), "sent again after it may have arrived: {:?}", run.reached);
        prop_assert_eq!(run.attempts as usize, run.sent_at.len());
        prop_assert!(run.attempts <= retries + 1, "{} attempts", run.attempts);
    }
}

// ---------------------------------------------------------------------------------------------
// The contract's edges

#[test]
fn wait_from_is_the_time_left_and_zero_once_passed() {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let until = now + SignedDuration::from_millis(1_500);
    assert_eq!(Call::<RetrieveTokenStatus, std::io::Error>::wait_from(until, now), Duration::from_millis(1_500));
    assert_eq!(Call::<RetrieveTokenStatus, std::io::Error>::wait_from(now, until), Duration::ZERO);
    assert_eq!(Call::<RetrieveTokenStatus, std::io::Error>::wait_from(now, now), Duration::ZERO);
}

#[test]
#[should_panic(expected = "an attempt was reported with none in flight")]
fn an_answer_reported_before_anything_was_sent_is_a_bug_in_the_driver() {
    with_fresh_call(|call| {
        let answer = http::Response::builder().status(200).body(STATUS_ANSWER.as_bytes().to_vec()).unwrap();
        call.answer(answer);
    });
}

#[test]
#[should_panic(expected = "an attempt was reported with none in flight")]
fn a_failure_reported_twice_for_one_attempt_is_a_bug_in_the_driver() {
    with_fresh_call(|call| {
        assert!(matches!(call.poll(START, 0), Step::Send(_)));
        call.failed(Failure::NotSent(std::io::Error::other("refused")));
        call.failed(Failure::NotSent(std::io::Error::other("refused again")));
    });
}
