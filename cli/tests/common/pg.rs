//! The PostgreSQL side of the CLI's harness, as in the vault's own tests: the test database
//! comes from `SQUARE_VAULT_TEST_DATABASE_URL` (a `postgres://` URL of a developer's own), else
//! from the libpq variables `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE` (which
//! `pg_virtualenv` sets, see `scripts/pg-test`). In CI (`CI=true`) a test with neither fails;
//! elsewhere it prints a notice and passes without running. Each test gets a schema of its own.

use postgres::{Client, NoTls};

/// The URL of the test database (the CLI takes URLs only), if one was given.
fn base() -> Option<String> {
    if let Ok(url) = std::env::var("SQUARE_VAULT_TEST_DATABASE_URL")
        && !url.is_empty()
    {
        assert!(
            url.starts_with("postgres://") || url.starts_with("postgresql://"),
            "the CLI's tests need SQUARE_VAULT_TEST_DATABASE_URL as a postgres:// URL"
        );
        return Some(url);
    }
    if std::env::var_os("PGHOST").is_none() && std::env::var_os("PGPORT").is_none() {
        return None;
    }
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut url = "postgres://".to_owned();
    if let Some(user) = var("PGUSER") {
        url.push_str(&encode(&user));
        if let Some(password) = var("PGPASSWORD") {
            url.push(':');
            url.push_str(&encode(&password));
        }
        url.push('@');
    }
    url.push_str(&encode(&var("PGHOST").unwrap_or_else(|| "localhost".to_owned())));
    if let Some(port) = var("PGPORT") {
        url.push(':');
        url.push_str(&port);
    }
    if let Some(dbname) = var("PGDATABASE") {
        url.push('/');
        url.push_str(&encode(&dbname));
    }
    Some(url)
}

/// Percent-encodes all but the unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A schema of its own in the test database, dropped at the end.
pub struct PgDb {
    /// The URL, with the schema as the search path.
    pub url: String,
    /// The password in the URL, if any: no output may show it.
    pub password: Option<String>,
    base: String,
    schema: String,
}

impl PgDb {
    /// A fresh schema named after the test; `None` (after a printed notice) when no database
    /// was given outside CI.
    pub fn new(name: &str) -> Option<PgDb> {
        let Some(base) = base() else {
            assert!(
                !in_ci(),
                "no PostgreSQL for the CLI's tests: set SQUARE_VAULT_TEST_DATABASE_URL or run them under scripts/pg-test"
            );
            eprintln!("NOTICE: no PostgreSQL given (SQUARE_VAULT_TEST_DATABASE_URL, PGHOST): {name} not run");
            return None;
        };
        let schema = format!("sqcli_{name}_{}", std::process::id());
        let mut admin =
            Client::connect(&base, NoTls).expect("the test database (SQUARE_VAULT_TEST_DATABASE_URL or PG*) answers");
        admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
            .expect("a test schema");
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        let password = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty() && base.contains(&encode(p)));
        Some(PgDb { url, password, base, schema })
    }

    /// The URL with `password` in place of the real one (or added, when there is none).
    pub fn with_password(&self, password: &str) -> String {
        let (scheme, rest) = self.url.split_once("://").expect("a URL");
        let (userinfo, host) = rest.split_once('@').unwrap_or(("", rest));
        let user = userinfo.split(':').next().unwrap_or_default();
        let user = if user.is_empty() { "postgres" } else { user };
        format!("{scheme}://{user}:{}@{host}", encode(password))
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(&self.base, NoTls) {
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}
