//! What of a body may be shown: its shape, and the values a caller names.
//!
//! An answer that could not be understood is kept in an [`UnexpectedResponse`](crate::UnexpectedResponse)
//! as an excerpt, for whoever debugs it; the body may hold anything (Square's tokens, a proxy's
//! page echoing a request). Rather than guess which values are secret, the excerpt is built on an
//! allow-list: the structure of the document is kept (keys, nesting, which values are strings,
//! numbers, booleans or `null`) and only the values of Square's error keys
//! ([`ERROR_TEXT_KEYS`]) are shown. Every other value is replaced by a placeholder. A body that is
//! not JSON at all is described by its length alone: an HTML page can quote anything, and its
//! content type is already in the error.

/// The most bytes of a body kept in [`UnexpectedResponse::excerpt`](crate::UnexpectedResponse::excerpt).
pub const EXCERPT_BYTES: usize = 256;

/// The keys whose values are Square's error text, always shown, but only where Square puts them:
/// `category`, `code`, `detail` and `field` in the elements of the top-level `errors` array
/// (the current shape), `message`, `type` and `field` at the top level (the legacy shape), and
/// OAuth's `error` and `error_description` at the top level. Elsewhere the same names are hidden
/// like any other key (a top-level `code` is an authorization code). Square may echo a value it
/// refused in its text, so in an excerpt credential-shaped runs in them are masked all the same.
pub const ERROR_TEXT_KEYS: [&str; 8] =
    ["category", "code", "detail", "field", "type", "message", "error", "error_description"];

/// What replaces a hidden string (and a key that does not read as a field name).
pub const HIDDEN: &str = "…";

/// Keys longer than this, or with other characters than ASCII letters, digits and `_`, are not
/// field names and are hidden like values. No Square credential fits: they are longer or contain
/// `-`.
const KEY_MAX: usize = 40;

/// Whether `key` reads as a field name (up to [`KEY_MAX`] ASCII letters, digits and `_`), and
/// may be shown; any other key may be a value a sender put there.
pub(crate) fn is_field_name(key: &str) -> bool {
    !key.is_empty() && key.len() <= KEY_MAX && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Nesting deeper than this is not shown: bounded recursion on hostile bodies.
const MAX_DEPTH: usize = 32;

/// How much of a body an excerpt reads: hidden values shrink, so it may read more than it keeps,
/// but never more than this.
const WINDOW: usize = 64 * 1024;

/// `body` (a JSON document) with its structure kept and every value hidden, except Square's error
/// text where Square puts it ([`ERROR_TEXT_KEYS`]) and the values of the keys for which `shown`
/// is true, wherever they stand: a hidden string becomes `"…"`, a hidden number `0`;
/// booleans and `null` are kept (the type is the whole value). Keys are kept when they read as
/// field names (up to 40 ASCII letters, digits and `_`), hidden otherwise. Arrays and objects
/// are walked, so a key is judged wherever it stands. The result is JSON when `body` is.
///
/// A body cut short ends with `…`; from the point where a body stops being JSON, nothing is
/// shown and `[not JSON from here]` is written instead.
///
/// ```
/// use square_oauth::redact_json;
///
/// let body = br#"{"access_token":"EAAAl3ik","expires_at":"2026-01-01T00:00:00Z","short_lived":false,
///                 "errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED"}]}"#;
/// let shown = redact_json(body, |key| key == "expires_at");
/// assert_eq!(
///     shown,
///     r#"{"access_token":"…","expires_at":"2026-01-01T00:00:00Z","short_lived":false,"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED"}]}"#
/// );
/// ```
pub fn redact_json(body: &[u8], shown: impl Fn(&str) -> bool) -> String {
    let mut writer = Writer { out: String::with_capacity(body.len().min(4096)), limit: usize::MAX, mask: false };
    write_document(body, &shown, &mut writer);
    writer.out
}

/// The excerpt of a body kept in an error: JSON through [`redact_json`] with Square's error keys
/// shown (credential-shaped runs in them masked), anything else by its length only; at most
/// [`EXCERPT_BYTES`] bytes.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let start = body.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(body.len());
    if !matches!(body.get(start), Some(b'{' | b'[')) {
        return format!("[{} bytes, not JSON]", body.len());
    }
    let window = &body[..body.len().min(WINDOW)];
    let mut writer = Writer { out: String::with_capacity(EXCERPT_BYTES + 8), limit: EXCERPT_BYTES, mask: true };
    write_document(window, &|_: &str| false, &mut writer);
    let mut out = writer.out;
    if out.len() > EXCERPT_BYTES {
        let mut end = EXCERPT_BYTES;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

/// Prefixes of Square's secrets, masked wherever they appear (HTML pages included). A sandbox
/// secret (`sandbox-sq0csb-…`) is caught by its `sq0csb-`.
const SECRET_PREFIXES: [&str; 9] =
    ["EAAA", "EQAA", "sq0csp-", "sq0csb-", "sq0atp-", "sq0cgb-", "sq0cgp-", "Bearer ", "Client "];

/// Shortest run of token characters (letters, digits, `-`, `_`) with both letters and digits
/// that is masked as credential-shaped wherever it appears in Square's free text.
const CREDENTIAL_RUN: usize = 24;

/// Square's free text (an error's `detail`, a gateway's `message`) with every credential-shaped
/// value masked: one of Square's secret prefixes, or a long run of token characters mixing
/// letters and digits. Square may echo a value it refused; the text is kept, the value is not.
pub(crate) fn mask_credentials(text: &str) -> String {
    let text = mask_prefixed(text);
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(c) = rest.chars().next() {
        let run = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).unwrap_or(rest.len());
        if run == 0 {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let word = &rest[..run];
        let shaped = run >= CREDENTIAL_RUN
            && word.bytes().any(|b| b.is_ascii_digit())
            && word.bytes().any(|b| b.is_ascii_alphabetic());
        out.push_str(if shaped { "[REDACTED]" } else { word });
        rest = &rest[run..];
    }
    out
}

/// A serde or serde_json error message with the values it quotes cut out. serde quotes the value
/// it found with `{:?}` (`invalid type: string "EAAA…", expected a boolean`), and a value may be
/// a token, so each quoted run becomes `"…"`. `{:?}` writes a `"` inside the value as `\"`, so a
/// run ends at the first `"` not escaped by a `\`; a run never closed is cut to the end.
pub(crate) fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        out.push_str("\"…\"");
        loop {
            match chars.next() {
                None | Some('"') => break,
                Some('\\') => {
                    chars.next();
                }
                Some(_) => {}
            }
        }
    }
    out
}

/// [`mask_credentials`] for an owned text, which is kept as it is (no copy) when it holds
/// nothing to mask: Square's error details almost never do.
pub(crate) fn masked(text: String) -> String {
    if needs_masking(&text) { mask_credentials(&text) } else { text }
}

/// Whether [`mask_credentials`] would change `text`: one of the secret prefixes is in it, or a
/// credential-shaped run.
fn needs_masking(text: &str) -> bool {
    let bytes = text.as_bytes();
    let class = |b: u8| BYTE_CLASS[usize::from(b)];
    // A prefix is looked for only where its first byte is: one table load a byte.
    for (i, &b) in bytes.iter().enumerate() {
        if class(b) & PREFIX_START != 0
            && SECRET_PREFIXES.iter().any(|prefix| bytes[i..].starts_with(prefix.as_bytes()))
        {
            return true;
        }
    }
    // A run of CREDENTIAL_RUN token characters or more covers one of every CREDENTIAL_RUN
    // consecutive positions, so only those are probed; a probe that lands in a run measures it.
    let mut probe = CREDENTIAL_RUN - 1;
    while probe < bytes.len() {
        if class(bytes[probe]) & TOKEN == 0 {
            probe += CREDENTIAL_RUN;
            continue;
        }
        let before = bytes[..probe].iter().rev().take_while(|&&b| class(b) & TOKEN != 0).count();
        let after = bytes[probe..].iter().take_while(|&&b| class(b) & TOKEN != 0).count();
        let run = &bytes[probe - before..probe + after];
        if run.len() >= CREDENTIAL_RUN {
            let kinds = run.iter().fold(0, |kinds, &b| kinds | class(b));
            if kinds & (DIGIT | ALPHA) == DIGIT | ALPHA {
                return true;
            }
        }
        // On to the first probe past this run.
        probe += after.div_ceil(CREDENTIAL_RUN) * CREDENTIAL_RUN;
    }
    false
}

/// [`BYTE_CLASS`] bits: a token character (letter, digit, `-`, `_`), a digit, a letter, and the
/// first byte of one of [`SECRET_PREFIXES`].
const TOKEN: u8 = 1;
const DIGIT: u8 = 2;
const ALPHA: u8 = 4;
const PREFIX_START: u8 = 8;

/// What each byte is, for [`needs_masking`].
static BYTE_CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_digit() {
            table[b] = TOKEN | DIGIT;
        } else if c.is_ascii_alphabetic() {
            table[b] = TOKEN | ALPHA;
        } else if c == b'-' || c == b'_' {
            table[b] = TOKEN;
        }
        b += 1;
    }
    let mut p = 0;
    while p < SECRET_PREFIXES.len() {
        table[SECRET_PREFIXES[p].as_bytes()[0] as usize] |= PREFIX_START;
        p += 1;
    }
    table
};

/// Masks every run that starts with one of Square's secret prefixes.
fn mask_prefixed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for prefix in SECRET_PREFIXES {
            if rest.starts_with(prefix) {
                out.push_str(prefix);
                out.push_str("[REDACTED]");
                let run = rest[prefix.len()..]
                    .find(|c: char| {
                        !(c.is_ascii_alphanumeric()
                            || c == '-'
                            || c == '_'
                            || c == '.'
                            || c == '~'
                            || c == '+'
                            || c == '/'
                            || c == '=')
                    })
                    .unwrap_or(rest.len() - prefix.len());
                rest = &rest[prefix.len() + run..];
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("rest is not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

struct Writer {
    out: String,
    limit: usize,
    /// Mask credential-shaped runs in shown strings.
    mask: bool,
}

impl Writer {
    fn push(&mut self, text: &str) -> Result<(), Stop> {
        self.out.push_str(text);
        if self.out.len() > self.limit { Err(Stop::Full) } else { Ok(()) }
    }

    fn string(&mut self, text: &str) -> Result<(), Stop> {
        let masked;
        let text = if self.mask && needs_masking(text) {
            masked = mask_credentials(text);
            masked.as_str()
        } else {
            text
        };
        self.push(&quoted(text))
    }
}

/// `text` as a JSON string, escaped as serde_json escapes it (`\"`, `\\`, the short forms of
/// backspace, form feed, newline, carriage return and tab, `\u00xx` for the other controls below
/// U+0020), and DEL and the C1 controls as `\u00xx` too, so that no control character reaches a
/// terminal or a log. Written out rather than through `serde_json::to_string` and `format!`,
/// which kept a serializer and hex formatting in every WebAssembly module for the error path.
fn quoted(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                // Every control character is below U+00A0: two hex digits after `\u00`.
                let code = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[code >> 4 & 15]));
                out.push(char::from(HEX[code & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Why the walk ended early.
enum Stop {
    /// The body ended in the middle of a value.
    Truncated,
    /// The body is not JSON from here on.
    Invalid,
    /// The output reached its limit.
    Full,
}

fn write_document(body: &[u8], shown: &dyn Fn(&str) -> bool, writer: &mut Writer) {
    let mut lexer = Lexer { bytes: body, pos: 0 };
    let result = lexer.value(shown, false, Place::Top, 0, writer).and_then(|()| {
        lexer.skip_whitespace();
        if lexer.pos < body.len() { Err(Stop::Invalid) } else { Ok(()) }
    });
    match result {
        Ok(()) | Err(Stop::Full) => {}
        Err(Stop::Truncated) => writer.out.push('…'),
        Err(Stop::Invalid) => writer.out.push_str("[not JSON from here]"),
    }
}

/// Where a value stands, as far as Square's error shapes go: only there are its error keys
/// shown (a top-level `code` could be an authorization code echoed back; `errors[0].code` is
/// Square's error code).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// The document itself: the legacy shape's `message`, `type`, `field`, and OAuth's `error`,
    /// `error_description`, live here.
    Top,
    /// The top-level `errors` array.
    Errors,
    /// An element of it: the current shape's `category`, `code`, `detail`, `field`.
    Error,
    /// Anywhere else.
    Elsewhere,
}

impl Place {
    fn shows(self, key: &str) -> bool {
        match self {
            Place::Top => matches!(key, "message" | "type" | "field" | "error" | "error_description"),
            Place::Error => matches!(key, "category" | "code" | "detail" | "field"),
            Place::Errors | Place::Elsewhere => false,
        }
    }

    /// The place of the value of `key` in an object at this place.
    fn member(self, key: &str) -> Place {
        if self == Place::Top && key == "errors" { Place::Errors } else { Place::Elsewhere }
    }

    /// The place of an element of an array at this place.
    fn element(self) -> Place {
        if self == Place::Errors { Place::Error } else { Place::Elsewhere }
    }
}

/// Whether `text` is a JSON number: `-`, an integer without leading zeros, then optionally a
/// fraction and an exponent (RFC 8259, section 6). Checked by hand rather than by parsing it with
/// serde_json, which would bring its floating-point reader (and its tables) into every module.
fn is_json_number(text: &[u8]) -> bool {
    fn digits(text: &[u8], at: usize) -> usize {
        text[at..].iter().take_while(|b| b.is_ascii_digit()).count()
    }
    let mut at = usize::from(text.first() == Some(&b'-'));
    match text.get(at) {
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => at += digits(text, at),
        _ => return false,
    }
    if text.get(at) == Some(&b'.') {
        let fraction = digits(text, at + 1);
        if fraction == 0 {
            return false;
        }
        at += 1 + fraction;
    }
    if matches!(text.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(text.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let exponent = digits(text, at);
        if exponent == 0 {
            return false;
        }
        at += exponent;
    }
    at == text.len()
}

struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    fn skip_whitespace(&mut self) {
        while self.bytes.get(self.pos).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Result<u8, Stop> {
        self.skip_whitespace();
        self.bytes.get(self.pos).copied().ok_or(Stop::Truncated)
    }

    /// The string starting at the current `"`, decoded.
    fn string(&mut self) -> Result<String, Stop> {
        let start = self.pos;
        let mut i = start + 1;
        loop {
            match self.bytes.get(i) {
                None => return Err(Stop::Truncated),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        serde_json::from_slice::<String>(&self.bytes[start..=i]).map_err(|_| Stop::Invalid)
    }

    fn value(
        &mut self,
        shown: &dyn Fn(&str) -> bool,
        show: bool,
        place: Place,
        depth: usize,
        writer: &mut Writer,
    ) -> Result<(), Stop> {
        if depth > MAX_DEPTH {
            return Err(Stop::Invalid);
        }
        match self.peek()? {
            b'{' => self.object(shown, place, depth, writer),
            b'[' => self.array(shown, place, depth, writer),
            b'"' => {
                let text = self.string()?;
                if show { writer.string(&text) } else { writer.push("\"…\"") }
            }
            b't' => self.literal("true", writer),
            b'f' => self.literal("false", writer),
            b'n' => self.literal("null", writer),
            b'-' | b'0'..=b'9' => {
                let start = self.pos;
                while self
                    .bytes
                    .get(self.pos)
                    .is_some_and(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                {
                    self.pos += 1;
                }
                let number = &self.bytes[start..self.pos];
                if !is_json_number(number) {
                    return Err(Stop::Invalid);
                }
                // Only ASCII digits, signs, `.`, `e` and `E` were taken.
                let text = core::str::from_utf8(number).map_err(|_| Stop::Invalid)?;
                writer.push(if show { text } else { "0" })
            }
            _ => Err(Stop::Invalid),
        }
    }

    fn literal(&mut self, word: &'static str, writer: &mut Writer) -> Result<(), Stop> {
        let rest = &self.bytes[self.pos..];
        if rest.starts_with(word.as_bytes()) {
            self.pos += word.len();
            writer.push(word)
        } else if word.as_bytes().starts_with(rest) {
            Err(Stop::Truncated)
        } else {
            Err(Stop::Invalid)
        }
    }

    fn object(
        &mut self,
        shown: &dyn Fn(&str) -> bool,
        place: Place,
        depth: usize,
        writer: &mut Writer,
    ) -> Result<(), Stop> {
        self.pos += 1;
        writer.push("{")?;
        if self.peek()? == b'}' {
            self.pos += 1;
            return writer.push("}");
        }
        loop {
            if self.peek()? != b'"' {
                return Err(Stop::Invalid);
            }
            let key = self.string()?;
            let is_name = is_field_name(&key);
            if is_name {
                writer.push("\"")?;
                writer.push(&key)?;
                writer.push("\"")?;
            } else {
                writer.push("\"…\"")?;
            }
            if self.peek()? != b':' {
                return Err(Stop::Invalid);
            }
            self.pos += 1;
            writer.push(":")?;
            let show = is_name && (place.shows(&key) || shown(&key));
            self.value(shown, show, place.member(&key), depth + 1, writer)?;
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    writer.push(",")?;
                }
                b'}' => {
                    self.pos += 1;
                    return writer.push("}");
                }
                _ => return Err(Stop::Invalid),
            }
        }
    }

    fn array(
        &mut self,
        shown: &dyn Fn(&str) -> bool,
        place: Place,
        depth: usize,
        writer: &mut Writer,
    ) -> Result<(), Stop> {
        self.pos += 1;
        writer.push("[")?;
        if self.peek()? == b']' {
            self.pos += 1;
            return writer.push("]");
        }
        loop {
            // An element is judged by its own keys, never by the key of the array.
            self.value(shown, false, place.element(), depth + 1, writer)?;
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    writer.push(",")?;
                }
                b']' => {
                    self.pos += 1;
                    return writer.push("]");
                }
                _ => return Err(Stop::Invalid),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_cut_from_serde_messages_escapes_and_all() {
        assert_eq!(
            without_quoted_values(r#"invalid type: string "EAAAx", expected a boolean"#),
            r#"invalid type: string "…", expected a boolean"#
        );
        // serde writes the value with `{:?}`: a quote inside it is escaped and does not end it.
        let echoed = r#"rejected {"client_secret":"sq0csp-XYZ","code":"sq0cgb-ABC"} \ end"#;
        let message = format!("invalid type: string {echoed:?}, expected a sequence at line 1 column 90");
        assert_eq!(
            without_quoted_values(&message),
            r#"invalid type: string "…", expected a sequence at line 1 column 90"#
        );
        assert_eq!(without_quoted_values(r#"a "never closed \" sq0csp-XYZ"#), r#"a "…""#);
    }

    proptest::proptest! {
        /// Whatever the value, its `{:?}` between two texts leaves exactly the texts.
        #[test]
        fn any_debug_quoted_value_is_cut(value in ".*", before in "[a-z :,]{0,20}", after in "[a-z :,0-9]{0,20}") {
            let message = format!("{before}{value:?}{after}");
            proptest::prop_assert_eq!(without_quoted_values(&message), format!("{before}\"…\"{after}"));
        }
    }

    #[test]
    fn every_secret_prefix_is_found_by_the_shortcut() {
        for prefix in SECRET_PREFIXES {
            assert!(needs_masking(&format!("a {prefix}x")), "{prefix}");
        }
    }

    #[test]
    fn a_credential_run_is_found_wherever_it_stands() {
        // Runs of 23 and 24 mixed characters at every offset, alone and behind a shorter run
        // that a probe lands in first: only the probes every 24 bytes look at a run.
        for offset in 0..60 {
            for len in [23, 24, 30] {
                let run: String = "a1".chars().cycle().take(len).collect();
                for before in [" ".repeat(offset), format!("{} x1y2z ", " ".repeat(offset))] {
                    let text = format!("{before}{run} tail");
                    assert_eq!(needs_masking(&text), len >= CREDENTIAL_RUN, "{text:?}");
                    assert_eq!(needs_masking(&text), mask_credentials(&text) != text, "{text:?}");
                }
            }
        }
        // Letters alone, or digits alone, are not credential-shaped however long.
        assert!(!needs_masking(&"a".repeat(100)) && !needs_masking(&"1".repeat(100)));
    }

    proptest::proptest! {
        /// The shortcut changes nothing: a text `needs_masking` lets through is exactly what
        /// `mask_credentials` would have made of it, and one it stops is changed by it.
        #[test]
        fn the_no_mask_shortcut_is_exact(
            text in proptest::string::string_regex("([a-zA-Z0-9_ .=/+~-]{0,30}|EAAA|EQAA|sq0csp-|Bearer |Client |é|[0-9]{24}|[a-z0-9]{24,30}){0,6}").unwrap()
        ) {
            let full = mask_credentials(&text);
            proptest::prop_assert_eq!(needs_masking(&text), full != text, "{}", text);
            proptest::prop_assert_eq!(masked(text.clone()), full);
        }

        /// The hand-written quoting is serde_json's, with DEL and the C1 controls escaped too.
        #[test]
        fn a_shown_string_is_quoted_as_serde_json_quotes_it(text in "(\\PC|[\\x00-\\x1f\\x7f-\\u{9f}\"\\\\/])*") {
            let encoded = serde_json::to_string(&text).unwrap();
            let expected: String = encoded
                .chars()
                .map(|c| if c.is_control() { format!("\\u{:04x}", u32::from(c)) } else { c.to_string() })
                .collect();
            proptest::prop_assert_eq!(quoted(&text), expected);
        }

        /// The hand-written number check accepts exactly what serde_json's grammar does
        /// (read as `IgnoredAny`, which checks the syntax without making a float, so that
        /// `1e999` counts as the JSON it is).
        #[test]
        fn a_json_number_is_what_serde_json_reads(
            text in proptest::string::string_regex("-?[0-9]{0,3}(\\.[0-9]{0,2})?([eE][-+]?[0-9]{0,3})?|[-+0-9.eE]{0,8}").unwrap()
        ) {
            let serde = serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok();
            proptest::prop_assert_eq!(is_json_number(text.as_bytes()), serde, "{}", text);
        }
    }

    #[test]
    fn only_square_error_text_is_shown() {
        let body = br#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED","detail":"Bad token"}],
            "access_token":"s3cr3t","merchant_id":"M1","expires_in":3600,"short_lived":true,"plan_id":null}"#;
        assert_eq!(
            excerpt(body),
            r#"{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED","detail":"Bad token"}],"access_token":"…","merchant_id":"…","expires_in":0,"short_lived":true,"plan_id":null}"#
        );
    }

    #[test]
    fn shown_error_text_carries_no_control_character() {
        // JSON leaves DEL and the C1 controls unescaped; a terminal reads some of them.
        let body = "{\"errors\":[{\"category\":\"A\u{7f}B\u{9b}C\"}]}".as_bytes();
        let shown = excerpt(body);
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(shown.contains(r"A\u007fB\u009bC"), "{shown:?}");
    }

    #[test]
    fn a_truncated_body_keeps_its_shape_up_to_the_cut() {
        assert_eq!(
            excerpt(br#"{"access_token":"abc-secret-1","token_type":"bearer","refresh_token":"xyz"#),
            r#"{"access_token":"…","token_type":"…","refresh_token":…"#
        );
        assert_eq!(
            excerpt(br#"{"message":"bad authorization header","type":"bad_req"#),
            r#"{"message":"bad authorization header","type":…"#
        );
    }

    #[test]
    fn text_that_stops_being_json_is_not_shown_from_there() {
        let text = excerpt(br#"{"a":"s3cr3t" s4cr3t "b":1}"#);
        assert_eq!(text, r#"{"a":"…"[not JSON from here]"#);
        let text = excerpt(br#"{"message":"ok"} trailing s3cr3t"#);
        assert_eq!(text, r#"{"message":"ok"}[not JSON from here]"#);
    }

    #[test]
    fn keys_that_are_not_field_names_are_hidden_too() {
        let text = excerpt(br#"{"EAAAl3ikZIe18J-2-cHlV2bL4":1,"access\u005ftoken":"s3cr3t","code":{"a":"s4"}}"#);
        assert_eq!(text, r#"{"…":0,"access_token":"…","code":{"a":"…"}}"#);
    }

    #[test]
    fn a_body_that_is_not_json_is_only_measured() {
        let html = b"<html><body>Bad gateway for sq0csp-abc Authorization: Bearer s3cr3t</body></html>";
        assert_eq!(excerpt(html), format!("[{} bytes, not JSON]", html.len()));
        assert_eq!(excerpt(b""), "[0 bytes, not JSON]");
    }

    #[test]
    fn excerpts_are_bounded_and_free_of_control_characters() {
        let long = format!(r#"{{"errors":[{}]}}"#, vec![r#"{"code":"RATE_LIMITED"}"#; 1000].join(","));
        let text = excerpt(long.as_bytes());
        assert!(text.len() <= EXCERPT_BYTES && text.len() > EXCERPT_BYTES - 30, "{}", text.len());
        assert_eq!(excerpt(b"{\"message\":\"a\\nb\\u0000c\"}"), r#"{"message":"a\nb\u0000c"}"#);
        let deep = "[".repeat(100_000);
        assert_eq!(excerpt(deep.as_bytes()), format!("{}[not JSON from here]", "[".repeat(MAX_DEPTH + 1)));
        // Objects count toward the depth as arrays do.
        let deep = r#"{"a":"#.repeat(100_000);
        assert_eq!(excerpt(deep.as_bytes()), format!("{}[not JSON from here]", r#"{"a":"#.repeat(MAX_DEPTH + 1)));
    }

    #[test]
    fn sandbox_secrets_and_credentials_in_free_text_are_masked() {
        let secret = "sandbox-sq0csb-9XqY2kLmN0pQrStUvWxYz1234567890abcdEF";
        let opaque = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg";
        let detail = format!("The token {opaque} is not valid for merchant MLQW2MYBY81PZ (see {secret}).");
        assert_eq!(
            mask_credentials(&detail),
            "The token [REDACTED] is not valid for merchant MLQW2MYBY81PZ (see sandbox-sq0csb-[REDACTED])."
        );
    }

    #[test]
    fn credentials_echoed_in_error_text_are_masked() {
        let text = excerpt(br#"{"message":"client_secret sandbox-sq0csb-abcdefghijklmnop0123456789 refused"}"#);
        assert_eq!(text, r#"{"message":"client_secret sandbox-sq0csb-[REDACTED] refused"}"#);
    }

    #[test]
    fn an_excerpt_reads_past_hidden_values_up_to_its_window() {
        // A hidden value shrinks to `…`: Square's message after 10 KB of it is still shown,
        // and one past the 64 KiB window is not read.
        let near = format!(r#"{{"access_token":"{}","message":"Not Authorized"}}"#, "x".repeat(10_000));
        assert_eq!(excerpt(near.as_bytes()), r#"{"access_token":"…","message":"Not Authorized"}"#);
        let far = format!(r#"{{"access_token":"{}","message":"Not Authorized"}}"#, "x".repeat(WINDOW));
        assert_eq!(excerpt(far.as_bytes()), r#"{"access_token":…"#);
    }

    #[test]
    fn an_excerpt_cut_inside_a_character_is_cut_before_it() {
        // Two-byte characters from an odd offset: byte 256 falls inside one of them.
        let body = format!(r#"{{"message":"-{}"}}"#, "é".repeat(200));
        let text = excerpt(body.as_bytes());
        assert_eq!(text.len(), EXCERPT_BYTES - 1, "{text}");
        assert!(text.ends_with('é'));
    }

    #[test]
    fn a_credential_run_joined_by_dashes_or_underscores_is_one_run() {
        // Each half is shorter than a credential; joined, they are one.
        for joiner in ['_', '-'] {
            let value = format!("AbCdEfGhIjKl{joiner}0123456789ab");
            assert_eq!(mask_credentials(&format!("bad value {value}.")), "bad value [REDACTED].", "{joiner}");
            assert_eq!(masked(format!("bad value {value}.")), "bad value [REDACTED].", "{joiner}");
        }
    }

    #[test]
    fn a_value_the_caller_shows_is_shown_as_it_is() {
        // `redact_json` masks nothing it was asked to show, however credential-shaped: only the
        // excerpt masks Square's text.
        let body = br#"{"merchant_id":"MLQW2MYBY81PZ0123456789ab","message":"EAAAsecret0123456789abcdef"}"#;
        let shown = redact_json(body, |key| key == "merchant_id");
        assert_eq!(shown, r#"{"merchant_id":"MLQW2MYBY81PZ0123456789ab","message":"EAAAsecret0123456789abcdef"}"#);
        assert_eq!(excerpt(body), r#"{"merchant_id":"…","message":"EAAA[REDACTED]"}"#);
    }

    #[test]
    fn error_keys_are_shown_only_in_the_top_level_errors_array() {
        // An array under another top-level key, and an `errors` array below the top, are not
        // Square's error list: a `code` there may be an authorization code.
        let body = br#"{"data":[{"code":"AUTHCODE1","detail":"d"}],"x":{"errors":[{"code":"AUTHCODE2"}]}}"#;
        assert_eq!(excerpt(body), r#"{"data":[{"code":"…","detail":"…"}],"x":{"errors":[{"code":"…"}]}}"#);
        let square = br#"{"errors":[{"code":"UNAUTHORIZED","detail":"d"}]}"#;
        assert_eq!(excerpt(square), r#"{"errors":[{"code":"UNAUTHORIZED","detail":"d"}]}"#);
    }

    #[test]
    fn a_prefixed_secret_is_masked_through_every_character_a_token_may_hold() {
        // Base64, base64url and JWT characters continue the secret; a space ends it.
        for c in ['-', '_', '.', '~', '+', '/', '=', '7', 'x'] {
            let text = format!("bad sq0csp-ab{c}cd ok");
            assert_eq!(mask_credentials(&text), "bad sq0csp-[REDACTED] ok", "{c}");
        }
    }
}
