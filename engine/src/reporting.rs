//! Metrics history: what the Tools > Metrics panel charts (the help's "Metrics", known as
//! Reporting in the former UI). Sans-IO: time is passed in, rows are handed back to be stored.
//!
//! Everything is recorded per minute in *series* named `metric|key[|sub]`:
//!
//! | series | kind | what |
//! |---|---|---|
//! | `cb.state\|<service>\|<STATE>` | level | callbacks of a service in a state |
//! | `cb.hold\|<service>` | duration | time a callback waited QUEUED before an agent was found |
//! | `svc.access\|<service>` | count | requests to a service |
//! | `pool.used\|<group>` | level | access numbers of a resource group (DNIS pool) in use |
//! | `pool.exit\|<group>\|<match\|timeout\|cancel>` | count | bookings that ended, by how |
//! | `pool.aht\|<group>` | duration | booking to match (timeouts left out, as the help says) |
//!
//! A minute's row holds, by kind: a *count* (`n`); a *duration*'s samples (`n`, their `sum`,
//! `lo` the shortest, `hi` the longest, in milliseconds); a *level*'s lowest and highest value
//! in the minute and its value at the end (`last`). A level writes a row only in a minute it
//! changed: a minute without a row holds the previous row's `last` (filled forward when rolled
//! up). Rows of the same series and minute merge ([`MinuteRow::merge`]), so a partial minute
//! written at a stop and the rest written after the restart add up.
//!
//! [`rollup`] turns a series' minutes into buckets of 1, 15 or 30 minutes, an hour or a day
//! (local to a time zone). The QUEUED *watermark* is the `cb.state|<service>|QUEUED` level:
//! per bucket the lowest, the highest and the average of each minute's highest — the help's
//! example (20 callbacks queued within one minute, none for the rest of 15 minutes) rolls up to
//! min 0, max 20, avg 1.33.

use std::collections::HashMap;

use chrono::{Offset, TimeZone};
use chrono_tz::Tz;

use crate::callback::CallbackState;
use crate::store::Millis;

pub const MINUTE: Millis = 60_000;

/// How a series is recorded and rolled up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Count,
    Duration,
    Level,
}

/// The kind of a series, from its metric (the part before the first `|`).
pub fn kind_of(series: &str) -> Option<Kind> {
    match series.split('|').next()? {
        "svc.access" | "pool.exit" => Some(Kind::Count),
        "cb.hold" | "pool.aht" => Some(Kind::Duration),
        "cb.state" | "pool.used" => Some(Kind::Level),
        _ => None,
    }
}

/// `cb.state|<service>|<STATE>`.
pub fn state_series(service: &str, state: CallbackState) -> String {
    format!("cb.state|{service}|{}", state.as_str())
}

/// One series' minute, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MinuteRow {
    pub series: String,
    /// The minute's start (milliseconds since the epoch, a multiple of [`MINUTE`]).
    pub minute: Millis,
    pub n: u64,
    pub sum: f64,
    pub lo: f64,
    pub hi: f64,
    pub last: f64,
}

impl MinuteRow {
    /// Adds a later part of the same series' minute.
    pub fn merge(&mut self, later: &MinuteRow) {
        self.n += later.n;
        self.sum += later.sum;
        self.lo = self.lo.min(later.lo);
        self.hi = self.hi.max(later.hi);
        self.last = later.last;
    }
}

#[derive(Debug, Clone)]
struct Cell {
    n: u64,
    sum: f64,
    lo: f64,
    hi: f64,
}

/// Records the current minute; closed minutes wait in `done` until taken.
#[derive(Debug)]
pub struct Recorder {
    minute: Millis,
    cells: HashMap<String, Cell>,
    /// Every level's current value (levels at zero are forgotten).
    levels: HashMap<String, f64>,
    /// Callbacks QUEUED now, and since when (for the hold time).
    queued_since: HashMap<String, Millis>,
    done: Vec<MinuteRow>,
    /// Rows taken to be stored, kept until the store has them ([`Recorder::saved`]).
    inflight: Vec<MinuteRow>,
    /// Minutes before this are in the store; later ones are here.
    saved_through: Millis,
}

fn minute_of(at: Millis) -> Millis {
    at.div_euclid(MINUTE) * MINUTE
}

impl Recorder {
    pub fn new(now: Millis) -> Recorder {
        Recorder {
            minute: minute_of(now),
            cells: HashMap::new(),
            levels: HashMap::new(),
            queued_since: HashMap::new(),
            done: Vec::new(),
            inflight: Vec::new(),
            // The store may hold part of this minute (written at a stop just before): it is
            // read from the store too, and this recorder's rows of it add to it.
            saved_through: minute_of(now) + MINUTE,
        }
    }

    /// Closes the current minute if `now` is past it.
    fn advance(&mut self, now: Millis) {
        let m = minute_of(now);
        if m > self.minute {
            self.close();
            self.minute = m;
        }
    }

    fn close(&mut self) {
        for (series, c) in self.cells.drain() {
            let last = match kind_of(&series) {
                Some(Kind::Level) => self.levels.get(&series).copied().unwrap_or(0.0),
                _ => 0.0,
            };
            self.done.push(MinuteRow {
                series,
                minute: self.minute,
                n: c.n,
                sum: c.sum,
                lo: c.lo,
                hi: c.hi,
                last,
            });
        }
    }

    /// `n` more of a count.
    pub fn count(&mut self, now: Millis, series: &str, n: u64) {
        self.advance(now);
        let c = self.cell(series, 0.0);
        c.n += n;
        c.sum += n as f64;
        c.hi = c.hi.max(n as f64);
    }

    /// A duration sample (milliseconds).
    pub fn duration(&mut self, now: Millis, series: &str, ms: Millis) {
        self.advance(now);
        let v = ms.max(0) as f64;
        let c = self.cell(series, f64::INFINITY);
        if c.n == 0 {
            c.lo = v;
            c.hi = v;
        }
        c.n += 1;
        c.sum += v;
        c.lo = c.lo.min(v);
        c.hi = c.hi.max(v);
    }

    /// A level is now `value`.
    pub fn set_level(&mut self, now: Millis, series: &str, value: f64) {
        self.advance(now);
        let before = self.levels.get(series).copied().unwrap_or(0.0);
        if before == value && !self.cells.contains_key(series) {
            return;
        }
        let c = self.cell(series, before);
        c.lo = c.lo.min(value);
        c.hi = c.hi.max(value);
        if value == 0.0 {
            self.levels.remove(series);
        } else if let Some(v) = self.levels.get_mut(series) {
            *v = value;
        } else {
            self.levels.insert(series.to_owned(), value);
        }
    }

    /// A level moves by `delta`.
    pub fn add_level(&mut self, now: Millis, series: &str, delta: f64) {
        let v = self.levels.get(series).copied().unwrap_or(0.0) + delta;
        self.set_level(now, series, v.max(0.0));
    }

    pub fn level(&self, series: &str) -> f64 {
        self.levels.get(series).copied().unwrap_or(0.0)
    }

    /// The current minute's cell of `series`; a new one starts at `start` (a level's value
    /// when the minute's first change came).
    fn cell(&mut self, series: &str, start: f64) -> &mut Cell {
        if !self.cells.contains_key(series) {
            let (lo, hi) = match kind_of(series) {
                Some(Kind::Level) => (start, start),
                _ => (start, 0.0),
            };
            self.cells.insert(
                series.to_owned(),
                Cell {
                    n: 0,
                    sum: 0.0,
                    lo,
                    hi,
                },
            );
        }
        self.cells.get_mut(series).expect("just inserted")
    }

    /// A callback record changed: from `before` (`None`: it is new) to `after` (`None`: it
    /// left the book).
    pub fn callback_changed(
        &mut self,
        now: Millis,
        id: &str,
        service: &str,
        before: Option<CallbackState>,
        after: Option<CallbackState>,
    ) {
        if before == after {
            return;
        }
        if let Some(b) = before {
            self.add_level(now, &state_series(service, b), -1.0);
        }
        if let Some(a) = after {
            self.add_level(now, &state_series(service, a), 1.0);
        }
        let waiting = |s: Option<CallbackState>| s == Some(CallbackState::Queued);
        if waiting(after) && !waiting(before) {
            self.queued_since.insert(id.to_owned(), now);
        } else if waiting(before) && !waiting(after) {
            if let Some(since) = self.queued_since.remove(id) {
                // Hold time: until an agent was found (not a cancel, nor a pause).
                if matches!(
                    after,
                    Some(CallbackState::Routing | CallbackState::Processing)
                ) {
                    self.duration(now, &format!("cb.hold|{service}"), now - since);
                }
            }
        }
    }

    /// The callback records at a start (the book just loaded): every state level set.
    /// Records already QUEUED count their hold time from now.
    pub fn callbacks_loaded<'a>(
        &mut self,
        now: Millis,
        counts: impl IntoIterator<Item = (&'a str, CallbackState, u64)>,
        queued: impl IntoIterator<Item = &'a str>,
    ) {
        let stale: Vec<String> = self
            .levels
            .keys()
            .filter(|s| s.starts_with("cb.state|"))
            .cloned()
            .collect();
        for s in stale {
            self.set_level(now, &s, 0.0);
        }
        for (service, state, n) in counts {
            self.set_level(now, &state_series(service, state), n as f64);
        }
        self.queued_since = queued.into_iter().map(|id| (id.to_owned(), now)).collect();
    }

    /// What the store does not have yet, and from which minute on (`saved_through`): rows
    /// being stored, closed minutes, and the current one so far. A report reads the store
    /// before that minute and these from it, so it is current to the second and counts no row
    /// twice.
    pub fn unsaved(&self) -> (Millis, Vec<MinuteRow>) {
        let mut out = self.inflight.clone();
        out.extend(self.done.iter().cloned());
        for (series, c) in &self.cells {
            out.push(MinuteRow {
                series: series.clone(),
                minute: self.minute,
                n: c.n,
                sum: c.sum,
                lo: c.lo,
                hi: c.hi,
                last: match kind_of(series) {
                    Some(Kind::Level) => self.level(series),
                    _ => 0.0,
                },
            });
        }
        (self.saved_through, out)
    }

    /// Rows of the minutes closed by `now`, to be stored; then [`Recorder::saved`] with the
    /// minute returned (or [`Recorder::not_saved`]).
    pub fn take(&mut self, now: Millis) -> (Vec<MinuteRow>, Millis) {
        self.advance(now);
        self.hand_over(self.minute)
    }

    /// Every row, the current minute's so far too (at a stop; the rest of the minute merges
    /// into it later).
    pub fn flush(&mut self, now: Millis) -> (Vec<MinuteRow>, Millis) {
        self.advance(now);
        self.close();
        self.hand_over(self.minute + MINUTE)
    }

    /// The closed rows, to be stored (kept readable as in flight) up to `through`.
    fn hand_over(&mut self, through: Millis) -> (Vec<MinuteRow>, Millis) {
        let rows = std::mem::take(&mut self.done);
        self.inflight.extend(rows.iter().cloned());
        (rows, through)
    }

    /// The rows taken up to `through` are stored.
    pub fn saved(&mut self, through: Millis) {
        self.inflight.retain(|r| r.minute >= through);
        self.saved_through = self.saved_through.max(through);
    }

    /// Storing the rows taken failed: they are taken again next time.
    pub fn not_saved(&mut self) {
        let mut rows = std::mem::take(&mut self.inflight);
        rows.append(&mut self.done);
        self.done = rows;
    }
}

/// `[reporting]`: how long the metrics history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `metrics-retention-days` (default 31, at least 1): minutes older than this go.
    pub retention_days: i64,
}

pub const DEFAULT_RETENTION_DAYS: i64 = 31;

impl Settings {
    /// A value that is not a whole number of days from 1 to 3650 keeps the default.
    pub fn from_section(opts: Option<&[(String, String)]>) -> Settings {
        let retention_days = opts
            .and_then(|o| crate::config::option(o, "metrics-retention-days"))
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|d| (1..=3650).contains(d))
            .unwrap_or(DEFAULT_RETENTION_DAYS);
        Settings { retention_days }
    }
}

/// The bucket sizes of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollup {
    Minute,
    Min15,
    Min30,
    Hour,
    Day,
}

impl Rollup {
    pub fn parse(s: &str) -> Option<Rollup> {
        match s.trim().to_ascii_lowercase().as_str() {
            "1m" | "minute" | "1" => Some(Rollup::Minute),
            "15m" | "15min" | "15" => Some(Rollup::Min15),
            "30m" | "30min" | "30" => Some(Rollup::Min30),
            "1h" | "hour" | "60m" | "60" => Some(Rollup::Hour),
            "1d" | "day" | "24h" => Some(Rollup::Day),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rollup::Minute => "1m",
            Rollup::Min15 => "15m",
            Rollup::Min30 => "30m",
            Rollup::Hour => "1h",
            Rollup::Day => "1d",
        }
    }

    fn minutes(self) -> i64 {
        match self {
            Rollup::Minute => 1,
            Rollup::Min15 => 15,
            Rollup::Min30 => 30,
            Rollup::Hour => 60,
            Rollup::Day => 1440,
        }
    }

    /// The start of the bucket holding `at`, on the wall clock of `tz` (a day from local
    /// midnight; an hour from the local hour, in zones half an hour off UTC too).
    pub fn bucket_start(self, at: Millis, tz: Tz) -> Millis {
        let Some(utc) = chrono::DateTime::from_timestamp_millis(at) else {
            return minute_of(at);
        };
        let offset_ms = i64::from(
            tz.offset_from_utc_datetime(&utc.naive_utc())
                .fix()
                .local_minus_utc(),
        ) * 1000;
        let local = at + offset_ms;
        let size = self.minutes() * MINUTE;
        let start_local = local.div_euclid(size) * size;
        if self == Rollup::Day {
            // Midnight on the local calendar, through the zone (a DST day is 23 or 25 hours).
            let day = chrono::DateTime::from_timestamp_millis(start_local)
                .map(|d| d.date_naive())
                .and_then(|d| d.and_hms_opt(0, 0, 0));
            if let Some(midnight) = day.and_then(|d| tz.from_local_datetime(&d).earliest()) {
                return midnight.timestamp_millis();
            }
        }
        start_local - offset_ms
    }
}

/// One bucket of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub start: Millis,
    /// Counts: how many. Durations: how many samples. Levels: minutes in the bucket.
    pub n: u64,
    /// Durations: the samples' sum (ms). Counts: `n`. Levels: the sum of each minute's high.
    pub sum: f64,
    /// Lowest (duration sample, or level in any minute); `None` without samples.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Durations: the mean sample; levels: the mean of each minute's high; counts: `n`.
    pub avg: Option<f64>,
}

/// Rolls up one series' rows (`prior`: its last row before `from`, for a level's starting
/// value) over `[from, to)` into buckets, every bucket of the range present (empty or not).
pub fn rollup(
    kind: Kind,
    prior: Option<&MinuteRow>,
    rows: &[MinuteRow],
    from: Millis,
    to: Millis,
    by: Rollup,
    tz: Tz,
) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = Vec::new();
    let mut rows = rows.iter().peekable();
    let mut level = prior.map_or(0.0, |r| r.last);
    let mut m = minute_of(from);
    let mut bucket_end = Millis::MIN;
    while m < to {
        if m >= bucket_end {
            let start = by.bucket_start(m, tz);
            let end = if by == Rollup::Day {
                // The next local midnight (a day may be 23 or 25 hours long).
                by.bucket_start(start + 26 * 60 * MINUTE, tz)
            } else {
                start + by.minutes() * MINUTE
            };
            bucket_end = end.max(m + MINUTE);
            out.push(Bucket {
                start,
                n: 0,
                sum: 0.0,
                min: None,
                max: None,
                avg: None,
            });
        }
        // Rows before this minute (out of range) are skipped.
        while rows.peek().is_some_and(|r| r.minute < m) {
            let r = rows.next().expect("peeked");
            level = r.last;
        }
        let row = rows.next_if(|r| r.minute == m);
        let b = out.last_mut().expect("a bucket was pushed");
        match kind {
            Kind::Level => {
                let (lo, hi) = match row {
                    Some(r) => {
                        level = r.last;
                        (r.lo, r.hi)
                    }
                    None => (level, level),
                };
                b.n += 1;
                b.sum += hi;
                b.min = Some(b.min.map_or(lo, |x: f64| x.min(lo)));
                b.max = Some(b.max.map_or(hi, |x: f64| x.max(hi)));
            }
            Kind::Count => {
                if let Some(r) = row {
                    b.n += r.n;
                    b.sum += r.sum;
                }
            }
            Kind::Duration => {
                if let Some(r) = row.filter(|r| r.n > 0) {
                    b.n += r.n;
                    b.sum += r.sum;
                    b.min = Some(b.min.map_or(r.lo, |x: f64| x.min(r.lo)));
                    b.max = Some(b.max.map_or(r.hi, |x: f64| x.max(r.hi)));
                }
            }
        }
        m += MINUTE;
    }
    for b in &mut out {
        b.avg = match kind {
            Kind::Count => Some(b.n as f64),
            _ if b.n == 0 => None,
            _ => Some(b.sum / b.n as f64),
        };
        if kind == Kind::Count {
            b.min = Some(b.n as f64);
            b.max = Some(b.n as f64);
        }
    }
    out
}

/// Adds buckets of the same range (several services' series into one): counts and samples
/// add up; a level's min, max and avg add per bucket (an upper bound of the true maximum when
/// the series peak in different seconds of a minute).
pub fn sum_buckets(kind: Kind, a: &mut [Bucket], b: &[Bucket]) {
    let add = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => Some(x + y),
        (x, None) => x,
        (None, y) => y,
    };
    for (x, y) in a.iter_mut().zip(b) {
        match kind {
            Kind::Count => {
                x.n += y.n;
                x.sum += y.sum;
                x.min = Some(x.n as f64);
                x.max = Some(x.n as f64);
                x.avg = Some(x.n as f64);
            }
            Kind::Duration => {
                x.n += y.n;
                x.sum += y.sum;
                x.min = match (x.min, y.min) {
                    (Some(p), Some(q)) => Some(p.min(q)),
                    (p, q) => p.or(q),
                };
                x.max = match (x.max, y.max) {
                    (Some(p), Some(q)) => Some(p.max(q)),
                    (p, q) => p.or(q),
                };
                x.avg = (x.n > 0).then(|| x.sum / x.n as f64);
            }
            Kind::Level => {
                x.sum += y.sum;
                x.min = add(x.min, y.min);
                x.max = add(x.max, y.max);
                x.avg = add(x.avg, y.avg);
            }
        }
    }
}

/// The reports of Tools > Metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// Callbacks in each state over time (the highest count of each bucket).
    Callbacks,
    /// QUEUED callbacks: the lowest, average and highest of each minute's high.
    Watermark,
    /// How long callbacks waited QUEUED before an agent was found.
    HoldTime,
    /// Requests to each service.
    Services,
    /// A resource group: numbers in use and available, bookings ended by match, timeout or
    /// cancel, and the handle time of matches.
    Resources,
}

impl ReportKind {
    pub const ALL: [ReportKind; 5] = [
        ReportKind::Callbacks,
        ReportKind::Watermark,
        ReportKind::HoldTime,
        ReportKind::Services,
        ReportKind::Resources,
    ];

    pub fn parse(s: &str) -> Option<ReportKind> {
        ReportKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Callbacks => "callbacks",
            ReportKind::Watermark => "watermark",
            ReportKind::HoldTime => "holdtime",
            ReportKind::Services => "services",
            ReportKind::Resources => "resources",
        }
    }
}

/// A report's time: milliseconds since the epoch, or ISO 8601 — with an offset or `Z`, or
/// local (`2026-12-06`, `2026-12-06T09:30`) on the clock of `tz`.
pub fn parse_time(s: &str, tz: Tz) -> Option<Millis> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<Millis>() {
        return Some(ms);
    }
    match crate::calendar::parse_query_time(s)? {
        crate::calendar::QueryTime::Instant(t) => Some(t.timestamp_millis()),
        crate::calendar::QueryTime::Local(naive) => tz
            .from_local_datetime(&naive)
            .earliest()
            .or_else(|| {
                tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map(|t| t.timestamp_millis()),
    }
}

/// An IANA time zone (`Europe/Paris`, `UTC`).
pub fn parse_tz(s: &str) -> Option<Tz> {
    crate::calendar::parse_timezone(s)
}

/// The most buckets one report may hold.
pub const MAX_BUCKETS: i64 = 20_000;

/// A report: named columns (the first is the bucket's start, in milliseconds) and one row per
/// bucket; `None` where a bucket has nothing to say (no samples).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub kind: ReportKind,
    pub rollup: Rollup,
    pub from: Millis,
    pub to: Millis,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<f64>>>,
}

impl Report {
    /// An empty report of the range's buckets (only the time column filled).
    pub fn new(kind: ReportKind, from: Millis, to: Millis, rollup: Rollup, tz: Tz) -> Report {
        let buckets = rollup_buckets(from, to, rollup, tz);
        Report {
            kind,
            rollup,
            from,
            to,
            columns: vec!["time".to_owned()],
            rows: buckets.into_iter().map(|t| vec![Some(t as f64)]).collect(),
        }
    }

    /// Adds a column, one value per bucket (missing buckets empty).
    pub fn push_column(&mut self, name: &str, values: impl IntoIterator<Item = Option<f64>>) {
        self.columns.push(name.to_owned());
        let mut values = values.into_iter();
        for row in &mut self.rows {
            row.push(values.next().flatten());
        }
    }

    /// As CSV: a header of the column names, then the rows; the time in ISO 8601 (UTC) and
    /// numbers as they are, empty where there is nothing.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.columns.join(","));
        out.push_str("\r\n");
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, v)| match (i, v) {
                    (0, Some(t)) => crate::callback::iso(*t as Millis),
                    (_, Some(v)) => format_number(*v),
                    (_, None) => String::new(),
                })
                .collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

/// A number with at most three decimals, without trailing zeros.
pub fn format_number(v: f64) -> String {
    let s = format!("{:.3}", (v * 1000.0).round() / 1000.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// The buckets' starts of `[from, to)`.
pub fn rollup_buckets(from: Millis, to: Millis, by: Rollup, tz: Tz) -> Vec<Millis> {
    rollup(Kind::Count, None, &[], from, to, by, tz)
        .into_iter()
        .map(|b| b.start)
        .collect()
}

/// How many buckets `[from, to)` makes, roughly (days counted as 24 hours).
pub fn bucket_count(from: Millis, to: Millis, by: Rollup) -> i64 {
    (to - from).max(0) / (by.minutes() * MINUTE) + 1
}

/// Adds `extra` rows (not stored yet) to what the store read for `[from, to)`: rows in the
/// range merge into `rows` (kept by series, then minute); earlier ones may be a series' latest
/// before the range (`prior`).
pub fn merge_unsaved(
    prior: &mut Vec<MinuteRow>,
    rows: &mut Vec<MinuteRow>,
    extra: Vec<MinuteRow>,
    from: Millis,
    to: Millis,
) {
    for r in extra {
        if r.minute >= to {
            continue;
        }
        if r.minute < from {
            match prior.iter_mut().find(|p| p.series == r.series) {
                Some(p) if p.minute > r.minute => {}
                Some(p) if p.minute == r.minute => p.merge(&r),
                Some(p) => *p = r,
                None => prior.push(r),
            }
            continue;
        }
        let at =
            rows.partition_point(|x| (x.series.as_str(), x.minute) < (r.series.as_str(), r.minute));
        match rows.get_mut(at) {
            Some(x) if x.series == r.series && x.minute == r.minute => x.merge(&r),
            _ => rows.insert(at, r),
        }
    }
}

/// Rolls up each series of `rows` (read for one prefix) and adds them up by the series'
/// name less `prefix` as grouped by `key` (e.g. the state at the end of `cb.state|svc|STATE`):
/// one bucket list per key.
pub fn rollup_by(
    prior: &[MinuteRow],
    rows: &[MinuteRow],
    from: Millis,
    to: Millis,
    by: Rollup,
    tz: Tz,
    key: impl Fn(&str) -> Option<String>,
) -> HashMap<String, Vec<Bucket>> {
    let mut out: HashMap<String, Vec<Bucket>> = HashMap::new();
    let mut series: Vec<&str> = prior
        .iter()
        .map(|r| r.series.as_str())
        .chain(rows.iter().map(|r| r.series.as_str()))
        .collect();
    series.sort_unstable();
    series.dedup();
    for s in series {
        let (Some(kind), Some(k)) = (kind_of(s), key(s)) else {
            continue;
        };
        let p = prior.iter().find(|r| r.series == s);
        let start = rows.partition_point(|r| r.series.as_str() < s);
        let end = rows.partition_point(|r| r.series.as_str() <= s);
        let buckets = rollup(kind, p, &rows[start..end], from, to, by, tz);
        add_buckets(&mut out, kind, k, buckets);
    }
    out
}

/// Adds `buckets` to those kept under `key` (or keeps them there).
pub fn add_buckets(
    into: &mut HashMap<String, Vec<Bucket>>,
    kind: Kind,
    key: String,
    buckets: Vec<Bucket>,
) {
    match into.get_mut(&key) {
        Some(acc) => sum_buckets(kind, acc, &buckets),
        None => {
            into.insert(key, buckets);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const T0: Millis = 1_780_000_020_000 - (1_780_000_020_000 % (1440 * MINUTE));

    fn utc() -> Tz {
        chrono_tz::UTC
    }

    #[test]
    fn the_helps_watermark_example_rolls_up_to_min_0_max_20_avg_1() {
        let mut r = Recorder::new(T0);
        // 20 callbacks queued and gone within the first minute of a quarter hour.
        for i in 0..20 {
            let id = format!("cb{i}");
            r.callback_changed(T0 + 1000 + i, &id, "svc", None, Some(CallbackState::Queued));
        }
        for i in 0..20 {
            let id = format!("cb{i}");
            r.callback_changed(
                T0 + 30_000 + i,
                &id,
                "svc",
                Some(CallbackState::Queued),
                Some(CallbackState::Routing),
            );
        }
        let (rows, _) = r.take(T0 + 20 * MINUTE);
        let queued: Vec<MinuteRow> = rows
            .iter()
            .filter(|x| x.series == "cb.state|svc|QUEUED")
            .cloned()
            .collect();
        assert_eq!(queued.len(), 1, "one row: the minute it changed");
        assert_eq!(
            (queued[0].lo, queued[0].hi, queued[0].last),
            (0.0, 20.0, 0.0)
        );
        let b = rollup(
            Kind::Level,
            None,
            &queued,
            T0,
            T0 + 15 * MINUTE,
            Rollup::Min15,
            utc(),
        );
        assert_eq!(b.len(), 1);
        assert_eq!((b[0].min, b[0].max), (Some(0.0), Some(20.0)));
        assert_eq!(b[0].avg.map(|a| a.floor()), Some(1.0));
        // Each of them waited ~29 s for an agent.
        let hold: Vec<&MinuteRow> = rows.iter().filter(|x| x.series == "cb.hold|svc").collect();
        assert_eq!(hold.len(), 1);
        assert_eq!(hold[0].n, 20);
        assert_eq!((hold[0].lo, hold[0].hi), (29_000.0, 29_000.0));
    }

    #[test]
    fn a_level_fills_forward_across_minutes_without_rows() {
        let mut r = Recorder::new(T0);
        r.set_level(T0, "pool.used|DNIS", 3.0);
        r.set_level(T0 + 5 * MINUTE, "pool.used|DNIS", 1.0);
        let (rows, _) = r.take(T0 + 6 * MINUTE);
        assert_eq!(rows.len(), 2);
        let b = rollup(
            Kind::Level,
            None,
            &rows,
            T0,
            T0 + 6 * MINUTE,
            Rollup::Minute,
            utc(),
        );
        let highs: Vec<f64> = b.iter().map(|b| b.max.unwrap()).collect();
        assert_eq!(highs, [3.0, 3.0, 3.0, 3.0, 3.0, 3.0]);
        let lows: Vec<f64> = b.iter().map(|b| b.min.unwrap()).collect();
        assert_eq!(lows, [0.0, 3.0, 3.0, 3.0, 3.0, 1.0]);
        // A later range starts from the row before it.
        let later = rollup(
            Kind::Level,
            rows.last(),
            &[],
            T0 + 60 * MINUTE,
            T0 + 62 * MINUTE,
            Rollup::Minute,
            utc(),
        );
        assert_eq!(
            later.iter().map(|b| b.max.unwrap()).collect::<Vec<_>>(),
            [1.0, 1.0]
        );
    }

    #[test]
    fn counts_and_durations_roll_up_per_bucket_and_empty_buckets_stay() {
        let mut r = Recorder::new(T0);
        r.count(T0, "svc.access|a", 1);
        r.count(T0 + 10, "svc.access|a", 2);
        r.duration(T0 + 11, "pool.aht|DNIS", 4000);
        r.duration(T0 + 2 * MINUTE, "pool.aht|DNIS", 2000);
        r.count(T0 + 40 * MINUTE, "svc.access|a", 1);
        let (rows, _) = r.flush(T0 + 41 * MINUTE);
        let access: Vec<MinuteRow> = rows
            .iter()
            .filter(|x| x.series.starts_with("svc"))
            .cloned()
            .collect();
        let b = rollup(
            Kind::Count,
            None,
            &access,
            T0,
            T0 + 60 * MINUTE,
            Rollup::Min15,
            utc(),
        );
        assert_eq!(b.iter().map(|b| b.n).collect::<Vec<_>>(), [3, 0, 1, 0]);
        let mut aht: Vec<MinuteRow> = rows
            .iter()
            .filter(|x| x.series.starts_with("pool"))
            .cloned()
            .collect();
        aht.sort_by_key(|r| r.minute);
        let b = rollup(
            Kind::Duration,
            None,
            &aht,
            T0,
            T0 + 30 * MINUTE,
            Rollup::Min30,
            utc(),
        );
        assert_eq!(b.len(), 1);
        assert_eq!(
            (b[0].n, b[0].avg, b[0].min, b[0].max),
            (2, Some(3000.0), Some(2000.0), Some(4000.0))
        );
    }

    #[test]
    fn rows_of_one_minute_merge() {
        let mut a = MinuteRow {
            series: "pool.used|D".into(),
            minute: T0,
            n: 0,
            sum: 0.0,
            lo: 2.0,
            hi: 5.0,
            last: 4.0,
        };
        a.merge(&MinuteRow {
            lo: 1.0,
            hi: 4.0,
            last: 1.0,
            ..a.clone()
        });
        assert_eq!((a.lo, a.hi, a.last), (1.0, 5.0, 1.0));
    }

    #[test]
    fn days_and_hours_follow_the_local_clock() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // 2026-03-08 (a DST day in New York, 23 hours): 12:00 local is 16:00 UTC.
        let noon = chrono::NaiveDate::from_ymd_opt(2026, 3, 8)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let at = ny.from_local_datetime(&noon).unwrap().timestamp_millis();
        let start = Rollup::Day.bucket_start(at, ny);
        let midnight = ny
            .from_local_datetime(&noon.date().and_hms_opt(0, 0, 0).unwrap())
            .unwrap()
            .timestamp_millis();
        assert_eq!(start, midnight);
        let b = rollup(
            Kind::Count,
            None,
            &[],
            midnight,
            midnight + 48 * 60 * MINUTE,
            Rollup::Day,
            ny,
        );
        assert_eq!(b.len(), 3, "23 h + 24 h + 1 h of the third day");
        assert_eq!(b[1].start - b[0].start, 23 * 60 * MINUTE);
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        // 10:45 UTC is 16:15 in Kolkata: its hour started at 16:00 local, 10:30 UTC.
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 5, 1, 10, 45, 0)
            .unwrap()
            .timestamp_millis();
        let h = Rollup::Hour.bucket_start(at, kolkata);
        assert_eq!(at - h, 15 * MINUTE);
    }

    #[test]
    fn a_cancelled_or_paused_callback_is_no_hold_time_and_loading_resets_levels() {
        let mut r = Recorder::new(T0);
        r.callback_changed(T0, "a", "s", None, Some(CallbackState::Queued));
        r.callback_changed(
            T0 + 1,
            "a",
            "s",
            Some(CallbackState::Queued),
            Some(CallbackState::Completed),
        );
        r.callback_changed(T0, "b", "s", None, Some(CallbackState::Queued));
        r.callback_changed(
            T0 + 1,
            "b",
            "s",
            Some(CallbackState::Queued),
            Some(CallbackState::Paused),
        );
        r.callback_changed(
            T0 + 2,
            "b",
            "s",
            Some(CallbackState::Paused),
            Some(CallbackState::Queued),
        );
        assert_eq!(r.level("cb.state|s|COMPLETED"), 1.0);
        assert_eq!(r.level("cb.state|s|QUEUED"), 1.0);
        r.callbacks_loaded(T0 + 3, [("s", CallbackState::Queued, 7)], ["x"]);
        assert_eq!(r.level("cb.state|s|COMPLETED"), 0.0);
        assert_eq!(r.level("cb.state|s|QUEUED"), 7.0);
        r.callback_changed(
            T0 + MINUTE,
            "x",
            "s",
            Some(CallbackState::Queued),
            Some(CallbackState::Routing),
        );
        let (rows, _) = r.flush(T0 + MINUTE + 1);
        let hold: Vec<&MinuteRow> = rows.iter().filter(|x| x.series == "cb.hold|s").collect();
        assert_eq!(hold.len(), 1);
        assert_eq!((hold[0].n, hold[0].sum), (1, (MINUTE - 3) as f64));
    }

    #[test]
    fn rows_stay_readable_until_the_store_has_them() {
        let mut r = Recorder::new(T0);
        r.count(T0, "svc.access|a", 1);
        r.count(T0 + MINUTE, "svc.access|a", 2);
        let (through, unsaved) = r.unsaved();
        assert_eq!(
            through,
            T0 + MINUTE,
            "the store's part of the first minute is read too"
        );
        assert_eq!(
            unsaved.iter().map(|x| x.n).sum::<u64>(),
            3,
            "closed and current minutes"
        );
        let (rows, upto) = r.take(T0 + MINUTE + 1);
        assert_eq!((rows.len(), upto), (1, T0 + MINUTE));
        // Being stored: still the recorder's to report.
        assert_eq!(r.unsaved().1.iter().map(|x| x.n).sum::<u64>(), 3);
        r.not_saved();
        let (rows, upto) = r.take(T0 + MINUTE + 2);
        assert_eq!(rows.len(), 1, "taken again after a failed save");
        r.saved(upto);
        let (through, unsaved) = r.unsaved();
        assert_eq!(through, T0 + MINUTE);
        assert!(r.inflight.is_empty());
        assert_eq!(
            unsaved.iter().map(|x| x.n).sum::<u64>(),
            2,
            "only the current minute"
        );
    }

    #[test]
    fn unsaved_rows_merge_into_what_the_store_read() {
        let row = |series: &str, minute: Millis, n: u64| MinuteRow {
            series: series.into(),
            minute,
            n,
            sum: n as f64,
            lo: 0.0,
            hi: n as f64,
            last: n as f64,
        };
        let mut prior = vec![row("a", 0, 1)];
        let mut rows = vec![row("a", 5 * MINUTE, 1), row("b", 5 * MINUTE, 1)];
        merge_unsaved(
            &mut prior,
            &mut rows,
            vec![
                row("a", 2 * MINUTE, 7),
                row("a", 5 * MINUTE, 2),
                row("a", 6 * MINUTE, 1),
                row("c", 9 * MINUTE, 1),
                row("c", 99 * MINUTE, 1),
            ],
            3 * MINUTE,
            10 * MINUTE,
        );
        assert_eq!(prior, vec![row("a", 2 * MINUTE, 7)]);
        let keys: Vec<(&str, Millis, u64)> = rows
            .iter()
            .map(|r| (r.series.as_str(), r.minute, r.n))
            .collect();
        assert_eq!(
            keys,
            [
                ("a", 5 * MINUTE, 3),
                ("a", 6 * MINUTE, 1),
                ("b", 5 * MINUTE, 1),
                ("c", 9 * MINUTE, 1)
            ]
        );
    }
}
