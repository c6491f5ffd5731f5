//! Office hours: the GMS `office-hours` builtin service and its Calendar Service API
//! (`GET /genesys/1/service/{name}?start=&end=&number-of-days=`, gms-api §3.2).
//!
//! A calendar is built from a service's options:
//! - `_timezone`: IANA (Java) zone id in which days and hours are read; default `UTC`.
//! - `_bh_regularN`: weekly hours, `<days> <HH:MM-HH:MM>[,<HH:MM-HH:MM>...]`, where `<days>` is a
//!   day (`Mon`), a range (`Mon-Fri`, wrapping ranges such as `Fri-Mon` allowed) or a comma list
//!   of either (`Mon,Wed`). `Mon-Sun 00:00-24:00` is 24x7.
//! - `_bh_addN`: exceptions (special office hours), `[yyyy-]MM-dd HH:MM-HH:MM[,...]`; without a
//!   year the exception recurs every year.
//! - `_holidayN`: `[yyyy-]MM-dd`, closed all day.
//!
//! - `_import_ruleN` ("Imported Rule Calendars"): the name of another office-hours service
//!   whose regular hours, holidays and exceptions become part of this one, read in *this*
//!   service's time zone (the imported zone is disregarded).
//! - `_import_scheduleN` ("Imported Schedule Calendars"): another office-hours service whose
//!   open periods, in its own zone, are added to this one's (the union of the teams'
//!   schedules, shown in this service's zone).
//!
//! Rules (product help, Office Hours tab): a holiday blocks that day's regular hours, but an
//! exception on the same day still applies, so the office is open during the exception's hours.
//! An imported service's changes apply at once to every service importing it (calendars are
//! built from the current configuration when used). GMS's help names the two import lists but
//! not their option names; `_import_ruleN` / `_import_scheduleN` are Ringback's, numbered like
//! `_holidayN`. An import of a service that is not an office-hours service, or a chain of
//! imports that comes back to a service, is an error naming the option.
//!
//! Where the help is silent:
//! - A range whose end is before its start (`22:00-06:00`) runs past midnight into the next
//!   day; it belongs to the day it starts on (a holiday on that day blocks all of it). A range
//!   whose end equals its start is rejected.
//! - Days and hours are wall-clock times in `_timezone`. A start or end inside a DST gap moves
//!   forward by the length of the gap (as Java's `ZonedDateTime` does); in a DST overlap a start
//!   takes the earlier instant and an end the later one.
//! - Option names match the prefix followed by digits or `_` (`_bh_regular`, `_bh_regular1`,
//!   `_holiday_12`); empty values (a template's defaults) are ignored.
//!
//! Nothing here reads the clock: instants are parameters.

use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    SecondsFormat, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::Serialize;

/// Longest range, in days, a Calendar API query may cover.
pub const MAX_QUERY_DAYS: i64 = 366;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// A service option is malformed; `option` is its name.
    #[error("invalid option {option}: {message}")]
    BadOption { option: String, message: String },
    /// A query parameter is malformed; `parameter` is its name.
    #[error("invalid parameter {parameter}: {message}")]
    BadParameter { parameter: String, message: String },
}

fn bad_option(option: &str, message: impl Into<String>) -> CalendarError {
    CalendarError::BadOption {
        option: option.to_string(),
        message: message.into(),
    }
}

fn bad_parameter(parameter: &str, message: impl Into<String>) -> CalendarError {
    CalendarError::BadParameter {
        parameter: parameter.to_string(),
        message: message.into(),
    }
}

/// Hours of one day, in minutes after local midnight. `end` is in `start+1 ..= start+1440`, so
/// a range past midnight has `end > 1440`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TimeRange {
    start: u32,
    end: u32,
}

impl TimeRange {
    fn on(self, date: NaiveDate) -> Option<(NaiveDateTime, NaiveDateTime)> {
        let midnight = date.and_time(NaiveTime::MIN);
        let start = midnight.checked_add_signed(Duration::minutes(i64::from(self.start)))?;
        let end = midnight.checked_add_signed(Duration::minutes(i64::from(self.end)))?;
        Some((start, end))
    }
}

/// A date that is either every year (`MM-dd`) or once (`yyyy-MM-dd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateSpec {
    Yearly { month: u32, day: u32 },
    Once(NaiveDate),
}

impl DateSpec {
    fn matches(self, date: NaiveDate) -> bool {
        match self {
            DateSpec::Yearly { month, day } => date.month() == month && date.day() == day,
            DateSpec::Once(d) => d == date,
        }
    }
}

/// A calendar of office hours in one time zone.
#[derive(Debug, Clone)]
pub struct OfficeHours {
    tz: Tz,
    /// Regular hours per weekday, Monday first.
    regular: [Vec<TimeRange>; 7],
    holidays: Vec<DateSpec>,
    exceptions: Vec<(DateSpec, Vec<TimeRange>)>,
    /// Imported schedules: calendars in their own zones whose periods are added to these.
    schedules: Vec<OfficeHours>,
}

/// How a calendar finds the options of the office-hours services it imports: `None` when no
/// office-hours service has that name.
pub type Imports<'a> = &'a dyn Fn(&str) -> Option<Vec<(String, String)>>;

/// Imports nested deeper than this are refused (a chain this long is a configuration mistake).
const MAX_IMPORT_DEPTH: usize = 16;

/// Reply to a Calendar Service API query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarReply {
    /// Always `null` in a successful reply (GMS: "check that the field `error` is null").
    pub error: Option<String>,
    /// The service's `_timezone`.
    pub timezone: String,
    /// The queried range, ISO-8601 UTC with milliseconds (`2026-03-09T16:00:00.000Z`).
    pub start: String,
    pub end: String,
    /// Whether the office is open at `start`.
    pub open: bool,
    /// Open periods, sorted and merged; empty means closed.
    pub periods: Vec<OpenPeriod>,
}

/// One open period of a [`CalendarReply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenPeriod {
    /// ISO-8601 UTC (`...Z`).
    pub start: String,
    pub end: String,
    /// The same instants in the office's zone, with their offset (`2026-03-09T08:00:00.000-07:00`).
    pub local_start: String,
    pub local_end: String,
}

impl OfficeHours {
    /// Builds a calendar from a service's options; other options are ignored. A calendar that
    /// imports others needs [`OfficeHours::with_imports`].
    pub fn from_options(options: &[(String, String)]) -> Result<OfficeHours, CalendarError> {
        OfficeHours::with_imports(options, &|_| None)
    }

    /// Builds a calendar from a service's options, with the services it imports looked up
    /// through `imports`.
    pub fn with_imports(
        options: &[(String, String)],
        imports: Imports<'_>,
    ) -> Result<OfficeHours, CalendarError> {
        OfficeHours::build(options, imports, &mut Vec::new())
    }

    /// [`OfficeHours::with_imports`] for the service called `name`, so an import that comes
    /// back to it is found at once.
    pub fn of_service(
        name: &str,
        options: &[(String, String)],
        imports: Imports<'_>,
    ) -> Result<OfficeHours, CalendarError> {
        OfficeHours::build(options, imports, &mut vec![name.to_owned()])
    }

    fn build(
        options: &[(String, String)],
        imports: Imports<'_>,
        chain: &mut Vec<String>,
    ) -> Result<OfficeHours, CalendarError> {
        let mut calendar = OfficeHours {
            tz: Tz::UTC,
            regular: Default::default(),
            holidays: Vec::new(),
            exceptions: Vec::new(),
            schedules: Vec::new(),
        };
        for (name, value) in options {
            let name = name.as_str();
            let value = value.trim();
            if name == "_timezone" {
                if !value.is_empty() {
                    calendar.tz = parse_timezone(value)
                        .ok_or_else(|| bad_option(name, format!("unknown time zone '{value}'")))?;
                }
            } else if value.is_empty() {
                continue;
            } else if numbered(name, "_bh_regular") {
                let (days, ranges) = parse_regular(value).map_err(|m| bad_option(name, m))?;
                for (i, on) in days.iter().enumerate() {
                    if *on {
                        calendar.regular[i].extend_from_slice(&ranges);
                    }
                }
            } else if numbered(name, "_bh_add") {
                let (date, rest) = value
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| bad_option(name, "expected '[yyyy-]MM-dd HH:MM-HH:MM'"))?;
                let date = parse_date_spec(date).map_err(|m| bad_option(name, m))?;
                let ranges = parse_ranges(rest).map_err(|m| bad_option(name, m))?;
                calendar.exceptions.push((date, ranges));
            } else if numbered(name, "_holiday") {
                let date = parse_date_spec(value).map_err(|m| bad_option(name, m))?;
                calendar.holidays.push(date);
            } else if numbered(name, "_import_rule") {
                let rules = OfficeHours::import(name, value, imports, chain)?;
                for (day, ranges) in rules.regular.into_iter().enumerate() {
                    calendar.regular[day].extend(ranges);
                }
                calendar.holidays.extend(rules.holidays);
                calendar.exceptions.extend(rules.exceptions);
                calendar.schedules.extend(rules.schedules);
            } else if numbered(name, "_import_schedule") {
                let schedule = OfficeHours::import(name, value, imports, chain)?;
                calendar.schedules.push(schedule);
            }
        }
        Ok(calendar)
    }

    /// The calendar of the service `service`, imported by option `option`.
    fn import(
        option: &str,
        service: &str,
        imports: Imports<'_>,
        chain: &mut Vec<String>,
    ) -> Result<OfficeHours, CalendarError> {
        if chain.iter().any(|s| s == service) {
            return Err(bad_option(
                option,
                format!(
                    "importing '{service}' comes back to it ({} → {service})",
                    chain.join(" → ")
                ),
            ));
        }
        if chain.len() >= MAX_IMPORT_DEPTH {
            return Err(bad_option(
                option,
                format!("imports nest deeper than {MAX_IMPORT_DEPTH} services"),
            ));
        }
        let options = imports(service).ok_or_else(|| {
            bad_option(
                option,
                format!("'{service}' is not an office-hours service"),
            )
        })?;
        chain.push(service.to_owned());
        let built = OfficeHours::build(&options, imports, chain)
            .map_err(|e| bad_option(option, format!("imported '{service}': {e}")));
        chain.pop();
        built
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Open intervals `[start, end)` intersecting `[start, end)`, clipped to it, sorted and
    /// merged. Cost is linear in the number of days covered.
    pub fn open_periods(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if start >= end {
            return Vec::new();
        }
        self.raw_periods(start, end)
            .into_iter()
            .filter_map(|(s, e)| {
                let (s, e) = (s.max(start), e.min(end));
                (s < e).then_some((s, e))
            })
            .collect()
    }

    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.period_containing(at).is_some()
    }

    /// The merged open period containing `at`, looked for among the local days around `at`
    /// (a 24x7 office's period is therefore bounded to about a day either side).
    fn period_containing(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.raw_periods(at, at)
            .into_iter()
            .find(|(s, e)| *s <= at && at < *e)
    }

    /// Merged, unclipped open periods of the local days from the day before `start`'s to the
    /// day after `end`'s (so ranges past midnight and DST shifts are covered).
    fn raw_periods(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let first = start.with_timezone(&self.tz).date_naive().pred_opt();
        let last = end.with_timezone(&self.tz).date_naive().succ_opt();
        let (Some(mut day), Some(last)) = (first, last) else {
            return Vec::new();
        };
        let mut periods = Vec::new();
        loop {
            let holiday = self.holidays.iter().any(|h| h.matches(day));
            let regular = if holiday {
                &[][..]
            } else {
                &self.regular[day.weekday().num_days_from_monday() as usize][..]
            };
            let extra = self
                .exceptions
                .iter()
                .filter(|(d, _)| d.matches(day))
                .flat_map(|(_, ranges)| ranges.iter());
            for range in regular.iter().chain(extra) {
                let Some((s, e)) = range.on(day) else {
                    continue;
                };
                if let (Some(s), Some(e)) = (
                    local_to_utc(self.tz, s, Pick::Earliest),
                    local_to_utc(self.tz, e, Pick::Latest),
                ) {
                    if s < e {
                        periods.push((s, e));
                    }
                }
            }
            match day.succ_opt() {
                Some(next) if next <= last => day = next,
                _ => break,
            }
        }
        for schedule in &self.schedules {
            periods.extend(schedule.raw_periods(start, end));
        }
        merge(periods)
    }

    /// The Calendar Service API: `start`, `end` (ISO-8601; UTC unless an offset is given) and
    /// `number-of-days`. No parameters means start = end = `now`; then the reply holds the
    /// period containing `now` if the office is open, else nothing. Otherwise `end` defaults
    /// to `start + number-of-days` (`end` wins when both are given), then to `start`; the
    /// range may not exceed [`MAX_QUERY_DAYS`].
    pub fn query(
        &self,
        now: DateTime<Utc>,
        start: Option<&str>,
        end: Option<&str>,
        number_of_days: Option<&str>,
    ) -> Result<CalendarReply, CalendarError> {
        let start = match present(start) {
            Some(s) => parse_utc_instant(s).ok_or_else(|| {
                bad_parameter("start", format!("'{s}' is not an ISO-8601 date-time"))
            })?,
            None => now,
        };
        let days = match present(number_of_days) {
            Some(n) => {
                let days = n
                    .parse::<i64>()
                    .ok()
                    .filter(|d| (0..=MAX_QUERY_DAYS).contains(d))
                    .ok_or_else(|| {
                        bad_parameter(
                            "number-of-days",
                            format!("'{n}' is not a whole number from 0 to {MAX_QUERY_DAYS}"),
                        )
                    })?;
                Some(days)
            }
            None => None,
        };
        let end = match (present(end), days) {
            (Some(e), _) => parse_utc_instant(e).ok_or_else(|| {
                bad_parameter("end", format!("'{e}' is not an ISO-8601 date-time"))
            })?,
            (None, Some(days)) => start
                .checked_add_signed(Duration::days(days))
                .ok_or_else(|| bad_parameter("number-of-days", "range ends out of bounds"))?,
            (None, None) => start,
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
        let periods = if start == end {
            self.period_containing(start).into_iter().collect()
        } else {
            self.open_periods(start, end)
        };
        Ok(CalendarReply {
            error: None,
            timezone: self.tz.name().to_string(),
            start: format_utc(start),
            end: format_utc(end),
            open: self.is_open(start),
            periods: periods
                .into_iter()
                .map(|(s, e)| OpenPeriod {
                    start: format_utc(s),
                    end: format_utc(e),
                    local_start: format_local(self.tz, s),
                    local_end: format_local(self.tz, e),
                })
                .collect(),
        })
    }
}

/// Sorts and merges overlapping or touching intervals.
fn merge(mut periods: Vec<(DateTime<Utc>, DateTime<Utc>)>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    periods.sort();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(periods.len());
    for (s, e) in periods {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// `name` is `prefix` followed by nothing but digits and `_`.
fn numbered(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit() || c == '_'))
}

/// `Mon-Fri 08:00-18:00[,...]`: the days (Monday first) and the ranges.
fn parse_regular(value: &str) -> Result<([bool; 7], Vec<TimeRange>), String> {
    let split = value.find(|c: char| c.is_ascii_digit()).ok_or_else(|| {
        format!("'{value}': expected '<days> HH:MM-HH:MM', e.g. 'Mon-Fri 08:00-18:00'")
    })?;
    let (days, ranges) = value.split_at(split);
    let days = parse_days(days)?;
    Ok((days, parse_ranges(ranges)?))
}

fn parse_days(spec: &str) -> Result<[bool; 7], String> {
    let spec: String = spec.chars().filter(|c| !c.is_whitespace()).collect();
    if spec.is_empty() {
        return Err("no days given (expected e.g. 'Mon-Fri' or 'Mon,Wed')".to_string());
    }
    let mut days = [false; 7];
    for item in spec.split(',') {
        match item.split_once('-') {
            Some((from, to)) => {
                let from = parse_weekday(from)?.num_days_from_monday() as usize;
                let to = parse_weekday(to)?.num_days_from_monday() as usize;
                // A wrapping range (Fri-Mon) runs through the end of the week.
                let len = (to + 7 - from) % 7;
                for i in 0..=len {
                    days[(from + i) % 7] = true;
                }
            }
            None => days[parse_weekday(item)?.num_days_from_monday() as usize] = true,
        }
    }
    Ok(days)
}

fn parse_weekday(name: &str) -> Result<Weekday, String> {
    let day = match name.to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => {
            return Err(format!(
                "unknown day '{name}' (expected Mon, Tue, Wed, Thu, Fri, Sat or Sun)"
            ))
        }
    };
    Ok(day)
}

/// `HH:MM-HH:MM[,HH:MM-HH:MM...]`, spaces ignored.
fn parse_ranges(spec: &str) -> Result<Vec<TimeRange>, String> {
    let spec: String = spec.chars().filter(|c| !c.is_whitespace()).collect();
    if spec.is_empty() {
        return Err("no hours given (expected HH:MM-HH:MM)".to_string());
    }
    spec.split(',').map(parse_range).collect()
}

fn parse_range(spec: &str) -> Result<TimeRange, String> {
    let (from, to) = spec
        .split_once('-')
        .ok_or_else(|| format!("'{spec}': expected HH:MM-HH:MM"))?;
    let start = parse_hhmm(from)?;
    let end = parse_hhmm(to)?;
    if start == 1440 {
        return Err(format!("'{spec}': a range cannot start at 24:00"));
    }
    if end == start {
        return Err(format!("'{spec}': the range is empty"));
    }
    // An end before the start runs past midnight.
    let end = if end < start { end + 1440 } else { end };
    Ok(TimeRange { start, end })
}

/// `HH:MM` (00:00 to 24:00) in minutes after midnight.
fn parse_hhmm(s: &str) -> Result<u32, String> {
    let err = || format!("'{s}' is not a time HH:MM from 00:00 to 24:00");
    let (h, m) = s.split_once(':').ok_or_else(err)?;
    let digits = |x: &str, max_len: usize| {
        (!x.is_empty() && x.len() <= max_len && x.bytes().all(|b| b.is_ascii_digit()))
            .then(|| x.parse::<u32>().ok())
            .flatten()
    };
    let (h, m) = (digits(h, 2).ok_or_else(err)?, digits(m, 2).ok_or_else(err)?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(err());
    }
    Ok(h * 60 + m)
}

/// `MM-dd` (every year) or `yyyy-MM-dd` (once).
fn parse_date_spec(s: &str) -> Result<DateSpec, String> {
    let s = s.trim();
    let parts: Vec<&str> = s.split('-').collect();
    let num = |x: &str, len: usize| {
        (x.len() == len && x.bytes().all(|b| b.is_ascii_digit()))
            .then(|| x.parse::<u32>().ok())
            .flatten()
    };
    let err = || format!("'{s}' is not a date [yyyy-]MM-dd");
    match parts.as_slice() {
        [m, d] => {
            let (month, day) = (num(m, 2).ok_or_else(err)?, num(d, 2).ok_or_else(err)?);
            // Checked against a leap year, so 02-29 is accepted (and applies in leap years).
            NaiveDate::from_ymd_opt(2000, month, day).ok_or_else(err)?;
            Ok(DateSpec::Yearly { month, day })
        }
        [y, m, d] => {
            let year = num(y, 4).ok_or_else(err)?;
            let (month, day) = (num(m, 2).ok_or_else(err)?, num(d, 2).ok_or_else(err)?);
            let year = i32::try_from(year).map_err(|_| err())?;
            Ok(DateSpec::Once(
                NaiveDate::from_ymd_opt(year, month, day).ok_or_else(err)?,
            ))
        }
        _ => Err(err()),
    }
}

/// An IANA (Java) zone id such as `Europe/Paris` or `UTC`.
pub(crate) fn parse_timezone(name: &str) -> Option<Tz> {
    Tz::from_str(name.trim()).ok()
}

/// Which instant a local time in a DST overlap maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pick {
    Earliest,
    Latest,
}

/// A wall-clock time in `tz` as an instant. In a DST overlap `pick` chooses; in a DST gap the
/// time moves forward by the gap's length (Java's rule: the offset before the gap applies).
pub(crate) fn local_to_utc(tz: Tz, local: NaiveDateTime, pick: Pick) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
            Some(match pick {
                Pick::Earliest => a.min(b),
                Pick::Latest => a.max(b),
            })
        }
        LocalResult::None => {
            // Find the end of the gap (the first valid local minute), then apply the offset in
            // force just before it. Gaps are at most a day (Samoa, 2011).
            let mut probe = local;
            for _ in 0..(48 * 60) {
                probe = probe.checked_add_signed(Duration::minutes(1))?;
                if let Some(after) = tz.from_local_datetime(&probe).earliest() {
                    let transition = after.with_timezone(&Utc) - Duration::seconds(1);
                    let before = tz.offset_from_utc_datetime(&transition.naive_utc()).fix();
                    let utc = local.checked_sub_signed(Duration::seconds(i64::from(
                        before.local_minus_utc(),
                    )))?;
                    return Some(Utc.from_utc_datetime(&utc));
                }
            }
            None
        }
    }
}

/// A date-time given in a query: with an offset (`Z`, `+02:00`) it is an instant; without, a
/// wall-clock time whose zone the caller decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryTime {
    Instant(DateTime<Utc>),
    Local(NaiveDateTime),
}

/// Parses `2015-03-17T09:15:00.000Z`, `...+02:00`, `2015-03-17T09:15:00[.000]`,
/// `2015-03-17T09:15` and `2015-03-17` (midnight). A space may replace the `T`.
pub(crate) fn parse_query_time(s: &str) -> Option<QueryTime> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(QueryTime::Instant(t.with_timezone(&Utc)));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%:z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, format) {
            return Some(QueryTime::Instant(t.with_timezone(&Utc)));
        }
    }
    let (local, utc) = match s.strip_suffix(['Z', 'z']) {
        Some(rest) => (rest, true),
        None => (s, false),
    };
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(local, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(local, "%Y-%m-%d")
            .ok()
            .map(|d| d.and_time(NaiveTime::MIN))
    })?;
    Some(if utc {
        QueryTime::Instant(Utc.from_utc_datetime(&naive))
    } else {
        QueryTime::Local(naive)
    })
}

/// A query parameter that is given and not blank, trimmed.
pub(crate) fn present(p: Option<&str>) -> Option<&str> {
    p.map(str::trim).filter(|s| !s.is_empty())
}

/// A Calendar API instant: ISO-8601, UTC when no offset is given.
fn parse_utc_instant(s: &str) -> Option<DateTime<Utc>> {
    match parse_query_time(s)? {
        QueryTime::Instant(t) => Some(t),
        QueryTime::Local(n) => Some(Utc.from_utc_datetime(&n)),
    }
}

/// `2026-03-09T16:00:00.000Z`.
pub(crate) fn format_utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `2026-03-09T08:00:00.000-07:00`.
fn format_local(tz: Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}
