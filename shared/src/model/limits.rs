//! A key's limits: a rate limit (`limit` calls a `periodSeconds` window) and a quota (calls
//! `remaining`, refilled to `amount` every day or month). The authorizer enforces them
//! (`authorizer::limits`); management sets them.

use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

/// The most calls a rate limit may allow in one window.
pub const RATE_LIMIT_MAX: u64 = 1_000_000;
/// The longest window of a rate limit: a day.
pub const RATE_PERIOD_MAX: u64 = 86_400;
/// The largest quota (or refill, or top-up).
pub const QUOTA_MAX: u64 = 1_000_000_000_000;

/// `limit` calls per fixed window of `period_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u64,
    pub period_seconds: u64,
}

impl RateLimit {
    pub fn parse(v: &Value) -> Result<Self, String> {
        let o = v.as_object().ok_or("must be an object {limit, periodSeconds} or null")?;
        if let Some(extra) = o.keys().find(|k| !["limit", "periodSeconds"].contains(&k.as_str())) {
            return Err(format!("has no field {extra}"));
        }
        let limit = whole(o.get("limit"), 1, RATE_LIMIT_MAX).map_err(|m| format!("limit {m}"))?;
        let period_seconds = whole(o.get("periodSeconds"), 1, RATE_PERIOD_MAX)
            .map_err(|m| format!("periodSeconds {m}"))?;
        Ok(RateLimit { limit, period_seconds })
    }

    /// The start (epoch seconds) of the window `now` falls in.
    pub fn window(&self, now: OffsetDateTime) -> i64 {
        let p = self.period_seconds as i64;
        now.unix_timestamp().div_euclid(p) * p
    }

    /// Calls per second the limit allows (at least one).
    pub fn per_second(&self) -> u64 {
        (self.limit / self.period_seconds).max(1)
    }

    pub fn to_json(&self) -> Value {
        json!({ "limit": self.limit, "periodSeconds": self.period_seconds })
    }
}

/// How often a quota is refilled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefillInterval {
    Day,
    Month,
}

impl RefillInterval {
    pub fn as_str(self) -> &'static str {
        match self {
            RefillInterval::Day => "day",
            RefillInterval::Month => "month",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "day" => Some(RefillInterval::Day),
            "month" => Some(RefillInterval::Month),
            _ => None,
        }
    }
    /// The first refill due after `last`: the next UTC midnight, or the first of the next month.
    pub fn next_after(self, last: OffsetDateTime) -> OffsetDateTime {
        let day = last.to_offset(time::UtcOffset::UTC).replace_time(time::Time::MIDNIGHT);
        match self {
            RefillInterval::Day => day + Duration::days(1),
            RefillInterval::Month => {
                let first = day.replace_day(1).unwrap_or(day);
                let (y, m) = match first.month() {
                    time::Month::December => (first.year() + 1, time::Month::January),
                    m => (first.year(), m.next()),
                };
                first
                    .replace_year(y)
                    .and_then(|d| d.replace_month(m))
                    .unwrap_or(first + Duration::days(31))
            }
        }
    }
}

/// Back to `amount` calls each interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refill {
    pub amount: u64,
    pub interval: RefillInterval,
}

/// Calls left, and how they come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub remaining: u64,
    pub refill: Option<Refill>,
    /// When it was last set or refilled (the next refill is due one interval later).
    pub refilled_at: Option<OffsetDateTime>,
}

impl Quota {
    /// `{remaining, refill: {amount, interval} | null}`; `now` is when it is set.
    pub fn parse(v: &Value, now: OffsetDateTime) -> Result<Self, String> {
        let o = v.as_object().ok_or("must be an object {remaining, refill} or null")?;
        if let Some(extra) = o.keys().find(|k| !["remaining", "refill"].contains(&k.as_str())) {
            return Err(format!("has no field {extra}"));
        }
        let remaining =
            whole(o.get("remaining"), 0, QUOTA_MAX).map_err(|m| format!("remaining {m}"))?;
        let refill = match o.get("refill") {
            None | Some(Value::Null) => None,
            Some(Value::Object(r)) => {
                if let Some(extra) =
                    r.keys().find(|k| !["amount", "interval"].contains(&k.as_str()))
                {
                    return Err(format!("refill has no field {extra}"));
                }
                let amount = whole(r.get("amount"), 1, QUOTA_MAX)
                    .map_err(|m| format!("refill.amount {m}"))?;
                let interval = r
                    .get("interval")
                    .and_then(Value::as_str)
                    .and_then(RefillInterval::parse)
                    .ok_or("refill.interval must be \"day\" or \"month\"")?;
                Some(Refill { amount, interval })
            }
            Some(_) => return Err("refill must be an object {amount, interval} or null".into()),
        };
        Ok(Quota { remaining, refill, refilled_at: Some(now) })
    }

    /// Whether a refill is due at `now`.
    pub fn refill_due(&self, now: OffsetDateTime) -> Option<Refill> {
        let refill = self.refill?;
        let last = self.refilled_at?;
        (now >= refill.interval.next_after(last)).then_some(refill)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "remaining": self.remaining,
            "refill": self.refill.map(|r| json!({ "amount": r.amount, "interval": r.interval.as_str() })),
        })
    }
}

/// Where a key's current rate window stands, as stored (the authorizers' leases add to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateWindow {
    /// The window's start, epoch seconds.
    pub start: i64,
    /// Calls of the window leased so far.
    pub used: u64,
}

/// A whole number in `min..=max` (absent is refused too).
pub fn whole(v: Option<&Value>, min: u64, max: u64) -> Result<u64, String> {
    v.and_then(Value::as_u64)
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("must be a whole number from {min} to {max}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn rate_limits_parse_and_window() {
        let r = RateLimit::parse(&json!({"limit": 100, "periodSeconds": 60})).unwrap();
        assert_eq!(r.window(datetime!(2026-01-01 0:01:30 UTC)), 1767225660);
        assert_eq!(r.per_second(), 1);
        assert_eq!(
            RateLimit::parse(&json!({"limit": 10, "periodSeconds": 1})).unwrap().per_second(),
            10
        );
        for bad in [
            json!({"limit": 0, "periodSeconds": 1}),
            json!({"limit": 1}),
            json!({"limit": 1, "periodSeconds": 86401}),
            json!({"limit": 1, "periodSeconds": 1, "burst": 3}),
            json!(5),
        ] {
            assert!(RateLimit::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quotas_parse_and_refill() {
        let t = datetime!(2026-01-31 13:00 UTC);
        let q = Quota::parse(
            &json!({"remaining": 5, "refill": {"amount": 10, "interval": "month"}}),
            t,
        )
        .unwrap();
        assert_eq!(q.refill.unwrap().interval.next_after(t), datetime!(2026-02-01 0:00 UTC));
        assert!(q.refill_due(datetime!(2026-01-31 23:59 UTC)).is_none());
        assert!(q.refill_due(datetime!(2026-02-01 0:00 UTC)).is_some());
        let dec = datetime!(2026-12-05 0:00 UTC);
        assert_eq!(RefillInterval::Month.next_after(dec), datetime!(2027-01-01 0:00 UTC));
        assert_eq!(RefillInterval::Day.next_after(t), datetime!(2026-02-01 0:00 UTC));
        assert!(Quota::parse(&json!({"remaining": 5}), t).unwrap().refill.is_none());
        for bad in [
            json!({"refill": null}),
            json!({"remaining": -1}),
            json!({"remaining": 1, "refill": {"amount": 0, "interval": "day"}}),
            json!({"remaining": 1, "refill": {"amount": 1, "interval": "week"}}),
        ] {
            assert!(Quota::parse(&bad, t).is_err(), "{bad}");
        }
        assert_eq!(
            q.to_json(),
            json!({"remaining": 5, "refill": {"amount": 10, "interval": "month"}})
        );
    }
}
