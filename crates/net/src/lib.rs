//! `kx-net`: the user tool's blocking transport: clients for the mail protocols the 伝送
//! gateway speaks — SMTP submission ([`smtp`]), POP3 ([`pop3`]) and the read-only FTP download
//! area ([`ftp`]) — and the bounded [`pipe`] through which an exchange upload streams.
//!
//! Each protocol keeps its grammar (reply lines, multi-line answers, dot-stuffing) in pure
//! functions that the unit tests feed directly; the session types own the socket. Every socket
//! has read and write timeouts, TLS (STARTTLS / STLS) is mandatory before a password is sent,
//! and the only way around it is [`Endpoint::insecure_plaintext`], which refuses any host that
//! is not a loopback address.

pub mod ftp;
mod line;
pub mod pipe;
pub mod pop3;
pub mod smtp;
pub mod tls;

use std::io::{self, Read, Write};
use std::net::{IpAddr, TcpStream, ToSocketAddrs as _};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

pub(crate) use line::LineError;

/// The default time a socket may wait for the peer before the session fails.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest line accepted. Replies are short (RFC 5321 and RFC 1939: 512 octets), and message
/// lines should stay under 998 (RFC 5322), but mail in the wild breaks that, and one overlong
/// line must not make a message, and with it the whole mailbox, impossible to fetch; the
/// limit only stops a peer that never ends a line.
const MAX_LINE: usize = 1024 * 1024;

/// What went wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The socket failed or timed out.
    #[error("{context}: {source}")]
    Io {
        /// What the client was doing.
        context: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// TLS could not be set up (trust store, handshake, certificate).
    #[error("TLS: {0}")]
    Tls(String),
    /// The server does not offer STARTTLS / STLS: a password must not go in plaintext.
    #[error("{0} does not offer {1}; refusing to send the password without TLS")]
    NoTls(String, &'static str),
    /// `--insecure-plaintext` asked for a host that is not a loopback address.
    #[error("--insecure-plaintext is only allowed for 127.0.0.1 or ::1, not {0}")]
    PlaintextNotLoopback(String),
    /// The server answered a command with an error.
    #[error("the server refused {command}: {reply}")]
    Refused {
        /// The command, without arguments (never the password).
        command: String,
        /// The server's reply text.
        reply: String,
    },
    /// The server's reply did not follow the protocol.
    #[error("unexpected reply from the server: {0}")]
    Protocol(String),
    /// The message is larger than the server accepts (its SMTP `SIZE`).
    #[error("the message is {size} bytes; the server accepts at most {limit}")]
    TooLarge {
        /// The message's size.
        size: u64,
        /// The server's limit.
        limit: u64,
    },
}

impl NetError {
    fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> NetError {
        let context = context.into();
        move |source| NetError::Io { context, source }
    }
}

impl From<LineError> for NetError {
    fn from(e: LineError) -> NetError {
        match e {
            LineError::Io(source) => NetError::Io {
                context: "reading from the server".into(),
                source,
            },
            other => NetError::Protocol(other.to_string()),
        }
    }
}

/// Where a server is and how to reach it safely.
#[derive(Clone)]
pub struct Endpoint {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The trust anchors and protocol settings for STARTTLS / STLS.
    pub tls: Arc<ClientConfig>,
    /// Skip TLS: only for loopback tests against servers without it.
    pub insecure_plaintext: bool,
    /// Read, write and connect timeout.
    pub timeout: Duration,
}

impl Endpoint {
    /// The `host:port` text for messages.
    pub fn display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Opens the TCP connection, checking first that plaintext is only asked for on loopback.
    pub fn connect(&self) -> Result<Connection, NetError> {
        if self.insecure_plaintext && !is_loopback(&self.host) {
            return Err(NetError::PlaintextNotLoopback(self.host.clone()));
        }
        let target = self.display();
        let addrs = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(NetError::io(format!("resolving {target}")))?;
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(stream) => {
                    let timeouts = stream
                        .set_read_timeout(Some(self.timeout))
                        .and_then(|()| stream.set_write_timeout(Some(self.timeout)));
                    timeouts.map_err(NetError::io(format!("configuring {target}")))?;
                    return Ok(Connection {
                        stream: Stream::Plain(stream),
                        buf: Vec::new(),
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(NetError::Io {
            context: format!("connecting to {target}"),
            source: last.unwrap_or_else(|| io::Error::other("no address")),
        })
    }

    /// The name the server certificate must carry.
    fn server_name(&self) -> Result<ServerName<'static>, NetError> {
        ServerName::try_from(self.host.clone())
            .map_err(|_| NetError::Tls(format!("{} is not a valid server name", self.host)))
    }
}

/// Every string over `alphabet` up to `max_len` characters: the inputs of the reference-model
/// tests of the line protocols.
#[cfg(test)]
pub(crate) fn every_string(alphabet: &[u8], max_len: u32) -> Vec<Vec<u8>> {
    let base = alphabet.len();
    let mut out = Vec::new();
    for len in 0..=max_len {
        for mut n in 0..base.pow(len) {
            let mut s = Vec::new();
            for _ in 0..len {
                s.push(alphabet[n % base]);
                n /= base;
            }
            out.push(s);
        }
    }
    out
}

/// Whether `host` is a loopback IP literal (127.0.0.0/8 or ::1). Names are not trusted: a
/// resolver could map `localhost` anywhere.
pub fn is_loopback(host: &str) -> bool {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A connection to a server: the socket (plain, or TLS after the upgrade) and what was read
/// past the last line.
pub struct Connection {
    stream: Stream,
    buf: Vec<u8>,
}

impl Connection {
    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// Reads one line, without its CRLF (or bare LF).
    pub fn next_line(&mut self) -> Result<Vec<u8>, NetError> {
        Ok(line::next_line(&mut self.stream, &mut self.buf, MAX_LINE)?)
    }

    /// Writes bytes and flushes them.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), NetError> {
        self.stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .map_err(NetError::io("writing to the server"))
    }

    /// Writes a command line (CRLF appended).
    pub fn command(&mut self, line: &str) -> Result<(), NetError> {
        self.write_all(format!("{line}\r\n").as_bytes())
    }

    /// Upgrades to TLS after the server agreed (STARTTLS / STLS) and completes the handshake.
    ///
    /// Anything the server sent after its go-ahead and before the handshake would be
    /// plaintext that an attacker could have injected to be read as if it came under TLS
    /// (CVE-2011-0411 and kin), so such bytes end the session.
    pub fn start_tls(self, endpoint: &Endpoint) -> Result<Connection, NetError> {
        if !self.buf.is_empty() {
            return Err(NetError::Protocol(
                "data after the TLS go-ahead, before the handshake".into(),
            ));
        }
        let Stream::Plain(mut socket) = self.stream else {
            return Err(NetError::Protocol("TLS is already on".into()));
        };
        let mut tls = ClientConnection::new(endpoint.tls.clone(), endpoint.server_name()?)
            .map_err(|e| NetError::Tls(e.to_string()))?;
        while tls.is_handshaking() {
            tls.complete_io(&mut socket).map_err(|e| {
                NetError::Tls(format!("handshake with {}: {e}", endpoint.display()))
            })?;
        }
        Ok(Connection {
            stream: Stream::Tls(Box::new(StreamOwned::new(tls, socket))),
            buf: Vec::new(),
        })
    }

    /// Reads raw bytes (for FTP data connections).
    pub fn read_to_end(&mut self, out: &mut impl Write) -> Result<u64, NetError> {
        out.write_all(&self.buf)
            .map_err(NetError::io("writing the download"))?;
        let mut total = self.buf.len() as u64;
        self.buf.clear();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A TLS peer that closes without close_notify: the FTP reply on the control
                // connection says whether the transfer was complete.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(total),
                Err(e) => return Err(NetError::io("reading data")(e)),
            };
            out.write_all(&chunk[..n])
                .map_err(NetError::io("writing the download"))?;
            total += n as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_literals_count_as_loopback() {
        for host in ["127.0.0.1", "127.1.2.3", "::1", "[::1]"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["localhost", "10.0.0.1", "example.com", "::2", ""] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn plaintext_is_refused_off_loopback_before_connecting() {
        let endpoint = Endpoint {
            host: "192.0.2.1".into(),
            port: 25,
            // No trust anchors: the check under test runs before TLS matters.
            tls: Arc::new(
                ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
            ),
            insecure_plaintext: true,
            timeout: Duration::from_secs(1),
        };
        assert!(matches!(
            endpoint.connect(),
            Err(NetError::PlaintextNotLoopback(host)) if host == "192.0.2.1"
        ));
    }
}
