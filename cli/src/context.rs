//! What every command shares: the resolved settings (flags over environment), the client and
//! the two outputs.

use std::io::Write as _;

use serde_json::Value;
use square_oauth::{ClientId, ClientSecret, Config};

use crate::args::Global;
use crate::failure::{Exit, Failure};
use crate::mask::Reveal;
use crate::transport::Client;

/// Reads an environment variable, treating an empty value as absent.
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}

/// The settings and outputs of one run.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) global: Global,
    pub(crate) reveal: Reveal,
}

impl Context {
    pub(crate) fn new(global: Global) -> Self {
        let reveal = Reveal(global.show_secrets);
        Self { global, reveal }
    }

    /// Where requests go: `--base-url` / `--sandbox` / `--production`, then `SQUARE_BASE_URL`,
    /// then `SQUARE_ENVIRONMENT`, then production. The Square-Version: the flag, then
    /// `SQUARE_VERSION`.
    pub(crate) fn config(&self) -> Result<Config, Failure> {
        self.config_with(false)
    }

    /// Whether `--sandbox`, `--production`, `--base-url`, `SQUARE_BASE_URL` or
    /// `SQUARE_ENVIRONMENT` chose where requests go.
    pub(crate) fn environment_chosen(&self) -> bool {
        let g = &self.global;
        g.sandbox
            || g.production
            || g.base_url.is_some()
            || env("SQUARE_BASE_URL").is_some()
            || env("SQUARE_ENVIRONMENT").is_some()
    }

    /// [`config`](Self::config), with the sandbox when `sandbox` is set and nothing chose otherwise.
    pub(crate) fn config_with(&self, sandbox: bool) -> Result<Config, Failure> {
        let mut builder = Config::builder();
        let g = &self.global;
        if sandbox && !self.environment_chosen() {
            builder = builder.sandbox();
        } else if let Some(url) = &g.base_url {
            builder = builder.base_url(url);
        } else if g.sandbox {
            builder = builder.sandbox();
        } else if g.production {
            builder = builder.production();
        } else if let Some(url) = env("SQUARE_BASE_URL") {
            builder = builder.base_url(&url);
        } else if let Some(environment) = env("SQUARE_ENVIRONMENT") {
            builder = match environment.trim().to_ascii_lowercase().as_str() {
                "production" => builder.production(),
                "sandbox" => builder.sandbox(),
                _ => {
                    return Err(Failure::usage(format!(
                        "SQUARE_ENVIRONMENT is `{environment}`; expected `production` or `sandbox`"
                    )));
                }
            };
        }
        if let Some(version) = g.square_version.clone().or_else(|| env("SQUARE_VERSION")) {
            builder = builder.square_version(&version);
        }
        builder.user_agent_detail(concat!("square-oauth-cli/", env!("CARGO_PKG_VERSION"))).build().map_err(|e| {
            Failure::from_core(&e, None)
                .hint("check --base-url / SQUARE_BASE_URL and --square-version / SQUARE_VERSION")
        })
    }

    /// A client for `config`, with `--timeout`.
    pub(crate) fn client(&self, config: Config) -> Client {
        let timeout = self.global.timeout;
        Client::builder(config)
            .timeout(timeout)
            .connect_timeout(timeout.min(square_oauth_ureq::DEFAULT_CONNECT_TIMEOUT))
            .build()
    }

    /// Writes the `--json` document (only in `--json` mode).
    pub(crate) fn emit_json(&self, value: &Value) {
        if self.global.json {
            let mut out = std::io::stdout().lock();
            let _ = serde_json::to_writer_pretty(&mut out, value);
            let _ = writeln!(out);
        }
    }

    /// Writes human output on standard output (only outside `--json` mode).
    pub(crate) fn say(&self, text: &str) {
        if !self.global.json {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
        }
    }
}

/// `--client-id`, else `SQUARE_CLIENT_ID`.
pub(crate) fn client_id(flag: Option<&str>) -> Result<ClientId, Failure> {
    flag.map(str::to_owned)
        .or_else(|| env("SQUARE_CLIENT_ID"))
        .map(ClientId::new)
        .ok_or_else(|| Failure::usage("the application id is missing: pass --client-id or set SQUARE_CLIENT_ID"))
}

/// `--client-secret`, else `SQUARE_CLIENT_SECRET`, else none.
pub(crate) fn client_secret(flag: Option<&ClientSecret>) -> Option<ClientSecret> {
    flag.cloned().or_else(|| env("SQUARE_CLIENT_SECRET").map(ClientSecret::new))
}

/// A local failure (a file, a socket).
pub(crate) fn local(message: impl Into<String>) -> Failure {
    Failure::new(Exit::Local, message)
}
