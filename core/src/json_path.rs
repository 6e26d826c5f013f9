//! Where in a JSON document serde stopped: the path of the value it was reading (`.` for the
//! document itself, `errors[1].code`, `data.object.revocation`), found from the position
//! serde_json reports, so that a malformed answer's error can name the field without a second,
//! path-tracking deserialization of every answer type (which doubled their code in a
//! WebAssembly module).

/// The deepest path shown; a deeper one ends in `.…`.
const MAX_DEPTH: usize = 10;

/// One open object or array on the way to the position.
enum Frame {
    /// An object, and the key whose value is being read (`None` between members).
    Object(Option<String>),
    /// An array, the index of the element, and whether that element has begun.
    Array(usize, bool),
}

/// The path of the value `error` was raised in, `bytes` being what serde_json read.
pub(crate) fn path_of(bytes: &[u8], error: &serde_json::Error) -> String {
    let message = error.to_string();
    let about_object = ["missing field", "duplicate field", "unknown field", "invalid length"]
        .iter()
        .any(|prefix| message.starts_with(prefix));
    path_at(bytes, error.line(), error.column(), error.is_data() && !about_object)
}

/// The byte offset just past serde_json's `line` and `column` (both 1-based; the column counts
/// bytes): everything serde read before it stopped.
fn offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(newline) => start += newline + 1,
            None => return bytes.len(),
        }
    }
    (start + column).min(bytes.len())
}

/// The path of the value being read when serde_json stopped at `line`:`column` of `bytes`,
/// in serde_path_to_error's notation. `last_member`: the error may be a value's own (a custom
/// message that is not about a missing or repeated field), which serde_json reports after the
/// end of the object holding it. Only keys that read as field names are shown; any other
/// key (it may be a value a sender put there) is written `?`.
fn path_at(bytes: &[u8], line: usize, column: usize, last_member: bool) -> String {
    let read = &bytes[..offset(bytes, line, column)];
    let mut frames: Vec<Frame> = Vec::new();
    // Whether the next string in the innermost object is a key (before its `:`).
    let mut expecting_key = false;
    let mut pos = 0;
    // The path of the last member of the object most recently closed, and where it closed.
    let (mut closed, mut closed_at) = (None, 0);
    while let Some(&b) = read.get(pos) {
        match b {
            b'{' | b'[' | b'"' | b't' | b'f' | b'n' | b'-' | b'0'..=b'9' => {
                if let Some(Frame::Array(_, begun)) = frames.last_mut() {
                    *begun = true;
                }
            }
            _ => {}
        }
        match b {
            b'{' => {
                frames.push(Frame::Object(None));
                expecting_key = true;
            }
            b'[' => {
                frames.push(Frame::Array(0, false));
                expecting_key = false;
            }
            b'}' | b']' => {
                closed = (b == b'}' && matches!(frames.last(), Some(Frame::Object(Some(_))))).then(|| render(&frames));
                closed_at = pos + 1;
                frames.pop();
                expecting_key = false;
            }
            b':' => expecting_key = false,
            b',' => match frames.last_mut() {
                Some(Frame::Object(key)) => {
                    *key = None;
                    expecting_key = true;
                }
                Some(Frame::Array(index, begun)) => {
                    *index += 1;
                    *begun = false;
                }
                None => {}
            },
            b'"' => {
                let start = pos + 1;
                let mut end = start;
                while let Some(&c) = read.get(end) {
                    match c {
                        b'\\' => end += 2,
                        b'"' => break,
                        _ => end += 1,
                    }
                }
                if let (true, Some(Frame::Object(key))) = (expecting_key && end < read.len(), frames.last_mut()) {
                    let text = core::str::from_utf8(&read[start..end]).unwrap_or_default();
                    *key = Some(if crate::redact::is_field_name(text) { text } else { "?" }.to_owned());
                }
                pos = end;
            }
            _ => {}
        }
        pos += 1;
    }
    // An array whose next element serde has peeked at but not read: an error there (an object
    // expected, an array found) is that element's.
    let rest = &bytes[read.len()..];
    if let Some(Frame::Array(_, begun)) = frames.last_mut() {
        *begun |= rest.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|&b| b != b']');
    }
    // serde_json places an error raised by a value's own Deserialize (a custom message) after
    // the end of the object holding it when that value was the object's last member: the
    // member, not the object, is the place, unless the error is about the object itself.
    let trailing = read[closed_at.min(read.len())..].iter().all(u8::is_ascii_whitespace);
    match closed {
        Some(member) if last_member && trailing => member,
        _ => render(&frames),
    }
}

/// The path through `frames`, in serde_path_to_error's notation.
fn render(frames: &[Frame]) -> String {
    let mut path = String::new();
    for (depth, frame) in frames.iter().enumerate() {
        // Square's answers are a few levels deep; a hostile body may be thousands.
        if depth == MAX_DEPTH {
            path.push_str(".…");
            break;
        }
        match frame {
            Frame::Object(Some(key)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Array(index, true) => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
            Frame::Object(None) | Frame::Array(_, false) => break,
        }
    }
    if path.is_empty() { ".".to_owned() } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path serde_json's own error position gives, for `T` read from `body`.
    fn path<T: serde::de::DeserializeOwned + core::fmt::Debug>(body: &str) -> String {
        path_of(body.as_bytes(), &serde_json::from_str::<T>(body).unwrap_err())
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        errors: Vec<Inner>,
        #[serde(default)]
        nested: Option<Box<Outer>>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        code: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Timed {
        name: String,
        #[serde(with = "crate::time::rfc3339")]
        at: jiff::Timestamp,
    }

    #[test]
    fn the_path_names_the_value_serde_stopped_in() {
        assert_eq!(path::<Outer>(r#"{"name": 7, "errors": []}"#), "name");
        assert_eq!(path::<Outer>(r#"{"name": "a", "errors": [{"code": "X"}, {"code": 7}]}"#), "errors[1].code");
        assert_eq!(path::<Outer>(r#"{"name": "a", "errors": [{"code": "X"}, {}]}"#), "errors[1]");
        assert_eq!(
            path::<Outer>(r#"{"name": "a", "errors": [], "nested": {"name": "b", "errors": 3}}"#),
            "nested.errors"
        );
        assert_eq!(path::<Outer>(r#"{"name": "a"}"#), ".");
        assert_eq!(path::<Outer>("{\"name\": \"a\",\n \"errors\": [\n{\"code\": [1]}]}"), "errors[0].code");
        assert_eq!(path::<Outer>(r#"{"name": "a", "errors": []} x"#), ".");
        assert_eq!(path::<Outer>(r#"{"name": "a", "err"#), ".");
        assert_eq!(path::<Outer>(r#"{"name": "a", "errors": [{"code": "X\"y"#), "errors[0].code");
        assert_eq!(path::<serde_json::Value>(&r#"{"a":"#.repeat(200)), format!("{}…", "a.".repeat(10)));
        // A value's own error, in the last member of its object, and a missing field.
        assert_eq!(path::<Timed>(r#"{"name": "a", "at": "yesterday"}"#), "at");
        assert_eq!(path::<Timed>(r#"{"at": "yesterday", "name": "a"}"#), "at");
        assert_eq!(path::<Timed>(r#"{"at": "2026-01-01T00:00:00Z"}"#), ".");
        assert_eq!(
            path::<Vec<Timed>>(r#"[{"name": "a", "at": "2026-01-01T00:00:00Z"}, {"name": "b", "at": "x"}]"#),
            "[1].at"
        );
        // A key that is not a field name is not repeated.
        assert_eq!(path::<std::collections::HashMap<String, u8>>(r#"{"EAAA-secret": "x"}"#), "?");
    }

    /// The shape of a revocation webhook, as `webhook.rs` reads it.
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Event {
        merchant_id: String,
        #[serde(with = "crate::time::rfc3339")]
        created_at: jiff::Timestamp,
        #[serde(default)]
        data: Option<Data>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Data {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        object: Option<Object>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Object {
        #[serde(default)]
        revocation: Option<Revocation>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Revocation {
        #[serde(default, with = "crate::time::rfc3339::option")]
        revoked_at: Option<jiff::Timestamp>,
        #[serde(default)]
        revoker_type: Option<String>,
    }

    /// Every place in `value` (as paths of keys and indices), the document itself included.
    fn places(value: &serde_json::Value, at: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(at.clone());
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    let mut next = at.clone();
                    next.push(key.clone());
                    places(inner, next, out);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    let mut next = at.clone();
                    next.push(i.to_string());
                    places(inner, next, out);
                }
            }
            _ => {}
        }
    }

    fn replaced(value: &mut serde_json::Value, place: &[String], with: serde_json::Value) {
        match place.split_first() {
            None => *value = with,
            Some((step, rest)) => match value {
                serde_json::Value::Object(map) => replaced(map.get_mut(step).unwrap(), rest, with),
                serde_json::Value::Array(items) => replaced(&mut items[step.parse::<usize>().unwrap()], rest, with),
                _ => unreachable!(),
            },
        }
    }

    /// The path serde_path_to_error names, and ours, for `T` read from `body`; `None` if it reads.
    fn both<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<(String, String)> {
        let theirs = serde_path_to_error::deserialize::<_, T>(&mut serde_json::Deserializer::from_slice(body));
        let theirs = theirs.err()?.path().to_string();
        let ours = path_of(body, &serde_json::from_slice::<T>(body).err()?);
        Some((theirs, ours))
    }

    fn wrong() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        proptest::prop_oneof![
            proptest::strategy::Just(serde_json::json!(7)),
            proptest::strategy::Just(serde_json::json!(true)),
            proptest::strategy::Just(serde_json::json!("not a time")),
            proptest::strategy::Just(serde_json::json!([])),
            proptest::strategy::Just(serde_json::json!({})),
            proptest::strategy::Just(serde_json::json!({"a": [1, {"b": 2}]})),
            proptest::strategy::Just(serde_json::Value::Null),
        ]
    }

    proptest::proptest! {
        /// Any one value of a real answer's or webhook's shape made the wrong type: the path is
        /// the one serde_path_to_error gives.
        #[test]
        fn the_path_is_serde_path_to_error_s(pick in proptest::prelude::any::<proptest::sample::Index>(), with in wrong(), webhook in proptest::prelude::any::<bool>(), spaced in proptest::prelude::any::<bool>()) {
            let mut value = if webhook {
                serde_json::json!({"merchant_id": "M1", "type": "oauth.authorization.revoked", "created_at": "2026-01-01T00:00:00Z",
                    "data": {"type": "revocation", "id": "x", "object": {"revocation": {"revoked_at": "2026-01-01T00:00:00Z", "revoker_type": "MERCHANT"}}}})
            } else {
                serde_json::json!({"errors": [{"category": "API_ERROR", "code": "X", "detail": "d", "field": "f"}, {"code": "Y"}],
                    "message": "m", "type": "t", "field": "f"})
            };
            let mut all = Vec::new();
            places(&value, Vec::new(), &mut all);
            let place = pick.get(&all).clone();
            replaced(&mut value, &place, with);
            let body = if spaced { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) }.unwrap();
            let paths = if webhook { both::<Event>(body.as_bytes()) } else { both::<crate::answer::ErrorFields>(body.as_bytes()) };
            if let Some((theirs, ours)) = paths {
                proptest::prop_assert_eq!(ours, theirs, "{}", body);
            }
        }
    }
}
