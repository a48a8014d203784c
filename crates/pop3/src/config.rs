//! Settings of one POP3 listener.

use std::fmt;
use std::time::Duration;

use kx_listen::ListenerConfig;
use tokio_rustls::TlsAcceptor;

/// How a listener uses TLS.
#[derive(Clone, Default)]
pub enum TlsMode {
    /// No TLS at all. With `allow_plaintext_auth` off (the default) nobody can log in, so this
    /// is only useful for loopback tests.
    #[default]
    Disabled,
    /// Plain connections that may upgrade with STLS (RFC 2595), usually on port 110.
    Stls(TlsAcceptor),
    /// TLS from the first byte (POP3S), usually on port 995.
    Implicit(TlsAcceptor),
}

impl fmt::Debug for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsMode::Disabled => "Disabled",
            TlsMode::Stls(_) => "Stls",
            TlsMode::Implicit(_) => "Implicit",
        })
    }
}

/// Settings of one POP3 listener.
#[derive(Clone, Debug)]
pub struct Pop3Config {
    /// TLS use. Default: [`TlsMode::Disabled`].
    pub tls: TlsMode,
    /// Accept USER/PASS and AUTH PLAIN over a connection that is not TLS. Default: `false`;
    /// only for loopback tests.
    pub allow_plaintext_auth: bool,
    /// Idle time allowed before login. Default: 2 minutes.
    pub timeout_unauthenticated: Duration,
    /// Idle time allowed after login (RFC 1939 §3 asks for at least 10 minutes). Default:
    /// 10 minutes.
    pub timeout_authenticated: Duration,
    /// Failed logins after which the session is closed. Default: 3.
    pub max_auth_failures: u32,
    /// Wait before answering a failed login, to slow down password guessing on top of the
    /// backend's lock-out. Default: 1 second.
    pub auth_failure_delay: Duration,
    /// The listener's caps, connection rate, deadlines (the TLS handshake's too, for POP3S and
    /// after STLS) and drain; connections beyond a cap or
    /// rate are refused with `-ERR [SYS/TEMP]` (without a word under POP3S). Default:
    /// [`ListenerConfig::new`]`("pop3")`.
    pub listen: ListenerConfig,
}

impl Default for Pop3Config {
    fn default() -> Self {
        Pop3Config {
            tls: TlsMode::Disabled,
            allow_plaintext_auth: false,
            timeout_unauthenticated: Duration::from_secs(120),
            timeout_authenticated: Duration::from_secs(600),
            max_auth_failures: 3,
            auth_failure_delay: Duration::from_secs(1),
            listen: ListenerConfig::new("pop3"),
        }
    }
}
