//! The configuration: where requests go, the `Square-Version` and `User-Agent` they carry, and
//! which base URLs are refused before anything is sent.

mod common;

use common::default_user_agent;
use square_oauth::{
    AccessToken, Config, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_SQUARE_VERSION, Environment, Error, InvalidInput,
    MAX_USER_AGENT_DETAIL, Operation, PRODUCTION_BASE_URL, Problem, RetrieveTokenStatus, SANDBOX_BASE_URL,
    SquareVersion,
};

fn refused(result: Result<Config, Error>) -> InvalidInput {
    match result {
        Err(Error::InvalidInput(invalid)) => invalid,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

fn status_request(config: &Config) -> http::Request<square_oauth::Body> {
    RetrieveTokenStatus::new(AccessToken::new("EAAAtoken")).build(config).unwrap()
}

#[test]
fn square_s_environments_and_their_defaults() {
    let production = Config::production();
    assert_eq!(production.environment(), Environment::Production);
    assert_eq!(production.base_url(), PRODUCTION_BASE_URL);
    assert_eq!(PRODUCTION_BASE_URL, "https://connect.squareup.com");
    assert_eq!(production.square_version().as_str(), "2026-08-19");
    assert_eq!(DEFAULT_SQUARE_VERSION, "2026-08-19");
    assert_eq!(production.user_agent(), default_user_agent());
    assert_eq!(production.max_response_bytes(), DEFAULT_MAX_RESPONSE_BYTES);
    assert_eq!(DEFAULT_MAX_RESPONSE_BYTES, 1024 * 1024);

    let sandbox = Config::sandbox();
    assert_eq!(sandbox.environment(), Environment::Sandbox);
    assert_eq!(sandbox.base_url(), SANDBOX_BASE_URL);
    assert_eq!(SANDBOX_BASE_URL, "https://connect.squareupsandbox.com");
    assert_eq!(Config::builder().sandbox().production().build().unwrap().base_url(), PRODUCTION_BASE_URL);

    // Square's own hosts given as URLs are recognised as what they are.
    assert_eq!(Config::custom("https://connect.squareup.com/").unwrap().environment(), Environment::Production);
    assert_eq!(Config::custom("https://connect.squareupsandbox.com").unwrap().environment(), Environment::Sandbox);
    assert_eq!(Config::custom("https://proxy.example.com").unwrap().environment(), Environment::Custom);
}

#[test]
fn base_urls_that_are_refused() {
    let urls = [
        "http://example.com",
        "http://connect.squareup.com",
        "http://10.0.0.1:8080",
        "http://0.0.0.0",
        "http://[::2]",
        "http://[::ffff:8.8.8.8]",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
        "https://example.com?x=1",
        "https://example.com/prefix/?x=1",
        "https://example.com/#fragment",
        "https://user@example.com",
        "https://user:password@example.com",
        "http://user@127.0.0.1",
        "ftp://example.com",
        "ws://localhost",
        "file:///etc/passwd",
        "example.com",
        "/oauth2",
        "",
        "https://",
        "https://exa mple.com",
        "HTTP://example.com",
        "http://127.0.0.1@evil.example",
        "http://[::ffff:127.0.0.1]",
        "http://127.1",
        "http://2130706433",
        "http://0x7f.0.0.1",
        "http://localhost.evil.example",
        "https://example.com:99999",
        "https://example.com:0",
        "https://example.com:",
        "http://localhost:65536",
    ];
    for url in urls {
        let invalid = refused(Config::custom(url));
        assert_eq!(invalid.field, "base_url", "{url}");
        assert!(matches!(invalid.problem, Problem::Format(_)), "{url}: {invalid:?}");
    }
    // The reasons say what is wanted.
    assert_eq!(
        refused(Config::custom("http://example.com")).to_string(),
        "`base_url` must be https, or http to a loopback host"
    );
    assert_eq!(
        refused(Config::custom("https://a@example.com")).to_string(),
        "`base_url` must be a URL without credentials"
    );
    assert_eq!(
        refused(Config::custom("https://example.com?q")).to_string(),
        "`base_url` must be a URL without query or fragment"
    );
    assert_eq!(refused(Config::custom("ftp://example.com")).to_string(), "`base_url` must be an http or https URL");
    assert_eq!(
        refused(Config::custom("https://example.com:99999")).to_string(),
        "`base_url` must be a URL whose port is 1 to 65535"
    );
}

#[test]
fn plain_http_to_this_machine_is_accepted() {
    let accepted = [
        ("http://localhost", "http://localhost"),
        ("http://LOCALHOST:8080/", "http://LOCALHOST:8080"),
        ("http://127.0.0.1:1", "http://127.0.0.1:1"),
        ("http://127.5.6.7", "http://127.5.6.7"),
        ("http://[::1]", "http://[::1]"),
        ("http://[::1]:8443/", "http://[::1]:8443"),
        ("https://example.com:8443", "https://example.com:8443"),
        ("https://[2001:db8::1]", "https://[2001:db8::1]"),
        ("HTTPS://example.com", "https://example.com"),
        ("http://localhost:65535", "http://localhost:65535"),
        ("https://example.com:1", "https://example.com:1"),
    ];
    for (url, base) in accepted {
        let config = Config::custom(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(config.environment(), Environment::Custom, "{url}");
        assert_eq!(config.base_url(), base);
        assert_eq!(status_request(&config).uri().to_string(), format!("{base}/oauth2/token/status"));
    }
}

#[test]
fn a_path_prefix_is_kept_without_its_trailing_slash() {
    let config = Config::custom("https://proxy.example.com/square/v1///").unwrap();
    assert_eq!(config.base_url(), "https://proxy.example.com/square/v1");
    assert_eq!(status_request(&config).uri(), "https://proxy.example.com/square/v1/oauth2/token/status");
}

#[test]
fn square_version_default_client_override_and_per_call_override() {
    assert_eq!(status_request(&Config::production()).headers()["square-version"], "2026-08-19");
    let config = Config::builder().square_version("2025-08-20").build().unwrap();
    assert_eq!(config.square_version().as_str(), "2025-08-20");
    assert_eq!(status_request(&config).headers()["square-version"], "2025-08-20");
    let per_call = RetrieveTokenStatus::new(AccessToken::new("EAAAtoken"))
        .square_version(SquareVersion::new("2024-03-20").unwrap())
        .build(&config)
        .unwrap();
    assert_eq!(per_call.headers()["square-version"], "2024-03-20");
    assert_eq!(per_call.headers().get_all("square-version").iter().count(), 1);
}

#[test]
fn square_versions_must_be_real_dates() {
    for bad in
        ["2025-8-20", "2025-02-30", "20250820", "2025-08-20 ", " 2025-08-20", "", "2025/08/20", "latest", "２025-08-20"]
    {
        let error = SquareVersion::new(bad).unwrap_err();
        assert!(matches!(&error, Error::InvalidInput(i) if i.field == "square_version"), "{bad:?}: {error:?}");
        let invalid = refused(Config::builder().square_version(bad).build());
        assert_eq!(invalid.field, "square_version");
    }
    let version = SquareVersion::new("2024-02-29").unwrap();
    assert_eq!(version.to_string(), "2024-02-29");
    assert_eq!(format!("{version:?}"), "SquareVersion(2024-02-29)");
    assert_eq!(SquareVersion::default().as_str(), DEFAULT_SQUARE_VERSION);
}

#[test]
fn user_agent_detail_is_appended() {
    let config = Config::builder().user_agent_detail("my-app/1.2 (build 7)").build().unwrap();
    let expected = format!("{} my-app/1.2 (build 7)", default_user_agent());
    assert_eq!(config.user_agent(), expected);
    assert_eq!(status_request(&config).headers()["user-agent"], expected.as_str());
    // An empty detail adds nothing.
    assert_eq!(Config::builder().user_agent_detail("").build().unwrap().user_agent(), default_user_agent());
    assert!(default_user_agent().starts_with("square-oauth-rust/"));
}

#[test]
fn user_agent_detail_is_at_most_128_visible_ascii_characters() {
    assert_eq!(MAX_USER_AGENT_DETAIL, 128);
    let longest = "d".repeat(128);
    let config = Config::builder().user_agent_detail(&longest).build().unwrap();
    assert!(config.user_agent().ends_with(&format!(" {longest}")));

    let invalid = refused(Config::builder().user_agent_detail(&"d".repeat(129)).build());
    assert_eq!(
        invalid,
        InvalidInput { field: "user_agent_detail", problem: Problem::TooLong { max: 128, actual: 129 } }
    );
    for bad in ["tab\there", "new\nline", "ünïcode", "nul\0", "del\u{7f}"] {
        let invalid = refused(Config::builder().user_agent_detail(bad).build());
        assert_eq!(invalid.field, "user_agent_detail", "{bad:?}");
        assert!(matches!(invalid.problem, Problem::Format(_)), "{bad:?}");
    }
}

#[test]
fn the_response_cap_is_configurable_but_not_zero() {
    assert_eq!(Config::builder().max_response_bytes(10).build().unwrap().max_response_bytes(), 10);
    let invalid = refused(Config::builder().max_response_bytes(0).build());
    assert_eq!((invalid.field, invalid.problem), ("max_response_bytes", Problem::Empty));
}

#[test]
fn a_config_is_cheap_to_clone_and_prints_without_surprises() {
    let config = Config::builder().sandbox().user_agent_detail("x").build().unwrap();
    let copy = config.clone();
    assert_eq!(copy.base_url(), config.base_url());
    assert_eq!(copy.user_agent(), config.user_agent());
    let debug = format!("{config:?}");
    assert!(debug.contains("connect.squareupsandbox.com") && debug.contains("2026-08-19"), "{debug}");
}
