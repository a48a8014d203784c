//! The daily analysis log (§6.2): `Log/kx.log.YYYY-MM-DD` in the profile directory, which the
//! office mails to the society on request.
//!
//! What is logged: commands, codes, file IDs, sealed names, sizes, party numbers. What never
//! is: file contents, the names of files inside a ZIP, passwords, PINs, tokens, user names or
//! mail addresses (the manual promises logs without personal information).

use tracing::subscriber::DefaultGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};

use super::profile::ProfileDir;

/// Logging into the profile's `Log/` lasts as long as this lives.
pub type LogGuard = DefaultGuard;

/// Starts logging for this command into the profile's `Log/`; nothing when the directory
/// cannot be made (a log must never stop the app).
pub fn start_log(profile: &ProfileDir) -> Option<LogGuard> {
    let dir = profile.root().join("Log");
    std::fs::create_dir_all(&dir).ok()?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("kx")
        .filename_suffix("log")
        .build(&dir)
        .ok()?;
    let subscriber = tracing_subscriber::fmt()
        .with_writer(appender)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    Some(tracing::subscriber::set_default(subscriber))
}
