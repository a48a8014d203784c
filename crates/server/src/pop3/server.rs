//! The listener: accepts connections and runs one session task for each.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::backend::Backend;
use super::config::Pop3Config;
use super::session;

/// Serves POP3 on `listener` until `shutdown` turns `true` (or its sender is dropped), then
/// waits for the open sessions, which end at once and release their maildrops without
/// deleting anything.
///
/// A session that fails, even by panicking, ends only its own connection.
pub async fn serve<B: Backend>(
    listener: TcpListener,
    config: Pop3Config,
    backend: Arc<B>,
    shutdown: watch::Receiver<bool>,
) {
    let mut stop = shutdown.clone();
    let config = Arc::new(config);
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Small pipelined replies should not wait for Nagle's algorithm.
                    let _ = stream.set_nodelay(true);
                    let span = tracing::info_span!("pop3", %peer);
                    let session =
                        session::run(stream, peer, config.clone(), backend.clone(), shutdown.clone());
                    sessions.spawn(session.instrument(span));
                }
                Err(error) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = stop.wait_for(|&stop| stop) => break,
        }
        while let Some(ended) = sessions.try_join_next() {
            log_panic(ended);
        }
    }
    while let Some(ended) = sessions.join_next().await {
        log_panic(ended);
    }
}

fn log_panic(ended: Result<(), tokio::task::JoinError>) {
    if let Err(error) = ended {
        tracing::error!(%error, "POP3 session task failed");
    }
}
