//! `square-oauth login`: the authorize page in a browser, the redirect to a loopback listener
//! (or, for an https redirect URL, the landed address pasted in), and the code exchange: code
//! flow with a client secret, PKCE without one.

use std::time::Instant;

use serde_json::json;
use square_oauth::Calls as _;
use square_oauth::jiff::Timestamp;
use square_oauth::{
    AuthorizeUrl, CallbackError, CodeVerifier, ObtainToken, RetrieveTokenStatus, Scope, State, parse_callback,
};
use square_oauth::{Flow, TokenSet};

use crate::args::Login;
use crate::callback::{Callback, CallbackServer, WaitError};
use crate::context::{Context, client_id, client_secret, env, local};
use crate::failure::{Context as Call, Exit, Failure};
use crate::paste::{Landing, config_for, landing, read_landed_url, read_secret};
use crate::spinner::Spinner;
use crate::tokenfile;

/// Runs `login`.
pub(crate) fn run(cx: &Context, args: &Login) -> Result<(), Failure> {
    let client_id = client_id(args.client_id.as_deref())?;
    let config = config_for(cx, client_id.as_str())?;
    let redirect = args.redirect_url.clone().or_else(|| env("SQUARE_REDIRECT_URL"));
    let mode = match &redirect {
        Some(url) => landing(url)?,
        None => Landing::Listen { port: args.redirect_port },
    };
    let secret = match &args.client_secret_file {
        Some(path) if mode == Landing::Paste && path.as_os_str() == "-" => {
            return Err(Failure::usage(
                "standard input carries the landed URL in paste mode: give the secret in a file, not `-`",
            ));
        }
        Some(path) => Some(square_oauth::ClientSecret::new(read_secret(path)?)),
        None => client_secret(args.client_secret.as_ref()),
    };
    let flow = if secret.is_some() { Flow::CodeFlow } else { Flow::Pkce };
    let scopes: Vec<Scope> = args.scopes.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).map(Scope::from).collect();
    if let Some(out) = &args.out {
        // Find out now, not after the seller has consented, that the file can't be written.
        drop(tokenfile::stage(out)?);
    }
    // Where the grant goes besides the token file. A PKCE refresh token is single-use: two
    // copies (the file and the vault) cannot both stay valid, since whichever refreshes first
    // spends the other's. So with `--out` a PKCE grant stays in the file alone, and asking for
    // a vault as well is refused before anything is sent.
    let vault = match (flow, &args.out) {
        (Flow::Pkce, Some(_)) if crate::store::Location::named(args.store.as_ref()) => {
            return Err(Failure::usage(
                "a PKCE refresh token is single-use: keep the grant in the token file (--out) or in the vault \
                 (--store, SQUARE_STORE), not both",
            ));
        }
        (Flow::Pkce, Some(_)) => {
            eprintln!("Not stored in the vault: the token file holds the single-use PKCE refresh token.");
            None
        }
        // Opened now, so that a key or a store that fails is found before the code is spent.
        _ => crate::commands::vault::login_vault(args.store.as_ref(), &client_id)?,
    };

    let server = match mode {
        Landing::Listen { port } => Some(CallbackServer::bind(port).map_err(|e| {
            local(format!("cannot listen on 127.0.0.1:{port}: {e}")).hint(
                "pick another --redirect-port, and register http://localhost:PORT/callback as the app's redirect URL",
            )
        })?),
        Landing::Paste => None,
    };
    // The URL as given, byte for byte: Square compares it with the registered one.
    let redirect_url = match (&redirect, &server) {
        (Some(url), _) => url.clone(),
        (None, Some(server)) => server.redirect_url(),
        (None, None) => unreachable!("without --redirect-url the listener is used"),
    };
    let state = State::generate().map_err(|e| local(format!("no randomness from the operating system: {e}")))?;
    let verifier = match flow {
        Flow::Pkce => {
            Some(CodeVerifier::generate().map_err(|e| local(format!("no randomness from the operating system: {e}")))?)
        }
        Flow::CodeFlow => None,
    };
    let mut authorize = AuthorizeUrl::new(client_id.clone()).state(&state).redirect_uri(redirect_url.as_str());
    if !scopes.is_empty() {
        authorize = authorize.scopes(scopes.iter().cloned());
    }
    if let Some(locale) = &args.locale {
        authorize = authorize.locale(locale.as_str());
    }
    if let Some(verifier) = &verifier {
        authorize = authorize.code_challenge(&verifier.challenge());
    }
    let url = authorize.build(&config).map_err(|e| Failure::from_core(&e, None))?;

    eprintln!("Logging in to {} as application {client_id} ({flow}).", config.base_url());
    match &server {
        Some(_) => {
            eprintln!("Listening for the redirect on {redirect_url} (it must be a registered redirect URL of the app).")
        }
        None => {
            eprintln!("After you allow access, the browser lands on {redirect_url}: copy the whole address it shows.")
        }
    }
    eprintln!("Open this URL in a browser to authorize:\n\n  {url}\n");
    if !args.no_browser {
        // webbrowser honours $BROWSER and opens the Windows browser from WSL.
        match webbrowser::open(&url) {
            Ok(()) => eprintln!("(opened in the default browser)"),
            Err(e) => eprintln!("(could not open a browser: {e}; open the URL above yourself)"),
        }
    }

    let (mut callback, code) = match &server {
        Some(server) => {
            let deadline = Instant::now() + args.wait;
            loop {
                let mut spinner = Spinner::new("Waiting for the browser to come back");
                let waited = server.wait(deadline, |left| spinner.tick(left));
                spinner.finish();
                let callback = waited.map_err(|e| match e {
                    WaitError::TimedOut => Failure::new(
                        Exit::Transport,
                        format!("no redirect came back to {redirect_url} within {}s", args.wait.as_secs()),
                    )
                    .hint(
                        "finish the authorize page sooner, or raise --wait; check that the app's redirect URL is this one",
                    ),
                    WaitError::Io(e) => local(format!("the callback listener failed: {e}")),
                })?;
                match parse_callback(callback.query(), &state) {
                    Ok(code) => break (Some(callback), code),
                    // A request without this login's `state` is not its redirect: any web page can
                    // send a browser here, and must not be able to end the login. Refuse it and
                    // keep waiting.
                    Err(square_oauth::Error::Callback(
                        e @ (CallbackError::StateMismatch
                        | CallbackError::StateMissing
                        | CallbackError::Repeated("state")),
                    )) => {
                        eprintln!("ignored a request to the callback: {e}; still waiting");
                        callback.respond(
                            400,
                            "Not this login's redirect",
                            "This request does not carry the state square-oauth sent, so it was ignored.",
                        );
                    }
                    Err(e) => {
                        callback.respond(
                            400,
                            "Authorization failed",
                            "square-oauth could not use this redirect; see the terminal.",
                        );
                        return Err(Failure::from_core(&e, None));
                    }
                }
            }
        }
        // A pasted address is the seller's own browser's: whatever is wrong with it ends the login.
        None => (None, parse_callback(&read_landed_url()?, &state).map_err(|e| Failure::from_core(&e, None))?),
    };

    let staged = args.out.as_deref().map(tokenfile::stage).transpose()?;
    let exchange = match verifier {
        Some(verifier) => ObtainToken::pkce(client_id.clone(), code, verifier),
        None => ObtainToken::authorization_code(
            client_id.clone(),
            secret.clone().expect("the code flow has a secret"),
            code,
        ),
    }
    .redirect_uri(redirect_url.as_str());
    let client = cx.client(config);
    let answer = match client.send(&exchange) {
        Ok(answer) => answer,
        Err(e) => {
            reply(&mut callback, 502, "Authorization failed", "Square refused the code exchange; see the terminal.");
            return Err(Failure::from_transport(&e, Some(Call::Exchange { pkce: flow == Flow::Pkce })));
        }
    };
    let now = Timestamp::now();
    let set = match TokenSet::from_response(flow, client_id, answer, now) {
        Ok(set) => set,
        Err(e) => {
            reply(&mut callback, 502, "Authorization failed", "Square's answer could not be used; see the terminal.");
            return Err(Failure::from_lifecycle(&e));
        }
    };
    reply(&mut callback, 200, "Authorized", "square-oauth has the tokens. You can close this window.");

    // Record what was granted (Square's answer to the exchange doesn't say); if the status call
    // fails, what was asked for is the best there is.
    let set = match client.send(&RetrieveTokenStatus::new(set.access_token().clone())) {
        Ok(status) => match status.scopes {
            Some(granted) => set.with_scopes(granted),
            None => set.with_scopes(scopes),
        },
        Err(_) => set.with_scopes(scopes),
    };

    // The token file first: should the vault fail, the grant is still kept there.
    if let (Some(path), Some(staged)) = (&args.out, staged) {
        tokenfile::commit(staged, path, &set)?;
    }
    if let Some(vault) = &vault {
        vault.put(&set)?;
    }
    let view = tokenfile::view(&set, cx.reveal);
    match &args.out {
        Some(path) => {
            cx.emit_json(&json!({ "ok": true, "token_file": path.to_string_lossy(), "tokens": view }));
            cx.say(&format!("Logged in: merchant {} ({flow}).", set.merchant_id()));
            cx.say(&format!("Token set written to {} (mode 0600).", path.display()));
            if let Some(expires_at) = set.expires_at() {
                cx.say(&format!("The access token expires {}.", tokenfile::when(expires_at, now)));
            }
        }
        None => {
            // The token set is the result: one JSON document on standard output, with or
            // without --json.
            let text = serde_json::to_string_pretty(&view).expect("JSON values serialize");
            println!("{text}");
            if !cx.reveal.0 {
                eprintln!(
                    "The tokens above are masked: `square-oauth token` prints the access token from the vault, --show-secrets prints them here."
                );
            }
        }
    }
    Ok(())
}

/// Answers the browser waiting on the loopback listener; in paste mode nobody is waiting.
fn reply(callback: &mut Option<Callback>, status: u16, title: &str, message: &str) {
    if let Some(callback) = callback.take() {
        callback.respond(status, title, message);
    }
}
