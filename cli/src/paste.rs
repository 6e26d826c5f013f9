//! What `login` needs for a real Square application: where the browser lands, secrets that
//! stay off the command line, and the environment a client id belongs to.
//!
//! Square requires an `https` redirect URL, which this machine does not serve. For such a URL
//! the browser lands on the application's page (or an error page: either way its address bar
//! holds `code` and `state`), and the user pastes that address into the terminal, as Square's
//! own walkthrough does. Only a loopback `http` URL is listened on.

use std::io::{self, BufRead as _, IsTerminal as _, Read as _, Write as _};
use std::path::Path;

use square_oauth::Config;
use square_oauth::http::Uri;

use crate::callback::CALLBACK_PATH;
use crate::context::Context;
use crate::failure::Failure;

/// Where the browser comes back to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Landing {
    /// `http://localhost:PORT/callback` (or `127.0.0.1`, `[::1]`): listened on.
    Listen { port: u16 },
    /// Anything else: the user pastes the address the browser landed on.
    Paste,
}

/// Sorts a registered redirect URL into the two modes.
pub(crate) fn landing(redirect_url: &str) -> Result<Landing, Failure> {
    let uri: Uri = redirect_url
        .parse()
        .map_err(|e| Failure::usage(format!("the redirect URL `{redirect_url}` is not a URL: {e}")))?;
    let host = uri.host().unwrap_or_default();
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    match uri.scheme_str() {
        Some("http") if loopback => {
            if uri.path() != CALLBACK_PATH || uri.query().is_some() {
                return Err(Failure::usage(format!(
                    "the loopback listener answers only http://{host}:PORT{CALLBACK_PATH}, not `{redirect_url}`"
                )));
            }
            Ok(Landing::Listen { port: uri.port_u16().unwrap_or(80) })
        }
        Some("https") | Some("http") if !host.is_empty() => Ok(Landing::Paste),
        _ => Err(Failure::usage(format!("the redirect URL `{redirect_url}` must be an http or https URL"))),
    }
}

/// Reads the address the browser landed on: after a prompt on a terminal, as one line when
/// piped. An empty answer is a usage error.
pub(crate) fn read_landed_url() -> Result<String, Failure> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        eprint!("Paste the address the browser landed on, then press Enter: ");
        let _ = io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::usage(format!("could not read the landed URL from standard input: {e}")))?;
    let line = line.trim();
    if line.is_empty() {
        return Err(Failure::usage("no URL was pasted: standard input ended or the line was empty")
            .hint("paste the whole address from the browser's address bar, with its `code` and `state`"));
    }
    Ok(line.to_owned())
}

/// A secret from a file, or from standard input for `-`: the first line, without its line
/// ending. The error names the file, never the content.
pub(crate) fn read_secret(path: &Path) -> Result<String, Failure> {
    // Room enough up front that reading never reallocates, which would free a copy of the secret
    // unwiped: a file's read reserves its length, but standard input announces none.
    let mut text = String::with_capacity(8192);
    let read = if path == Path::new("-") {
        io::stdin().lock().read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|mut file| file.read_to_string(&mut text))
    };
    read.map_err(|e| Failure::usage(format!("cannot read the client secret from {}: {e}", path.display())))?;
    let secret = text.lines().next().unwrap_or_default().trim().to_owned();
    // The copy read from the file is no longer needed; don't leave it in freed memory.
    zeroize::Zeroize::zeroize(&mut text);
    if secret.is_empty() {
        return Err(Failure::usage(format!("{} holds no client secret", path.display())));
    }
    Ok(secret)
}

/// Square's environments, as far as a client id tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Environment {
    Production,
    Sandbox,
}

/// Sandbox application ids start with `sandbox-`; production ids never do.
pub(crate) fn environment_of(client_id: &str) -> Environment {
    if client_id.starts_with("sandbox-") { Environment::Sandbox } else { Environment::Production }
}

/// Where requests for `client_id` go: the sandbox for a `sandbox-` id when nothing chose
/// otherwise (saying so), and a usage error, before anything is sent, when the id and the chosen
/// environment are Square's two different ones. Any other base URL (the fake) takes any id.
pub(crate) fn config_for(cx: &Context, client_id: &str) -> Result<Config, Failure> {
    let id_environment = environment_of(client_id);
    let config = cx.config_with(id_environment == Environment::Sandbox)?;
    if id_environment == Environment::Sandbox && !cx.environment_chosen() {
        eprintln!("The application id starts with `sandbox-`: using Square's sandbox (--production to refuse).");
    }
    let target = if config.base_url() == Config::sandbox().base_url() {
        Some(Environment::Sandbox)
    } else if config.base_url() == Config::production().base_url() {
        Some(Environment::Production)
    } else {
        None
    };
    match (id_environment, target) {
        (Environment::Sandbox, Some(Environment::Production)) => {
            Err(Failure::usage(format!("`{client_id}` is a sandbox application id; production would refuse it"))
                .hint("drop --production (the id selects the sandbox), or use the production id"))
        }
        (Environment::Production, Some(Environment::Sandbox)) => {
            Err(Failure::usage(format!("`{client_id}` is a production application id; the sandbox would refuse it"))
                .hint("sandbox application ids start with `sandbox-`: use that one, or drop --sandbox"))
        }
        _ => Ok(config),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_http_is_listened_on_and_everything_else_is_pasted() {
        assert_eq!(landing("http://localhost:8000/callback").ok(), Some(Landing::Listen { port: 8000 }));
        assert_eq!(landing("http://127.0.0.1:9/callback").ok(), Some(Landing::Listen { port: 9 }));
        assert_eq!(landing("http://[::1]:7/callback").ok(), Some(Landing::Listen { port: 7 }));
        assert_eq!(landing("https://localhost:8000/callback").ok(), Some(Landing::Paste));
        assert_eq!(landing("https://app.example/square/callback?x=1").ok(), Some(Landing::Paste));
        assert_eq!(landing("http://app.example/callback").ok(), Some(Landing::Paste));
        assert!(landing("http://localhost:8000/other").is_err());
        assert!(landing("ftp://app.example/callback").is_err());
        assert!(landing("not a url").is_err());
    }

    #[test]
    fn a_sandbox_id_says_so() {
        assert_eq!(environment_of("sandbox-sq0idb-abc"), Environment::Sandbox);
        assert_eq!(environment_of("sq0idp-abc"), Environment::Production);
    }

    #[test]
    fn a_secret_file_gives_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "sq0csp-from-a-file\n").unwrap();
        assert_eq!(read_secret(&path).ok().as_deref(), Some("sq0csp-from-a-file"));
        std::fs::write(&path, "\n").unwrap();
        assert!(read_secret(&path).is_err());
        assert!(read_secret(&dir.path().join("missing")).is_err());
    }
}
