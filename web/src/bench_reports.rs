//! `ringback bench reports`: Tools > Metrics reports over a full retention period. A fresh
//! store is filled with a month of minute rows (every service's QUEUED level changing every
//! minute, requests and hold times every minute, a resource group's bookings), then each report
//! the panel asks for is timed as the server computes it (`Platform::metrics_report`, the store
//! read and the roll-up): p50 and p99 over repeated runs.

use std::sync::Arc;
use std::time::Instant;

use engine::config::Config;
use engine::platform::{Platform, ReportSpec};
use engine::reporting::{MinuteRow, ReportKind, Rollup, MINUTE};
use engine::store::sqlite::SqliteStore;
use engine::store::{Millis, Store, WriteOp};

pub struct Options {
    pub days: i64,
    pub services: usize,
    pub runs: usize,
}

fn row(series: String, minute: Millis, n: u64, sum: f64, lo: f64, hi: f64, last: f64) -> MinuteRow {
    MinuteRow {
        series,
        minute,
        n,
        sum,
        lo,
        hi,
        last,
    }
}

pub fn run(opts: Options) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir)?);
    let now = chrono::Utc::now().timestamp_millis() / MINUTE * MINUTE;
    let minutes = opts.days * 1440;
    let start = now - minutes * MINUTE;
    let services: Vec<String> = (0..opts.services).map(|i| format!("svc-{i}")).collect();

    let filled = Instant::now();
    let mut rows_written = 0usize;
    // A day's rows per write: each series changes every minute.
    for day in 0..opts.days {
        let mut rows = Vec::new();
        for m in 0..1440 {
            let minute = start + (day * 1440 + m) * MINUTE;
            let wave = ((day * 1440 + m) % 60) as f64;
            for s in &services {
                rows.push(row(
                    format!("cb.state|{s}|QUEUED"),
                    minute,
                    0,
                    0.0,
                    wave / 2.0,
                    wave,
                    wave / 3.0,
                ));
                rows.push(row(
                    format!("svc.access|{s}"),
                    minute,
                    7,
                    7.0,
                    0.0,
                    7.0,
                    0.0,
                ));
                rows.push(row(
                    format!("cb.hold|{s}"),
                    minute,
                    3,
                    90_000.0,
                    10_000.0,
                    50_000.0,
                    0.0,
                ));
            }
            rows.push(row("pool.used|DNIS".into(), minute, 0, 0.0, 1.0, 6.0, 3.0));
            rows.push(row(
                "pool.exit|DNIS|match".into(),
                minute,
                2,
                2.0,
                0.0,
                2.0,
                0.0,
            ));
            rows.push(row(
                "pool.aht|DNIS".into(),
                minute,
                2,
                40_000.0,
                15_000.0,
                25_000.0,
                0.0,
            ));
        }
        rows_written += rows.len();
        store.write(vec![WriteOp::PutMetrics(rows)]).wait()?;
    }
    println!(
        "bench reports: {} minute rows ({} days, {} services, a resource group) stored in {:.1} s",
        rows_written,
        opts.days,
        opts.services,
        filled.elapsed().as_secs_f64()
    );

    let platform = Platform::open(store, &Config::sample(), now)?;
    let tz = chrono_tz::UTC;
    let spec = |kind, from, rollup, services: &[String]| ReportSpec {
        kind,
        from,
        to: now,
        rollup,
        tz,
        services: services.to_vec(),
        group: Some("DNIS".into()),
    };
    let month = now - opts.days * 1440 * MINUTE;
    let day = now - 1440 * MINUTE;
    let one = &services[..1];
    let cases = [
        (
            "watermark, all services, the whole period by hour",
            spec(ReportKind::Watermark, month, Rollup::Hour, &services),
        ),
        (
            "services, the whole period by day",
            spec(ReportKind::Services, month, Rollup::Day, &services),
        ),
        (
            "hold time, one service, the last day by minute",
            spec(ReportKind::HoldTime, day, Rollup::Minute, one),
        ),
        (
            "callbacks by state, one service, the last day by 15 minutes",
            spec(ReportKind::Callbacks, day, Rollup::Min15, one),
        ),
        (
            "resources (DNIS), the whole period by hour",
            spec(ReportKind::Resources, month, Rollup::Hour, one),
        ),
    ];
    for (name, s) in cases {
        let mut times = Vec::with_capacity(opts.runs);
        let mut buckets = 0;
        for _ in 0..opts.runs {
            let t = Instant::now();
            let r = platform.metrics_report(&s)?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            buckets = r.rows.len();
        }
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        println!(
            "  {name}: {buckets} buckets; p50 {:.1} ms, p99 {:.1} ms",
            pct(0.5),
            pct(0.99)
        );
    }
    // The store closes (its writer and checkpointer end) before its folder goes.
    drop(platform);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("ringback-bench-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
