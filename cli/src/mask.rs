//! Masking: how a secret looks when it is shown without `--show-secrets`.
//!
//! A masked value keeps at most its first four characters (enough to tell an `EAAA…` access
//! token from an `EQAA…` refresh token or an `sq0csp-…` secret) and only when the value is long
//! enough that four characters give nothing useful away. Whole documents (the demo's requests
//! and answers) go through the library's own allow-list, `square_oauth::redact_json`: only the
//! fields named in `SHOWN_FIELDS` and Square's error text are shown, every other value is
//! hidden, so a field nobody thought of is hidden too.

use serde_json::Value;

/// The text that replaces the hidden part of a secret.
pub(crate) const MASK: &str = "…[masked]";

/// Fields of Square's OAuth requests, answers and redirects that never carry a secret, shown
/// as they are, anywhere; Square's error text is shown where Square puts it in any case
/// (`square_oauth::ERROR_TEXT_KEYS`).
const SHOWN_FIELDS: &[&str] = &[
    "client_id",
    "grant_type",
    "redirect_uri",
    "scopes",
    "scope",
    "short_lived",
    "use_jwt",
    "token_type",
    "expires_at",
    "merchant_id",
    "refresh_token_expires_at",
    "subscription_id",
    "plan_id",
    "revoke_only_access_token",
    "success",
    "response_type",
    "locale",
    "session",
    "code_challenge",
    "code_challenge_method",
    "error",
    "error_description",
];

/// Whether the value of `key` is shown as it is.
fn shown(key: &str) -> bool {
    SHOWN_FIELDS.contains(&key)
}

/// Whether secrets are shown in full (`--show-secrets`) or masked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reveal(pub(crate) bool);

impl Reveal {
    /// `secret` as it may be shown: whole with `--show-secrets`, masked otherwise.
    pub(crate) fn secret(self, secret: &str) -> String {
        if self.0 { secret.to_owned() } else { mask(secret) }
    }

    /// A JSON document with every secret field masked (unless secrets are shown).
    pub(crate) fn json(self, mut value: Value) -> Value {
        if !self.0 {
            mask_json(&mut value);
        }
        value
    }
}

/// `EAAAl3ik…` → `EAAA…[masked]`; values shorter than 16 characters keep nothing.
pub(crate) fn mask(secret: &str) -> String {
    if secret.chars().count() >= 16 {
        let head: String = secret.chars().take(4).collect();
        format!("{head}{MASK}")
    } else {
        "[masked]".to_owned()
    }
}

/// Masks every value outside the allow-list, at any depth, through the library's redaction: a
/// hidden string reads `"…"`, a hidden number `0`.
pub(crate) fn mask_json(value: &mut Value) {
    let Ok(bytes) = serde_json::to_vec(value) else { return };
    // `redact_json` writes JSON when it reads JSON, which a `Value` always serializes to.
    *value = serde_json::from_str(&square_oauth::redact_json(&bytes, shown)).unwrap_or(Value::Null);
}

/// Masks the secret query parameters of a URL (`code`, `state`, …), for showing a redirect.
pub(crate) fn mask_url(url: &str, reveal: Reveal) -> String {
    if reveal.0 {
        return url.to_owned();
    }
    let Some((base, rest)) = url.split_once('?') else {
        return url.to_owned();
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (rest, None),
    };
    // For reading, not for following: a masked value is written as is, unencoded.
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let key = pair.split_once('=').map_or(pair, |(key, _)| key);
            let name = form_urlencoded::parse(key.as_bytes()).next().map(|(k, _)| k.into_owned()).unwrap_or_default();
            if shown(&name) {
                pair.to_owned()
            } else {
                let decoded =
                    form_urlencoded::parse(pair.as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default();
                format!("{key}={}", mask(&decoded))
            }
        })
        .collect();
    let mut masked = format!("{base}?{}", pairs.join("&"));
    if let Some(fragment) = fragment {
        masked.push('#');
        masked.push_str(fragment);
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_four_characters() {
        assert_eq!(mask("EAAAl3ikZIe18J-2-cHlV2bL4"), "EAAA…[masked]");
        assert_eq!(mask("short"), "[masked]");
        assert_eq!(Reveal(true).secret("short"), "short");
    }

    #[test]
    fn masks_nested_fields() {
        let value = serde_json::json!({"a": {"access_token": "EAAAl3ikZIe18J-2-cHlV2bL4", "new_secret": "s3cr3t"},
            "merchant_id": "M1", "expires_in": 3600});
        let mut masked = Reveal(false).json(value);
        assert_eq!(masked["a"]["access_token"], "…");
        assert_eq!(masked["a"]["new_secret"], "…", "a field nobody listed is hidden");
        assert_eq!(masked["merchant_id"], "M1");
        assert_eq!(masked["expires_in"], 0);
        let errors = serde_json::json!({"errors": [{"code": "UNAUTHORIZED"}]});
        masked = Reveal(false).json(errors);
        assert_eq!(masked["errors"][0]["code"], "UNAUTHORIZED");
    }

    #[test]
    fn masks_url_parameters() {
        let url = "http://localhost:1/callback?code=sq0cgb-abcdefghijklmnop&state=s&response_type=code";
        let masked = mask_url(url, Reveal(false));
        assert!(!masked.contains("abcdefghijklmnop"));
        assert!(masked.contains("response_type=code"));
    }
}
