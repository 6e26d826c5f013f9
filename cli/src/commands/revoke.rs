//! `square-oauth revoke`: RevokeToken by access token or by seller, with the application secret.

use serde_json::json;
use square_oauth::Calls as _;
use square_oauth::{AccessToken, ClientSecret, MerchantId, RevokeTarget, RevokeToken};

use crate::args::Revoke;
use crate::context::{Context, client_id, client_secret, env};
use crate::failure::{Context as Call, Failure};
use crate::paste::{config_for, read_secret};
use crate::tokenfile;

/// Runs `revoke`.
pub(crate) fn run(cx: &Context, args: &Revoke) -> Result<(), Failure> {
    let from_file = args.token_file.as_deref().map(tokenfile::read).transpose()?;
    let target = if let Some(set) = &from_file {
        RevokeTarget::AccessToken(set.access_token().clone())
    } else if let Some(merchant) = &args.merchant_id {
        RevokeTarget::Merchant(MerchantId::new(merchant.as_str()))
    } else if let Some(token) = args.access_token.clone().or_else(|| env("SQUARE_ACCESS_TOKEN").map(AccessToken::new)) {
        RevokeTarget::AccessToken(token)
    } else {
        return Err(Failure::usage(
            "nothing to revoke: pass --access-token, --merchant-id or --token-file (or set SQUARE_ACCESS_TOKEN)",
        ));
    };
    let client_id = match (&args.client_id, &from_file) {
        (None, Some(set)) if env("SQUARE_CLIENT_ID").is_none() => set.client_id().clone(),
        _ => client_id(args.client_id.as_deref())?,
    };
    let config = config_for(cx, client_id.as_str())?;
    let secret = match &args.client_secret_file {
        Some(path) => Some(ClientSecret::new(read_secret(path)?)),
        None => client_secret(args.client_secret.as_ref()),
    };
    let secret = secret.ok_or_else(|| {
        Failure::usage(
            "RevokeToken needs the application secret: pass --client-secret-file or --client-secret, or set SQUARE_CLIENT_SECRET",
        )
            .hint("the secret is on the OAuth page of the Developer Dashboard; the `Client ` header prefix is added for you")
    })?;

    let what = match (&target, args.only_access_token) {
        (RevokeTarget::AccessToken(token), true) => {
            format!("the access token {}", cx.reveal.secret(token.expose_secret()))
        }
        (RevokeTarget::AccessToken(token), false) => {
            format!("the authorization of the access token {}", cx.reveal.secret(token.expose_secret()))
        }
        (RevokeTarget::Merchant(merchant), true) => format!("the access tokens of merchant {merchant}"),
        (RevokeTarget::Merchant(merchant), false) => format!("the authorization of merchant {merchant}"),
    };
    let mut operation = RevokeToken::new(client_id, secret, target);
    if args.only_access_token {
        operation = operation.revoke_only_access_token(true);
    }
    let seller = match (&from_file, &args.merchant_id) {
        (Some(set), _) => Some(set.merchant_id().clone()),
        (None, Some(merchant)) => Some(MerchantId::new(merchant.as_str())),
        (None, None) => None,
    };
    let client = cx.client(config);
    let answer = client.send(&operation).map_err(|e| Failure::from_transport(&e, Some(Call::Revoke)))?;
    if let Some(seller) = seller.filter(|_| !args.only_access_token)
        && let Some(vault) = vault_still_holding(&seller)
    {
        eprintln!(
            "The vault {vault} still holds merchant {seller} as active: `square-oauth logout --merchant {seller}` \
                 forgets it there (until then `token` serves its dead access token)."
        );
    }
    cx.emit_json(&json!({
        "ok": true,
        "success": answer.success,
        "already_revoked": answer.already_revoked,
        "revoked": if args.only_access_token { "access_token" } else { "authorization" },
    }));
    if answer.already_revoked {
        // A repeat of a revocation whose answer was lost lands here: the outcome asked for.
        cx.say(&format!("Already revoked: {what} (Square says it was revoked before this request)."));
    } else {
        cx.say(&format!("Revoked {what}."));
    }
    Ok(())
}

/// The default vault (`SQUARE_STORE` or the data directory's file), when it is a SQLite file
/// that exists and lists `seller` as active. This command changes no seller in a vault, and
/// needs no key to read a seller's state.
fn vault_still_holding(seller: &MerchantId) -> Option<String> {
    use square_oauth_vault::Store as _;
    let Ok(crate::store::Location::Sqlite(path)) = crate::store::Location::resolve(None) else { return None };
    if !path.is_file() {
        return None;
    }
    let row = square_oauth_vault::SqliteStore::open(&path).ok()?.get(seller).ok()??;
    (row.record.state == square_oauth_vault::decide::SellerState::Active).then(|| path.display().to_string())
}
