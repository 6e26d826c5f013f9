//! Square's answers, read: the specification's own examples, both error shapes on any status,
//! `Retry-After` and `Square-Version`, timestamps, and the open enums.
#![allow(deprecated)]

mod common;

use core::time::Duration;

use common::{
    LEGACY_ANSWER, OBTAIN_TOKEN_ANSWER, PKCE_ANSWER, REVOKE_ANSWER, TOKEN_STATUS_ANSWER, UNAUTHORIZED_ANSWER, answer,
    assert_schema, json, operations, parse_everywhere, schema_2024, schema_2025, unexpected,
};
use jiff::Timestamp;
use serde_json::Value;
use square_oauth::{
    Config, Error, ErrorCategory, ErrorCode, Operation, RetryAfter, Scope, SquareError, UnexpectedKind,
};

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn example(schema: &Value) -> String {
    serde_json::to_string(&schema["example"]).unwrap()
}

// ---- the specification's examples ---------------------------------------------------------

#[test]
fn obtain_token_example_of_2025() {
    let body = example(schema_2025("ObtainTokenResponse"));
    let token = operations().obtain.parse(&Config::production(), json(200, &body)).unwrap();
    assert_eq!(
        token.access_token.unwrap().expose_secret(),
        "EAAl3ikZIe18J-2-cHlV2bL4-EaZHGoJUhtEBT7QA6-7AgwIHw8Xe1IoUvGsNxA"
    );
    assert_eq!(token.token_type.as_deref(), Some("bearer"));
    assert_eq!(token.expires_at, Some(ts("2025-04-03T18:31:06Z")));
    assert_eq!(token.merchant_id.unwrap().as_str(), "MLQW2MYBY81PZ");
    assert_eq!(
        token.refresh_token.unwrap().expose_secret(),
        "EQAAl0OcByu3IYJYScGGg-8E5YNf0r0b6jCTCMy5nOcRZ4ok0wbWAL8vY3tZWNcc"
    );
    assert_eq!(token.short_lived, Some(false));
    assert_eq!(token.refresh_token_expires_at, None);
    assert_eq!(token.subscription_id, None);
    assert_eq!(token.plan_id, None);
    assert!(token.id_token.is_none());
    // The compact copy the hostile tests truncate is the same document.
    assert_eq!(
        serde_json::from_str::<Value>(OBTAIN_TOKEN_ANSWER).unwrap(),
        schema_2025("ObtainTokenResponse")["example"]
    );
}

#[test]
fn obtain_token_example_of_2024() {
    let body = example(schema_2024("ObtainTokenResponse"));
    let token = operations().obtain.parse(&Config::production(), json(200, &body)).unwrap();
    assert_eq!(token.access_token.unwrap().expose_secret(), "ACCESS_TOKEN");
    assert_eq!(token.refresh_token.unwrap().expose_secret(), "REFRESH_TOKEN");
    assert_eq!(token.merchant_id.unwrap().as_str(), "MERCHANT_ID");
    assert_eq!(token.expires_at, Some(ts("2006-01-02T15:04:05Z")));
    assert_eq!(token.token_type.as_deref(), Some("bearer"));
}

#[test]
fn retrieve_token_status_examples() {
    for schema in [schema_2025("RetrieveTokenStatusResponse"), schema_2024("RetrieveTokenStatusResponse")] {
        let status = operations().status.parse(&Config::production(), json(200, &example(schema))).unwrap();
        assert_eq!(status.scopes, Some(vec![Scope::PaymentsRead, Scope::PaymentsWrite]));
        assert_eq!(status.expires_at, Some(ts("2022-10-14T14:44:00Z")));
        assert_eq!(status.client_id.unwrap().as_str(), "CLIENT_ID");
        assert_eq!(status.merchant_id.unwrap().as_str(), "MERCHANT_ID");
    }
    assert_eq!(
        serde_json::from_str::<Value>(TOKEN_STATUS_ANSWER).unwrap(),
        schema_2025("RetrieveTokenStatusResponse")["example"]
    );
}

#[test]
fn revoke_token_examples() {
    for schema in [schema_2025("RevokeTokenResponse"), schema_2024("RevokeTokenResponse")] {
        let revoked = operations().revoke.parse(&Config::production(), json(200, &example(schema))).unwrap();
        assert_eq!(revoked.success, Some(true));
    }
    assert_eq!(serde_json::from_str::<Value>(REVOKE_ANSWER).unwrap(), schema_2025("RevokeTokenResponse")["example"]);
}

#[test]
fn renew_token_example_of_2024() {
    let renewed = operations()
        .renew
        .parse(&Config::production(), json(200, &example(schema_2024("RenewTokenResponse"))))
        .unwrap();
    assert_eq!(renewed.access_token.unwrap().expose_secret(), "ACCESS_TOKEN");
    assert_eq!(renewed.token_type.as_deref(), Some("bearer"));
    assert_eq!(renewed.expires_at, Some(ts("2006-01-02T15:04:05Z")));
    assert_eq!(renewed.merchant_id.unwrap().as_str(), "MERCHANT_ID");
    assert_eq!(renewed.subscription_id, None);
}

#[test]
fn pkce_answer_with_refresh_token_expiry_and_legacy_fields() {
    assert_schema("ObtainTokenResponse", &serde_json::from_str(PKCE_ANSWER).unwrap());
    let token = operations().obtain.parse(&Config::production(), json(200, PKCE_ANSWER)).unwrap();
    assert_eq!(token.refresh_token_expires_at, Some(ts("2025-07-02T18:31:06Z")));
    assert_eq!(token.expires_at, Some(ts("2025-05-03T18:31:06Z")));

    let legacy = r#"{"access_token":"EAAAx1","subscription_id":"SUB-1","plan_id":"PLAN-1","id_token":"eyJhbGciOi.x.y","short_lived":true}"#;
    assert_schema("ObtainTokenResponse", &serde_json::from_str(legacy).unwrap());
    let token = operations().obtain.parse(&Config::production(), json(200, legacy)).unwrap();
    assert_eq!(token.subscription_id.as_deref(), Some("SUB-1"));
    assert_eq!(token.plan_id.as_deref(), Some("PLAN-1"));
    assert_eq!(token.id_token.unwrap().expose_secret(), "eyJhbGciOi.x.y");
    assert_eq!(token.short_lived, Some(true));
}

#[test]
fn unknown_fields_are_ignored_and_an_empty_errors_array_is_success() {
    let body = r#"{"access_token":"EAAAx1","errors":[],"new_field":{"nested":[1,2,{"x":null}]},"another":1.5e300}"#;
    let token = operations().obtain.parse(&Config::production(), json(200, body)).unwrap();
    assert_eq!(token.access_token.unwrap().expose_secret(), "EAAAx1");
    let revoked =
        operations().revoke.parse(&Config::production(), json(200, r#"{"success":true,"errors":null}"#)).unwrap();
    assert_eq!(revoked.success, Some(true));
}

#[test]
fn json_content_types_square_might_send_are_accepted() {
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        "application/problem+json",
    ] {
        let result = operations()
            .revoke
            .parse(&Config::production(), answer(200, &[("content-type", content_type)], REVOKE_ANSWER.as_bytes()));
        assert_eq!(result.unwrap().success, Some(true), "{content_type}");
    }
    // No content type at all: the body decides.
    let result = operations().revoke.parse(&Config::production(), answer(200, &[], REVOKE_ANSWER.as_bytes()));
    assert_eq!(result.unwrap().success, Some(true));
}

// ---- errors -------------------------------------------------------------------------------

fn refusal(result: &common::Parsed) -> &square_oauth::SquareRefusal {
    match result {
        Err(Error::Square(refusal)) => refusal,
        other => panic!("expected Square's refusal, got {other:?}"),
    }
}

#[test]
fn current_error_shape_on_every_status_and_every_operation() {
    for status in [400, 401, 403, 404, 429, 500, 503] {
        for (name, result) in parse_everywhere(
            &Config::production(),
            status,
            &[("content-type", "application/json")],
            UNAUTHORIZED_ANSWER.as_bytes(),
        ) {
            let refusal = refusal(&result);
            assert_eq!(refusal.status.as_u16(), status, "{name}");
            assert_eq!(
                refusal.errors,
                vec![SquareError {
                    category: ErrorCategory::AuthenticationError,
                    code: ErrorCode::Unauthorized,
                    detail: Some("This request could not be authorized.".into()),
                    field: None,
                }],
                "{name}"
            );
            let error = result.unwrap_err();
            assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
            assert!(error.has_code(&ErrorCode::Unauthorized));
            assert!(!error.has_code(&ErrorCode::AccessTokenExpired));
            assert_eq!(error.square_errors().len(), 1);
            assert!(error.to_string().contains("AUTHENTICATION_ERROR/UNAUTHORIZED"), "{error}");
        }
    }
}

#[test]
fn legacy_error_shape_is_folded_into_v1_error() {
    for status in [400, 401, 429, 500] {
        for (name, result) in parse_everywhere(
            &Config::production(),
            status,
            &[("content-type", "application/json")],
            LEGACY_ANSWER.as_bytes(),
        ) {
            let refusal = refusal(&result);
            assert_eq!(refusal.status.as_u16(), status);
            assert_eq!(refusal.errors.len(), 1, "{name}");
            let error = &refusal.errors[0];
            assert_eq!(error.category, ErrorCategory::V1Error);
            assert_eq!(error.code, ErrorCode::Other("bad_request.invalid_parameter".into()));
            assert_eq!(error.detail.as_deref(), Some("bad authorization header"));
            assert_eq!(error.field, None);
        }
    }
    let with_field = r#"{"message":"missing","type":"bad_request.missing_parameter","field":"client_id"}"#;
    let result = operations().obtain.parse(&Config::production(), json(400, with_field)).map(|_| ());
    let Err(Error::Square(refusal)) = result else { panic!("{result:?}") };
    assert_eq!(refusal.errors[0].field.as_deref(), Some("client_id"));
    assert_eq!(refusal.errors[0].to_string(), "V1_ERROR/bad_request.missing_parameter (field `client_id`): missing");
}

#[test]
fn errors_on_a_200_are_a_refusal_for_every_operation() {
    let body = r#"{"access_token":"EAAAx1","success":true,"scopes":["PAYMENTS_READ"],"errors":[{"category":"INVALID_REQUEST_ERROR","code":"MISSING_REQUIRED_PARAMETER","field":"client_id","detail":"Missing"}]}"#;
    for (name, result) in
        parse_everywhere(&Config::production(), 200, &[("content-type", "application/json")], body.as_bytes())
    {
        let refusal = refusal(&result);
        assert_eq!(refusal.status.as_u16(), 200, "{name}");
        assert_eq!(refusal.errors[0].category, ErrorCategory::InvalidRequestError);
        assert_eq!(refusal.errors[0].code, ErrorCode::MissingRequiredParameter);
        assert_eq!(refusal.errors[0].field.as_deref(), Some("client_id"));
    }
    // The legacy shape on a 200 too.
    for (name, result) in parse_everywhere(&Config::production(), 200, &[], LEGACY_ANSWER.as_bytes()) {
        assert_eq!(refusal(&result).errors[0].category, ErrorCategory::V1Error, "{name}");
    }
}

#[test]
fn several_errors_and_both_shapes_at_once_are_all_kept() {
    let body = r#"{"errors":[{"category":"RATE_LIMIT_ERROR","code":"RATE_LIMITED"},{"category":"API_ERROR","code":"INTERNAL_SERVER_ERROR","detail":"x"}],"message":"slow down","type":"rate_limited"}"#;
    let result = operations().status.parse(&Config::production(), json(429, body)).map(|_| ());
    let Err(Error::Square(refusal)) = &result else { panic!("{result:?}") };
    let codes: Vec<&str> = refusal.errors.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["RATE_LIMITED", "INTERNAL_SERVER_ERROR", "rate_limited"]);
    assert_eq!(
        result.unwrap_err().to_string(),
        "Square refused the request (HTTP 429): RATE_LIMIT_ERROR/RATE_LIMITED; API_ERROR/INTERNAL_SERVER_ERROR: x; V1_ERROR/rate_limited: slow down"
    );
}

#[test]
fn unknown_codes_and_categories_are_kept_as_other() {
    let body = r#"{"errors":[{"category":"QUANTUM_ERROR","code":"TOKEN_TOO_SHINY","detail":"new in 2030"}]}"#;
    for (name, result) in parse_everywhere(&Config::production(), 400, &[], body.as_bytes()) {
        let error = &refusal(&result).errors[0];
        assert_eq!(error.category, ErrorCategory::Other("QUANTUM_ERROR".into()), "{name}");
        assert_eq!(error.code, ErrorCode::Other("TOKEN_TOO_SHINY".into()));
        assert!(!error.category.is_known() && !error.code.is_known());
        assert_eq!(error.category.as_str(), "QUANTUM_ERROR");
        assert_eq!(error.code.to_string(), "TOKEN_TOO_SHINY");
    }
}

#[test]
fn an_error_body_without_errors_is_still_a_refusal_with_the_status() {
    let result = operations().obtain.parse(&Config::production(), json(500, "{}")).map(|_| ());
    let Err(Error::Square(refusal)) = result else { panic!("{result:?}") };
    assert_eq!(refusal.status.as_u16(), 500);
    assert!(refusal.errors.is_empty());
}

#[test]
fn retry_after_in_seconds_is_kept() {
    let result = operations().status.parse(
        &Config::production(),
        answer(
            429,
            &[("content-type", "application/json"), ("retry-after", "120")],
            br#"{"errors":[{"category":"RATE_LIMIT_ERROR","code":"RATE_LIMITED"}]}"#,
        ),
    );
    let error = result.unwrap_err();
    assert_eq!(error.retry_after(), Some(&RetryAfter::Delay(Duration::from_secs(120))));
    assert!(error.has_code(&ErrorCode::RateLimited));
    assert_eq!(error.retry_after().unwrap().delay_from(ts("2030-01-01T00:00:00Z")), Duration::from_secs(120));
}

#[test]
fn retry_after_as_an_http_date_is_kept() {
    let result = operations().revoke.parse(
        &Config::production(),
        answer(
            503,
            &[("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT"), ("content-type", "text/html")],
            b"<html>busy</html>",
        ),
    );
    let error = result.unwrap_err();
    let at = ts("2026-10-21T07:28:00Z");
    assert_eq!(error.retry_after(), Some(&RetryAfter::At(at)));
    assert_eq!(error.retry_after().unwrap().delay_from(ts("2026-10-21T07:27:30Z")), Duration::from_secs(30));
    assert_eq!(error.retry_after().unwrap().delay_from(ts("2026-10-21T08:00:00Z")), Duration::ZERO);
}

#[test]
fn retry_after_forms() {
    assert_eq!(RetryAfter::parse("0"), Some(RetryAfter::Delay(Duration::ZERO)));
    assert_eq!(RetryAfter::parse(" 7 "), Some(RetryAfter::Delay(Duration::from_secs(7))));
    assert_eq!(RetryAfter::parse("Thu, 01 Jan 1970 00:00:00 GMT"), Some(RetryAfter::At(Timestamp::UNIX_EPOCH)));
    for garbage in ["", "-1", "1.5", "soon", "Wed, 99 Oct 2026 07:28:00 GMT", "18446744073709551616"] {
        assert_eq!(RetryAfter::parse(garbage), None, "{garbage:?}");
    }
    // A garbage header on an answer is simply absent.
    let error =
        operations().status.parse(&Config::production(), answer(429, &[("retry-after", "soon")], b"{}")).unwrap_err();
    assert_eq!(error.retry_after(), None);
}

#[test]
fn square_version_of_the_answer_is_captured() {
    let headers = [("content-type", "application/json"), ("square-version", "2025-08-20")];
    let error = operations()
        .obtain
        .parse(&Config::production(), answer(401, &headers, UNAUTHORIZED_ANSWER.as_bytes()))
        .unwrap_err();
    let Error::Square(refusal) = &error else { panic!("{error:?}") };
    assert_eq!(refusal.square_version.as_deref(), Some("2025-08-20"));
    // And on an answer that could not be read.
    let headers = [("content-type", "text/html"), ("square-version", "2024-03-20"), ("retry-after", "3")];
    let result = operations()
        .obtain
        .parse(&Config::production(), answer(502, &headers, b"<html>Bad Gateway</html>"))
        .map(|_| ());
    let unexpected = unexpected(&result);
    assert_eq!(unexpected.square_version.as_deref(), Some("2024-03-20"));
    assert_eq!(unexpected.retry_after, Some(RetryAfter::Delay(Duration::from_secs(3))));
    assert_eq!(unexpected.content_type.as_deref(), Some("text/html"));
    assert_eq!(unexpected.kind, UnexpectedKind::NotJson);
    // The status as its number: no reason phrase, whose table would ship in every module.
    let shown = unexpected.to_string();
    assert!(shown.starts_with("unexpected answer (HTTP 502, text/html): "), "{shown}");
}

// ---- timestamps ---------------------------------------------------------------------------

#[test]
fn an_empty_or_null_expiry_means_none() {
    for expires in [r#""""#, r#""  ""#, "null"] {
        let body = format!(r#"{{"client_id":"sq0idp-x","expires_at":{expires},"scopes":[]}}"#);
        let status = operations().status.parse(&Config::production(), json(200, &body)).unwrap();
        assert_eq!(status.expires_at, None, "{expires}");
        assert_eq!(status.scopes, Some(vec![]));
    }
    // Absent, as personal access tokens have it.
    let status = operations().status.parse(&Config::production(), json(200, r#"{"client_id":"sq0idp-x"}"#)).unwrap();
    assert_eq!(status.expires_at, None);
    assert_eq!(status.client_id.unwrap().as_str(), "sq0idp-x");
}

#[test]
fn an_invalid_timestamp_is_a_typed_error_at_its_path_or_a_reported_field() {
    let cases = [
        ("ObtainToken", r#"{"access_token":"EAAAx1","expires_at":"not a date"}"#, "expires_at"),
        ("ObtainToken", r#"{"refresh_token_expires_at":"2025-13-01T00:00:00Z"}"#, "refresh_token_expires_at"),
        ("ObtainToken", r#"{"expires_at":"2025-04-03"}"#, "expires_at"),
        ("RetrieveTokenStatus", r#"{"expires_at":"yesterday"}"#, "expires_at"),
        ("RetrieveTokenStatus", r#"{"expires_at":1700000000}"#, "expires_at"),
        ("RenewToken", r#"{"expires_at":"2006-01-02 15:04:05"}"#, "expires_at"),
    ];
    for (operation, body, field) in cases {
        let [obtain, _, status, renew] = parse_everywhere(&Config::production(), 200, &[], body.as_bytes());
        let result = match operation {
            // ObtainToken keeps the tokens and reports the field instead (its code is spent).
            "ObtainToken" => {
                let output = obtain.1.unwrap();
                assert!(output.contains(&format!("malformed_fields: [\"{field}\"]")), "{output}");
                continue;
            }
            "RetrieveTokenStatus" => status.1,
            _ => renew.1,
        };
        let unexpected = unexpected(&result);
        let UnexpectedKind::Malformed { path, .. } = &unexpected.kind else { panic!("{unexpected:?}") };
        assert_eq!(path, field, "{body}");
    }
}

#[test]
fn timestamps_with_offsets_and_fractions_are_read_as_instants() {
    let body = r#"{"expires_at":"2025-04-03T20:31:06.123456+02:00"}"#;
    let token = operations().obtain.parse(&Config::production(), json(200, body)).unwrap();
    assert_eq!(token.expires_at, Some(ts("2025-04-03T18:31:06.123456Z")));
}

// ---- open enums ---------------------------------------------------------------------------

fn spec_enum(name: &str) -> Vec<String> {
    schema_2025(name)["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

#[test]
fn all_59_scopes_of_the_specification_are_known_and_round_trip() {
    let scopes = spec_2025_scopes();
    assert_eq!(scopes.len(), 59);
    for text in &scopes {
        let scope = Scope::from(text.as_str());
        assert!(scope.is_known(), "{text} is not known");
        assert!(Scope::KNOWN.contains(&scope));
        assert_eq!(scope.as_str(), text);
        assert_eq!(scope.to_string(), *text);
        assert_eq!(text.parse::<Scope>().unwrap(), scope);
        let serialized = serde_json::to_string(&scope).unwrap();
        assert_eq!(serialized, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<Scope>(&serialized).unwrap(), scope);
    }
    // Every scope this crate knows is one Square lists.
    for scope in Scope::KNOWN {
        assert!(scopes.iter().any(|s| s == scope.as_str()), "{scope:?} is not in the specification");
    }
}

fn spec_2025_scopes() -> Vec<String> {
    common::spec_2025()["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]["scopes"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn all_error_codes_and_categories_of_the_specification_are_known() {
    let codes = spec_enum("ErrorCode");
    assert_eq!(codes.len(), 153);
    for text in &codes {
        let code = ErrorCode::from(text.as_str());
        assert!(code.is_known(), "{text}");
        assert_eq!(code.as_str(), text);
        assert_eq!(serde_json::from_value::<ErrorCode>(Value::String(text.clone())).unwrap(), code);
        assert_eq!(serde_json::to_value(&code).unwrap(), Value::String(text.clone()));
    }
    let categories = spec_enum("ErrorCategory");
    assert_eq!(categories.len(), 8);
    for text in &categories {
        let category = ErrorCategory::from(text.clone());
        assert!(category.is_known(), "{text}");
        assert_eq!(category.as_str(), text);
    }
    // Known values are distinct: no two variants share a text.
    for known in [
        ErrorCode::KNOWN.iter().map(ErrorCode::as_str).collect::<Vec<_>>(),
        ErrorCategory::KNOWN.iter().map(ErrorCategory::as_str).collect(),
        Scope::KNOWN.iter().map(Scope::as_str).collect(),
    ] {
        let mut sorted = known.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), known.len());
    }
}

#[test]
fn unknown_enum_values_round_trip_unchanged() {
    for text in ["NEW_SCOPE_2030", "", "lower_case", "WITH SPACE", "ünïcode"] {
        let scope = Scope::from(text);
        assert_eq!(scope, Scope::Other(text.to_owned()));
        assert_eq!(scope.as_str(), text);
        assert_eq!(serde_json::from_str::<Scope>(&serde_json::to_string(&scope).unwrap()).unwrap(), scope);
        assert_eq!(format!("{:?}", ErrorCode::from(text)), format!("ErrorCode::Other({text:?})"));
        assert_eq!(ErrorCategory::from(text.to_owned()), ErrorCategory::Other(text.to_owned()));
    }
    assert_eq!(format!("{:?}", Scope::PaymentsRead), "Scope::PAYMENTS_READ");
    // Near misses are not silently taken for a known value.
    assert!(!Scope::from("payments_read").is_known());
    assert!(!Scope::from(" PAYMENTS_READ").is_known());
}

#[test]
fn scopes_in_a_token_status_keep_unknown_values() {
    let body = r#"{"scopes":["PAYMENTS_READ","FUTURE_SCOPE","ITEMS_WRITE"]}"#;
    let status = operations().status.parse(&Config::production(), json(200, body)).unwrap();
    assert_eq!(status.scopes, Some(vec![Scope::PaymentsRead, Scope::Other("FUTURE_SCOPE".into()), Scope::ItemsWrite]));
}

#[test]
fn a_gateway_message_without_type_is_kept_with_the_status_code() {
    for (status, code) in [(429, ErrorCode::RateLimited), (502, ErrorCode::BadGateway), (401, ErrorCode::Unauthorized)]
    {
        let body = r#"{"message":"upstream says no","field":"client_id"}"#;
        for (name, result) in parse_everywhere(&Config::production(), status, &[], body.as_bytes()) {
            let errors = &refusal(&result).errors;
            assert_eq!(errors.len(), 1, "{name}");
            assert_eq!(errors[0].category, ErrorCategory::V1Error, "{name}");
            assert_eq!(errors[0].code, code, "{name}");
            assert_eq!(errors[0].detail.as_deref(), Some("upstream says no"), "{name}");
            assert_eq!(errors[0].field.as_deref(), Some("client_id"), "{name}");
        }
    }
    // With real errors beside it, a stray message adds nothing.
    let body = r#"{"errors":[{"category":"API_ERROR","code":"SERVICE_UNAVAILABLE"}],"message":"ignored"}"#;
    let result = operations().status.parse(&Config::production(), json(503, body)).map(|_| ());
    let Err(Error::Square(refusal)) = result else { panic!("{result:?}") };
    assert_eq!(refusal.errors.len(), 1);
}

// ---- RevokeToken: only `success: true` is a revocation ------------------------------------

#[test]
fn a_revoke_answer_without_success_true_is_not_a_revocation() {
    for body in [r#"{"success":false}"#, "{}", r#"{"success":null}"#] {
        let error = operations().revoke.parse(&Config::production(), json(200, body)).unwrap_err();
        match &error {
            Error::UnexpectedResponse(unexpected) => {
                assert_eq!(unexpected.kind, UnexpectedKind::Unconfirmed { field: "success" }, "{body}");
                assert_eq!(unexpected.status.as_u16(), 200);
            }
            other => panic!("{body}: expected an unconfirmed answer, got {other:?}"),
        }
        assert!(error.to_string().contains("`success` is not true"), "{error}");
    }
    let revoked = operations().revoke.parse(&Config::production(), json(200, r#"{"success":true}"#)).unwrap();
    assert!(revoked.revoked() && !revoked.already_revoked);
}

#[test]
fn a_revoke_refused_as_already_revoked_is_reported_as_done() {
    let body = r#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"ACCESS_TOKEN_REVOKED","detail":"revoked"}]}"#;
    for status in [400, 401] {
        let answer = operations().revoke.parse(&Config::production(), json(status, body)).unwrap();
        assert!(answer.already_revoked && answer.revoked(), "{status}");
        assert_eq!(answer.success, None);
    }
    // Any other refusal stays a refusal, and so does one that mixes in another error.
    let error = operations().revoke.parse(&Config::production(), json(401, UNAUTHORIZED_ANSWER)).unwrap_err();
    assert!(error.has_code(&ErrorCode::Unauthorized));
    let mixed = r#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"ACCESS_TOKEN_REVOKED"},
        {"category":"INVALID_REQUEST_ERROR","code":"NOT_FOUND"}]}"#;
    assert!(operations().revoke.parse(&Config::production(), json(404, mixed)).is_err());
    // Only RevokeToken reads it so: a status call with a revoked token is a refusal.
    assert!(operations().status.parse(&Config::production(), json(401, body)).is_err());
}

#[test]
fn an_error_without_a_category_is_still_read() {
    let body = r#"{"errors":[{"code":"UNAUTHORIZED","detail":"no category here"}]}"#;
    for (name, result) in
        parse_everywhere(&Config::production(), 401, &[("content-type", "application/json")], body.as_bytes())
    {
        let refusal = refusal(&result);
        assert_eq!(refusal.errors.len(), 1, "{name}");
        assert_eq!(refusal.errors[0].code, ErrorCode::Unauthorized, "{name}");
        assert_eq!(refusal.errors[0].category, ErrorCategory::Other(String::new()), "{name}");
        assert_eq!(refusal.errors[0].detail.as_deref(), Some("no category here"));
        assert_eq!(refusal.errors[0].to_string(), "UNAUTHORIZED: no category here");
    }
    // A null category is absence too; a category of the wrong type is still malformed.
    let null = r#"{"errors":[{"category":null,"code":"UNAUTHORIZED"}]}"#;
    assert!(matches!(operations().status.parse(&Config::production(), json(401, null)), Err(Error::Square(_))));
    let wrong = r#"{"errors":[{"category":7,"code":"UNAUTHORIZED"}]}"#;
    assert!(matches!(
        unexpected(&operations().status.parse(&Config::production(), json(401, wrong))).kind,
        UnexpectedKind::Malformed { .. }
    ));
}

// ---- ObtainToken: a malformed optional field does not cost the tokens ------------------------

#[test]
fn a_malformed_optional_field_keeps_the_tokens_and_is_reported() {
    let body = r#"{"access_token":"EAAAkept","merchant_id":"MLQW2MYBY81PZ","refresh_token":"EQAAkept",
        "token_type":1,"expires_at":"next month","short_lived":"yes","plan_id":7,"subscription_id":{"a":1},
        "refresh_token_expires_at":false}"#;
    let tokens = operations().obtain.parse(&Config::production(), json(200, body)).unwrap();
    assert_eq!(tokens.access_token.unwrap().expose_secret(), "EAAAkept");
    assert_eq!(tokens.refresh_token.unwrap().expose_secret(), "EQAAkept");
    assert_eq!(tokens.merchant_id.unwrap().as_str(), "MLQW2MYBY81PZ");
    assert_eq!((tokens.expires_at, tokens.short_lived, tokens.plan_id.as_deref()), (None, None, None));
    assert_eq!(
        tokens.malformed_fields,
        ["token_type", "expires_at", "subscription_id", "plan_id", "short_lived", "refresh_token_expires_at"]
    );
    // One bad field, the others read.
    let one = r#"{"access_token":"EAAAx","expires_at":"2025-04-03T18:31:06Z","short_lived":"no"}"#;
    let tokens = operations().obtain.parse(&Config::production(), json(200, one)).unwrap();
    assert_eq!(tokens.expires_at, Some(ts("2025-04-03T18:31:06Z")));
    assert_eq!(tokens.malformed_fields, ["short_lived"]);
    // A well-formed answer reports nothing.
    let clean = operations().obtain.parse(&Config::production(), json(200, PKCE_ANSWER)).unwrap();
    assert!(clean.malformed_fields.is_empty());
}

#[test]
fn the_tokens_and_the_seller_are_still_read_strictly() {
    for body in [r#"{"access_token":7}"#, r#"{"refresh_token":["EQAAx"]}"#, r#"{"merchant_id":false}"#] {
        match operations().obtain.parse(&Config::production(), json(200, body)) {
            Err(Error::UnexpectedResponse(u)) => assert!(matches!(u.kind, UnexpectedKind::Malformed { .. }), "{body}"),
            other => panic!("{body}: {other:?}"),
        }
    }
}
