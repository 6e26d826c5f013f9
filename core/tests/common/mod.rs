//! What every test file of the core shares: Square's schemas, answers made to order, and the
//! operations whose `parse` every hostile answer is fed to.
#![allow(dead_code, deprecated)]

use std::sync::OnceLock;

use serde_json::Value;
use square_oauth::{
    AccessToken, AuthorizationCode, ClientId, ClientSecret, Config, Error, ObtainToken, Operation, RenewToken,
    RetrieveTokenStatus, RevokeToken, UnexpectedKind, UnexpectedResponse,
};

// ---- Square's specification, copied into `spec/` ------------------------------------------

fn load_spec(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the specification is JSON")
}

/// `spec/square-oauth-openapi-2025-08-20.json` (OpenAPI 3.0, the newest release).
pub(crate) fn spec_2025() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| load_spec("square-oauth-openapi-2025-08-20.json"))
}

/// `spec/square-oauth-swagger-2024-03-20.json` (Swagger 2.0, the last with RenewToken).
pub(crate) fn spec_2024() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| load_spec("square-oauth-swagger-2024-03-20.json"))
}

/// A schema of the 2025 specification, by name.
pub(crate) fn schema_2025(name: &str) -> &'static Value {
    let schema = &spec_2025()["components"]["schemas"][name];
    assert!(schema.is_object(), "the 2025 specification has no schema {name}");
    schema
}

/// A definition of the 2024 specification, by name.
pub(crate) fn schema_2024(name: &str) -> &'static Value {
    let schema = &spec_2024()["definitions"][name];
    assert!(schema.is_object(), "the 2024 specification has no definition {name}");
    schema
}

/// Every schema of the 2025 specification, compiled once (proptests validate hundreds of bodies).
fn validators_2025() -> &'static std::collections::HashMap<String, jsonschema::Validator> {
    static VALIDATORS: OnceLock<std::collections::HashMap<String, jsonschema::Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let components = &spec_2025()["components"];
        components["schemas"]
            .as_object()
            .expect("schemas")
            .keys()
            .map(|name| {
                let root =
                    serde_json::json!({ "$ref": format!("#/components/schemas/{name}"), "components": components });
                let validator =
                    jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("schema {name} compiles: {e}"));
                (name.clone(), validator)
            })
            .collect()
    })
}

fn check_schema(root: Value, name: &str, properties: &Value, instance: &Value) {
    let compiled;
    let validator = match validators_2025().get(name).filter(|_| root.get("components").is_some()) {
        Some(validator) => validator,
        None => {
            compiled = jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("schema {name} compiles: {e}"));
            &compiled
        }
    };
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{e} at `{}`", e.instance_path())).collect();
    assert!(errors.is_empty(), "{instance} does not match {name}: {errors:?}");
    // Square's schemas allow unknown fields; a request this crate builds must not invent any.
    let properties = properties.as_object().expect("the schema lists its properties");
    for key in instance.as_object().expect("a JSON object").keys() {
        assert!(properties.contains_key(key), "{name} has no field `{key}` (in {instance})");
    }
    // `nullable` is an OpenAPI 3.0 keyword the validator does not read: check by hand that
    // absent fields are left out rather than sent as `null`.
    assert!(
        instance.as_object().unwrap().values().all(|v| !v.is_null()),
        "{instance} sends null instead of leaving a field out"
    );
}

/// Validates `instance` against `#/components/schemas/{name}` of the 2025 specification, and
/// checks that it has no field the schema does not name and no `null`.
pub(crate) fn assert_schema(name: &str, instance: &Value) {
    let root = serde_json::json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": spec_2025()["components"].clone(),
    });
    check_schema(root, name, &schema_2025(name)["properties"], instance);
}

/// The same against `#/definitions/{name}` of the 2024 specification (RenewToken lives only there).
pub(crate) fn assert_schema_2024(name: &str, instance: &Value) {
    let root = serde_json::json!({
        "$ref": format!("#/definitions/{name}"),
        "definitions": spec_2024()["definitions"].clone(),
    });
    check_schema(root, name, &schema_2024(name)["properties"], instance);
}

/// Whether `instance` matches the schema (for tests that expect a mismatch).
pub(crate) fn matches_schema(name: &str, instance: &Value) -> bool {
    let root = serde_json::json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": spec_2025()["components"].clone(),
    });
    jsonschema::validator_for(&root).expect("schema compiles").is_valid(instance)
}

// ---- requests -----------------------------------------------------------------------------

/// The body of a built request, as JSON.
pub(crate) fn body_json(request: &http::Request<square_oauth::Body>) -> Value {
    serde_json::from_slice(request.body().expose_secret()).expect("the body is JSON")
}

/// The body of a built request, as text.
pub(crate) fn body_text(request: &http::Request<square_oauth::Body>) -> String {
    String::from_utf8(request.body().expose_secret().to_vec()).expect("the body is UTF-8")
}

/// The headers of a request as sorted `(name, value)` pairs, sensitive ones included.
pub(crate) fn header_list(request: &http::Request<square_oauth::Body>) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().expect("ASCII header").to_owned()))
        .collect();
    list.sort();
    list
}

/// The `User-Agent` this crate sends by default.
pub(crate) fn default_user_agent() -> String {
    format!("square-oauth-rust/{}", env!("CARGO_PKG_VERSION"))
}

// ---- answers ------------------------------------------------------------------------------

/// An answer with this status, headers and body.
pub(crate) fn answer<'a>(status: u16, headers: &[(&str, &str)], body: &'a [u8]) -> http::Response<&'a [u8]> {
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).expect("a valid answer")
}

/// A JSON answer with this status and body.
pub(crate) fn json(status: u16, body: &str) -> http::Response<&[u8]> {
    answer(status, &[("content-type", "application/json")], body.as_bytes())
}

/// One of each operation, for feeding the same answer to every `parse`.
pub(crate) struct Operations {
    pub(crate) obtain: ObtainToken,
    pub(crate) revoke: RevokeToken,
    pub(crate) status: RetrieveTokenStatus,
    pub(crate) renew: RenewToken,
}

pub(crate) fn operations() -> Operations {
    let client_id = ClientId::new("sq0idp-uaPHILoPzWZk3tlJqlML0g");
    let secret = ClientSecret::new("sq0csp-30a-4C_tVOnTh14Piza2BfTPBXyLafLPWSzY1qAjeBfM");
    Operations {
        obtain: ObtainToken::authorization_code(
            client_id.clone(),
            secret.clone(),
            AuthorizationCode::new("sq0cgb-l0SBqxs4uwxErTVyYOdemg"),
        ),
        revoke: RevokeToken::access_token(client_id.clone(), secret.clone(), AccessToken::new("EAAAtoken")),
        status: RetrieveTokenStatus::new(AccessToken::new("EAAAtoken")),
        renew: RenewToken::new(client_id, secret, AccessToken::new("EAAAtoken")),
    }
}

/// What `parse` gave: the output's `Debug`, or the error.
pub(crate) type Parsed = Result<String, Error>;

/// Feeds the same status, headers and body to the `parse` of every operation.
pub(crate) fn parse_everywhere(
    config: &Config,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> [(&'static str, Parsed); 4] {
    let ops = operations();
    [
        ("ObtainToken", ops.obtain.parse(config, answer(status, headers, body)).map(|v| format!("{v:?}"))),
        ("RevokeToken", ops.revoke.parse(config, answer(status, headers, body)).map(|v| format!("{v:?}"))),
        ("RetrieveTokenStatus", ops.status.parse(config, answer(status, headers, body)).map(|v| format!("{v:?}"))),
        ("RenewToken", ops.renew.parse(config, answer(status, headers, body)).map(|v| format!("{v:?}"))),
    ]
}

/// The `UnexpectedResponse` inside an error, or a panic naming what came instead.
pub(crate) fn unexpected<T: std::fmt::Debug>(result: &Result<T, Error>) -> &UnexpectedResponse {
    match result {
        Err(Error::UnexpectedResponse(unexpected)) => unexpected,
        other => panic!("expected an unexpected-response error, got {other:?}"),
    }
}

/// Whether the kind is the one expected, ignoring the details of `Malformed` and `TooLarge`.
pub(crate) fn same_kind(kind: &UnexpectedKind, expected: &UnexpectedKind) -> bool {
    std::mem::discriminant(kind) == std::mem::discriminant(expected)
}

/// A `Malformed` kind, for comparing with [`same_kind`].
pub(crate) fn malformed() -> UnexpectedKind {
    UnexpectedKind::Malformed { path: String::new(), message: String::new(), line: 0, column: 0 }
}

// ---- answers Square sent (the specification's examples, and shapes from its documentation) -

/// ObtainTokenResponse, the example of the 2025 specification, as compact JSON with no
/// trailing whitespace (so that every strict prefix is broken JSON).
pub(crate) const OBTAIN_TOKEN_ANSWER: &str = r#"{"access_token":"EAAl3ikZIe18J-2-cHlV2bL4-EaZHGoJUhtEBT7QA6-7AgwIHw8Xe1IoUvGsNxA","expires_at":"2025-04-03T18:31:06Z","merchant_id":"MLQW2MYBY81PZ","refresh_token":"EQAAl0OcByu3IYJYScGGg-8E5YNf0r0b6jCTCMy5nOcRZ4ok0wbWAL8vY3tZWNcc","short_lived":false,"token_type":"bearer"}"#;

/// A PKCE ObtainToken answer (with `refresh_token_expires_at`).
pub(crate) const PKCE_ANSWER: &str = r#"{"access_token":"EAAAEOuLQObrVwJvCvoio0Ld_ODtGp8bbpN9kfmRgtQmVxbBLxEFQFnUAgpIBpGf","token_type":"bearer","expires_at":"2025-05-03T18:31:06Z","merchant_id":"MLQW2MYBY81PZ","refresh_token":"EQAAEOyJhVNnjgaHFkxzDs6bk8ulbmgM7TnU2gS5tSKr5oHAlaXwWMSBfYdvA1i0","short_lived":false,"refresh_token_expires_at":"2025-07-02T18:31:06Z"}"#;

/// RetrieveTokenStatusResponse, the example of the 2025 specification.
pub(crate) const TOKEN_STATUS_ANSWER: &str = r#"{"client_id":"CLIENT_ID","expires_at":"2022-10-14T14:44:00Z","merchant_id":"MERCHANT_ID","scopes":["PAYMENTS_READ","PAYMENTS_WRITE"]}"#;

/// RevokeTokenResponse, the example of the 2025 specification.
pub(crate) const REVOKE_ANSWER: &str = r#"{"success":true}"#;

/// RenewTokenResponse, the example of the 2024 specification.
pub(crate) const RENEW_ANSWER: &str = r#"{"access_token":"ACCESS_TOKEN","token_type":"bearer","expires_at":"2006-01-02T15:04:05Z","merchant_id":"MERCHANT_ID"}"#;

/// Square's current error shape.
pub(crate) const UNAUTHORIZED_ANSWER: &str = r#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED","detail":"This request could not be authorized."}]}"#;

/// Square's legacy ("V1") error shape.
pub(crate) const LEGACY_ANSWER: &str =
    r#"{"message":"bad authorization header","type":"bad_request.invalid_parameter"}"#;
