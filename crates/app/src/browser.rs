//! Opening the system's browser at the launch URL: each platform's own opener, started and not
//! waited for. A failure only means the user opens the printed URL by hand.

use std::process::{Command, Stdio};

/// Asks the platform to open `url` in the user's browser.
pub(crate) fn open(url: &str) {
    let mut command = opener(url);
    let started = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Err(err) = started {
        tracing::warn!(error = %err, "could not open the browser; open the printed URL by hand");
    }
}

/// `start` goes through `cmd`, whose parser would cut the URL at `&`: the empty title
/// argument and the quoting keep it whole.
#[cfg(windows)]
fn opener(url: &str) -> Command {
    let mut command = Command::new("cmd");
    command.args(["/C", "start", "\"\"", url]);
    command
}

#[cfg(target_os = "macos")]
fn opener(url: &str) -> Command {
    let mut command = Command::new("open");
    command.arg(url);
    command
}

#[cfg(all(unix, not(target_os = "macos")))]
fn opener(url: &str) -> Command {
    let mut command = Command::new("xdg-open");
    command.arg(url);
    command
}
