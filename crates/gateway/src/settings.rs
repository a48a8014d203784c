//! The gateway's part of `kxd.toml`: the environment, where the store lives (`[store]`), the
//! login policy (`[security]`) and the 伝送 pipeline (`[denso]`). `kxd` reads the file; every
//! key has a safe default.

use std::path::PathBuf;
use std::time::Duration;

use kx_listen::PenaltyConfig;
use kx_store::{Lockout, PasswordPool};

use serde::{Deserialize, Serialize};

/// What the gateway needs to know of the installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewaySettings {
    /// The federation's mail domain: accounts are `ID@domain`.
    pub domain: String,
    /// `production` or `test-loopback`.
    pub environment: EnvironmentSetting,
    /// Where the store lives.
    pub store: StoreSection,
    /// Login policy.
    pub security: Security,
    /// The 伝送 pipeline.
    pub denso: Denso,
}

/// `[store]`: the embedded default (SQLite and blobs in the data directory) unless a shared
/// database or blob store is named, which several kxd may use at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `postgres://USER@HOST:PORT/DATABASE` (a password is better kept in `~/.pgpass` or
    /// `PGPASSWORD` than here); default: `kx.sqlite3` in the data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// A directory (relative to the data directory) or
    /// `s3://BUCKET?endpoint=URL&region=REGION&prefix=PREFIX&credentials=FILE` (see
    /// [`kx_store::Blobs::parse`]; the keys from `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY` unless `credentials` names a private file holding them);
    /// default: `blobs` in the data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blobs: Option<String>,
}

impl GatewaySettings {
    /// The federation's transmit address (To of every DataSend and DataDelete).
    pub fn transmit_address(&self) -> String {
        format!("transmit@{}", self.domain)
    }
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

/// Login policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// Whether passwords may be sent without TLS. Only for loopback tests; default false.
    #[serde(default)]
    pub allow_plaintext_auth: bool,
    /// Failed logins within `lockout_window` that lock an account (or exchange user) for
    /// `lockout_duration`. Default 5.
    #[serde(default = "default_max_failed_logins")]
    pub max_failed_logins: u32,
    /// SMTP connections one address may open per minute, enforced by the SMTP listener's
    /// accept loop. Default 60.
    #[serde(default = "default_connections_per_minute")]
    pub connections_per_minute: u32,
    /// Messages one account may submit per minute. Default 60.
    #[serde(default = "default_messages_per_minute")]
    pub messages_per_minute: u32,
    /// Password-change attempts (web form submissions) one address may make per minute.
    /// Default 10.
    #[serde(default = "default_web_attempts_per_minute")]
    pub web_attempts_per_minute: u32,
    /// Seconds within which `max_failed_logins` failures lock an account, counted from the
    /// first of them. Default 1800.
    #[serde(default = "default_lockout_seconds")]
    pub lockout_window: u64,
    /// Seconds an account stays locked after `max_failed_logins` failures; then it logs in
    /// again. A lock that lasts is `kxd admin account lock`. Default 1800.
    #[serde(default = "default_lockout_seconds")]
    pub lockout_duration: u64,
    /// Seconds a source's failed login waits before it is answered, doubled by each further
    /// recent failure from that source (on any listener); 0: no penalty. Default 1.
    #[serde(default = "default_login_penalty")]
    pub login_penalty: u64,
    /// The longest such wait, in seconds. Default 30.
    #[serde(default = "default_login_penalty_max")]
    pub login_penalty_max: u64,
    /// Seconds without a failure after which a source's failures are forgotten, one per
    /// period. Default 60.
    #[serde(default = "default_login_penalty_decay")]
    pub login_penalty_decay: u64,
    /// Password checks (argon2id, 19 MiB each) running at once. Default: the number of cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_workers: Option<usize>,
    /// Password checks that may wait for a worker; a login beyond them is answered as a
    /// temporary failure (SMTP 454, POP3 `-ERR [SYS/TEMP]`, HTTP 503). Default 32.
    #[serde(default = "default_password_queue")]
    pub password_queue: usize,
}

impl Security {
    /// The temporary lock-out.
    pub fn lockout(&self) -> Lockout {
        Lockout {
            after: self.max_failed_logins,
            window: Duration::from_secs(self.lockout_window),
            duration: Duration::from_secs(self.lockout_duration),
        }
    }

    /// The per-source penalty of failed logins.
    pub fn penalty(&self) -> PenaltyConfig {
        PenaltyConfig {
            first: Duration::from_secs(self.login_penalty),
            max: Duration::from_secs(self.login_penalty_max),
            decay: Duration::from_secs(self.login_penalty_decay),
        }
    }

    /// The bounded pool of password checks.
    pub fn password_pool(&self) -> PasswordPool {
        let default = PasswordPool::default();
        PasswordPool {
            workers: self.password_workers.unwrap_or(default.workers),
            queue: self.password_queue,
        }
    }
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

fn default_lockout_seconds() -> u64 {
    30 * 60
}

fn default_login_penalty() -> u64 {
    1
}

fn default_login_penalty_max() -> u64 {
    30
}

fn default_login_penalty_decay() -> u64 {
    60
}

fn default_password_queue() -> usize {
    PasswordPool::default().queue
}

impl Default for Security {
    fn default() -> Security {
        Security {
            allow_plaintext_auth: false,
            max_failed_logins: default_max_failed_logins(),
            connections_per_minute: default_connections_per_minute(),
            messages_per_minute: default_messages_per_minute(),
            web_attempts_per_minute: default_web_attempts_per_minute(),
            lockout_window: default_lockout_seconds(),
            lockout_duration: default_lockout_seconds(),
            login_penalty: default_login_penalty(),
            login_penalty_max: default_login_penalty_max(),
            login_penalty_decay: default_login_penalty_decay(),
            password_workers: None,
            password_queue: default_password_queue(),
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
    /// The record checker's tables (a copy of `crates/records/tables/default.toml`); the built-in
    /// default when absent.
    #[serde(default)]
    pub record_tables: Option<PathBuf>,
    /// The decompression budget of one message: the most bytes all its LZH attachments may
    /// unpack to together. Default 512 MiB: a message at the default size limit of CSVs
    /// compressing 10:1, the middle of what claims data does (5–20:1). It is also what one
    /// Regist holds in memory at most, beside the message.
    #[serde(default = "default_max_unpacked_size")]
    pub max_unpacked_size: u64,
    /// The most entries (files and directories) all LZH attachments of one message may hold
    /// together. Default 10,000.
    #[serde(default = "default_max_unpacked_entries")]
    pub max_unpacked_entries: usize,
    /// The most bytes one archived file, or all of a message's archived files together, may
    /// unpack to per packed byte once above 1 MiB. Default 100: five times the best a CSV
    /// compresses, far below what a decompression bomb needs.
    #[serde(default = "default_max_unpack_ratio")]
    pub max_unpack_ratio: u64,
    /// Milliseconds one Regist attempt may spend checking a DataSend before it is abandoned
    /// and counted as failed. Default 120,000 (2 minutes; a DataSend at the budget takes
    /// seconds).
    #[serde(default = "default_regist_time_budget_ms")]
    pub regist_time_budget_ms: u64,
    /// Failed Regist attempts (timed out, crashed, or the process died during them) after
    /// which a DataSend is a poison submission: settled with Regist CheckErr A20004 and
    /// never tried again. Default 3.
    #[serde(default = "default_max_regist_attempts")]
    pub max_regist_attempts: u32,
    /// Seconds a POP3 session's maildrop lock lasts unless renewed; a living session renews it
    /// every third of this, so this is how long the maildrop of a process that died stays
    /// `[IN-USE]`. Default 60.
    #[serde(default = "default_maildrop_lease")]
    pub maildrop_lease: u64,
    /// Seconds a Regist job holds the submissions it claimed; a claim lapses only when its job
    /// died (another instance then takes it), so this is how long a killed instance's
    /// submissions wait. Never less than twice `regist_time_budget_ms`. Default 300.
    #[serde(default = "default_regist_lease")]
    pub regist_lease: u64,
}

impl Denso {
    /// The limits of every message's decompression budget.
    pub fn unpack_limits(&self) -> kx_lzh::Limits {
        kx_lzh::Limits {
            max_entries: self.max_unpacked_entries,
            max_total_size: self.max_unpacked_size,
            max_ratio: self.max_unpack_ratio,
            ..kx_lzh::Limits::default()
        }
    }
}

fn default_regist_interval() -> u64 {
    60
}

fn default_max_message_size() -> usize {
    64 * 1024 * 1024
}

fn default_max_unpacked_size() -> u64 {
    512 * 1024 * 1024
}

fn default_max_unpacked_entries() -> usize {
    10_000
}

fn default_max_unpack_ratio() -> u64 {
    100
}

fn default_regist_time_budget_ms() -> u64 {
    120_000
}

fn default_max_regist_attempts() -> u32 {
    3
}

fn default_maildrop_lease() -> u64 {
    60
}

fn default_regist_lease() -> u64 {
    300
}

impl Default for Denso {
    fn default() -> Denso {
        Denso {
            regist_interval: default_regist_interval(),
            max_message_size: default_max_message_size(),
            record_tables: None,
            max_unpacked_size: default_max_unpacked_size(),
            max_unpacked_entries: default_max_unpacked_entries(),
            max_unpack_ratio: default_max_unpack_ratio(),
            regist_time_budget_ms: default_regist_time_budget_ms(),
            max_regist_attempts: default_max_regist_attempts(),
            maildrop_lease: default_maildrop_lease(),
            regist_lease: default_regist_lease(),
        }
    }
}
