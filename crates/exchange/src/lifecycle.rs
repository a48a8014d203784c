//! How long things live (§3.1, §3.3, §4.2) and what sealed files are called.

use chrono::{DateTime, Months, TimeDelta, Utc};

use crate::api::PartyKind;

/// Files a society sends can be received for 70 days (§3.1).
pub const DOWNLOAD_WINDOW: TimeDelta = TimeDelta::days(70);

/// History and sent-status rows are kept 2 years from the send date (§3.3, §4.2).
pub const KEEP_MONTHS: u32 = 24;

/// The sent-status list's default period: the last 2 months (§4.2).
pub const RECENT_MONTHS: u32 = 2;

/// The last instant a file sent at `sent_at` to an office can be downloaded.
pub fn download_deadline(sent_at: DateTime<Utc>) -> DateTime<Utc> {
    sent_at + DOWNLOAD_WINDOW
}

/// When the rows of a file sent at `sent_at` are purged.
pub fn purge_at(sent_at: DateTime<Utc>) -> DateTime<Utc> {
    sent_at
        .checked_add_months(Months::new(KEEP_MONTHS))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The start of the default sent-status period, seen at `now`.
pub fn recent_since(now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_sub_months(Months::new(RECENT_MONTHS))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The name of a sealed file, shown in lists instead of the names inside it (§4.2), in the
/// manual's shape `Send-KS-…-202401232041116.zip`: `Send-`, the sender's side (`KS` for the
/// society, `JG` for an office), the society's number, the office's number, a serial the
/// sender counts, and the time to a tenth of a second.
pub fn sealed_name(
    sender: PartyKind,
    society: &str,
    office: &str,
    serial: u32,
    at: DateTime<Utc>,
) -> String {
    let side = match sender {
        PartyKind::Society => "KS",
        PartyKind::Office => "JG",
    };
    let tenth = at.timestamp_subsec_millis() / 100;
    format!(
        "Send-{side}-{society}-{office}-{serial:05}-{}{tenth}.zip",
        at.format("%Y%m%d%H%M%S")
    )
}

/// The longest sealed name the server keeps, in characters.
pub const MAX_SEALED_NAME: usize = 255;

/// Whether `name` may name a sealed file in lists and notification mails. Every name
/// [`sealed_name`] makes passes; beyond that shape's letters a name must still be a ZIP's
/// (`….zip`, as every sealed file is, §3) and be printable text only: no C0 or C1 controls,
/// no bidirectional controls (U+202A–U+202E, U+2066–U+2069, the marks U+200E, U+200F,
/// U+061C), no line or paragraph separators (U+2028, U+2029) or other whitespace than a
/// space, no invisible format characters, no path separators or quotes, no leading dot. Such
/// characters could reorder or forge lines of the mail that names the file.
pub fn valid_sealed_name(name: &str) -> bool {
    let length = name.chars().count();
    (1..=MAX_SEALED_NAME).contains(&length)
        && !name.starts_with('.')
        && name
            .get(name.len().saturating_sub(4)..)
            .is_some_and(|end| end.eq_ignore_ascii_case(".zip"))
        && name.chars().all(printable)
}

/// A character that shows as itself on one line and cannot name a path or end a quote.
fn printable(c: char) -> bool {
    let invisible = matches!(c,
        '\u{00ad}' | '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{e0000}'..='\u{e007f}');
    !(c.is_control()
        || (c.is_whitespace() && c != ' ')
        || invisible
        || matches!(c, '/' | '\\' | '"'))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn windows_and_names() {
        let sent =
            Utc.with_ymd_and_hms(2024, 1, 23, 20, 41, 11).unwrap() + TimeDelta::milliseconds(650);
        assert_eq!(
            download_deadline(sent).date_naive().to_string(),
            "2024-04-02"
        );
        assert_eq!(purge_at(sent).date_naive().to_string(), "2026-01-23");
        assert_eq!(recent_since(sent).date_naive().to_string(), "2023-11-23");
        assert_eq!(
            sealed_name(PartyKind::Society, "06139999", "00001", 1, sent),
            "Send-KS-06139999-00001-00001-202401232041116.zip"
        );
    }

    #[test]
    fn the_apps_names_are_valid_and_forged_lines_are_not() {
        let at = Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0).unwrap();
        for side in [PartyKind::Society, PartyKind::Office] {
            let name = sealed_name(side, "06139999", "0001", 99_999, at);
            assert!(valid_sealed_name(&name), "{name}");
        }
        assert!(valid_sealed_name("Send-2.ZIP"));
        assert!(valid_sealed_name("申請 2026.zip"));
        for bad in [
            "",
            ".zip",
            "..zip",
            "Send.pdf",
            "Send.zip.exe",
            "a/b.zip",
            "a\\b.zip",
            "a\"b.zip",
            "a\nb.zip",
            "a\rb.zip",
            "a\tb.zip",
            "a\u{0}b.zip",
            "a\u{7f}b.zip",
            "a\u{85}b.zip",
            "a\u{9b}b.zip",
            "Send\u{2028}To: everyone.zip",
            "Send\u{2029}x.zip",
            "Send-\u{202e}piz.exe.zip",
            "a\u{202a}b.zip",
            "a\u{2066}b.zip",
            "a\u{2069}b.zip",
            "a\u{200f}b.zip",
            "a\u{200b}b.zip",
            "a\u{feff}b.zip",
            "a\u{3000}b.zip",
            "a\u{e0041}b.zip",
        ] {
            assert!(!valid_sealed_name(bad), "{bad:?}");
        }
        assert!(valid_sealed_name(&format!("{}.zip", "x".repeat(251))));
        assert!(!valid_sealed_name(&format!("{}.zip", "x".repeat(252))));
    }
}
