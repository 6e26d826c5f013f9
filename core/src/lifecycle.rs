//! Token lifecycle: placeholder, being built.

/// Why a token set cannot do what was asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LifecycleError {
    /// Placeholder.
    #[error("placeholder")]
    Placeholder,
}
