//! The authorize page: validation, the HTML consent page, its Allow/Deny forms, and the
//! browserless `approve`/`deny` calls.

mod common;

use common::*;
use square_oauth_mock::MockError;

#[test]
fn consent_page_lists_the_requested_permissions_with_allow_and_deny() {
    let square = start();
    let url =
        authorize_url(&square.base_url(), &[("scope", "PAYMENTS_READ MERCHANT_PROFILE_READ"), ("state", "st<1>")]);
    let page = get(&url);
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert!(page.header("square-version").is_some());
    let html = &page.body;
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<code>PAYMENTS_READ</code>"));
    assert!(html.contains("<code>MERCHANT_PROFILE_READ</code>"));
    assert!(!html.contains("<code>ORDERS_READ</code>"));
    assert!(html.contains("id=\"allow\"") && html.contains(">Allow</button>"));
    assert!(html.contains("id=\"deny\"") && html.contains(">Deny</button>"));
    assert!(html.contains(SELLER) && html.contains(SELLER_2));
    // User input is escaped, never injected.
    assert!(!html.contains("st<1>"));
}

#[test]
fn consent_page_shows_squares_default_scopes_when_none_are_asked() {
    let square = start();
    let page = get(&authorize_url(&square.base_url(), &[]));
    assert_eq!(page.status, 200);
    for s in ["MERCHANT_PROFILE_READ", "PAYMENTS_READ", "SETTLEMENTS_READ", "BANK_ACCOUNTS_READ"] {
        assert!(page.body.contains(&format!("<code>{s}</code>")), "{s}");
    }
}

/// The hidden `query` field the consent form posts back.
fn hidden_query(html: &str) -> String {
    let start = html.find("name=\"query\" value=\"").expect("hidden query") + 20;
    let end = start + html[start..].find('"').expect("closing quote");
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[test]
fn allow_button_redirects_with_code_response_type_and_state() {
    let square = start();
    let url = authorize_url(&square.base_url(), &[("scope", "PAYMENTS_READ"), ("state", "a b&c")]);
    let page = get(&url);
    let query = hidden_query(&page.body);
    let a = post_form(
        &square.base_url(),
        "/oauth2/authorize",
        &[("query", &query), ("merchant_id", SELLER_2), ("decision", "allow")],
    );
    assert_eq!(a.status, 302);
    let location = a.header("location").expect("a Location").to_owned();
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    assert!(param(&location, "code").unwrap().starts_with("sq0cgb-"));
    assert_eq!(param(&location, "response_type").as_deref(), Some("code"));
    assert_eq!(param(&location, "state").as_deref(), Some("a b&c"));
    // The code is real: it exchanges for the chosen seller.
    let v = token_ok(&exchange_code(&square.base_url(), &param(&location, "code").unwrap()));
    assert_eq!(v["merchant_id"], SELLER_2);
}

#[test]
fn deny_button_redirects_with_access_denied() {
    let square = start();
    let url = authorize_url(&square.base_url(), &[("state", "xyz")]);
    let query = hidden_query(&get(&url).body);
    let a = post_form(
        &square.base_url(),
        "/oauth2/authorize",
        &[("query", &query), ("merchant_id", SELLER), ("decision", "deny")],
    );
    assert_eq!(a.status, 302);
    let location = a.header("location").unwrap();
    assert!(location.starts_with(REDIRECT));
    assert_eq!(param(location, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(location, "error_description").as_deref(), Some("user_denied"));
    assert_eq!(param(location, "state").as_deref(), Some("xyz"));
    assert_eq!(param(location, "code"), None);
}

#[test]
fn approve_returns_the_redirect_the_allow_button_would() {
    let square = start();
    let url = authorize_url(&square.base_url(), &[("scope", "ORDERS_READ"), ("state", "s")]);
    let redirect = square.approve(&url, Some(SELLER_2)).unwrap();
    assert!(redirect.starts_with(&format!("{REDIRECT}?code=sq0cgb-")), "{redirect}");
    assert_eq!(param(&redirect, "response_type").as_deref(), Some("code"));
    assert_eq!(param(&redirect, "state").as_deref(), Some("s"));
    // First seller by default.
    let v = token_ok(&exchange_code(&square.base_url(), &code_flow_code(&square, "ORDERS_READ")));
    assert_eq!(v["merchant_id"], SELLER);
    assert_eq!(square.approve(&url, Some("NOSUCHSELLER1")), Err(MockError::UnknownMerchant("NOSUCHSELLER1".into())));
}

#[test]
fn deny_returns_the_error_redirect() {
    let square = start();
    let url = authorize_url(&square.base_url(), &[("state", "q")]);
    let redirect = square.deny(&url).unwrap();
    assert_eq!(redirect, format!("{REDIRECT}?error=access_denied&error_description=user_denied&state=q"));
}

#[test]
fn redirect_uri_must_be_registered_and_defaults_to_the_first() {
    let square = start();
    let base = square.base_url();
    let second = square.approve(&authorize_url(&base, &[("redirect_uri", REDIRECT_2)]), None).unwrap();
    // An existing query on the registered URL is kept.
    assert!(second.starts_with("http://127.0.0.1:9/other?x=1&code="), "{second}");
    let evil = authorize_url(&base, &[("redirect_uri", "https://evil.example/cb")]);
    assert_eq!(square.approve(&evil, None), Err(MockError::RedirectNotRegistered("https://evil.example/cb".into())));
    let page = get(&evil);
    assert_eq!(page.status, 400);
    assert!(page.body.contains("not registered"));
    assert!(page.header("location").is_none());
}

#[test]
fn unknown_client_and_unknown_scope_are_refused() {
    let square = start();
    let base = square.base_url();
    let unknown_client = format!("{base}/oauth2/authorize?client_id=sq0idp-nope");
    assert_eq!(square.approve(&unknown_client, None), Err(MockError::UnknownClient("sq0idp-nope".into())));
    assert_eq!(get(&unknown_client).status, 400);
    let no_client = format!("{base}/oauth2/authorize?scope=PAYMENTS_READ");
    assert_eq!(square.approve(&no_client, None), Err(MockError::MissingClientId));

    let bad_scope = authorize_url(&base, &[("scope", "PAYMENTS_READ TELEPORT_WRITE")]);
    assert_eq!(square.approve(&bad_scope, None), Err(MockError::UnknownScope("TELEPORT_WRITE".into())));
    let page = get(&bad_scope);
    assert_eq!(page.status, 400);
    assert!(page.body.contains("TELEPORT_WRITE"));
}

#[test]
fn code_challenge_is_validated() {
    let square = start();
    let base = square.base_url();
    let short = authorize_url(&base, &[("code_challenge", "tooshort")]);
    assert!(matches!(square.approve(&short, None), Err(MockError::InvalidCodeChallenge(_))));
    assert_eq!(get(&short).status, 400);
    let plain = authorize_url(&base, &[("code_challenge", CHALLENGE), ("code_challenge_method", "plain")]);
    assert!(matches!(square.approve(&plain, None), Err(MockError::UnsupportedChallengeMethod(_))));
    let ok = authorize_url(&base, &[("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]);
    assert!(square.approve(&ok, None).is_ok());
    let bad_response_type = authorize_url(&base, &[("response_type", "token")]);
    assert!(matches!(square.approve(&bad_response_type, None), Err(MockError::UnsupportedResponseType(_))));
    assert!(matches!(square.approve("http://127.0.0.1/no-query", None), Err(MockError::InvalidAuthorizeUrl(_))));
}

#[test]
fn errors_display_readably() {
    assert_eq!(MockError::UnknownScope("X".into()).to_string(), "unknown scope `X`");
}

#[test]
fn scopes_are_separated_by_spaces_only() {
    let square = start();
    let base = square.base_url();
    // `+` and `%20` both decode to a space.
    let plus = format!("{base}/oauth2/authorize?client_id={CLIENT_ID}&scope=PAYMENTS_READ+ITEMS_READ");
    let pct = format!("{base}/oauth2/authorize?client_id={CLIENT_ID}&scope=PAYMENTS_READ%20ITEMS_READ");
    assert!(square.approve(&plus, None).is_ok());
    assert!(square.approve(&pct, None).is_ok());
    // A comma-separated list is one unknown scope: a client bug Square would not paper over.
    let comma = format!("{base}/oauth2/authorize?client_id={CLIENT_ID}&scope=PAYMENTS_READ,ITEMS_READ");
    assert_eq!(square.approve(&comma, None), Err(MockError::UnknownScope("PAYMENTS_READ,ITEMS_READ".into())));
}
