//! `POST /oauth2/revoke`: RevokeToken.

use serde::Serialize;

use crate::answer::{answer_type, parse_answer};
use crate::config::{Config, SquareVersion};
use crate::error::Error;
use crate::ids::{ClientId, MerchantId};
use crate::obtain_token::{check_client_id, check_client_secret};
use crate::operation::{Operation, Replay, authorization, check_length, json_body, limits, request};
use crate::secret::{AccessToken, Body, ClientSecret};

/// What to revoke: one access token, or everything the application holds for one seller. Never
/// both, which Square would refuse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevokeTarget {
    /// `access_token`: the authorization this token belongs to (or, with
    /// `revoke_only_access_token`, this token alone).
    AccessToken(AccessToken),
    /// `merchant_id`: the application's authorization for this seller.
    Merchant(MerchantId),
}

/// RevokeToken: ends an authorization, or one access token of it.
///
/// Without `revoke_only_access_token`, every token of the application for that seller dies, the
/// seller's subscriptions through it are cancelled, and Square sends `oauth.authorization.revoked`.
/// The `Authorization: Client <secret>` header is built here; callers never type `Client `.
///
/// ```
/// use square_oauth::{ClientId, ClientSecret, Config, MerchantId, Operation, RevokeToken};
///
/// let revoke = RevokeToken::merchant(
///     ClientId::new("sq0idp-example"),
///     ClientSecret::new("sq0csp-example"),
///     MerchantId::new("MLQW2MYBY81PZ"),
/// );
/// let request = revoke.build(&Config::production()).unwrap();
/// assert!(request.headers()["authorization"].is_sensitive());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct RevokeToken {
    client_id: ClientId,
    client_secret: ClientSecret,
    target: RevokeTarget,
    revoke_only_access_token: Option<bool>,
    square_version: Option<SquareVersion>,
}

impl RevokeToken {
    /// Revokes by target.
    pub fn new(client_id: ClientId, client_secret: ClientSecret, target: RevokeTarget) -> Self {
        Self { client_id, client_secret, target, revoke_only_access_token: None, square_version: None }
    }

    /// Revokes the authorization the access token belongs to.
    pub fn access_token(client_id: ClientId, client_secret: ClientSecret, access_token: AccessToken) -> Self {
        Self::new(client_id, client_secret, RevokeTarget::AccessToken(access_token))
    }

    /// Revokes the application's authorization for a seller.
    pub fn merchant(client_id: ClientId, client_secret: ClientSecret, merchant_id: MerchantId) -> Self {
        Self::new(client_id, client_secret, RevokeTarget::Merchant(merchant_id))
    }

    /// `revoke_only_access_token`: end only this access token and keep the authorization (and
    /// its refresh token) alive.
    pub fn revoke_only_access_token(mut self, only: bool) -> Self {
        self.revoke_only_access_token = Some(only);
        self
    }

    /// `Square-Version` for this call only.
    pub fn square_version(mut self, version: SquareVersion) -> Self {
        self.square_version = Some(version);
        self
    }

    /// What is being revoked.
    pub fn target(&self) -> &RevokeTarget {
        &self.target
    }
}

#[derive(Serialize)]
struct RevokeTokenBody<'a> {
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    merchant_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoke_only_access_token: Option<bool>,
}

impl Operation for RevokeToken {
    type Output = RevokeTokenResponse;
    const NAME: &'static str = "RevokeToken";

    fn build(&self, config: &Config) -> Result<http::Request<Body>, Error> {
        check_client_id(&self.client_id)?;
        check_client_secret(&self.client_secret)?;
        let (access_token, merchant_id) = match &self.target {
            RevokeTarget::AccessToken(token) => {
                check_length("access_token", token.expose_secret(), limits::TOKEN.0, limits::TOKEN.1)?;
                (Some(token.expose_secret()), None)
            }
            RevokeTarget::Merchant(merchant) => {
                check_length("merchant_id", merchant.as_str(), limits::MERCHANT_ID.0, limits::MERCHANT_ID.1)?;
                (None, Some(merchant.as_str()))
            }
        };
        let authorization = authorization("client_secret", "Client", self.client_secret.expose_secret())?;
        let body = RevokeTokenBody {
            client_id: self.client_id.as_str(),
            access_token,
            merchant_id,
            revoke_only_access_token: self.revoke_only_access_token,
        };
        let size_hint = body.client_id.len() + access_token.map_or(0, str::len) + merchant_id.map_or(0, str::len);
        let body = json_body(&body, size_hint)?;
        request(config, self.square_version.as_ref(), "/oauth2/revoke", Some(authorization), Some(body))
    }

    fn parse<B: AsRef<[u8]>>(&self, config: &Config, response: http::Response<B>) -> Result<Self::Output, Error> {
        parse_answer::<RawRevokeToken, B>(config, response)
    }

    fn replay(&self) -> Replay {
        Replay::Safe
    }
}

answer_type! {
    /// What RevokeToken returns (`RevokeTokenResponse`).
    pub struct RevokeTokenResponse / RawRevokeToken {
        /// Whether the revocation succeeded.
        #[serde(default)]
        pub success: Option<bool>,
    }
}
