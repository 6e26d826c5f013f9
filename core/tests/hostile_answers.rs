//! Hostile answers: whatever comes back in Square's place (a proxy's page, a cut connection,
//! garbage, a bomb) is a typed error from every `parse`, never a panic, and never a secret.
#![allow(deprecated)]

mod common;

use common::{
    LEGACY_ANSWER, OBTAIN_TOKEN_ANSWER, PKCE_ANSWER, Parsed, RENEW_ANSWER, REVOKE_ANSWER, TOKEN_STATUS_ANSWER,
    UNAUTHORIZED_ANSWER, malformed, parse_everywhere, same_kind, unexpected,
};
use proptest::prelude::*;
use square_oauth::{Config, DEFAULT_MAX_RESPONSE_BYTES, EXCERPT_BYTES, Error, UnexpectedKind};

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];

/// One hostile answer and the kind of error every operation must make of it.
struct Case {
    name: &'static str,
    status: u16,
    headers: Vec<(&'static str, &'static str)>,
    body: Vec<u8>,
    expected: UnexpectedKind,
    config: Config,
}

fn case(
    name: &'static str,
    status: u16,
    headers: &[(&'static str, &'static str)],
    body: impl Into<Vec<u8>>,
    expected: UnexpectedKind,
) -> Case {
    Case { name, status, headers: headers.to_vec(), body: body.into(), expected, config: Config::production() }
}

const HTML_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n";

fn deep(open: &str, close: &str, depth: usize) -> Vec<u8> {
    let mut body = open.repeat(depth);
    body.push_str(&close.repeat(depth));
    body.into_bytes()
}

/// The named hostile answers. Each is fed to all four operations.
fn named_cases() -> Vec<Case> {
    use UnexpectedKind::{Empty, NotJson};
    let html = [("content-type", "text/html; charset=utf-8")];
    let small = Config::builder().max_response_bytes(64).build().unwrap();
    let mut over_small = case(
        "over a 64-byte cap",
        200,
        JSON,
        format!("{REVOKE_ANSWER}{}", " ".repeat(64 - REVOKE_ANSWER.len() + 1)),
        UnexpectedKind::TooLarge { limit: 64, actual: 65 },
    );
    over_small.config = small.clone();
    let mut error_over_small = case(
        "an error answer over the cap",
        500,
        JSON,
        format!(
            r#"{{"errors":[{{"category":"API_ERROR","code":"INTERNAL_SERVER_ERROR","detail":"{}"}}]}}"#,
            "x".repeat(64)
        ),
        UnexpectedKind::TooLarge { limit: 64, actual: 0 },
    );
    error_over_small.config = small;
    let mut over_default = vec![b' '; DEFAULT_MAX_RESPONSE_BYTES + 1];
    over_default[0] = b'{';
    vec![
        // Nothing at all.
        case("empty body", 200, JSON, "", Empty),
        case("empty body, no content type", 200, &[], "", Empty),
        case("empty body on a 429", 429, &[("retry-after", "5")], "", Empty),
        case("empty body on a 500", 500, JSON, "", Empty),
        case("empty body on a 204", 204, &[], "", Empty),
        case("whitespace only", 200, JSON, " \r\n\t ", Empty),
        // Somebody else's page.
        case("HTML 502 page", 502, &html, HTML_502, NotJson),
        case("HTML 502 page without content type", 502, &[], HTML_502, malformed()),
        case("HTML page on a 200", 200, &html, "<!doctype html><p>Sign in</p>", NotJson),
        case("HTML page labelled JSON", 200, JSON, "<!doctype html><p>Sign in</p>", malformed()),
        case("HTML 401 page", 401, &html, "<html><body>401 Authorization Required</body></html>", NotJson),
        case(
            "redirect to a login page",
            302,
            &[("location", "https://evil.example/login"), ("content-type", "text/html")],
            "<a href=\"https://evil.example/login\">moved</a>",
            NotJson,
        ),
        case("plain text 500", 500, &[("content-type", "text/plain")], "Internal Server Error", NotJson),
        case(
            "wrong content type: valid JSON as text/plain",
            200,
            &[("content-type", "text/plain")],
            REVOKE_ANSWER,
            NotJson,
        ),
        case(
            "wrong content type: XML",
            200,
            &[("content-type", "application/xml")],
            "<success>true</success>",
            NotJson,
        ),
        case(
            "wrong content type: form",
            200,
            &[("content-type", "application/x-www-form-urlencoded")],
            "access_token=x&token_type=bearer",
            NotJson,
        ),
        case(
            "wrong content type: octet-stream",
            200,
            &[("content-type", "application/octet-stream")],
            REVOKE_ANSWER,
            NotJson,
        ),
        case(
            "wrong content type: jsonp",
            200,
            &[("content-type", "application/javascript")],
            "cb({\"success\":true})",
            NotJson,
        ),
        case(
            "content type that only starts like JSON",
            200,
            &[("content-type", "application/jsonx")],
            REVOKE_ANSWER,
            NotJson,
        ),
        case("form body labelled JSON", 200, JSON, "access_token=x&token_type=bearer", malformed()),
        case(
            "gzip bytes not decoded",
            200,
            JSON,
            vec![0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xab, 0xae, 0x05, 0x00],
            malformed(),
        ),
        // Not UTF-8.
        case(
            "invalid UTF-8 in a string",
            200,
            JSON,
            b"{\"errors\":[{\"category\":\"\xff\xfe\",\"code\":\"X\"}]}".to_vec(),
            malformed(),
        ),
        case("invalid UTF-8 in a key", 200, JSON, b"{\"\xc3\x28\":1,\"errors\":7}".to_vec(), malformed()),
        case("overlong UTF-8", 400, JSON, b"{\"message\":\"\xc0\xaf\",\"type\":\"x\"}".to_vec(), malformed()),
        case("raw binary", 200, JSON, vec![0x00, 0xff, 0x80, 0x7f, 0x01, 0xc0], malformed()),
        case("UTF-8 byte order mark", 200, JSON, format!("\u{feff}{REVOKE_ANSWER}"), malformed()),
        case("UTF-16 text", 200, JSON, vec![0xff, 0xfe, b'{', 0, b'}', 0], malformed()),
        case("NUL bytes", 200, JSON, vec![0u8; 16], malformed()),
        // Bombs.
        case("10 000-deep arrays", 200, JSON, deep("[", "]", 10_000), malformed()),
        case("10 000-deep objects", 200, JSON, deep("{\"a\":", "}", 10_000), malformed()),
        case(
            "10 000-deep nesting in `errors`",
            400,
            JSON,
            [b"{\"errors\":".as_slice(), &deep("[", "]", 10_000), b"}"].concat(),
            malformed(),
        ),
        case("10 000-deep unclosed nesting", 200, JSON, "[".repeat(10_000), malformed()),
        case("900 KB of open brackets", 200, JSON, "[".repeat(900_000), malformed()),
        case(
            "over the 1 MiB default cap",
            200,
            JSON,
            over_default,
            UnexpectedKind::TooLarge { limit: DEFAULT_MAX_RESPONSE_BYTES, actual: DEFAULT_MAX_RESPONSE_BYTES + 1 },
        ),
        over_small,
        error_over_small,
        // JSON, but not an object.
        case("null document", 200, JSON, "null", malformed()),
        case("array document", 200, JSON, "[]", malformed()),
        case("string document", 200, JSON, "\"ok\"", malformed()),
        case("number document", 200, JSON, "42", malformed()),
        case("boolean document", 200, JSON, "true", malformed()),
        case("null document on a 400", 400, JSON, "null", malformed()),
        case("array document on a 500", 500, JSON, "[{\"code\":\"X\"}]", malformed()),
        // Almost JSON.
        case("trailing garbage", 200, JSON, format!("{REVOKE_ANSWER} x"), malformed()),
        case("two documents", 200, JSON, "{}{}", malformed()),
        case("single quotes", 200, JSON, "{'success':true}", malformed()),
        case("comment", 200, JSON, "{/* hi */}", malformed()),
        case("trailing comma", 200, JSON, "{\"errors\":[],}", malformed()),
        case("NaN", 200, JSON, "{\"errors\":NaN}", malformed()),
        case("Infinity", 200, JSON, "{\"errors\":Infinity}", malformed()),
        case("number out of range", 200, JSON, "{\"errors\":1e999999}", malformed()),
        case("raw control character in a string", 400, JSON, "{\"message\":\"a\u{1}b\",\"type\":\"x\"}", malformed()),
        case("invalid escape", 400, JSON, "{\"message\":\"\\x41\",\"type\":\"x\"}", malformed()),
        case("lone surrogate", 400, JSON, "{\"message\":\"\\ud800\",\"type\":\"x\"}", malformed()),
        case("unterminated string", 400, JSON, "{\"message\":\"abc", malformed()),
        case("unquoted key", 200, JSON, "{errors:[]}", malformed()),
        case("duplicate key", 200, JSON, "{\"errors\":[],\"errors\":[]}", malformed()),
        // Right syntax, wrong shape.
        case("`errors` is an object", 400, JSON, "{\"errors\":{}}", malformed()),
        case("`errors` is a string", 200, JSON, "{\"errors\":\"bad\"}", malformed()),
        case("`errors` holds a string", 400, JSON, "{\"errors\":[\"bad\"]}", malformed()),
        case("`errors` holds null", 400, JSON, "{\"errors\":[null]}", malformed()),
        case("error as an array", 400, JSON, "{\"errors\":[[\"API_ERROR\",\"UNAUTHORIZED\"]]}", malformed()),
        case("answer as an array of fields", 200, JSON, "[\"EAAAtoken\",\"bearer\"]", malformed()),
        case("answer as an array after whitespace", 400, JSON, "\n  [[\"API_ERROR\",\"UNAUTHORIZED\"]]", malformed()),
        case("error without a code", 400, JSON, "{\"errors\":[{\"category\":\"API_ERROR\"}]}", malformed()),
        // An error without a category (or with a null one) is read, category unknown
        // (parse_answers.rs); one of the wrong type is not.
        case(
            "a number where the category belongs",
            401,
            JSON,
            "{\"errors\":[{\"category\":7,\"code\":\"UNAUTHORIZED\"}]}",
            malformed(),
        ),
        case(
            "an array where the category belongs",
            401,
            JSON,
            "{\"errors\":[{\"category\":[\"API_ERROR\"],\"code\":\"UNAUTHORIZED\"}]}",
            malformed(),
        ),
        case(
            "null where the code belongs",
            200,
            JSON,
            "{\"errors\":[{\"category\":\"API_ERROR\",\"code\":null}]}",
            malformed(),
        ),
        case(
            "number where the code belongs",
            429,
            JSON,
            "{\"errors\":[{\"category\":\"RATE_LIMIT_ERROR\",\"code\":429}]}",
            malformed(),
        ),
        case(
            "object where the detail belongs",
            400,
            JSON,
            "{\"errors\":[{\"category\":\"A\",\"code\":\"B\",\"detail\":{}}]}",
            malformed(),
        ),
        case(
            "number where the legacy message belongs",
            400,
            JSON,
            "{\"message\":1,\"type\":\"bad_request\"}",
            malformed(),
        ),
        case("array where the legacy type belongs", 400, JSON, "{\"message\":\"m\",\"type\":[]}", malformed()),
        case(
            "wrong type for each operation's own field",
            200,
            JSON,
            "{\"access_token\":1,\"success\":\"yes\",\"scopes\":\"PAYMENTS_READ\"}",
            malformed(),
        ),
        case(
            "null inside each operation's own field",
            200,
            JSON,
            "{\"access_token\":[null],\"success\":[null],\"scopes\":[null]}",
            malformed(),
        ),
        case("bad expiry, bad success", 200, JSON, "{\"expires_at\":\"tomorrow\",\"success\":\"true\"}", malformed()),
        case(
            "numbers as strings",
            200,
            JSON,
            "{\"token_type\":5,\"success\":1,\"scopes\":{},\"short_lived\":\"false\"}",
            malformed(),
        ),
        case(
            "truncated error answer on a 200",
            200,
            JSON,
            "{\"errors\":[{\"category\":\"A\",\"code\":\"B\"}",
            malformed(),
        ),
    ]
}

/// Checks one answer against every operation and returns how many checks were made.
fn assert_typed_error(
    name: &str,
    config: &Config,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
    expected: &UnexpectedKind,
) {
    for (operation, result) in parse_everywhere(config, status, headers, body) {
        // ObtainToken keeps the tokens of an answer whose only faults are in optional fields,
        // and reports those fields.
        if operation == "ObtainToken"
            && let Ok(output) = &result
        {
            assert!(output.contains("malformed_fields: [\""), "{name}: {output}");
            continue;
        }
        let Err(Error::UnexpectedResponse(unexpected)) = &result else {
            panic!("{name}: {operation} gave {result:?}, not an unexpected-response error");
        };
        assert!(
            same_kind(&unexpected.kind, expected),
            "{name}: {operation} gave {:?}, expected {expected:?}",
            unexpected.kind
        );
        assert_eq!(unexpected.status.as_u16(), status, "{name}");
        assert_well_kept(&result);
    }
}

/// What every unexpected-response error keeps: a bounded excerpt without control characters,
/// and a message that can be shown.
fn assert_well_kept(result: &Parsed) {
    let unexpected = unexpected(result);
    assert!(unexpected.excerpt.len() <= EXCERPT_BYTES, "excerpt of {} bytes", unexpected.excerpt.len());
    assert!(!unexpected.excerpt.chars().any(char::is_control), "{:?}", unexpected.excerpt);
    let display = result.as_ref().unwrap_err().to_string();
    assert!(display.len() < 1024, "{display}");
}

#[test]
fn every_named_hostile_answer_is_a_typed_error_from_every_operation() {
    let cases = named_cases();
    for case in &cases {
        assert_typed_error(case.name, &case.config, case.status, &case.headers, &case.body, &case.expected);
    }
    // The exact sizes in TooLarge.
    let over = &cases.iter().find(|c| c.name == "over a 64-byte cap").unwrap();
    let [(_, result), ..] = parse_everywhere(&over.config, over.status, &over.headers, &over.body);
    assert_eq!(unexpected(&result).kind, UnexpectedKind::TooLarge { limit: 64, actual: 65 });
    // Where a document that is not an object fails.
    let [(_, result), ..] = parse_everywhere(&Config::production(), 400, JSON, b"\n  [1]");
    let UnexpectedKind::Malformed { path, line, column, .. } = &unexpected(&result).kind else { panic!("{result:?}") };
    assert_eq!((path.as_str(), *line, *column), (".", 2, 3));
}

#[test]
fn there_are_at_least_60_distinct_named_hostile_cases_of_every_kind() {
    // Distinct inputs, and the kinds of error every operation actually made of them: prefixes of
    // real answers are tested on their own (below) and do not count here.
    let mut seen = std::collections::HashSet::new();
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for case in named_cases() {
        assert!(
            seen.insert((case.status, case.headers.clone(), case.body.clone(), case.config.max_response_bytes())),
            "{} repeats a case",
            case.name
        );
        for (operation, result) in parse_everywhere(&case.config, case.status, &case.headers, &case.body) {
            let Err(Error::UnexpectedResponse(unexpected)) = &result else {
                assert_eq!(operation, "ObtainToken", "{}: {result:?}", case.name);
                continue;
            };
            let kind = match unexpected.kind {
                UnexpectedKind::TooLarge { .. } => "TooLarge",
                UnexpectedKind::Empty => "Empty",
                UnexpectedKind::NotJson => "NotJson",
                UnexpectedKind::Unconfirmed { .. } => "Unconfirmed",
                UnexpectedKind::Malformed { .. } => "Malformed",
                _ => "another",
            };
            *kinds.entry(kind).or_default() += 1;
        }
    }
    assert!(seen.len() >= 60, "{} named cases", seen.len());
    let covered: Vec<&str> = kinds.keys().copied().collect();
    assert_eq!(covered, ["Empty", "Malformed", "NotJson", "TooLarge"], "{kinds:?}");
    println!("{} named hostile cases; errors by kind: {kinds:?}", seen.len());
}

/// Real answers, the statuses they come with, and the secrets they hold.
fn real_answers() -> [(u16, &'static [&'static str], &'static str); 7] {
    [
        (200, &["EAAl3ikZIe18J-2", "EQAAl0OcByu3IYJ"], OBTAIN_TOKEN_ANSWER),
        (200, &["EAAAEOuLQObrVwJ", "EQAAEOyJhVNnjga"], PKCE_ANSWER),
        (200, &[], TOKEN_STATUS_ANSWER),
        (200, &[], REVOKE_ANSWER),
        (200, &["ACCESS_TOKEN"], RENEW_ANSWER),
        (401, &[], UNAUTHORIZED_ANSWER),
        (400, &[], LEGACY_ANSWER),
    ]
}

#[test]
fn real_answers_truncated_at_every_byte_are_typed_errors() {
    let config = Config::production();
    let mut checked = 0;
    for (status, secrets, answer) in real_answers() {
        for cut in 0..answer.len() {
            let prefix = &answer.as_bytes()[..cut];
            let expected = if cut == 0 { UnexpectedKind::Empty } else { malformed() };
            for (operation, result) in parse_everywhere(&config, status, JSON, prefix) {
                let unexpected = unexpected(&result);
                assert!(same_kind(&unexpected.kind, &expected), "{operation}, cut at {cut}: {:?}", unexpected.kind);
                assert_well_kept(&result);
                // A cut answer keeps an excerpt, but never the tokens in it, however short the cut.
                let debug = format!("{result:?}");
                for secret in secrets {
                    let probe = &secret[..secret.len().min(8)];
                    if probe.len() >= 8 && probe != "ACCESS_T" {
                        assert!(!debug.contains(probe), "{operation}, cut at {cut}: {debug}");
                    }
                }
                checked += 1;
            }
        }
        // The whole answer, by contrast, parses (it is a real one); RevokeToken reads another
        // call's answer as unconfirmed, since it holds no `success: true`.
        let whole = parse_everywhere(&config, status, JSON, answer.as_bytes());
        assert!(
            whole.iter().all(|(operation, r)| match r {
                Ok(_) | Err(Error::Square(_)) => true,
                Err(Error::UnexpectedResponse(u)) => {
                    *operation == "RevokeToken" && u.kind == UnexpectedKind::Unconfirmed { field: "success" }
                }
                Err(_) => false,
            }),
            "{answer}"
        );
    }
    assert!(checked > 4 * 800, "{checked}");
}

#[test]
fn a_body_exactly_at_the_cap_is_read() {
    let config = Config::builder().max_response_bytes(REVOKE_ANSWER.len()).build().unwrap();
    let [_, (_, revoke), ..] = parse_everywhere(&config, 200, JSON, REVOKE_ANSWER.as_bytes());
    assert!(revoke.is_ok(), "{revoke:?}");
    let config = Config::builder().max_response_bytes(REVOKE_ANSWER.len() - 1).build().unwrap();
    let [_, (_, revoke), ..] = parse_everywhere(&config, 200, JSON, REVOKE_ANSWER.as_bytes());
    assert_eq!(
        unexpected(&revoke).kind,
        UnexpectedKind::TooLarge { limit: REVOKE_ANSWER.len() - 1, actual: REVOKE_ANSWER.len() }
    );
}

#[test]
fn malformed_errors_say_where() {
    let body = br#"{"errors":[{"category":"API_ERROR","code":"X"},{"category":"API_ERROR","code":7}]}"#;
    let [(_, result), ..] = parse_everywhere(&Config::production(), 400, JSON, body);
    let UnexpectedKind::Malformed { path, line, column, .. } = &unexpected(&result).kind else { panic!("{result:?}") };
    assert_eq!(path, "errors[1].code");
    assert_eq!(*line, 1);
    assert!(*column > 40, "{column}");
}

#[test]
fn null_in_an_optional_field_is_absence_not_an_error() {
    // Square's SDKs read `null` as absent, and so does this crate; a `null` where a value is
    // required is an error (see the named cases).
    let body = br#"{"access_token":null,"token_type":null,"merchant_id":null,"expires_at":null,"success":null,"scopes":null,"client_id":null,"errors":null}"#;
    for (operation, result) in parse_everywhere(&Config::production(), 200, JSON, body) {
        // A `null` success confirms no revocation: read as absent, and so unconfirmed.
        if operation == "RevokeToken" {
            assert_eq!(unexpected(&result).kind, UnexpectedKind::Unconfirmed { field: "success" });
            continue;
        }
        let output = result.unwrap_or_else(|e| panic!("{operation}: {e:?}"));
        assert!(output.contains("None"), "{operation}: {output}");
    }
}

#[test]
fn deep_nesting_inside_an_unknown_field_is_harmless() {
    let mut body = b"{\"future\":".to_vec();
    body.extend(deep("[", "]", 10_000));
    body.extend(b",\"success\":true}");
    for (operation, result) in parse_everywhere(&Config::production(), 200, JSON, &body) {
        match &result {
            Ok(_) => {}
            Err(Error::UnexpectedResponse(_)) => assert_well_kept(&result),
            Err(other) => panic!("{operation}: {other:?}"),
        }
    }
}

// ---- anything at all ----------------------------------------------------------------------

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop::sample::select(vec![
        None,
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("text/html"),
        Some("application/problem+json"),
        Some("text/plain"),
        Some(""),
    ])
}

/// Every operation, on anything: a result, never a panic; errors only of the answer kinds.
fn check_anything(status: u16, content_type: Option<&str>, body: &[u8], config: &Config) -> Result<(), TestCaseError> {
    let headers: Vec<(&str, &str)> = content_type.map(|ct| ("content-type", ct)).into_iter().collect();
    for (operation, result) in parse_everywhere(config, status, &headers, body) {
        match &result {
            Ok(_) => prop_assert!((200..300).contains(&status), "{} accepted a {} answer", operation, status),
            Err(Error::Square(refusal)) => prop_assert_eq!(refusal.status.as_u16(), status),
            Err(Error::UnexpectedResponse(unexpected)) => {
                prop_assert_eq!(unexpected.status.as_u16(), status);
                prop_assert!(unexpected.excerpt.len() <= EXCERPT_BYTES);
                prop_assert!(!unexpected.excerpt.chars().any(char::is_control));
            }
            Err(other) => prop_assert!(false, "{}: an answer gave {:?}", operation, other),
        }
        let _ = format!("{result:?}");
        if let Err(error) = &result {
            let _ = error.to_string();
        }
    }
    Ok(())
}

/// Small bytes mutations of real answers: the inputs most likely to get deep into the parser.
fn mutated_answer() -> impl Strategy<Value = Vec<u8>> {
    let answers: Vec<&'static str> = real_answers().iter().map(|(_, _, a)| *a).collect();
    (prop::sample::select(answers), prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6))
        .prop_map(|(answer, edits)| {
            let mut bytes = answer.as_bytes().to_vec();
            for (index, byte, op) in edits {
                if bytes.is_empty() {
                    bytes.push(byte);
                    continue;
                }
                let at = index.index(bytes.len());
                match op {
                    0 => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            bytes
        })
}

/// Arbitrary JSON values, nested a little.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec!["PAYMENTS_READ", "2025-04-03T18:31:06Z", "", "API_ERROR"])
            .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        let key = prop::sample::select(vec![
            "errors",
            "category",
            "code",
            "detail",
            "field",
            "message",
            "type",
            "access_token",
            "refresh_token",
            "expires_at",
            "refresh_token_expires_at",
            "merchant_id",
            "scopes",
            "success",
            "short_lived",
            "client_id",
            "token_type",
            "id_token",
            "other",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_and_statuses_never_panic(status in 100u16..1000, content_type in content_type(), body in prop::collection::vec(any::<u8>(), 0..512)) {
        check_anything(status, content_type, &body, &Config::production())?;
    }

    #[test]
    fn arbitrary_retry_after_and_square_version_headers_never_panic(
        status in 100u16..1000,
        retry_after in "[ -~]{0,40}",
        square_version in "[ -~]{0,40}",
        body in prop_oneof![Just(b"{}".to_vec()), Just(b"<html>".to_vec()), Just(Vec::new())],
    ) {
        let headers = [("content-type", "application/json"), ("retry-after", retry_after.as_str()), ("square-version", square_version.as_str())];
        for (operation, result) in parse_everywhere(&Config::production(), status, &headers, &body) {
            if let Err(error) = &result {
                // The version is kept as sent; a Retry-After that is neither form is absent.
                let kept = match error {
                    Error::Square(refusal) => refusal.square_version.clone(),
                    Error::UnexpectedResponse(unexpected) => unexpected.square_version.clone(),
                    _ => None,
                };
                prop_assert_eq!(kept.as_deref(), Some(square_version.as_str()), "{}", operation);
                if let Ok(seconds) = retry_after.trim().parse::<u64>() {
                    prop_assert_eq!(error.retry_after(), Some(&square_oauth::RetryAfter::Delay(core::time::Duration::from_secs(seconds))));
                }
            }
        }
    }

    #[test]
    fn mutated_real_answers_never_panic(status in prop::sample::select(vec![200u16, 400, 401, 429, 500, 502]), content_type in content_type(), body in mutated_answer()) {
        check_anything(status, content_type, &body, &Config::production())?;
    }

    #[test]
    fn arbitrary_json_never_panics(status in prop::sample::select(vec![200u16, 201, 400, 401, 429, 500]), value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        check_anything(status, Some("application/json"), &body, &Config::production())?;
    }

    #[test]
    fn the_size_cap_holds_for_any_cap(cap in 1usize..64, body in prop::collection::vec(any::<u8>(), 0..128)) {
        let config = Config::builder().max_response_bytes(cap).build().unwrap();
        for (_, result) in parse_everywhere(&config, 200, JSON, &body) {
            if body.len() > cap {
                let too_large = matches!(&result, Err(Error::UnexpectedResponse(u)) if u.kind == UnexpectedKind::TooLarge { limit: cap, actual: body.len() });
                prop_assert!(too_large, "{:?}", result);
            } else {
                let too_large = matches!(&result, Err(Error::UnexpectedResponse(u)) if matches!(u.kind, UnexpectedKind::TooLarge { .. }));
                prop_assert!(!too_large, "{:?}", result);
            }
        }
    }
}
