//! Webhook verification: placeholder, being built.

/// Why a webhook notification was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// Placeholder.
    #[error("placeholder")]
    Placeholder,
}
