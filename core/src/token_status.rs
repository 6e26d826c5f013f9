//! `POST /oauth2/token/status`: RetrieveTokenStatus.

use crate::answer::{answer_type, parse_answer, timestamp};
use crate::config::{Config, SquareVersion};
use crate::enums::Scope;
use crate::error::Error;
use crate::ids::{ClientId, MerchantId};
use crate::operation::{Operation, Replay, authorization, request};
use crate::secret::{AccessToken, Body};
use crate::validators;

/// RetrieveTokenStatus: what an access token (OAuth or personal) may do, for whom, until when.
///
/// Sent with `Authorization: Bearer <the token inspected>` and no body.
///
/// ```
/// use square_oauth::{AccessToken, Config, Operation, RetrieveTokenStatus};
/// let request = RetrieveTokenStatus::new(AccessToken::new("EAAAexample")).build(&Config::production()).unwrap();
/// assert_eq!(request.method(), "POST");
/// assert!(request.body().is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct RetrieveTokenStatus {
    access_token: AccessToken,
    square_version: Option<SquareVersion>,
}

impl RetrieveTokenStatus {
    /// Asks about this token.
    pub fn new(access_token: AccessToken) -> Self {
        Self { access_token, square_version: None }
    }

    /// `Square-Version` for this call only.
    pub fn square_version(mut self, version: SquareVersion) -> Self {
        self.square_version = Some(version);
        self
    }
}

impl Operation for RetrieveTokenStatus {
    type Output = TokenStatus;

    fn build(&self, config: &Config) -> Result<http::Request<Body>, Error> {
        let token = self.access_token.expose_secret();
        validators::token("access_token", token)?;
        let authorization = authorization("access_token", "Bearer", token)?;
        request(config, self.square_version.as_ref(), "/oauth2/token/status", Some(authorization), None)
    }

    fn parse<B: AsRef<[u8]>>(&self, config: &Config, response: http::Response<B>) -> Result<Self::Output, Error> {
        parse_answer::<RawTokenStatus, B>(config, &response)
    }

    fn replay(&self) -> Replay {
        Replay::Safe
    }
}

answer_type! {
    /// What RetrieveTokenStatus returns (`RetrieveTokenStatusResponse`).
    pub struct TokenStatus / RawTokenStatus {
        /// The permissions the token carries.
        #[serde(default)]
        pub scopes: Option<Vec<Scope>>,
        /// When the token expires; `None` for tokens that never do (personal access tokens).
        #[serde(default, deserialize_with = "timestamp")]
        pub expires_at: Option<jiff::Timestamp>,
        /// The application the token was issued to.
        #[serde(default)]
        pub client_id: Option<ClientId>,
        /// The seller the token acts for.
        #[serde(default)]
        pub merchant_id: Option<MerchantId>,
    }
}
