//! `POST /oauth2/clients/{client_id}/access-token/renew`: the deprecated RenewToken.
#![allow(deprecated)]

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

use crate::answer::{answer_type, parse_answer, timestamp};
use crate::config::{Config, SquareVersion};
use crate::error::Error;
use crate::ids::{ClientId, MerchantId};
use crate::operation::{Operation, Replay, authorization, json_body, request};
use crate::secret::{AccessToken, Body, ClientSecret};
use crate::validators;

/// Everything but RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) is encoded in a path
/// segment.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// RenewToken: renews an access token before, or up to 15 days after, it expires.
///
/// Square removed it from the specification in April 2024; it is here for applications that
/// still hold tokens from before refresh tokens existed.
#[deprecated(note = "Square deprecated RenewToken: obtain a refresh token and use ObtainToken::refresh instead")]
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct RenewToken {
    client_id: ClientId,
    client_secret: ClientSecret,
    access_token: AccessToken,
    square_version: Option<SquareVersion>,
}

impl RenewToken {
    /// Renews `access_token`, issued to `client_id`.
    pub fn new(client_id: ClientId, client_secret: ClientSecret, access_token: AccessToken) -> Self {
        Self { client_id, client_secret, access_token, square_version: None }
    }

    /// `Square-Version` for this call only.
    pub fn square_version(mut self, version: SquareVersion) -> Self {
        self.square_version = Some(version);
        self
    }
}

#[derive(Serialize)]
struct RenewTokenBody<'a> {
    access_token: &'a str,
}

impl Operation for RenewToken {
    type Output = RenewTokenResponse;

    fn build(&self, config: &Config) -> Result<http::Request<Body>, Error> {
        validators::client_id(&self.client_id)?;
        validators::client_secret(&self.client_secret)?;
        let token = self.access_token.expose_secret();
        validators::token("access_token", token)?;
        let authorization = authorization("client_secret", "Client", self.client_secret.expose_secret())?;
        let path = format!(
            "/oauth2/clients/{}/access-token/renew",
            utf8_percent_encode(self.client_id.as_str(), PATH_SEGMENT)
        );
        let body = json_body(&RenewTokenBody { access_token: token }, token.len())?;
        request(config, self.square_version.as_ref(), &path, Some(authorization), Some(body))
    }

    fn parse<B: AsRef<[u8]>>(&self, config: &Config, response: http::Response<B>) -> Result<Self::Output, Error> {
        parse_answer::<RawRenewToken, B>(config, &response)
    }

    fn replay(&self) -> Replay {
        // Square's answer may carry a different token ("may differ from the one sent"), and then
        // the one sent is dead: a second copy after a lost answer would send a dead token and
        // lose the renewed one, so it is sent again only if it provably never left.
        Replay::SingleUse
    }
}

answer_type! {
    /// What RenewToken returns (`RenewTokenResponse`).
    pub struct RenewTokenResponse / RawRenewToken {
        /// The renewed access token; it may differ from the one sent.
        #[serde(default)]
        pub access_token: Option<AccessToken>,
        /// Always `bearer`.
        #[serde(default)]
        pub token_type: Option<String>,
        /// When the renewed token expires.
        #[serde(default, deserialize_with = "timestamp")]
        pub expires_at: Option<jiff::Timestamp>,
        /// The seller.
        #[serde(default)]
        pub merchant_id: Option<MerchantId>,
        /// Legacy: the seller's subscription.
        #[serde(default)]
        pub subscription_id: Option<String>,
        /// Legacy: the subscription plan.
        #[serde(default)]
        pub plan_id: Option<String>,
    }
}
