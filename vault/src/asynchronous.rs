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
use crate::vault::{Begin, Flight, RefreshOutcome, Vault, VaultError};

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
    ///
    /// # Cancellation
    /// Dropping this future (a timeout around it, a request handler whose client went away)
    /// reports the lease it holds to the vault at once, on tokio's blocking pool, rather than
    /// leaving it to run out: dropped before the send, the lease is released and the attempt
    /// counted as a failed one that sent nothing; dropped during the send, the request may have
    /// reached Square, so a PKCE seller's outcome is unknown at once. An answer the dropped send
    /// would have brought is lost with it, and with it a PKCE token Square rotated: bound the
    /// call with the transport's own timeouts instead, and let the future finish.
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
        let owner = self.inner.clone();
        let began = self
            .blocking_call(move |vault| match vault.begin_refresh(&merchant, force)? {
                Begin::Done(outcome) => Ok(Err(outcome)),
                // In its guard from the moment it exists: should this future be dropped before
                // the lease comes back to it, the blocking task drops the guard instead.
                Begin::Send(flight) => Ok(Ok(InFlight { vault: owner, flight: Some(flight), sending: false })),
            })
            .await?;
        let mut in_flight = match began {
            Err(outcome) => return Ok(outcome),
            Ok(in_flight) => in_flight,
        };
        let result = send(in_flight.start_sending()).await;
        let flight = in_flight.landed();
        // Not cancelled with this future: a blocking task runs to its end, the answer stored.
        self.blocking_call(move |vault| vault.finish_refresh(flight, result)).await
    }

    /// As [`Vault::access_token`]: the stored token at once while valid; otherwise a refresh,
    /// or a wait (with tokio's timer) for the one in flight. Dropped during a refresh, it
    /// reports the refresh's lease as [`refresh`](Self::refresh) does.
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

/// A lease [`AsyncVault::refresh`] holds, reported to the vault if the future holding it is
/// dropped (a timeout around the call, a request handler whose client went away), rather than
/// left to run out: before the send, as [`RefreshFailure::NotSent`] (the lease is released, the
/// attempt counted as a failed one); once the send has started, as
/// [`RefreshFailure::MaybeSent`] (for a PKCE seller an unknown outcome at once, which is what
/// the lease running out would have led to). An answer the dropped send would have brought is
/// lost with it: a PKCE token Square rotated then needs the seller to authorize again.
struct InFlight<S: Store + 'static> {
    vault: Arc<Vault<S>>,
    flight: Option<Box<Flight>>,
    sending: bool,
}

impl<S: Store + 'static> InFlight<S> {
    /// The request to send; a drop from now on reports the flight as maybe sent.
    fn start_sending(&mut self) -> ObtainToken {
        self.sending = true;
        self.flight.as_ref().expect("held until landed").operation().clone()
    }

    /// The flight, its answer in: nothing left to report on drop.
    fn landed(mut self) -> Box<Flight> {
        self.flight.take().expect("held until landed")
    }
}

impl<S: Store + 'static> Drop for InFlight<S> {
    fn drop(&mut self) {
        let Some(flight) = self.flight.take() else { return };
        let failure = if self.sending {
            RefreshFailure::MaybeSent { source: None }
        } else {
            RefreshFailure::NotSent { source: None }
        };
        let vault = self.vault.clone();
        let merchant_id = flight.merchant_id().clone();
        let report = move || {
            tracing::warn!(merchant_id = %merchant_id, "a refresh was dropped by its caller; its lease is reported");
            if let Err(error) = vault.finish_refresh(flight, Err(failure)) {
                tracing::warn!(merchant_id = %merchant_id, error = %error, "a dropped refresh could not be reported");
            }
        };
        // Store work stays off the runtime's threads; without a runtime, it runs here.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(report)),
            Err(_) => report(),
        }
    }
}
