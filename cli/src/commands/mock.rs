//! `square-oauth mock`: the fake Square in the foreground.

use serde_json::json;
use square_oauth_mock::{App, Behaviour, Cors, MockConfig, MockSquare};

use crate::args::Mock;
use crate::context::{Context, local};
use crate::failure::Failure;

/// `CLIENT_ID:SECRET:REDIRECT_URL`, split on the first two colons (the URL has its own).
pub(crate) fn parse_app(spec: &str) -> Result<(String, String, String), Failure> {
    let mut parts = spec.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(id), Some(secret), Some(url)) if !id.is_empty() && !secret.is_empty() && !url.is_empty() => {
            Ok((id.to_owned(), secret.to_owned(), url.to_owned()))
        }
        // The spec holds a secret: name the application only.
        _ => Err(Failure::usage(format!(
            "--app `{}:…`: expected CLIENT_ID:SECRET:REDIRECT_URL",
            spec.split(':').next().unwrap_or_default()
        ))),
    }
}

/// Runs `mock` until the process is stopped.
pub(crate) fn run(cx: &Context, args: &Mock) -> Result<(), Failure> {
    let mut apps: Vec<App> = Vec::new();
    for spec in &args.apps {
        let (id, secret, url) = parse_app(spec)?;
        match apps.iter_mut().find(|a| a.client_id == id) {
            Some(app) if app.client_secret == secret => app.redirect_urls.push(url),
            Some(_) => return Err(Failure::usage(format!("--app `{id}` is given twice with different secrets"))),
            None => apps.push(App::new(&id, &secret, &[&url])),
        }
    }
    let mut config = MockConfig::new()
        .listen(args.listen)
        .control(args.control)
        .behaviour(Behaviour {
            specific_token_errors: args.specific_token_errors,
            code_flow_refresh_grace: args.code_flow_refresh_grace,
            refuse_repeated_revoke: args.refuse_repeated_revoke,
        })
        .cors(Cors { allow_origins: args.allow_origins.clone(), expose_headers: args.expose_headers.clone() });
    for app in &apps {
        config = config.app(app.clone());
    }
    for seller in &args.sellers {
        config = config.seller(seller);
    }
    let square = MockSquare::start(config)
        .map_err(|e| local(format!("cannot start the fake Square on {}: {e}", args.listen)))?;
    let base_url = square.base_url();

    cx.emit_json(&json!({
        "ok": true,
        "base_url": base_url,
        "apps": apps.iter().map(|a| json!({
            "client_id": a.client_id,
            "client_secret": cx.reveal.secret(&a.client_secret),
            "redirect_urls": a.redirect_urls,
        })).collect::<Vec<_>>(),
        "sellers": args.sellers,
    }));
    cx.say(&base_url);
    for app in &apps {
        eprintln!(
            "app {} (secret {}) redirects to {}",
            app.client_id,
            cx.reveal.secret(&app.client_secret),
            app.redirect_urls.join(" ")
        );
    }
    if apps.is_empty() {
        eprintln!("no application registered: add one with --app CLIENT_ID:SECRET:REDIRECT_URL");
    }
    eprintln!("fake Square listening on {base_url}; try: square-oauth --base-url {base_url} login --client-id ID …");
    eprintln!("press Ctrl-C to stop");
    // The server runs on its own thread until the process ends.
    loop {
        std::thread::park();
    }
}
