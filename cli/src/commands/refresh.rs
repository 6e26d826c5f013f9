//! `square-oauth refresh`: one refresh of a token file, written back atomically.
//!
//! The order matters for PKCE, whose refresh token is spent by the request: the replacement
//! file is created first (so an unwritable directory fails before anything is spent), the
//! request is sent once (never retried), and the file is replaced only after the answer has
//! been taken in. Any failure before that leaves the old file exactly as it was.

use serde_json::json;
use square_oauth::Calls as _;
use square_oauth::Flow;
use square_oauth::jiff::Timestamp;

use crate::args::Refresh;
use crate::context::{Context, client_secret};
use crate::failure::{Context as Call, Failure};
use crate::tokenfile;

/// Runs `refresh`.
pub(crate) fn run(cx: &Context, args: &Refresh) -> Result<(), Failure> {
    let Some(path) = &args.token_file else {
        return crate::commands::vault::refresh(cx, args);
    };
    let mut set = tokenfile::read(path)?;
    let secret = match set.flow() {
        Flow::CodeFlow => match &args.client_secret_file {
            Some(file) => Some(square_oauth::ClientSecret::new(crate::paste::read_secret(file)?)),
            None => client_secret(args.client_secret.as_ref()),
        },
        Flow::Pkce => None,
    };
    let operation = set.refresh_operation(secret.as_ref()).map_err(|e| Failure::from_lifecycle(&e))?;
    // Tokens of a sandbox application are refreshed in the sandbox.
    let config = crate::paste::config_for(cx, set.client_id().as_str())?;
    let staged = tokenfile::stage(path)?;

    let pkce = set.flow() == Flow::Pkce;
    let answer =
        cx.client(config).send(&operation).map_err(|e| Failure::from_transport(&e, Some(Call::Refresh { pkce })))?;
    let now = Timestamp::now();
    let old_refresh = set.refresh_token().cloned();
    set.apply_refresh(answer, now).map_err(|e| Failure::from_lifecycle(&e))?;
    tokenfile::commit(staged, path, &set)?;

    let rotated = old_refresh.as_ref() != set.refresh_token();
    cx.emit_json(&json!({ "ok": true, "token_file": path.to_string_lossy(), "rotated_refresh_token": rotated, "tokens": tokenfile::view(&set, cx.reveal) }));
    cx.say(&format!("Refreshed {} ({} tokens of merchant {}).", path.display(), set.flow(), set.merchant_id()));
    cx.say(&format!("  access token   {}", cx.reveal.secret(set.access_token().expose_secret())));
    if let Some(expires_at) = set.expires_at() {
        cx.say(&format!("  expires        {}", tokenfile::when(expires_at, now)));
    }
    if let Some(refresh) = set.refresh_token() {
        let note = if rotated { "new: the old one is spent" } else { "unchanged: code-flow refresh tokens are reused" };
        cx.say(&format!("  refresh token  {} ({note})", cx.reveal.secret(refresh.expose_secret())));
    }
    Ok(())
}
