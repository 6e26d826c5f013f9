//! `oauth2` 5 doing the same code exchange, through an in-memory HTTP client that answers with
//! Square's canned answer.
//!
//! oauth2 speaks RFC 6749: a form-encoded body (Square takes JSON too, but oauth2 cannot send it)
//! and `expires_in` (Square sends `expires_at`, read here as an extra field). The client secret
//! goes in the body, as Square wants it.

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, EndpointNotSet, EndpointSet,
    ExtraTokenFields, HttpRequest, HttpResponse, RedirectUrl, StandardRevocableToken, StandardTokenResponse,
    SyncHttpClient, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::fixture::*;

/// What Square adds to RFC 6749's token answer, so that oauth2 reads the same fields we do.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct SquareFields {
    /// `merchant_id`.
    pub merchant_id: Option<String>,
    /// `expires_at`.
    pub expires_at: Option<String>,
    /// `short_lived`.
    pub short_lived: Option<bool>,
}

impl ExtraTokenFields for SquareFields {}

/// The token answer oauth2 gives back.
pub type Token = StandardTokenResponse<SquareFields, BasicTokenType>;

/// An oauth2 client with its authorize and token URLs set.
pub type SquareClient = Client<
    BasicErrorResponse,
    Token,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// An HTTP client that never leaves the process: every call gets the canned answer.
pub struct Canned {
    body: &'static [u8],
}

impl SyncHttpClient for Canned {
    type Error = std::io::Error;

    fn call(&self, request: HttpRequest) -> Result<HttpResponse, Self::Error> {
        std::hint::black_box(&request);
        let mut response = HttpResponse::new(self.body.to_vec());
        response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        Ok(response)
    }
}

/// The oauth2 client and its in-memory transport, made once as a caller keeps them.
pub struct Peer {
    client: SquareClient,
    redirect: RedirectUrl,
    http: Canned,
}

impl Default for Peer {
    fn default() -> Self {
        let client = Client::new(ClientId::new(CLIENT_ID.to_owned()))
            .set_client_secret(ClientSecret::new(CLIENT_SECRET.to_owned()))
            .set_auth_uri(AuthUrl::new("https://connect.squareup.com/oauth2/authorize".to_owned()).expect("a URL"))
            .set_token_uri(TokenUrl::new("https://connect.squareup.com/oauth2/token".to_owned()).expect("a URL"))
            .set_auth_type(AuthType::RequestBody);
        Peer {
            client,
            redirect: RedirectUrl::new(REDIRECT_URI.to_owned()).expect("a URL"),
            http: Canned { body: CODE_ANSWER.as_bytes() },
        }
    }
}

impl Peer {
    /// A code exchange: the code as oauth2 takes it (owned), the request, the canned answer parsed.
    pub fn code_exchange(&self) -> Token {
        self.client
            .exchange_code(AuthorizationCode::new(CODE.to_owned()))
            .set_redirect_uri(std::borrow::Cow::Borrowed(&self.redirect))
            .request(&self.http)
            .expect("a token")
    }
}
