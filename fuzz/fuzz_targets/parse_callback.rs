//! `parse_callback`: the expected state on the first line, the redirect after it.
//!
//! Besides never panicking: a code comes back only when the redirect carried exactly that state,
//! and it is never empty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use square_oauth::{CallbackError, Error, State, parse_callback};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (expected, redirect) = text.split_once('\n').unwrap_or(("state-0123456789", text.as_ref()));
    let state = State::new(expected);
    let result = parse_callback(redirect, &state);
    let _ = format!("{result:?}");
    match result {
        Ok(code) => {
            assert!(!code.expose_secret().is_empty());
            // Wherever the core decided the query starts (the whole text, or after some `?`),
            // that query held the expected state exactly once and this very code.
            let without_fragment = redirect.split('#').next().unwrap_or_default();
            let candidates = std::iter::once(without_fragment)
                .chain(without_fragment.match_indices('?').map(|(at, _)| &without_fragment[at + 1..]));
            let explained = candidates.into_iter().any(|query| {
                let pairs: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
                let states: Vec<_> = pairs.iter().filter(|(k, _)| k == "state").collect();
                let codes: Vec<_> = pairs.iter().filter(|(k, _)| k == "code").collect();
                states.len() == 1 && states[0].1 == expected && codes.len() == 1 && codes[0].1 == code.expose_secret()
            });
            assert!(explained, "a code that no reading of the redirect carries under the expected state");
        }
        Err(Error::Callback(CallbackError::Denied { error, description })) => {
            let _ = (error, description);
        }
        Err(error) => {
            let printed = format!("{error} {error:?}");
            // The expected state is a secret; an error never prints it.
            let distinctive = expected.len() >= 8
                && expected.bytes().any(|b| b.is_ascii_digit())
                && expected.bytes().any(|b| b.is_ascii_alphabetic());
            if distinctive && !redirect.contains(expected) {
                assert!(!printed.contains(expected), "the expected state was printed: {printed}");
            }
        }
    }
});
