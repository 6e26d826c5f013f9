//! The workloads through this library, as a caller writes them.

use square_oauth::{
    AccessToken, AuthorizationCode, AuthorizeUrl, ClientId, ClientSecret, CodeChallenge, CodeVerifier, Config, Error,
    ObtainToken, ObtainTokenResponse, Operation, RefreshToken, RetrieveTokenStatus, RevokeToken, RevokeTokenResponse,
    Scope, State, TokenStatus, parse_callback,
};

use crate::answer;
use crate::fixture::*;

/// The operations and configuration, made once as a caller keeps them.
pub struct Ours {
    /// Production.
    pub config: Config,
    /// A code-flow code exchange, with the redirect URL.
    pub code_exchange: ObtainToken,
    /// A PKCE refresh.
    pub pkce_refresh: ObtainToken,
    /// RetrieveTokenStatus.
    pub token_status: RetrieveTokenStatus,
    /// RevokeToken by access token.
    pub revoke: RevokeToken,
    /// The authorize URL, with scopes, state, PKCE challenge and redirect URL.
    pub authorize: AuthorizeUrl,
    /// The state the callback is checked against.
    pub state: State,
}

impl Default for Ours {
    fn default() -> Self {
        let client_id = ClientId::new(CLIENT_ID);
        let secret = ClientSecret::new(CLIENT_SECRET);
        let state = State::new(STATE);
        let challenge = CodeVerifier::from_entropy(ENTROPY).challenge();
        Ours {
            config: Config::production(),
            code_exchange: ObtainToken::authorization_code(
                client_id.clone(),
                secret.clone(),
                AuthorizationCode::new(CODE),
            )
            .redirect_uri(REDIRECT_URI),
            pkce_refresh: ObtainToken::pkce_refresh(client_id.clone(), RefreshToken::new(REFRESH_TOKEN)),
            token_status: RetrieveTokenStatus::new(AccessToken::new(ACCESS_TOKEN)),
            revoke: RevokeToken::access_token(client_id.clone(), secret, AccessToken::new(ACCESS_TOKEN)),
            authorize: AuthorizeUrl::new(client_id)
                .scopes([Scope::MerchantProfileRead, Scope::PaymentsRead, Scope::PaymentsWrite])
                .state(&state)
                .code_challenge(&challenge)
                .redirect_uri(REDIRECT_URI),
            state,
        }
    }
}

/// Builds the request of `operation`, then parses `body` as its answer.
fn round<O: Operation>(config: &Config, operation: &O, status: u16, body: &'static str) -> Result<O::Output, Error> {
    let request = operation.build(config)?;
    std::hint::black_box(&request);
    operation.parse(config, answer(status, body))
}

impl Ours {
    /// A code exchange: build, then parse Square's answer.
    pub fn code_exchange(&self) -> ObtainTokenResponse {
        round(&self.config, &self.code_exchange, 200, CODE_ANSWER).expect("a token")
    }

    /// A PKCE refresh: build, then parse the answer with its new refresh token.
    pub fn pkce_refresh(&self) -> ObtainTokenResponse {
        round(&self.config, &self.pkce_refresh, 200, PKCE_ANSWER).expect("a token")
    }

    /// RetrieveTokenStatus: build, then parse.
    pub fn token_status(&self) -> TokenStatus {
        round(&self.config, &self.token_status, 200, STATUS_ANSWER).expect("a status")
    }

    /// RevokeToken: build, then parse.
    pub fn revoke(&self) -> RevokeTokenResponse {
        round(&self.config, &self.revoke, 200, REVOKE_ANSWER).expect("revoked")
    }

    /// Parses the current error shape (a 401 with `errors`).
    pub fn error_current(&self) -> Error {
        self.code_exchange.parse(&self.config, answer(401, ERROR_ANSWER)).expect_err("a refusal")
    }

    /// Parses the legacy error shape (`message`, `type`, `field`).
    pub fn error_legacy(&self) -> Error {
        self.code_exchange.parse(&self.config, answer(401, LEGACY_ERROR_ANSWER)).expect_err("a refusal")
    }

    /// Builds the authorize URL, then reads the redirect that comes back.
    pub fn authorize_and_callback(&self) -> (String, AuthorizationCode) {
        let url = self.authorize.build(&self.config).expect("a URL");
        let code = parse_callback(CALLBACK, &self.state).expect("a code");
        (url, code)
    }

    /// A PKCE verifier from entropy, and its S256 challenge.
    pub fn pkce(&self) -> (CodeVerifier, CodeChallenge) {
        let verifier = CodeVerifier::from_entropy(std::hint::black_box(ENTROPY));
        let challenge = verifier.challenge();
        (verifier, challenge)
    }
}

impl Ours {
    /// A code exchange as it happens in an application: the operation made from the code that
    /// just arrived (the application's id and secret cloned in), built, the answer parsed. This
    /// is the form compared with oauth2, whose `exchange_code` takes the code by value too.
    pub fn code_exchange_fresh(&self, client_id: &ClientId, secret: &ClientSecret) -> ObtainTokenResponse {
        let operation =
            ObtainToken::authorization_code(client_id.clone(), secret.clone(), AuthorizationCode::new(CODE))
                .redirect_uri(REDIRECT_URI);
        round(&self.config, &operation, 200, CODE_ANSWER).expect("a token")
    }
}

impl Ours {
    /// The build half of [`code_exchange`](Self::code_exchange), for counting allocations.
    pub fn code_exchange_build(&self) -> http::Request<square_oauth::Body> {
        self.code_exchange.build(&self.config).expect("a request")
    }

    /// The parse half of [`code_exchange`](Self::code_exchange), for counting allocations.
    pub fn code_exchange_parse(&self) -> ObtainTokenResponse {
        self.code_exchange.parse(&self.config, answer(200, CODE_ANSWER)).expect("a token")
    }
}
