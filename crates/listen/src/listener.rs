//! The one accept loop of every kxd listener: caps on concurrent connections (in all and per
//! source address), connection rates per address, a lifetime per connection, panics logged and
//! counted, and a bounded drain on shutdown.
//!
//! What a connection speaks is the [`Protocol`]'s business; the loop only decides whether it is
//! served, for how long, and what happens when it ends.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::{MinimumRate, Pace, RateLimiter, Tally};

/// The limits of one listener. [`ListenerConfig::new`] gives safe defaults.
#[derive(Clone, Debug)]
pub struct ListenerConfig {
    /// Labels the logs (`smtp`, `pop3`, `https`, `api`).
    pub name: &'static str,
    /// Connections open at once; beyond, new ones are refused. Default 1000.
    pub max_connections: usize,
    /// Connections open at once from one source address. Default 20.
    pub max_connections_per_address: usize,
    /// Connections one source address may open per minute; `None`: no rate limit. Default
    /// `None`.
    pub connections_per_minute: Option<u32>,
    /// Where that rate is counted, under the listener's name: the tally every instance
    /// shares, or with `None` (the default) this process.
    pub tally: Option<Tally>,
    /// How long a TLS handshake may take, for implicit TLS and for the STARTTLS/STLS upgrade
    /// (the protocol passes it to [`upgrade`]): long enough for a slow link, short enough that
    /// silent connections cannot pile up. Default 10 seconds.
    pub handshake_timeout: Duration,
    /// How long a connection may last in all, however busy: then it is asked to stop, as on
    /// shutdown. Default 1 hour.
    pub lifetime: Duration,
    /// How long a connection asked to stop (shutdown, lifetime) may take to finish before it is
    /// dropped. Default 10 seconds.
    pub drain: Duration,
    /// How long a command line (SMTP, POP3) may take from its first byte to its end, however
    /// busy the client looks meanwhile. Default 30 seconds.
    pub command_timeout: Duration,
    /// The rate below which a transfer (SMTP DATA, an HTTPS request body) is cut off. Default
    /// 1 KiB/s averaged over 30-second windows: a 20 MB upload on a slow link goes through,
    /// a byte every few seconds does not.
    pub min_transfer_rate: MinimumRate,
    /// How long an HTTPS request body may take in all, from the end of its headers. Default
    /// 50 minutes: 20 MB at 7 KB/s, within the default lifetime.
    pub request_body_timeout: Duration,
}

impl ListenerConfig {
    /// The defaults, for the listener called `name`.
    pub fn new(name: &'static str) -> ListenerConfig {
        ListenerConfig {
            name,
            max_connections: 1000,
            max_connections_per_address: 20,
            connections_per_minute: None,
            tally: None,
            handshake_timeout: Duration::from_secs(10),
            lifetime: Duration::from_secs(3600),
            drain: Duration::from_secs(10),
            command_timeout: Duration::from_secs(30),
            min_transfer_rate: MinimumRate {
                bytes_per_second: 1024,
                window: Duration::from_secs(30),
            },
            request_body_timeout: Duration::from_secs(3000),
        }
    }

    /// The deadlines of a line-based session starting now on this listener.
    pub fn pace(&self) -> Pace {
        Pace::new(self.command_timeout, self.min_transfer_rate)
    }
}

/// One accepted connection, handed to the protocol.
pub struct Connection {
    /// The socket, with Nagle's algorithm off.
    pub stream: TcpStream,
    /// Where the client connects from.
    pub peer: SocketAddr,
    /// Turns true when the session should end politely: on shutdown or at the end of its
    /// lifetime. Its sender lives as long as the session is awaited.
    pub stop: watch::Receiver<bool>,
}

/// What a listener speaks.
pub trait Protocol: Send + Sync + 'static {
    /// Written to a connection turned away (over a cap or a rate) before it is closed; empty
    /// when the client cannot read plaintext (implicit TLS).
    fn refusal(&self) -> &[u8];

    /// Serves one connection until it ends or `connection.stop` asks it to.
    fn session(&self, connection: Connection) -> impl Future<Output = ()> + Send + 'static;
}

/// A bound socket with its limits and counters. Clones share them: keep one to read the
/// counters while [`serve`] runs another.
#[derive(Clone)]
pub struct Listener {
    shared: Arc<Shared>,
}

struct Shared {
    tcp: TcpListener,
    config: ListenerConfig,
    slots: Arc<Semaphore>,
    /// Open connections per source address. An entry exists only while its address has a
    /// connection open, so the table never holds more than `max_connections` entries.
    per_address: Mutex<HashMap<IpAddr, usize>>,
    rate: Option<RateLimiter<IpAddr>>,
    panics: AtomicU64,
    refused: AtomicU64,
}

impl Listener {
    /// Wraps a bound socket with `config`'s limits.
    pub fn new(tcp: TcpListener, config: ListenerConfig) -> Listener {
        Listener {
            shared: Arc::new(Shared {
                tcp,
                slots: Arc::new(Semaphore::new(config.max_connections)),
                per_address: Mutex::new(HashMap::new()),
                rate: config
                    .connections_per_minute
                    .map(|per_minute| match &config.tally {
                        Some(tally) => RateLimiter::shared(per_minute, config.name, tally.clone()),
                        None => RateLimiter::new(per_minute),
                    }),
                config,
                panics: AtomicU64::new(0),
                refused: AtomicU64::new(0),
            }),
        }
    }

    /// The limits it was made with.
    pub fn config(&self) -> &ListenerConfig {
        &self.shared.config
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared.tcp.local_addr()
    }

    /// Sessions that panicked so far.
    pub fn panics(&self) -> u64 {
        self.shared.panics.load(Ordering::Relaxed)
    }

    /// Connections turned away so far (caps and rates).
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::Relaxed)
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.shared.config.max_connections - self.shared.slots.available_permits()
    }

    /// Takes a place for a connection from `ip`, or says which limit stands in the way.
    fn admit(&self, ip: IpAddr) -> Result<Slot, &'static str> {
        let Ok(permit) = Arc::clone(&self.shared.slots).try_acquire_owned() else {
            return Err("too many connections");
        };
        {
            let Ok(mut table) = self.shared.per_address.lock() else {
                return Err("connection table unusable");
            };
            if table.get(&ip).copied().unwrap_or(0)
                >= self.shared.config.max_connections_per_address
            {
                return Err("too many connections from this address");
            }
            *table.entry(ip).or_insert(0) += 1;
        }
        // The slot exists from here on, so an early return below still gives the place back.
        let slot = Slot {
            listener: self.clone(),
            ip,
            _permit: permit,
        };
        if let Some(rate) = &self.shared.rate
            && !rate.allow(&ip)
        {
            return Err("connection rate exceeded");
        }
        Ok(slot)
    }
}

/// A connection's place under both caps, given back when it is dropped: when the session
/// ends, however it ends (a panic unwinds through it too).
struct Slot {
    listener: Listener,
    ip: IpAddr,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        // A poisoned table refuses every later connection (see `admit`): nothing to give back.
        if let Ok(mut table) = self.listener.shared.per_address.lock()
            && let Some(open) = table.get_mut(&self.ip)
        {
            *open -= 1;
            if *open == 0 {
                table.remove(&self.ip);
            }
        }
    }
}

/// The source address a limit is kept for: an IPv4 client on a dual-stack socket counts as
/// its IPv4 address.
fn source(peer: SocketAddr) -> IpAddr {
    match peer.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Accepts connections on `listener` until `shutdown` turns true (or its sender is dropped),
/// each session in its own task; then stops accepting, asks every session to stop, gives them
/// the listener's drain time to finish, and returns.
pub async fn serve<P: Protocol>(
    listener: Listener,
    protocol: P,
    mut shutdown: watch::Receiver<bool>,
) {
    let protocol = Arc::new(protocol);
    let name = listener.shared.config.name;
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.shared.tcp.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Replies are small and answer the client's last write: without this they
                    // wait for its delayed ACK (~40 ms on every new connection).
                    let _ = stream.set_nodelay(true);
                    match listener.admit(source(peer)) {
                        Ok(slot) => {
                            sessions.spawn(connection(
                                slot,
                                Arc::clone(&protocol),
                                stream,
                                peer,
                                shutdown.clone(),
                            ));
                        }
                        Err(why) => refuse(&listener, &*protocol, stream, peer, why),
                    }
                }
                Err(error) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(listener = name, %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            // Reaps finished sessions as they end, so the set stays as small as what is open.
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            // The guard `wait_for` returns is not `Send`: dropped inside, so `serve` can be spawned.
            _ = async { drop(shutdown.wait_for(|&stop| stop).await) } => break,
        }
    }
    // Each session bounds its own drain (see `connection`), so this wait is bounded too.
    while sessions.join_next().await.is_some() {}
    tracing::info!(listener = name, "stopped");
}

/// Turns a connection away with the protocol's short reply. The write is a single non-blocking
/// one: a fresh socket's buffer takes a few bytes at once, and a flood of refusals must not
/// cost a task each.
fn refuse(
    listener: &Listener,
    protocol: &impl Protocol,
    stream: TcpStream,
    peer: SocketAddr,
    why: &'static str,
) {
    listener.shared.refused.fetch_add(1, Ordering::Relaxed);
    // Not a warning: a flood of refusals must not become a flood of warnings.
    tracing::info!(listener = listener.shared.config.name, %peer, reason = why, "connection refused");
    let reply = protocol.refusal();
    if !reply.is_empty() {
        let _ = stream.try_write(reply);
    }
}

/// Runs one session in its `slot`: until it ends, or until shutdown or the end of its lifetime
/// ask it to stop and the drain time is over. A panic is logged and counted; it ends this
/// connection only.
async fn connection<P: Protocol>(
    slot: Slot,
    protocol: Arc<P>,
    stream: TcpStream,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    let shared = &slot.listener.shared;
    let config = &shared.config;
    let (stop, stopped) = watch::channel(false);
    let connection = Connection {
        stream,
        peer,
        stop: stopped,
    };
    let session = AssertUnwindSafe(protocol.session(connection)).catch_unwind();
    tokio::pin!(session);
    let ended = tokio::select! {
        ended = session.as_mut() => ended,
        reason = async {
            tokio::select! {
                _ = tokio::time::sleep(config.lifetime) => "lifetime over",
                _ = async { drop(shutdown.wait_for(|&stop| stop).await) } => "shutdown",
            }
        } => {
            tracing::debug!(listener = config.name, %peer, reason, "asking the session to stop");
            let _ = stop.send(true);
            tokio::time::timeout(config.drain, session.as_mut())
                .await
                .unwrap_or_else(|_| {
                    tracing::info!(listener = config.name, %peer, reason, "session dropped after the drain time");
                    Ok(())
                })
        }
    };
    if let Err(panic) = ended {
        shared.panics.fetch_add(1, Ordering::Relaxed);
        let message = panic
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(no message)");
        tracing::error!(listener = config.name, %peer, panic = message, "session panicked");
    }
}

/// The TLS handshake on `stream`, bounded by `deadline`: for implicit TLS right after accept, and
/// for the STARTTLS/STLS upgrade. A handshake not done in time fails with
/// [`io::ErrorKind::TimedOut`].
pub async fn upgrade<S>(
    acceptor: &TlsAcceptor,
    stream: S,
    deadline: Duration,
) -> io::Result<TlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    tokio::time::timeout(deadline, acceptor.accept(stream))
        .await
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "TLS handshake not completed in time",
            ))
        })
}
