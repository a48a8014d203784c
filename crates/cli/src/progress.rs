//! Progress on standard error: the transfer bars, the count of messages fetched, the spinner
//! while the society decides.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use kx_client::{Phase, Progress};

/// The progress of an operation drawn on standard error (indicatif draws only on a terminal:
/// scripts and logs see the results alone).
#[derive(Default)]
pub(crate) struct Bars {
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress for Bars {
    fn start(&self, phase: Phase, name: &str, total: Option<u64>) {
        let bar = match phase {
            Phase::Download => bytes_bar("download", name, total.unwrap_or(0)),
            Phase::Decryption => bytes_bar("decrypt", name, total.unwrap_or(0)),
            Phase::Upload => bytes_bar("upload", name, total.unwrap_or(0)),
            Phase::Fetching => counter("fetching {pos}/{len} {wide_bar}", total),
            _ => spinner("Waiting for the society to issue the certificate…"),
        };
        if let Ok(mut current) = self.bar.lock()
            && let Some(old) = current.replace(bar)
        {
            old.finish_and_clear();
        }
    }

    fn advance(&self, amount: u64) {
        if let Ok(current) = self.bar.lock()
            && let Some(bar) = current.as_ref()
        {
            bar.inc(amount);
        }
    }

    fn finish(&self) {
        if let Ok(mut current) = self.bar.lock()
            && let Some(bar) = current.take()
        {
            bar.finish_and_clear();
        }
    }
}

/// A spinner on standard error with `message` (hidden when stderr is not a terminal).
fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A bar counting `total` items with `template`.
fn counter(template: &str, total: Option<u64>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(total, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// A byte progress bar for one stage of one file (download, decryption, upload).
fn bytes_bar(stage: &str, name: &str, len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{prefix:>10} {wide_msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(stage.to_owned());
    bar.set_message(name.to_owned());
    bar
}
