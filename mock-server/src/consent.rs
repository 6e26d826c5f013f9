//! The seller-facing HTML: the consent page with Allow and Deny, and the error page Square
//! shows instead of redirecting when the authorize URL can't be trusted.

use crate::scopes;
use crate::state::AuthorizeRequest;

/// Escapes text for HTML element content and double-quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}\
li{margin:.4rem 0}code{font-weight:600}.buttons{margin-top:1.5rem;display:flex;gap:1rem}\
button{font-size:1rem;padding:.6rem 1.6rem;border-radius:6px;border:1px solid #888;cursor:pointer}\
#allow{background:#006aff;color:#fff;border-color:#006aff}";

/// The consent page. Its single form posts back to `/oauth2/authorize` with the original
/// query (so the POST re-validates everything), the chosen seller and the decision.
pub(crate) fn consent_page(req: &AuthorizeRequest, query: &str, app_name: &str, sellers: &[String]) -> String {
    let permissions: String = req
        .scopes
        .iter()
        .map(|s| format!("<li data-scope=\"{0}\"><code>{0}</code>: {1}</li>", escape(s), escape(scopes::describe(s))))
        .collect();
    let options: String = sellers.iter().map(|m| format!("<option value=\"{0}\">{0}</option>", escape(m))).collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Authorize {app}</title><style>{STYLE}</style></head><body>\
<h1>Authorize <span id=\"application\">{app}</span></h1>\
<p>This application is requesting permission to:</p>\
<ul id=\"permissions\">{permissions}</ul>\
<form id=\"consent\" method=\"post\" action=\"/oauth2/authorize\">\
<input type=\"hidden\" name=\"query\" value=\"{query}\">\
<label for=\"merchant_id\">Business</label> <select id=\"merchant_id\" name=\"merchant_id\">{options}</select>\
<div class=\"buttons\">\
<button type=\"submit\" id=\"deny\" name=\"decision\" value=\"deny\">Deny</button>\
<button type=\"submit\" id=\"allow\" name=\"decision\" value=\"allow\">Allow</button>\
</div></form></body></html>\n",
        app = escape(app_name),
        query = escape(query),
    )
}

/// The page shown when the request can't be honoured and there is nowhere safe to redirect.
pub(crate) fn error_page(message: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Authorization error</title>\
<style>{STYLE}</style></head><body><h1>Something went wrong</h1>\
<p id=\"error\">{}</p></body></html>\n",
        escape(message)
    )
}

/// The HTML 502 page a proxy in front of Square might send (fault `Html502`).
pub(crate) const BAD_GATEWAY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n\
<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
