//! `square-oauth status`: RetrieveTokenStatus for a token given on the command line, in the
//! environment, or in a token file.

use serde_json::json;
use square_oauth::Calls as _;
use square_oauth::jiff::Timestamp;
use square_oauth::{AccessToken, RetrieveTokenStatus, Scope};

use crate::args::Status;
use crate::context::{Context, env};
use crate::failure::{Context as Call, Failure};
use crate::paste::config_for;
use crate::tokenfile;

/// Runs `status`.
pub(crate) fn run(cx: &Context, args: &Status) -> Result<(), Failure> {
    // A token file names its application, so a sandbox set goes to the sandbox and a mismatch
    // with the environment asked for is refused before anything is sent; a bare token says
    // nothing of where it belongs.
    let (token, config) = if let Some(path) = &args.token_file {
        let set = tokenfile::read(path)?;
        let config = config_for(cx, set.client_id().as_str())?;
        (set.access_token().clone(), config)
    } else {
        let token =
            args.access_token.clone().or_else(|| env("SQUARE_ACCESS_TOKEN").map(AccessToken::new)).ok_or_else(
                || Failure::usage("no token: pass --access-token, --token-file or set SQUARE_ACCESS_TOKEN"),
            )?;
        (token, cx.config()?)
    };
    let client = cx.client(config);
    let status = client
        .send(&RetrieveTokenStatus::new(token.clone()))
        .map_err(|e| Failure::from_transport(&e, Some(Call::Status)))?;

    let scopes: Vec<&str> = status.scopes.iter().flatten().map(Scope::as_str).collect();
    let now = Timestamp::now();
    cx.emit_json(&json!({
        "ok": true,
        "access_token": cx.reveal.secret(token.expose_secret()),
        "merchant_id": status.merchant_id,
        "client_id": status.client_id,
        "scopes": scopes,
        "expires_at": status.expires_at,
        "expired": status.expires_at.is_some_and(|at| at <= now),
    }));
    cx.say(&format!("access token  {}", cx.reveal.secret(token.expose_secret())));
    cx.say(&format!("merchant_id   {}", status.merchant_id.as_ref().map_or("(not given)", |m| m.as_str())));
    cx.say(&format!("client_id     {}", status.client_id.as_ref().map_or("(not given)", |c| c.as_str())));
    cx.say(&format!("scopes        {}", if scopes.is_empty() { "(none)".to_owned() } else { scopes.join(" ") }));
    cx.say(&format!(
        "expires_at    {}",
        status.expires_at.map_or_else(|| "never (a personal access token)".to_owned(), |at| tokenfile::when(at, now))
    ));
    Ok(())
}
