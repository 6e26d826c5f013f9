//! Where the vault commands keep their sellers: a SQLite file, or a PostgreSQL database that a
//! fleet of machines shares.
//!
//! `--store`, else `SQUARE_STORE`, else `vault.sqlite` in the data directory
//! (`$XDG_DATA_HOME/square-oauth`, else `~/.local/share/square-oauth`). A value that starts
//! with `postgres://` or `postgresql://` is a PostgreSQL connection URL (feature `postgres`, on
//! by default); anything else is a file path. A URL may carry a password: it is held apart and
//! never shown, not in `Debug`, not in an error, not in `--json`; a store is described by its
//! host and database alone.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use square_oauth_vault::{Key, Keyring, SqliteStore, Store};
use zeroize::Zeroizing;

use crate::context::{env, local};
use crate::failure::Failure;

/// The version the SQLite store's schema is at: it has had one, created when a file is opened.
const SQLITE_SCHEMA_VERSION: u32 = 1;

/// Keys that open a vault's older rows and seal nothing: base64, separated by commas.
const OLDER_KEYS_ENV: &str = "SQUARE_VAULT_OLDER_KEYS";

/// A vault store, as the command line or the environment names it.
#[derive(Clone, Debug)]
pub(crate) enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(PgUrl),
}

/// A PostgreSQL connection URL; its `Debug` and [`PgUrl::describe`] leave out the password
/// (and everything else but the host, port, user and database).
#[derive(Clone)]
pub(crate) struct PgUrl(Zeroizing<String>);

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgUrl({})", self.describe())
    }
}

impl PgUrl {
    /// The URL, for the driver only.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    fn expose(&self) -> &str {
        &self.0
    }

    /// `postgres://USER@HOST:PORT/DATABASE`, rebuilt from what the driver reads: never the
    /// text given, which may hold a password in several places (userinfo, `?password=`).
    #[cfg(feature = "postgres")]
    pub(crate) fn describe(&self) -> String {
        let Ok(config) = square_oauth_vault::postgres::config(self.expose()) else {
            return "postgres://… (a URL that cannot be read)".to_owned();
        };
        let mut out = "postgres://".to_owned();
        if let Some(user) = config.get_user() {
            out.push_str(user);
            out.push('@');
        }
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let name = match host {
                    postgres::config::Host::Tcp(name) => name.clone(),
                    postgres::config::Host::Unix(path) => path.display().to_string(),
                };
                match config.get_ports().get(i).or_else(|| config.get_ports().first()) {
                    Some(port) => format!("{name}:{port}"),
                    None => name,
                }
            })
            .collect();
        out.push_str(&hosts.join(","));
        if let Some(dbname) = config.get_dbname() {
            out.push('/');
            out.push_str(dbname);
        }
        out
    }

    /// Without the driver nothing is read: only the scheme is shown.
    #[cfg(not(feature = "postgres"))]
    pub(crate) fn describe(&self) -> String {
        "postgres://…".to_owned()
    }
}

/// The keyring of a vault whose key is `key`: with the keys `SQUARE_VAULT_OLDER_KEYS` names
/// (base64, separated by commas), which open what they sealed and seal nothing, so that a
/// fleet given a new key still reads, refreshes and `rotate-key` re-seals the rows of the
/// old one.
pub(crate) fn keyring(key: Key) -> Result<Keyring, Failure> {
    let Some(older) = env(OLDER_KEYS_ENV).map(Zeroizing::new) else { return Ok(Keyring::new(key)) };
    older.split(',').map(str::trim).filter(|k| !k.is_empty()).try_fold(Keyring::new(key), |keys, older| {
        // The value is a secret: the error says which variable, not what it holds.
        let older = Key::from_base64(older)
            .map_err(|_| Failure::usage(format!("{OLDER_KEYS_ENV}: each key must be base64 of 32 bytes")))?;
        Ok(keys.with_older(older))
    })
}

impl Location {
    /// Reads a `--store` or `SQUARE_STORE` value: a `postgres://` (or `postgresql://`) URL, any
    /// other `scheme://…` refused (naming the scheme alone: the rest may hold a password), else
    /// a file path.
    pub(crate) fn parse(value: OsString) -> Result<Location, String> {
        let Some(text) = value.to_str() else { return Ok(Location::Sqlite(PathBuf::from(value))) };
        let scheme = text.split_once("://").map(|(scheme, _)| scheme).filter(|scheme| {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        });
        match scheme {
            Some("postgres" | "postgresql") => Ok(Location::Postgres(PgUrl(Zeroizing::new(text.to_owned())))),
            Some(scheme) => {
                Err(format!("a store is a file path or a URL starting postgres:// or postgresql://, not {scheme}://…"))
            }
            None => Ok(Location::Sqlite(PathBuf::from(value))),
        }
    }

    /// The flag, `SQUARE_STORE`, then the data directory.
    pub(crate) fn resolve(flag: Option<&Location>) -> Result<Location, Failure> {
        if let Some(location) = flag {
            return Ok(location.clone());
        }
        if let Some(value) = store_env() {
            return Location::parse(value).map_err(|why| Failure::usage(format!("SQUARE_STORE: {why}")));
        }
        Ok(Location::Sqlite(data_dir()?.join("vault.sqlite")))
    }

    /// Whether the flag or `SQUARE_STORE` names a store (rather than the default one).
    pub(crate) fn named(flag: Option<&Location>) -> bool {
        flag.is_some() || store_env().is_some()
    }

    /// The file's path, or the database without its password: what messages show.
    pub(crate) fn describe(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => url.describe(),
        }
    }

    /// The vault's key: `SQUARE_VAULT_KEY`, else the key file `vault.key` beside a SQLite file,
    /// or in the data directory for a database (every machine of a fleet needs the same key:
    /// give it to them through `SQUARE_VAULT_KEY`). A key file is made only for a vault that
    /// holds no seller yet: one that holds sellers and has no key here was sealed with a key
    /// kept elsewhere, and a new one would seal the next rows with a key the others lack.
    pub(crate) fn key_and_store(&self) -> Result<(Key, Arc<dyn Store>), Failure> {
        if env(square_oauth_vault::seal::KEY_ENV).is_none() {
            return self.key_file_and_store();
        }
        let key = Key::from_env(square_oauth_vault::seal::KEY_ENV).map_err(|e| Failure::usage(e.to_string()))?;
        Ok((key, self.open()?))
    }

    /// [`key_and_store`](Self::key_and_store) with the key in its file.
    fn key_file_and_store(&self) -> Result<(Key, Arc<dyn Store>), Failure> {
        let file = self.key_file()?;
        let make = || Key::from_file_or_create(&file).map_err(|e| local(e.to_string()));
        let key = if file.exists() {
            Some(Key::from_file(&file).map_err(|e| local(e.to_string()))?)
        } else if matches!(self, Location::Sqlite(path) if !path.exists()) {
            // The key first for a new SQLite file: no file is created for a vault that could
            // never be opened.
            Some(make()?)
        } else {
            None
        };
        if let Some(key) = key {
            return Ok((key, self.open()?));
        }
        let store = self.open()?;
        if !store.records().map_err(|e| self.failed(&e))?.is_empty() {
            return Err(Failure::usage(format!(
                "the vault {} holds sellers, and there is no key for it here: set SQUARE_VAULT_KEY, or put its \
                 key file at {}",
                self.describe(),
                file.display()
            )));
        }
        Ok((make()?, store))
    }

    /// Where the key file is (its directory made).
    pub(crate) fn key_file(&self) -> Result<PathBuf, Failure> {
        Ok(match self {
            Location::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                    create_dir(dir)?;
                }
                path.with_file_name("vault.key")
            }
            Location::Postgres(_) => {
                let dir = data_dir().map_err(|_| {
                    Failure::usage("no key for a PostgreSQL vault: set SQUARE_VAULT_KEY (or HOME, for a key file)")
                })?;
                create_dir(&dir)?;
                dir.join("vault.key")
            }
        })
    }

    /// Opens the store, creating a SQLite file's directory and bringing a database's schema up
    /// to date.
    pub(crate) fn open(&self) -> Result<Arc<dyn Store>, Failure> {
        match self {
            Location::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                    create_dir(dir)?;
                }
                let store = SqliteStore::open(path).map_err(|e| self.failed(&e))?;
                Ok(Arc::new(store))
            }
            #[cfg(feature = "postgres")]
            Location::Postgres(url) => {
                let store = square_oauth_vault::PostgresStore::open(url.expose()).map_err(|e| self.failed(&e))?;
                Ok(Arc::new(store))
            }
            #[cfg(not(feature = "postgres"))]
            Location::Postgres(_) => Err(no_postgres()),
        }
    }

    /// Runs the store's migrations; the version its schema is at.
    pub(crate) fn migrate(&self) -> Result<u32, Failure> {
        match self {
            Location::Sqlite(_) => {
                self.open()?;
                Ok(SQLITE_SCHEMA_VERSION)
            }
            #[cfg(feature = "postgres")]
            Location::Postgres(url) => square_oauth_vault::postgres::migrate(url.expose()).map_err(|e| self.failed(&e)),
            #[cfg(not(feature = "postgres"))]
            Location::Postgres(_) => Err(no_postgres()),
        }
    }

    /// The store's name, for `--json`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Location::Sqlite(_) => "sqlite",
            Location::Postgres(_) => "postgres",
        }
    }

    /// A store that failed to open: where (without a password) and why, with every cause.
    fn failed(&self, error: &(dyn std::error::Error + 'static)) -> Failure {
        local(format!("{}: {}", self.describe(), chain(error)))
    }
}

#[cfg(not(feature = "postgres"))]
fn no_postgres() -> Failure {
    Failure::usage("this square-oauth was built without PostgreSQL support (the `postgres` feature)")
}

/// An error and its causes, `: `-separated.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.ends_with(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

fn data_dir() -> Result<PathBuf, Failure> {
    let data = env("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".local/share")))
        .ok_or_else(|| Failure::usage("no data directory: pass --store, or set SQUARE_STORE or HOME"))?;
    Ok(data.join("square-oauth"))
}

/// `SQUARE_STORE`, when set to something.
fn store_env() -> Option<OsString> {
    std::env::var_os("SQUARE_STORE").filter(|v| !v.to_string_lossy().trim().is_empty())
}

fn create_dir(dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir).map_err(|e| local(format!("{}: {e}", dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_selects_the_database_and_a_path_a_file() {
        for url in ["postgres://u@db/x", "postgresql://db/x"] {
            assert!(matches!(Location::parse(url.into()), Ok(Location::Postgres(_))), "{url}");
        }
        for path in ["vault.sqlite", "/var/lib/vault.sqlite", "postgres.sqlite", "./a://b"] {
            assert!(matches!(Location::parse(path.into()), Ok(Location::Sqlite(_))), "{path}");
        }
    }

    #[test]
    fn another_scheme_is_refused_naming_the_scheme_alone() {
        for url in ["mysql://u:SENTINEL-pw@db/x", "pg://u:SENTINEL-pw@db/x", "POSTGRES://u:SENTINEL-pw@db/x"] {
            let refused = Location::parse(url.into()).expect_err(url);
            assert!(!refused.contains("SENTINEL"), "{refused}");
            let scheme = url.split("://").next().unwrap();
            assert!(refused.contains(&format!("not {scheme}://…")), "{refused}");
        }
    }

    #[test]
    fn a_password_in_the_url_shows_nowhere() {
        for url in [
            "postgres://vault:SENTINEL-pw@db.internal:5433/market",
            "postgresql://vault@db.internal/market?password=SENTINEL-pw",
            "postgres://vault:SENTINEL-pw@db.internal/market?sslmode=disable&password=SENTINEL-pw",
            "postgres://vault:SENTINEL-pw@[::1",
        ] {
            let location = Location::parse(url.into()).unwrap();
            let shown = [location.describe(), format!("{location:?}")];
            for text in shown {
                assert!(!text.contains("SENTINEL"), "{text}");
                assert!(text.starts_with("postgres://") || text.contains("PgUrl(postgres://"), "{text}");
            }
        }
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn a_database_is_described_by_its_user_host_port_and_name() {
        let location = Location::parse("postgres://vault:pw@db.internal:5433/market?sslmode=disable".into()).unwrap();
        assert_eq!(location.describe(), "postgres://vault@db.internal:5433/market");
        // libpq's TLS settings, which the driver's own parser refuses, are read too.
        let managed = "postgres://vault:pw@db.internal/market?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem";
        assert_eq!(Location::parse(managed.into()).unwrap().describe(), "postgres://vault@db.internal:5432/market");
    }
}
