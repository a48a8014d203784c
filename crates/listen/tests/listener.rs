//! The accept loop over real TCP on loopback: caps, rates, the handshake deadline, lifetime,
//! panics and shutdown, with a small line protocol as the session.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kx_listen::{Connection, Listener, ListenerConfig, Protocol, serve, upgrade};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Greets with `hello`; then `p` makes it panic, `s` makes it answer `deaf` and ignore the stop
/// signal, and the stop signal makes it say `bye` and end.
struct Lines;

impl Protocol for Lines {
    fn refusal(&self) -> &[u8] {
        b"busy\r\n"
    }

    fn session(&self, connection: Connection) -> impl Future<Output = ()> + Send + 'static {
        let Connection {
            mut stream,
            mut stop,
            ..
        } = connection;
        async move {
            if stream.write_all(b"hello\r\n").await.is_err() {
                return;
            }
            let mut byte = [0u8; 1];
            tokio::select! {
                read = stream.read(&mut byte) => match (read, byte[0]) {
                    (Ok(1), b'p') => panic!("told to panic"),
                    (Ok(1), b's') => {
                        let _ = stream.write_all(b"deaf\r\n").await;
                        std::future::pending::<()>().await
                    }
                    _ => {}
                },
                _ = stop.changed() => {
                    let _ = stream.write_all(b"bye\r\n").await;
                }
            }
        }
    }
}

struct Running {
    addr: SocketAddr,
    listener: Listener,
    shutdown: watch::Sender<bool>,
    served: JoinHandle<()>,
}

async fn start<P: Protocol>(config: ListenerConfig, protocol: P) -> Running {
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let listener = Listener::new(tcp, config);
    let addr = listener.local_addr().expect("addr");
    let (shutdown, stop) = watch::channel(false);
    let served = tokio::spawn(serve(listener.clone(), protocol, stop));
    Running {
        addr,
        listener,
        shutdown,
        served,
    }
}

fn config() -> ListenerConfig {
    ListenerConfig::new("test")
}

/// Connects from `source` (any address of 127/8 is loopback on Linux).
async fn connect_from(source: &str, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{source}:0").parse().expect("address"))
        .expect("bind the client");
    socket.connect(addr).await.expect("connect")
}

/// Everything the server sends until it closes the connection (at most 5 s).
async fn rest(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut all)).await;
    read.expect("the server closes in time").expect("read");
    String::from_utf8(all).expect("text")
}

/// The first line the server sends.
async fn line(stream: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\n") {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte)).await;
        match read.expect("a line in time").expect("read") {
            0 => break,
            _ => line.push(byte[0]),
        }
    }
    String::from_utf8(line).expect("text")
}

/// Polls `done` every 10 ms for up to 5 s.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(5), "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn the_per_address_cap_refuses_one_address_and_serves_another() {
    let server = start(
        ListenerConfig {
            max_connections_per_address: 2,
            ..config()
        },
        Lines,
    )
    .await;
    let mut first = connect_from("127.0.0.1", server.addr).await;
    let mut second = connect_from("127.0.0.1", server.addr).await;
    assert_eq!(line(&mut first).await, "hello\r\n");
    assert_eq!(line(&mut second).await, "hello\r\n");

    let mut third = connect_from("127.0.0.1", server.addr).await;
    assert_eq!(rest(&mut third).await, "busy\r\n");
    let mut other = connect_from("127.0.0.2", server.addr).await;
    assert_eq!(line(&mut other).await, "hello\r\n");
    assert_eq!(server.listener.refused(), 1);
    assert_eq!(server.listener.open(), 3);

    // A slot given back is usable again by the same address.
    drop(first);
    eventually("the slot is released", || server.listener.open() == 2).await;
    let mut again = connect_from("127.0.0.1", server.addr).await;
    assert_eq!(line(&mut again).await, "hello\r\n");
    assert_eq!(server.listener.refused(), 1);
}

#[tokio::test]
async fn the_global_cap_and_the_connection_rate_refuse_with_the_protocol_reply() {
    let capped = start(
        ListenerConfig {
            max_connections: 1,
            ..config()
        },
        Lines,
    )
    .await;
    let mut first = connect_from("127.0.0.1", capped.addr).await;
    assert_eq!(line(&mut first).await, "hello\r\n");
    let mut second = connect_from("127.0.0.2", capped.addr).await;
    assert_eq!(rest(&mut second).await, "busy\r\n");

    let rated = start(
        ListenerConfig {
            connections_per_minute: Some(2),
            ..config()
        },
        Lines,
    )
    .await;
    for _ in 0..2 {
        let mut served = connect_from("127.0.0.1", rated.addr).await;
        assert_eq!(line(&mut served).await, "hello\r\n");
    }
    let mut third = connect_from("127.0.0.1", rated.addr).await;
    assert_eq!(rest(&mut third).await, "busy\r\n");
    let mut other = connect_from("127.0.0.2", rated.addr).await;
    assert_eq!(line(&mut other).await, "hello\r\n");
}

/// Runs a TLS handshake with the listener's deadline and reports how it ended.
struct Handshake {
    acceptor: tokio_rustls::TlsAcceptor,
    deadline: Duration,
    outcome: mpsc::UnboundedSender<io::Result<()>>,
}

impl Protocol for Handshake {
    fn refusal(&self) -> &[u8] {
        b""
    }

    fn session(&self, connection: Connection) -> impl Future<Output = ()> + Send + 'static {
        let (acceptor, deadline, outcome) =
            (self.acceptor.clone(), self.deadline, self.outcome.clone());
        async move {
            let handshake = upgrade(&acceptor, connection.stream, deadline).await;
            let _ = outcome.send(handshake.map(drop));
        }
    }
}

#[tokio::test]
async fn a_handshake_that_never_completes_is_cut_off_at_its_deadline() {
    let issued = kx_listen::tls::issue("listen.test").expect("certificates");
    let dir = tempfile::tempdir().expect("temp");
    let (chain, key) = (dir.path().join("chain.pem"), dir.path().join("key.pem"));
    std::fs::write(&chain, &issued.chain_pem).expect("write");
    std::fs::write(&key, &issued.key_pem).expect("write");
    let tls = kx_listen::tls::server_config(&chain, &key).expect("server config");
    let config = ListenerConfig {
        handshake_timeout: Duration::from_millis(300),
        ..config()
    };
    let (outcome, mut outcomes) = mpsc::unbounded_channel();
    let handshake = Handshake {
        acceptor: tokio_rustls::TlsAcceptor::from(tls),
        deadline: config.handshake_timeout,
        outcome,
    };
    let server = start(config, handshake).await;

    let started = Instant::now();
    let mut silent = connect_from("127.0.0.1", server.addr).await;
    assert_eq!(rest(&mut silent).await, "", "closed without a word");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    let error = outcomes
        .recv()
        .await
        .expect("an outcome")
        .expect_err("timed out");
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    eventually("the slot is released", || server.listener.open() == 0).await;
}

#[tokio::test]
async fn a_panicking_session_is_counted_and_the_listener_keeps_serving() {
    let server = start(config(), Lines).await;
    let mut doomed = connect_from("127.0.0.1", server.addr).await;
    assert_eq!(line(&mut doomed).await, "hello\r\n");
    doomed.write_all(b"p").await.expect("write");
    assert_eq!(rest(&mut doomed).await, "");
    eventually("the panic is counted", || server.listener.panics() == 1).await;
    eventually("its slot is released", || server.listener.open() == 0).await;

    let mut next = connect_from("127.0.0.1", server.addr).await;
    assert_eq!(line(&mut next).await, "hello\r\n");
    assert_eq!(server.listener.panics(), 1);
}

#[tokio::test]
async fn a_connection_is_asked_to_stop_at_the_end_of_its_lifetime() {
    let server = start(
        ListenerConfig {
            lifetime: Duration::from_millis(300),
            ..config()
        },
        Lines,
    )
    .await;
    let started = Instant::now();
    let mut client = connect_from("127.0.0.1", server.addr).await;
    assert_eq!(rest(&mut client).await, "hello\r\nbye\r\n");
    assert!(started.elapsed() >= Duration::from_millis(300));
    eventually("the slot is released", || server.listener.open() == 0).await;
}

#[tokio::test]
async fn shutdown_drains_polite_sessions_and_drops_stubborn_ones_after_the_drain_time() {
    let drain = Duration::from_millis(500);
    let server = start(ListenerConfig { drain, ..config() }, Lines).await;
    let mut polite = connect_from("127.0.0.1", server.addr).await;
    let mut stubborn = connect_from("127.0.0.1", server.addr).await;
    assert_eq!(line(&mut polite).await, "hello\r\n");
    assert_eq!(line(&mut stubborn).await, "hello\r\n");
    stubborn.write_all(b"s").await.expect("write");
    assert_eq!(line(&mut stubborn).await, "deaf\r\n");

    let started = Instant::now();
    server.shutdown.send(true).expect("shutdown");
    assert_eq!(rest(&mut polite).await, "bye\r\n");
    assert!(started.elapsed() < drain, "the polite one ends at once");
    assert_eq!(rest(&mut stubborn).await, "");
    tokio::time::timeout(Duration::from_secs(3), server.served)
        .await
        .expect("serve returns after the drain")
        .expect("serve did not panic");
    let elapsed = started.elapsed();
    assert!(elapsed >= drain, "{elapsed:?}");
    assert!(elapsed < drain + Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(server.listener.open(), 0);
}
