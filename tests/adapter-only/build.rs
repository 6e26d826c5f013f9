//! Copies the README's PKCE example (its one code block that calls `CodeVerifier::generate()`)
//! into `OUT_DIR`, where the crate's documentation includes it as a doctest.

use std::{env, fs, path::Path};

fn main() {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    println!("cargo::rerun-if-changed={}", readme.display());
    let text = fs::read_to_string(&readme).expect("the workspace README");
    let block = text
        .split("```")
        .skip(1)
        .step_by(2)
        .find(|block| block.starts_with("rust") && block.contains("CodeVerifier::generate()"))
        .expect("a rust code block of the README calls CodeVerifier::generate()");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("pkce.md");
    fs::write(out, format!("```{block}```\n")).expect("OUT_DIR is writable");
}
