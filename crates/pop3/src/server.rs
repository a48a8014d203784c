//! The listener: accepts connections and runs one session task for each.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

use super::backend::Backend;
use super::config::{Pop3Config, TlsMode};
use super::response::{Response, ResponseCode};
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
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let span = tracing::info_span!("pop3", %peer);
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        sessions.spawn(refuse(stream, config.clone()).instrument(span));
                        continue;
                    };
                    // Small pipelined replies should not wait for Nagle's algorithm.
                    let _ = stream.set_nodelay(true);
                    let session =
                        session::run(stream, peer, config.clone(), backend.clone(), shutdown.clone());
                    sessions.spawn(
                        async move {
                            session.await;
                            drop(slot);
                        }
                        .instrument(span),
                    );
                }
                Err(error) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            // The guard `wait_for` returns is not `Send`: drop it inside, so `serve` can be spawned.
            _ = async { drop(stop.wait_for(|&stop| stop).await) } => break,
        }
        while let Some(ended) = sessions.try_join_next() {
            log_panic(ended);
        }
    }
    while let Some(ended) = sessions.join_next().await {
        log_panic(ended);
    }
}

/// Turns a connection away when `max_connections` sessions are open: with a reply where the
/// client can read one, that is, unless it expects a TLS handshake first.
async fn refuse(mut stream: TcpStream, config: Arc<Pop3Config>) {
    tracing::warn!("too many connections; refused");
    if !matches!(config.tls, TlsMode::Implicit(_)) {
        let mut reply = Vec::new();
        let text = "Too many connections, try again later";
        Response::Err(Some(ResponseCode::SysTemp), text.into()).write(&mut reply);
        // Best effort: the connection is dropped either way.
        let write = stream.write_all(&reply);
        let _ = tokio::time::timeout(Duration::from_secs(5), write).await;
    }
}

fn log_panic(ended: Result<(), tokio::task::JoinError>) {
    if let Err(error) = ended {
        tracing::error!(%error, "POP3 session task failed");
    }
}
