//! `POST /oauth2/token`: every grant of ObtainToken.

use serde::Serialize;

use crate::answer::{parse_answer, timestamp};
use crate::config::{Config, SquareVersion};
use crate::enums::Scope;
use crate::error::Error;
use crate::ids::{ClientId, MerchantId};
use crate::operation::{Operation, Replay, json_body, request};
use crate::pkce::CodeVerifier;
use crate::secret::{AccessToken, AuthorizationCode, Body, ClientSecret, IdToken, MigrationToken, RefreshToken};
use crate::validators;

/// The credential an ObtainToken request trades in.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Grant {
    /// Code flow: the authorization code, with the application secret.
    AuthorizationCode {
        /// The application secret.
        client_secret: ClientSecret,
        /// The code from the redirect.
        code: AuthorizationCode,
    },
    /// PKCE flow: the authorization code, with the verifier whose challenge the authorize URL
    /// carried. No secret: this is the grant for browsers, phones and command-line tools.
    Pkce {
        /// The code from the redirect.
        code: AuthorizationCode,
        /// The verifier.
        code_verifier: CodeVerifier,
    },
    /// Code flow refresh: the multi-use refresh token, with the application secret.
    Refresh {
        /// The application secret.
        client_secret: ClientSecret,
        /// The refresh token; Square returns the same one.
        refresh_token: RefreshToken,
    },
    /// PKCE refresh: the single-use refresh token; Square returns a new one and this one dies.
    PkceRefresh {
        /// The refresh token.
        refresh_token: RefreshToken,
    },
    /// A legacy access token from before 2019-03-13, traded for a new pair.
    Migration {
        /// The application secret.
        client_secret: ClientSecret,
        /// The legacy token.
        migration_token: MigrationToken,
    },
}

impl Grant {
    /// Square's `grant_type` for this grant.
    pub fn grant_type(&self) -> &'static str {
        match self {
            Grant::AuthorizationCode { .. } | Grant::Pkce { .. } => "authorization_code",
            Grant::Refresh { .. } | Grant::PkceRefresh { .. } => "refresh_token",
            Grant::Migration { .. } => "migration_token",
        }
    }
}

/// ObtainToken: trades a code, a refresh token or a migration token for an access token.
///
/// One constructor per grant; the options apply to any of them and are left out of the JSON when
/// not set. No `Authorization` header: Square reads the credentials from the body.
///
/// ```
/// use square_oauth::{ClientId, ClientSecret, AuthorizationCode, Config, ObtainToken, Operation};
///
/// let exchange = ObtainToken::authorization_code(
///     ClientId::new("sq0idp-example"),
///     ClientSecret::new("sq0csp-example"),
///     AuthorizationCode::new("sq0cgb-example"),
/// )
/// .redirect_uri("https://example.com/callback");
/// let request = exchange.build(&Config::production()).unwrap();
/// assert_eq!(request.uri(), "https://connect.squareup.com/oauth2/token");
/// assert!(request.headers().get("authorization").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ObtainToken {
    client_id: ClientId,
    grant: Grant,
    redirect_uri: Option<String>,
    scopes: Option<Vec<Scope>>,
    short_lived: Option<bool>,
    use_jwt: Option<bool>,
    square_version: Option<SquareVersion>,
}

impl ObtainToken {
    /// Any grant; the constructors below are shorthands.
    pub fn new(client_id: ClientId, grant: Grant) -> Self {
        Self {
            client_id,
            grant,
            redirect_uri: None,
            scopes: None,
            short_lived: None,
            use_jwt: None,
            square_version: None,
        }
    }

    /// Code flow: exchange the redirect's code, with the application secret.
    pub fn authorization_code(client_id: ClientId, client_secret: ClientSecret, code: AuthorizationCode) -> Self {
        Self::new(client_id, Grant::AuthorizationCode { client_secret, code })
    }

    /// PKCE flow: exchange the redirect's code with the verifier; no secret.
    pub fn pkce(client_id: ClientId, code: AuthorizationCode, code_verifier: CodeVerifier) -> Self {
        Self::new(client_id, Grant::Pkce { code, code_verifier })
    }

    /// Code flow refresh, with the application secret.
    pub fn refresh(client_id: ClientId, client_secret: ClientSecret, refresh_token: RefreshToken) -> Self {
        Self::new(client_id, Grant::Refresh { client_secret, refresh_token })
    }

    /// PKCE refresh: spends the single-use refresh token; keep the one in the answer.
    pub fn pkce_refresh(client_id: ClientId, refresh_token: RefreshToken) -> Self {
        Self::new(client_id, Grant::PkceRefresh { refresh_token })
    }

    /// Trade a legacy (pre-2019) access token for a new pair.
    pub fn migration(client_id: ClientId, client_secret: ClientSecret, migration_token: MigrationToken) -> Self {
        Self::new(client_id, Grant::Migration { client_secret, migration_token })
    }

    /// `redirect_uri`: required when the authorize URL carried one, and equal to it.
    pub fn redirect_uri(mut self, redirect_uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(redirect_uri.into());
        self
    }

    /// `scopes`: narrows the new token to these permissions (their intersection with the granted ones).
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = Scope>) -> Self {
        self.scopes = Some(scopes.into_iter().collect());
        self
    }

    /// `short_lived`: a token that lasts 24 hours instead of 30 days.
    pub fn short_lived(mut self, short_lived: bool) -> Self {
        self.short_lived = Some(short_lived);
        self
    }

    /// `use_jwt`: ask for the access token as a JWT (sent by Square's 2026 SDKs, not yet in the
    /// specification); it is used like any other token.
    pub fn use_jwt(mut self, use_jwt: bool) -> Self {
        self.use_jwt = Some(use_jwt);
        self
    }

    /// `Square-Version` for this call only.
    pub fn square_version(mut self, version: SquareVersion) -> Self {
        self.square_version = Some(version);
        self
    }

    /// The application this request is for.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The grant.
    pub fn grant(&self) -> &Grant {
        &self.grant
    }
}

/// The JSON body, in the specification's field order, borrowing every secret.
#[derive(Default, Serialize)]
struct ObtainTokenBody<'a> {
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_uri: Option<&'a str>,
    grant_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    migration_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes: Option<&'a [Scope]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    short_lived: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code_verifier: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    use_jwt: Option<bool>,
}

impl Operation for ObtainToken {
    type Output = ObtainTokenResponse;

    fn build(&self, config: &Config) -> Result<http::Request<Body>, Error> {
        validators::client_id(&self.client_id)?;
        let common = ObtainTokenBody {
            client_id: self.client_id.as_str(),
            redirect_uri: self.redirect_uri.as_deref(),
            grant_type: self.grant.grant_type(),
            scopes: self.scopes.as_deref(),
            short_lived: self.short_lived,
            use_jwt: self.use_jwt,
            ..ObtainTokenBody::default()
        };
        // Each grant checks exactly the credentials it sends, and only those go in the body.
        let body = match &self.grant {
            Grant::AuthorizationCode { client_secret, code } => {
                validators::client_secret(client_secret)?;
                validators::code(code.expose_secret())?;
                ObtainTokenBody {
                    client_secret: Some(client_secret.expose_secret()),
                    code: Some(code.expose_secret()),
                    ..common
                }
            }
            Grant::Pkce { code, code_verifier } => {
                validators::code(code.expose_secret())?;
                validators::code_verifier(code_verifier.expose_secret())?;
                ObtainTokenBody {
                    code: Some(code.expose_secret()),
                    code_verifier: Some(code_verifier.expose_secret()),
                    ..common
                }
            }
            Grant::Refresh { client_secret, refresh_token } => {
                validators::client_secret(client_secret)?;
                validators::token("refresh_token", refresh_token.expose_secret())?;
                ObtainTokenBody {
                    client_secret: Some(client_secret.expose_secret()),
                    refresh_token: Some(refresh_token.expose_secret()),
                    ..common
                }
            }
            Grant::PkceRefresh { refresh_token } => {
                validators::token("refresh_token", refresh_token.expose_secret())?;
                ObtainTokenBody { refresh_token: Some(refresh_token.expose_secret()), ..common }
            }
            Grant::Migration { client_secret, migration_token } => {
                validators::client_secret(client_secret)?;
                validators::token("migration_token", migration_token.expose_secret())?;
                ObtainTokenBody {
                    client_secret: Some(client_secret.expose_secret()),
                    migration_token: Some(migration_token.expose_secret()),
                    ..common
                }
            }
        };
        if let Some(uri) = body.redirect_uri {
            validators::redirect_uri(uri)?;
        }
        if let Some(scopes) = body.scopes {
            validators::scopes(scopes)?;
        }
        let size_hint = [
            body.client_id.len(),
            body.client_secret.map_or(0, str::len),
            body.code.map_or(0, str::len),
            body.redirect_uri.map_or(0, str::len),
            body.refresh_token.map_or(0, str::len),
            body.migration_token.map_or(0, str::len),
            body.code_verifier.map_or(0, str::len),
            body.scopes.map_or(0, |s| s.iter().map(|s| s.as_str().len() + 3).sum()),
        ]
        .iter()
        .sum();
        let body = json_body(&body, size_hint)?;
        request(config, self.square_version.as_ref(), "/oauth2/token", None, Some(body))
    }

    fn parse<B: AsRef<[u8]>>(&self, config: &Config, response: http::Response<B>) -> Result<Self::Output, Error> {
        parse_answer::<RawObtainToken, B>(config, &response)
    }

    fn replay(&self) -> Replay {
        match self.grant {
            Grant::AuthorizationCode { .. }
            | Grant::Pkce { .. }
            | Grant::PkceRefresh { .. }
            | Grant::Migration { .. } => Replay::SingleUse,
            Grant::Refresh { .. } => Replay::Safe,
        }
    }
}

/// What ObtainToken returns (`ObtainTokenResponse`). Every field is optional, as in Square's
/// specification.
///
/// When read by [`ObtainToken`]'s `parse`, a malformed optional field (`expires_at` that is not
/// a timestamp, `short_lived` that is not a boolean, …) does not fail the answer: its code or
/// refresh token is already spent, and the tokens in it are the only ones there are. The field
/// reads as absent and its name is listed in [`malformed_fields`](Self::malformed_fields).
/// `access_token`, `refresh_token`, `merchant_id` and `id_token` are still read strictly.
///
/// ```
/// use square_oauth::{AuthorizationCode, ClientId, ClientSecret, Config, ObtainToken, Operation};
///
/// let exchange = ObtainToken::authorization_code(
///     ClientId::new("sq0idp-a"), ClientSecret::new("sq0csp-b"), AuthorizationCode::new("sq0cgb-c"));
/// let answer = http::Response::builder().status(200).header("content-type", "application/json").body(
///     r#"{"access_token":"EAAAx","merchant_id":"M1","refresh_token":"EQAAx","expires_at":"next month"}"#,
/// )?;
/// let tokens = exchange.parse(&Config::production(), answer)?;
/// assert_eq!(tokens.access_token.unwrap().expose_secret(), "EAAAx");
/// assert_eq!(tokens.expires_at, None);
/// assert_eq!(tokens.malformed_fields, ["expires_at"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[non_exhaustive]
pub struct ObtainTokenResponse {
    /// The access token, sent as `Authorization: Bearer …` to every other Square API.
    #[serde(default)]
    pub access_token: Option<AccessToken>,
    /// Always `bearer`.
    #[serde(default)]
    pub token_type: Option<String>,
    /// When the access token expires (30 days, or 24 hours when short-lived).
    #[serde(default, deserialize_with = "timestamp")]
    pub expires_at: Option<jiff::Timestamp>,
    /// The seller who authorized the application.
    #[serde(default)]
    pub merchant_id: Option<MerchantId>,
    /// Legacy: the seller's subscription, when they subscribed during authorization.
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// Legacy: the subscription plan.
    #[serde(default)]
    pub plan_id: Option<String>,
    /// Legacy OpenID token (deprecated since 2021-09-15).
    #[serde(default)]
    pub id_token: Option<IdToken>,
    /// The refresh token: the same one again in the code flow, a new single-use one in PKCE.
    #[serde(default)]
    pub refresh_token: Option<RefreshToken>,
    /// Whether the access token is short-lived.
    #[serde(default)]
    pub short_lived: Option<bool>,
    /// When the refresh token expires (PKCE only: 90 days).
    #[serde(default, deserialize_with = "timestamp")]
    pub refresh_token_expires_at: Option<jiff::Timestamp>,
    /// The optional fields whose values were malformed and are read as absent (see above).
    /// Not part of Square's answer; empty when everything read.
    #[serde(skip)]
    pub malformed_fields: Vec<&'static str>,
}

/// An optional, non-secret field read without failing: a value of the wrong shape is kept as
/// `Bad` for the report. Read through [`Scalar`] rather than `serde_json::Value`, which would
/// add its whole deserializer to every WebAssembly module.
#[derive(Default)]
enum Lenient<T> {
    #[default]
    Absent,
    Good(T),
    Bad,
}

/// What a JSON value is, as far as an optional scalar field needs to know.
enum Scalar {
    Null,
    Bool(bool),
    Str(String),
    Other,
}

impl<'de> serde::Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Scalar;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
                <Scalar as serde::Deserialize>::deserialize(d)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_owned()))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// A field's type, from a [`Scalar`]: `None` when the value has the wrong shape.
trait FromScalar: Sized {
    fn from_scalar(scalar: Scalar) -> Option<Self>;
}

impl FromScalar for Option<String> {
    fn from_scalar(scalar: Scalar) -> Option<Self> {
        match scalar {
            Scalar::Null => Some(None),
            Scalar::Str(text) => Some(Some(text)),
            _ => None,
        }
    }
}

impl FromScalar for Option<bool> {
    fn from_scalar(scalar: Scalar) -> Option<Self> {
        match scalar {
            Scalar::Null => Some(None),
            Scalar::Bool(value) => Some(Some(value)),
            _ => None,
        }
    }
}

/// A timestamp as [`timestamp`] reads it: absent, `null` or empty is `None`.
impl FromScalar for Option<jiff::Timestamp> {
    fn from_scalar(scalar: Scalar) -> Option<Self> {
        match scalar {
            Scalar::Null => Some(None),
            Scalar::Str(text) => match text.trim() {
                "" => Some(None),
                text => crate::time::parse_rfc3339(text).map(Some),
            },
            _ => None,
        }
    }
}

impl<T: FromScalar> Lenient<T> {
    fn from_scalar(scalar: Scalar) -> Self {
        T::from_scalar(scalar).map_or(Lenient::Bad, Lenient::Good)
    }
}

impl<T> Lenient<Option<T>> {
    fn take(self, name: &'static str, malformed: &mut Vec<&'static str>) -> Option<T> {
        match self {
            Lenient::Absent => None,
            Lenient::Good(value) => value,
            Lenient::Bad => {
                malformed.push(name);
                None
            }
        }
    }
}

/// ObtainToken's answer with the error fields beside it, read in one pass.
#[derive(Default)]
struct RawObtainToken {
    access_token: Option<AccessToken>,
    token_type: Lenient<Option<String>>,
    expires_at: Lenient<Option<jiff::Timestamp>>,
    merchant_id: Option<MerchantId>,
    subscription_id: Lenient<Option<String>>,
    plan_id: Lenient<Option<String>>,
    id_token: Option<IdToken>,
    refresh_token: Option<RefreshToken>,
    short_lived: Lenient<Option<bool>>,
    refresh_token_expires_at: Lenient<Option<jiff::Timestamp>>,
    errors: Option<Vec<crate::error::SquareError>>,
    message: Option<String>,
    legacy_type: Option<String>,
    field: Option<String>,
}

/// A key of ObtainToken's answer, in the order of [`KEYS`]; any other is skipped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    AccessToken,
    TokenType,
    ExpiresAt,
    MerchantId,
    SubscriptionId,
    PlanId,
    IdToken,
    RefreshToken,
    ShortLived,
    RefreshTokenExpiresAt,
    Errors,
    Message,
    Type,
    Field,
    Other,
}

/// The names of the keys, as Square writes them.
const KEYS: [&str; 14] = [
    "access_token",
    "token_type",
    "expires_at",
    "merchant_id",
    "subscription_id",
    "plan_id",
    "id_token",
    "refresh_token",
    "short_lived",
    "refresh_token_expires_at",
    "errors",
    "message",
    "type",
    "field",
];

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Key;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("field identifier")
            }
            fn visit_str<E>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "access_token" => Key::AccessToken,
                    "token_type" => Key::TokenType,
                    "expires_at" => Key::ExpiresAt,
                    "merchant_id" => Key::MerchantId,
                    "subscription_id" => Key::SubscriptionId,
                    "plan_id" => Key::PlanId,
                    "id_token" => Key::IdToken,
                    "refresh_token" => Key::RefreshToken,
                    "short_lived" => Key::ShortLived,
                    "refresh_token_expires_at" => Key::RefreshTokenExpiresAt,
                    "errors" => Key::Errors,
                    "message" => Key::Message,
                    "type" => Key::Type,
                    "field" => Key::Field,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(Visit)
    }
}

/// Written by hand rather than derived: the derive also writes a reader for a JSON array (which
/// `from_slice` refuses before it gets here) and one deserializer per field type, where every
/// field here is read as one of three types (`Option<String>`, [`Scalar`], the `errors` array).
/// A field named twice is refused, as the derive does.
impl<'de> serde::Deserialize<'de> for RawObtainToken {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = RawObtainToken;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("struct RawObtainToken")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<RawObtainToken, A::Error> {
                let mut raw = RawObtainToken::default();
                let mut seen = 0u16;
                while let Some(key) = map.next_key::<Key>()? {
                    if key != Key::Other {
                        let bit = 1 << key as u16;
                        if seen & bit != 0 {
                            return Err(serde::de::Error::duplicate_field(KEYS[key as usize]));
                        }
                        seen |= bit;
                    }
                    // Strings, secrets included, are read as `Option<String>` and moved into
                    // their types: `String`'s reader allocates exactly, so the secrets' `new`
                    // keeps that buffer and no copy is left behind.
                    let string = |map: &mut A| map.next_value::<Option<String>>();
                    let scalar = |map: &mut A| map.next_value::<Scalar>();
                    match key {
                        Key::AccessToken => raw.access_token = string(&mut map)?.map(AccessToken::new),
                        Key::TokenType => raw.token_type = Lenient::from_scalar(scalar(&mut map)?),
                        Key::ExpiresAt => raw.expires_at = Lenient::from_scalar(scalar(&mut map)?),
                        Key::MerchantId => raw.merchant_id = string(&mut map)?.map(MerchantId::new),
                        Key::SubscriptionId => raw.subscription_id = Lenient::from_scalar(scalar(&mut map)?),
                        Key::PlanId => raw.plan_id = Lenient::from_scalar(scalar(&mut map)?),
                        Key::IdToken => raw.id_token = string(&mut map)?.map(IdToken::new),
                        Key::RefreshToken => raw.refresh_token = string(&mut map)?.map(RefreshToken::new),
                        Key::ShortLived => raw.short_lived = Lenient::from_scalar(scalar(&mut map)?),
                        Key::RefreshTokenExpiresAt => {
                            raw.refresh_token_expires_at = Lenient::from_scalar(scalar(&mut map)?)
                        }
                        Key::Errors => raw.errors = map.next_value()?,
                        Key::Message => raw.message = string(&mut map)?,
                        Key::Type => raw.legacy_type = string(&mut map)?,
                        Key::Field => raw.field = string(&mut map)?,
                        Key::Other => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(raw)
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

impl crate::answer::WithErrors for RawObtainToken {
    type Answer = ObtainTokenResponse;
    fn split(self) -> (ObtainTokenResponse, crate::answer::ErrorFields) {
        let mut malformed = Vec::new();
        let answer = ObtainTokenResponse {
            access_token: self.access_token,
            token_type: self.token_type.take("token_type", &mut malformed),
            expires_at: self.expires_at.take("expires_at", &mut malformed),
            merchant_id: self.merchant_id,
            subscription_id: self.subscription_id.take("subscription_id", &mut malformed),
            plan_id: self.plan_id.take("plan_id", &mut malformed),
            id_token: self.id_token,
            refresh_token: self.refresh_token,
            short_lived: self.short_lived.take("short_lived", &mut malformed),
            refresh_token_expires_at: self.refresh_token_expires_at.take("refresh_token_expires_at", &mut malformed),
            malformed_fields: malformed,
        };
        (answer, crate::answer::ErrorFields::new(self.errors, self.message, self.legacy_type, self.field))
    }
}
