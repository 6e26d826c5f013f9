//! Values that must never be printed, logged or left in memory.
//!
//! Each type wraps a [`secrecy::SecretString`]: `Debug` and `Display` print a redaction, the
//! memory is wiped on drop, and the one way to read the value is `expose_secret()`, a call that is
//! easy to grep for in review. Equality is constant-time so that comparing a secret leaks nothing
//! through timing.

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

macro_rules! secret_string {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name(::secrecy::SecretString);

        impl $name {
            /// Wraps a value. The `String` given is moved into wiped-on-drop storage.
            pub fn new(value: impl Into<String>) -> Self {
                Self(::secrecy::SecretString::from(value.into()))
            }

            /// Reads the secret. Every call site is a place the secret leaves its wrapper.
            pub fn expose_secret(&self) -> &str {
                ::secrecy::ExposeSecret::expose_secret(&self.0)
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(concat!(stringify!($name), "([REDACTED])"))
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str("[REDACTED]")
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                $crate::secret::constant_time_eq(self.expose_secret().as_bytes(), other.expose_secret().as_bytes())
            }
        }

        impl Eq for $name {}

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                // The intermediate `String` is wiped too, not just dropped.
                let value = ::zeroize::Zeroizing::new(<String as ::serde::Deserialize>::deserialize(deserializer)?);
                Ok(Self::new(value.as_str()))
            }
        }
    };
}

pub(crate) use secret_string;

secret_string! {
    /// The application secret (`sq0csp-…`), from the OAuth page of the Developer Dashboard.
    ///
    /// ```
    /// use square_oauth::ClientSecret;
    /// let secret = ClientSecret::new("sq0csp-example");
    /// assert_eq!(format!("{secret:?}"), "ClientSecret([REDACTED])");
    /// assert_eq!(secret.expose_secret(), "sq0csp-example");
    /// ```
    ClientSecret
}

secret_string! {
    /// An OAuth access token (`EAAA…`), or a personal access token.
    AccessToken
}

secret_string! {
    /// A refresh token (`EQAA…`). Multi-use in the code flow, single-use in the PKCE flow.
    RefreshToken
}

secret_string! {
    /// The authorization code (`sq0cgb-…`) Square puts in the redirect. Single-use, short-lived.
    AuthorizationCode
}

secret_string! {
    /// A legacy access token from before 2019-03-13, exchanged with the `migration_token` grant.
    MigrationToken
}

secret_string! {
    /// The legacy OpenID `id_token` Square returned until 2021-09-15.
    IdToken
}

secret_string! {
    /// The signature key of a webhook subscription, used to verify notifications.
    WebhookSignatureKey
}

/// The body of a request built by this crate: JSON that may hold a client secret or a token.
///
/// It prints as a redaction, so `http::Request<Body>` can be logged with `{:?}`, and its bytes are
/// wiped on drop. Adapters read it with [`Body::expose_secret`] to hand it to their transport.
///
/// ```
/// use square_oauth::Body;
/// let body = Body::empty();
/// assert!(body.is_empty());
/// assert_eq!(format!("{body:?}"), "Body(0 bytes)");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Body(Zeroizing<Vec<u8>>);

impl Body {
    /// A body with no bytes (RetrieveTokenStatus sends none).
    pub fn empty() -> Self {
        Self::default()
    }

    pub(crate) fn from_vec(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Whether the body has no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Reads the bytes. The transport's copy of them is outside this crate's care.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("Body(0 bytes)")
        } else {
            write!(f, "Body({} bytes, [REDACTED])", self.0.len())
        }
    }
}
