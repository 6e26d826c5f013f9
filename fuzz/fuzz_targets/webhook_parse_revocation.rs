//! `parse_revocation` over any body: never panics, never prints a value of the body in an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use square_oauth::parse_revocation;

fuzz_target!(|data: &[u8]| {
    match parse_revocation(data) {
        Ok(revoked) => {
            let _ = format!("{revoked:?}");
        }
        Err(error) => {
            let _ = format!("{error} {error:?}");
        }
    }
});
