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

/// Moves a string into an exact-size box. `String::into_boxed_str` would shrink a string with
/// spare capacity by reallocating, which frees the old buffer with the secret still in it; here
/// such a string is copied instead, and the original buffer is wiped (whole capacity) and left
/// in `value` for its owner to free.
pub(crate) fn into_exact(value: &mut String) -> Box<str> {
    if value.len() == value.capacity() {
        // Already exact: the buffer itself becomes the box, with no copy to wipe.
        return core::mem::take(value).into_boxed_str();
    }
    let exact = Box::<str>::from(value.as_str());
    zeroize::Zeroize::zeroize(value);
    exact
}

macro_rules! secret_string {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name(::secrecy::SecretString);

        impl $name {
            /// Wraps a value. The `String` given is moved into wiped-on-drop storage; if it had
            /// spare capacity, its bytes are copied to an exact-size buffer and the original is
            /// wiped before it is freed.
            pub fn new(value: impl Into<String>) -> Self {
                let mut value = value.into();
                Self(::secrecy::SecretBox::new($crate::secret::into_exact(&mut value)))
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

#[cfg(test)]
mod tests {
    use super::*;

    // What these tests can see without `unsafe`: the helper never reallocates a string with
    // spare capacity; it copies it and wipes the original, which stays with the caller (empty,
    // its capacity kept, so nothing was freed before the wipe). That the wipe writes zeros over
    // the whole capacity is `zeroize`'s documented behaviour, not observed here.

    #[test]
    fn a_string_with_spare_capacity_is_copied_and_the_original_wiped() {
        let mut value = String::with_capacity(64);
        value.push_str("sq0csp-secret");
        let boxed = into_exact(&mut value);
        assert_eq!(&*boxed, "sq0csp-secret");
        assert!(value.is_empty(), "the original was wiped");
        assert!(value.capacity() >= 64, "and still owns its buffer, so it was not freed unwiped");
    }

    #[test]
    fn an_exact_string_becomes_the_box_without_a_copy() {
        let mut value = String::from("EAAA-token");
        value.shrink_to_fit();
        let before = value.as_ptr();
        let boxed = into_exact(&mut value);
        assert_eq!(boxed.as_ptr(), before, "the same buffer, no copy left behind");
        assert_eq!(&*boxed, "EAAA-token");
        assert_eq!(value.capacity(), 0);
    }

    #[test]
    fn constructors_keep_the_value_whatever_its_capacity() {
        let mut spare = String::with_capacity(100);
        spare.push_str("sq0csp-spare");
        assert_eq!(ClientSecret::new(spare).expose_secret(), "sq0csp-spare");
        assert_eq!(AccessToken::from("EAAA-x".to_owned()).expose_secret(), "EAAA-x");
        assert_eq!(RefreshToken::new("").expose_secret(), "");
    }
}
