//! Masking: how a secret looks when it is shown without `--show-secrets`.
//!
//! A masked value keeps at most its first four characters (enough to tell an `EAAA…` access
//! token from an `EQAA…` refresh token or an `sq0csp-…` secret) and only when the value is long
//! enough that four characters give nothing useful away.

use serde_json::Value;

/// The text that replaces the hidden part of a secret.
pub(crate) const MASK: &str = "…[masked]";

/// Fields of Square's JSON that carry secrets, in requests and answers alike.
const SECRET_FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "client_secret",
    "code",
    "code_verifier",
    "migration_token",
    "id_token",
    "state",
];

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

/// Masks, in place, every string under a secret field name, at any depth.
pub(crate) fn mask_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if SECRET_FIELDS.contains(&key.as_str()) {
                    if let Value::String(text) = field {
                        *text = mask(text);
                    }
                } else if key == "errors" {
                    // Square's error objects carry `code` too: an error code, not a secret.
                } else {
                    mask_json(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        _ => {}
    }
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
            if SECRET_FIELDS.contains(&name.as_str()) {
                let decoded =
                    form_urlencoded::parse(pair.as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default();
                format!("{key}={}", mask(&decoded))
            } else {
                pair.to_owned()
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
        let value = serde_json::json!({"a": {"access_token": "EAAAl3ikZIe18J-2-cHlV2bL4"}, "merchant_id": "M1"});
        let mut masked = Reveal(false).json(value);
        assert_eq!(masked["a"]["access_token"], "EAAA…[masked]");
        assert_eq!(masked["merchant_id"], "M1");
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
