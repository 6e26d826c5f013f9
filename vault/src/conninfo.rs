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
    /// `sslrootcert`: a file of PEM certificates, or `system` for the public authorities.
    pub(crate) root_cert: Option<String>,
}

impl LibpqTls {
    /// The check the last `sslmode` asks for, if it is `verify-ca` or `verify-full` (the
    /// driver is given `require` in its place).
    pub(crate) fn verify(&self) -> Option<Verify> {
        match self.mode.as_deref() {
            Some("verify-ca") => Some(Verify::Chain),
            Some("verify-full") => Some(Verify::Full),
            _ => None,
        }
    }
}

/// Splits `conninfo` into what the driver's parser reads and those settings: the same text,
/// with `sslrootcert` taken out and each `verify-…` mode taken out but the last, which becomes
/// `sslmode=require` where it was (so that nothing after it can undo it). The text returned may
/// hold a password: it is wiped on drop.
pub(crate) fn split(conninfo: &str) -> Result<(Zeroizing<String>, LibpqTls), StoreError> {
    let query = url_query(conninfo)?;
    let pairs = match query {
        Some(query) => url_pairs(conninfo, query)?,
        None => keyword_pairs(conninfo)?,
    };
    let mut found = LibpqTls::default();
    // What becomes of each pair's text: kept, taken out, or (the last mode, a verify one)
    // replaced by `require`.
    let mut edits = Vec::with_capacity(pairs.len());
    let mut last_mode = None;
    for (index, Pair { key, value, span }) in pairs.into_iter().enumerate() {
        let text =
            || value.as_ref().map(|text| text.to_string()).ok_or_else(|| invalid(&format!("{} is not UTF-8", *key)));
        let edit = match key.as_str() {
            // A later mode overrides an earlier one, as in libpq.
            "sslmode" => {
                found.mode = Some(text()?);
                last_mode = Some(index);
                if found.verify().is_some() { Edit::Take } else { Edit::Keep }
            }
            // Empty is unset, as in libpq.
            "sslrootcert" => {
                found.root_cert = Some(text()?).filter(|path| !path.is_empty());
                Edit::Take
            }
            _ => Edit::Keep,
        };
        edits.push((span, edit));
    }
    if let Some(index) = last_mode.filter(|_| found.verify().is_some()) {
        edits[index].1 = Edit::Require;
    }
    let mut rest = Zeroizing::new(String::with_capacity(conninfo.len() + 16));
    match query {
        // A URL: its query rebuilt from the pairs that stay.
        Some(query) => {
            rest.push_str(&conninfo[..query]);
            let mut first = true;
            for (span, edit) in &edits {
                let text = match edit {
                    Edit::Keep => &conninfo[span.clone()],
                    Edit::Require => "sslmode=require",
                    Edit::Take => continue,
                };
                if !first {
                    rest.push('&');
                }
                rest.push_str(text);
                first = false;
            }
        }
        // `key=value` pairs: each one taken out, or replaced, where it was.
        None => {
            let mut from = 0;
            for (span, edit) in &edits {
                let text = match edit {
                    Edit::Keep => continue,
                    Edit::Require => "sslmode=require",
                    Edit::Take => "",
                };
                rest.push_str(&conninfo[from..span.start]);
                rest.push_str(text);
                from = span.end;
            }
            rest.push_str(&conninfo[from..]);
        }
    }
    Ok((rest, found))
}

/// What [`split`] does with one pair's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Edit {
    Keep,
    Take,
    /// Replaced by `sslmode=require`.
    Require,
}

/// One setting: its key as the driver reads it, its value (`None`: a URL's percent-encoded
/// bytes that are not text, which the driver takes for a Unix socket's path; only the settings
/// read here must be text), and where its text is.
struct Pair {
    key: Zeroizing<String>,
    value: Option<Zeroizing<String>>,
    span: Range<usize>,
}

fn invalid(what: &str) -> StoreError {
    StoreError::msg(format!("PostgreSQL: read the connection string: {what}"))
}

/// Where a URL's query starts (after its `?`; the end when it has none), or `None` if
/// `conninfo` is not a URL. As the driver reads it: the user and password run to the first `@`,
/// and the query starts at the first `?` after them. libpq looks for that `@` only before the
/// first `/`: a URL the two would read differently (an `@` left unencoded in its path or
/// query) is refused, rather than read with its settings, TLS among them, in the wrong places.
fn url_query(conninfo: &str) -> Result<Option<usize>, StoreError> {
    let Some(rest) = ["postgres://", "postgresql://"].iter().find_map(|prefix| conninfo.strip_prefix(prefix)) else {
        return Ok(None);
    };
    let start = conninfo.len() - rest.len();
    let after_credentials = match rest.find('@') {
        Some(at) if rest.find('/').is_some_and(|slash| slash < at) => {
            return Err(invalid("an '@' after the host (write it as %40)"));
        }
        Some(at) => start + at + 1,
        None => start,
    };
    Ok(Some(conninfo[after_credentials..].find('?').map_or(conninfo.len(), |q| after_credentials + q + 1)))
}

/// A URL's query parameters, percent-decoded.
fn url_pairs(conninfo: &str, query: usize) -> Result<Vec<Pair>, StoreError> {
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text).decode_utf8().map(|text| Zeroizing::new(text.into_owned()))
    };
    let mut pairs = Vec::new();
    let mut at = query;
    while at < conninfo.len() {
        let end = conninfo[at..].find('&').map_or(conninfo.len(), |amp| at + amp);
        let text = &conninfo[at..end];
        let (key, value) = text.split_once('=').ok_or_else(|| invalid("a query parameter without '='"))?;
        let key = decode(key).map_err(|_| invalid("a query parameter's name is not UTF-8"))?;
        pairs.push(Pair { key, value: decode(value).ok(), span: at..end });
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
        // The driver stops reading at a setting with no name, whatever follows.
        if key.is_empty() {
            return Err(invalid("a setting without a name"));
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
        pairs.push(Pair { key, value: Some(value), span: start..end });
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
        let full = LibpqTls { mode: Some("verify-full".into()), root_cert: Some("/etc/ca.pem".into()) };
        assert_eq!(full.verify(), Some(Verify::Full));
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
                "postgresql://db/vault?application_name=x&sslmode=require&port=6432",
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
        assert_eq!((rest.as_str(), found.verify()), ("postgres://db?sslmode=disable", None));
        let (rest, found) = read("postgres://db?sslmode=disable&sslmode=verify-ca");
        assert_eq!(
            (rest.as_str(), found.verify()),
            ("postgres://db?sslmode=disable&sslmode=require", Some(Verify::Chain))
        );
        assert!(split("postgres://db?sslrootcert=%FF").is_err(), "not UTF-8");
        assert!(split("postgres://db?sslrootcert").is_err(), "no '='");
    }

    #[test]
    fn keyword_pairs_lose_the_libpq_settings_whatever_their_quoting() {
        let (rest, found) = read("host=db sslmode = verify-ca  sslrootcert='/etc/my ca\\'s.pem' dbname=vault");
        assert_eq!(rest, "host=db sslmode=require   dbname=vault");
        let chain = LibpqTls { mode: Some("verify-ca".into()), root_cert: Some("/etc/my ca's.pem".into()) };
        assert_eq!(found, chain);
        assert_eq!(found.verify(), Some(Verify::Chain));
        let (rest, found) = read("host=db password='a b\\\\' sslrootcert=system");
        assert_eq!(rest, "host=db password='a b\\\\' ");
        assert_eq!(found, LibpqTls { root_cert: Some("system".into()), ..LibpqTls::default() });
        // The rest is what the driver reads: its own parser takes it.
        let (rest, _) = read("host=db user=u sslmode=verify-full sslrootcert=/ca.pem");
        let config: postgres::Config = rest.parse().unwrap();
        assert_eq!(config.get_ssl_mode(), postgres::config::SslMode::Require);
        assert!(split("host=db sslrootcert='/unterminated").is_err());
        assert!(split("host=db sslrootcert").is_err());
        // The driver stops at a setting with no name: refused, not read up to there.
        assert!(split("host=db =x sslmode=verify-full").is_err());
        assert!(split("host=db sslmode=verify-full = ").is_err());
    }

    #[test]
    fn require_stays_where_the_verify_mode_was_so_nothing_after_it_changes_what_it_means() {
        // A value ending in `\` would escape an appended setting's space.
        for given in [r"host=db sslmode=verify-full password=abc\", r"host=db sslmode=verify-full password='a\\'"] {
            let original: postgres::Config = given.replace("sslmode=verify-full", "").parse().unwrap();
            let (rest, _) = split(given).unwrap();
            let read: postgres::Config = rest.parse().unwrap();
            assert_eq!(read.get_ssl_mode(), postgres::config::SslMode::Require, "{given}");
            assert_eq!(read.get_password(), original.get_password(), "{given}");
        }
        // Empty is unset.
        assert_eq!(read("host=db sslrootcert=''").1.root_cert, None);
        assert_eq!(read("postgres://db?sslrootcert=").1.root_cert, None);
    }

    #[test]
    fn a_url_is_refused_where_the_driver_and_libpq_would_read_it_differently() {
        // The driver takes everything up to this `@` for the user: the settings would vanish.
        let error = split("postgres://db.internal/vault?sslmode=verify-full&application_name=me@example").unwrap_err();
        assert!(error.to_string().contains("%40"), "{error}");
        assert!(split("postgres://db.internal/vault?application_name=me%40example&sslmode=verify-full").is_ok());
        // A value that is not text is the driver's to read (a Unix socket's path), unless it
        // is one of the settings read here.
        let (rest, _) = split("postgres:///db?host=%2Ftmp%2F%FF&sslmode=verify-full").unwrap();
        assert_eq!(rest.as_str(), "postgres:///db?host=%2Ftmp%2F%FF&sslmode=require");
        assert!(split("postgres://db?sslmode=%FF").is_err());
    }
}
