//! The token file: a [`TokenSet`] as JSON, secrets included, mode 0600.

use std::path::Path;

use serde_json::{Value, json};
use square_oauth::TokenSet;
use square_oauth::jiff::Timestamp;

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

/// The bytes of a token file.
pub(crate) fn encode(set: &TokenSet) -> zeroize::Zeroizing<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(&set.with_secrets()).expect("a token set always serializes");
    bytes.push(b'\n');
    zeroize::Zeroizing::new(bytes)
}

/// Prepares the replacement of a token file (see [`Staged`]).
pub(crate) fn stage(path: &Path) -> Result<Staged, Failure> {
    Staged::new(path).map_err(|e| local(format!("cannot write beside {}: {e}", path.display())))
}

/// Writes `set` through a prepared replacement.
pub(crate) fn commit(staged: Staged, path: &Path, set: &TokenSet) -> Result<(), Failure> {
    staged.commit(&encode(set)).map_err(|e| local(format!("cannot write the token file {}: {e}", path.display())))
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
