//! `POST /oauth2/revoke`: RevokeToken.

use serde::Serialize;

use crate::answer::{answer_type, parse_answer};
use crate::config::{Config, SquareVersion};
use crate::enums::ErrorCode;
use crate::error::Error;
use crate::error::{SquareRefusal, UnexpectedKind, UnexpectedResponse, answer_metadata};
use crate::ids::{ClientId, MerchantId};
use crate::operation::{Operation, Replay, authorization, json_body, request};
use crate::redact::excerpt;
use crate::secret::{AccessToken, Body, ClientSecret};
use crate::validators;

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

    fn build(&self, config: &Config) -> Result<http::Request<Body>, Error> {
        validators::client_id(&self.client_id)?;
        validators::client_secret(&self.client_secret)?;
        let (access_token, merchant_id) = match &self.target {
            RevokeTarget::AccessToken(token) => {
                validators::token("access_token", token.expose_secret())?;
                (Some(token.expose_secret()), None)
            }
            RevokeTarget::Merchant(merchant) => {
                validators::merchant_id(merchant)?;
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

    /// Only `"success": true` is a revocation. A 200 whose `success` is `false` or absent is
    /// [`UnexpectedKind::Unconfirmed`]: nothing says the tokens are dead, so they must not be
    /// dropped as if they were. A refusal with `ACCESS_TOKEN_REVOKED` is Square saying that what
    /// was to be revoked is revoked already (an earlier copy of this request, whose answer was
    /// lost, may have done it): that is the outcome asked for, given as
    /// [`RevokeTokenResponse::already_revoked`].
    fn parse<B: AsRef<[u8]>>(&self, config: &Config, response: http::Response<B>) -> Result<Self::Output, Error> {
        match parse_answer::<RawRevokeToken, B>(config, &response) {
            Ok(answer) if answer.success == Some(true) => Ok(answer),
            Ok(_) => {
                let (retry_after, square_version, content_type) = answer_metadata(response.headers());
                Err(Error::UnexpectedResponse(Box::new(UnexpectedResponse {
                    status: response.status(),
                    content_type: content_type.map(str::to_owned),
                    kind: UnexpectedKind::Unconfirmed { field: "success" },
                    excerpt: excerpt(response.body().as_ref()),
                    retry_after,
                    square_version,
                })))
            }
            Err(Error::Square(refusal)) if already_revoked(&refusal) => {
                Ok(RevokeTokenResponse { success: None, already_revoked: true })
            }
            Err(error) => Err(error),
        }
    }

    fn replay(&self) -> Replay {
        Replay::Safe
    }
}

/// Whether every error of a refusal says the token is revoked already.
fn already_revoked(refusal: &SquareRefusal) -> bool {
    !refusal.errors.is_empty() && refusal.errors.iter().all(|e| e.code == ErrorCode::AccessTokenRevoked)
}

answer_type! {
    /// What RevokeToken returns (`RevokeTokenResponse`). [`RevokeToken`]'s `parse` gives one
    /// only when the revocation is done: `success` is `Some(true)`, or `already_revoked` is set.
    pub struct RevokeTokenResponse / RawRevokeToken {
        /// Whether the revocation succeeded (Square's `success`).
        #[serde(default)]
        pub success: Option<bool>,
        /// Square refused with `ACCESS_TOKEN_REVOKED`: it was revoked before this request (by
        /// an earlier copy of it whose answer was lost, or by the seller). Not part of Square's
        /// answer; set by [`RevokeToken`]'s `parse`.
        #[serde(skip)]
        pub already_revoked: bool,
    }
}

impl RevokeTokenResponse {
    /// Whether what was to be revoked is revoked: Square said `success: true`, or that it was
    /// revoked already.
    ///
    /// ```
    /// use square_oauth::{ClientId, ClientSecret, Config, MerchantId, Operation, RevokeToken};
    ///
    /// let revoke = RevokeToken::merchant(ClientId::new("sq0idp-a"), ClientSecret::new("sq0csp-b"), MerchantId::new("M1"));
    /// let again = http::Response::builder().status(401).header("content-type", "application/json").body(
    ///     r#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"ACCESS_TOKEN_REVOKED"}]}"#,
    /// )?;
    /// let answer = revoke.parse(&Config::production(), again)?;
    /// assert!(answer.revoked() && answer.already_revoked);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn revoked(&self) -> bool {
        self.success == Some(true) || self.already_revoked
    }
}
