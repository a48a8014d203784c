//! `DIR/kxd.toml`: the settings of one installation, with safe defaults for everything.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The name of the settings file inside the data directory.
pub const CONFIG_FILE: &str = "kxd.toml";

/// Everything `kxd serve` needs to know. Relative paths are relative to the data directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The federation's mail domain: accounts are `ID@domain`.
    pub domain: String,
    /// `production`, or `test-loopback` (受付サーバ折り返し機能: `Test …` replies, no hand-off).
    #[serde(default)]
    pub environment: EnvironmentSetting,
    /// Listener addresses; a missing one is not started.
    #[serde(default)]
    pub listeners: Listeners,
    /// Certificates.
    #[serde(default)]
    pub tls: TlsFiles,
    /// Login policy.
    #[serde(default)]
    pub security: Security,
    /// The 伝送 pipeline.
    #[serde(default)]
    pub denso: Denso,
    /// The KX exchange.
    #[serde(default)]
    pub exchange: Exchange,
    /// Notification mails.
    #[serde(default)]
    pub notify: Notify,
}

/// Which environment the gateway runs as (spec §8.7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvironmentSetting {
    /// 本番環境.
    #[default]
    Production,
    /// The test environment's loopback mode.
    TestLoopback,
}

impl EnvironmentSetting {
    /// The protocol's view of it.
    pub fn environment(self) -> kx_denso::message::Environment {
        match self {
            EnvironmentSetting::Production => kx_denso::message::Environment::Production,
            EnvironmentSetting::TestLoopback => kx_denso::message::Environment::TestLoopback,
        }
    }
}

/// Where the listeners bind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listeners {
    /// SMTP submission (STARTTLS).
    pub smtp: Option<SocketAddr>,
    /// POP3 (STLS).
    pub pop3: Option<SocketAddr>,
    /// HTTPS with server authentication only: the password page and the exchange's
    /// bootstrap routes (enrolment, society setup, app version).
    pub https: Option<SocketAddr>,
    /// The exchange API: mutual TLS, a client certificate issued by a registered society's
    /// CA is mandatory. Production default in `kxd init`: `0.0.0.0:8443`.
    pub api: Option<SocketAddr>,
}

/// The certificate files `kxd init` creates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The private CA clients trust.
    pub ca: PathBuf,
    /// The server certificate chain (PEM).
    pub certificate: PathBuf,
    /// The server's private key (PEM, PKCS#8).
    pub key: PathBuf,
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

/// Login policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// Whether passwords may be sent without TLS. Only for loopback tests; default false.
    #[serde(default)]
    pub allow_plaintext_auth: bool,
    /// Consecutive failed logins that lock an account. Default 5.
    #[serde(default = "default_max_failed_logins")]
    pub max_failed_logins: u32,
    /// SMTP connections one address may open per minute. Default 60.
    #[serde(default = "default_connections_per_minute")]
    pub connections_per_minute: u32,
    /// Messages one account may submit per minute. Default 60.
    #[serde(default = "default_messages_per_minute")]
    pub messages_per_minute: u32,
    /// Password-change attempts (web form submissions) one address may make per minute.
    /// Default 10.
    #[serde(default = "default_web_attempts_per_minute")]
    pub web_attempts_per_minute: u32,
}

fn default_max_failed_logins() -> u32 {
    5
}

fn default_connections_per_minute() -> u32 {
    60
}

fn default_messages_per_minute() -> u32 {
    60
}

fn default_web_attempts_per_minute() -> u32 {
    10
}

impl Default for Security {
    fn default() -> Security {
        Security {
            allow_plaintext_auth: false,
            max_failed_logins: default_max_failed_logins(),
            connections_per_minute: default_connections_per_minute(),
            messages_per_minute: default_messages_per_minute(),
            web_attempts_per_minute: default_web_attempts_per_minute(),
        }
    }
}

/// The 伝送 pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Denso {
    /// Seconds between Regist runs (the window in which a submission can be cancelled).
    /// Default 60; 0 answers at once.
    #[serde(default = "default_regist_interval")]
    pub regist_interval: u64,
    /// The largest message accepted, in bytes. Default 64 MiB.
    #[serde(default = "default_max_message_size")]
    pub max_message_size: usize,
    /// The record checker's tables (a copy of `crates/denso/tables/default.toml`); the built-in
    /// default when absent.
    #[serde(default)]
    pub record_tables: Option<PathBuf>,
}

fn default_regist_interval() -> u64 {
    60
}

fn default_max_message_size() -> usize {
    64 * 1024 * 1024
}

impl Default for Denso {
    fn default() -> Denso {
        Denso {
            regist_interval: default_regist_interval(),
            max_message_size: default_max_message_size(),
            record_tables: None,
        }
    }
}

/// The KX exchange (`[exchange]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// Seconds between runs of the retention job (70-day expiry, 2-year purge). Default 3600.
    #[serde(default = "default_retention_interval")]
    pub retention_interval: u64,
    /// Quota of a new office, in bytes of sealed files held for it. Default 200 MiB.
    #[serde(default = "default_office_quota")]
    pub office_quota: u64,
    /// Quota of a new society. Default 2 GiB.
    #[serde(default = "default_society_quota")]
    pub society_quota: u64,
    /// Seconds an api session may stay unused. Default 1800 (30 minutes).
    #[serde(default = "default_session_idle")]
    pub session_idle: u64,
    /// Seconds an api session may last at most. Default 43200 (12 hours).
    #[serde(default = "default_session_absolute")]
    pub session_absolute: u64,
    /// Days a setup or enrolment code stays valid. Default 14.
    #[serde(default = "default_enrolment_code_days")]
    pub enrolment_code_days: u32,
    /// Days a certificate request (enrolment or renewal) waits for its society's decision;
    /// undecided by then, it expires and the office app is told to ask anew. Default 14.
    #[serde(default = "default_certificate_request_days")]
    pub certificate_request_days: u32,
    /// The api listener's URL as clients reach it, returned in enrolment answers. Default:
    /// `https://` + the api listener's address (with the domain for an unspecified address).
    #[serde(default)]
    pub api_url: Option<String>,
    /// Logins (api), enrolments and society setups one address may attempt per minute.
    /// Default 30.
    #[serde(default = "default_login_attempts_per_minute")]
    pub login_attempts_per_minute: u32,
}

fn default_login_attempts_per_minute() -> u32 {
    30
}

fn default_retention_interval() -> u64 {
    3600
}

fn default_office_quota() -> u64 {
    200 * 1024 * 1024
}

fn default_society_quota() -> u64 {
    2 * 1024 * 1024 * 1024
}

fn default_session_idle() -> u64 {
    30 * 60
}

fn default_session_absolute() -> u64 {
    12 * 60 * 60
}

fn default_enrolment_code_days() -> u32 {
    14
}

fn default_certificate_request_days() -> u32 {
    14
}

impl Default for Exchange {
    fn default() -> Exchange {
        Exchange {
            retention_interval: default_retention_interval(),
            office_quota: default_office_quota(),
            society_quota: default_society_quota(),
            session_idle: default_session_idle(),
            session_absolute: default_session_absolute(),
            enrolment_code_days: default_enrolment_code_days(),
            certificate_request_days: default_certificate_request_days(),
            api_url: None,
            login_attempts_per_minute: default_login_attempts_per_minute(),
        }
    }
}

/// Notification mails (`[notify]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// The relay, `smtp://HOST:PORT`; STARTTLS is required unless the host is loopback and
    /// `allow_plaintext_relay` is set. None: mails are written to `DIR/mail-outbox/`.
    #[serde(default)]
    pub relay: Option<String>,
    /// The From address. Default `kx-notify@` + the domain.
    #[serde(default)]
    pub from: Option<String>,
    /// Allow a loopback relay without STARTTLS (tests, a local MTA). Default false.
    #[serde(default)]
    pub allow_plaintext_relay: bool,
    /// A PEM file of CA certificates to trust for the relay (besides the public web PKI).
    #[serde(default)]
    pub relay_ca: Option<PathBuf>,
}

impl Config {
    /// A configuration for `domain` with every default.
    pub fn new(domain: impl Into<String>) -> Config {
        Config {
            domain: domain.into(),
            environment: EnvironmentSetting::default(),
            listeners: Listeners::default(),
            tls: TlsFiles::default(),
            security: Security::default(),
            denso: Denso::default(),
            exchange: Exchange::default(),
            notify: Notify::default(),
        }
    }

    /// Reads `DIR/kxd.toml`.
    pub fn load(data_dir: &Path) -> anyhow::Result<Config> {
        let path = data_dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// The TOML text `kxd init` writes, with a comment on top.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        Ok(format!(
            "# kxd settings. Relative paths are relative to this directory.\n\
             # Every key not written here takes its default (see README.md, \"kxd\").\n\n{}",
            toml::to_string_pretty(self)?
        ))
    }

    /// The From address of notification mails.
    pub fn notify_from(&self) -> String {
        self.notify
            .from
            .clone()
            .unwrap_or_else(|| format!("kx-notify@{}", self.domain))
    }

    /// The federation's transmit address (To of every DataSend and DataDelete).
    pub fn transmit_address(&self) -> String {
        format!("transmit@{}", self.domain)
    }
}

#[cfg(test)]
mod tests {
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
    }
}
