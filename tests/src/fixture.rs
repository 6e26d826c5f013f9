//! A fake Square with one application and one seller, and the steps scenarios share.

use square_oauth::{
    AuthorizationCode, AuthorizeUrl, ClientId, ClientSecret, CodeVerifier, Config, ObtainToken, ObtainTokenResponse,
    Scope, State, parse_callback,
};
use square_oauth_mock::{App, MockConfig, MockSquare, RecordedRequest};

use crate::drivers::{Driver, Settings};

/// The registered application's id.
pub const CLIENT_ID: &str = "sq0idp-suite-application";
/// The registered application's secret: a sentinel that must never appear in an error or a log.
pub const CLIENT_SECRET: &str = "sq0csp-SENTINEL-suite-secret-never-printed";
/// The registered redirect URL (nothing listens there: the fake hands the redirect back).
pub const REDIRECT_URL: &str = "http://127.0.0.1:9/callback";
/// The seller who approves.
pub const MERCHANT: &str = "MERCHANT1";
/// `/oauth2/token`.
pub const TOKEN: &str = "/oauth2/token";
/// `/oauth2/token/status`.
pub const STATUS: &str = "/oauth2/token/status";
/// `/oauth2/revoke`.
pub const REVOKE: &str = "/oauth2/revoke";

/// A running fake Square for one scenario; stopped when dropped.
#[derive(Debug)]
pub struct Fixture {
    /// The fake.
    pub mock: MockSquare,
}

impl Fixture {
    /// The fake's configuration: the application and the seller.
    pub fn mock_config() -> MockConfig {
        MockConfig::new().app(App::new(CLIENT_ID, CLIENT_SECRET, &[REDIRECT_URL])).seller(MERCHANT)
    }

    /// A fake over plain http on 127.0.0.1.
    pub fn start() -> Self {
        Self::with(Self::mock_config())
    }

    /// A fake from this configuration.
    pub fn with(config: MockConfig) -> Self {
        Fixture { mock: MockSquare::start(config).expect("the fake Square starts") }
    }

    /// The core configuration pointing at the fake.
    pub fn config(&self) -> Config {
        Config::custom(&self.mock.base_url()).expect("a loopback base URL")
    }

    /// A driver with the default [`Settings`].
    pub fn driver<D: Driver>(&self) -> D {
        D::new(self.config(), &Settings::default())
    }

    /// A driver with these settings.
    pub fn driver_with<D: Driver>(&self, settings: &Settings) -> D {
        D::new(self.config(), settings)
    }

    /// The application id.
    pub fn client_id() -> ClientId {
        ClientId::new(CLIENT_ID)
    }

    /// The application secret.
    pub fn client_secret() -> ClientSecret {
        ClientSecret::new(CLIENT_SECRET)
    }

    /// The authorize URL → Allow on the fake → the callback parsed: a code-flow code.
    pub fn code(&self) -> AuthorizationCode {
        self.consent(None)
    }

    /// The same with a PKCE challenge: the code and its verifier.
    pub fn pkce_code(&self) -> (AuthorizationCode, CodeVerifier) {
        let verifier = CodeVerifier::generate().expect("entropy");
        (self.consent(Some(&verifier)), verifier)
    }

    fn consent(&self, verifier: Option<&CodeVerifier>) -> AuthorizationCode {
        let state = State::generate().expect("entropy");
        let mut url = AuthorizeUrl::new(Self::client_id())
            .scopes([Scope::MerchantProfileRead, Scope::PaymentsRead])
            .state(&state);
        if let Some(verifier) = verifier {
            url = url.code_challenge(&verifier.challenge());
        }
        let url = url.build(&self.config()).expect("an authorize URL");
        let redirect = self.mock.approve(&url, None).expect("the fake approves");
        parse_callback(&redirect, &state).expect("a code in the callback")
    }

    /// A code-flow token pair, through `driver`.
    pub fn code_flow_tokens<D: Driver>(&self, driver: &D) -> ObtainTokenResponse {
        let exchange = ObtainToken::authorization_code(Self::client_id(), Self::client_secret(), self.code());
        driver.send(&exchange).expect("a code-flow exchange")
    }

    /// A PKCE token pair, through `driver`.
    pub fn pkce_tokens<D: Driver>(&self, driver: &D) -> ObtainTokenResponse {
        let (code, verifier) = self.pkce_code();
        driver.send(&ObtainToken::pkce(Self::client_id(), code, verifier)).expect("a PKCE exchange")
    }

    /// The requests the fake received on `path`, in arrival order.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.mock.requests().into_iter().filter(|request| request.path == path).collect()
    }
}
