//! The same jobs with nothing but `serde_json`, `http`, `form_urlencoded`, `base64` and `sha2`:
//! what any hand-written client must do at the least.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Method, Request, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::answer;
use crate::fixture::*;

const TOKEN_URL: &str = "https://connect.squareup.com/oauth2/token";
const STATUS_URL: &str = "https://connect.squareup.com/oauth2/token/status";
const REVOKE_URL: &str = "https://connect.squareup.com/oauth2/revoke";
const USER_AGENT_VALUE: &str = concat!("square-oauth-rust/", env!("CARGO_PKG_VERSION"));

/// ObtainToken's body for a code exchange.
#[derive(Serialize)]
struct CodeBody<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    code: &'a str,
    redirect_uri: &'a str,
    grant_type: &'a str,
}

/// ObtainToken's body for a PKCE refresh.
#[derive(Serialize)]
struct RefreshBody<'a> {
    client_id: &'a str,
    grant_type: &'a str,
    refresh_token: &'a str,
}

/// RevokeToken's body.
#[derive(Serialize)]
struct RevokeBody<'a> {
    client_id: &'a str,
    access_token: &'a str,
}

/// ObtainToken's answer, as plain strings.
#[derive(Debug, Deserialize)]
pub struct TokenAnswer {
    /// `access_token`.
    pub access_token: Option<String>,
    /// `token_type`.
    pub token_type: Option<String>,
    /// `expires_at`, as sent.
    pub expires_at: Option<String>,
    /// `merchant_id`.
    pub merchant_id: Option<String>,
    /// `refresh_token`.
    pub refresh_token: Option<String>,
    /// `short_lived`.
    pub short_lived: Option<bool>,
    /// `refresh_token_expires_at`, as sent.
    pub refresh_token_expires_at: Option<String>,
}

/// RetrieveTokenStatus's answer, as plain strings.
#[derive(Debug, Deserialize)]
pub struct StatusAnswer {
    /// `scopes`.
    pub scopes: Option<Vec<String>>,
    /// `expires_at`, as sent.
    pub expires_at: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `merchant_id`.
    pub merchant_id: Option<String>,
}

/// RevokeToken's answer.
#[derive(Debug, Deserialize)]
pub struct RevokeAnswer {
    /// `success`.
    pub success: Option<bool>,
}

/// One error of the current shape.
#[derive(Debug, Deserialize)]
pub struct PlainError {
    /// `category`.
    pub category: String,
    /// `code`.
    pub code: String,
    /// `detail`.
    pub detail: Option<String>,
    /// `field`.
    pub field: Option<String>,
}

/// Either error shape.
#[derive(Debug, Deserialize)]
pub struct ErrorAnswer {
    /// The current shape.
    pub errors: Option<Vec<PlainError>>,
    /// Legacy `message`.
    pub message: Option<String>,
    /// Legacy `type`.
    #[serde(rename = "type")]
    pub legacy_type: Option<String>,
    /// Legacy `field`.
    pub field: Option<String>,
}

/// The request every call makes: POST, the headers this library sends, a JSON body.
fn request(uri: &'static str, authorization: Option<HeaderValue>, body: Vec<u8>) -> Request<Vec<u8>> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("square-version", HeaderValue::from_static("2026-08-19"))
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    if let Some(authorization) = authorization {
        builder = builder.header(AUTHORIZATION, authorization);
    }
    if !body.is_empty() {
        builder = builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    builder.body(body).expect("a valid request")
}

/// The least a client reads of an answer: success or not, then the JSON.
fn read<T: for<'de> Deserialize<'de>>(response: &Response<&[u8]>) -> Option<T> {
    if !response.status().is_success() {
        return None;
    }
    serde_json::from_slice(response.body()).ok()
}

/// A code exchange: build, then parse.
pub fn code_exchange() -> (Request<Vec<u8>>, TokenAnswer) {
    let body = CodeBody {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        code: CODE,
        redirect_uri: REDIRECT_URI,
        grant_type: "authorization_code",
    };
    let request = request(TOKEN_URL, None, serde_json::to_vec(&body).expect("JSON"));
    let request = std::hint::black_box(request);
    (request, read(&answer(200, CODE_ANSWER)).expect("a token"))
}

/// A PKCE refresh: build, then parse.
pub fn pkce_refresh() -> (Request<Vec<u8>>, TokenAnswer) {
    let body = RefreshBody { client_id: CLIENT_ID, grant_type: "refresh_token", refresh_token: REFRESH_TOKEN };
    let request = request(TOKEN_URL, None, serde_json::to_vec(&body).expect("JSON"));
    let request = std::hint::black_box(request);
    (request, read(&answer(200, PKCE_ANSWER)).expect("a token"))
}

/// RetrieveTokenStatus: build, then parse.
pub fn token_status() -> (Request<Vec<u8>>, StatusAnswer) {
    let mut authorization = HeaderValue::from_str(&format!("Bearer {ACCESS_TOKEN}")).expect("ASCII");
    authorization.set_sensitive(true);
    let request = request(STATUS_URL, Some(authorization), Vec::new());
    let request = std::hint::black_box(request);
    (request, read(&answer(200, STATUS_ANSWER)).expect("a status"))
}

/// RevokeToken: build, then parse.
pub fn revoke() -> (Request<Vec<u8>>, RevokeAnswer) {
    let mut authorization = HeaderValue::from_str(&format!("Client {CLIENT_SECRET}")).expect("ASCII");
    authorization.set_sensitive(true);
    let body = RevokeBody { client_id: CLIENT_ID, access_token: ACCESS_TOKEN };
    let request = request(REVOKE_URL, Some(authorization), serde_json::to_vec(&body).expect("JSON"));
    let request = std::hint::black_box(request);
    (request, read(&answer(200, REVOKE_ANSWER)).expect("revoked"))
}

/// Reads an error answer whatever its status.
fn error(body: &'static str) -> ErrorAnswer {
    let response = answer(401, body);
    serde_json::from_slice(response.body()).expect("an error")
}

/// The current error shape.
pub fn error_current() -> ErrorAnswer {
    error(ERROR_ANSWER)
}

/// The legacy error shape.
pub fn error_legacy() -> ErrorAnswer {
    error(LEGACY_ERROR_ANSWER)
}

/// The authorize URL with `form_urlencoded`, and the callback read back with it.
pub fn authorize_and_callback() -> (String, Option<String>) {
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const AUTHORIZE: &str = "https://connect.squareup.com/oauth2/authorize?";
    let mut url = String::with_capacity(512);
    url.push_str(AUTHORIZE);
    let mut query = form_urlencoded::Serializer::for_suffix(url, AUTHORIZE.len());
    query
        .append_pair("client_id", CLIENT_ID)
        .append_pair("scope", "MERCHANT_PROFILE_READ PAYMENTS_READ PAYMENTS_WRITE")
        .append_pair("state", STATE)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("response_type", "code");
    let url = query.finish();

    let query = CALLBACK.split_once('?').map_or("", |(_, q)| q);
    let mut code = None;
    let mut state_ok = false;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "code" => code = Some(value.into_owned()),
            "state" => state_ok = value == STATE,
            _ => {}
        }
    }
    (url, code.filter(|_| state_ok))
}

/// A PKCE verifier and its S256 challenge with `base64` and `sha2`.
pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(std::hint::black_box(ENTROPY));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}
