//! The listener: POP3 on the shared accept loop, one session task for each connection.

use std::future::Future;
use std::sync::Arc;

use kx_listen::{Connection, Listener, Protocol};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::Instrument;

use super::backend::Backend;
use super::config::{Pop3Config, TlsMode};
use super::response::{Response, ResponseCode};
use super::session;

/// Serves POP3 on `listener` until `shutdown` turns `true` (or its sender is dropped), then
/// waits for the open sessions, which end at once and release their maildrops without
/// deleting anything.
///
/// The accept loop enforces [`Pop3Config::listen`]; a session that fails, even by panicking,
/// ends only its own connection (the panic is logged and counted).
pub async fn serve<B: Backend>(
    listener: TcpListener,
    config: Pop3Config,
    backend: Arc<B>,
    shutdown: watch::Receiver<bool>,
) {
    let listener = Listener::new(listener, config.listen.clone());
    // Under POP3S the client expects a TLS handshake first and cannot read a plaintext reply.
    let refusal = if matches!(config.tls, TlsMode::Implicit(_)) {
        Vec::new()
    } else {
        let mut reply = Vec::new();
        let text = "Too many connections, try again later";
        Response::Err(Some(ResponseCode::SysTemp), text.into()).write(&mut reply);
        reply
    };
    let pop3 = Pop3 {
        config: Arc::new(config),
        backend,
        refusal,
    };
    kx_listen::serve(listener, pop3, shutdown).await;
}

/// POP3 as the accept loop sees it.
struct Pop3<B> {
    config: Arc<Pop3Config>,
    backend: Arc<B>,
    refusal: Vec<u8>,
}

impl<B: Backend> Protocol for Pop3<B> {
    fn refusal(&self) -> &[u8] {
        &self.refusal
    }

    fn session(&self, connection: Connection) -> impl Future<Output = ()> + Send + 'static {
        let span = tracing::info_span!("pop3", peer = %connection.peer);
        session::run(
            connection.stream,
            connection.peer,
            Arc::clone(&self.config),
            Arc::clone(&self.backend),
            connection.stop,
        )
        .instrument(span)
    }
}
