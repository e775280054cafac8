//! Times as people write and read them: `30d`, `2025-06-01`, "in 3 days", "2 hours ago".
//!
//! JWT times are whole seconds since the Unix epoch, always UTC. This module converts both ways
//! without a date library (civil-from-days arithmetic) and never panics, even on `u64::MAX`.

use std::time::{SystemTime, UNIX_EPOCH};

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// Seconds since the Unix epoch now; 0 if the system clock is set before 1970.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A time string that could not be read; the message says which forms are accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read {input:?} as a time: {reason}")]
pub struct TimeParseError {
    input: String,
    reason: &'static str,
}

const DURATION_FORMS: &str =
    "expected a duration such as 30d, 12h, 90m, 2w or 1d12h (units s, m, h, d, w, y)";
const INSTANT_FORMS: &str = "expected a duration from now (30d, 12h), a UTC date (2025-06-01 or \
     2025-06-01T12:00:00Z) or Unix seconds (@1767225600)";

/// Parses a duration such as `30d`, `12h`, `1d12h`, `90 minutes`; returns seconds.
pub fn parse_duration(input: &str) -> Result<u64, TimeParseError> {
    let error = |reason| TimeParseError {
        input: input.to_string(),
        reason,
    };
    let mut rest = input.trim();
    if rest.is_empty() {
        return Err(error(DURATION_FORMS));
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (digits, after) = rest.split_at(digits_end);
        let amount: u64 = digits.parse().map_err(|_| error(DURATION_FORMS))?;
        let after = after.trim_start();
        let unit_end = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        let seconds = unit_seconds(unit).ok_or_else(|| error(DURATION_FORMS))?;
        total = amount
            .checked_mul(seconds)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| error("the duration is too long"))?;
        rest = after.trim_start();
    }
    Ok(total)
}

fn unit_seconds(unit: &str) -> Option<u64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => MINUTE,
        "h" | "hr" | "hrs" | "hour" | "hours" => HOUR,
        "d" | "day" | "days" => DAY,
        "w" | "week" | "weeks" => 7 * DAY,
        "y" | "year" | "years" => 365 * DAY,
        _ => return None,
    })
}

/// Parses a point in time: a duration from `now` (`7d`), a UTC date or date-time
/// (`2025-06-01`, `2025-06-01T12:00:00Z`, `2025-06-01 12:00`), or `@` Unix seconds.
pub fn parse_instant(input: &str, now: u64) -> Result<u64, TimeParseError> {
    let text = input.trim();
    let error = |reason| TimeParseError {
        input: input.to_string(),
        reason,
    };
    if let Some(secs) = text.strip_prefix('@') {
        return secs.parse().map_err(|_| error(INSTANT_FORMS));
    }
    if looks_like_date(text) {
        return parse_date_time(text).ok_or_else(|| error(INSTANT_FORMS));
    }
    let duration = parse_duration(text).map_err(|_| error(INSTANT_FORMS))?;
    now.checked_add(duration)
        .ok_or_else(|| error("the time is too far in the future"))
}

fn looks_like_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 10 && bytes.get(4) == Some(&b'-') && bytes.iter().take(4).all(u8::is_ascii_digit)
}

/// `YYYY-MM-DD` optionally followed by `T` or a space, `HH:MM[:SS]`, and `Z` or ` UTC`.
fn parse_date_time(text: &str) -> Option<u64> {
    let text = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix(" UTC"))
        .unwrap_or(text);
    let (date, time) = match text.get(10..) {
        Some("") => (text, None),
        Some(rest) if rest.starts_with('T') || rest.starts_with(' ') => {
            (text.get(..10)?, Some(rest.get(1..)?))
        }
        _ => return None,
    };
    let mut date_parts = date.split('-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    if date_parts.next().is_some() || !(1..=12).contains(&month) {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut seconds_of_day = 0u64;
    if let Some(time) = time {
        let mut parts = time.split(':');
        let hour: u64 = parts.next()?.parse().ok()?;
        let minute: u64 = parts.next()?.parse().ok()?;
        let second: u64 = parts.next().map_or(Some(0), |s| s.parse().ok())?;
        if parts.next().is_some() || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        seconds_of_day = hour * HOUR + minute * MINUTE + second;
    }
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    days.checked_mul(DAY)?.checked_add(seconds_of_day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let month_from_march = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Year, month, day of a count of days since 1970-01-01 (inverse of `days_from_civil`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(0),
        u32::try_from(day).unwrap_or(0),
    )
}

/// `2025-06-01 12:00:00 UTC`.
pub fn format_utc(unix_secs: u64) -> String {
    // u64::MAX / DAY is about 2.1e14, well inside i64.
    let days = i64::try_from(unix_secs / DAY).unwrap_or(i64::MAX);
    let (year, month, day) = civil_from_days(days);
    let secs = unix_secs % DAY;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / HOUR,
        (secs % HOUR) / MINUTE,
        secs % MINUTE
    )
}

/// `in 3 days`, `2 hours ago`, `now`: the distance from `now` to `unix_secs`, rounded to the
/// largest whole unit (days, hours, minutes, seconds).
pub fn format_relative(unix_secs: u64, now: u64) -> String {
    let (distance, future) = if unix_secs >= now {
        (unix_secs - now, true)
    } else {
        (now - unix_secs, false)
    };
    if distance == 0 {
        return "now".to_string();
    }
    let (unit, name) = match distance {
        d if d >= DAY => (DAY, "day"),
        d if d >= HOUR => (HOUR, "hour"),
        d if d >= MINUTE => (MINUTE, "minute"),
        _ => (1, "second"),
    };
    let count = distance.saturating_add(unit / 2) / unit;
    let plural = if count == 1 { "" } else { "s" };
    if future {
        format!("in {count} {name}{plural}")
    } else {
        format!("{count} {name}{plural} ago")
    }
}

/// `2025-06-01 12:00:00 UTC (in 3 days)`.
pub fn format_with_relative(unix_secs: u64, now: u64) -> String {
    format!(
        "{} ({})",
        format_utc(unix_secs),
        format_relative(unix_secs, now)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d"), Ok(30 * DAY));
        assert_eq!(parse_duration("1d12h"), Ok(DAY + 12 * HOUR));
        assert_eq!(parse_duration("90 minutes"), Ok(90 * MINUTE));
        assert_eq!(parse_duration("2w 3s"), Ok(14 * DAY + 3));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("3 fortnights").is_err());
        assert!(parse_duration("99999999999999999999y").is_err());
        assert!(parse_duration("9999999999999y").is_err());
    }

    #[test]
    fn instants() {
        let now = 1_000_000;
        assert_eq!(parse_instant("2h", now), Ok(now + 2 * HOUR));
        assert_eq!(parse_instant("@1767225600", now), Ok(1_767_225_600));
        assert_eq!(parse_instant("2026-01-01", now), Ok(1_767_225_600));
        assert_eq!(
            parse_instant("2026-01-01T01:02:03Z", now),
            Ok(1_767_225_600 + 3723)
        );
        assert_eq!(
            parse_instant("2026-01-01 01:02", now),
            Ok(1_767_225_600 + 3720)
        );
        assert_eq!(parse_instant("2024-02-29", now), Ok(1_709_164_800));
        assert!(parse_instant("2023-02-29", now).is_err());
        assert!(parse_instant("2026-13-01", now).is_err());
        assert!(parse_instant("2026-01-01T25:00Z", now).is_err());
        assert!(parse_instant("2026-01-01T10:00+02:00", now).is_err());
        assert!(parse_instant("1969-12-31", now).is_err());
        assert!(parse_instant("tomorrow", now).is_err());
    }

    #[test]
    fn formats_utc_including_extremes() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_709_164_800 + 3723), "2024-02-29 01:02:03 UTC");
        assert_eq!(format_utc(1_767_225_599), "2025-12-31 23:59:59 UTC");
        assert!(format_utc(u64::MAX).ends_with("UTC"));
    }

    #[test]
    fn dates_round_trip() {
        for days in [-1, 0, 59, 60, 365, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn relative() {
        assert_eq!(format_relative(100, 100), "now");
        assert_eq!(format_relative(100 + 30 * DAY - 5, 100), "in 30 days");
        assert_eq!(format_relative(100, 100 + HOUR), "1 hour ago");
        assert_eq!(format_relative(100 + 90, 100), "in 2 minutes");
        assert_eq!(
            format_relative(0, u64::MAX),
            format!("{} days ago", u64::MAX / DAY)
        );
    }
}
