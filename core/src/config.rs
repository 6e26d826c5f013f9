//! Where requests go and what every request carries.

use core::fmt;

use http::HeaderValue;
use http::uri::{Authority, Scheme, Uri};

use crate::error::{Error, InvalidInput, Problem};

/// The `Square-Version` this release of the crate is written against and sends by default.
pub const DEFAULT_SQUARE_VERSION: &str = "2026-08-19";

/// The default cap on the size of an answer's body: 1 MiB. Square's OAuth answers are under 2 KiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The longest caller detail appended to the `User-Agent`, as Square's SDKs allow.
pub const MAX_USER_AGENT_DETAIL: usize = 128;

/// Square's production host.
pub const PRODUCTION_BASE_URL: &str = "https://connect.squareup.com";

/// Square's sandbox host (sandbox application ids start with `sandbox-`).
pub const SANDBOX_BASE_URL: &str = "https://connect.squareupsandbox.com";

/// Which Square the requests are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Environment {
    /// `https://connect.squareup.com`.
    Production,
    /// `https://connect.squareupsandbox.com`.
    Sandbox,
    /// Any other base URL: a proxy, or a fake Square in tests.
    Custom,
}

/// An API version, `YYYY-MM-DD`, sent as `Square-Version`.
///
/// ```
/// use square_oauth::SquareVersion;
/// let version = SquareVersion::new("2025-08-20").unwrap();
/// assert_eq!(version.as_str(), "2025-08-20");
/// assert!(SquareVersion::new("2025-8-20").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SquareVersion(HeaderValue);

impl SquareVersion {
    /// Checks that `version` is a real calendar date written `YYYY-MM-DD`.
    pub fn new(version: &str) -> Result<Self, Error> {
        if !crate::time::is_date(version) {
            return Err(InvalidInput::new("square_version", Problem::Format("a date written YYYY-MM-DD")).into());
        }
        Ok(Self(HeaderValue::from_str(version).expect("checked to be ASCII digits and dashes")))
    }

    /// The version as sent.
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }

    pub(crate) fn header(&self) -> HeaderValue {
        self.0.clone()
    }
}

impl Default for SquareVersion {
    fn default() -> Self {
        Self(HeaderValue::from_static(DEFAULT_SQUARE_VERSION))
    }
}

impl fmt::Debug for SquareVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SquareVersion({})", self.as_str())
    }
}

impl fmt::Display for SquareVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a request needs besides its own fields: the host, the API version, the
/// `User-Agent` and the answer size cap. Cheap to clone; holds no secret.
///
/// ```
/// use square_oauth::{Config, Environment};
/// let config = Config::builder()
///     .sandbox()
///     .square_version("2026-08-19")
///     .user_agent_detail("my-app/1.2")
///     .build()
///     .unwrap();
/// assert_eq!(config.environment(), Environment::Sandbox);
/// assert_eq!(config.base_url(), "https://connect.squareupsandbox.com");
///
/// // Plain http is refused unless the host is this machine.
/// assert!(Config::custom("http://example.com").is_err());
/// assert!(Config::custom("http://127.0.0.1:8080").is_ok());
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    environment: Environment,
    scheme: Scheme,
    authority: Authority,
    /// A path prefix with no trailing slash (empty for Square's own hosts).
    prefix: String,
    base_url: String,
    square_version: SquareVersion,
    user_agent: HeaderValue,
    max_response_bytes: usize,
}

impl Config {
    /// Square's production environment with every default.
    pub fn production() -> Self {
        Self::builder().build().expect("the defaults are valid")
    }

    /// Square's sandbox with every default.
    pub fn sandbox() -> Self {
        Self::builder().sandbox().build().expect("the defaults are valid")
    }

    /// Any base URL with every other default; `https`, or `http` to a loopback host.
    pub fn custom(base_url: &str) -> Result<Self, Error> {
        Self::builder().base_url(base_url).build()
    }

    /// Starts from production and the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            base_url: PRODUCTION_BASE_URL.to_owned(),
            environment: Environment::Production,
            square_version: None,
            user_agent_detail: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Which Square this configuration talks to.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// The base URL, with no trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Whether the base URL names this machine (`localhost`, `127.0.0.0/8`, `[::1]`): a fake
    /// Square in tests and development. Adapters never send such requests through a proxy, since
    /// plain `http` is allowed there and would carry the secrets in clear to the proxy.
    ///
    /// ```
    /// # use square_oauth::Config;
    /// assert!(Config::custom("http://127.0.0.1:8080")?.is_loopback());
    /// assert!(!Config::sandbox().is_loopback());
    /// # Ok::<(), square_oauth::Error>(())
    /// ```
    pub fn is_loopback(&self) -> bool {
        self.base_url.parse::<http::Uri>().ok().and_then(|uri| uri.host().map(is_loopback)).unwrap_or(false)
    }

    /// The `Square-Version` sent unless an operation overrides it.
    pub fn square_version(&self) -> &SquareVersion {
        &self.square_version
    }

    /// The `User-Agent` sent with every request.
    pub fn user_agent(&self) -> &str {
        self.user_agent.to_str().unwrap_or_default()
    }

    /// The largest answer body accepted, in bytes; adapters stop reading there and
    /// [`Operation::parse`](crate::Operation::parse) refuses anything longer.
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    pub(crate) fn user_agent_header(&self) -> HeaderValue {
        self.user_agent.clone()
    }

    /// The full URL of `path` (which starts with `/`) on this configuration's host.
    pub(crate) fn uri(&self, path: &str, query: Option<&str>) -> Result<Uri, Error> {
        let mut path_and_query =
            String::with_capacity(self.prefix.len() + path.len() + query.map_or(0, |q| q.len() + 1));
        path_and_query.push_str(&self.prefix);
        path_and_query.push_str(path);
        if let Some(query) = query {
            path_and_query.push('?');
            path_and_query.push_str(query);
        }
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
            .map_err(|_| InvalidInput::new("url", Problem::Format("a valid URL")).into())
    }
}

/// Builds a [`Config`]; see there for an example.
#[derive(Clone, Debug)]
#[must_use]
pub struct ConfigBuilder {
    base_url: String,
    environment: Environment,
    square_version: Option<String>,
    user_agent_detail: Option<String>,
    max_response_bytes: usize,
}

impl ConfigBuilder {
    /// Square's production host (the default).
    pub fn production(mut self) -> Self {
        PRODUCTION_BASE_URL.clone_into(&mut self.base_url);
        self.environment = Environment::Production;
        self
    }

    /// Square's sandbox host.
    pub fn sandbox(mut self) -> Self {
        SANDBOX_BASE_URL.clone_into(&mut self.base_url);
        self.environment = Environment::Sandbox;
        self
    }

    /// Another base URL, checked by [`build`](Self::build): `https`, or `http` when the host is
    /// `localhost`, `127.0.0.0/8` or `::1`. It may carry a path prefix; no query or fragment.
    pub fn base_url(mut self, base_url: &str) -> Self {
        self.environment = match base_url.trim_end_matches('/') {
            PRODUCTION_BASE_URL => Environment::Production,
            SANDBOX_BASE_URL => Environment::Sandbox,
            _ => Environment::Custom,
        };
        base_url.clone_into(&mut self.base_url);
        self
    }

    /// The `Square-Version` to send (default [`DEFAULT_SQUARE_VERSION`]).
    pub fn square_version(mut self, version: &str) -> Self {
        self.square_version = Some(version.to_owned());
        self
    }

    /// Text appended to the `User-Agent` (at most 128 visible ASCII characters), so Square's
    /// logs can tell your application apart.
    pub fn user_agent_detail(mut self, detail: &str) -> Self {
        self.user_agent_detail = Some(detail.to_owned());
        self
    }

    /// The largest answer body accepted (default 1 MiB).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Checks everything and builds the configuration.
    pub fn build(self) -> Result<Config, Error> {
        let invalid_url = |problem| Error::from(InvalidInput::new("base_url", problem));
        let trimmed = self.base_url.trim_end_matches('/');
        let uri: Uri = trimmed.parse().map_err(|_| invalid_url(Problem::Format("an absolute http(s) URL")))?;
        let (Some(scheme), Some(authority)) = (uri.scheme().cloned(), uri.authority().cloned()) else {
            return Err(invalid_url(Problem::Format("an absolute http(s) URL")));
        };
        if uri.query().is_some() || trimmed.contains('#') {
            return Err(invalid_url(Problem::Format("a URL without query or fragment")));
        }
        if authority.as_str().contains('@') {
            return Err(invalid_url(Problem::Format("a URL without credentials")));
        }
        // `Authority` keeps a port it cannot read (`:99999`, `:`) and gives no number for it;
        // such a URL would only fail later, at connect time, in an adapter.
        let port_text = authority.as_str().len() != authority.host().len();
        if port_text && authority.port_u16().is_none_or(|port| port == 0) {
            return Err(invalid_url(Problem::Format("a URL whose port is 1 to 65535")));
        }
        if scheme == Scheme::HTTP {
            if !is_loopback(authority.host()) {
                return Err(invalid_url(Problem::Format("https, or http to a loopback host")));
            }
        } else if scheme != Scheme::HTTPS {
            return Err(invalid_url(Problem::Format("an http or https URL")));
        }
        let prefix = uri.path().trim_end_matches('/').to_owned();

        let square_version = match self.square_version {
            Some(version) => SquareVersion::new(&version)?,
            None => SquareVersion::default(),
        };

        let mut user_agent = String::from(concat!("square-oauth-rust/", env!("CARGO_PKG_VERSION")));
        if let Some(detail) = self.user_agent_detail.as_deref() {
            let chars = detail.chars().count();
            if chars > MAX_USER_AGENT_DETAIL {
                return Err(InvalidInput::new(
                    "user_agent_detail",
                    Problem::TooLong { max: MAX_USER_AGENT_DETAIL, actual: chars },
                )
                .into());
            }
            if !detail.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
                return Err(InvalidInput::new("user_agent_detail", Problem::Format("visible ASCII characters")).into());
            }
            if !detail.is_empty() {
                user_agent.push(' ');
                user_agent.push_str(detail);
            }
        }
        let user_agent = HeaderValue::from_str(&user_agent)
            .map_err(|_| InvalidInput::new("user_agent_detail", Problem::Format("visible ASCII characters")))?;

        if self.max_response_bytes == 0 {
            return Err(InvalidInput::new("max_response_bytes", Problem::Empty).into());
        }

        Ok(Config {
            environment: self.environment,
            base_url: [scheme.as_str(), "://", authority.as_str(), &prefix].concat(),
            scheme,
            authority,
            prefix,
            square_version,
            user_agent,
            max_response_bytes: self.max_response_bytes,
        })
    }
}

/// Whether `host` (as `http::uri::Authority::host` gives it) names this machine.
fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    match ipv4(bare) {
        Some(octets) => octets[0] == 127,
        None => ipv6(bare) == Some([0, 0, 0, 0, 0, 0, 0, 1]),
    }
}

// The two readers below accept exactly what `std::net::IpAddr`'s `FromStr` accepts (a test
// holds them to it). They are written out because std's parser is a general one, and 2.5 KB of
// every WebAssembly module, for the one question of whether an http URL is a loopback one.

/// A dotted-quad IPv4 address: four decimal numbers up to 255, of one to three digits, with no
/// leading zero.
fn ipv4(text: &str) -> Option<[u8; 4]> {
    let mut octets = [0u8; 4];
    let mut parts = text.split('.');
    for octet in &mut octets {
        let part = parts.next()?.as_bytes();
        if part.is_empty() || part.len() > 3 || part.len() > 1 && part[0] == b'0' {
            return None;
        }
        let mut value = 0u16;
        for &b in part {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u16::from(b - b'0');
        }
        *octet = u8::try_from(value).ok()?;
    }
    parts.next().is_none().then_some(octets)
}

/// An IPv6 address: eight groups of one to four hex digits, or fewer around one `::` that stands
/// for at least one group of zeros; the last 32 bits may be written as an IPv4 address, where
/// no `::` follows them.
fn ipv6(text: &str) -> Option<[u16; 8]> {
    let mut groups = [0u16; 8];
    // Found by bytes: `split_once("::")` would bring in the general substring searcher.
    let Some(at) = text.as_bytes().windows(2).position(|pair| pair == b"::") else {
        return (ipv6_groups(text, &mut groups)? == 8).then_some(groups);
    };
    let (head, tail) = (&text[..at], &text[at + 2..]);
    let head_len = if head.is_empty() { 0 } else { ipv6_groups(head, &mut groups)? };
    let mut back = [0u16; 8];
    let tail_len = if tail.is_empty() { 0 } else { ipv6_groups(tail, &mut back)? };
    // An IPv4 part ends the address, so it cannot stand before `::`.
    if head_len + tail_len > 7 || head.contains('.') {
        return None;
    }
    groups[8 - tail_len..].copy_from_slice(&back[..tail_len]);
    Some(groups)
}

/// Reads the colon-separated groups of `text` (the last may be an IPv4 address, two groups)
/// into `groups`, and says how many there are.
fn ipv6_groups(text: &str, groups: &mut [u16; 8]) -> Option<usize> {
    let mut count = 0;
    let mut parts = text.split(':').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() && part.contains('.') {
            let [a, b, c, d] = ipv4(part)?;
            *groups.get_mut(count)? = u16::from_be_bytes([a, b]);
            *groups.get_mut(count + 1)? = u16::from_be_bytes([c, d]);
            return Some(count + 2);
        }
        if part.is_empty() || part.len() > 4 {
            return None;
        }
        let mut value = 0u16;
        for b in part.bytes() {
            value = value << 4 | u16::from(char::from(b).to_digit(16)? as u8);
        }
        *groups.get_mut(count)? = value;
        count += 1;
    }
    Some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the readers are held to: std's parser.
    fn std_loopback(host: &str) -> bool {
        if host.eq_ignore_ascii_case("localhost") {
            return true;
        }
        let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    #[test]
    fn loopback_hosts_are_told_as_std_tells_them() {
        let cases = [
            "localhost",
            "LocalHost",
            "127.0.0.1",
            "127.255.255.254",
            "127.0.0.01",
            "127.0.0",
            "127.0.0.1.",
            "127.0.0.256",
            "128.0.0.1",
            "0127.0.0.1",
            "[::1]",
            "::1",
            "[0:0:0:0:0:0:0:1]",
            "[0::1]",
            "[::0:1]",
            "[::0001]",
            "[::00001]",
            "[::0.0.0.1]",
            "[0:0:0:0:0:0:0.0.0.1]",
            "[::1:0]",
            "[::ffff:127.0.0.1]",
            "[1::]",
            "[::]",
            "[:::1]",
            "[::1::]",
            "[0:0:0:0:0:0:0:0:1]",
            "[0:0:0:0:0:0:0::1]",
            "[0:0:0:0:0:0::1]",
            "[0.0.0.1::]",
            "[::1.]",
            "[]",
            "",
            "[127.0.0.1]",
            "example.com",
            "[::g]",
        ];
        for host in cases {
            assert_eq!(is_loopback(host), std_loopback(host), "{host}");
        }
    }

    proptest::proptest! {
        /// Both readers accept exactly what std accepts, and read the same address.
        #[test]
        fn ip_addresses_are_read_as_std_reads_them(
            text in proptest::string::string_regex(
                "(([0-9a-fA-F]{0,5}|::|[0-9]{1,4}(\\.[0-9]{1,4}){0,4}):?){0,10}|[0-9.]{0,16}|[0-9:.a-f]{0,20}",
            ).unwrap()
        ) {
            proptest::prop_assert_eq!(ipv4(&text), text.parse::<std::net::Ipv4Addr>().ok().map(|ip| ip.octets()), "{}", text);
            proptest::prop_assert_eq!(ipv6(&text), text.parse::<std::net::Ipv6Addr>().ok().map(|ip| ip.segments()), "{}", text);
            proptest::prop_assert_eq!(is_loopback(&text), std_loopback(&text), "{}", text);
        }
    }
}
