//! The exchange's clock. Production reads the system clock. In the test-loopback
//! environment only, `KXD_CLOCK_FILE` may name a file holding an RFC 3339 instant that is
//! "now" instead, re-read at every call, so tests can move time past the 70-day and 2-year
//! limits by rewriting the file.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

/// The environment variable naming the clock file.
pub const CLOCK_FILE_VAR: &str = "KXD_CLOCK_FILE";

/// Where "now" comes from.
#[derive(Clone, Debug)]
pub struct Clock {
    file: Option<PathBuf>,
}

impl Clock {
    /// The system clock, or the clock file when the installation's clock is `movable` (the
    /// test-loopback environment) and `KXD_CLOCK_FILE` is set. In production the variable is
    /// ignored (with a warning), so a stray variable cannot move a real server's time.
    pub fn new(movable: bool) -> Clock {
        Clock::choose(std::env::var_os(CLOCK_FILE_VAR).map(PathBuf::from), movable)
    }

    fn choose(file: Option<PathBuf>, movable: bool) -> Clock {
        match (file, movable) {
            (Some(file), true) => Clock { file: Some(file) },
            (Some(_), false) => {
                tracing::warn!("{CLOCK_FILE_VAR} is ignored outside environment test-loopback");
                Clock::system()
            }
            (None, _) => Clock::system(),
        }
    }

    /// The system clock.
    pub fn system() -> Clock {
        Clock { file: None }
    }

    /// Now. A clock file that is missing or does not hold an RFC 3339 instant falls back to
    /// the system clock.
    pub fn now(&self) -> DateTime<Utc> {
        if let Some(file) = &self.file
            && let Ok(text) = std::fs::read_to_string(file)
            && let Ok(at) = DateTime::parse_from_rfc3339(text.trim())
        {
            return at.with_timezone(&Utc);
        }
        Utc::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_test_loopback_honours_the_clock_file() {
        let file = Some(PathBuf::from("/nonexistent/clock"));
        assert!(Clock::choose(file.clone(), true).file.is_some());
        assert!(Clock::choose(file, false).file.is_none());
        assert!(Clock::choose(None, true).file.is_none());
    }

    #[test]
    fn the_file_is_read_at_every_call() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clock");
        let clock = Clock {
            file: Some(path.clone()),
        };
        std::fs::write(&path, "2030-01-02T03:04:05Z\n").unwrap();
        assert_eq!(clock.now().to_rfc3339(), "2030-01-02T03:04:05+00:00");
        std::fs::write(&path, "2031-01-02T03:04:05+09:00").unwrap();
        assert_eq!(clock.now().to_rfc3339(), "2031-01-01T18:04:05+00:00");
        std::fs::write(&path, "garbage").unwrap();
        assert!(clock.now().timestamp() > 1_700_000_000);
    }
}
