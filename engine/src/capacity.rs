//! Capacity: the GMS `capacity` builtin service — how many scheduled callbacks each time slot
//! of the week allows — and its API (`GET /genesys/1/service/{name}?start=&end=&timezone=`,
//! gms-api §3.3).
//!
//! Options (product help, Capacity Service):
//! - `_timezone`: IANA (Java) zone id in which weekdays and hours are read; default `UTC`.
//! - `_capacity_N`, N the ISO-8601 weekday (1 = Monday … 7 = Sunday):
//!   `{"N": {"HHMM": n, ...}}`, `n` per hourly slot (`"0900"`: 09:00-10:00). Hours not listed
//!   have capacity 0. `n` applies to each `_request_time_bucket` inside the hour: with buckets of
//!   5 minutes, `"0900": 10` allows 120 callbacks in that hour.
//! - `_capacity_add_<yyyyMMdd>`: `{"<yyyyMMdd>": {"HHMM": n, ...}}`, the capacity of that date,
//!   replacing the weekly grid for the whole day. `_capacity_add` itself may also hold such an
//!   object keyed by dates.
//! - `_capacity` (`[Mon, Tue, ...]`) and a bracketed `_capacity_add` (`[2016-07-04]`) are the
//!   UI's summaries of the above and are ignored.
//! - `_request_time_bucket`: minutes per slot, a divisor of 60; default 5 (the callback default).
//! - `_max_capacity`: the `[capacity]` section's ceiling, default 1000; a configured value above
//!   it is a `CapacityException`. The caller passes it among the options.
//!
//! Hour keys are trimmed (the help's own sample has `" 1600"`). Buckets start at local hour
//! boundaries; a bucket whose local start falls in a DST gap does not exist, and one in a DST
//! overlap exists twice (once per instant).
//!
//! Nothing here reads the clock: instants are parameters.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::Value;

use crate::calendar::{
    format_utc, local_to_utc, parse_query_time, parse_timezone, present, Pick, QueryTime,
};

/// Default of `[capacity] _max_capacity`.
pub const DEFAULT_MAX_CAPACITY: u32 = 1000;
/// Default `_request_time_bucket`, in minutes.
pub const DEFAULT_BUCKET_MINUTES: u32 = 5;
/// Longest range, in days, a capacity query may cover.
pub const MAX_QUERY_DAYS: i64 = 31;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapacityError {
    /// A service option is malformed; `option` is its name.
    #[error("invalid option {option}: {message}")]
    BadOption { option: String, message: String },
    /// A configured capacity exceeds `_max_capacity` (GMS `CapacityException`).
    #[error("{option}: capacity {value} for slot {slot} exceeds _max_capacity {max}")]
    AboveMax {
        option: String,
        slot: String,
        value: u64,
        max: u32,
    },
    /// A query parameter is malformed; `parameter` is its name.
    #[error("invalid parameter {parameter}: {message}")]
    BadParameter { parameter: String, message: String },
}

fn bad_option(option: &str, message: impl Into<String>) -> CapacityError {
    CapacityError::BadOption {
        option: option.to_string(),
        message: message.into(),
    }
}

fn bad_parameter(parameter: &str, message: impl Into<String>) -> CapacityError {
    CapacityError::BadParameter {
        parameter: parameter.to_string(),
        message: message.into(),
    }
}

/// Capacity per local hour of one day.
type DayGrid = [u32; 24];

/// A capacity service's grid.
#[derive(Debug, Clone)]
pub struct Capacity {
    tz: Tz,
    bucket_minutes: u32,
    /// Monday first.
    weekly: [DayGrid; 7],
    exceptions: BTreeMap<NaiveDate, DayGrid>,
}

/// One `_request_time_bucket` slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub start_utc: DateTime<Utc>,
    /// Wall-clock start in the service's zone.
    pub local_start: NaiveDateTime,
    /// Callbacks allowed in this bucket.
    pub capacity: u32,
}

/// Reply to a capacity query (same slot shape as the v2 availability API, gms-api §1.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityReply {
    /// The zone of `localTime` and of a `start`/`end` given without an offset.
    pub timezone: String,
    /// Minutes per slot (`_request_time_bucket`).
    pub duration_min: u32,
    /// The queried range, ISO-8601 UTC with milliseconds.
    pub start: String,
    pub end: String,
    /// Slots with capacity above 0, in time order.
    pub slots: Vec<CapacitySlot>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacitySlot {
    /// `2026-03-09T16:00:00.000Z`.
    pub utc_time: String,
    /// `2026-03-09T08:00:00.000`, in the reply's `timezone`.
    pub local_time: String,
    pub capacity: u32,
}

impl Capacity {
    /// Builds the grid from a service's options (plus `_max_capacity`, if the caller has one).
    pub fn from_options(options: &[(String, String)]) -> Result<Capacity, CapacityError> {
        let get = |key: &str| {
            crate::config::option(options, key)
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let tz = match get("_timezone") {
            Some(name) => parse_timezone(name)
                .ok_or_else(|| bad_option("_timezone", format!("unknown time zone '{name}'")))?,
            None => Tz::UTC,
        };
        let max = match get("_max_capacity") {
            Some(v) => v
                .parse::<u32>()
                .map_err(|_| bad_option("_max_capacity", format!("'{v}' is not a whole number")))?,
            None => DEFAULT_MAX_CAPACITY,
        };
        let bucket_minutes = match get("_request_time_bucket") {
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|m| *m > 0 && 60 % m == 0)
                .ok_or_else(|| {
                    bad_option(
                        "_request_time_bucket",
                        format!("'{v}' is not a number of minutes dividing 60"),
                    )
                })?,
            None => DEFAULT_BUCKET_MINUTES,
        };
        let mut capacity = Capacity {
            tz,
            bucket_minutes,
            weekly: [[0; 24]; 7],
            exceptions: BTreeMap::new(),
        };
        for (name, value) in options {
            let value = value.trim();
            let Some(suffix) = name.strip_prefix("_capacity_") else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            if let Some(date) = suffix.strip_prefix("add") {
                let date = date.trim_start_matches('_');
                if date.is_empty() {
                    capacity.add_exceptions(name, value, max)?;
                    continue;
                }
                let day = parse_date(date)
                    .ok_or_else(|| bad_option(name, format!("'{date}' is not a date yyyyMMdd")))?;
                let json = parse_json(name, value)?;
                let grid = single_entry(name, &json, date, |k| parse_date(k) == Some(day))?;
                capacity
                    .exceptions
                    .insert(day, parse_grid(name, grid, max)?);
            } else if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()) {
                let day = suffix
                    .parse::<usize>()
                    .ok()
                    .filter(|d| (1..=7).contains(d))
                    .ok_or_else(|| {
                        bad_option(name, "the weekday must be 1 (Monday) to 7 (Sunday)")
                    })?;
                let json = parse_json(name, value)?;
                let grid = single_entry(name, &json, suffix, |k| k.parse::<usize>() == Ok(day))?;
                capacity.weekly[day - 1] = parse_grid(name, grid, max)?;
            }
        }
        Ok(capacity)
    }

    /// `_capacity_add` holding `{"yyyyMMdd": {...}, ...}`; empty, `{}`, `[]` or the UI's
    /// bracketed list of dates add nothing.
    fn add_exceptions(&mut self, name: &str, value: &str, max: u32) -> Result<(), CapacityError> {
        if value.is_empty() || value.starts_with('[') {
            return Ok(());
        }
        let json = parse_json(name, value)?;
        let Value::Object(map) = &json else {
            return Err(bad_option(
                name,
                "expected a JSON object keyed by yyyyMMdd dates",
            ));
        };
        for (key, grid) in map {
            let day = parse_date(key.trim())
                .ok_or_else(|| bad_option(name, format!("'{key}' is not a date yyyyMMdd")))?;
            self.exceptions.insert(day, parse_grid(name, grid, max)?);
        }
        Ok(())
    }

    /// The same capacity in every bucket of every day: a callback service's
    /// `_max_request_by_time_bucket` when it names no capacity service. Buckets start at local
    /// hour boundaries in `tz`; `bucket_minutes` must divide 60 (else 5 is used).
    pub fn uniform(tz: Tz, bucket_minutes: u32, per_bucket: u32) -> Capacity {
        let bucket_minutes = if bucket_minutes > 0 && 60 % bucket_minutes == 0 {
            bucket_minutes
        } else {
            DEFAULT_BUCKET_MINUTES
        };
        Capacity {
            tz,
            bucket_minutes,
            weekly: [[per_bucket; 24]; 7],
            exceptions: BTreeMap::new(),
        }
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    pub fn bucket_minutes(&self) -> u32 {
        self.bucket_minutes
    }

    /// Capacity of each bucket of a local hour on a local date.
    fn hourly(&self, date: NaiveDate, hour: u32) -> u32 {
        let grid = self
            .exceptions
            .get(&date)
            .unwrap_or(&self.weekly[date.weekday().num_days_from_monday() as usize]);
        grid.get(hour as usize).copied().unwrap_or(0)
    }

    /// Capacity of the bucket containing `at`.
    pub fn capacity_at(&self, at: DateTime<Utc>) -> u32 {
        let local = at.with_timezone(&self.tz);
        self.hourly(local.date_naive(), local.hour())
    }

    /// Every bucket starting in `[start, end)`, zero-capacity ones included, in time order.
    /// Cost is linear in the number of buckets.
    pub fn slots(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Slot> {
        let mut slots = Vec::new();
        if start >= end {
            return slots;
        }
        let first = start.with_timezone(&self.tz).date_naive().pred_opt();
        let last = end.with_timezone(&self.tz).date_naive().succ_opt();
        let (Some(mut day), Some(last)) = (first, last) else {
            return slots;
        };
        loop {
            for hour in 0..24 {
                let capacity = self.hourly(day, hour);
                for minute in (0..60).step_by(self.bucket_minutes as usize) {
                    let Some(local) = day.and_hms_opt(hour, minute, 0) else {
                        continue;
                    };
                    // Both instants of a local time in a DST overlap are buckets; a local time
                    // in a gap is none.
                    let instants = match self.tz.from_local_datetime(&local) {
                        chrono::LocalResult::Single(t) => [Some(t), None],
                        chrono::LocalResult::Ambiguous(a, b) => [Some(a), Some(b)],
                        chrono::LocalResult::None => [None, None],
                    };
                    for t in instants.into_iter().flatten() {
                        let start_utc = t.with_timezone(&Utc);
                        if start <= start_utc && start_utc < end {
                            slots.push(Slot {
                                start_utc,
                                local_start: local,
                                capacity,
                            });
                        }
                    }
                }
            }
            match day.succ_opt() {
                Some(next) if next <= last => day = next,
                _ => break,
            }
        }
        slots.sort_by_key(|s| s.start_utc);
        slots
    }

    /// The capacity API. `start` and `end` are ISO-8601 date-times; without an offset they are
    /// read in `timezone` (default the service's `_timezone`), which also formats `localTime`.
    /// `start` defaults to `now`, `end` to `start` + 1 day; the range may not exceed
    /// [`MAX_QUERY_DAYS`]. The reply lists the buckets with capacity above 0.
    pub fn query(
        &self,
        now: DateTime<Utc>,
        start: Option<&str>,
        end: Option<&str>,
        timezone: Option<&str>,
    ) -> Result<CapacityReply, CapacityError> {
        let tz = match present(timezone) {
            Some(name) => parse_timezone(name)
                .ok_or_else(|| bad_parameter("timezone", format!("unknown time zone '{name}'")))?,
            None => self.tz,
        };
        let instant = |parameter: &str, value: &str| {
            let bad =
                || bad_parameter(parameter, format!("'{value}' is not an ISO-8601 date-time"));
            match parse_query_time(value).ok_or_else(bad)? {
                QueryTime::Instant(t) => Ok(t),
                QueryTime::Local(n) => local_to_utc(tz, n, Pick::Earliest).ok_or_else(bad),
            }
        };
        let start = match present(start) {
            Some(s) => instant("start", s)?,
            None => now,
        };
        let end = match present(end) {
            Some(e) => instant("end", e)?,
            None => start
                .checked_add_signed(Duration::days(1))
                .ok_or_else(|| bad_parameter("start", "out of range"))?,
        };
        if end < start {
            return Err(bad_parameter("end", "must not be before start"));
        }
        if end - start > Duration::days(MAX_QUERY_DAYS) {
            return Err(bad_parameter(
                "end",
                format!("the range may not exceed {MAX_QUERY_DAYS} days"),
            ));
        }
        let slots = self
            .slots(start, end)
            .into_iter()
            .filter(|s| s.capacity > 0)
            .map(|s| CapacitySlot {
                utc_time: format_utc(s.start_utc),
                local_time: s
                    .start_utc
                    .with_timezone(&tz)
                    .format("%Y-%m-%dT%H:%M:%S%.3f")
                    .to_string(),
                capacity: s.capacity,
            })
            .collect();
        Ok(CapacityReply {
            timezone: tz.name().to_string(),
            duration_min: self.bucket_minutes,
            start: format_utc(start),
            end: format_utc(end),
            slots,
        })
    }
}

fn parse_json(name: &str, value: &str) -> Result<Value, CapacityError> {
    serde_json::from_str(value).map_err(|e| bad_option(name, format!("not valid JSON: {e}")))
}

/// `{"<key>": grid}` with the one key `expected`, returning the grid.
fn single_entry<'a>(
    name: &str,
    json: &'a Value,
    expected: &str,
    is_expected: impl Fn(&str) -> bool,
) -> Result<&'a Value, CapacityError> {
    let shape = || {
        bad_option(
            name,
            format!("expected {{\"{expected}\": {{\"HHMM\": n, ...}}}}"),
        )
    };
    let Value::Object(map) = json else {
        return Err(shape());
    };
    let mut entries = map.iter();
    match (entries.next(), entries.next()) {
        (Some((key, grid)), None) if is_expected(key.trim()) => Ok(grid),
        _ => Err(shape()),
    }
}

/// `{"HHMM": n, ...}` with `HH` 00-23 and `MM` 00; `n` a whole number (or a string of one) no
/// larger than `max`.
fn parse_grid(name: &str, grid: &Value, max: u32) -> Result<DayGrid, CapacityError> {
    let Value::Object(map) = grid else {
        return Err(bad_option(name, "expected an object {\"HHMM\": n, ...}"));
    };
    let mut day = [0; 24];
    for (key, value) in map {
        let slot = key.trim();
        let hour =
            (slot.len() == 4 && slot.bytes().all(|b| b.is_ascii_digit()) && slot.ends_with("00"))
                .then(|| slot[..2].parse::<usize>().ok())
                .flatten()
                .filter(|h| *h < 24)
                .ok_or_else(|| {
                    bad_option(
                        name,
                        format!("'{key}' is not an hourly slot HH00 from 0000 to 2300"),
                    )
                })?;
        let n = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            bad_option(
                name,
                format!("capacity of slot {slot} must be a whole number, got {value}"),
            )
        })?;
        if n > u64::from(max) {
            return Err(CapacityError::AboveMax {
                option: name.to_string(),
                slot: slot.to_string(),
                value: n,
                max,
            });
        }
        // n <= max <= u32::MAX.
        if let (Some(cell), Ok(n)) = (day.get_mut(hour), u32::try_from(n)) {
            *cell = n;
        }
    }
    Ok(day)
}

/// `yyyyMMdd` (also accepted: `yyyy-MM-dd`).
fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y%m%d")
        .ok()
        .filter(|_| s.len() == 8)
        .or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}
