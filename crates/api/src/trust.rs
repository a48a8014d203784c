//! The api listener's TLS configuration, whose trusted client CAs are the registered
//! societies' CAs. When a society sets up (in this or another `kxd` process) the store's CA
//! generation changes; the next handshake after a short recheck interval rebuilds the
//! configuration. [`ClientTrust::changed`] skips the wait after a change made here.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kx_store::Store;
use tokio_rustls::TlsAcceptor;

use kx_listen::https::AcceptorSource;
use kx_listen::tls::{Identity, mutual_config};

/// How often a handshake may ask the store whether the CA set changed.
const RECHECK: Duration = Duration::from_secs(2);

/// The current mutual-TLS acceptor, rebuilt when the society CAs change.
pub struct ClientTrust {
    store: Store,
    identity: Identity,
    state: Mutex<State>,
}

struct State {
    generation: i64,
    acceptor: TlsAcceptor,
    checked: Option<Instant>,
}

impl ClientTrust {
    /// Builds the first configuration from the CAs in the store.
    pub(crate) async fn new(store: Store, identity: Identity) -> anyhow::Result<ClientTrust> {
        let generation = store.ca_generation().await?;
        let acceptor = TlsAcceptor::from(mutual_config(&identity, &store.society_cas().await?)?);
        Ok(ClientTrust {
            store,
            identity,
            state: Mutex::new(State {
                generation,
                acceptor,
                checked: Some(Instant::now()),
            }),
        })
    }

    /// Makes the next handshake check the store at once (a CA changed in this process).
    pub(crate) fn changed(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.checked = None;
        }
    }

    async fn current(&self) -> TlsAcceptor {
        let (acceptor, due, known) = match self.state.lock() {
            Ok(state) => (
                state.acceptor.clone(),
                state.checked.is_none_or(|at| at.elapsed() >= RECHECK),
                state.generation,
            ),
            // Poisoned only by a panic while holding it; keep the last configuration.
            Err(poisoned) => return poisoned.into_inner().acceptor.clone(),
        };
        if !due {
            return acceptor;
        }
        match self.rebuild_if_changed(known).await {
            Ok(Some((generation, fresh))) => {
                if let Ok(mut state) = self.state.lock() {
                    state.generation = generation;
                    state.acceptor = fresh.clone();
                    state.checked = Some(Instant::now());
                }
                tracing::info!(generation, "api: trusted society CAs reloaded");
                fresh
            }
            Ok(None) => {
                if let Ok(mut state) = self.state.lock() {
                    state.checked = Some(Instant::now());
                }
                acceptor
            }
            Err(e) => {
                tracing::error!(error = %e, "api: cannot reload the society CAs; keeping the last set");
                acceptor
            }
        }
    }

    async fn rebuild_if_changed(&self, known: i64) -> anyhow::Result<Option<(i64, TlsAcceptor)>> {
        let generation = self.store.ca_generation().await?;
        if generation == known {
            return Ok(None);
        }
        let cas = self.store.society_cas().await?;
        Ok(Some((
            generation,
            TlsAcceptor::from(mutual_config(&self.identity, &cas)?),
        )))
    }
}

impl AcceptorSource for ClientTrust {
    fn acceptor(&self) -> Pin<Box<dyn Future<Output = TlsAcceptor> + Send + '_>> {
        Box::pin(self.current())
    }
}
