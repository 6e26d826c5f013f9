//! The harness every CLI test shares: a fake Square in the test, the `square-oauth` binary run
//! as a process against it, and a scripted browser.
#![allow(dead_code, unreachable_pub)]

#[cfg(feature = "postgres")]
pub mod pg;

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use square_oauth::jiff::Timestamp;
use square_oauth::{
    AuthorizeUrl, ClientId, ClientSecret, CodeVerifier, Config, ObtainToken, ObtainTokenResponse, Operation, State,
    parse_callback,
};
use square_oauth::{Flow, TokenSet};
use square_oauth_mock::{App, MockConfig, MockSquare};

pub const CLIENT_ID: &str = "sq0idp-CliTestApplication";
/// The client secret every test uses: it must never appear in any output without `--show-secrets`.
pub const SENTINEL: &str = "sq0csp-SENTINEL-7f3a9c1e5b2d4f6a8c0e";
pub const MERCHANT: &str = "MLCLITEST0001";

/// The environment variables the binary reads, removed so the host's never leak in.
pub const SQUARE_VARS: &[&str] = &[
    "SQUARE_CLIENT_ID",
    "SQUARE_CLIENT_SECRET",
    "SQUARE_ACCESS_TOKEN",
    "SQUARE_ENVIRONMENT",
    "SQUARE_BASE_URL",
    "SQUARE_VERSION",
    "SQUARE_REDIRECT_URL",
    "SQUARE_STORE",
    "SQUARE_VAULT_KEY",
];

/// A fake Square with the test application, whose redirect URL is the CLI's loopback callback
/// on `redirect_port`.
pub struct Fixture {
    pub square: MockSquare,
    pub redirect_port: u16,
    pub dir: tempfile::TempDir,
    /// `XDG_DATA_HOME` and `HOME` of every command the fixture runs: its default vault lives
    /// here, never in the user's own data directory.
    pub home: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        let redirect_port = free_port();
        let redirect = format!("http://localhost:{redirect_port}/callback");
        let square = MockSquare::start(
            MockConfig::new()
                .app(App::new(CLIENT_ID, SENTINEL, &[&redirect, "https://app.example/callback"]))
                .seller(MERCHANT),
        )
        .expect("the fake Square starts");
        let dir = tempfile::tempdir().expect("a temporary directory");
        Self { square, redirect_port, dir, home: tempfile::tempdir().expect("a temporary directory") }
    }

    pub fn base_url(&self) -> String {
        self.square.base_url()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `square-oauth --base-url <fake> ARGS…`, with no SQUARE_* variable from the host.
    pub fn cli(&self) -> Cli {
        Cli::new().home(self.home.path()).args(["--base-url", &self.base_url()])
    }

    /// The default vault of the fixture's commands.
    pub fn default_store(&self) -> PathBuf {
        self.home.path().join("square-oauth").join("vault.sqlite")
    }

    fn config(&self) -> Config {
        Config::custom(&self.base_url()).unwrap()
    }

    fn exchange(&self, operation: ObtainToken) -> ObtainTokenResponse {
        send(&self.config(), &operation).expect("the exchange succeeds")
    }

    /// A code-flow token set obtained without the CLI (through the core and ureq).
    pub fn code_flow_tokens(&self) -> TokenSet {
        let state = State::new("state-for-tests");
        let url = AuthorizeUrl::new(ClientId::new(CLIENT_ID))
            .state(&state)
            .redirect_uri("https://app.example/callback")
            .build(&self.config())
            .unwrap();
        let code = parse_callback(&self.square.approve(&url, None).unwrap(), &state).unwrap();
        let answer = self.exchange(
            ObtainToken::authorization_code(ClientId::new(CLIENT_ID), ClientSecret::new(SENTINEL), code)
                .redirect_uri("https://app.example/callback"),
        );
        TokenSet::from_response(Flow::CodeFlow, ClientId::new(CLIENT_ID), answer, Timestamp::now()).unwrap()
    }

    /// A PKCE token set obtained without the CLI.
    pub fn pkce_tokens(&self) -> TokenSet {
        self.pkce_tokens_obtained(Timestamp::now())
    }

    /// A PKCE token set obtained without the CLI, recorded as obtained at `at` (in the past: due).
    pub fn pkce_tokens_obtained(&self, at: Timestamp) -> TokenSet {
        let state = State::new("state-for-tests");
        let verifier = CodeVerifier::from_entropy([42; 32]);
        let url = AuthorizeUrl::new(ClientId::new(CLIENT_ID))
            .state(&state)
            .code_challenge(&verifier.challenge())
            .redirect_uri("https://app.example/callback")
            .build(&self.config())
            .unwrap();
        let code = parse_callback(&self.square.approve(&url, None).unwrap(), &state).unwrap();
        let answer = self.exchange(
            ObtainToken::pkce(ClientId::new(CLIENT_ID), code, verifier).redirect_uri("https://app.example/callback"),
        );
        TokenSet::from_response(Flow::Pkce, ClientId::new(CLIENT_ID), answer, at).unwrap()
    }

    /// Writes a token file as `login --out` would.
    pub fn token_file(&self, name: &str, set: &TokenSet) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, serde_json::to_vec_pretty(&set.with_secrets()).unwrap()).unwrap();
        path
    }
}

/// Sends one operation with ureq, as a test's own client.
pub fn send<O: Operation>(config: &Config, operation: &O) -> Result<O::Output, square_oauth::Error> {
    let request = operation.build(config)?;
    let (parts, body) = request.into_parts();
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let mut response =
        agent.run(square_oauth::http::Request::from_parts(parts, body.expose_secret().to_vec())).unwrap();
    let bytes = response.body_mut().read_to_vec().unwrap();
    let (parts, _) = response.into_parts();
    operation.parse(config, square_oauth::http::Response::from_parts(parts, bytes))
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A command line for the binary.
pub struct Cli {
    command: Command,
    /// The home a command gets unless given one: removed after the run.
    _home: Option<tempfile::TempDir>,
}

impl Cli {
    pub fn new() -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_square-oauth"));
        for var in SQUARE_VARS {
            command.env_remove(var);
        }
        command.env("NO_COLOR", "1").stdin(Stdio::null());
        let home = tempfile::tempdir().expect("a temporary directory");
        Self { command, _home: None }.home(home.path()).with_home(home)
    }

    /// Runs with `XDG_DATA_HOME` and `HOME` here.
    pub fn home(mut self, dir: &Path) -> Self {
        self.command.env("XDG_DATA_HOME", dir).env("HOME", dir);
        self
    }

    fn with_home(mut self, home: tempfile::TempDir) -> Self {
        self._home = Some(home);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(mut self, args: I) -> Self {
        self.command.args(args);
        self
    }

    pub fn arg(self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.args([arg])
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.command.env(name, value);
        self
    }

    /// Runs to the end.
    pub fn run(mut self) -> Run {
        Run::from(self.command.output().expect("the binary runs"))
    }

    /// Runs with a scripted browser: `browser` gets the authorize URL the CLI prints on
    /// standard error, while the CLI waits.
    pub fn run_with_browser(mut self, browser: impl FnOnce(&str) + Send) -> Run {
        let mut child = self.command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary runs");
        let stderr = child.stderr.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (out, err) = std::thread::scope(|scope| {
            let out = scope.spawn(move || {
                let mut text = String::new();
                stdout.read_to_string(&mut text).unwrap();
                text
            });
            let err = scope.spawn(move || {
                let mut browser = Some(browser);
                let mut text = String::new();
                for line in BufReader::new(stderr).lines() {
                    let line = line.unwrap();
                    text.push_str(&line);
                    text.push('\n');
                    let trimmed = line.trim();
                    if trimmed.starts_with("http")
                        && trimmed.contains("/oauth2/authorize?")
                        && let Some(browser) = browser.take()
                    {
                        browser(trimmed);
                    }
                }
                text
            });
            (out.join().unwrap(), err.join().unwrap())
        });
        let status = child.wait().unwrap();
        Run { code: status.code(), stdout: out, stderr: err }
    }
}

impl Cli {
    /// Runs `login` in paste mode: `browser` gets the authorize URL the CLI prints on standard
    /// error and returns the address the browser landed on, which is written to the CLI's
    /// standard input as one line, as a user pastes it.
    pub fn run_pasting(mut self, browser: impl FnOnce(&str) -> String + Send) -> Run {
        let mut child = self
            .command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let mut stdin = child.stdin.take();
        let stderr = child.stderr.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (out, err) = std::thread::scope(|scope| {
            let out = scope.spawn(move || {
                let mut text = String::new();
                stdout.read_to_string(&mut text).unwrap();
                text
            });
            let err = scope.spawn(move || {
                let mut browser = Some(browser);
                let mut text = String::new();
                for line in BufReader::new(stderr).lines() {
                    let line = line.unwrap();
                    text.push_str(&line);
                    text.push('\n');
                    let trimmed = line.trim();
                    if trimmed.starts_with("http")
                        && trimmed.contains("/oauth2/authorize?")
                        && let Some(browser) = browser.take()
                    {
                        let landed = browser(trimmed);
                        let mut input = stdin.take().expect("standard input is written once");
                        use std::io::Write as _;
                        // The CLI may already have given up; its exit code tells.
                        let _ = writeln!(input, "{landed}");
                    }
                }
                text
            });
            (out.join().unwrap(), err.join().unwrap())
        });
        let status = child.wait().unwrap();
        Run { code: status.code(), stdout: out, stderr: err }
    }
}

/// What a run left behind.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }
}

impl Run {
    /// Asserts the exit code, showing both outputs when it differs.
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(self.code, Some(expected), "exit code\n--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr);
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }

    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Asserts that none of `secrets` appears in either output.
    pub fn leaks_none(&self, secrets: &[&str]) -> &Self {
        for secret in secrets {
            assert!(!secret.is_empty());
            assert!(!self.stdout.contains(secret), "a secret leaked on stdout:\n{}", self.stdout);
            assert!(!self.stderr.contains(secret), "a secret leaked on stderr:\n{}", self.stderr);
        }
        self
    }
}

/// The scripted browser: approves on the fake (what pressing Allow does) and follows the
/// redirect to the CLI's loopback callback, on 127.0.0.1. Returns the callback's status.
pub fn approve_and_follow(square: &MockSquare, authorize_url: &str) -> u16 {
    let redirect = square.approve(authorize_url, None).expect("the fake approves");
    get(&redirect)
}

/// `GET url` with `localhost` as 127.0.0.1; the status.
pub fn get(url: &str) -> u16 {
    let url = url.replace("://localhost:", "://127.0.0.1:");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    agent.get(&url).call().map(|r| r.status().as_u16()).unwrap_or(0)
}

/// The value of a query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// A token file's mode.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
