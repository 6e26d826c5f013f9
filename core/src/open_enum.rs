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

            /// The text of each known value, in the order of [`KNOWN`](Self::KNOWN). Read only
            /// while compiling: the module holds [`BYTES`](Self::BYTES) and
            /// [`ENDS`](Self::ENDS) instead.
            const TEXTS: &'static [&'static str] = &[ $( $text, )+ ];

            /// Every text, one after another: with [`ENDS`](Self::ENDS), 2 bytes a value
            /// beside the text rather than a pointer and a length (8 bytes in WebAssembly, 16
            /// natively), 1 KB less for the error codes.
            const BYTES: &'static [u8] =
                &$crate::open_enum::join::<{ $crate::open_enum::joined_len($name::TEXTS) }>(Self::TEXTS);

            /// Where each text starts in [`BYTES`](Self::BYTES), then where the last ends.
            const ENDS: &'static [u16] = &$crate::open_enum::ends::<{ $name::TEXTS.len() + 1 }>(Self::TEXTS);

            /// [`BYTES`](Self::BYTES) and [`ENDS`](Self::ENDS) together.
            const JOINED: $crate::open_enum::Joined<'static> = $crate::open_enum::Joined::new(Self::BYTES, Self::ENDS);

            /// The positions in [`TEXTS`](Self::TEXTS), sorted by text, for a binary search.
            #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
            const ORDER: &'static [u16] = &$crate::open_enum::sorted::<{ $name::TEXTS.len() }>(Self::TEXTS);

            /// The text Square uses for this value.
            pub fn as_str(&self) -> &str {
                // The match gives a position and the text is read from a table after it: LLVM
                // turns a match of consecutive numbers into arithmetic, where a match of texts
                // (or a table read inside each arm) compiles on WebAssembly to a jump table with
                // code that builds each text's pointer and length, 3 KB for the error codes.
                #[allow(clippy::enum_variant_names)]
                enum Index { $( $variant, )+ }
                let index = match self {
                    $( $name::$variant => Index::$variant as u16, )+
                    $name::Other(text) => return text.as_str(),
                };
                Self::JOINED.text(usize::from(index))
            }

            /// Whether this value is one this version of the crate knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }

            /// The known value written `text`. Natively a `match` of the texts, which the
            /// compiler makes a switch on the length and a comparison or two: the fastest way.
            #[cfg(not(target_arch = "wasm32"))]
            fn from_text(text: &str) -> Option<$name> {
                match text {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// The known value written `text`. In WebAssembly a binary search of the table that
            /// `as_str` reads, shared by every open enum: the `match` above is a chain of
            /// comparisons there, 3.6 KB of code for the error codes alone.
            #[cfg(target_arch = "wasm32")]
            fn from_text(text: &str) -> Option<$name> {
                Self::from_text_by_table(text)
            }

            /// [`from_text`](Self::from_text) as WebAssembly does it; compiled everywhere so
            /// that native tests hold it to the `match`.
            #[allow(non_upper_case_globals)]
            #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
            fn from_text_by_table(text: &str) -> Option<$name> {
                let index = Self::JOINED.position(Self::ORDER, text)?;
                // Each variant's position, named after it, so that the match below is from
                // numbers to variants: arithmetic again, not a jump table (nor a copy of
                // `KNOWN`, 24 bytes a value, in the module's data).
                #[allow(clippy::enum_variant_names)]
                enum Index { $( $variant, )+ }
                $( const $variant: u16 = Index::$variant as u16; )+
                Some(match index {
                    $( $variant => $name::$variant, )+
                    _ => return None,
                })
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

/// Texts compared by length, then byte by byte: the order of [`sorted`] and [`Joined::position`]
/// (a length differs more often than a first byte, and is one comparison).
const fn before(a: &str, b: &str) -> core::cmp::Ordering {
    use core::cmp::Ordering;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return if a.len() < b.len() { Ordering::Less } else { Ordering::Greater };
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return if a[i] < b[i] { Ordering::Less } else { Ordering::Greater };
        }
        i += 1;
    }
    Ordering::Equal
}

/// The positions of `texts` in the order of [`before`], computed when compiling (an insertion
/// sort: a few hundred texts at most). Panics, failing the build, if a text is listed twice.
pub(crate) const fn sorted<const N: usize>(texts: &[&str]) -> [u16; N] {
    assert!(texts.len() == N && N <= u16::MAX as usize);
    let mut order = [0u16; N];
    let mut i = 0;
    while i < N {
        order[i] = i as u16;
        let mut j = i;
        while j > 0 {
            match before(texts[order[j - 1] as usize], texts[order[j] as usize]) {
                core::cmp::Ordering::Greater => {
                    order.swap(j - 1, j);
                    j -= 1;
                }
                core::cmp::Ordering::Equal => panic!("an open enum lists a text twice"),
                core::cmp::Ordering::Less => break,
            }
        }
        i += 1;
    }
    order
}

/// The texts of an open enum as one run of bytes and where each starts: what
/// [`as_str`](crate::Scope::as_str) reads and [`position`](Joined::position) searches.
#[derive(Clone, Copy)]
pub(crate) struct Joined<'a> {
    bytes: &'a str,
    ends: &'a [u16],
}

impl<'a> Joined<'a> {
    /// `bytes` from [`join`], `ends` from [`ends`], for the same texts. Panics if `bytes` is
    /// not UTF-8: in the enums' constants, that fails the build.
    pub(crate) const fn new(bytes: &'a [u8], ends: &'a [u16]) -> Self {
        match core::str::from_utf8(bytes) {
            Ok(bytes) => Joined { bytes, ends },
            Err(_) => panic!("an open enum's texts are not UTF-8"),
        }
    }

    /// The text at `index` (empty past the end, which the enums never ask for).
    pub(crate) fn text(self, index: usize) -> &'a str {
        match self.ends.get(index..index.saturating_add(2)) {
            Some(&[start, end]) => self.bytes.get(usize::from(start)..usize::from(end)).unwrap_or_default(),
            _ => "",
        }
    }

    /// Where `text` is, by a binary search over `order` (from [`sorted`]). One function for
    /// every open enum, rather than a chain of comparisons per enum.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn position(self, order: &[u16], text: &str) -> Option<u16> {
        order
            .binary_search_by(|&i| {
                let known = self.text(usize::from(i));
                known.len().cmp(&text.len()).then_with(|| known.as_bytes().cmp(text.as_bytes()))
            })
            .ok()
            .map(|at| order[at])
    }
}

/// The length of `texts` written one after another (for [`join`]'s `N`). Fails the build past
/// what [`ends`]'s 16 bits can say.
pub(crate) const fn joined_len(texts: &[&str]) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < texts.len() {
        total += texts[i].len();
        i += 1;
    }
    assert!(total <= u16::MAX as usize);
    total
}

/// `texts` written one after another, computed when compiling.
pub(crate) const fn join<const N: usize>(texts: &[&str]) -> [u8; N] {
    let mut out = [0u8; N];
    let (mut at, mut i) = (0, 0);
    while i < texts.len() {
        let text = texts[i].as_bytes();
        let mut j = 0;
        while j < text.len() {
            out[at] = text[j];
            at += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(at == N);
    out
}

/// Where each of `texts` starts in [`join`]'s bytes, and then where the last ends: `K` is one
/// more than the number of texts. Computed when compiling.
pub(crate) const fn ends<const K: usize>(texts: &[&str]) -> [u16; K] {
    assert!(texts.len() + 1 == K);
    let mut out = [0u16; K];
    let mut i = 0;
    while i < texts.len() {
        out[i + 1] = out[i] + texts[i].len() as u16;
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every text comes back whole at its own index, empty ones included; past the end is empty.
    #[test]
    fn joined_texts_read_back_as_they_were_listed() {
        const TEXTS: &[&str] = &["B", "", "ALPHA_BETA", "é", "C"];
        const BYTES: &[u8] = &join::<{ joined_len(TEXTS) }>(TEXTS);
        const ENDS: &[u16] = &ends::<{ TEXTS.len() + 1 }>(TEXTS);
        let joined = Joined::new(BYTES, ENDS);
        for (index, text) in TEXTS.iter().enumerate() {
            assert_eq!(joined.text(index), *text, "{index}");
        }
        assert_eq!(joined.text(TEXTS.len()), "");
        assert_eq!(joined.text(usize::MAX), "");
        let order = sorted::<{ TEXTS.len() }>(TEXTS);
        for (index, text) in TEXTS.iter().enumerate() {
            assert_eq!(joined.position(&order, text), Some(index as u16), "{text}");
        }
        assert_eq!(joined.position(&order, "ALPHA"), None);
    }
}
