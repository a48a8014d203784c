//! RFC 2822 dates as the 伝送 rules want them: the day of week is mandatory (§5.4(4)).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeZone, Weekday};

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Formats a date-time as the samples of the source do: `Thu, 08 Apr 2004 19:27:51 +0900`.
pub fn format(date: &DateTime<FixedOffset>) -> String {
    let offset = date.offset().local_minus_utc();
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = offset.unsigned_abs() / 60;
    format!(
        "{}, {:02} {} {:04} {} {}{:02}{:02}",
        DAYS[date.weekday().num_days_from_monday() as usize],
        date.day(),
        MONTHS[date.month0() as usize],
        date.year(),
        date.format("%H:%M:%S"),
        sign,
        offset / 60,
        offset % 60
    )
}

/// Parses `day-name, day month year hour:minute[:second] zone` (RFC 2822 §3.3) with the day of
/// week required and consistent with the date. Zones are numeric, or the obsolete `GMT`/`UT`.
/// Returns `None` for anything else.
pub fn parse(text: &str) -> Option<DateTime<FixedOffset>> {
    let (day_name, rest) = text.trim().split_once(',')?;
    let weekday = DAYS.iter().position(|d| *d == day_name.trim())?;
    let mut fields = rest.split_whitespace();
    let day: u32 = digits(fields.next()?, 1, 2)?;
    let month_name = fields.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)? as u32 + 1;
    let year: i32 = digits(fields.next()?, 4, 4)?;
    let time = parse_time(fields.next()?)?;
    let zone = parse_zone(fields.next()?)?;
    if fields.next().is_some() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    if date.weekday() != Weekday::try_from(weekday as u8).ok()? {
        return None;
    }
    zone.from_local_datetime(&date.and_time(time)).single()
}

fn digits<T: std::str::FromStr>(s: &str, min: usize, max: usize) -> Option<T> {
    (s.len() >= min && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let mut parts = s.split(':');
    let hour = digits(parts.next()?, 2, 2)?;
    let minute = digits(parts.next()?, 2, 2)?;
    let second = match parts.next() {
        Some(sec) => digits(sec, 2, 2)?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    NaiveTime::from_hms_opt(hour, minute, second)
}

fn parse_zone(s: &str) -> Option<FixedOffset> {
    if s == "GMT" || s == "UT" {
        return FixedOffset::east_opt(0);
    }
    let (sign, hhmm) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let value: i32 = digits(hhmm, 4, 4)?;
    let (hours, minutes) = (value / 100, value % 100);
    if minutes >= 60 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_dates_round_trip() {
        for text in [
            "Thu, 08 Apr 2004 19:27:51 +0900",
            "Thu, 08 Apr 2004 16:00:03 +0900",
            "Mon, 23 Nov 2026 00:00:00 -0130",
            // Found by the parse fuzz target: years before 1000 keep their four digits.
            "Thu, 08 Apr 0004 19:40:00 +0900",
        ] {
            let date = parse(text).expect(text);
            assert_eq!(format(&date), text);
        }
    }

    #[test]
    fn weekday_is_mandatory_and_checked() {
        assert!(parse("08 Apr 2004 19:27:51 +0900").is_none());
        assert!(parse("Fri, 08 Apr 2004 19:27:51 +0900").is_none());
        assert!(parse("Thu, 8 Apr 2004 19:27 GMT").is_some());
        assert!(parse("Thu, 08 Apr 2004 19:27:51 JST").is_none());
        assert!(parse("Thu, 08 Apr 2004 19:27:51 +0900 extra").is_none());
        assert!(parse("Thu, 31 Apr 2004 19:27:51 +0900").is_none());
        assert!(parse("Thu, 08 Apr 2004 25:27:51 +0900").is_none());
    }
}
