//! `square-oauth demo`: every flow against a fake Square started in this process, one step per
//! paragraph, showing what was sent and what came back with the secrets masked.
//!
//! The demo carries requests itself, the sans-IO way, so that it can show them: the core
//! builds each `http::Request` (printed here), ureq sends it, the answer's status and body are
//! printed, and the core parses them. The other commands send through `square-oauth-ureq`,
//! which does the same with retries and a size cap, and prints nothing.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use serde_json::{Value, json};
use square_oauth::http::{self, Response};
use square_oauth::jiff::Timestamp;
use square_oauth::{
    AuthorizeUrl, ClientId, ClientSecret, CodeVerifier, Config, ErrorCode, MerchantId, ObtainToken, Operation,
    RetrieveTokenStatus, RevokeToken, Scope, State, parse_callback,
};
use square_oauth::{Flow, TokenSet};
use square_oauth_mock::{App, MockConfig, MockSquare};

use crate::context::{Context, local};
use crate::failure::{Exit, Failure};
use crate::mask::{Reveal, mask_url};
use crate::tokenfile;

const CLIENT_ID: &str = "sq0idp-DemoApplication0001";
const CLIENT_SECRET: &str = "sq0csp-demo-application-secret-not-for-production";
const REDIRECT_URL: &str = "https://app.example/oauth/callback";
const MERCHANT: &str = "MLR0X4N3A6XK9";

/// Runs `demo`.
pub(crate) fn run(cx: &Context) -> Result<(), Failure> {
    let square =
        MockSquare::start(MockConfig::new().app(App::new(CLIENT_ID, CLIENT_SECRET, &[REDIRECT_URL])).seller(MERCHANT))
            .map_err(|e| local(format!("cannot start the fake Square: {e}")))?;
    let config = Config::builder()
        .base_url(&square.base_url())
        .user_agent_detail(concat!("square-oauth-cli/", env!("CARGO_PKG_VERSION"), " demo"))
        .build()
        .map_err(|e| Failure::from_core(&e, None))?;
    let mut demo = Demo::new(cx, config, &square);
    let result = demo.walk();
    demo.flush();
    let summary = result?;
    cx.emit_json(&json!({ "ok": true, "steps": demo.step, "requests": demo.requests, "summary": summary }));
    Ok(())
}

/// The state of the walk-through: where requests go, what has been printed.
struct Demo<'a> {
    config: Config,
    square: &'a MockSquare,
    agent: ureq::Agent,
    reveal: Reveal,
    /// Prose goes to standard output, or to standard error with `--json`.
    to_stderr: bool,
    text: String,
    step: usize,
    requests: usize,
}

/// What came back from one request: the parsed value or the core's error.
type Answer<T> = Result<T, square_oauth::Error>;

impl<'a> Demo<'a> {
    fn new(cx: &Context, config: Config, square: &'a MockSquare) -> Self {
        let agent = ureq::Agent::config_builder()
            // The embedded fake is on this machine: never through a proxy the environment names.
            .proxy(None)
            .timeout_global(Some(cx.global.timeout.min(Duration::from_secs(30))))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .build()
            .into();
        Self {
            config,
            square,
            agent,
            reveal: cx.reveal,
            to_stderr: cx.global.json,
            text: String::new(),
            step: 0,
            requests: 0,
        }
    }

    fn line(&mut self, text: &str) {
        self.text.push_str(text);
        self.text.push('\n');
        // One write per paragraph keeps the output in order even if the process dies midway.
        if text.is_empty() {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.to_stderr {
            let _ = std::io::stderr().lock().write_all(self.text.as_bytes());
        } else {
            let _ = std::io::stdout().lock().write_all(self.text.as_bytes());
        }
        self.text.clear();
    }

    /// `N. title  →  detail`
    fn step(&mut self, title: &str, detail: &str) {
        self.step += 1;
        let heading = if detail.is_empty() {
            format!("{}. {title}", self.step)
        } else {
            format!("{}. {title}  →  {detail}", self.step)
        };
        self.line(&heading);
    }

    fn note(&mut self, text: &str) {
        self.line(&format!("   {text}"));
    }

    fn secret(&self, value: &str) -> String {
        self.reveal.secret(value)
    }

    /// Builds, shows, sends, shows and parses one operation.
    fn call<O: Operation>(&mut self, operation: &O) -> Result<Answer<O::Output>, Failure> {
        let request = operation.build(&self.config).map_err(|e| Failure::from_core(&e, None))?;
        self.requests += 1;
        let mut shown = format!("   sent      {} {}\n", request.method(), request.uri());
        for (name, value) in request.headers() {
            let text = value.to_str().unwrap_or("(not text)");
            let text = if name == http::header::AUTHORIZATION {
                match text.split_once(' ') {
                    Some((scheme, credential)) => format!("{scheme} {}", self.secret(credential)),
                    None => self.secret(text),
                }
            } else {
                text.to_owned()
            };
            let _ = writeln!(shown, "             {name}: {text}");
        }
        if !request.body().is_empty() {
            let body: Value = serde_json::from_slice(request.body().expose_secret()).unwrap_or(Value::Null);
            indent_json(&mut shown, &self.reveal.json(body));
        }

        let (parts, body) = request.into_parts();
        let sendable = http::Request::from_parts(parts, body.expose_secret().to_vec());
        let mut response = self.agent.run(sendable).map_err(|e| match e {
            ureq::Error::Timeout(_) => Failure::new(Exit::Transport, "the fake Square did not answer in time"),
            other => Failure::new(Exit::Transport, format!("cannot reach the fake Square: {other}")),
        })?;
        let bytes = response
            .body_mut()
            .with_config()
            .limit(self.config.max_response_bytes() as u64)
            .read_to_vec()
            .map_err(|e| Failure::new(Exit::Transport, format!("cannot read the fake Square's answer: {e}")))?;
        let (parts, _) = response.into_parts();
        let status = parts.status;
        let _ = write!(shown, "   received  {} {}", status.as_u16(), status.canonical_reason().unwrap_or(""));
        if let Some(version) = parts.headers.get(square_oauth::SQUARE_VERSION_HEADER).and_then(|v| v.to_str().ok()) {
            let _ = write!(shown, "  (Square-Version {version})");
        }
        shown.push('\n');
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => indent_json(&mut shown, &self.reveal.json(value)),
            Err(_) => {
                let _ = writeln!(shown, "             ({} bytes that are not JSON)", bytes.len());
            }
        }
        self.text.push_str(&shown);
        Ok(operation.parse(&self.config, Response::from_parts(parts, bytes)))
    }

    /// Expects success; anything else ends the demo with the usual exit code.
    fn expect<T>(&self, answer: Answer<T>) -> Result<T, Failure> {
        answer.map_err(|e| Failure::from_core(&e, None))
    }

    /// The seller's side: open the authorize URL, press Allow, come back with a code.
    fn consent(&mut self, url: &str, state: &State) -> Result<square_oauth::AuthorizationCode, Failure> {
        let redirect = self
            .square
            .approve(url, None)
            .map_err(|e| Failure::new(Exit::Unexpected, format!("the fake Square refused the authorize URL: {e}")))?;
        self.step("The seller opens it, signs in and presses Allow", "Square sends the browser back to");
        self.note(&mask_url(&redirect, self.reveal));
        self.line("");
        let code = parse_callback(&redirect, state).map_err(|e| Failure::from_core(&e, None))?;
        self.step(
            "Read the redirect",
            &format!(
                "state matches the one sent; code {} (single-use, valid 5 minutes)",
                self.secret(code.expose_secret())
            ),
        );
        self.line("");
        Ok(code)
    }

    fn walk(&mut self) -> Result<String, Failure> {
        let client_id = ClientId::new(CLIENT_ID);
        let secret = ClientSecret::new(CLIENT_SECRET);
        let scopes = [Scope::MerchantProfileRead, Scope::PaymentsRead, Scope::PaymentsWrite];

        self.line(&format!(
            "square-oauth demo: Square OAuth, step by step, against a fake Square at {}",
            self.config.base_url()
        ));
        self.line(&format!(
            "The fake knows one application ({CLIENT_ID}, secret {}, redirect URL {REDIRECT_URL}) and one seller ({MERCHANT}).",
            self.secret(CLIENT_SECRET)
        ));
        if !self.reveal.0 {
            self.line("Secrets show at most their first 4 characters; run `square-oauth demo --show-secrets` to see them whole.");
        }
        self.line("");

        // ---- Code flow ----
        self.line("== Code flow: an application with a secret, running on a server ==");
        self.line("");
        let state = State::generate().map_err(|e| local(format!("no randomness: {e}")))?;
        let url = AuthorizeUrl::new(client_id.clone())
            .scopes(scopes.iter().cloned())
            .state(&state)
            .build(&self.config)
            .map_err(|e| Failure::from_core(&e, None))?;
        self.step("Build the authorize URL", &mask_url(&url, self.reveal));
        self.note(
            "Nothing is sent: this is the page the seller's browser opens. `state` is random and checked on return.",
        );
        self.line("");
        let code = self.consent(&url, &state)?;

        self.step("Exchange the code for tokens", "ObtainToken, grant_type authorization_code, with the client secret");
        let answer = self.call(&ObtainToken::authorization_code(client_id.clone(), secret.clone(), code))?;
        let answer = self.expect(answer)?;
        let mut code_flow = TokenSet::from_response(Flow::CodeFlow, client_id.clone(), answer, Timestamp::now())
            .map_err(|e| Failure::from_lifecycle(&e))?;
        self.note(&format!(
            "An access token for merchant {}, expiring {}, and a refresh token that can be used again and again.",
            code_flow.merchant_id(),
            code_flow.expires_at().map_or_else(|| "never".to_owned(), |at| tokenfile::when(at, Timestamp::now()))
        ));
        self.line("");

        self.step("Check the access token", "RetrieveTokenStatus, Authorization: Bearer <the token>");
        let status = self.call(&RetrieveTokenStatus::new(code_flow.access_token().clone()))?;
        let status = self.expect(status)?;
        let granted: Vec<&str> = status.scopes.iter().flatten().map(Scope::as_str).collect();
        self.note(&format!("The token may: {}.", granted.join(", ")));
        self.line("");

        self.step("Refresh", "ObtainToken, grant_type refresh_token, with the client secret");
        let old_access = code_flow.access_token().clone();
        let old_refresh = code_flow.refresh_token().cloned();
        let operation = code_flow.refresh_operation(Some(&secret)).map_err(|e| Failure::from_lifecycle(&e))?;
        let answer = self.call(&operation)?;
        let answer = self.expect(answer)?;
        code_flow.apply_refresh(answer, Timestamp::now()).map_err(|e| Failure::from_lifecycle(&e))?;
        let same_refresh = old_refresh.as_ref() == code_flow.refresh_token();
        let new_access = &old_access != code_flow.access_token();
        self.note(&format!(
            "{} access token; {} refresh token: code-flow refresh tokens are reused. Square asks for a refresh every 7 days.",
            if new_access { "A new" } else { "The same" },
            if same_refresh { "the same" } else { "a different" },
        ));
        self.line("");

        // ---- PKCE ----
        self.line("== PKCE flow: no secret, for command-line tools, phones and browsers ==");
        self.line("");
        let verifier = CodeVerifier::generate().map_err(|e| local(format!("no randomness: {e}")))?;
        let state = State::generate().map_err(|e| local(format!("no randomness: {e}")))?;
        let url = AuthorizeUrl::new(client_id.clone())
            .scopes([Scope::MerchantProfileRead])
            .state(&state)
            .code_challenge(&verifier.challenge())
            .build(&self.config)
            .map_err(|e| Failure::from_core(&e, None))?;
        self.step(
            "Make a code verifier, and build the authorize URL with its S256 challenge",
            &mask_url(&url, self.reveal),
        );
        self.note(&format!(
            "The verifier {} stays here; only its SHA-256 (code_challenge) goes in the URL.",
            self.secret(verifier.expose_secret())
        ));
        self.line("");
        let code = self.consent(&url, &state)?;

        self.step(
            "Exchange the code with the verifier",
            "ObtainToken, grant_type authorization_code, code_verifier, no secret",
        );
        let answer = self.call(&ObtainToken::pkce(client_id.clone(), code, verifier))?;
        let answer = self.expect(answer)?;
        let mut pkce = TokenSet::from_response(Flow::Pkce, client_id.clone(), answer, Timestamp::now())
            .map_err(|e| Failure::from_lifecycle(&e))?;
        self.note(&format!(
            "The refresh token is single-use and expires {}.",
            pkce.refresh_token_expires_at()
                .map_or_else(|| "(not said)".to_owned(), |at| tokenfile::when(at, Timestamp::now()))
        ));
        self.line("");

        self.step("Refresh", "ObtainToken, grant_type refresh_token, no secret");
        let spent = pkce.refresh_operation(None).map_err(|e| Failure::from_lifecycle(&e))?;
        let spent_token = pkce.refresh_token().cloned();
        let answer = self.call(&spent)?;
        let answer = self.expect(answer)?;
        pkce.apply_refresh(answer, Timestamp::now()).map_err(|e| Failure::from_lifecycle(&e))?;
        let rotated = spent_token.as_ref() != pkce.refresh_token();
        self.note(&format!(
            "{}: keep the new one ({}), the old one ({}) is now spent.",
            if rotated { "A new refresh token" } else { "The same refresh token (unexpected)" },
            self.secret(pkce.refresh_token().map_or("", |t| t.expose_secret())),
            self.secret(spent_token.as_ref().map_or("", |t| t.expose_secret())),
        ));
        self.line("");

        self.step("Try the old refresh token again", "the same request as the step before");
        let refused = self.call(&spent)?;
        let old_refused = match refused {
            Err(e @ square_oauth::Error::Square(_)) => {
                let error = e.square_errors().first().map(|f| format!("{} {}", f.category, f.code)).unwrap_or_default();
                self.note(&format!(
                    "Refused ({error}): a PKCE refresh token works once. Store the new one before using it."
                ));
                true
            }
            Ok(_) => {
                self.note("Accepted: the fake Square did not enforce single use (unexpected).");
                false
            }
            Err(e) => return Err(Failure::from_core(&e, None)),
        };
        self.line("");

        // ---- Revoke ----
        self.line("== Revoke ==");
        self.line("");
        self.step("Revoke the seller's authorization", "RevokeToken by merchant_id, Authorization: Client <secret>");
        let revoke = RevokeToken::merchant(client_id.clone(), secret.clone(), MerchantId::new(MERCHANT));
        let answer = self.call(&revoke)?;
        self.expect(answer)?;
        self.note("Every token of this application for this seller is dead, and Square sends the oauth.authorization.revoked webhook.");
        self.line("");

        self.step("Check the code-flow access token again", "RetrieveTokenStatus");
        let after = self.call(&RetrieveTokenStatus::new(code_flow.access_token().clone()))?;
        let revoked_seen = match after {
            Err(e) if e.has_code(&ErrorCode::AccessTokenRevoked) => {
                self.note("Refused with ACCESS_TOKEN_REVOKED: the seller must authorize again.");
                true
            }
            // What Square's specification gives for any token that no longer works.
            Err(e) if e.has_code(&ErrorCode::Unauthorized) => {
                self.note("Refused with UNAUTHORIZED (the token is revoked): the seller must authorize again.");
                true
            }
            Err(e) => {
                self.note(&format!("Refused: {e}"));
                true
            }
            Ok(_) => {
                self.note("Still valid (unexpected).");
                false
            }
        };
        self.line("");

        // ---- Many sellers ----
        self.line("== Many sellers: the token vault ==");
        self.line("");
        self.step("Two refreshers race on one PKCE seller", "one vault file, a lease with a fencing number");
        let race = crate::commands::vault::demo_race(self.square, &self.config, CLIENT_ID)?;
        for note in &race.notes {
            self.note(note);
        }
        self.requests += race.sent;
        self.line("");

        let summary = format!(
            "Done: {} steps, {} requests; code flow, PKCE with rotation{}, revoke{}, vault race ({} refresh sent).",
            self.step,
            self.requests,
            if old_refused { " (old refresh token refused)" } else { " (old refresh token NOT refused)" },
            if revoked_seen { " (token refused afterwards)" } else { " (token NOT refused afterwards)" },
            race.sent,
        );
        self.line(&summary);
        if !(old_refused && revoked_seen && rotated && race.sent == 1) {
            return Err(Failure::new(Exit::Unexpected, "the fake Square did not behave as Square does"));
        }
        Ok(summary)
    }
}

/// Pretty JSON, indented under a `sent`/`received` line.
fn indent_json(out: &mut String, value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    for line in text.lines() {
        let _ = writeln!(out, "             {line}");
    }
}
