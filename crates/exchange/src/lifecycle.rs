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
}
