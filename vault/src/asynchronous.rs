//! The async vault: the same decisions and store as [`Vault`], for async transports (hyper,
//! reqwest, …). Store work runs on tokio's blocking pool, so a busy database never stalls the
//! runtime; a reader waiting for another holder's refresh sleeps with tokio's timer.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use square_oauth::{AccessToken, MerchantId, ObtainToken, ObtainTokenResponse};

use crate::decide::Unavailable;
use crate::store::Store;
use crate::transport::RefreshFailure;
use crate::vault::{Begin, RefreshOutcome, Vault, VaultError};

/// A [`Vault`] for async code. Cheap to clone. The send closure returns a future: an async
/// adapter's call (with the `hyper` feature, map `square-oauth-hyper`'s error with
/// [`transport::from_call`](crate::transport)), or, as here, a blocking one on tokio's
/// blocking pool.
///
/// ```no_run
/// # async fn demo(vault: square_oauth_vault::AsyncVault<square_oauth_vault::SqliteStore>,
/// #               client: square_oauth_ureq::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use square_oauth_ureq::Calls as _;
/// use square_oauth_vault::transport::from_call;
/// let merchant = square_oauth::MerchantId::new("MLQW2MYBY81PZ");
/// let token = vault
///     .access_token(&merchant, |operation| {
///         let client = client.clone();
///         async move {
///             let answer = tokio::task::spawn_blocking(move || client.obtain_token(&operation)).await;
///             answer.expect("the blocking task ran").map_err(from_call)
///         }
///     })
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
pub struct AsyncVault<S> {
    inner: Arc<Vault<S>>,
}

impl<S> Clone for AsyncVault<S> {
    fn clone(&self) -> Self {
        AsyncVault { inner: self.inner.clone() }
    }
}

impl<S> std::fmt::Debug for AsyncVault<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl<S: Store + 'static> AsyncVault<S> {
    /// Wraps a vault.
    pub fn new(vault: Vault<S>) -> AsyncVault<S> {
        AsyncVault { inner: Arc::new(vault) }
    }

    /// The blocking vault inside (for calls that do not send: `put`, `health`, `revocation`, …).
    pub fn blocking(&self) -> &Arc<Vault<S>> {
        &self.inner
    }

    async fn blocking_call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Vault<S>) -> Result<T, VaultError> + Send + 'static,
    ) -> Result<T, VaultError> {
        let vault = self.inner.clone();
        match tokio::task::spawn_blocking(move || f(&vault)).await {
            Ok(result) => result,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }

    /// As [`Vault::refresh`], sending with `send`.
    pub async fn refresh<F, Fut>(
        &self,
        merchant_id: &MerchantId,
        force: bool,
        mut send: F,
    ) -> Result<RefreshOutcome, VaultError>
    where
        F: FnMut(ObtainToken) -> Fut,
        Fut: Future<Output = Result<ObtainTokenResponse, RefreshFailure>>,
    {
        let merchant = merchant_id.clone();
        match self.blocking_call(move |vault| vault.begin_refresh(&merchant, force)).await? {
            Begin::Done(outcome) => Ok(outcome),
            Begin::Send(flight) => {
                let result = send(flight.operation().clone()).await;
                self.blocking_call(move |vault| vault.finish_refresh(flight, result)).await
            }
        }
    }

    /// As [`Vault::access_token`]: the stored token at once while valid; otherwise a refresh,
    /// or a wait (with tokio's timer) for the one in flight.
    pub async fn access_token<F, Fut>(&self, merchant_id: &MerchantId, mut send: F) -> Result<AccessToken, VaultError>
    where
        F: FnMut(ObtainToken) -> Fut,
        Fut: Future<Output = Result<ObtainTokenResponse, RefreshFailure>>,
    {
        let deadline = Instant::now() + self.inner.settings().wait_timeout;
        loop {
            let merchant = merchant_id.clone();
            if let Ok(token) = self.blocking_call(move |vault| vault.read_step(&merchant)).await? {
                return Ok(token);
            }
            let outcome = self.refresh(merchant_id, false, &mut send).await?;
            let error = match outcome {
                RefreshOutcome::Refreshed => {
                    let merchant = merchant_id.clone();
                    return self.blocking_call(move |vault| Ok(vault.tokens(&merchant)?.access_token().clone())).await;
                }
                RefreshOutcome::NotDue | RefreshOutcome::Stale if Instant::now() < deadline => continue,
                RefreshOutcome::NotDue | RefreshOutcome::Stale => VaultError::WaitTimedOut(merchant_id.clone()),
                RefreshOutcome::HeldElsewhere { .. } if Instant::now() < deadline => {
                    tokio::time::sleep(self.inner.settings().poll).await;
                    continue;
                }
                RefreshOutcome::HeldElsewhere { .. } => VaultError::WaitTimedOut(merchant_id.clone()),
                RefreshOutcome::BackingOff { until } => {
                    VaultError::BackingOff { merchant_id: merchant_id.clone(), until }
                }
                RefreshOutcome::Failed(failure) => VaultError::Refresh { merchant_id: merchant_id.clone(), failure },
                RefreshOutcome::OutcomeUnknown => {
                    VaultError::Unavailable { merchant_id: merchant_id.clone(), reason: Unavailable::OutcomeUnknown }
                }
                RefreshOutcome::MustAuthorize => {
                    VaultError::Unavailable { merchant_id: merchant_id.clone(), reason: Unavailable::MustAuthorize }
                }
                RefreshOutcome::Unavailable(reason) => {
                    VaultError::Unavailable { merchant_id: merchant_id.clone(), reason }
                }
            };
            let merchant = merchant_id.clone();
            return self.blocking_call(move |vault| vault.fallback(&merchant, error)).await;
        }
    }
}
