//! Times: RFC 3339 UTC for the API, a fixed-width sortable form for sort keys, and the
//! bounds of an expiry.

use time::{Duration, OffsetDateTime};

/// How far in the future `expiresAt` may be.
pub const EXPIRY_MAX: Duration = Duration::days(3653);

/// Parses an RFC 3339 `expiresAt` that lies in the future and at most 10 years ahead.
pub fn parse_expiry(s: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let t = parse_time(s).ok_or("must be an RFC 3339 timestamp")?;
    if t <= now {
        return Err("must be in the future".into());
    }
    if t - now > EXPIRY_MAX {
        return Err("must be at most 10 years ahead".into());
    }
    Ok(t)
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-22T03:49:19.123Z`.
pub fn format_time(t: OffsetDateTime) -> String {
    utc_with_fraction(t, 3)
}

/// A fixed-width, lexicographically ordered form of a time (nanoseconds), for sort keys.
pub fn sortable_time(t: OffsetDateTime) -> String {
    utc_with_fraction(t, 9)
}

/// `YYYY-MM-DDTHH:MM:SS.fffZ` in UTC with `digits` (3 or 9) digits of the second's fraction.
fn utc_with_fraction(t: OffsetDateTime, digits: usize) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let fraction = t.nanosecond() / 10u32.pow(9 - digits as u32);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{fraction:0digits$}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
}

pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.to_offset(time::UtcOffset::UTC))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn expiry() {
        let now = datetime!(2026-01-01 0:00 UTC);
        assert!(parse_expiry("2026-06-01T00:00:00Z", now).is_ok());
        assert!(parse_expiry("2025-06-01T00:00:00Z", now).is_err());
        assert!(parse_expiry("2040-06-01T00:00:00Z", now).is_err());
        assert!(parse_expiry("tomorrow", now).is_err());
        assert!(parse_expiry("2026-06-01T02:00:00+02:00", now).is_ok());
    }
    #[test]
    fn times_format_and_sort() {
        let t = datetime!(2026-11-22 03:49:19.123456789 UTC);
        assert_eq!(format_time(t), "2026-11-22T03:49:19.123Z");
        assert_eq!(sortable_time(t), "2026-11-22T03:49:19.123456789Z");
        assert_eq!(parse_time("2026-11-22T03:49:19.123456789Z"), Some(t));
        let earlier = datetime!(2026-11-22 03:49:19.12345678 UTC);
        assert!(sortable_time(earlier) < sortable_time(t));
    }
}
