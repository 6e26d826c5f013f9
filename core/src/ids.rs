//! Identifiers that are not secret but must not be mixed up with each other.

use core::fmt;

use serde::{Deserialize, Serialize};

macro_rules! identifier {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an identifier. It is checked when a request that carries it is built.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The identifier as Square writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

identifier! {
    /// An application id (`sq0idp-…` in production, `sandbox-sq0idb-…` in the sandbox).
    ///
    /// ```
    /// use square_oauth::ClientId;
    /// let id = ClientId::new("sq0idp-example");
    /// assert_eq!(id.to_string(), "sq0idp-example");
    /// ```
    ClientId
}

identifier! {
    /// The id of a seller's Square account (`merchant_id`).
    MerchantId
}
