//! The token file: a [`TokenSet`] as JSON, secrets included, mode 0600.

use std::path::Path;

use serde_json::{Value, json};
use square_oauth::jiff::Timestamp;
use square_oauth::{TokenSet, WipingBuffer};

use crate::atomic::Staged;
use crate::context::local;
use crate::failure::Failure;
use crate::mask::Reveal;

/// Reads a token file; an unreadable or ill-formed one is a usage error (exit 2).
pub(crate) fn read(path: &Path) -> Result<TokenSet, Failure> {
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| Failure::usage(format!("cannot read the token file {}: {e}", path.display())))?,
    );
    serde_json::from_slice::<TokenSet>(&bytes).map_err(|e| {
        // serde's messages may quote the value they choked on (a token in the wrong field):
        // only "missing field" ones, which quote a field name, are shown whole.
        let message = e.to_string();
        let what = if message.starts_with("missing field") {
            message
        } else {
            let kind = match e.classify() {
                serde_json::error::Category::Syntax => "not valid JSON",
                serde_json::error::Category::Eof => "cut short",
                serde_json::error::Category::Data => "not shaped like a token set",
                serde_json::error::Category::Io => "unreadable",
            };
            format!("{kind} at line {} column {}", e.line(), e.column())
        };
        Failure::usage(format!("{} is not a token file written by `square-oauth login`: {what}", path.display()))
    })
}

/// The bytes of a token file, in memory wiped as it grows and when dropped: serde_json's own
/// `to_vec_pretty` grows a `Vec` from 128 bytes, and each storage it outgrows would be freed
/// with the tokens in it.
pub(crate) fn encode(set: &TokenSet) -> WipingBuffer {
    let mut bytes = WipingBuffer::with_capacity(1024);
    serde_json::to_writer_pretty(&mut bytes, &set.with_secrets()).expect("a token set always serializes");
    bytes.push(b"\n").expect("a buffer without a cap takes any write");
    bytes
}

/// Prepares the replacement of a token file (see [`Staged`]).
pub(crate) fn stage(path: &Path) -> Result<Staged, Failure> {
    Staged::new(path).map_err(|e| local(format!("cannot write beside {}: {e}", path.display())))
}

/// Writes `set` through a prepared replacement.
pub(crate) fn commit(staged: Staged, path: &Path, set: &TokenSet) -> Result<(), Failure> {
    staged
        .commit(encode(set).as_slice())
        .map_err(|e| local(format!("cannot write the token file {}: {e}", path.display())))
}

/// The set as shown: every field, the tokens masked unless `--show-secrets`. With secrets
/// shown, it is exactly a token file.
pub(crate) fn view(set: &TokenSet, reveal: Reveal) -> Value {
    if reveal.0 {
        return serde_json::to_value(set.with_secrets()).expect("a token set always serializes");
    }
    let mut value = serde_json::to_value(set).expect("a token set always serializes");
    if let Value::Object(map) = &mut value {
        map.insert("access_token".into(), json!(reveal.secret(set.access_token().expose_secret())));
        if let Some(refresh) = set.refresh_token() {
            map.insert("refresh_token".into(), json!(reveal.secret(refresh.expose_secret())));
        }
    }
    value
}

/// `2026-09-28T10:00:00Z (in 30 days)`, for people.
pub(crate) fn when(at: Timestamp, now: Timestamp) -> String {
    let seconds = at.as_second() - now.as_second();
    let (amount, unit) = match seconds.abs() {
        s if s >= 2 * 86_400 => (s / 86_400, "days"),
        s if s >= 2 * 3_600 => (s / 3_600, "hours"),
        s if s >= 120 => (s / 60, "minutes"),
        s => (s, "seconds"),
    };
    let at = at.round(square_oauth::jiff::Unit::Second).unwrap_or(at);
    if seconds >= 0 { format!("{at} (in {amount} {unit})") } else { format!("{at} ({amount} {unit} ago)") }
}

#[cfg(test)]
mod tests {
    use square_oauth::{ClientId, Flow, ObtainTokenResponse};

    use super::*;

    /// The file is what serde_json's pretty printer writes, whatever its length, plus a newline:
    /// the wiped buffer changes where the bytes are kept, not what they are.
    #[test]
    fn a_token_file_is_the_token_set_pretty_printed() {
        for length in [8, 1_000, 5_000] {
            let token = "x".repeat(length);
            let answer: ObtainTokenResponse = serde_json::from_value(json!({
                "access_token": format!("EAAA{token}"), "token_type": "bearer",
                "expires_at": "2026-07-31T00:00:00Z", "merchant_id": "MLQW2MYBY81PZ",
                "refresh_token": format!("EQAA{token}"), "short_lived": false
            }))
            .unwrap();
            let obtained: Timestamp = "2026-07-01T00:00:00Z".parse().unwrap();
            let set = TokenSet::from_response(Flow::Pkce, ClientId::new("sq0idp-app"), answer, obtained).unwrap();
            let mut expected = serde_json::to_vec_pretty(&set.with_secrets()).unwrap();
            expected.push(b'\n');
            assert_eq!(encode(&set).as_slice(), &expected[..]);
        }
    }
}
