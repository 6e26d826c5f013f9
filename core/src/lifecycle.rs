//! Token lifecycle: placeholder, being built.
