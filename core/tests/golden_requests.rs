//! Golden requests: for every operation and every grant, the method, the full URL, every header
//! and the exact JSON body, each body validated against Square's own schema.
#![allow(deprecated)]

mod common;

use common::{assert_schema, assert_schema_2024, body_json, body_text, default_user_agent, header_list};
use http::Request;
use serde_json::{Value, json};
use square_oauth::{
    AccessToken, AuthorizationCode, AuthorizeUrl, Body, ClientId, ClientSecret, CodeVerifier, Config, Grant,
    MerchantId, MigrationToken, ObtainToken, Operation, RefreshToken, RenewToken, RetrieveTokenStatus, RevokeToken,
    Scope, SquareVersion, State,
};

// The values of Square's own ObtainTokenRequest example.
const CLIENT_ID: &str = "sq0idp-uaPHILoPzWZk3tlJqlML0g";
const CLIENT_SECRET: &str = "sq0csp-30a-4C_tVOnTh14Piza2BfTPBXyLafLPWSzY1qAjeBfM";
const CODE: &str = "sq0cgb-l0SBqxs4uwxErTVyYOdemg";
const REFRESH: &str = "EQAAl0OcByu3IYJYScGGg-8E5YNf0r0b6jCTCMy5nOcRZ4ok0wbWAL8vY3tZWNcc";
const ACCESS: &str = "EAAl3ikZIe18J-2-cHlV2bL4-EaZHGoJUhtEBT7QA6-7AgwIHw8Xe1IoUvGsNxA";
// RFC 7636, Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn client_id() -> ClientId {
    ClientId::new(CLIENT_ID)
}
fn secret() -> ClientSecret {
    ClientSecret::new(CLIENT_SECRET)
}

/// The headers of a call with a JSON body and, maybe, an `Authorization`.
fn expected_headers(authorization: Option<&str>, body: bool) -> Vec<(String, String)> {
    let mut headers = vec![
        ("accept".to_owned(), "application/json".to_owned()),
        ("square-version".to_owned(), "2026-08-19".to_owned()),
        ("user-agent".to_owned(), default_user_agent()),
    ];
    if let Some(authorization) = authorization {
        headers.push(("authorization".to_owned(), authorization.to_owned()));
    }
    if body {
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    headers.sort();
    headers
}

/// Checks the whole request: method, URL, headers, and the body byte for byte.
fn assert_golden(request: &Request<Body>, url: &str, authorization: Option<&str>, body: Option<&str>) {
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.uri().to_string(), url);
    assert_eq!(request.version(), http::Version::HTTP_11);
    assert_eq!(header_list(request), expected_headers(authorization, body.is_some()));
    for (name, value) in request.headers() {
        assert_eq!(
            value.is_sensitive(),
            name == http::header::AUTHORIZATION,
            "only the Authorization header is sensitive, `{name}` is not"
        );
    }
    match body {
        Some(body) => assert_eq!(body_text(request), body),
        None => assert!(request.body().is_empty(), "no body expected"),
    }
}

fn obtain(operation: &ObtainToken) -> Request<Body> {
    operation.build(&Config::production()).expect("a valid request")
}

#[test]
fn code_flow_authorization_code_is_square_s_own_example() {
    let request = obtain(&ObtainToken::authorization_code(client_id(), secret(), AuthorizationCode::new(CODE)));
    let body = format!(
        r#"{{"client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET}","code":"{CODE}","grant_type":"authorization_code"}}"#
    );
    assert_golden(&request, "https://connect.squareup.com/oauth2/token", None, Some(&body));
    let sent = body_json(&request);
    assert_schema("ObtainTokenRequest", &sent);
    // The specification's example, to the field.
    assert_eq!(sent, common::schema_2025("ObtainTokenRequest")["example"]);
}

#[test]
fn code_flow_authorization_code_with_redirect_uri() {
    let request = obtain(
        &ObtainToken::authorization_code(client_id(), secret(), AuthorizationCode::new(CODE))
            .redirect_uri("https://example.com/callback?x=1"),
    );
    let body = format!(
        r#"{{"client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET}","code":"{CODE}","redirect_uri":"https://example.com/callback?x=1","grant_type":"authorization_code"}}"#
    );
    assert_golden(&request, "https://connect.squareup.com/oauth2/token", None, Some(&body));
    assert_schema("ObtainTokenRequest", &body_json(&request));
}

#[test]
fn pkce_authorization_code_sends_the_verifier_and_no_secret() {
    let request = obtain(
        &ObtainToken::pkce(client_id(), AuthorizationCode::new(CODE), CodeVerifier::new(VERIFIER))
            .redirect_uri("http://localhost:8000/callback"),
    );
    let body = format!(
        r#"{{"client_id":"{CLIENT_ID}","code":"{CODE}","redirect_uri":"http://localhost:8000/callback","grant_type":"authorization_code","code_verifier":"{VERIFIER}"}}"#
    );
    assert_golden(&request, "https://connect.squareup.com/oauth2/token", None, Some(&body));
    let sent = body_json(&request);
    assert_schema("ObtainTokenRequest", &sent);
    assert!(sent.get("client_secret").is_none());
}

#[test]
fn code_flow_refresh() {
    let request = obtain(&ObtainToken::refresh(client_id(), secret(), RefreshToken::new(REFRESH)));
    let body = format!(
        r#"{{"client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET}","grant_type":"refresh_token","refresh_token":"{REFRESH}"}}"#
    );
    assert_golden(&request, "https://connect.squareup.com/oauth2/token", None, Some(&body));
    assert_schema("ObtainTokenRequest", &body_json(&request));
}

#[test]
fn code_flow_refresh_with_scopes_and_short_lived() {
    let request = obtain(
        &ObtainToken::refresh(client_id(), secret(), RefreshToken::new(REFRESH))
            .scopes([Scope::PaymentsRead, Scope::MerchantProfileRead, Scope::from("NEW_SCOPE")])
            .short_lived(true),
    );
    let body = format!(
        r#"{{"client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET}","grant_type":"refresh_token","refresh_token":"{REFRESH}","scopes":["PAYMENTS_READ","MERCHANT_PROFILE_READ","NEW_SCOPE"],"short_lived":true}}"#
    );
    assert_golden(&request, "https://connect.squareup.com/oauth2/token", None, Some(&body));
    assert_schema("ObtainTokenRequest", &body_json(&request));
}

#[test]
fn pkce_refresh_sends_no_secret() {
    let request =
        obtain(&ObtainToken::pkce_refresh(client_id(), RefreshToken::new(REFRESH)).scopes([Scope::ItemsRead]));
    let body = format!(
        r#"{{"client_id":"{CLIENT_ID}","grant_type":"refresh_token","refresh_token":"{REFRESH}","scopes":["ITEMS_READ"]}}"#
    );
    assert_golden(&request, "https://connect.squareup.com/oauth2/token", None, Some(&body));
    assert_schema("ObtainTokenRequest", &body_json(&request));
}

#[test]
fn migration_token() {
    let request = obtain(&ObtainToken::migration(client_id(), secret(), MigrationToken::new("sq0atp-legacy-token")));
    let body = format!(
        r#"{{"client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET}","grant_type":"migration_token","migration_token":"sq0atp-legacy-token"}}"#
    );
    assert_golden(&request, "https://connect.squareup.com/oauth2/token", None, Some(&body));
    assert_schema("ObtainTokenRequest", &body_json(&request));
}

#[test]
fn use_jwt_is_sent_when_asked_for() {
    let request = obtain(
        &ObtainToken::authorization_code(client_id(), secret(), AuthorizationCode::new(CODE))
            .use_jwt(true)
            .short_lived(false),
    );
    let body = format!(
        r#"{{"client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET}","code":"{CODE}","grant_type":"authorization_code","short_lived":false,"use_jwt":true}}"#
    );
    assert_golden(&request, "https://connect.squareup.com/oauth2/token", None, Some(&body));
    // `use_jwt` is sent by Square's 2026 SDKs but is not yet in the specification (2025-08-20):
    // the rest of the body is validated with it removed.
    let mut sent = body_json(&request);
    assert_eq!(sent.as_object_mut().unwrap().remove("use_jwt"), Some(Value::Bool(true)));
    assert_schema("ObtainTokenRequest", &sent);
}

#[test]
fn obtain_token_with_grant_built_by_hand_matches_the_shorthand() {
    let by_hand = ObtainToken::new(
        client_id(),
        Grant::Pkce { code: AuthorizationCode::new(CODE), code_verifier: CodeVerifier::new(VERIFIER) },
    );
    let shorthand = ObtainToken::pkce(client_id(), AuthorizationCode::new(CODE), CodeVerifier::new(VERIFIER));
    assert_eq!(by_hand, shorthand);
    assert_eq!(body_text(&obtain(&by_hand)), body_text(&obtain(&shorthand)));
    assert_eq!(by_hand.grant().grant_type(), "authorization_code");
    assert_eq!(by_hand.client_id().as_str(), CLIENT_ID);
}

#[test]
fn every_grant_has_the_grant_type_the_specification_allows() {
    let grants = [
        (ObtainToken::authorization_code(client_id(), secret(), AuthorizationCode::new(CODE)), "authorization_code"),
        (
            ObtainToken::pkce(client_id(), AuthorizationCode::new(CODE), CodeVerifier::new(VERIFIER)),
            "authorization_code",
        ),
        (ObtainToken::refresh(client_id(), secret(), RefreshToken::new(REFRESH)), "refresh_token"),
        (ObtainToken::pkce_refresh(client_id(), RefreshToken::new(REFRESH)), "refresh_token"),
        (ObtainToken::migration(client_id(), secret(), MigrationToken::new("sq0atp-x")), "migration_token"),
    ];
    for (operation, grant_type) in grants {
        let request = obtain(&operation);
        assert!(request.headers().get(http::header::AUTHORIZATION).is_none(), "ObtainToken sends no Authorization");
        assert_eq!(body_json(&request)["grant_type"], grant_type);
        assert_eq!(operation.grant().grant_type(), grant_type);
        assert_schema("ObtainTokenRequest", &body_json(&request));
    }
}

#[test]
fn absent_options_are_left_out_not_null() {
    let request = obtain(&ObtainToken::pkce_refresh(client_id(), RefreshToken::new(REFRESH)));
    let sent = body_json(&request);
    let keys: Vec<&str> = sent.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 3, "{sent}");
    for absent in [
        "client_secret",
        "code",
        "redirect_uri",
        "migration_token",
        "scopes",
        "short_lived",
        "code_verifier",
        "use_jwt",
    ] {
        assert!(sent.get(absent).is_none(), "`{absent}` should be left out of {sent}");
    }
    assert!(!body_text(&request).contains("null"));
}

#[test]
fn revoke_by_access_token_is_square_s_own_example() {
    let operation = RevokeToken::access_token(ClientId::new("CLIENT_ID"), secret(), AccessToken::new("ACCESS_TOKEN"));
    let request = operation.build(&Config::production()).unwrap();
    assert_golden(
        &request,
        "https://connect.squareup.com/oauth2/revoke",
        Some(&format!("Client {CLIENT_SECRET}")),
        Some(r#"{"client_id":"CLIENT_ID","access_token":"ACCESS_TOKEN"}"#),
    );
    let sent = body_json(&request);
    assert_schema("RevokeTokenRequest", &sent);
    assert_eq!(sent, common::schema_2025("RevokeTokenRequest")["example"]);
}

#[test]
fn revoke_only_the_access_token() {
    let operation =
        RevokeToken::access_token(client_id(), secret(), AccessToken::new(ACCESS)).revoke_only_access_token(true);
    let request = operation.build(&Config::production()).unwrap();
    assert_golden(
        &request,
        "https://connect.squareup.com/oauth2/revoke",
        Some(&format!("Client {CLIENT_SECRET}")),
        Some(&format!(r#"{{"client_id":"{CLIENT_ID}","access_token":"{ACCESS}","revoke_only_access_token":true}}"#)),
    );
    assert_schema("RevokeTokenRequest", &body_json(&request));
}

#[test]
fn revoke_by_merchant_never_sends_an_access_token() {
    let operation =
        RevokeToken::merchant(client_id(), secret(), MerchantId::new("MLQW2MYBY81PZ")).revoke_only_access_token(false);
    let request = operation.build(&Config::sandbox()).unwrap();
    assert_golden(
        &request,
        "https://connect.squareupsandbox.com/oauth2/revoke",
        Some(&format!("Client {CLIENT_SECRET}")),
        Some(&format!(
            r#"{{"client_id":"{CLIENT_ID}","merchant_id":"MLQW2MYBY81PZ","revoke_only_access_token":false}}"#
        )),
    );
    let sent = body_json(&request);
    assert_schema("RevokeTokenRequest", &sent);
    assert!(sent.get("access_token").is_none());
}

#[test]
fn retrieve_token_status_has_bearer_auth_no_body_and_no_content_type() {
    let request = RetrieveTokenStatus::new(AccessToken::new(ACCESS)).build(&Config::production()).unwrap();
    assert_golden(
        &request,
        "https://connect.squareup.com/oauth2/token/status",
        Some(&format!("Bearer {ACCESS}")),
        None,
    );
    assert!(request.headers().get(http::header::CONTENT_TYPE).is_none());
    assert!(request.headers()[http::header::AUTHORIZATION].is_sensitive());
    assert_eq!(request.body().len(), 0);
}

#[test]
fn renew_token_golden() {
    let operation = RenewToken::new(client_id(), secret(), AccessToken::new("ACCESS_TOKEN"));
    let request = operation.build(&Config::production()).unwrap();
    assert_golden(
        &request,
        &format!("https://connect.squareup.com/oauth2/clients/{CLIENT_ID}/access-token/renew"),
        Some(&format!("Client {CLIENT_SECRET}")),
        Some(r#"{"access_token":"ACCESS_TOKEN"}"#),
    );
    // RenewToken left the specification in April 2024: its schema is in the 2024 release only.
    let sent = body_json(&request);
    assert_schema_2024("RenewTokenRequest", &sent);
    assert_eq!(sent, common::schema_2024("RenewTokenRequest")["example"]["request_body"]);
}

#[test]
fn renew_token_percent_encodes_an_odd_client_id_in_its_path() {
    let odd = "sq0idp a/b?c#d%e:f@g+h&i=j;k'l(m)n*o,p!q$r[s]t\"u<v>w\\x^y`z{|}é~._-";
    let operation = RenewToken::new(ClientId::new(odd), secret(), AccessToken::new("ACCESS_TOKEN"));
    let request = operation.build(&Config::production()).unwrap();
    let path = request.uri().path();
    assert_eq!(
        path,
        "/oauth2/clients/sq0idp%20a%2Fb%3Fc%23d%25e%3Af%40g%2Bh%26i%3Dj%3Bk%27l%28m%29n%2Ao%2Cp%21q%24r%5Bs%5Dt%22u%3Cv%3Ew%5Cx%5Ey%60z%7B%7C%7D%C3%A9~._-/access-token/renew"
    );
    assert!(request.uri().query().is_none());
    let segment = path.strip_prefix("/oauth2/clients/").unwrap().strip_suffix("/access-token/renew").unwrap();
    assert_eq!(percent_decode(segment), odd);
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn per_call_square_version_overrides_the_client_s() {
    let config = Config::builder().square_version("2025-08-20").build().unwrap();
    let version = SquareVersion::new("2024-03-20").unwrap();
    let requests = [
        ObtainToken::refresh(client_id(), secret(), RefreshToken::new(REFRESH))
            .square_version(version.clone())
            .build(&config),
        RevokeToken::merchant(client_id(), secret(), MerchantId::new("M1"))
            .square_version(version.clone())
            .build(&config),
        RetrieveTokenStatus::new(AccessToken::new(ACCESS)).square_version(version.clone()).build(&config),
        RenewToken::new(client_id(), secret(), AccessToken::new(ACCESS)).square_version(version.clone()).build(&config),
    ];
    for request in requests {
        assert_eq!(request.unwrap().headers()["square-version"], "2024-03-20");
    }
    // Without the override, the client's version.
    let request = RetrieveTokenStatus::new(AccessToken::new(ACCESS)).build(&config).unwrap();
    assert_eq!(request.headers()["square-version"], "2025-08-20");
}

#[test]
fn authorization_headers_are_built_here_and_marked_sensitive() {
    let config = Config::production();
    let with_client = [
        RevokeToken::merchant(client_id(), secret(), MerchantId::new("M1")).build(&config).unwrap(),
        RenewToken::new(client_id(), secret(), AccessToken::new(ACCESS)).build(&config).unwrap(),
    ];
    for request in &with_client {
        let value = &request.headers()[http::header::AUTHORIZATION];
        assert!(value.is_sensitive());
        assert_eq!(value, &format!("Client {CLIENT_SECRET}"));
        assert_eq!(request.headers().get_all(http::header::AUTHORIZATION).iter().count(), 1);
    }
    let status = RetrieveTokenStatus::new(AccessToken::new(ACCESS)).build(&config).unwrap();
    assert!(status.headers()[http::header::AUTHORIZATION].is_sensitive());
    assert!(format!("{status:?}").contains("Sensitive"), "{status:?}");
}

#[test]
fn a_custom_base_url_with_a_path_prefix_prefixes_every_path() {
    let config = Config::custom("http://127.0.0.1:8080/square/").unwrap();
    let urls = [
        ObtainToken::pkce_refresh(client_id(), RefreshToken::new(REFRESH)).build(&config).unwrap().uri().to_string(),
        RevokeToken::merchant(client_id(), secret(), MerchantId::new("M1")).build(&config).unwrap().uri().to_string(),
        RetrieveTokenStatus::new(AccessToken::new(ACCESS)).build(&config).unwrap().uri().to_string(),
        RenewToken::new(ClientId::new("app"), secret(), AccessToken::new(ACCESS))
            .build(&config)
            .unwrap()
            .uri()
            .to_string(),
    ];
    assert_eq!(
        urls,
        [
            "http://127.0.0.1:8080/square/oauth2/token",
            "http://127.0.0.1:8080/square/oauth2/revoke",
            "http://127.0.0.1:8080/square/oauth2/token/status",
            "http://127.0.0.1:8080/square/oauth2/clients/app/access-token/renew",
        ]
    );
}

#[test]
fn authorize_url_golden() {
    let verifier = CodeVerifier::new(VERIFIER);
    let url = AuthorizeUrl::new(client_id())
        .scopes([Scope::MerchantProfileRead, Scope::PaymentsRead, Scope::PaymentsWrite])
        .locale("fr-CA")
        .session(false)
        .state(&State::new("st4te-value_~."))
        .code_challenge(&verifier.challenge())
        .redirect_uri("https://example.com/cb?a=1&b=2")
        .build(&Config::production())
        .unwrap();
    assert_eq!(
        url,
        format!(
            "https://connect.squareup.com/oauth2/authorize?client_id={CLIENT_ID}\
             &scope=MERCHANT_PROFILE_READ+PAYMENTS_READ+PAYMENTS_WRITE&locale=fr-CA&session=false\
             &state=st4te-value_%7E.&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
             &code_challenge_method=S256&redirect_uri=https%3A%2F%2Fexample.com%2Fcb%3Fa%3D1%26b%3D2\
             &response_type=code"
        )
    );
}

#[test]
fn authorize_url_without_options_leaves_square_s_defaults() {
    let url = AuthorizeUrl::new(client_id()).build(&Config::sandbox()).unwrap();
    assert_eq!(
        url,
        format!("https://connect.squareupsandbox.com/oauth2/authorize?client_id={CLIENT_ID}&response_type=code")
    );
    let url = AuthorizeUrl::new(client_id()).session(true).build(&Config::custom("http://[::1]:9/p").unwrap()).unwrap();
    assert_eq!(url, format!("http://[::1]:9/p/oauth2/authorize?client_id={CLIENT_ID}&session=true&response_type=code"));
}

#[test]
fn a_schema_check_can_fail() {
    // The validator is not vacuous: a body Square would refuse is caught.
    assert!(!common::matches_schema("ObtainTokenRequest", &json!({"client_id": "x", "grant_type": "code"})));
    assert!(!common::matches_schema("ObtainTokenRequest", &json!({"grant_type": "authorization_code"})));
    assert!(!common::matches_schema("RevokeTokenRequest", &json!({"client_id": "x", "access_token": "y"})));
    assert!(common::matches_schema("RevokeTokenRequest", &json!({"client_id": "x", "access_token": "yy"})));
}
