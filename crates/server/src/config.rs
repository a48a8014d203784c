//! `DIR/kxd.toml`: the settings of one installation, with safe defaults for everything.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kx_api::settings::{Exchange, ExchangeSettings, Notify, Retention};
use kx_ftp::FtpSettings;
use kx_gateway::settings::{Denso, EnvironmentSetting, GatewaySettings, Security, StoreSection};
use kx_listen::{ListenerConfig, MinimumRate};
use kx_store::StoreConfig;
use serde::{Deserialize, Serialize};

/// The name of the settings file inside the data directory.
pub(crate) const CONFIG_FILE: &str = "kxd.toml";

/// Everything `kxd serve` needs to know. Relative paths are relative to the data directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// The federation's mail domain: accounts are `ID@domain`.
    pub(crate) domain: String,
    /// `production`, or `test-loopback` (受付サーバ折り返し機能: `Test …` replies, no hand-off).
    #[serde(default)]
    pub(crate) environment: EnvironmentSetting,
    /// Listener addresses; a missing one is not started.
    #[serde(default)]
    pub(crate) listeners: Listeners,
    /// Certificates.
    #[serde(default)]
    pub(crate) tls: TlsFiles,
    /// Where the store lives.
    #[serde(default)]
    pub(crate) store: StoreSection,
    /// Login policy.
    #[serde(default)]
    pub(crate) security: Security,
    /// Connection limits of every listener.
    #[serde(default)]
    pub(crate) limits: Limits,
    /// The 伝送 pipeline.
    #[serde(default)]
    pub(crate) denso: Denso,
    /// The KX exchange.
    #[serde(default)]
    pub(crate) exchange: Exchange,
    /// Notification mails.
    #[serde(default)]
    pub(crate) notify: Notify,
    /// Retention periods and garbage collection.
    #[serde(default)]
    pub(crate) retention: Retention,
    /// The read-only FTPS download area's data connections (`listeners.ftp`).
    #[serde(default)]
    pub(crate) ftp: FtpSettings,
    /// The operators' console.
    #[serde(default)]
    pub(crate) console: ConsoleSection,
}

/// `[console]`: the operators' console sessions and login throttle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsoleSection {
    /// `idle_minutes`: unused this long, a console session ends. Default 15.
    #[serde(default = "default_console_idle")]
    pub(crate) idle_minutes: u64,
    /// `attempts_per_minute`: login attempts (password or code) per source address. Default 10.
    #[serde(default = "default_console_attempts")]
    pub(crate) attempts_per_minute: u32,
}

fn default_console_idle() -> u64 {
    15
}

fn default_console_attempts() -> u32 {
    10
}

impl Default for ConsoleSection {
    fn default() -> ConsoleSection {
        ConsoleSection {
            idle_minutes: default_console_idle(),
            attempts_per_minute: default_console_attempts(),
        }
    }
}

/// Where the listeners bind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Listeners {
    /// SMTP submission (STARTTLS).
    pub(crate) smtp: Option<SocketAddr>,
    /// POP3 (STLS).
    pub pop3: Option<SocketAddr>,
    /// HTTPS with server authentication only: the password page and the exchange's
    /// bootstrap routes (enrolment, society setup, app version).
    pub(crate) https: Option<SocketAddr>,
    /// The exchange API: mutual TLS, a client certificate issued by a registered society's
    /// CA is mandatory. Production default in `kxd init`: `0.0.0.0:8443`.
    pub(crate) api: Option<SocketAddr>,
    /// The read-only download area of service notices over FTPS (explicit TLS only).
    pub(crate) ftp: Option<SocketAddr>,
    /// The operators' console: HTTPS with the installation's server certificate, serving the
    /// federation operators' and society administrators' pages (second factor required),
    /// `/metrics` (bearer token `DIR/metrics.token`), `/healthz` and `/readyz`.
    pub(crate) console: Option<SocketAddr>,
}

/// `[limits]`: what each listener's accept loop allows, and how slow its clients may be (see
/// `kx_listen::ListenerConfig`). Each listener (smtp, pop3, https, api, ftp, console) counts on
/// its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Limits {
    /// `max_connections`: connections one listener holds open at once. Default 1000.
    #[serde(default = "default_max_connections")]
    pub(crate) max_connections: usize,
    /// `max_connections_per_address`: connections one source address holds open at once on
    /// one listener. Default 20.
    #[serde(default = "default_max_connections_per_address")]
    pub(crate) max_connections_per_address: usize,
    /// `connection_lifetime`: seconds a connection may last in all before it is asked to end.
    /// Default 3600.
    #[serde(default = "default_connection_lifetime")]
    pub(crate) connection_lifetime: u64,
    /// `tls_handshake_timeout`: seconds a TLS handshake (HTTPS, STARTTLS, STLS) may take.
    /// Default 10.
    #[serde(default = "default_tls_handshake_timeout")]
    pub(crate) tls_handshake_timeout: u64,
    /// `shutdown_drain`: seconds open connections get to finish on shutdown (or at the end of
    /// their lifetime) before they are dropped. Default 10.
    #[serde(default = "default_shutdown_drain")]
    pub(crate) shutdown_drain: u64,
    /// `command_timeout`: seconds an SMTP or POP3 command line may take from its first byte
    /// to its end. Default 30.
    #[serde(default = "default_command_timeout")]
    pub(crate) command_timeout: u64,
    /// `min_transfer_rate`: bytes per second, averaged over `transfer_rate_window`, below
    /// which an SMTP message or an HTTPS request body is cut off; 0: no floor. Default 1024.
    #[serde(default = "default_min_transfer_rate")]
    pub(crate) min_transfer_rate: u64,
    /// `transfer_rate_window`: seconds the rate is averaged over; the first window is the
    /// grace period. Default 30.
    #[serde(default = "default_transfer_rate_window")]
    pub(crate) transfer_rate_window: u64,
    /// `request_body_timeout`: seconds an HTTPS request body may take in all. Default 3000.
    #[serde(default = "default_request_body_timeout")]
    pub(crate) request_body_timeout: u64,
}

fn default_max_connections() -> usize {
    ListenerConfig::new("").max_connections
}

fn default_max_connections_per_address() -> usize {
    ListenerConfig::new("").max_connections_per_address
}

fn default_connection_lifetime() -> u64 {
    ListenerConfig::new("").lifetime.as_secs()
}

fn default_tls_handshake_timeout() -> u64 {
    ListenerConfig::new("").handshake_timeout.as_secs()
}

fn default_shutdown_drain() -> u64 {
    ListenerConfig::new("").drain.as_secs()
}

fn default_command_timeout() -> u64 {
    ListenerConfig::new("").command_timeout.as_secs()
}

fn default_min_transfer_rate() -> u64 {
    ListenerConfig::new("").min_transfer_rate.bytes_per_second
}

fn default_transfer_rate_window() -> u64 {
    ListenerConfig::new("").min_transfer_rate.window.as_secs()
}

fn default_request_body_timeout() -> u64 {
    ListenerConfig::new("").request_body_timeout.as_secs()
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: default_max_connections(),
            max_connections_per_address: default_max_connections_per_address(),
            connection_lifetime: default_connection_lifetime(),
            tls_handshake_timeout: default_tls_handshake_timeout(),
            shutdown_drain: default_shutdown_drain(),
            command_timeout: default_command_timeout(),
            min_transfer_rate: default_min_transfer_rate(),
            transfer_rate_window: default_transfer_rate_window(),
            request_body_timeout: default_request_body_timeout(),
        }
    }
}

impl Limits {
    /// The accept loop's settings for the listener called `name`.
    pub(crate) fn listener(&self, name: &'static str) -> ListenerConfig {
        ListenerConfig {
            max_connections: self.max_connections,
            max_connections_per_address: self.max_connections_per_address,
            handshake_timeout: Duration::from_secs(self.tls_handshake_timeout),
            lifetime: Duration::from_secs(self.connection_lifetime),
            drain: Duration::from_secs(self.shutdown_drain),
            command_timeout: Duration::from_secs(self.command_timeout),
            min_transfer_rate: MinimumRate {
                bytes_per_second: self.min_transfer_rate,
                window: Duration::from_secs(self.transfer_rate_window),
            },
            request_body_timeout: Duration::from_secs(self.request_body_timeout),
            ..ListenerConfig::new(name)
        }
    }
}

/// The certificate files `kxd init` creates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsFiles {
    /// The private CA clients trust.
    pub(crate) ca: PathBuf,
    /// The server certificate chain (PEM).
    pub(crate) certificate: PathBuf,
    /// The server's private key (PEM, PKCS#8).
    pub(crate) key: PathBuf,
}

impl Default for TlsFiles {
    fn default() -> TlsFiles {
        TlsFiles {
            ca: "tls/ca.pem".into(),
            certificate: "tls/server.pem".into(),
            key: "tls/server-key.pem".into(),
        }
    }
}

impl Config {
    /// A configuration for `domain` with every default.
    pub(crate) fn new(domain: impl Into<String>) -> Config {
        Config {
            domain: domain.into(),
            environment: EnvironmentSetting::default(),
            listeners: Listeners::default(),
            tls: TlsFiles::default(),
            store: StoreSection::default(),
            security: Security::default(),
            limits: Limits::default(),
            denso: Denso::default(),
            exchange: Exchange::default(),
            notify: Notify::default(),
            retention: Retention::default(),
            ftp: FtpSettings::default(),
            console: ConsoleSection::default(),
        }
    }

    /// The console's settings.
    pub(crate) fn console(&self) -> kx_web::console::ConsoleSettings {
        kx_web::console::ConsoleSettings {
            idle: Duration::from_secs(self.console.idle_minutes.saturating_mul(60)),
            attempts_per_minute: self.console.attempts_per_minute,
            office_quota: self.exchange.office_quota,
            society_quota: self.exchange.society_quota,
            enrolment_code_days: self.exchange.enrolment_code_days,
        }
    }

    /// Reads `DIR/kxd.toml`.
    pub(crate) fn load(data_dir: &Path) -> anyhow::Result<Config> {
        let path = data_dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// The TOML text `kxd init` writes, with a comment on top.
    pub(crate) fn to_toml(&self) -> anyhow::Result<String> {
        Ok(format!(
            "# kxd settings. Relative paths are relative to this directory.\n\
             # Every key not written here takes its default (see README.md, \"kxd\").\n\n{}",
            toml::to_string_pretty(self)?
        ))
    }

    /// The gateway's settings.
    pub(crate) fn gateway(&self) -> GatewaySettings {
        GatewaySettings {
            domain: self.domain.clone(),
            environment: self.environment,
            store: self.store.clone(),
            security: self.security.clone(),
            denso: self.denso.clone(),
        }
    }

    /// The exchange's settings.
    pub(crate) fn exchange(&self) -> ExchangeSettings {
        ExchangeSettings {
            domain: self.domain.clone(),
            movable_clock: self.movable_clock(),
            exchange: self.exchange.clone(),
            notify: self.notify.clone(),
            retention: self.retention.clone(),
        }
    }

    /// Whether tests may move the exchange's clock: in the test-loopback environment only.
    pub(crate) fn movable_clock(&self) -> bool {
        self.environment == EnvironmentSetting::TestLoopback
    }

    /// The store in `data_dir`, with the login policy's lock-out.
    pub(crate) fn store_config(&self, data_dir: &Path) -> Result<StoreConfig, kx_store::Error> {
        kx_gateway::store_config(data_dir, &self.store, &self.security)
    }
}

#[cfg(test)]
mod tests {
    use kx_store::Blobs;

    use super::*;

    #[test]
    fn written_settings_read_back_and_defaults_are_safe() {
        let mut config = Config::new("denso.test.kokuho");
        config.listeners.smtp = Some("127.0.0.1:2587".parse().unwrap());
        let text = config.to_toml().unwrap();
        assert_eq!(toml::from_str::<Config>(&text).unwrap(), config);
        let minimal: Config = toml::from_str("domain = \"x.test\"").unwrap();
        assert!(!minimal.security.allow_plaintext_auth);
        assert_eq!(minimal.environment, EnvironmentSetting::Production);
        assert!(toml::from_str::<Config>("domain = \"x\"\nsurprise = 1").is_err());
        assert_eq!(minimal.exchange.session_idle, 1800);
        assert_eq!(minimal.exchange.office_quota, 200 * 1024 * 1024);
        assert!(minimal.notify.relay.is_none() && !minimal.notify.allow_plaintext_relay);
        assert!(minimal.listeners.api.is_none());
        assert!(minimal.listeners.console.is_none());
        assert!(minimal.listeners.api.is_none() && minimal.listeners.ftp.is_none());
        assert_eq!(minimal.ftp.passive_range(), 0..=0);
        assert_eq!(minimal.ftp.idle_timeout, 300);
        assert_eq!(minimal.limits.max_connections, 1000);
        assert_eq!(minimal.limits.max_connections_per_address, 20);
        assert_eq!(minimal.limits.connection_lifetime, 3600);
        assert_eq!(minimal.limits.tls_handshake_timeout, 10);
        assert_eq!(minimal.limits.shutdown_drain, 10);
        let security = &minimal.security;
        assert_eq!(security.max_failed_logins, 5);
        assert_eq!(
            (security.lockout_window, security.lockout_duration),
            (1800, 1800)
        );
        assert_eq!(
            (security.login_penalty, security.login_penalty_max),
            (1, 30)
        );
        assert_eq!(security.login_penalty_decay, 60);
        assert_eq!(
            (security.password_workers, security.password_queue),
            (None, 32)
        );
        assert_eq!(minimal.limits.command_timeout, 30);
        assert_eq!(minimal.limits.min_transfer_rate, 1024);
        assert_eq!(minimal.limits.transfer_rate_window, 30);
        assert_eq!(minimal.limits.request_body_timeout, 3000);
        assert_eq!(minimal.retention.raw_message_days, 30);
        assert_eq!(minimal.retention.mail_days, 400);
        assert_eq!(minimal.retention.gc_grace, 3600);
        assert_eq!(minimal.denso.max_unpacked_size, 512 << 20);
        assert_eq!(minimal.denso.max_unpack_ratio, 100);
        assert_eq!(minimal.denso.regist_time_budget_ms, 120_000);
        assert_eq!(minimal.denso.max_regist_attempts, 3);
        assert!(minimal.listeners.console.is_none());
        assert_eq!(minimal.console.idle_minutes, 15);
        assert_eq!(minimal.console.attempts_per_minute, 10);
        assert_eq!(minimal.store, StoreSection::default());
    }

    #[test]
    fn the_store_section_names_the_blobs() {
        let data = Path::new("/data");
        let minimal: Config = toml::from_str("domain = \"x.test\"").unwrap();
        assert_eq!(
            minimal.store_config(data).unwrap().blobs,
            Blobs::Local(data.join("blobs"))
        );
        let elsewhere: Config =
            toml::from_str("domain = \"x.test\"\n[store]\nblobs = \"/srv/kx-blobs\"\n").unwrap();
        assert_eq!(
            elsewhere.store_config(data).unwrap().blobs,
            Blobs::Local("/srv/kx-blobs".into())
        );
        let text = "domain = \"x.test\"\n[store]\nblobs = \"s3://kx-blobs?endpoint=http://10.1.2.3:9000\"\n";
        let plain: Config = toml::from_str(text).unwrap();
        assert_eq!(
            toml::from_str::<Config>(&plain.to_toml().unwrap()).unwrap(),
            plain
        );
        let refused = plain.store_config(data).unwrap_err().to_string();
        assert!(
            refused.contains("blobs: endpoint http://10.1.2.3:9000"),
            "{refused}"
        );
        assert!(refused.contains("plain HTTP is refused"), "{refused}");
        assert!(toml::from_str::<Config>("domain = \"x\"\n[store]\nblob = \"x\"").is_err());
    }
}
