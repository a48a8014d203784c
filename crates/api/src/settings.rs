//! The exchange's part of `kxd.toml`: `[exchange]` and `[notify]`, and `[retention]` for the
//! retention job that serves both halves. `kxd` reads the file; every key has a safe default.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What the exchange needs to know of the installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeSettings {
    /// The federation's mail domain (the default From of notification mails, the api URL for
    /// an unspecified listener address).
    pub domain: String,
    /// Whether the clock file may move the server's clock (test-loopback installations only).
    pub movable_clock: bool,
    /// The exchange.
    pub exchange: Exchange,
    /// Notification mails.
    pub notify: Notify,
    /// Retention periods and garbage collection.
    pub retention: Retention,
}

impl ExchangeSettings {
    /// The From address of notification mails.
    pub fn notify_from(&self) -> String {
        self.notify
            .from
            .clone()
            .unwrap_or_else(|| format!("kx-notify@{}", self.domain))
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

/// Retention periods and garbage collection (`[retention]`), applied by the retention job every
/// `[exchange] retention_interval` seconds and by `kxd admin retention run`. The exchange's own
/// periods are the spec's and not settings: 70 days to download, 2 years of history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Days the raw message of a settled submission (registered, cancelled or refused) and of
    /// an upstream notice is kept after it was settled or received; the row stays. Default 30.
    #[serde(default = "default_raw_message_days")]
    pub raw_message_days: u32,
    /// Days a mailbox message (Accept, Regist, DeleteRegist, Result, Contact, service notice)
    /// is kept for a client that never retrieves and deletes it. Default 400.
    #[serde(default = "default_mail_days")]
    pub mail_days: u32,
    /// Seconds an unreferenced blob or a temporary file is left before the garbage collector
    /// deletes it: a younger temporary file may belong to a write in progress (blobs waiting
    /// for their commit are held by intents whatever their age). Default 3600.
    #[serde(default = "default_gc_grace")]
    pub gc_grace: u64,
}

fn default_raw_message_days() -> u32 {
    30
}

fn default_mail_days() -> u32 {
    400
}

fn default_gc_grace() -> u64 {
    3600
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            raw_message_days: default_raw_message_days(),
            mail_days: default_mail_days(),
            gc_grace: default_gc_grace(),
        }
    }
}
