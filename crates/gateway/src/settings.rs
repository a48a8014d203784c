//! The gateway's part of `kxd.toml`: the environment, the login policy (`[security]`) and the
//! 伝送 pipeline (`[denso]`). `kxd` reads the file; every key has a safe default.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What the gateway needs to know of the installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewaySettings {
    /// The federation's mail domain: accounts are `ID@domain`.
    pub domain: String,
    /// `production` or `test-loopback`.
    pub environment: EnvironmentSetting,
    /// Login policy.
    pub security: Security,
    /// The 伝送 pipeline.
    pub denso: Denso,
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
    /// Consecutive failed logins that lock an account. Default 5.
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
        }
    }
}
