//! Webhook verification: placeholder, being built.
