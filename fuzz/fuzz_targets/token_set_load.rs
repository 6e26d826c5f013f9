//! A stored `TokenSet` read back from any bytes (a token file is input too): never panics, and
//! what loads is written and loaded again unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use square_oauth::TokenSet;

fuzz_target!(|data: &[u8]| {
    let Ok(tokens) = serde_json::from_slice::<TokenSet>(data) else { return };
    let _ = format!("{tokens:?}");
    let stored = serde_json::to_vec(&tokens.with_secrets()).expect("a loaded set can be stored");
    let again: TokenSet = serde_json::from_slice(&stored).expect("a stored set loads");
    assert_eq!(again, tokens);
});
