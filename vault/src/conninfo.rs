//! libpq's TLS settings that the PostgreSQL driver's connection string parser does not take:
//! `sslmode=verify-ca`, `sslmode=verify-full` and `sslrootcert`. A managed database's
//! documentation gives its connection strings with them, so they are read here and taken out
//! before the rest goes to the driver's parser, in either form the driver reads: a
//! `postgres://` URL (its query parameters) or `key=value` pairs.

use std::ops::Range;

use zeroize::Zeroizing;

use crate::store::StoreError;

/// How the server's certificate is checked, by the connection string's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verify {
    /// `verify-ca`: signed by a trusted authority, whatever host name it holds.
    Chain,
    /// `verify-full` (and this store's `require`): signed by a trusted authority, for the host
    /// connected to.
    Full,
}

/// libpq's TLS settings found in a connection string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LibpqTls {
    /// The last `sslmode` given, whatever it was.
    pub(crate) mode: Option<String>,
    /// The last `sslmode` given, if it was `verify-ca` or `verify-full` (the driver is given
    /// `require` in its place).
    pub(crate) verify: Option<Verify>,
    /// `sslrootcert`: a file of PEM certificates, or `system` for the public authorities.
    pub(crate) root_cert: Option<String>,
}

/// Splits `conninfo` into what the driver's parser reads (the same text without the settings
/// above; `sslmode=require` added when the last `sslmode` was a `verify-…` one) and those
/// settings. The text returned may hold a password: it is wiped on drop.
pub(crate) fn split(conninfo: &str) -> Result<(Zeroizing<String>, LibpqTls), StoreError> {
    let query = url_query(conninfo);
    let pairs = match query {
        Some(query) => url_pairs(conninfo, query)?,
        None => keyword_pairs(conninfo)?,
    };
    let mut found = LibpqTls::default();
    // The text of each pair, and whether it stays.
    let mut spans = Vec::with_capacity(pairs.len());
    for Pair { key, value, span } in pairs {
        let taken = match (key.as_str(), value.as_str()) {
            ("sslmode", mode) => {
                found.mode = Some(mode.to_owned());
                // A later mode overrides an earlier `verify-…` one, as in libpq.
                found.verify = match mode {
                    "verify-ca" => Some(Verify::Chain),
                    "verify-full" => Some(Verify::Full),
                    _ => None,
                };
                found.verify.is_some()
            }
            ("sslrootcert", root_cert) => {
                found.root_cert = Some(root_cert.to_owned());
                true
            }
            _ => false,
        };
        spans.push((span, taken));
    }
    let mut rest = Zeroizing::new(String::with_capacity(conninfo.len() + 16));
    match query {
        // A URL: its query rebuilt from the pairs that stay.
        Some(query) => {
            rest.push_str(&conninfo[..query]);
            let kept: Vec<&str> =
                spans.iter().filter(|(_, taken)| !taken).map(|(span, _)| &conninfo[span.clone()]).collect();
            rest.push_str(&kept.join("&"));
            if found.verify.is_some() {
                let has_query = rest.ends_with('?');
                rest.push_str(match (kept.is_empty(), has_query) {
                    (false, _) => "&sslmode=require",
                    (true, true) => "sslmode=require",
                    (true, false) => "?sslmode=require",
                });
            }
        }
        // `key=value` pairs: each taken out where it was.
        None => {
            let mut from = 0;
            for (span, _) in spans.iter().filter(|(_, taken)| *taken) {
                rest.push_str(&conninfo[from..span.start]);
                from = span.end;
            }
            rest.push_str(&conninfo[from..]);
            if found.verify.is_some() {
                rest.push_str(" sslmode=require");
            }
        }
    }
    Ok((rest, found))
}

/// One setting: its key and value as the driver reads them, and where its text is.
struct Pair {
    key: Zeroizing<String>,
    value: Zeroizing<String>,
    span: Range<usize>,
}

fn invalid(what: &str) -> StoreError {
    StoreError::msg(format!("PostgreSQL: read the connection string: {what}"))
}

/// Where a URL's query starts (after its `?`), or `None` if `conninfo` is not a URL. As the
/// driver reads it: the user and password run to the first `@`, and the query starts at the
/// first `?` after them.
fn url_query(conninfo: &str) -> Option<usize> {
    let start = ["postgres://", "postgresql://"].iter().find_map(|prefix| conninfo.strip_prefix(prefix))?;
    let start = conninfo.len() - start.len();
    let after_credentials = conninfo[start..].find('@').map_or(start, |at| start + at + 1);
    Some(conninfo[after_credentials..].find('?').map_or(conninfo.len(), |q| after_credentials + q + 1))
}

/// A URL's query parameters, percent-decoded.
fn url_pairs(conninfo: &str, query: usize) -> Result<Vec<Pair>, StoreError> {
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map(|text| Zeroizing::new(text.into_owned()))
            .map_err(|_| invalid("a query parameter is not UTF-8"))
    };
    let mut pairs = Vec::new();
    let mut at = query;
    while at < conninfo.len() {
        let end = conninfo[at..].find('&').map_or(conninfo.len(), |amp| at + amp);
        let text = &conninfo[at..end];
        let (key, value) = text.split_once('=').ok_or_else(|| invalid("a query parameter without '='"))?;
        pairs.push(Pair { key: decode(key)?, value: decode(value)?, span: at..end });
        at = end + 1;
    }
    Ok(pairs)
}

/// `key = value` pairs, values plain or in single quotes, `\` escaping the next character.
fn keyword_pairs(conninfo: &str) -> Result<Vec<Pair>, StoreError> {
    let mut pairs = Vec::new();
    let mut chars = conninfo.char_indices().peekable();
    let skip_space = |chars: &mut std::iter::Peekable<std::str::CharIndices>| {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_space(&mut chars);
        let Some(&(start, _)) = chars.peek() else { break };
        let mut key = Zeroizing::new(String::new());
        while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        skip_space(&mut chars);
        if chars.next_if(|(_, c)| *c == '=').is_none() {
            return Err(invalid("a setting without '='"));
        }
        skip_space(&mut chars);
        let quoted = chars.next_if(|(_, c)| *c == '\'').is_some();
        let mut value = Zeroizing::new(String::new());
        let mut closed = !quoted;
        while let Some(&(_, c)) = chars.peek() {
            if quoted && c == '\'' {
                chars.next();
                closed = true;
                break;
            }
            if !quoted && c.is_whitespace() {
                break;
            }
            chars.next();
            if c == '\\' {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            } else {
                value.push(c);
            }
        }
        if !closed {
            return Err(invalid("a quoted value without its closing quote"));
        }
        let end = chars.peek().map_or(conninfo.len(), |&(at, _)| at);
        pairs.push(Pair { key, value, span: start..end });
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(conninfo: &str) -> (String, LibpqTls) {
        let (rest, found) = split(conninfo).unwrap();
        (rest.to_string(), found)
    }

    #[test]
    fn urls_lose_the_libpq_settings_and_keep_everything_else() {
        let full = LibpqTls {
            mode: Some("verify-full".into()),
            verify: Some(Verify::Full),
            root_cert: Some("/etc/ca.pem".into()),
        };
        for (given, rest) in [
            (
                "postgres://u:p@db/vault?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
                "postgres://u:p@db/vault?sslmode=require",
            ),
            (
                "postgres://u:p@db/vault?sslrootcert=/etc/ca.pem&connect_timeout=5&sslmode=verify-full",
                "postgres://u:p@db/vault?connect_timeout=5&sslmode=require",
            ),
            (
                "postgresql://db/vault?application_name=x&sslmode=verify-full&sslrootcert=/etc/ca.pem&port=6432",
                "postgresql://db/vault?application_name=x&port=6432&sslmode=require",
            ),
            // A `?` in the password is the password's, not the query's.
            ("postgres://u:p?w@db?sslmode=verify-full&sslrootcert=/etc/ca.pem", "postgres://u:p?w@db?sslmode=require"),
        ] {
            assert_eq!(read(given), (rest.to_owned(), full.clone()), "{given}");
        }
        let plain = "postgres://u:p@db/vault?sslmode=require&connect_timeout=5";
        assert_eq!(read(plain), (plain.to_owned(), LibpqTls { mode: Some("require".into()), ..LibpqTls::default() }));
        assert_eq!(read("postgres://db"), ("postgres://db".to_owned(), LibpqTls::default()));
        // A later mode overrides an earlier verify-… one; the last verify-… one counts.
        let (rest, found) = read("postgres://db?sslmode=verify-full&sslmode=disable");
        assert_eq!((rest.as_str(), found.verify), ("postgres://db?sslmode=disable", None));
        let (rest, found) = read("postgres://db?sslmode=disable&sslmode=verify-ca");
        assert_eq!(
            (rest.as_str(), found.verify),
            ("postgres://db?sslmode=disable&sslmode=require", Some(Verify::Chain))
        );
        assert!(split("postgres://db?sslrootcert=%FF").is_err(), "not UTF-8");
        assert!(split("postgres://db?sslrootcert").is_err(), "no '='");
    }

    #[test]
    fn keyword_pairs_lose_the_libpq_settings_whatever_their_quoting() {
        let (rest, found) = read("host=db sslmode = verify-ca  sslrootcert='/etc/my ca\\'s.pem' dbname=vault");
        assert_eq!(rest, "host=db    dbname=vault sslmode=require");
        let chain = LibpqTls {
            mode: Some("verify-ca".into()),
            verify: Some(Verify::Chain),
            root_cert: Some("/etc/my ca's.pem".into()),
        };
        assert_eq!(found, chain);
        let (rest, found) = read("host=db password='a b\\\\' sslrootcert=system");
        assert_eq!(rest, "host=db password='a b\\\\' ");
        assert_eq!(found, LibpqTls { root_cert: Some("system".into()), ..LibpqTls::default() });
        // The rest is what the driver reads: its own parser takes it.
        let (rest, _) = read("host=db user=u sslmode=verify-full sslrootcert=/ca.pem");
        let config: postgres::Config = rest.parse().unwrap();
        assert_eq!(config.get_ssl_mode(), postgres::config::SslMode::Require);
        assert!(split("host=db sslrootcert='/unterminated").is_err());
        assert!(split("host=db sslrootcert").is_err());
    }
}
