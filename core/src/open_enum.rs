//! The macro behind Square's open enumerations.
//!
//! Square adds scopes and error codes over time. An enum that failed to parse an unknown value
//! would turn a new Square release into an outage, so every enum here keeps the text of an
//! unknown value in `Other` and round-trips it unchanged.

macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( #[doc = $doc:expr] $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( #[doc = $doc] $variant, )+
            /// A value this version of the crate does not know, kept exactly as Square sent it.
            Other(String),
        }

        impl $name {
            /// Every value this version of the crate knows, in the specification's order.
            pub const KNOWN: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The text Square uses for this value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Other(text) => text.as_str(),
                }
            }

            /// Whether this value is one this version of the crate knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }

            fn from_text(text: &str) -> Option<$name> {
                match text {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                $name::from_text(text).unwrap_or_else(|| $name::Other(text.to_owned()))
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                $name::from_text(&text).unwrap_or($name::Other(text))
            }
        }

        impl core::str::FromStr for $name {
            type Err = core::convert::Infallible;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Ok($name::from(text))
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self {
                    $name::Other(text) => write!(f, "{}::Other({:?})", stringify!($name), text),
                    known => write!(f, "{}::{}", stringify!($name), known.as_str()),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<$name, E> {
                        Ok($name::from(text))
                    }
                    fn visit_string<E: serde::de::Error>(self, text: String) -> Result<$name, E> {
                        Ok($name::from(text))
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

pub(crate) use open_enum;
