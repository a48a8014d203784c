//! Progress on standard error: the transfer bars, the count of messages fetched, the spinner
//! while the society decides.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use kx_client::{Phase, Progress};
use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr};

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

/// A byte progress bar for one stage of one file (download, decryption, upload), laid out for
/// the terminal's width.
fn bytes_bar(stage: &str, name: &str, len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let width = console::Term::stderr()
        .size_checked()
        .map_or(80, |(_, cols)| usize::from(cols));
    let (template, name) = layout(width, name);
    let style = ProgressStyle::with_template(&template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(stage.to_owned());
    bar.set_message(name);
    bar
}

/// The columns of a byte bar's line but the name and the bar: the stage (8), the brackets,
/// `12.34 MiB/20.00 MiB` (19) and `12.34 MiB/s` (11), the spaces between, and the last column
/// (left empty: a terminal wraps a line that fills it).
const FIXED: usize = 8 + 1 + 2 + 2 + 19 + 1 + 11 + 1;
/// The bar's width bounds.
const BAR: (usize, usize) = (10, 30);

/// The template of a byte bar `width` columns wide and the name fitted into its share: the
/// name gets at least two thirds of what the counts leave and the bar the rest, the bar
/// growing (to 30) only where the name does not need the room. Too narrow for both, the bar
/// and the rate go.
fn layout(width: usize, name: &str) -> (String, String) {
    let room = width.saturating_sub(FIXED);
    if room < BAR.0 + 10 {
        let name_room = width.saturating_sub(8 + 1 + 1 + 19 + 1).max(5);
        return (
            "{prefix:>8} {msg} {bytes}/{total_bytes}".to_owned(),
            fit(name, name_room),
        );
    }
    let share = (room - room / 3).min(room - BAR.0);
    let needed = UnicodeWidthStr::width(name).min(share);
    let bar = (room - needed).min(BAR.1);
    let name_room = room - bar;
    (
        format!(
            "{{prefix:>8}} {{msg}} [{{bar:{bar}}}] {{bytes}}/{{total_bytes}} {{bytes_per_sec}}"
        ),
        fit(name, name_room),
    )
}

/// `name` in exactly `columns` columns: padded, or cut in the middle with `…` so that both
/// its start and its end (the extension, the sealed name's time) stay.
fn fit(name: &str, columns: usize) -> String {
    let width = UnicodeWidthStr::width(name);
    if width <= columns {
        return format!("{name}{}", " ".repeat(columns - width));
    }
    let keep = columns.saturating_sub(1);
    let tail_room = keep / 2;
    let head_room = keep - tail_room;
    let mut head = String::new();
    let mut used = 0;
    for c in name.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > head_room {
            break;
        }
        head.push(c);
        used += w;
    }
    let mut tail: Vec<char> = Vec::new();
    let mut tail_used = 0;
    for c in name.chars().rev() {
        let w = c.width().unwrap_or(0);
        if tail_used + w > tail_room {
            break;
        }
        tail.push(c);
        tail_used += w;
    }
    let tail: String = tail.into_iter().rev().collect();
    let pad = columns.saturating_sub(used + 1 + tail_used);
    format!("{head}…{tail}{}", " ".repeat(pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEALED: &str = "Send-KS-06139999-00001-00001-202401232041116.zip";

    fn bar_width(template: &str) -> usize {
        let start = template.find("{bar:").expect("a bar") + 5;
        let end = start + template[start..].find('}').expect("its end");
        template[start..end].parse().expect("a width")
    }

    #[test]
    fn in_80_columns_the_name_gets_its_fair_share() {
        let (template, name) = layout(80, SEALED);
        let bar = bar_width(&template);
        assert_eq!(UnicodeWidthStr::width(name.as_str()) + bar + FIXED, 80);
        assert!(UnicodeWidthStr::width(name.as_str()) >= 20, "{name:?}");
        assert!((BAR.0..=BAR.1).contains(&bar), "{bar}");
        assert!(
            name.starts_with("Send-KS-") && name.ends_with("116.zip"),
            "{name:?}"
        );
        assert!(name.contains('…'), "{name:?}");
    }

    #[test]
    fn a_short_name_leaves_the_room_to_the_bar() {
        let (template, name) = layout(80, "a.pdf");
        assert_eq!(bar_width(&template), BAR.1);
        assert!(name.starts_with("a.pdf"));
        let (template, name) = layout(200, SEALED);
        assert_eq!(bar_width(&template), BAR.1);
        assert_eq!(name.trim_end(), SEALED, "a wide terminal shows it whole");
    }

    #[test]
    fn names_are_cut_in_the_middle_by_their_columns() {
        assert_eq!(fit("abcdefghij", 7), "abc…hij");
        assert_eq!(fit("abc", 5), "abc  ");
        // Full-width characters take two columns each.
        let cut = fit("給付課の申請書類一式.zip", 12);
        assert_eq!(UnicodeWidthStr::width(cut.as_str()), 12, "{cut:?}");
        assert_eq!(cut, "給付課….zip ", "a column left over is padding");
        let (_, name) = layout(80, SEALED);
        assert_eq!(name, "Send-KS-0613…2041116.zip");
    }

    #[test]
    fn a_narrow_terminal_drops_the_bar() {
        let (template, name) = layout(40, SEALED);
        assert!(!template.contains("{bar"), "{template}");
        assert!(name.contains('…'));
    }
}
